"""The compact matrix assembled from cached cells (app.cell_markup) is the template's own
output, byte for byte, and a second matrix renders only the cells it has not seen."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.cached_views import RenderCache
from app.cell_markup import CellMarkup
from app.models import PartyKind, QuoteStatus, Stance
from app.services import matrix, matrix_view
from app.templating import render_text
from tests import builders as b

DAYS = [
    (date(2025, 4, 23), None, date(2025, 2, 1)),
    (date(2025, 3, 1), date(2025, 3, 10), None),
    (date(2025, 12, 1), None, date(2025, 4, 1)),
]


def _fragment(grid: matrix.Matrix, **extra: Any) -> str:
    return render_text(
        "matrix/_matrix.html",
        {
            "matrix": grid,
            "across": matrix_view.read_across(grid),
            "agreement_labels": matrix_view.AGREEMENT_LABELS,
            "agreement_short": matrix_view.AGREEMENT_SHORT,
            "all_parties": grid.parties,
            "all_issues": grid.issues,
            "changes": None,
            "as_of_given": True,
            "empty": None,
            "view": "compact",
            "rows": "parties",
            "groups": [],
            "collapsed": [],
            "choice": {"parties": "", "issues": ""},
            "since_typed": "",
            "since_error": None,
            "future": False,
            "stale_after_days": 60,
            "editable": False,
            "as_fragment": True,
            "site_name": "Peace talks",
            **extra,
        },
    )


def _rare_states(session: Session) -> None:
    """A split bloc (with a changed, stale, unconfirmed member) and quotes nobody assessed."""
    bloc = b.party(session, "cmx", name="Bloc <X> & Co 100% {x}", kind=PartyKind.BLOC)
    one, two = b.party(session, "cm1", parent=bloc), b.party(session, "cm2", parent=bloc)
    issue = b.issue(session, "cmi", title='Issue "quoted" & <b>')
    b.position(
        session, one, issue, Stance.CONDITIONAL, date(2025, 1, 5), condition="if <so> 50% {y}"
    )
    b.position(session, two, issue, Stance.REJECTS, date(2024, 6, 1), status=QuoteStatus.REPORTED)
    b.position(session, two, issue, Stance.ACCEPTS, date(2025, 3, 2), status=QuoteStatus.DENIED)
    b.quote(session, one, b.issue(session, "cmq"), said_on=date(2025, 1, 2))


def test_cached_cells_assemble_the_templates_own_matrix(seeded: Session) -> None:
    _rare_states(seeded)
    cache = RenderCache(1_000_000)
    states = set()
    rendered = shown = 0
    for as_of, known_on, since in DAYS:
        grid = matrix.build_matrix(seeded, as_of=as_of, known_on=known_on, since=since)
        states |= {c.state for c in grid.cells.values()}
        plain = _fragment(grid)
        first = CellMarkup(cache, grid)
        assert _fragment(grid, cell_markup=first) == plain
        again = CellMarkup(cache, grid)
        assert _fragment(grid, cell_markup=again) == plain
        assert again.rendered == 0  # every state is cached by the first
        rendered += first.rendered
        shown += len(grid.parties) * len(grid.issues)
    assert states == {matrix.POSITION, matrix.SPLIT, matrix.NOT_ASSESSED}
    # One render per state, whatever the party and issue: far fewer than the cells shown.
    assert 0 < rendered < shown / 4


def test_a_renamed_bloc_member_is_named_anew_in_its_split_cell(seeded: Session) -> None:
    _rare_states(seeded)
    cache = RenderCache(1_000_000)
    grid = matrix.build_matrix(seeded, as_of=date(2025, 4, 23))
    assert _fragment(grid, cell_markup=CellMarkup(cache, grid)) == _fragment(grid)
    member = next(p for p in grid.parties if p.slug == "cm1")
    member.short_name = "Renamed <M>"
    seeded.flush()
    grid = matrix.build_matrix(seeded, as_of=date(2025, 4, 23))
    assembled = _fragment(grid, cell_markup=CellMarkup(cache, grid))
    assert assembled == _fragment(grid) and "Renamed &lt;M&gt;" in assembled


def test_the_matrix_page_caches_its_cells(client: TestClient, seeded: Session) -> None:
    cells = client.app.state.view_caches["matrix_cells"]  # type: ignore[attr-defined]
    client.get("/?as_of=2025-04-23")
    held = len(cells)
    assert held > 0 and cells.bytes <= cells.max_bytes
    page = client.get("/?as_of=2025-04-24")  # another day: mostly the same cells
    assert page.status_code == 200 and "as_of=2025-04-24" in page.text
    assert len(cells) < 2 * held and cells.hits > 0
    asked = cells.hits + cells.misses
    client.get("/?as_of=2025-04-23&view=detailed")  # the detailed view renders every cell itself
    assert cells.hits + cells.misses == asked


def test_the_matrix_page_is_ascii_when_its_data_is(client: TestClient, session: Session) -> None:
    """Marks and punctuation are written as character references, so a matrix page of ASCII
    names stays one byte a character (encoding and compressing it is a copy, not a transcoding)."""
    _rare_states(session)
    marks = ("&#x2715;", "&#x25D0;", "&#x25F7;", "&mdash;", "&Delta;", "&middot;", "&rarr;")
    pages = [
        client.get(f"/?as_of=2025-04-23{extra}").text
        for extra in ("", "&since=2025-02-01", "&view=detailed", "&rows=issues")
    ]
    for page in pages:
        assert page.isascii(), sorted({c for c in page if not c.isascii()})
    assert all(any(mark in page for page in pages) for mark in marks)
