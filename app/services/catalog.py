"""Parties, issues, speakers and sources: look-ups by key and creation."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Issue, Party, PartyKind, Source, SourceKind, SourceTier, Speaker, User
from app.services import audit
from app.services.errors import NotFound, ValidationFailed


def find_party(session: Session, *, slug: str) -> Party | None:
    """The party with this slug, if any."""
    return session.scalar(select(Party).where(Party.slug == slug))


def get_party(session: Session, *, slug: str) -> Party:
    """The party with this slug, or NotFound."""
    party = find_party(session, slug=slug)
    if party is None:
        raise NotFound("party", slug)
    return party


def find_issue(session: Session, *, slug: str) -> Issue | None:
    """The issue with this slug, if any."""
    return session.scalar(select(Issue).where(Issue.slug == slug))


def get_issue(session: Session, *, slug: str) -> Issue:
    """The issue with this slug, or NotFound."""
    issue = find_issue(session, slug=slug)
    if issue is None:
        raise NotFound("issue", slug)
    return issue


def list_parties(session: Session) -> list[Party]:
    """Every party in display order: each top-level party followed by its bloc's members."""
    parties = list(session.scalars(select(Party).order_by(Party.sort_order, Party.name)))
    return order_as_tree(parties)


def order_as_tree(parties: list[Party]) -> list[Party]:
    """Put each bloc's members right beneath it, keeping the given order otherwise."""
    children: dict[int, list[Party]] = {}
    for party in parties:
        if party.parent_id is not None:
            children.setdefault(party.parent_id, []).append(party)
    known = {party.id for party in parties}
    ordered: list[Party] = []
    for party in parties:
        if party.parent_id is None or party.parent_id not in known:
            ordered.append(party)
            ordered.extend(children.get(party.id, []))
    return ordered


def list_issues(session: Session) -> list[Issue]:
    """Every issue in display order."""
    return list(session.scalars(select(Issue).order_by(Issue.sort_order, Issue.title)))


def create_party(
    session: Session,
    *,
    actor: User | None,
    slug: str,
    name: str,
    short_name: str,
    kind: PartyKind,
    parent: Party | None = None,
    sort_order: int = 0,
) -> Party:
    """Add a party; a parent must be a bloc."""
    if parent is not None and parent.kind != PartyKind.BLOC:
        raise ValidationFailed({"parent": f"'{parent.name}' is not a bloc."})
    party = Party(
        slug=slug,
        name=name,
        short_name=short_name,
        kind=kind,
        parent_id=parent.id if parent else None,
        sort_order=sort_order,
    )
    session.add(party)
    audit.record(session, actor=actor, action="create", entity=party)
    return party


def create_issue(
    session: Session,
    *,
    actor: User | None,
    slug: str,
    title: str,
    proposition: str,
    description: str = "",
    sort_order: int = 0,
) -> Issue:
    """Add an issue (a term of a settlement, phrased as a proposition)."""
    issue = Issue(
        slug=slug,
        title=title,
        proposition=proposition,
        description=description,
        sort_order=sort_order,
    )
    session.add(issue)
    audit.record(session, actor=actor, action="create", entity=issue)
    return issue


def find_speaker(session: Session, *, party: Party, name: str) -> Speaker | None:
    """The speaker of this name for this party, if any."""
    return session.scalar(select(Speaker).where(Speaker.party_id == party.id, Speaker.name == name))


def create_speaker(
    session: Session, *, actor: User | None, party: Party, name: str, role: str = ""
) -> Speaker:
    """Add a person who speaks for a party."""
    speaker = Speaker(name=name, role=role, party_id=party.id)
    session.add(speaker)
    audit.record(session, actor=actor, action="create", entity=speaker)
    return speaker


def find_source(session: Session, *, url: str) -> Source | None:
    """The source with this URL, if any (URLs are unique)."""
    return session.scalar(select(Source).where(Source.url == url))


def create_source(
    session: Session,
    *,
    actor: User | None,
    url: str,
    title: str,
    outlet: str,
    published_on: date | None,
    kind: SourceKind,
    tier: SourceTier,
) -> Source:
    """Add a source; only http and https URLs are accepted."""
    if not url.lower().startswith(("http://", "https://")):
        raise ValidationFailed({"url": "Only http:// and https:// URLs are accepted."})
    source = Source(
        url=url, title=title, outlet=outlet, published_on=published_on, kind=kind, tier=tier
    )
    session.add(source)
    audit.record(session, actor=actor, action="create", entity=source)
    return source
