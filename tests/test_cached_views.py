"""Cached views through one helper: the same headers on a hit and a miss, caches of each app's
own, version hooks installed by create_app(), and what a reader on another worker sees after a
write (the promise in app.cached_views.cached_view's docstring)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app import migrate
from app.config import PROJECT_ROOT, get_settings
from app.db import get_session, make_engine
from app.main import create_app
from app.models import Issue, Party, Stance
from app.services import versioning
from tests import builders as b
from tests.auth_helpers import login, make_user
from tests.conftest import scratch_database

D = date(2025, 4, 1)
CACHED_VIEWS = [
    "/?as_of=2025-04-23",
    "/cells/ua/crimea-recognition?as_of=2025-04-23",
    "/changes?from=2025-01-01&to=2025-05-01",
    "/quotes?q=ceasefire",
]
HX = {"HX-Request": "true"}


@pytest.mark.parametrize("url", CACHED_VIEWS)
def test_a_hit_sends_what_the_miss_sent(client: TestClient, seeded: Session, url: str) -> None:
    for headers in ({"Accept-Encoding": "gzip"}, {"Accept-Encoding": "identity"}, HX):
        miss = client.get(url, headers=headers)
        hit = client.get(url, headers=headers)
        assert miss.status_code == hit.status_code == 200, url
        assert hit.text == miss.text
        assert hit.headers.get("vary") == miss.headers.get("vary"), (url, headers)
        assert hit.headers.get("etag") == miss.headers.get("etag")
        vary = {part.strip().lower() for part in hit.headers["vary"].split(",")}
        assert {"hx-request", "cookie"} <= vary


@pytest.mark.parametrize("url", CACHED_VIEWS)
def test_an_editors_hit_sends_what_the_miss_sent(
    client: TestClient, seeded: Session, url: str
) -> None:
    make_user(seeded, "ed@example.org")
    login(client, "ed@example.org")
    for headers in ({}, HX):
        miss = client.get(url, headers=headers)
        hit = client.get(url, headers=headers)
        assert hit.text == miss.text
        assert hit.headers["vary"] == miss.headers["vary"]
        assert hit.headers["cache-control"] == miss.headers["cache-control"]


def test_each_app_keeps_its_own_caches(app: FastAPI, session: Session) -> None:
    other = create_app()
    assert other.state.view_caches is not app.state.view_caches
    b.party(session, "own-p")
    with TestClient(app) as client:
        client.get(f"/?as_of={D}")
    assert app.state.view_caches["matrix"].misses
    assert not other.state.view_caches["matrix"].misses  # nothing shared through a module


def test_importing_the_services_installs_no_hooks_create_app_does() -> None:
    script = (
        "from sqlalchemy import event\n"
        "from sqlalchemy.orm import Session\n"
        "import app.services, app.services.positions\n"
        "from app.services import versioning as v\n"
        "assert not event.contains(Session, 'before_flush', v._before_flush), 'on import'\n"
        "from app.main import create_app\n"
        "create_app()\n"
        "assert event.contains(Session, 'before_flush', v._before_flush), 'not by create_app'\n"
    )
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr


def _worker(session_dependency: object) -> TestClient:
    """Another worker process: an app of its own (its own caches) on the same database."""
    application = create_app()
    application.dependency_overrides[get_session] = session_dependency  # type: ignore[assignment]
    return TestClient(application)


def test_a_write_shows_at_once_on_another_worker_reading_the_version(
    app: FastAPI, session: Session
) -> None:
    # The version read per request (SQLite; PostgreSQL without the listener, as in these tests).
    party, issue = b.party(session, "w-p"), b.issue(session, "w-i", title="Worker issue")
    label = "Party w-p on Worker issue: "
    with TestClient(app) as writer, _worker(app.dependency_overrides[get_session]) as reader:
        matrix, cell = f"/?as_of={D}", f"/cells/w-p/w-i?as_of={D}"
        for _ in range(2):  # the second time from the reader's cache
            assert label + "no recorded position" in reader.get(matrix).text
            assert "No position recorded up to" in reader.get(cell).text
        b.position(session, party, issue, Stance.REJECTS, D)  # committed by the next request
        assert writer.get(matrix).status_code == 200
        assert label + "Rejects" in reader.get(matrix).text
        assert "No position recorded up to" not in reader.get(cell).text


def _wait_until(condition: object, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_on_postgresql_another_workers_reader_follows_the_notify(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    listening = get_settings().model_copy(update={"listen_for_data_version": True})
    monkeypatch.setattr(versioning, "get_settings", lambda: listening)
    with scratch_database("postgresql", tmp_path) as url:
        migrate.upgrade(url=url)
        engine = make_engine(url)

        def sessions() -> Iterator[Session]:
            with Session(engine, expire_on_commit=False) as request_session:
                yield request_session
                request_session.commit()

        try:
            with Session(engine) as setup, setup.begin():
                party, issue = b.party(setup, "n-p"), b.issue(setup, "n-i", title="Notify issue")
                make_user(setup, "ed@example.org")
                party_id, issue_id = party.id, issue.id
            page = f"/?as_of={D}"
            label = "Party n-p on Notify issue: "
            with _worker(sessions) as anonymous, _worker(sessions) as editor:
                assert label + "no recorded position" in anonymous.get(page).text
                listener = versioning._listeners[engine.url.render_as_string(hide_password=False)]
                assert _wait_until(lambda: listener.live)
                login(editor, "ed@example.org")
                with Session(engine) as write, write.begin():  # a third worker's write
                    b.position(
                        write, write.get_one(Party, party_id), write.get_one(Issue, issue_id),
                        Stance.ACCEPTS, D,
                    )  # fmt: skip
                # Logged in: the version is read from the database, so at once.
                assert label + "Accepts" in editor.get(page).text
                # Anonymous: once this worker's listener has heard the NOTIFY.
                with Session(engine) as reader:
                    committed = versioning.published(reader)
                assert _wait_until(lambda: listener.version >= committed)
                assert label + "Accepts" in anonymous.get(page).text
        finally:
            listener_for_url = versioning._listeners.pop(
                engine.url.render_as_string(hide_password=False), None
            )
            if listener_for_url is not None:
                listener_for_url.stop()
            engine.dispose()


@pytest.mark.parametrize("headers", [{}, HX])
def test_an_editors_cached_edit_links_are_never_served_to_a_reader(
    app: FastAPI, seeded: Session, headers: dict[str, str]
) -> None:
    url = "/quotes?q=ceasefire"
    make_user(seeded, "ed@example.org")
    with TestClient(app) as editor, TestClient(app) as reader:
        login(editor, "ed@example.org")
        assert 'class="quote-actions"' in editor.get(url, headers=headers).text
        assert 'class="quote-actions"' not in reader.get(url, headers=headers).text
        assert 'class="quote-actions"' in editor.get(url, headers=headers).text


def test_a_cell_revalidates_like_the_matrix(client: TestClient, seeded: Session) -> None:
    url = "/cells/ua/crimea-recognition?as_of=2025-04-23"
    first = client.get(url)
    assert first.headers["cache-control"] == "private, no-cache"
    again = client.get(url, headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""


def test_view_cache_mb_sets_what_every_view_keeps(monkeypatch: pytest.MonkeyPatch) -> None:
    from app.cached_views import CELL_STATE_BYTES, VIEW_CACHE_BYTES, view_caches

    try:
        monkeypatch.setenv("VIEW_CACHE_MB", "0")
        get_settings.cache_clear()
        caches = view_caches()
        assert caches.keys() == {*VIEW_CACHE_BYTES, "matrix_cells"}
        caches["matrix"].put("day", b"rendered")
        assert caches["matrix"].get("day") is None  # nothing is kept
        # ... but the compact matrix's cell states, which are no view, keep their own budget.
        caches["matrix_cells"].put("state", b"<td>")
        assert caches["matrix_cells"].get("state") == b"<td>"
        assert caches["matrix_cells"].max_bytes == CELL_STATE_BYTES
        monkeypatch.setenv("VIEW_CACHE_MB", "160")
        get_settings.cache_clear()
        doubled = view_caches()
        assert sum(doubled[name].max_bytes for name in VIEW_CACHE_BYTES) == 160_000_000
        assert doubled["matrix_cells"].max_bytes == CELL_STATE_BYTES
        assert doubled["matrix"].max_bytes == 2 * VIEW_CACHE_BYTES["matrix"]
    finally:
        monkeypatch.delenv("VIEW_CACHE_MB")
        get_settings.cache_clear()
