"""End-to-end support: a real, seeded uvicorn server in a subprocess, and headless Chromium.

`seeded_server(url)` migrates and seeds the database at `url` with the project's own CLI
(`python -m app.cli db upgrade`, `python -m app.cli seed`), serves it with
`python -m app.cli serve` on a free port, waits for GET /healthz to answer 200 and yields the
base URL; it stops the server when the block ends.

`chromium()` launches the system Chromium through Playwright (Playwright's own browser download
is not used). A missing browser skips the tests locally and fails them in CI.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser

PROJECT_ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-quic",
    "--no-first-run",
    "--disable-sync",
]
CLI_TIMEOUT = 120.0
STARTUP_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0


def _env(database_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env["DATABASE_URL"] = database_url
    env["PYTHONUNBUFFERED"] = "1"
    env["_TYPER_STANDARD_TRACEBACK"] = "1"  # plain tracebacks in failure messages
    return env


def run_cli(database_url: str, *args: str, stdin: str = "") -> str:
    """Run `python -m app.cli ARGS` against `database_url` (`stdin` typed at its prompts, e.g. a
    new user's password); fail the test with its output if it fails."""
    command = [sys.executable, "-m", "app.cli", *args]
    try:
        done = subprocess.run(
            command,
            input=stdin,
            cwd=PROJECT_ROOT,
            env=_env(database_url),
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"`{' '.join(args)}` did not finish within {CLI_TIMEOUT:.0f} s: {exc}")
    if done.returncode != 0:
        pytest.fail(
            f"`{' '.join(args)}` exited with {done.returncode}\n"
            f"--- stdout ---\n{done.stdout}\n--- stderr ---\n{done.stderr}",
            pytrace=False,
        )
    return done.stdout


def migrate_and_seed(database_url: str) -> None:
    """Bring the database to the newest revision and load the seed data, as an operator would."""
    run_cli(database_url, "db", "upgrade")
    run_cli(database_url, "seed")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _healthy(base_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base_url}/healthz", timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_TIMEOUT)


@contextmanager
def serve(
    database_url: str, log_dir: Path, *, startup_timeout: float = STARTUP_TIMEOUT
) -> Iterator[str]:
    """Serve the app on a free port with `python -m app.cli serve`; yields the base URL.

    The server's output goes to files in `log_dir` (a pipe nobody reads could fill up and block
    it); a server that exits early or is not healthy in time fails the test with its stderr.
    """
    attempts = 3  # a free port can be taken between choosing it and uvicorn binding it
    for attempt in range(1, attempts + 1):
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        stdout_path = log_dir / f"server-{port}.out"
        stderr_path = log_dir / f"server-{port}.err"
        with stdout_path.open("wb") as stdout, stderr_path.open("wb") as stderr:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "app.cli",
                    "serve",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                ],
                cwd=PROJECT_ROOT,
                env=_env(database_url),
                stdout=stdout,
                stderr=stderr,
            )
        try:
            deadline = time.monotonic() + startup_timeout
            while not _healthy(base_url):
                if process.poll() is not None:
                    break
                if time.monotonic() > deadline:
                    break
                time.sleep(0.1)
            else:
                yield base_url
                return
            log = stderr_path.read_text(errors="replace")
            exited = process.poll()
            if (
                exited is not None
                and "address already in use" in log.lower()
                and attempt < attempts
            ):
                continue
            reason = (
                f"exited with {exited} before GET /healthz answered 200"
                if exited is not None
                else f"did not answer 200 on GET /healthz within {startup_timeout:.0f} s"
            )
            pytest.fail(
                f"The server at {base_url} {reason}.\n--- server stderr ---\n{log}", pytrace=False
            )
        finally:
            _stop(process)


@contextmanager
def seeded_server(database_url: str, log_dir: Path) -> Iterator[str]:
    """Migrate and seed `database_url`, then serve it; yields the base URL, stops the server after."""
    migrate_and_seed(database_url)
    with serve(database_url, log_dir) as base_url:
        yield base_url


def _unavailable(reason: str) -> NoReturn:
    if IN_CI:
        pytest.fail(f"{reason} (CI must not skip the end-to-end tests)")
    pytest.skip(reason)


@contextmanager
def chromium() -> Iterator[Browser]:
    """Headless system Chromium, driven by Playwright; skips locally (fails in CI) if missing."""
    executable = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
    resolved = shutil.which(executable)
    if resolved is None:
        _unavailable(f"Chromium not found at {executable!r} (set CHROMIUM_PATH)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=resolved, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()
