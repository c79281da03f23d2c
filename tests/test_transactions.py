"""One request, one transaction: a commit that fails becomes an error response, never a false
"saved"; a request whose database was busy runs again, and a 503 with Retry-After answers one
that stayed busy. In tests each request has a session of its own, as in production."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, selectinload

from app.db import ATTEMPTS, SessionDep
from app.models import Party, PartyKind, Quote
from tests import builders as b
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


def test_each_request_has_a_session_of_its_own_so_a_missing_eager_load_fails_as_in_production(
    app: FastAPI, session: Session
) -> None:
    # The test's own session has the quote's party loaded; a request must not see that.
    quote = b.quote(session, b.party(session, "lazy"), b.issue(session))
    options = [selectinload(Quote.party)]
    assert session.get(Quote, quote.id, options=options, populate_existing=True) is quote
    assert quote.party.slug == "lazy"
    seen: list[Session] = []

    @app.get("/_test/quote-party/{quote_id}")
    def quote_party(quote_id: int, db: SessionDep, eager: bool = False) -> dict[str, str]:
        seen.append(db)
        options = [selectinload(Quote.party)] if eager else []
        loaded = db.get(Quote, quote_id, options=options)
        assert loaded is not None
        return {"party": loaded.party.slug}

    with TestClient(app, raise_server_exceptions=False) as client:
        lazy = client.get(f"/_test/quote-party/{quote.id}")
        eager = client.get(f"/_test/quote-party/{quote.id}?eager=true")
    assert lazy.status_code == 500  # lazy="raise_on_sql": the route forgot to load the party
    assert eager.status_code == 200 and eager.json() == {"party": "lazy"}
    assert len(seen) == 2 and session not in seen and seen[0] is not seen[1]


def test_after_a_request_the_test_reads_what_it_committed_without_expiring_by_hand(
    app: FastAPI, session: Session
) -> None:
    party = b.party(session, "before", name="Before")

    @app.post("/_test/rename/{slug}")
    def rename(slug: str, db: SessionDep) -> dict[str, str]:
        # Plain SQL: nothing tells the test's session, as nothing would tell another process.
        db.execute(text("UPDATE parties SET name = 'After' WHERE slug = :slug"), {"slug": slug})
        return {"status": "saved"}

    @app.post("/_test/rename-and-fail/{slug}")
    def rename_and_fail(slug: str, db: SessionDep) -> dict[str, str]:
        db.execute(text("UPDATE parties SET name = 'Lost' WHERE slug = :slug"), {"slug": slug})
        raise RuntimeError("after the write")

    with TestClient(app, raise_server_exceptions=False) as client:
        token = csrf_token(client)
        assert client.post("/_test/rename/before", headers={"X-CSRF-Token": token}).json()
        assert party.name == "After"  # read again from the database, not the stale "Before"
        failed = client.post("/_test/rename-and-fail/before", headers={"X-CSRF-Token": token})
    assert failed.status_code == 500
    assert party.name == "After"  # the failed request rolled back its own savepoint only


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
