"""The audit log: every create, update and delete, written in the same transaction as the change."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.orm import Session

from app.db import Base
from app.models import AuditEntry, User


def snapshot(entity: Base) -> dict[str, Any]:
    """The column values of `entity` as JSON-ready data, for the before/after of an audit entry."""
    values: dict[str, Any] = {}
    for attr in inspect(entity).mapper.column_attrs:
        value = getattr(entity, attr.key)
        if isinstance(value, enum.Enum):
            value = value.value
        elif isinstance(value, date | datetime):
            value = value.isoformat()
        values[attr.key] = value
    return values


def record(
    session: Session,
    *,
    actor: User | None,
    action: str,
    entity: Base,
    before: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> AuditEntry:
    """Add an audit entry for `action` on `entity` (flushed so the entity has its id)."""
    session.flush()
    after = None if action == "delete" else {**snapshot(entity), **(extra or {})}
    identity = inspect(entity).identity or ()
    entry = AuditEntry(
        actor_id=actor.id if actor else None,
        action=action,
        entity_type=type(entity).__tablename__,
        entity_id=":".join(str(part) for part in identity),
        before=before,
        after=after,
    )
    session.add(entry)
    return entry
