"""Adding a data file's documents (with their points, lineage and reactions) and rounds: few
rows, each through the ORM with its audit entry, after the quotes they cite are in."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from sqlalchemy import select

from app.models import (
    Document,
    DocumentParty,
    DocumentPoint,
    DocumentReaction,
    PointMapping,
    Round,
    RoundDelegate,
    RoundParty,
)
from app.services import audit
from app.services.bulk import Loader, RowError, RowRefused, Where

if TYPE_CHECKING:
    from app.services.seed import DocumentRow, RoundRow


def _quote(loader: Loader, ref: str, where: Where, field: str) -> int:
    found = loader.quote_id(ref)
    if found is None:
        raise RowRefused(RowError(*where, field, f"unknown quote ref '{ref}'"))
    return found


def _document_id(loader: Loader, slug: str, where: Where, field: str) -> int:
    found = loader.session.scalar(select(Document.id).where(Document.slug == slug))
    if found is None:
        message = f"unknown document '{slug}' (a predecessor comes before its versions)"
        raise RowRefused(RowError(*where, field, message))
    return found


def documents_from(loader: Loader, rows: Iterable[tuple[Where, DocumentRow]]) -> None:
    """Add the documents not yet stored (by slug), their points, mappings and reactions."""
    session = loader.session
    for where, row in rows:
        if session.scalar(select(Document.id).where(Document.slug == row.slug)) is not None:
            continue
        parent = (
            _document_id(loader, row.derived_from, where, "derived_from")
            if row.derived_from
            else None
        )
        document = Document(
            slug=row.slug, title=row.title, kind=row.kind, status=row.status,
            confirmation=row.confirmation, tabled_on=row.tabled_on, public_on=row.public_on,
            language=row.language, is_translation=row.translated, derived_from_id=parent,
            source_id=loader._source(row.source, where), note=row.note or "",
        )  # fmt: skip
        document.parties = [
            DocumentParty(party_id=loader._party(p.party, where, "parties"), role=p.role)
            for p in row.parties
        ]
        session.add(document)
        audit.record(
            session, actor=None, action="create", entity=document,
            extra={"parties": {p.party: p.role.value for p in row.parties}},
        )  # fmt: skip
        points = {
            point.label: DocumentPoint(
                document_id=document.id,
                quote_id=_quote(loader, point.quote, where, "points"),
                label=point.label,
                position=n,
            )  # fmt: skip
            for n, point in enumerate(row.points, start=1)
        }
        session.add_all(points.values())
        session.flush()
        before = dict(
            session.execute(
                select(DocumentPoint.label, DocumentPoint.id).where(
                    DocumentPoint.document_id == parent
                )
            ).all()
        )
        for point in row.points:
            if point.relation is None:
                continue
            targets = [before.get(label) for label in point.maps_to]
            if any(target is None for target in targets):
                message = f"point {point.label} maps to a label its predecessor does not have"
                raise RowRefused(RowError(*where, "points", message))
            for target in targets or [None]:
                session.add(PointMapping(point_id=points[point.label].id,
                                         predecessor_point_id=target, relation=point.relation))  # fmt: skip
        for reaction in row.reactions:
            if reaction.point is not None and reaction.point not in points:
                message = f"no point labelled '{reaction.point}' in this document"
                raise RowRefused(RowError(*where, "reactions", message))
            session.add(
                DocumentReaction(
                    quote_id=_quote(loader, reaction.quote, where, "reactions"),
                    document_id=document.id,
                    point_id=points[reaction.point].id if reaction.point else None,
                    stance=reaction.stance,
                )
            )
        session.flush()
        loader.added["documents"] += 1


def rounds_from(loader: Loader, rows: Iterable[tuple[Where, RoundRow]]) -> None:
    """Add the rounds not yet stored (by slug), with their parties and documents."""
    session = loader.session
    for where, row in rows:
        if session.scalar(select(Round.id).where(Round.slug == row.slug)) is not None:
            continue
        meeting = Round(
            slug=row.slug, name=row.name, starts_on=row.starts_on, ends_on=row.ends_on,
            venue=row.venue, format=row.format, outcome=row.outcome,
            source_id=loader._source(row.source, where) if row.source else None,
        )  # fmt: skip
        meeting.parties = []
        for p in row.parties:
            party_id = loader._party(p.party, where, "parties")
            seat = RoundParty(party_id=party_id, delegation=p.delegation)
            seat.delegates = [
                RoundDelegate(speaker_id=loader._speaker(party_id, name, p.party, where))
                for name in p.delegates
            ]
            meeting.parties.append(seat)
        ids = [_document_id(loader, slug, where, "documents") for slug in row.documents]
        meeting.documents = list(session.scalars(select(Document).where(Document.id.in_(ids))))
        session.add(meeting)
        audit.record(
            session, actor=None, action="create", entity=meeting,
            extra={"parties": {p.party: p.delegation for p in row.parties},
                   "delegates": {p.party: list(p.delegates) for p in row.parties if p.delegates},
                   "documents": list(row.documents)},
        )  # fmt: skip
        loader.added["rounds"] += 1
