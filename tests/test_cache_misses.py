"""When the cache misses: caches bounded in bytes, one render per view however many ask at once,
and a web request's bounded wait on the database (pool, statement and lock timeouts)."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from app import db, migrate
from app.cached_views import ENTRY_OVERHEAD, RenderCache, Slot, once
from app.config import PROJECT_ROOT, get_settings
from app.main import create_app
from app.services import seed
from tests.conftest import scratch_database
from tests.e2e_support import serve


def test_a_cache_drops_the_least_recently_used_past_its_byte_bound() -> None:
    cache = RenderCache(max_bytes=3 * (1000 + ENTRY_OVERHEAD))
    for n in range(3):
        cache.put(n, b"x" * 1000)
    assert cache.get(0) is not None  # 0 is now the most recently used
    cache.put(3, b"y" * 1000)
    assert cache.get(1) is None
    assert [cache.get(k) is not None for k in (0, 2, 3)] == [True, True, True]
    assert cache.bytes <= cache.max_bytes
    cache.put(4, b"z" * cache.max_bytes)  # larger than the whole cache: not kept
    assert cache.get(4) is None and cache.bytes <= cache.max_bytes


def _get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=60) as response:
        return response.status, response.read()


def test_concurrent_misses_render_a_view_once(tmp_path: Path) -> None:
    with scratch_database("sqlite", tmp_path) as url:
        migrate.upgrade(url=url)
        engine = db.make_engine(url)
        with db.Session(engine) as session, session.begin():
            seed.load_seeds(session, PROJECT_ROOT / "seeds")
        engine.dispose()
        with serve(url, tmp_path) as base:
            pages = [f"{base}/?as_of=2025-04-0{n}" for n in (2, 3)]
            with ThreadPoolExecutor(max_workers=24) as pool:
                answers = list(pool.map(_get, [pages[n % 2] for n in range(24)]))
            assert {status for status, _ in answers} == {200}
            assert len({body for _, body in answers}) == 2
            _, body = _get(f"{base}/healthz")
            matrix = json.loads(body)["worker"]["caches"]["matrix"]
            # Once per page: the whole page, its fragment rendered into it and not kept apart.
            assert (matrix["renders"], matrix["entries"]) == (2, 2), matrix
            assert 0 < matrix["bytes"] <= matrix["max_bytes"]


@pytest.fixture
def small_pool(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    """A PostgreSQL database served with one pooled connection and short waits."""
    with scratch_database("postgresql", tmp_path) as url:
        migrate.upgrade(url=url)
        for name, value in {
            "DATABASE_URL": url,
            "DB_POOL_SIZE": "1",
            "DB_POOL_OVERFLOW": "0",
            "DB_POOL_TIMEOUT_S": "0.3",
            "DB_LOCK_TIMEOUT_MS": "300",
            "DB_STATEMENT_TIMEOUT_MS": "1500",
        }.items():
            monkeypatch.setenv(name, value)
        caches = (get_settings, db.get_web_engine, db.get_web_reading_engine)
        for cached in caches:
            cached.cache_clear()
        try:
            yield url
        finally:
            db.get_web_engine().dispose()
            for cached in caches:
                cached.cache_clear()


def test_an_exhausted_pool_answers_503_with_retry_after_at_once(small_pool: str) -> None:
    with TestClient(create_app()) as client, db.get_web_engine().connect() as held:
        held.execute(text("SELECT 1"))  # the pool's only connection, taken
        started = time.monotonic()
        response = client.get("/api/v1/quotes")
        assert time.monotonic() - started < 5
        assert response.status_code == 503
        assert response.headers["retry-after"] == "5"
        health = client.get("/healthz")
        assert health.status_code == 200
        assert health.json()["status"] == "busy"
        assert (
            health.json()["pool"] | {"in_use": 1, "limit": 1, "exhausted": True}
            == health.json()["pool"]
        )
    with TestClient(create_app()) as client:
        assert client.get("/api/v1/quotes").status_code == 200
        assert client.get("/healthz").json()["pool"]["exhausted"] is False


def test_a_web_request_waits_for_a_lock_only_so_long(small_pool: str) -> None:
    locker = db.make_engine(small_pool)
    with TestClient(create_app()) as client, locker.connect() as conn:
        conn.execute(text("LOCK TABLE quotes IN ACCESS EXCLUSIVE MODE"))
        started = time.monotonic()
        response = client.get("/api/v1/quotes")
        assert time.monotonic() - started < 5
        assert response.status_code == 503
        assert "retry-after" in response.headers
        conn.rollback()
    locker.dispose()
    with db.get_web_engine().connect() as conn:
        assert conn.execute(text("SHOW statement_timeout")).scalar_one() == "1500ms"
        assert conn.execute(text("SHOW max_parallel_workers_per_gather")).scalar_one() == "0"
        assert conn.execute(text("SHOW jit")).scalar_one() == "off"
        with pytest.raises(Exception) as cancelled:
            conn.execute(text("SELECT pg_sleep(3)"))
        assert db.database_timed_out(cancelled.value)


def test_requests_during_a_render_get_the_previous_version_once_there_is_one() -> None:
    cache = RenderCache(max_bytes=100_000)
    made: list[int] = []

    async def scenario() -> list[bytes]:
        release = asyncio.Event()

        def make(version: int) -> Callable[[], Awaitable[bytes]]:
            async def render() -> bytes:
                made.append(version)
                if version == 2:
                    await release.wait()
                return f"v{version}".encode()

            return render

        def ask(version: int) -> Awaitable[bytes]:
            return once(cache, ("matrix", version, "p"), make(version), slot=Slot("p", version))

        first = await ask(1)
        # Version 2: the first request renders it; the others arrive while it renders.
        renderer = asyncio.ensure_future(ask(2))
        await asyncio.sleep(0)
        during = [await ask(2) for _ in range(5)]
        # Without a slot (a logged-in user) a request waits for the render under way.
        waiting = asyncio.ensure_future(once(cache, ("matrix", 2, "p"), make(2)))
        await asyncio.sleep(0)
        assert not waiting.done()
        release.set()
        return [first, *during, await renderer, await waiting, await ask(2)]

    answers = asyncio.run(scenario())
    assert answers == [b"v1", *[b"v1"] * 5, b"v2", b"v2", b"v2"]
    assert made == [1, 2]  # version 2 rendered once
    assert cache.previous_served == 5


def test_a_view_never_serves_a_newer_or_missing_version_as_previous() -> None:
    cache = RenderCache(max_bytes=3 * (10 + ENTRY_OVERHEAD))
    cache.put(("v", 5), b"5" * 10, slot=Slot("s", 5))
    assert cache.previous(Slot("s", 5)) is None  # the same version is no previous one
    assert cache.previous(Slot("s", 4)) is None  # nor is a newer one
    assert cache.previous(Slot("s", 6)) == b"5" * 10
    assert cache.previous(Slot("other", 6)) is None
    for n in range(3):  # push the entry out of the cache
        cache.put(("x", n), b"x" * 10)
    assert cache.previous(Slot("s", 6)) is None
