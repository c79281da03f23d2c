"""The briefing's "texts on the table": the current version of each live document bearing on
the briefing's issues, what changed from its predecessor point by point, and the reactions of
the briefing's parties to it.

A document is on the table on the as-of date when it was tabled by then, is not withdrawn, and
is not superseded by a version tabled by then (a text superseded later was still current).
A fixed number of reads, whatever the number of documents and points.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.models import (
    Document,
    DocumentParty,
    DocumentPoint,
    DocumentReaction,
    DocumentStatus,
    Party,
    PartyRole,
    PointMapping,
    PointRelation,
    Quote,
    QuoteStatus,
    Stance,
)
from app.services.document_text import word_diff
from app.services.evidence import citation_loading
from app.services.matrix import known_before

REACTIONS_PER_PARTY = 3
"""Most reactions printed per party and document, newest first; the rest are counted."""
CHANGED_SHOWN = 5
"""Most changed points spelled out per document; the rest are counted."""
DIFF_WORDS = 12
"""Most words of each side of a change quoted in a changed point's line."""


@dataclass(slots=True)
class PointChange:
    """A point of the current version that changes its predecessor's, in brief."""

    label: str
    was: list[str]
    relation: PointRelation
    edits: list[tuple[str, str]]
    """The changed runs of words (old, new); one side empty when words were only cut or added."""

    @property
    def heading(self) -> str:
        """ "Point 6 (was 7)", "Point 3 (merges 3 + 4)"."""
        was = " + ".join(self.was)
        if self.relation == PointRelation.MERGED:
            return f"Point {self.label} (merges {was})"
        if self.relation == PointRelation.SPLIT:
            return f"Point {self.label} (split from {was})"
        return f"Point {self.label}" + (f" (was {was})" if was != self.label else "")

    @property
    def words(self) -> str:
        """The changes in brief: “600,000” → “800,000”; adds “…”; cuts “…”."""
        parts = []
        for old, new in self.edits:
            if old and new:
                parts.append(f"“{old}” → “{new}”")
            elif new:
                parts.append(f"adds “{new}”")
            else:
                parts.append(f"cuts “{old}”")
        return "; ".join(parts) or "reworded"


@dataclass(slots=True)
class PartyReactions:
    """A party's reactions to a document, newest first (at most REACTIONS_PER_PARTY), and how
    many more there are."""

    party: Party
    reactions: list[tuple[DocumentReaction, str]]
    """Each reaction with the label of the point it answers ("" for the whole text)."""
    more: int = 0


@dataclass(slots=True)
class TableText:
    """One text on the table: who stands behind it, what changed from its predecessor, and
    who reacted how."""

    document: Document
    authors: list[Party]
    endorsers: list[Party]
    predecessor: Document | None
    kept: int = 0
    changed: list[PointChange] = field(default_factory=list)
    new: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    reactions: list[PartyReactions] = field(default_factory=list)

    @property
    def status(self) -> str:
        """The text's status; one superseded after the as-of date was current then."""
        status = self.document.status
        return "superseded later" if status == DocumentStatus.SUPERSEDED else status.value

    @property
    def points(self) -> int:
        """How many points the text has."""
        return len(self.document.points)

    @property
    def counts(self) -> str:
        """The change from the predecessor in numbers: "4 kept, 2 changed, 1 new, 3 removed"."""
        parts = [(self.kept, "kept"), (len(self.changed), "changed"), (len(self.new), "new")]
        parts.append((len(self.removed), "removed"))
        return ", ".join(f"{n} {word}" for n, word in parts)

    @property
    def changed_shown(self) -> list[PointChange]:
        """The changed points spelled out (the first CHANGED_SHOWN)."""
        return self.changed[:CHANGED_SHOWN]

    def cited(self) -> list[Quote]:
        """The reactions' quotes, in the order they are printed."""
        return [r.quote for group in self.reactions for r, _label in group.reactions]


def texts_on_table(
    session: Session,
    *,
    as_of: date,
    known_on: date | None,
    issue_ids: Collection[int],
    parties: list[Party],
) -> list[TableText]:
    """The texts on the table on `as_of` that bear on one of `issue_ids` (or, with no point
    tagged at all, that one of `parties` is behind or reacted to), oldest tabled first."""
    stmt = select(Document).where(
        Document.tabled_on <= as_of, Document.status != DocumentStatus.WITHDRAWN
    )
    if known_on is not None:
        stmt = stmt.where(Document.created_at < known_before(known_on))
    tabled = list(
        session.scalars(
            stmt.order_by(Document.tabled_on, Document.id).options(
                selectinload(Document.parties).selectinload(DocumentParty.party),
                selectinload(Document.source),
                selectinload(Document.points)
                .selectinload(DocumentPoint.quote)
                .selectinload(Quote.issue_tags),
            )
        )
    )
    followed = {d.derived_from_id for d in tabled if d.derived_from_id is not None}
    live = [
        d
        for d in tabled
        if not (d.status == DocumentStatus.SUPERSEDED and d.id in followed)
        and not (d.id in followed and _superseded_by_version(d, tabled))
    ]
    reactions = _reactions(session, live, as_of=as_of, known_on=known_on, parties=parties)
    shown_party_ids = {p.id for p in parties}
    wanted = set(issue_ids)
    chosen = []
    for document in live:
        tags = {t.issue_id for p in document.points for t in p.quote.issue_tags}
        behind = {link.party_id for link in document.parties}
        if tags & wanted or (not tags and (behind & shown_party_ids or document.id in reactions)):
            chosen.append(document)
    predecessors = _predecessors(session, chosen)
    mappings = _mappings(session, chosen)
    texts = []
    for document in chosen:
        text = TableText(
            document=document,
            authors=[link.party for link in document.parties if link.role == PartyRole.AUTHORING],
            endorsers=[link.party for link in document.parties if link.role == PartyRole.ENDORSING],
            predecessor=predecessors.get(document.derived_from_id or 0),
            reactions=reactions.get(document.id, []),
        )
        if text.predecessor is not None:
            _compare(text, text.predecessor, mappings)
        texts.append(text)
    return texts


def _superseded_by_version(document: Document, tabled: list[Document]) -> bool:
    """True when a later text of the same authors derives from `document` (a new version,
    not another party's answer to it)."""
    authors = {p.party_id for p in document.parties if p.role == PartyRole.AUTHORING}
    return any(
        other.derived_from_id == document.id
        and authors
        and authors <= {p.party_id for p in other.parties if p.role == PartyRole.AUTHORING}
        for other in tabled
    )


def _predecessors(session: Session, documents: list[Document]) -> dict[int, Document]:
    ids = {d.derived_from_id for d in documents if d.derived_from_id is not None}
    if not ids:
        return {}
    found = session.scalars(
        select(Document)
        .where(Document.id.in_(ids))
        .options(selectinload(Document.points).selectinload(DocumentPoint.quote))
    )
    return {d.id: d for d in found}


def _mappings(session: Session, documents: list[Document]) -> dict[int, list[PointMapping]]:
    point_ids = [p.id for d in documents if d.derived_from_id is not None for p in d.points]
    by_point: dict[int, list[PointMapping]] = defaultdict(list)
    if point_ids:
        for row in session.scalars(
            select(PointMapping).where(PointMapping.point_id.in_(point_ids))
        ):
            by_point[row.point_id].append(row)
    return by_point


def _compare(
    text: TableText, predecessor: Document, mappings: dict[int, list[PointMapping]]
) -> None:
    """Fill in kept, changed, new and removed from the lineage mapping (an unmapped point of
    the version counts as new; a predecessor's point no one continues, as removed)."""
    theirs = {p.id: p for p in predecessor.points}
    used: set[int] = set()
    for point in text.document.points:
        rows = [
            r
            for r in mappings.get(point.id, [])
            if r.predecessor_point_id is None or r.predecessor_point_id in theirs
        ]
        olds = [theirs[r.predecessor_point_id] for r in rows if r.predecessor_point_id]
        used.update(p.id for p in olds)
        if not olds:
            text.new.append(point.label)
            continue
        relation = rows[0].relation
        before = " ".join(p.quote.text for p in olds)
        edits = [
            (_clip(piece.old), _clip(piece.new))
            for piece in word_diff(before, point.quote.text)
            if piece.changed
        ]
        if relation == PointRelation.KEPT and not edits:
            text.kept += 1
        else:
            text.changed.append(
                PointChange(point.label, [p.label for p in olds], relation, edits[:3])
            )
    text.removed = [p.label for p in predecessor.points if p.id not in used]


def _clip(words: str) -> str:
    parts = words.split()
    return " ".join(parts[:DIFF_WORDS]) + (" …" if len(parts) > DIFF_WORDS else "")


def _reactions(
    session: Session,
    documents: list[Document],
    *,
    as_of: date,
    known_on: date | None,
    parties: list[Party],
) -> dict[int, list[PartyReactions]]:
    """Per document, the reactions of `parties` said by `as_of`, grouped by party in the
    briefing's party order (retracted quotes left out)."""
    if not documents or not parties:
        return {}
    stmt = (
        select(DocumentReaction)
        .join(Quote, Quote.id == DocumentReaction.quote_id)
        .where(
            DocumentReaction.document_id.in_([d.id for d in documents]),
            Quote.party_id.in_([p.id for p in parties]),
            Quote.said_on <= as_of,
            Quote.status != QuoteStatus.RETRACTED,
        )
        .order_by(Quote.said_on.desc(), Quote.id.desc())
        .options(selectinload(DocumentReaction.quote).options(*citation_loading()))
    )
    if known_on is not None:
        stmt = stmt.where(Quote.created_at < known_before(known_on))
    labels = {p.id: p.label for d in documents for p in d.points}
    order = {p.id: n for n, p in enumerate(parties)}
    grouped: dict[int, dict[int, PartyReactions]] = defaultdict(dict)
    by_id = {p.id: p for p in parties}
    for row in session.scalars(stmt):
        party_id = row.quote.party_id
        group = grouped[row.document_id].setdefault(party_id, PartyReactions(by_id[party_id], []))
        if len(group.reactions) < REACTIONS_PER_PARTY:
            group.reactions.append((row, labels.get(row.point_id or 0, "")))
        else:
            group.more += 1
    return {
        document_id: sorted(groups.values(), key=lambda g: order[g.party.id])
        for document_id, groups in grouped.items()
    }


def reaction_words(reaction: DocumentReaction, label: str) -> str:
    """What a reaction does, in words: "rejects point 1", "accepts the text", "on point 6"."""
    target = f"point {label}" if label else "the text"
    if reaction.stance is None:
        return f"comments on {target}"
    verbs = {
        Stance.ACCEPTS: "accepts",
        Stance.CONDITIONAL: "accepts on a condition",
        Stance.AMBIGUOUS: "is ambiguous on",
        Stance.REJECTS: "rejects",
    }
    return f"{verbs[reaction.stance]} {target}"
