"""The compact matrix's cells, each state rendered once and then reused.

A matrix of 30 parties by 40 issues is 1,200 cells, and rendering each through its macro
(templates/matrix/_compact_cell.html) is most of a matrix miss; yet the cells take few distinct
states. `CellMarkup` renders the macro once per state (what the macro shows of the cell: its
state, stance, condition, confirmation, staleness, unassessed count, split members, whether it
changed and since when) with stand-ins for the party's and issue's names and slugs and for the
link's query (which carries the as-of day), and keeps the result as a %-format string in a
byte-bounded cache shared by every matrix of the worker. A cell is then its state's format
filled with its party's and issue's values, escaped as the template escapes them (HTML escaping
maps each character on its own, so escaping a value and splicing it in is escaping the whole),
so the assembled table is the same, byte for byte, as rendering every cell.

The matrix's templates write their marks and punctuation (the dash of an empty cell, the
denied cross, the arrow of a change, the middle dots) as character references, so a matrix of
ASCII names is an ASCII page: Python then holds it one byte a character, and encoding the
page and its fragment, compressing them and joining the cells are copies rather than
transcodings (a 470 kB matrix page holding one "·" took 0.78 ms to encode, the same page in
ASCII 0.014 ms, and a miss encodes it twice).
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass

from markupsafe import Markup, escape

from app.cached_views import RenderCache
from app.models import Party, Stance
from app.services.matrix import Cell, Matrix, split_members
from app.templating import macro


@dataclass(frozen=True, slots=True)
class _Stand:
    """Stands for a party or an issue while the macro renders: what the macro reads of it is a
    NUL-delimited marker (no name, slug or title can hold a NUL)."""

    slug: str
    name: str = ""
    title: str = ""


PARTY = _Stand(slug="\x00pg\x00", name="\x00pn\x00")
ISSUE = _Stand(slug="\x00ig\x00", title="\x00it\x00")
QUERY = "\x00q\x00"
"""Stands for the cell link's query (the as-of day) while the macro renders."""
MARKERS = {
    PARTY.name: "%(pn)s", PARTY.slug: "%(pg)s", ISSUE.title: "%(it)s", ISSUE.slug: "%(ig)s",
    QUERY: "%(q)s",
}  # fmt: skip
"""Each marker and the %-format field it becomes (%-formatting a cell is a third quicker than
str.format, and a matrix fills 1,200 of them)."""


def state_key(
    cell: Cell | None, split: list[tuple[Party, Stance]], changed: bool, grid: Matrix
) -> Hashable:
    """Everything the cell macro shows but the party's and issue's names and slugs and the
    link's query (keep in step with the macro)."""
    state = (
        None
        if cell is None
        else (
            cell.state,
            cell.stance,
            cell.condition,
            cell.confirmation,
            cell.stale,
            cell.unassessed,
            cell.split,
        )
    )
    members = tuple((member.short_name, stance) for member, stance in split)
    return (state, members, changed, grid.since if changed else None)


def _as_format(markup: str) -> str:
    """The macro's output as a %-format template: percent signs doubled, markers made fields."""
    text = markup.replace("%", "%%")
    for marker, field in MARKERS.items():
        text = text.replace(marker, field)
    if "\x00" in text:  # the macro changed a marker (a filter on a name): keep them in step
        raise ValueError("the compact cell macro altered a stand-in")
    return text


class CellMarkup:
    """Given to the compact table as `cell_markup`: `cell_markup.row(party, query)` is the row's
    cells, each <td> followed by a newline but the last, as the template's loop writes them."""

    def __init__(self, cache: RenderCache, grid: Matrix) -> None:
        self.cache = cache
        self.grid = grid
        self.compact_cell = macro("matrix/_compact_cell.html", "compact_cell")
        self.rendered = 0
        self._formats: dict[Hashable, str] = {}
        # Each issue's escaped title and slug, read once per matrix, not once per cell.
        self._columns = [
            (issue.id, str(escape(issue.title)), str(escape(issue.slug))) for issue in grid.issues
        ]

    def _format(self, party_id: int, issue_id: int) -> str:
        """The cell's state's format (see MARKERS for its fields)."""
        grid = self.grid
        cell = grid.cells.get((party_id, issue_id))
        split = split_members(cell, grid.parties) if cell is not None and cell.split else []
        changed = (party_id, issue_id) in grid.changed
        key = state_key(cell, split, changed, grid)
        text = self._formats.get(key)
        if text is not None:
            return text
        packed = self.cache.get(key)
        if isinstance(packed, bytes):
            text = packed.decode()
        else:
            markup = self.compact_cell(PARTY, ISSUE, cell, split, changed, grid.since, QUERY)
            text = _as_format(str(markup))
            self.cache.put(key, text.encode())
            self.rendered += 1
        self._formats[key] = text
        return text

    def row(self, party: Party, query: str) -> Markup:
        """The party's cells across the matrix's issues, with the names and the query put in."""
        name, slug, q = str(escape(party.name)), str(escape(party.slug)), str(escape(query))
        party_id = party.id
        values = {"pn": name, "pg": slug, "q": q, "it": "", "ig": ""}
        cells = []
        for issue_id, title, issue_slug in self._columns:
            values["it"], values["ig"] = title, issue_slug
            cells.append(self._format(party_id, issue_id) % values)
        # The macro's autoescaped output, with values escaped as the macro escapes them.
        return Markup("\n".join(cells))  # noqa: S704
