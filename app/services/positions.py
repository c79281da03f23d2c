"""Positions: a party's stance on an issue from a date on, citing its evidence."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from app.forms import MAX_EVIDENCE, PositionInput, condition_problem
from app.models import Issue, Party, Position, Quote, Round, Source, Speaker, Stance, User
from app.services import audit, catalog, rounds
from app.services.errors import ValidationFailed


def find_position(
    session: Session, *, party: Party, issue: Issue, stance: Stance, effective_from: date
) -> Position | None:
    """The position with this party, issue, stance and date, if already recorded."""
    return session.scalar(
        select(Position).where(
            Position.party_id == party.id,
            Position.issue_id == issue.id,
            Position.stance == stance,
            Position.effective_from == effective_from,
        )
    )


def record_position(
    session: Session,
    *,
    actor: User | None,
    party: Party,
    issue: Issue,
    stance: Stance,
    effective_from: date,
    rationale: str,
    evidence: Sequence[Quote],
    condition: str | None = None,
    recorded_at: datetime | None = None,
    audit_note: str | None = None,
    at_round: Round | None = None,
) -> Position:
    """Record a new position (a change of stance never overwrites an old one, so history stays),
    taken at `at_round` if given.

    `recorded_at` is for imports from an archive (default: now); `audit_note` says so in the log.
    """
    errors: dict[str, str] = {}
    condition = (condition or "").strip() or None
    problem = condition_problem(stance, condition)
    if problem:
        errors["condition"] = problem
    if not rationale.strip():
        errors["rationale"] = "Say in a sentence why the evidence shows this stance."
    if not evidence:
        errors["evidence"] = "Cite at least one quote."
    else:
        others = [q for q in evidence if q.party_id != party.id]
        if others:
            errors["evidence"] = "Evidence must be quotes of the same party."
        else:
            newest = max(q.said_on for q in evidence)
            if effective_from < newest:
                errors["effective_from"] = (
                    f"Effective from cannot be before the evidence it cites ({newest.isoformat()})."
                )
    if errors:
        raise ValidationFailed(errors)
    position = Position(
        party_id=party.id,
        issue_id=issue.id,
        stance=stance,
        condition=condition,
        effective_from=effective_from,
        rationale=rationale,
        recorded_by_id=actor.id if actor else None,
        round_id=at_round.id if at_round else None,
    )
    if recorded_at is not None:
        position.recorded_at = recorded_at
    position.evidence = list(evidence)
    session.add(position)
    audit.record(
        session,
        actor=actor,
        action="create",
        entity=position,
        extra={
            "evidence": sorted(q.id for q in evidence),
            **({"note": audit_note} if audit_note else {}),
        },
    )
    return position


# ---------------------------------------------------------------------------------------------
# The "Record position change" form (its input model lives in app.forms).

EVIDENCE_LIMIT = 30
"""Quotes offered as evidence at once; the filter narrows the party's quotes down."""


def record_position_from_input(
    session: Session, *, actor: User | None, data: PositionInput
) -> Position:
    """Record the position the form describes, after resolving its party, issue and evidence."""
    errors: dict[str, str] = {}
    party = catalog.find_party(session, slug=data.party)
    if party is None:
        errors["party"] = "Choose a party from the list."
    issue = catalog.find_issue(session, slug=data.issue)
    if issue is None:
        errors["issue"] = "Choose an issue from the list."
    evidence = list(session.scalars(select(Quote).where(Quote.id.in_(data.evidence))))
    if len(evidence) != len(data.evidence):
        errors["evidence"] = "Some of the chosen quotes no longer exist; choose again."
    at_round = rounds.find_round(session, slug=data.round) if data.round else None
    if data.round and at_round is None:
        errors["round"] = "Choose a round from the list."
    if party is None or issue is None or errors:
        if not data.evidence:
            errors.setdefault("evidence", "Cite at least one quote.")
        raise ValidationFailed(errors)
    return record_position(
        session,
        actor=actor,
        party=party,
        issue=issue,
        stance=data.stance,
        effective_from=data.effective_from,
        rationale=data.rationale,
        evidence=evidence,
        condition=data.condition or None,
        at_round=at_round,
    )


def evidence_choices(
    session: Session, *, party_slug: str | None, q: str = "", selected: Sequence[int] = ()
) -> list[Quote]:
    """Quotes to offer as evidence: the chosen ones of the party first, then its newest quotes
    whose text, speaker or outlet contains `q` (all parties' when none is chosen)."""
    party = catalog.find_party(session, slug=party_slug) if party_slug else None
    loading = (selectinload(Quote.speaker), selectinload(Quote.source), selectinload(Quote.party))
    chosen: list[Quote] = []
    if selected:
        stmt = select(Quote).where(Quote.id.in_(list(selected)[:MAX_EVIDENCE]))
        if party is not None:
            stmt = stmt.where(Quote.party_id == party.id)
        chosen = list(session.scalars(stmt.options(*loading).order_by(Quote.said_on.desc())))
    stmt = select(Quote)
    if party is not None:
        stmt = stmt.where(Quote.party_id == party.id)
    if chosen:
        stmt = stmt.where(Quote.id.not_in([quote.id for quote in chosen]))
    needle = q.strip()[:200]
    if needle:
        stmt = stmt.where(
            or_(
                Quote.text.icontains(needle, autoescape=True),
                Quote.speaker_id.in_(
                    select(Speaker.id).where(Speaker.name.icontains(needle, autoescape=True))
                ),
                Quote.source_id.in_(
                    select(Source.id).where(Source.outlet.icontains(needle, autoescape=True))
                ),
            )
        )
    stmt = stmt.order_by(Quote.said_on.desc(), Quote.id.desc()).limit(EVIDENCE_LIMIT)
    return chosen + list(session.scalars(stmt.options(*loading)))


@dataclass(frozen=True, slots=True)
class CurrentStance:
    """What the position form shows before a change is recorded: the party's position in force
    on the issue today (None when it has none), with its evidence."""

    party: Party
    issue: Issue
    position: Position | None


def current_stance(
    session: Session, *, party_slug: str | None, issue_slug: str | None, today: date
) -> CurrentStance | None:
    """The position in force on `today` for the party and issue named, with its evidence
    (speaker and source loaded); None unless both name a known party and issue."""
    party = catalog.find_party(session, slug=party_slug) if party_slug else None
    issue = catalog.find_issue(session, slug=issue_slug) if issue_slug else None
    if party is None or issue is None:
        return None
    evidence = selectinload(Position.evidence)
    position = session.scalar(
        select(Position)
        .where(
            Position.party_id == party.id,
            Position.issue_id == issue.id,
            Position.effective_from <= today,
        )
        .order_by(Position.effective_from.desc(), Position.recorded_at.desc(), Position.id.desc())
        .limit(1)
        .options(
            evidence.selectinload(Quote.speaker),
            evidence.selectinload(Quote.source),
        )
    )
    return CurrentStance(party=party, issue=issue, position=position)
