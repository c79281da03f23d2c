"""Build test data through the real service functions (no hand-made rows, no mocks)."""

from __future__ import annotations

import itertools
from datetime import date

from sqlalchemy.orm import Session

from app.models import (
    Issue,
    Party,
    PartyKind,
    Position,
    Quote,
    QuoteKind,
    QuoteStatus,
    Source,
    SourceKind,
    SourceTier,
    Stance,
)
from app.services import catalog, positions, quotes

_serial = itertools.count(1)


def party(
    session: Session,
    slug: str | None = None,
    *,
    parent: Party | None = None,
    kind: PartyKind = PartyKind.STATE,
    name: str | None = None,
) -> Party:
    """A new party."""
    slug = slug or f"p{next(_serial)}"
    return catalog.create_party(
        session,
        actor=None,
        slug=slug,
        name=name or f"Party {slug}",
        short_name=slug.upper(),
        kind=kind,
        parent=parent,
        sort_order=next(_serial),
    )


def issue(session: Session, slug: str | None = None, *, title: str | None = None) -> Issue:
    """A new issue."""
    slug = slug or f"i{next(_serial)}"
    return catalog.create_issue(
        session,
        actor=None,
        slug=slug,
        title=title or f"Issue {slug}",
        proposition=f"Proposition {slug}",
        sort_order=next(_serial),
    )


def source(session: Session, *, outlet: str = "Test Wire") -> Source:
    """A new source with a unique URL."""
    n = next(_serial)
    return catalog.create_source(
        session,
        actor=None,
        url=f"https://example.org/news/{n}",
        title=f"Report {n}",
        outlet=outlet,
        published_on=None,
        kind=SourceKind.NEWS_REPORT,
        tier=SourceTier.ON_RECORD,
    )


def quote(
    session: Session,
    of: Party,
    on: Issue | None,
    stance: Stance = Stance.ACCEPTS,
    *,
    said_on: date = date(2025, 4, 1),
    status: QuoteStatus = QuoteStatus.CONFIRMED,
    text: str | None = None,
    src: Source | None = None,
    responds_to: Quote | None = None,
) -> Quote:
    """A new quote of `of`, tagged with (`on`, `stance`) when `on` is given."""
    return quotes.create_quote(
        session,
        actor=None,
        text=text or f"Statement {next(_serial)}",
        kind=QuoteKind.DIRECT,
        said_on=said_on,
        party=of,
        source=src or source(session),
        status=status,
        confirms_or_denies=responds_to,
        tags=[(on, stance)] if on is not None else [],
    )


def position(
    session: Session,
    of: Party,
    on: Issue,
    stance: Stance,
    effective_from: date,
    *,
    evidence: list[Quote] | None = None,
    status: QuoteStatus = QuoteStatus.CONFIRMED,
    condition: str | None = None,
) -> Position:
    """A new position, with a fresh quote as evidence unless some is given."""
    cited = evidence or [quote(session, of, on, stance, said_on=effective_from, status=status)]
    return positions.record_position(
        session,
        actor=None,
        party=of,
        issue=on,
        stance=stance,
        effective_from=effective_from,
        rationale="Because the quote says so.",
        evidence=cited,
        condition=condition,
    )
