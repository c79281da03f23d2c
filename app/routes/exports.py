"""CSV downloads: quotes (with the search's filters), positions, the matrix, documents, their
points and the rounds of talks."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import Response

from app.config import get_settings
from app.db import SessionDep
from app.forms import parse_day
from app.routes.pages import Issues, Parties
from app.routes.search import QuoteQueryDep
from app.services import (
    catalog,
    documents,
    evidence,
    exports,
    matrix,
    matrix_view,
    search,
    text_exports,
)

router = APIRouter(prefix="/exports", tags=["exports"])

MAX_ROWS = 20_000
"""Rows in one CSV download; the command line `peacetalks export` writes everything."""

Param = Annotated[str | None, Query(max_length=20000)]


def _csv(body: str, filename: str) -> Response:
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/quotes.csv", summary="Quotes as CSV (the search's filters apply)")
def quotes_export(session: SessionDep, query: QuoteQueryDep) -> Response:
    """The quotes the same filters show on /quotes, in its order (at most 20,000 rows)."""
    filters = query.filters
    found = search.search_quotes(session, filters=filters, page=1, page_size=MAX_ROWS)
    return _csv(exports.quotes_csv(found.quotes), "quotes.csv")


@router.get("/positions.csv", summary="Positions as CSV")
def positions_export(
    session: SessionDep,
    party: Param = None,
    issue: Param = None,
    from_: Annotated[str | None, Query(alias="from", max_length=100)] = None,
    to: Annotated[str | None, Query(max_length=100)] = None,
) -> Response:
    """Positions newest first (at most 20,000 rows)."""
    rows, _ = evidence.list_positions(
        session,
        party=catalog.get_party(session, slug=party) if party else None,
        issue=catalog.get_issue(session, slug=issue) if issue else None,
        date_from=parse_day(from_, field="from"),
        date_to=parse_day(to, field="to"),
        page_size=MAX_ROWS,
    )
    return _csv(exports.positions_csv(rows), "positions.csv")


@router.get("/matrix.csv", summary="The matrix as CSV")
def matrix_export(
    session: SessionDep,
    as_of: Param = None,
    known_on: Param = None,
    parties: Parties = None,
    issues: Issues = None,
) -> Response:
    """One row per party and issue as of a date (only the chosen parties and issues, if any)."""
    day = parse_day(as_of, field="as_of") or date.today()
    grid = matrix.build_matrix(
        session,
        as_of=day,
        known_on=parse_day(known_on, field="known_on"),
        stale_after_days=get_settings().stale_after_days,
    )
    grid = matrix_view.chosen(grid, parties=parties, issues=issues)
    return _csv(exports.matrix_csv(grid), f"matrix-{day.isoformat()}.csv")


@router.get("/documents.csv", summary="Documents as CSV")
def documents_export(session: SessionDep) -> Response:
    """Every document tabled in the talks, oldest first, with its parties, points and rounds."""
    return _csv(text_exports.documents_csv(session), "documents.csv")


@router.get("/points.csv", summary="Documents' points as CSV (issue and stance tags)")
def points_export(
    session: SessionDep,
    document: Annotated[str | None, Query(max_length=60, description="A document's slug")] = None,
) -> Response:
    """Every point (or one document's), with its issue:stance tags and its predecessor points."""
    chosen = documents.get_document(session, slug=document) if document else None
    name = f"points-{chosen.slug}.csv" if chosen else "points.csv"
    return _csv(text_exports.points_csv(session, document=chosen), name)


@router.get("/rounds.csv", summary="Rounds of talks as CSV")
def rounds_export(session: SessionDep) -> Response:
    """Every round, oldest first: dates, venue, format, outcome, parties, delegations, texts."""
    return _csv(text_exports.rounds_csv(session), "rounds.csv")
