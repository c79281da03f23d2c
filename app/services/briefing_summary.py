"""The briefing's bottom line: a one-minute summary computed from the briefing's own data.

What changed since the `since` date; where the selected parties converge and where they are
furthest apart (read across the matrix by `matrix_view.read_across`, as the web matrix's
agreement row reads it); which cells rest only on unconfirmed or denied evidence; and the
freshest and stalest evidence. Each statement names the issue (the template links it to its
section) and the quotes it rests on (cited like every other quote in the document).
"""

from __future__ import annotations

from collections.abc import Sized
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from app.models import Issue, Quote, Stance
from app.services.matrix_view import ACCEPTING, ReadAcross, read_across
from app.templating import format_day, stance_label

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


@dataclass(frozen=True, slots=True)
class Part:
    """A piece of a summary line: text, an issue (linked to its section) or a citation."""

    text: str = ""
    issue: Issue | None = None
    quote: Quote | None = None
    strong: bool = False


Line = list[Part]


@dataclass(slots=True)
class Block:
    """A heading of the summary with its lines, what it says when it has none, and how many
    lines it left to the body."""

    heading: str
    lines: list[Line]
    empty: str
    more: str | None = None


def summary_blocks(briefing: Briefing) -> list[Block]:
    """The summary in words, for every format the briefing is made in (HTML, PDF, DOCX)."""
    summary = briefing.summary
    if summary is None:
        return []
    request, limit = briefing.request, summary.limit
    blocks: list[Block] = []
    if request.since is not None:
        lines = [_change_line(c) for c in summary.changes[:limit]]
        blocks.append(
            Block(
                f"What changed since {request.since_words}",
                lines,
                "No party changed its stance on these issues.",
                _more(summary.changes, limit, "What changed"),
            )
        )
    lines = [
        [Part(issue=r.issue), Part(": every party accepts — "), *_parties(r.accepting)]
        for r in summary.converge[:limit]
    ]
    blocks.append(
        Block(
            "Where they converge",
            lines,
            "No issue where every party shown accepts, or accepts on a condition.",
            _more(summary.converge, limit, "the matrix's Agreement row"),
        )
    )
    lines = [
        [
            Part(issue=r.issue),
            Part(": "),
            *_parties(r.accepting),
            Part(" accepts; " if len(r.accepting) == 1 else " accept; "),
            *_parties(r.rejecting),
            Part(" rejects" if len(r.rejecting) == 1 else " reject"),
        ]
        for r in summary.apart[:limit]
    ]
    blocks.append(
        Block(
            "Where they are furthest apart",
            lines,
            "No issue where one party accepts while another rejects.",
            _more(summary.apart, limit, "the matrix's Agreement row"),
        )
    )
    lines = []
    for note in summary.weak[:limit]:
        cell = note.stance.cell
        assert cell is not None and cell.stance is not None  # noqa: S101 - weak cells hold one
        how = "denied" if cell.confirmation == "denied" else "only reported, not confirmed"
        words = f": {stance_label(cell.stance).lower()}, {how}"
        lines.append([*_on(note), Part(words), *_cite(note.quote)])
    blocks.append(
        Block(
            "Resting only on unconfirmed or denied evidence",
            lines,
            "Every stance shown rests on some confirmed evidence.",
            _more(summary.weak, limit, "the ✕ and ? marks in the matrix"),
        )
    )
    lines = []
    if summary.freshest and summary.stalest:
        fresh, stale = summary.freshest, summary.stalest
        fresh_day, stale_day = _day_of(fresh), _day_of(stale)
        lines.append(
            [Part("Freshest: "), *_on(fresh), Part(f", {format_day(fresh_day)}")]
            + _cite(fresh.quote)
        )
        age = (request.as_of - stale_day).days if stale_day else 0
        tail = f", {format_day(stale_day)} ({age} days before {format_day(request.as_of)})"
        line = [Part("Stalest: "), *_on(stale), Part(tail), *_cite(stale.quote)]
        if summary.stale_count:
            n = summary.stale_count
            line.append(
                Part(
                    f"; {n} stance{'s' if n != 1 else ''} rest{'s' if n == 1 else ''} on "
                    f"evidence older than {briefing.stale_after_days} days"
                )
            )
        lines.append(line)
    blocks.append(
        Block(
            "Freshest and stalest evidence",
            lines,
            "No stance is recorded for these parties and issues.",
        )
    )
    return blocks


def _change_line(item: ChangeItem) -> Line:
    change = item.change
    old = stance_label(change.old_stance).lower() if change.old_stance else "no recorded position"
    return [
        Part(f"{format_day(change.effective_from)} · {item.party.name} on "),
        Part(issue=item.issue),
        Part(f": {old} → "),
        Part(stance_label(change.new_stance).lower(), strong=True),
        # The same stance on a new condition is a change too: say what changed.
        *([Part(" on a new condition")] if change.old_stance == change.new_stance else []),
        *_cite(item.quote),
    ]


def _parties(stances: list[PartyStance]) -> list[Part]:
    parts: list[Part] = []
    for n, stance in enumerate(stances):
        name = stance.party.short_name or stance.party.name
        held = stance.cell.stance if stance.cell else None
        parts.append(Part(name + (" (on a condition)" if held == Stance.CONDITIONAL else "")))
        parts.extend(_cite(stance.quotes[0] if stance.quotes else None))
        if n + 1 < len(stances):
            parts.append(Part(", "))
    return parts


def _on(note: CellNote) -> list[Part]:
    return [Part(f"{note.stance.party.name} on "), Part(issue=note.issue)]


def _cite(quote: Quote | None) -> list[Part]:
    return [Part(" "), Part(quote=quote)] if quote is not None else []


def _more(items: Sized, limit: int, where: str) -> str | None:
    extra = len(items) - limit
    return f"… and {extra} more: see {where}." if extra > 0 else None


def _day_of(note: CellNote) -> date | None:
    return note.stance.cell.latest_evidence_on if note.stance.cell else None


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
