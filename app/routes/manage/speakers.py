"""Managing the speakers (editors): list, add, edit and delete."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from sqlalchemy.orm import Session
from starlette.responses import HTMLResponse

from app.db import SessionDep
from app.forms import SpeakerForm, parse_form
from app.models import Party, Speaker, User
from app.routes.manage.shared import Managed, Values, add_routes, by_id, router
from app.security import EditorDep, require_editor
from app.services import catalog, speakers
from app.services.errors import ValidationFailed
from app.templating import render


def _values(session: Session, speaker: Speaker) -> dict[str, str]:
    party = session.get(Party, speaker.party_id)
    return {
        "name": speaker.name,
        "role": speaker.role,
        "party": party.slug if party else "",
        "version": str(speaker.version),
    }


def _parse(session: Session, data: Values) -> dict[str, Any]:
    """The form's fields with its party as a Party, or ValidationFailed with every problem."""
    form, errors = parse_form(SpeakerForm, data)
    slug = data.get("party", "").strip()
    party = catalog.find_party(session, slug=slug) if slug else None
    if party is None:
        errors.setdefault("party", "Choose a party from the list.")
    if form is None or party is None or errors:
        raise ValidationFailed(errors)
    return {"name": form.name, "role": form.role, "party": party}


def _update(session: Session, actor: User, speaker: Speaker, version: int, data: Values) -> None:
    fields = _parse(session, data)
    speakers.update_speaker(
        session, actor=actor, speaker=speaker, expected_version=version, **fields
    )


SPEAKERS = Managed[Speaker](
    noun="speaker",
    plural="speakers",
    guard=require_editor,
    fragment="manage/_speaker_form.html",
    param="speaker_id",
    find=by_id(speakers.get_speaker, "speaker_id"),
    key=lambda speaker: str(speaker.id),
    title=lambda speaker: speaker.name,
    values=_values,
    labels=[("name", "Name"), ("role", "Role"), ("party", "Party")],
    add=lambda session, actor, data: speakers.add_speaker(
        session, actor=actor, **_parse(session, data)
    ),
    update=_update,
    choices=lambda session, speaker, values: {
        "parties": [(p.slug, p.name) for p in catalog.list_parties(session)]
    },
    what=lambda speaker: f"the speaker {speaker.name} ({speaker.party.name})",
    delete=lambda session, actor, speaker: speakers.delete_speaker(
        session, actor=actor, speaker=speaker
    ),
)


@router.get("/speakers", response_class=HTMLResponse, summary="Speakers")
def list_speakers(request: Request, session: SessionDep, editor: EditorDep) -> HTMLResponse:
    """Every speaker with their party."""
    return render(request, "manage/speakers.html", {"speakers": speakers.list_speakers(session)})


add_routes(SPEAKERS)
