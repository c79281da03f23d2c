"""The briefing: an HTML preview and a PDF for a decision maker, reproducible from its link."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session
from starlette.responses import HTMLResponse, Response

from app.config import get_settings
from app.db import SessionDep
from app.models import Issue, Party
from app.services import briefing as briefing_service
from app.services import briefing_docx, versioning
from app.services import briefing_pdf as pdf_engine
from app.services.briefing import BriefingRequest
from app.services.errors import InvalidParameter, RendererBusy
from app.templating import render

router = APIRouter()

AsOf = Annotated[
    str | None,
    Query(description="The matrix as it stood on this date (YYYY-MM-DD); default today."),
]
Since = Annotated[
    str | None,
    Query(
        description="List the changes of stance after this date (YYYY-MM-DD), or since a round "
        "of talks (round:<slug>, from its first day on)."
    ),
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
Lead = Annotated[
    str | None,
    Query(
        max_length=4000,
        description="The editor's lead paragraph(s), printed under the title (blank lines part paragraphs).",
    ),
]
Omit = Annotated[
    list[str] | None,
    Query(
        description=(
            "Parts to leave out: summary, matrix, changes, texts (the texts on the table), "
            "issues, no_position (the "
            "“No recorded position” lines), charts; repeat or separate with commas."
        )
    ),
]


def generation_time() -> datetime:
    """When the briefing is generated (a dependency, so tests can fix the clock)."""
    return briefing_service.utc_now()


NowDep = Annotated[datetime, Depends(generation_time)]


@dataclass(frozen=True, slots=True)
class Asked:
    """The briefing parameters as given (the form shows them back as typed)."""

    as_of: str | None
    since: str | None
    known_on: str | None
    parties: list[str] | None
    issues: list[str] | None
    title: str | None
    lead: str | None
    omit: list[str] | None

    def parse(self, session: Session) -> tuple[BriefingRequest | None, dict[str, str]]:
        """The request, or each field's problem (`since` may name a round of talks)."""
        finder = briefing_service.round_finder(session)
        return briefing_service.parse_form(**asdict(self), find_round=finder)


async def briefing_request(
    as_of: AsOf = None,
    since: Since = None,
    known_on: KnownOn = None,
    parties: Parties = None,
    issues: Issues = None,
    title: Title = None,
    lead: Lead = None,
    omit: Omit = None,
) -> Asked:
    """The preview's and the PDF's parameters, declared once."""
    return Asked(as_of, since, known_on, parties, issues, title, lead, omit)


AskedDep = Annotated[Asked, Depends(briefing_request)]


def public_url() -> str | None:
    """The site's public address for the briefing's absolute links (PUBLIC_URL), or None."""
    return get_settings().public_url or None


def _build(session: Session, wanted: BriefingRequest, now: datetime) -> briefing_service.Briefing:
    return briefing_service.build_briefing(
        session,
        request=wanted,
        generated_at=now,
        base_url=public_url(),
        stale_after_days=get_settings().stale_after_days,
    )


@router.get("/briefing", response_class=HTMLResponse, summary="Compose and preview the briefing")
async def briefing_page(
    request: Request, session: SessionDep, now: NowDep, given: AskedDep
) -> HTMLResponse:
    """The briefing form and, for a valid choice, the document the PDF prints with its download
    link; a bad field is a 400 with its message beside it."""

    def page() -> HTMLResponse:
        wanted, errors = given.parse(session)
        if wanted is None:
            parties, issues = briefing_service.form_choices(session)
            form = _form(session, given, parties, issues, errors)
            context = {"briefing": None, "preview": True, "form": form}
            return render(request, "briefing/document.html", context, status_code=400)
        try:
            briefing = _build(session, wanted, now)
        except InvalidParameter as exc:
            parties, issues = briefing_service.form_choices(session)
            form = _form(session, given, parties, issues, {exc.field: exc.message})
            context = {"briefing": None, "preview": True, "form": form}
            return render(request, "briefing/document.html", context, status_code=400)
        context = briefing_service.document_context(briefing, preview=True)
        context["form"] = _form(
            session, given, briefing.every_party, briefing.every_issue, {}, ready=briefing
        )
        return render(request, "briefing/document.html", context)

    response = await run_in_threadpool(page)
    response.headers["Cache-Control"] = "private, no-cache"
    return response


def _form(
    session: Session,
    given: Asked,
    parties: list[Party],
    issues: list[Issue],
    errors: dict[str, str],
    *,
    ready: briefing_service.Briefing | None = None,
) -> dict[str, Any]:
    def slugs(values: list[str] | None) -> list[str]:
        return [s.strip() for v in values or () for s in v.split(",") if s.strip()]

    values = {
        "as_of": (given.as_of or date.today().isoformat()).strip(),
        "since": (given.since or "").strip(),
        "known_on": (given.known_on or "").strip(),
        "title": given.title or "",
        "lead": given.lead or "",
        "parties": slugs(given.parties),
        "issues": slugs(given.issues),
        "omit": slugs(given.omit),
    }
    return {
        "parties": parties,
        "issues": issues,
        "rounds": briefing_service.round_choices(session),
        "omittable": briefing_service.OMITTABLE,
        "typed": values,
        "errors": errors,
        "pdf_path": ready.pdf_path if ready else None,
        "docx_path": ready.docx_path if ready else None,
    }


def _pdf_html(session: Session, wanted: BriefingRequest, now: datetime) -> str:
    return briefing_service.render_html(_build(session, wanted, now), preview=False)


def _docx(session: Session, wanted: BriefingRequest, now: datetime) -> bytes:
    return briefing_docx.render_docx(_build(session, wanted, now))


def rendered_cache(request: Request) -> pdf_engine.RenderedCache:
    """This app's rendered briefings (made on first use)."""
    state = request.app.state
    if not hasattr(state, "briefing_cache"):
        state.briefing_cache = pdf_engine.RenderedCache()
    cache: pdf_engine.RenderedCache = state.briefing_cache
    return cache


DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


async def _download(
    request: Request, session: Session, now: datetime, given: Asked, *, kind: str
) -> Response:
    """The briefing as a file of `kind` (pdf or docx), made once per data version and day for
    the same link; PDFs render at most a few at once (503 with Retry-After beyond)."""
    wanted, errors = await run_in_threadpool(given.parse, session)
    if wanted is None:
        field, message = next(iter(errors.items()))
        raise InvalidParameter(field, message)
    version = await versioning.for_view(session, logged_in=True)
    key = (kind, wanted, version, public_url(), now.date())
    cache = rendered_cache(request)
    body = cache.get(key)
    if body is None and kind == "docx":
        body = await run_in_threadpool(_docx, session, wanted, now)
        cache.put(key, body)
    elif body is None:
        html = await run_in_threadpool(_pdf_html, session, wanted, now)
        try:
            async with pdf_engine.render_slot():
                body = await run_in_threadpool(pdf_engine.render_pdf, html)
        except RendererBusy as busy:
            response = render(
                request,
                "errors/page.html",
                {"status": 503, "title": "Busy", "detail": str(busy)},
                status_code=503,
            )
            response.headers["Retry-After"] = str(busy.retry_after)
            return response
        cache.put(key, body)
    filename = briefing_service.safe_filename(f"briefing-{wanted.as_of.isoformat()}.{kind}")
    return Response(
        body,
        media_type="application/pdf" if kind == "pdf" else DOCX_TYPE,
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "private, no-cache",
        },
    )


@router.get(
    "/briefing.pdf",
    summary="Download the briefing as PDF",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}, 503: {"description": "Renderer busy"}},
)
async def briefing_pdf(
    request: Request, session: SessionDep, now: NowDep, given: AskedDep
) -> Response:
    """The briefing PDF (tagged for screen readers), rendered once per data version and day
    for the same link; at most a few render at once, the rest wait briefly and then get 503."""
    return await _download(request, session, now, given, kind="pdf")


@router.get(
    "/briefing.docx",
    summary="Download the briefing as a Word document",
    response_class=Response,
    responses={200: {"content": {DOCX_TYPE: {}}}},
)
async def briefing_word(
    request: Request, session: SessionDep, now: NowDep, given: AskedDep
) -> Response:
    """The same briefing as an editable Word document: the same content and citations."""
    return await _download(request, session, now, given, kind="docx")
