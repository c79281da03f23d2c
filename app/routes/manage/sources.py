"""Managing the sources (editors): list, add, edit and delete."""

from __future__ import annotations

from fastapi import Request
from sqlalchemy.orm import Session
from starlette.responses import HTMLResponse

from app.db import SessionDep
from app.forms import SOURCE_KIND_LABELS, SOURCE_TIER_LABELS, SourceForm, options, parse_or_refuse
from app.models import Source, SourceKind, SourceTier, User
from app.routes.manage.shared import (
    CHOICE_LABELS,
    Managed,
    Prefill,
    Values,
    add_routes,
    by_id,
    router,
)
from app.security import EditorDep, require_editor
from app.services import catalog, source_meta
from app.services.errors import PageNotFetched
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


def _prefill(session: Session, source: Source | None, data: Values) -> Prefill:
    """ "Fill from URL": the fields filled from the page's metadata, everything else as typed.
    Here a URL the app knows is not a source to cite but a duplicate: it is named, with a link."""
    values = {k: v for k, v in data.items() if k not in {"action", "csrf_token"}}
    url = values.get("url", "").strip()
    try:
        if not url:
            raise PageNotFetched("Enter the source's web address first.")
        known = source_meta.find_known_source(session, url=url)
        if known is not None and known is not source:
            return _duplicate(values, known)
        # Nothing is written here: end the transaction before a fetch of up to 5 seconds.
        session.commit()
        fill = (
            source_meta.page_fill(source_meta.fetch_meta(url))  # this source's own page
            if known is not None
            else source_meta.fill_from_page(session, url=url)
        )
    except PageNotFetched as exc:
        return Prefill(values, {"url": exc.message})
    if fill.known is not None and fill.known is not source:  # its canonical address is known
        return _duplicate(values, fill.known)
    return Prefill({**values, **fill.values}, {}, note=fill.note)


def _duplicate(values: dict[str, str], known: Source) -> Prefill:
    message = f"Already a source: {known.title} ({known.outlet}); edit that one instead."
    return Prefill(values, {"url": message}, context={"known_source": known})


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
    prefill=_prefill,
)


@router.get("/sources", response_class=HTMLResponse, summary="Sources")
def list_sources(request: Request, session: SessionDep, editor: EditorDep) -> HTMLResponse:
    """Every source, newest first."""
    context = {"sources": catalog.list_sources(session), "labels": CHOICE_LABELS}
    return render(request, "manage/sources.html", context)


add_routes(SOURCES)
