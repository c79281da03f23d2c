"""Requests take turns (app.middleware.TakeTurns): at most `slots` at once per worker, the rest
served first come first served, a bounded wait answered 503 with Retry-After, a turn ending
when the response starts, and static files and /healthz never waiting.

The middleware is driven with real ASGI calls; the app behind it is a small ASGI app whose
requests finish when the test says so, so the order of turns can be watched exactly. The last
test runs the real app with its settings.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from starlette.types import Message, Receive, Scope, Send

from app.config import get_settings
from app.db import get_session
from app.main import create_app
from app.middleware import RequestRejected, TakeTurns, Turns
from tests.conftest import joined_requests


class Held:
    """An ASGI app whose requests wait for `release(path)`; `started` lists them in order."""

    def __init__(self, *, start_first: bool = False) -> None:
        self.started: list[str] = []
        self.gates: dict[str, asyncio.Event] = {}
        self.start_first = start_first

    def gate(self, path: str) -> asyncio.Event:
        return self.gates.setdefault(path, asyncio.Event())

    def release(self, path: str) -> None:
        self.gate(path).set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.started.append(scope["path"])
        if self.start_first:
            await send({"type": "http.response.start", "status": 200, "headers": []})
        await self.gate(scope["path"]).wait()
        if not self.start_first:
            await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"done"})


async def call(app: Any, path: str) -> list[Message]:
    """One GET through `app`; the messages it sent."""
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": path, "headers": [], "query_string": b""}
    await app(scope, receive, send)
    return sent


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def test_requests_beyond_the_slots_are_served_in_the_order_they_came() -> None:
    async def scenario() -> None:
        inner = Held()
        turns = TakeTurns(inner, turns=Turns(slots=2, wait_seconds=5))
        tasks = []
        for path in ("/a", "/b", "/c", "/d", "/e"):
            tasks.append(asyncio.create_task(call(turns, path)))
            await settle()
        assert inner.started == ["/a", "/b"]  # two slots; /c, /d, /e wait
        assert turns.turns.state() == {"slots": 2, "working": 2, "waiting": 3}
        inner.release("/b")
        await settle()
        assert inner.started == ["/a", "/b", "/c"]
        inner.release("/a")
        await settle()
        assert inner.started == ["/a", "/b", "/c", "/d"]  # the next in line, not any waiter
        for path in ("/c", "/d", "/e"):
            inner.release(path)
        results = await asyncio.gather(*tasks)
        assert inner.started == ["/a", "/b", "/c", "/d", "/e"]
        assert all(sent[0]["status"] == 200 for sent in results)
        assert turns.turns.state() == {"slots": 2, "working": 0, "waiting": 0}  # all given back

    asyncio.run(scenario())


def test_a_wait_past_the_bound_answers_503_with_retry_after() -> None:
    async def scenario() -> None:
        inner = Held()
        turns = TakeTurns(inner, turns=Turns(slots=1, wait_seconds=0.05), retry_after=7)
        first = asyncio.create_task(call(turns, "/"))
        await settle()
        page, api = await asyncio.gather(call(turns, "/matrix"), call(turns, "/api/v1/quotes"))
        for sent in (page, api):
            assert sent[0]["status"] == 503
            assert (b"retry-after", b"7") in sent[0]["headers"]
        assert json.loads(api[1]["body"]) == {
            "error": "Busy",
            "detail": "The server is busy; please try again in a few seconds.",
        }
        assert (b"content-type", b"text/html; charset=utf-8") in page[0]["headers"]
        assert b"<h1>503 \xc2\xb7 Busy</h1>" in page[1]["body"] and b"busy" in page[1]["body"]
        assert inner.started == ["/"]  # the refused requests never reached the app
        inner.release("/")
        assert (await first)[0]["status"] == 200
        assert turns.turns.state() == {"slots": 1, "working": 0, "waiting": 0}
        inner.release("/after")
        await call(turns, "/after")  # the slot is free again: no wait
        assert inner.started == ["/", "/after"]

    asyncio.run(scenario())


def test_a_turn_ends_when_the_response_starts() -> None:
    async def scenario() -> None:
        inner = Held(start_first=True)  # starts its response, then holds its body back
        turns = TakeTurns(inner, turns=Turns(slots=1, wait_seconds=5))
        slow = asyncio.create_task(call(turns, "/slow-body"))
        await settle()
        other = asyncio.create_task(call(turns, "/next"))
        await settle()
        assert inner.started == ["/slow-body", "/next"]  # a slow reader does not keep the slot
        inner.release("/slow-body")
        inner.release("/next")
        await asyncio.gather(slow, other)
        assert turns.turns.state()["working"] == 0

    asyncio.run(scenario())


def test_a_turn_starts_once_the_body_has_arrived_and_the_app_reads_it_unchanged() -> None:
    async def scenario() -> None:
        bodies: dict[str, bytes] = {}
        order: list[str] = []

        async def reader(scope: Scope, receive: Receive, send: Send) -> None:
            order.append(scope["path"])
            body = b""
            while True:
                message = await receive()
                body += message.get("body", b"")
                if not message.get("more_body", False):
                    break
            bodies[scope["path"]] = body
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b""})

        turns = TakeTurns(reader, turns=Turns(slots=1, wait_seconds=5))
        rest = asyncio.Event()
        chunks = [
            {"type": "http.request", "body": b"title=slow&", "more_body": True},
            {"type": "http.request", "body": b"text=sender", "more_body": False},
        ]

        async def slow_receive() -> Message:
            if len(chunks) == 1:
                await rest.wait()  # the second half of the form is a long time coming
            return chunks.pop(0)

        async def slow_sender() -> None:
            scope = {"type": "http", "method": "POST", "path": "/slow", "headers": []}
            sent: list[Message] = []

            async def send(message: Message) -> None:
                sent.append(message)

            await turns(scope, slow_receive, send)

        posting = asyncio.create_task(slow_sender())
        await settle()
        assert (await call(turns, "/quick"))[0]["status"] == 200  # not stuck behind /slow
        assert order == ["/quick"] and turns.turns.state()["working"] == 0
        rest.set()
        await posting
        assert order == ["/quick", "/slow"]
        assert bodies["/slow"] == b"title=slow&text=sender"

    asyncio.run(scenario())


def test_a_body_refused_as_it_arrives_is_refused_where_the_app_reads_it() -> None:
    async def scenario() -> None:
        seen: list[Any] = []

        async def reader(scope: Scope, receive: Receive, send: Send) -> None:
            seen.append(await receive())
            try:
                await receive()
            except RequestRejected as exc:
                seen.append(exc.status_code)
                raise

        arriving = [{"type": "http.request", "body": b"a=1&", "more_body": True}]

        async def too_much() -> Message:
            if arriving:
                return arriving.pop(0)
            raise RequestRejected(413, "too large")  # as RequestLimitMiddleware's receive does

        turns = TakeTurns(reader, turns=Turns(slots=1, wait_seconds=5))
        scope = {"type": "http", "method": "POST", "path": "/form", "headers": []}

        async def send(message: Message) -> None:
            raise AssertionError("nothing is sent: the refusal is raised")

        with pytest.raises(RequestRejected):
            await turns(scope, too_much, send)
        assert seen == [{"type": "http.request", "body": b"a=1&", "more_body": True}, 413]
        assert turns.turns.state()["working"] == 0

    asyncio.run(scenario())


def test_a_waiter_that_goes_away_gives_no_slot_away() -> None:
    async def scenario() -> None:
        inner = Held()
        turns = TakeTurns(inner, turns=Turns(slots=1, wait_seconds=5))
        first = asyncio.create_task(call(turns, "/first"))
        await settle()
        gone = asyncio.create_task(call(turns, "/gone"))
        await settle()
        gone.cancel()  # the client went away while waiting
        await settle()
        last = asyncio.create_task(call(turns, "/last"))
        await settle()
        inner.release("/first")
        await settle()
        assert inner.started == ["/first", "/last"]
        inner.release("/last")
        await asyncio.gather(first, last)
        with pytest.raises(asyncio.CancelledError):
            await gone
        assert turns.turns.state() == {"slots": 1, "working": 0, "waiting": 0}

    asyncio.run(scenario())


def test_static_files_and_the_health_check_never_wait() -> None:
    async def scenario() -> None:
        inner = Held()
        turns = TakeTurns(inner, turns=Turns(slots=1, wait_seconds=5))
        first = asyncio.create_task(call(turns, "/"))
        await settle()
        for path in ("/healthz", "/static/css/app.css"):
            inner.release(path)
            assert (await call(turns, path))[0]["status"] == 200
        inner.release("/")
        await first

    asyncio.run(scenario())


def test_no_slots_means_no_queue() -> None:
    async def scenario() -> None:
        inner = Held()
        turns = TakeTurns(inner, turns=Turns(slots=0, wait_seconds=0.01))
        tasks = [asyncio.create_task(call(turns, f"/{n}")) for n in range(6)]
        await settle()
        assert len(inner.started) == 6
        for n in range(6):
            inner.release(f"/{n}")
        await asyncio.gather(*tasks)

    asyncio.run(scenario())


def test_the_app_takes_its_slots_from_the_settings(
    monkeypatch: pytest.MonkeyPatch, seeded: Session
) -> None:
    """The real app with REQUEST_SLOTS=1 and REQUEST_WAIT_S=2.5: its queue has one slot and
    that wait, and pages and the health check answer through it."""
    monkeypatch.setenv("REQUEST_SLOTS", "1")
    monkeypatch.setenv("REQUEST_WAIT_S", "2.5")
    get_settings.cache_clear()
    try:
        app = create_app()
        app.dependency_overrides[get_session] = joined_requests(seeded)
        assert [m.kwargs for m in app.user_middleware if m.cls is TakeTurns] == [
            {"turns": app.state.turns}
        ]
        assert (app.state.turns.slots, app.state.turns.wait_seconds) == (1, 2.5)
        with TestClient(app) as client:
            health = client.get("/healthz")
            assert health.status_code == 200
            assert health.json()["worker"]["turns"] == {"slots": 1, "working": 0, "waiting": 0}
            assert client.get("/").status_code == 200
            assert client.get("/api/v1/parties").status_code == 200
    finally:
        get_settings.cache_clear()
