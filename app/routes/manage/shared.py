"""What every admin page shares: the form page, the 409 conflict, the delete confirmation.

Every form posts back to its own URL: a failed save re-renders it (422, the typed input kept, each
error beside its field; htmx swaps just the form), a stale version answers 409 with the conflict
page (app.main renders it), and a success redirects (303, or HX-Redirect for htmx).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from fastapi import APIRouter, Depends, Path, Request
from sqlalchemy.orm import Session
from starlette.responses import HTMLResponse, Response

from app.db import SessionDep
from app.forms import (
    PARTY_KIND_LABELS,
    SOURCE_KIND_LABELS,
    SOURCE_TIER_LABELS,
    FormDep,
    form_version,
    options,
)
from app.models import User
from app.services import catalog
from app.services.errors import EditConflict, InUse, NotFound, ValidationFailed
from app.templating import redirect_after_post, render

RowT = TypeVar("RowT")
Values = Mapping[str, str]
Errors = Mapping[str, str] | None

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
    the same form re-rendered with each error beside its field (422). A typed password is
    never echoed back."""
    if "values" in context:
        context = {
            **context,
            "values": {k: v for k, v in context["values"].items() if k != "password"},
        }
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
        resubmit=[(k, v) for k, v in submitted.items() if k not in UNSENT],
    )


UNSENT = frozenset({"csrf_token", "version", "action"})
"""Form fields the conflict page does not post again with the typed values."""
APPLY = "apply"
"""The conflict page's "Apply my changes onto the current version" (name="action")."""


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


def by_id(get: Callable[..., RowT], name: str) -> Callable[[Session, str], RowT]:
    """A finder by the number in the URL (`get(session, source_id=12)`); not a number, not found."""

    def find(session: Session, key: str) -> RowT:
        if not (key.isascii() and key.isdigit() and len(key) <= 9):
            raise NotFound(name.removesuffix("_id"), key)
        return get(session, **{name: int(key)})

    return find


@dataclass(frozen=True, slots=True)
class Prefill:
    """What a form's "Fill from URL" button (action=fill) gives back: the form's values with
    the filled ones set, any problem under its field, and a note saying what was done."""

    values: dict[str, str]
    errors: dict[str, str]
    note: str = ""
    context: dict[str, Any] | None = None
    """More for the template (the source an address already belongs to)."""


FILL = "fill"
"""The value of a "Fill from URL" button (name="action"): fill fields, save nothing."""


def _no_choices(session: Session, row: Any, values: Values) -> dict[str, Any]:
    return {}


def _no_defaults(session: Session) -> dict[str, str]:
    return {}


@dataclass(frozen=True)
class Managed(Generic[RowT]):
    """One admin list described once: `add_routes` gives it its add, edit (and, when the
    functions are there, delete and move) pages, the same way for every list.

    URLs are /manage/<plural>/new, /manage/<plural>/<key>/edit, .../delete and .../move, where
    `key(row)` names the row (its slug or its id) and `find(session, key)` finds it again (or
    raises NotFound). `add` and `update` parse the submitted form and call the service; they
    raise ValidationFailed with every problem at once, or EditConflict for a stale version.
    """

    noun: str
    plural: str
    guard: Callable[..., Any]
    """`require_admin` or `require_editor`: who may use these pages."""
    fragment: str
    """The form template (`manage/_<noun>_form.html`); it gets `<noun>` (None when adding),
    `action`, `values`, `errors` and whatever `choices` returns."""
    param: str
    """The URL's name for the key: "slug", or "source_id" for a number."""
    find: Callable[[Session, str], RowT]
    key: Callable[[RowT], str]
    title: Callable[[RowT], str]
    values: Callable[[Session, RowT], dict[str, str]]
    """The stored row as form values, `version` included."""
    labels: Labels
    add: Callable[[Session, User, Values], object]
    update: Callable[[Session, User, RowT, int, Values], object]
    choices: Callable[[Session, RowT | None, Values], dict[str, Any]] = _no_choices
    defaults: Callable[[Session], dict[str, str]] = _no_defaults
    edit_page: Callable[[Request, RowT, User, Values, Errors], HTMLResponse] | None = None
    """A page of its own for editing (users: name and role, then a new password)."""
    what: Callable[[RowT], str] | None = None
    """What a delete confirmation names ("the issue Ceasefire (ceasefire)")."""
    delete: Callable[[Session, User, RowT], None] | None = None
    move: Callable[[Session, User, RowT, str], None] | None = None
    prefill: Callable[[Session, RowT | None, Values], Prefill] | None = None
    """The form's "Fill from URL" button (sources): posts to the same URL with action=fill."""

    @property
    def list_url(self) -> str:
        return f"/manage/{self.plural}"

    def url(self, row: RowT | None, action: str) -> str:
        return (
            f"{self.list_url}/{self.key(row)}/{action}"
            if row is not None
            else f"{self.list_url}/new"
        )

    def form(
        self, request: Request, session: Session, row: RowT | None, values: Values, *,
        actor: User, errors: Errors = None, extra: Mapping[str, Any] | None = None,
    ) -> HTMLResponse:  # fmt: skip
        """The add form (row None) or the edit form, with `values`; with errors, 422."""
        if row is not None and self.edit_page is not None:
            return self.edit_page(request, row, actor, values, errors)
        return form_page(
            request,
            fragment=self.fragment,
            heading=f"Edit {self.title(row)}" if row is not None else f"Add {_a(self.noun)}",
            back=(self.list_url, self.plural.capitalize()),
            context={
                self.noun: row,
                "action": self.url(row, "edit"),
                "values": values,
                **self.choices(session, row, values),
                **(extra or {}),
            },
            errors=errors,
        )

    def filled(
        self, request: Request, session: Session, row: RowT | None, values: Values, *, actor: User
    ) -> HTMLResponse | None:
        """The form again after "Fill from URL", nothing saved; None for any other post."""
        if self.prefill is None or values.get("action") != FILL:
            return None
        fill = self.prefill(session, row, values)
        extra = {"fill_note": fill.note, **(fill.context or {})}
        return self.form(
            request, session, row, fill.values, actor=actor, errors=fill.errors, extra=extra
        )

    def deletion(self, row: RowT) -> Deletion:
        what = self.what(row) if self.what else f"this {self.noun}"
        return Deletion(what=what, action=self.url(row, "delete"), back=self.list_url)


def add_routes(entity: Managed[Any]) -> None:
    """Register the add and edit pages of `entity`, and its delete and move routes when it has
    those functions. Each POST reads the same: try the service, except the domain errors
    (the form again with every error, 422; a stale version, the 409 conflict page), redirect."""
    path = f"/{entity.plural}"
    noun, guard, key_param = entity.noun, Depends(entity.guard), Path(alias=entity.param)

    @router.get(
        f"{path}/new",
        response_class=HTMLResponse,
        summary=f"Add {_a(noun)}",
        name=f"new_{noun}_form",
    )
    def new_form(request: Request, session: SessionDep, actor: User = guard) -> HTMLResponse:
        """The empty add form."""
        return entity.form(request, session, None, entity.defaults(session), actor=actor)

    @router.post(
        f"{path}/new", response_class=HTMLResponse, summary=f"Add {_a(noun)}", name=f"add_{noun}"
    )
    def add(request: Request, session: SessionDep, data: FormDep, actor: User = guard) -> Response:
        """Add one, or show the form again with everything that is wrong."""
        filled = entity.filled(request, session, None, data, actor=actor)
        if filled is not None:
            return filled
        try:
            entity.add(session, actor, data)
        except ValidationFailed as exc:
            return entity.form(request, session, None, data, actor=actor, errors=exc.errors)
        return redirect_after_post(request, entity.list_url)

    @router.get(
        f"{path}/{{{entity.param}}}/edit",
        response_class=HTMLResponse,
        summary=f"Edit {_a(noun)}",
        name=f"edit_{noun}_form",
    )
    def edit_form(
        request: Request, session: SessionDep, key: str = key_param, actor: User = guard
    ) -> HTMLResponse:
        """The edit form, filled with what is stored."""
        row = entity.find(session, key)
        return entity.form(request, session, row, entity.values(session, row), actor=actor)

    @router.post(
        f"{path}/{{{entity.param}}}/edit",
        response_class=HTMLResponse,
        summary=f"Edit {_a(noun)}",
        name=f"update_{noun}",
    )
    def update(
        request: Request,
        session: SessionDep,
        data: FormDep,
        key: str = key_param,
        actor: User = guard,
    ) -> Response:
        """Save the changes; refuse a stale version with 409 (stale beats invalid)."""
        row = entity.find(session, key)
        filled = entity.filled(request, session, row, data, actor=actor)
        if filled is not None:
            return filled
        if data.get("action") == APPLY:  # from the conflict page: typed values, current version
            applied = {k: v for k, v in data.items() if k not in UNSENT}
            applied["version"] = str(getattr(row, "version", ""))
            return entity.form(request, session, row, applied, actor=actor)
        try:
            catalog.check_version(row, form_version(data))
            entity.update(session, actor, row, form_version(data), data)
        except EditConflict as exc:
            stored = entity.values(session, entity.find(session, key))
            raise conflict(
                exc,
                title=noun,
                labels=entity.labels,
                current=stored,
                submitted=data,
                retry_url=entity.url(row, "edit"),
            ) from None
        except ValidationFailed as exc:
            return entity.form(request, session, row, data, actor=actor, errors=exc.errors)
        return redirect_after_post(request, entity.list_url)

    if entity.delete is not None:
        _add_delete_routes(entity, entity.delete, guard)
    if entity.move is not None:
        _add_move_route(entity, entity.move, guard)


def _add_delete_routes(
    entity: Managed[Any], delete: Callable[[Session, User, Any], None], guard: Any
) -> None:
    path, noun = f"/{entity.plural}/{{{entity.param}}}/delete", entity.noun
    key_param = Path(alias=entity.param)

    @router.get(
        path,
        response_class=HTMLResponse,
        summary=f"Delete {_a(noun)}",
        name=f"confirm_{noun}_deletion",
    )
    def confirm(
        request: Request, session: SessionDep, key: str = key_param, actor: User = guard
    ) -> HTMLResponse:
        """Ask before deleting."""
        return confirm_delete(request, entity.deletion(entity.find(session, key)))

    @router.post(
        path, response_class=HTMLResponse, summary=f"Delete {_a(noun)}", name=f"delete_{noun}"
    )
    def remove(
        request: Request, session: SessionDep, key: str = key_param, actor: User = guard
    ) -> Response:
        """Delete a row nothing uses; otherwise say what uses it (409)."""
        row = entity.find(session, key)
        try:
            delete(session, actor, row)
        except InUse as refused:
            return confirm_delete(request, entity.deletion(row), refused=refused)
        return redirect_after_post(request, entity.list_url)


def _add_move_route(
    entity: Managed[Any], move: Callable[[Session, User, Any, str], None], guard: Any
) -> None:
    key_param = Path(alias=entity.param)

    @router.post(
        f"/{entity.plural}/{{{entity.param}}}/move",
        summary=f"Move {_a(entity.noun)} in the display order",
        name=f"move_{entity.noun}",
    )
    def swap(
        request: Request,
        session: SessionDep,
        data: FormDep,
        key: str = key_param,
        actor: User = guard,
    ) -> Response:
        """Swap a row with its neighbour in the display order."""
        row = entity.find(session, key)
        move(session, actor, row, "up" if data.get("direction") == "up" else "down")
        return redirect_after_post(request, f"{entity.list_url}#{entity.noun}-{key}")


def _a(noun: str) -> str:
    return f"an {noun}" if noun[:1] in "aeiou" else f"a {noun}"
