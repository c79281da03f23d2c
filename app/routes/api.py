"""The read-only JSON API (documented at /docs) and the health check."""

from __future__ import annotations

import os
import resource
from collections.abc import Iterable
from datetime import date, datetime
from typing import Annotated, Any, Generic, TypeVar
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import text

from app.cached_views import cache_state
from app.config import get_settings
from app.db import EngineDep, SessionDep, pool_state
from app.forms import parse_day, parse_whole_number
from app.models import Issue, Party, Position, Quote, Source, Speaker
from app.routes.pages import Issues, Parties, change_window
from app.routes.search import QuoteQueryDep
from app.services import (
    catalog,
    evidence,
    matrix,
    matrix_view,
    rounds,
    search,
    speakers,
    versioning,
)
from app.services.cells import PositionView
from app.services.errors import InvalidParameter
from app.services.quote_views import QuoteView, SourceRef

T = TypeVar("T")

router = APIRouter(prefix="/api/v1", tags=["api"])
health_router = APIRouter(tags=["health"])


class PartyOut(BaseModel):
    """A row of the matrix."""

    slug: str
    name: str
    parent: str | None


class IssueOut(BaseModel):
    """A column of the matrix."""

    slug: str
    title: str
    proposition: str


class CellOut(BaseModel):
    """A party on an issue. `state` is `position` (a stance in force: `since` is the start of its
    unbroken run, restatements included), `split` (a bloc with no position of its own whose
    members differ: `stance` is null) or `not_assessed` (quotes tagged, no position yet). Absent
    cells mean nothing is recorded."""

    party: str
    issue: str
    state: str
    stance: str | None
    condition: str | None
    since: date | None
    effective_from: date | None
    restated_on: date | None
    evidence_count: int
    latest_evidence_on: date | None
    confirmation: str | None
    stale: bool
    changed: bool = False
    split: bool = False
    members: dict[str, str] | None = None
    unassessed_quotes: int = 0


def cell_out(
    cell: matrix.Cell, slugs: dict[int, str], issue_slugs: dict[int, str], *, changed: bool = False
) -> CellOut:
    """A cell as the API shows it; `slugs` must hold every party of the cell and its members."""
    return CellOut(
        party=slugs[cell.party_id],
        issue=issue_slugs[cell.issue_id],
        state=cell.state,
        stance=cell.stance.value if cell.stance else None,
        condition=cell.condition,
        since=cell.since,
        effective_from=cell.effective_from,
        restated_on=cell.restated_on,
        evidence_count=cell.evidence_count,
        latest_evidence_on=cell.latest_evidence_on,
        confirmation=cell.confirmation,
        stale=cell.stale,
        changed=changed,
        split=cell.split,
        members={slugs[pid]: stance.value for pid, stance in cell.members} or None,
        unassessed_quotes=cell.unassessed,
    )


class MatrixOut(BaseModel):
    """The matrix as of a date."""

    as_of: date
    known_on: date | None
    since: date | None = None
    parties: list[PartyOut]
    issues: list[IssueOut]
    cells: list[CellOut]


class ErrorOut(BaseModel):
    """Every API error: what went wrong, and on which parameter."""

    error: str
    detail: str
    field: str | None = None


@router.get(
    "/matrix",
    response_model=MatrixOut,
    responses={400: {"model": ErrorOut}},
    summary="The position matrix as of a date",
)
def matrix_api(
    session: SessionDep,
    as_of: Annotated[str | None, Query(description="YYYY-MM-DD; default today.")] = None,
    known_on: Annotated[
        str | None, Query(description="YYYY-MM-DD: ignore positions recorded after this day.")
    ] = None,
    since: Annotated[
        str | None,
        Query(
            description="YYYY-MM-DD, or round:<slug> (from that round's first day): flag cells"
            " whose stance changed after it."
        ),
    ] = None,
    parties: Parties = None,
    issues: Issues = None,
) -> MatrixOut:
    """Each party's stance on each issue in force on `as_of`, one cell per recorded position."""
    day = parse_day(as_of, field="as_of") or date.today()
    since_moment = rounds.parse_since(session, since, field="since")
    since_day = since_moment.day if since_moment else None
    if since_day is not None and since_day >= day:
        raise InvalidParameter("since", "must be before as_of.")
    grid = matrix.build_matrix(
        session,
        as_of=day,
        known_on=parse_day(known_on, field="known_on"),
        since=since_day,
        stale_after_days=get_settings().stale_after_days,
    )
    grid = matrix_view.chosen(grid, parties=parties, issues=issues)
    slugs = {p.id: p.slug for p in grid.parties}
    issue_slugs = {i.id: i.slug for i in grid.issues}
    return MatrixOut(
        as_of=grid.as_of,
        known_on=grid.known_on,
        since=grid.since,
        parties=[
            PartyOut(
                slug=p.slug,
                name=p.name,
                parent=slugs.get(p.parent_id) if p.parent_id is not None else None,
            )
            for p in grid.parties
        ],
        issues=[
            IssueOut(slug=i.slug, title=i.title, proposition=i.proposition) for i in grid.issues
        ],
        cells=[
            cell_out(c, slugs, issue_slugs, changed=grid.has_changed(party, issue))
            for party in grid.parties
            for issue in grid.issues
            if (c := grid.cell(party, issue)) is not None
        ],
    )


MAX_PAGE_SIZE = 100


class PartyDetailOut(BaseModel):
    """A party."""

    slug: str
    name: str
    short_name: str
    kind: str
    parent: str | None
    sort_order: int


class IssueDetailOut(BaseModel):
    """An issue: a term of a settlement phrased as a proposition."""

    slug: str
    title: str
    proposition: str
    description: str
    sort_order: int


class SpeakerOut(BaseModel):
    """A person who speaks for a party."""

    id: int
    name: str
    role: str
    party: str
    aliases: list[str]
    """Other writings of the name (searched like it), by name."""


class SourceOut(BaseModel):
    """Where a quote was published."""

    id: int
    url: str
    title: str
    outlet: str
    published_on: date | None
    kind: str
    tier: str


class TagOut(BaseModel):
    """An issue a quote bears on, with the stance it signals."""

    issue: str
    stance: str


class QuoteOut(BaseModel):
    """A piece of evidence with its source."""

    id: int
    text: str
    kind: str
    said_on: date
    published_on: date | None
    speaker: str | None
    speaker_role: str | None
    """The role the speaker held when it was said (their dated role then), not their latest."""
    party: str
    source: SourceOut
    language: str
    translated: bool
    status: str
    confirms_or_denies: int | None
    note: str
    round: str | None = Field(description="The slug of the round of talks it was said at")
    issues: list[TagOut]


class PointRefOut(BaseModel):
    """The document point a quote is: the document's slug and the point's label as printed."""

    document: str
    label: str


class FoundQuoteOut(QuoteOut):
    """A quote the search found; `point` says which document's point it is, if it is one."""

    point: PointRefOut | None


class PositionOut(BaseModel):
    """A party's stance on an issue from a date on, citing evidence."""

    id: int
    party: str
    issue: str
    stance: str
    condition: str | None
    effective_from: date
    rationale: str
    recorded_at: datetime
    round: str | None = Field(description="The slug of the round of talks it was taken at")
    evidence: list[int]


class ChangeOut(BaseModel):
    """A change of stance."""

    position_id: int
    party: str
    issue: str
    old_stance: str | None
    new_stance: str
    condition: str | None
    effective_from: date


class Page(BaseModel, Generic[T]):
    """One page of a list: the items, the page number and whether another page follows."""

    items: list[T]
    page: int
    page_size: int
    has_next: bool


def _paging(page: str | None, page_size: str | None) -> tuple[int, int]:
    number = parse_whole_number(page, field="page")
    size = parse_whole_number(page_size, field="page_size")
    number = 1 if number is None else number
    size = 50 if size is None else size
    if number < 1 or number > search.MAX_PAGE:
        raise InvalidParameter("page", f"must be between 1 and {search.MAX_PAGE}.")
    if size < 1 or size > MAX_PAGE_SIZE:
        raise InvalidParameter("page_size", f"must be between 1 and {MAX_PAGE_SIZE}.")
    return number, size


def source_out(source: Source | SourceRef) -> SourceOut:
    """A source as the API shows it."""
    return SourceOut(
        id=source.id,
        url=source.url,
        title=source.title,
        outlet=source.outlet,
        published_on=source.published_on,
        kind=source.kind.value,
        tier=source.tier.value,
    )


Out = TypeVar("Out", bound=QuoteOut)


def quote_out(quote: Quote | QuoteView, kind: type[Out] = QuoteOut, **more: Any) -> Out:  # type: ignore[assignment]
    """A quote with its source and tags (an entity loaded with evidence.quote_loading(), or a
    view from quote_views.load_quotes), as `kind` (QuoteOut or a model extending it, whose
    further fields `more` gives)."""
    return kind(
        id=quote.id,
        text=quote.text,
        kind=quote.kind.value,
        said_on=quote.said_on,
        published_on=quote.published_on,
        speaker=quote.speaker.name if quote.speaker else None,
        speaker_role=(quote.role_then or None) if quote.speaker else None,
        party=quote.party.slug,
        source=source_out(quote.source),
        language=quote.language,
        translated=quote.is_translation,
        status=quote.status.value,
        confirms_or_denies=quote.confirms_or_denies_id,
        note=quote.note,
        round=quote.round.slug if quote.round else None,
        issues=[TagOut(issue=t.issue.slug, stance=t.stance.value) for t in quote.issue_tags],
        **more,
    )


def party_out(party: Party, slugs: dict[int, str]) -> PartyDetailOut:
    """A party; `slugs` maps party ids to slugs (for its parent)."""
    return PartyDetailOut(
        slug=party.slug,
        name=party.name,
        short_name=party.short_name,
        kind=party.kind.value,
        parent=slugs.get(party.parent_id) if party.parent_id else None,
        sort_order=party.sort_order,
    )


def issue_out(issue: Issue) -> IssueDetailOut:
    """An issue as the API shows it."""
    return IssueDetailOut(
        slug=issue.slug,
        title=issue.title,
        proposition=issue.proposition,
        description=issue.description,
        sort_order=issue.sort_order,
    )


def speaker_out(speaker: Speaker) -> SpeakerOut:
    """A speaker with their party's slug and aliases (both loaded)."""
    return SpeakerOut(
        id=speaker.id,
        name=speaker.name,
        role=speaker.role,
        party=speaker.party.slug,
        aliases=[alias.name for alias in speaker.aliases],
    )


def position_out(
    position: Position | PositionView, evidence: Iterable[int] | None = None
) -> PositionOut:
    """A position (or a cell history's view of one) with its evidence as quote ids
    (`evidence`, which a view must be given; else `position.evidence`'s)."""
    if evidence is None:
        assert isinstance(position, Position)  # noqa: S101 - a view carries no evidence
        evidence = (q.id for q in position.evidence)
    return PositionOut(
        id=position.id,
        party=position.party.slug,
        issue=position.issue.slug,
        stance=position.stance.value,
        condition=position.condition,
        effective_from=position.effective_from,
        rationale=position.rationale,
        recorded_at=position.recorded_at,
        round=position.round.slug if position.round else None,
        evidence=sorted(evidence),
    )


Param = Annotated[str | None, Query(max_length=20000)]
Errors: dict[int | str, dict[str, Any]] = {400: {"model": ErrorOut}, 404: {"model": ErrorOut}}


@router.get("/parties", response_model=list[PartyDetailOut], summary="Every party")
def parties_api(session: SessionDep) -> list[PartyDetailOut]:
    """Parties in display order (a bloc's members right after it)."""
    parties = catalog.list_parties(session)
    slugs = {p.id: p.slug for p in parties}
    return [party_out(p, slugs) for p in parties]


@router.get("/issues", response_model=list[IssueDetailOut], summary="Every issue")
def issues_api(session: SessionDep) -> list[IssueDetailOut]:
    """Issues in display order."""
    return [issue_out(i) for i in catalog.list_issues(session)]


@router.get("/speakers", response_model=Page[SpeakerOut], responses=Errors, summary="Speakers")
def speakers_api(
    session: SessionDep, page: Param = None, page_size: Param = None
) -> Page[SpeakerOut]:
    """Speakers by name with the party each speaks for, a page at a time (page_size at most 100)."""
    number, size = _paging(page, page_size)
    rows, has_next = speakers.page_speakers(session, page=number, page_size=size)
    return Page(
        items=[speaker_out(s) for s in rows],
        page=number,
        page_size=size,
        has_next=has_next,
    )


@router.get("/sources", response_model=Page[SourceOut], responses=Errors, summary="Sources")
def sources_api(
    session: SessionDep, page: Param = None, page_size: Param = None
) -> Page[SourceOut]:
    """Sources, newest first, a page at a time (page_size at most 100)."""
    number, size = _paging(page, page_size)
    rows, has_next = evidence.list_sources(session, page=number, page_size=size)
    return Page(items=[source_out(s) for s in rows], page=number, page_size=size, has_next=has_next)


class QuotePageOut(BaseModel):
    """One page of quotes: the items, whether another page follows, and where it starts:
    `next_after` (pass it as `after`) and `next` (this query with it; null on the last page).
    `page` is the page number asked for, null for a page asked by `after`."""

    items: list[FoundQuoteOut]
    page: int | None
    page_size: int
    has_next: bool
    next_after: str | None = None
    next: str | None = None


@router.get("/quotes", response_model=QuotePageOut, responses=Errors, summary="Search quotes")
def quotes_api(
    request: Request,
    session: SessionDep,
    query: QuoteQueryDep,
    page: Param = None,
    page_size: Param = None,
    after: Annotated[
        str | None,
        Query(
            max_length=200,
            description="Opaque cursor from the previous page's `next_after`: the page after"
            " it, read from an index however deep (`page` stops at 400).",
        ),
    ] = None,
) -> Response:
    """Quotes best match (or newest) first, with the same filters and order as the /quotes page;
    page by `after` (follow `next`) or by `page`. A quote that is a document's point names it
    (`point`)."""
    if after is not None and page is not None:
        raise InvalidParameter("after", "give after or page, not both.")
    number, size = _paging(page, page_size)
    cursor = search.Cursor.decode(after) if after is not None else None
    version = versioning.for_request(session, logged_in=False)
    listing = request.app.state.held_catalog.listing(session, version)
    results = search.search_quotes(
        session,
        filters=query.filters,
        page=number,
        page_size=size,
        after=cursor,
        listing=listing,
        version=version,
    )
    token = results.next_after.encode() if results.next_after is not None else None
    following = None
    if token is not None:
        params = [
            (k, v) for k, v in request.query_params.multi_items() if k not in ("page", "after")
        ]
        following = f"{request.url.path}?{urlencode([*params, ('after', token)])}"

    def found(quote: QuoteView) -> FoundQuoteOut:
        of = results.points.get(quote.id)
        point = PointRefOut(document=of.document_slug, label=of.label) if of else None
        return quote_out(quote, FoundQuoteOut, point=point)

    out = QuotePageOut(
        items=[found(x) for x in results.quotes],
        page=None if cursor is not None else number,
        page_size=size,
        has_next=results.has_next,
        next_after=token,
        next=following,
    )
    # Written out here (the route's response_model still documents it): FastAPI would dump
    # the page to dicts, validate them into models again and encode those, for each of up to
    # 100 quotes.
    return Response(out.model_dump_json(), media_type="application/json")


@router.get("/positions", response_model=Page[PositionOut], responses=Errors, summary="Positions")
def positions_api(
    session: SessionDep,
    party: Param = None,
    issue: Param = None,
    from_: Annotated[str | None, Query(alias="from", max_length=100)] = None,
    to: Annotated[str | None, Query(max_length=100)] = None,
    page: Param = None,
    page_size: Param = None,
) -> Page[PositionOut]:
    """Positions newest first (by effective date), filtered by party, issue and date range."""
    number, size = _paging(page, page_size)
    rows, has_next = evidence.list_positions(
        session,
        party=catalog.get_party(session, slug=party) if party else None,
        issue=catalog.get_issue(session, slug=issue) if issue else None,
        date_from=parse_day(from_, field="from"),
        date_to=parse_day(to, field="to"),
        page=number,
        page_size=size,
    )
    return Page(
        items=[position_out(p) for p in rows], page=number, page_size=size, has_next=has_next
    )


@router.get("/changes", response_model=list[ChangeOut], responses=Errors, summary="Changes")
def changes_api(
    session: SessionDep,
    from_: Annotated[
        str | None, Query(alias="from", max_length=100, description="YYYY-MM-DD, exclusive")
    ] = None,
    to: Annotated[str | None, Query(max_length=100, description="YYYY-MM-DD, inclusive")] = None,
    known_on: Param = None,
) -> list[ChangeOut]:
    """Changes of stance in (from, to], newest first (at most 500); the window defaults to the
    /changes page's: the 30 days up to `to`, which defaults to today."""
    since, until = change_window(from_, to)
    listing = evidence.change_list(
        session, since=since, until=until, known_on=parse_day(known_on, field="known_on")
    )
    return [
        ChangeOut(
            position_id=c.position_id,
            party=listing.parties[c.party_id].slug,
            issue=listing.issues[c.issue_id].slug,
            old_stance=c.old_stance.value if c.old_stance else None,
            new_stance=c.new_stance.value,
            condition=c.condition,
            effective_from=c.effective_from,
        )
        for c in listing.changes
    ]


@health_router.get("/healthz", summary="Liveness, database reachability and the pool's state")
def healthz(request: Request, engine: EngineDep) -> JSONResponse:
    """200 when the database answers (status "busy" while every pooled connection is in use,
    without waiting for one), 503 when it does not; with this worker's process id, resident
    memory, connection pool, view caches and queue of requests (slots, working, waiting)."""
    pool = pool_state(engine)
    worker = {
        "pid": os.getpid(),
        "rss_bytes": resident_bytes(),
        "caches": cache_state(request.app.state.view_caches),
        "unassessed_days_bytes": request.app.state.unassessed_days.bytes,
        "held_runs": request.app.state.held_runs.rows_held,
        "turns": request.app.state.turns.state(),
    }
    if pool.get("exhausted"):
        return JSONResponse({"status": "busy", "database": "ok", "pool": pool, "worker": worker})
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # any driver error means "not healthy", never a 500
        return JSONResponse(
            {
                "status": "unavailable",
                "database": "unreachable",
                "detail": type(exc).__name__,
                "pool": pool,
                "worker": worker,
            },
            status_code=503,
        )
    return JSONResponse({"status": "ok", "database": "ok", "pool": pool, "worker": worker})


def resident_bytes() -> int:
    """This process's resident memory (Linux: now; elsewhere: its peak)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
