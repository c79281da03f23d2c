"""The `peacetalks` command, run as a user runs it: a separate process reading DATABASE_URL."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from app.cli import counted, database_label
from app.config import get_settings
from app.db import make_engine
from app.models import Position, PositionRun, Quote
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
        created = _run(url, "db", "upgrade")
        assert created.startswith("Created ") and "newest revision" in created
        first = _run(url, "seed")
        assert "quotes" in first and "positions" in first
        assert "1 source," in first  # counted properly, not "1 sources"
        assert "nothing new: the database already holds the seed data" in _run(url, "seed")
        assert "skipped" in _run(url, "seed", "--if-empty")
        assert "is at the newest revision" in _run(url, "db", "upgrade")
        engine = make_engine(url)
        try:
            with Session(engine) as session:
                assert (session.scalar(select(func.count()).select_from(Quote)) or 0) > 15
                positions = session.scalar(select(func.count()).select_from(Position)) or 0
                assert positions > 5
                # The seed's stored runs were written as it was loaded; SQL of one's own needs
                # the refresh command.
                assert session.scalar(select(func.count()).select_from(PositionRun)) == positions
                session.execute(delete(PositionRun))
                session.commit()
            refreshed = _run(url, "db", "refresh-runs").strip()
            assert refreshed == f"Stored runs: {positions} positions recomputed."
            with Session(engine) as session:
                assert session.scalar(select(func.count()).select_from(PositionRun)) == positions
        finally:
            engine.dispose()


def _help(*command: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", *command, "--help"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_cli_help_lists_the_commands() -> None:
    listing = _help()
    for command in ("serve", "db", "seed"):
        assert command in listing


def test_cli_help_shows_flags_as_flags() -> None:
    import_help = _help("import")
    assert re.search(r"^  --dry-run +Check the file; write nothing\.$", import_help, re.MULTILINE)
    assert "<bool>" not in import_help + _help("seed") + _help("db", "upgrade")
    assert re.search(r"^  --if-empty +Only load", _help("seed"), re.MULTILINE)


def test_a_fresh_database_is_created_and_seeded_in_one_step_and_then_left_alone(
    backend: str, tmp_path: Path
) -> None:
    with scratch_database(backend, tmp_path) as url:
        first = _run(url, "db", "upgrade", "--seed-if-empty")
        label = database_label(url)
        assert first.startswith(f"Created and seeded {label}: ") and "1 source," in first
        assert "23 quotes" in first
        again = _run(url, "db", "upgrade", "--seed-if-empty")
        assert again == f"Nothing to do: {label} is at the newest revision.\n"


def test_counts_name_one_thing_in_the_singular() -> None:
    assert counted(1, "speakers") == "1 speaker"
    assert counted(1, "parties") == "1 party"
    assert counted(2, "parties") == "2 parties"
    assert counted(0, "quotes") == "0 quotes"
    assert counted(6000, "quotes") == "6,000 quotes"
    assert counted(1, "errors") == "1 error"


def test_a_database_is_named_by_its_file_or_its_server_never_its_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert database_label(f"sqlite:///{tmp_path / 'var' / 'x.db'}") == "var/x.db"
    assert database_label("sqlite:////srv/data/x.db") == "/srv/data/x.db"
    label = database_label("postgresql+psycopg://peace:s3cret@db.example:5433/peacetalks")
    assert label == "the postgresql database peacetalks on db.example:5433"


def test_serve_says_where_it_listens_and_a_port_in_use_says_how_to_pick_another(
    tmp_path: Path,
) -> None:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'served.db'}"}
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "app.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert result.returncode == 1
    assert result.stdout == ""  # no JSON line, no traceback
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"Cannot serve on http://127.0.0.1:{port}: address already in use")
    assert f"PORT={port + 1}" in line and f"--port {port + 1}" in line


def test_serve_prints_one_human_line_before_the_json_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    from app import cli

    started: list[str] = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: started.append("uvicorn"))
    monkeypatch.setattr(cli, "prepare_embedded", lambda: None)
    monkeypatch.setattr(get_settings(), "database_url", f"sqlite:///{tmp_path / 'x.db'}")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = CliRunner().invoke(cli.cli, ["serve", "--host", "127.0.0.1", "--port", str(port)])
    assert result.exit_code == 0, result.output
    assert started == ["uvicorn"]
    assert result.stderr == (
        f"Serving http://127.0.0.1:{port} with {database_label(f'sqlite:///{tmp_path}/x.db')}; "
        "Ctrl+C stops it.\n"
    )


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
            assert "1 error; nothing was imported." in result.stderr


def test_the_app_imports_nothing_that_only_make_test_installs() -> None:
    # `make run` installs the project's dependencies alone; the `dev` extra comes with `make test`.
    import ast
    import tomllib

    from app.config import PROJECT_ROOT

    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    dev_only = {
        re.split(r"[\[<>=!~ ]", requirement)[0].lower().replace("-", "_")
        for requirement in project["optional-dependencies"]["dev"]
    } | {"httpx", "_pytest"}  # httpx2 installs the module httpx; pytest's internals
    assert {"pytest", "playwright", "mypy", "ruff", "hypothesis"} <= dev_only
    for path in sorted((PROJECT_ROOT / "app").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom) and node.level == 0
                else []
            )
            for name in names:
                assert name.split(".")[0].lower() not in dev_only, f"{path} imports {name}"
