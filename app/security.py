"""Who is asking: signed session cookies, CSRF protection, and the editor and admin guards."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.orm import Session
from starlette.responses import Response

from app.config import get_settings
from app.db import SessionDep
from app.models import Role, User, UserSession
from app.services import users

SESSION_COOKIE = "pt_session"
ANON_CSRF_COOKIE = "pt_csrf"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


class Forbidden(Exception):
    """The request may not do this (403)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class LoginRequired(Exception):
    """An anonymous visitor asked for a page that needs a login: send them to /login."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def _serializer(purpose: str) -> URLSafeSerializer:
    return URLSafeSerializer(get_settings().secret_key, salt=f"peacetalks.{purpose}")


def _unsign(value: str | None, purpose: str) -> str | None:
    if not value:
        return None
    try:
        loaded = _serializer(purpose).loads(value)
    except BadSignature:
        return None
    return loaded if isinstance(loaded, str) else None


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who is looking, as plain values: safe to show on an error page after a rollback."""

    id: int
    display_name: str
    role: Role


@dataclass(slots=True)
class Auth:
    """The request's user (None when anonymous), their session and the CSRF token forms carry."""

    user: User | None
    session: UserSession | None
    session_token: str | None
    csrf_token: str
    new_anonymous_token: bool = False
    viewer: Viewer | None = None

    @property
    def is_admin(self) -> bool:
        return self.user is not None and self.user.role == Role.ADMIN

    def issue_anonymous_token(self) -> str:
        """A token for an anonymous visitor's form (the login form); set_anonymous_cookie sends it."""
        if not self.csrf_token:
            self.csrf_token = secrets.token_urlsafe(32)
            self.new_anonymous_token = True
        return self.csrf_token


async def get_auth(request: Request, db: SessionDep) -> Auth:
    """Resolve the session cookie; the database is asked only when there is one.

    Async, so a reader without a cookie costs no trip through the thread pool.
    """
    token = _unsign(request.cookies.get(SESSION_COOKIE), "session")
    auth: Auth | None = None
    if token:
        auth = await run_in_threadpool(_logged_in, db, token)
    if auth is None:
        # Anonymous readers get no token (their pages have no forms, so they can be cached
        # whole); the login form issues one with issue_anonymous_token().
        anonymous = _unsign(request.cookies.get(ANON_CSRF_COOKIE), "csrf")
        auth = Auth(user=None, session=None, session_token=None, csrf_token=anonymous or "")
    request.state.auth = auth
    return auth


def _logged_in(db: Session, token: str) -> Auth | None:
    settings = get_settings()
    row = users.resolve_session(
        db,
        token=token,
        idle=timedelta(minutes=settings.session_idle_minutes),
        absolute=timedelta(hours=settings.session_max_hours),
    )
    if row is None:
        return None
    user = db.get(User, row.user_id)
    if user is None:
        return None
    return Auth(
        user=user,
        session=row,
        session_token=token,
        csrf_token=row.csrf_token,
        viewer=Viewer(id=user.id, display_name=user.display_name, role=user.role),
    )


AuthDep = Annotated[Auth, Depends(get_auth)]


def _own_origin(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}"


async def csrf_guard(request: Request, auth: AuthDep) -> None:
    """Refuse unsafe requests that are cross-site or lack the session's CSRF token."""
    if request.method in SAFE_METHODS:
        return
    if request.headers.get("sec-fetch-site") == "cross-site":
        raise Forbidden("Cross-site requests are refused.")
    origin = request.headers.get("origin")
    if origin is not None and origin != _own_origin(request):
        raise Forbidden("Requests from another origin are refused.")
    sent = request.headers.get("x-csrf-token")
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        value = (await request.form()).get("csrf_token")
        sent = value if isinstance(value, str) else None
    # Compared as bytes: compare_digest refuses str with non-ASCII characters (a TypeError).
    if not sent or not hmac.compare_digest(
        sent.encode("utf-8", "surrogatepass"), auth.csrf_token.encode()
    ):
        raise Forbidden(
            "The form's security token is missing or out of date; reload the page and try again."
        )


async def reader_guard(request: Request, auth: AuthDep) -> None:
    """With `require_login_to_read`, anonymous visitors must log in first."""
    if get_settings().require_login_to_read and auth.user is None:
        if request.url.path.startswith("/api/"):
            raise Forbidden("Log in to read.")
        raise LoginRequired(_here(request))


def _here(request: Request) -> str:
    return request.url.path + (f"?{request.url.query}" if request.url.query else "")


async def require_editor(request: Request, auth: AuthDep) -> User:
    """The logged-in editor or admin; anonymous GETs go to login, anonymous writes get 403."""
    if auth.user is None:
        if request.method in SAFE_METHODS:
            raise LoginRequired(_here(request))
        raise Forbidden("Log in to make changes.")
    return auth.user


async def require_admin(user: Annotated[User, Depends(require_editor)]) -> User:
    """The logged-in admin; editors get 403."""
    if user.role != Role.ADMIN:
        raise Forbidden("Only an admin can do this.")
    return user


EditorDep = Annotated[User, Depends(require_editor)]
AdminDep = Annotated[User, Depends(require_admin)]


def login_url(next_path: str) -> str:
    """/login, remembering where to go back to."""
    return f"/login?next={quote(next_path, safe='/')}"


def safe_next(value: str | None) -> str:
    """A local path to go to after login (never another site)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


def set_session_cookie(response: Response, token: str) -> None:
    """Hand the browser its signed session id."""
    settings = get_settings()
    response.set_cookie(
        SESSION_COOKIE,
        _serializer("session").dumps(token),
        max_age=settings.session_max_hours * 3600,
        httponly=True,
        samesite="lax",
        secure=settings.https_only,
        path="/",
    )
    response.delete_cookie(ANON_CSRF_COOKIE, path="/")


def clear_session_cookie(response: Response) -> None:
    """Forget the session cookie in the browser."""
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=get_settings().https_only
    )


FLASH_COOKIE = "pt_flash"
FLASH_SECONDS = 120
MEMORY_COOKIE = "pt_memory"
"""The quote form's last used party and language, kept for the browser session."""


@dataclass(frozen=True, slots=True)
class Flash:
    """A one-time message for the page a save lands on: text, and a link to what was saved."""

    text: str
    href: str = ""
    link: str = ""


def _set_signed(response: Response, name: str, value: object, max_age: int | None) -> None:
    response.set_cookie(
        name,
        _serializer(name).dumps(value),
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=get_settings().https_only,
        path="/",
    )


def _read_signed(request: Request, name: str) -> object:
    value = request.cookies.get(name)
    if not value:
        return None
    try:
        return _serializer(name).loads(value)
    except BadSignature:
        return None


def set_flash(response: Response, flash: Flash) -> None:
    """Carry `flash` to the next page the browser shows (signed; the page deletes it)."""
    _set_signed(response, FLASH_COOKIE, [flash.text, flash.href, flash.link], FLASH_SECONDS)


def read_flash(request: Request) -> Flash | None:
    """The flash this request carries, if its signature holds; None otherwise."""
    loaded = _read_signed(request, FLASH_COOKIE)
    if not (isinstance(loaded, list) and len(loaded) == 3):
        return None
    text, href, link = (str(v) for v in loaded)
    return Flash(text=text, href=href if href.startswith("/") else "", link=link)


def remember_choices(response: Response, choices: dict[str, str]) -> None:
    """Keep a form's last used choices (party, language) until the browser closes."""
    _set_signed(response, MEMORY_COOKIE, choices, None)


def remembered_choices(request: Request) -> dict[str, str]:
    """The choices remember_choices kept, or {}."""
    loaded = _read_signed(request, MEMORY_COOKIE)
    if not isinstance(loaded, dict):
        return {}
    return {str(k): str(v) for k, v in loaded.items()}


def set_anonymous_cookie(response: Response, auth: Auth) -> None:
    """Send an anonymous visitor the signed token their login form was rendered with."""
    if auth.new_anonymous_token:
        response.set_cookie(
            ANON_CSRF_COOKIE,
            _serializer("csrf").dumps(auth.csrf_token),
            httponly=True,
            samesite="lax",
            secure=get_settings().https_only,
            path="/",
        )
