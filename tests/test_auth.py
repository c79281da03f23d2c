"""Accounts, login, logout, session lifetime and throttling."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.config import get_settings
from app.models import LoginAttempt, Role, UserSession
from app.security import SESSION_COOKIE
from app.services import users
from app.services.errors import ValidationFailed
from tests.auth_helpers import PASSWORD, login, make_user
from tests.conftest import csrf_token


def _post_login(client: TestClient, email: str, password: str) -> object:
    return client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": csrf_token(client)},
        follow_redirects=False,
    )


def test_login_sets_a_hardened_session_cookie_and_shows_the_user(
    client: TestClient, session: Session
) -> None:
    make_user(session, "ed@example.org")
    response = _post_login(client, "ed@example.org", PASSWORD)
    assert response.status_code == 303  # type: ignore[attr-defined]
    cookie = response.headers["set-cookie"]  # type: ignore[attr-defined]
    assert SESSION_COOKIE in cookie and "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
    assert "Secure" not in cookie  # https_only is off in development
    assert "Ed (editor)" in client.get("/").text


def test_session_cookie_is_secure_when_https_only(
    client: TestClient, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(get_settings(), "https_only", True)
    client.base_url = "https://testserver"  # type: ignore[assignment]  # Secure cookies need https
    make_user(session, "sec@example.org")
    response = _post_login(client, "sec@example.org", PASSWORD)
    assert "Secure" in response.headers["set-cookie"]  # type: ignore[attr-defined]


def test_unknown_email_and_wrong_password_get_the_same_answer(
    client: TestClient, session: Session
) -> None:
    make_user(session, "ed@example.org")
    unknown = _post_login(client, "nobody@example.org", PASSWORD)
    wrong = _post_login(client, "ed@example.org", "not the password")
    assert unknown.status_code == wrong.status_code == 401  # type: ignore[attr-defined]
    message = "Email or password is incorrect"
    assert message in unknown.text and message in wrong.text  # type: ignore[attr-defined]
    assert "nobody@example.org" in unknown.text  # the typed email is kept


def test_unknown_email_still_spends_a_password_check(session: Session) -> None:
    users._dummy_hash()  # computed once
    before = users._dummy_hash.cache_info().hits
    limits = users.LoginLimits(per_account=5, per_client=20, window=timedelta(minutes=15))
    assert (
        users.authenticate(
            session, email="ghost@example.org", password="x" * 12, client="t", limits=limits
        )
        is None
    )
    assert users._dummy_hash.cache_info().hits == before + 1


def test_login_without_csrf_token_is_refused(client: TestClient, session: Session) -> None:
    make_user(session, "ed@example.org")
    response = client.post("/login", data={"email": "ed@example.org", "password": PASSWORD})
    assert response.status_code == 403
    assert SESSION_COOKIE not in response.headers.get("set-cookie", "")


def test_session_id_changes_at_login(client: TestClient, session: Session) -> None:
    make_user(session, "ed@example.org")
    login(client, "ed@example.org")
    first = client.cookies.get(SESSION_COOKIE)
    login_again = client.post(
        "/login",
        data={
            "email": "ed@example.org",
            "password": PASSWORD,
            "csrf_token": csrf_token(client, "/"),
        },
        follow_redirects=False,
    )
    assert login_again.status_code == 303
    second = client.cookies.get(SESSION_COOKIE)
    assert first and second and first != second
    assert session.scalar(select(UserSession).where(UserSession.user_id.is_not(None))) is not None
    assert len(list(session.scalars(select(UserSession)))) == 1  # the old session is gone


def test_logged_out_cookie_replayed_is_anonymous(client: TestClient, session: Session) -> None:
    make_user(session, "ed@example.org")
    login(client, "ed@example.org")
    stolen = client.cookies.get(SESSION_COOKIE)
    assert stolen
    response = client.post(
        "/logout", data={"csrf_token": csrf_token(client, "/")}, follow_redirects=False
    )
    assert response.status_code == 303
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, stolen)
    page = client.get("/")
    assert "Ed (editor)" not in page.text and "Log in" in page.text


def test_disabling_a_user_ends_their_sessions(client: TestClient, session: Session) -> None:
    user = make_user(session, "ed@example.org")
    login(client, "ed@example.org")
    assert "Ed (editor)" in client.get("/").text
    users.set_active(session, actor=None, user=user, active=False)
    assert "Ed (editor)" not in client.get("/").text
    assert _post_login(client, "ed@example.org", PASSWORD).status_code == 401  # type: ignore[attr-defined]


@pytest.mark.parametrize("column", ["last_seen_at", "created_at"])
def test_idle_and_absolute_timeouts_end_the_session(
    client: TestClient, session: Session, column: str
) -> None:
    make_user(session, "ed@example.org")
    login(client, "ed@example.org")
    long_ago = users.utcnow() - timedelta(days=2)
    session.execute(update(UserSession).values({column: long_ago}))
    assert "Ed (editor)" not in client.get("/").text


def test_failed_logins_are_throttled_per_account(client: TestClient, session: Session) -> None:
    make_user(session, "ed@example.org")
    limit = get_settings().login_failures_per_account
    for _ in range(limit):
        assert _post_login(client, "ed@example.org", "wrong password!").status_code == 401  # type: ignore[attr-defined]
    blocked = _post_login(client, "ed@example.org", PASSWORD)
    assert blocked.status_code == 429  # type: ignore[attr-defined]
    assert int(blocked.headers["retry-after"]) > 0  # type: ignore[attr-defined]
    # Stored in the database, so every worker process sees the same count.
    assert len(list(session.scalars(select(LoginAttempt)))) == limit


def test_failed_logins_are_throttled_per_client_address(
    client: TestClient, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(get_settings(), "login_failures_per_client", 3)
    for n in range(3):
        _post_login(client, f"guess{n}@example.org", "wrong password!")
    assert _post_login(client, "another@example.org", "wrong password!").status_code == 429  # type: ignore[attr-defined]


def test_successful_login_clears_the_accounts_failures(
    client: TestClient, session: Session
) -> None:
    make_user(session, "ed@example.org")
    for _ in range(2):
        _post_login(client, "ed@example.org", "wrong password!")
    login(client, "ed@example.org")
    assert (
        list(session.scalars(select(LoginAttempt).where(LoginAttempt.email == "ed@example.org")))
        == []
    )


def test_next_parameter_never_leaves_the_site(client: TestClient, session: Session) -> None:
    make_user(session, "ed@example.org")
    for target, expected in [
        ("/parties/ua", "/parties/ua"),
        ("//evil.example/x", "/"),
        ("https://evil.example", "/"),
    ]:
        client.cookies.clear()
        response = client.post(
            "/login",
            data={
                "email": "ed@example.org",
                "password": PASSWORD,
                "csrf_token": csrf_token(client),
                "next": target,
            },
            follow_redirects=False,
        )
        assert response.headers["location"] == expected


def test_require_login_to_read_closes_reading(
    client: TestClient, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(get_settings(), "require_login_to_read", True)
    page = client.get("/parties/ua", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith(
        "/login?next=/parties/ua"
    )
    assert client.get("/api/v1/matrix").status_code == 403
    assert client.get("/healthz").status_code == 200
    make_user(session, "ed@example.org")
    login(client, "ed@example.org")
    assert client.get("/api/v1/matrix").status_code == 200


@pytest.mark.parametrize(
    ("password", "message"),
    [("short", "at least 8"), ("password123", "too common"), ("x" * 1025, "at most 1024")],
)
def test_password_rules(session: Session, password: str, message: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        users.create_user(
            session,
            actor=None,
            email="p@example.org",
            display_name="P",
            role=Role.EDITOR,
            password=password,
        )
    assert message in caught.value.errors["password"]


def test_long_passwords_are_not_truncated(session: Session) -> None:
    long_password = "a long passphrase " * 20
    user = users.create_user(
        session,
        actor=None,
        email="l@example.org",
        display_name="L",
        role=Role.EDITOR,
        password=long_password,
    )
    assert user.password_hash.startswith("$argon2id$")
    assert users.verify_password(user.password_hash, long_password)
    assert not users.verify_password(user.password_hash, long_password[:-1])


def test_users_cli_creates_lists_and_disables(backend: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import os
    import subprocess
    import sys

    from tests.conftest import scratch_database

    with scratch_database(backend, tmp_path) as url:
        env = {**os.environ, "DATABASE_URL": url}

        def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [sys.executable, "-m", "app.cli", *args],
                input=stdin,
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )

        assert run("db", "upgrade").returncode == 0
        created = run(
            "users",
            "create",
            "--email",
            "Admin@Example.org",
            "--name",
            "Ada",
            "--role",
            "admin",
            stdin=PASSWORD + "\n",
        )
        assert created.returncode == 0, created.stderr
        weak = run("users", "create", "--email", "w@example.org", "--name", "W", stdin="short\n")
        assert weak.returncode == 1 and "at least 8" in weak.stderr
        assert "admin@example.org\tAda\tadmin\tactive" in run("users", "list").stdout
        assert run("users", "disable", "--email", "admin@example.org").returncode == 0
        assert "disabled" in run("users", "list").stdout


def test_audit_log_never_stores_password_hashes(session: Session) -> None:
    from app.models import AuditEntry

    user = make_user(session, "audit@example.org")
    users.set_active(session, actor=None, user=user, active=False)
    session.flush()
    for entry in session.scalars(select(AuditEntry).where(AuditEntry.entity_type == "users")):
        for values in (entry.before or {}, entry.after or {}):
            assert "password_hash" not in values
