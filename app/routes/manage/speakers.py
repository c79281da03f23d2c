"""Managing the speakers (editors): list, add, edit and delete; admins also merge two."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from sqlalchemy.orm import Session
from starlette.responses import HTMLResponse, Response

from app.db import SessionDep
from app.forms import FormDep, SpeakerForm, parse_form, whole_number
from app.models import Party, Speaker, User
from app.routes.manage.shared import Managed, Values, add_routes, by_id, router
from app.security import AdminDep, EditorDep, require_editor
from app.services import catalog, speakers
from app.services.errors import ValidationFailed
from app.templating import redirect_after_post, render


def _values(session: Session, speaker: Speaker) -> dict[str, str]:
    party = session.get(Party, speaker.party_id)
    return {
        "name": speaker.name,
        "role": speaker.role,
        "party": party.slug if party else "",
        "aliases": "\n".join(alias.name for alias in speaker.aliases),
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
    return {"name": form.name, "role": form.role, "party": party, "aliases": form.aliases}


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
    labels=[("name", "Name"), ("role", "Role"), ("party", "Party"), ("aliases", "Aliases")],
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


def _merge_page(
    request: Request, session: Session, speaker: Speaker, *, errors: dict[str, str] | None = None
) -> HTMLResponse:
    others = [s for s in speakers.list_speakers(session) if s.party_id == speaker.party_id]
    context = {
        "speaker": speaker,
        "choices": [(s.id, f"{s.name} — {s.role}" if s.role else s.name) for s in others
                    if s.id != speaker.id],
        "errors": errors or {},
    }  # fmt: skip
    return render(request, "manage/speaker_merge.html", context, status_code=422 if errors else 200)


@router.get("/speakers/{speaker_id}/merge", response_class=HTMLResponse, summary="Merge a speaker")
def merge_form(
    request: Request, session: SessionDep, admin: AdminDep, speaker_id: int
) -> HTMLResponse:
    """Ask which speaker of the same party this one is the same person as."""
    return _merge_page(request, session, speakers.get_speaker(session, speaker_id=speaker_id))


@router.post("/speakers/{speaker_id}/merge", summary="Merge a speaker into another")
def merge(
    request: Request, session: SessionDep, admin: AdminDep, speaker_id: int, data: FormDep
) -> Response:
    """Move this speaker's quotes and roles to the one chosen, then delete it (audited)."""
    merged = speakers.get_speaker(session, speaker_id=speaker_id)
    into = whole_number(data.get("into", "").strip(), digits=11)
    try:
        if into is None:
            raise ValidationFailed({"into": "Choose the speaker to merge into."})
        keep = speakers.get_speaker(session, speaker_id=into)
        speakers.merge_speakers(session, actor=admin, keep=keep, merged=merged)
    except ValidationFailed as exc:
        return _merge_page(request, session, merged, errors=dict(exc.errors))
    return redirect_after_post(request, f"/manage/speakers#speaker-{keep.id}")
