"""Quotes: the evidence, with their issue tags and what they confirm or deny."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.attributes import flag_modified

from app.forms import (
    MAX_QUOTE_LENGTH,
    SOURCE_TIER_LABELS,
    QuoteInput,
    parse_day_leniently,
    parse_quote_form,
    whole_number,
)
from app.models import (
    Issue,
    Party,
    Position,
    PositionEvidence,
    Quote,
    QuoteIssue,
    QuoteKind,
    QuoteStatus,
    Round,
    Source,
    SourceTier,
    Speaker,
    Stance,
    User,
)
from app.services import audit, catalog, positions, rounds, speakers
from app.services.errors import NotFound, QuoteIsCited, ValidationFailed
from app.services.evidence import quote_loading
from app.services.quote_lookups import near_duplicates, speaker_suggestions


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
    speaker_role: str | None = None,
    published_on: date | None = None,
    language: str = "en",
    is_translation: bool = False,
    confirms_or_denies: Quote | None = None,
    note: str = "",
    tags: Sequence[tuple[Issue, Stance]] = (),
    at_round: Round | None = None,
) -> Quote:
    """Add a quote tagged with (issue, stance) pairs (said at `at_round`, if given), after
    checking the rules across its fields."""
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
        speaker_role=speaker_role,
        party_id=party.id,
        source_id=source.id,
        language=language,
        is_translation=is_translation,
        status=status,
        confirms_or_denies_id=confirms_or_denies.id if confirms_or_denies else None,
        note=note,
        round_id=at_round.id if at_round else None,
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


# ---------------------------------------------------------------------------------------------
# Editor forms: add, edit, delete and retract quotes (their input model lives in app.forms).


def parse_quote_input(
    session: Session, data: Mapping[str, str], *, quote: Quote | None = None
) -> QuoteInput:
    """Parse the quote form, or ValidationFailed with every problem at once: the field rules,
    the rules across fields and those that need the database, in one round. A known source URL
    makes the new-source fields irrelevant."""
    url = (data.get("source_url") or "").strip()
    known = bool(url) and catalog.find_source(session, url=url) is not None
    errors: dict[str, str] = {}
    parsed: QuoteInput | None = None
    try:
        parsed = parse_quote_form(data, known_source=known)
    except ValidationFailed as exc:
        errors.update(exc.errors)
    rules = _record_rules(session, data, new_source=bool(url) and not known, quote=quote)
    for name, message in rules.items():
        errors.setdefault(name, message)
    if errors or parsed is None:
        raise ValidationFailed(errors)
    return parsed


def _record_rules(
    session: Session, data: Mapping[str, str], *, new_source: bool, quote: Quote | None
) -> dict[str, str]:
    """The rules that need the database or several fields, read from the raw form so that they
    are checked even when other fields failed to parse; `quote` is the one being edited."""
    errors: dict[str, str] = {}
    if new_source:
        for name in NEW_SOURCE_FIELDS:
            if not (data.get(name) or "").strip():
                errors[name] = "This URL is new: this field is required for its source."
    said_on = parse_day_leniently(data.get("said_on"))
    published_on = parse_day_leniently(data.get("published_on"))
    if said_on and published_on and published_on < said_on:
        errors["published_on"] = "Published on cannot be before said on."
    party_slug = (data.get("party") or "").strip()
    party = catalog.find_party(session, slug=party_slug) if party_slug else None
    if party_slug and party is None:
        errors["party"] = "Choose a party from the list."
    speaker_id = whole_number((data.get("speaker_id") or "").strip(), digits=11)
    speaker = session.get(Speaker, speaker_id) if speaker_id is not None else None
    if speaker_id is not None and speaker is None:
        errors["speaker_id"] = "Choose a speaker from the list."
    elif speaker is not None and party is not None and speaker.party_id != party.id:
        owner = session.get(Party, speaker.party_id)
        errors["speaker_id"] = (
            f"{speaker.name} speaks for {owner.name if owner else 'another party'}, "
            f"not {party.name}; choose a speaker of {party.name} or type a new one."
        )
    close = speaker_suggestions(session, data, party=party)
    new_name = (data.get("new_speaker_name") or "").strip()
    if close:
        names = " or ".join(f"{s.name} ({s.party.name})" for s in close)
        errors["new_speaker_name"] = (
            f"Did you mean {names}? Use the speaker below, or tick “A new speaker” to add "
            f"{new_name}."
        )
    elif new_name and speaker_id is None and party is not None:
        # Confirmed as new, yet another writing of a speaker's name: refused as Manage refuses
        # it, since a second speaker would split that person's quotes in two.
        if catalog.find_speaker(session, party=party, name=new_name) is None:
            aliased = speakers.alias_error(session, party=party, name=new_name)
            if aliased:
                errors["new_speaker_name"] = aliased
    near = near_duplicates(session, data, quote=quote)
    if near:
        first = near[0]
        errors["text"] = (
            f"A quote like this is already recorded (#{first.id}, said on {first.said_on}): "
            "tag that one instead, or tick “Save anyway”."
        )
    for position in citing_positions(session, quote=quote) if quote is not None else []:
        if party is not None and position.party_id != party.id:
            errors["party"] = (
                f"Positions of {position.party.name} cite this quote as evidence, "
                "so its party cannot change."
            )
        if said_on is not None and said_on > position.effective_from:
            errors["said_on"] = (
                f"A position citing this quote takes effect on {position.effective_from}; "
                "said on cannot be later than that."
            )
    return errors


NEW_SOURCE_FIELDS = ("source_title", "source_outlet", "source_kind", "source_tier")
"""What a quote form must give for a source URL the app does not know yet."""


@dataclass(slots=True)
class _Resolved:
    party: Party
    speaker: Speaker | None
    source: Source | None
    confirms_or_denies: Quote | None
    tags: list[tuple[Issue, Stance]]
    at_round: Round | None


def get_quote(session: Session, *, quote_id: int) -> Quote:
    """The quote with this id and everything its form and citation show, or NotFound."""
    quote = session.scalar(
        select(Quote)
        .where(Quote.id == quote_id)
        .options(*quote_loading())
        .execution_options(populate_existing=True)
    )
    if quote is None:
        raise NotFound("quote", quote_id)
    return quote


def citing_positions(session: Session, *, quote: Quote) -> list[Position]:
    """The positions that cite `quote` as evidence, oldest first, with party and issue loaded."""
    return list(
        session.scalars(
            select(Position)
            .join(PositionEvidence, PositionEvidence.position_id == Position.id)
            .where(PositionEvidence.quote_id == quote.id)
            .order_by(Position.effective_from, Position.id)
            .options(selectinload(Position.party), selectinload(Position.issue))
        )
    )


def _resolve(session: Session, data: QuoteInput, *, quote: Quote | None) -> _Resolved:
    """Look up what the form names and check the rules across fields and records."""
    errors: dict[str, str] = {}
    party = catalog.find_party(session, slug=data.party)
    if party is None:
        errors["party"] = "Choose a party from the list."

    speaker: Speaker | None = None
    if data.speaker_id is not None and not data.new_speaker_name:
        speaker = session.get(Speaker, data.speaker_id)  # checked by _record_rules

    source = catalog.find_source(session, url=data.source_url)

    target: Quote | None = None
    if data.confirms_or_denies is not None:
        if quote is not None and data.confirms_or_denies == quote.id:
            errors["confirms_or_denies"] = "A quote cannot confirm or deny itself."
        else:
            target = session.get(Quote, data.confirms_or_denies)
            if target is None:
                errors["confirms_or_denies"] = "Choose a quote from the list."

    tags: list[tuple[Issue, Stance]] = []
    for tag in data.tags:
        issue = catalog.find_issue(session, slug=tag.issue_slug)
        if issue is None:
            errors[f"issue_{tag.n}"] = "Choose an issue from the list."
        else:
            tags.append((issue, tag.stance))

    at_round = rounds.find_round(session, slug=data.round) if data.round else None
    if data.round and at_round is None:
        errors["round"] = "Choose a round from the list."

    if errors or party is None:
        raise ValidationFailed(errors)
    return _Resolved(party, speaker, source, target, tags, at_round)


def _speaker_and_source(
    session: Session, *, actor: User | None, data: QuoteInput, resolved: _Resolved
) -> tuple[Speaker | None, Source]:
    speaker = resolved.speaker
    name, role, party = data.new_speaker_name, data.new_speaker_role, resolved.party
    if speaker is None and name:
        speaker = catalog.find_speaker(session, party=party, name=name)
        if speaker is None:
            speaker = catalog.create_speaker(
                session, actor=actor, party=party, name=name, role=role
            )
        elif role:  # a role typed for a known speaker: theirs from said on
            speakers.add_role(
                session, actor=actor, speaker=speaker, role=role, held_from=data.said_on
            )
    source = resolved.source
    if source is None:
        if data.source_kind is None or data.source_tier is None:  # checked when parsing the form
            raise ValidationFailed({"source_kind": "Choose the source kind and tier."})
        source = catalog.create_source(
            session,
            actor=actor,
            url=data.source_url,
            title=data.source_title,
            outlet=data.source_outlet,
            published_on=data.source_published_on,
            kind=data.source_kind,
            tier=data.source_tier,
        )
    return speaker, source


def add_quote(session: Session, *, actor: User | None, data: QuoteInput) -> Quote:
    """Add a quote from the form, creating its speaker and source when new and, if asked,
    a position per tagged issue citing it; all of it or nothing (ValidationFailed)."""
    with session.begin_nested():
        resolved = _resolve(session, data, quote=None)
        speaker, source = _speaker_and_source(session, actor=actor, data=data, resolved=resolved)
        quote = create_quote(
            session,
            actor=actor,
            text=data.text,
            kind=data.kind,
            said_on=data.said_on,
            published_on=data.published_on,
            party=resolved.party,
            source=source,
            status=data.status or status_for(data.kind, source.tier),
            speaker=speaker,
            speaker_role=_role_then(session, speaker, data.said_on),
            language=data.language,
            is_translation=data.is_translation,
            confirms_or_denies=resolved.confirms_or_denies,
            note=data.note,
            tags=resolved.tags,
            at_round=resolved.at_round,
        )
        if data.also_record_position:
            for issue, stance in resolved.tags:
                try:
                    positions.record_position(
                        session,
                        actor=actor,
                        party=resolved.party,
                        issue=issue,
                        stance=stance,
                        effective_from=data.said_on,
                        rationale=data.rationale
                        or default_rationale(quote, speaker=speaker, source=source),
                        evidence=[quote],
                        condition=data.condition if stance == Stance.CONDITIONAL else None,
                        at_round=resolved.at_round,
                    )
                except ValidationFailed as exc:
                    raise ValidationFailed(
                        {POSITION_FIELDS.get(k, k): v for k, v in exc.errors.items()}
                    ) from exc
    return quote


CONFIRMING_TIERS = frozenset({SourceTier.ON_RECORD, SourceTier.OFFICIAL_READOUT})


def status_for(kind: QuoteKind, tier: SourceTier) -> QuoteStatus:
    """The status a quote starts with when the editor leaves it to the source: confirmed for
    someone's own words in an on-record or official-readout source, or a provision of a
    published document; reported for reported speech, anonymous officials and the rest."""
    if kind == QuoteKind.DIRECT and tier in CONFIRMING_TIERS:
        return QuoteStatus.CONFIRMED
    if kind == QuoteKind.DOCUMENT_PROVISION and tier == SourceTier.PUBLISHED_DOCUMENT:
        return QuoteStatus.CONFIRMED
    return QuoteStatus.REPORTED


def default_rationale(quote: Quote, *, speaker: Speaker | None, source: Source) -> str:
    """The sentence a position recorded from a quote gives as its rationale when the editor
    writes none: who said it, when, and where ("… said so on 20 Apr 2025 (Reuters, on-record).")."""
    role = (quote.speaker_role or speaker.role) if speaker else ""  # the role held then
    who = f"{speaker.name} ({role})" if speaker and role else None
    who = who or (speaker.name if speaker else "An unattributed text")
    verb = {
        QuoteKind.DIRECT: "said so",
        QuoteKind.REPORTED: "was reported as saying so",
        QuoteKind.DOCUMENT_PROVISION: "provides so",
    }[quote.kind]
    day = f"{quote.said_on.day} {quote.said_on:%b %Y}"
    tier = SOURCE_TIER_LABELS[source.tier].lower()
    return f"{who} {verb} on {day} ({source.outlet}, {tier})."


def _role_then(session: Session, speaker: Speaker | None, said_on: date) -> str | None:
    """The role to keep on a quote: its speaker's dated role on the day (None: their one role)."""
    return speakers.dated_role_on(session, speaker=speaker, day=said_on) if speaker else None


POSITION_FIELDS = {"effective_from": "said_on", "evidence": "also_record_position"}
"""record_position's field names as the quote form calls them."""


def _tags_snapshot(quote: Quote) -> dict[str, str]:
    return {tag.issue.slug: tag.stance.value for tag in quote.issue_tags}


def update_quote(
    session: Session,
    *,
    actor: User | None,
    quote: Quote,
    data: QuoteInput,
    expected_version: int | None,
) -> Quote:
    """Save the edit form over `quote`, all of it or nothing; EditConflict when it changed since
    the form was opened, or when another save lands between this read and the flush."""
    catalog.check_version(quote, -1 if expected_version is None else expected_version)
    with catalog.versioned_write(session, quote):
        resolved = _resolve(session, data, quote=quote)
        speaker, source = _speaker_and_source(session, actor=actor, data=data, resolved=resolved)
        before = {**audit.snapshot(quote), "tags": _tags_snapshot(quote)}
        quote.text = data.text
        quote.kind = data.kind
        quote.said_on = data.said_on
        quote.published_on = data.published_on
        quote.party_id = resolved.party.id
        quote.speaker_id = speaker.id if speaker else None
        quote.speaker_role = _role_then(session, speaker, data.said_on)
        quote.source_id = source.id
        quote.language = data.language
        quote.is_translation = data.is_translation
        quote.status = data.status or status_for(data.kind, source.tier)
        quote.confirms_or_denies_id = (
            resolved.confirms_or_denies.id if resolved.confirms_or_denies else None
        )
        quote.note = data.note
        quote.round_id = resolved.at_round.id if resolved.at_round else None
        wanted = {issue.id: stance for issue, stance in resolved.tags}
        for tag in list(quote.issue_tags):
            if tag.issue_id in wanted:
                tag.stance = wanted.pop(tag.issue_id)
            else:
                quote.issue_tags.remove(tag)
        for issue_id, stance in wanted.items():
            quote.issue_tags.append(QuoteIssue(issue_id=issue_id, stance=stance))
        # Always an UPDATE of the row, so the version moves even when only the tags changed.
        flag_modified(quote, "text")
        audit.record(
            session,
            actor=actor,
            action="update",
            entity=quote,
            before=before,
            extra={"tags": {issue.slug: stance.value for issue, stance in resolved.tags}},
        )
    return quote


def delete_quote(session: Session, *, actor: User | None, quote: Quote) -> None:
    """Delete a quote no position cites (QuoteIsCited otherwise); quotes answering it lose the link."""
    cited = citing_positions(session, quote=quote)
    if cited:
        raise QuoteIsCited(cited)
    with session.begin_nested():
        for response in list(quote.responses):
            before = audit.snapshot(response)
            response.confirms_or_denies_id = None
            audit.record(session, actor=actor, action="update", entity=response, before=before)
        audit.record(
            session,
            actor=actor,
            action="delete",
            entity=quote,
            before={**audit.snapshot(quote), "tags": _tags_snapshot(quote)},
        )
        session.delete(quote)
        session.flush()


def retract_quote(session: Session, *, actor: User | None, quote: Quote) -> Quote:
    """Mark a quote retracted: the normal way to take back evidence that positions cite."""
    before = audit.snapshot(quote)
    quote.status = QuoteStatus.RETRACTED
    audit.record(session, actor=actor, action="update", entity=quote, before=before)
    return quote
