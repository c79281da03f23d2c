"""Each position with what the matrix shows when it is the one in force: kept in `position_runs`.

The matrix as of a day shows, per party and issue, the latest position on or before it, judged
over its *run* (app.services.matrix): the start of the run, the distinct quotes cited by the
run's positions up to it (retracted ones not counted), the newest of their dates, and whether
any is confirmed or denied. These depend only on the cell's positions and their evidence, so
they are computed when those change and stored beside each position; "as of" is then one index
lookup per cell. What was known on an earlier day (`known_on`) is not stored: the matrix
computes it from the positions themselves.

Kept fresh on every write path: the ORM's flushes note the cells they touch (a position added,
changed or deleted, a quote changed), statements that bypass the ORM mark every cell unless the
writer names its cells (`touch()`), and the noted cells are recomputed before the transaction
commits and before the matrix is read in it (`ensure_fresh()`). A write on a bare connection
(COPY, SQL by hand) must call `refresh()` itself. The hooks are installed when this module is
first imported (the matrix imports it), so no process can read stored runs it does not keep.
"""

from __future__ import annotations

import functools
import threading
from array import array
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, cast

from sqlalchemy import (
    BindParameter,
    Connection,
    Date,
    Select,
    Table,
    bindparam,
    delete,
    event,
    func,
    insert,
    inspect,
    select,
    true,
    tuple_,
)
from sqlalchemy.orm import ORMExecuteState, Session, aliased

from app.models import Issue, Party, Position, PositionEvidence, PositionRun, Quote, QuoteStatus
from app.services.versions_asked import VersionsAsked

_PENDING = "peacetalks.position_runs"
_TABLES = frozenset(m.__table__ for m in (Position, PositionEvidence, Quote))
_RUNS = cast(Table, PositionRun.__table__)
CHUNK = 500
"""Cells or positions per statement when reading and writing (keeps bound parameters few)."""

Cell = tuple[int, int]


@dataclass(slots=True)
class _Pending:
    cells: set[Cell] = field(default_factory=set)
    quotes: set[int] = field(default_factory=set)
    every: bool = False

    def __bool__(self) -> bool:
        return self.every or bool(self.cells) or bool(self.quotes)


def _pending(session: Session) -> _Pending:
    pending = session.info.get(_PENDING)
    if pending is None:
        pending = session.info[_PENDING] = _Pending()
    return cast(_Pending, pending)


def touch(session: Session, cells: Iterable[Cell]) -> None:
    """Note cells whose positions or evidence were written without the ORM's flush."""
    _pending(session).cells.update(cells)


def ensure_fresh(session: Session) -> None:
    """Recompute the cells this transaction changed, if any (cheap when none)."""
    session.flush()  # what is still only in the session notes its cells first
    pending = session.info.get(_PENDING)
    if not pending:
        return
    session.info.pop(_PENDING)
    connection = session.connection()
    if pending.every:
        refresh(connection)
        return
    cells = set(pending.cells)
    if pending.quotes:
        cells |= _cells_citing(connection, pending.quotes)
    if cells:
        refresh(connection, cells)


def in_force(
    *,
    as_of: date,
    party_ids: Sequence[int] | None,
    issue_ids: Sequence[int] | None,
    lateral: bool = False,
) -> tuple[Select[Any], dict[str, Any]]:
    """`in_force_query` as a statement built once per shape and its parameters (building it
    anew costs a matrix or cell miss a millisecond)."""
    stmt = _in_force_statement(lateral, party_ids is not None, issue_ids is not None)
    params: dict[str, Any] = {"as_of": as_of}
    if party_ids is not None:
        params["party_ids"] = list(party_ids)
    if issue_ids is not None:
        params["issue_ids"] = list(issue_ids)
    return stmt, params


@functools.cache
def _in_force_statement(lateral: bool, by_party: bool, by_issue: bool) -> Select[Any]:
    return in_force_query(
        as_of=bindparam("as_of", type_=Date()),
        party_ids=bindparam("party_ids", expanding=True) if by_party else None,
        issue_ids=bindparam("issue_ids", expanding=True) if by_issue else None,
        lateral=lateral,
    )


def in_force_query(
    *,
    as_of: date | BindParameter[date],
    party_ids: Sequence[int] | BindParameter[Any] | None,
    issue_ids: Sequence[int] | BindParameter[Any] | None,
    lateral: bool = False,
) -> Select[Any]:
    """Per party and issue, the stored row of the position in force as of a day (the latest on
    or before it; ties go to the later recording, then the higher id), labelled as the matrix's
    own query labels its columns: one index probe per cell. With `lateral` (PostgreSQL) each
    probe reads the cell's row; otherwise it finds the row's id, and the row is joined by it."""
    probe = aliased(PositionRun)
    latest = (
        select(probe)
        .where(
            probe.party_id == Party.id,
            probe.issue_id == Issue.id,
            probe.effective_from <= as_of,
        )
        .order_by(probe.effective_from.desc(), probe.recorded_at.desc(), probe.position_id.desc())
        .limit(1)
    )
    if lateral:
        row: Any = latest.lateral("in_force")
        cells = select(*_labelled(row.c)).select_from(Party).join(Issue, true()).join(row, true())
    else:
        found = latest.with_only_columns(probe.position_id).scalar_subquery()
        cells = select(found.label("position_id")).select_from(Party).join(Issue, true())
    if party_ids is not None:
        cells = cells.where(Party.id.in_(party_ids))
    if issue_ids is not None:
        cells = cells.where(Issue.id.in_(issue_ids))
    if lateral:
        return cells
    ids = cells.subquery("in_force")
    return select(*_labelled(_RUNS.c)).join(ids, ids.c.position_id == _RUNS.c.position_id)


MAX_HELD_ROWS = 100_000
"""Stored runs a worker holds in memory at most (about 250 bytes each: 25 MB); with more, every
matrix asks the database."""


@dataclass(slots=True)
class _Held:
    version: int
    days: dict[Cell, array[int]]
    """Per cell, its rows' effective days (ordinals), in the order of `ORDER`."""
    rows: dict[Cell, list[tuple[Any, ...]]]


class HeldRuns:
    """Per worker: the stored runs of the newest data version the matrix was asked for twice,
    held in memory, so "as of a day" is a binary search per cell instead of a query.

    The first matrix of a version reads the database; the second loads every stored row once
    (50,000 rows: a few hundred milliseconds) and later ones of that version read memory
    (app.services.versions_asked). A version is the data version a cached view renders for
    (app.cached_views): it moves on with every write. Rows as `in_force_query` labels them;
    None when not held (then ask the database)."""

    def __init__(self, max_rows: int = MAX_HELD_ROWS) -> None:
        self.max_rows = max_rows
        self._held: _Held | None = None
        self._asked = VersionsAsked()
        self._too_many: int | None = None
        self._lock = threading.Lock()
        self._loading = threading.Lock()

    @property
    def rows_held(self) -> int:
        """How many stored rows are held (for /healthz)."""
        held = self._held
        return sum(len(rows) for rows in held.rows.values()) if held else 0

    def in_force(
        self,
        session: Session,
        version: int,
        *,
        as_of: date,
        party_ids: Sequence[int] | None,
        issue_ids: Sequence[int] | None,
    ) -> list[tuple[Any, ...]] | None:
        """The rows in force as of a day (as `in_force_query` gives them), or None."""
        held = self._for(session, version)
        if held is None:
            return None
        wanted_parties = set(party_ids) if party_ids is not None else None
        wanted_issues = set(issue_ids) if issue_ids is not None else None
        day = as_of.toordinal()
        found = []
        for cell, days in held.days.items():
            if wanted_parties is not None and cell[0] not in wanted_parties:
                continue
            if wanted_issues is not None and cell[1] not in wanted_issues:
                continue
            index = bisect_right(days, day)
            if index:
                found.append(held.rows[cell][index - 1])
        return found

    def _for(self, session: Session, version: int) -> _Held | None:
        with self._lock:
            held = self._held
            if held is not None and held.version == version:
                return held
            if self._too_many == version or (held is not None and held.version > version):
                return None
        if not self._asked.asked_before(version):
            return None
        if not self._loading.acquire(blocking=False):
            return None  # another request is loading it: ask the database meanwhile
        try:
            loaded = _load_held(session, version, self.max_rows)
            with self._lock:
                if loaded is None:
                    self._too_many = version
                elif self._held is None or self._held.version < version:
                    self._held = loaded
            return loaded
        finally:
            self._loading.release()


@dataclass(frozen=True, slots=True)
class HeldVersion:
    """A worker's held runs and the data version a view renders for."""

    store: HeldRuns
    version: int


def _load_held(session: Session, version: int, max_rows: int) -> _Held | None:
    """The stored rows of every cell, or None when there are more than `max_rows` (counted
    first, so an installation past the bound does not fetch them for every version)."""
    connection = session.connection()
    if connection.execute(select(func.count()).select_from(_RUNS)).scalar_one() > max_rows:
        return None
    stmt = (
        select(*_labelled(_RUNS.c))
        # Per cell in the order "as of" picks by (the last on or before the day wins).
        .order_by(
            _RUNS.c.party_id,
            _RUNS.c.issue_id,
            _RUNS.c.effective_from,
            _RUNS.c.recorded_at,
            _RUNS.c.position_id,
        )
    )
    rows = connection.execute(stmt).all()
    days: dict[Cell, array[int]] = {}
    by_cell: dict[Cell, list[tuple[Any, ...]]] = {}
    for row in rows:
        cell = (row[0], row[1])
        if cell not in days:
            days[cell], by_cell[cell] = array("i"), []
        days[cell].append(row[6].toordinal())  # the row's own effective day ("latest_from")
        by_cell[cell].append(tuple(row))
    return _Held(version, days, by_cell)


def _labelled(c: Any) -> list[Any]:
    """A stored row's columns under the names the matrix's query gives them."""
    return [
        c.party_id,
        c.issue_id,
        c.stance,
        c.condition,
        c.position_id.label("id"),
        c.run_start.label("since"),
        c.effective_from.label("latest_from"),
        c.evidence_count,
        c.latest_evidence_on,
        c.confirmed,
        c.denied,
    ]


def _cells_citing(connection: Connection, quote_ids: set[int]) -> set[Cell]:
    found: set[Cell] = set()
    ids = sorted(quote_ids)
    for start in range(0, len(ids), CHUNK):
        stmt = (
            select(Position.party_id, Position.issue_id)
            .join(PositionEvidence, PositionEvidence.position_id == Position.id)
            .where(PositionEvidence.quote_id.in_(ids[start : start + CHUNK]))
            .distinct()
        )
        found.update((party_id, issue_id) for party_id, issue_id in connection.execute(stmt))
    return found


def refresh(connection: Connection, cells: Iterable[Cell] | None = None) -> int:
    """Recompute the stored runs of these cells (every cell when None); the rows written."""
    table = _RUNS
    if cells is None:
        connection.execute(delete(table))
        return _write(connection, _positions(connection, None))
    wanted = sorted(set(cells))
    written = 0
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start : start + CHUNK]
        connection.execute(
            delete(table).where(tuple_(table.c.party_id, table.c.issue_id).in_(chunk))
        )
        written += _write(connection, _positions(connection, chunk))
    return written


CELL = (Position.party_id, Position.issue_id)
"""A cell's positions: one party on one issue."""
ORDER = (Position.effective_from, Position.recorded_at, Position.id)
"""A cell's positions in the order they hold: by effective date, then as recorded."""
COLUMNS = (
    Position.id,
    Position.party_id,
    Position.issue_id,
    Position.stance,
    Position.condition,
    Position.effective_from,
    Position.recorded_at,
)
"""What runs are worked out from (the stored runs here and the matrix's own query)."""


def _positions(connection: Connection, cells: Sequence[Cell] | None) -> list[Any]:
    stmt = select(*COLUMNS).order_by(*CELL, *ORDER)
    if cells is not None:
        stmt = stmt.where(tuple_(Position.party_id, Position.issue_id).in_(cells))
    return list(connection.execute(stmt))


def _evidence(connection: Connection, position_ids: list[int]) -> dict[int, list[Any]]:
    stmt = select(PositionEvidence.position_id, Quote.id, Quote.status, Quote.said_on).join(
        Quote, Quote.id == PositionEvidence.quote_id
    )
    by_position: dict[int, list[Any]] = {}
    chunks: Iterator[list[int] | None] = (
        (position_ids[s : s + CHUNK] for s in range(0, len(position_ids), CHUNK))
        if len(position_ids) < 20 * CHUNK
        else iter([None])  # most of the table: read it whole
    )
    for chunk in chunks:
        scoped = stmt if chunk is None else stmt.where(PositionEvidence.position_id.in_(chunk))
        for position_id, *quote in connection.execute(scoped):
            by_position.setdefault(position_id, []).append(quote)
    return by_position


def _write(connection: Connection, positions: list[Any]) -> int:
    evidence = _evidence(connection, [p.id for p in positions])
    rows: list[dict[str, Any]] = []
    previous: Any = None
    counted: set[int] = set()
    confirmed: set[int] = set()
    denied: set[int] = set()
    latest: Any = None
    start: Any = None
    for p in positions:
        same_cell = previous is not None and (previous.party_id, previous.issue_id) == (
            p.party_id,
            p.issue_id,
        )
        if not (
            same_cell
            and previous.stance == p.stance
            and (previous.condition or "") == (p.condition or "")
        ):
            counted, confirmed, denied, latest, start = set(), set(), set(), None, p.effective_from
        for quote_id, status, said_on in evidence.get(p.id, ()):
            if status != QuoteStatus.RETRACTED:
                counted.add(quote_id)
                latest = said_on if latest is None or said_on > latest else latest
            if status == QuoteStatus.CONFIRMED:
                confirmed.add(quote_id)
            elif status == QuoteStatus.DENIED:
                denied.add(quote_id)
        rows.append(
            {
                "position_id": p.id,
                "party_id": p.party_id,
                "issue_id": p.issue_id,
                "effective_from": p.effective_from,
                "recorded_at": p.recorded_at,
                "stance": p.stance,
                "condition": p.condition,
                "run_start": start,
                "evidence_count": len(counted),
                "latest_evidence_on": latest,
                "confirmed": len(confirmed),
                "denied": len(denied),
            }
        )
        previous = p
    for s in range(0, len(rows), 5 * CHUNK):
        connection.execute(insert(_RUNS), rows[s : s + 5 * CHUNK])
    return len(rows)


def _before_flush(session: Session, _context: Any, _instances: Any) -> None:
    pending = _pending(session)
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Position):
            state = inspect(obj)
            for name in ("party_id", "issue_id"):
                if state.attrs[name].history.deleted:  # moved: the cell it left too
                    pending.cells.add(
                        (
                            _old(state, "party_id", obj.party_id),
                            _old(state, "issue_id", obj.issue_id),
                        )
                    )
            pending.cells.add((obj.party_id, obj.issue_id))
        elif isinstance(obj, Quote) and obj.id is not None:
            pending.quotes.add(obj.id)
        elif isinstance(obj, PositionEvidence):
            pending.every = True  # rare: links are written through Position.evidence


def _old(state: Any, name: str, current: int) -> int:
    deleted = state.attrs[name].history.deleted
    return int(deleted[0]) if deleted and deleted[0] is not None else current


def _do_orm_execute(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        table = getattr(state.statement, "table", None)
        if table in _TABLES and not (state.is_insert and table is Quote.__table__):
            # A statement that bypassed the flush: unless its writer named its cells, all.
            if not state.execution_options.get("position_runs_touched"):
                _pending(state.session).every = True


def _before_commit(session: Session) -> None:
    ensure_fresh(session)


def install() -> None:
    """Listen to every Session (idempotent)."""
    if event.contains(Session, "before_flush", _before_flush):
        return
    event.listen(Session, "before_flush", _before_flush)
    event.listen(Session, "do_orm_execute", _do_orm_execute)
    event.listen(Session, "before_commit", _before_commit)
    event.listen(Session, "after_soft_rollback", _after_soft_rollback)


def _after_soft_rollback(session: Session, previous: Any) -> None:
    if previous.parent is None:  # the outermost transaction: what it noted is gone
        session.info.pop(_PENDING, None)


install()
