"""Bulk import and export: all-or-nothing with row-numbered errors, idempotent, exact round trip."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import migrate
from app.db import Base, make_engine
from app.services import transfer
from tests.conftest import scratch_database

CSV_HEADER = ",".join(transfer.CSV_COLUMNS)


def _counts(session: Session) -> dict[str, int]:
    return {
        t.name: session.scalar(select(func.count()).select_from(t)) or 0
        for t in Base.metadata.sorted_tables
    }


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, "utf-8")
    return path


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_export_then_import_into_an_empty_database_round_trips_exactly(
    seeded: Session, backend: str, tmp_path: Path, fmt: str
) -> None:
    exported = transfer.export_text(seeded, fmt)
    path = _write(tmp_path, f"all.{fmt}", exported)
    with scratch_database(backend, tmp_path) as url:
        migrate.upgrade(url=url)
        engine = make_engine(url)
        try:
            with Session(engine) as fresh, fresh.begin():
                added = transfer.import_file(fresh, path)
                assert added["quotes"] == len(yaml.safe_load(exported)["quotes"])
            with Session(engine) as fresh:
                assert transfer.export_text(fresh, fmt) == exported
        finally:
            engine.dispose()


def test_reimporting_the_same_file_adds_nothing(seeded: Session, tmp_path: Path) -> None:
    path = _write(tmp_path, "all.json", transfer.export_text(seeded, "json"))
    before = _counts(seeded)
    added = transfer.import_file(seeded, path)
    assert sum(added.values()) == 0
    assert _counts(seeded) == before


def test_csv_import_creates_sources_speakers_quotes_and_positions(
    seeded: Session, tmp_path: Path
) -> None:
    rows = [
        CSV_HEADER,
        '"Ukraine will never trade territory for peace.",direct,2025-05-02,,ua,Andrii Sybiha,Foreign Minister,'
        "https://example.org/sybiha,Interview,Example Wire,2025-05-02,interview,on_record,en,false,confirmed,,"
        '"occupied-territories:rejects",Sybiha rejected it on the record.',
        '"=cmd|calc!A1",reported,2025-05-03,,ua,,,https://example.org/sybiha,,,,,,en,false,reported,,,',
    ]
    path = _write(tmp_path, "quotes.csv", "\n".join(rows) + "\n")
    before = _counts(seeded)
    added = transfer.import_file(seeded, path)
    assert (added["sources"], added["speakers"], added["quotes"], added["positions"]) == (
        1,
        1,
        2,
        1,
    )
    assert _counts(seeded)["quotes"] == before["quotes"] + 2
    assert sum(transfer.import_file(seeded, path).values()) == 0  # idempotent


def test_invalid_file_reports_every_error_by_row_and_writes_nothing(
    seeded: Session, tmp_path: Path
) -> None:
    document = yaml.safe_load(transfer.export_text(seeded, "yaml"))
    document["quotes"].append(
        dict(document["quotes"][0], ref="new1", text="A new quote", said_on="2025-02-30")
    )
    document["quotes"].append(
        dict(document["quotes"][0], ref="new2", text="Another", party="atlantis")
    )
    document["positions"].append(
        {
            "party": "ua",
            "issue": "ceasefire",
            "stance": "conditional",
            "effective_from": "2025-05-01",
            "rationale": "x",
            "evidence": ["q1"],
        }
    )
    document["positions"].append(
        {
            "party": "ua",
            "issue": "nowhere",
            "stance": "rejects",
            "effective_from": "2025-01-01",
            "rationale": "x",
            "evidence": ["missing-ref"],
        }
    )
    path = _write(tmp_path, "bad.json", json.dumps(document))
    before = _counts(seeded)
    with pytest.raises(transfer.ImportRejected) as caught:
        transfer.import_file(seeded, path)
    found = {(e.section, e.row, e.field.split(".")[0]) for e in caught.value.errors}
    quotes = len(document["quotes"])
    positions = len(document["positions"])
    assert ("quotes", quotes - 1, "said_on") in found
    assert ("quotes", quotes, "party") in found
    assert ("positions", positions - 1, "-") in found or (
        "positions",
        positions - 1,
        "condition",
    ) in found
    assert ("positions", positions, "issue") in found
    assert ("positions", positions, "evidence") in found
    assert _counts(seeded) == before


def test_cli_import_dry_run_errors_and_progress(backend: str, tmp_path: Path) -> None:
    bad = _write(tmp_path, "bad.csv", CSV_HEADER + "\nHello,spoken,2025-13-01,atlantis\n")
    with scratch_database(backend, tmp_path) as url:
        env = {**os.environ, "DATABASE_URL": url}

        def run(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [sys.executable, "-m", "app.cli", *args],
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )

        assert run("db", "upgrade").returncode == 0
        assert run("seed").returncode == 0
        exported = run("export", "--format", "json")
        assert exported.returncode == 0 and json.loads(exported.stdout)["quotes"]
        rejected = run("import", str(bad))
        assert rejected.returncode == 1
        assert "line 2, kind:" in rejected.stderr and "line 2, said_on:" in rejected.stderr
        assert "nothing was imported" in rejected.stderr
        good = _write(tmp_path, "good.json", exported.stdout)
        dry = run("import", str(good), "--dry-run")
        assert dry.returncode == 0 and "dry run" in dry.stdout
        assert "added nothing new" in run("import", str(good)).stdout
