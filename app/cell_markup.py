"""The compact matrix's cells, each rendered once per distinct state and then reused.

A matrix of 30 parties by 40 issues is 1,200 cells, and rendering each through its macro
(templates/matrix/_compact_cell.html) is most of a matrix miss; yet across dates and versions a
cell takes few distinct states. `CellMarkup` renders the macro once per key (what the macro
shows: the party's and issue's names, the cell's state, stance, condition, confirmation,
staleness, unassessed count, split members, whether it changed and since when) and keeps the
markup in a byte-bounded cache shared by every matrix of the worker. The cell's link, which
carries the as-of day, is rendered as a placeholder and put in afterwards, escaped as the
template escapes it, so the assembled table is the same, byte for byte, as rendering every cell.
"""

from __future__ import annotations

from collections.abc import Hashable

from markupsafe import Markup, escape

from app.cached_views import RenderCache
from app.models import Issue, Party
from app.services.matrix import Cell, Matrix
from app.templating import macro

QUERY = "\x00query\x00"
"""Stands for the cell link's query (the as-of day) while the macro renders (no name or text can
hold a NUL)."""


def key(party: Party, issue: Issue, grid: Matrix) -> Hashable:
    """Everything the cell macro shows, bar the link's query (keep in step with the macro)."""
    cell: Cell | None = grid.cell(party, issue)
    changed = grid.has_changed(party, issue)
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
            cell.members,
        )
    )
    return (
        party.id, party.name, party.short_name, party.slug,
        issue.id, issue.title, issue.slug,
        state, changed, grid.since if changed else None,
    )  # fmt: skip


class CellMarkup:
    """Given to the compact table as `cell_markup`: `cell_markup.row(party, query)` is the row's
    cells, each <td> followed by a newline but the last, as the template's loop writes them."""

    def __init__(self, cache: RenderCache, grid: Matrix) -> None:
        self.cache = cache
        self.grid = grid
        self.compact_cell = macro("matrix/_compact_cell.html", "compact_cell")
        self.rendered = 0

    def cell(self, party: Party, issue: Issue) -> str:
        """The cell's <td>, its link's query left as QUERY."""
        cell_key = key(party, issue, self.grid)
        markup = self.cache.get(cell_key)
        if isinstance(markup, bytes):
            return markup.decode()
        grid = self.grid
        text = str(
            self.compact_cell(
                party,
                issue,
                grid.cell(party, issue),
                grid.split(party, issue),
                grid.has_changed(party, issue),
                grid.since,
                QUERY,
            )
        )
        self.cache.put(cell_key, text.encode())
        self.rendered += 1
        return text

    def row(self, party: Party, query: str) -> Markup:
        """The party's cells across the matrix's issues, with the links' query put in."""
        cells = "\n".join(self.cell(party, issue) for issue in self.grid.issues)
        # The macro's autoescaped output, with the query escaped as the macro escapes it.
        return Markup(cells.replace(QUERY, str(escape(query))))  # noqa: S704
