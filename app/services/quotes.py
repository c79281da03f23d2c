"""Quotes: the evidence, with their issue tags and what they confirm or deny."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import (
    Issue,
    Party,
    Quote,
    QuoteIssue,
    QuoteKind,
    QuoteStatus,
    Source,
    Speaker,
    Stance,
    User,
)
from app.services import audit
from app.services.errors import ValidationFailed

MAX_QUOTE_LENGTH = 5000


def find_quote(
    session: Session, *, source: Source, speaker: Speaker | None, said_on: date, text: str
) -> Quote | None:
    """The quote with this source, speaker, date and text, if any: the identity used by imports."""
    speaker_clause = (
        Quote.speaker_id.is_(None) if speaker is None else (Quote.speaker_id == speaker.id)
    )
    return session.scalar(
        select(Quote).where(
            Quote.source_id == source.id,
            speaker_clause,
            Quote.said_on == said_on,
            Quote.text == text,
        )
    )


def create_quote(
    session: Session,
    *,
    actor: User | None,
    text: str,
    kind: QuoteKind,
    said_on: date,
    party: Party,
    source: Source,
    status: QuoteStatus,
    speaker: Speaker | None = None,
    published_on: date | None = None,
    language: str = "en",
    is_translation: bool = False,
    confirms_or_denies: Quote | None = None,
    note: str = "",
    tags: Sequence[tuple[Issue, Stance]] = (),
) -> Quote:
    """Add a quote tagged with (issue, stance) pairs, after checking the rules across its fields."""
    errors: dict[str, str] = {}
    if not text.strip():
        errors["text"] = "Enter the quote."
    elif len(text) > MAX_QUOTE_LENGTH:
        errors["text"] = f"A quote can be at most {MAX_QUOTE_LENGTH:,} characters."
    if published_on is not None and published_on < said_on:
        errors["published_on"] = "Published on cannot be before said on."
    if speaker is not None and speaker.party_id != party.id:
        errors["speaker"] = "This speaker speaks for another party."
    issue_ids = [issue.id for issue, _ in tags]
    if len(issue_ids) != len(set(issue_ids)):
        errors["tags"] = "Each issue can be tagged once."
    if errors:
        raise ValidationFailed(errors)
    quote = Quote(
        text=text,
        kind=kind,
        said_on=said_on,
        published_on=published_on,
        speaker_id=speaker.id if speaker else None,
        party_id=party.id,
        source_id=source.id,
        language=language,
        is_translation=is_translation,
        status=status,
        confirms_or_denies_id=confirms_or_denies.id if confirms_or_denies else None,
        note=note,
    )
    quote.issue_tags = [QuoteIssue(issue_id=issue.id, stance=stance) for issue, stance in tags]
    session.add(quote)
    audit.record(
        session,
        actor=actor,
        action="create",
        entity=quote,
        extra={"tags": {issue.slug: stance.value for issue, stance in tags}},
    )
    return quote
