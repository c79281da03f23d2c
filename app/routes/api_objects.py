"""The API's single objects, each the JSON twin of a page: a party, an issue, a cell, a comparison
and a speaker (the lists and the matrix are in app.routes.api)."""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from app.config import get_settings
from app.db import SessionDep
from app.forms import parse_day, whole_number
from app.routes.api import (
    CellOut,
    Errors,
    IssueDetailOut,
    PartyDetailOut,
    PositionOut,
    QuoteOut,
    SpeakerOut,
    cell_out,
    issue_out,
    party_out,
    position_out,
    quote_out,
    speaker_out,
)
from app.routes.pages import CompareChoiceDep
from app.services import catalog, cells, evidence, speakers
from app.services.errors import NotFound

router = APIRouter(prefix="/api/v1", tags=["api"])

AsOf = Annotated[str | None, Query(max_length=100, description="YYYY-MM-DD; default today.")]
KnownOn = Annotated[
    str | None,
    Query(max_length=100, description="YYYY-MM-DD: ignore positions recorded after this day."),
]


class PartyObjectOut(PartyDetailOut):
    """A party as its page shows it: its stance on each issue as of a date (absent: nothing
    recorded), its position history (newest first) and its newest quotes (at most 50)."""

    as_of: date
    members: list[str]
    cells: list[CellOut]
    positions: list[PositionOut]
    quotes: list[QuoteOut]


class IssueObjectOut(IssueDetailOut):
    """An issue as its page shows it: each party's stance as of a date (absent: nothing
    recorded), the position history (newest first) and the newest quotes (at most 50)."""

    as_of: date
    cells: list[CellOut]
    positions: list[PositionOut]
    quotes: list[QuoteOut]


class CellObjectOut(CellOut):
    """A party on an issue as the matrix computes it, as of a date and, with `known_on`, as we
    knew it then: `state` is `position`, `split`, `not_assessed` or `none` (nothing recorded);
    with its position history (newest first) and its newest quotes (at most 20)."""

    as_of: date
    known_on: date | None
    positions: list[PositionOut]
    quotes: list[QuoteOut]


class VerdictOut(BaseModel):
    """How the compared parties stand on one issue: `agree`, `differ`, `unclear` (the reason
    says why) or `not_comparable`; each party's cell (absent: nothing recorded) and the id of
    its newest quote on the issue."""

    issue: str
    verdict: str
    reason: str
    cells: list[CellOut]
    latest_quotes: dict[str, int]


class CompareOut(BaseModel):
    """Two to eight parties side by side as of a date, issue by issue."""

    as_of: date
    parties: list[str]
    only_differences: bool
    summary: str
    counts: dict[str, int]
    issues: list[VerdictOut]


class SpeakerIssueOut(BaseModel):
    """An issue a speaker's quotes are tagged with (null: quotes tagged with none), and those
    quotes' ids, newest first."""

    issue: str | None
    quotes: list[int]


class SpeakerObjectOut(SpeakerOut):
    """A speaker as their page shows them: who they are, their newest quotes (at most 100) and
    the same quotes by issue; `quote_count` counts all of them."""

    party_name: str
    quote_count: int
    issues: list[SpeakerIssueOut]
    quotes: list[QuoteOut]


def _party_slugs(session: SessionDep) -> dict[int, str]:
    return {p.id: p.slug for p in catalog.list_parties(session)}


def _day(value: str | None) -> date:
    return parse_day(value, field="as_of") or date.today()


@router.get("/parties/{slug}", response_model=PartyObjectOut, responses=Errors, summary="A party")
def party_api(session: SessionDep, slug: str, as_of: AsOf = None) -> PartyObjectOut:
    """One party across issues as of a date: the JSON twin of the /parties/{slug} page."""
    detail = evidence.party_detail(
        session, slug=slug, as_of=_day(as_of), stale_after_days=get_settings().stale_after_days
    )
    slugs = _party_slugs(session)
    issue_slugs = {i.id: i.slug for i in detail.issues}
    return PartyObjectOut(
        **party_out(detail.party, slugs).model_dump(),
        as_of=detail.as_of,
        members=[m.slug for m in detail.members],
        cells=[
            cell_out(cell, slugs, issue_slugs)
            for issue in detail.issues
            if (cell := detail.cells.get((detail.party.id, issue.id))) is not None
        ],
        positions=[position_out(p) for p in detail.history],
        quotes=[quote_out(q) for q in detail.quotes],
    )


@router.get("/issues/{slug}", response_model=IssueObjectOut, responses=Errors, summary="An issue")
def issue_api(session: SessionDep, slug: str, as_of: AsOf = None) -> IssueObjectOut:
    """One issue across parties as of a date: the JSON twin of the /issues/{slug} page."""
    detail = evidence.issue_detail(
        session, slug=slug, as_of=_day(as_of), stale_after_days=get_settings().stale_after_days
    )
    slugs = {p.id: p.slug for p in detail.parties}
    issue_slugs = {detail.issue.id: detail.issue.slug}
    return IssueObjectOut(
        **issue_out(detail.issue).model_dump(),
        as_of=detail.as_of,
        cells=[
            cell_out(cell, slugs, issue_slugs)
            for party in detail.parties
            if (cell := detail.cells.get((party.id, detail.issue.id))) is not None
        ],
        positions=[position_out(p) for p in detail.history],
        quotes=[quote_out(q) for q in detail.quotes],
    )


@router.get(
    "/cells/{party}/{issue}", response_model=CellObjectOut, responses=Errors, summary="A cell"
)
def cell_api(
    session: SessionDep, party: str, issue: str, as_of: AsOf = None, known_on: KnownOn = None
) -> CellObjectOut:
    """One party on one issue as of a date (and as we knew it on `known_on`): the state the
    matrix shows, the position history and the quotes; the JSON twin of the cell page."""
    detail = cells.cell_detail(
        session,
        party_slug=party,
        issue_slug=issue,
        as_of=_day(as_of),
        known_on=parse_day(known_on, field="known_on"),
        stale_after_days=get_settings().stale_after_days,
    )
    if detail.cell is not None:
        slugs = {detail.party.id: detail.party.slug} | {m.id: m.slug for m, _ in detail.members}
        state = cell_out(detail.cell, slugs, {detail.issue.id: detail.issue.slug}).model_dump()
    else:
        state = CellOut(
            party=detail.party.slug, issue=detail.issue.slug, state="none", stance=None,
            condition=None, since=None, effective_from=None, restated_on=None,
            evidence_count=0, latest_evidence_on=None, confirmation=None, stale=False,
        ).model_dump()  # fmt: skip
    return CellObjectOut(
        **state,
        as_of=detail.as_of,
        known_on=detail.known_on,
        positions=[
            position_out(p, evidence=[q.id for q in detail.evidence[p.id]]) for p in detail.history
        ],
        quotes=[quote_out(q) for q in detail.quotes],
    )


@router.get("/compare", response_model=CompareOut, responses=Errors, summary="Compare parties")
def compare_api(
    session: SessionDep,
    choice: CompareChoiceDep,
    as_of: AsOf = None,
) -> CompareOut:
    """Issue by issue, where the parties agree, differ or are unclear, as on the /compare page."""
    slugs, only_differences = choice
    comparison = evidence.compare(
        session,
        slugs=slugs,
        as_of=_day(as_of),
        stale_after_days=get_settings().stale_after_days,
        only_differences=only_differences,
    )
    party_slugs = {p.id: p.slug for p in comparison.all_parties}
    issue_slugs = {i.id: i.slug for i in comparison.issues}
    counts = Counter(verdict.word for _, verdict in comparison.verdicts)
    return CompareOut(
        as_of=comparison.as_of,
        parties=[p.slug for p in comparison.parties],
        only_differences=only_differences,
        summary=comparison.summary,
        counts={word: counts[word] for word in evidence.VERDICT_WORDS},
        issues=[
            VerdictOut(
                issue=issue.slug,
                verdict=verdict.word,
                reason=verdict.reason,
                cells=[
                    cell_out(cell, party_slugs, issue_slugs)
                    for p in comparison.parties
                    if (cell := comparison.cells.get((p.id, issue.id))) is not None
                ],
                latest_quotes={
                    p.slug: quote.id
                    for p in comparison.parties
                    if (quote := comparison.latest.get((p.id, issue.id))) is not None
                },
            )
            for issue, verdict in comparison.rows
        ],
    )


@router.get(
    "/speakers/{speaker_id}", response_model=SpeakerObjectOut, responses=Errors, summary="A speaker"
)
def speaker_api(session: SessionDep, speaker_id: str) -> SpeakerObjectOut:
    """Who a speaker is and their newest quotes, also by issue: the twin of /speakers/{id}."""
    number = whole_number(speaker_id)
    if number is None:
        raise NotFound("speaker", speaker_id)
    detail = speakers.speaker_detail(session, speaker_id=number)
    return SpeakerObjectOut(
        **speaker_out(detail.speaker).model_dump(),
        party_name=detail.speaker.party.name,
        quote_count=detail.quote_count,
        issues=[
            SpeakerIssueOut(issue=issue.slug if issue else None, quotes=[q.id for q, _ in items])
            for issue, items in detail.by_issue
        ],
        quotes=[quote_out(q) for q in detail.quotes],
    )
