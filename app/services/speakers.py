"""Speakers: the people who speak for a party, listed, paged, added, renamed and deleted."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.attributes import flag_modified, set_committed_value

from app.models import (
    Issue,
    Party,
    Quote,
    Round,
    RoundDelegate,
    Speaker,
    SpeakerAlias,
    SpeakerRole,
    Stance,
    User,
)
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
            .options(selectinload(Speaker.party), selectinload(Speaker.aliases))
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
            .options(selectinload(Speaker.party), selectinload(Speaker.aliases))
        )
    )
    return rows[:page_size], len(rows) > page_size


def get_speaker(session: Session, *, speaker_id: int) -> Speaker:
    """The speaker with this id (party and aliases loaded), or NotFound."""
    speaker = session.scalar(
        select(Speaker)
        .where(Speaker.id == speaker_id)
        .options(selectinload(Speaker.party), selectinload(Speaker.aliases))
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
    return alias_error(session, party=party, name=name, speaker=speaker)


def alias_error(
    session: Session, *, party: Party, name: str, speaker: Speaker | None = None
) -> str | None:
    """Why `name` cannot be a new name of `speaker` (or a new speaker) of `party`: it is an
    alias of another of its speakers (case aside); None when it is not."""
    aliased = _alias_owner(session, party=party, name=name, speaker=speaker)
    if aliased is None:
        return None
    return (
        f"'{name}' is another writing of {aliased.name} ({party.name}): edit that speaker, "
        "or remove the alias there first."
    )


def add_speaker(
    session: Session,
    *,
    actor: User | None,
    party: Party,
    name: str,
    role: str,
    aliases: Sequence[str] = (),
) -> Speaker:
    """Add a speaker (and their aliases) after checking the names are new for the party."""
    errors = _name_errors(session, party=party, name=name, aliases=aliases, speaker=None)
    if errors:
        raise ValidationFailed(errors)
    speaker = create_speaker(session, actor=actor, party=party, name=name, role=role)
    if aliases:
        _write_aliases(session, actor=actor, speaker=speaker, aliases=aliases, before=[])
    return speaker


def update_speaker(
    session: Session,
    *,
    actor: User | None,
    speaker: Speaker,
    expected_version: int,
    party: Party,
    name: str,
    role: str,
    aliases: Sequence[str] | None = None,
) -> Speaker:
    """Edit a speaker's name, role, party or (given) aliases; the audit entry shows the aliases
    before and after when they change."""
    check_version(speaker, expected_version)
    errors = _name_errors(session, party=party, name=name, aliases=aliases or (), speaker=speaker)
    if errors:
        raise ValidationFailed(errors)
    old_aliases = list(
        session.scalars(select(SpeakerAlias.name).where(SpeakerAlias.speaker_id == speaker.id))
    )
    new_aliases = old_aliases if aliases is None else list(aliases)
    with versioned_write(session, speaker):
        before = audit.snapshot(speaker)
        speaker.name = name
        speaker.role = role
        speaker.party_id = party.id
        if sorted(new_aliases) == sorted(old_aliases):
            audit.record(session, actor=actor, action="update", entity=speaker, before=before)
            return speaker
        # Only the aliases may have changed: the speaker's row is still written, so its
        # version moves on and a concurrent edit of the same speaker meets a conflict.
        flag_modified(speaker, "name")
        _write_aliases(
            session, actor=actor, speaker=speaker, aliases=new_aliases, before=old_aliases,
            snapshot=before,
        )  # fmt: skip
    return speaker


# --- Aliases ---------------------------------------------------------------------------------


def _alias_owner(
    session: Session, *, party: Party, name: str, speaker: Speaker | None
) -> Speaker | None:
    """The other speaker of `party` that `name` is an alias of (case aside), if any."""
    stmt = (
        select(Speaker)
        .join(SpeakerAlias, SpeakerAlias.speaker_id == Speaker.id)
        .where(Speaker.party_id == party.id, func.lower(SpeakerAlias.name) == name.lower())
    )
    if speaker is not None:
        stmt = stmt.where(Speaker.id != speaker.id)
    return session.scalars(stmt.limit(1)).first()


def _name_errors(
    session: Session,
    *,
    party: Party,
    name: str,
    aliases: Sequence[str],
    speaker: Speaker | None,
) -> dict[str, str]:
    """Every problem with a speaker's name and aliases: each must name nobody else of the party."""
    errors: dict[str, str] = {}
    problem = _speaker_name_error(session, party=party, name=name, speaker=speaker)
    if problem:
        errors["name"] = problem
    taken = []
    for alias in aliases:
        if alias.casefold() == name.casefold():
            errors["aliases"] = f"'{alias}' is the speaker's name; an alias is another writing."
            return errors
        other = find_speaker(session, party=party, name=alias)
        if other is not None and (speaker is None or other.id != speaker.id):
            taken.append(f"'{alias}' is {other.name}'s name")
            continue
        owner = _alias_owner(session, party=party, name=alias, speaker=speaker)
        if owner is not None:
            taken.append(f"'{alias}' is already an alias of {owner.name}")
    if taken:
        errors["aliases"] = f"{'; '.join(taken)} ({party.name}). Remove it here or there."
    return errors


def _write_aliases(
    session: Session,
    *,
    actor: User | None,
    speaker: Speaker,
    aliases: Sequence[str],
    before: list[str],
    snapshot: dict[str, object] | None = None,
) -> None:
    """Make `aliases` the speaker's (adding and removing rows) and audit the change."""
    wanted = set(aliases)
    rows = list(session.scalars(select(SpeakerAlias).where(SpeakerAlias.speaker_id == speaker.id)))
    for row in rows:
        if row.name not in wanted:
            session.delete(row)
    kept = {row.name for row in rows}
    session.add_all(
        SpeakerAlias(speaker_id=speaker.id, name=alias) for alias in aliases if alias not in kept
    )
    session.flush()
    current = session.scalars(
        select(SpeakerAlias)
        .where(SpeakerAlias.speaker_id == speaker.id)
        .order_by(SpeakerAlias.name)
    )
    set_committed_value(speaker, "aliases", list(current))
    old = audit.snapshot(speaker) if snapshot is None else snapshot
    audit.record(
        session, actor=actor, action="update", entity=speaker,
        before={**old, "aliases": sorted(before)}, extra={"aliases": sorted(wanted)},
    )  # fmt: skip


def delete_speaker(session: Session, *, actor: User | None, speaker: Speaker) -> None:
    """Delete a speaker no quote is attributed to."""
    _refuse_if_used(
        session,
        speaker.name,
        [(Quote.speaker_id, speaker.id, "quote"), (RoundDelegate.speaker_id, speaker.id, "round")],
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
    roles: list[SpeakerRole] = field(default_factory=list)
    """Their dated roles, earliest first (empty: only the one role on the speaker)."""
    rounds: list[Round] = field(default_factory=list)
    """The rounds of talks they attended in a delegation, newest first."""

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
    roles = session.scalars(
        select(SpeakerRole)
        .where(SpeakerRole.speaker_id == speaker.id)
        .order_by(SpeakerRole.held_from)
    )
    attended = session.scalars(
        select(Round)
        .join(RoundDelegate, RoundDelegate.round_id == Round.id)
        .where(RoundDelegate.speaker_id == speaker.id)
        .order_by(Round.starts_on.desc(), Round.id.desc())
    )
    return SpeakerDetail(
        speaker=speaker, quotes=list(quotes), quote_count=count or 0, roles=list(roles),
        rounds=list(attended),
    )  # fmt: skip


# --- Near-duplicate names -------------------------------------------------------------------

_TRANSLITERATIONS = (
    (re.compile(r"(?<=[bcdfghklmnprstvwxz])(yy|iy|ii|yi|ij|yj|ey)\b"), "y"),
    (re.compile(r"w"), "v"),
    (re.compile(r"(?<=[a-z])ff\b"), "v"),
    (re.compile(r"kh"), "h"),
    (re.compile(r"ks"), "x"),
    (re.compile(r"j"), "y"),
    (re.compile(r"(.)\1"), r"\1"),
)
"""Writings of one Cyrillic name in Latin letters that differ only by convention: Zelensky,
Zelenskyy, Zelenskiy; Peskov, Peskow, Peskoff; Kharkiv, Harkiv; doubled letters."""


def fold_name(name: str) -> str:
    """A person's name as compared for "the same person?": no case, accents, punctuation or
    transliteration differences ("Volodymyr Zelenskyy" and "volodymyr zelensky" fold alike)."""
    plain = unicodedata.normalize("NFKD", name.casefold())
    letters = "".join(c if c.isalnum() else " " for c in plain if not unicodedata.combining(c))
    folded = " ".join(letters.split())
    for pattern, replacement in _TRANSLITERATIONS:
        folded = pattern.sub(replacement, folded)
    return folded


def _distance(a: str, b: str, *, limit: int) -> int:
    """Edit distance (insert, delete, replace), or limit + 1 once it exceeds `limit`."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous = list(range(len(b) + 1))
    for i, char in enumerate(a, start=1):
        current = [i]
        for j, other in enumerate(b, start=1):
            current.append(
                min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char != other))
            )
        if min(current) > limit:
            return limit + 1
        previous = current
    return previous[-1]


def similar_speakers(session: Session, *, name: str, party: Party | None) -> list[Speaker]:
    """Speakers (of `party`, when given) whose name or an alias is close to `name` once folded:
    the same but for case, accents or transliteration, or one letter apart (two for long
    names)."""
    wanted = fold_name(name)
    if not wanted:
        return []
    limit = 2 if len(wanted) >= 14 else 1 if len(wanted) >= 6 else 0
    stmt = (
        select(Speaker)
        .options(selectinload(Speaker.party), selectinload(Speaker.aliases))
        .order_by(Speaker.name)
    )
    if party is not None:
        stmt = stmt.where(Speaker.party_id == party.id)
    return [
        speaker
        for speaker in session.scalars(stmt)
        if any(
            _distance(fold_name(written), wanted, limit=limit) <= limit
            for written in [speaker.name, *(alias.name for alias in speaker.aliases)]
        )
    ]


# --- Dated roles ------------------------------------------------------------------------------

FIRST_DAY = date(1900, 1, 1)
"""The `held_from` of a speaker's role from before their first dated one."""


def dated_role_on(session: Session, *, speaker: Speaker, day: date) -> str | None:
    """The role `speaker` held on `day` by their dated roles; None when they have none."""
    return session.scalar(
        select(SpeakerRole.role)
        .where(SpeakerRole.speaker_id == speaker.id, SpeakerRole.held_from <= day)
        .order_by(SpeakerRole.held_from.desc())
        .limit(1)
    )


def add_role(
    session: Session, *, actor: User | None, speaker: Speaker, role: str, held_from: date
) -> None:
    """Record that `speaker` holds `role` from `held_from` on (nothing when they already did):
    their quotes said from then until their next role show it, and it becomes the speaker's
    role when it is their latest. Their earlier role is kept, dated from before anything."""
    if role == (dated_role_on(session, speaker=speaker, day=held_from) or speaker.role):
        return
    roles = {row.held_from: row for row in session.scalars(_roles_of(speaker))}
    if not roles:  # the role they had until now, even none, stays theirs before `held_from`
        session.add(SpeakerRole(speaker_id=speaker.id, role=speaker.role, held_from=FIRST_DAY))
    if held_from in roles:
        roles[held_from].role = role
    else:
        session.add(SpeakerRole(speaker_id=speaker.id, role=role, held_from=held_from))
    session.flush()
    dated = list(session.scalars(_roles_of(speaker)))
    before = audit.snapshot(speaker)
    speaker.role = dated[-1].role
    audit.record(
        session, actor=actor, action="update", entity=speaker, before=before,
        extra={"role": role, "held_from": held_from.isoformat()},
    )  # fmt: skip
    # Each quote shows the role held when it was said (a plain UPDATE: the quotes' versions
    # stay, so nobody editing one meets a conflict over it).
    for current, following in zip(dated, [*dated[1:], None], strict=True):
        window = [Quote.speaker_id == speaker.id, Quote.said_on >= current.held_from]
        if following is not None:
            window.append(Quote.said_on < following.held_from)
        session.execute(
            update(Quote)
            .where(*window)
            .values(speaker_role=current.role)
            .execution_options(synchronize_session="fetch")
        )


def _roles_of(speaker: Speaker) -> Select[SpeakerRole]:
    return (
        select(SpeakerRole)
        .where(SpeakerRole.speaker_id == speaker.id)
        .order_by(SpeakerRole.held_from)
    )


# --- Merging two speakers ---------------------------------------------------------------------


def merge_speakers(session: Session, *, actor: User | None, keep: Speaker, merged: Speaker) -> int:
    """Fold `merged` into `keep` (one person under two names): its quotes and dated roles move
    to `keep`, its name and aliases become aliases of `keep`, and it is deleted, all of it in the audit log; the number of quotes moved.
    ValidationFailed when they are the same speaker or speak for different parties."""
    if keep.id == merged.id:
        raise ValidationFailed({"into": "Choose another speaker to merge into."})
    if keep.party_id != merged.party_id:
        raise ValidationFailed({"into": "Both speakers must speak for the same party."})
    with session.begin_nested():
        moved = list(session.scalars(select(Quote.id).where(Quote.speaker_id == merged.id)))
        session.execute(
            update(Quote)
            .where(Quote.speaker_id == merged.id)
            .values(speaker_id=keep.id)
            .execution_options(synchronize_session="fetch")
        )
        kept_days = set(
            session.scalars(select(SpeakerRole.held_from).where(SpeakerRole.speaker_id == keep.id))
        )
        for role in session.scalars(select(SpeakerRole).where(SpeakerRole.speaker_id == merged.id)):
            if role.held_from in kept_days:
                session.delete(role)
            else:
                role.speaker_id = keep.id
        # The rounds `merged` attended are attended by `keep` (once per delegation).
        kept_seats = set(
            session.execute(
                select(RoundDelegate.round_id, RoundDelegate.party_id).where(
                    RoundDelegate.speaker_id == keep.id
                )
            ).all()
        )
        for seat in session.scalars(
            select(RoundDelegate).where(RoundDelegate.speaker_id == merged.id)
        ):
            if (seat.round_id, seat.party_id) in kept_seats:
                session.delete(seat)
            else:
                seat.speaker_id = keep.id
        added = _take_aliases(session, keep=keep, merged=merged)
        gone = audit.snapshot(merged)
        # An update of the speaker kept that names the one merged into it and the quotes moved.
        audit.record(
            session, actor=actor, action="update", entity=keep, before=audit.snapshot(keep),
            extra={"merged": gone, "quotes_moved": moved, "aliases_added": added},
        )  # fmt: skip
        audit.record(session, actor=actor, action="delete", entity=merged, before=gone)
        session.delete(merged)
        session.flush()
    return len(moved)


def _take_aliases(session: Session, *, keep: Speaker, merged: Speaker) -> list[str]:
    """Give `keep` the name and aliases of `merged` as aliases (those it lacks, case aside);
    the names added."""
    known = {keep.name.casefold()}
    known.update(
        name.casefold()
        for name in session.scalars(
            select(SpeakerAlias.name).where(SpeakerAlias.speaker_id == keep.id)
        )
    )
    added = []
    for row in session.scalars(select(SpeakerAlias).where(SpeakerAlias.speaker_id == merged.id)):
        if row.name.casefold() in known:
            session.delete(row)
        else:
            row.speaker_id = keep.id
            known.add(row.name.casefold())
            added.append(row.name)
    if merged.name.casefold() not in known:
        session.add(SpeakerAlias(speaker_id=keep.id, name=merged.name))
        added.append(merged.name)
    session.flush()
    return sorted(added)
