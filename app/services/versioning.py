"""The data version: bumped in the same transaction as every write of evidence.

Caches of rendered views key on it. On PostgreSQL each worker process keeps the number up to
date by LISTENing for the NOTIFY every write sends at commit, so anonymous readers' repeat views
run no query at all; logged-in users (editors) always read the number from the database, so an
editor sees their own change at once whichever process serves them. Elsewhere (SQLite, or
while the listener is down) the number is read from the database on each request.
"""

from __future__ import annotations

import threading
from typing import Any

import psycopg
from sqlalchemy import event, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from app.config import get_settings
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
CHANNEL = "peacetalks_data_version"
_FLAG = "peacetalks.bump_data_version"


def current(session: Session) -> int:
    """The current data version, read from the database."""
    return session.scalar(select(DataVersion.version).where(DataVersion.id == 1)) or 0


def bump(session: Session) -> None:
    """Move the data version on (also for writes that bypass the ORM, e.g. bulk loads)."""
    session.execute(
        update(DataVersion).where(DataVersion.id == 1).values(version=DataVersion.version + 1)
    )
    if session.get_bind().dialect.name == "postgresql":
        # Delivered to every listening worker when, and only if, the transaction commits.
        session.execute(
            text(
                "SELECT pg_notify(:channel, "
                "CAST((SELECT version FROM data_version WHERE id = 1) AS text))"
            ).bindparams(channel=CHANNEL)
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


class Listener:
    """Follows the data version of a PostgreSQL database through LISTEN/NOTIFY, in a thread."""

    def __init__(self, url: str) -> None:
        self.conninfo = (
            make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        )
        self.version = -1
        self.live = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="data-version", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                with psycopg.connect(self.conninfo, autocommit=True) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")  # listen first, then read: nothing missed
                    row = conn.execute("SELECT version FROM data_version WHERE id = 1").fetchone()
                    self.version = int(row[0]) if row else 0
                    self.live = True
                    while not self._stop.is_set():
                        for notice in conn.notifies(timeout=2.0):
                            self.version = max(self.version, int(notice.payload))
            except Exception:  # connection lost or database down: readers fall back to queries
                self.live = False
                self._stop.wait(1.0)
        self.live = False

    def stop(self) -> None:
        """End the thread (tests)."""
        self._stop.set()


_listeners: dict[str, Listener] = {}
_listeners_lock = threading.Lock()


def _listener_for(session: Session) -> Listener | None:
    bind = session.get_bind()
    if bind.dialect.name != "postgresql":
        return None
    url = bind.engine.url.render_as_string(hide_password=False)
    with _listeners_lock:
        if url not in _listeners:
            # Started lazily inside each worker process, never before a fork.
            _listeners[url] = Listener(url)
        return _listeners[url]


def heard(session: Session, *, logged_in: bool) -> int | None:
    """The data version as the listener heard it, for anonymous readers; None means: query it."""
    if not logged_in and get_settings().listen_for_data_version:
        listener = _listener_for(session)
        if listener is not None and listener.live and listener.version >= 0:
            return listener.version
    return None


async def for_view(session: Session, *, logged_in: bool) -> int:
    """for_request() for async routes: the database is asked in the thread pool, if at all."""
    from fastapi.concurrency import run_in_threadpool

    version = heard(session, logged_in=logged_in)
    return await run_in_threadpool(current, session) if version is None else version


def for_request(session: Session, *, logged_in: bool) -> int:
    """The data version a view keys on: no query for readers while the listener is live."""
    version = heard(session, logged_in=logged_in)
    return current(session) if version is None else version


install()
