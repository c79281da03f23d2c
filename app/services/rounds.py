"""Rounds of talks: the meetings, who came, what was tabled, what changed in the matrix between
one round and the next, and a round as a point on the time axis (`since=round:<slug>`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.attributes import flag_modified

from app.forms import Moment, RoundInput, checkbox, parse_moment
from app.forms.fields import FormFields, whole_number
from app.models import (
    Document,
    DocumentParty,
    Issue,
    Party,
    Position,
    Quote,
    Round,
    RoundDelegate,
    RoundFormat,
    RoundParty,
    Source,
    Speaker,
    User,
)
from app.services import audit, catalog, evidence, matrix
from app.services.errors import EditConflict, InUse, NotFound, ValidationFailed
from app.services.users import as_utc


def _loading() -> list[Any]:
    return [
        selectinload(Round.parties).selectinload(RoundParty.party),
        selectinload(Round.parties)
        .selectinload(RoundParty.delegates)
        .selectinload(RoundDelegate.speaker),
        selectinload(Round.documents)
        .selectinload(Document.parties)
        .selectinload(DocumentParty.party),
        selectinload(Round.source),
    ]


def get_round(session: Session, *, slug: str) -> Round:
    """The round with this slug, its parties, documents and source (NotFound otherwise)."""
    found = session.scalar(select(Round).where(Round.slug == slug).options(*_loading()))
    if found is None:
        raise NotFound("round", slug)
    return found


def find_round(session: Session, *, slug: str) -> Round | None:
    """The round with this slug, if any (nothing loaded with it)."""
    return session.scalar(select(Round).where(Round.slug == slug))


def party_rounds(session: Session, *, party: Party) -> list[tuple[Round, str]]:
    """The rounds a party attended with its delegation there, newest first (one query)."""
    rows = session.execute(
        select(Round, RoundParty.delegation)
        .join(RoundParty, RoundParty.round_id == Round.id)
        .where(RoundParty.party_id == party.id)
        .order_by(Round.starts_on.desc(), Round.id.desc())
    )
    return [(meeting, delegation) for meeting, delegation in rows]


def round_choices(session: Session) -> list[tuple[str, str]]:
    """Every round as (slug, "Name (17 Apr 2025)"), newest first, for a form's Round list."""
    rows = session.execute(
        select(Round.slug, Round.name, Round.starts_on).order_by(
            Round.starts_on.desc(), Round.id.desc()
        )
    )
    return [(slug, f"{name} ({day:%-d %b %Y})") for slug, name, day in rows]


def list_rounds(session: Session) -> list[Round]:
    """Every round, oldest first, with parties, documents and source."""
    return list(
        session.scalars(select(Round).order_by(Round.starts_on, Round.id).options(*_loading()))
    )


def create_round(
    session: Session,
    *,
    actor: User | None,
    slug: str,
    name: str,
    starts_on: date,
    ends_on: date | None,
    format: RoundFormat,
    venue: str = "",
    outcome: str = "",
    source: Source | None = None,
    parties: Sequence[tuple[Party, str]] = (),
    documents: Sequence[Document] = (),
    delegates: Mapping[str, Sequence[Speaker]] | None = None,
) -> Round:
    """Add a round with its parties (their delegations: a note and, by party slug, the known
    speakers in it) and the documents tabled there."""
    delegates = delegates or {}
    errors = _delegate_errors(parties, delegates)
    if find_round(session, slug=slug) is not None:
        errors["slug"] = f"The slug '{slug}' is taken; choose another."
    ends = ends_on or starts_on
    if ends < starts_on:
        errors["ends_on"] = "A round cannot end before it starts."
    if len({party.id for party, _ in parties}) != len(parties):
        errors["parties"] = "Name each party once."
    if errors:
        raise ValidationFailed(errors)
    meeting = Round(
        slug=slug, name=name, starts_on=starts_on, ends_on=ends, format=format, venue=venue,
        outcome=outcome, source_id=source.id if source else None,
    )  # fmt: skip
    meeting.parties = [
        RoundParty(
            party_id=p.id,
            delegation=d,
            delegates=[RoundDelegate(speaker_id=s.id) for s in delegates.get(p.slug, ())],
        )  # fmt: skip
        for p, d in parties
    ]
    meeting.documents = list(documents)
    session.add(meeting)
    audit.record(
        session,
        actor=actor,
        action="create",
        entity=meeting,
        extra=_links(
            parties, {slug: [s.id for s in chosen] for slug, chosen in delegates.items()}, documents
        ),
    )
    return meeting


def _delegate_errors(
    parties: Sequence[tuple[Party, str]], delegates: Mapping[str, Sequence[Speaker]]
) -> dict[str, str]:
    """A delegate speaks for the party they came with, which must be at the round."""
    errors: dict[str, str] = {}
    present = {party.slug: party for party, _ in parties}
    for slug, chosen in delegates.items():
        party = present.get(slug)
        if chosen and party is None:
            errors[f"delegates_{slug}"] = "Tick the party too, or none of its speakers."
            continue
        strangers = [s.name for s in chosen if party is not None and s.party_id != party.id]
        if strangers:
            errors[f"delegates_{slug}"] = f"Not a speaker of this party: {', '.join(strangers)}."
        elif len({s.id for s in chosen}) != len(chosen):
            errors[f"delegates_{slug}"] = "Name each speaker once."
    return errors


SAID_AT_LIMIT = 200
"""Quotes (and positions) a round's page lists as said (taken) there, newest first."""


@dataclass(slots=True)
class SaidAt:
    """What was said and which stances were taken at a round."""

    quotes: list[Quote]
    positions: list[Position]


def said_at(session: Session, *, meeting: Round) -> SaidAt:
    """The quotes tied to a round (loaded to be cited) and the positions taken there, oldest
    first, each list at most SAID_AT_LIMIT long (a fixed number of reads)."""
    quotes = session.scalars(
        select(Quote)
        .where(Quote.round_id == meeting.id)
        .order_by(Quote.said_on, Quote.id)
        .limit(SAID_AT_LIMIT)
        .options(*evidence.quote_loading())
    )
    positions = session.scalars(
        select(Position)
        .where(Position.round_id == meeting.id)
        .order_by(Position.effective_from, Position.id)
        .limit(SAID_AT_LIMIT)
        .options(selectinload(Position.party), selectinload(Position.issue))
    )
    return SaidAt(list(quotes), list(positions))


def moment(session: Session, value: str, *, end: bool = False) -> Moment | None:
    """What `round:<slug>` stands for on the time axis, named after the round: as a start
    (`since`, `from`, which are exclusive) the day before its first day, so the round's own
    days count; as an `end` (`to`, inclusive) its last day."""
    found = find_round(session, slug=value)
    if found is None:
        return None
    return Moment(
        day=found.ends_on if end else found.starts_on - timedelta(days=1),
        label=f"the {found.name} ({found.starts_on:%-d %b %Y})",
        round_slug=found.slug,
    )


def on_axis(session: Session, *, until: date) -> list[tuple[date, str]]:
    """The rounds that began by `until`, as a timeline marks them: (first day, name)."""
    return [(day, name) for day, name in catalog.round_marks(session) if day <= until]


def parse_since(session: Session, value: str | None, *, field: str) -> Moment | None:
    """A `since`/`from` parameter: a date or `round:<slug>` (forms.parse_moment)."""
    return parse_moment(value, field=field, find_round=lambda slug: moment(session, slug))


def parse_until(session: Session, value: str | None, *, field: str) -> Moment | None:
    """A `to` parameter: a date or `round:<slug>` (its last day)."""
    return parse_moment(value, field=field, find_round=lambda slug: moment(session, slug, end=True))


@dataclass(slots=True)
class MatrixChange:
    """A change of stance in the matrix, named for a reader."""

    party: Party
    issue: Issue
    change: matrix.Change


@dataclass(slots=True)
class Chronology:
    """Each round with the changes of stance from its first day to the next round's."""

    entries: list[tuple[Round, list[MatrixChange], date]]


def chronology(session: Session, *, today: date) -> Chronology:
    """The rounds in order, each with what changed in the matrix from its first day up to the
    day before the next round (the last: up to today). A fixed number of reads."""
    rounds = list_rounds(session)
    if not rounds:
        return Chronology([])
    changes = matrix.changes_between(
        session, since=rounds[0].starts_on - timedelta(days=1), until=max(today, rounds[-1].ends_on)
    )
    parties = {p.id: p for p in session.scalars(select(Party))}
    issues = {i.id: i for i in session.scalars(select(Issue))}
    entries = []
    for index, meeting in enumerate(rounds):
        until = (
            rounds[index + 1].starts_on - timedelta(days=1)
            if index + 1 < len(rounds)
            else max(today, meeting.ends_on)
        )
        window = [
            MatrixChange(parties[c.party_id], issues[c.issue_id], c)
            for c in reversed(changes)
            if meeting.starts_on <= c.effective_from <= until
        ]
        entries.append((meeting, window, until))
    return Chronology(entries)


@dataclass(slots=True)
class RoundChoices:
    """What the round form ticked and named, resolved to records."""

    source: Source | None
    parties: list[tuple[Party, str]]
    delegates: dict[str, list[Speaker]]
    documents: list[Document]


def read_form(session: Session, *, data: RoundInput, values: Mapping[str, str]) -> RoundChoices:
    """The round form's ticked parties (party_<slug>) with their delegations (the note
    delegation_<slug>, the speaker ids delegates_<slug>), ticked documents (document_<slug>)
    and known source; ValidationFailed with every problem at once."""
    errors: dict[str, str] = {}
    source = None
    if data.source_url:
        source = catalog.find_source(session, url=data.source_url)
        if source is None:
            errors["source_url"] = "Cite a source already recorded (add it with a quote first)."
    parties = [
        (party, " ".join(values.get(f"delegation_{party.slug}", "").split())[:1000])
        for party in catalog.list_parties(session)
        if checkbox(values.get(f"party_{party.slug}", ""))
    ]
    delegates = _chosen_delegates(session, values, errors)
    errors.update(_delegate_errors(parties, delegates))
    tabled = [
        document
        for document in session.scalars(select(Document).order_by(Document.tabled_on))
        if checkbox(values.get(f"document_{document.slug}", ""))
    ]
    if errors:
        raise ValidationFailed(errors)
    return RoundChoices(source, parties, delegates, tabled)


def save_form(
    session: Session, *, actor: User | None, data: RoundInput, values: Mapping[str, str]
) -> Round:
    """Store the round form as a new round (read_form says what it reads)."""
    chosen = read_form(session, data=data, values=values)
    return create_round(
        session, actor=actor, slug=data.slug, name=data.name, starts_on=data.starts_on,
        ends_on=data.ends_on, format=data.format, venue=data.venue, outcome=data.outcome,
        source=chosen.source, parties=chosen.parties, documents=chosen.documents,
        delegates=chosen.delegates,
    )  # fmt: skip


def _links(
    parties: Sequence[tuple[Party, str]],
    delegates: Mapping[str, Sequence[int]],
    documents: Sequence[Document],
) -> dict[str, Any]:
    """A round's own rows as its audit entry records them."""
    return {
        "parties": {p.slug: d for p, d in parties},
        "delegates": {slug: sorted(ids) for slug, ids in delegates.items() if ids},
        "documents": [d.slug for d in documents],
    }


def _stored_links(meeting: Round) -> dict[str, Any]:
    return _links(
        [(seat.party, seat.delegation) for seat in meeting.parties],
        {seat.party.slug: [d.speaker_id for d in seat.delegates] for seat in meeting.parties},
        meeting.documents,
    )


def form_values(meeting: Round) -> tuple[dict[str, str], dict[str, set[str]]]:
    """The edit form filled from a round read by get_round, and the delegates' speaker ids
    (as text) ticked per party slug."""
    values = {
        "slug": meeting.slug, "name": meeting.name, "starts_on": meeting.starts_on.isoformat(),
        "ends_on": meeting.ends_on.isoformat(), "venue": meeting.venue,
        "format": meeting.format.value, "outcome": meeting.outcome,
        "source_url": meeting.source.url if meeting.source else "",
        "version": str(meeting.version),
    }  # fmt: skip
    for seat in meeting.parties:
        values[f"party_{seat.party.slug}"] = "on"
        values[f"delegation_{seat.party.slug}"] = seat.delegation
    for document in meeting.documents:
        values[f"document_{document.slug}"] = "on"
    chosen = {
        seat.party.slug: {str(d.speaker_id) for d in seat.delegates} for seat in meeting.parties
    }
    return values, chosen


def check_version(meeting: Round, expected: int) -> None:
    """Raise EditConflict unless `expected` is the stored version of the round."""
    if meeting.version != expected:
        raise EditConflict(meeting)


def update_form(
    session: Session,
    *,
    actor: User | None,
    meeting: Round,
    data: RoundInput,
    values: Mapping[str, str],
    expected_version: int,
) -> Round:
    """Save the edit form over a round read by get_round, all of it or nothing (its slug stays);
    EditConflict when it changed since the form was opened or another save lands first."""
    check_version(meeting, expected_version)
    errors: dict[str, str] = {}
    if data.ends_on is not None and data.ends_on < data.starts_on:
        errors["ends_on"] = "A round cannot end before it starts."
    try:
        chosen = read_form(session, data=data, values=values)
    except ValidationFailed as exc:
        errors.update(exc.errors)
    if errors:
        raise ValidationFailed(errors)
    before = {**audit.snapshot(meeting), **_stored_links(meeting)}
    with catalog.versioned_write(session, meeting):
        meeting.name, meeting.venue, meeting.outcome = data.name, data.venue, data.outcome
        meeting.starts_on, meeting.ends_on = data.starts_on, data.ends_on or data.starts_on
        meeting.format = data.format
        meeting.source_id = chosen.source.id if chosen.source else None
        seats = {seat.party_id: seat for seat in meeting.parties}
        kept = []
        for party, note in chosen.parties:
            seat = seats.get(party.id) or RoundParty(party_id=party.id, delegates=[])
            seat.delegation = note
            wanted = {s.id for s in chosen.delegates.get(party.slug, ())}
            present = {d.speaker_id for d in seat.delegates}
            # Keep the rows of delegates still named, so none is deleted and inserted again.
            seat.delegates = [d for d in seat.delegates if d.speaker_id in wanted] + [
                RoundDelegate(speaker_id=i) for i in sorted(wanted - present)
            ]
            kept.append(seat)
        meeting.parties = kept
        meeting.documents = list(chosen.documents)
        # Always an UPDATE of the row, so the version moves even when only the links changed.
        flag_modified(meeting, "name")
        after = _links(
            chosen.parties,
            {
                slug: [s.id for s in chosen_speakers]
                for slug, chosen_speakers in chosen.delegates.items()
            },
            chosen.documents,
        )
        audit.record(
            session, actor=actor, action="update", entity=meeting, before=before, extra=after
        )
    return meeting


def delete_round(session: Session, *, actor: User | None, meeting: Round) -> None:
    """Delete a round (read by get_round) no quote or position is tied to (InUse otherwise),
    with its own rows: its parties, their delegates and the links to the documents tabled."""
    named = []
    for column, label in ((Quote.round_id, "quote"), (Position.round_id, "position")):
        n = session.scalar(select(func.count()).where(column == meeting.id)) or 0
        if n:
            named.append(f"{n} {label}{'' if n == 1 else 's'}")
    if named:
        raise InUse(
            f"'{meeting.name}' cannot be deleted: {', '.join(named)} "
            f"{'is' if len(named) == 1 and named[0].startswith('1 ') else 'are'} tied to it. "
            "Change or delete those first."
        )
    before = {**audit.snapshot(meeting), **_stored_links(meeting)}
    audit.record(session, actor=actor, action="delete", entity=meeting, before=before)
    session.delete(meeting)
    session.flush()


def chosen_ids(values: Mapping[str, str], slug: str) -> list[str]:
    """The speaker ids sent for a party's delegation (delegates_<slug>, repeated)."""
    name = f"delegates_{slug}"
    if isinstance(values, FormFields):
        return values.every(name)
    return [values[name]] if values.get(name) else []


def _chosen_delegates(
    session: Session, values: Mapping[str, str], errors: dict[str, str]
) -> dict[str, list[Speaker]]:
    """The speakers chosen per party slug, read in one query; an id that names no speaker is
    an error beside that party's field."""
    wanted: dict[str, list[int | None]] = {}
    for party in catalog.list_parties(session):
        ids = chosen_ids(values, party.slug)
        if ids:
            wanted[party.slug] = [whole_number(i.strip()) for i in ids]
    numbers = {n for ids in wanted.values() for n in ids if n is not None}
    known = {s.id: s for s in session.scalars(select(Speaker).where(Speaker.id.in_(numbers)))}
    chosen: dict[str, list[Speaker]] = {}
    for slug, numbers_sent in wanted.items():
        if any(n not in known for n in numbers_sent):
            errors[f"delegates_{slug}"] = "Choose speakers from the list; one is not known."
        else:
            chosen[slug] = [known[n] for n in numbers_sent if n is not None]
    return chosen


@dataclass(frozen=True, slots=True)
class FeedItem:
    """A new document, version or round, as a feed entry."""

    key: str
    recorded_at: datetime
    happened_on: date
    title: str
    path: str
    summary: str


def feed_items(session: Session, *, limit: int) -> list[FeedItem]:
    """The newest documents (and versions) and rounds, newest recorded first (two queries)."""
    items = [
        FeedItem(
            key=f"document/{d.id}",
            recorded_at=d.created_at,
            happened_on=d.tabled_on,
            title=("New version: " if d.derived_from_id else "New document: ") + d.title,
            path=f"/documents/{d.slug}",
            summary=f"{d.kind.value.replace('_', ' ').capitalize()}, tabled {d.tabled_on:%-d %b %Y};"
            f" status {d.status.value}, text {d.confirmation.value}. {d.note}".strip(),
        )  # fmt: skip
        for d in session.scalars(
            select(Document).order_by(Document.created_at.desc(), Document.id.desc()).limit(limit)
        )
    ]
    items += [
        FeedItem(
            key=f"round/{r.id}",
            recorded_at=r.created_at,
            happened_on=r.starts_on,
            title=f"Round: {r.name}",
            path=f"/rounds/{r.slug}",
            summary=f"{r.format.value.capitalize()}, {r.starts_on:%-d %b %Y}"
            f"{', ' + r.venue if r.venue else ''}. {r.outcome}".strip(),
        )  # fmt: skip
        for r in session.scalars(
            select(Round).order_by(Round.created_at.desc(), Round.id.desc()).limit(limit)
        )
    ]
    items.sort(key=lambda i: (as_utc(i.recorded_at), i.happened_on), reverse=True)
    return items[:limit]
