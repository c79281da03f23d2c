"""Managing the sources (editors): list, add, edit and delete."""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import Request
from starlette.responses import HTMLResponse, Response

from app.db import SessionDep
from app.forms import (
    SOURCE_KIND_LABELS,
    SOURCE_TIER_LABELS,
    FormDep,
    SourceForm,
    form_version,
    options,
    parse_or_refuse,
)
from app.models import Source, SourceKind, SourceTier
from app.routes.manage.shared import (
    CHOICE_LABELS,
    Deletion,
    confirm_delete,
    conflict,
    form_page,
    router,
)
from app.security import EditorDep
from app.services import catalog
from app.services.errors import EditConflict, InUse, ValidationFailed
from app.templating import redirect_after_post, render

LIST_URL = "/manage/sources"
FIELDS = [
    ("url", "URL"),
    ("title", "Title"),
    ("outlet", "Outlet"),
    ("published_on", "Published on"),
    ("kind", "Source kind"),
    ("tier", "Source tier"),
]


def _values(source: Source) -> dict[str, str]:
    return {
        "url": source.url,
        "title": source.title,
        "outlet": source.outlet,
        "published_on": source.published_on.isoformat() if source.published_on else "",
        "kind": source.kind.value,
        "tier": source.tier.value,
        "version": str(source.version),
    }


def _form(
    request: Request,
    *,
    source: Source | None,
    values: Mapping[str, str],
    errors: Mapping[str, str] | None = None,
) -> HTMLResponse:
    return form_page(
        request,
        fragment="manage/_source_form.html",
        heading=f"Edit {source.title}" if source else "Add a source",
        back=(LIST_URL, "Sources"),
        context={
            "source": source,
            "action": f"{LIST_URL}/{source.id}/edit" if source else f"{LIST_URL}/new",
            "values": values,
            "source_kinds": options(SOURCE_KIND_LABELS),
            "source_tiers": options(SOURCE_TIER_LABELS),
        },
        errors=errors,
    )


def _deletion(source: Source) -> Deletion:
    return Deletion(
        what=f"the source '{source.title}' ({source.outlet})",
        action=f"{LIST_URL}/{source.id}/delete",
        back=LIST_URL,
    )


@router.get("/sources", response_class=HTMLResponse, summary="Sources")
def list_sources(request: Request, session: SessionDep, editor: EditorDep) -> HTMLResponse:
    """Every source, newest first."""
    context = {"sources": catalog.list_sources(session), "labels": CHOICE_LABELS}
    return render(request, "manage/sources.html", context)


@router.get("/sources/new", response_class=HTMLResponse, summary="Add a source")
def new_source_form(request: Request, editor: EditorDep) -> HTMLResponse:
    """The empty add-source form."""
    values = {"kind": SourceKind.NEWS_REPORT.value, "tier": SourceTier.ON_RECORD.value}
    return _form(request, source=None, values=values)


@router.post("/sources/new", response_class=HTMLResponse, summary="Add a source")
def add_source(request: Request, session: SessionDep, editor: EditorDep, data: FormDep) -> Response:
    """Add a source, or show the form again with what is wrong."""
    try:
        form = parse_or_refuse(SourceForm, data)
        catalog.add_source(session, actor=editor, **form.model_dump())
    except ValidationFailed as exc:
        return _form(request, source=None, values=data, errors=exc.errors)
    return redirect_after_post(request, LIST_URL)


@router.get("/sources/{source_id}/edit", response_class=HTMLResponse, summary="Edit a source")
def edit_source_form(
    request: Request, session: SessionDep, editor: EditorDep, source_id: int
) -> HTMLResponse:
    """The edit form, filled with the stored source."""
    source = catalog.get_source(session, source_id=source_id)
    return _form(request, source=source, values=_values(source))


@router.post("/sources/{source_id}/edit", response_class=HTMLResponse, summary="Edit a source")
def update_source(
    request: Request, session: SessionDep, editor: EditorDep, data: FormDep, source_id: int
) -> Response:
    """Save a source; refuse a stale version with 409."""
    source = catalog.get_source(session, source_id=source_id)
    try:
        catalog.check_version(source, form_version(data))  # stale beats invalid
        form = parse_or_refuse(SourceForm, data)
        catalog.update_source(
            session,
            actor=editor,
            source=source,
            expected_version=form_version(data),
            **form.model_dump(),
        )
    except EditConflict as exc:
        stored = _values(catalog.get_source(session, source_id=source_id))
        raise conflict(exc, title="source", labels=FIELDS, current=stored, submitted=data, retry_url=f"{LIST_URL}/{source_id}/edit") from None  # fmt: skip
    except ValidationFailed as exc:
        return _form(request, source=source, values=data, errors=exc.errors)
    return redirect_after_post(request, LIST_URL)


@router.get("/sources/{source_id}/delete", response_class=HTMLResponse, summary="Delete a source")
def confirm_source_deletion(
    request: Request, session: SessionDep, editor: EditorDep, source_id: int
) -> HTMLResponse:
    """Ask before deleting a source."""
    return confirm_delete(request, _deletion(catalog.get_source(session, source_id=source_id)))


@router.post("/sources/{source_id}/delete", response_class=HTMLResponse, summary="Delete a source")
def delete_source(
    request: Request, session: SessionDep, editor: EditorDep, source_id: int
) -> Response:
    """Delete a source no quote cites; otherwise say how many do."""
    source = catalog.get_source(session, source_id=source_id)
    try:
        catalog.delete_source(session, actor=editor, source=source)
    except InUse as refused:
        return confirm_delete(request, _deletion(source), refused=refused)
    return redirect_after_post(request, LIST_URL)
