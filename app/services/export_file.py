"""Export of the whole database in the import's shapes: YAML or JSON like seeds/, or quotes as CSV
rows (the columns `peacetalks import` reads), so an export imports back unchanged."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.models import (
    Document,
    DocumentPoint,
    DocumentReaction,
    Issue,
    Party,
    PointMapping,
    Position,
    Quote,
    QuoteIssue,
    Round,
    RoundParty,
    Source,
    Speaker,
    SpeakerRole,
)
from app.services import catalog, exports, themes
from app.services.csv_rows import CSV_COLUMNS
from app.services.speakers import FIRST_DAY


def _day(value: date | None) -> str | None:
    return value.isoformat() if value else None


def export_document(session: Session) -> dict[str, Any]:
    """Everything needed to rebuild the evidence: the seeds shape, in a stable order.

    Quote refs are positions in that order, so exporting a database rebuilt from an export
    gives the same document again.
    """
    # Blocs before their members, so an import can resolve every parent as it goes.
    parties = catalog.order_as_tree(
        list(session.scalars(select(Party).order_by(Party.sort_order, Party.id)))
    )
    slug = {p.id: p.slug for p in parties}
    issues = list(session.scalars(select(Issue).order_by(Issue.sort_order, Issue.id)))
    issue_slug = {i.id: i.slug for i in issues}
    speakers = list(
        session.scalars(select(Speaker).order_by(Speaker.id).options(selectinload(Speaker.aliases)))
    )
    speaker_name = {s.id: s.name for s in speakers}
    roles: dict[int, list[dict[str, str | None]]] = {}
    for row in session.scalars(select(SpeakerRole).order_by(SpeakerRole.held_from)):
        # A role from FIRST_DAY is the one held before the first dated role: no date to give.
        held_from = None if row.held_from == FIRST_DAY else row.held_from.isoformat()
        roles.setdefault(row.speaker_id, []).append({"role": row.role, "held_from": held_from})
    sources = list(session.scalars(select(Source).order_by(Source.id)))
    source_url = {s.id: s.url for s in sources}
    round_slug = dict(session.execute(select(Round.id, Round.slug)).all())
    quotes = list(
        session.scalars(select(Quote).order_by(Quote.id).options(selectinload(Quote.issue_tags)))
    )
    ref = {q.id: f"q{n + 1}" for n, q in enumerate(quotes)}
    positions = list(
        session.scalars(
            select(Position)
            .order_by(Position.effective_from, Position.recorded_at, Position.id)
            .options(selectinload(Position.evidence))
        )
    )

    def tag_order(tag: QuoteIssue) -> str:
        return issue_slug[tag.issue_id]

    return {
        "themes": [
            {"slug": t.slug, "title": t.title, "sort_order": t.sort_order}
            for t in themes.list_themes(session)
        ],
        "parties": [
            {"slug": p.slug, "name": p.name, "short_name": p.short_name, "kind": p.kind.value,
             "parent": slug.get(p.parent_id) if p.parent_id else None, "sort_order": p.sort_order}
            for p in parties
        ],
        "issues": [
            {"slug": i.slug, "title": i.title, "proposition": i.proposition,
             "description": i.description, "sort_order": i.sort_order, "theme": i.theme}
            for i in issues
        ],
        "speakers": [
            {"name": s.name, "role": s.role, "party": slug[s.party_id],
             "aliases": [a.name for a in s.aliases], "roles": roles.get(s.id, [])}
            for s in speakers
        ],
        "sources": [
            {"url": s.url, "title": s.title, "outlet": s.outlet, "published_on": _day(s.published_on),
             "kind": s.kind.value, "tier": s.tier.value}
            for s in sources
        ],
        "quotes": [
            {"ref": ref[q.id], "text": q.text, "kind": q.kind.value, "said_on": q.said_on.isoformat(),
             "published_on": _day(q.published_on),
             "speaker": speaker_name[q.speaker_id] if q.speaker_id else None,
             "party": slug[q.party_id], "source": source_url[q.source_id], "language": q.language,
             "translated": q.is_translation, "status": q.status.value,
             "confirms_or_denies": ref.get(q.confirms_or_denies_id) if q.confirms_or_denies_id else None,
             "note": q.note or None,
             "round": round_slug[q.round_id] if q.round_id else None,
             "issues": [{"issue": issue_slug[t.issue_id], "stance": t.stance.value}
                        for t in sorted(q.issue_tags, key=tag_order)]}
            for q in quotes
        ],
        "positions": [
            {"party": slug[p.party_id], "issue": issue_slug[p.issue_id], "stance": p.stance.value,
             "condition": p.condition, "effective_from": p.effective_from.isoformat(),
             "rationale": p.rationale, "evidence": sorted(ref[q.id] for q in p.evidence),
             "recorded_at": _utc(p.recorded_at),
             "round": round_slug[p.round_id] if p.round_id else None}
            for p in positions
        ],
        **_documents_and_rounds(
            session, ref=ref, slug=slug, source_url=source_url, speaker_name=speaker_name
        ),
    }  # fmt: skip


def _documents_and_rounds(
    session: Session,
    *,
    ref: dict[int, str],
    slug: dict[int, str],
    source_url: dict[int, str],
    speaker_name: dict[int, str],
) -> dict[str, list[dict[str, Any]]]:
    """The documents (points as quote refs, lineage by label, reactions) and the rounds."""
    documents = list(
        session.scalars(
            select(Document)
            .order_by(Document.id)
            .options(selectinload(Document.parties), selectinload(Document.points))
        )
    )
    doc_slug = {d.id: d.slug for d in documents}
    label = {p.id: p.label for d in documents for p in d.points}
    mapped: dict[int, list[PointMapping]] = {}
    for row in session.scalars(select(PointMapping).order_by(PointMapping.id)):
        mapped.setdefault(row.point_id, []).append(row)
    reactions: dict[int, list[DocumentReaction]] = {}
    for reaction in session.scalars(select(DocumentReaction).order_by(DocumentReaction.id)):
        reactions.setdefault(reaction.document_id, []).append(reaction)
    rounds = list(
        session.scalars(
            select(Round)
            .order_by(Round.starts_on, Round.id)
            .options(
                selectinload(Round.parties).selectinload(RoundParty.delegates),
                selectinload(Round.documents),
            )
        )
    )

    def point(p: DocumentPoint) -> dict[str, Any]:
        rows = mapped.get(p.id, [])
        return {
            "label": p.label, "quote": ref[p.quote_id],
            "maps_to": [label[r.predecessor_point_id] for r in rows if r.predecessor_point_id],
            "relation": rows[0].relation.value if rows else None,
        }  # fmt: skip

    return {
        "documents": [
            {"slug": d.slug, "title": d.title, "kind": d.kind.value, "status": d.status.value,
             "confirmation": d.confirmation.value, "tabled_on": d.tabled_on.isoformat(),
             "public_on": _day(d.public_on), "language": d.language,
             "translated": d.is_translation,
             "derived_from": doc_slug[d.derived_from_id] if d.derived_from_id else None,
             "source": source_url[d.source_id], "note": d.note or None,
             "parties": [{"party": slug[p.party_id], "role": p.role.value}
                         for p in sorted(d.parties, key=lambda p: (p.role.value, p.party_id))],
             "points": [point(p) for p in d.points],
             "reactions": [{"quote": ref[r.quote_id],
                            "point": label[r.point_id] if r.point_id else None,
                            "stance": r.stance.value if r.stance else None}
                           for r in reactions.get(d.id, [])]}
            for d in documents
        ],
        "rounds": [
            {"slug": r.slug, "name": r.name, "starts_on": r.starts_on.isoformat(),
             "ends_on": r.ends_on.isoformat(), "venue": r.venue, "format": r.format.value,
             "outcome": r.outcome, "source": source_url[r.source_id] if r.source_id else None,
             "parties": [{"party": slug[p.party_id], "delegation": p.delegation,
                          "delegates": sorted(speaker_name[d.speaker_id] for d in p.delegates)}
                         for p in sorted(r.parties, key=lambda p: p.party_id)],
             "documents": [d.slug for d in r.documents]}
            for r in rounds
        ],
    }  # fmt: skip


def _utc(value: datetime) -> str:
    from app.services.users import as_utc

    return as_utc(value).isoformat()


def export_text(session: Session, fmt: str) -> str:
    """The export as YAML or JSON text, or the quotes as CSV rows (CSV_COLUMNS)."""
    document = export_document(session)
    if fmt == "json":
        return json.dumps(document, ensure_ascii=False, indent=2) + "\n"
    if fmt == "yaml":
        return yaml.safe_dump(document, allow_unicode=True, sort_keys=False, width=100)
    if fmt == "csv":
        return _quotes_csv(document)
    raise ValueError(f"unknown format {fmt!r}")


def _quotes_csv(document: dict[str, Any]) -> str:
    sources = {s["url"]: s for s in document["sources"]}
    speakers = {(s["party"], s["name"]): s for s in document["speakers"]}
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for quote in document["quotes"]:
        source = sources[quote["source"]]
        row = {
            "text": quote["text"],
            "kind": quote["kind"],
            "said_on": quote["said_on"],
            "published_on": quote["published_on"] or "",
            "party": quote["party"],
            "speaker": quote["speaker"] or "",
            "speaker_role": _role_then(speakers.get((quote["party"], quote["speaker"])), quote),
            "source_url": source["url"],
            "source_title": source["title"],
            "source_outlet": source["outlet"],
            "source_published_on": source["published_on"] or "",
            "source_kind": source["kind"],
            "source_tier": source["tier"],
            "language": quote["language"],
            "translated": "true" if quote["translated"] else "false",
            "status": quote["status"],
            "note": quote["note"] or "",
            "issues": "; ".join(f"{t['issue']}:{t['stance']}" for t in quote["issues"]),
            "position_rationale": "",
        }  # fmt: skip
        # Safe to open in a spreadsheet, as the web CSVs are; reading it back undoes this.
        writer.writerow({name: exports.neutralise(value) for name, value in row.items()})
    return buffer.getvalue()


def _role_then(speaker: dict[str, Any] | None, quote: dict[str, Any]) -> str:
    """The role the quote's speaker held when it was said, by their dated roles (else their
    one role), as every other view of a quote gives it."""
    if speaker is None:
        return ""
    held = [r["role"] for r in speaker["roles"] if (r["held_from"] or "") <= quote["said_on"]]
    return str(held[-1] if held else speaker["role"])
