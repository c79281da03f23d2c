"""Editor pages: add, edit, delete and retract quotes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from sqlalchemy.orm import Session
from starlette.responses import HTMLResponse, Response

from app.db import SessionDep
from app.forms import (
    MAX_TAGS,
    QUOTE_FIELD_LABELS,
    QUOTE_KIND_LABELS,
    QUOTE_STATUS_LABELS,
    SOURCE_KIND_LABELS,
    SOURCE_TIER_LABELS,
    FormDep,
    QuoteInput,
    TagInput,
    form_version,
    options,
    parse_day_leniently,
    tag_numbers,
    whole_number,
)
from app.models import Quote, QuoteKind, Speaker, Stance
from app.security import EditorDep, Flash, remember_choices, remembered_choices
from app.services import catalog, quote_lookups, quotes, rounds, source_meta
from app.services.errors import EditConflict, PageNotFetched, QuoteIsCited, ValidationFailed
from app.templating import format_day, redirect_after_post, render, stance_label

router = APIRouter(tags=["editor"])

FORM_PAGE = "quotes/form.html"
FORM_FRAGMENT = "quotes/_form.html"
BLANK_PAIRS = 3


def _pair_numbers(values: Mapping[str, str]) -> list[int]:
    present = tag_numbers(values)
    return sorted(set(present) | set(range(1, BLANK_PAIRS + 1)))


def _form_context(
    session: Session,
    *,
    mode: str,
    values: Mapping[str, str],
    errors: Mapping[str, str],
    quote: Quote | None = None,
    source_note: str = "",
) -> dict[str, Any]:
    pairs = _pair_numbers(values)
    confirms = values.get("confirms_or_denies", "")
    asked = errors.get("new_speaker_name", "").startswith("Did you mean")
    party = catalog.find_party(session, slug=values.get("party", "")) if asked else None
    near = errors.get("text", "").startswith("A quote like this")
    return {
        "near_quotes": quote_lookups.near_duplicates(session, values, quote=quote) if near else [],
        "speaker_suggestions": (
            quote_lookups.speaker_suggestions(session, values, party=party) if asked else []
        ),
        "mode": mode,
        "quote": quote,
        "action": "/quotes/new" if quote is None else f"/quotes/{quote.id}/edit",
        "values": values,
        "errors": errors,
        "source_note": source_note,
        "pairs": pairs,
        "next_n": max(pairs) + 1,
        "max_pairs": MAX_TAGS,
        "field_labels": QUOTE_FIELD_LABELS,
        "party_options": [(p.slug, p.name) for p in catalog.list_parties(session)],
        "issue_options": [(i.slug, i.title) for i in catalog.list_issues(session)],
        "stance_options": [(s.value, stance_label(s)) for s in Stance],
        "kind_options": options(QUOTE_KIND_LABELS),
        "status_options": options(QUOTE_STATUS_LABELS),
        "source_kind_options": options(SOURCE_KIND_LABELS),
        "source_tier_options": options(SOURCE_TIER_LABELS),
        "speaker_options": quote_lookups.speaker_choices(session),
        "round_options": rounds.round_choices(session),
        "quote_options": quote_lookups.quote_choices(
            session,
            include_id=whole_number(confirms.strip(), digits=11),
            exclude_id=quote.id if quote else None,
        ),
    }


def _render_form(
    request: Request,
    session: Session,
    *,
    mode: str,
    values: Mapping[str, str],
    errors: Mapping[str, str] | None = None,
    quote: Quote | None = None,
    status_code: int = 200,
    source_note: str = "",
) -> HTMLResponse:
    context = _form_context(
        session, mode=mode, values=values, errors=errors or {}, quote=quote, source_note=source_note
    )
    return render(request, FORM_PAGE, context, fragment=FORM_FRAGMENT, status_code=status_code)


def stored_values(quote: Quote) -> dict[str, str]:
    """A stored quote as the edit form's field values."""
    values = {
        "text": quote.text,
        "kind": quote.kind.value,
        "said_on": quote.said_on.isoformat(),
        "published_on": quote.published_on.isoformat() if quote.published_on else "",
        "party": quote.party.slug,
        "speaker_id": str(quote.speaker_id or ""),
        "source_url": quote.source.url,
        "language": quote.language,
        "status": quote.status.value,
        "confirms_or_denies": str(quote.confirms_or_denies_id or ""),
        "note": quote.note,
        "round": quote.round.slug if quote.round else "",
        "version": str(quote.version),
    }
    if quote.is_translation:
        values["is_translation"] = "on"
    for n, tag in enumerate(quote.issue_tags, start=1):
        values[f"issue_{n}"] = tag.issue.slug
        values[f"stance_{n}"] = tag.stance.value
    return values


FILL = "fill"
"""The value of the "Fill from URL" button (name="action"): fill the source fields, save nothing."""


def _fill_source(
    request: Request,
    session: Session,
    *,
    mode: str,
    values: Mapping[str, str],
    quote: Quote | None = None,
) -> HTMLResponse:
    """ "Fill from URL": the form again, everything typed kept, the new-source fields filled from
    the page's metadata (or its known source named); 422 with the reason beside the URL."""
    url = (values.get("source_url") or "").strip()
    try:
        if not url:
            raise PageNotFetched("Enter the source's web address first.")
        fill = source_meta.known_fill(session, url=url)
        if fill is None:
            # Nothing is written here: end the transaction before a fetch of up to 5 seconds,
            # so that it holds no lock (SQLite's write lock) and no open transaction meanwhile.
            session.commit()
            fill = source_meta.fill_from_page(session, url=url)
    except PageNotFetched as exc:
        errors = {"source_url": exc.message}
        return _render_form(
            request, session, mode=mode, values=values, errors=errors, quote=quote, status_code=422
        )
    filled = {**values, **fill.form_values("source_")}
    published = (
        fill.known.published_on.isoformat() if fill.known and fill.known.published_on else ""
    )
    if not (values.get("said_on") or "").strip():  # most quotes were said the day they ran
        filled["said_on"] = fill.values.get("published_on") or published
    return _render_form(
        request, session, mode=mode, values=filled, quote=quote, source_note=fill.note
    )


def _chosen_speaker(values: Mapping[str, str]) -> Mapping[str, str]:
    """The form as saved after "Use <speaker>" on a "Did you mean …?": that speaker, not the
    new one typed."""
    chosen = values.get("use_speaker", "").strip()
    if not chosen:
        return values
    return {**values, "speaker_id": chosen, "new_speaker_name": "", "new_speaker_role": ""}


def _quote_home(party: str, tags: list[TagInput], quote_id: int) -> str:
    if tags:
        return f"/cells/{party}/{tags[0].issue_slug}#quote-{quote_id}"
    return f"/parties/{party}#quote-{quote_id}"


def _saved(
    request: Request, session: Session, *, data: QuoteInput, quote_id: int, added: bool
) -> Response:
    """Go to the cell (or party) the quote shows on, saying there what was saved."""
    url = _quote_home(data.party, data.tags, quote_id)
    party = catalog.find_party(session, slug=data.party)
    issue = catalog.find_issue(session, slug=data.tags[0].issue_slug) if data.tags else None
    where = (party.name if party else data.party) + (f" × {issue.title}" if issue else "")
    text = f"Quote added to {where}" if added else f"Quote saved ({where})"
    if added and data.also_record_position:
        text += ", and recorded as the party's position"
    response = redirect_after_post(request, url, flash=Flash(text=text, href=url, link="view it"))
    if added:
        remember_choices(response, {"party": data.party, "language": data.language})
    return response


@router.get("/quotes/new", response_class=HTMLResponse, summary="Add quote form")
def new_quote(
    request: Request,
    session: SessionDep,
    editor: EditorDep,
    party: Annotated[str | None, Query(max_length=60)] = None,
    issue: Annotated[str | None, Query(max_length=60)] = None,
) -> HTMLResponse:
    """The empty add-quote form: party and first issue from the query, else the party and
    language of this browser session's last added quote."""
    remembered = remembered_choices(request)
    values = {
        "kind": QuoteKind.DIRECT.value,
        "status": "",  # as the source says (quotes.status_for)
        "language": remembered.get("language") or "en",
        "party": party or remembered.get("party", ""),
        "issue_1": issue or "",
    }
    return _render_form(request, session, mode="add", values=values)


@router.post("/quotes/new", response_class=HTMLResponse, summary="Add a quote")
def add_quote(
    request: Request, session: SessionDep, editor: EditorDep, values: FormDep
) -> Response:
    """Save a new quote (and its new speaker, source and positions); 422 with errors otherwise.
    The "Fill from URL" button posts here too: it fills the source fields and saves nothing."""
    if values.get("action") == FILL:
        return _fill_source(request, session, mode="add", values=values)
    typed = _chosen_speaker(values)
    try:
        data = quotes.parse_quote_input(session, typed)
        quote = quotes.add_quote(session, actor=editor, data=data)
    except ValidationFailed as exc:
        return _render_form(
            request, session, mode="add", values=typed, errors=exc.errors, status_code=422
        )
    return _saved(request, session, data=data, quote_id=quote.id, added=True)


@router.get("/quotes/tag-row", response_class=HTMLResponse, summary="One more Issue + Stance pair")
def tag_row(
    request: Request,
    session: SessionDep,
    editor: EditorDep,
    n: Annotated[int, Query(ge=1, le=MAX_TAGS)],
) -> HTMLResponse:
    """The fragment "Add another issue" appends: pair number `n`, and the button for n + 1."""
    context = {
        "n": n,
        "next_n": n + 1,
        "max_pairs": MAX_TAGS,
        "oob": True,
        "values": {},
        "errors": {},
        "issue_options": [(i.slug, i.title) for i in catalog.list_issues(session)],
        "stance_options": [(s.value, stance_label(s)) for s in Stance],
    }
    return render(request, "quotes/_tag_row.html", context)


@router.get(
    "/quotes/speaker-options", response_class=HTMLResponse, summary="Speakers matching the typing"
)
def speaker_options(
    request: Request,
    session: SessionDep,
    editor: EditorDep,
    party: Annotated[str, Query(max_length=60)] = "",
    speaker_q: Annotated[str, Query(max_length=200)] = "",
    speaker_id: Annotated[str, Query(max_length=12)] = "",
) -> HTMLResponse:
    """The speaker list's options for the party chosen and the letters typed (the chosen one
    kept), swapped into the speaker select as the editor types."""
    chosen = whole_number(speaker_id.strip(), digits=11)
    options = quote_lookups.speaker_choices(
        session, party_slug=party, q=speaker_q, include_id=chosen
    )
    if speaker_q.strip() and len(options) == 1:
        speaker_id = str(options[0][0])  # the one speaker the letters name is chosen
    context = {"speaker_options": options, "values": {"speaker_id": speaker_id}}
    return render(request, "quotes/_speaker_options.html", context)


@router.get("/quotes/{quote_id}/edit", response_class=HTMLResponse, summary="Edit quote form")
def edit_quote(
    request: Request, session: SessionDep, editor: EditorDep, quote_id: int
) -> HTMLResponse:
    """The edit form, carrying the version it was opened at."""
    quote = quotes.get_quote(session, quote_id=quote_id)
    return _render_form(request, session, mode="edit", values=stored_values(quote), quote=quote)


@router.post("/quotes/{quote_id}/edit", response_class=HTMLResponse, summary="Save a quote")
def update_quote(
    request: Request, session: SessionDep, editor: EditorDep, quote_id: int, values: FormDep
) -> Response:
    """Save the edit; 409 with both versions when someone saved in between, 422 on errors.
    The "Fill from URL" button posts here too: it fills the source fields and saves nothing."""
    quote = quotes.get_quote(session, quote_id=quote_id)
    if values.get("action") == FILL:
        return _fill_source(request, session, mode="edit", values=values, quote=quote)
    if values.get("action") == APPLY:  # from the conflict page: typed values, current version
        applied = {**dict(_resubmitted(values)), "version": str(quote.version)}
        return _render_form(request, session, mode="edit", values=applied, quote=quote)
    typed = _chosen_speaker(values)
    expected = form_version(values)
    try:
        catalog.check_version(quote, expected)  # a stale form is a conflict, even if invalid
        data = quotes.parse_quote_input(session, typed, quote=quote)
        quotes.update_quote(
            session, actor=editor, quote=quote, data=data, expected_version=expected
        )
    except EditConflict as conflict:
        current = quotes.get_quote(session, quote_id=quote_id)
        raise conflict.explained(
            title="quote",
            current=_stored_rows(current),
            submitted=_submitted_rows(session, typed),
            retry_url=f"/quotes/{quote_id}/edit",
            resubmit=_resubmitted(typed),
        ) from None
    except ValidationFailed as exc:
        return _render_form(
            request,
            session,
            mode="edit",
            values={**typed, "version": str(quote.version)},
            errors=exc.errors,
            quote=quote,
            status_code=422,
        )
    return _saved(request, session, data=data, quote_id=quote.id, added=False)


def _stored_rows(quote: Quote) -> list[tuple[str, str]]:
    speaker = quote.speaker
    return _rows(
        text=quote.text,
        kind=QUOTE_KIND_LABELS[quote.kind],
        said_on=format_day(quote.said_on),
        published_on=format_day(quote.published_on),
        party=quote.party.name,
        speaker=f"{speaker.name} — {quote.role_then}" if speaker else "Unattributed",
        source=quote.source.url,
        language=quote.language,
        translated="yes" if quote.is_translation else "no",
        status=QUOTE_STATUS_LABELS[quote.status],
        confirms=f"#{quote.confirms_or_denies_id}" if quote.confirms_or_denies_id else "",
        note=quote.note,
        round=quote.round.name if quote.round else "",
        issues="; ".join(f"{t.issue.title}: {stance_label(t.stance)}" for t in quote.issue_tags),
    )


def _submitted_rows(session: Session, values: Mapping[str, str]) -> list[tuple[str, str]]:
    """What the editor typed, shown as the stored version is: names, labels and dates."""
    party = catalog.find_party(session, slug=values.get("party", ""))
    speaker_id = whole_number(values.get("speaker_id", "").strip(), digits=11)
    speaker = session.get(Speaker, speaker_id) if speaker_id is not None else None
    new_name = values.get("new_speaker_name", "").strip()
    role = values.get("new_speaker_role", "").strip()
    who = f"{speaker.name} — {speaker.role}" if speaker else "Unattributed"
    if new_name:
        who = f"{new_name} — {role}" if role else new_name
    issues = {i.slug: i.title for i in catalog.list_issues(session)}
    tags = [
        f"{issues.get(values.get(f'issue_{n}', ''), values.get(f'issue_{n}', ''))}: "
        + stance_label(values.get(f"stance_{n}", "") or "?")
        for n in tag_numbers(values)
        if values.get(f"issue_{n}")
    ]
    confirms = values.get("confirms_or_denies", "").strip()
    at_round = values.get("round", "").strip()
    found = rounds.find_round(session, slug=at_round) if at_round else None
    return _rows(
        text=values.get("text", ""),
        kind=_label(QUOTE_KIND_LABELS, values.get("kind", "")),
        said_on=_day(values.get("said_on", "")),
        published_on=_day(values.get("published_on", "")),
        party=party.name if party else values.get("party", ""),
        speaker=who,
        source=values.get("source_url", ""),
        language=values.get("language", ""),
        translated="yes" if values.get("is_translation") else "no",
        status=_label(QUOTE_STATUS_LABELS, values.get("status", "")) or "As the source says",
        confirms=f"#{confirms}" if confirms else "",
        note=values.get("note", ""),
        round=found.name if found else at_round,
        issues="; ".join(tags),
    )


def _rows(**shown: str) -> list[tuple[str, str]]:
    return list(zip(CONFLICT_LABELS, shown.values(), strict=True))


CONFLICT_LABELS = (
    "Quote", "Kind", "Said on", "Published on", "Party", "Speaker", "Source URL", "Language",
    "Translated", "Status", "Confirms or denies", "Note", "Round", "Issues",
)  # fmt: skip
"""The rows of a quote's conflict page, in the order _rows takes its values."""


def _label(labels: Mapping[Any, str], value: str) -> str:
    return next((label for key, label in labels.items() if str(key) == value), value)


def _day(value: str) -> str:
    day = parse_day_leniently(value)
    return format_day(day) if day else value


def _resubmitted(values: Mapping[str, str]) -> list[tuple[str, str]]:
    """The typed form, to post again onto the current version (not its token or version)."""
    return [(k, v) for k, v in values.items() if k not in {"csrf_token", "version", "action"}]


APPLY = "apply"
"""The conflict page's "Apply my changes onto the current version" (name="action")."""


def _render_delete(
    request: Request,
    session: Session,
    quote: Quote,
    *,
    status_code: int = 200,
    refused: bool = False,
) -> HTMLResponse:
    context = {
        "quote": quote,
        "citing": quotes.citing_positions(session, quote=quote),
        "refused": refused,
    }
    return render(request, "quotes/delete.html", context, status_code=status_code)


@router.get("/quotes/{quote_id}/delete", response_class=HTMLResponse, summary="Confirm deletion")
def confirm_delete(
    request: Request, session: SessionDep, editor: EditorDep, quote_id: int
) -> HTMLResponse:
    """Ask "Delete this quote?", or explain why it cannot be deleted and offer retraction."""
    return _render_delete(request, session, quotes.get_quote(session, quote_id=quote_id))


@router.post("/quotes/{quote_id}/delete", summary="Delete a quote")
def delete_quote(
    request: Request, session: SessionDep, editor: EditorDep, quote_id: int
) -> Response:
    """Delete a quote no position cites; 409 naming the positions otherwise."""
    quote = quotes.get_quote(session, quote_id=quote_id)
    party = quote.party.slug
    try:
        quotes.delete_quote(session, actor=editor, quote=quote)
    except QuoteIsCited:
        return _render_delete(request, session, quote, status_code=409, refused=True)
    return redirect_after_post(request, f"/parties/{party}")


@router.post("/quotes/{quote_id}/retract", summary="Retract a quote")
def retract_quote(
    request: Request, session: SessionDep, editor: EditorDep, quote_id: int
) -> Response:
    """Mark the quote retracted (positions citing it keep their history)."""
    quote = quotes.get_quote(session, quote_id=quote_id)
    quotes.retract_quote(session, actor=editor, quote=quote)
    return redirect_after_post(request, f"/parties/{quote.party.slug}#quote-{quote.id}")
