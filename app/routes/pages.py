"""Pages for analysts: the matrix, a cell's evidence, a party and an issue."""

from __future__ import annotations

import gzip
from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from markupsafe import Markup
from sqlalchemy.orm import Session
from starlette.responses import FileResponse, HTMLResponse, Response

from app.config import PROJECT_ROOT, get_settings
from app.db import SessionDep
from app.forms import parse_day
from app.render_cache import cell_cache, etag, matrix_cache
from app.security import AuthDep
from app.services import coverage, evidence, matrix, versioning
from app.services.errors import InvalidParameter
from app.templating import render, templates, wants_fragment

router = APIRouter()

AsOf = Annotated[
    str | None,
    Query(description="Show the matrix as it stood on this date (YYYY-MM-DD); default today."),
]
KnownOn = Annotated[
    str | None,
    Query(description="As we knew it on this date: ignore positions recorded later (YYYY-MM-DD)."),
]


def _as_of(value: str | None) -> date:
    return parse_day(value, field="as_of") or date.today()


Since = Annotated[
    str | None,
    Query(description="Highlight cells whose stance changed after this date (YYYY-MM-DD)."),
]


@router.get("/", response_class=HTMLResponse, summary="The position matrix")
async def matrix_page(
    request: Request,
    session: SessionDep,
    auth: AuthDep,
    as_of: AsOf = None,
    known_on: KnownOn = None,
    since: Since = None,
) -> Response:
    """Parties by issues, each cell the stance in force as of a date; changes since a date.

    The matrix part is rendered once per data version and parameters and then served from the
    cache; a client that has this exact page already gets 304. Async so that a cached view
    never waits for the thread pool; database work runs there.
    """
    day = _as_of(as_of)
    known = parse_day(known_on, field="known_on")
    since_day = parse_day(since, field="since")
    if since_day is not None and since_day >= day:
        raise InvalidParameter("since", "must be before as_of.")
    as_of_given = bool(as_of and as_of.strip())
    logged_in = auth.user is not None
    version = await versioning.for_view(session, logged_in=logged_in)
    # Logged in or not: an empty matrix offers editors a link to record the first position.
    key = ("matrix", version, day, known, since_day, as_of_given, logged_in)
    fragment = wants_fragment(request)
    # The page around the matrix shows who is logged in and carries their CSRF token.
    tag = etag(*key, fragment, auth.user.id if auth.user else "-", auth.csrf_token)
    headers = {"ETag": tag, "Cache-Control": "private, no-cache", "Vary": "HX-Request, Cookie"}
    if tag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    # An anonymous reader's page has nothing of their own in it: serve it whole from the cache,
    # compressed once per data version (a 1,200-cell matrix is ~600 kB of HTML, ~30 kB gzipped).
    page_key = (*key, "page.gz") if not logged_in and not auth.csrf_token and not fragment else None
    gzip_ok = "gzip" in request.headers.get("accept-encoding", "")
    if page_key is not None and (page := matrix_cache.get(page_key)) is not None:
        return _page_response(page, gzip_ok, headers)
    html = matrix_cache.get(key)
    if not isinstance(html, str):
        html = await run_in_threadpool(
            _render_matrix, session, day=day, known=known, since=since_day,
            as_of_given=as_of_given, editable=logged_in,
        )  # fmt: skip
        matrix_cache.put(key, html)
    if fragment:
        return HTMLResponse(html, headers=headers)
    response = render(
        request,
        "matrix/page.html",
        {"matrix_html": Markup(html), "as_of": day},  # noqa: S704 - our own rendered template
    )
    if page_key is not None:
        compressed = gzip.compress(bytes(response.body), compresslevel=6, mtime=0)
        matrix_cache.put(page_key, compressed)
        return _page_response(compressed, gzip_ok, headers)
    response.headers.update(headers)
    return response


def _page_response(compressed: str | bytes, gzip_ok: bool, headers: dict[str, str]) -> Response:
    if not isinstance(compressed, bytes):
        raise TypeError("the cached page should be gzipped bytes")
    if gzip_ok:
        return Response(
            compressed,
            media_type="text/html; charset=utf-8",
            headers={
                **headers,
                "Content-Encoding": "gzip",
                "Vary": "HX-Request, Cookie, Accept-Encoding",
            },
        )
    return HTMLResponse(
        gzip.decompress(compressed),
        headers={**headers, "Vary": "HX-Request, Cookie, Accept-Encoding"},
    )


def _render_matrix(
    session: Session,
    *,
    day: date,
    known: date | None,
    since: date | None,
    as_of_given: bool,
    editable: bool,
) -> str:
    grid = matrix.build_matrix(
        session,
        as_of=day,
        known_on=known,
        since=since,
        stale_after_days=get_settings().stale_after_days,
    )
    changes = (
        evidence.change_list(session, since=since, until=day, known_on=known, matrix=grid)
        if since is not None
        else None
    )
    empty = (
        coverage.explain_view(session, as_of=day, known_on=known, since=since)
        if coverage.shows_nothing(grid.cells.values())
        else None
    )
    return templates.get_template("matrix/_matrix.html").render(
        matrix=grid, changes=changes, as_of_given=as_of_given, empty=empty, editable=editable
    )


@router.get("/changes", response_class=HTMLResponse, summary="What changed between two dates")
async def changes_page(
    request: Request,
    session: SessionDep,
    auth: AuthDep,
    from_: Annotated[str | None, Query(alias="from", description="YYYY-MM-DD (exclusive).")] = None,
    to: Annotated[str | None, Query(description="YYYY-MM-DD (inclusive); default today.")] = None,
    known_on: KnownOn = None,
) -> Response:
    """Every change of stance in (from, to], newest first, each with the quote that shows it.

    The list is rendered once per data version and dates, like the matrix.
    """
    until = parse_day(to, field="to") or date.today()
    since = parse_day(from_, field="from") or until - timedelta(days=30)
    known = parse_day(known_on, field="known_on")
    if since >= until:
        raise InvalidParameter("from", "must be before to.")
    version = await versioning.for_view(session, logged_in=auth.user is not None)
    key = ("changes", version, since, until, known)
    html = matrix_cache.get(key)
    if not isinstance(html, str):
        html = await run_in_threadpool(_render_changes, session, since, until, known)
        matrix_cache.put(key, html)
    if wants_fragment(request):
        return HTMLResponse(html, headers={"Vary": "HX-Request"})
    return render(
        request,
        "changes/page.html",
        {"changes_html": Markup(html), "since": since, "until": until, "known_on": known},  # noqa: S704
    )


def _render_changes(session: Session, since: date, until: date, known: date | None) -> str:
    listing = evidence.change_list(session, since=since, until=until, known_on=known)
    empty = (
        None
        if listing.changes
        else coverage.explain_changes(session, since=since, until=until, known_on=known)
    )
    return templates.get_template("changes/_list.html").render(changes=listing, changes_empty=empty)


@router.get("/cells/{party}/{issue}", response_class=HTMLResponse, summary="A cell's evidence")
async def cell_page(
    request: Request,
    session: SessionDep,
    auth: AuthDep,
    party: str,
    issue: str,
    as_of: AsOf = None,
    known_on: KnownOn = None,
) -> Response:
    """One party on one issue: the position in force, its history and the quotes.

    Rendered once per data version and parameters, like the matrix (editors get their own
    variant, with edit links).
    """
    day = _as_of(as_of)
    known = parse_day(known_on, field="known_on")
    logged_in = auth.user is not None
    version = await versioning.for_view(session, logged_in=logged_in)
    fragment = wants_fragment(request)
    key = ("cell", version, party, issue, day, known, logged_in, fragment)
    cached, cached_title = cell_cache.get(key), cell_cache.get((*key, "title"))
    if isinstance(cached, str) and isinstance(cached_title, str):
        html, title = cached, cached_title
    else:
        html, title = await run_in_threadpool(
            _render_cell, session, party=party, issue=issue, day=day, known=known,
            editable=logged_in, as_fragment=fragment,
        )  # fmt: skip
        cell_cache.put(key, html)
        cell_cache.put((*key, "title"), title)
    headers = {"Cache-Control": "private, no-cache", "Vary": "HX-Request, Cookie"}
    if fragment:
        return HTMLResponse(html, headers=headers)
    response = render(
        request,
        "cells/page.html",
        {"cell_html": Markup(html), "page_title": title, "as_of": day},  # noqa: S704 - ours
    )
    response.headers.update(headers)
    return response


def _render_cell(
    session: Session,
    *,
    party: str,
    issue: str,
    day: date,
    known: date | None,
    editable: bool,
    as_fragment: bool,
) -> tuple[str, str]:
    detail = evidence.cell_detail(
        session,
        party_slug=party,
        issue_slug=issue,
        as_of=day,
        known_on=known,
        stale_after_days=get_settings().stale_after_days,
    )
    empty = (
        coverage.explain_view(
            session,
            as_of=day,
            known_on=known,
            party_ids=[detail.party.id],
            issue_ids=[detail.issue.id],
        )
        if detail.cell is None or coverage.shows_nothing([detail.cell])
        else None
    )
    html = templates.get_template("cells/_detail.html").render(
        detail=detail,
        empty=empty,
        editable=editable,
        as_fragment=as_fragment,
        site_name=get_settings().site_name,
    )
    return html, f"{detail.party.name} on {detail.issue.title}"


@router.get("/parties/{slug}", response_class=HTMLResponse, summary="A party's positions")
def party_page(
    request: Request, session: SessionDep, slug: str, as_of: AsOf = None
) -> HTMLResponse:
    """All positions and quotes of one party."""
    detail = evidence.party_detail(
        session, slug=slug, as_of=_as_of(as_of), stale_after_days=get_settings().stale_after_days
    )
    empty = (
        coverage.explain_view(session, as_of=detail.as_of, party_ids=[detail.party.id])
        if coverage.shows_nothing(detail.cells.values())
        else None
    )
    return render(request, "parties/page.html", {"detail": detail, "empty": empty})


@router.get("/issues/{slug}", response_class=HTMLResponse, summary="An issue across parties")
def issue_page(
    request: Request, session: SessionDep, slug: str, as_of: AsOf = None
) -> HTMLResponse:
    """Every party's stance on one issue, with the positions' history and the quotes."""
    detail = evidence.issue_detail(
        session, slug=slug, as_of=_as_of(as_of), stale_after_days=get_settings().stale_after_days
    )
    empty = (
        coverage.explain_view(session, as_of=detail.as_of, issue_ids=[detail.issue.id])
        if coverage.shows_nothing(detail.cells.values())
        else None
    )
    return render(request, "issues/page.html", {"detail": detail, "empty": empty})


@router.get("/compare", response_class=HTMLResponse, summary="Two or more parties side by side")
def compare_page(
    request: Request,
    session: SessionDep,
    parties: Annotated[
        list[str] | None,
        Query(
            max_length=500,
            description="Party slugs to compare, comma-separated or repeated (two to eight); "
            "default us,ua.",
        ),
    ] = None,
    a: Annotated[str | None, Query(max_length=60, description="First party (older links)")] = None,
    b: Annotated[str | None, Query(max_length=60, description="Second party (older links)")] = None,
    only: Annotated[
        str | None, Query(max_length=20, description="'differences': only issues that differ")
    ] = None,
    as_of: AsOf = None,
) -> HTMLResponse:
    """Issue by issue: where the parties agree, differ or are unclear, with each one's latest
    quote and a summary line."""
    slugs = [s.strip() for v in parties or [] for s in v.split(",") if s.strip()]
    if not slugs:
        slugs = [s for s in (a, b) if s] if a or b else ["us", "ua"]
    if only not in (None, "", "differences"):
        raise InvalidParameter("only", "use only=differences, or leave it out.")
    comparison = evidence.compare(
        session,
        slugs=slugs,
        as_of=_as_of(as_of),
        stale_after_days=get_settings().stale_after_days,
        only_differences=only == "differences",
    )
    return render(
        request,
        "compare/page.html",
        {"comparison": comparison},
        fragment="compare/_table.html",
    )


@router.get("/favicon.ico", include_in_schema=False)
def favicon() -> FileResponse:
    """Browsers ask for /favicon.ico whatever the page says; answer with our icon."""
    return FileResponse(
        PROJECT_ROOT / "static" / "favicon.svg",
        media_type="image/svg+xml",
        headers={"Cache-Control": "public, max-age=86400"},
    )
