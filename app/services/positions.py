"""Positions: a party's stance on an issue from a date on, citing its evidence."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Issue, Party, Position, Quote, Stance, User
from app.services import audit
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
) -> Position:
    """Record a new position (a change of stance never overwrites an old one, so history stays)."""
    errors: dict[str, str] = {}
    condition = (condition or "").strip() or None
    if stance == Stance.CONDITIONAL and condition is None:
        errors["condition"] = "A conditional stance needs its condition."
    if stance != Stance.CONDITIONAL and condition is not None:
        errors["condition"] = "Only a conditional stance has a condition."
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
        extra={"evidence": sorted(q.id for q in evidence)},
    )
    return position
