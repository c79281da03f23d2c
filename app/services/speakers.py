"""Speakers: the people who speak for a party, listed, paged, added, renamed and deleted."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from app.models import Issue, Party, Quote, Speaker, Stance, User
from app.services import audit
from app.services.catalog import (
    _refuse_if_used,
    check_version,
    create_speaker,
    find_speaker,
    versioned_write,
)
from app.services.errors import NotFound, ValidationFailed
from app.services.evidence import quote_loading

SPEAKER_QUOTE_LIMIT = 100
"""Quotes shown on a speaker's page, newest first; the quote search pages through the rest."""


def list_speakers(session: Session) -> list[Speaker]:
    """Every speaker with their party, by party order then name."""
    speakers = list(
        session.scalars(
            select(Speaker)
            .join(Party, Speaker.party_id == Party.id)
            .order_by(Party.sort_order, Party.name, Speaker.name)
            .options(selectinload(Speaker.party))
        )
    )
    return speakers


def page_speakers(
    session: Session, *, page: int = 1, page_size: int = 50
) -> tuple[list[Speaker], bool]:
    """Speakers by name with their party, a page at a time; returns the page and whether more follow."""
    rows = list(
        session.scalars(
            select(Speaker)
            .order_by(Speaker.name, Speaker.id)
            .offset((page - 1) * page_size)
            .limit(page_size + 1)
            .options(selectinload(Speaker.party))
        )
    )
    return rows[:page_size], len(rows) > page_size


def get_speaker(session: Session, *, speaker_id: int) -> Speaker:
    """The speaker with this id (party loaded), or NotFound."""
    speaker = session.scalar(
        select(Speaker).where(Speaker.id == speaker_id).options(selectinload(Speaker.party))
    )
    if speaker is None:
        raise NotFound("speaker", speaker_id)
    return speaker


def _speaker_name_error(
    session: Session, *, party: Party, name: str, speaker: Speaker | None
) -> str | None:
    found = find_speaker(session, party=party, name=name)
    if found is not None and (speaker is None or found.id != speaker.id):
        return f"{party.name} already has a speaker named '{name}'."
    return None


def add_speaker(
    session: Session, *, actor: User | None, party: Party, name: str, role: str
) -> Speaker:
    """Add a speaker after checking the name is new for the party."""
    problem = _speaker_name_error(session, party=party, name=name, speaker=None)
    if problem:
        raise ValidationFailed({"name": problem})
    return create_speaker(session, actor=actor, party=party, name=name, role=role)


def update_speaker(
    session: Session,
    *,
    actor: User | None,
    speaker: Speaker,
    expected_version: int,
    party: Party,
    name: str,
    role: str,
) -> Speaker:
    """Edit a speaker's name, role or party."""
    check_version(speaker, expected_version)
    problem = _speaker_name_error(session, party=party, name=name, speaker=speaker)
    if problem:
        raise ValidationFailed({"name": problem})
    with versioned_write(session, speaker):
        before = audit.snapshot(speaker)
        speaker.name = name
        speaker.role = role
        speaker.party_id = party.id
        audit.record(session, actor=actor, action="update", entity=speaker, before=before)
    return speaker


def delete_speaker(session: Session, *, actor: User | None, speaker: Speaker) -> None:
    """Delete a speaker no quote is attributed to."""
    _refuse_if_used(
        session,
        speaker.name,
        [(Quote.speaker_id, speaker.id, "quote")],
    )
    audit.record(
        session, actor=actor, action="delete", entity=speaker, before=audit.snapshot(speaker)
    )
    session.delete(speaker)
    session.flush()


@dataclass(slots=True)
class SpeakerDetail:
    """A speaker with their newest quotes and how many they have in all."""

    speaker: Speaker
    quotes: list[Quote]
    quote_count: int

    @property
    def by_issue(self) -> list[tuple[Issue | None, list[tuple[Quote, Stance | None]]]]:
        """The quotes under each issue they are tagged with (in the issues' order), each with
        the stance it signals there, newest first; quotes tagged with no issue last (None)."""
        issues: dict[int, Issue] = {}
        groups: dict[int | None, list[tuple[Quote, Stance | None]]] = {}
        for quote in self.quotes:
            if not quote.issue_tags:
                groups.setdefault(None, []).append((quote, None))
            for tag in quote.issue_tags:
                issues[tag.issue.id] = tag.issue
                groups.setdefault(tag.issue.id, []).append((quote, tag.stance))
        ordered = sorted(issues.values(), key=lambda i: (i.sort_order, i.title, i.id))
        shown: list[tuple[Issue | None, list[tuple[Quote, Stance | None]]]] = [
            (issue, groups[issue.id]) for issue in ordered
        ]
        if None in groups:
            shown.append((None, groups[None]))
        return shown


def speaker_detail(
    session: Session, *, speaker_id: int, limit: int = SPEAKER_QUOTE_LIMIT
) -> SpeakerDetail:
    """Everything a speaker's page shows: who they are and their newest quotes, or NotFound."""
    speaker = get_speaker(session, speaker_id=speaker_id)
    quotes = session.scalars(
        select(Quote)
        .where(Quote.speaker_id == speaker.id)
        .order_by(Quote.said_on.desc(), Quote.id.desc())
        .limit(limit)
        .options(*quote_loading())
    )
    count = session.scalar(
        select(func.count()).select_from(Quote).where(Quote.speaker_id == speaker.id)
    )
    return SpeakerDetail(speaker=speaker, quotes=list(quotes), quote_count=count or 0)
