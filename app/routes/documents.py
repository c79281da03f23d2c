"""Documents tabled in the talks: the list, a document point by point with its reactions, the
comparison of any two, the editor's paste → split → tag → save form, and the JSON API."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel
from sqlalchemy.orm import Session
from starlette.responses import HTMLResponse, Response

from app.db import SessionDep
from app.forms import (
    POINT_TAGS,
    QUOTE_STATUS_LABELS,
    SOURCE_KIND_LABELS,
    SOURCE_TIER_LABELS,
    ReactionInput,
    checkbox,
    form_version,
    options,
    parse_document_form,
    parse_or_refuse,
    point_numbers,
)
from app.forms import FormDep as FormValues
from app.models import Document, DocumentKind, DocumentStatus, QuoteStatus, Stance
from app.routes import twins
from app.security import AuthDep, EditorDep
from app.services import catalog, document_forms, documents, quotes
from app.services.document_text import split_points
from app.services.errors import EditConflict, ValidationFailed
from app.templating import redirect_after_post, render, stance_label

router = APIRouter(tags=["documents"])
api_router = APIRouter(prefix="/api/v1", tags=["api"])

KIND_LABELS = {k: k.value.replace("_", " ").capitalize() for k in DocumentKind}
STATUS_LABELS = {s: s.value.capitalize() for s in DocumentStatus}


@router.get("/documents", response_class=HTMLResponse, summary="Documents tabled in the talks")
def documents_page(request: Request, session: SessionDep, auth: AuthDep) -> HTMLResponse:
    """Every document, newest tabled first, with its authors, status and number of points."""
    listed = documents.list_documents(session)
    context = {"listed": listed, "twins": twins.for_documents()}
    return render(request, "documents/list.html", context)


def _form_context(
    session: Session, values: Mapping[str, str], errors: Mapping[str, str]
) -> dict[str, Any]:
    return {
        "values": values,
        "errors": errors,
        "numbers": point_numbers(values),
        "point_tags": range(1, POINT_TAGS + 1),
        "parties": catalog.list_parties(session),
        "issue_options": [(i.slug, i.title) for i in catalog.list_issues(session)],
        "stance_options": [(s.value, stance_label(s)) for s in Stance],
        "kind_options": options(KIND_LABELS),
        "status_options": options(STATUS_LABELS),
        "confirmation_options": options(QUOTE_STATUS_LABELS),
        "source_kind_options": options(SOURCE_KIND_LABELS),
        "source_tier_options": options(SOURCE_TIER_LABELS),
    }


def _render_form(
    request: Request,
    session: Session,
    values: Mapping[str, str],
    errors: Mapping[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    context = _form_context(session, values, errors or {})
    return render(
        request, "documents/form.html", context, fragment="documents/_form.html",
        status_code=status_code,
    )  # fmt: skip


@router.get("/documents/new", response_class=HTMLResponse, summary="Enter a document")
def new_document(
    request: Request,
    session: SessionDep,
    editor: EditorDep,
    from_: Annotated[str | None, Query(alias="from", max_length=60)] = None,
) -> HTMLResponse:
    """The empty document form, or (`from=<slug>`) a new version prefilled from that document."""
    values: dict[str, str] = {"kind": "plan", "status": "reported", "confirmation": "reported",
                              "language": "en"}  # fmt: skip
    if from_:
        values = document_forms.version_values(documents.get_document(session, slug=from_))
    return _render_form(request, session, values)


@router.post("/documents/new", response_class=HTMLResponse, summary="Split or save a document")
def save_document(
    request: Request, session: SessionDep, editor: EditorDep, values: FormValues
) -> Response:
    """`action=split`: split the pasted text into points to check and tag (saves nothing);
    otherwise save the document and its points (422 with every error beside its field)."""
    if values.get("action") == "split":
        found = split_points(values.get("text", ""), roman=checkbox(values.get("roman", "")))
        kept = {k: v for k, v in values.items() if k not in set(_point_keys(values))}
        for n, split in enumerate(found, start=1):
            kept[f"label_{n}"], kept[f"text_{n}"] = split.label, split.text
        errors = {} if found else {"text": "Paste the document's text first."}
        return _render_form(request, session, kept, errors, 422 if errors else 200)
    try:
        data, points, roles = parse_document_form(values)
        document = document_forms.save(session, actor=editor, data=data, points=points,
                                       roles=roles)  # fmt: skip
    except ValidationFailed as exc:
        return _render_form(request, session, values, exc.errors, 422)
    return redirect_after_post(request, f"/documents/{document.slug}")


def _point_keys(values: Mapping[str, str]) -> list[str]:
    prefixes = ("label_", "text_", "drop_", "issue_", "stance_")
    return [k for k in values if k.startswith(prefixes)]


def _page_context(session: Session, slug: str) -> dict[str, Any]:
    return {**document_forms.page_context(session, slug=slug), "twins": twins.for_document(slug)}


@router.get("/documents/{slug}", response_class=HTMLResponse, summary="A document, point by point")
def document_page(request: Request, session: SessionDep, auth: AuthDep, slug: str) -> HTMLResponse:
    """A document's points with their issues and stances, its lineage, and the reactions."""
    return render(request, "documents/page.html", _page_context(session, slug))


@router.post("/documents/{slug}/reactions", response_class=HTMLResponse, summary="Add a reaction")
def add_reaction(
    request: Request, session: SessionDep, editor: EditorDep, slug: str, values: FormValues
) -> Response:
    """Record that a quote reacts to the document or one of its points."""
    document = documents.get_document(session, slug=slug)
    try:
        data = parse_or_refuse(ReactionInput, values)
        if data.quote_id is None:
            raise ValidationFailed({"quote_id": "Choose the quote that reacts."})
        quote = quotes.get_quote(session, quote_id=data.quote_id)
        point = documents.find_point(session, point_id=data.point_id) if data.point_id else None
        documents.add_reaction(session, actor=editor, quote=quote, document=document,
                               point=point, stance=data.stance)  # fmt: skip
    except ValidationFailed as exc:
        context = _page_context(session, slug)
        context.update(reaction_values=values, reaction_errors=exc.errors)
        return render(request, "documents/page.html", context, status_code=422)
    return redirect_after_post(request, f"/documents/{slug}#reactions")


@router.post("/documents/{slug}/status", response_class=HTMLResponse, summary="Change status")
def change_status(
    request: Request, session: SessionDep, editor: EditorDep, slug: str, values: FormValues
) -> Response:
    """Change a document's status and its text's confirmation (its points follow); 409 when
    someone saved it since the page was read."""
    document = documents.get_document(session, slug=slug)
    try:
        status = DocumentStatus(values.get("status", ""))
        confirmation = QuoteStatus(values.get("confirmation", ""))
    except ValueError:
        return _page_with_errors(request, session, slug, {"status": "Choose from the lists."})
    try:
        documents.update_status(
            session, actor=editor, document=document, status=status, confirmation=confirmation,
            expected_version=form_version(values),
        )  # fmt: skip
    except EditConflict as conflict:
        current = documents.get_document(session, slug=slug)
        raise conflict.explained(
            title="document",
            current=[
                ("Status", current.status.value),
                ("Confirmation", current.confirmation.value),
            ],
            submitted=[("Status", status.value), ("Confirmation", confirmation.value)],
            retry_url=f"/documents/{slug}",
        ) from None
    return redirect_after_post(request, f"/documents/{slug}")


@router.post("/documents/{slug}/mapping", response_class=HTMLResponse, summary="Correct a mapping")
def correct_mapping(
    request: Request, session: SessionDep, editor: EditorDep, slug: str, values: FormValues
) -> Response:
    """Say which of the predecessor's points (by label) a point of this version continues."""
    try:
        document_forms.correct_mapping(session, actor=editor, slug=slug, values=values)
    except ValidationFailed as exc:
        return _page_with_errors(request, session, slug, exc.errors)
    return redirect_after_post(request, f"/documents/{slug}#points")


def _page_with_errors(
    request: Request, session: Session, slug: str, errors: Mapping[str, str]
) -> HTMLResponse:
    context = _page_context(session, slug)
    context["edit_errors"] = errors
    return render(request, "documents/page.html", context, status_code=422)


@router.get(
    "/documents/{left}/compare/{right}", response_class=HTMLResponse, summary="Compare documents"
)
def compare_page(
    request: Request, session: SessionDep, auth: AuthDep, left: str, right: str
) -> HTMLResponse:
    """Two documents side by side: aligned points, word differences, and per issue each text."""
    comparison = documents.compare(
        session,
        left=documents.get_document(session, slug=left),
        right=documents.get_document(session, slug=right),
    )
    return render(request, "documents/compare.html", {"comparison": comparison})


# --- JSON API --------------------------------------------------------------------------------


class PointOut(BaseModel):
    """A point: its label as printed, text, the quote that holds it, its issues and stances."""

    label: str
    text: str
    quote_id: int
    issues: dict[str, str]


class DocumentOut(BaseModel):
    """A document tabled in the talks."""

    slug: str
    title: str
    kind: str
    status: str
    confirmation: str
    tabled_on: date
    public_on: date | None
    language: str
    translated: bool
    derived_from: str | None
    source: str
    parties: dict[str, str]
    points: int


class DocumentDetailOut(DocumentOut):
    """A document with its points."""

    point_list: list[PointOut]


def _document_out(document: Document, count: int, derived: dict[int, str]) -> dict[str, Any]:
    return {
        "slug": document.slug, "title": document.title, "kind": document.kind.value,
        "status": document.status.value, "confirmation": document.confirmation.value,
        "tabled_on": document.tabled_on, "public_on": document.public_on,
        "language": document.language, "translated": document.is_translation,
        "derived_from": derived.get(document.derived_from_id or 0),
        "source": document.source.url,
        "parties": {p.party.slug: p.role.value for p in document.parties}, "points": count,
    }  # fmt: skip


@api_router.get("/documents", response_model=list[DocumentOut], summary="Documents")
def documents_api(session: SessionDep) -> list[DocumentOut]:
    """Every document, newest tabled first."""
    listed = documents.list_documents(session)
    slugs = {d.id: d.slug for d, _ in listed}
    return [DocumentOut(**_document_out(d, n, slugs)) for d, n in listed]


@api_router.get("/documents/{slug}", response_model=DocumentDetailOut, summary="A document")
def document_api(session: SessionDep, slug: str) -> DocumentDetailOut:
    """A document and its points (404 for an unknown slug)."""
    document = documents.get_document(session, slug=slug)
    before = documents.predecessor(session, document=document)
    derived = {before.id: before.slug} if before else {}
    points = [
        PointOut(
            label=p.label,
            text=p.quote.text,
            quote_id=p.quote_id,
            issues={t.issue.slug: t.stance.value for t in p.quote.issue_tags},
        )  # fmt: skip
        for p in document.points
    ]
    return DocumentDetailOut(**_document_out(document, len(points), derived), point_list=points)
