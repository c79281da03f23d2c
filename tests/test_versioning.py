"""The data version: it moves on when a write commits, in a step no other writer waits for; it
is never reused after a rollback; it covers every table a cached view shows; and the listener
hears every committed write through NOTIFY."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from app import migrate
from app.db import make_engine
from app.models import Role, Stance
from app.services import positions, users, versioning
from tests import builders as b
from tests.auth_helpers import make_user
from tests.conftest import scratch_database, wait_until

D = date(2025, 4, 1)


def test_listener_follows_committed_writes_and_ignores_rolled_back_ones(tmp_path: Path) -> None:
    with scratch_database("postgresql", tmp_path) as url:
        migrate.upgrade(url=url)
        engine = make_engine(url)
        listener = versioning.Listener(url)
        # Every announcement, in order, as another worker would hear them.
        heard = psycopg.connect(listener.conninfo, autocommit=True)
        try:
            heard.execute(f"LISTEN {versioning.CHANNEL}")
            assert wait_until(lambda: listener.live, timeout=10)
            start = listener.version
            with Session(engine) as session:
                party, issue = b.party(session), b.issue(session)
                b.position(session, party, issue, Stance.ACCEPTS, date(2025, 1, 1))
                session.rollback()
            assert listener.version == start  # nothing committed, nothing announced
            with Session(engine) as session, session.begin():
                b.party(session)
            # The rolled-back write announced nothing: the first announcement is the commit's.
            (committed,) = [int(n.payload) for n in heard.notifies(timeout=10, stop_after=1)]
            assert wait_until(lambda: listener.version == committed, timeout=10)
            with Session(engine) as session:
                assert listener.version == versioning.current(session) == committed > start
        finally:
            heard.close()
            listener.stop()
            engine.dispose()


def test_writers_share_no_lock_on_the_data_version(backend: str, engine: Engine) -> None:
    if backend != "postgresql":
        pytest.skip("SQLite lets one writer in at a time by design")
    with Session(engine) as first, Session(engine) as second:
        b.party(first)  # written, not committed
        # A second writer of evidence must not wait for the first (it did, on the version row).
        second.execute(text("SET LOCAL lock_timeout = '3s'"))
        b.party(second)
        second.rollback()
        first.rollback()


def test_version_numbers_are_never_reused_after_a_rollback(backend: str, tmp_path: Path) -> None:
    with scratch_database(backend, tmp_path) as url:
        migrate.upgrade(url=url)
        engine = make_engine(url)
        try:
            with Session(engine) as session:
                before = versioning.current(session)
            with Session(engine) as writer:
                b.party(writer)
                seen = versioning.current(writer)  # what views rendered inside it keyed on
                assert seen != before
                writer.rollback()
            with Session(engine) as other, other.begin():
                b.party(other)
            with Session(engine) as reader:
                after = versioning.current(reader)
            assert after > before
            assert after != seen  # else a view of the rolled-back write would be served
        finally:
            engine.dispose()


def test_a_renamed_user_shows_at_once_in_cached_cells(client: TestClient, session: Session) -> None:
    admin = make_user(session, "admin@example.org", Role.ADMIN)
    editor = make_user(session, "ed@example.org")
    party, issue = b.party(session, "rename-p"), b.issue(session, "rename-i")
    quote = b.quote(session, party, issue, Stance.ACCEPTS, said_on=D)
    positions.record_position(
        session, actor=editor, party=party, issue=issue, stance=Stance.ACCEPTS,
        effective_from=D, rationale="Said so.", evidence=[quote],
    )  # fmt: skip
    url = f"/cells/rename-p/rename-i?as_of={D}"
    assert "by Ed;" in client.get(url).text
    users.update_user(
        session, actor=admin, user=editor, expected_version=editor.version,
        display_name="Edwina", role=Role.EDITOR,
    )  # fmt: skip
    assert "by Edwina;" in client.get(url).text
