"""Login throttling against a real server (`peacetalks serve` in a subprocess): parallel guesses
are counted one by one, and forwarded headers name the client only from a trusted proxy."""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx2
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import make_engine
from app.models import LoginAttempt
from tests.auth_helpers import PASSWORD, make_user
from tests.conftest import scratch_database
from tests.e2e_support import run_cli, serve

GUESSES = 30
WRONG = "wrong password!"


@contextmanager
def _server(url: str, log_dir: Path, *emails: str) -> Iterator[str]:
    """Migrate the database at `url`, add the users, serve it; yields the base URL."""
    run_cli(url, "db", "upgrade")
    engine = make_engine(url)
    try:
        with Session(engine) as session, session.begin():
            for email in emails:
                make_user(session, email)
    finally:
        engine.dispose()
    with serve(url, log_dir) as base_url:
        yield base_url


def _attempts(url: str) -> list[tuple[str, str]]:
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            rows = session.execute(select(LoginAttempt.email, LoginAttempt.client)).all()
            return [(email, client) for email, client in rows]
    finally:
        engine.dispose()


def _login_form(base_url: str) -> tuple[dict[str, str], str]:
    """The anonymous CSRF cookie and the token the login form carries."""
    with httpx2.Client(base_url=base_url) as client:
        page = client.get("/login")
        match = re.search(r'<meta name="csrf-token" content="([^"]+)"', page.text)
        assert match, page.text
        return dict(client.cookies), match.group(1)


def _post_login(
    base_url: str, email: str, password: str, headers: dict[str, str] | None = None
) -> int:
    cookies, token = _login_form(base_url)
    with httpx2.Client(base_url=base_url, cookies=cookies, timeout=60) as client:
        response = client.post(
            "/login",
            data={"email": email, "password": password, "csrf_token": token},
            headers=headers,
        )
        return response.status_code


def test_parallel_guesses_are_counted_one_by_one(
    backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Thirty logins at once on a loaded machine may wait longer for a connection than the web
    # pool's bound (then 503, tested in test_cache_misses); here only the counting is at stake.
    monkeypatch.setenv("DB_POOL_TIMEOUT_S", "60")
    with scratch_database(backend, tmp_path) as url:
        with _server(url, tmp_path, "ed@example.org") as base_url:
            cookies, token = _login_form(base_url)
            start = threading.Barrier(GUESSES)

            def guess(_: int) -> int:
                with httpx2.Client(base_url=base_url, cookies=cookies, timeout=60) as client:
                    start.wait()
                    response = client.post(
                        "/login",
                        data={"email": "ed@example.org", "password": WRONG, "csrf_token": token},
                    )
                    return response.status_code

            with ThreadPoolExecutor(max_workers=GUESSES) as pool:
                statuses = Counter(pool.map(guess, range(GUESSES)))
            # Exactly the free guesses were checked; every other one had to wait.
            assert statuses == {401: 5, 429: GUESSES - 5}, statuses
            assert len(_attempts(url)) == 5
            # From this address even the right password now waits: guessing gains nothing.
            assert _post_login(base_url, "ed@example.org", PASSWORD) == 429


@pytest.mark.parametrize("trusted", [False, True], ids=["no-proxy", "trusted-proxy"])
def test_forwarded_for_names_the_client_only_from_a_trusted_proxy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, trusted: bool
) -> None:
    monkeypatch.setenv("LOGIN_FAILURES_PER_CLIENT", "3")
    if trusted:
        monkeypatch.setenv("TRUSTED_PROXIES", "127.0.0.1")
    else:
        monkeypatch.delenv("TRUSTED_PROXIES", raising=False)
    url = f"sqlite:///{tmp_path / 'served.db'}"
    with _server(url, tmp_path, "ed@example.org") as base_url:
        statuses = [
            _post_login(
                base_url, f"guess{n}@example.org", WRONG, {"X-Forwarded-For": f"192.0.2.{n}"}
            )
            for n in range(4)
        ]
        owner = _post_login(
            base_url, "ed@example.org", PASSWORD, {"X-Forwarded-For": "198.51.100.20"}
        )
    clients = {client for _, client in _attempts(url)}
    if trusted:  # four clients, one guess each: nobody is over the limit
        assert statuses == [401, 401, 401, 401]
        assert clients == {f"192.0.2.{n}" for n in range(4)}
        assert owner == 303
    else:  # one client, 127.0.0.1, whatever the header says: the fourth guess waits
        assert statuses == [401, 401, 401, 429]
        assert clients == {"127.0.0.1"}
        assert owner == 429
