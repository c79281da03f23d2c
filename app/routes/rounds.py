"""Rounds of talks: the chronology, a round's page, the editor's form, and the JSON API."""

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
from app.models import RoundDelegate, RoundFormat, RoundParty
from app.routes import twins
from app.security import AuthDep, EditorDep
from app.services import catalog, documents, rounds, speakers
from app.services.errors import ValidationFailed
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
) -> HTMLResponse:
    parties = catalog.list_parties(session)
    by_party: dict[int, list[Any]] = {}
    for speaker in speakers.list_speakers(session):
        by_party.setdefault(speaker.party_id, []).append(speaker)
    context = {
        "values": values,
        "errors": errors or {},
        "parties": parties,
        "speakers": by_party,
        "chosen": {p.slug: set(rounds.chosen_ids(values, p.slug)) for p in parties},
        "documents": [d for d, _n in documents.list_documents(session)],
        "format_options": options(FORMAT_LABELS),
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
