"""Managing speakers, sources, parties, issues and users through the real HTTP forms."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from app.models import AuditEntry, Issue, Party, PartyKind, Role, Source, Speaker, Theme, User
from app.routes import audit as audit_routes
from app.routes import manage as manage_routes
from app.services import catalog, export_file, transfer, users
from tests import builders
from tests.conftest import csrf_token

PASSWORD = "correct horse battery"
XSS = '"><script>alert(1)</script><img src=x onerror=alert(1)>'


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cheap argon2id parameters: these tests exercise forms, not the hash's cost."""
    monkeypatch.setattr(
        users, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


@dataclass
class Browser:
    """A logged-in client and the CSRF token its forms carry."""

    client: TestClient
    token: str
    user: User

    def get(self, path: str, headers: dict[str, str] | None = None) -> Response:
        return self.client.get(path, headers=headers, follow_redirects=False)

    def post(self, path: str, data: dict[str, str] | None = None, htmx: bool = False) -> Response:
        headers = {"HX-Request": "true"} if htmx else {}
        return self.client.post(
            path,
            data={"csrf_token": self.token, **(data or {})},
            headers=headers,
            follow_redirects=False,
        )


def make_user(session: Session, role: Role, email: str) -> User:
    user = users.create_user(
        session, actor=None, email=email, display_name=email.split("@")[0], role=role,
        password=PASSWORD,
    )  # fmt: skip
    session.commit()
    return user


def log_in(client: TestClient, user: User, password: str = PASSWORD) -> Browser:
    """Log in through the real form and read the session's CSRF token from a page."""
    response = client.post(
        "/login",
        data={"email": user.email, "password": password, "csrf_token": csrf_token(client)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return Browser(client=client, token=csrf_token(client, "/manage"), user=user)


@pytest.fixture
def admin(app: FastAPI, client: TestClient, seeded: Session) -> Browser:
    seeded.commit()
    return log_in(client, make_user(seeded, Role.ADMIN, "admin@example.org"))


@pytest.fixture
def editor(app: FastAPI, seeded: Session) -> Browser:
    seeded.commit()
    return log_in(TestClient(app), make_user(seeded, Role.EDITOR, "editor@example.org"))


def error_beside(response: Response, field: str) -> str:
    """The error message shown beside `field`."""
    match = re.search(rf'<p class="field-error" id="{field}-error">([^<]*)</p>', response.text)
    assert match, f"no error beside {field}: {response.text[:3000]}"
    return html.unescape(match.group(1))


def input_value(response: Response, field: str) -> str:
    match = re.search(rf'id="{field}" name="{field}" value="([^"]*)"', response.text)
    assert match, f"no input {field}"
    return html.unescape(match.group(1))


def audit_entries(session: Session, entity_type: str, action: str) -> list[AuditEntry]:
    return list(
        session.scalars(
            select(AuditEntry)
            .where(AuditEntry.entity_type == entity_type, AuditEntry.action == action)
            .order_by(AuditEntry.id)
        )
    )


def party_form(**values: str) -> dict[str, str]:
    return {"name": "", "short_name": "", "kind": "state", "parent": "", **values}


# --- Who may do what ----------------------------------------------------------------------------

ADMIN_PREFIXES = ("/manage/parties", "/manage/issues", "/manage/themes", "/manage/users")


def _manage_routes(app: FastAPI) -> list[tuple[str, str]]:
    # The routers' own route lists: FastAPI >= 0.16x no longer flattens included routes into
    # app.routes. The requests below prove the app serves each of them.
    found = []
    for route in [*manage_routes.router.routes, *audit_routes.router.routes]:
        if isinstance(route, APIRoute):
            for method in sorted(route.methods or ()):
                found.append((method, route.path))
    return found


def _concrete(path: str, session: Session) -> str:
    speaker = session.scalars(select(Speaker).order_by(Speaker.id)).first()
    source = session.scalars(select(Source).order_by(Source.id)).first()
    user = session.scalars(select(User).order_by(User.id)).first()
    assert speaker and source and user
    slug = {"/manage/issues": "ceasefire", "/manage/themes": "process"}.get(
        "/".join(path.split("/")[:3]), "us"
    )
    return (
        path.replace("{slug}", slug)
        .replace("{speaker_id}", str(speaker.id))
        .replace("{source_id}", str(source.id))
        .replace("{user_id}", str(user.id))
    )


def test_every_manage_route_refuses_anonymous_users(
    app: FastAPI, client: TestClient, seeded: Session
) -> None:
    make_user(seeded, Role.ADMIN, "someone@example.org")
    token = csrf_token(client)
    routes = _manage_routes(app)
    assert len(routes) > 30
    for method, path in routes:
        url = _concrete(path, seeded)
        if method == "GET":
            response = client.get(url, follow_redirects=False)
            assert response.status_code == 303, url
            assert response.headers["location"].startswith("/login?next="), url
        else:
            response = client.post(url, data={"csrf_token": token}, follow_redirects=False)
            assert response.status_code == 403, url


def test_editors_get_403_on_admin_routes_and_may_manage_speakers_and_sources(
    app: FastAPI, editor: Browser, seeded: Session
) -> None:
    for method, path in _manage_routes(app):
        url = _concrete(path, seeded)
        if path.startswith(ADMIN_PREFIXES) or path.endswith("/merge"):  # admins merge speakers
            response = editor.get(url) if method == "GET" else editor.post(url)
            assert response.status_code == 403, url
        elif method == "GET":
            assert editor.get(url).status_code == 200, url
    index = editor.get("/manage").text
    assert 'href="/manage/speakers"' in index and 'href="/manage/parties"' not in index


def test_every_form_on_every_manage_page_carries_the_sessions_csrf_token(
    app: FastAPI, admin: Browser, seeded: Session
) -> None:
    pages = [
        _concrete(path, seeded)
        for method, path in _manage_routes(app)
        if method == "GET" and path != "/audit"
    ]
    forms_seen = 0
    for url in pages:
        page = admin.get(url).text
        for form in re.findall(r'<form[^>]*method="post".*?</form>', page, re.DOTALL):
            forms_seen += 1
            assert f'name="csrf_token" value="{admin.token}"' in form, (url, form[:200])
    assert forms_seen > 20


def test_a_form_posted_as_rendered_without_javascript_is_accepted(admin: Browser) -> None:
    """Post exactly the hidden fields the page rendered (no header, no token added by the test)."""
    page = admin.get("/manage/speakers/new").text
    hidden = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', page))
    response = admin.client.post(
        "/manage/speakers/new",
        data={**hidden, "name": "No Script", "party": "ua"},
        follow_redirects=False,
    )
    assert response.status_code == 303


# --- Parties --------------------------------------------------------------------------------------


def test_admin_adds_a_member_party_that_the_matrix_shows_beneath_its_bloc(
    admin: Browser, seeded: Session
) -> None:
    assert 'href="/manage/parties"' in admin.get("/manage").text
    form = admin.get("/manage/parties/new")
    assert form.status_code == 200 and '<label for="slug">Slug</label>' in form.text
    response = admin.post(
        "/manage/parties/new",
        party_form(slug="pl", name="Poland", short_name="PL", parent="eu", sort_order=""),
    )
    assert response.status_code == 303 and response.headers["location"] == "/manage/parties"
    uk = catalog.get_party(seeded, slug="pl")
    eu = catalog.get_party(seeded, slug="eu")
    assert uk.parent_id == eu.id and uk.sort_order > 0
    rows = re.findall(r'<tr class="(member|top)[^"]*">\s*<th scope="row"><a href="/parties/([\w-]+)', admin.get("/").text)  # fmt: skip
    slugs = [slug for _, slug in rows]
    # Beneath the bloc, after the members the seed already has.
    between = rows[slugs.index("eu") + 1 : slugs.index("pl") + 1]
    assert slugs.index("pl") > slugs.index("eu") and all(kind == "member" for kind, _ in between)
    assert {slug: kind for kind, slug in rows}["pl"] == "member"
    entry = audit_entries(seeded, "parties", "create")[-1]
    assert entry.actor_id == admin.user.id and entry.after and entry.after["slug"] == "pl"


def test_admin_renames_a_party_and_sets_its_bloc(admin: Browser, seeded: Session) -> None:
    builders.party(seeded, "it", name="Italy")
    seeded.commit()
    france = catalog.get_party(seeded, slug="it")
    form = admin.get("/manage/parties/it/edit")
    assert input_value(form, "name") == "Italy"
    assert f'name="version" value="{france.version}"' in form.text
    response = admin.post(
        "/manage/parties/it/edit",
        party_form(
            name="Italian Republic", short_name="IT", parent="eu", sort_order="5",
            version=str(france.version), slug="hacked", id="999",
        ),
    )  # fmt: skip
    assert response.status_code == 303
    seeded.refresh(france)
    assert (france.name, france.short_name, france.slug, france.sort_order) == (
        "Italian Republic", "IT", "it", 5,
    )  # fmt: skip
    assert france.parent_id == catalog.get_party(seeded, slug="eu").id
    entry = audit_entries(seeded, "parties", "update")[-1]
    assert entry.before and entry.after
    assert (entry.before["name"], entry.after["name"]) == ("Italy", "Italian Republic")
    assert "Italian Republic" in admin.get("/manage/parties").text


def test_moving_a_party_up_reorders_the_matrix(admin: Browser, seeded: Session) -> None:
    def order() -> list[str]:
        return [p.slug for p in catalog.list_parties(seeded) if p.parent_id is None]

    before = order()
    second = before[1]
    response = admin.post(f"/manage/parties/{second}/move", {"direction": "up"})
    assert response.status_code == 303
    assert order() == [second, before[0], *before[2:]]
    assert audit_entries(seeded, "parties", "update")
    admin.post(f"/manage/parties/{second}/move", {"direction": "down"})
    assert order() == before


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"slug": "Bad Slug!"}, "slug", "Use lowercase letters, digits and single dashes"),
        ({"slug": "us"}, "slug", "This slug is taken"),
        ({"parent": "ua"}, "parent", "'Ukraine' is not a bloc"),
        ({"name": "N" * 201}, "name", "Use at most 200 characters."),
        ({"name": "   "}, "name", "This field is required."),
        ({"sort_order": "first"}, "sort_order", "Enter a whole number"),
        ({"kind": "empire"}, "kind", "Choose one of the listed options."),
    ],
)
def test_add_party_validation_errors_show_beside_the_field_with_input_kept(
    admin: Browser, values: dict[str, str], field: str, message: str
) -> None:
    data = party_form(**{"slug": "new-party", "name": "New party", "short_name": "NP", **values})
    response = admin.post("/manage/parties/new", data)
    assert response.status_code == 422
    assert error_beside(response, field).startswith(message)
    if field in {"slug", "name"}:
        assert input_value(response, field) == data[field]
    assert '<html lang="en">' in response.text  # without JS the whole page comes back


def test_htmx_gets_only_the_form_back_on_error_and_a_redirect_on_success(
    admin: Browser, seeded: Session
) -> None:
    response = admin.post("/manage/parties/new", party_form(slug="Nope"), htmx=True)
    assert response.status_code == 422
    assert (
        response.text.lstrip().startswith('<form id="party-form"') and "<html" not in response.text
    )
    assert 'hx-target="this" hx-swap="outerHTML"' in response.text
    ok = admin.post("/manage/parties/new", party_form(slug="pl", name="Poland", short_name="PL"), htmx=True)  # fmt: skip
    assert ok.status_code == 204 and ok.headers["HX-Redirect"] == "/manage/parties"


def test_party_bloc_must_not_be_itself_nor_make_a_cycle(admin: Browser, seeded: Session) -> None:
    outer = builders.party(seeded, "outer", kind=PartyKind.BLOC)
    builders.party(seeded, "inner", kind=PartyKind.BLOC, parent=outer)
    seeded.commit()
    data = party_form(name="Outer", short_name="O", kind="bloc", sort_order="1", version=str(outer.version))  # fmt: skip
    itself = admin.post("/manage/parties/outer/edit", {**data, "parent": "outer"})
    assert itself.status_code == 422
    assert error_beside(itself, "parent") == "A party cannot be its own bloc."
    cycle = admin.post("/manage/parties/outer/edit", {**data, "parent": "inner"})
    assert cycle.status_code == 422
    assert "cycle" in error_beside(cycle, "parent")
    assert 'value="inner" selected' in cycle.text  # the choice is kept
    seeded.refresh(outer)
    assert outer.parent_id is None and outer.name != "Outer"


def test_two_admins_editing_one_party_the_second_save_gets_a_409_conflict(
    app: FastAPI, admin: Browser, seeded: Session
) -> None:
    other = log_in(TestClient(app), make_user(seeded, Role.ADMIN, "other@example.org"))
    party = catalog.get_party(seeded, slug="ua")
    version = str(party.version)
    first = admin.post("/manage/parties/ua/edit", party_form(name="Ukraine (Kyiv)", short_name="UA", sort_order="20", version=version))  # fmt: skip
    assert first.status_code == 303
    second = other.post("/manage/parties/ua/edit", party_form(name="Ukraina", short_name="UKR", sort_order="20", version=version))  # fmt: skip
    assert second.status_code == 409
    assert "while you were editing" in second.text
    assert "Ukraine (Kyiv)" in second.text and "Ukraina" in second.text  # stored and typed
    seeded.refresh(party)
    assert party.name == "Ukraine (Kyiv)" and party.short_name == "UA"
    htmx = other.post("/manage/parties/ua/edit", party_form(name="X", short_name="X", sort_order="1", version=version), htmx=True)  # fmt: skip
    assert htmx.status_code == 409 and htmx.headers["HX-Retarget"] == "#content"


def test_a_write_that_loses_the_race_after_the_version_check_is_a_409_too(
    admin: Browser, seeded: Session
) -> None:
    issue = catalog.get_issue(seeded, slug="ceasefire")
    version = issue.version
    # Another transaction saves behind the ORM's back: our in-memory version is now stale.
    seeded.execute(text("UPDATE issues SET version = version + 1, title = 'Truce' WHERE slug = 'ceasefire'"))  # fmt: skip
    seeded.commit()
    response = admin.post(
        "/manage/issues/ceasefire/edit",
        {"title": "Mine", "proposition": "P", "sort_order": "1", "version": str(version)},
    )
    assert response.status_code == 409
    assert catalog.get_issue(seeded, slug="ceasefire").title == "Truce"


def test_deleting_a_party_in_use_is_refused_and_an_unused_one_is_deleted_and_audited(
    admin: Browser, seeded: Session
) -> None:
    confirm = admin.get("/manage/parties/us/delete")
    assert confirm.status_code == 200 and 'action="/manage/parties/us/delete"' in confirm.text
    refused = admin.post("/manage/parties/us/delete")
    assert refused.status_code == 409
    assert "cannot be deleted" in refused.text and "quote" in refused.text
    assert catalog.find_party(seeded, slug="us") is not None
    builders.party(seeded, "gone")
    seeded.commit()
    assert admin.post("/manage/parties/gone/delete").status_code == 303
    assert catalog.find_party(seeded, slug="gone") is None
    entry = audit_entries(seeded, "parties", "delete")[-1]
    assert entry.before and entry.before["slug"] == "gone" and entry.after is None


# --- Issues ----------------------------------------------------------------------------------------


def test_admin_adds_edits_and_moves_an_issue(admin: Browser, seeded: Session) -> None:
    response = admin.post(
        "/manage/issues/new",
        {
            "slug": "prisoner-exchange",
            "title": "Prisoners",
            "proposition": "All for all",
            "sort_order": "",
        },  # fmt: skip
    )
    assert response.status_code == 303
    issue = catalog.get_issue(seeded, slug="prisoner-exchange")
    assert catalog.list_issues(seeded)[-1].slug == "prisoner-exchange"
    assert "Prisoners" in admin.get("/").text
    edited = admin.post(
        "/manage/issues/prisoner-exchange/edit",
        {"title": "Prisoner exchange", "proposition": "All for all", "description": "Swap",
         "sort_order": str(issue.sort_order), "version": str(issue.version)},
    )  # fmt: skip
    assert edited.status_code == 303
    seeded.refresh(issue)
    assert (issue.title, issue.description) == ("Prisoner exchange", "Swap")
    assert (
        admin.post("/manage/issues/prisoner-exchange/move", {"direction": "up"}).status_code == 303
    )
    assert catalog.list_issues(seeded)[-2].slug == "prisoner-exchange"
    assert audit_entries(seeded, "issues", "create") and audit_entries(seeded, "issues", "update")


def test_issue_validation_and_stale_edit(admin: Browser, seeded: Session) -> None:
    dup = admin.post("/manage/issues/new", {"slug": "ceasefire", "title": "T", "proposition": "P"})
    assert dup.status_code == 422 and error_beside(dup, "slug").startswith("This slug is taken")
    assert input_value(dup, "title") == "T"
    missing = admin.post("/manage/issues/new", {"slug": "x-1", "title": "", "proposition": "P"})
    assert (
        missing.status_code == 422 and error_beside(missing, "title") == "This field is required."
    )
    stale = admin.post(
        "/manage/issues/ceasefire/edit",
        {"title": "Old", "proposition": "P", "sort_order": "1", "version": "0"},
    )
    assert stale.status_code == 409 and "Old" in stale.text


def test_deleting_an_issue_with_positions_is_refused(admin: Browser, seeded: Session) -> None:
    refused = admin.post("/manage/issues/ceasefire/delete")
    assert refused.status_code == 409 and "cannot be deleted" in refused.text
    assert catalog.find_issue(seeded, slug="ceasefire") is not None
    builders.issue(seeded, "unused")
    seeded.commit()
    assert admin.post("/manage/issues/unused/delete").status_code == 303
    assert catalog.find_issue(seeded, slug="unused") is None


# --- Speakers and sources (editors) ----------------------------------------------------------------


def test_editor_adds_and_edits_a_speaker(editor: Browser, seeded: Session) -> None:
    response = editor.post("/manage/speakers/new", {"name": "Olena Kovalenko", "role": "Head of the Presidential Office", "party": "ua"})  # fmt: skip
    assert response.status_code == 303
    ua = catalog.get_party(seeded, slug="ua")
    speaker = catalog.find_speaker(seeded, party=ua, name="Olena Kovalenko")
    assert speaker is not None and speaker.role == "Head of the Presidential Office"
    assert "Olena Kovalenko" in editor.get("/manage/speakers").text
    dup = editor.post("/manage/speakers/new", {"name": "Olena Kovalenko", "party": "ua"})
    assert dup.status_code == 422 and "already has a speaker" in error_beside(dup, "name")
    too_long = editor.post("/manage/speakers/new", {"name": "Y" * 201, "party": "ua"})
    assert too_long.status_code == 422
    assert error_beside(too_long, "name") == "Use at most 200 characters."
    assert input_value(too_long, "name") == "Y" * 201
    no_party = editor.post("/manage/speakers/new", {"name": "Z", "party": "atlantis"})
    assert error_beside(no_party, "party") == "Choose a party from the list."
    edited = editor.post(
        f"/manage/speakers/{speaker.id}/edit",
        {
            "name": "Olena Kovalenko-Shevchenko",
            "role": "Former head",
            "party": "ua",
            "version": str(speaker.version),
        },  # fmt: skip
    )
    assert edited.status_code == 303
    seeded.refresh(speaker)
    assert speaker.name == "Olena Kovalenko-Shevchenko"
    assert audit_entries(seeded, "speakers", "update")[-1].actor_id == editor.user.id


def test_editor_adds_and_edits_a_source_with_url_rules(editor: Browser, seeded: Session) -> None:
    data = {"url": "https://www.reuters.com/world/europe/talks", "title": "Talks in London",
            "outlet": "Reuters", "published_on": "2025-04-23", "kind": "news_report", "tier": "on_record"}  # fmt: skip
    assert editor.post("/manage/sources/new", data).status_code == 303
    source = catalog.find_source(seeded, url=data["url"])
    assert source is not None and source.outlet == "Reuters"
    dup = editor.post("/manage/sources/new", data)
    assert dup.status_code == 422 and "already a source" in error_beside(dup, "url")
    bad = editor.post("/manage/sources/new", {**data, "url": "javascript:alert(1)"})
    assert bad.status_code == 422
    assert error_beside(bad, "url") == "Only http:// and https:// URLs are accepted."
    assert input_value(bad, "url") == "javascript:alert(1)"
    ftp = editor.post("/manage/sources/new", {**data, "url": "ftp://example.org/x"})
    assert error_beside(ftp, "url") == "Only http:// and https:// URLs are accepted."
    bad_day = editor.post("/manage/sources/new", {**data, "url": "https://e.org/2", "published_on": "23/04/2025"})  # fmt: skip
    assert error_beside(bad_day, "published_on") == "Enter a date as YYYY-MM-DD."
    edited = editor.post(
        f"/manage/sources/{source.id}/edit",
        {
            **data,
            "title": "Talks in London (updated)",
            "published_on": "",
            "version": str(source.version),
        },  # fmt: skip
    )
    assert edited.status_code == 303
    seeded.refresh(source)
    assert source.title == "Talks in London (updated)" and source.published_on is None


def test_deleting_a_used_speaker_or_source_is_refused(editor: Browser, seeded: Session) -> None:
    used_source = seeded.scalars(select(Source).order_by(Source.id)).first()
    assert used_source is not None
    refused = editor.post(f"/manage/sources/{used_source.id}/delete")
    assert refused.status_code == 409 and "quote" in refused.text
    used_speaker = seeded.scalars(select(Speaker).order_by(Speaker.id)).first()
    assert used_speaker is not None
    assert editor.post(f"/manage/speakers/{used_speaker.id}/delete").status_code == 409
    fresh = catalog.create_speaker(seeded, actor=None, party=catalog.get_party(seeded, slug="us"), name="Nobody")  # fmt: skip
    seeded.commit()
    fresh_id = fresh.id
    confirm = editor.get(f"/manage/speakers/{fresh_id}/delete")
    assert "Delete the speaker Nobody" in confirm.text
    assert editor.post(f"/manage/speakers/{fresh_id}/delete").status_code == 303
    assert seeded.get(Speaker, fresh_id) is None
    assert audit_entries(seeded, "speakers", "delete")[-1].actor_id == editor.user.id


# --- Users (admins) ---------------------------------------------------------------------------------


def test_admin_adds_a_user_who_can_then_log_in(
    app: FastAPI, admin: Browser, seeded: Session
) -> None:
    form = {"email": "New.Editor@Example.org", "display_name": "New Editor", "role": "editor", "password": PASSWORD}  # fmt: skip
    assert admin.post("/manage/users/new", form).status_code == 303
    assert "new.editor@example.org" in admin.get("/manage/users").text
    created = users.get_user_by_email(seeded, email="new.editor@example.org")
    assert log_in(TestClient(app), created).get("/manage/speakers").status_code == 200
    entry = audit_entries(seeded, "users", "create")[-1]
    assert entry.actor_id == admin.user.id


@pytest.mark.parametrize(
    ("password", "message"),
    [("short", "Use at least 8 characters."), ("password123", "This password is too common")],
)
def test_new_user_password_rules(admin: Browser, password: str, message: str) -> None:
    form = {"email": "weak@example.org", "display_name": "Weak", "role": "editor", "password": password}  # fmt: skip
    response = admin.post("/manage/users/new", form)
    assert response.status_code == 422
    assert error_beside(response, "password").startswith(message)
    assert input_value(response, "email") == "weak@example.org"
    assert password not in response.text  # a password is never echoed


def test_disabling_a_user_ends_their_session_and_admins_cannot_disable_themselves(
    admin: Browser, editor: Browser, seeded: Session
) -> None:
    assert editor.get("/manage/speakers").status_code == 200
    response = admin.post(f"/manage/users/{editor.user.id}/active", {"active": "false"})
    assert response.status_code == 303
    kicked = editor.get("/manage/speakers")
    assert kicked.status_code == 303 and kicked.headers["location"].startswith("/login")
    assert "Disabled" in admin.get("/manage/users").text
    own = admin.post(f"/manage/users/{admin.user.id}/active", {"active": "false"})
    assert own.status_code == 422 and "cannot disable your own account" in own.text
    seeded.refresh(admin.user)
    assert admin.user.active
    assert (
        admin.post(f"/manage/users/{editor.user.id}/active", {"active": "true"}).status_code == 303
    )
    seeded.refresh(editor.user)
    assert editor.user.active


def test_admin_changes_a_role_and_resets_a_password(
    app: FastAPI, admin: Browser, editor: Browser, seeded: Session
) -> None:
    target = editor.user
    page = admin.get(f"/manage/users/{target.id}/edit")
    assert '<label for="role">Role</label>' in page.text and '<label for="password">' in page.text
    promoted = admin.post(
        f"/manage/users/{target.id}/edit",
        {"display_name": "Chief editor", "role": "admin", "version": str(target.version)},
    )
    assert promoted.status_code == 303
    seeded.refresh(target)
    assert target.role == Role.ADMIN and target.display_name == "Chief editor"
    own = admin.post(
        f"/manage/users/{admin.user.id}/edit",
        {"display_name": "Me", "role": "editor", "version": str(admin.user.version)},
    )
    assert own.status_code == 422 and "own role" in error_beside(own, "role")
    weak = admin.post(f"/manage/users/{target.id}/password", {"password": "letmein1"}, htmx=True)
    assert weak.status_code == 422 and weak.text.lstrip().startswith('<form id="password-form"')
    assert admin.post(f"/manage/users/{target.id}/password", {"password": "a new long passphrase"}).status_code == 303  # fmt: skip
    assert editor.get("/manage").status_code == 303  # their sessions ended
    log_in(TestClient(app), target, "a new long passphrase")


# --- Escaping ---------------------------------------------------------------------------------------


def test_an_xss_payload_in_every_text_field_shows_as_text(admin: Browser, seeded: Session) -> None:
    assert admin.post("/manage/parties/new", party_form(slug="xss", name=XSS, short_name=XSS[:40])).status_code == 303  # fmt: skip
    assert admin.post("/manage/issues/new", {"slug": "xss", "title": XSS[:120], "proposition": XSS, "description": XSS}).status_code == 303  # fmt: skip
    assert admin.post("/manage/speakers/new", {"name": XSS, "role": XSS, "party": "xss"}).status_code == 303  # fmt: skip
    source = {"url": "https://example.org/?q=" + XSS, "title": XSS, "outlet": XSS, "kind": "news_report", "tier": "on_record"}  # fmt: skip
    assert admin.post("/manage/sources/new", source).status_code == 303
    assert admin.post("/manage/users/new", {"email": "x@example.org", "display_name": XSS, "role": "editor", "password": PASSWORD}).status_code == 303  # fmt: skip
    bad = admin.post("/manage/parties/new", party_form(slug=XSS, name=XSS, short_name=XSS))
    assert bad.status_code == 422
    for path in ["/manage/parties", "/manage/issues", "/manage/speakers", "/manage/sources",
                 "/manage/users", "/audit", "/", "/manage/parties/xss/edit"]:  # fmt: skip
        page = admin.get(path).text
        assert "<script>alert(1)</script>" not in page and "<img src=x" not in page, path
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page, path
    assert "<script>alert(1)</script>" not in bad.text and "&#34;&gt;&lt;script&gt;" in bad.text
    assert seeded.scalar(select(func.count()).select_from(Party).where(Party.name == XSS)) == 1
    assert seeded.scalar(select(Issue.description).where(Issue.slug == "xss")) == XSS


# Themes (issue 13): admins manage the headings that group issues; data files carry them.


def test_admins_manage_themes_and_set_an_issues_theme(admin: Browser, seeded: Session) -> None:
    page = admin.get("/manage/themes")
    assert (
        page.status_code == 200 and "Territory" in page.text and "Crimea recognition" in page.text
    )
    added = admin.post("/manage/themes/new", {"slug": "humanitarian", "title": "Humanitarian"})
    assert added.status_code == 303
    taken = admin.post("/manage/themes/new", {"slug": "humanitarian", "title": "Again"})
    assert taken.status_code == 422 and "taken" in taken.text
    issue = seeded.scalars(select(Issue).where(Issue.slug == "ceasefire")).one()
    form = {"title": issue.title, "proposition": issue.proposition, "description": issue.description,
            "sort_order": str(issue.sort_order), "version": str(issue.version), "theme": "humanitarian"}  # fmt: skip
    assert admin.post("/manage/issues/ceasefire/edit", form).status_code == 303
    seeded.expire_all()
    assert (
        seeded.scalars(select(Issue.theme).where(Issue.slug == "ceasefire")).one() == "humanitarian"
    )
    unknown = admin.post(
        "/manage/issues/ceasefire/edit",
        {**form, "version": str(issue.version), "theme": "atlantis"},
    )
    assert unknown.status_code == 422 and "Choose a theme from the list." in unknown.text
    refused = admin.post("/manage/themes/humanitarian/delete", {})
    assert refused.status_code == 409 and "1 issue is grouped under it" in refused.text
    matrix = admin.get("/?as_of=2025-04-23").text
    assert 'class="theme">Humanitarian</th>' in matrix.replace("&shy;", "")


def test_editors_cannot_manage_themes(editor: Browser, seeded: Session) -> None:
    assert editor.get("/manage/themes").status_code == 403
    assert editor.post("/manage/themes/new", {"slug": "x", "title": "X"}).status_code == 403


def test_themes_round_trip_through_export_and_import(seeded: Session, tmp_path: Path) -> None:
    document = export_file.export_document(seeded)
    assert [t["slug"] for t in document["themes"]] == [
        "territory",
        "security",
        "economy",
        "process",
    ]
    assert {i["slug"]: i["theme"] for i in document["issues"]}["nato-membership"] == "security"
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "issues:\n  - slug: new-one\n    title: New\n    proposition: P\n    theme: nowhere\n"
    )
    with pytest.raises(transfer.ImportRejected) as rejected:
        transfer.check_file(seeded, bad)
    assert any("unknown theme 'nowhere'" in str(e) for e in rejected.value.errors)
    good = tmp_path / "good.yaml"
    good.write_text(
        "themes:\n  - slug: people\n    title: People\nissues:\n  - slug: new-one\n    title: New\n    proposition: P\n    theme: people\n"
    )
    transfer.import_file(seeded, good)
    assert seeded.scalars(select(Theme.title).where(Theme.slug == "people")).one() == "People"
    assert seeded.scalars(select(Issue.theme).where(Issue.slug == "new-one")).one() == "people"
