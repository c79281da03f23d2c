"""One request, one transaction: a commit that fails becomes an error response, never a false "saved"."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db import SessionDep
from app.models import Party, PartyKind
from tests.conftest import csrf_token


def test_failing_commit_produces_an_error_response(app: FastAPI, session: Session) -> None:
    @app.post("/_test/duplicate-party")
    def duplicate_party(db: SessionDep) -> dict[str, str]:
        # Two parties with one slug: nothing fails until the dependency commits after the route.
        db.add(Party(slug="dup", name="One", short_name="1", kind=PartyKind.STATE))
        db.add(Party(slug="dup", name="Two", short_name="2", kind=PartyKind.STATE))
        return {"status": "saved"}

    with TestClient(app, raise_server_exceptions=False) as client:
        token = csrf_token(client)
        response = client.post("/_test/duplicate-party", headers={"X-CSRF-Token": token})
    assert response.status_code == 500
    assert "saved" not in response.text
    assert session.scalar(select(func.count()).select_from(Party).where(Party.slug == "dup")) == 0
