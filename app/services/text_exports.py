"""CSV exports of the documents, their points (with issue and stance tags and lineage) and the
rounds of talks, safe to open in a spreadsheet (exports.to_csv)."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.models import (
    Document,
    DocumentParty,
    DocumentPoint,
    PartyRole,
    PointMapping,
    Quote,
    QuoteIssue,
    Round,
    RoundParty,
)
from app.services import rounds
from app.services.exports import to_csv

DOCUMENT_HEADER = [
    "slug", "title", "kind", "status", "confirmation", "tabled_on", "public_on", "language",
    "translated", "derived_from", "authors", "endorsers", "points", "source_url",
    "source_outlet", "rounds", "note",
]  # fmt: skip


def documents_csv(session: Session) -> str:
    """Every document, oldest tabled first, with its parties, point count and rounds."""
    listed = list(
        session.scalars(
            select(Document)
            .order_by(Document.tabled_on, Document.id)
            .options(
                selectinload(Document.parties).selectinload(DocumentParty.party),
                selectinload(Document.source),
                selectinload(Document.points),
            )
        )
    )
    slugs = {d.id: d.slug for d in listed}
    tabled_at: dict[int, list[str]] = defaultdict(list)
    for meeting in rounds.list_rounds(session):
        for document in meeting.documents:
            tabled_at[document.id].append(meeting.slug)

    def parties(document: Document, role: PartyRole) -> str:
        return " ".join(p.party.slug for p in document.parties if p.role == role)

    return to_csv(
        DOCUMENT_HEADER,
        (
            [
                d.slug,
                d.title,
                d.kind.value,
                d.status.value,
                d.confirmation.value,
                d.tabled_on,
                d.public_on or "",
                d.language,
                d.is_translation,
                slugs.get(d.derived_from_id, "") if d.derived_from_id else "",
                parties(d, PartyRole.AUTHORING),
                parties(d, PartyRole.ENDORSING),
                len(d.points),
                d.source.url,
                d.source.outlet,
                " ".join(tabled_at[d.id]),
                d.note,
            ]
            for d in listed
        ),
    )


POINT_HEADER = [
    "document", "label", "place", "quote_id", "text", "status", "issues", "relation", "maps_to",
    "tabled_on",
]  # fmt: skip


def points_csv(session: Session, *, document: Document | None = None) -> str:
    """Every point (or one document's), in document then printed order: its text, its issue
    tags as "issue:stance; ...", and its line to its predecessor's points (by label)."""
    stmt = (
        select(DocumentPoint)
        .join(Document, Document.id == DocumentPoint.document_id)
        .order_by(Document.tabled_on, Document.id, DocumentPoint.position)
        .options(
            selectinload(DocumentPoint.document),
            selectinload(DocumentPoint.quote)
            .selectinload(Quote.issue_tags)
            .selectinload(QuoteIssue.issue),
        )
    )
    if document is not None:
        stmt = stmt.where(DocumentPoint.document_id == document.id)
    points = list(session.scalars(stmt))
    mapped: dict[int, list[PointMapping]] = defaultdict(list)
    ids = [p.id for p in points]
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        rows = select(PointMapping).where(PointMapping.point_id.in_(chunk))
        for row in session.scalars(rows.order_by(PointMapping.id)):
            mapped[row.point_id].append(row)
    targets = {r.predecessor_point_id for rs in mapped.values() for r in rs}
    labels = dict(
        session.execute(
            select(DocumentPoint.id, DocumentPoint.label).where(
                DocumentPoint.id.in_([t for t in targets if t is not None])
            )
        ).all()
    )

    def issues(point: DocumentPoint) -> str:
        tags = sorted(point.quote.issue_tags, key=lambda t: (t.issue.sort_order, t.issue.id))
        return "; ".join(f"{t.issue.slug}:{t.stance.value}" for t in tags)

    return to_csv(
        POINT_HEADER,
        (
            [
                p.document.slug,
                p.label,
                p.position,
                p.quote_id,
                p.quote.text,
                p.quote.status.value,
                issues(p),
                mapped[p.id][0].relation.value if mapped[p.id] else "",
                " ".join(
                    labels[r.predecessor_point_id]
                    for r in mapped[p.id]
                    if r.predecessor_point_id is not None
                ),
                p.document.tabled_on,
            ]
            for p in points
        ),
    )


ROUND_HEADER = [
    "slug", "name", "starts_on", "ends_on", "venue", "format", "outcome", "parties",
    "delegations", "documents", "source_url",
]  # fmt: skip


def _delegation(seat: RoundParty) -> list[str]:
    """A party's delegation at a round: its known speakers by name, then the note."""
    names = sorted(d.speaker.name for d in seat.delegates)
    return names + [seat.delegation] if seat.delegation else names


def rounds_csv(session: Session) -> str:
    """Every round, oldest first: parties by slug, delegations as "slug: names; ...", the
    documents tabled there by slug."""
    listed = rounds.list_rounds(session)

    def attended(meeting: Round) -> list[RoundParty]:
        return sorted(meeting.parties, key=lambda p: (p.party.sort_order, p.party.slug))

    return to_csv(
        ROUND_HEADER,
        (
            [
                r.slug,
                r.name,
                r.starts_on,
                r.ends_on,
                r.venue,
                r.format.value,
                r.outcome,
                " ".join(p.party.slug for p in attended(r)),
                "; ".join(
                    f"{p.party.slug}: {', '.join(_delegation(p))}"
                    for p in attended(r)
                    if _delegation(p)
                ),
                " ".join(d.slug for d in r.documents),
                r.source.url if r.source else "",
            ]
            for r in listed
        ),
    )
