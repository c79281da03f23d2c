"""Security headers on every response, no-store on editor pages, the host check, request ids."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy.orm import Session

from app.config import get_settings
from app.main import create_app
from app.middleware import CONTENT_SECURITY_POLICY
from tests.auth_helpers import login, make_user
from tests.conftest import csrf_token

EXPECTED_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


def _assert_secure(response: Response) -> None:
    assert response.headers["content-security-policy"] == EXPECTED_CSP
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"
    assert re.fullmatch(r"[0-9a-f]{16}", response.headers["x-request-id"])
    # One of each: a header set twice is read differently by different browsers and proxies.
    for name in ("content-security-policy", "x-content-type-options", "x-request-id"):
        assert len(response.headers.get_list(name)) == 1, name


def _rebuilt(app: FastAPI) -> FastAPI:
    """A new app from the current (monkeypatched) settings, on the test's database session."""
    rebuilt = create_app()
    rebuilt.dependency_overrides = app.dependency_overrides
    return rebuilt


def test_the_policy_is_the_strict_one() -> None:
    assert CONTENT_SECURITY_POLICY == EXPECTED_CSP
    assert "unsafe" not in CONTENT_SECURITY_POLICY


@pytest.mark.parametrize(
    ("path", "headers", "status"),
    [
        ("/", {}, 200),
        ("/", {"HX-Request": "true"}, 200),
        ("/cells/ua/ceasefire", {}, 200),
        ("/cells/ua/ceasefire", {"HX-Request": "true"}, 200),
        ("/quotes", {}, 200),
        ("/api/v1/parties", {}, 200),
        ("/healthz", {}, 200),
        ("/static/css/app.css", {}, 200),
        ("/static/js/app.js", {}, 200),
        ("/no-such-page", {}, 404),
        ("/api/v1/no-such-thing", {}, 404),
        ("/static/no-such-file.css", {}, 404),
        ("/quotes/new", {}, 303),
        ("/cells/ua/no-such-issue", {}, 404),
        ("/?as_of=not-a-date", {}, 400),
    ],
)
def test_every_kind_of_response_carries_the_security_headers(
    client: TestClient, seeded: Session, path: str, headers: dict[str, str], status: int
) -> None:
    response = client.get(path, headers=headers, follow_redirects=False)
    assert response.status_code == status, response.text
    _assert_secure(response)
    assert "strict-transport-security" not in response.headers


def test_not_modified_and_post_responses_carry_the_headers(
    client: TestClient, seeded: Session
) -> None:
    etag = client.get("/").headers["etag"]
    not_modified = client.get("/", headers={"If-None-Match": etag})
    assert not_modified.status_code == 304
    _assert_secure(not_modified)
    refused = client.post("/quotes/new", data={"text": "x"})
    assert refused.status_code == 403
    _assert_secure(refused)
    assert refused.headers["cache-control"] == "no-store"


def test_hsts_only_when_https_only(
    app: FastAPI, seeded: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(get_settings(), "https_only", True)
    with TestClient(_rebuilt(app)) as client:
        for path in ("/", "/api/v1/parties", "/static/css/app.css", "/nowhere"):
            response = client.get(path)
            _assert_secure(response)
            assert (
                response.headers["strict-transport-security"]
                == "max-age=31536000; includeSubDomains"
            )


def test_login_and_every_post_answer_no_store(client: TestClient, session: Session) -> None:
    assert client.get("/login").headers["cache-control"] == "no-store"
    wrong = client.post(
        "/login",
        data={"email": "nobody@example.org", "password": "x", "csrf_token": csrf_token(client)},
    )
    assert wrong.status_code == 401
    assert wrong.headers["cache-control"] == "no-store"
    make_user(session)
    token = csrf_token(client)
    ok = client.post(
        "/login",
        data={
            "email": "editor@example.org",
            "password": "correct horse battery",
            "csrf_token": token,
        },
        follow_redirects=False,
    )
    assert ok.status_code == 303
    assert ok.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(
    "path",
    [
        "/quotes/new",
        "/quotes/tag-row?n=2",
        "/positions/new",
        "/manage",
        "/manage/parties",
        "/audit",
    ],
)
def test_editor_pages_answer_no_store(client: TestClient, seeded: Session, path: str) -> None:
    from app.models import Role

    make_user(seeded, email="admin@example.org", role=Role.ADMIN)
    login(client, "admin@example.org")
    response = client.get(path)
    assert response.status_code == 200, response.text
    assert response.headers.get_list("cache-control") == ["no-store"]
    _assert_secure(response)


def test_public_pages_keep_their_own_caching(client: TestClient, seeded: Session) -> None:
    # The matrix revalidates by ETag; the headers middleware leaves that alone.
    assert client.get("/").headers["cache-control"] == "private, no-cache"
    assert "no-store" not in client.get("/quotes").headers.get("cache-control", "")


PERSONAL_PAGES = [
    "/quotes",
    "/quotes?q=ceasefire",
    "/parties/ua",
    "/issues/ceasefire",
    "/compare?a=us&b=ua",
    "/changes?from=2025-01-01&to=2025-05-01",
]


@pytest.mark.parametrize("path", PERSONAL_PAGES)
def test_a_logged_in_users_pages_are_kept_out_of_every_cache(
    client: TestClient, seeded: Session, path: str
) -> None:
    make_user(seeded, "ed@example.org")
    login(client, "ed@example.org")
    for headers in ({}, {"HX-Request": "true"}):
        response = client.get(path, headers=headers)
        assert response.status_code == 200, response.text
        if not headers:  # the whole page shows who is logged in and carries their token
            assert "Ed (editor)" in response.text and 'name="csrf-token"' in response.text
        assert response.headers.get_list("cache-control") == ["private, no-store"], path
        vary = [part.strip().lower() for part in response.headers["vary"].split(",")]
        assert "cookie" in vary and "hx-request" in vary, vary
        assert len(response.headers.get_list("vary")) == 1


@pytest.mark.parametrize("path", PERSONAL_PAGES)
def test_an_anonymous_readers_pages_stay_cacheable(
    client: TestClient, seeded: Session, path: str
) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert "no-store" not in response.headers.get("cache-control", "")


def test_the_login_forms_token_keeps_later_pages_out_of_caches(
    client: TestClient, seeded: Session
) -> None:
    token = csrf_token(client)  # the login form hands an anonymous visitor a token
    page = client.get("/parties/ua")
    assert token in page.text
    assert page.headers["cache-control"] == "private, no-store"
    assert "Cookie" in page.headers["vary"]


def test_a_logged_in_users_matrix_still_revalidates_privately(
    client: TestClient, seeded: Session
) -> None:
    make_user(seeded, "ed@example.org")
    login(client, "ed@example.org")
    page = client.get("/")
    assert page.headers["cache-control"] == "private, no-cache"  # per-user ETag: 304s stay
    assert "Cookie" in page.headers["vary"]
    assert client.get("/", headers={"If-None-Match": page.headers["etag"]}).status_code == 304
    css = client.get("/static/css/app.css")  # static files are nobody's own
    assert "no-store" not in css.headers.get("cache-control", "")


def test_docs_get_their_own_policy_allowing_only_their_inline_script(
    client: TestClient, session: Session
) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    policy = page.headers["content-security-policy"]
    scripts = re.findall(r"<script>(.*?)</script>", page.text, flags=re.DOTALL)
    assert scripts, "Swagger UI starts from an inline script"
    for script in scripts:
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in policy
    assert "'unsafe-inline'" not in policy.split("script-src", 1)[1].split(";", 1)[0]
    assert "'unsafe-eval'" not in policy
    assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
    assert client.get("/redoc").headers["content-security-policy"] == policy
    # The schema itself is the app's own JSON: the strict policy.
    assert client.get("/openapi.json").headers["content-security-policy"] == EXPECTED_CSP
    # Nothing from another origin: no CDN, no web fonts.
    assert "http" not in policy and "*" not in policy


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_docs_load_only_our_own_pinned_files(
    client: TestClient, session: Session, path: str
) -> None:
    from app.config import PROJECT_ROOT
    from app.routes import docs

    page = client.get(path)
    assert page.status_code == 200
    urls = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert urls and all(url.startswith("/static/") for url in urls), urls
    assert "http" not in page.text.replace("http-equiv", "")  # no CDN, no fonts, no logo
    for url in urls:
        asset = client.get(url)
        assert asset.status_code == 200 and asset.content, url
        file = PROJECT_ROOT / url.removeprefix("/")
        assert file.read_bytes() == asset.content
        if "/vendor/" in url:  # vendored beside its licence, in a folder named by its version
            assert (file.parent / "LICENSE").is_file()
            assert file.parent.name in {
                f"swagger-ui-{docs.SWAGGER_UI_VERSION}",
                f"redoc-{docs.REDOC_VERSION}",
            }


def test_docs_can_be_switched_off(
    app: FastAPI, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(get_settings(), "docs_enabled", False)
    with TestClient(_rebuilt(app)) as client:
        for path in ("/docs", "/redoc", "/openapi.json", "/docs/oauth2-redirect"):
            response = client.get(path)
            assert response.status_code == 404, path
            assert response.headers["content-security-policy"] == EXPECTED_CSP
        assert client.get("/healthz").status_code == 200


@pytest.mark.parametrize("host", ["evil.example", "localhost.evil.example", "127.0.0.2"])
def test_unknown_host_gets_400(client: TestClient, session: Session, host: str) -> None:
    response = client.get("/healthz", headers={"Host": host})
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/plain")
    _assert_secure(response)


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "127.0.0.1:8033", "localhost:8000", "[::1]:8000", "testserver"]
)
def test_default_hosts_are_served(client: TestClient, session: Session, host: str) -> None:
    assert client.get("/healthz", headers={"Host": host}).status_code == 200


def test_allowed_hosts_setting_and_wildcard(
    app: FastAPI, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(get_settings(), "allowed_hosts", ["peace.example.org"])
    with TestClient(_rebuilt(app)) as client:
        assert client.get("/healthz", headers={"Host": "peace.example.org"}).status_code == 200
        assert client.get("/healthz", headers={"Host": "127.0.0.1"}).status_code == 400
    monkeypatch.setattr(get_settings(), "allowed_hosts", ["*"])
    with TestClient(_rebuilt(app)) as client:
        assert client.get("/healthz", headers={"Host": "anything.example"}).status_code == 200


def test_allowed_hosts_reads_a_comma_separated_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    from app.config import Settings

    monkeypatch.setenv("ALLOWED_HOSTS", " peace.example.org, Talks.Example.org ,")
    assert Settings().allowed_hosts == ["peace.example.org", "talks.example.org"]
    monkeypatch.delenv("ALLOWED_HOSTS")
    assert Settings().allowed_hosts == ["localhost", "127.0.0.1", "testserver", "[::1]"]


def test_each_response_has_a_fresh_request_id(client: TestClient, session: Session) -> None:
    ids = {client.get("/healthz").headers["x-request-id"] for _ in range(5)}
    assert len(ids) == 5


@pytest.mark.parametrize(
    ("incoming", "kept"),
    [
        ("abc-123-DEF", True),
        ("3f2b8c1e-5d4a-4e0b-9c7f-2a6d8e1b4c90", True),  # a UUID, as most proxies send
        ("x" * 64, True),
        ("\u0661\u0662\u0663".encode().decode("latin-1"), False),  # Arabic-Indic digits, as sent
        ("abc\x7f", False),
        ("x" * 65, False),
        ("abc def", False),
        ("<script>", False),
        ("id;evil=1", False),
        ("", False),
    ],
)
def test_an_incoming_request_id_is_kept_only_if_short_and_plain(
    client: TestClient, session: Session, incoming: str, kept: bool
) -> None:
    response = client.get("/healthz", headers={"X-Request-ID": incoming.encode("latin-1")})
    assert (response.headers["x-request-id"] == incoming) is kept
    assert len(response.headers.get_list("x-request-id")) == 1


def test_head_healthz_and_the_api_link_follows_docs_enabled(
    app: FastAPI, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    with TestClient(app) as client:
        assert client.head("/healthz").status_code == 200
        assert 'href="/docs"' in client.get("/login").text
    monkeypatch.setattr(get_settings(), "docs_enabled", False)
    undocumented = create_app()
    undocumented.dependency_overrides = app.dependency_overrides
    with TestClient(undocumented) as client:
        assert client.get("/docs").status_code == 404
        assert 'href="/docs"' not in client.get("/login").text
    with TestClient(app) as client:  # building another app changed nothing in this one
        assert 'href="/docs"' in client.get("/login").text
