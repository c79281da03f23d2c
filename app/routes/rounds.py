"""Rounds of talks: the chronology, a round's page, the editor's forms (record, edit, delete),
and the JSON API."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel
from sqlalchemy.orm import Session
from starlette.responses import HTMLResponse, Response

from app.db import SessionDep
from app.forms import FormDep, RoundInput, options, parse_or_refuse
from app.forms.fields import FormFields, form_version
from app.models import Round, RoundDelegate, RoundFormat, RoundParty
from app.routes import twins
from app.routes.manage.shared import APPLY, UNSENT, Deletion, confirm_delete
from app.security import AdminDep, AuthDep, EditorDep
from app.services import catalog, documents, rounds, speakers
from app.services.errors import EditConflict, InUse, ValidationFailed
from app.templating import redirect_after_post, render

router = APIRouter(tags=["rounds"])
api_router = APIRouter(prefix="/api/v1", tags=["api"])

FORMAT_LABELS = {f: f.value.capitalize() for f in RoundFormat}


@router.get("/rounds", response_class=HTMLResponse, summary="The rounds of talks")
def rounds_page(request: Request, session: SessionDep, auth: AuthDep) -> HTMLResponse:
    """Every round in order: who came, what was tabled, what changed up to the next round."""
    chronology = rounds.chronology(session, today=date.today())
    context = {"chronology": chronology, "twins": twins.for_rounds()}
    return render(request, "rounds/list.html", context)


def _render_form(
    request: Request,
    session: Session,
    values: Mapping[str, str],
    errors: Mapping[str, str] | None = None,
    status_code: int = 200,
    *,
    meeting: Round | None = None,
    chosen: Mapping[str, set[str]] | None = None,
) -> HTMLResponse:
    """The round form: empty or typed for a new round; for `meeting`, its edit form."""
    parties = catalog.list_parties(session)
    by_party: dict[int, list[Any]] = {}
    for speaker in speakers.list_speakers(session):
        by_party.setdefault(speaker.party_id, []).append(speaker)
    context = {
        "values": values,
        "errors": errors or {},
        "parties": parties,
        "speakers": by_party,
        "chosen": {
            p.slug: (chosen or {}).get(p.slug) or set(rounds.chosen_ids(values, p.slug))
            for p in parties
        },
        "documents": [d for d, _n in documents.list_documents(session)],
        "format_options": options(FORMAT_LABELS),
        "meeting": meeting,
    }
    return render(request, "rounds/form.html", context, status_code=status_code)


@router.get("/rounds/new", response_class=HTMLResponse, summary="Record a round")
def new_round(request: Request, session: SessionDep, editor: EditorDep) -> HTMLResponse:
    """The empty round form."""
    return _render_form(request, session, {"format": RoundFormat.BILATERAL.value})


@router.post("/rounds/new", response_class=HTMLResponse, summary="Save a round")
def save_round(
    request: Request, session: SessionDep, editor: EditorDep, values: FormDep
) -> Response:
    """Save the round with its parties (ticked, each with its delegation: known speakers and a
    note) and documents."""
    try:
        data = parse_or_refuse(RoundInput, values)
        meeting = rounds.save_form(session, actor=editor, data=data, values=values)
    except ValidationFailed as exc:
        return _render_form(request, session, values, exc.errors, 422)
    return redirect_after_post(request, f"/rounds/{meeting.slug}")


@router.get("/rounds/{slug}", response_class=HTMLResponse, summary="A round of talks")
def round_page(request: Request, session: SessionDep, auth: AuthDep, slug: str) -> HTMLResponse:
    """One round: when, where, who came, its outcome, what was tabled and what changed after."""
    meeting = rounds.get_round(session, slug=slug)
    entry = next(
        e for e in rounds.chronology(session, today=date.today()).entries if e[0].id == meeting.id
    )
    said = rounds.said_at(session, meeting=meeting)
    return render(request, "rounds/page.html", {"round": meeting, "entry": entry, "said": said})


@router.get("/rounds/{slug}/edit", response_class=HTMLResponse, summary="Edit a round")
def edit_round_form(
    request: Request, session: SessionDep, editor: EditorDep, slug: str
) -> HTMLResponse:
    """The round form filled with what is stored, and the version it shows."""
    meeting = rounds.get_round(session, slug=slug)
    values, chosen = rounds.form_values(meeting)
    return _render_form(request, session, values, meeting=meeting, chosen=chosen)


CONFLICT_LABELS = (
    ("name", "Name"), ("starts_on", "First day"), ("ends_on", "Last day"), ("venue", "Venue"),
    ("format", "Format"), ("outcome", "Outcome"), ("source_url", "Source URL"),
    ("parties", "Parties (delegation notes)"), ("delegates", "Delegates (speaker ids)"),
    ("documents", "Documents tabled"),
)  # fmt: skip


def _conflict_view(
    values: Mapping[str, str], chosen: Mapping[str, set[str]] | None = None
) -> dict[str, str]:
    """A round form as the conflict page lays it out: its links in one line each."""
    ticked = sorted(
        k.removeprefix("party_") for k, v in values.items() if k.startswith("party_") and v
    )
    picks = chosen if chosen is not None else _typed_delegates(values)
    view = {k: str(values.get(k, "")) for k, _label in CONFLICT_LABELS}
    view["parties"] = "; ".join(
        f"{slug}: {values.get(f'delegation_{slug}', '')}".rstrip(": ") for slug in ticked
    )
    view["delegates"] = "; ".join(
        f"{slug}: {', '.join(sorted(picks[slug], key=int))}" for slug in ticked if picks.get(slug)
    )
    view["documents"] = ", ".join(
        sorted(
            k.removeprefix("document_")
            for k, v in values.items()
            if k.startswith("document_") and v
        )
    )
    return view


@router.post("/rounds/{slug}/edit", response_class=HTMLResponse, summary="Edit a round")
def update_round(
    request: Request, session: SessionDep, editor: EditorDep, slug: str, values: FormDep
) -> Response:
    """Save the changes (the slug stays); a stale version is refused with 409 before anything
    else, bad input with the form again (422)."""
    meeting = rounds.get_round(session, slug=slug)
    typed = {**values, "slug": meeting.slug}
    if values.get("action") == APPLY:  # from the conflict page: typed values, current version
        return _render_form(
            request, session, {**typed, "version": str(meeting.version)}, meeting=meeting,
            chosen=_typed_delegates(values),
        )  # fmt: skip
    try:
        rounds.check_version(meeting, form_version(values))
        data = parse_or_refuse(RoundInput, typed)
        rounds.update_form(
            session, actor=editor, meeting=meeting, data=data, values=values,
            expected_version=form_version(values),
        )  # fmt: skip
    except EditConflict as exc:
        stored, picks = rounds.form_values(rounds.get_round(session, slug=slug))
        raise exc.explained(
            title="round",
            current=[(label, _conflict_view(stored, picks)[k]) for k, label in CONFLICT_LABELS],
            submitted=[(label, _conflict_view(values)[k]) for k, label in CONFLICT_LABELS],
            retry_url=f"/rounds/{slug}/edit",
            resubmit=[(k, v) for k, v in _pairs(values) if k not in UNSENT],
        ) from None
    except ValidationFailed as exc:
        return _render_form(
            request, session, typed, exc.errors, 422, meeting=meeting,
            chosen=_typed_delegates(values),
        )  # fmt: skip
    return redirect_after_post(request, f"/rounds/{slug}")


def _typed_delegates(values: Mapping[str, str]) -> dict[str, set[str]]:
    """The speaker ids ticked per party slug in a sent form (a name repeats per speaker)."""
    slugs = [k.removeprefix("delegates_") for k in values if k.startswith("delegates_")]
    return {slug: set(rounds.chosen_ids(values, slug)) for slug in slugs}


def _pairs(values: Mapping[str, str]) -> list[tuple[str, str]]:
    """Every (name, value) the form sent, a repeated name (a party's delegates) each time."""
    if isinstance(values, FormFields):
        return [(k, v) for k in values for v in values.every(k)]
    return list(values.items())


def _deletion(meeting: Round) -> Deletion:
    return Deletion(
        what=f"the round '{meeting.name}' ({meeting.starts_on:%-d %b %Y}), with its parties, "
        "delegates and the list of documents tabled there (the documents stay)",
        action=f"/rounds/{meeting.slug}/delete",
        back="/rounds",
    )


@router.get("/rounds/{slug}/delete", response_class=HTMLResponse, summary="Delete a round")
def confirm_round_deletion(
    request: Request, session: SessionDep, admin: AdminDep, slug: str
) -> HTMLResponse:
    """Ask before deleting a round."""
    return confirm_delete(request, _deletion(rounds.get_round(session, slug=slug)))


@router.post("/rounds/{slug}/delete", response_class=HTMLResponse, summary="Delete a round")
def delete_round(request: Request, session: SessionDep, admin: AdminDep, slug: str) -> Response:
    """Delete a round no quote or position is tied to; otherwise say what is (409)."""
    meeting = rounds.get_round(session, slug=slug)
    try:
        rounds.delete_round(session, actor=admin, meeting=meeting)
    except InUse as refused:
        return confirm_delete(request, _deletion(meeting), refused=refused)
    return redirect_after_post(request, "/rounds")


def delegates_of(seat: RoundParty) -> list[RoundDelegate]:
    """A party's known delegates at a round, by name."""
    return sorted(seat.delegates, key=lambda d: (d.speaker.name, d.speaker_id))


class DelegateOut(BaseModel):
    """A known speaker in a party's delegation."""

    id: int
    name: str


class RoundOut(BaseModel):
    """A round of talks."""

    slug: str
    name: str
    starts_on: date
    ends_on: date
    venue: str
    format: str
    outcome: str
    source: str | None
    parties: dict[str, str]
    delegates: dict[str, list[DelegateOut]]
    documents: list[str]


@api_router.get("/rounds", response_model=list[RoundOut], summary="Rounds of talks")
def rounds_api(session: SessionDep) -> list[RoundOut]:
    """Every round, oldest first; `parties` maps a party's slug to its delegation note,
    `delegates` to the known speakers in its delegation (id and name, by name)."""
    out: list[dict[str, Any]] = [
        {
            "slug": r.slug,
            "name": r.name,
            "starts_on": r.starts_on,
            "ends_on": r.ends_on,
            "venue": r.venue,
            "format": r.format.value,
            "outcome": r.outcome,
            "source": r.source.url if r.source else None,
            "parties": {p.party.slug: p.delegation for p in r.parties},
            "delegates": {
                p.party.slug: [
                    {"id": d.speaker.id, "name": d.speaker.name} for d in delegates_of(p)
                ]
                for p in r.parties
            },
            "documents": [d.slug for d in r.documents],
        }  # fmt: skip
        for r in rounds.list_rounds(session)
    ]
    return [RoundOut(**row) for row in out]
