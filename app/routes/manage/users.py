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
    options,
    parse_or_refuse,
)
from app.models import Role, User
from app.routes.manage.shared import Errors, Managed, Values, add_routes, by_id, router
from app.security import AdminDep, require_admin
from app.services import users
from app.services.errors import ValidationFailed
from app.templating import redirect_after_post, render

LIST_URL = "/manage/users"


def _values(session: Session, user: User) -> dict[str, str]:
    return {
        "display_name": user.display_name,
        "role": user.role.value,
        "version": str(user.version),
    }


def _update(session: Session, actor: User, user: User, version: int, data: Values) -> None:
    form = parse_or_refuse(UserForm, data)
    users.update_user(
        session, actor=actor, user=user, expected_version=version, **form.model_dump()
    )


def _edit_page(
    request: Request,
    target: User,
    me: User,
    values: Mapping[str, str],
    errors: Errors = None,
    *,
    password_errors: Errors = None,
    fragment: str = "manage/_user_form.html",
) -> HTMLResponse:
    """Name and role, then a new password: one page, two forms (htmx swaps the one posted)."""
    context = {
        "target": target,
        "me": me,
        "action": f"{LIST_URL}/{target.id}/edit",
        "password_action": f"{LIST_URL}/{target.id}/password",
        "values": values,
        "errors": errors or {},
        "password_errors": password_errors or {},
        "roles": options(ROLE_LABELS),
        "min_password": users.MIN_PASSWORD,
    }
    status = 422 if errors or password_errors else 200
    return render(request, "manage/user_edit.html", context, fragment=fragment, status_code=status)


USERS = Managed[User](
    noun="user",
    plural="users",
    guard=require_admin,
    fragment="manage/_user_new_form.html",
    param="user_id",
    find=by_id(users.get_user, "user_id"),
    key=lambda user: str(user.id),
    title=lambda user: user.display_name,
    values=_values,
    labels=[("display_name", "Display name"), ("role", "Role")],
    add=lambda session, actor, data: users.create_user(
        session, actor=actor, **parse_or_refuse(NewUserForm, data).model_dump()
    ),
    update=_update,
    choices=lambda session, user, values: {
        "roles": options(ROLE_LABELS),
        "min_password": users.MIN_PASSWORD,
    },
    defaults=lambda session: {"role": Role.EDITOR.value},
    edit_page=_edit_page,
)


def _list_page(
    request: Request, session: Session, *, me: User, error: str | None = None
) -> HTMLResponse:
    context = {"users": users.list_users(session), "me": me, "error": error}
    return render(request, "manage/users.html", context, status_code=422 if error else 200)


@router.get("/users", response_class=HTMLResponse, summary="Users")
def list_users(request: Request, session: SessionDep, admin: AdminDep) -> HTMLResponse:
    """Every user: email, name, role and whether they can log in."""
    return _list_page(request, session, me=admin)


add_routes(USERS)


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
        values = _values(session, target)
        return _edit_page(request, target, admin, values, password_errors=exc.errors, fragment="manage/_password_form.html")  # fmt: skip
    return redirect_after_post(request, LIST_URL)


@router.post("/users/{user_id}/active", response_class=HTMLResponse, summary="Enable or disable")
def change_active(
    request: Request, session: SessionDep, admin: AdminDep, data: FormDep, user_id: int
) -> Response:
    """Enable or disable a user; disabling ends their sessions. Admins cannot disable themselves."""
    target, active = users.get_user(session, user_id=user_id), data.get("active") == "true"
    try:
        users.change_active(session, actor=admin, user=target, active=active)
    except ValidationFailed as exc:
        return _list_page(request, session, me=admin, error=exc.errors.get("active"))
    return redirect_after_post(request, LIST_URL)
