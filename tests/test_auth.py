"""Accounts, login, logout, session lifetime and throttling."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.config import get_settings
from app.main import create_app
from app.models import LoginAttempt, Role, UserSession
from app.security import SESSION_COOKIE
from app.services import users
from app.services.errors import ValidationFailed
from tests.auth_helpers import PASSWORD, login, make_user
from tests.conftest import csrf_token

ATTACKER = "203.0.113.7"
OWNER = "198.51.100.20"
WRONG = "wrong password!"


def _post_login(
    client: TestClient, email: str, password: str, headers: dict[str, str] | None = None
) -> Response:
    return client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": csrf_token(client)},
        headers=headers,
        follow_redirects=False,
    )


@contextmanager
def _client_at(app: FastAPI, address: str) -> Iterator[TestClient]:
    """A client whose requests come from `address`."""
    with TestClient(app, client=(address, 50000)) as client:
        yield client


def _failures(session: Session, **where: str) -> list[LoginAttempt]:
    query = select(LoginAttempt).filter_by(**where)
    return list(session.scalars(query.order_by(LoginAttempt.id)))


def _time_passes(session: Session, by: timedelta) -> None:
    """Move every recorded failure back in time (in Python: SQLite has no date arithmetic)."""
    for row in _failures(session):
        row.at = users.as_utc(row.at) - by
    session.flush()


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


def test_failed_logins_from_one_address_make_it_wait(client: TestClient, session: Session) -> None:
    make_user(session, "ed@example.org")
    limit = get_settings().login_failures_per_account
    for _ in range(limit):
        assert _post_login(client, "ed@example.org", WRONG).status_code == 401
    blocked = _post_login(client, "ed@example.org", PASSWORD)  # even the right password
    assert blocked.status_code == 429
    assert int(blocked.headers["retry-after"]) > 0
    # Stored in the database, so every worker process sees the same count.
    assert len(_failures(session)) == limit


def test_guessing_from_one_address_never_locks_the_owner_out(
    app: FastAPI, session: Session
) -> None:
    make_user(session, "ed@example.org")
    limit = get_settings().login_failures_per_account
    with _client_at(app, ATTACKER) as attacker, _client_at(app, OWNER) as owner:
        for n in range(limit):
            # Case and spaces do not make another account: every variant counts the same.
            email = "ed@example.org" if n % 2 else " ED@Example.ORG "
            assert _post_login(attacker, email, WRONG).status_code == 401
        assert _post_login(attacker, "Ed@Example.org", PASSWORD).status_code == 429
        assert _post_login(attacker, "ed@example.org", WRONG).status_code == 429
        assert _post_login(owner, "ed@example.org", PASSWORD).status_code == 303
        assert {row.email for row in _failures(session)} == {"ed@example.org"}


def test_one_address_cannot_keep_accounts_locked(app: FastAPI, session: Session) -> None:
    emails = [f"user{n}@example.org" for n in range(4)]
    for email in emails:
        make_user(session, email)
    limit = get_settings().login_failures_per_account
    with _client_at(app, ATTACKER) as attacker:
        for email in emails:
            for _ in range(limit):
                _post_login(attacker, email, WRONG)
            assert _post_login(attacker, email, WRONG).status_code == 429
    for n, email in enumerate(emails):
        with _client_at(app, f"198.51.100.{n + 1}") as owner:
            assert _post_login(owner, email, PASSWORD).status_code == 303, email


def test_each_further_failure_doubles_the_wait(client: TestClient, session: Session) -> None:
    make_user(session, "ed@example.org")
    for _ in range(get_settings().login_failures_per_account):
        assert _post_login(client, "ed@example.org", WRONG).status_code == 401
    waits = []
    for _ in range(4):
        blocked = _post_login(client, "ed@example.org", WRONG)
        assert blocked.status_code == 429
        waits.append(int(blocked.headers["retry-after"]))
        # The wait passes (the failures move back in time); one more guess is then checked.
        _time_passes(session, timedelta(seconds=waits[-1] + 1))
        assert _post_login(client, "ed@example.org", WRONG).status_code == 401
    for wait, expected in zip(waits, [30, 60, 120, 240], strict=True):
        assert expected - 1 <= wait <= expected, waits


def test_waits_stop_growing_at_an_hour_and_failures_are_forgotten_after_a_day(
    client: TestClient, session: Session
) -> None:
    limits = users.LoginLimits(per_account=5, per_client=20, window=timedelta(minutes=15))
    assert users.wait_after(4, limits) == timedelta(0)
    assert users.wait_after(5, limits) == timedelta(seconds=30)
    assert users.wait_after(12, limits) == users.wait_after(500, limits) == timedelta(hours=1)
    make_user(session, "ed@example.org")
    for _ in range(get_settings().login_failures_per_account):
        _post_login(client, "ed@example.org", WRONG)
    assert _post_login(client, "ed@example.org", PASSWORD).status_code == 429
    _time_passes(session, timedelta(days=1, seconds=1))
    assert _post_login(client, "ed@example.org", PASSWORD).status_code == 303


def test_a_login_clears_only_its_own_addresss_failures(app: FastAPI, session: Session) -> None:
    make_user(session, "ed@example.org")
    limit = get_settings().login_failures_per_account
    with _client_at(app, ATTACKER) as attacker, _client_at(app, OWNER) as owner:
        for _ in range(limit):
            _post_login(attacker, "ed@example.org", WRONG)
        _post_login(owner, "ed@example.org", WRONG)
        assert _post_login(owner, "ed@example.org", PASSWORD).status_code == 303
        assert _failures(session, client=OWNER) == []
        assert len(_failures(session, client=ATTACKER)) == limit  # the guesser still waits
        assert _post_login(attacker, "ed@example.org", PASSWORD).status_code == 429


def test_an_ipv6_client_is_counted_by_its_64_block(app: FastAPI, session: Session) -> None:
    make_user(session, "ed@example.org")
    limit = get_settings().login_failures_per_account
    for n in range(limit):
        with _client_at(app, f"2001:db8:1:2::{n + 1:x}") as hopping:
            assert _post_login(hopping, "ed@example.org", WRONG).status_code == 401
    with _client_at(app, "2001:db8:1:2:ffff::9") as hopping:
        assert _post_login(hopping, "ed@example.org", PASSWORD).status_code == 429
    with _client_at(app, "2001:db8:1:3::1") as elsewhere:
        assert _post_login(elsewhere, "ed@example.org", PASSWORD).status_code == 303
    assert {row.client for row in _failures(session)} == {"2001:db8:1:2::/64"}
    assert users.client_key("::ffff:192.0.2.1") == "192.0.2.1"


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
        _post_login(client, "ed@example.org", WRONG)
    login(client, "ed@example.org")
    assert _failures(session, email="ed@example.org") == []


def test_forwarded_headers_are_ignored_without_trusted_proxies(
    app: FastAPI, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert get_settings().trusted_proxies == []
    monkeypatch.setattr(get_settings(), "login_failures_per_client", 3)
    with _client_at(app, "127.0.0.1") as local:
        for n in range(3):
            spoofed = {"X-Forwarded-For": f"192.0.2.{n}"}
            assert _post_login(local, f"guess{n}@example.org", WRONG, spoofed).status_code == 401
        spoofed = {"X-Forwarded-For": "192.0.2.99"}
        assert _post_login(local, "more@example.org", WRONG, spoofed).status_code == 429
    assert {row.client for row in _failures(session)} == {"127.0.0.1"}


def test_only_a_trusted_proxy_names_the_client_and_the_scheme(
    app: FastAPI, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(get_settings(), "trusted_proxies", ["10.0.0.0/8"])
    proxied = create_app()
    proxied.dependency_overrides = app.dependency_overrides
    forwarded = {
        "X-Forwarded-For": "198.51.100.1, 203.0.113.9, 10.9.9.9",  # nearest untrusted: .9
        "X-Forwarded-Proto": "https",
        "Origin": "https://testserver",  # what a browser sends to the proxy's https address
    }
    with _client_at(proxied, "10.1.2.3") as proxy, _client_at(proxied, "192.0.2.50") as direct:
        assert _post_login(proxy, "a@example.org", WRONG, forwarded).status_code == 401
        # Not a proxy: its claims about the client and the scheme are ignored, so the
        # https origin does not match the plain-http request (CSRF check) and it is refused.
        assert _post_login(direct, "b@example.org", WRONG, forwarded).status_code == 403
        assert _post_login(direct, "b@example.org", WRONG, {"X-Forwarded-For": "203.0.113.10"}).status_code == 401  # fmt: skip
    assert [row.client for row in _failures(session)] == ["203.0.113.9", "192.0.2.50"]


@pytest.mark.parametrize("value", ["10.0.0.300", "proxy.example.org", "*", "10.0.0.0/33"])
def test_trusted_proxies_must_be_addresses_or_networks(value: str) -> None:
    from pydantic import ValidationError

    from app.config import Settings

    with pytest.raises(ValidationError, match="TRUSTED_PROXIES"):
        Settings.model_validate({"trusted_proxies": value})
    assert Settings.model_validate(
        {"trusted_proxies": " 10.0.0.1, 172.31.250.0/24 ,::1"}
    ).trusted_proxies == ["10.0.0.1/32", "172.31.250.0/24", "::1/128"]


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


WEAK_PASSWORDS = [
    "aaaaaaaa",
    "qwertyui",
    "peacetalks1",
    "Password1!",
    "P@ssw0rd!",
    "Summer2025!",
    "ukraine2025",
    "12345678910",
    "iloveyou2",
]


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("password", WEAK_PASSWORDS)
def test_weak_passwords_are_refused_for_every_role(
    session: Session, role: Role, password: str
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        users.create_user(
            session, actor=None, email="p@example.org", display_name="P", role=role,
            password=password,
        )  # fmt: skip
    message = caught.value.errors["password"]
    assert message.startswith("This password is too common or too easy to guess.")
    assert len(message) > len("This password is too common or too easy to guess.")  # advice


def test_a_password_made_of_the_accounts_own_name_is_refused(session: Session) -> None:
    assert users.check_password("ada.lovelace!") is None  # fine for someone else
    with pytest.raises(ValidationFailed) as caught:
        users.create_user(
            session, actor=None, email="ada.lovelace@example.org", display_name="Ada Lovelace",
            role=Role.ADMIN, password="ada.lovelace!",
        )  # fmt: skip
    assert "too easy to guess" in caught.value.errors["password"]


def test_a_password_reset_is_held_to_the_same_rules(session: Session) -> None:
    user = make_user(session, "ed@example.org")
    for weak in ("aaaaaaaa", "qwertyui", "peacetalks1", "ed@example.org"):
        with pytest.raises(ValidationFailed):
            users.reset_password(session, actor=user, user=user, password=weak)
    users.reset_password(session, actor=user, user=user, password="a new long passphrase")
    assert users.verify_password(user.password_hash, "a new long passphrase")


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
