"""The document pages' data: saving the editor's form (names resolved to rows), a version's
prefilled form, and everything a document's page shows, read in a fixed number of queries."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.forms import DocumentInput, PointInput
from app.models import Document, PartyRole, PointRelation, Round, RoundDocument, Source, User
from app.services import catalog, documents, quote_lookups
from app.services.documents import PointDraft
from app.services.errors import ValidationFailed


def _source(session: Session, *, actor: User | None, data: DocumentInput) -> Source:
    """The source the form names: a known URL, or a new source from the form's fields."""
    found = catalog.find_source(session, url=data.source_url)
    if found is not None:
        return found
    errors = {
        name: "This URL is new: this field is required for its source."
        for name, value in {
            "source_title": data.source_title,
            "source_outlet": data.source_outlet,
            "source_kind": data.source_kind,
            "source_tier": data.source_tier,
        }.items()  # fmt: skip
        if not value
    }
    if errors or data.source_kind is None or data.source_tier is None:
        raise ValidationFailed(errors)
    return catalog.create_source(
        session, actor=actor, url=data.source_url, title=data.source_title,
        outlet=data.source_outlet, published_on=None, kind=data.source_kind, tier=data.source_tier,
    )  # fmt: skip


def save(
    session: Session,
    *,
    actor: User | None,
    data: DocumentInput,
    points: Sequence[PointInput],
    roles: Sequence[tuple[str, PartyRole]],
) -> Document:
    """Store the document form: parties, issues and predecessor looked up by slug, every unknown
    one an error beside its field; all of it or nothing."""
    errors: dict[str, str] = {}
    parties = []
    for slug, role in roles:
        party = catalog.find_party(session, slug=slug)
        if party is None:
            errors["authors"] = f"There is no party '{slug}'."
        else:
            parties.append((party, role))
    issues = {i.slug: i for i in catalog.list_issues(session)}
    drafts = []
    for point in points:
        tags = []
        for k, (slug, stance) in enumerate(point.tags, start=1):
            if slug not in issues:
                errors[f"issue_{point.n}_{k}"] = "Choose an issue from the list."
            else:
                tags.append((issues[slug], stance))
        drafts.append(PointDraft(point.label, point.text, tags))
    parent = None
    if data.derived_from:
        parent = session.scalar(select(Document).where(Document.slug == data.derived_from))
        if parent is None:
            errors["derived_from"] = f"There is no document '{data.derived_from}'."
    if errors:
        raise ValidationFailed(errors)
    with session.begin_nested():
        source = _source(session, actor=actor, data=data)
        return documents.create_document(
            session, actor=actor, slug=data.slug, title=data.title, kind=data.kind,
            status=data.status, confirmation=data.confirmation, tabled_on=data.tabled_on,
            public_on=data.public_on, language=data.language, is_translation=data.is_translation,
            source=source, parties=parties, points=drafts, derived_from=parent, note=data.note,
        )  # fmt: skip


def version_values(document: Document) -> dict[str, str]:
    """The form for a new version of `document`: its details and points, to revise."""
    values = {
        "slug": "", "title": document.title, "kind": document.kind.value,
        "status": document.status.value, "confirmation": document.confirmation.value,
        "language": document.language, "source_url": "", "derived_from": document.slug,
        "text": "\n".join(f"{p.label}. {p.quote.text}" for p in document.points),
    }  # fmt: skip
    for party in document.parties:
        values[f"party_{party.party.slug}"] = party.role.value
    for n, point in enumerate(document.points, start=1):
        values[f"label_{n}"], values[f"text_{n}"] = point.label, point.quote.text
        for k, tag in enumerate(point.quote.issue_tags[:2], start=1):
            values[f"issue_{n}_{k}"], values[f"stance_{n}_{k}"] = tag.issue.slug, tag.stance.value
    return values


def page_context(session: Session, *, slug: str) -> dict[str, Any]:
    """What a document's page shows: its points, lineage, versions, rounds and reactions."""
    document = documents.get_document(session, slug=slug)
    before = documents.predecessor(session, document=document)
    lineage = documents.lineage(session, document=document, predecessor=before) if before else None
    versions = list(
        session.scalars(
            select(Document).where(Document.derived_from_id == document.id).order_by(Document.id)
        )
    )
    rounds = list(
        session.scalars(
            select(Round)
            .join(RoundDocument, RoundDocument.round_id == Round.id)
            .where(RoundDocument.document_id == document.id)
            .order_by(Round.starts_on)
        )
    )
    return {
        "document": document,
        "predecessor": before,
        "lineage": lineage,
        "versions": versions,
        "rounds": rounds,
        "reactions": documents.reactions(session, document=document),
        "point_options": documents.point_choices(session, document=document),
        "quote_options": quote_lookups.quote_choices(session),
        "reaction_values": {},
        "reaction_errors": {},
        "edit_errors": {},
        "relation_options": [(r.value, r.value) for r in PointRelation],
    }


def correct_mapping(
    session: Session, *, actor: User | None, slug: str, values: Mapping[str, str]
) -> None:
    """The mapping form: `point` (a label of this version), `maps_to` (the predecessor's labels,
    comma-separated; empty for a new point) and `relation`; errors under mapping_*."""
    document = documents.get_document(session, slug=slug)
    before = documents.predecessor(session, document=document)
    errors: dict[str, str] = {}
    if before is None:
        raise ValidationFailed({"mapping_point": "This document is not a version of another."})
    point = next((p for p in document.points if p.label == values.get("point", "").strip()), None)
    if point is None:
        errors["mapping_point"] = "Choose a point of this document."
    labels = [label.strip() for label in values.get("maps_to", "").split(",") if label.strip()]
    earlier = {p.label: p for p in before.points}
    unknown = [label for label in labels if label not in earlier]
    if unknown:
        errors["mapping_maps_to"] = f"{before.title} has no point {', '.join(unknown)}."
    try:
        relation = PointRelation(values.get("relation", ""))
    except ValueError:
        errors["mapping_relation"] = "Choose how the point continues the earlier one."
    if errors or point is None:
        raise ValidationFailed(errors)
    try:
        documents.set_mapping(session, actor=actor, point=point,
                              predecessors=[earlier[label] for label in labels], relation=relation)  # fmt: skip
    except ValidationFailed as exc:
        raise ValidationFailed({"mapping_" + k: v for k, v in exc.errors.items()}) from None
