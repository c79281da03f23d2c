"""A cell's detail (one party on one issue): the position in force, its history and the quotes,
in a fixed number of statements, each bounded by the cell."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from operator import attrgetter
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, joinedload

from app.models import Issue, Party, Position, PositionEvidence, QuoteIssue, Stance
from app.services import catalog, held_catalog, rounds
from app.services.errors import NotFound
from app.services.matrix import Cell, Run, current_cells, known_before, runs_of
from app.services.quote_views import QuoteView, load_quotes
from app.services.timeline import Timeline, build_timeline

CELL_QUOTE_LIMIT = 20
"""Quotes shown in a cell's detail, newest first, with a link to all of them in the search."""


@dataclass(slots=True)
class CellDetail:
    """One party on one issue: the position in force, its history and the quotes."""

    party: Party
    issue: Issue
    as_of: date
    known_on: date | None
    cell: Cell | None
    history: list[Position]
    quotes: list[QuoteView]
    evidence: dict[int, list[QuoteView]] = field(default_factory=dict)
    """The quotes each position of the history cites, newest first, by position id (read as
    views: `Position.evidence` is not loaded)."""
    timeline: Timeline | None = None
    members: list[tuple[Party, Stance]] = field(default_factory=list)

    @property
    def runs(self) -> list[Run]:
        """The history as runs of one stance, newest first: a change starts a run, a
        restatement adds to it."""
        return list(reversed(runs_of(self.history)))


def cell_quotes_query(
    *, party_id: int, issue_id: int, as_of: date, limit: int = CELL_QUOTE_LIMIT
) -> Select[Any]:
    """The ids of a cell's newest quotes said on or before `as_of`: one range of the tags' cell
    index (issue, party, day), however many quotes the party has."""
    return (
        select(QuoteIssue.quote_id)
        .where(
            QuoteIssue.issue_id == issue_id,
            QuoteIssue.party_id == party_id,
            QuoteIssue.said_on <= as_of,
        )
        .order_by(QuoteIssue.said_on.desc(), QuoteIssue.quote_id.desc())
        .limit(limit)
    )


def _cell_history(
    session: Session, *, party: Party, issue: Issue, as_of: date, known_on: date | None
) -> tuple[list[Position], dict[int, list[int]]]:
    """A cell's positions in force on or before `as_of` (newest first) with who recorded them,
    and the ids of the quotes each cites: one statement (party and issue are already loaded)."""
    stmt = (
        select(Position, PositionEvidence.quote_id)
        .outerjoin(PositionEvidence, PositionEvidence.position_id == Position.id)
        .where(
            Position.party_id == party.id,
            Position.issue_id == issue.id,
            Position.effective_from <= as_of,
        )
        .order_by(Position.effective_from.desc(), Position.recorded_at.desc(), Position.id.desc())
        .options(joinedload(Position.recorded_by))
    )
    if known_on is not None:
        stmt = stmt.where(Position.recorded_at < known_before(known_on))
    history: dict[int, Position] = {}
    cited: dict[int, list[int]] = {}
    for position, quote_id in session.execute(stmt):
        history.setdefault(position.id, position)
        if quote_id is not None:
            cited.setdefault(position.id, []).append(quote_id)
    return list(history.values()), cited


def cell_detail(
    session: Session,
    *,
    party_slug: str,
    issue_slug: str,
    as_of: date,
    known_on: date | None = None,
    stale_after_days: int = 60,
    listing: held_catalog.Listing | None = None,
    marks: list[tuple[date, str]] | None = None,
) -> CellDetail:
    """Everything the cell page shows, or NotFound for an unknown party or issue.

    A fixed number of statements whatever the cell holds, each bounded by the cell: the parties,
    the issue, the stored run in force, the positions with their evidence's ids, the newest
    quotes' ids (an index range), and every quote shown loaded once. A cached view passes the
    worker's `listing` of the catalog and its round `marks` up to `as_of`
    (app.services.held_catalog): then neither the parties, the issue nor the rounds are
    queried."""
    parties = listing.parties if listing is not None else catalog.list_parties(session)
    party = next((p for p in parties if p.slug == party_slug), None)
    if party is None:
        raise NotFound("party", party_slug)
    if listing is not None:
        issue = next((i for i in listing.issues if i.slug == issue_slug), None)
        if issue is None:
            raise NotFound("issue", issue_slug)
    else:
        issue = catalog.get_issue(session, slug=issue_slug)
    cells = current_cells(
        session,
        as_of=as_of,
        known_on=known_on,
        stale_after_days=stale_after_days,
        party_ids=[party.id],
        issue_ids=[issue.id],
        parties=parties,
    )
    cell = cells.get((party.id, issue.id))
    by_id = {p.id: p for p in parties}
    history, cited = _cell_history(
        session, party=party, issue=issue, as_of=as_of, known_on=known_on
    )
    recent = list(
        session.scalars(cell_quotes_query(party_id=party.id, issue_id=issue.id, as_of=as_of))
    )
    wanted = set(recent).union(*cited.values())
    loaded = load_quotes(session, sorted(wanted))
    newest = attrgetter("said_on", "id")
    evidence = {
        position.id: sorted(
            (loaded[i] for i in cited.get(position.id, ()) if i in loaded), key=newest, reverse=True
        )
        for position in history
    }
    return CellDetail(
        members=[(by_id[pid], stance) for pid, stance in cell.members] if cell else [],
        party=party,
        issue=issue,
        as_of=as_of,
        known_on=known_on,
        cell=cell,
        history=history,
        quotes=[loaded[i] for i in recent if i in loaded],
        evidence=evidence,
        timeline=build_timeline(
            history,
            parties=[party],
            as_of=as_of,
            rounds=marks if marks is not None else rounds.on_axis(session, until=as_of),
        ),
    )
