"""Database plumbing: the declarative base, engines, the request's session, and running a request
again when the database was busy."""

from __future__ import annotations

import asyncio
import random
import sqlite3
from collections.abc import AsyncIterator
from functools import lru_cache
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import ARRAY, Integer, MetaData, any_, bindparam, create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import DeclarativeBase, Session
from sqlalchemy.pool import QueuePool
from sqlalchemy.sql.elements import ColumnElement
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.config import EMBEDDED_DATABASE_PATH, get_settings

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Base of every model; constraint names follow NAMING_CONVENTION so migrations can name them."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


SQLITE_BUSY_TIMEOUT_MS = 10_000
"""How long a SQLite transaction waits for the write lock before it gives up."""
SQLITE_DEFERRED = "sqlite_deferred"
"""Execution option: this connection's SQLite transactions only read, so they begin deferred."""
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
ATTEMPTS = 3
"""How many times a request runs when the database is busy (see RetryWhenBusy)."""
_ATTEMPT = "peacetalks.attempt"
_BUSY = "peacetalks.database_busy"


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    # SQLite leaves foreign keys off by default; WAL lets readers run beside one writer, and the
    # busy timeout makes a writer wait its turn for the write lock instead of failing at once.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
    # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin, so that
    # SAVEPOINTs and transactional DDL behave as on PostgreSQL.
    dbapi_connection.isolation_level = None


def _begin_sqlite(connection: Any) -> None:
    # A transaction that read first cannot wait for the write lock when it then writes: SQLite
    # fails it at once ("database is locked"). So every transaction takes the write lock up
    # front (waiting its turn for up to the busy timeout), unless its connection is marked as
    # one that only reads (SQLITE_DEFERRED: web GETs, the health check); readers never wait.
    deferred = connection.get_execution_options().get(SQLITE_DEFERRED, False)
    connection.exec_driver_sql("BEGIN" if deferred else "BEGIN IMMEDIATE")


def among_named(dialect: str, column: Any, name: str) -> ColumnElement[bool]:
    """`column IN (:name)` for a statement built once and run with a list of ids as `name`;
    `dialect` is the engine's dialect name. On PostgreSQL it is written `column = ANY(:name)`,
    one array parameter: the statement's text is then the same whatever the number of ids, so
    psycopg prepares it on a connection after a few uses and PostgreSQL keeps its plan.
    Loading quotes with their speaker, party, source, round and the quote they answer joins
    eight tables: on the large benchmark database planning that took 5-6 ms and running it
    3 ms, and an IN list of another length is another statement, planned afresh every time.
    Elsewhere it is an expanding IN."""
    if dialect == "postgresql":
        return column == any_(bindparam(name, type_=ARRAY(Integer)))  # type: ignore[no-any-return]
    return column.in_(bindparam(name, expanding=True))  # type: ignore[no-any-return]


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for `url`, with SQLite set up to enforce foreign keys and tolerate concurrency."""
    # A failed statement's error names its SQL but never its parameters (a password hash, an
    # email, a quote's text), so an error log cannot leak them.
    kwargs.setdefault("hide_parameters", True)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            EMBEDDED_DATABASE_PATH.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _configure_sqlite)
        event.listen(engine, "begin", _begin_sqlite)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


@lru_cache
def get_engine() -> Engine:
    """The process-wide engine for the configured database."""
    return make_engine(get_settings().effective_database_url)


@lru_cache
def get_reading_engine() -> Engine:
    """The engine for work that only reads: on SQLite its transactions take no write lock."""
    return get_engine().execution_options(**{SQLITE_DEFERRED: True})


def web_engine_options(url: str) -> dict[str, Any]:
    """Engine options for web requests: a bounded pool and, on PostgreSQL, statement and lock
    timeouts, so no request waits on the database longer than the settings say, no parallel
    workers (a web request is one of many at once: workers would only take the cores the
    others need, and starting them costs more than the short queries a page runs) and no JIT
    compilation. A search's statement is bounded by its LIMITs but costed by the planner on
    every row the date index could yield (174,000 on the large benchmark database, above
    PostgreSQL's jit_above_cost of 100,000), so PostgreSQL compiled it to machine code on
    every run: 11 ms of the statement's 24 ms (EXPLAIN ANALYZE), for a scan of 4,000 rows."""
    settings = get_settings()
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:"):
        return {}  # one connection per thread: there is no pool to bound
    options: dict[str, Any] = {
        "pool_size": settings.db_pool_size,
        "max_overflow": settings.db_pool_overflow,
        "pool_timeout": settings.db_pool_timeout_s
        or (30.0 if parsed.get_backend_name() == "sqlite" else 3.0),
    }
    if parsed.get_backend_name() == "postgresql":
        options["connect_args"] = {
            "options": f"-c statement_timeout={settings.db_statement_timeout_ms}"
            f" -c lock_timeout={settings.db_lock_timeout_ms}"
            " -c max_parallel_workers_per_gather=0 -c jit=off"
        }
    return options


@lru_cache
def get_web_engine() -> Engine:
    """The engine of web requests (the command line's work, an import say, has no timeouts)."""
    url = get_settings().effective_database_url
    return make_engine(url, **web_engine_options(url))


@lru_cache
def get_web_reading_engine() -> Engine:
    """The web engine for requests that only read (SQLite: no write lock)."""
    return get_web_engine().execution_options(**{SQLITE_DEFERRED: True})


def pool_state(engine: Engine) -> dict[str, Any]:
    """How busy the engine's connection pool is: its size, overflow and connections in use."""
    pool = engine.pool
    size = getattr(pool, "size", None)
    if not isinstance(pool, QueuePool) or size is None:
        return {"kind": type(pool).__name__}
    limit = pool.size() + max(getattr(pool, "_max_overflow", 0), 0)
    in_use = pool.checkedout()
    return {
        "kind": "queue",
        "size": pool.size(),
        "limit": limit,
        "in_use": in_use,
        "idle": pool.checkedin(),
        "exhausted": in_use >= limit,
    }


def database_timed_out(exc: BaseException) -> bool:
    """Whether `exc` is a web request's statement or lock timeout, or no free connection."""
    if isinstance(exc, PoolTimeout):
        return True
    return isinstance(exc, OperationalError) and getattr(exc.orig, "sqlstate", None) in {
        "57014",  # query_canceled: the statement timeout
        "55P03",  # lock_not_available: the lock timeout
    }


def attempt(request: Request) -> int:
    """Which run of this request this is (RetryWhenBusy runs it again when the database is busy)."""
    return int(request.scope.get("state", {}).get(_ATTEMPT, 1))


def database_busy(exc: BaseException) -> bool:
    """Whether `exc` says only that other writers were in the way, so running again can work:
    SQLite's busy or locked, PostgreSQL's serialization failure or deadlock."""
    if not isinstance(exc, OperationalError):
        return False
    code = getattr(exc.orig, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    return getattr(exc.orig, "sqlstate", None) in {"40001", "40P01"}


def note_busy(request: Request) -> None:
    """Tell RetryWhenBusy that this run failed only because the database was busy."""
    request.scope.setdefault("state", {})[_BUSY] = True


async def get_session(request: Request) -> AsyncIterator[Session]:
    """One session per request: commit once on success, roll back on any error.

    On SQLite a GET only reads and begins deferred; any other request (and a GET run again
    because it wrote after all) takes the write lock up front, waiting its turn.
    Async so that a request that never touches the database (a cached view) never waits for
    the thread pool; the commit and rollback, which do, run there.
    """
    reads = request.method in SAFE_METHODS and attempt(request) == 1
    engine = get_web_reading_engine() if reads else get_web_engine()
    session = Session(engine, expire_on_commit=False)
    try:
        yield session
        if session.in_transaction():
            await run_in_threadpool(session.commit)
    except BaseException:
        if session.in_transaction():
            await run_in_threadpool(session.rollback)
        raise
    finally:
        if session.in_transaction():
            await run_in_threadpool(session.close)
        else:
            session.close()


# scope="function" runs the teardown (the commit) before the response is sent, so a failed
# commit becomes an error response instead of a "saved" page followed by a silent loss.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def engine_dependency() -> Engine:
    """The web reading engine, as a dependency (tests point it at an unreachable database)."""
    return get_web_reading_engine()


EngineDep = Annotated[Engine, Depends(engine_dependency)]


class RetryWhenBusy:
    """Runs a request again when its transaction failed only because the database was busy.

    The app's error handler marks such a run (note_busy) and answers 503 with Retry-After. While
    runs are left, that answer is dropped and the request runs again from the start, its body
    replayed and its transaction taking the write lock up front; the last run's answer is
    sent. The session commits before the response starts, so a dropped run sent nothing and
    left nothing behind.
    """

    def __init__(self, app: ASGIApp, attempts: int = ATTEMPTS) -> None:
        self.app = app
        self.attempts = attempts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body: list[Message] = []
        for run in range(1, self.attempts + 1):
            if await self._run(scope, receive, send, body, run) or run == self.attempts:
                return
            await asyncio.sleep(random.uniform(0.005, 0.05))  # noqa: S311 - spreads retries

    async def _run(
        self, scope: Scope, receive: Receive, send: Send, body: list[Message], run: int
    ) -> bool:
        """One run; False when its answer was dropped to run again."""
        # The request's own state (outer middleware reads what the app leaves there), marked
        # with this run's number.
        state = scope.setdefault("state", {})
        state[_ATTEMPT] = run
        state.pop(_BUSY, None)
        replayed = 0
        dropped = False

        async def receive_again() -> Message:
            nonlocal replayed
            if replayed < len(body):
                replayed += 1
                return body[replayed - 1]
            message = await receive()
            if message["type"] == "http.request":
                body.append(message)
                replayed += 1
            return message

        async def send_unless_busy(message: Message) -> None:
            nonlocal dropped
            if message["type"] == "http.response.start" and state.get(_BUSY):
                dropped = run < self.attempts
            if not dropped:
                await send(message)

        await self.app(dict(scope), receive_again, send_unless_busy)
        return not dropped
