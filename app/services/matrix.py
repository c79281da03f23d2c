"""The position matrix: each party's stance on each issue as of a date, with its evidence.

A cell's stance is the one of the latest position in force, but what it shows is judged over the
whole *run*: the unbroken sequence of positions holding the same stance with the same condition.
A restatement (a new position repeating the stance and condition) adds evidence to the run; it is
not a change, and the cell's "since" stays at the start of the run. Cells are of three states:
a recorded position, a split bloc (no position of its own, members that disagree), or quotes of
the party tagged with the issue that no position assesses yet.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy import Select, case, distinct, func, or_, select
from sqlalchemy.orm import Session

from app.models import (
    Issue,
    Party,
    PartyKind,
    Position,
    PositionEvidence,
    Quote,
    QuoteStatus,
    Stance,
)
from app.services import catalog, held_catalog, position_runs, unassessed

CONFIRMED = "confirmed"
UNCONFIRMED = "unconfirmed"
DENIED = "denied"

POSITION = "position"
SPLIT = "split"
NOT_ASSESSED = "not_assessed"


@dataclass(slots=True)
class Cell:
    """What the matrix shows for one party and issue (read-only by convention: not a frozen
    dataclass because a matrix makes 1,200 of them on every miss, and a frozen one's __init__
    costs three times as much).

    `state` is POSITION (a stance in force, `effective_from` the start of its run), SPLIT (a bloc
    with no position of its own whose members disagree: `stance` is None) or NOT_ASSESSED (quotes
    tagged with the issue, `unassessed` of them, but no position in force).
    """

    party_id: int
    issue_id: int
    state: str = POSITION
    stance: Stance | None = None
    position_id: int | None = None
    condition: str | None = None
    effective_from: date | None = None
    restated_on: date | None = None
    evidence_count: int = 0
    latest_evidence_on: date | None = None
    confirmation: str | None = None
    stale: bool = False
    split: bool = False
    members: tuple[tuple[int, Stance], ...] = ()
    unassessed: int = 0

    @property
    def since(self) -> date | None:
        """The start of the unbroken run of this stance (None unless a position is in force)."""
        return self.effective_from

    @property
    def assessed(self) -> bool:
        """True when a position of the party itself is in force."""
        return self.state == POSITION


@dataclass(slots=True)
class Matrix:
    """Parties (blocs followed by their members) by issues, as of a date."""

    as_of: date
    known_on: date | None
    parties: list[Party]
    issues: list[Issue]
    cells: dict[tuple[int, int], Cell] = field(default_factory=dict)
    since: date | None = None
    changes: list[Change] = field(default_factory=list)
    changed: set[tuple[int, int]] = field(default_factory=set)

    def cell(self, party: Party, issue: Issue) -> Cell | None:
        """The cell for this party and issue, or None when nothing at all is recorded."""
        return self.cells.get((party.id, issue.id))

    def members(self, party: Party) -> list[Party]:
        """The bloc's member parties, in display order."""
        return [p for p in self.parties if p.parent_id == party.id]

    def split(self, party: Party, issue: Issue) -> list[tuple[Party, Stance]]:
        """For a bloc whose members hold different stances: each member with its stance; else []."""
        return split_members(self.cell(party, issue), self.parties)

    def has_changed(self, party: Party, issue: Issue) -> bool:
        """True when the cell's stance differs between `since` and `as_of`."""
        return (party.id, issue.id) in self.changed

    def party_by_id(self, party_id: int) -> Party:
        """A row's party by id."""
        return next(p for p in self.parties if p.id == party_id)

    def issue_by_id(self, issue_id: int) -> Issue:
        """A column's issue by id."""
        return next(i for i in self.issues if i.id == issue_id)


def split_members(cell: Cell | None, parties: Iterable[Party]) -> list[tuple[Party, Stance]]:
    """The members of a split cell with their stances, in display order; [] when not split."""
    if cell is None or not cell.split:
        return []
    by_id = {p.id: p for p in parties}
    return [(by_id[pid], stance) for pid, stance in cell.members if pid in by_id]


def confirmation_of(*, confirmed: int, denied: int) -> str:
    """How well a run's evidence stands: any confirmed quote confirms; else a denial shows."""
    if confirmed:
        return CONFIRMED
    if denied:
        return DENIED
    return UNCONFIRMED


def known_before(known_on: date) -> datetime:
    """The first instant after `known_on` (UTC): what was recorded before it was known that day."""
    return datetime.combine(known_on + timedelta(days=1), time.min, tzinfo=UTC)


SelectT = TypeVar("SelectT", bound=Select[Any])


def _scoped(
    stmt: SelectT,
    known_on: date | None,
    party_ids: Sequence[int] | None,
    issue_ids: Sequence[int] | None,
) -> SelectT:
    """Narrow a positions query to what was known on a day and to some parties and issues."""
    if known_on is not None:
        stmt = stmt.where(Position.recorded_at < known_before(known_on))
    if party_ids is not None:
        stmt = stmt.where(Position.party_id.in_(party_ids))
    if issue_ids is not None:
        stmt = stmt.where(Position.issue_id.in_(issue_ids))
    return stmt


_STANCES = {stance.value: stance for stance in Stance}
"""A stance by its value (a stance is a str enum, so this also maps a Stance to itself)."""

_ORDER = position_runs.ORDER
_CELL = position_runs.CELL


def history_with_runs(
    *,
    until: date,
    known_on: date | None,
    party_ids: Sequence[int] | None,
    issue_ids: Sequence[int] | None,
    rationale: bool = True,
) -> Any:
    """Positions effective on or before `until`, each with the stance and condition before it and
    a flag `starts` that is 1 where a new run begins (the stance or the condition changed).
    Without `rationale` the rows stay narrow (a matrix sorts every position of every cell)."""
    condition = func.coalesce(Position.condition, "")
    columns: list[Any] = [
        *position_runs.COLUMNS,
        *([Position.rationale] if rationale else []),
        func.lag(Position.stance).over(partition_by=_CELL, order_by=_ORDER).label("previous"),
        func.lag(condition).over(partition_by=_CELL, order_by=_ORDER).label("previous_condition"),
    ]
    lagged = select(*columns).where(Position.effective_from <= until)
    h = _scoped(lagged, known_on, party_ids, issue_ids).subquery("lagged")
    starts = case(
        (
            or_(
                h.c.previous.is_(None),
                h.c.previous != h.c.stance,
                h.c.previous_condition != func.coalesce(h.c.condition, ""),
            ),
            1,
        ),
        else_=0,
    )
    return select(*h.c, starts.label("starts")).subquery("history")


def current_positions_query(
    *,
    as_of: date,
    known_on: date | None = None,
    party_ids: Sequence[int] | None = None,
    issue_ids: Sequence[int] | None = None,
) -> Select[Any]:
    """One statement: per party and issue, the run of positions in force as of a date, with its
    start, its latest position and the evidence of the whole run counted.

    The latest effective_from on or before `as_of` wins; ties go to the later recording. With
    `known_on`, positions recorded after that day are ignored, so an old view can be reproduced.
    """
    h = history_with_runs(
        until=as_of,
        known_on=known_on,
        party_ids=party_ids,
        issue_ids=issue_ids,
        rationale=False,
    )
    cell = (h.c.party_id, h.c.issue_id)
    order = (h.c.effective_from, h.c.recorded_at, h.c.id)
    # Every window in one order (one sort): the latest position is the one numbered last.
    numbered = select(
        h.c.id,
        h.c.party_id,
        h.c.issue_id,
        h.c.stance,
        h.c.condition,
        h.c.effective_from,
        func.sum(h.c.starts).over(partition_by=cell, order_by=order).label("run"),
        (
            func.count().over(partition_by=cell)
            - func.row_number().over(partition_by=cell, order_by=order)
            + 1
        ).label("rank"),
    ).subquery("numbered")
    last = select(
        *numbered.c,
        func.max(numbered.c.run)
        .over(partition_by=(numbered.c.party_id, numbered.c.issue_id))
        .label("last_run"),
    ).subquery("runs")
    counted = Quote.status != QuoteStatus.RETRACTED
    return (
        select(
            last.c.party_id,
            last.c.issue_id,
            last.c.stance,
            last.c.condition,
            func.max(case((last.c.rank == 1, last.c.id))).label("id"),
            func.min(last.c.effective_from).label("since"),
            func.max(last.c.effective_from).label("latest_from"),
            func.count(distinct(case((counted, Quote.id)))).label("evidence_count"),
            func.max(case((counted, Quote.said_on))).label("latest_evidence_on"),
            func.count(distinct(case((Quote.status == QuoteStatus.CONFIRMED, Quote.id)))).label(
                "confirmed"
            ),
            func.count(distinct(case((Quote.status == QuoteStatus.DENIED, Quote.id)))).label(
                "denied"
            ),
        )
        .select_from(last)
        .outerjoin(PositionEvidence, PositionEvidence.position_id == last.c.id)
        .outerjoin(Quote, Quote.id == PositionEvidence.quote_id)
        .where(last.c.run == last.c.last_run)
        .group_by(last.c.party_id, last.c.issue_id, last.c.stance, last.c.condition)
    )


def _position_cells(
    session: Session,
    *,
    as_of: date,
    known_on: date | None,
    stale_after_days: int,
    party_ids: Sequence[int] | None,
    issue_ids: Sequence[int] | None,
    held: position_runs.HeldVersion | None = None,
) -> dict[tuple[int, int], Cell]:
    """The cells where a position is in force, keyed by (party id, issue id), in one query (or
    none, from the stored runs `held` in memory)."""
    stale_before = as_of - timedelta(days=stale_after_days)
    rows: Iterable[tuple[Any, ...]] | None = None
    if known_on is not None:
        stmt = current_positions_query(
            as_of=as_of, known_on=known_on, party_ids=party_ids, issue_ids=issue_ids
        )
        rows = session.connection().execute(stmt).all()
    else:  # what is known now: the stored runs (app.services.position_runs)
        position_runs.ensure_fresh(session)
        if held is not None:
            rows = held.store.in_force(
                session, held.version, as_of=as_of, party_ids=party_ids, issue_ids=issue_ids
            )
        if rows is None:
            stmt, params = position_runs.in_force(
                as_of=as_of,
                party_ids=party_ids,
                issue_ids=issue_ids,
                lateral=session.get_bind().dialect.name == "postgresql",
            )
            rows = session.connection().execute(stmt, params).all()
    cells: dict[tuple[int, int], Cell] = {}
    # Plain tuples, fetched at once: a named attribute of a result row, or fetching rows one by
    # one, costs more than the Cell made from it.
    for (
        party_id, issue_id, stance, condition, position_id, since, latest_from,
        evidence_count, latest, confirmed, denied,
    ) in rows:  # fmt: skip
        cells[(party_id, issue_id)] = Cell(
            party_id=party_id,
            issue_id=issue_id,
            state=POSITION,
            stance=_STANCES[stance],
            position_id=position_id,
            condition=condition,
            effective_from=since,
            restated_on=latest_from if latest_from != since else None,
            evidence_count=evidence_count,
            latest_evidence_on=latest,
            confirmation=confirmation_of(confirmed=confirmed, denied=denied),
            stale=latest is None or latest < stale_before,
        )
    return cells


def _with_members(
    cells: dict[tuple[int, int], Cell], blocs: dict[int, list[int]], issue_ids: Iterable[int]
) -> None:
    """Give each bloc's cells their members' stances; a bloc with no position of its own whose
    members disagree becomes a split cell."""
    for bloc_id, member_ids in blocs.items():
        for issue_id in issue_ids:
            members = tuple(
                (mid, c.stance)
                for mid in member_ids
                if (c := cells.get((mid, issue_id))) is not None and c.stance is not None
            )
            if not members:
                continue
            split = len({stance for _, stance in members}) > 1
            own = cells.get((bloc_id, issue_id))
            if own is not None:
                cells[(bloc_id, issue_id)] = replace(own, split=split, members=members)
            elif split:
                cells[(bloc_id, issue_id)] = Cell(
                    party_id=bloc_id, issue_id=issue_id, state=SPLIT, split=True, members=members
                )


def current_cells(
    session: Session,
    *,
    as_of: date,
    known_on: date | None = None,
    stale_after_days: int = 60,
    party_ids: Sequence[int] | None = None,
    issue_ids: Sequence[int] | None = None,
    parties: Sequence[Party] | None = None,
    issues: Sequence[Issue] | None = None,
    tally: unassessed.DayTally | None = None,
    held: position_runs.HeldVersion | None = None,
) -> dict[tuple[int, int], Cell]:
    """Every non-empty cell as of a date, keyed by (party id, issue id): positions in force (with
    their run), split blocs and not-assessed evidence. Blocs among `party_ids` bring their members'
    cells too (to tell a split). Pass the parties and issues when already loaded, a cached
    view's `tally` (app.services.unassessed) to count unassessed quotes from its days, and its
    `held` stored runs (app.services.position_runs) to find the positions in force in memory."""
    every_party = list(parties) if parties is not None else catalog.list_parties(session)
    wanted = set(party_ids) if party_ids is not None else {p.id for p in every_party}
    blocs = {
        p.id: [m.id for m in every_party if m.parent_id == p.id]
        for p in every_party
        if p.kind == PartyKind.BLOC and p.id in wanted
    }
    queried = (
        None if party_ids is None else sorted(wanted | {m for ms in blocs.values() for m in ms})
    )
    cells = _position_cells(
        session,
        as_of=as_of,
        known_on=known_on,
        stale_after_days=stale_after_days,
        party_ids=queried,
        issue_ids=issue_ids,
        held=held,
    )
    if issue_ids is not None:
        column_ids = list(issue_ids)
    elif issues is not None:
        column_ids = [i.id for i in issues]
    else:
        column_ids = [i.id for i in catalog.list_issues(session)]
    _with_members(cells, blocs, column_ids)
    empty = [(pid, iid) for pid in sorted(wanted) for iid in column_ids if (pid, iid) not in cells]
    counted = unassessed.counts(
        session,
        as_of=as_of,
        created_before=known_before(known_on) if known_on is not None else None,
        pairs=empty,
        tally=tally,
    )
    for key, count in counted.items():
        cells[key] = Cell(party_id=key[0], issue_id=key[1], state=NOT_ASSESSED, unassessed=count)
    return cells


def build_matrix(
    session: Session,
    *,
    as_of: date,
    known_on: date | None = None,
    since: date | None = None,
    stale_after_days: int = 60,
    tally: unassessed.DayTally | None = None,
    held: position_runs.HeldVersion | None = None,
    listing: held_catalog.Listing | None = None,
) -> Matrix:
    """The whole matrix as of a date: parties, issues, the cells (positions in force, split blocs,
    unassessed evidence), and the changes when `since` is given. A cached view passes the
    worker's `listing` of the catalog for its data version (app.services.held_catalog)."""
    if listing is not None:
        parties, issues = listing.parties, listing.issues
    else:
        parties, issues = catalog.list_parties(session), catalog.list_issues(session)
    grid = Matrix(
        as_of=as_of,
        known_on=known_on,
        parties=parties,
        issues=issues,
        cells=current_cells(
            session,
            as_of=as_of,
            known_on=known_on,
            stale_after_days=stale_after_days,
            parties=parties,
            issues=issues,
            tally=tally,
            held=held,
        ),
        since=since,
    )
    if since is not None and since < as_of:
        grid.changes = changes_between(session, since=since, until=as_of, known_on=known_on)
        grid.changed = net_changed_cells(grid.changes)
    return grid


@dataclass(frozen=True, slots=True)
class Change:
    """A party's change of stance on an issue: what it was, what it became, when, on what evidence."""

    position_id: int
    party_id: int
    issue_id: int
    old_stance: Stance | None
    new_stance: Stance
    condition: str | None
    effective_from: date
    recorded_at: datetime
    rationale: str
    old_condition: str | None = None

    @property
    def condition_changed(self) -> bool:
        """True when the stance stayed conditional and only its condition changed."""
        return self.old_stance == self.new_stance


def changes_between(
    session: Session,
    *,
    since: date,
    until: date,
    known_on: date | None = None,
    party_ids: Sequence[int] | None = None,
    issue_ids: Sequence[int] | None = None,
    limit: int | None = None,
) -> list[Change]:
    """Changes of stance (or of a condition) with effective_from in (since, until], newest first,
    in one query. A position that repeats the stance and condition before it is a restatement."""
    h = history_with_runs(until=until, known_on=known_on, party_ids=party_ids, issue_ids=issue_ids)
    stmt = (
        select(h)
        .where(h.c.effective_from > since, h.c.starts == 1)
        .order_by(h.c.effective_from.desc(), h.c.recorded_at.desc(), h.c.id.desc())
    )
    if limit is not None:
        stmt = stmt.limit(limit)
    return [
        Change(
            position_id=row.id,
            party_id=row.party_id,
            issue_id=row.issue_id,
            old_stance=Stance(row.previous) if row.previous is not None else None,
            new_stance=Stance(row.stance),
            condition=row.condition,
            effective_from=row.effective_from,
            recorded_at=row.recorded_at,
            rationale=row.rationale,
            old_condition=(row.previous_condition or None) if row.previous is not None else None,
        )
        for row in session.execute(stmt)
    ]


def net_changed_cells(changes: list[Change]) -> set[tuple[int, int]]:
    """Cells whose stance (and condition) at the end differs from the start (going and coming
    back is no change)."""
    first_old: dict[tuple[int, int], tuple[Stance | None, str | None]] = {}
    last_new: dict[tuple[int, int], tuple[Stance, str | None]] = {}
    for change in changes:  # newest first
        key = (change.party_id, change.issue_id)
        last_new.setdefault(key, (change.new_stance, change.condition))
        first_old[key] = (change.old_stance, change.old_condition)
    return {key for key, held in last_new.items() if first_old[key] != held}


class Held(Protocol):
    """What grouping a cell's positions into runs reads: a `Position`, or a plain view of one
    (app.services.cells.PositionView)."""

    @property
    def id(self) -> int: ...
    @property
    def party_id(self) -> int: ...
    @property
    def issue_id(self) -> int: ...
    @property
    def stance(self) -> Stance: ...
    @property
    def condition(self) -> str | None: ...
    @property
    def effective_from(self) -> date: ...
    @property
    def recorded_at(self) -> datetime: ...


H = TypeVar("H", bound=Held)


@dataclass(slots=True)
class Run(Generic[H]):
    """An unbroken stretch of one stance with one condition: its positions, oldest first."""

    positions: list[H]

    @property
    def start(self) -> date:
        """When the stance began: the first position's effective date."""
        return self.positions[0].effective_from

    @property
    def latest(self) -> H:
        """The newest position of the run (the one in force)."""
        return self.positions[-1]

    @property
    def stance(self) -> Stance:
        """The run's stance."""
        return self.positions[0].stance

    @property
    def condition(self) -> str | None:
        """The run's condition, for a conditional stance."""
        return self.positions[0].condition

    @property
    def restatements(self) -> list[H]:
        """The positions after the first: the same stance restated with new evidence."""
        return self.positions[1:]


def runs_of(positions: Iterable[H]) -> list[Run[H]]:
    """One cell's positions grouped into runs, oldest first (the rule the matrix query applies)."""
    runs: list[Run[H]] = []
    for position in sorted(positions, key=lambda p: (p.effective_from, p.recorded_at, p.id)):
        if runs and _same_holding(runs[-1].latest, position):
            runs[-1].positions.append(position)
        else:
            runs.append(Run([position]))
    return runs


def restatement_ids(positions: Iterable[Held]) -> set[int]:
    """The ids of positions that restate the stance and condition before them in their cell."""
    by_cell: dict[tuple[int, int], list[Held]] = {}
    for position in positions:
        by_cell.setdefault((position.party_id, position.issue_id), []).append(position)
    return {p.id for cell in by_cell.values() for run in runs_of(cell) for p in run.restatements}


def _same_holding(a: Held, b: Held) -> bool:
    return a.stance == b.stance and (a.condition or "") == (b.condition or "")
