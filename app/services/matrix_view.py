"""What a reader chooses to see of the matrix, and what it says read across.

The matrix service computes every cell; this module narrows a built matrix to the parties and
issues a reader picked (the choice travels in the URL: `parties=us,ua&issues=crimea,nato`) and
reads it across: a tally per issue and per party, and the issues where every selected party
accepts (conditionally or not) — where a deal is possible — or where they are furthest apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from app.models import Issue, Party, Stance, Theme
from app.services.errors import InvalidParameter
from app.services.matrix import POSITION, Cell, Matrix

VIEWS = ("compact", "detailed")
View = Literal["compact", "detailed"]

AgreementWord = Literal["deal", "apart", "mixed", "unknown"]
AGREEMENT_LABELS: dict[str, str] = {
    "deal": "Deal possible",
    "apart": "Furthest apart",
    "mixed": "Mixed",
    "unknown": "Not enough known",
}
"""The agreement row, in words: every selected party accepts or accepts on a condition; some
accept and some reject; anything else; or a party has no stance of its own."""

AGREEMENT_SHORT: dict[str, str] = {
    "deal": "Deal zone",
    "apart": "Apart",
    "mixed": "Mixed",
    "unknown": "Gaps",
}
"""The same in a word for the compact matrix (the full words are its title and screen-reader text)."""

ACCEPTING = frozenset({Stance.ACCEPTS, Stance.CONDITIONAL})


def parse_view(value: str | None) -> View:
    """`compact` (the default) or `detailed`; anything else is a 400 with the choices."""
    text = (value or "").strip() or "compact"
    if text == "compact":
        return "compact"
    if text == "detailed":
        return "detailed"
    raise InvalidParameter("view", "must be compact or detailed.")


def parse_slugs(value: str | None, *, field: str, known: dict[str, str]) -> tuple[str, ...]:
    """A comma-separated list of slugs (blank: all), each one known; an unknown one is a 400
    that names it and what it could be."""
    slugs = tuple(dict.fromkeys(s.strip() for s in (value or "").split(",") if s.strip()))
    unknown = [s for s in slugs if s not in known]
    if unknown:
        choices = ", ".join(sorted(known))
        raise InvalidParameter(field, f"unknown: {', '.join(unknown)} (choose from {choices}).")
    return slugs


def narrowed(grid: Matrix, *, parties: tuple[str, ...], issues: tuple[str, ...]) -> Matrix:
    """The matrix with only the chosen parties (a chosen bloc brings its members) and issues,
    in display order; an empty choice keeps them all. The cells are shared, not copied."""
    if not parties and not issues:
        return grid
    chosen_ids = {p.id for p in grid.parties if p.slug in parties}
    keep = [
        p
        for p in grid.parties
        if not parties
        or p.id in chosen_ids
        or (p.parent_id is not None and p.parent_id in chosen_ids)
    ]
    columns = [i for i in grid.issues if not issues or i.slug in issues]
    return _with(grid, parties=keep, issues=columns)


Rows = Literal["parties", "issues"]


def parse_rows(value: str | None) -> Rows:
    """What the rows are: `parties` (the default) or `issues` (for long issue lists)."""
    text = (value or "").strip() or "parties"
    if text == "parties":
        return "parties"
    if text == "issues":
        return "issues"
    raise InvalidParameter("rows", "must be parties or issues.")


def collapsed(grid: Matrix, blocs: list[str] | None) -> tuple[Matrix, tuple[str, ...]]:
    """The matrix without the members of the blocs named in `blocs` (each bloc keeps its own
    row), and the blocs collapsed; a slug that is not a bloc shown is a 400."""
    shown_blocs = {p.slug: p.name for p in grid.parties if p.kind.value == "bloc"}
    slugs = parse_slugs(",".join(blocs or ()), field="collapsed", known=shown_blocs)
    if not slugs:
        return grid, ()
    hidden = {p.id for p in grid.parties if p.slug in slugs}
    keep = [p for p in grid.parties if p.parent_id not in hidden]
    return _with(grid, parties=keep, issues=grid.issues), slugs


@dataclass(frozen=True, slots=True)
class ColumnGroup:
    """A theme heading over the issues grouped under it (slug None: "Other issues")."""

    slug: str | None
    title: str
    count: int


def grouped(grid: Matrix, themes: list[Theme]) -> tuple[Matrix, list[ColumnGroup]]:
    """The issues ordered by theme (themes in their order, each theme's issues in theirs, the
    issues under no theme last) with a heading per theme; no headings when no issue shown has
    a theme."""
    if not any(issue.theme for issue in grid.issues):
        return grid, []
    place = {t.slug: n for n, t in enumerate(themes)}
    titles = {t.slug: t.title for t in themes}
    issues = sorted(grid.issues, key=lambda i: place.get(i.theme or "", len(place)))
    groups: list[ColumnGroup] = []
    for issue in issues:
        slug = issue.theme if issue.theme in titles else None
        if groups and groups[-1].slug == slug:
            last = groups[-1]
            groups[-1] = ColumnGroup(last.slug, last.title, last.count + 1)
        else:
            groups.append(ColumnGroup(slug, titles[slug] if slug else "Other issues", 1))
    return _with(grid, parties=grid.parties, issues=issues), groups


def _with(grid: Matrix, *, parties: list[Party], issues: list[Issue]) -> Matrix:
    return Matrix(
        as_of=grid.as_of,
        known_on=grid.known_on,
        parties=parties,
        issues=issues,
        cells=grid.cells,
        since=grid.since,
        changes=grid.changes,
        changed=grid.changed,
    )


def chosen(grid: Matrix, *, parties: list[str] | None, issues: list[str] | None) -> Matrix:
    """The matrix narrowed to the query's `parties` and `issues` (each repeated or
    comma-separated; blank: all); an unknown slug is a 400 naming it."""
    return narrowed(
        grid,
        parties=parse_slugs(
            ",".join(parties or ()), field="parties", known={p.slug: p.name for p in grid.parties}
        ),
        issues=parse_slugs(
            ",".join(issues or ()), field="issues", known={i.slug: i.title for i in grid.issues}
        ),
    )


@dataclass(frozen=True, slots=True)
class Tally:
    """How many cells of a row or column hold each stance, with splits and blanks."""

    stances: tuple[tuple[Stance, int], ...]
    split: int = 0
    unassessed: int = 0
    blank: int = 0

    @property
    def words(self) -> str:
        """ "2 accept, 1 conditional, 1 reject" (only the stances that occur; commas, which a
        screen reader pauses at, and plain ASCII, which keeps a matrix page's text one byte a
        character: see app/cell_markup.py)."""
        parts = [f"{n} {_TALLY_WORDS[s]}" for s, n in self.stances if n]
        if self.split:
            parts.append(f"{self.split} split")
        return ", ".join(parts) or "no stances"


_TALLY_WORDS = {
    Stance.ACCEPTS: "accept",
    Stance.CONDITIONAL: "conditional",
    Stance.AMBIGUOUS: "unclear",
    Stance.REJECTS: "reject",
}


@dataclass(slots=True)
class ReadAcross:
    """The tallies per issue (by issue id) and per party (by party id), and the agreement per
    issue among the top-level parties shown."""

    by_issue: dict[int, Tally] = field(default_factory=dict)
    by_party: dict[int, Tally] = field(default_factory=dict)
    agreement: dict[int, AgreementWord] = field(default_factory=dict)

    def deal_issues(self) -> list[int]:
        return [issue_id for issue_id, word in self.agreement.items() if word == "deal"]


def read_across(grid: Matrix) -> ReadAcross:
    """Tallies and agreement for the parties and issues shown. Agreement is read among the
    top-level rows (a bloc speaks for its members in the row above them): "deal" when every one
    accepts or accepts on a condition, "apart" when one accepts while another rejects,
    "unknown" when a row has no stance of its own, else "mixed"."""
    result = ReadAcross()
    # Ids read once: an entity's attribute costs more than the counting.
    party_ids = [(p.id, p.parent_id) for p in grid.parties]
    issue_ids = [i.id for i in grid.issues]
    shown = {pid for pid, _ in party_ids}
    top = [pid for pid, parent in party_ids if parent is None or parent not in shown]
    cells = grid.cells
    for issue_id in issue_ids:
        result.by_issue[issue_id] = _tally([cells.get((pid, issue_id)) for pid, _ in party_ids])
        result.agreement[issue_id] = _agreement(cells, top, issue_id)
    for party_id, _ in party_ids:
        result.by_party[party_id] = _tally([cells.get((party_id, iid)) for iid in issue_ids])
    return result


def _tally(row: list[Cell | None]) -> Tally:
    counts = dict.fromkeys(Stance, 0)
    split = unassessed = blank = 0
    for cell in row:
        if cell is None:
            blank += 1
        elif cell.state == POSITION and cell.stance is not None:
            counts[cell.stance] += 1
        elif cell.state == "split":
            split += 1
        else:
            unassessed += 1
    return Tally(tuple(counts.items()), split=split, unassessed=unassessed, blank=blank)


def _agreement(cells: dict[tuple[int, int], Cell], rows: list[int], issue_id: int) -> AgreementWord:
    stances = []
    for party_id in rows:
        cell = cells.get((party_id, issue_id))
        stances.append(cell.stance if cell is not None and cell.state == POSITION else None)
    held = {s for s in stances if s is not None}
    if Stance.REJECTS in held and held & ACCEPTING:
        return "apart"
    if not rows or None in stances:
        return "unknown"
    return "deal" if held <= ACCEPTING else "mixed"
