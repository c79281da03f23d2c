"""Users, passwords, sessions and login throttling."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from app.models import LoginAttempt, Role, User, UserSession
from app.services import audit
from app.services.errors import NotFound, ValidationFailed

MIN_PASSWORD = 8
MAX_PASSWORD = 1024  # far above any real passphrase; argon2 hashes it whole, nothing is truncated
COMMON_PASSWORDS = frozenset(
    {
        "password", "password1", "password123", "12345678", "123456789", "1234567890",
        "qwertyuiop", "qwerty123", "iloveyou", "11111111", "00000000", "abc12345",
        "letmein1", "welcome1", "admin123", "passw0rd", "sunshine", "football",
        "baseball", "princess", "trustno1", "changeme", "peacetalks",
    }
)  # fmt: skip

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters


def utcnow() -> datetime:
    """The current time in UTC."""
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """A stored timestamp as aware UTC (SQLite gives back naive values)."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def check_password(password: str) -> str | None:
    """Why a new password is refused, or None when it is acceptable."""
    if len(password) < MIN_PASSWORD:
        return f"Use at least {MIN_PASSWORD} characters."
    if len(password) > MAX_PASSWORD:
        return f"Use at most {MAX_PASSWORD} characters."
    if password.lower() in COMMON_PASSWORDS:
        return "This password is too common; choose another."
    return None


def hash_password(password: str) -> str:
    """An argon2id hash of the password."""
    return _hasher.hash(password)


@lru_cache
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when the password matches; with no hash, spends the same time and says False."""
    try:
        return (
            _hasher.verify(password_hash or _dummy_hash(), password) and password_hash is not None
        )
    except (VerificationError, InvalidHashError):
        return False


def normalise_email(email: str) -> str:
    """Emails compare case-insensitively and without surrounding space."""
    return email.strip().lower()


def create_user(
    session: Session,
    *,
    actor: User | None,
    email: str,
    display_name: str,
    role: Role,
    password: str,
) -> User:
    """Add a user after checking the email, the name and the password."""
    email = normalise_email(email)
    errors: dict[str, str] = {}
    if "@" not in email or len(email) > 320 or email.startswith("@") or email.endswith("@"):
        errors["email"] = "Enter an email address."
    elif session.scalar(select(User.id).where(User.email == email)) is not None:
        errors["email"] = "A user with this email exists."
    if not display_name.strip() or len(display_name) > 200:
        errors["display_name"] = "Enter a name of at most 200 characters."
    problem = check_password(password)
    if problem:
        errors["password"] = problem
    if errors:
        raise ValidationFailed(errors)
    user = User(
        email=email,
        display_name=display_name.strip(),
        role=role,
        password_hash=hash_password(password),
    )
    session.add(user)
    audit.record(session, actor=actor, action="create", entity=user)
    return user


def list_users(session: Session) -> list[User]:
    """Every user, by email."""
    return list(session.scalars(select(User).order_by(User.email)))


def get_user_by_email(session: Session, *, email: str) -> User:
    """The user with this email, or NotFound."""
    user = session.scalar(select(User).where(User.email == normalise_email(email)))
    if user is None:
        raise NotFound("user", email)
    return user


def set_active(session: Session, *, actor: User | None, user: User, active: bool) -> User:
    """Enable or disable a user; disabling ends every session of theirs at once."""
    before = audit.snapshot(user)
    user.active = active
    if not active:
        session.execute(delete(UserSession).where(UserSession.user_id == user.id))
    audit.record(session, actor=actor, action="update", entity=user, before=before)
    return user


class Throttled(Exception):
    """Too many failed logins; retry after `retry_after` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"retry after {retry_after} s")
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class LoginLimits:
    """How many failures are allowed per account and per client within a window."""

    per_account: int
    per_client: int
    window: timedelta


def _check_throttle(session: Session, *, email: str, client: str, limits: LoginLimits) -> None:
    now = utcnow()
    since = now - limits.window
    for column, value, limit in (
        (LoginAttempt.email, email, limits.per_account),
        (LoginAttempt.client, client, limits.per_client),
    ):
        count, oldest = session.execute(
            select(func.count(), func.min(LoginAttempt.at)).where(
                column == value, LoginAttempt.at >= since
            )
        ).one()
        if count >= limit and oldest is not None:
            retry = as_utc(oldest) + limits.window - now
            raise Throttled(max(1, int(retry.total_seconds()) + 1))


def authenticate(
    session: Session, *, email: str, password: str, client: str, limits: LoginLimits
) -> User | None:
    """The active user with these credentials, or None; raises Throttled while locked out.

    Unknown emails, wrong passwords and disabled users look the same and take the same time.
    """
    email = normalise_email(email)[:320]
    _check_throttle(session, email=email, client=client, limits=limits)
    user = session.scalar(select(User).where(User.email == email))
    ok = verify_password(user.password_hash if user else None, password)
    if user is None or not ok or not user.active:
        session.add(LoginAttempt(email=email, client=client[:64], at=utcnow()))
        session.flush()
        return None
    session.execute(delete(LoginAttempt).where(LoginAttempt.email == email))
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(session: Session, *, user: User) -> tuple[str, UserSession]:
    """A new session for the user: returns the raw token (for the cookie) and the stored row."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    row = UserSession(
        id_hash=_digest(token),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        last_seen_at=now,
    )
    session.add(row)
    session.flush()
    return token, row


def resolve_session(
    session: Session, *, token: str, idle: timedelta, absolute: timedelta
) -> UserSession | None:
    """The live session for a raw token (touching its last use), or None if unknown or expired."""
    row = session.scalar(select(UserSession).where(UserSession.id_hash == _digest(token)))
    if row is None:
        return None
    now = utcnow()
    if now - as_utc(row.last_seen_at) > idle or now - as_utc(row.created_at) > absolute:
        session.delete(row)
        session.flush()
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    if now - as_utc(row.last_seen_at) > timedelta(minutes=1):
        row.last_seen_at = now  # at most one write a minute per session
    return row


def end_session(session: Session, *, token: str) -> None:
    """Forget a session for good: its cookie, replayed later, is anonymous."""
    session.execute(delete(UserSession).where(UserSession.id_hash == _digest(token)))


# --- Admin user management -------------------------------------------------------------------


def get_user(session: Session, *, user_id: int) -> User:
    """The user with this id, or NotFound."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("user", user_id)
    return user


def update_user(
    session: Session,
    *,
    actor: User,
    user: User,
    expected_version: int,
    display_name: str,
    role: Role,
) -> User:
    """Change a user's display name or role; an admin cannot take away their own admin role."""
    from app.services.catalog import check_version

    check_version(user, expected_version)
    errors: dict[str, str] = {}
    if not display_name.strip() or len(display_name) > 200:
        errors["display_name"] = "Enter a name of at most 200 characters."
    if user.id == actor.id and role != user.role:
        errors["role"] = "You cannot change your own role; ask another admin."
    if errors:
        raise ValidationFailed(errors)
    before = audit.snapshot(user)
    user.display_name = display_name.strip()
    user.role = role
    audit.record(session, actor=actor, action="update", entity=user, before=before)
    return user


def change_active(session: Session, *, actor: User, user: User, active: bool) -> User:
    """Enable or disable another user (disabling ends their sessions); never one's own account."""
    if user.id == actor.id and not active:
        raise ValidationFailed({"active": "You cannot disable your own account."})
    if user.active == active:
        return user
    return set_active(session, actor=actor, user=user, active=active)


def reset_password(session: Session, *, actor: User, user: User, password: str) -> User:
    """Give a user a new password (same rules as at creation) and end their sessions."""
    problem = check_password(password)
    if problem:
        raise ValidationFailed({"password": problem})
    before = audit.snapshot(user)
    user.password_hash = hash_password(password)
    session.execute(delete(UserSession).where(UserSession.user_id == user.id))
    audit.record(session, actor=actor, action="update", entity=user, before=before)
    return user
