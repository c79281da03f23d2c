"""The data-version listener: a committed write reaches every worker through NOTIFY."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

from sqlalchemy.orm import Session

from app import migrate
from app.db import make_engine
from app.models import Stance
from app.services import versioning
from tests import builders as b
from tests.conftest import scratch_database


def test_listener_follows_committed_writes_and_ignores_rolled_back_ones(tmp_path: Path) -> None:
    with scratch_database("postgresql", tmp_path) as url:
        migrate.upgrade(url=url)
        engine = make_engine(url)
        listener = versioning.Listener(url)
        try:
            deadline = time.monotonic() + 10
            while not listener.live and time.monotonic() < deadline:
                time.sleep(0.05)
            assert listener.live
            start = listener.version
            with Session(engine) as session:
                party, issue = b.party(session), b.issue(session)
                b.position(session, party, issue, Stance.ACCEPTS, date(2025, 1, 1))
                session.rollback()
            time.sleep(0.3)
            assert listener.version == start  # nothing committed, nothing announced
            with Session(engine) as session, session.begin():
                b.party(session)
            deadline = time.monotonic() + 10
            while listener.version == start and time.monotonic() < deadline:
                time.sleep(0.05)
            with Session(engine) as session:
                assert listener.version == versioning.current(session) > start
        finally:
            listener.stop()
            engine.dispose()
