"""Managing the lists: speakers and sources (editors); parties, issues and users (admins).

Every form posts back to its own URL: a failed save re-renders it (422, the typed input kept, each
error beside its field; htmx swaps just the form), a stale version answers 409 with the conflict
page, and a success redirects (303, or HX-Redirect for htmx).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import AfterValidator, BaseModel, BeforeValidator, StringConstraints
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError
from starlette.responses import HTMLResponse, Response

from app.db import SessionDep
from app.forms import day_in_range, parse_form, text_field, whole_number
from app.models import Issue, Party, PartyKind, Role, Source, SourceKind, SourceTier, Speaker, User
from app.security import AdminDep, EditorDep
from app.services import catalog, users
from app.services.catalog import EditConflict, InUse
from app.services.errors import ValidationFailed
from app.templating import redirect_after_post, render

router = APIRouter(prefix="/manage", tags=["manage"])

FORM_PAGE = "manage/form_page.html"

# --- Form input ------------------------------------------------------------------------------


async def form_data(request: Request) -> dict[str, str]:
    """The submitted form fields as strings (the CSRF guard has already read and cached them)."""
    form = await request.form()
    return {key: value for key, value in form.multi_items() if isinstance(value, str)}


FormDep = Annotated[dict[str, str], Depends(form_data)]


def _blank_to_none(value: object) -> object:
    return None if isinstance(value, str) and not value.strip() else value


def _whole_number(value: object) -> object:
    if isinstance(value, str):
        number = whole_number(value.strip(), signed=True)
        if number is None:
            raise ValueError("Enter a whole number, e.g. 50.")
        return number
    return value


def _optional_whole_number(value: object) -> object:
    return _whole_number(_blank_to_none(value))


def _text(limit: int, *, required: bool = True, name: bool = False) -> Any:
    """Text of at most `limit` characters, surrounding space removed, no control characters;
    required means non-blank; a name (also a slug, an email, a web address) may not hold
    text-direction controls either."""
    return text_field(limit, required=required, directional=not name)


Text40 = Annotated[str, _text(40, name=True)]
Text60 = Annotated[str, _text(60, name=True)]
Text120 = Annotated[str, _text(120)]
Text200 = Annotated[str, _text(200, name=True)]
Text320 = Annotated[str, _text(320, name=True)]
Text400 = Annotated[str, _text(400)]
Text500 = Annotated[str, _text(500)]
Text2000 = Annotated[str, _text(2000, name=True)]
OptionalText60 = Annotated[str, _text(60, required=False, name=True)]
OptionalText200 = Annotated[str, _text(200, required=False)]
OptionalText5000 = Annotated[str, _text(5000, required=False)]
SortOrder = Annotated[int, BeforeValidator(_whole_number)]
OptionalSortOrder = Annotated[int | None, BeforeValidator(_optional_whole_number)]
OptionalDay = Annotated[date | None, BeforeValidator(_blank_to_none), AfterValidator(day_in_range)]


class PartyForm(BaseModel):
    """Edit a party (the slug is fixed once created)."""

    name: Text200
    short_name: Text40
    kind: PartyKind
    parent: OptionalText60 = ""
    sort_order: SortOrder


class NewPartyForm(PartyForm):
    """Add a party."""

    slug: Text60
    sort_order: OptionalSortOrder = None  # type: ignore[assignment]


class IssueForm(BaseModel):
    """Edit an issue (the slug is fixed once created)."""

    title: Text120
    proposition: Text400
    description: OptionalText5000 = ""
    sort_order: SortOrder


class NewIssueForm(IssueForm):
    """Add an issue."""

    slug: Text60
    sort_order: OptionalSortOrder = None  # type: ignore[assignment]


class SpeakerForm(BaseModel):
    """Add or edit a speaker."""

    name: Text200
    role: OptionalText200 = ""
    party: Text60


class SourceForm(BaseModel):
    """Add or edit a source."""

    url: Text2000
    title: Text500
    outlet: Text200
    published_on: OptionalDay = None
    kind: SourceKind
    tier: SourceTier


class NewUserForm(BaseModel):
    """Add a user (email, name and password are checked by users.create_user)."""

    email: Text320
    display_name: Text200
    role: Role
    password: Annotated[str, StringConstraints(max_length=users.MAX_PASSWORD)] = ""


class UserForm(BaseModel):
    """Change a user's name or role."""

    display_name: Text200
    role: Role


class PasswordForm(BaseModel):
    """Set a new password for a user."""

    password: Annotated[str, StringConstraints(max_length=users.MAX_PASSWORD)] = ""


def _version(data: Mapping[str, str]) -> int:
    """The version the edit form was based on; a missing one counts as stale (-1)."""
    number = whole_number(data.get("version", "").strip())
    return -1 if number is None else number


# --- Choices shown in selects ----------------------------------------------------------------

PARTY_KINDS = [(k.value, k.value.capitalize()) for k in PartyKind]
SOURCE_KINDS = [(k.value, k.value.replace("_", " ").capitalize()) for k in SourceKind]
SOURCE_TIERS = [
    (SourceTier.ON_RECORD.value, "On-record"),
    (SourceTier.OFFICIAL_READOUT.value, "Official readout"),
    (SourceTier.PUBLISHED_DOCUMENT.value, "Published document"),
    (SourceTier.ANONYMOUS_OFFICIAL.value, "Anonymous official"),
    (SourceTier.STATE_MEDIA.value, "State-controlled media"),
    (SourceTier.AGGREGATOR.value, "Aggregator"),
]
ROLES = [(Role.EDITOR.value, "Editor"), (Role.ADMIN.value, "Admin")]
LABELS = {
    "source_kinds": dict(SOURCE_KINDS),
    "source_tiers": dict(SOURCE_TIERS),
    "party_kinds": dict(PARTY_KINDS),
}


# --- Shared responses ------------------------------------------------------------------------


def _form_page(
    request: Request,
    *,
    fragment: str,
    heading: str,
    back: tuple[str, str],
    context: dict[str, Any],
    status_code: int = 200,
) -> HTMLResponse:
    """A form page (or, for htmx, just its form) with the values and errors in `context`."""
    return render(
        request,
        FORM_PAGE,
        {
            "form_template": fragment,
            "heading": heading,
            "back_url": back[0],
            "back_label": back[1],
            "errors": {},
            **context,
        },
        fragment=fragment,
        status_code=status_code,
    )


def _conflict(
    request: Request,
    *,
    title: str,
    labels: list[tuple[str, str]],
    current: Mapping[str, object],
    submitted: Mapping[str, str],
    retry_url: str,
) -> HTMLResponse:
    """409: the record changed since the form was opened; show both versions, save nothing."""
    response = render(
        request,
        "conflict.html",
        {
            "title": title,
            "current": [
                (label, "" if current.get(k) is None else current[k]) for k, label in labels
            ],
            "submitted": [(label, submitted.get(k, "")) for k, label in labels],
            "retry_url": retry_url,
        },
        status_code=409,
    )
    if request.headers.get("HX-Request") == "true":
        # htmx swaps 4xx answers: put the conflict page's content in place of the page's content.
        response.headers["HX-Retarget"] = "#content"
        response.headers["HX-Reswap"] = "outerHTML"
        response.headers["HX-Reselect"] = "#content"
    return response


def _attempt(
    db: Session,
    change: Callable[[], object],
    *,
    invalid: Callable[[dict[str, str]], Response],
    stale: Callable[[], Response],
    done: Callable[[], Response],
) -> Response:
    """Run a change; map rule violations to the re-rendered form and stale versions to 409."""
    try:
        change()
    except ValidationFailed as exc:
        return invalid(exc.errors)
    except EditConflict:
        return stale()
    except StaleDataError:
        # Someone saved between our version check and our write: undo ours, then report it.
        db.rollback()
        return stale()
    return done()


def _confirm_delete(
    request: Request,
    *,
    what: str,
    action: str,
    back: str,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """The confirmation page for a deletion (or, refused, the same with the reason)."""
    return render(
        request,
        "manage/confirm_delete.html",
        {"what": what, "action": action, "back_url": back, "error": error},
        fragment="manage/_confirm_delete.html",
        status_code=status_code,
    )


def _delete(
    request: Request, *, what: str, action: str, back: str, remove: Callable[[], None]
) -> Response:
    try:
        remove()
    except InUse as exc:
        return _confirm_delete(
            request, what=what, action=action, back=back, error=exc.message, status_code=409
        )
    return redirect_after_post(request, back)


def _direction(data: Mapping[str, str]) -> str:
    return "up" if data.get("direction") == "up" else "down"


# --- Index -----------------------------------------------------------------------------------


@router.get("", response_class=HTMLResponse, summary="Manage the lists")
def manage_index(request: Request, user: EditorDep) -> HTMLResponse:
    """Links to the lists this user may manage."""
    return render(request, "manage/index.html", {"is_admin": user.role == Role.ADMIN})


# --- Parties (admins) ------------------------------------------------------------------------

PARTY_LABELS = [
    ("name", "Name"),
    ("short_name", "Short name"),
    ("kind", "Kind"),
    ("parent", "Bloc"),
    ("sort_order", "Sort order"),
]


def _party_values(party: Party, db: Session) -> dict[str, str]:
    parent = db.get(Party, party.parent_id) if party.parent_id else None
    return {
        "name": party.name,
        "short_name": party.short_name,
        "kind": party.kind.value,
        "parent": parent.slug if parent else "",
        "sort_order": str(party.sort_order),
        "version": str(party.version),
    }


def _bloc_options(db: Session, *, chosen: str, exclude: Party | None) -> list[tuple[str, str]]:
    options = [(p.slug, p.name) for p in catalog.bloc_parties(db) if p is not exclude]
    if chosen and chosen not in {slug for slug, _ in options}:
        # Keep what was submitted visible even when it is not a bloc (the error explains why).
        other = catalog.find_party(db, slug=chosen)
        options.append((chosen, f"{other.name} (not a bloc)" if other else chosen))
    return options


def _resolve_parent(db: Session, slug: str) -> tuple[Party | None, str | None]:
    slug = slug.strip()
    if not slug:
        return None, None
    parent = catalog.find_party(db, slug=slug)
    if parent is None:
        return None, "Choose a bloc from the list."
    return parent, None


def _party_form(
    request: Request,
    db: Session,
    *,
    party: Party | None,
    values: Mapping[str, str],
    errors: Mapping[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    action = f"/manage/parties/{party.slug}/edit" if party else "/manage/parties/new"
    return _form_page(
        request,
        fragment="manage/_party_form.html",
        heading=f"Edit {party.name}" if party else "Add a party",
        back=("/manage/parties", "Parties"),
        context={
            "party": party,
            "action": action,
            "values": values,
            "errors": errors or {},
            "kinds": PARTY_KINDS,
            "blocs": _bloc_options(db, chosen=values.get("parent", ""), exclude=party),
        },
        status_code=status_code,
    )


@router.get("/parties", response_class=HTMLResponse, summary="Parties")
def parties_list(request: Request, db: SessionDep, user: AdminDep) -> HTMLResponse:
    """Every party in matrix order, with edit, delete and move controls."""
    parties = catalog.list_parties(db)
    return render(
        request,
        "manage/parties.html",
        {"parties": parties, "names": {p.id: p.name for p in parties}, "labels": LABELS},
    )


@router.get("/parties/new", response_class=HTMLResponse, summary="Add a party")
def party_new_form(request: Request, db: SessionDep, user: AdminDep) -> HTMLResponse:
    """The empty add-party form."""
    values = {"kind": PartyKind.STATE.value, "sort_order": str(catalog.next_sort_order(db, Party))}
    return _party_form(request, db, party=None, values=values)


@router.post("/parties/new", response_class=HTMLResponse, summary="Add a party")
def party_create(request: Request, db: SessionDep, user: AdminDep, data: FormDep) -> Response:
    """Add a party, or show the form again with what is wrong."""
    form, errors = parse_form(NewPartyForm, data)
    parent, problem = _resolve_parent(db, data.get("parent", ""))
    if problem:
        errors.setdefault("parent", problem)

    def invalid(found: dict[str, str]) -> Response:
        return _party_form(request, db, party=None, values=data, errors=found, status_code=422)

    if form is None or errors:
        return invalid(errors)
    return _attempt(
        db,
        lambda: catalog.add_party(
            db,
            actor=user,
            slug=form.slug,
            name=form.name,
            short_name=form.short_name,
            kind=form.kind,
            parent=parent,
            sort_order=form.sort_order,
        ),
        invalid=invalid,
        stale=lambda: invalid({"form": "Please try again."}),
        done=lambda: redirect_after_post(request, "/manage/parties"),
    )


@router.get("/parties/{slug}/edit", response_class=HTMLResponse, summary="Edit a party")
def party_edit_form(request: Request, db: SessionDep, user: AdminDep, slug: str) -> HTMLResponse:
    """The edit form, filled with the stored party."""
    party = catalog.get_party(db, slug=slug)
    return _party_form(request, db, party=party, values=_party_values(party, db))


@router.post("/parties/{slug}/edit", response_class=HTMLResponse, summary="Edit a party")
def party_update(
    request: Request, db: SessionDep, user: AdminDep, data: FormDep, slug: str
) -> Response:
    """Save a party's name, kind, bloc or order; refuse a stale version with 409."""
    party = catalog.get_party(db, slug=slug)
    form, errors = parse_form(PartyForm, data)
    parent, problem = _resolve_parent(db, data.get("parent", ""))
    if problem:
        errors.setdefault("parent", problem)

    def invalid(found: dict[str, str]) -> Response:
        return _party_form(request, db, party=party, values=data, errors=found, status_code=422)

    def stale() -> Response:
        fresh = catalog.get_party(db, slug=slug)
        return _conflict(
            request,
            title="party",
            labels=PARTY_LABELS,
            current=_party_values(fresh, db),
            submitted=data,
            retry_url=f"/manage/parties/{slug}/edit",
        )

    if _version(data) != party.version:
        return stale()
    if form is None or errors:
        return invalid(errors)
    return _attempt(
        db,
        lambda: catalog.update_party(
            db,
            actor=user,
            party=party,
            expected_version=_version(data),
            name=form.name,
            short_name=form.short_name,
            kind=form.kind,
            parent=parent,
            sort_order=form.sort_order,
        ),
        invalid=invalid,
        stale=stale,
        done=lambda: redirect_after_post(request, "/manage/parties"),
    )


@router.post("/parties/{slug}/move", summary="Move a party up or down")
def party_move(
    request: Request, db: SessionDep, user: AdminDep, data: FormDep, slug: str
) -> Response:
    """Swap a party with its neighbour (same bloc, or top level)."""
    party = catalog.get_party(db, slug=slug)
    catalog.move_party(db, actor=user, party=party, direction=_direction(data))
    return redirect_after_post(request, f"/manage/parties#party-{slug}")


@router.get("/parties/{slug}/delete", response_class=HTMLResponse, summary="Delete a party")
def party_delete_form(request: Request, db: SessionDep, user: AdminDep, slug: str) -> HTMLResponse:
    """Ask before deleting a party."""
    party = catalog.get_party(db, slug=slug)
    return _confirm_delete(
        request,
        what=f"the party {party.name} ({party.slug})",
        action=f"/manage/parties/{slug}/delete",
        back="/manage/parties",
    )


@router.post("/parties/{slug}/delete", response_class=HTMLResponse, summary="Delete a party")
def party_delete(request: Request, db: SessionDep, user: AdminDep, slug: str) -> Response:
    """Delete a party nothing uses; otherwise say what uses it."""
    party = catalog.get_party(db, slug=slug)
    return _delete(
        request,
        what=f"the party {party.name} ({party.slug})",
        action=f"/manage/parties/{slug}/delete",
        back="/manage/parties",
        remove=lambda: catalog.delete_party(db, actor=user, party=party),
    )


# --- Issues (admins) -------------------------------------------------------------------------

ISSUE_LABELS = [
    ("title", "Title"),
    ("proposition", "Proposition"),
    ("description", "Description"),
    ("sort_order", "Sort order"),
]


def _issue_values(issue: Issue) -> dict[str, str]:
    return {
        "title": issue.title,
        "proposition": issue.proposition,
        "description": issue.description,
        "sort_order": str(issue.sort_order),
        "version": str(issue.version),
    }


def _issue_form(
    request: Request,
    *,
    issue: Issue | None,
    values: Mapping[str, str],
    errors: Mapping[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return _form_page(
        request,
        fragment="manage/_issue_form.html",
        heading=f"Edit {issue.title}" if issue else "Add an issue",
        back=("/manage/issues", "Issues"),
        context={
            "issue": issue,
            "action": f"/manage/issues/{issue.slug}/edit" if issue else "/manage/issues/new",
            "values": values,
            "errors": errors or {},
        },
        status_code=status_code,
    )


@router.get("/issues", response_class=HTMLResponse, summary="Issues")
def issues_list(request: Request, db: SessionDep, user: AdminDep) -> HTMLResponse:
    """Every issue in matrix column order."""
    return render(request, "manage/issues.html", {"issues": catalog.list_issues(db)})


@router.get("/issues/new", response_class=HTMLResponse, summary="Add an issue")
def issue_new_form(request: Request, db: SessionDep, user: AdminDep) -> HTMLResponse:
    """The empty add-issue form."""
    values = {"sort_order": str(catalog.next_sort_order(db, Issue))}
    return _issue_form(request, issue=None, values=values)


@router.post("/issues/new", response_class=HTMLResponse, summary="Add an issue")
def issue_create(request: Request, db: SessionDep, user: AdminDep, data: FormDep) -> Response:
    """Add an issue, or show the form again with what is wrong."""
    form, errors = parse_form(NewIssueForm, data)

    def invalid(found: dict[str, str]) -> Response:
        return _issue_form(request, issue=None, values=data, errors=found, status_code=422)

    if form is None:
        return invalid(errors)
    return _attempt(
        db,
        lambda: catalog.add_issue(
            db,
            actor=user,
            slug=form.slug,
            title=form.title,
            proposition=form.proposition,
            description=form.description,
            sort_order=form.sort_order,
        ),
        invalid=invalid,
        stale=lambda: invalid({"form": "Please try again."}),
        done=lambda: redirect_after_post(request, "/manage/issues"),
    )


@router.get("/issues/{slug}/edit", response_class=HTMLResponse, summary="Edit an issue")
def issue_edit_form(request: Request, db: SessionDep, user: AdminDep, slug: str) -> HTMLResponse:
    """The edit form, filled with the stored issue."""
    issue = catalog.get_issue(db, slug=slug)
    return _issue_form(request, issue=issue, values=_issue_values(issue))


@router.post("/issues/{slug}/edit", response_class=HTMLResponse, summary="Edit an issue")
def issue_update(
    request: Request, db: SessionDep, user: AdminDep, data: FormDep, slug: str
) -> Response:
    """Save an issue's title, proposition, description or order; refuse a stale version with 409."""
    issue = catalog.get_issue(db, slug=slug)
    form, errors = parse_form(IssueForm, data)

    def invalid(found: dict[str, str]) -> Response:
        return _issue_form(request, issue=issue, values=data, errors=found, status_code=422)

    def stale() -> Response:
        return _conflict(
            request,
            title="issue",
            labels=ISSUE_LABELS,
            current=_issue_values(catalog.get_issue(db, slug=slug)),
            submitted=data,
            retry_url=f"/manage/issues/{slug}/edit",
        )

    if _version(data) != issue.version:
        return stale()
    if form is None:
        return invalid(errors)
    return _attempt(
        db,
        lambda: catalog.update_issue(
            db,
            actor=user,
            issue=issue,
            expected_version=_version(data),
            title=form.title,
            proposition=form.proposition,
            description=form.description,
            sort_order=form.sort_order,
        ),
        invalid=invalid,
        stale=stale,
        done=lambda: redirect_after_post(request, "/manage/issues"),
    )


@router.post("/issues/{slug}/move", summary="Move an issue left or right")
def issue_move(
    request: Request, db: SessionDep, user: AdminDep, data: FormDep, slug: str
) -> Response:
    """Swap an issue with its neighbour in the matrix's column order."""
    issue = catalog.get_issue(db, slug=slug)
    catalog.move_issue(db, actor=user, issue=issue, direction=_direction(data))
    return redirect_after_post(request, f"/manage/issues#issue-{slug}")


@router.get("/issues/{slug}/delete", response_class=HTMLResponse, summary="Delete an issue")
def issue_delete_form(request: Request, db: SessionDep, user: AdminDep, slug: str) -> HTMLResponse:
    """Ask before deleting an issue."""
    issue = catalog.get_issue(db, slug=slug)
    return _confirm_delete(
        request,
        what=f"the issue {issue.title} ({issue.slug})",
        action=f"/manage/issues/{slug}/delete",
        back="/manage/issues",
    )


@router.post("/issues/{slug}/delete", response_class=HTMLResponse, summary="Delete an issue")
def issue_delete(request: Request, db: SessionDep, user: AdminDep, slug: str) -> Response:
    """Delete an issue nothing uses; otherwise say what uses it."""
    issue = catalog.get_issue(db, slug=slug)
    return _delete(
        request,
        what=f"the issue {issue.title} ({issue.slug})",
        action=f"/manage/issues/{slug}/delete",
        back="/manage/issues",
        remove=lambda: catalog.delete_issue(db, actor=user, issue=issue),
    )


# --- Speakers (editors) ----------------------------------------------------------------------

SPEAKER_LABELS = [("name", "Name"), ("role", "Role"), ("party", "Party")]


def _speaker_values(db: Session, speaker: Speaker) -> dict[str, str]:
    party = db.get(Party, speaker.party_id)
    return {
        "name": speaker.name,
        "role": speaker.role,
        "party": party.slug if party else "",
        "version": str(speaker.version),
    }


def _speaker_form(
    request: Request,
    db: Session,
    *,
    speaker: Speaker | None,
    values: Mapping[str, str],
    errors: Mapping[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return _form_page(
        request,
        fragment="manage/_speaker_form.html",
        heading=f"Edit {speaker.name}" if speaker else "Add a speaker",
        back=("/manage/speakers", "Speakers"),
        context={
            "speaker": speaker,
            "action": f"/manage/speakers/{speaker.id}/edit" if speaker else "/manage/speakers/new",
            "values": values,
            "errors": errors or {},
            "parties": [(p.slug, p.name) for p in catalog.list_parties(db)],
        },
        status_code=status_code,
    )


def _resolve_party(db: Session, slug: str, errors: dict[str, str]) -> Party | None:
    party = catalog.find_party(db, slug=slug.strip()) if slug.strip() else None
    if party is None and "party" not in errors:
        errors["party"] = "Choose a party from the list."
    return party


@router.get("/speakers", response_class=HTMLResponse, summary="Speakers")
def speakers_list(request: Request, db: SessionDep, user: EditorDep) -> HTMLResponse:
    """Every speaker with their party."""
    return render(request, "manage/speakers.html", {"speakers": catalog.list_speakers(db)})


@router.get("/speakers/new", response_class=HTMLResponse, summary="Add a speaker")
def speaker_new_form(request: Request, db: SessionDep, user: EditorDep) -> HTMLResponse:
    """The empty add-speaker form."""
    return _speaker_form(request, db, speaker=None, values={})


@router.post("/speakers/new", response_class=HTMLResponse, summary="Add a speaker")
def speaker_create(request: Request, db: SessionDep, user: EditorDep, data: FormDep) -> Response:
    """Add a speaker, or show the form again with what is wrong."""
    form, errors = parse_form(SpeakerForm, data)
    party = _resolve_party(db, data.get("party", ""), errors)

    def invalid(found: dict[str, str]) -> Response:
        return _speaker_form(request, db, speaker=None, values=data, errors=found, status_code=422)

    if form is None or party is None or errors:
        return invalid(errors)
    return _attempt(
        db,
        lambda: catalog.add_speaker(db, actor=user, party=party, name=form.name, role=form.role),
        invalid=invalid,
        stale=lambda: invalid({"form": "Please try again."}),
        done=lambda: redirect_after_post(request, "/manage/speakers"),
    )


@router.get("/speakers/{speaker_id}/edit", response_class=HTMLResponse, summary="Edit a speaker")
def speaker_edit_form(
    request: Request, db: SessionDep, user: EditorDep, speaker_id: int
) -> HTMLResponse:
    """The edit form, filled with the stored speaker."""
    speaker = catalog.get_speaker(db, speaker_id=speaker_id)
    return _speaker_form(request, db, speaker=speaker, values=_speaker_values(db, speaker))


@router.post("/speakers/{speaker_id}/edit", response_class=HTMLResponse, summary="Edit a speaker")
def speaker_update(
    request: Request, db: SessionDep, user: EditorDep, data: FormDep, speaker_id: int
) -> Response:
    """Save a speaker's name, role or party; refuse a stale version with 409."""
    speaker = catalog.get_speaker(db, speaker_id=speaker_id)
    form, errors = parse_form(SpeakerForm, data)
    party = _resolve_party(db, data.get("party", ""), errors)

    def invalid(found: dict[str, str]) -> Response:
        return _speaker_form(
            request, db, speaker=speaker, values=data, errors=found, status_code=422
        )

    def stale() -> Response:
        return _conflict(
            request,
            title="speaker",
            labels=SPEAKER_LABELS,
            current=_speaker_values(db, catalog.get_speaker(db, speaker_id=speaker_id)),
            submitted=data,
            retry_url=f"/manage/speakers/{speaker_id}/edit",
        )

    if _version(data) != speaker.version:
        return stale()
    if form is None or party is None or errors:
        return invalid(errors)
    return _attempt(
        db,
        lambda: catalog.update_speaker(
            db,
            actor=user,
            speaker=speaker,
            expected_version=_version(data),
            party=party,
            name=form.name,
            role=form.role,
        ),
        invalid=invalid,
        stale=stale,
        done=lambda: redirect_after_post(request, "/manage/speakers"),
    )


@router.get(
    "/speakers/{speaker_id}/delete", response_class=HTMLResponse, summary="Delete a speaker"
)
def speaker_delete_form(
    request: Request, db: SessionDep, user: EditorDep, speaker_id: int
) -> HTMLResponse:
    """Ask before deleting a speaker."""
    speaker = catalog.get_speaker(db, speaker_id=speaker_id)
    return _confirm_delete(
        request,
        what=f"the speaker {speaker.name} ({speaker.party.name})",
        action=f"/manage/speakers/{speaker_id}/delete",
        back="/manage/speakers",
    )


@router.post(
    "/speakers/{speaker_id}/delete", response_class=HTMLResponse, summary="Delete a speaker"
)
def speaker_delete(request: Request, db: SessionDep, user: EditorDep, speaker_id: int) -> Response:
    """Delete a speaker no quote is attributed to; otherwise say how many are."""
    speaker = catalog.get_speaker(db, speaker_id=speaker_id)
    return _delete(
        request,
        what=f"the speaker {speaker.name} ({speaker.party.name})",
        action=f"/manage/speakers/{speaker_id}/delete",
        back="/manage/speakers",
        remove=lambda: catalog.delete_speaker(db, actor=user, speaker=speaker),
    )


# --- Sources (editors) -----------------------------------------------------------------------

SOURCE_LABELS = [
    ("url", "URL"),
    ("title", "Title"),
    ("outlet", "Outlet"),
    ("published_on", "Published on"),
    ("kind", "Source kind"),
    ("tier", "Source tier"),
]


def _source_values(source: Source) -> dict[str, str]:
    return {
        "url": source.url,
        "title": source.title,
        "outlet": source.outlet,
        "published_on": source.published_on.isoformat() if source.published_on else "",
        "kind": source.kind.value,
        "tier": source.tier.value,
        "version": str(source.version),
    }


def _source_form(
    request: Request,
    *,
    source: Source | None,
    values: Mapping[str, str],
    errors: Mapping[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return _form_page(
        request,
        fragment="manage/_source_form.html",
        heading=f"Edit {source.title}" if source else "Add a source",
        back=("/manage/sources", "Sources"),
        context={
            "source": source,
            "action": f"/manage/sources/{source.id}/edit" if source else "/manage/sources/new",
            "values": values,
            "errors": errors or {},
            "source_kinds": SOURCE_KINDS,
            "source_tiers": SOURCE_TIERS,
        },
        status_code=status_code,
    )


@router.get("/sources", response_class=HTMLResponse, summary="Sources")
def sources_list(request: Request, db: SessionDep, user: EditorDep) -> HTMLResponse:
    """Every source, newest first."""
    return render(
        request, "manage/sources.html", {"sources": catalog.list_sources(db), "labels": LABELS}
    )


@router.get("/sources/new", response_class=HTMLResponse, summary="Add a source")
def source_new_form(request: Request, user: EditorDep) -> HTMLResponse:
    """The empty add-source form."""
    values = {"kind": SourceKind.NEWS_REPORT.value, "tier": SourceTier.ON_RECORD.value}
    return _source_form(request, source=None, values=values)


@router.post("/sources/new", response_class=HTMLResponse, summary="Add a source")
def source_create(request: Request, db: SessionDep, user: EditorDep, data: FormDep) -> Response:
    """Add a source, or show the form again with what is wrong."""
    form, errors = parse_form(SourceForm, data)

    def invalid(found: dict[str, str]) -> Response:
        return _source_form(request, source=None, values=data, errors=found, status_code=422)

    if form is None:
        return invalid(errors)
    return _attempt(
        db,
        lambda: catalog.add_source(
            db,
            actor=user,
            url=form.url,
            title=form.title,
            outlet=form.outlet,
            published_on=form.published_on,
            kind=form.kind,
            tier=form.tier,
        ),
        invalid=invalid,
        stale=lambda: invalid({"form": "Please try again."}),
        done=lambda: redirect_after_post(request, "/manage/sources"),
    )


@router.get("/sources/{source_id}/edit", response_class=HTMLResponse, summary="Edit a source")
def source_edit_form(
    request: Request, db: SessionDep, user: EditorDep, source_id: int
) -> HTMLResponse:
    """The edit form, filled with the stored source."""
    source = catalog.get_source(db, source_id=source_id)
    return _source_form(request, source=source, values=_source_values(source))


@router.post("/sources/{source_id}/edit", response_class=HTMLResponse, summary="Edit a source")
def source_update(
    request: Request, db: SessionDep, user: EditorDep, data: FormDep, source_id: int
) -> Response:
    """Save a source; refuse a stale version with 409."""
    source = catalog.get_source(db, source_id=source_id)
    form, errors = parse_form(SourceForm, data)

    def invalid(found: dict[str, str]) -> Response:
        return _source_form(request, source=source, values=data, errors=found, status_code=422)

    def stale() -> Response:
        return _conflict(
            request,
            title="source",
            labels=SOURCE_LABELS,
            current=_source_values(catalog.get_source(db, source_id=source_id)),
            submitted=data,
            retry_url=f"/manage/sources/{source_id}/edit",
        )

    if _version(data) != source.version:
        return stale()
    if form is None:
        return invalid(errors)
    return _attempt(
        db,
        lambda: catalog.update_source(
            db,
            actor=user,
            source=source,
            expected_version=_version(data),
            url=form.url,
            title=form.title,
            outlet=form.outlet,
            published_on=form.published_on,
            kind=form.kind,
            tier=form.tier,
        ),
        invalid=invalid,
        stale=stale,
        done=lambda: redirect_after_post(request, "/manage/sources"),
    )


@router.get("/sources/{source_id}/delete", response_class=HTMLResponse, summary="Delete a source")
def source_delete_form(
    request: Request, db: SessionDep, user: EditorDep, source_id: int
) -> HTMLResponse:
    """Ask before deleting a source."""
    source = catalog.get_source(db, source_id=source_id)
    return _confirm_delete(
        request,
        what=f"the source '{source.title}' ({source.outlet})",
        action=f"/manage/sources/{source_id}/delete",
        back="/manage/sources",
    )


@router.post("/sources/{source_id}/delete", response_class=HTMLResponse, summary="Delete a source")
def source_delete(request: Request, db: SessionDep, user: EditorDep, source_id: int) -> Response:
    """Delete a source no quote cites; otherwise say how many do."""
    source = catalog.get_source(db, source_id=source_id)
    return _delete(
        request,
        what=f"the source '{source.title}' ({source.outlet})",
        action=f"/manage/sources/{source_id}/delete",
        back="/manage/sources",
        remove=lambda: catalog.delete_source(db, actor=user, source=source),
    )


# --- Users (admins) --------------------------------------------------------------------------

USER_LABELS = [("display_name", "Display name"), ("role", "Role")]


def _user_values(user: User) -> dict[str, str]:
    return {
        "display_name": user.display_name,
        "role": user.role.value,
        "version": str(user.version),
    }


def _users_page(
    request: Request,
    db: Session,
    *,
    me: User,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "manage/users.html",
        {"users": users.list_users(db), "me": me, "error": error},
        status_code=status_code,
    )


def _user_new_form(
    request: Request,
    *,
    values: Mapping[str, str],
    errors: Mapping[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    safe_values = {k: v for k, v in values.items() if k != "password"}  # never echo a password
    return _form_page(
        request,
        fragment="manage/_user_new_form.html",
        heading="Add a user",
        back=("/manage/users", "Users"),
        context={
            "action": "/manage/users/new",
            "values": safe_values,
            "errors": errors or {},
            "roles": ROLES,
            "min_password": users.MIN_PASSWORD,
        },
        status_code=status_code,
    )


def _user_edit_page(
    request: Request,
    *,
    target: User,
    me: User,
    values: Mapping[str, str],
    errors: Mapping[str, str] | None = None,
    password_errors: Mapping[str, str] | None = None,
    fragment: str = "manage/_user_form.html",
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "manage/user_edit.html",
        {
            "target": target,
            "me": me,
            "action": f"/manage/users/{target.id}/edit",
            "password_action": f"/manage/users/{target.id}/password",
            "values": values,
            "errors": errors or {},
            "password_errors": password_errors or {},
            "roles": ROLES,
            "min_password": users.MIN_PASSWORD,
        },
        fragment=fragment,
        status_code=status_code,
    )


@router.get("/users", response_class=HTMLResponse, summary="Users")
def users_list(request: Request, db: SessionDep, user: AdminDep) -> HTMLResponse:
    """Every user: email, name, role and whether they can log in."""
    return _users_page(request, db, me=user)


@router.get("/users/new", response_class=HTMLResponse, summary="Add a user")
def user_new_form(request: Request, user: AdminDep) -> HTMLResponse:
    """The empty add-user form."""
    return _user_new_form(request, values={"role": Role.EDITOR.value})


@router.post("/users/new", response_class=HTMLResponse, summary="Add a user")
def user_create(request: Request, db: SessionDep, user: AdminDep, data: FormDep) -> Response:
    """Add a user (password rules of users.create_user), or show the form again."""
    form, errors = parse_form(NewUserForm, data)

    def invalid(found: dict[str, str]) -> Response:
        return _user_new_form(request, values=data, errors=found, status_code=422)

    if form is None:
        return invalid(errors)
    return _attempt(
        db,
        lambda: users.create_user(
            db,
            actor=user,
            email=form.email,
            display_name=form.display_name,
            role=form.role,
            password=form.password,
        ),
        invalid=invalid,
        stale=lambda: invalid({"form": "Please try again."}),
        done=lambda: redirect_after_post(request, "/manage/users"),
    )


@router.get("/users/{user_id}/edit", response_class=HTMLResponse, summary="Edit a user")
def user_edit_form(request: Request, db: SessionDep, user: AdminDep, user_id: int) -> HTMLResponse:
    """A user's name and role, and a new password."""
    target = users.get_user(db, user_id=user_id)
    return _user_edit_page(request, target=target, me=user, values=_user_values(target))


@router.post("/users/{user_id}/edit", response_class=HTMLResponse, summary="Edit a user")
def user_update(
    request: Request, db: SessionDep, user: AdminDep, data: FormDep, user_id: int
) -> Response:
    """Save a user's name or role; refuse a stale version with 409."""
    target = users.get_user(db, user_id=user_id)
    form, errors = parse_form(UserForm, data)

    def invalid(found: dict[str, str]) -> Response:
        return _user_edit_page(
            request, target=target, me=user, values=data, errors=found, status_code=422
        )

    def stale() -> Response:
        return _conflict(
            request,
            title="user",
            labels=USER_LABELS,
            current=_user_values(users.get_user(db, user_id=user_id)),
            submitted=data,
            retry_url=f"/manage/users/{user_id}/edit",
        )

    if _version(data) != target.version:
        return stale()
    if form is None:
        return invalid(errors)
    return _attempt(
        db,
        lambda: users.update_user(
            db,
            actor=user,
            user=target,
            expected_version=_version(data),
            display_name=form.display_name,
            role=form.role,
        ),
        invalid=invalid,
        stale=stale,
        done=lambda: redirect_after_post(request, "/manage/users"),
    )


@router.post("/users/{user_id}/password", response_class=HTMLResponse, summary="Reset a password")
def user_password(
    request: Request, db: SessionDep, user: AdminDep, data: FormDep, user_id: int
) -> Response:
    """Set a new password for a user (their sessions end)."""
    target = users.get_user(db, user_id=user_id)
    form, errors = parse_form(PasswordForm, data)

    def invalid(found: dict[str, str]) -> Response:
        return _user_edit_page(
            request,
            target=target,
            me=user,
            values=_user_values(target),
            password_errors=found,
            fragment="manage/_password_form.html",
            status_code=422,
        )

    if form is None:
        return invalid(errors)
    return _attempt(
        db,
        lambda: users.reset_password(db, actor=user, user=target, password=form.password),
        invalid=invalid,
        stale=lambda: invalid({"form": "Please try again."}),
        done=lambda: redirect_after_post(request, "/manage/users"),
    )


@router.post("/users/{user_id}/active", response_class=HTMLResponse, summary="Enable or disable")
def user_active(
    request: Request, db: SessionDep, user: AdminDep, data: FormDep, user_id: int
) -> Response:
    """Enable or disable a user; disabling ends their sessions. Admins cannot disable themselves."""
    target = users.get_user(db, user_id=user_id)
    active = data.get("active") == "true"
    try:
        users.change_active(db, actor=user, user=target, active=active)
    except ValidationFailed as exc:
        return _users_page(request, db, me=user, error=exc.errors.get("active"), status_code=422)
    return redirect_after_post(request, "/manage/users")
