"""The evidence behind cells, parties and issues: position histories and quotes, eagerly loaded."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.sql.elements import ColumnElement

from app.models import Issue, Party, Position, PositionEvidence, Quote, QuoteIssue, Source
from app.services import catalog
from app.services.matrix import (
    Cell,
    Change,
    Matrix,
    changes_between,
    current_cells,
    known_before,
)
from app.services.timeline import Timeline, build_timeline

QUOTE_LIMIT = 50
"""Quotes shown on a party or issue page; the quote search pages through the rest."""
CELL_QUOTE_LIMIT = 20
"""Quotes shown in a cell's detail, newest first, with a link to all of them in the search."""


def quote_loading() -> list[Any]:
    # Everything a quote's citation shows, in a fixed number of queries whatever the count.
    return [
        selectinload(Quote.speaker),
        selectinload(Quote.party),
        selectinload(Quote.source),
        selectinload(Quote.issue_tags).selectinload(QuoteIssue.issue),
        selectinload(Quote.confirms_or_denies).selectinload(Quote.source),
        selectinload(Quote.confirms_or_denies).selectinload(Quote.speaker),
        selectinload(Quote.responses).selectinload(Quote.speaker),
        selectinload(Quote.responses).selectinload(Quote.party),
    ]


def position_history(
    session: Session,
    *,
    as_of: date,
    known_on: date | None = None,
    party: Party | None = None,
    issue: Issue | None = None,
) -> list[Position]:
    """Positions in force on or before `as_of` (newest first), with their evidence loaded."""
    stmt = select(Position).where(Position.effective_from <= as_of)
    if known_on is not None:
        stmt = stmt.where(Position.recorded_at < known_before(known_on))
    if party is not None:
        stmt = stmt.where(Position.party_id == party.id)
    if issue is not None:
        stmt = stmt.where(Position.issue_id == issue.id)
    stmt = stmt.order_by(
        Position.effective_from.desc(), Position.recorded_at.desc(), Position.id.desc()
    ).options(
        selectinload(Position.party),
        selectinload(Position.issue),
        selectinload(Position.recorded_by),
        selectinload(Position.evidence).options(*quote_loading()),
    )
    return list(session.scalars(stmt))


def recent_quotes(
    session: Session,
    *,
    as_of: date,
    party: Party | None = None,
    issue: Issue | None = None,
    limit: int = QUOTE_LIMIT,
) -> list[Quote]:
    """The newest quotes said on or before `as_of`, of a party and/or tagged with an issue."""
    conditions: list[ColumnElement[bool]] = [Quote.said_on <= as_of]
    if party is not None:
        conditions.append(Quote.party_id == party.id)
    if issue is not None:
        conditions.append(
            Quote.id.in_(select(QuoteIssue.quote_id).where(QuoteIssue.issue_id == issue.id))
        )
    stmt = (
        select(Quote)
        .where(*conditions)
        .order_by(Quote.said_on.desc(), Quote.id.desc())
        .limit(limit)
        .options(*quote_loading())
    )
    return list(session.scalars(stmt))


@dataclass(slots=True)
class CellDetail:
    """One party on one issue: the position in force, its history and the quotes."""

    party: Party
    issue: Issue
    as_of: date
    known_on: date | None
    cell: Cell | None
    history: list[Position]
    quotes: list[Quote]
    timeline: Timeline | None = None


def cell_detail(
    session: Session,
    *,
    party_slug: str,
    issue_slug: str,
    as_of: date,
    known_on: date | None = None,
    stale_after_days: int = 60,
) -> CellDetail:
    """Everything the cell page shows, or NotFound for an unknown party or issue."""
    party = catalog.get_party(session, slug=party_slug)
    issue = catalog.get_issue(session, slug=issue_slug)
    cells = current_cells(
        session,
        as_of=as_of,
        known_on=known_on,
        stale_after_days=stale_after_days,
        party_ids=[party.id],
        issue_ids=[issue.id],
    )
    history = position_history(session, as_of=as_of, known_on=known_on, party=party, issue=issue)
    return CellDetail(
        party=party,
        issue=issue,
        as_of=as_of,
        known_on=known_on,
        cell=cells.get((party.id, issue.id)),
        history=history,
        quotes=recent_quotes(
            session, as_of=as_of, party=party, issue=issue, limit=CELL_QUOTE_LIMIT
        ),
        timeline=build_timeline(history, parties=[party], as_of=as_of),
    )


@dataclass(slots=True)
class PartyDetail:
    """One party across all issues."""

    party: Party
    members: list[Party]
    as_of: date
    issues: list[Issue]
    cells: dict[tuple[int, int], Cell]
    history: list[Position]
    quotes: list[Quote]


def party_detail(
    session: Session, *, slug: str, as_of: date, stale_after_days: int = 60
) -> PartyDetail:
    """Everything the party page shows, or NotFound."""
    party = catalog.get_party(session, slug=slug)
    members = [p for p in catalog.list_parties(session) if p.parent_id == party.id]
    return PartyDetail(
        party=party,
        members=members,
        as_of=as_of,
        issues=catalog.list_issues(session),
        cells=current_cells(
            session, as_of=as_of, stale_after_days=stale_after_days, party_ids=[party.id]
        ),
        history=position_history(session, as_of=as_of, party=party),
        quotes=recent_quotes(session, as_of=as_of, party=party),
    )


@dataclass(slots=True)
class IssueDetail:
    """One issue across all parties."""

    issue: Issue
    as_of: date
    parties: list[Party]
    cells: dict[tuple[int, int], Cell]
    history: list[Position]
    quotes: list[Quote]
    timeline: Timeline | None = None


def issue_detail(
    session: Session, *, slug: str, as_of: date, stale_after_days: int = 60
) -> IssueDetail:
    """Everything the issue page shows, or NotFound."""
    issue = catalog.get_issue(session, slug=slug)
    parties = catalog.list_parties(session)
    history = position_history(session, as_of=as_of, issue=issue)
    return IssueDetail(
        issue=issue,
        as_of=as_of,
        parties=parties,
        cells=current_cells(
            session, as_of=as_of, stale_after_days=stale_after_days, issue_ids=[issue.id]
        ),
        history=history,
        quotes=recent_quotes(session, as_of=as_of, issue=issue),
        timeline=build_timeline(history, parties=parties, as_of=as_of),
    )


def change_quotes(session: Session, *, position_ids: list[int]) -> dict[int, Quote]:
    """For each position, the newest quote it cites (the one that shows the change)."""
    if not position_ids:
        return {}
    stmt = (
        select(PositionEvidence.position_id, Quote)
        .join(Quote, Quote.id == PositionEvidence.quote_id)
        .where(PositionEvidence.position_id.in_(position_ids))
        .order_by(PositionEvidence.position_id, Quote.said_on.desc(), Quote.id.desc())
        .options(selectinload(Quote.speaker), selectinload(Quote.source))
    )
    shown: dict[int, Quote] = {}
    for position_id, quote in session.execute(stmt):
        shown.setdefault(position_id, quote)
    return shown


@dataclass(slots=True)
class ChangeList:
    """Changes of stance between two dates, with the quote that shows each."""

    since: date
    until: date
    known_on: date | None
    changes: list[Change]
    parties: dict[int, Party]
    issues: dict[int, Issue]
    quotes: dict[int, Quote]


def change_list(
    session: Session,
    *,
    since: date,
    until: date,
    known_on: date | None = None,
    matrix: Matrix | None = None,
    changes: list[Change] | None = None,
    limit: int = 500,
) -> ChangeList:
    """The "what changed" list; given the matrix, its changes, parties and issues are reused."""
    if matrix is not None:
        changes, parties, issues = matrix.changes, matrix.parties, matrix.issues
    else:
        if changes is None:
            changes = changes_between(
                session, since=since, until=until, known_on=known_on, limit=limit
            )
        parties, issues = catalog.list_parties(session), catalog.list_issues(session)
    return ChangeList(
        since=since,
        until=until,
        known_on=known_on,
        changes=changes,
        parties={p.id: p for p in parties},
        issues={i.id: i for i in issues},
        quotes=change_quotes(session, position_ids=[c.position_id for c in changes]),
    )


@dataclass(slots=True)
class Comparison:
    """Two parties side by side, issue by issue, as of a date."""

    a: Party
    b: Party
    as_of: date
    issues: list[Issue]
    cells: dict[tuple[int, int], Cell]
    latest: dict[tuple[int, int], Quote]

    def verdict(self, issue: Issue) -> str:
        """'agree', 'differ', or 'unknown' when either side has no recorded position."""
        a, b = self.cells.get((self.a.id, issue.id)), self.cells.get((self.b.id, issue.id))
        if a is None or b is None:
            return "unknown"
        return "agree" if a.stance == b.stance else "differ"


def latest_quotes(
    session: Session, *, party_ids: list[int], as_of: date
) -> dict[tuple[int, int], Quote]:
    """The newest quote of each party on each issue it is tagged with, said on or before as_of."""
    rank = (
        func.row_number()
        .over(
            partition_by=(Quote.party_id, QuoteIssue.issue_id),
            order_by=(Quote.said_on.desc(), Quote.id.desc()),
        )
        .label("rank")
    )
    ranked = (
        select(Quote.id.label("quote_id"), Quote.party_id, QuoteIssue.issue_id, rank)
        .join(QuoteIssue, QuoteIssue.quote_id == Quote.id)
        .where(Quote.party_id.in_(party_ids), Quote.said_on <= as_of)
        .subquery()
    )
    rows = session.execute(
        select(ranked.c.party_id, ranked.c.issue_id, Quote)
        .join(Quote, Quote.id == ranked.c.quote_id)
        .where(ranked.c.rank == 1)
        .options(selectinload(Quote.speaker), selectinload(Quote.source))
    )
    return {(party_id, issue_id): quote for party_id, issue_id, quote in rows}


def compare(
    session: Session, *, a_slug: str, b_slug: str, as_of: date, stale_after_days: int = 60
) -> Comparison:
    """Two parties' stances and latest quotes per issue, or NotFound."""
    a = catalog.get_party(session, slug=a_slug)
    b = catalog.get_party(session, slug=b_slug)
    return Comparison(
        a=a,
        b=b,
        as_of=as_of,
        issues=catalog.list_issues(session),
        cells=current_cells(
            session, as_of=as_of, stale_after_days=stale_after_days, party_ids=[a.id, b.id]
        ),
        latest=latest_quotes(session, party_ids=[a.id, b.id], as_of=as_of),
    )


def list_positions(
    session: Session,
    *,
    party: Party | None = None,
    issue: Issue | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    page: int = 1,
    page_size: int = 50,
) -> tuple[list[Position], bool]:
    """Positions newest first (by effective date), filtered; returns the page and whether more follow."""
    stmt = select(Position)
    if party is not None:
        stmt = stmt.where(Position.party_id == party.id)
    if issue is not None:
        stmt = stmt.where(Position.issue_id == issue.id)
    if date_from is not None:
        stmt = stmt.where(Position.effective_from >= date_from)
    if date_to is not None:
        stmt = stmt.where(Position.effective_from <= date_to)
    stmt = (
        stmt.order_by(
            Position.effective_from.desc(), Position.recorded_at.desc(), Position.id.desc()
        )
        .offset((page - 1) * page_size)
        .limit(page_size + 1)
        .options(
            selectinload(Position.party),
            selectinload(Position.issue),
            selectinload(Position.evidence),
        )
    )
    rows = list(session.scalars(stmt))
    return rows[:page_size], len(rows) > page_size


def list_sources(
    session: Session, *, page: int = 1, page_size: int = 50
) -> tuple[list[Source], bool]:
    """Sources, newest first; returns the page and whether more follow."""
    stmt = (
        select(Source)
        .order_by(Source.id.desc())
        .offset((page - 1) * page_size)
        .limit(page_size + 1)
    )
    rows = list(session.scalars(stmt))
    return rows[:page_size], len(rows) > page_size
