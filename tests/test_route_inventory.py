"""Inventory over every route: a new route cannot forget CSRF, the login guard or the admin guard."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.main import create_app
from app.models import Role
from app.security import require_admin, require_editor
from tests.auth_helpers import login, make_user
from tests.conftest import csrf_token

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
OPEN_TO_ANONYMOUS = {"/login", "/logout"}


def _calls(dependant: Dependant) -> Iterator[object]:
    for sub in dependant.dependencies:
        yield sub.call
        yield from _calls(sub)


def _flatten(routes: list[object]) -> Iterator[APIRoute]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        # FastAPI wraps each included router; walk into it (we include routers without a prefix).
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from _flatten(list(inner.routes))


def _routes() -> list[APIRoute]:
    return list(_flatten(list(create_app().routes)))


def _needs(route: APIRoute, guard: object) -> bool:
    return any(call is guard for call in _calls(route.dependant))


def _url(route: APIRoute) -> str:
    return re.sub(r"\{[^}]+\}", "1", route.path)


def _unsafe_routes() -> list[tuple[str, str]]:
    return sorted({(m, _url(r)) for r in _routes() for m in r.methods & UNSAFE})


def _editor_routes() -> list[tuple[str, str, bool]]:
    return sorted(
        {
            (m, _url(r), _needs(r, require_admin))
            for r in _routes()
            if _needs(r, require_editor)
            for m in r.methods
        }
    )


def test_inventory_finds_the_routes() -> None:
    assert ("POST", "/login") in _unsafe_routes()
    assert ("POST", "/logout") in _unsafe_routes()
    editor = _editor_routes()
    assert ("POST", "/quotes/new", False) in editor
    assert ("POST", "/manage/parties/new", True) in editor
    assert len(editor) > 30


def test_get_routes_change_nothing(admin_client: TestClient, seeded: Session) -> None:
    """No state changes on GET: every GET route, as an admin, leaves every evidence table as it was."""
    from sqlalchemy import func, select

    from app.db import Base

    tables = [
        t for t in Base.metadata.sorted_tables if t.name not in {"user_sessions", "login_attempts"}
    ]

    def counts() -> dict[str, int]:
        return {t.name: seeded.scalar(select(func.count()).select_from(t)) or 0 for t in tables}

    before = counts()
    for route in _routes():
        if "GET" in route.methods:
            admin_client.get(_url(route), follow_redirects=False)
    assert counts() == before


@pytest.fixture
def admin_client(client: TestClient, session: Session) -> TestClient:
    make_user(session, "root@example.org", role=Role.ADMIN)
    login(client, "root@example.org")
    return client


@pytest.mark.parametrize(("method", "url"), _unsafe_routes())
def test_unsafe_route_refuses_missing_wrong_or_cross_site_token(
    admin_client: TestClient, method: str, url: str
) -> None:
    token = csrf_token(admin_client, "/")
    attempts = [
        ({}, {}),
        ({"X-CSRF-Token": "forged"}, {}),
        ({}, {"csrf_token": "forged"}),
        ({"X-CSRF-Token": token, "Sec-Fetch-Site": "cross-site"}, {}),
        ({"X-CSRF-Token": token, "Origin": "https://evil.example"}, {}),
    ]
    for headers, data in attempts:
        response = admin_client.request(
            method, url, headers=headers, data=data, follow_redirects=False
        )
        assert response.status_code == 403, (method, url, headers, data, response.status_code)


@pytest.mark.parametrize(
    ("method", "url", "admin_only"),
    _editor_routes()
    or [pytest.param("GET", "/", False, marks=pytest.mark.skip(reason="no editor routes yet"))],
)
def test_editor_routes_refuse_anonymous_users(
    client: TestClient, method: str, url: str, admin_only: bool
) -> None:
    token = csrf_token(client)
    response = client.request(method, url, headers={"X-CSRF-Token": token}, follow_redirects=False)
    if method in UNSAFE:
        assert response.status_code == 403, (method, url)
    else:
        assert response.status_code == 303, (method, url)
        assert response.headers["location"].startswith("/login?next=")


@pytest.mark.parametrize(
    ("method", "url"),
    [(m, u) for m, u, admin_only in _editor_routes() if admin_only],
)
def test_admin_routes_refuse_editors(
    client: TestClient, session: Session, method: str, url: str
) -> None:
    make_user(session, "ed@example.org", role=Role.EDITOR)
    login(client, "ed@example.org")
    token = csrf_token(client, "/")
    response = client.request(method, url, headers={"X-CSRF-Token": token}, follow_redirects=False)
    assert response.status_code == 403, (method, url)


VARYING_HEADERS = {"date", "x-request-id"}
"""Headers that differ between any two responses, whatever the method."""
LIVE_LENGTH = {"/briefing", "/briefing.pdf", "/healthz"}
"""Bodies whose length can differ by a few bytes between two requests: the briefing's preview
and its PDF carry the time they are made, to the second (compressed, a new second can take a
byte more; a CI run failed on /briefing's 6,600 against 6,601 bytes), and /healthz reports the worker's memory and caches, which
can gain a digit between a GET and its HEAD; one CI run failed this test without saying which
URL, and /healthz is the varying body among the GET routes."""


def _sample_url(route: APIRoute, session: Session) -> str:
    """The route's path with each parameter naming something of the seed data."""
    from sqlalchemy import func, select

    from app.models import Quote, Source, Speaker, User

    first = {
        "quote_id": Quote.id,
        "speaker_id": Speaker.id,
        "source_id": Source.id,
        "user_id": User.id,
    }

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in first:
            return str(session.scalar(select(func.min(first[name]))))
        if name == "issue" or (name == "slug" and "/issues/" in route.path):
            return "crimea-recognition"
        if name == "slug" and "/themes/" in route.path:
            return "territory"
        if name in {"left", "right"} or (name == "slug" and "/documents/" in route.path):
            return "us-proposal-paris-2025-04"
        if name == "slug" and "/rounds/" in route.path:
            return "london-2025-04-23"
        return "ua"

    return re.sub(r"\{([^}]+)\}", value, route.path)


def test_head_answers_every_get_route_like_get_without_a_body(
    admin_client: TestClient, seeded: Session
) -> None:
    """HEAD on every GET route (pages, fragments, feeds, CSV, API, PDF): same status and headers."""
    urls = sorted({_sample_url(r, seeded) for r in _routes() if "GET" in r.methods})
    urls += ["/?as_of=2025-04-23", "/quotes/tag-row?n=2", "/static/css/app.css", "/openapi.json"]
    statuses = {}
    for url in urls:
        got = admin_client.get(url, follow_redirects=False)
        head = admin_client.head(url, follow_redirects=False)
        statuses[url] = got.status_code
        assert head.status_code == got.status_code, url
        assert head.content == b"", url
        varying = VARYING_HEADERS | ({"content-length"} if url in LIVE_LENGTH else set())
        assert {k: v for k, v in head.headers.items() if k not in varying} == {
            k: v for k, v in got.headers.items() if k not in varying
        }, url
        assert "content-length" in head.headers or "transfer-encoding" in head.headers, url
    for fragment in ("/cells/ua/crimea-recognition", "/changes"):
        headers = {"HX-Request": "true"}
        got = admin_client.get(fragment, headers=headers)
        head = admin_client.head(fragment, headers=headers)
        assert (head.status_code, head.content) == (200, b"")
        assert head.headers["content-length"] == got.headers["content-length"]
    assert len(urls) > 50
    # /login sends a logged-in user on; /quotes/tag-row needs its `n`, given above.
    assert [url for url, status in statuses.items() if status != 200] == [
        "/login",
        "/quotes/tag-row",
    ]
