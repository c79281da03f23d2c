"""Adding a data file's rows in bulk (the seeds, imports): what the database lacks, a few
statements per table and batch (PostgreSQL's COPY), with the audit entry per row that the forms
write, and the data version moved on as for any other write."""

from __future__ import annotations

import bisect
import enum
import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import TYPE_CHECKING, Any, cast

import psycopg
from sqlalchemy import JSON, Table, bindparam, func, insert, inspect, select, text, update
from sqlalchemy.orm import Session

from app.db import Base
from app.models import (
    AuditEntry,
    Issue,
    Party,
    Position,
    PositionEvidence,
    Quote,
    QuoteIssue,
    Round,
    Source,
    Speaker,
    SpeakerAlias,
    SpeakerRole,
    Stance,
    Theme,
)
from app.services import audit, catalog, position_runs, themes, versioning
from app.services.errors import ValidationFailed
from app.services.speakers import FIRST_DAY

if TYPE_CHECKING:
    from app.services.seed import (
        IssueRow,
        PartyRow,
        PositionRow,
        QuoteRow,
        SourceRow,
        SpeakerRow,
        ThemeRow,
    )


@dataclass(frozen=True, slots=True)
class RowError:
    """One problem in a data file: where (section and row number, or a file's line), which
    field ("-" for the row as a whole), what."""

    section: str
    row: int
    field: str
    message: str

    def __str__(self) -> str:
        if self.section == "line":
            where = f"line {self.row}"
        else:
            where = f"{self.section} row {self.row}" if self.row else self.section
        if self.field == "-":
            return f"{where}: {self.message}"
        return f"{where}, {self.field}: {self.message}"


class RowRefused(ValidationFailed):
    """The loader cannot add a row (it names what is unknown or wrong); nothing is kept."""

    def __init__(self, error: RowError) -> None:
        super().__init__({str(error).partition(": ")[0]: error.message})
        self.error = error


Where = tuple[str, int]
"""A row's place, as RowError gives it: (section, row number) or ("line", line number)."""
QuoteKey = tuple[int, int | None, date, bytes]
"""What makes a quote the same one: source, speaker, date, and a digest of its text."""

CHUNK = 2000
"""Rows written per batch: big enough to be fast, small enough to stay lean."""
SECTIONS = (
    "themes", "parties", "issues", "speakers", "sources", "quotes", "positions", "documents",
    "rounds",
)  # fmt: skip
"""A data file's sections, in the order they are loaded."""
AUDIT_COLUMNS = ("actor_id", "action", "entity_type", "entity_id", "before", "after")


def _table(model: type[Base]) -> Table:
    return Base.metadata.tables[model.__tablename__]


@cache
def _audited_columns(model: type[Base]) -> list[str]:
    """The columns audit.snapshot copies of a `model` row, in its order."""
    return [a.key for a in inspect(model).column_attrs if a.key not in audit.SECRET_FIELDS]


def _json_ready(value: Any) -> Any:
    """A column value as audit.snapshot writes it into an audit entry."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


def _digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode(), digest_size=16).digest()


class Loader:
    """Adds what data files hold and the database lacks (a second run adds nothing).

    The references (parties, issues, speakers, sources, positions and the quotes of the sources
    a file names) are read once into dicts; new rows are inserted per table in batches of CHUNK
    with their audit entries. Only parties and issues, few and with rules between them, go
    through the catalog's service functions one by one. Rows must come in dependency order:
    parties, issues, speakers, sources, quotes, responses, positions. The caller's transaction
    holds it all: an error (RowRefused) leaves nothing behind once it rolls back.
    """

    def __init__(self, session: Session, progress: Callable[[int], None] | None = None) -> None:
        self.session = session
        self.progress = progress or (lambda _n: None)
        self.added: Counter[str] = Counter()
        session.flush()
        self.parties = {
            slug: (party_id, kind)
            for slug, party_id, kind in session.execute(select(Party.slug, Party.id, Party.kind))
        }
        self.issues = dict(session.execute(select(Issue.slug, Issue.id)).all())
        self.themes = set(session.scalars(select(Theme.slug)))
        self.speakers: dict[tuple[int, str], int] = {
            (party_id, name): sid
            for party_id, name, sid in session.execute(
                select(Speaker.party_id, Speaker.name, Speaker.id)
            )
        }
        self.roles: dict[int, list[tuple[date, str]]] = {}
        """Speaker id -> their dated roles (held from, role), earliest first."""
        for speaker_id, held_from, role in session.execute(
            select(SpeakerRole.speaker_id, SpeakerRole.held_from, SpeakerRole.role).order_by(
                SpeakerRole.held_from
            )
        ):
            self.roles.setdefault(speaker_id, []).append((held_from, role))
        self.sources = dict(session.execute(select(Source.url, Source.id)).all())
        self.positions: set[tuple[int, int, Stance, date]] = {
            (party_id, issue_id, stance, day)
            for party_id, issue_id, stance, day in session.execute(
                select(
                    Position.party_id, Position.issue_id, Position.stance, Position.effective_from
                )
            )
        }
        self.quotes: dict[QuoteKey, tuple[int, int]] = {}
        """Quote identity -> (id, party id), for the sources in _keys_read."""
        self._keys_read: set[int] = set()
        self.refs: dict[str, QuoteKey] = {}
        self.responses: list[tuple[Where, QuoteKey, str]] = []
        self.at_rounds: list[tuple[Where, type[Base], int | QuoteKey, str]] = []
        """New quotes (by key) and positions (by id) said at a round, by its slug: linked once
        the file's rounds are in (link_rounds), since a round comes after the texts it tabled."""
        self.postgresql = session.get_bind().dialect.name == "postgresql"
        self.now: datetime = session.execute(select(func.now())).scalar_one()
        """The database's time, which the timestamps of new rows record (as their defaults)."""
        self._next_ids: dict[str, int] = {}
        self._changed = False

    # --- References ----------------------------------------------------------------------

    def _party(self, slug: str, where: Where, field: str = "party") -> int:
        found = self.parties.get(slug)
        if found is None:
            raise RowRefused(RowError(*where, field, f"unknown party '{slug}'"))
        return found[0]

    def _issue(self, slug: str, where: Where, field: str = "issue") -> int:
        found = self.issues.get(slug)
        if found is None:
            raise RowRefused(RowError(*where, field, f"unknown issue '{slug}'"))
        return found

    def _source(self, url: str, where: Where) -> int:
        found = self.sources.get(url)
        if found is None:
            raise RowRefused(RowError(*where, "source", f"unknown source '{url}'"))
        return found

    def _speaker(self, party_id: int, name: str, slug: str, where: Where) -> int:
        found = self.speakers.get((party_id, name))
        if found is None:
            message = f"unknown speaker '{name}' of party '{slug}'"
            raise RowRefused(RowError(*where, "speaker", message))
        return found

    def _role_then(self, speaker_id: int | None, said_on: date) -> str | None:
        """The dated role the speaker held on the day, as the forms keep it on a quote (None:
        no speaker, or one without dated roles)."""
        roles = self.roles.get(speaker_id) if speaker_id is not None else None
        if not roles:
            return None
        index = bisect.bisect_right(roles, said_on, key=lambda held: held[0])
        return roles[index - 1][1] if index else None

    def _read_quote_keys(self, source_ids: Iterable[int]) -> None:
        """Learn the quotes already stored for these sources (once per source)."""
        wanted = sorted(set(source_ids) - self._keys_read)
        self._keys_read.update(wanted)
        for start in range(0, len(wanted), 500):
            rows = self.session.execute(
                select(
                    Quote.source_id, Quote.speaker_id, Quote.said_on, Quote.text, Quote.id,
                    Quote.party_id,
                ).where(Quote.source_id.in_(wanted[start : start + 500]))
            )  # fmt: skip
            for source_id, speaker_id, said_on, words, quote_id, party_id in rows:
                key = (source_id, speaker_id, said_on, _digest(words))
                self.quotes.setdefault(key, (quote_id, party_id))

    # --- Writing -------------------------------------------------------------------------

    def _ids(self, model: type[Base], count: int) -> list[int]:
        """`count` new ids for rows of `model`: from its sequence on PostgreSQL; on SQLite, after
        the highest (the writer holds the database's one write lock, so no one else takes them)."""
        table = _table(model)
        if self.postgresql:
            return list(
                self.session.scalars(
                    text(
                        "SELECT nextval(pg_get_serial_sequence(:table, 'id'))"
                        " FROM generate_series(1, :count)"
                    ),
                    {"table": table.name, "count": count},
                )
            )
        if table.name not in self._next_ids:
            highest = self.session.scalar(select(func.max(table.c.id)))
            self._next_ids[table.name] = (highest or 0) + 1
        first = self._next_ids[table.name]
        self._next_ids[table.name] = first + count
        return list(range(first, first + count))

    def _write(
        self, model: type[Base], columns: Sequence[str], rows: list[tuple[Any, ...]]
    ) -> None:
        """Insert `rows` (tuples in `columns` order) into `model`'s table in bulk."""
        if not rows:
            return
        if not self._changed:
            versioning.mark_changed(self.session)  # these statements bypass the ORM's flush
            self._changed = True
        table = _table(model)
        if self.postgresql:
            # COPY: no statement to parse per batch, and a statement trigger fires once per COPY.
            dumped = [i for i, name in enumerate(columns) if isinstance(table.c[name].type, JSON)]
            connection = cast(
                psycopg.Connection[Any], self.session.connection().connection.driver_connection
            )
            with (
                connection.cursor() as cursor,
                cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy,
            ):
                for row in rows:
                    if dumped:
                        row = tuple(json.dumps(v) if i in dumped else v for i, v in enumerate(row))
                    copy.write_row(row)
            return
        # RETURNING only to have the rows sent many to a statement (insertmanyvalues): SQLite's
        # search triggers index them faster that way than one statement per row.
        # The positions' cells are touched by positions_from (app.services.position_runs).
        statement = (
            insert(table)
            .returning(table.c[columns[0]])
            .execution_options(position_runs_touched=True)
        )
        self.session.execute(statement, [dict(zip(columns, row, strict=True)) for row in rows])

    def _insert(
        self,
        model: type[Base],
        values: list[dict[str, Any]],
        extras: Sequence[dict[str, Any]] | None = None,
    ) -> list[int]:
        """Insert new rows of `model` (each dict with the same keys, every column but the id)
        and an audit entry for each, as audit.record writes it; returns their ids."""
        if not values:
            return []
        ids = self._ids(model, len(values))
        columns = ["id", *values[0]]
        self._write(
            model, columns, [(i, *given.values()) for i, given in zip(ids, values, strict=True)]
        )
        audited = _audited_columns(model)
        entity_type = _table(model).name
        entries = []
        for index, (new_id, given) in enumerate(zip(ids, values, strict=True)):
            row = {**given, "id": new_id}
            after = {name: _json_ready(row[name]) for name in audited}
            after.update(extras[index] if extras else {})
            entries.append((None, "create", entity_type, str(new_id), None, after))
        self._write(AuditEntry, AUDIT_COLUMNS, entries)
        return ids

    def parties_from(self, rows: Iterable[tuple[Where, PartyRow]]) -> None:
        """Add the parties not yet stored (a member after its bloc)."""
        for where, row in rows:
            if row.slug in self.parties:
                continue
            parent = None
            if row.parent:
                parent = self.session.get(Party, self._party(row.parent, where, "parent"))
            try:
                party = catalog.create_party(
                    self.session, actor=None, slug=row.slug, name=row.name,
                    short_name=row.short_name, kind=row.kind, parent=parent,
                    sort_order=row.sort_order,
                )  # fmt: skip
            except ValidationFailed as exc:
                raise RowRefused(RowError(*where, "parent", exc.errors["parent"])) from None
            self.parties[row.slug] = (party.id, party.kind)
            self.added["parties"] += 1

    def themes_from(self, rows: Iterable[tuple[Where, ThemeRow]]) -> None:
        """Add the themes not yet stored."""
        for _where, row in rows:
            if row.slug in self.themes:
                continue
            themes.create_theme(self.session, actor=None, slug=row.slug, title=row.title,
                                sort_order=row.sort_order)  # fmt: skip
            self.themes.add(row.slug)
            self.added["themes"] += 1

    def issues_from(self, rows: Iterable[tuple[Where, IssueRow]]) -> None:
        """Add the issues not yet stored."""
        for where, row in rows:
            if row.slug in self.issues:
                continue
            if row.theme is not None and row.theme not in self.themes:
                raise RowRefused(RowError(*where, "theme", f"unknown theme '{row.theme}'"))
            issue = catalog.create_issue(
                self.session, actor=None, slug=row.slug, title=row.title,
                proposition=row.proposition, description=row.description,
                sort_order=row.sort_order, theme=row.theme,
            )  # fmt: skip
            self.issues[row.slug] = issue.id
            self.added["issues"] += 1

    def speakers_from(self, rows: Iterable[tuple[Where, SpeakerRow]]) -> None:
        """Add the speakers not yet stored (the first row naming one gives its role, aliases
        and dated roles, all three in each speaker's audit entry)."""
        values: list[dict[str, Any]] = []
        aliases: list[list[str]] = []
        dated: list[list[tuple[date, str]]] = []
        for where, row in rows:
            party_id = self._party(row.party, where)
            if (party_id, row.name) in self.speakers:
                continue
            self.speakers[(party_id, row.name)] = -1  # to be inserted below
            values.append(
                {
                    "name": row.name, "role": row.role, "party_id": party_id, "version": 1,
                    "created_at": self.now,
                }
            )  # fmt: skip
            aliases.append(list(dict.fromkeys(row.aliases)))
            dated.append(sorted((r.held_from or FIRST_DAY, r.role) for r in row.roles))
        alias_rows: list[dict[str, Any]] = []
        role_rows: list[dict[str, Any]] = []
        for start in range(0, len(values), CHUNK):
            chunk = values[start : start + CHUNK]
            named = aliases[start : start + CHUNK]
            held = dated[start : start + CHUNK]
            extras: list[dict[str, Any]] = [{} for _ in chunk]
            for extra, names, roles in zip(extras, named, held, strict=True):
                if names:
                    extra["aliases"] = sorted(names)
                if roles:
                    extra["roles"] = [[day.isoformat(), role] for day, role in roles]
            new_ids = self._insert(Speaker, chunk, extras)
            for given, new_id, names, roles in zip(chunk, new_ids, named, held, strict=True):
                self.speakers[(given["party_id"], given["name"])] = new_id
                alias_rows.extend({"speaker_id": new_id, "name": name} for name in names)
                role_rows.extend(
                    {"speaker_id": new_id, "held_from": day, "role": role} for day, role in roles
                )
                if roles:
                    self.roles[new_id] = roles
        for model, many in ((SpeakerAlias, alias_rows), (SpeakerRole, role_rows)):
            for start in range(0, len(many), CHUNK):
                self.session.execute(insert(model), many[start : start + CHUNK])
        self.added["speakers"] += len(values)

    def sources_from(self, rows: Iterable[tuple[Where, SourceRow]]) -> None:
        """Add the sources not yet stored (the first row with a URL gives the source)."""
        values: list[dict[str, Any]] = []
        for _where, row in rows:
            if row.url in self.sources:
                continue
            self.sources[row.url] = -1  # to be inserted below
            values.append(
                {
                    "url": row.url, "title": row.title, "outlet": row.outlet,
                    "published_on": row.published_on, "kind": row.kind, "tier": row.tier,
                    "version": 1, "created_at": self.now,
                }
            )  # fmt: skip
        for start in range(0, len(values), CHUNK):
            chunk = values[start : start + CHUNK]
            for given, new_id in zip(chunk, self._insert(Source, chunk), strict=True):
                self.sources[given["url"]] = new_id
                self._keys_read.add(new_id)  # a new source has no quotes yet
        self.added["sources"] += len(values)

    def quotes_from(self, rows: Sequence[tuple[Where, QuoteRow]]) -> None:
        """Add the quotes not yet stored (same source, speaker, date and text) with their tags;
        a ref names the quote, new or found, for what cites it later."""
        self._read_quote_keys(self._source(row.source, where) for where, row in rows)
        values: list[dict[str, Any]] = []
        extras: list[dict[str, Any]] = []
        tags: list[list[tuple[int, Stance]]] = []
        new: dict[QuoteKey, int] = {}
        named: dict[str, QuoteKey] = {}
        for where, row in rows:
            party_id = self._party(row.party, where)
            source_id = self._source(row.source, where)
            speaker_id = (
                self._speaker(party_id, row.speaker, row.party, where) if row.speaker else None
            )
            key = (source_id, speaker_id, row.said_on, _digest(row.text))
            if key not in self.quotes and key not in new:
                new[key] = len(values)
                values.append(
                    {
                        "text": row.text, "kind": row.kind, "said_on": row.said_on,
                        "published_on": row.published_on, "speaker_id": speaker_id,
                        "speaker_role": self._role_then(speaker_id, row.said_on), "party_id": party_id,
                        "source_id": source_id, "language": row.language,
                        "is_translation": row.translated, "status": row.status,
                        "confirms_or_denies_id": None, "note": row.note or "", "round_id": None,
                        "version": 1, "created_at": self.now, "updated_at": self.now,
                    }
                )  # fmt: skip
                tags.append([(self._issue(t.issue, where, "issues"), t.stance) for t in row.issues])
                extras.append({"tags": {t.issue: t.stance.value for t in row.issues}})
                if row.round:
                    extras[-1]["round"] = row.round
                    self.at_rounds.append((where, Quote, key, row.round))
                if row.confirms_or_denies:
                    self.responses.append((where, key, row.confirms_or_denies))
            if row.ref:
                if row.ref in self.refs or row.ref in named:
                    raise RowRefused(RowError(*where, "ref", f"duplicate ref '{row.ref}'"))
                named[row.ref] = key
        ids = self._insert(Quote, values, extras)
        for key, index in new.items():
            self.quotes[key] = (ids[index], values[index]["party_id"])
        self.refs.update(named)
        self._write(
            QuoteIssue,
            ("quote_id", "issue_id", "stance"),
            [
                (quote_id, issue_id, stance)
                for quote_id, quote_tags in zip(ids, tags, strict=True)
                for issue_id, stance in quote_tags
            ],
        )
        self.added["quotes"] += len(values)
        self.progress(len(rows))

    def link_responses(self) -> None:
        """Point each new quote that confirms or denies another at it, once all are stored."""
        links = []
        for where, key, ref in self.responses:
            target = self.refs.get(ref)
            if target is None:
                message = f"unknown quote ref '{ref}'"
                raise RowRefused(RowError(*where, "confirms_or_denies", message))
            links.append({"quote": self.quotes[key][0], "target": self.quotes[target][0]})
        self.responses.clear()
        if links:
            table = _table(Quote)
            self.session.execute(
                update(table)
                .where(table.c.id == bindparam("quote"))
                .values(confirms_or_denies_id=bindparam("target"), version=table.c.version + 1)
                .execution_options(position_runs_touched=True),  # no status nor date changes
                links,
            )

    def positions_from(self, rows: Sequence[tuple[Where, PositionRow]]) -> None:
        """Add the positions not yet stored (same party, issue, stance and date), citing their
        evidence by ref; a recording date, when given, is kept and its audit entry says so."""
        values: list[dict[str, Any]] = []
        extras: list[dict[str, Any]] = []
        cited: list[list[int]] = []
        wheres: list[Where] = []
        for where, row in rows:
            party_id = self._party(row.party, where)
            issue_id = self._issue(row.issue, where)
            identity = (party_id, issue_id, row.stance, row.effective_from)
            if identity in self.positions:
                continue
            self.positions.add(identity)
            evidence = sorted({self._evidence(ref, party_id, row, where) for ref in row.evidence})
            given = {
                "party_id": party_id, "issue_id": issue_id, "stance": row.stance,
                "condition": (row.condition or "").strip() or None,
                "effective_from": row.effective_from, "rationale": row.rationale,
                "recorded_by_id": None, "recorded_at": row.recorded_at or self.now,
                "round_id": None, "version": 1,
            }  # fmt: skip
            extra: dict[str, Any] = {"evidence": evidence}
            if row.round:
                extra["round"] = row.round
            if row.recorded_at is not None:
                extra["note"] = (
                    f"imported with its original recording date, {row.recorded_at.isoformat()}"
                )
            values.append(given)
            extras.append(extra)
            cited.append(evidence)
            wheres.append(where)
        ids = self._insert(Position, values, extras)
        self.at_rounds.extend(
            (where, Position, new_id, extra["round"])
            for where, new_id, extra in zip(wheres, ids, extras, strict=True)
            if "round" in extra
        )
        position_runs.touch(self.session, {(v["party_id"], v["issue_id"]) for v in values})
        self._write(
            PositionEvidence,
            ("position_id", "quote_id"),
            [(pid, qid) for pid, quotes in zip(ids, cited, strict=True) for qid in quotes],
        )
        self.added["positions"] += len(values)
        self.progress(len(rows))

    def quote_id(self, ref: str) -> int | None:
        """The id of the quote a ref of the files loaded so far names, if any."""
        key = self.refs.get(ref)
        return None if key is None else self.quotes[key][0]

    def _evidence(self, ref: str, party_id: int, row: PositionRow, where: Where) -> int:
        key = self.refs.get(ref)
        if key is None:
            raise RowRefused(RowError(*where, "evidence", f"unknown quote ref '{ref}'"))
        quote_id, quote_party = self.quotes[key]
        if quote_party != party_id:
            message = f"quote '{ref}' is of another party"
            raise RowRefused(RowError(*where, "evidence", message))
        if key[2] > row.effective_from:
            message = f"before the evidence it cites ({key[2].isoformat()})"
            raise RowRefused(RowError(*where, "effective_from", message))
        return quote_id

    @property
    def counts(self) -> Counter[str]:
        """What was added, in the files' order of sections (none that added nothing)."""
        return Counter({name: self.added[name] for name in SECTIONS if self.added[name]})

    def sections(self, rows: Mapping[str, Sequence[tuple[Where, Any]]]) -> None:
        """Load a whole file's sections ({"parties": [(where, PartyRow), ...], ...})."""
        self.themes_from(rows.get("themes", ()))
        self.parties_from(rows.get("parties", ()))
        self.issues_from(rows.get("issues", ()))
        self.speakers_from(rows.get("speakers", ()))
        self.sources_from(rows.get("sources", ()))
        quotes = rows.get("quotes", ())
        for start in range(0, len(quotes), CHUNK):
            self.quotes_from(quotes[start : start + CHUNK])
        self.link_responses()
        positions = rows.get("positions", ())
        for start in range(0, len(positions), CHUNK):
            self.positions_from(positions[start : start + CHUNK])
        from app.services import bulk_documents  # it builds on this module

        bulk_documents.documents_from(self, rows.get("documents", ()))
        bulk_documents.rounds_from(self, rows.get("rounds", ()))
        self.link_rounds()

    def link_rounds(self) -> None:
        """Tie each new quote and position said at a round to it, once the rounds are in."""
        if not self.at_rounds:
            return
        self.session.flush()
        slugs = dict(self.session.execute(select(Round.slug, Round.id)).all())
        links: dict[type[Base], list[dict[str, int]]] = {Quote: [], Position: []}
        for where, model, row, slug in self.at_rounds:
            if slug not in slugs:
                raise RowRefused(RowError(*where, "round", f"unknown round '{slug}'"))
            row_id = self.quotes[row][0] if isinstance(row, tuple) else row
            links[model].append({"row": row_id, "round": slugs[slug]})
        self.at_rounds.clear()
        for model, rows in links.items():
            if rows:
                table = _table(model)
                self.session.execute(
                    update(table)
                    .where(table.c.id == bindparam("row"))
                    .values(round_id=bindparam("round"))
                    .execution_options(position_runs_touched=True),  # no stance nor date moves
                    rows,
                )
