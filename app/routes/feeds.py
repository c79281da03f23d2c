"""Atom feeds of position changes: all, per party, per issue, so an analyst can follow a cell."""

from __future__ import annotations

from datetime import UTC, date, datetime

from fastapi import APIRouter, Request
from starlette.responses import Response

from app.db import SessionDep
from app.services import catalog, evidence
from app.services.matrix import changes_between
from app.templating import templates

router = APIRouter(prefix="/feeds", tags=["feeds"])

FEED_SIZE = 50
BEGINNING = date(1900, 1, 1)


def _atom(
    request: Request,
    session: SessionDep,
    *,
    title: str,
    feed_path: str,
    party_ids: list[int] | None = None,
    issue_ids: list[int] | None = None,
) -> Response:
    changes = changes_between(
        session,
        since=BEGINNING,
        until=date.today(),
        limit=FEED_SIZE,
        party_ids=party_ids,
        issue_ids=issue_ids,
    )
    listing = evidence.change_list(session, since=BEGINNING, until=date.today(), changes=changes)
    updated = max((c.recorded_at for c in changes), default=datetime(2025, 1, 1, tzinfo=UTC))
    body = templates.get_template("feeds/atom.xml").render(
        base=str(request.base_url).rstrip("/"),
        feed_path=feed_path,
        title=title,
        listing=listing,
        updated=updated,
    )
    return Response(body, media_type="application/atom+xml; charset=utf-8")


@router.get("/changes.atom", summary="Atom feed of every change of position")
def all_changes(request: Request, session: SessionDep) -> Response:
    """The newest changes of stance across all parties and issues."""
    return _atom(
        request, session, title="peacetalks: changes of position", feed_path="/feeds/changes.atom"
    )


@router.get("/parties/{slug}.atom", summary="Atom feed of one party's changes")
def party_changes(request: Request, session: SessionDep, slug: str) -> Response:
    """The newest changes of stance of one party."""
    party = catalog.get_party(session, slug=slug)
    return _atom(
        request,
        session,
        title=f"peacetalks: {party.name} changes of position",
        feed_path=f"/feeds/parties/{party.slug}.atom",
        party_ids=[party.id],
    )


@router.get("/issues/{slug}.atom", summary="Atom feed of changes on one issue")
def issue_changes(request: Request, session: SessionDep, slug: str) -> Response:
    """The newest changes of stance on one issue."""
    issue = catalog.get_issue(session, slug=slug)
    return _atom(
        request,
        session,
        title=f"peacetalks: changes on {issue.title}",
        feed_path=f"/feeds/issues/{issue.slug}.atom",
        issue_ids=[issue.id],
    )
