"""What every admin page shares: the form page, the 409 conflict, the delete confirmation.

Every form posts back to its own URL: a failed save re-renders it (422, the typed input kept, each
error beside its field; htmx swaps just the form), a stale version answers 409 with the conflict
page (app.main renders it), and a success redirects (303, or HX-Redirect for htmx).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, Response

from app.db import SessionDep
from app.forms import PARTY_KIND_LABELS, SOURCE_KIND_LABELS, SOURCE_TIER_LABELS, FormDep, options
from app.security import AdminDep
from app.services.errors import EditConflict, InUse
from app.templating import redirect_after_post, render

EntityT = TypeVar("EntityT")

router = APIRouter(prefix="/manage", tags=["manage"])

FORM_PAGE = "manage/form_page.html"

CHOICE_LABELS = {
    "source_kinds": dict(options(SOURCE_KIND_LABELS)),
    "source_tiers": dict(options(SOURCE_TIER_LABELS)),
    "party_kinds": dict(options(PARTY_KIND_LABELS)),
}
"""The lists' labels for stored choices, by value (`labels.source_kinds[...]` in templates)."""

Labels = list[tuple[str, str]]
"""A form's fields as (name, label), in the order the conflict page shows them."""


def form_page(
    request: Request,
    *,
    fragment: str,
    heading: str,
    back: tuple[str, str],
    context: dict[str, Any],
    errors: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """A form page (or, for htmx, just its form) with the values in `context`; with errors,
    the same form re-rendered with each error beside its field (422)."""
    return render(
        request,
        FORM_PAGE,
        {
            "form_template": fragment,
            "heading": heading,
            "back_url": back[0],
            "back_label": back[1],
            **context,
            "errors": errors or {},
        },
        fragment=fragment,
        status_code=422 if errors else 200,
    )


def conflict(
    exc: EditConflict,
    *,
    title: str,
    labels: Labels,
    current: Mapping[str, object],
    submitted: Mapping[str, str],
    retry_url: str,
) -> EditConflict:
    """The conflict with both versions laid out by `labels`, for its 409 page."""
    return exc.explained(
        title=title,
        current=[(label, "" if current.get(k) is None else current[k]) for k, label in labels],
        submitted=[(label, submitted.get(k, "")) for k, label in labels],
        retry_url=retry_url,
    )


@dataclass(frozen=True, slots=True)
class Deletion:
    """What a delete confirmation names, where it posts, and the list it returns to."""

    what: str
    action: str
    back: str


def confirm_delete(
    request: Request, deletion: Deletion, *, refused: InUse | None = None
) -> HTMLResponse:
    """Ask before deleting; refused (something still uses it), the same page with why (409)."""
    return render(
        request,
        "manage/confirm_delete.html",
        {
            "what": deletion.what,
            "action": deletion.action,
            "back_url": deletion.back,
            "error": refused.message if refused else None,
        },
        fragment="manage/_confirm_delete.html",
        status_code=409 if refused else 200,
    )


def direction(data: Mapping[str, str]) -> str:
    """The move form's direction: "up" or (anything else) "down"."""
    return "up" if data.get("direction") == "up" else "down"


@dataclass(frozen=True)
class Ordered(Generic[EntityT]):
    """A list whose rows an admin can reorder and delete (parties, issues): the catalog's
    functions that find a row by slug, move it and delete it, keyword arguments named after
    `noun` (`catalog.move_party(session, actor=, party=, direction=)`)."""

    noun: str
    plural: str
    get: Callable[..., EntityT]
    move: Callable[..., None]
    delete: Callable[..., None]


def add_order_and_delete_routes(
    entity: Ordered[Any], *, deletion: Callable[[Any], Deletion], move_summary: str
) -> None:
    """Register the move, confirm-deletion and delete routes of a reorderable list, the same way
    for every such list (so they are written once)."""
    list_url = f"/manage/{entity.plural}"

    @router.post(
        f"/{entity.plural}/{{slug}}/move", summary=move_summary, name=f"move_{entity.noun}"
    )
    def move(
        request: Request, session: SessionDep, admin: AdminDep, data: FormDep, slug: str
    ) -> Response:
        """Swap a row with its neighbour in the display order."""
        row = entity.get(session, slug=slug)
        entity.move(session, actor=admin, **{entity.noun: row}, direction=direction(data))
        return redirect_after_post(request, f"{list_url}#{entity.noun}-{slug}")

    @router.get(
        f"/{entity.plural}/{{slug}}/delete",
        response_class=HTMLResponse,
        summary=f"Delete {_article(entity.noun)} {entity.noun}",
        name=f"confirm_{entity.noun}_deletion",
    )
    def confirm(request: Request, session: SessionDep, admin: AdminDep, slug: str) -> HTMLResponse:
        """Ask before deleting."""
        return confirm_delete(request, deletion(entity.get(session, slug=slug)))

    @router.post(
        f"/{entity.plural}/{{slug}}/delete",
        response_class=HTMLResponse,
        summary=f"Delete {_article(entity.noun)} {entity.noun}",
        name=f"delete_{entity.noun}",
    )
    def delete(request: Request, session: SessionDep, admin: AdminDep, slug: str) -> Response:
        """Delete a row nothing uses; otherwise say what uses it."""
        row = entity.get(session, slug=slug)
        try:
            entity.delete(session, actor=admin, **{entity.noun: row})
        except InUse as refused:
            return confirm_delete(request, deletion(row), refused=refused)
        return redirect_after_post(request, list_url)


def _article(noun: str) -> str:
    return "an" if noun[:1] in "aeiou" else "a"
