"""Managing the users (admins): list, add, edit, reset a password, enable or disable."""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import Request
from sqlalchemy.orm import Session
from starlette.responses import HTMLResponse, Response

from app.db import SessionDep
from app.forms import (
    ROLE_LABELS,
    FormDep,
    NewUserForm,
    PasswordForm,
    UserForm,
    form_version,
    options,
    parse_or_refuse,
)
from app.models import Role, User
from app.routes.manage.shared import conflict, form_page, router
from app.security import AdminDep
from app.services import catalog, users
from app.services.errors import EditConflict, ValidationFailed
from app.templating import redirect_after_post, render

LIST_URL = "/manage/users"
FIELDS = [("display_name", "Display name"), ("role", "Role")]


def _values(user: User) -> dict[str, str]:
    return {
        "display_name": user.display_name,
        "role": user.role.value,
        "version": str(user.version),
    }


def _list_page(
    request: Request,
    session: Session,
    *,
    me: User,
    error: str | None = None,
) -> HTMLResponse:
    return render(
        request,
        "manage/users.html",
        {"users": users.list_users(session), "me": me, "error": error},
        status_code=422 if error else 200,
    )


def _new_form(
    request: Request, *, values: Mapping[str, str], errors: Mapping[str, str] | None = None
) -> HTMLResponse:
    safe_values = {k: v for k, v in values.items() if k != "password"}  # never echo a password
    return form_page(
        request,
        fragment="manage/_user_new_form.html",
        heading="Add a user",
        back=(LIST_URL, "Users"),
        context={
            "action": f"{LIST_URL}/new",
            "values": safe_values,
            "roles": options(ROLE_LABELS),
            "min_password": users.MIN_PASSWORD,
        },
        errors=errors,
    )


def _edit_page(
    request: Request,
    *,
    target: User,
    me: User,
    values: Mapping[str, str],
    errors: Mapping[str, str] | None = None,
    password_errors: Mapping[str, str] | None = None,
    fragment: str = "manage/_user_form.html",
) -> HTMLResponse:
    return render(
        request,
        "manage/user_edit.html",
        {
            "target": target,
            "me": me,
            "action": f"{LIST_URL}/{target.id}/edit",
            "password_action": f"{LIST_URL}/{target.id}/password",
            "values": values,
            "errors": errors or {},
            "password_errors": password_errors or {},
            "roles": options(ROLE_LABELS),
            "min_password": users.MIN_PASSWORD,
        },
        fragment=fragment,
        status_code=422 if errors or password_errors else 200,
    )


@router.get("/users", response_class=HTMLResponse, summary="Users")
def list_users(request: Request, session: SessionDep, admin: AdminDep) -> HTMLResponse:
    """Every user: email, name, role and whether they can log in."""
    return _list_page(request, session, me=admin)


@router.get("/users/new", response_class=HTMLResponse, summary="Add a user")
def new_user_form(request: Request, admin: AdminDep) -> HTMLResponse:
    """The empty add-user form."""
    return _new_form(request, values={"role": Role.EDITOR.value})


@router.post("/users/new", response_class=HTMLResponse, summary="Add a user")
def create_user(request: Request, session: SessionDep, admin: AdminDep, data: FormDep) -> Response:
    """Add a user (password rules of users.create_user), or show the form again."""
    try:
        form = parse_or_refuse(NewUserForm, data)
        users.create_user(session, actor=admin, **form.model_dump())
    except ValidationFailed as exc:
        return _new_form(request, values=data, errors=exc.errors)
    return redirect_after_post(request, LIST_URL)


@router.get("/users/{user_id}/edit", response_class=HTMLResponse, summary="Edit a user")
def edit_user_form(
    request: Request, session: SessionDep, admin: AdminDep, user_id: int
) -> HTMLResponse:
    """A user's name and role, and a new password."""
    target = users.get_user(session, user_id=user_id)
    return _edit_page(request, target=target, me=admin, values=_values(target))


@router.post("/users/{user_id}/edit", response_class=HTMLResponse, summary="Edit a user")
def update_user(
    request: Request, session: SessionDep, admin: AdminDep, data: FormDep, user_id: int
) -> Response:
    """Save a user's name or role; refuse a stale version with 409."""
    target = users.get_user(session, user_id=user_id)
    try:
        catalog.check_version(target, form_version(data))  # stale beats invalid
        form = parse_or_refuse(UserForm, data)
        users.update_user(
            session,
            actor=admin,
            user=target,
            expected_version=form_version(data),
            display_name=form.display_name,
            role=form.role,
        )
    except EditConflict as exc:
        stored = _values(users.get_user(session, user_id=user_id))
        raise conflict(exc, title="user", labels=FIELDS, current=stored, submitted=data, retry_url=f"{LIST_URL}/{user_id}/edit") from None  # fmt: skip
    except ValidationFailed as exc:
        return _edit_page(request, target=target, me=admin, values=data, errors=exc.errors)
    return redirect_after_post(request, LIST_URL)


@router.post("/users/{user_id}/password", response_class=HTMLResponse, summary="Reset a password")
def reset_password(
    request: Request, session: SessionDep, admin: AdminDep, data: FormDep, user_id: int
) -> Response:
    """Set a new password for a user (their sessions end)."""
    target = users.get_user(session, user_id=user_id)
    try:
        form = parse_or_refuse(PasswordForm, data)
        users.reset_password(session, actor=admin, user=target, password=form.password)
    except ValidationFailed as exc:
        return _edit_page(
            request,
            target=target,
            me=admin,
            values=_values(target),
            password_errors=exc.errors,
            fragment="manage/_password_form.html",
        )
    return redirect_after_post(request, LIST_URL)


@router.post("/users/{user_id}/active", response_class=HTMLResponse, summary="Enable or disable")
def change_active(
    request: Request, session: SessionDep, admin: AdminDep, data: FormDep, user_id: int
) -> Response:
    """Enable or disable a user; disabling ends their sessions. Admins cannot disable themselves."""
    target = users.get_user(session, user_id=user_id)
    try:
        users.change_active(session, actor=admin, user=target, active=data.get("active") == "true")
    except ValidationFailed as exc:
        return _list_page(request, session, me=admin, error=exc.errors.get("active"))
    return redirect_after_post(request, LIST_URL)
