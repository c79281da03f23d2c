"""Users, passwords, sessions and login throttling."""

from __future__ import annotations

import hashlib
import ipaddress
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session
from zxcvbn import zxcvbn

from app.forms import MAX_PASSWORD
from app.models import LoginAttempt, Role, User, UserSession
from app.services import audit
from app.services.errors import NotFound, Throttled, ValidationFailed

MIN_PASSWORD = 8
MIN_PASSWORD_SCORE = 3
"""zxcvbn's score (0-4) a new password needs: 3 is "safely unguessable", over 10^8 guesses."""
STRENGTH_CHECKED_CHARS = 72  # zxcvbn refuses longer input; a strong start makes a strong password
SITE_WORDS = ("peacetalks", "peace", "talks", "ukraine", "russia", "ceasefire")
"""Words anyone guessing a password for this site tries first."""

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters


def utcnow() -> datetime:
    """The current time in UTC."""
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """A stored timestamp as aware UTC (SQLite gives back naive values)."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def check_password(password: str, *, user_inputs: tuple[str, ...] = ()) -> str | None:
    """Why a new password is refused, or None when it is acceptable.

    Strength is zxcvbn's estimate, which knows common passwords, names, words, keyboard runs,
    repeats, sequences and dates, and `user_inputs` (the account's email and name).
    """
    if len(password) < MIN_PASSWORD:
        return f"Use at least {MIN_PASSWORD} characters."
    if len(password) > MAX_PASSWORD:
        return f"Use at most {MAX_PASSWORD} characters."
    words = [*SITE_WORDS, *(part for value in user_inputs for part in _word_parts(value))]
    result = zxcvbn(password[:STRENGTH_CHECKED_CHARS], user_inputs=words)
    if result["score"] >= MIN_PASSWORD_SCORE:
        return None
    feedback = result["feedback"]
    hints = [feedback["warning"], *feedback["suggestions"]]
    advice = " ".join(hint for hint in hints if hint) or "Add another word or two."
    return f"This password is too common or too easy to guess. {advice}"


def _word_parts(value: str) -> list[str]:
    """An email or a name as the words someone would build a password from."""
    lowered = value.strip().lower()
    local = lowered.split("@", 1)[0]
    parts = [lowered, local, *lowered.replace("@", " ").replace(".", " ").split()]
    return [part for part in parts if len(part) >= 3]


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
    problem = check_password(password, user_inputs=(email, display_name))
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


FIRST_WAIT = timedelta(seconds=30)
LONGEST_WAIT = timedelta(hours=1)
FAILURE_MEMORY = timedelta(days=1)
"""How long failures on an account from an address count towards its waits."""


@dataclass(frozen=True, slots=True)
class LoginLimits:
    """Failures one address may make on one account before waits begin, and on any accounts
    within a window before it is refused."""

    per_account: int
    per_client: int
    window: timedelta


def client_key(host: str) -> str:
    """The address failures are counted against: an IPv4 address, or an IPv6 client's /64
    (one subscriber's usual allocation, so hopping within it gains nothing)."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host[:64]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def wait_after(failures: int, limits: LoginLimits) -> timedelta:
    """How long after its latest failure one address must wait to try one account again:
    nothing for the first `per_account` failures, then 30 s doubling to at most an hour."""
    beyond = failures - limits.per_account
    if beyond < 0:
        return timedelta(0)
    return min(LONGEST_WAIT, FIRST_WAIT * (1 << min(beyond, 16)))


def _retry_seconds(until: datetime, now: datetime) -> int:
    return max(1, int((until - now).total_seconds()) + 1)


def _take_turn(session: Session, *, client: str, now: datetime, limits: LoginLimits) -> None:
    """Make one address's login attempts run one at a time, so each counts those before it."""
    if session.get_bind().dialect.name == "postgresql":
        digest = hashlib.blake2b(f"login:{client}".encode(), digest_size=8).digest()
        session.execute(
            select(func.pg_advisory_xact_lock(int.from_bytes(digest, "big", signed=True)))
        )
    # Forgetting this address's old failures is a write: on SQLite it takes the database's
    # write lock, which (as the transaction's first statement) serialises attempts the same way.
    forget_before = now - max(FAILURE_MEMORY, limits.window)
    session.execute(
        delete(LoginAttempt).where(LoginAttempt.client == client, LoginAttempt.at < forget_before)
    )


def _check_throttle(
    session: Session, *, email: str, client: str, limits: LoginLimits, now: datetime
) -> None:
    """Raise Throttled while this address must wait before trying this account (or any)."""
    failures, latest = session.execute(
        select(func.count(), func.max(LoginAttempt.at)).where(
            LoginAttempt.email == email,
            LoginAttempt.client == client,
            LoginAttempt.at >= now - FAILURE_MEMORY,
        )
    ).one()
    if latest is not None:
        until = as_utc(latest) + wait_after(failures, limits)
        if until > now:
            raise Throttled(_retry_seconds(until, now))
    failures, oldest = session.execute(
        select(func.count(), func.min(LoginAttempt.at)).where(
            LoginAttempt.client == client, LoginAttempt.at >= now - limits.window
        )
    ).one()
    if failures >= limits.per_client and oldest is not None:
        raise Throttled(_retry_seconds(as_utc(oldest) + limits.window, now))


def authenticate(
    session: Session, *, email: str, password: str, client: str, limits: LoginLimits
) -> User | None:
    """The active user with these credentials, or None; raises Throttled while `client` (the
    request's address) must wait.

    Failures are counted per account and address together: guesses from one address slow down,
    while the account's owner elsewhere logs in as usual. Unknown emails, wrong passwords and
    disabled users look the same and take the same time.
    """
    email = normalise_email(email)[:320]
    client = client_key(client)
    now = utcnow()
    _take_turn(session, client=client, now=now, limits=limits)
    _check_throttle(session, email=email, client=client, limits=limits, now=now)
    user = session.scalar(select(User).where(User.email == email))
    ok = verify_password(user.password_hash if user else None, password)
    if user is None or not ok or not user.active:
        session.add(LoginAttempt(email=email, client=client, at=now))
        session.flush()
        return None
    session.execute(
        delete(LoginAttempt).where(LoginAttempt.email == email, LoginAttempt.client == client)
    )
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
    from app.services.catalog import check_version, versioned_write

    check_version(user, expected_version)
    errors: dict[str, str] = {}
    if not display_name.strip() or len(display_name) > 200:
        errors["display_name"] = "Enter a name of at most 200 characters."
    if user.id == actor.id and role != user.role:
        errors["role"] = "You cannot change your own role; ask another admin."
    if errors:
        raise ValidationFailed(errors)
    with versioned_write(session, user):
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
    problem = check_password(password, user_inputs=(user.email, user.display_name))
    if problem:
        raise ValidationFailed({"password": problem})
    before = audit.snapshot(user)
    user.password_hash = hash_password(password)
    session.execute(delete(UserSession).where(UserSession.user_id == user.id))
    audit.record(session, actor=actor, action="update", entity=user, before=before)
    return user
