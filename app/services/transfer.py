"""Bulk import and export: YAML, JSON or CSV in the shape of seeds/, all-or-nothing, idempotent.

An import is checked whole before anything is written: every row's fields, every reference
(party, issue, speaker, source, quote ref) against the database and the file itself, and the
rules across records. Errors name their row. Only a file with no error is loaded, in the
caller's single transaction, so an interrupted import leaves the database as it was.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.models import Issue, Party, Position, Quote, QuoteIssue, Source, Speaker
from app.services import catalog, seed


@dataclass(frozen=True, slots=True)
class RowError:
    """One problem in an import file: where (section and row number), which field, what."""

    section: str
    row: int
    field: str
    message: str

    def __str__(self) -> str:
        where = f"line {self.row}" if self.section == "line" else f"{self.section} row {self.row}"
        return f"{where}, {self.field}: {self.message}"


class ImportRejected(Exception):
    """The file has errors; nothing was written."""

    def __init__(self, errors: list[RowError]) -> None:
        super().__init__(f"{len(errors)} error(s)")
        self.errors = errors


# ---------------------------------------------------------------------------------------------
# Reading files

CSV_COLUMNS = [
    "text", "kind", "said_on", "published_on", "party", "speaker", "speaker_role", "source_url",
    "source_title", "source_outlet", "source_published_on", "source_kind", "source_tier",
    "language", "translated", "status", "note", "issues", "position_rationale",
]  # fmt: skip
"""Columns of a quotes CSV; `issues` is "slug:stance; slug:stance", and a non-empty
position_rationale records a position per tagged issue from said_on, citing the row's quote."""


def _csv_document(text: str) -> tuple[dict[str, Any], dict[int, int]]:
    """Turn quote rows into the seeds shape; returns it and each quote's CSV line number."""
    reader = csv.DictReader(io.StringIO(text.removeprefix("\ufeff")))
    document: dict[str, list[dict[str, Any]]] = {
        "speakers": [], "sources": [], "quotes": [], "positions": []
    }  # fmt: skip
    seen_sources: set[str] = set()
    seen_speakers: set[tuple[str, str]] = set()
    lines: dict[int, int] = {}
    for index, row in enumerate(reader):
        row = {k.strip(): (v or "").strip() for k, v in row.items() if k}
        ref = f"row{index + 1}"
        lines[index] = index + 2  # the header is line 1
        url = row.get("source_url", "")
        if url and url not in seen_sources and row.get("source_title"):
            seen_sources.add(url)
            document["sources"].append(
                {
                    "url": url,
                    "title": row.get("source_title", ""),
                    "outlet": row.get("source_outlet", ""),
                    "published_on": row.get("source_published_on") or None,
                    "kind": row.get("source_kind", ""),
                    "tier": row.get("source_tier", ""),
                }
            )
        speaker = row.get("speaker", "")
        if speaker and (row.get("party", ""), speaker) not in seen_speakers:
            seen_speakers.add((row.get("party", ""), speaker))
            document["speakers"].append(
                {
                    "name": speaker,
                    "role": row.get("speaker_role", ""),
                    "party": row.get("party", ""),
                }
            )
        tags = []
        for part in filter(None, (p.strip() for p in row.get("issues", "").split(";"))):
            issue, _, stance = part.partition(":")
            tags.append({"issue": issue.strip(), "stance": stance.strip()})
        document["quotes"].append(
            {
                "ref": ref,
                "text": row.get("text", ""),
                "kind": row.get("kind", ""),
                "said_on": row.get("said_on", ""),
                "published_on": row.get("published_on") or None,
                "speaker": speaker or None,
                "party": row.get("party", ""),
                "source": url,
                "language": row.get("language") or "en",
                "translated": row.get("translated", "").lower() in {"1", "true", "yes"},
                "status": row.get("status", ""),
                "note": row.get("note") or None,
                "issues": tags,
            }
        )
        if row.get("position_rationale"):
            for tag in tags:
                document["positions"].append(
                    {
                        "party": row.get("party", ""),
                        "issue": tag["issue"],
                        "stance": tag["stance"],
                        "effective_from": row.get("said_on", ""),
                        "rationale": row["position_rationale"],
                        "evidence": [ref],
                    }
                )
    return document, lines


def read_document(path: Path) -> tuple[dict[str, Any], dict[int, int] | None]:
    """Parse a YAML, JSON or CSV file into the seeds shape (CSV also gives line numbers)."""
    text = path.read_text("utf-8")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _csv_document(text)
    loaded = json.loads(text) if suffix == ".json" else yaml.safe_load(text)
    if loaded is None:
        loaded = {}
    if not isinstance(loaded, dict):
        raise ImportRejected([RowError("file", 0, "-", "expected a mapping of sections")])
    return loaded, None


# ---------------------------------------------------------------------------------------------
# Checking


def _row_label(section: str, index: int, csv_lines: dict[int, int] | None) -> int:
    if csv_lines is not None and section == "quotes":
        return csv_lines.get(index, index + 2)
    return index + 1


SECTIONS: dict[str, type[seed._Row]] = {
    "parties": seed.PartyRow,
    "issues": seed.IssueRow,
    "speakers": seed.SpeakerRow,
    "sources": seed.SourceRow,
    "quotes": seed.QuoteRow,
    "positions": seed.PositionRow,
}


def check(
    session: Session, document: dict[str, Any], csv_lines: dict[int, int] | None = None
) -> tuple[seed.DataFile | None, list[RowError]]:
    """Validate every row of a document, then the references between the valid ones.

    Returns the parsed file when there is no error at all, and every error found otherwise.
    """
    errors: list[RowError] = []
    unknown = set(document) - set(SECTIONS)
    for name in sorted(unknown):
        errors.append(RowError(name, 0, "-", "unknown section"))
    valid: dict[str, list[Any]] = {}
    origins: dict[str, list[int]] = {}
    for name, model in SECTIONS.items():
        rows = document.get(name) or []
        if not isinstance(rows, list):
            errors.append(RowError(name, 0, "-", "expected a list"))
            continue
        valid[name] = []
        origins[name] = []
        for index, raw in enumerate(rows):
            label = "line" if csv_lines is not None and name == "quotes" else name
            row = _row_label(name, index, csv_lines)
            try:
                valid[name].append(model.model_validate(raw))
                origins[name].append(index)
            except ValidationError as exc:
                for error in exc.errors():
                    field = ".".join(str(part) for part in error.get("loc", ())) or "-"
                    message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
                    errors.append(RowError(label, row, field, message))
    data = seed.DataFile.model_validate({k: [r.model_dump() for r in v] for k, v in valid.items()})
    known_refs = {raw.get("ref") for raw in document.get("quotes") or [] if isinstance(raw, dict)}
    errors.extend(
        e
        for e in check_references(session, data, csv_lines, origins)
        if not (e.field in {"evidence", "confirms_or_denies"} and _names_known_ref(e, known_refs))
    )
    return (data if not errors else None), errors


def _names_known_ref(error: RowError, refs: set[Any]) -> bool:
    # A reference to a row that itself failed validation is reported once, at that row.
    return error.message.startswith("unknown quote ref") and error.message.split("'")[1] in refs


def check_references(
    session: Session,
    data: seed.DataFile,
    csv_lines: dict[int, int] | None = None,
    origins: dict[str, list[int]] | None = None,
) -> list[RowError]:
    """Every reference must name something in the database or earlier in the file.

    `origins` maps each section's valid rows back to their index in the file.
    """

    def at(section: str, index: int) -> int:
        original = origins[section][index] if origins else index
        return _row_label(section, original, csv_lines)

    errors: list[RowError] = []
    label = "line" if csv_lines is not None else None
    parties = set(session.scalars(select(Party.slug))) | {p.slug for p in data.parties}
    issues = set(session.scalars(select(Issue.slug))) | {i.slug for i in data.issues}
    sources = set(session.scalars(select(Source.url))) | {s.url for s in data.sources}
    speakers = {
        (slug, name)
        for slug, name in session.execute(
            select(Party.slug, Speaker.name).join(Speaker, Speaker.party_id == Party.id)
        )
    } | {(s.party, s.name) for s in data.speakers}
    for index, party in enumerate(data.parties):
        if party.parent and party.parent not in parties:
            errors.append(
                RowError("parties", index + 1, "parent", f"unknown party '{party.parent}'")
            )
    for index, speaker in enumerate(data.speakers):
        if speaker.party not in parties:
            errors.append(
                RowError("speakers", index + 1, "party", f"unknown party '{speaker.party}'")
            )
    said_on: dict[str, date] = {}
    quote_party: dict[str, str] = {}
    for index, quote in enumerate(data.quotes):
        row = at("quotes", index)
        where = label or "quotes"
        if quote.party not in parties:
            errors.append(RowError(where, row, "party", f"unknown party '{quote.party}'"))
        if quote.source not in sources:
            errors.append(
                RowError(
                    where,
                    row,
                    "source",
                    f"unknown source '{quote.source}' (give its title, outlet, kind and tier)",
                )
            )
        if quote.speaker and (quote.party, quote.speaker) not in speakers:
            errors.append(
                RowError(
                    where,
                    row,
                    "speaker",
                    f"unknown speaker '{quote.speaker}' of party '{quote.party}'",
                )
            )
        for tag in quote.issues:
            if tag.issue not in issues:
                errors.append(RowError(where, row, "issues", f"unknown issue '{tag.issue}'"))
        if quote.ref:
            if quote.ref in said_on:
                errors.append(RowError(where, row, "ref", f"duplicate ref '{quote.ref}'"))
            said_on[quote.ref] = quote.said_on
            quote_party[quote.ref] = quote.party
    for index, quote in enumerate(data.quotes):
        if quote.confirms_or_denies and quote.confirms_or_denies not in said_on:
            errors.append(
                RowError(
                    label or "quotes",
                    _row_label("quotes", index, csv_lines),
                    "confirms_or_denies",
                    f"unknown quote ref '{quote.confirms_or_denies}'",
                )
            )
    for index, position in enumerate(data.positions):
        row = at("positions", index)
        if position.party not in parties:
            errors.append(RowError("positions", row, "party", f"unknown party '{position.party}'"))
        if position.issue not in issues:
            errors.append(RowError("positions", row, "issue", f"unknown issue '{position.issue}'"))
        for ref in position.evidence:
            if ref not in said_on:
                errors.append(RowError("positions", row, "evidence", f"unknown quote ref '{ref}'"))
            elif quote_party[ref] != position.party:
                errors.append(
                    RowError("positions", row, "evidence", f"quote '{ref}' is of another party")
                )
            elif said_on[ref] > position.effective_from:
                errors.append(
                    RowError(
                        "positions",
                        row,
                        "effective_from",
                        f"before the evidence it cites ({said_on[ref].isoformat()})",
                    )
                )
    return errors


def import_file(
    session: Session, path: Path, *, progress: Callable[[int], None] | None = None
) -> Counter[str]:
    """Check the whole file, then load it; ImportRejected (nothing written) on any error."""
    document, csv_lines = read_document(path)
    data, errors = check(session, document, csv_lines)
    if errors or data is None:
        raise ImportRejected(errors)
    return seed.load(session, [data], progress=progress)


def row_count(path: Path) -> int:
    """Quotes and positions in a file, to size a progress bar."""
    document, _ = read_document(path)
    return len(document.get("quotes") or []) + len(document.get("positions") or [])


# ---------------------------------------------------------------------------------------------
# Exporting


def _day(value: date | None) -> str | None:
    return value.isoformat() if value else None


def export_document(session: Session) -> dict[str, Any]:
    """Everything needed to rebuild the evidence: the seeds shape, in a stable order.

    Quote refs are positions in that order, so exporting a database rebuilt from an export
    gives the same document again.
    """
    # Blocs before their members, so an import can resolve every parent as it goes.
    parties = catalog.order_as_tree(
        list(session.scalars(select(Party).order_by(Party.sort_order, Party.id)))
    )
    slug = {p.id: p.slug for p in parties}
    issues = list(session.scalars(select(Issue).order_by(Issue.sort_order, Issue.id)))
    issue_slug = {i.id: i.slug for i in issues}
    speakers = list(session.scalars(select(Speaker).order_by(Speaker.id)))
    speaker_name = {s.id: s.name for s in speakers}
    sources = list(session.scalars(select(Source).order_by(Source.id)))
    source_url = {s.id: s.url for s in sources}
    quotes = list(
        session.scalars(select(Quote).order_by(Quote.id).options(selectinload(Quote.issue_tags)))
    )
    ref = {q.id: f"q{n + 1}" for n, q in enumerate(quotes)}
    positions = list(
        session.scalars(
            select(Position)
            .order_by(Position.effective_from, Position.recorded_at, Position.id)
            .options(selectinload(Position.evidence))
        )
    )

    def tag_order(tag: QuoteIssue) -> str:
        return issue_slug[tag.issue_id]

    return {
        "parties": [
            {"slug": p.slug, "name": p.name, "short_name": p.short_name, "kind": p.kind.value,
             "parent": slug.get(p.parent_id) if p.parent_id else None, "sort_order": p.sort_order}
            for p in parties
        ],
        "issues": [
            {"slug": i.slug, "title": i.title, "proposition": i.proposition,
             "description": i.description, "sort_order": i.sort_order}
            for i in issues
        ],
        "speakers": [
            {"name": s.name, "role": s.role, "party": slug[s.party_id]} for s in speakers
        ],
        "sources": [
            {"url": s.url, "title": s.title, "outlet": s.outlet, "published_on": _day(s.published_on),
             "kind": s.kind.value, "tier": s.tier.value}
            for s in sources
        ],
        "quotes": [
            {"ref": ref[q.id], "text": q.text, "kind": q.kind.value, "said_on": q.said_on.isoformat(),
             "published_on": _day(q.published_on),
             "speaker": speaker_name[q.speaker_id] if q.speaker_id else None,
             "party": slug[q.party_id], "source": source_url[q.source_id], "language": q.language,
             "translated": q.is_translation, "status": q.status.value,
             "confirms_or_denies": ref.get(q.confirms_or_denies_id) if q.confirms_or_denies_id else None,
             "note": q.note or None,
             "issues": [{"issue": issue_slug[t.issue_id], "stance": t.stance.value}
                        for t in sorted(q.issue_tags, key=tag_order)]}
            for q in quotes
        ],
        "positions": [
            {"party": slug[p.party_id], "issue": issue_slug[p.issue_id], "stance": p.stance.value,
             "condition": p.condition, "effective_from": p.effective_from.isoformat(),
             "rationale": p.rationale, "evidence": sorted(ref[q.id] for q in p.evidence),
             "recorded_at": _utc(p.recorded_at)}
            for p in positions
        ],
    }  # fmt: skip


def _utc(value: datetime) -> str:
    from app.services.users import as_utc

    return as_utc(value).isoformat()


def export_text(session: Session, fmt: str) -> str:
    """The export as YAML or JSON text, or the quotes as CSV rows (CSV_COLUMNS)."""
    document = export_document(session)
    if fmt == "json":
        return json.dumps(document, ensure_ascii=False, indent=2) + "\n"
    if fmt == "yaml":
        return yaml.safe_dump(document, allow_unicode=True, sort_keys=False, width=100)
    if fmt == "csv":
        return _quotes_csv(document)
    raise ValueError(f"unknown format {fmt!r}")


def _quotes_csv(document: dict[str, Any]) -> str:
    sources = {s["url"]: s for s in document["sources"]}
    roles = {(s["party"], s["name"]): s["role"] for s in document["speakers"]}
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for quote in document["quotes"]:
        source = sources[quote["source"]]
        writer.writerow(
            {
                "text": quote["text"],
                "kind": quote["kind"],
                "said_on": quote["said_on"],
                "published_on": quote["published_on"] or "",
                "party": quote["party"],
                "speaker": quote["speaker"] or "",
                "speaker_role": roles.get((quote["party"], quote["speaker"]), ""),
                "source_url": source["url"],
                "source_title": source["title"],
                "source_outlet": source["outlet"],
                "source_published_on": source["published_on"] or "",
                "source_kind": source["kind"],
                "source_tier": source["tier"],
                "language": quote["language"],
                "translated": "true" if quote["translated"] else "false",
                "status": quote["status"],
                "note": quote["note"] or "",
                "issues": "; ".join(f"{t['issue']}:{t['stance']}" for t in quote["issues"]),
                "position_rationale": "",
            }  # fmt: skip
        )
    return buffer.getvalue()
