"""The data version: caches of rendered views key on it, and it moves on when a write commits.

A transaction that changes what a view shows (an evidence table, or a user's shown name) is
marked as it flushes, and moves the version on in a step that no other writer waits for:

- PostgreSQL: right after its commit, on the same connection, the next value of the sequence
  `data_version_seq`, announced with NOTIFY. A sequence is never rolled back, so no number is
  handed out twice; and since the number moves only once the data is committed, a view
  rendered under a number holds every write announced up to it. Writers share no lock.
- SQLite: inside the writing transaction, `data_version.version + 1`. SQLite lets one writer
  in at a time anyway, and a reader's version and data come from one snapshot.

A session joined to a transaction it does not own (tests run each in an outer transaction that
is rolled back) never sees the real commit: it moves the version inside the transaction, on
PostgreSQL too, whose NOTIFY is delivered only if the owner commits.

A transaction that asks for the version after changes of its own it has not committed gets a
private number (at or above PRIVATE_BASE, unique in the process, never published): the views
it renders are cached apart, and nobody else is ever served them, even if it rolls back.

Readers: on PostgreSQL each worker process follows the version by LISTENing for the NOTIFY,
so anonymous readers' repeat views run no query at all; logged-in users (editors) always read
the version from the database, so an editor sees their own change at once whichever process
serves them (the commit, and so the new number, comes before the response). Elsewhere (SQLite,
or while the listener is down) the version is read from the database on each request.
"""

from __future__ import annotations

import itertools
import logging
import threading
from typing import Any

import psycopg
from sqlalchemy import event, inspect, select, text, update
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction

from app.config import get_settings
from app.models import (
    DataVersion,
    Document,
    DocumentParty,
    DocumentPoint,
    DocumentReaction,
    Issue,
    Party,
    PointMapping,
    Position,
    PositionEvidence,
    Quote,
    QuoteIssue,
    Round,
    RoundDelegate,
    RoundDocument,
    RoundParty,
    Source,
    Speaker,
    SpeakerAlias,
    SpeakerRole,
    Theme,
    User,
)
from app.services import position_runs

TRACKED = (
    Party, Theme, Issue, Speaker, SpeakerAlias, SpeakerRole, Source, Quote, QuoteIssue,
    Position, PositionEvidence, Document, DocumentParty, DocumentPoint, PointMapping,
    DocumentReaction, Round, RoundParty, RoundDelegate, RoundDocument,
)  # fmt: skip
"""Every row of these is shown by some cached view or held per version (app.services.
held_catalog: the themes heading the matrix, the rounds a timeline marks, the documents and
rounds a search matches by name). Documents, rounds and themes were once left out, so a view
cached or held before a new round or a renamed document kept showing the old one until the
next write of evidence."""
SHOWN_USER_FIELDS = ("display_name",)
"""What cached views show of a user: the name a position was recorded by."""
TRACKED_TABLES = frozenset(model.__table__ for model in (*TRACKED, User))
CHANNEL = "peacetalks_data_version"
PRIVATE_BASE = 1 << 62
"""Private numbers start here, far above any version a database will reach."""

_CHANGED = "peacetalks.data_changed"
_PRIVATE = "peacetalks.private_version"
_CONNECTION = "peacetalks.connection"
_JOINED = "peacetalks.joined"
_MOVED = "peacetalks.version_moved"
NEXT_VERSION = text("SELECT pg_notify(:channel, CAST(nextval('data_version_seq') AS text))")
_private_numbers = itertools.count(PRIVATE_BASE)
_private_lock = threading.Lock()
log = logging.getLogger(__name__)


def mark_changed(session: Session) -> None:
    """Note that this transaction changed what views show (for writes that bypass the ORM)."""
    session.info[_CHANGED] = True
    session.info.pop(_PRIVATE, None)  # views rendered from here on see more: a new number


def published(session: Session) -> int:
    """The version of the committed data, read from the database."""
    if session.get_bind().dialect.name == "postgresql":
        return session.scalar(text("SELECT last_value FROM data_version_seq")) or 0
    return session.scalar(select(DataVersion.version).where(DataVersion.id == 1)) or 0


def current(session: Session) -> int:
    """The data version this session's views key on: a private number while it has changes
    of its own that are not committed."""
    session.flush()
    if not session.info.get(_CHANGED):
        return published(session)
    if _PRIVATE not in session.info:
        with _private_lock:
            session.info[_PRIVATE] = next(_private_numbers)
    number: int = session.info[_PRIVATE]
    return number


def _shows_change(obj: object, *, deleted: bool = False) -> bool:
    if isinstance(obj, TRACKED):
        return True
    if not isinstance(obj, User):
        return False
    attributes = inspect(obj).attrs
    return deleted or any(attributes[name].history.has_changes() for name in SHOWN_USER_FIELDS)


def _before_flush(session: Session, _context: Any, _instances: Any) -> None:
    if session.info.get(_CHANGED) and _PRIVATE not in session.info:
        return  # already marked, and no private number handed out to move past
    if (
        any(_shows_change(obj, deleted=True) for obj in session.deleted)
        or any(_shows_change(obj) for obj in session.dirty)
        or any(isinstance(obj, TRACKED) for obj in session.new)  # a new user is shown nowhere yet
    ):
        mark_changed(session)


def _do_orm_execute(state: ORMExecuteState) -> None:
    # Bulk INSERT/UPDATE/DELETE statements run without a flush.
    if state.is_insert or state.is_update or state.is_delete:
        if getattr(state.statement, "table", None) in TRACKED_TABLES:
            mark_changed(state.session)


def _after_begin(session: Session, transaction: SessionTransaction, connection: Connection) -> None:
    if transaction.parent is None:
        session.info[_CONNECTION] = connection
        # A session whose transaction is a savepoint in someone else's (tests join one to an
        # outer transaction) never sees the real commit, so it cannot announce after it.
        session.info[_JOINED] = connection.in_nested_transaction()


def _moves_inside(session: Session) -> bool:
    """Whether this session's transaction moves the version itself rather than after commit."""
    return bool(session.info.get(_JOINED)) or session.get_bind().dialect.name != "postgresql"


def _move_inside(session: Session) -> None:
    """Move the version on inside the transaction, once: SQLite's row (the writer holds the
    database's one write lock anyway), or for a joined session the sequence, with a NOTIFY
    that is delivered only if the outer transaction commits."""
    if not session.info.get(_CHANGED) or session.info.get(_MOVED) or not _moves_inside(session):
        return
    session.info[_MOVED] = True
    if session.get_bind().dialect.name == "postgresql":
        session.execute(NEXT_VERSION, {"channel": CHANNEL})
    else:
        session.execute(
            update(DataVersion).where(DataVersion.id == 1).values(version=DataVersion.version + 1)
        )


def _after_flush(session: Session, _context: Any) -> None:
    _move_inside(session)


def _before_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return
    session.flush()  # the commit's own flush runs after this hook: mark its changes now
    _move_inside(session)  # changes made without a flush (bulk statements)


def _after_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return
    connection = session.info.get(_CONNECTION)
    if session.info.get(_CHANGED) and connection is not None and not _moves_inside(session):
        announce(connection)


def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # committed (and announced) or rolled back: start afresh
        for key in (_CHANGED, _PRIVATE, _CONNECTION, _JOINED, _MOVED):
            session.info.pop(key, None)


def announce(connection: Connection) -> None:
    """On PostgreSQL, right after a commit: take the next version and tell every listening
    worker, in a transaction of its own on the same connection.

    A failure here cannot undo the commit, so it is logged, not raised: cached views then catch
    up at the next write.
    """
    try:
        connection.execute(NEXT_VERSION, {"channel": CHANNEL})
        connection.commit()
    except Exception:
        log.exception("the data version could not be moved on after a commit")
        if not connection.closed and connection.in_transaction():
            connection.rollback()


def install() -> None:
    """Listen on every session (idempotent): called by create_app() and the command line, so
    that every process that writes moves the version on."""
    position_runs.install()  # and keeps the matrix's stored runs in step
    if event.contains(Session, "before_flush", _before_flush):
        return
    event.listen(Session, "before_flush", _before_flush)
    event.listen(Session, "do_orm_execute", _do_orm_execute)
    event.listen(Session, "after_begin", _after_begin)
    event.listen(Session, "after_flush", _after_flush)
    event.listen(Session, "before_commit", _before_commit)
    event.listen(Session, "after_commit", _after_commit)
    event.listen(Session, "after_transaction_end", _after_transaction_end)


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
                    row = conn.execute("SELECT last_value FROM data_version_seq").fetchone()
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
