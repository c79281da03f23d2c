"""A short load with concurrent writers: 2 workers on PostgreSQL, readers and 4 editors at once.

Afterwards every write the server acknowledged is in the database with its audit entry, every
refused write got a 409 or a 422, no request got a 5xx, and no editor was shown a matrix
without their own write. (bench/concurrent.py runs the same thing longer and prints figures.)
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db import make_engine
from app.models import AuditEntry, Quote
from bench.concurrent import create_editors, run_load
from bench.load import server
from tests.conftest import scratch_database

pytestmark = pytest.mark.e2e


def test_concurrent_readers_and_editors_lose_nothing(tmp_path: Path) -> None:
    with scratch_database("postgresql", tmp_path) as url:
        env = {**os.environ, "DATABASE_URL": url}
        for step in (["db", "upgrade"], ["seed"]):
            subprocess.run(
                [sys.executable, "-m", "app.cli", *step], env=env, check=True, capture_output=True
            )
        create_editors(url)
        serve = [sys.executable, "-m", "app.cli", "serve", "--host", "127.0.0.1", "--workers", "2"]
        with server(serve, {"DATABASE_URL": url}, "/healthz") as base:
            report = run_load(base, duration=6, readers=8, shared_quote=1)
        assert report.acknowledged_quotes, "no write was acknowledged"
        assert not [s for s in report.statuses if s >= 500], report.statuses
        assert set(report.refused) <= {409, 422}, report.refused
        assert report.stale_views == []
        engine = make_engine(url)
        try:
            with Session(engine) as session:
                stored = set(session.scalars(select(Quote.text)))
                assert [t for t in report.acknowledged_quotes if t not in stored] == []
                audited = session.scalar(
                    select(func.count())
                    .select_from(AuditEntry)
                    .where(AuditEntry.entity_type == "quotes")
                )
                assert (audited or 0) >= len(stored)
        finally:
            engine.dispose()
