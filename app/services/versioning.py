"""The data version: bumped in the same transaction as every write of evidence.

Caches of rendered views key on it. Each request reads the current number (one cheap query),
so every worker process sees a write as soon as it is committed, and an editor sees their own
change at once.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from app.models import (
    DataVersion,
    Issue,
    Party,
    Position,
    PositionEvidence,
    Quote,
    QuoteIssue,
    Source,
    Speaker,
)

TRACKED = (Party, Issue, Speaker, Source, Quote, QuoteIssue, Position, PositionEvidence)
_FLAG = "peacetalks.bump_data_version"


def current(session: Session) -> int:
    """The current data version."""
    return session.scalar(select(DataVersion.version).where(DataVersion.id == 1)) or 0


def bump(session: Session) -> None:
    """Move the data version on (for writes that bypass the ORM unit of work, e.g. bulk loads)."""
    session.execute(
        update(DataVersion).where(DataVersion.id == 1).values(version=DataVersion.version + 1)
    )


def _before_flush(session: Session, _context: Any, _instances: Any) -> None:
    changed = (*session.new, *session.dirty, *session.deleted)
    if any(isinstance(obj, TRACKED) for obj in changed):
        session.info[_FLAG] = True


def _after_flush(session: Session, _context: Any) -> None:
    if session.info.pop(_FLAG, False):
        bump(session)


def install() -> None:
    """Listen on every session (idempotent)."""
    if not event.contains(Session, "before_flush", _before_flush):
        event.listen(Session, "before_flush", _before_flush)
        event.listen(Session, "after_flush", _after_flush)


install()
