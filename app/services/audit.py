"""The audit log: every create, update and delete, written in the same transaction as the change."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, inspect, select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.sql.elements import ColumnElement

from app.db import Base
from app.forms import whole_number
from app.models import AuditEntry, User

SECRET_FIELDS = frozenset({"password_hash"})
"""Columns never copied into the audit log (it is readable by every editor)."""


def snapshot(entity: Base) -> dict[str, Any]:
    """The column values of `entity` as JSON-ready data, for the before/after of an audit entry."""
    values: dict[str, Any] = {}
    for attr in inspect(entity).mapper.column_attrs:
        if attr.key in SECRET_FIELDS:
            continue
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


# --- Reading the log -------------------------------------------------------------------------

PAGE_SIZE = 50
SYSTEM_ACTOR = "system"
REDACTED_FIELDS = frozenset({"password_hash"})
QUIET_FIELDS = frozenset({"version"})  # changes with every update; says nothing to a reader


@dataclass(frozen=True, slots=True)
class Change:
    """One field of an audit entry: its value before and after (None when absent)."""

    field: str
    before: Any
    after: Any


@dataclass(slots=True)
class AuditPage:
    """One page of audit entries, newest first, with what the filters and pager need."""

    entries: list[AuditEntry]
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


def list_entries(
    session: Session,
    *,
    entity_type: str | None = None,
    actor: str | None = None,
    page: int = 1,
    page_size: int = PAGE_SIZE,
) -> AuditPage:
    """Audit entries newest first, optionally of one entity type and one actor (a user id or "system")."""
    conditions: list[ColumnElement[bool]] = []
    if entity_type:
        conditions.append(AuditEntry.entity_type == entity_type)
    if actor == SYSTEM_ACTOR:
        conditions.append(AuditEntry.actor_id.is_(None))
    elif actor:
        actor_id = whole_number(actor)
        conditions.append(AuditEntry.actor_id == (-1 if actor_id is None else actor_id))
    total = session.scalar(select(func.count()).select_from(AuditEntry).where(*conditions)) or 0
    entries = session.scalars(
        select(AuditEntry)
        .where(*conditions)
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .offset((max(page, 1) - 1) * page_size)
        .limit(page_size)
        .options(selectinload(AuditEntry.actor))
    )
    return AuditPage(entries=list(entries), total=total, page=max(page, 1), page_size=page_size)


def entity_types(session: Session) -> list[str]:
    """The entity types that have audit entries, for the filter."""
    return list(session.scalars(select(AuditEntry.entity_type).distinct().order_by("entity_type")))


def changes(entry: AuditEntry) -> list[Change]:
    """The fields an entry changed (all fields for a create or delete), secrets redacted."""
    before = entry.before or {}
    after = entry.after or {}
    fields = list(dict.fromkeys([*before, *after]))
    result = []
    for name in fields:
        old, new = before.get(name), after.get(name)
        if entry.action == "update" and (old == new or name in QUIET_FIELDS):
            continue
        if name in REDACTED_FIELDS:
            old = "(hidden)" if name in before else None
            new = "(hidden)" if name in after else None
            if entry.action == "update":
                old, new = "(hidden)", "(changed)"
        result.append(Change(field=name, before=old, after=new))
    return result
