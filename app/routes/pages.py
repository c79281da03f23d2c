"""Pages for analysts: the matrix, a cell's evidence, the changes, a party and an issue."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from sqlalchemy.orm import Session
from starlette.responses import FileResponse, HTMLResponse, Response

from app.cached_views import Loaded, cached_view
from app.config import PROJECT_ROOT, get_settings
from app.db import SessionDep
from app.forms import parse_day
from app.security import AuthDep
from app.services import coverage, documents, evidence, matrix, matrix_view, rounds, themes
from app.services.errors import InvalidParameter
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

    def load(session: Session) -> Loaded:
        grid = matrix.build_matrix(
            session,
            as_of=day,
            known_on=known,
            since=None if since_error else since_day,
            stale_after_days=get_settings().stale_after_days,
        )
        everything = grid
        grid = matrix_view.chosen(grid, parties=parties, issues=issues)
        grid, folded = matrix_view.collapsed(grid, list(folded_typed))
        grid, groups = matrix_view.grouped(grid, themes.list_themes(session))
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
                "choice": {"parties": choice[0], "issues": choice[1]},
                "since_typed": since or "",
                "since_error": since_error,
                "future": day > date.today(),
                "stale_after_days": get_settings().stale_after_days,
            }
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

    def load(session: Session) -> Loaded:
        listing = evidence.change_list(session, since=since, until=until, known_on=known)
        empty = (
            None
            if listing.changes
            else coverage.explain_changes(session, since=since, until=until, known_on=known)
        )
        return Loaded({"changes": listing, "changes_empty": empty})

    return await cached_view(
        request, session, auth, name="changes", params=(since, until, known, named),
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
        detail = evidence.cell_detail(
            session,
            party_slug=party,
            issue_slug=issue,
            as_of=day,
            known_on=known,
            stale_after_days=get_settings().stale_after_days,
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
        return Loaded(
            {"detail": detail, "empty": empty},
            page={"page_title": f"{detail.party.name} on {detail.issue.title}"},
        )

    return await cached_view(
        request, session, auth, name="cell", params=(party, issue, day, known),
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
    texts = documents.party_documents(session, party=detail.party)
    return render(
        request, "parties/page.html", {"detail": detail, "empty": empty, "documents": texts}
    )


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
    points = documents.issue_points(session, issue=detail.issue)
    return render(request, "issues/page.html", {"detail": detail, "empty": empty, "points": points})


@router.get("/compare", response_class=HTMLResponse, summary="Two or more parties side by side")
def compare_page(
    request: Request,
    session: SessionDep,
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
    as_of: AsOf = None,
) -> HTMLResponse:
    """Issue by issue: where the parties agree, differ or are unclear, with each one's latest
    quote and a summary line."""
    slugs = [s.strip() for v in parties or [] for s in v.split(",") if s.strip()]
    if not slugs:
        slugs = [s for s in (a, b) if s] if a or b else ["us", "ua"]
    if only not in (None, "", "differences"):
        raise InvalidParameter("only", "use only=differences, or leave it out.")
    comparison = evidence.compare(
        session,
        slugs=slugs,
        as_of=_as_of(as_of),
        stale_after_days=get_settings().stale_after_days,
        only_differences=only == "differences",
    )
    return render(
        request,
        "compare/page.html",
        {"comparison": comparison},
        fragment="compare/_table.html",
    )


@router.get("/favicon.ico", include_in_schema=False)
def favicon() -> FileResponse:
    """Browsers ask for /favicon.ico whatever the page says; answer with our icon."""
    return FileResponse(
        PROJECT_ROOT / "static" / "favicon.svg",
        media_type="image/svg+xml",
        headers={"Cache-Control": "public, max-age=86400"},
    )
