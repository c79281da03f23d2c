"""Pages for analysts: the matrix, a cell's evidence, the changes, a party, an issue, a comparison
and a speaker."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.orm import Session
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from app.cached_views import Loaded, cached_view
from app.cell_markup import CellMarkup
from app.config import PROJECT_ROOT, get_settings
from app.db import SessionDep
from app.forms import parse_day, whole_number
from app.routes import twins
from app.security import AuthDep
from app.services import (
    cells,
    coverage,
    documents,
    evidence,
    matrix,
    matrix_view,
    position_runs,
    rounds,
    speakers,
    unassessed,
)
from app.services.errors import InvalidParameter, NotFound
from app.templating import render

router = APIRouter()

AsOf = Annotated[
    str | None,
    Query(description="Show the matrix as it stood on this date (YYYY-MM-DD); default today."),
]
KnownOn = Annotated[
    str | None,
    Query(description="As we knew it on this date: ignore positions recorded later (YYYY-MM-DD)."),
]


def _as_of(value: str | None) -> date:
    return parse_day(value, field="as_of") or date.today()


def _given(value: str | None, day: date) -> date | None:
    """The day for a twin's link: only when the reader gave it (else the twin's default)."""
    return day if value and value.strip() else None


def change_window(from_: str | None, to: str | None) -> tuple[date, date]:
    """The changes page's window (from, to], also the changes API's: `to` defaults to today,
    `from` to 30 days before `to`; `from` must come first."""
    until = parse_day(to, field="to") or date.today()
    since = parse_day(from_, field="from") or until - timedelta(days=30)
    if since >= until:
        raise InvalidParameter("from", "must be before to.")
    return since, until


def compare_choice(
    parties: Annotated[
        list[str] | None,
        Query(
            max_length=500,
            description="Party slugs to compare, comma-separated or repeated (two to eight); "
            "default us,ua.",
        ),
    ] = None,
    a: Annotated[str | None, Query(max_length=60, description="First party (older links)")] = None,
    b: Annotated[str | None, Query(max_length=60, description="Second party (older links)")] = None,
    only: Annotated[
        str | None, Query(max_length=20, description="'differences': only issues that differ")
    ] = None,
) -> tuple[list[str], bool]:
    """The compare page's (and API's) parties and whether only differences are asked for:
    slugs comma-separated or repeated, the older a= and b=, or us and ua by default."""
    slugs = [s.strip() for v in parties or [] for s in v.split(",") if s.strip()]
    if not slugs:
        slugs = [s for s in (a, b) if s] if a or b else ["us", "ua"]
    if only not in (None, "", "differences"):
        raise InvalidParameter("only", "use only=differences, or leave it out.")
    return slugs, only == "differences"


CompareChoiceDep = Annotated[tuple[list[str], bool], Depends(compare_choice)]


Since = Annotated[
    str | None,
    Query(
        description="Highlight cells whose stance changed after this date (YYYY-MM-DD), or since"
        " a round of talks began (round:<slug>)."
    ),
]


View = Annotated[
    str | None,
    Query(
        description="`compact` (default: a tinted word per cell) or `detailed` (dates and counts)."
    ),
]
Parties = Annotated[
    list[str] | None,
    Query(
        description="Only these parties: slugs, repeated or comma-separated (a bloc brings its members)."
    ),
]
Issues = Annotated[
    list[str] | None,
    Query(description="Only these issues: slugs, repeated or comma-separated."),
]
Collapsed = Annotated[
    list[str] | None,
    Query(description="Blocs shown as their own row only, members hidden: slugs."),
]
Rows = Annotated[
    str | None,
    Query(description="`parties` (default: a row per party) or `issues` (a row per issue)."),
]


@router.get("/", response_class=HTMLResponse, summary="The position matrix")
async def matrix_page(
    request: Request,
    session: SessionDep,
    auth: AuthDep,
    as_of: AsOf = None,
    known_on: KnownOn = None,
    since: Since = None,
    view: View = None,
    parties: Parties = None,
    issues: Issues = None,
    collapsed: Collapsed = None,
    rows: Rows = None,
) -> Response:
    """Parties by issues, each cell the stance in force as of a date; changes since a date.

    A "changes since" on or after the as-of date is not an error page: the matrix is shown with
    the message beside that field (422), the rest of the form kept.

    A cached view (app.cached_views): rendered once per data version and parameters; a client
    that has this exact page already gets 304. Async so that a cached view never waits for the
    thread pool; database work runs there.
    """
    day = _as_of(as_of)
    known = parse_day(known_on, field="known_on")
    since_moment = rounds.parse_since(session, since, field="since")
    since_day = since_moment.day if since_moment else None
    since_error = None
    if since_day is not None and since_day >= day:
        since_error = f"Changes since must be before the as-of date ({day:%-d %b %Y})."
    as_of_given = bool(as_of and as_of.strip())
    shown = matrix_view.parse_view(view)
    by = matrix_view.parse_rows(rows)
    folded_typed = tuple(collapsed or ())
    choice = (",".join(parties or ()), ",".join(issues or ()))

    links = twins.for_matrix(
        as_of=_given(as_of, day), known_on=known, since=None if since_error else since_day,
        parties=choice[0], issues=choice[1],
    )  # fmt: skip

    def load(session: Session) -> Loaded:
        listing = request.app.state.held_catalog.listing(session, request.state.data_version)
        grid = matrix.build_matrix(
            session,
            as_of=day,
            known_on=known,
            since=None if since_error else since_day,
            stale_after_days=get_settings().stale_after_days,
            tally=unassessed.DayTally(
                request.app.state.unassessed_days, request.state.data_version
            ),
            held=position_runs.HeldVersion(request.app.state.held_runs, request.state.data_version),
            listing=listing,
        )
        everything = grid
        grid = matrix_view.chosen(grid, parties=parties, issues=issues)
        grid, folded = matrix_view.collapsed(grid, list(folded_typed))
        grid, groups = matrix_view.grouped(grid, listing.themes)
        changes = (
            evidence.change_list(session, since=since_day, until=day, known_on=known, matrix=grid)
            if since_day is not None and not since_error
            else None
        )
        empty = (
            coverage.explain_view(session, as_of=day, known_on=known, since=since_day)
            if coverage.shows_nothing(grid.cells.values())
            else None
        )
        return Loaded(
            {
                "matrix": grid,
                "across": matrix_view.read_across(grid),
                "agreement_labels": matrix_view.AGREEMENT_LABELS,
                "agreement_short": matrix_view.AGREEMENT_SHORT,
                "all_parties": everything.parties,
                "all_issues": everything.issues,
                "changes": changes,
                "as_of_given": as_of_given,
                "empty": empty,
                "view": shown,
                "rows": by,
                "groups": groups,
                "collapsed": list(folded),
                **(
                    {"cell_markup": CellMarkup(request.app.state.view_caches["matrix_cells"], grid)}
                    if shown == "compact"
                    else {}
                ),
                "choice": {"parties": choice[0], "issues": choice[1]},
                "since_typed": since or "",
                "since_error": since_error,
                "future": day > date.today(),
                "stale_after_days": get_settings().stale_after_days,
            },
            page={"twins": links},
        )

    return await cached_view(
        request, session, auth, name="matrix",
        params=(day, known, since_day, as_of_given, shown, choice, since_error, date.today(),
                by, folded_typed),
        page="matrix/page.html", fragment="matrix/_matrix.html", load=load,
        context={"as_of": day}, revalidate=True, status_code=422 if since_error else 200,
    )  # fmt: skip


@router.get("/changes", response_class=HTMLResponse, summary="What changed between two dates")
async def changes_page(
    request: Request,
    session: SessionDep,
    auth: AuthDep,
    from_: Annotated[
        str | None,
        Query(
            alias="from",
            description="YYYY-MM-DD (exclusive), or round:<slug> (from its first day).",
        ),
    ] = None,
    to: Annotated[
        str | None,
        Query(description="YYYY-MM-DD (inclusive; default today), or round:<slug> (its last day)."),
    ] = None,
    known_on: KnownOn = None,
) -> Response:
    """Every change of stance in (from, to], newest first, each with the quote that shows it.

    A cached view, like the matrix.
    """
    to_moment = rounds.parse_until(session, to, field="to")
    from_moment = rounds.parse_since(session, from_, field="from")
    until = to_moment.day if to_moment else date.today()
    since = from_moment.day if from_moment else until - timedelta(days=30)
    known = parse_day(known_on, field="known_on")
    if since >= until:
        raise InvalidParameter("from", "must be before to.")
    named = (
        from_moment.label if from_moment and from_moment.round_slug else None,
        to_moment.label if to_moment and to_moment.round_slug else None,
    )
    # The twins name the reader's own parameters, so a default window stays a default window.
    window = twins.for_changes(since=_given(from_, since), until=_given(to, until), known_on=known)

    def load(session: Session) -> Loaded:
        listing = evidence.change_list(session, since=since, until=until, known_on=known)
        empty = (
            None
            if listing.changes
            else coverage.explain_changes(session, since=since, until=until, known_on=known)
        )
        return Loaded(
            {"changes": listing, "changes_empty": empty, "changes_twins": window},
            page={"twins": window},
        )

    return await cached_view(
        request, session, auth, name="changes", params=(since, until, known, named, tuple(window)),
        page="changes/page.html", fragment="changes/_list.html", load=load,
        context={"since": since, "until": until, "known_on": known, "since_round": named[0],
                 "until_round": named[1]},
    )  # fmt: skip


@router.get("/cells/{party}/{issue}", response_class=HTMLResponse, summary="A cell's evidence")
async def cell_page(
    request: Request,
    session: SessionDep,
    auth: AuthDep,
    party: str,
    issue: str,
    as_of: AsOf = None,
    known_on: KnownOn = None,
) -> Response:
    """One party on one issue: the position in force, its history and the quotes.

    A cached view, like the matrix (editors get their own variant, with edit links).
    """
    day = _as_of(as_of)
    known = parse_day(known_on, field="known_on")

    def load(session: Session) -> Loaded:
        held = request.app.state.held_catalog
        detail = cells.cell_detail(
            session,
            party_slug=party,
            issue_slug=issue,
            as_of=day,
            known_on=known,
            stale_after_days=get_settings().stale_after_days,
            listing=held.listing(session, request.state.data_version),
            marks=held.rounds_until(session, request.state.data_version, day),
        )
        empty = (
            coverage.explain_view(
                session,
                as_of=day,
                known_on=known,
                party_ids=[detail.party.id],
                issue_ids=[detail.issue.id],
            )
            if detail.cell is None or coverage.shows_nothing([detail.cell])
            else None
        )
        links = twins.for_cell(
            detail.party.slug, detail.issue.slug, as_of=_given(as_of, day), known_on=known
        )
        texts = documents.cell_points(
            session, party=detail.party, issue=detail.issue, as_of=detail.as_of
        )
        return Loaded(
            {"detail": detail, "empty": empty, "twins": links, "points": texts},
            page={"page_title": f"{detail.party.name} on {detail.issue.title}", "twins": links},
        )

    return await cached_view(
        request, session, auth, name="cell", params=(party, issue, day, known, _given(as_of, day)),
        page="cells/page.html", fragment="cells/_detail.html", load=load,
        context={"as_of": day}, revalidate=True,
    )  # fmt: skip


@router.get("/parties/{slug}", response_class=HTMLResponse, summary="A party's positions")
def party_page(
    request: Request, session: SessionDep, slug: str, as_of: AsOf = None
) -> HTMLResponse:
    """All positions and quotes of one party."""
    detail = evidence.party_detail(
        session, slug=slug, as_of=_as_of(as_of), stale_after_days=get_settings().stale_after_days
    )
    empty = (
        coverage.explain_view(session, as_of=detail.as_of, party_ids=[detail.party.id])
        if coverage.shows_nothing(detail.cells.values())
        else None
    )
    links = twins.for_party(detail.party.slug, as_of=_given(as_of, detail.as_of))
    texts = documents.party_documents(session, party=detail.party)
    attended = rounds.party_rounds(session, party=detail.party)
    context = {
        "detail": detail, "empty": empty, "twins": links, "documents": texts, "rounds": attended,
    }  # fmt: skip
    return render(request, "parties/page.html", context)


@router.get("/issues/{slug}", response_class=HTMLResponse, summary="An issue across parties")
def issue_page(
    request: Request, session: SessionDep, slug: str, as_of: AsOf = None
) -> HTMLResponse:
    """Every party's stance on one issue, with the positions' history and the quotes."""
    detail = evidence.issue_detail(
        session, slug=slug, as_of=_as_of(as_of), stale_after_days=get_settings().stale_after_days
    )
    empty = (
        coverage.explain_view(session, as_of=detail.as_of, issue_ids=[detail.issue.id])
        if coverage.shows_nothing(detail.cells.values())
        else None
    )
    links = twins.for_issue(detail.issue.slug, as_of=_given(as_of, detail.as_of))
    points = documents.issue_points(session, issue=detail.issue)
    context = {"detail": detail, "empty": empty, "twins": links, "points": points}
    return render(request, "issues/page.html", context)


@router.get("/compare", response_class=HTMLResponse, summary="Two or more parties side by side")
def compare_page(
    request: Request,
    session: SessionDep,
    choice: CompareChoiceDep,
    as_of: AsOf = None,
) -> HTMLResponse:
    """Issue by issue: where the parties agree, differ or are unclear, with each one's latest
    quote and a summary line."""
    slugs, only_differences = choice
    day = _as_of(as_of)
    comparison = evidence.compare(
        session,
        slugs=slugs,
        as_of=day,
        stale_after_days=get_settings().stale_after_days,
        only_differences=only_differences,
    )
    links = twins.for_compare(
        [p.slug for p in comparison.parties],
        only="differences" if only_differences else None,
        as_of=_given(as_of, day),
    )
    return render(
        request,
        "compare/page.html",
        {"comparison": comparison, "twins": links},
        fragment="compare/_table.html",
    )


def speaker_key(key: str) -> tuple[int, bool]:
    """The speaker id in a page key, the id (canonical) or the id and a name
    (`12-volodymyr-zelenskyy`), and whether the key is the canonical one; NotFound else."""
    number, dash, _ = key.partition("-")
    speaker = whole_number(number)
    if speaker is None:
        raise NotFound("speaker", key)
    return speaker, not dash


@router.get("/speakers/{speaker_id}", response_class=HTMLResponse, summary="A speaker's quotes")
def speaker_page(request: Request, session: SessionDep, speaker_id: str) -> Response:
    """Who a speaker is and their quotes by issue, with the stances they signal, newest first.

    The address is the speaker's id (`/speakers/12`); the id followed by a name
    (`/speakers/12-volodymyr-zelenskyy`) redirects there, as names change and ids do not.
    """
    number, canonical = speaker_key(speaker_id)
    if not canonical:
        query = f"?{request.url.query}" if request.url.query else ""
        return RedirectResponse(f"/speakers/{number}{query}", status_code=301)
    detail = speakers.speaker_detail(session, speaker_id=number)
    return render(
        request,
        "speakers/page.html",
        {"detail": detail, "twins": twins.for_speaker(detail.speaker.id)},
    )


@router.get("/favicon.ico", include_in_schema=False)
def favicon() -> FileResponse:
    """Browsers ask for /favicon.ico whatever the page says; answer with our icon."""
    return FileResponse(
        PROJECT_ROOT / "static" / "favicon.svg",
        media_type="image/svg+xml",
        headers={"Cache-Control": "public, max-age=86400"},
    )
