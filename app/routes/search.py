"""Quote search for analysts: full text plus filters, best match first, paginated, state in the URL."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date
from typing import Annotated, TypeVar
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session
from starlette.responses import HTMLResponse, RedirectResponse, Response

from app.cached_views import Loaded, cached_view
from app.db import SessionDep
from app.forms import parse_day, parse_whole_number
from app.models import Party, QuoteStatus, SourceTier, Stance
from app.routes import twins
from app.security import AuthDep
from app.services import catalog, search, search_texts, versioning
from app.services.errors import InvalidParameter

router = APIRouter()
api_router = APIRouter(prefix="/api/v1", tags=["api"])

E = TypeVar("E", bound=enum.Enum)


def parse_choice(value: str | None, choices: type[E], *, field: str) -> E | None:
    """One of an enumeration's values, or None when empty; anything else is a 400."""
    if not value:
        return None
    try:
        return choices(value)
    except ValueError:
        allowed = ", ".join(str(c.value) for c in choices)
        raise InvalidParameter(field, f"must be one of: {allowed}.") from None


def filters_from_query(
    *,
    q: str | None,
    party: str | None,
    issue: str | None,
    speaker: str | None,
    stance: str | None,
    status: str | None,
    tier: str | None,
    date_from: str | None,
    date_to: str | None,
    sort: str | None = None,
) -> search.QuoteFilters:
    """Turn raw query parameters into filters, with a clear 400 for anything malformed."""
    return search.QuoteFilters(
        q=q or "",
        party=party or None,
        issue=issue or None,
        speaker=parse_whole_number(speaker, field="speaker"),
        stance=parse_choice(stance, Stance, field="stance"),
        status=parse_choice(status, QuoteStatus, field="status"),
        tier=parse_choice(tier, SourceTier, field="tier"),
        date_from=parse_day(date_from, field="from"),
        date_to=parse_day(date_to, field="to"),
        sort=parse_choice(sort, search.QuoteSort, field="sort") or search.QuoteSort.RELEVANCE,
    )


Text = Annotated[str | None, Query(max_length=20000)]


@dataclass(frozen=True, slots=True)
class QuoteQuery:
    """The quote list's filters, parsed, and the raw non-empty parameters (for page links)."""

    filters: search.QuoteFilters
    params: dict[str, str]


async def quote_query(
    q: Annotated[
        str | None, Query(max_length=20000, description='Words, "phrases", OR, -exclude')
    ] = None,
    party: Annotated[str | None, Query(max_length=20000, description="A party's slug")] = None,
    issue: Annotated[str | None, Query(max_length=20000, description="An issue's slug")] = None,
    speaker: Annotated[str | None, Query(max_length=20000, description="A speaker's id")] = None,
    stance: Text = None,
    status: Text = None,
    tier: Text = None,
    from_: Annotated[
        str | None, Query(alias="from", max_length=100, description="YYYY-MM-DD")
    ] = None,
    to: Annotated[str | None, Query(max_length=100, description="YYYY-MM-DD")] = None,
    sort: Annotated[
        str | None,
        Query(
            max_length=100,
            description="relevance (best match first, the default when there are words) or date",
        ),
    ] = None,
) -> QuoteQuery:
    """The filters of /quotes, the quotes API and the quotes CSV, declared once."""
    filters = filters_from_query(
        q=q, party=party, issue=issue, speaker=speaker, stance=stance, status=status, tier=tier,
        date_from=from_, date_to=to, sort=sort,
    )  # fmt: skip
    raw = {
        "q": filters.q, "party": party, "issue": issue, "speaker": speaker, "stance": stance,
        "status": status, "tier": tier, "from": from_, "to": to, "sort": sort,
    }  # fmt: skip
    return QuoteQuery(filters=filters, params={k: v for k, v in raw.items() if v})


QuoteQueryDep = Annotated[QuoteQuery, Depends(quote_query)]


def found_texts(
    session: Session,
    filters: search.QuoteFilters,
    *,
    party: Party | None,
    rows: list[search_texts.TextRow],
) -> list[search_texts.TextHit]:
    """The documents and rounds the words name, unless a filter only quotes have is set; from
    `rows`, the documents and rounds the worker holds for the request's data version."""
    quote_only = (filters.issue, filters.speaker, filters.stance, filters.status, filters.tier)
    if any(value is not None for value in quote_only):
        return []
    return search_texts.find_texts(
        session, q=filters.q, party=party, date_from=filters.date_from, date_to=filters.date_to,
        rows=rows,
    )  # fmt: skip


@router.get("/quotes", response_class=HTMLResponse, summary="Search quotes")
async def quote_search(
    request: Request,
    session: SessionDep,
    auth: AuthDep,
    query: QuoteQueryDep,
    page: Text = None,
) -> Response:
    """Quotes best match (or newest) first, narrowed by text and filters; htmx updates as you type.

    A cached view (app.cached_views): popular searches repeat, so each is rendered once per
    data version and parameters (editors get their own variant, with edit links).
    """
    given = request.query_params.multi_items()
    if any(not value.strip() for _, value in given):
        # The search form sends every field; its URL keeps only the filters in use.
        kept = [(key, value) for key, value in given if value.strip()]
        return RedirectResponse(f"/quotes?{urlencode(kept)}" if kept else "/quotes", 303)
    filters, params = query.filters, query.params
    page_number = 1 if not page else parse_whole_number(page, field="page") or 0
    if not 1 <= page_number <= search.MAX_PAGE:
        raise InvalidParameter("page", f"must be between 1 and {search.MAX_PAGE}.")

    links = twins.for_search(params)

    def load(session: Session) -> Loaded:
        held = request.app.state.held_catalog
        listing = held.listing(session, request.state.data_version)
        version = request.state.data_version
        results = search.search_quotes(
            session, filters=filters, page=page_number, listing=listing, version=version
        )
        texts = []
        if page_number == 1:
            rows = held.texts(session, version)
            texts = found_texts(session, filters, party=results.party, rows=rows)
        return Loaded(
            {"results": results, "params": params, "twins": links, "texts": texts},
            page={
                "party_options": [(p.slug, p.name) for p in listing.parties],
                "issue_options": [(i.slug, i.title) for i in listing.issues],
                "speaker_options": held.speakers(session, request.state.data_version),
            },
        )

    return await cached_view(
        request, session, auth, name="search",
        params=(tuple(sorted(params.items())), page_number),
        page="search/page.html", fragment="search/_results.html", load=load,
        context={
            "filters": filters,
            "params": params,
            "stance_options": [(s.value, s.value) for s in Stance],
            "status_options": [(s.value, s.value) for s in QuoteStatus],
            "tier_options": [(t.value, t.value.replace("_", " ")) for t in SourceTier],
            "sort_options": [("relevance", "Best match"), ("date", "Newest")],
            "twins": links,
        },
    )  # fmt: skip


class TextHitOut(BaseModel):
    """A document whose title, or a round whose name or venue, the words match."""

    kind: str = Field(description="document or round")
    slug: str
    title: str
    on: date = Field(description="The day the document was tabled, or the round's first day")
    detail: str
    url: str


@api_router.get(
    "/search/texts", response_model=list[TextHitOut], summary="Find documents and rounds"
)
def texts_api(request: Request, session: SessionDep, query: QuoteQueryDep) -> list[TextHitOut]:
    """Documents by title and rounds by name or venue, newest first (at most 20), with the
    words of /quotes (`q`) and its `party`, `from` and `to`; none when a filter only quotes
    have (issue, speaker, stance, status, tier) is given. Points are found as quotes."""
    party = catalog.find_party(session, slug=query.filters.party) if query.filters.party else None
    if query.filters.party and party is None:
        raise InvalidParameter("party", f"there is no party '{query.filters.party[:60]}'.")
    version = versioning.for_request(session, logged_in=False)
    rows = request.app.state.held_catalog.texts(session, version)
    return [
        TextHitOut(kind=h.kind, slug=h.slug, title=h.title, on=h.day, detail=h.detail, url=h.href)
        for h in found_texts(session, query.filters, party=party, rows=rows)
    ]
