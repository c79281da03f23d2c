"""The "Record position change" form over HTTP, as a logged-in editor would use it."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from markupsafe import escape
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import AuditEntry, Issue, Party, Position, Quote, Role, Stance, User
from app.services import users
from tests import builders as b
from tests.conftest import csrf_token

PASSWORD = "correct horse battery"
HX = {"HX-Request": "true"}
XSS = '"><script>alert(1)</script><img src=x onerror=alert(1)>'


def login(client: TestClient, session: Session, email: str = "ed@example.org") -> User:
    """Create an editor and log in through the real login form."""
    user = users.create_user(
        session, actor=None, email=email, display_name="Ed", role=Role.EDITOR, password=PASSWORD
    )
    response = client.post(
        "/login",
        data={"email": email, "password": PASSWORD, "csrf_token": csrf_token(client)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return user


@dataclass
class World:
    ua: Party
    ru: Party
    ceasefire: Issue
    old: Quote  # Ukraine rejects a ceasefire, 1 Mar 2025 (cited by a position)
    new: Quote  # Ukraine accepts a ceasefire, 10 Apr 2025
    russian: Quote  # Russia, 5 Apr 2025


@pytest.fixture
def world(session: Session) -> World:
    ua = b.party(session, "ua", name="Ukraine")
    ru = b.party(session, "ru", name="Russia")
    ceasefire = b.issue(session, "ceasefire", title="Ceasefire")
    old = b.position(session, ua, ceasefire, Stance.REJECTS, date(2025, 3, 1)).evidence[0]
    new = b.quote(
        session,
        ua,
        ceasefire,
        Stance.ACCEPTS,
        said_on=date(2025, 4, 10),
        text="We are ready for a full ceasefire in the air and at sea.",
    )
    russian = b.quote(session, ru, ceasefire, Stance.REJECTS, said_on=date(2025, 4, 5))
    return World(ua, ru, ceasefire, old, new, russian)


@pytest.fixture
def editor(client: TestClient, session: Session, world: World) -> User:
    return login(client, session)


def position_form(token: str, world: World, **changes: str | list[str]) -> dict[str, object]:
    form: dict[str, object] = {
        "csrf_token": token,
        "party": "ua",
        "issue": "ceasefire",
        "stance": "accepts",
        "condition": "",
        "effective_from": "2025-04-12",
        "rationale": "The president's office accepted the US proposal.",
        "q": "",
        "evidence": [str(world.new.id)],
    }
    form.update(changes)
    return form


def token_for(client: TestClient) -> str:
    return csrf_token(client, "/positions/new")


def positions_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Position)) or 0


def field_error(page: str, name: str) -> str:
    match = re.search(rf'<p class="field-error" id="{re.escape(name)}-error">([^<]*)</p>', page)
    assert match, f"no error shown beside {name}"
    return html.unescape(match.group(1))


def test_position_pages_send_anonymous_readers_to_login(client: TestClient, world: World) -> None:
    for path in ("/positions/new?party=ua&issue=ceasefire", "/positions/evidence-options?party=ua"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login?next=/positions/")


def test_recording_refuses_anonymous_users_and_missing_csrf(
    client: TestClient, session: Session, world: World
) -> None:
    anonymous = client.post(
        "/positions/new", data=position_form(csrf_token(client), world), follow_redirects=False
    )
    assert anonymous.status_code == 403
    login(client, session)
    for token in ("", "forged"):
        response = client.post("/positions/new", data=position_form(token, world))
        assert response.status_code == 403
    assert positions_count(session) == 1


def test_cell_detail_links_editors_to_the_prefilled_form(
    client: TestClient, session: Session, world: World
) -> None:
    link = 'href="/positions/new?party=ua&amp;issue=ceasefire">Record position change</a>'
    assert link not in client.get("/cells/ua/ceasefire").text
    login(client, session)
    assert link in client.get("/cells/ua/ceasefire").text
    page = client.get("/positions/new?party=ua&issue=ceasefire").text
    assert '<option value="ua" selected>' in page and '<option value="ceasefire" selected>' in page
    for label in ("Party", "Issue", "Stance", "Condition", "Effective from", "Rationale"):
        assert re.search(rf'<label for="[a-z_]+">{label}</label>', page), label
    assert "<legend>Evidence</legend>" in page and '<label for="evidence_q">' in page
    # Only Ukraine's quotes are offered, each checkbox with its label.
    assert f'<label for="evidence-{world.new.id}">' in page
    assert f'id="evidence-{world.russian.id}"' not in page
    token = re.search(r'<meta name="csrf-token" content="([^"]+)"', page)
    assert token and f'name="csrf_token" value="{token.group(1)}"' in page.split("<main")[1]


def test_recording_a_change_moves_the_cell_from_its_date(
    client: TestClient, session: Session, world: World, editor: User
) -> None:
    form = position_form(token_for(client), world, id="77", recorded_by_id="999", version="5")
    response = client.post("/positions/new", data=form, follow_redirects=False)
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/cells/ua/ceasefire"
    assert "Ukraine on Ceasefire: Rejects" in client.get("/?as_of=2025-04-11").text
    assert "Ukraine on Ceasefire: Accepts" in client.get("/?as_of=2025-04-12").text
    position = session.scalars(select(Position).where(Position.stance == Stance.ACCEPTS)).one()
    assert position.recorded_by_id == editor.id and position.version == 1 and position.id != 77
    entry = session.scalars(
        select(AuditEntry).where(
            AuditEntry.entity_type == "positions", AuditEntry.actor_id == editor.id
        )
    ).one()
    assert entry.action == "create" and entry.after is not None
    assert entry.after["evidence"] == [world.new.id]


def test_conditional_position_with_several_quotes(
    client: TestClient, session: Session, world: World, editor: User
) -> None:
    form = position_form(
        token_for(client),
        world,
        stance="conditional",
        condition="Russia stops attacks on energy infrastructure",
        evidence=[str(world.new.id), str(world.old.id)],
    )
    assert client.post("/positions/new", data=form, follow_redirects=False).status_code == 303
    cell = client.get("/cells/ua/ceasefire?as_of=2025-04-12").text
    assert "Conditional" in cell and "Russia stops attacks on energy infrastructure" in cell


def test_recording_over_htmx_swaps_the_form_or_redirects(
    client: TestClient, session: Session, world: World, editor: User
) -> None:
    bad = client.post(
        "/positions/new", data=position_form(token_for(client), world, stance=""), headers=HX
    )
    assert bad.status_code == 422 and "<html" not in bad.text
    assert '<form id="position-form"' in bad.text and 'hx-target="this"' in bad.text
    good = client.post("/positions/new", data=position_form(token_for(client), world), headers=HX)
    assert good.status_code == 204 and good.headers["HX-Redirect"] == "/cells/ua/ceasefire"


FUTURE = (date.today() + timedelta(days=2)).isoformat()


def test_each_position_rule_shows_its_message_beside_its_field(
    client: TestClient, session: Session, world: World, editor: User
) -> None:
    rules: list[tuple[dict[str, str | list[str]], str, str]] = [
        ({"party": ""}, "party", "required"),
        ({"party": "atlantis"}, "party", "from the list"),
        ({"issue": "world-peace"}, "issue", "from the list"),
        ({"stance": "maybe"}, "stance", "listed options"),
        ({"stance": "conditional"}, "condition", "needs its condition"),
        ({"condition": "if it rains"}, "condition", "Only a conditional"),
        ({"condition": "c" * 1001, "stance": "conditional"}, "condition", "at most 1,000"),
        ({"effective_from": "2025-04-31"}, "effective_from", "not a real date"),
        ({"effective_from": "April 12"}, "effective_from", "YYYY-MM-DD"),
        ({"effective_from": FUTURE}, "effective_from", "in the future"),
        ({"effective_from": "2025-04-09"}, "effective_from", "before the evidence"),
        ({"rationale": "  "}, "rationale", "required"),
        ({"rationale": "r" * 5001}, "rationale", "at most 5,000"),
        ({"evidence": []}, "evidence", "at least one"),
        ({"evidence": [str(world.russian.id)]}, "evidence", "same party"),
        ({"evidence": ["not-a-quote"]}, "evidence", "from the list"),
        ({"evidence": ["987654"]}, "evidence", "no longer exist"),
    ]
    for changes, name, words in rules:
        form = position_form(token_for(client), world, **changes)
        response = client.post("/positions/new", data=form)
        assert response.status_code == 422, (changes, response.text[:200])
        assert words.lower() in field_error(response.text, name).lower(), changes
        for key in ("condition", "effective_from", "rationale"):
            typed = str(form[key]).strip()
            if typed:
                assert str(escape(typed)) in response.text, (changes, key)
        for quote_id in form["evidence"]:  # type: ignore[union-attr]
            if str(quote_id) == str(world.new.id):
                assert re.search(rf'id="evidence-{quote_id}"[^>]*checked', response.text)
    assert positions_count(session) == 1


def test_evidence_options_filter_by_party_and_text_keeping_ticked_quotes(
    client: TestClient, session: Session, world: World, editor: User
) -> None:
    url = "/positions/evidence-options"
    found = client.get(url, params={"party": "ua", "q": "AIR AND AT SEA"}, headers=HX).text
    assert "<html" not in found
    assert f'id="evidence-{world.new.id}"' in found and f'id="evidence-{world.old.id}"' not in found
    kept = client.get(
        url, params={"party": "ua", "q": "air and at sea", "evidence": str(world.old.id)}
    ).text
    assert re.search(rf'id="evidence-{world.old.id}"[^>]*checked', kept)
    assert f'id="evidence-{world.new.id}"' in kept
    russian = client.get(url, params={"party": "ru", "evidence": str(world.old.id)}).text
    assert f'id="evidence-{world.russian.id}"' in russian
    assert f'id="evidence-{world.old.id}"' not in russian  # another party's tick is dropped
    none = client.get(url, params={"party": "ua", "q": "100%_"}).text
    assert "No quotes of this party match" in none


def test_markup_typed_into_the_form_is_shown_as_text(
    client: TestClient, session: Session, world: World, editor: User
) -> None:
    form = position_form(
        token_for(client), world, stance="conditional", condition=XSS, rationale=XSS
    )
    assert client.post("/positions/new", data=form, follow_redirects=False).status_code == 303
    bad = client.post("/positions/new", data={**form, "effective_from": "x"}).text
    for page in (client.get("/cells/ua/ceasefire?as_of=2025-04-12").text, bad):
        assert "<script>alert(1)</script>" not in page and "<img src=x" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;" in page


def test_errors_across_fields_show_alongside_field_errors(
    client: TestClient, session: Session, world: World, editor: User
) -> None:
    form = position_form(token_for(client), world, stance="conditional", rationale="", evidence=[])
    page = client.post("/positions/new", data=form).text
    assert "required" in field_error(page, "rationale")
    assert "needs its condition" in field_error(page, "condition")
    assert "at least one" in field_error(page, "evidence")


def test_the_positions_service_does_not_import_the_quotes_service() -> None:
    # The form's field types live in app.forms; quotes may call positions, never the reverse.
    import ast
    import inspect

    from app.services import positions

    tree = ast.parse(inspect.getsource(positions))
    imported = {
        node.module
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module is not None
    } | {
        f"{node.module}.{alias.name}"
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    assert not any(name.startswith("app.services.quotes") for name in imported)


def test_a_repeated_form_field_counts_by_its_first_value_and_every_keeps_them_all() -> None:
    from app.forms import FormFields

    form = FormFields(
        [("party", "ua"), ("party", "ru"), ("evidence", "3"), ("evidence", "5"), ("file", object())]
    )
    assert form["party"] == "ua" and form.get("evidence") == "3"
    assert form.every("evidence") == ["3", "5"] and form.every("missing") == []
    assert "file" not in form  # file parts are not text fields
