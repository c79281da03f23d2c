"""Editors keep saving while `peacetalks import` loads a big file, through the web form.

PostgreSQL: no writer waits for another on a shared row any more, so no editor's save during
the import waits for it to commit: the slowest save takes a small part of the import's run (a
save queued behind the import's transaction would wait for most of it; the summary reports the
p99, under 1 s on a quiet machine). SQLite lets one writer in at a time, and an
all-or-nothing import holds that lock until it commits: there the editors' saves wait their
turn, and the test proves that none of them fails (no 5xx) and reports how long they waited.
(bench/concurrent.py --import-rows 100000 runs the same with the full import.)
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db import make_engine
from app.models import Quote
from bench.concurrent import (
    edit_during_import,
    import_summary,
    prepare,
    serve_command,
    stored_quotes,
    write_import_file,
)
from bench.load import server
from tests.conftest import scratch_database

pytestmark = pytest.mark.e2e

ROWS = {"postgresql": 20000, "sqlite": 10000}


def test_editors_saves_during_an_import_neither_fail_nor_queue_behind_it(
    backend: str, tmp_path: Path, record_property: Callable[[str, object], None]
) -> None:
    rows = ROWS[backend]
    file = tmp_path / "import.csv"
    write_import_file(file, rows)
    with scratch_database(backend, tmp_path) as url:
        prepare(url)
        with server(
            serve_command(url), {"DATABASE_URL": url}, "/healthz", tmp_path / "app.log"
        ) as base:
            result = edit_during_import(base, url, file)
        print(import_summary(result, rows))
        record_property("import", import_summary(result, rows))
        saves = result.saves
        assert result.import_exit == 0, result.import_output[-2000:]
        assert len(saves.write_latencies) >= 8, "the editors hardly saved during the import"
        assert saves.statuses == {303: len(saves.write_latencies)}, saves.statuses
        stored, _ = stored_quotes(url)
        assert [t for t in saves.acknowledged_quotes if t not in stored] == []
        engine = make_engine(url)
        try:
            with Session(engine) as session:
                imported = session.scalar(
                    select(func.count()).select_from(Quote).where(Quote.text.like("Imported %"))
                )
            assert imported == rows
        finally:
            engine.dispose()
        if backend == "postgresql":
            # A bound in the import's own time, not in seconds: both slow down together when the
            # machine is busy, while a save that queued behind the import would wait for most of it.
            slowest = max(saves.write_latencies) / 1000
            assert slowest < result.import_seconds / 4, import_summary(result, rows)
