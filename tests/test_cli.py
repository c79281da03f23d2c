"""The `peacetalks` command, run as a user runs it: a separate process reading DATABASE_URL."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db import make_engine
from app.models import Position, Quote
from tests.conftest import scratch_database


def _run(url: str, *args: str) -> str:
    env = {**os.environ, "DATABASE_URL": url}
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_cli_upgrade_and_seed_are_idempotent(backend: str, tmp_path: Path) -> None:
    with scratch_database(backend, tmp_path) as url:
        assert "newest revision" in _run(url, "db", "upgrade")
        first = _run(url, "seed")
        assert "quotes" in first and "positions" in first
        assert "nothing new" in _run(url, "seed")
        assert "skipped" in _run(url, "seed", "--if-empty")
        _run(url, "db", "upgrade")
        engine = make_engine(url)
        try:
            with Session(engine) as session:
                assert (session.scalar(select(func.count()).select_from(Quote)) or 0) > 15
                assert (session.scalar(select(func.count()).select_from(Position)) or 0) > 5
        finally:
            engine.dispose()


def test_cli_help_lists_the_commands() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "--help"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0
    for command in ("serve", "db", "seed"):
        assert command in result.stdout


def test_cli_import_of_a_hostile_file_says_where_in_one_line_never_a_traceback(
    backend: str, tmp_path: Path
) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text('{"quotes": ' + "[" * 100_000 + "]" * 100_000 + "}", "utf-8")
    date = tmp_path / "date.yaml"
    date.write_text(
        "quotes:\n  - {text: Peace., kind: direct, said_on: 2025-02-30, party: ua,"
        " source: 'https://example.org/x', status: confirmed}\n",
        "utf-8",
    )
    with scratch_database(backend, tmp_path) as url:
        _run(url, "db", "upgrade")
        _run(url, "seed")
        env = {**os.environ, "DATABASE_URL": url}
        for file, expected in (
            (deep, "file: nested too deeply to be an import file"),
            (date, "quotes row 1, said_on: '2025-02-30' is not a real date"),
        ):
            result = subprocess.run(
                [sys.executable, "-m", "app.cli", "import", str(file)],
                env=env, capture_output=True, text=True, timeout=120,
            )  # fmt: skip
            assert result.returncode == 1, result.stderr
            assert "Traceback" not in result.stderr
            assert expected in result.stderr
            assert "1 error(s); nothing was imported." in result.stderr
