"""The briefing's bottom line: a one-minute summary computed from the briefing's own data.

What changed since the `since` date; where the selected parties converge and where they are
furthest apart (read across the matrix by `matrix_view.read_across`, as the web matrix's
agreement row reads it); which cells rest only on unconfirmed or denied evidence; and the
freshest and stalest evidence. Each statement names the issue (the template links it to its
section) and the quotes it rests on (cited like every other quote in the document).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from app.models import Issue, Quote, Stance
from app.services.matrix_view import ACCEPTING, ReadAcross, read_across

if TYPE_CHECKING:
    from app.services.briefing import Briefing, ChangeItem, PartyStance

SUMMARY_LINES = 8
"""Most lines under each heading of the summary; the rest are counted and left to the body."""


@dataclass(slots=True)
class IssueReading:
    """One issue read across the top-level parties: who accepts (or on a condition), who rejects."""

    issue: Issue
    accepting: list[PartyStance]
    rejecting: list[PartyStance]

    def cited(self) -> list[Quote]:
        """The strongest quote of each party named."""
        return [s.quotes[0] for s in self.accepting + self.rejecting if s.quotes]


@dataclass(slots=True)
class CellNote:
    """One cell the summary points at, with the quote it cites."""

    issue: Issue
    stance: PartyStance
    quote: Quote | None


@dataclass(slots=True)
class Summary:
    """The bottom line, in the order the first page prints it."""

    across: ReadAcross
    changes: list[ChangeItem] = field(default_factory=list)
    converge: list[IssueReading] = field(default_factory=list)
    apart: list[IssueReading] = field(default_factory=list)
    weak: list[CellNote] = field(default_factory=list)
    freshest: CellNote | None = None
    stalest: CellNote | None = None
    stale_count: int = 0
    limit: int = SUMMARY_LINES

    def cited(self) -> list[Quote]:
        """Every quote the summary cites, in the order it cites them."""
        quotes = [c.quote for c in self.changes[: self.limit] if c.quote is not None]
        for reading in self.converge[: self.limit] + self.apart[: self.limit]:
            quotes.extend(reading.cited())
        notes = [*self.weak[: self.limit], self.freshest, self.stalest]
        quotes.extend(n.quote for n in notes if n is not None and n.quote is not None)
        return quotes


def build_summary(briefing: Briefing) -> Summary:
    """The summary of a gathered briefing (its sections must be filled)."""
    summary = Summary(across=read_across(briefing.matrix), changes=list(briefing.changes))
    dated: list[CellNote] = []
    for section in briefing.sections:
        word = summary.across.agreement.get(section.issue.id)
        top = [s for s in section.stances if _top_level(s, briefing)]
        if word in ("deal", "apart"):
            reading = IssueReading(
                issue=section.issue,
                accepting=[s for s in top if _stance(s) in ACCEPTING],
                rejecting=[s for s in top if _stance(s) == Stance.REJECTS],
            )
            (summary.converge if word == "deal" else summary.apart).append(reading)
        for stance in section.stances:
            cell = stance.cell
            if cell is None or not cell.assessed:
                continue
            if cell.confirmation in ("unconfirmed", "denied"):
                quote = stance.quotes[0] if stance.quotes else None
                summary.weak.append(CellNote(section.issue, stance, quote))
            if cell.latest_evidence_on is not None:
                dated.append(CellNote(section.issue, stance, stance.newest))
            summary.stale_count += cell.stale
    if dated:
        # Ties go to the first in the document's order (issues, then parties).
        summary.freshest = max(reversed(dated), key=_newest_day)
        summary.stalest = min(dated, key=_newest_day)
    # Furthest apart first: the issues where most parties stand on either side.
    summary.apart.sort(key=lambda r: -min(len(r.accepting), len(r.rejecting)))
    return summary


def _newest_day(note: CellNote) -> int:
    day = note.stance.cell.latest_evidence_on if note.stance.cell else None
    return day.toordinal() if day else 0


def _stance(stance: PartyStance) -> Stance | None:
    return stance.cell.stance if stance.cell is not None and stance.cell.assessed else None


def _top_level(stance: PartyStance, briefing: Briefing) -> bool:
    parent = stance.party.parent_id
    return parent is None or all(p.id != parent for p in briefing.matrix.parties)
