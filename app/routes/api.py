"""The read-only JSON API (documented at /docs) and the health check."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text

from app.config import get_settings
from app.db import EngineDep, SessionDep
from app.forms import parse_day
from app.services import matrix

router = APIRouter(prefix="/api/v1", tags=["api"])
health_router = APIRouter(tags=["health"])


class PartyOut(BaseModel):
    """A row of the matrix."""

    slug: str
    name: str
    parent: str | None


class IssueOut(BaseModel):
    """A column of the matrix."""

    slug: str
    title: str
    proposition: str


class CellOut(BaseModel):
    """A party's position on an issue; absent cells mean no recorded position."""

    party: str
    issue: str
    stance: str
    condition: str | None
    effective_from: date
    evidence_count: int
    latest_evidence_on: date | None
    confirmation: str
    stale: bool


class MatrixOut(BaseModel):
    """The matrix as of a date."""

    as_of: date
    known_on: date | None
    parties: list[PartyOut]
    issues: list[IssueOut]
    cells: list[CellOut]


class ErrorOut(BaseModel):
    """Every API error: what went wrong, and on which parameter."""

    error: str
    detail: str
    field: str | None = None


@router.get(
    "/matrix",
    response_model=MatrixOut,
    responses={400: {"model": ErrorOut}},
    summary="The position matrix as of a date",
)
def matrix_api(
    session: SessionDep,
    as_of: Annotated[str | None, Query(description="YYYY-MM-DD; default today.")] = None,
    known_on: Annotated[
        str | None, Query(description="YYYY-MM-DD: ignore positions recorded after this day.")
    ] = None,
) -> MatrixOut:
    """Each party's stance on each issue in force on `as_of`, one cell per recorded position."""
    day = parse_day(as_of, field="as_of") or date.today()
    grid = matrix.build_matrix(
        session,
        as_of=day,
        known_on=parse_day(known_on, field="known_on"),
        stale_after_days=get_settings().stale_after_days,
    )
    slugs = {p.id: p.slug for p in grid.parties}
    issue_slugs = {i.id: i.slug for i in grid.issues}
    return MatrixOut(
        as_of=grid.as_of,
        known_on=grid.known_on,
        parties=[
            PartyOut(
                slug=p.slug,
                name=p.name,
                parent=slugs.get(p.parent_id) if p.parent_id is not None else None,
            )
            for p in grid.parties
        ],
        issues=[
            IssueOut(slug=i.slug, title=i.title, proposition=i.proposition) for i in grid.issues
        ],
        cells=[
            CellOut(
                party=slugs[c.party_id],
                issue=issue_slugs[c.issue_id],
                stance=c.stance.value,
                condition=c.condition,
                effective_from=c.effective_from,
                evidence_count=c.evidence_count,
                latest_evidence_on=c.latest_evidence_on,
                confirmation=c.confirmation,
                stale=c.stale,
            )
            for party in grid.parties
            for issue in grid.issues
            if (c := grid.cell(party, issue)) is not None
        ],
    )


@health_router.get("/healthz", summary="Liveness and database reachability")
def healthz(engine: EngineDep) -> JSONResponse:
    """200 when the database answers, 503 when it does not."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # any driver error means "not healthy", never a 500
        return JSONResponse(
            {"status": "unavailable", "database": "unreachable", "detail": type(exc).__name__},
            status_code=503,
        )
    return JSONResponse({"status": "ok", "database": "ok"})
