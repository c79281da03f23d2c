"""Logging in for real in tests: create a user through the service, then POST the login form."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.models import Role, User
from app.services import users
from tests.conftest import csrf_token

PASSWORD = "correct horse battery"


def make_user(
    session: Session, email: str = "editor@example.org", role: Role = Role.EDITOR
) -> User:
    """A user with the shared test password."""
    return users.create_user(
        session,
        actor=None,
        email=email,
        display_name=email.split("@")[0].title(),
        role=role,
        password=PASSWORD,
    )


def login(client: TestClient, email: str, password: str = PASSWORD) -> None:
    """Log the client in through the form, asserting it worked."""
    response = client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": csrf_token(client), "next": "/"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
