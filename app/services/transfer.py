"""Bulk import and export: YAML, JSON or CSV in the shape of seeds/, all-or-nothing, idempotent.

An import is checked whole before anything is written: every row's fields by the rules of the
forms (seed's row models), every reference (party, issue, speaker, source, quote ref) against
the database and the file itself, and the rules across records. Errors name their row (a
CSV's line), and a file that cannot be read at all gets one message saying where and why. Only
a file with no error is loaded, in the caller's single transaction, in bulk (bulk.Loader), so
an interrupted import leaves the database as it was.

A CSV is streamed: read a line at a time to be checked, then again to be loaded in batches, so
its size is not bounded by memory. A JSON or YAML file is parsed whole, so it may hold at most
MAX_DOCUMENT_BYTES (YAML less: its parser keeps every node of the file, some 35 bytes of memory
for each byte of text); a bigger collection of quotes goes by CSV.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.forms import field_errors
from app.models import Document, Issue, Party, PartyKind, Round, Source, Speaker, Theme
from app.services import seed
from app.services.bulk import CHUNK, Loader, RowError, RowRefused, Where
from app.services.csv_rows import (
    CSV_COLUMNS,
    MAX_CSV_LINE,
    POSITION_COLUMNS,
    QUOTE_COLUMNS,
    SOURCE_COLUMNS,
    SPEAKER_COLUMNS,
    Progress,
    Unreadable,
    csv_records,
    csv_row,
)
from app.services.seed import (
    DocumentRow,
    IssueRow,
    PartyRow,
    PositionRow,
    QuoteRow,
    RoleRow,
    RoundRow,
    SourceRow,
    SpeakerRow,
    ThemeRow,
)

__all__ = [
    "CSV_COLUMNS",
    "MAX_CSV_LINE",
    "ImportRejected",
    "Plan",
    "RowError",
    "check_file",
    "import_file",
    "load",
]

MAX_DOCUMENT_BYTES = {".json": 20_000_000, ".yaml": 6_000_000, ".yml": 6_000_000}
"""The largest JSON or YAML file an import reads (it is read whole; a CSV is streamed): an
import then stays under 400 MB of memory."""
MAX_LISTED_ERRORS = 1000
"""Errors kept to be shown; the rest are counted."""

RowT = TypeVar("RowT", bound=BaseModel)


class ImportRejected(Exception):
    """The file has errors; nothing was written. `total` counts them all, `errors` lists the
    first MAX_LISTED_ERRORS."""

    def __init__(self, errors: list[RowError], total: int | None = None) -> None:
        self.errors = errors
        self.total = max(total or 0, len(errors))
        super().__init__(f"{self.total} error(s)")


class _Errors:
    """The errors found so far: each counted once per row, the first MAX_LISTED_ERRORS kept."""

    def __init__(self) -> None:
        self.listed: list[RowError] = []
        self.total = 0
        self._row: tuple[str, int] | None = None
        self._seen: set[tuple[str, str]] = set()

    def add(self, error: RowError) -> None:
        if (error.section, error.row) != self._row:
            self._row, self._seen = (error.section, error.row), set()
        if (error.field, error.message) in self._seen:
            return  # a CSV row's quote and position can say the same thing
        self._seen.add((error.field, error.message))
        self.total += 1
        if len(self.listed) < MAX_LISTED_ERRORS:
            self.listed.append(error)

    def rejected(self) -> ImportRejected:
        return ImportRejected(self.listed, self.total)


def _messages(exc: ValidationError) -> dict[str, str]:
    """Each field's message as its form gives it (forms.field_errors), except that a choice
    names the values allowed, since a file has no list to pick from."""
    messages = field_errors(exc)
    for error in exc.errors():
        name = ".".join(str(part) for part in error.get("loc", ())) or "form"
        if error.get("type") in {"enum", "literal_error"}:
            messages[name] = str(error.get("msg"))
        elif error.get("type") == "extra_forbidden":
            messages[name] = "unknown field"
    return {("-" if name == "form" else name): message for name, message in messages.items()}


def _validate(
    model: type[RowT],
    raw: object,
    where: Where,
    errors: _Errors,
    columns: Mapping[str, str] | None = None,
) -> RowT | None:
    """`raw` as a `model` row, or None with its errors added (named as the CSV's `columns`)."""
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        for name, message in _messages(exc).items():
            if columns is not None:
                top = name.split(".")[0]
                name = columns.get(top, top)
            errors.add(RowError(*where, name, message))
        return None


@dataclass
class _Known:
    """What the database holds that a file may refer to, read once."""

    parties: dict[str, PartyKind]
    issues: set[str]
    themes: set[str]
    speakers: set[tuple[str, str]]
    sources: set[str]

    @classmethod
    def read(cls, session: Session) -> _Known:
        return cls(
            parties=dict(session.execute(select(Party.slug, Party.kind)).all()),
            issues=set(session.scalars(select(Issue.slug))),
            themes=set(session.scalars(select(Theme.slug))),
            speakers={
                (slug, name)
                for slug, name in session.execute(
                    select(Party.slug, Speaker.name).join(Speaker, Speaker.party_id == Party.id)
                )
            },
            sources=set(session.scalars(select(Source.url))),
        )


@dataclass
class Plan:
    """A checked import file, ready to load: a YAML or JSON file's rows, or what a CSV defines
    (new speakers and sources) and how many rows it has (its quotes are read again to load)."""

    path: Path
    quotes: int = 0
    positions: int = 0
    sections: dict[str, list[tuple[Where, Any]]] | None = None
    speakers: list[tuple[Where, SpeakerRow]] = field(default_factory=list)
    sources: list[tuple[Where, SourceRow]] = field(default_factory=list)

    @property
    def rows(self) -> int:
        """Quotes and positions in the file, to size a progress bar."""
        return self.quotes + self.positions


def _check_csv(session: Session, path: Path, errors: _Errors, progress: Progress) -> Plan:
    """Check a quotes CSV a row at a time, keeping only the speakers and sources it defines."""
    known = _Known.read(session)
    plan = Plan(path)
    sources: dict[str, tuple[Where, SourceRow]] = {}
    speakers: dict[tuple[str, str], tuple[Where, SpeakerRow]] = {}
    held: dict[tuple[str, str], dict[str, date]] = {}  # a new speaker's roles -> first said
    wanted: dict[str, list[int]] = {}  # a source not (yet) defined -> the lines citing it
    try:
        for index, (line, row, extra) in enumerate(csv_records(path, progress)):
            where: Where = ("line", line)
            if extra:
                errors.add(RowError(*where, "-", f"{extra} field(s) more than the header names"))
            parts = csv_row(row, f"row{index + 1}")
            plan.quotes += 1
            plan.positions += len(parts.positions)
            url = parts.source["url"] if parts.source else None
            if url and url not in known.sources and url not in sources:
                source = _validate(SourceRow, parts.source, where, errors, SOURCE_COLUMNS)
                if source is not None:
                    sources[source.url] = (where, source)
            if parts.speaker and parts.speaker["party"] in known.parties:
                identity = (parts.speaker["party"], parts.speaker["name"])
                if identity not in known.speakers and identity not in speakers:
                    speaker = _validate(SpeakerRow, parts.speaker, where, errors, SPEAKER_COLUMNS)
                    if speaker is not None:
                        speakers[(speaker.party, speaker.name)] = (where, speaker)
            quote = _validate(QuoteRow, parts.quote, where, errors, QUOTE_COLUMNS)
            if quote is not None:
                role = parts.speaker["role"] if parts.speaker else ""
                if role and (quote.party, quote.speaker) in speakers:
                    first = held.setdefault((quote.party, quote.speaker or ""), {})
                    if role in first:
                        first[role] = min(first[role], quote.said_on)
                    elif _validate(RoleRow, {"role": role}, where, errors, SPEAKER_COLUMNS):
                        first[role] = quote.said_on
                if quote.party not in known.parties:
                    errors.add(RowError(*where, "party", f"unknown party '{quote.party}'"))
                for tag in quote.issues:
                    if tag.issue not in known.issues:
                        errors.add(RowError(*where, "issues", f"unknown issue '{tag.issue}'"))
                if quote.source not in known.sources and quote.source not in sources:
                    cited = wanted.setdefault(quote.source, [])
                    if len(cited) < MAX_LISTED_ERRORS:
                        cited.append(line)
            for position in parts.positions:
                if position["stance"] == "conditional":
                    message = (
                        "a conditional position needs its condition, which a CSV has no column"
                        " for; import it as YAML or JSON"
                    )
                    errors.add(RowError(*where, "issues", message))
                    continue
                checked = _validate(PositionRow, position, where, errors, POSITION_COLUMNS)
                if checked is not None:
                    if checked.party not in known.parties:
                        errors.add(RowError(*where, "party", f"unknown party '{checked.party}'"))
                    if checked.issue not in known.issues:
                        errors.add(RowError(*where, "issues", f"unknown issue '{checked.issue}'"))
    except Unreadable as exc:
        errors.add(RowError("line", exc.line, "-", exc.message))
        raise errors.rejected() from None
    for url, lines in wanted.items():
        if url not in sources:
            message = f"unknown source '{url}' (give its title, outlet, kind and tier)"
            for line in lines:
                errors.add(RowError("line", line, "source_url", message))
    plan.speakers = [
        (where, _dated(speaker, held.get(identity, {})))
        for identity, (where, speaker) in speakers.items()
    ]
    plan.sources = list(sources.values())
    return plan


def _dated(speaker: SpeakerRow, first_said: dict[str, date]) -> SpeakerRow:
    """A new speaker of a CSV with the roles its rows give them: one role, theirs; several,
    each dated from its first quote (the first undated), the latest theirs now."""
    order = sorted(first_said, key=lambda role: first_said[role])
    roles = [RoleRow(role=role, held_from=first_said[role] if n else None)
             for n, role in enumerate(order)]  # fmt: skip
    if not roles:
        return speaker
    return speaker.model_copy(
        update={"role": roles[-1].role, "roles": roles if len(roles) > 1 else []}
    )


Batch = tuple[list[tuple[Where, QuoteRow]], list[tuple[Where, PositionRow]]]


def _csv_batches(path: Path) -> Iterator[Batch]:
    """A checked CSV's quotes and positions again, CHUNK rows at a time."""
    quotes: list[tuple[Where, QuoteRow]] = []
    positions: list[tuple[Where, PositionRow]] = []
    where: Where = ("line", 1)
    try:
        for index, (line, row, _extra) in enumerate(csv_records(path, lambda _n: None)):
            where = ("line", line)
            parts = csv_row(row, f"row{index + 1}")
            quotes.append((where, QuoteRow.model_validate(parts.quote)))
            positions.extend((where, PositionRow.model_validate(p)) for p in parts.positions)
            if len(quotes) >= CHUNK:
                yield quotes, positions
                quotes, positions = [], []
    except (Unreadable, ValidationError):
        message = "the file changed after it was checked; nothing was imported"
        raise ImportRejected([RowError(*where, "-", message)]) from None
    if quotes:
        yield quotes, positions


# ---------------------------------------------------------------------------------------------
# Reading a YAML or JSON file, whole


def _parse_document(path: Path) -> dict[str, Any]:
    """A YAML or JSON file's sections; ImportRejected (one error) when it cannot be read."""

    def refuse(line: int, message: str) -> ImportRejected:
        return ImportRejected([RowError("line" if line else "file", line, "-", message)])

    size, suffix = path.stat().st_size, path.suffix.lower()
    if size > MAX_DOCUMENT_BYTES[suffix]:
        limit = MAX_DOCUMENT_BYTES[suffix] / 1e6
        raise refuse(
            0,
            f"{size / 1e6:.1f} MB is more than the {limit:.0f} MB a {suffix[1:].upper()} import"
            " may hold (it is read whole); import the quotes as CSV, which is read a line at a"
            " time (or, from YAML, as JSON: up to 20 MB)",
        )
    data = path.read_bytes()
    try:
        text = data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise refuse(line, "not UTF-8 text; save it as UTF-8") from None
    del data
    try:
        loaded = json.loads(text) if suffix == ".json" else seed.read_yaml(text)
    except json.JSONDecodeError as exc:
        raise refuse(exc.lineno, f"not valid JSON: {exc.msg} (column {exc.colno})") from None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        message = f"not valid YAML: {exc.reason} (character #x{exc.character:04x})"
        raise refuse(line, message) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "cannot be parsed"
        where = f" (column {mark.column + 1})" if mark else ""
        raise refuse(mark.line + 1 if mark else 0, f"not valid YAML: {problem}{where}") from None
    except yaml.YAMLError as exc:
        raise refuse(0, f"not valid YAML: {exc}") from None
    except RecursionError:
        raise refuse(0, "nested too deeply to be an import file") from None
    except ValueError as exc:  # a number too long to read, say
        raise refuse(0, f"cannot be read: {exc}") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise refuse(0, "expected a mapping of sections (parties, issues, speakers, ...)")
    return loaded


SECTIONS: dict[str, type[BaseModel]] = {
    "themes": ThemeRow,
    "parties": PartyRow,
    "issues": IssueRow,
    "speakers": SpeakerRow,
    "sources": SourceRow,
    "quotes": QuoteRow,
    "positions": PositionRow,
    "documents": DocumentRow,
    "rounds": RoundRow,
}


def _check_document(session: Session, path: Path, errors: _Errors) -> Plan:
    """Check each row of a YAML or JSON file, then the references between them."""
    document = _parse_document(path)
    for name in sorted(map(str, set(document) - set(SECTIONS))):
        errors.add(RowError(name, 0, "-", "unknown section"))
    sections: dict[str, list[tuple[Where, Any]]] = {}
    failed_refs: set[str] = set()
    for name, model in SECTIONS.items():
        rows = document.get(name) or []
        sections[name] = []
        if not isinstance(rows, list):
            errors.add(RowError(name, 0, "-", "expected a list"))
            continue
        for index, raw in enumerate(rows):
            where: Where = (name, index + 1)
            row = _validate(model, raw, where, errors)
            if row is not None:
                sections[name].append((where, row))
            elif name == "quotes" and isinstance(raw, dict) and isinstance(raw.get("ref"), str):
                failed_refs.add(raw["ref"])  # reported once, at that row
            rows[index] = None  # what is checked is not kept twice
    _check_references(session, sections, failed_refs, errors)
    return Plan(
        path,
        quotes=len(sections["quotes"]),
        positions=len(sections["positions"]),
        sections=sections,
    )


def _check_references(
    session: Session,
    sections: dict[str, list[tuple[Where, Any]]],
    failed_refs: set[str],
    errors: _Errors,
) -> None:
    """Every reference must name something in the database or earlier in the file (a quote
    ref, anywhere in it)."""
    known = _Known.read(session)
    for where, party in sections["parties"]:
        if party.slug in known.parties:
            continue
        if party.parent:
            kind = known.parties.get(party.parent)
            if kind is None:
                message = f"unknown party '{party.parent}' (a bloc comes before its members)"
                errors.add(RowError(*where, "parent", message))
            elif kind != PartyKind.BLOC:
                errors.add(RowError(*where, "parent", f"'{party.parent}' is not a bloc"))
        known.parties[party.slug] = party.kind
    known.themes.update(theme.slug for _, theme in sections["themes"])
    for where, issue in sections["issues"]:
        if issue.theme is not None and issue.theme not in known.themes:
            errors.add(RowError(*where, "theme", f"unknown theme '{issue.theme}'"))
    known.issues.update(issue.slug for _, issue in sections["issues"])
    for where, speaker in sections["speakers"]:
        if speaker.party not in known.parties:
            errors.add(RowError(*where, "party", f"unknown party '{speaker.party}'"))
        known.speakers.add((speaker.party, speaker.name))
    known.sources.update(source.url for _, source in sections["sources"])
    rounds = set(session.scalars(select(Round.slug))) | {r.slug for _, r in sections["rounds"]}
    for section in ("quotes", "positions"):
        for where, row in sections[section]:
            if row.round and row.round not in rounds:
                errors.add(RowError(*where, "round", f"unknown round '{row.round}'"))
    quotes: dict[str, tuple[str, date]] = {}
    for where, quote in sections["quotes"]:
        if quote.party not in known.parties:
            errors.add(RowError(*where, "party", f"unknown party '{quote.party}'"))
        if quote.source not in known.sources:
            message = f"unknown source '{quote.source}' (give its title, outlet, kind and tier)"
            errors.add(RowError(*where, "source", message))
        if quote.speaker and (quote.party, quote.speaker) not in known.speakers:
            message = f"unknown speaker '{quote.speaker}' of party '{quote.party}'"
            errors.add(RowError(*where, "speaker", message))
        for tag in quote.issues:
            if tag.issue not in known.issues:
                errors.add(RowError(*where, "issues", f"unknown issue '{tag.issue}'"))
        if quote.ref:
            if quote.ref in quotes:
                errors.add(RowError(*where, "ref", f"duplicate ref '{quote.ref}'"))
            quotes[quote.ref] = (quote.party, quote.said_on)
    for where, quote in sections["quotes"]:
        target = quote.confirms_or_denies
        if target and target not in quotes and target not in failed_refs:
            message = f"unknown quote ref '{target}'"
            errors.add(RowError(*where, "confirms_or_denies", message))
    for where, position in sections["positions"]:
        if position.party not in known.parties:
            errors.add(RowError(*where, "party", f"unknown party '{position.party}'"))
        if position.issue not in known.issues:
            errors.add(RowError(*where, "issue", f"unknown issue '{position.issue}'"))
        for ref in position.evidence:
            if ref in failed_refs:
                continue
            if ref not in quotes:
                errors.add(RowError(*where, "evidence", f"unknown quote ref '{ref}'"))
            elif quotes[ref][0] != position.party:
                errors.add(RowError(*where, "evidence", f"quote '{ref}' is of another party"))
            elif quotes[ref][1] > position.effective_from:
                message = f"before the evidence it cites ({quotes[ref][1].isoformat()})"
                errors.add(RowError(*where, "effective_from", message))
    _check_documents(session, sections, known, set(quotes) | failed_refs, errors)


def _check_documents(
    session: Session,
    sections: dict[str, list[tuple[Where, Any]]],
    known: _Known,
    refs: set[str],
    errors: _Errors,
) -> None:
    """A document's parties, source, quotes and predecessor, and a round's, must be known."""
    documents = set(session.scalars(select(Document.slug)))
    for where, row in sections["documents"]:
        for party in row.parties:
            if party.party not in known.parties:
                errors.add(RowError(*where, "parties", f"unknown party '{party.party}'"))
        if row.source not in known.sources:
            errors.add(RowError(*where, "source", f"unknown source '{row.source}'"))
        if row.derived_from and row.derived_from not in documents:
            message = f"unknown document '{row.derived_from}' (a predecessor comes first)"
            errors.add(RowError(*where, "derived_from", message))
        for ref in [p.quote for p in row.points] + [r.quote for r in row.reactions]:
            if ref not in refs:
                errors.add(RowError(*where, "points", f"unknown quote ref '{ref}'"))
        documents.add(row.slug)
    for where, meeting in sections["rounds"]:
        for party in meeting.parties:
            if party.party not in known.parties:
                errors.add(RowError(*where, "parties", f"unknown party '{party.party}'"))
            for name in party.delegates:
                if (party.party, name) not in known.speakers:
                    message = f"unknown speaker '{name}' of party '{party.party}'"
                    errors.add(RowError(*where, "delegates", message))
        if meeting.source and meeting.source not in known.sources:
            errors.add(RowError(*where, "source", f"unknown source '{meeting.source}'"))
        for slug in meeting.documents:
            if slug not in documents:
                errors.add(RowError(*where, "documents", f"unknown document '{slug}'"))


# ---------------------------------------------------------------------------------------------
# Importing


def check_file(session: Session, path: Path, *, progress: Progress | None = None) -> Plan:
    """Check a whole import file, writing nothing; ImportRejected lists its errors.

    `progress` is told how many bytes of the file have been read, as they are."""
    suffix = path.suffix.lower()
    if suffix not in {".csv", ".json", ".yaml", ".yml"}:
        message = "use a .csv, .json, .yaml or .yml file"
        raise ImportRejected([RowError("file", 0, "-", message)])
    errors = _Errors()
    if suffix == ".csv":
        plan = _check_csv(session, path, errors, progress or (lambda _n: None))
    else:
        plan = _check_document(session, path, errors)
        if progress:
            progress(path.stat().st_size)
    if errors.total:
        raise errors.rejected()
    return plan


def load(session: Session, plan: Plan, *, progress: Progress | None = None) -> Counter[str]:
    """Load a checked file in the caller's transaction; returns counts of what was added.

    `progress` is told how many quotes and positions have been written, as they are."""
    loader = Loader(session, progress)
    try:
        if plan.sections is not None:
            loader.sections(plan.sections)
        else:
            loader.speakers_from(plan.speakers)
            loader.sources_from(plan.sources)
            for quotes, positions in _csv_batches(plan.path):
                loader.quotes_from(quotes)
                loader.positions_from(positions)
    except RowRefused as exc:  # the database changed since the check
        raise ImportRejected([exc.error]) from None
    return loader.counts


def import_file(session: Session, path: Path, *, progress: Progress | None = None) -> Counter[str]:
    """Check the whole file, then load it; ImportRejected (nothing written) on any error."""
    return load(session, check_file(session, path), progress=progress)
