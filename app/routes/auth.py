"""Login and logout."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from app.config import get_settings
from app.db import SessionDep
from app.security import (
    AuthDep,
    clear_session_cookie,
    safe_next,
    set_anonymous_cookie,
    set_session_cookie,
)
from app.services import users
from app.templating import render

router = APIRouter(tags=["auth"])

WRONG_CREDENTIALS = "Email or password is incorrect, or the account is disabled."


def _client(request: Request) -> str:
    """The client's address: the connecting peer, or whom a trusted proxy names (TRUSTED_PROXIES)."""
    return request.client.host if request.client else "unknown"


@router.get("/login", response_class=HTMLResponse, summary="Log in")
def login_form(request: Request, auth: AuthDep, next: str | None = None) -> Response:
    """The login form; a logged-in user goes straight on."""
    if auth.user is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    token = auth.issue_anonymous_token()
    response = render(
        request,
        "auth/login.html",
        {"next": safe_next(next), "email": "", "error": None, "csrf_token": token},
    )
    set_anonymous_cookie(response, auth)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/login", response_class=HTMLResponse, summary="Log in")
def login(
    request: Request,
    db: SessionDep,
    auth: AuthDep,
    email: Annotated[str, Form(max_length=400)] = "",
    password: Annotated[str, Form(max_length=4096)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    """Check the credentials (throttled per account and client address), then start a fresh
    session."""
    settings = get_settings()
    limits = users.LoginLimits(
        per_account=settings.login_failures_per_account,
        per_client=settings.login_failures_per_client,
        window=timedelta(minutes=settings.login_window_minutes),
    )
    user = users.authenticate(
        db, email=email, password=password, client=_client(request), limits=limits
    )
    if user is None:
        return render(
            request,
            "auth/login.html",
            {"next": safe_next(next), "email": email, "error": WRONG_CREDENTIALS},
            status_code=401,
        )
    if auth.session_token:
        users.end_session(db, token=auth.session_token)  # a new id at every login
    token, _ = users.start_session(db, user=user)
    response = RedirectResponse(safe_next(next), status_code=303)
    set_session_cookie(response, token)
    return response


@router.post("/logout", summary="Log out")
def logout(db: SessionDep, auth: AuthDep) -> Response:
    """End the session for good and forget the cookie."""
    if auth.session_token:
        users.end_session(db, token=auth.session_token)
    response = RedirectResponse("/", status_code=303)
    clear_session_cookie(response)
    return response
