"""Test harness: every database test runs on SQLite and on PostgreSQL, each test in a rolled-back
transaction (SQLAlchemy's "joining a session into an external transaction" recipe)."""

from __future__ import annotations

import os
import sys
import time
import uuid

# Before the app is imported (it reads its settings then): test data lives in transactions that
# are rolled back, never committed, so cached views must key on the version the test's own
# transaction sees (test_versioning covers the listener).
os.environ["LISTEN_FOR_DATA_VERSION"] = "false"
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session

from app import migrate
from app.db import get_session, make_engine
from app.main import create_app

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
BACKENDS = ["sqlite", "postgresql"]


def pytest_configure(config: pytest.Config) -> None:
    if IN_CI and not TEST_DATABASE_URL:
        raise pytest.UsageError(
            "CI=true but TEST_DATABASE_URL is not set: PostgreSQL tests cannot run."
        )


_EXIT_STATUS: list[int] = []


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _EXIT_STATUS.append(int(exitstatus))


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """In CI, end the process with pytest's own exit status once every report is printed,
    without the interpreter's teardown: a fresh-clone run had every test pass and then died of a
    segmentation fault while C libraries (WeasyPrint's Pango and fontconfig, the browser driver's
    greenlets, psycopg) were torn down, which would fail CI with nothing wrong in the app."""
    if IN_CI and _EXIT_STATUS:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_EXIT_STATUS[-1])


def require_postgres() -> str:
    """The PostgreSQL test URL; skips locally when unset, fails in CI."""
    if not TEST_DATABASE_URL:
        if IN_CI:
            pytest.fail("TEST_DATABASE_URL is required in CI")
        pytest.skip("TEST_DATABASE_URL not set: PostgreSQL variant skipped (set it to run)")
    return TEST_DATABASE_URL


@contextmanager
def scratch_database(backend: str, tmp_path: Path) -> Iterator[str]:
    """A new, empty database of `backend` for tests that need their own (migrations, CLI, e2e)."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / f'scratch-{uuid.uuid4().hex[:8]}.db'}"
        return
    base = make_url(require_postgres())
    name = f"{base.database}_{uuid.uuid4().hex[:10]}"
    admin = make_engine(
        base.set(database="postgres").render_as_string(hide_password=False),
        isolation_level="AUTOCOMMIT",
    )
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def migrated_database(backend: str, tmp_path: Path) -> Iterator[Engine]:
    """An engine on a new database of `backend`, migrated to head (to rebuild one from a file)."""
    with scratch_database(backend, tmp_path) as url:
        migrate.upgrade(url=url)
        engine = make_engine(url)
        try:
            yield engine
        finally:
            engine.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The database kind under test: each database test runs once per backend."""
    return str(request.param)


@pytest.fixture(scope="session")
def engine(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """An engine on a freshly migrated test database (migrated once per run, by Alembic)."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    else:
        url = require_postgres()
    engine = make_engine(url)
    with engine.begin() as conn:
        if backend == "postgresql":
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        migrate.upgrade(connection=conn)
    yield engine
    engine.dispose()


@pytest.fixture
def connection(engine: Engine) -> Iterator[object]:
    """A connection inside an outer transaction that is rolled back after the test."""
    with engine.connect() as conn:
        outer = conn.begin()
        yield conn
        outer.rollback()


@pytest.fixture
def session(connection: object) -> Iterator[Session]:
    """A session whose commits become savepoints inside the test's outer transaction."""
    db_session = Session(
        bind=connection,  # type: ignore[arg-type]
        join_transaction_mode="create_savepoint",
        expire_on_commit=False,
    )
    yield db_session
    db_session.close()


@pytest.fixture
def app(session: Session) -> FastAPI:
    """The real app, its request session joined to the test's transaction."""
    # Each test rolls back, so data versions repeat between tests: each app has its own caches.
    application = create_app()
    application.dependency_overrides[get_session] = joined_requests(session)
    return application


def joined_requests(test_session: Session) -> Callable[[], Iterator[Session]]:
    """The app's session dependency in tests: each request gets a Session of its own, joined to
    the test's outer transaction through a savepoint (SQLAlchemy's "Joining a Session into an
    External Transaction"). As in production, a request starts with nothing loaded, so a
    relationship a service forgot to eager-load fails here too (lazy="raise_on_sql").

    Before each request the test's own session commits (releases its savepoint), so the request
    starts from committed data and data versions; after it, the test's session forgets what it
    had loaded, so what the test reads next comes from the database, as a new request's would.
    """
    connection = test_session.bind

    def request_session() -> Iterator[Session]:
        if test_session.in_transaction():
            test_session.commit()
        session = Session(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        )
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()
            test_session.expire_all()

    return request_session


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """HTTP through the whole app (routing, dependencies, templates, error handlers)."""
    with TestClient(app) as test_client:
        yield test_client


class StatementCounter:
    """Counts the SQL statements a block runs (ignoring the harness's savepoints)."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, _conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK TO")):
            self.statements.append(statement)

    @property
    def count(self) -> int:
        return len(self.statements)


@pytest.fixture
def count_statements(engine: Engine) -> Iterator[StatementCounter]:
    """Attach a statement counter to the test engine."""
    counter = StatementCounter()
    event.listen(engine, "before_cursor_execute", counter)
    yield counter
    event.remove(engine, "before_cursor_execute", counter)


@pytest.fixture
def seeded(session: Session) -> Session:
    """The session with the project's seed data loaded."""
    from app.config import PROJECT_ROOT
    from app.services import position_runs, seed

    seed.load_seeds(session, PROJECT_ROOT / "seeds")
    position_runs.ensure_fresh(session)  # as the seed's commit does: the matrix's stored runs
    return session


def csrf_token(client: TestClient, path: str = "/login") -> str:
    """The CSRF token a page hands this client (anonymous or logged in), read from its meta tag."""
    import re

    html = client.get(path).text
    match = re.search(r'<meta name="csrf-token" content="([^"]+)"', html)
    assert match, "page has no csrf-token meta"
    return match.group(1)


def wait_until(condition: Callable[[], bool], *, timeout: float = 30.0) -> bool:
    """Wait for `condition` to hold (another thread's or process's doing), checking it every
    10 ms for at most `timeout` seconds; returns whether it held. Wait on the event this way,
    never with a fixed sleep: a fixed sleep is too short on a busy machine and wasted on a fast one.
    """
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True
