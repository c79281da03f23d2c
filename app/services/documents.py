"""Documents tabled in the talks, point by point: creating one, deriving a version, its lineage,
the reactions to it, and comparing any two.

Design: a document's point is evidence like a quote, without a second evidence path. Each point
IS a row of `quotes` (kind document_provision; its text the point's text, its party the first
authoring party, its source the document's source, said on the day the document was tabled,
published on the day it became public, its status the document's confirmation), linked to its
document by a `document_points` row holding the label as printed ("6", "6a", "Annex 2") and its
place. So positions cite points, search finds them, cells show them, and a point's issue tags
(quote_issues) carry the stance it takes; editing a point's text is the quote form's versioned,
audited edit.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from app.models import (
    Document,
    DocumentKind,
    DocumentParty,
    DocumentPoint,
    DocumentReaction,
    DocumentStatus,
    Issue,
    Party,
    PartyRole,
    PointMapping,
    PointRelation,
    Quote,
    QuoteIssue,
    QuoteKind,
    QuoteStatus,
    Source,
    Stance,
    User,
)
from app.services import audit, catalog, quotes
from app.services.document_text import Piece, likeness, match_points, word_diff
from app.services.errors import EditConflict, NotFound, ValidationFailed

MAX_POINTS = 400
"""The most points a document may have (a 28-point plan with annexes is far below it)."""


@dataclass(slots=True)
class PointDraft:
    """A point to be stored: label as printed, text, and the (issue, stance) tags it bears."""

    label: str
    text: str
    tags: list[tuple[Issue, Stance]] = field(default_factory=list)


def _point_loading() -> list[Any]:
    return [
        selectinload(Document.points)
        .selectinload(DocumentPoint.quote)
        .selectinload(Quote.issue_tags)
        .selectinload(QuoteIssue.issue)
    ]


def _load(session: Session, where: Any) -> Document | None:
    return session.scalar(
        select(Document)
        .where(where)
        .options(
            selectinload(Document.parties).selectinload(DocumentParty.party),
            selectinload(Document.source),
            *_point_loading(),
        )
        .execution_options(populate_existing=True)
    )


def get_document(session: Session, *, slug: str) -> Document:
    """The document with this slug, its parties, source and points with their tags."""
    document = _load(session, Document.slug == slug)
    if document is None:
        raise NotFound("document", slug)
    return document


def predecessor(session: Session, *, document: Document) -> Document | None:
    """The document `document` derives from, loaded like get_document's, if any."""
    if document.derived_from_id is None:
        return None
    return _load(session, Document.id == document.derived_from_id)


def list_documents(session: Session) -> list[tuple[Document, int]]:
    """Every document with its number of points, newest tabled first."""
    counts = (
        select(DocumentPoint.document_id, func.count().label("n"))
        .group_by(DocumentPoint.document_id)
        .subquery()
    )
    rows = session.execute(
        select(Document, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.document_id == Document.id)
        .order_by(Document.tabled_on.desc(), Document.id.desc())
        .options(
            selectinload(Document.parties).selectinload(DocumentParty.party),
            selectinload(Document.source),
        )
    )
    return [(document, count) for document, count in rows]


def _check(
    session: Session,
    *,
    slug: str,
    parties: Sequence[tuple[Party, PartyRole]],
    points: Sequence[PointDraft],
    tabled_on: date,
    public_on: date | None,
) -> Party:
    """The rules across a document's fields; returns the party its points speak for."""
    errors: dict[str, str] = {}
    if session.scalar(select(Document.id).where(Document.slug == slug)) is not None:
        errors["slug"] = f"The slug '{slug}' is taken; choose another."
    authors = [party for party, role in parties if role == PartyRole.AUTHORING]
    if not authors:
        errors["authors"] = "Name at least one authoring party."
    if len({party.id for party, _role in parties}) != len(parties):
        errors["endorsers"] = "A party is either an author or an endorser, once."
    if not points:
        errors["text"] = "A document needs at least one point."
    elif len(points) > MAX_POINTS:
        errors["text"] = f"A document can have at most {MAX_POINTS} points."
    for n, point in enumerate(points, start=1):
        if not point.label.strip():
            errors[f"label_{n}"] = "Give the point its label as printed."
        if not point.text.strip():
            errors[f"text_{n}"] = "Enter the point's text (or drop the point)."
    if public_on is not None and public_on < tabled_on:
        errors["public_on"] = "Public on cannot be before tabled on."
    if errors:
        raise ValidationFailed(errors)
    return authors[0]


def create_document(
    session: Session,
    *,
    actor: User | None,
    slug: str,
    title: str,
    kind: DocumentKind,
    status: DocumentStatus,
    confirmation: QuoteStatus,
    tabled_on: date,
    source: Source,
    parties: Sequence[tuple[Party, PartyRole]],
    points: Sequence[PointDraft],
    public_on: date | None = None,
    language: str = "en",
    is_translation: bool = False,
    derived_from: Document | None = None,
    note: str = "",
) -> Document:
    """Add a document and its points (each a quote, audited as one); a version of `derived_from`
    gets its points mapped to the predecessor's (kept, changed, new). All or nothing."""
    author = _check(
        session, slug=slug, parties=parties, points=points, tabled_on=tabled_on,
        public_on=public_on,
    )  # fmt: skip
    with session.begin_nested():
        document = Document(
            slug=slug, title=title, kind=kind, status=status, confirmation=confirmation,
            tabled_on=tabled_on, public_on=public_on, language=language,
            is_translation=is_translation, derived_from_id=derived_from.id if derived_from else None,
            source_id=source.id, note=note,
        )  # fmt: skip
        document.parties = [DocumentParty(party_id=p.id, role=role) for p, role in parties]
        session.add(document)
        audit.record(
            session, actor=actor, action="create", entity=document,
            extra={"parties": {p.slug: role.value for p, role in parties}},
        )  # fmt: skip
        stored = []
        for position, draft in enumerate(points, start=1):
            quote = quotes.create_quote(
                session, actor=actor, text=" ".join(draft.text.split()),
                kind=QuoteKind.DOCUMENT_PROVISION, said_on=tabled_on, published_on=public_on,
                party=author, source=source, status=confirmation, language=language,
                is_translation=is_translation, note=f"Point {draft.label.strip()} of {title}",
                tags=draft.tags,
            )  # fmt: skip
            point = DocumentPoint(
                document_id=document.id, quote_id=quote.id, label=draft.label.strip(),
                position=position,
            )  # fmt: skip
            session.add(point)
            stored.append(point)
        session.flush()
        if derived_from is not None:
            _map_to_predecessor(session, document=document, points=stored, drafts=points,
                                predecessor=derived_from)  # fmt: skip
    return document


def _map_to_predecessor(
    session: Session,
    *,
    document: Document,
    points: Sequence[DocumentPoint],
    drafts: Sequence[PointDraft],
    predecessor: Document,
) -> None:
    old = get_document(session, slug=predecessor.slug).points
    matches = match_points(
        [(d.label.strip(), d.text) for d in drafts], [(p.label, p.quote.text) for p in old]
    )
    for match in matches:
        target = old[match.predecessor] if match.predecessor is not None else None
        session.add(
            PointMapping(
                point_id=points[match.index].id,
                predecessor_point_id=target.id if target else None,
                relation=PointRelation(match.relation),
            )
        )
    session.flush()


def derived_drafts(document: Document) -> list[PointDraft]:
    """A document's points as drafts for its next version (same labels, text and tags)."""
    return [
        PointDraft(p.label, p.quote.text, [(t.issue, t.stance) for t in p.quote.issue_tags])
        for p in document.points
    ]


# --- Lineage ---------------------------------------------------------------------------------


@dataclass(slots=True)
class Lineage:
    """How a version's points continue its predecessor's: per point its relation and the
    predecessor's point(s); the predecessor's points no one continues were removed."""

    relation: dict[int, PointRelation]
    predecessors: dict[int, list[DocumentPoint]]
    removed: list[DocumentPoint]


def lineage(session: Session, *, document: Document, predecessor: Document) -> Lineage:
    """The mapping of `document`'s points onto `predecessor`'s (both loaded with points)."""
    mine = {p.id for p in document.points}
    theirs = {p.id: p for p in predecessor.points}
    rows = session.scalars(select(PointMapping).where(PointMapping.point_id.in_(mine))).all()
    relation: dict[int, PointRelation] = {}
    found: dict[int, list[DocumentPoint]] = defaultdict(list)
    used: set[int] = set()
    for row in rows:
        if row.predecessor_point_id is not None and row.predecessor_point_id not in theirs:
            continue  # a mapping onto another document
        relation[row.point_id] = row.relation
        if row.predecessor_point_id is not None:
            found[row.point_id].append(theirs[row.predecessor_point_id])
            used.add(row.predecessor_point_id)
    removed = [p for p in predecessor.points if p.id not in used]
    return Lineage(relation, dict(found), removed)


def set_mapping(
    session: Session,
    *,
    actor: User | None,
    point: DocumentPoint,
    predecessors: Sequence[DocumentPoint],
    relation: PointRelation,
) -> None:
    """Correct a point's line to its predecessor's points (none: a new point)."""
    errors: dict[str, str] = {}
    if (relation == PointRelation.NEW) != (not predecessors):
        errors["relation"] = "A new point has no predecessor; any other relation needs one."
    if errors:
        raise ValidationFailed(errors)
    existing = session.scalars(select(PointMapping).where(PointMapping.point_id == point.id)).all()
    for row in existing:
        audit.record(session, actor=actor, action="delete", entity=row, before=audit.snapshot(row))
        session.delete(row)
    session.flush()
    targets: list[DocumentPoint | None] = list(predecessors) or [None]
    for target in targets:
        row = PointMapping(
            point_id=point.id, predecessor_point_id=target.id if target else None,
            relation=relation,
        )  # fmt: skip
        session.add(row)
        audit.record(session, actor=actor, action="create", entity=row)


# --- Comparison ------------------------------------------------------------------------------


@dataclass(slots=True)
class Aligned:
    """A row of a comparison: a point of each side (one may be missing), how they were paired
    (mapping: the lineage's relation; issue: they bear on the same issue; none), and the words."""

    left: DocumentPoint | None
    right: DocumentPoint | None
    how: str
    pieces: list[Piece]

    @property
    def label(self) -> str:
        """What the row is: removed, new, the same, changed or paired by issue."""
        if self.right is None:
            return "removed"
        if self.left is None:
            return "new"
        if all(not piece.changed for piece in self.pieces):
            return "same"
        return "changed" if self.how.startswith("mapping") else "same issue"


@dataclass(slots=True)
class IssueSide:
    """What one text says on an issue: its points there and their stances."""

    points: list[tuple[DocumentPoint, Stance]]


@dataclass(slots=True)
class Comparison:
    """Two documents side by side, aligned, and per issue what each says."""

    left: Document
    right: Document
    rows: list[Aligned]
    issues: list[tuple[Issue, IssueSide, IssueSide]]

    @property
    def counts(self) -> dict[str, int]:
        """How many rows of each label ("changed", "new", ...)."""
        tally: dict[str, int] = defaultdict(int)
        for row in self.rows:
            tally[row.label] += 1
        return dict(tally)


def _issue_ids(point: DocumentPoint) -> set[int]:
    return {tag.issue_id for tag in point.quote.issue_tags}


def compare(session: Session, *, left: Document, right: Document) -> Comparison:
    """Align two documents' points: by the lineage mapping between them (either way round), then
    by a shared issue (the most alike text first); the rest are removed (left) or new (right)."""
    pairs: dict[int, tuple[int, str]] = {}  # right point id -> (left point id, how)
    left_ids = {p.id for p in left.points}
    right_ids = {p.id for p in right.points}
    for row in session.scalars(
        select(PointMapping).where(
            PointMapping.point_id.in_(left_ids | right_ids),
            PointMapping.predecessor_point_id.in_(left_ids | right_ids),
        )
    ):
        if row.point_id in right_ids and row.predecessor_point_id in left_ids:
            pairs.setdefault(row.point_id, (row.predecessor_point_id, row.relation.value))
        elif row.point_id in left_ids and row.predecessor_point_id in right_ids:
            pairs.setdefault(row.predecessor_point_id, (row.point_id, row.relation.value))
    taken_left = {lid for lid, _how in pairs.values()}
    by_issue = sorted(
        (
            (-likeness(lp.quote.text, rp.quote.text), rp.position, lp.position, lp, rp)
            for rp in right.points
            if rp.id not in pairs
            for lp in left.points
            if lp.id not in taken_left and _issue_ids(lp) & _issue_ids(rp)
        ),
        key=lambda c: c[:3],
    )
    for _score, _rpos, _lpos, lp, rp in by_issue:
        if rp.id in pairs or lp.id in taken_left:
            continue
        pairs[rp.id] = (lp.id, "issue")
        taken_left.add(lp.id)
    right_by_left = {lid: rp for rp in right.points for lid, _how in [pairs.get(rp.id, (0, ""))]}
    rows: list[Aligned] = []
    placed: set[int] = set()
    for lp in left.points:  # left order first, each right point beside its partner
        partner = right_by_left.get(lp.id)
        if partner is None:
            rows.append(Aligned(lp, None, "none", [Piece(old=lp.quote.text)]))
        else:
            how = pairs[partner.id][1]
            rows.append(Aligned(lp, partner, ("mapping:" + how) if how != "issue" else how,
                                word_diff(lp.quote.text, partner.quote.text)))  # fmt: skip
            placed.add(partner.id)
    for rp in right.points:
        if rp.id not in placed:
            index = _insertion_point(rows, rp, right.points)
            rows.insert(index, Aligned(None, rp, "none", [Piece(new=rp.quote.text)]))
    return Comparison(left, right, rows, _per_issue(left, right))


def _insertion_point(rows: list[Aligned], point: DocumentPoint, order: list[DocumentPoint]) -> int:
    """Where a new right-hand point goes: after the row of the right point before it."""
    before = [p.id for p in order if p.position < point.position]
    for index in range(len(rows) - 1, -1, -1):
        right = rows[index].right
        if right is not None and right.id in before:
            return index + 1
    return len(rows) if not before else 0


def _per_issue(left: Document, right: Document) -> list[tuple[Issue, IssueSide, IssueSide]]:
    issues: dict[int, Issue] = {}
    sides: dict[int, tuple[IssueSide, IssueSide]] = {}
    for index, document in enumerate((left, right)):
        for point in document.points:
            for tag in point.quote.issue_tags:
                issues[tag.issue_id] = tag.issue
                pair = sides.setdefault(tag.issue_id, (IssueSide([]), IssueSide([])))
                pair[index].points.append((point, tag.stance))
    ordered = sorted(issues.values(), key=lambda i: (i.sort_order, i.id))
    return [(issue, *sides[issue.id]) for issue in ordered]


# --- Reactions -------------------------------------------------------------------------------


def add_reaction(
    session: Session,
    *,
    actor: User | None,
    quote: Quote,
    document: Document,
    point: DocumentPoint | None = None,
    stance: Stance | None = None,
) -> DocumentReaction:
    """Record that `quote` reacts to `document` (or one of its points), accepting or rejecting."""
    errors: dict[str, str] = {}
    if point is not None and point.document_id != document.id:
        errors["point"] = "Choose a point of this document."
    if any(p.quote_id == quote.id for p in document.points):
        errors["quote"] = "A point of the document cannot react to it."
    duplicate = session.scalar(
        select(DocumentReaction.id).where(
            DocumentReaction.quote_id == quote.id,
            DocumentReaction.document_id == document.id,
            DocumentReaction.point_id.is_(None)
            if point is None
            else DocumentReaction.point_id == point.id,
        )
    )
    if duplicate is not None:
        errors["quote"] = "This quote is already recorded as a reaction to it."
    if errors:
        raise ValidationFailed(errors)
    reaction = DocumentReaction(
        quote_id=quote.id, document_id=document.id, point_id=point.id if point else None,
        stance=stance,
    )  # fmt: skip
    session.add(reaction)
    audit.record(session, actor=actor, action="create", entity=reaction)
    return reaction


@dataclass(slots=True)
class Reactions:
    """The reactions to a document: per party, over time; per point, who accepted or rejected."""

    by_party: list[tuple[Party, list[DocumentReaction]]]
    by_point: dict[int, list[DocumentReaction]]


def reactions(session: Session, *, document: Document) -> Reactions:
    """Every quote reacting to `document` or its points, oldest first (a fixed number of reads)."""
    rows = session.scalars(
        select(DocumentReaction)
        .join(Quote, Quote.id == DocumentReaction.quote_id)
        .where(DocumentReaction.document_id == document.id)
        .order_by(Quote.said_on, Quote.id)
        .options(
            selectinload(DocumentReaction.quote).options(
                selectinload(Quote.party), selectinload(Quote.speaker), selectinload(Quote.source)
            )
        )
    ).all()
    parties: dict[int, tuple[Party, list[DocumentReaction]]] = {}
    points: dict[int, list[DocumentReaction]] = defaultdict(list)
    for row in rows:
        party = row.quote.party
        parties.setdefault(party.id, (party, []))[1].append(row)
        if row.point_id is not None:
            points[row.point_id].append(row)
    by_party = sorted(parties.values(), key=lambda pair: (pair[0].sort_order, pair[0].name))
    return Reactions(by_party, dict(points))


def point_choices(session: Session, *, document: Document) -> list[tuple[int, str]]:
    """A document's points as (id, "Point 6: text…") for the reaction form."""
    return [(p.id, f"Point {p.label}: {p.quote.text[:70]}") for p in document.points]


def find_point(session: Session, *, point_id: int) -> DocumentPoint:
    """The point with this id (NotFound otherwise)."""
    point = session.get(DocumentPoint, point_id)
    if point is None:
        raise NotFound("point", point_id)
    return point


def update_status(
    session: Session,
    *,
    actor: User | None,
    document: Document,
    status: DocumentStatus,
    confirmation: QuoteStatus,
    expected_version: int,
) -> Document:
    """Move a document on (e.g. superseded) or change what we know of its text: the points, as
    quotes, take the new confirmation. EditConflict when it changed since the form was read."""
    if document.version != expected_version:
        raise EditConflict(document)
    with catalog.versioned_write(session, document):
        before = audit.snapshot(document)
        document.status, document.confirmation = status, confirmation
        audit.record(session, actor=actor, action="update", entity=document, before=before)
        for point in document.points:
            quote = point.quote
            if quote.status != confirmation and quote.status != QuoteStatus.RETRACTED:
                was = audit.snapshot(quote)
                quote.status = confirmation
                audit.record(session, actor=actor, action="update", entity=quote, before=was)
    return document


def party_documents(session: Session, *, party: Party) -> list[tuple[Document, PartyRole]]:
    """The documents a party wrote or endorses, newest tabled first (one query)."""
    rows = session.execute(
        select(Document, DocumentParty.role)
        .join(DocumentParty, DocumentParty.document_id == Document.id)
        .where(DocumentParty.party_id == party.id)
        .order_by(Document.tabled_on.desc(), Document.id.desc())
    )
    return [(document, role) for document, role in rows]


def issue_points(session: Session, *, issue: Issue) -> list[tuple[Document, str, Stance]]:
    """Every point bearing on an issue: its document, label and stance, newest text first."""
    rows = session.execute(
        select(Document, DocumentPoint.label, QuoteIssue.stance)
        .join(DocumentPoint, DocumentPoint.document_id == Document.id)
        .join(QuoteIssue, QuoteIssue.quote_id == DocumentPoint.quote_id)
        .where(QuoteIssue.issue_id == issue.id)
        .order_by(Document.tabled_on.desc(), Document.id.desc(), DocumentPoint.position)
    )
    return [(document, label, stance) for document, label, stance in rows]


def cell_points(
    session: Session, *, party: Party, issue: Issue, as_of: date
) -> list[tuple[Document, str, Stance]]:
    """The points bearing on a cell: of documents the party wrote or endorses, tabled by
    `as_of`, tagged with the issue; with document, label and stance, newest text first."""
    rows = session.execute(
        select(Document, DocumentPoint.label, QuoteIssue.stance)
        .join(DocumentPoint, DocumentPoint.document_id == Document.id)
        .join(QuoteIssue, QuoteIssue.quote_id == DocumentPoint.quote_id)
        .where(
            QuoteIssue.issue_id == issue.id,
            Document.tabled_on <= as_of,
            Document.id.in_(
                select(DocumentParty.document_id).where(DocumentParty.party_id == party.id)
            ),
        )
        .order_by(Document.tabled_on.desc(), Document.id.desc(), DocumentPoint.position)
    )
    return [(document, label, stance) for document, label, stance in rows]
