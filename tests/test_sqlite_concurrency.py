"""The embedded SQLite default under concurrent writers, through a served app: every write waits
its turn and ends in success or a 409/422 (never a 5xx), and every acknowledged write is stored.

20 editors log in at once (beside 10 wrong guesses at other accounts, each of which must be
recorded, so that it counts towards the login throttle), then save
20 different quotes at once, then all save one quote from the same version (one wins, the rest
get 409), then add 20 new quotes that record positions at once. And a page view that writes
(a session's last use) while another writer holds the lock waits for it instead of failing.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx2
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.db import make_engine
from app.models import LoginAttempt, Position, Quote, Role, UserSession
from app.routes.quotes import stored_values
from app.services import quotes, users
from tests.auth_helpers import PASSWORD
from tests.e2e_support import migrate_and_seed, serve

pytestmark = pytest.mark.e2e

EDITORS = 20
WRONG_GUESSES = 10
TOKEN = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
SEED_SOURCE = "https://peacetalks.invalid/seeds/000_f42f69482efc36bc"


@dataclass
class Outcomes:
    """Statuses of concurrent requests, by what they tried."""

    statuses: dict[str, list[int]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, what: str, status: int) -> None:
        with self.lock:
            self.statuses.setdefault(what, []).append(status)

    def server_errors(self) -> dict[str, list[int]]:
        return {k: v for k, v in self.statuses.items() if any(s >= 500 for s in v)}


def at_once(count: int, work: Callable[[int, threading.Barrier], None]) -> None:
    """Run work(i, barrier) in `count` threads; each waits at the barrier before its request."""
    barrier = threading.Barrier(count, timeout=60)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            work(i, barrier)
        except BaseException as exc:  # reported below, with the thread's own traceback
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    assert not errors, errors[0]


def token_of(html: str) -> str:
    found = TOKEN.search(html)
    assert found, "no CSRF token on the page"
    return found.group(1)


@contextmanager
def embedded_app(tmp_path: Path, editors: int = EDITORS) -> Iterator[tuple[str, str]]:
    """A seeded SQLite file with editor accounts, served; yields (base URL, database URL)."""
    url = f"sqlite:///{tmp_path / 'embedded.db'}"
    migrate_and_seed(url)
    engine = make_engine(url)
    try:
        with Session(engine) as session, session.begin():
            for i in range(editors):
                users.create_user(
                    session, actor=None, email=f"editor{i}@example.org",
                    display_name=f"Editor {i}", role=Role.EDITOR, password=PASSWORD,
                )  # fmt: skip
    finally:
        engine.dispose()
    with serve(url, tmp_path) as base:
        yield base, url


def test_concurrent_editors_and_logins_on_sqlite_never_fail_and_lose_nothing(
    tmp_path: Path,
) -> None:
    outcomes = Outcomes()
    with embedded_app(tmp_path) as (base, url):
        engine = make_engine(url)
        with Session(engine) as session:
            seed_quotes = session.scalars(select(Quote).order_by(Quote.id).limit(EDITORS)).all()
            # The form asks for at least one issue tag, which some seed quotes lack.
            forms = [
                {"issue_1": "ceasefire", "stance_1": "ambiguous"}
                | stored_values(quotes.get_quote(session, quote_id=q.id))
                for q in seed_quotes
            ]
            wrong_before = session.scalar(select(func.count()).select_from(LoginAttempt)) or 0
        clients = [httpx2.Client(base_url=base, timeout=120) for _ in range(EDITORS)]
        guessers = [httpx2.Client(base_url=base, timeout=120) for _ in range(WRONG_GUESSES)]
        try:
            # 1. Logins at once: every right password gets in, every wrong guess is recorded.
            def log_in(i: int, barrier: threading.Barrier) -> None:
                if i < EDITORS:
                    client, email, password = clients[i], f"editor{i}@example.org", PASSWORD
                else:
                    client = guessers[i - EDITORS]
                    email, password = f"nobody{i - EDITORS}@example.org", "wrong guess 123"
                token = token_of(client.get("/login").text)
                barrier.wait()
                response = client.post(
                    "/login", data={"email": email, "password": password, "csrf_token": token}
                )
                outcomes.add("login" if i < EDITORS else "wrong guess", response.status_code)

            at_once(EDITORS + WRONG_GUESSES, log_in)
            assert outcomes.statuses["login"] == [303] * EDITORS, outcomes.statuses
            assert outcomes.statuses["wrong guess"] == [401] * WRONG_GUESSES, outcomes.statuses
            tokens = [token_of(client.get("/").text) for client in clients]

            # 2. Twenty editors save twenty different quotes at the same moment.
            def save_own(i: int, barrier: threading.Barrier) -> None:
                form = {
                    **forms[i],
                    "text": f"Edited at once by editor {i}.",
                    "csrf_token": tokens[i],
                }
                barrier.wait()
                response = clients[i].post(f"/quotes/{seed_quotes[i].id}/edit", data=form)
                outcomes.add("own quote", response.status_code)

            at_once(EDITORS, save_own)
            assert outcomes.statuses["own quote"] == [303] * EDITORS, outcomes.statuses

            # 3. All of them save one quote from the same version: one wins, the rest get 409.
            with Session(engine) as session:
                shared = stored_values(quotes.get_quote(session, quote_id=seed_quotes[0].id))

            def save_shared(i: int, barrier: threading.Barrier) -> None:
                form = {
                    **shared,
                    "text": f"The shared quote, by editor {i}.",
                    "csrf_token": tokens[i],
                }
                barrier.wait()
                response = clients[i].post(f"/quotes/{seed_quotes[0].id}/edit", data=form)
                outcomes.add("shared quote", response.status_code)
                if response.status_code == 303:
                    outcomes.add(f"shared winner {i}", 303)

            at_once(EDITORS, save_shared)
            assert sorted(outcomes.statuses["shared quote"]) == [303] + [409] * (EDITORS - 1), (
                outcomes.statuses
            )

            # 4. Twenty new quotes, each recording a position, at the same moment.
            def add_new(i: int, barrier: threading.Barrier) -> None:
                form = {
                    "csrf_token": tokens[i], "text": f"New statement {i}, saved at once.",
                    "kind": "direct", "status": "confirmed", "said_on": f"2025-05-{i + 1:02d}",
                    "party": "ua", "language": "en", "source_url": SEED_SOURCE,
                    "issue_1": "ceasefire", "stance_1": "accepts", "also_record_position": "on",
                    "rationale": f"Concurrency test {i}.",
                }  # fmt: skip
                barrier.wait()
                response = clients[i].post("/quotes/new", data=form)
                outcomes.add("new quote", response.status_code)

            at_once(EDITORS, add_new)
            assert outcomes.statuses["new quote"] == [303] * EDITORS, outcomes.statuses
        finally:
            for client in (*clients, *guessers):
                client.close()
        assert outcomes.server_errors() == {}

        with Session(engine) as session:
            stored = set(session.scalars(select(Quote.text)))
            for i in range(1, EDITORS):
                assert f"Edited at once by editor {i}." in stored
            winner = next(k for k in outcomes.statuses if k.startswith("shared winner "))
            assert f"The shared quote, by editor {winner.rsplit(' ', 1)[1]}." in stored
            for i in range(EDITORS):
                assert f"New statement {i}, saved at once." in stored
            rationales = set(session.scalars(select(Position.rationale)))
            assert {f"Concurrency test {i}." for i in range(EDITORS)} <= rationales
            recorded = session.scalar(select(func.count()).select_from(LoginAttempt)) or 0
            assert recorded - wrong_before == WRONG_GUESSES
        engine.dispose()


def test_a_page_view_that_writes_waits_for_the_write_lock_instead_of_failing(
    tmp_path: Path,
) -> None:
    # A logged-in page view notes the session's last use (at most once a minute): a write
    # after reads, which SQLite refuses at once while another writer holds the lock.
    with embedded_app(tmp_path, editors=1) as (base, url), httpx2.Client(base_url=base) as client:
        token = token_of(client.get("/login").text)
        response = client.post(
            "/login",
            data={"email": "editor0@example.org", "password": PASSWORD, "csrf_token": token},
        )
        assert response.status_code == 303
        engine = make_engine(url)
        long_ago = datetime.now(UTC) - timedelta(minutes=5)
        with Session(engine) as session, session.begin():
            session.execute(update(UserSession).values(last_seen_at=long_ago))
        holding, release = threading.Event(), threading.Event()

        def hold_the_write_lock() -> None:
            other = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
            try:
                other.execute("BEGIN IMMEDIATE")
                holding.set()
                release.wait(10)
                other.execute("COMMIT")
            finally:
                other.close()

        holder = threading.Thread(target=hold_the_write_lock)
        holder.start()
        try:
            assert holding.wait(10)
            threading.Timer(1.0, release.set).start()
            page = client.get("/?as_of=2025-04-23")
        finally:
            release.set()
            holder.join()
        assert page.status_code == 200, page.text[:300]
        with Session(engine) as session:
            seen = session.scalars(select(UserSession.last_seen_at)).all()
        engine.dispose()
        assert [users.as_utc(at) > long_ago for at in seen] == [True]
