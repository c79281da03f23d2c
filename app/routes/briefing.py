"""The briefing: an HTML preview and a PDF for a decision maker, reproducible from its link."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session
from starlette.responses import HTMLResponse, Response

from app.config import get_settings
from app.db import SessionDep
from app.services import briefing as briefing_service
from app.services import briefing_pdf as pdf_engine
from app.services.briefing import BriefingRequest
from app.services.errors import RendererBusy
from app.templating import render

router = APIRouter()

AsOf = Annotated[
    str | None,
    Query(description="The matrix as it stood on this date (YYYY-MM-DD); default today."),
]
Since = Annotated[
    str | None, Query(description="List the changes of stance after this date (YYYY-MM-DD).")
]
KnownOn = Annotated[
    str | None,
    Query(description="As we knew it on this date: ignore positions recorded later (YYYY-MM-DD)."),
]
Parties = Annotated[
    list[str] | None,
    Query(description="Party slugs to include: repeat the parameter or separate with commas."),
]
Issues = Annotated[
    list[str] | None,
    Query(description="Issue slugs to include: repeat the parameter or separate with commas."),
]
Title = Annotated[
    str | None, Query(max_length=1000, description="Title on the cover and in the page header.")
]


def generation_time() -> datetime:
    """When the briefing is generated (a dependency, so tests can fix the clock)."""
    return briefing_service.utc_now()


NowDep = Annotated[datetime, Depends(generation_time)]


async def briefing_request(
    as_of: AsOf = None,
    since: Since = None,
    known_on: KnownOn = None,
    parties: Parties = None,
    issues: Issues = None,
    title: Title = None,
) -> BriefingRequest:
    """The preview's and the PDF's parameters, declared once."""
    return briefing_service.parse_request(
        as_of=as_of, since=since, known_on=known_on, parties=parties, issues=issues, title=title
    )


BriefingRequestDep = Annotated[BriefingRequest, Depends(briefing_request)]


def _build(
    session: Session, wanted: BriefingRequest, now: datetime, base_url: str
) -> briefing_service.Briefing:
    return briefing_service.build_briefing(
        session,
        request=wanted,
        generated_at=now,
        base_url=base_url,
        stale_after_days=get_settings().stale_after_days,
    )


@router.get("/briefing", response_class=HTMLResponse, summary="Preview the briefing")
async def briefing_page(
    request: Request,
    session: SessionDep,
    now: NowDep,
    wanted: BriefingRequestDep,
) -> HTMLResponse:
    """The briefing as a web page: the same document the PDF prints, with a download link."""

    def page() -> HTMLResponse:
        briefing = _build(session, wanted, now, str(request.base_url))
        context = briefing_service.document_context(briefing, preview=True)
        return render(request, "briefing/document.html", context)

    response = await run_in_threadpool(page)
    response.headers["Cache-Control"] = "private, no-cache"
    return response


def _pdf_html(
    session: Session, wanted: BriefingRequest, now: datetime, base_url: str
) -> tuple[str, str]:
    briefing = _build(session, wanted, now, base_url)
    return briefing_service.render_html(briefing, preview=False), briefing.filename


@router.get(
    "/briefing.pdf",
    summary="Download the briefing as PDF",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}, 503: {"description": "Renderer busy"}},
)
async def briefing_pdf(
    request: Request,
    session: SessionDep,
    now: NowDep,
    wanted: BriefingRequestDep,
) -> Response:
    """The briefing PDF; at most a few render at once, the rest wait briefly and then get 503."""
    html, filename = await run_in_threadpool(_pdf_html, session, wanted, now, str(request.base_url))
    try:
        async with pdf_engine.render_slot():
            pdf = await run_in_threadpool(pdf_engine.render_pdf, html)
    except RendererBusy as busy:
        response = render(
            request,
            "errors/page.html",
            {"status": 503, "title": "Busy", "detail": str(busy)},
            status_code=503,
        )
        response.headers["Retry-After"] = str(busy.retry_after)
        return response
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "private, no-cache",
        },
    )
