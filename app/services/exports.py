"""CSV exports of quotes, positions and the matrix, safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from app.models import Position, Quote
from app.services.matrix import Matrix
from app.services.quote_views import QuoteView

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> str:
    """A cell's text, with a leading apostrophe when a spreadsheet would read it as a formula.

    Text already starting with apostrophes before a formula character gets one more, so that
    `restore` gives back exactly what was neutralised (an exported CSV imports unchanged)."""
    text = "" if value is None else str(value)
    return "'" + text if text.lstrip("'").startswith(FORMULA_STARTS) else text


def restore(text: str) -> str:
    """The text `neutralise` was given: an import reading a CSV that an export wrote."""
    neutralised = text.startswith("'") and text[1:].lstrip("'").startswith(FORMULA_STARTS)
    return text[1:] if neutralised else text


def to_csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """UTF-8 CSV text (with a byte-order mark so spreadsheets detect UTF-8) and a header row."""
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([neutralise(value) for value in row])
    return buffer.getvalue()


QUOTE_HEADER = [
    "id", "said_on", "published_on", "party", "speaker", "speaker_role", "kind", "status",
    "text", "language", "translated", "issues", "confirms_or_denies", "source_url",
    "source_title", "source_outlet", "source_published_on", "source_kind", "source_tier", "note",
    "round",
]  # fmt: skip


def quotes_csv(quotes: Iterable[Quote | QuoteView]) -> str:
    """Quotes with their speaker, tags and source, one row each."""
    return to_csv(
        QUOTE_HEADER,
        (
            [
                q.id,
                q.said_on,
                q.published_on or "",
                q.party.slug,
                q.speaker.name if q.speaker else "",
                q.role_then,
                q.kind.value,
                q.status.value,
                q.text,
                q.language,
                q.is_translation,
                "; ".join(f"{t.issue.slug}:{t.stance.value}" for t in q.issue_tags),
                q.confirms_or_denies_id or "",
                q.source.url,
                q.source.title,
                q.source.outlet,
                q.source.published_on or "",
                q.source.kind.value,
                q.source.tier.value,
                q.note,
                q.round.slug if q.round else "",
            ]  # fmt: skip
            for q in quotes
        ),
    )


POSITION_HEADER = [
    "id", "party", "issue", "stance", "condition", "effective_from", "rationale", "recorded_at",
    "evidence_quote_ids", "round",
]  # fmt: skip


def positions_csv(positions: Iterable[Position]) -> str:
    """Positions, one row each, with the ids of the quotes they cite."""
    return to_csv(
        POSITION_HEADER,
        (
            [
                p.id,
                p.party.slug,
                p.issue.slug,
                p.stance.value,
                p.condition or "",
                p.effective_from,
                p.rationale,
                p.recorded_at.isoformat(),
                " ".join(str(q.id) for q in sorted(p.evidence, key=lambda q: q.id)),
                p.round.slug if p.round else "",
            ]  # fmt: skip
            for p in positions
        ),
    )


MATRIX_HEADER = [
    "as_of", "party", "party_name", "issue", "issue_title", "state", "stance", "condition",
    "since", "restated_on", "evidence_count", "latest_evidence_on", "confirmation", "stale",
    "members", "unassessed_quotes",
]  # fmt: skip


def matrix_csv(grid: Matrix) -> str:
    """One row per party and issue: its state (position, split, not_assessed or none), the stance
    with the start of its run, and a bloc's members as "slug:stance; slug:stance"."""
    slugs = {p.id: p.slug for p in grid.parties}
    rows = []
    for party in grid.parties:
        for issue in grid.issues:
            cell = grid.cell(party, issue)
            if cell is None:
                rows.append(
                    [grid.as_of, party.slug, party.name, issue.slug, issue.title, "none",
                     "", "", "", "", 0, "", "", "", "", 0]
                )  # fmt: skip
                continue
            members = "; ".join(
                f"{slugs.get(pid, pid)}:{stance.value}" for pid, stance in cell.members
            )
            rows.append(
                [
                    grid.as_of,
                    party.slug,
                    party.name,
                    issue.slug,
                    issue.title,
                    cell.state,
                    cell.stance.value if cell.stance else "",
                    cell.condition or "",
                    cell.since or "",
                    cell.restated_on or "",
                    cell.evidence_count,
                    cell.latest_evidence_on or "",
                    cell.confirmation or "",
                    cell.stale if cell.assessed else "",
                    members,
                    cell.unassessed,
                ]  # fmt: skip
            )
    return to_csv(MATRIX_HEADER, rows)
