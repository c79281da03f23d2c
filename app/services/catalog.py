"""Parties, issues, speakers and sources: look-ups, creation, edits, deletion and ordering."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.orm.exc import StaleDataError

from app.db import Base
from app.models import (
    Issue,
    Party,
    PartyKind,
    Position,
    Quote,
    QuoteIssue,
    Round,
    Source,
    SourceKind,
    SourceTier,
    Speaker,
    Theme,
    User,
)
from app.services import audit
from app.services.errors import EditConflict, InUse, NotFound, ValidationFailed


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
    theme: str | None = None,
) -> Issue:
    """Add an issue (a term of a settlement, phrased as a proposition), under `theme` (a slug)."""
    issue = Issue(
        slug=slug,
        title=title,
        proposition=proposition,
        description=description,
        sort_order=sort_order,
        theme=theme,
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


# --- Managing the lists: validation, updates, deletions and ordering --------------------------

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
SORT_STEP = 10


def check_version(
    entity: Party | Issue | Speaker | Source | Quote | User | Theme, expected: int
) -> None:
    """Raise EditConflict unless `expected` is the stored version of `entity`."""
    if entity.version != expected:
        raise EditConflict(entity)


@contextmanager
def versioned_write(session: Session, entity: Base) -> Iterator[None]:
    """Write changes to `entity` in a savepoint flushed at its end. Someone else's save since
    this request read it (the mapper's version counter: StaleDataError) undoes just these
    changes, leaves the request's transaction usable, and raises EditConflict."""
    try:
        with session.begin_nested():
            yield
    except StaleDataError as exc:
        raise EditConflict(entity) from exc


def slug_error(
    session: Session, model: type[Party] | type[Issue] | type[Theme], slug: str
) -> str | None:
    """Why `slug` cannot name a new row of `model` (its form, or taken), or None."""
    if not SLUG_RE.match(slug):
        return "Use lowercase letters, digits and single dashes, e.g. eu-membership."
    if session.scalar(select(model.id).where(model.slug == slug)) is not None:
        return "This slug is taken; slugs are in permalinks, so choose another."
    return None


def _refuse_if_used(
    session: Session,
    what: str,
    uses: list[tuple[InstrumentedAttribute[int | None], int, str]],
) -> None:
    named = []
    for column, value, label in uses:
        n = session.scalar(select(func.count()).where(column == value)) or 0
        if n:
            named.append(f"{n} {label}{'' if n == 1 else 's'}")
    if named:
        raise InUse(
            f"{what} cannot be deleted: it is used by {', '.join(named)}. "
            "Change or delete those first."
        )


def get_party_by_id(session: Session, *, party_id: int) -> Party:
    """The party with this id, or NotFound."""
    party = session.get(Party, party_id)
    if party is None:
        raise NotFound("party", party_id)
    return party


def bloc_parties(session: Session) -> list[Party]:
    """Every party of kind bloc, the possible parents of another party."""
    return [p for p in list_parties(session) if p.kind == PartyKind.BLOC]


def next_sort_order(session: Session, model: type[Party] | type[Issue]) -> int:
    """A sort order that puts a new party or issue last."""
    highest = session.scalar(select(func.max(model.sort_order)))
    return (highest or 0) + SORT_STEP


def _parent_error(
    session: Session, *, party: Party | None, parent: Party | None, kind: PartyKind
) -> str | None:
    if parent is None:
        return None
    if party is not None and parent.id == party.id:
        return "A party cannot be its own bloc."
    if parent.kind != PartyKind.BLOC:
        return f"'{parent.name}' is not a bloc; choose a party of kind bloc."
    ancestor: Party | None = parent
    seen: set[int] = set()
    while ancestor is not None and ancestor.parent_id is not None and ancestor.id not in seen:
        seen.add(ancestor.id)
        if party is not None and ancestor.parent_id == party.id:
            return f"'{parent.name}' is a member of this party; that would make a cycle."
        ancestor = session.get(Party, ancestor.parent_id)
    if parent.parent_id is not None:
        # The matrix shows one level of members beneath each top-level bloc.
        return f"'{parent.name}' is itself a member of a bloc; choose a top-level bloc."
    if party is not None and kind == PartyKind.BLOC:
        has_members = session.scalar(select(Party.id).where(Party.parent_id == party.id).limit(1))
        if has_members is not None:
            return "A bloc with members of its own cannot join another bloc."
    return None


def add_party(
    session: Session,
    *,
    actor: User | None,
    slug: str,
    name: str,
    short_name: str,
    kind: PartyKind,
    parent: Party | None,
    sort_order: int | None,
) -> Party:
    """Add a party after checking its slug and its bloc."""
    errors: dict[str, str] = {}
    slug_problem = slug_error(session, Party, slug)
    if slug_problem:
        errors["slug"] = slug_problem
    parent_problem = _parent_error(session, party=None, parent=parent, kind=kind)
    if parent_problem:
        errors["parent"] = parent_problem
    if errors:
        raise ValidationFailed(errors)
    return create_party(
        session,
        actor=actor,
        slug=slug,
        name=name,
        short_name=short_name,
        kind=kind,
        parent=parent,
        sort_order=next_sort_order(session, Party) if sort_order is None else sort_order,
    )


def update_party(
    session: Session,
    *,
    actor: User | None,
    party: Party,
    expected_version: int,
    name: str,
    short_name: str,
    kind: PartyKind,
    parent: Party | None,
    sort_order: int,
) -> Party:
    """Rename a party, change its kind, bloc or sort order (the slug never changes)."""
    check_version(party, expected_version)
    errors: dict[str, str] = {}
    parent_problem = _parent_error(session, party=party, parent=parent, kind=kind)
    if parent_problem:
        errors["parent"] = parent_problem
    if kind != PartyKind.BLOC and party.kind == PartyKind.BLOC:
        if session.scalar(select(Party.id).where(Party.parent_id == party.id).limit(1)):
            errors["kind"] = "This bloc has members; move them out before changing its kind."
    if errors:
        raise ValidationFailed(errors)
    with versioned_write(session, party):
        before = audit.snapshot(party)
        party.name = name
        party.short_name = short_name
        party.kind = kind
        party.parent_id = parent.id if parent else None
        party.sort_order = sort_order
        audit.record(session, actor=actor, action="update", entity=party, before=before)
    return party


def delete_party(session: Session, *, actor: User | None, party: Party) -> None:
    """Delete a party that nothing uses (no quotes, positions, speakers or members)."""
    _refuse_if_used(
        session,
        f"{party.name} ({party.slug})",
        [
            (Quote.party_id, party.id, "quote"),
            (Position.party_id, party.id, "position"),
            (Speaker.party_id, party.id, "speaker"),
            (Party.parent_id, party.id, "member"),
        ],
    )
    audit.record(session, actor=actor, action="delete", entity=party, before=audit.snapshot(party))
    session.delete(party)
    session.flush()


def move_in_order(
    session: Session,
    *,
    actor: User | None,
    siblings: Sequence[Party] | Sequence[Issue] | Sequence[Theme],
    item: Party | Issue | Theme,
    direction: str,
) -> None:
    """Swap `item` with its neighbour among `siblings` and renumber them (audited)."""
    ordered: list[Party | Issue | Theme] = list(siblings)
    index = ordered.index(item)
    other = index - 1 if direction == "up" else index + 1
    if other < 0 or other >= len(ordered):
        return
    ordered[index], ordered[other] = ordered[other], ordered[index]
    # Renumber the siblings so that ties in the stored order cannot hide the move.
    for position, entry in enumerate(ordered, start=1):
        wanted = position * SORT_STEP
        if entry.sort_order != wanted:
            before = audit.snapshot(entry)
            entry.sort_order = wanted
            audit.record(session, actor=actor, action="update", entity=entry, before=before)


def move_party(session: Session, *, actor: User | None, party: Party, direction: str) -> None:
    """Move a party one place up or down among the parties beside it (same bloc, or top level)."""
    siblings = [p for p in list_parties(session) if p.parent_id == party.parent_id]
    move_in_order(session, actor=actor, siblings=siblings, item=party, direction=direction)


def get_issue_by_id(session: Session, *, issue_id: int) -> Issue:
    """The issue with this id, or NotFound."""
    issue = session.get(Issue, issue_id)
    if issue is None:
        raise NotFound("issue", issue_id)
    return issue


def add_issue(
    session: Session,
    *,
    actor: User | None,
    slug: str,
    title: str,
    proposition: str,
    description: str,
    sort_order: int | None,
    theme: str | None = None,
) -> Issue:
    """Add an issue after checking its slug."""
    slug_problem = slug_error(session, Issue, slug)
    if slug_problem:
        raise ValidationFailed({"slug": slug_problem})
    return create_issue(
        session,
        actor=actor,
        slug=slug,
        title=title,
        proposition=proposition,
        description=description,
        sort_order=next_sort_order(session, Issue) if sort_order is None else sort_order,
        theme=theme,
    )


def update_issue(
    session: Session,
    *,
    actor: User | None,
    issue: Issue,
    expected_version: int,
    title: str,
    proposition: str,
    description: str,
    sort_order: int,
    theme: str | None = None,
) -> Issue:
    """Edit an issue's title, proposition, description, sort order or theme (the slug never
    changes)."""
    check_version(issue, expected_version)
    with versioned_write(session, issue):
        before = audit.snapshot(issue)
        issue.title = title
        issue.proposition = proposition
        issue.description = description
        issue.sort_order = sort_order
        issue.theme = theme
        audit.record(session, actor=actor, action="update", entity=issue, before=before)
    return issue


def delete_issue(session: Session, *, actor: User | None, issue: Issue) -> None:
    """Delete an issue that no quote is tagged with and no position is about."""
    _refuse_if_used(
        session,
        f"{issue.title} ({issue.slug})",
        [
            (QuoteIssue.issue_id, issue.id, "quote"),
            (Position.issue_id, issue.id, "position"),
        ],
    )
    audit.record(session, actor=actor, action="delete", entity=issue, before=audit.snapshot(issue))
    session.delete(issue)
    session.flush()


def move_issue(session: Session, *, actor: User | None, issue: Issue, direction: str) -> None:
    """Move an issue one column left ("up") or right ("down") in the matrix."""
    move_in_order(
        session, actor=actor, siblings=list_issues(session), item=issue, direction=direction
    )


def list_sources(session: Session) -> list[Source]:
    """Every source, newest publication first."""
    return list(
        session.scalars(
            select(Source).order_by(Source.published_on.desc().nulls_last(), Source.id.desc())
        )
    )


def get_source(session: Session, *, source_id: int) -> Source:
    """The source with this id, or NotFound."""
    source = session.get(Source, source_id)
    if source is None:
        raise NotFound("source", source_id)
    return source


def _source_errors(
    session: Session, *, url: str, published_on: date | None, source: Source | None
) -> dict[str, str]:
    errors: dict[str, str] = {}
    parts = urlsplit(url)
    if parts.scheme.lower() not in {"http", "https"} or not url.lower().startswith(
        ("http://", "https://")
    ):
        errors["url"] = "Only http:// and https:// URLs are accepted."
    elif not parts.netloc:
        errors["url"] = "Enter a full address, e.g. https://www.reuters.com/world/..."
    else:
        found = find_source(session, url=url)
        if found is not None and (source is None or found.id != source.id):
            errors["url"] = f"This URL is already a source: '{found.title}' ({found.outlet})."
    if published_on is not None and published_on > date.today():
        errors["published_on"] = "Published on cannot be in the future."
    return errors


def add_source(
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
    """Add a source after checking its URL is http(s) and new."""
    errors = _source_errors(session, url=url, published_on=published_on, source=None)
    if errors:
        raise ValidationFailed(errors)
    return create_source(
        session,
        actor=actor,
        url=url,
        title=title,
        outlet=outlet,
        published_on=published_on,
        kind=kind,
        tier=tier,
    )


def update_source(
    session: Session,
    *,
    actor: User | None,
    source: Source,
    expected_version: int,
    url: str,
    title: str,
    outlet: str,
    published_on: date | None,
    kind: SourceKind,
    tier: SourceTier,
) -> Source:
    """Edit a source; its URL stays http(s) and unique."""
    check_version(source, expected_version)
    errors = _source_errors(session, url=url, published_on=published_on, source=source)
    if errors:
        raise ValidationFailed(errors)
    with versioned_write(session, source):
        before = audit.snapshot(source)
        source.url = url
        source.title = title
        source.outlet = outlet
        source.published_on = published_on
        source.kind = kind
        source.tier = tier
        audit.record(session, actor=actor, action="update", entity=source, before=before)
    return source


def delete_source(session: Session, *, actor: User | None, source: Source) -> None:
    """Delete a source no quote cites."""
    _refuse_if_used(
        session,
        f"'{source.title}' ({source.outlet})",
        [(Quote.source_id, source.id, "quote")],
    )
    audit.record(
        session, actor=actor, action="delete", entity=source, before=audit.snapshot(source)
    )
    session.delete(source)
    session.flush()


def speaker_options(session: Session) -> list[tuple[str, str]]:
    """Every speaker by name as the speaker filter lists them: (id, "Name (party)"); plain rows,
    not entities, as every search page lists them all."""
    rows = session.execute(
        select(Speaker.id, Speaker.name, Party.short_name)
        .join(Party, Party.id == Speaker.party_id)
        .order_by(Speaker.name, Speaker.id)
    )
    return [(str(speaker_id), f"{name} ({party})") for speaker_id, name, party in rows]


def round_marks(session: Session) -> list[tuple[date, str]]:
    """Every round as a timeline marks it: (first day, name), by first day."""
    found = session.execute(select(Round.starts_on, Round.name).order_by(Round.starts_on))
    return [(day, name) for day, name in found]
