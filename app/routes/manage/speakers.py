"""Managing the speakers (editors): list, add, edit and delete."""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import Request
from sqlalchemy.orm import Session
from starlette.responses import HTMLResponse, Response

from app.db import SessionDep
from app.forms import FormDep, SpeakerForm, form_version, parse_form
from app.models import Party, Speaker
from app.routes.manage.shared import Deletion, confirm_delete, conflict, form_page, router
from app.security import EditorDep
from app.services import catalog, speakers
from app.services.errors import EditConflict, InUse, ValidationFailed
from app.templating import redirect_after_post, render

LIST_URL = "/manage/speakers"
FIELDS = [("name", "Name"), ("role", "Role"), ("party", "Party")]


def _values(session: Session, speaker: Speaker) -> dict[str, str]:
    party = session.get(Party, speaker.party_id)
    return {
        "name": speaker.name,
        "role": speaker.role,
        "party": party.slug if party else "",
        "version": str(speaker.version),
    }


def _parse(session: Session, data: Mapping[str, str]) -> tuple[SpeakerForm, Party]:
    """The form's fields and its party, or ValidationFailed with every problem at once."""
    form, errors = parse_form(SpeakerForm, data)
    slug = data.get("party", "").strip()
    party = catalog.find_party(session, slug=slug) if slug else None
    if party is None:
        errors.setdefault("party", "Choose a party from the list.")
    if form is None or party is None or errors:
        raise ValidationFailed(errors)
    return form, party


def _form(
    request: Request,
    session: Session,
    *,
    speaker: Speaker | None,
    values: Mapping[str, str],
    errors: Mapping[str, str] | None = None,
) -> HTMLResponse:
    return form_page(
        request,
        fragment="manage/_speaker_form.html",
        heading=f"Edit {speaker.name}" if speaker else "Add a speaker",
        back=(LIST_URL, "Speakers"),
        context={
            "speaker": speaker,
            "action": f"{LIST_URL}/{speaker.id}/edit" if speaker else f"{LIST_URL}/new",
            "values": values,
            "parties": [(p.slug, p.name) for p in catalog.list_parties(session)],
        },
        errors=errors,
    )


def _deletion(speaker: Speaker) -> Deletion:
    return Deletion(
        what=f"the speaker {speaker.name} ({speaker.party.name})",
        action=f"{LIST_URL}/{speaker.id}/delete",
        back=LIST_URL,
    )


@router.get("/speakers", response_class=HTMLResponse, summary="Speakers")
def list_speakers(request: Request, session: SessionDep, editor: EditorDep) -> HTMLResponse:
    """Every speaker with their party."""
    return render(request, "manage/speakers.html", {"speakers": speakers.list_speakers(session)})


@router.get("/speakers/new", response_class=HTMLResponse, summary="Add a speaker")
def new_speaker_form(request: Request, session: SessionDep, editor: EditorDep) -> HTMLResponse:
    """The empty add-speaker form."""
    return _form(request, session, speaker=None, values={})


@router.post("/speakers/new", response_class=HTMLResponse, summary="Add a speaker")
def add_speaker(
    request: Request, session: SessionDep, editor: EditorDep, data: FormDep
) -> Response:
    """Add a speaker, or show the form again with what is wrong."""
    try:
        form, party = _parse(session, data)
        speakers.add_speaker(session, actor=editor, party=party, name=form.name, role=form.role)
    except ValidationFailed as exc:
        return _form(request, session, speaker=None, values=data, errors=exc.errors)
    return redirect_after_post(request, LIST_URL)


@router.get("/speakers/{speaker_id}/edit", response_class=HTMLResponse, summary="Edit a speaker")
def edit_speaker_form(
    request: Request, session: SessionDep, editor: EditorDep, speaker_id: int
) -> HTMLResponse:
    """The edit form, filled with the stored speaker."""
    speaker = speakers.get_speaker(session, speaker_id=speaker_id)
    return _form(request, session, speaker=speaker, values=_values(session, speaker))


@router.post("/speakers/{speaker_id}/edit", response_class=HTMLResponse, summary="Edit a speaker")
def update_speaker(
    request: Request, session: SessionDep, editor: EditorDep, data: FormDep, speaker_id: int
) -> Response:
    """Save a speaker's name, role or party; refuse a stale version with 409."""
    speaker = speakers.get_speaker(session, speaker_id=speaker_id)
    try:
        catalog.check_version(speaker, form_version(data))  # stale beats invalid
        form, party = _parse(session, data)
        speakers.update_speaker(
            session,
            actor=editor,
            speaker=speaker,
            expected_version=form_version(data),
            party=party,
            name=form.name,
            role=form.role,
        )
    except EditConflict as exc:
        stored = _values(session, speakers.get_speaker(session, speaker_id=speaker_id))
        raise conflict(exc, title="speaker", labels=FIELDS, current=stored, submitted=data, retry_url=f"{LIST_URL}/{speaker_id}/edit") from None  # fmt: skip
    except ValidationFailed as exc:
        return _form(request, session, speaker=speaker, values=data, errors=exc.errors)
    return redirect_after_post(request, LIST_URL)


@router.get(
    "/speakers/{speaker_id}/delete", response_class=HTMLResponse, summary="Delete a speaker"
)
def confirm_speaker_deletion(
    request: Request, session: SessionDep, editor: EditorDep, speaker_id: int
) -> HTMLResponse:
    """Ask before deleting a speaker."""
    return confirm_delete(request, _deletion(speakers.get_speaker(session, speaker_id=speaker_id)))


@router.post(
    "/speakers/{speaker_id}/delete", response_class=HTMLResponse, summary="Delete a speaker"
)
def delete_speaker(
    request: Request, session: SessionDep, editor: EditorDep, speaker_id: int
) -> Response:
    """Delete a speaker no quote is attributed to; otherwise say how many are."""
    speaker = speakers.get_speaker(session, speaker_id=speaker_id)
    try:
        speakers.delete_speaker(session, actor=editor, speaker=speaker)
    except InUse as refused:
        return confirm_delete(request, _deletion(speaker), refused=refused)
    return redirect_after_post(request, LIST_URL)
