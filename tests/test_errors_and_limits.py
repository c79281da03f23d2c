"""Unhandled errors become a plain 500 with a request id; one JSON log line per request, free of
secrets; oversized bodies get 413 and crowded forms 400, and the server stays healthy."""

from __future__ import annotations

import http.client
import io
import json
import logging
import re
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote_plus

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from app.db import SessionDep, make_engine
from app.logging_setup import ERROR_LOGGER, REQUEST_LOGGER, JsonFormatter
from app.security import SESSION_COOKIE
from tests.auth_helpers import PASSWORD, login, make_user
from tests.conftest import csrf_token, scratch_database
from tests.e2e_support import seeded_server

SECRET_DETAIL = "SELECT password_hash FROM users -- boom"


@pytest.fixture
def failing_app(app: FastAPI) -> FastAPI:
    """The app with a page and an API route that raise an unexpected exception."""

    @app.get("/_test/boom")
    def boom_page() -> None:
        raise RuntimeError(SECRET_DETAIL)

    @app.get("/api/v1/_test/boom")
    def boom_api() -> None:
        raise RuntimeError(SECRET_DETAIL)

    return app


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """Every log record of the run, formatted as `peacetalks serve` writes it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)


def _lines(stream: io.StringIO, logger: str) -> list[dict[str, object]]:
    entries = [json.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{")]
    return [entry for entry in entries if entry.get("logger") == logger]


def test_unhandled_error_gives_a_plain_500_page_with_the_request_id(
    failing_app: FastAPI, session: Session, log_lines: io.StringIO
) -> None:
    with TestClient(failing_app) as client:
        response = client.get("/_test/boom")
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("text/html")
    request_id = response.headers["x-request-id"]
    assert request_id in response.text
    for leak in ("Traceback", "RuntimeError", SECRET_DETAIL, "password_hash", 'File "'):
        assert leak not in response.text
    assert response.headers["cache-control"] == "no-store"
    assert "content-security-policy" in response.headers
    (error,) = _lines(log_lines, ERROR_LOGGER)
    assert error["request_id"] == request_id
    assert "RuntimeError" in str(error["traceback"]) and SECRET_DETAIL in str(error["traceback"])
    (line,) = [e for e in _lines(log_lines, REQUEST_LOGGER) if e["path"] == "/_test/boom"]
    assert line["status"] == 500 and line["request_id"] == request_id


def test_unhandled_error_in_the_api_is_json(failing_app: FastAPI, session: Session) -> None:
    with TestClient(failing_app) as client:
        response = client.get("/api/v1/_test/boom")
    assert response.status_code == 500
    assert response.json() == {
        "error": "Internal server error",
        "request_id": response.headers["x-request-id"],
    }


def test_unhandled_error_for_htmx_is_a_fragment(failing_app: FastAPI, session: Session) -> None:
    with TestClient(failing_app) as client:
        response = client.get("/_test/boom", headers={"HX-Request": "true"})
    assert response.status_code == 500
    assert "<html" not in response.text and 'role="alert"' in response.text
    assert response.headers["x-request-id"] in response.text


def test_one_structured_log_line_per_request(
    client: TestClient, seeded: Session, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger=REQUEST_LOGGER):
        response = client.get("/quotes?q=secret-search-term&page=1")
    (record,) = [r for r in caplog.records if r.name == REQUEST_LOGGER]
    fields = record.fields  # type: ignore[attr-defined]
    assert set(fields) == {"method", "path", "status", "duration_ms", "request_id", "user_id"}
    assert fields["method"] == "GET" and fields["path"] == "/quotes"
    assert fields["status"] == 200 and fields["user_id"] is None
    assert fields["request_id"] == response.headers["x-request-id"]
    assert isinstance(fields["duration_ms"], float) and fields["duration_ms"] >= 0
    line = json.loads(JsonFormatter().format(record))
    assert line["path"] == "/quotes" and "secret-search-term" not in json.dumps(line)


def test_the_log_line_names_the_logged_in_user(
    client: TestClient, session: Session, caplog: pytest.LogCaptureFixture
) -> None:
    user = make_user(session)
    login(client, user.email)
    with caplog.at_level(logging.INFO, logger=REQUEST_LOGGER):
        client.get("/login", follow_redirects=False)
    (record,) = [r for r in caplog.records if r.name == REQUEST_LOGGER]
    assert record.fields["user_id"] == user.id  # type: ignore[attr-defined]


def test_logs_never_hold_passwords_session_ids_or_csrf_tokens(
    client: TestClient, session: Session, log_lines: io.StringIO, caplog: pytest.LogCaptureFixture
) -> None:
    make_user(session)
    with caplog.at_level(logging.DEBUG):
        token = csrf_token(client)
        wrong_password = "hunter2-wrong-password"
        client.post(
            "/login",
            data={"email": "editor@example.org", "password": wrong_password, "csrf_token": token},
        )
        response = client.post(
            "/login",
            data={"email": "editor@example.org", "password": PASSWORD, "csrf_token": token},
            follow_redirects=False,
            headers={"X-Request-ID": "login-1"},
        )
        assert response.status_code == 303
        session_cookie = client.cookies[SESSION_COOKIE]
        client.get("/quotes/new")
    captured = log_lines.getvalue() + caplog.text + repr([r.__dict__ for r in caplog.records])
    assert '"request_id": "login-1"' in log_lines.getvalue()
    for secret in (PASSWORD, wrong_password, session_cookie, token, "editor@example.org"):
        assert secret not in captured


def _form(fields: int) -> str:
    return "&".join(f"f{i}=v" for i in range(fields))


def test_a_body_over_the_limit_gets_413_before_it_is_read(
    client: TestClient, session: Session
) -> None:
    big = b"x" * 1_500_000
    page = client.post(
        "/login", content=big, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert page.status_code == 413
    assert "content-security-policy" in page.headers and "x-request-id" in page.headers
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "<h1>413 · Content too large</h1>" in page.text
    api = client.post("/api/v1/quotes", content=big, headers={"Content-Type": "application/json"})
    assert api.status_code == 413
    assert api.json()["error"] == "Content too large"
    assert client.get("/healthz").status_code == 200


def test_a_streamed_body_over_the_limit_gets_413(client: TestClient, session: Session) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(30):
            yield b"a=" + b"x" * 64_000

    response = client.post(
        "/login",
        content=chunks(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert "content-length" not in response.request.headers
    assert response.status_code == 413
    assert "Content too large" in response.text
    assert client.get("/healthz").status_code == 200


def test_a_form_with_thousands_of_fields_gets_400(client: TestClient, session: Session) -> None:
    token = csrf_token(client)
    response = client.post(
        "/login",
        content=f"csrf_token={token}&email=a&password=b&{_form(5000)}",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 400
    assert "more than 1000 fields" in response.text
    # A route without Form parameters parses the form only in the CSRF check: same limit.
    logout = client.post(
        "/logout",
        content=_form(5000),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert logout.status_code == 400
    multipart = client.post(
        "/login",
        files={f"f{i}": (None, "v") for i in range(5000)},
    )
    assert multipart.status_code == 400
    assert client.get("/healthz").status_code == 200


def test_a_form_up_to_the_field_limit_is_parsed(client: TestClient, session: Session) -> None:
    make_user(session)
    token = csrf_token(client)
    multipart = client.post(
        "/login",
        data={"csrf_token": token, "email": "x@example.org", "password": "wrong"},
        files={f"f{i}": (None, "v") for i in range(1000 - 3)},
    )
    assert multipart.status_code == 401, multipart.text
    fields = (
        f"csrf_token={token}&email=editor%40example.org&password={quote_plus(PASSWORD)}&next=/&"
    )
    response = client.post(
        "/login",
        content=fields + _form(1000 - 4),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


def test_the_body_limit_is_a_setting(
    app: FastAPI, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.config import get_settings
    from app.main import create_app

    monkeypatch.setattr(get_settings(), "max_body_bytes", 100)
    monkeypatch.setattr(get_settings(), "max_form_fields", 3)
    rebuilt = create_app()
    rebuilt.dependency_overrides = app.dependency_overrides
    with TestClient(rebuilt) as client:
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        assert client.post("/logout", content="a" * 101, headers=form).status_code == 413
        assert client.post("/logout", content="a=1&b=2&c=3&d=4", headers=form).status_code == 400
        # Three fields pass the limits (and then fail the CSRF check, as they should).
        assert client.post("/logout", content="a=1&b=2&c=3", headers=form).status_code == 403


def _post(base_url: str, path: str, body: bytes | None, headers: dict[str, str]) -> int:
    host, port = base_url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        if body is None:  # chunked, no Content-Length
            connection.putrequest("POST", path)
            for name, value in headers.items():
                connection.putheader(name, value)
            connection.putheader("Transfer-Encoding", "chunked")
            connection.endheaders()
            try:
                for _ in range(40):
                    piece = b"a=" + b"x" * 50_000
                    connection.send(b"%x\r\n%s\r\n" % (len(piece), piece))
                connection.send(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                pass  # the server may answer and close before the whole body is sent
        else:
            try:
                connection.request("POST", path, body=body, headers=headers)
            except (BrokenPipeError, ConnectionResetError):
                pass
        return connection.getresponse().status
    finally:
        connection.close()


def test_a_real_server_survives_oversized_and_crowded_requests(tmp_path: Path) -> None:
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    with scratch_database("sqlite", tmp_path) as url, seeded_server(url, tmp_path) as base_url:
        assert _post(base_url, "/login", b"a=" + b"x" * 1_500_000, form) == 413
        assert _post(base_url, "/login", None, form) == 413
        assert _post(base_url, "/login", _form(5000).encode(), form) == 400
        with urllib.request.urlopen(f"{base_url}/", timeout=30) as response:
            assert response.status == 200
            assert response.headers["Content-Security-Policy"].startswith("default-src 'self'")
    # Read once the server has stopped: a request's line is written after its response.
    log = "".join(p.read_text() for p in tmp_path.glob("server-*.out"))
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    requests = [line for line in lines if line.get("logger") == REQUEST_LOGGER]
    assert {(r["method"], r["path"], r["status"]) for r in requests} >= {
        ("POST", "/login", 413),
        ("POST", "/login", 400),
        ("GET", "/", 200),
    }
    # uvicorn's access log is off: its lines look like '127.0.0.1:PORT - "GET / HTTP/1.1" 200'.
    assert not re.search(r'"(GET|POST) /\S* HTTP/1\.1" \d{3}', log)


def test_nul_characters_are_refused_not_a_server_error(client: TestClient, seeded: Session) -> None:
    for url in ("/compare?a=%00", "/quotes?q=a%00b", "/parties/u%00a", "/api/v1/quotes?party=%00"):
        response = client.get(url)
        assert response.status_code == 400, url
    token = csrf_token(client)
    response = client.post(
        "/login", content=f"email=a%00b&password=x&csrf_token={token}",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )  # fmt: skip
    assert response.status_code == 400


SECRET_PARAMETER = "$argon2id$v=19$m=65536,t=3,p=4$c2VjcmV0LXNhbHQ$bm90LWEtcmVhbC1oYXNo"


def test_a_failed_statement_is_logged_without_its_parameters(
    app: FastAPI, session: Session, log_lines: io.StringIO, caplog: pytest.LogCaptureFixture
) -> None:
    """The error log names the failed SQL, never the values bound to it (here a password hash)."""

    @app.get("/_test/failing-insert")
    def failing_insert(db: SessionDep) -> None:
        db.execute(
            text("INSERT INTO no_such_table (password_hash) VALUES (:hash)"),
            {"hash": SECRET_PARAMETER},
        )

    with caplog.at_level(logging.DEBUG), TestClient(app) as client:
        response = client.get("/_test/failing-insert")
    assert response.status_code == 500
    (error,) = _lines(log_lines, ERROR_LOGGER)
    assert "no_such_table" in str(error["traceback"])  # the statement is there to debug with
    captured = log_lines.getvalue() + caplog.text + repr([r.__dict__ for r in caplog.records])
    assert SECRET_PARAMETER not in captured
    assert "c2VjcmV0LXNhbHQ" not in captured


def test_the_apps_engines_hide_statement_parameters(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        assert engine.hide_parameters
    finally:
        engine.dispose()


def test_every_domain_error_has_one_http_mapping(app: FastAPI) -> None:
    from app.services import errors

    mapped = (
        errors.NotFound,  # 404
        errors.InvalidParameter,  # 400
        errors.ValidationFailed,  # 422 (a form route re-renders its form instead)
        errors.EditConflict,  # 409, the conflict page
        errors.InUse,  # 409
        errors.Throttled,  # 429
    )
    for error in mapped:
        assert error in app.exception_handlers, error.__name__


def test_an_unexpected_conflict_or_refusal_is_a_4xx_page_not_a_500(
    app: FastAPI, session: Session
) -> None:
    from app.services.errors import EditConflict, InUse, ValidationFailed

    def conflict() -> None:
        raise EditConflict()

    def in_use() -> None:
        raise InUse("This party cannot be deleted: it is used by 2 quotes.")

    def invalid() -> None:
        raise ValidationFailed({"name": "Enter a name."})

    app.add_api_route("/boom-conflict", conflict)
    app.add_api_route("/boom-in-use", in_use)
    app.add_api_route("/boom-invalid", invalid)
    client = TestClient(app, raise_server_exceptions=False)
    assert client.get("/boom-conflict").status_code == 409
    refused = client.get("/boom-in-use")
    assert refused.status_code == 409 and "used by 2 quotes" in refused.text
    invalid_page = client.get("/boom-invalid")
    assert invalid_page.status_code == 422 and "Enter a name." in invalid_page.text
