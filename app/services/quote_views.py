"""Quotes read for showing, not for changing: plain objects loaded by id from rows.

A page that shows quotes (a cell's, a search's, the quotes API's) reads each with its speaker,
party, source, round, the quote it answers, its tags and its responses. Built as ORM entities
(a joined load of eight tables, then tags and responses) that took 10.4 ms of processor time
per cell page on the large benchmark database (300 random cells, about 40 quotes each), of a
page's 22-26 ms; the same rows read as plain tuples into the objects below take 3.2 ms, and
the page 14-15 ms. `QuoteView` has the attributes a quote's citation reads
(templates/_macros.html `quote_item`, the API's `quote_out`, the quote CSV) under the same
names as `app.models.Quote`, so either can be shown; it is in no session, so nothing about it
is written back or loaded lazily.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, aliased

from app.db import among_named
from app.models import (
    Issue,
    Party,
    Quote,
    QuoteIssue,
    QuoteKind,
    QuoteStatus,
    Round,
    Source,
    SourceKind,
    SourceTier,
    Speaker,
    Stance,
)


@dataclass(frozen=True, slots=True)
class SpeakerRef:
    """Who said a quote, as a citation names them."""

    id: int
    name: str
    role: str


@dataclass(frozen=True, slots=True)
class PartyRef:
    """The party a quote speaks for."""

    id: int
    slug: str
    name: str
    short_name: str


@dataclass(frozen=True, slots=True)
class IssueRef:
    """An issue a quote is tagged with."""

    id: int
    slug: str
    title: str


@dataclass(frozen=True, slots=True)
class SourceRef:
    """Where a quote was reported."""

    id: int
    url: str
    title: str
    outlet: str
    published_on: date | None
    kind: SourceKind
    tier: SourceTier


@dataclass(frozen=True, slots=True)
class RoundRef:
    """The round of talks a quote was said at."""

    id: int
    slug: str
    name: str


@dataclass(frozen=True, slots=True)
class TagView:
    """A quote's tag: an issue and the stance the quote takes on it."""

    issue: IssueRef
    stance: Stance


@dataclass(frozen=True, slots=True)
class AnsweredView:
    """The quote a quote confirms or denies, as its citation names it."""

    id: int
    text: str
    said_on: date
    status: QuoteStatus
    speaker: SpeakerRef | None
    source: SourceRef


@dataclass(frozen=True, slots=True)
class ResponseView:
    """A quote that answers (confirms or denies) another, as that one's citation lists it."""

    id: int
    text: str
    said_on: date
    speaker: SpeakerRef | None
    party: PartyRef


@dataclass(slots=True)
class QuoteView:
    """A quote with everything its citation shows (attributes named as on `Quote`)."""

    id: int
    text: str
    kind: QuoteKind
    said_on: date
    published_on: date | None
    speaker_id: int | None
    speaker: SpeakerRef | None
    speaker_role: str | None
    party_id: int
    party: PartyRef
    source: SourceRef
    language: str
    is_translation: bool
    status: QuoteStatus
    confirms_or_denies_id: int | None
    confirms_or_denies: AnsweredView | None
    note: str
    round: RoundRef | None
    issue_tags: list[TagView] = field(default_factory=list)
    responses: list[ResponseView] = field(default_factory=list)

    @property
    def role_then(self) -> str:
        """The role its speaker held when it was said (dated roles), else their one role; ""
        without a speaker (as `Quote.role_then`)."""
        if self.speaker_role is not None:
            return self.speaker_role
        return self.speaker.role if self.speaker is not None else ""


T = TypeVar("T")


def _shared(made: dict[int, T], make: Callable[..., T], *fields: Any) -> T:
    """`make(*fields)`, made once per load for its id (the first field) and then shared: a
    speaker, party, source or issue is one object however many quotes name it."""
    found = made.get(fields[0])
    if found is None:
        found = made[fields[0]] = make(*fields)
    return found


def _source_columns(source: Any) -> list[Any]:
    """A source's columns in SourceRef's order."""
    return [
        source.id,
        source.url,
        source.title,
        source.outlet,
        source.published_on,
        source.kind,
        source.tier,
    ]


def _quotes_statement(dialect: str) -> Select[Any]:
    answered = aliased(Quote)
    answered_source = aliased(Source)
    answered_speaker = aliased(Speaker)
    columns: list[Any] = [
        Quote.id, Quote.text, Quote.kind, Quote.said_on, Quote.published_on,
        Quote.speaker_id, Speaker.name, Speaker.role, Quote.speaker_role,
        Quote.party_id, Party.slug, Party.name, Party.short_name,
        *_source_columns(Source),
        Quote.language, Quote.is_translation, Quote.status, Quote.note,
        Quote.round_id, Round.slug, Round.name,
        Quote.confirms_or_denies_id, answered.text, answered.said_on, answered.status,
        answered.speaker_id, answered_speaker.name, answered_speaker.role,
        *_source_columns(answered_source),
    ]  # fmt: skip
    return (
        select(*columns)
        .select_from(Quote)
        .join(Party, Party.id == Quote.party_id)
        .join(Source, Source.id == Quote.source_id)
        .outerjoin(Speaker, Speaker.id == Quote.speaker_id)
        .outerjoin(Round, Round.id == Quote.round_id)
        .outerjoin(answered, answered.id == Quote.confirms_or_denies_id)
        .outerjoin(answered_source, answered_source.id == answered.source_id)
        .outerjoin(answered_speaker, answered_speaker.id == answered.speaker_id)
        .where(among_named(dialect, Quote.id, "ids"))
    )


def _responses_statement(dialect: str) -> Select[Any]:
    columns: list[Any] = [
        Quote.confirms_or_denies_id, Quote.id, Quote.text, Quote.said_on,
        Quote.speaker_id, Speaker.name, Speaker.role,
        Quote.party_id, Party.slug, Party.name, Party.short_name,
    ]  # fmt: skip
    return (
        select(*columns)
        .select_from(Quote)
        .join(Party, Party.id == Quote.party_id)
        .outerjoin(Speaker, Speaker.id == Quote.speaker_id)
        .where(among_named(dialect, Quote.confirms_or_denies_id, "ids"))
        .order_by(Quote.said_on, Quote.id)
    )


@functools.cache
def _statements(dialect: str) -> tuple[Select[Any], Select[Any], Select[Any]]:
    """The quotes, their tags and their responses for the list of ids `:ids`, built once per
    dialect: building the quotes' statement (three tables aliased) cost more than running it."""
    columns: list[Any] = [
        QuoteIssue.quote_id, QuoteIssue.issue_id, Issue.slug, Issue.title, QuoteIssue.stance
    ]  # fmt: skip
    tags = (
        select(*columns)
        .join(Issue, Issue.id == QuoteIssue.issue_id)
        .where(among_named(dialect, QuoteIssue.quote_id, "ids"))
        .order_by(QuoteIssue.quote_id, QuoteIssue.issue_id)
    )
    return _quotes_statement(dialect), tags, _responses_statement(dialect)


def load_quotes(session: Session, ids: Sequence[int]) -> dict[int, QuoteView]:
    """The quotes of `ids` by id (unknown ids left out), each with its speaker, party, source,
    round, the quote it answers, its tags (by issue id) and its responses (oldest first): three
    statements, whose text is the same for any number of ids on PostgreSQL
    (app.db.among_named), so each is planned once per connection rather than per page."""
    if not ids:
        return {}
    stmt, tags, responses = _statements(session.get_bind().dialect.name)
    speakers: dict[int, SpeakerRef] = {}
    parties: dict[int, PartyRef] = {}
    sources: dict[int, SourceRef] = {}
    issues: dict[int, IssueRef] = {}
    quotes: dict[int, QuoteView] = {}
    for row in session.execute(stmt, {"ids": list(ids)}):
        target = None
        if row[27] is not None:
            target = AnsweredView(
                id=row[27],
                text=row[28],
                said_on=row[29],
                status=row[30],
                speaker=_shared(speakers, SpeakerRef, *row[31:34]) if row[31] is not None else None,
                source=_shared(sources, SourceRef, *row[34:41]),
            )
        quotes[row[0]] = QuoteView(
            id=row[0],
            text=row[1],
            kind=row[2],
            said_on=row[3],
            published_on=row[4],
            speaker_id=row[5],
            speaker=_shared(speakers, SpeakerRef, *row[5:8]) if row[5] is not None else None,
            speaker_role=row[8],
            party_id=row[9],
            party=_shared(parties, PartyRef, *row[9:13]),
            source=_shared(sources, SourceRef, *row[13:20]),
            language=row[20],
            is_translation=row[21],
            status=row[22],
            note=row[23],
            round=RoundRef(row[24], row[25], row[26]) if row[24] is not None else None,
            confirms_or_denies_id=row[27],
            confirms_or_denies=target,
        )
    if not quotes:
        return quotes
    found = {"ids": list(quotes)}
    for quote_id, *tag in session.execute(tags, found):
        quotes[quote_id].issue_tags.append(TagView(_shared(issues, IssueRef, *tag[:3]), tag[3]))
    for answer in session.execute(responses, found):
        quotes[answer[0]].responses.append(
            ResponseView(
                id=answer[1],
                text=answer[2],
                said_on=answer[3],
                speaker=_shared(speakers, SpeakerRef, *answer[4:7])
                if answer[4] is not None
                else None,
                party=_shared(parties, PartyRef, *answer[7:11]),
            )
        )
    return quotes
