"""Managing the parties (admins): list, add, edit, reorder and delete."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from sqlalchemy.orm import Session
from starlette.responses import HTMLResponse

from app.db import SessionDep
from app.forms import PARTY_KIND_LABELS, NewPartyForm, PartyForm, options, parse_form
from app.models import Party, PartyKind, User
from app.routes.manage.shared import CHOICE_LABELS, Managed, Values, add_routes, router
from app.security import AdminDep, require_admin
from app.services import catalog
from app.services.errors import ValidationFailed
from app.templating import render


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


def _choices(session: Session, party: Party | None, values: Values) -> dict[str, Any]:
    chosen = values.get("parent", "")
    blocs = [(p.slug, p.name) for p in catalog.bloc_parties(session) if p is not party]
    if chosen and chosen not in {slug for slug, _ in blocs}:
        # Keep what was submitted visible even when it is not a bloc (the error explains why).
        other = catalog.find_party(session, slug=chosen)
        blocs.append((chosen, f"{other.name} (not a bloc)" if other else chosen))
    return {"kinds": options(PARTY_KIND_LABELS), "blocs": blocs}


def _parse(session: Session, model: type[PartyForm], data: Values) -> dict[str, Any]:
    """The form's fields with its bloc as a Party, or ValidationFailed with every problem at once."""
    form, errors = parse_form(model, data)
    slug = data.get("parent", "").strip()
    parent = catalog.find_party(session, slug=slug) if slug else None
    if slug and parent is None:
        errors.setdefault("parent", "Choose a bloc from the list.")
    if form is None or errors:
        raise ValidationFailed(errors)
    return {**form.model_dump(exclude={"parent"}), "parent": parent}


def _add(session: Session, actor: User, data: Values) -> None:
    catalog.add_party(session, actor=actor, **_parse(session, NewPartyForm, data))


def _update(session: Session, actor: User, party: Party, version: int, data: Values) -> None:
    fields = _parse(session, PartyForm, data)
    catalog.update_party(session, actor=actor, party=party, expected_version=version, **fields)


PARTIES = Managed[Party](
    noun="party",
    plural="parties",
    guard=require_admin,
    fragment="manage/_party_form.html",
    param="slug",
    find=lambda session, slug: catalog.get_party(session, slug=slug),
    key=lambda party: party.slug,
    title=lambda party: party.name,
    values=_values,
    labels=[
        ("name", "Name"),
        ("short_name", "Short name"),
        ("kind", "Kind"),
        ("parent", "Bloc"),
        ("sort_order", "Sort order"),
    ],
    add=_add,
    update=_update,
    choices=_choices,
    defaults=lambda session: {
        "kind": PartyKind.STATE.value,
        "sort_order": str(catalog.next_sort_order(session, Party)),
    },
    what=lambda party: f"the party {party.name} ({party.slug})",
    delete=lambda session, actor, party: catalog.delete_party(session, actor=actor, party=party),
    move=lambda session, actor, party, way: catalog.move_party(
        session, actor=actor, party=party, direction=way
    ),
)


@router.get("/parties", response_class=HTMLResponse, summary="Parties")
def list_parties(request: Request, session: SessionDep, admin: AdminDep) -> HTMLResponse:
    """Every party in matrix order, with edit, delete and move controls."""
    parties = catalog.list_parties(session)
    names = {p.id: p.name for p in parties}
    return render(
        request,
        "manage/parties.html",
        {"parties": parties, "names": names, "labels": CHOICE_LABELS},
    )


add_routes(PARTIES)
