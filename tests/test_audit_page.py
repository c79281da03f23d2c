"""The audit log page: editors only, newest first, filters in the URL, readable and escaped diffs."""

from __future__ import annotations

import re

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import AuditEntry, Role
from app.routes import audit as audit_routes
from app.services import catalog, users
from tests.test_manage import XSS, Browser, log_in, make_user


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cheap argon2id parameters: these tests exercise the page, not the hash's cost."""
    monkeypatch.setattr(
        users, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


@pytest.fixture
def editor(client: TestClient, seeded: Session) -> Browser:
    seeded.commit()
    return log_in(client, make_user(seeded, Role.EDITOR, "editor@example.org"))


def rows(html: str) -> list[str]:
    """The ids of the audit entries listed, in page order."""
    return re.findall(r'<tr id="audit-(\d+)"', html)


def test_anonymous_visitors_are_sent_to_login(client: TestClient) -> None:
    response = client.get("/audit?entity=parties", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/audit%3Fentity%3Dparties"


def test_entries_are_listed_newest_first_with_system_as_the_seed_actor(
    editor: Browser, seeded: Session
) -> None:
    page = editor.get("/audit")
    assert page.status_code == 200
    listed = [int(i) for i in rows(page.text)]
    assert len(listed) == 50  # the seed alone writes more than a page
    newest = seeded.scalars(
        select(AuditEntry.id).order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(50)
    ).all()
    assert listed == list(newest)
    assert '<span class="system">system</span>' in page.text
    total = seeded.scalar(select(func.count()).select_from(AuditEntry))
    assert f"{total:,} entries" in page.text
    second = editor.get("/audit?page=2")
    assert second.status_code == 200 and set(rows(second.text)).isdisjoint(rows(page.text))
    assert 'href="/audit?page=1"' in second.text and 'rel="prev"' in second.text
    assert editor.get("/audit?page=0").status_code == 400


def test_filters_by_entity_type_and_by_user(editor: Browser, seeded: Session) -> None:
    party = catalog.get_party(seeded, slug="ua")
    editor.post(
        "/manage/speakers/new", {"name": "Audit Probe", "role": "Spokesperson", "party": "ua"}
    )
    by_entity = editor.get("/audit?entity=speakers")
    assert by_entity.status_code == 200
    assert set(re.findall(r"<code>(\w+)</code> #", by_entity.text)) == {"speakers"}
    assert '<option value="speakers" selected>' in by_entity.text
    by_user = editor.get(f"/audit?actor={editor.user.id}")
    listed = rows(by_user.text)
    assert len(listed) == 1 and "Audit Probe" in by_user.text
    assert f'<option value="{editor.user.id}" selected>' in by_user.text
    system = editor.get("/audit?actor=system&entity=parties")
    assert "Audit Probe" not in system.text and party.name in system.text
    nobody = editor.get("/audit?actor=999999")
    assert rows(nobody.text) == [] and "No entries match these filters." in nobody.text
    htmx = editor.get("/audit?entity=speakers", headers={"HX-Request": "true"})
    assert htmx.text.lstrip().startswith('<section id="audit-log"') and "<html" not in htmx.text


def test_an_update_shows_a_readable_escaped_before_and_after(
    app: FastAPI, client: TestClient, seeded: Session
) -> None:
    seeded.commit()
    admin = log_in(client, make_user(seeded, Role.ADMIN, "admin@example.org"))
    issue = catalog.get_issue(seeded, slug="ceasefire")
    old_title = issue.title
    response = admin.post(
        "/manage/issues/ceasefire/edit",
        {"title": XSS[:120], "proposition": issue.proposition, "description": issue.description,
         "sort_order": str(issue.sort_order), "version": str(issue.version)},
    )  # fmt: skip
    assert response.status_code == 303
    page = admin.get("/audit?entity=issues").text
    first = page.split('<tr id="audit-', 2)[1]  # the newest entry
    assert "<dt>title</dt>" in first and f"<del>{old_title}</del>" in first
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in first and "<script>alert(1)" not in page
    assert "<dt>description</dt>" not in first  # unchanged fields are left out
    assert "<dt>version</dt>" not in first


def test_password_hashes_never_show_in_the_log(editor: Browser, seeded: Session) -> None:
    page = editor.get("/audit?entity=users").text
    assert "$argon2" not in page and "password_hash" not in page  # never stored at all


def test_no_route_changes_or_deletes_audit_entries(editor: Browser) -> None:
    for route in audit_routes.router.routes:
        assert isinstance(route, APIRoute) and (route.methods or set()) <= {"GET", "HEAD"}, route
    for method in ("post", "put", "patch", "delete"):
        response = editor.client.request(
            method, "/audit", data={"csrf_token": editor.token}, follow_redirects=False
        )
        assert response.status_code == 405, method
