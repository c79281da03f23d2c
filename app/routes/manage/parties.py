"""Managing the parties (admins): list, add, edit, reorder and delete."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

from fastapi import Request
from sqlalchemy.orm import Session
from starlette.responses import HTMLResponse, Response

from app.db import SessionDep
from app.forms import (
    PARTY_KIND_LABELS,
    FormDep,
    NewPartyForm,
    PartyForm,
    form_version,
    options,
    parse_form,
)
from app.models import Party, PartyKind
from app.routes.manage.shared import (
    CHOICE_LABELS,
    Deletion,
    Ordered,
    add_order_and_delete_routes,
    conflict,
    form_page,
    router,
)
from app.security import AdminDep
from app.services import catalog
from app.services.errors import EditConflict, ValidationFailed
from app.templating import redirect_after_post, render

PartyFormT = TypeVar("PartyFormT", bound=PartyForm)

LIST_URL = "/manage/parties"
FIELDS = [
    ("name", "Name"),
    ("short_name", "Short name"),
    ("kind", "Kind"),
    ("parent", "Bloc"),
    ("sort_order", "Sort order"),
]


def _values(session: Session, party: Party) -> dict[str, str]:
    parent = session.get(Party, party.parent_id) if party.parent_id else None
    return {
        "name": party.name,
        "short_name": party.short_name,
        "kind": party.kind.value,
        "parent": parent.slug if parent else "",
        "sort_order": str(party.sort_order),
        "version": str(party.version),
    }


def _bloc_options(session: Session, *, chosen: str, exclude: Party | None) -> list[tuple[str, str]]:
    choices = [(p.slug, p.name) for p in catalog.bloc_parties(session) if p is not exclude]
    if chosen and chosen not in {slug for slug, _ in choices}:
        # Keep what was submitted visible even when it is not a bloc (the error explains why).
        other = catalog.find_party(session, slug=chosen)
        choices.append((chosen, f"{other.name} (not a bloc)" if other else chosen))
    return choices


def _parse(
    session: Session, model: type[PartyFormT], data: Mapping[str, str]
) -> tuple[PartyFormT, Party | None]:
    """The form's fields and its bloc, or ValidationFailed with every problem at once."""
    form, errors = parse_form(model, data)
    slug = data.get("parent", "").strip()
    parent = catalog.find_party(session, slug=slug) if slug else None
    if slug and parent is None:
        errors.setdefault("parent", "Choose a bloc from the list.")
    if form is None or errors:
        raise ValidationFailed(errors)
    return form, parent


def _form(
    request: Request,
    session: Session,
    *,
    party: Party | None,
    values: Mapping[str, str],
    errors: Mapping[str, str] | None = None,
) -> HTMLResponse:
    return form_page(
        request,
        fragment="manage/_party_form.html",
        heading=f"Edit {party.name}" if party else "Add a party",
        back=(LIST_URL, "Parties"),
        context={
            "party": party,
            "action": f"{LIST_URL}/{party.slug}/edit" if party else f"{LIST_URL}/new",
            "values": values,
            "kinds": options(PARTY_KIND_LABELS),
            "blocs": _bloc_options(session, chosen=values.get("parent", ""), exclude=party),
        },
        errors=errors,
    )


def _deletion(party: Party) -> Deletion:
    return Deletion(
        what=f"the party {party.name} ({party.slug})",
        action=f"{LIST_URL}/{party.slug}/delete",
        back=LIST_URL,
    )


@router.get("/parties", response_class=HTMLResponse, summary="Parties")
def list_parties(request: Request, session: SessionDep, admin: AdminDep) -> HTMLResponse:
    """Every party in matrix order, with edit, delete and move controls."""
    parties = catalog.list_parties(session)
    return render(
        request,
        "manage/parties.html",
        {
            "parties": parties,
            "names": {p.id: p.name for p in parties},
            "labels": CHOICE_LABELS,
        },
    )


@router.get("/parties/new", response_class=HTMLResponse, summary="Add a party")
def new_party_form(request: Request, session: SessionDep, admin: AdminDep) -> HTMLResponse:
    """The empty add-party form."""
    order = catalog.next_sort_order(session, Party)
    values = {"kind": PartyKind.STATE.value, "sort_order": str(order)}
    return _form(request, session, party=None, values=values)


@router.post("/parties/new", response_class=HTMLResponse, summary="Add a party")
def add_party(request: Request, session: SessionDep, admin: AdminDep, data: FormDep) -> Response:
    """Add a party, or show the form again with what is wrong."""
    try:
        form, parent = _parse(session, NewPartyForm, data)
        catalog.add_party(
            session,
            actor=admin,
            slug=form.slug,
            name=form.name,
            short_name=form.short_name,
            kind=form.kind,
            parent=parent,
            sort_order=form.sort_order,
        )
    except ValidationFailed as exc:
        return _form(request, session, party=None, values=data, errors=exc.errors)
    return redirect_after_post(request, LIST_URL)


@router.get("/parties/{slug}/edit", response_class=HTMLResponse, summary="Edit a party")
def edit_party_form(
    request: Request, session: SessionDep, admin: AdminDep, slug: str
) -> HTMLResponse:
    """The edit form, filled with the stored party."""
    party = catalog.get_party(session, slug=slug)
    return _form(request, session, party=party, values=_values(session, party))


@router.post("/parties/{slug}/edit", response_class=HTMLResponse, summary="Edit a party")
def update_party(
    request: Request, session: SessionDep, admin: AdminDep, data: FormDep, slug: str
) -> Response:
    """Save a party's name, kind, bloc or order; refuse a stale version with 409."""
    party = catalog.get_party(session, slug=slug)
    try:
        catalog.check_version(party, form_version(data))  # stale beats invalid
        form, parent = _parse(session, PartyForm, data)
        catalog.update_party(
            session,
            actor=admin,
            party=party,
            expected_version=form_version(data),
            name=form.name,
            short_name=form.short_name,
            kind=form.kind,
            parent=parent,
            sort_order=form.sort_order,
        )
    except EditConflict as exc:
        stored = _values(session, catalog.get_party(session, slug=slug))
        raise conflict(exc, title="party", labels=FIELDS, current=stored, submitted=data, retry_url=f"{LIST_URL}/{slug}/edit") from None  # fmt: skip
    except ValidationFailed as exc:
        return _form(request, session, party=party, values=data, errors=exc.errors)
    return redirect_after_post(request, LIST_URL)


ORDER = Ordered("party", "parties", catalog.get_party, catalog.move_party, catalog.delete_party)
add_order_and_delete_routes(ORDER, deletion=_deletion, move_summary="Move a party up or down")
