"""Atom feeds of position changes (all, per party, per issue, so an analyst can follow a cell)
and of new documents, versions and rounds."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from fastapi import APIRouter, Request
from starlette.responses import Response

from app.config import get_settings
from app.db import SessionDep
from app.models import Party
from app.services import catalog, evidence, rounds
from app.services.matrix import changes_between
from app.services.users import as_utc
from app.templating import render_text

router = APIRouter(prefix="/feeds", tags=["feeds"])

FEED_SIZE = 50
BEGINNING = date(1900, 1, 1)
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
"""Characters XML 1.0 forbids: one in a feed makes every reader refuse the whole feed."""


def rfc3339(moment: datetime | date) -> str:
    """A timestamp as RFC 3339 in UTC (a date as its midnight UTC), as Atom wants."""
    if not isinstance(moment, datetime):
        moment = datetime(moment.year, moment.month, moment.day, tzinfo=UTC)
    return as_utc(moment).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def utc_day(moment: datetime) -> date:
    """The UTC calendar day of a stored timestamp."""
    return as_utc(moment).astimezone(UTC).date()


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
    # An entry is updated when the change was recorded; the feed, when its newest entry was.
    updated = max(
        (as_utc(c.recorded_at) for c in changes), default=datetime(2025, 1, 1, tzinfo=UTC)
    )
    body = render_text(
        "feeds/atom.xml",
        {
            "base": get_settings().public_url or str(request.base_url).rstrip("/"),
            "feed_path": feed_path,
            "title": title,
            "listing": listing,
            "updated": updated,
            "rfc3339": rfc3339,
            "utc_day": utc_day,
        },
    )
    # Forms refuse these characters; text saved before they did (or imported) is cleaned here.
    return Response(NOT_XML.sub("", body), media_type="application/atom+xml; charset=utf-8")


def _with_members(session: SessionDep, party: Party) -> list[int]:
    """The party and, for a bloc, its members (a member moving is how a bloc comes to be split)."""
    return [party.id, *(p.id for p in catalog.list_parties(session) if p.parent_id == party.id)]


@router.get("/changes.atom", summary="Atom feed of every change of position")
def all_changes(request: Request, session: SessionDep) -> Response:
    """The newest changes of stance across all parties and issues."""
    return _atom(
        request, session, title="peacetalks: changes of position", feed_path="/feeds/changes.atom"
    )


@router.get("/parties/{slug}.atom", summary="Atom feed of one party's changes")
def party_changes(request: Request, session: SessionDep, slug: str) -> Response:
    """The newest changes of stance of one party; a bloc's feed includes its members' changes
    (a member moving is how a bloc comes to be split)."""
    party = catalog.get_party(session, slug=slug)
    return _atom(
        request,
        session,
        title=f"peacetalks: {party.name} changes of position",
        feed_path=f"/feeds/parties/{party.slug}.atom",
        party_ids=_with_members(session, party),
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


@router.get("/cells/{party}/{issue}.atom", summary="Atom feed of one cell's changes")
def cell_changes(request: Request, session: SessionDep, party: str, issue: str) -> Response:
    """The newest changes of one party's stance on one issue; a bloc's cell includes its
    members' changes, like its party feed."""
    found = catalog.get_party(session, slug=party)
    topic = catalog.get_issue(session, slug=issue)
    return _atom(
        request,
        session,
        title=f"peacetalks: {found.name} on {topic.title}",
        feed_path=f"/feeds/cells/{found.slug}/{topic.slug}.atom",
        party_ids=_with_members(session, found),
        issue_ids=[topic.id],
    )


@router.get("/documents.atom", summary="Atom feed of new documents, versions and rounds")
def documents_feed(request: Request, session: SessionDep) -> Response:
    """The newest documents (a new version too) and rounds of talks, newest recorded first."""
    items = rounds.feed_items(session, limit=FEED_SIZE)
    updated = max((as_utc(i.recorded_at) for i in items), default=datetime(2025, 1, 1, tzinfo=UTC))
    body = render_text(
        "feeds/texts.xml",
        {"base": str(request.base_url).rstrip("/"), "feed_path": "/feeds/documents.atom",
         "items": items, "updated": updated, "rfc3339": rfc3339},
    )  # fmt: skip
    return Response(NOT_XML.sub("", body), media_type="application/atom+xml; charset=utf-8")
