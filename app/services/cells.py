"""A cell's detail (one party on one issue): the position in force, its history and the quotes,
in a fixed number of statements, each bounded by the cell."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import date, datetime
from operator import attrgetter
from typing import Any

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session

from app.models import Issue, Party, Position, PositionEvidence, QuoteIssue, Round, Stance, User
from app.services import catalog, held_catalog, rounds
from app.services.errors import NotFound
from app.services.matrix import Cell, Run, current_cells, known_before, runs_of
from app.services.quote_views import QuoteView, RoundRef, load_quotes
from app.services.timeline import Timeline, build_timeline

CELL_QUOTE_LIMIT = 20
"""Quotes shown in a cell's detail, newest first, with a link to all of them in the search."""


@dataclass(frozen=True, slots=True)
class RecorderRef:
    """The editor who recorded a position, as the history names them."""

    id: int
    display_name: str


@dataclass(frozen=True, slots=True)
class PositionView:
    """A position of a cell's history read for showing: the attributes the history, its
    timeline and the API read, under `Position`'s names, in no session (so a round or recorder
    is never loaded lazily; both come with the row). Read as ORM entities with their recorders
    these were 12.5% of a cell page's time on the large benchmark database."""

    id: int
    party: Party
    issue: Issue
    stance: Stance
    condition: str | None
    effective_from: date
    rationale: str
    recorded_at: datetime
    recorded_by: RecorderRef | None
    round: RoundRef | None

    @property
    def party_id(self) -> int:
        """The party's id."""
        return self.party.id

    @property
    def issue_id(self) -> int:
        """The issue's id."""
        return self.issue.id


@dataclass(slots=True)
class CellDetail:
    """One party on one issue: the position in force, its history and the quotes."""

    party: Party
    issue: Issue
    as_of: date
    known_on: date | None
    cell: Cell | None
    history: list[PositionView]
    quotes: list[QuoteView]
    evidence: dict[int, list[QuoteView]] = field(default_factory=dict)
    """The quotes each position of the history cites, newest first, by position id (read as
    views: `Position.evidence` is not loaded)."""
    timeline: Timeline | None = None
    members: list[tuple[Party, Stance]] = field(default_factory=list)

    @property
    def runs(self) -> list[Run[PositionView]]:
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


@functools.cache
def _history_statement() -> Select[Any]:
    """A cell's positions with who recorded them, the round they were taken at and the ids of
    the quotes they cite (one row per quote): built once, as `:party`, `:issue` and `:as_of`
    are parameters."""
    columns: list[Any] = [
        Position.id, Position.stance, Position.condition, Position.effective_from,
        Position.rationale, Position.recorded_at, User.id, User.display_name,
        Round.id, Round.slug, Round.name, PositionEvidence.quote_id,
    ]  # fmt: skip
    return (
        select(*columns)
        .select_from(Position)
        .outerjoin(User, User.id == Position.recorded_by_id)
        .outerjoin(Round, Round.id == Position.round_id)
        .outerjoin(PositionEvidence, PositionEvidence.position_id == Position.id)
        .where(
            Position.party_id == bindparam("party"),
            Position.issue_id == bindparam("issue"),
            Position.effective_from <= bindparam("as_of"),
        )
        .order_by(Position.effective_from.desc(), Position.recorded_at.desc(), Position.id.desc())
    )


def _cell_history(
    session: Session, *, party: Party, issue: Issue, as_of: date, known_on: date | None
) -> tuple[list[PositionView], dict[int, list[int]]]:
    """A cell's positions in force on or before `as_of` (newest first) with who recorded them
    and where, and the ids of the quotes each cites: one statement (party and issue are
    already loaded)."""
    stmt = _history_statement()
    if known_on is not None:
        stmt = stmt.where(Position.recorded_at < known_before(known_on))
    history: dict[int, PositionView] = {}
    cited: dict[int, list[int]] = {}
    rows = session.execute(stmt, {"party": party.id, "issue": issue.id, "as_of": as_of})
    for pid, stance, condition, since, why, at, uid, uname, rid, rslug, rname, quote_id in rows:
        if pid not in history:
            history[pid] = PositionView(
                id=pid,
                party=party,
                issue=issue,
                stance=stance,
                condition=condition,
                effective_from=since,
                rationale=why,
                recorded_at=at,
                recorded_by=RecorderRef(uid, uname) if uid is not None else None,
                round=RoundRef(rid, rslug, rname) if rid is not None else None,
            )
        if quote_id is not None:
            cited.setdefault(pid, []).append(quote_id)
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
