"""A short load with concurrent writers, on PostgreSQL (2 workers) and on the embedded SQLite
default (1 worker): readers and 4 editors at once.

Afterwards every write the server acknowledged is in the database with its audit entry, every
refused write got a 409 or a 422, no request got a 5xx, and no editor was shown a matrix
without their own write. (bench/concurrent.py runs the same thing longer and prints figures.)
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.concurrent import prepare, run_load, serve_command, stored_quotes
from bench.load import server
from tests.conftest import scratch_database

pytestmark = pytest.mark.e2e


def test_concurrent_readers_and_editors_lose_nothing(backend: str, tmp_path: Path) -> None:
    with scratch_database(backend, tmp_path) as url:
        prepare(url)
        with server(serve_command(url), {"DATABASE_URL": url}, "/healthz") as base:
            report = run_load(base, duration=6, readers=8, shared_quote=1)
        assert report.acknowledged_quotes, "no write was acknowledged"
        assert not [s for s in report.statuses if s >= 500], report.statuses
        assert set(report.refused) <= {409, 422}, report.refused
        assert report.stale_views == []
        stored, audited = stored_quotes(url)
        assert [t for t in report.acknowledged_quotes if t not in stored] == []
        assert audited >= len(stored)
