"""One request, one transaction: a commit that fails becomes an error response, never a false
"saved"; a request whose database was busy runs again, and a 503 with Retry-After answers one
that stayed busy."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from app.db import ATTEMPTS, SessionDep
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


def _locked(tmp_path: Path) -> OperationalError:
    """A real "database is locked" from SQLite: a second writer that will not wait."""
    path = tmp_path / "locked.db"
    holder = sqlite3.connect(path, isolation_level=None)
    other = sqlite3.connect(path, isolation_level=None, timeout=0)
    try:
        holder.execute("BEGIN IMMEDIATE")
        try:
            other.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            return OperationalError("BEGIN IMMEDIATE", {}, exc)
        raise AssertionError("the second writer got the lock")
    finally:
        holder.close()
        other.close()


def test_a_request_that_met_a_busy_database_runs_again_with_its_body(
    app: FastAPI, tmp_path: Path
) -> None:
    locked = _locked(tmp_path)
    seen: list[str] = []

    @app.post("/_test/busy-twice")
    async def busy_twice(request: Request) -> dict[str, str]:
        form = await request.form()
        seen.append(str(form["note"]))
        if len(seen) < 3:
            raise locked
        return {"status": "saved", "note": str(form["note"])}

    with TestClient(app, raise_server_exceptions=False) as client:
        token = csrf_token(client)
        response = client.post(
            "/_test/busy-twice", data={"note": "kept"}, headers={"X-CSRF-Token": token}
        )
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "saved", "note": "kept"}
    assert seen == ["kept", "kept", "kept"]


def test_a_database_busy_to_the_last_run_answers_503_with_retry_after(
    app: FastAPI, tmp_path: Path
) -> None:
    locked = _locked(tmp_path)
    runs: list[int] = []

    @app.post("/_test/always-busy")
    def always_busy() -> dict[str, str]:
        runs.append(1)
        raise locked

    @app.post("/_test/other-operational-error")
    def broken() -> dict[str, str]:
        raise OperationalError("SELECT", {}, sqlite3.OperationalError("no such table: nowhere"))

    with TestClient(app, raise_server_exceptions=False) as client:
        token = csrf_token(client)
        busy = client.post("/_test/always-busy", headers={"X-CSRF-Token": token})
        other = client.post("/_test/other-operational-error", headers={"X-CSRF-Token": token})
    assert busy.status_code == 503
    assert busy.headers["retry-after"].isdigit()
    assert "nothing was saved" in busy.text
    assert len(runs) == ATTEMPTS
    assert other.status_code == 500  # not a busy database: no second run, no 503
