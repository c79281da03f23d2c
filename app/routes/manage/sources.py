"""Managing the sources (editors): list, add, edit and delete."""

from __future__ import annotations

from fastapi import Request
from sqlalchemy.orm import Session
from starlette.responses import HTMLResponse

from app.db import SessionDep
from app.forms import SOURCE_KIND_LABELS, SOURCE_TIER_LABELS, SourceForm, options, parse_or_refuse
from app.models import Source, SourceKind, SourceTier, User
from app.routes.manage.shared import CHOICE_LABELS, Managed, Values, add_routes, by_id, router
from app.security import EditorDep, require_editor
from app.services import catalog
from app.templating import render


def _values(session: Session, source: Source) -> dict[str, str]:
    return {
        "url": source.url,
        "title": source.title,
        "outlet": source.outlet,
        "published_on": source.published_on.isoformat() if source.published_on else "",
        "kind": source.kind.value,
        "tier": source.tier.value,
        "version": str(source.version),
    }


def _add(session: Session, actor: User, data: Values) -> None:
    catalog.add_source(session, actor=actor, **parse_or_refuse(SourceForm, data).model_dump())


def _update(session: Session, actor: User, source: Source, version: int, data: Values) -> None:
    fields = parse_or_refuse(SourceForm, data).model_dump()
    catalog.update_source(session, actor=actor, source=source, expected_version=version, **fields)


SOURCES = Managed[Source](
    noun="source",
    plural="sources",
    guard=require_editor,
    fragment="manage/_source_form.html",
    param="source_id",
    find=by_id(catalog.get_source, "source_id"),
    key=lambda source: str(source.id),
    title=lambda source: source.title,
    values=_values,
    labels=[
        ("url", "URL"),
        ("title", "Title"),
        ("outlet", "Outlet"),
        ("published_on", "Published on"),
        ("kind", "Source kind"),
        ("tier", "Source tier"),
    ],
    add=_add,
    update=_update,
    choices=lambda session, source, values: {
        "source_kinds": options(SOURCE_KIND_LABELS),
        "source_tiers": options(SOURCE_TIER_LABELS),
    },
    defaults=lambda session: {
        "kind": SourceKind.NEWS_REPORT.value,
        "tier": SourceTier.ON_RECORD.value,
    },
    what=lambda source: f"the source '{source.title}' ({source.outlet})",
    delete=lambda session, actor, source: catalog.delete_source(
        session, actor=actor, source=source
    ),
)


@router.get("/sources", response_class=HTMLResponse, summary="Sources")
def list_sources(request: Request, session: SessionDep, editor: EditorDep) -> HTMLResponse:
    """Every source, newest first."""
    context = {"sources": catalog.list_sources(session), "labels": CHOICE_LABELS}
    return render(request, "manage/sources.html", context)


add_routes(SOURCES)
