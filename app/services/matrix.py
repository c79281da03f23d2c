"""The position matrix: each party's latest stance on each issue as of a date, with its evidence."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar

from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import Session

from app.models import Issue, Party, Position, PositionEvidence, Quote, QuoteStatus, Stance
from app.services import catalog

CONFIRMED = "confirmed"
UNCONFIRMED = "unconfirmed"
DENIED = "denied"


@dataclass(frozen=True, slots=True)
class Cell:
    """What the matrix shows for one party and issue: the position in force and its evidence."""

    party_id: int
    issue_id: int
    position_id: int
    stance: Stance
    condition: str | None
    effective_from: date
    evidence_count: int
    latest_evidence_on: date | None
    confirmation: str
    stale: bool


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
        """The cell for this party and issue, or None when no position is recorded."""
        return self.cells.get((party.id, issue.id))

    def members(self, party: Party) -> list[Party]:
        """The bloc's member parties, in display order."""
        return [p for p in self.parties if p.parent_id == party.id]

    def split(self, party: Party, issue: Issue) -> list[tuple[Party, Cell]]:
        """For a bloc whose members hold different stances: each member with its cell; else []."""
        held = [(m, c) for m in self.members(party) if (c := self.cell(m, issue)) is not None]
        return held if len({c.stance for _, c in held}) > 1 else []

    def has_changed(self, party: Party, issue: Issue) -> bool:
        """True when the cell's stance differs between `since` and `as_of`."""
        return (party.id, issue.id) in self.changed

    def party_by_id(self, party_id: int) -> Party:
        """A row's party by id."""
        return next(p for p in self.parties if p.id == party_id)

    def issue_by_id(self, issue_id: int) -> Issue:
        """A column's issue by id."""
        return next(i for i in self.issues if i.id == issue_id)


def confirmation_of(*, confirmed: int, denied: int) -> str:
    """How well a cell's evidence stands: any confirmed quote confirms; else a denial shows."""
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
    party_ids: list[int] | None,
    issue_ids: list[int] | None,
) -> SelectT:
    """Narrow a positions query to what was known on a day and to some parties and issues."""
    if known_on is not None:
        stmt = stmt.where(Position.recorded_at < known_before(known_on))
    if party_ids is not None:
        stmt = stmt.where(Position.party_id.in_(party_ids))
    if issue_ids is not None:
        stmt = stmt.where(Position.issue_id.in_(issue_ids))
    return stmt


def current_positions_query(
    *,
    as_of: date,
    known_on: date | None = None,
    party_ids: list[int] | None = None,
    issue_ids: list[int] | None = None,
) -> Select[tuple[int, int, int, Stance, str | None, date, int, date | None, int, int]]:
    """One statement: the position in force per party and issue as of a date, with evidence counts.

    The latest effective_from on or before `as_of` wins; ties go to the later recording. With
    `known_on`, positions recorded after that day are ignored, so an old view can be reproduced.
    """
    rank = (
        func.row_number()
        .over(
            partition_by=(Position.party_id, Position.issue_id),
            order_by=(
                Position.effective_from.desc(),
                Position.recorded_at.desc(),
                Position.id.desc(),
            ),
        )
        .label("rank")
    )
    ranked = select(
        Position.id,
        Position.party_id,
        Position.issue_id,
        Position.stance,
        Position.condition,
        Position.effective_from,
        rank,
    ).where(Position.effective_from <= as_of)
    current = _scoped(ranked, known_on, party_ids, issue_ids).subquery("current")
    counted = Quote.status != QuoteStatus.RETRACTED
    return (
        select(
            current.c.id,
            current.c.party_id,
            current.c.issue_id,
            current.c.stance,
            current.c.condition,
            current.c.effective_from,
            func.count(Quote.id).filter(counted).label("evidence_count"),
            func.max(case((counted, Quote.said_on))).label("latest_evidence_on"),
            func.count(Quote.id).filter(Quote.status == QuoteStatus.CONFIRMED).label("confirmed"),
            func.count(Quote.id).filter(Quote.status == QuoteStatus.DENIED).label("denied"),
        )
        .select_from(current)
        .outerjoin(PositionEvidence, PositionEvidence.position_id == current.c.id)
        .outerjoin(Quote, Quote.id == PositionEvidence.quote_id)
        .where(current.c.rank == 1)
        .group_by(
            current.c.id,
            current.c.party_id,
            current.c.issue_id,
            current.c.stance,
            current.c.condition,
            current.c.effective_from,
        )
    )


def current_cells(
    session: Session,
    *,
    as_of: date,
    known_on: date | None = None,
    stale_after_days: int = 60,
    party_ids: list[int] | None = None,
    issue_ids: list[int] | None = None,
) -> dict[tuple[int, int], Cell]:
    """The cells in force as of a date, keyed by (party id, issue id), in one query."""
    stale_before = as_of - timedelta(days=stale_after_days)
    cells: dict[tuple[int, int], Cell] = {}
    stmt = current_positions_query(
        as_of=as_of, known_on=known_on, party_ids=party_ids, issue_ids=issue_ids
    )
    for row in session.execute(stmt):
        latest = row.latest_evidence_on
        cells[(row.party_id, row.issue_id)] = Cell(
            party_id=row.party_id,
            issue_id=row.issue_id,
            position_id=row.id,
            stance=Stance(row.stance),
            condition=row.condition,
            effective_from=row.effective_from,
            evidence_count=row.evidence_count,
            latest_evidence_on=latest,
            confirmation=confirmation_of(confirmed=row.confirmed, denied=row.denied),
            stale=latest is None or latest < stale_before,
        )
    return cells


def build_matrix(
    session: Session,
    *,
    as_of: date,
    known_on: date | None = None,
    since: date | None = None,
    stale_after_days: int = 60,
) -> Matrix:
    """The whole matrix as of a date in three queries (parties, issues, cells), plus one for
    the changes when `since` is given."""
    grid = Matrix(
        as_of=as_of,
        known_on=known_on,
        parties=catalog.list_parties(session),
        issues=catalog.list_issues(session),
        cells=current_cells(
            session, as_of=as_of, known_on=known_on, stale_after_days=stale_after_days
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


def changes_between(
    session: Session,
    *,
    since: date,
    until: date,
    known_on: date | None = None,
    party_ids: list[int] | None = None,
    issue_ids: list[int] | None = None,
    limit: int | None = None,
) -> list[Change]:
    """Changes of stance with effective_from in (since, until], newest first, in one query.

    A position that repeats the stance before it is a reaffirmation, not a change.
    """
    previous = (
        func.lag(Position.stance)
        .over(
            partition_by=(Position.party_id, Position.issue_id),
            order_by=(Position.effective_from, Position.recorded_at, Position.id),
        )
        .label("previous")
    )
    history = select(
        Position.id,
        Position.party_id,
        Position.issue_id,
        Position.stance,
        Position.condition,
        Position.effective_from,
        Position.recorded_at,
        Position.rationale,
        previous,
    ).where(Position.effective_from <= until)
    h = _scoped(history, known_on, party_ids, issue_ids).subquery("history")
    stmt = (
        select(h)
        .where(
            h.c.effective_from > since,
            (h.c.previous.is_(None)) | (h.c.previous != h.c.stance),
        )
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
        )
        for row in session.execute(stmt)
    ]


def net_changed_cells(changes: list[Change]) -> set[tuple[int, int]]:
    """Cells whose stance at the end differs from the start (going and coming back is no change)."""
    first_old: dict[tuple[int, int], Stance | None] = {}
    last_new: dict[tuple[int, int], Stance] = {}
    for change in changes:  # newest first
        key = (change.party_id, change.issue_id)
        last_new.setdefault(key, change.new_stance)
        first_old[key] = change.old_stance
    return {key for key, stance in last_new.items() if first_old[key] != stance}
