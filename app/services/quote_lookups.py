"""What the quote form looks up while the editor types: the speaker and quote lists, and the
recorded quotes and known speakers a typed quote or new speaker's name is close to."""

from __future__ import annotations

import re
from collections.abc import Mapping
from difflib import SequenceMatcher

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from app.forms import checkbox, whole_number
from app.models import Party, Quote, Speaker, SpeakerAlias
from app.services import catalog, speakers

CHOICE_LIMIT = 200
"""Recent quotes offered under "Confirms or denies"."""

_QUOTE_MARKS = re.compile(r"[\"'“”„‟‘’‚‛«»‹›`´]")
_NUMBER = re.compile(r"[0-9]+")
NEAR_DUPLICATE_RATIO = 0.9
NEAR_DUPLICATE_CANDIDATES = 300


def normalise_text(text: str) -> str:
    """A quote's text as compared for "already recorded": case, quotation marks, whitespace and
    the punctuation at its ends do not matter."""
    return " ".join(_QUOTE_MARKS.sub("", text.casefold()).split()).strip(" .,;:!?…-—–")


def near_duplicates(
    session: Session, data: Mapping[str, str], *, quote: Quote | None = None
) -> list[Quote]:
    """Recorded quotes (of the same speaker, or from the same source) whose text nearly
    matches the one typed, newest first; none once the editor ticked "Save anyway"."""
    wanted = normalise_text(data.get("text") or "")
    if len(wanted) < 12 or checkbox(data.get("save_anyway")):
        return []
    same = []
    speaker_id = whole_number((data.get("speaker_id") or "").strip(), digits=11)
    if speaker_id is not None:
        same.append(Quote.speaker_id == speaker_id)
    url = (data.get("source_url") or "").strip()
    source = catalog.find_source(session, url=url) if url else None
    if source is not None:
        same.append(Quote.source_id == source.id)
    if not same:
        return []
    stmt = select(Quote).where(or_(*same)).order_by(Quote.said_on.desc(), Quote.id.desc())
    if quote is not None:
        stmt = stmt.where(Quote.id != quote.id)
    loading = (selectinload(Quote.speaker), selectinload(Quote.source))
    candidates = session.scalars(stmt.limit(NEAR_DUPLICATE_CANDIDATES).options(*loading))
    return [q for q in candidates if _alike(normalise_text(q.text), wanted)]


def _alike(recorded: str, typed: str) -> bool:
    if recorded == typed:
        return True
    if _NUMBER.findall(recorded) != _NUMBER.findall(typed):
        return False  # "800,000 troops" and "600,000 troops" are two statements
    shorter, longer = sorted((recorded, typed), key=len)
    if len(shorter) >= 40 and shorter in longer:
        return True
    return SequenceMatcher(None, recorded, typed).ratio() >= NEAR_DUPLICATE_RATIO


def speaker_suggestions(
    session: Session, data: Mapping[str, str], *, party: Party | None
) -> list[Speaker]:
    """The existing speakers a typed new speaker's name is close to (case, accents,
    transliteration, a letter or two), unless the editor confirmed a new speaker; a speaker of
    exactly that name is no question (they are the one meant)."""
    name = (data.get("new_speaker_name") or "").strip()
    if (
        not name
        or (data.get("speaker_id") or "").strip()
        or checkbox(data.get("new_speaker_confirmed"))
    ):
        return []
    close = speakers.similar_speakers(session, name=name, party=party)
    if any(speaker.name == name for speaker in close):
        return []
    return close


def speaker_choices(
    session: Session, *, party_slug: str = "", q: str = "", include_id: int | None = None
) -> list[tuple[int, str]]:
    """Speakers as (id, "Name — role (Party)"), by party then name: all of them, or those of
    the party named whose name or an alias contains `q` once folded (case, accents,
    transliteration); `include_id` (the one chosen) is always listed."""
    stmt = (
        select(Speaker.id, Speaker.name, Speaker.role, Party.name)
        .join(Party, Speaker.party_id == Party.id)
        .order_by(Party.sort_order, Party.name, Speaker.name)
    )
    if party_slug:
        stmt = stmt.where(Party.slug == party_slug)
    wanted = speakers.fold_name(q)
    aliases: dict[int, list[str]] = {}
    if wanted:
        for sid, alias in session.execute(select(SpeakerAlias.speaker_id, SpeakerAlias.name)):
            aliases.setdefault(sid, []).append(speakers.fold_name(alias))
    return [
        (sid, f"{name} — {role} ({party})" if role else f"{name} ({party})")
        for sid, name, role, party in session.execute(stmt)
        if sid == include_id
        or wanted in speakers.fold_name(name)
        or any(wanted in alias for alias in aliases.get(sid, ()))
    ]


def quote_choices(
    session: Session, *, include_id: int | None = None, exclude_id: int | None = None
) -> list[tuple[int, str]]:
    """Recent quotes as (id, "#id date Party: text…") for "Confirms or denies", newest first."""
    stmt = (
        select(Quote.id, Quote.said_on, Quote.text, Party.short_name)
        .join(Party, Quote.party_id == Party.id)
        .order_by(Quote.said_on.desc(), Quote.id.desc())
        .limit(CHOICE_LIMIT)
    )
    rows = list(session.execute(stmt))
    if include_id is not None and all(row[0] != include_id for row in rows):
        rows += list(session.execute(stmt.where(Quote.id == include_id).limit(1)))
    return [
        (qid, f"#{qid} {said_on.isoformat()} {party}: {_shorten(text, 80)}")
        for qid, said_on, text, party in rows
        if qid != exclude_id
    ]


def _shorten(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"
