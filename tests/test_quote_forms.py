"""The add, edit, delete and retract quote forms over HTTP, as a logged-in editor would use them."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from markupsafe import escape
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.forms import MAX_TAGS
from app.models import (
    AuditEntry,
    Party,
    Position,
    Quote,
    QuoteStatus,
    Role,
    Source,
    Speaker,
    Stance,
    User,
)
from app.services import catalog, quotes, users
from app.services.errors import EditConflict
from tests import builders as b
from tests.conftest import csrf_token

PASSWORD = "correct horse battery"
HX = {"HX-Request": "true"}
XSS = '"><script>alert(1)</script><img src=x onerror=alert(1)>'


def login(client: TestClient, session: Session, email: str = "ed@example.org") -> User:
    """Create an editor and log in through the real login form."""
    user = users.create_user(
        session,
        actor=None,
        email=email,
        display_name=email.split("@")[0].capitalize(),
        role=Role.EDITOR,
        password=PASSWORD,
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
    ua_speaker: Speaker
    ru_speaker: Speaker
    source: Source


@pytest.fixture
def world(session: Session) -> World:
    ua = b.party(session, "ua", name="Ukraine")
    ru = b.party(session, "ru", name="Russia")
    b.issue(session, "ceasefire", title="Ceasefire")
    b.issue(session, "nato-membership", title="NATO membership")
    ua_speaker = catalog.create_speaker(
        session, actor=None, party=ua, name="Andrii Sybiha", role="Foreign Minister"
    )
    ru_speaker = catalog.create_speaker(
        session, actor=None, party=ru, name="Dmitry Peskov", role="Kremlin spokesman"
    )
    return World(ua, ru, ua_speaker, ru_speaker, b.source(session))


@pytest.fixture
def editor(client: TestClient, session: Session, world: World) -> User:
    return login(client, session)


def quote_form(token: str, **changes: str) -> dict[str, str]:
    """A valid add-quote form with a new source and a new speaker; `changes` override fields."""
    form = {
        "csrf_token": token,
        "text": "Ukraine is ready for a full ceasefire from today.",
        "kind": "direct",
        "said_on": "2025-04-20",
        "published_on": "",
        "party": "ua",
        "speaker_id": "",
        "new_speaker_name": "Andrii Yermak",
        "new_speaker_role": "Head of the Presidential Office",
        "source_url": "https://news.example.org/yermak-ceasefire",
        "source_title": "Yermak: ready for ceasefire",
        "source_outlet": "Example News",
        "source_published_on": "2025-04-20",
        "source_kind": "news_report",
        "source_tier": "on_record",
        "language": "en",
        "status": "confirmed",
        "confirms_or_denies": "",
        "note": "",
        "issue_1": "ceasefire",
        "stance_1": "accepts",
        "issue_2": "",
        "stance_2": "",
        "issue_3": "",
        "stance_3": "",
        "also_record_position": "on",
        "rationale": "The head of the office says so on the record.",
        "condition": "",
    }
    form.update(changes)
    return form


def counts(session: Session) -> dict[str, int]:
    return {
        model.__name__: session.scalar(select(func.count()).select_from(model)) or 0
        for model in (Quote, Source, Speaker, Position, AuditEntry)
    }


def token_for(client: TestClient) -> str:
    return csrf_token(client, "/quotes/new")


def field_error(page: str, name: str) -> str:
    match = re.search(rf'<p class="field-error" id="{re.escape(name)}-error">([^<]*)</p>', page)
    assert match, f"no error shown beside {name}"
    return html.unescape(match.group(1))


# --- access -------------------------------------------------------------------------------------


def test_quote_pages_send_anonymous_readers_to_login(
    client: TestClient, session: Session, world: World
) -> None:
    q = b.quote(session, world.ua, None)
    for path in (
        "/quotes/new",
        f"/quotes/{q.id}/edit",
        f"/quotes/{q.id}/delete",
        "/quotes/tag-row?n=4",
    ):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login?next=/quotes/"), path


def test_quote_writes_refuse_anonymous_users(
    client: TestClient, session: Session, world: World
) -> None:
    q = b.quote(session, world.ua, None)
    token = csrf_token(client)  # a valid anonymous token: refused for want of a login
    before = counts(session)
    for path in (
        "/quotes/new",
        f"/quotes/{q.id}/edit",
        f"/quotes/{q.id}/delete",
        f"/quotes/{q.id}/retract",
    ):
        response = client.post(path, data=quote_form(token), follow_redirects=False)
        assert response.status_code == 403, path
    assert counts(session) == before


def test_quote_writes_refuse_a_missing_or_wrong_csrf_token(
    client: TestClient, session: Session, editor: User
) -> None:
    before = counts(session)
    for token in ("", "forged"):
        response = client.post("/quotes/new", data=quote_form(token), follow_redirects=False)
        assert response.status_code == 403
    assert counts(session) == before


# --- add ----------------------------------------------------------------------------------------


def test_add_form_has_every_labelled_field(client: TestClient, editor: User) -> None:
    page = client.get("/quotes/new?party=ua&issue=ceasefire").text
    labels = [
        "Quote", "Kind", "Said on", "Published on", "Speaker", "New speaker name",
        "New speaker role", "Party", "Source URL", "Title", "Outlet", "Published on (source)",
        "Source kind", "Source tier", "Language", "Translated", "Status", "Confirms or denies",
        "Note", "Issue", "Stance", "Also record as the party&#39;s position from this date",
        "Rationale",
    ]  # fmt: skip
    for label in labels:
        assert re.search(rf'<label for="[a-z_0-9]+">{re.escape(label)}</label>', page), label
    for n in (1, 2, 3):
        assert f'name="issue_{n}"' in page and f'name="stance_{n}"' in page
    token = re.search(r'<meta name="csrf-token" content="([^"]+)"', page)
    assert token and f'name="csrf_token" value="{token.group(1)}"' in page.split("<main")[1]
    assert "Andrii Sybiha — Foreign Minister (Ukraine)" in page
    assert "Dmitry Peskov — Kremlin spokesman (Russia)" in page
    assert re.search(r'id="also_record_position" name="also_record_position" value="on">', page)
    assert '<option value="ceasefire" selected>' in page  # issue_1 prefilled from the cell
    assert 'hx-get="/quotes/tag-row?n=4"' in page and 'hx-swap="beforeend"' in page


def test_tag_row_fragment_adds_one_pair_and_moves_the_button_on(
    client: TestClient, editor: User
) -> None:
    response = client.get("/quotes/tag-row?n=4", headers=HX)
    assert response.status_code == 200 and "<html" not in response.text
    assert 'id="issue_4"' in response.text and 'name="stance_4"' in response.text
    assert 'hx-swap-oob="true"' in response.text and "/quotes/tag-row?n=5" in response.text
    last = client.get(f"/quotes/tag-row?n={MAX_TAGS}", headers=HX).text
    assert "tag-row?n=" not in last and "at most" in last


def test_add_quote_with_new_source_and_speaker_changes_the_matrix(
    client: TestClient, session: Session, editor: User
) -> None:
    assert "Ukraine on Ceasefire: no recorded position" in client.get("/?as_of=2025-04-20").text
    form = quote_form(token_for(client), id="9999", version="7", recorded_by_id="42")
    response = client.post("/quotes/new", data=form, follow_redirects=False)
    assert response.status_code == 303, response.text
    quote = session.scalars(select(Quote).where(Quote.text.startswith("Ukraine is ready"))).one()
    assert response.headers["location"] == f"/cells/ua/ceasefire#quote-{quote.id}"
    assert quote.id != 9999 and quote.version == 1
    speaker = session.get(Speaker, quote.speaker_id)
    source = session.get(Source, quote.source_id)
    assert speaker is not None and speaker.name == "Andrii Yermak"
    assert source is not None and source.outlet == "Example News"
    position = session.scalars(select(Position)).one()
    assert (position.stance, position.effective_from) == (Stance.ACCEPTS, date(2025, 4, 20))
    assert position.recorded_by_id == editor.id
    assert "Ukraine on Ceasefire: Accepts" in client.get("/?as_of=2025-04-20").text
    assert "Ukraine on Ceasefire: no recorded position" in client.get("/?as_of=2025-04-19").text
    actions = {
        (entry.entity_type, entry.action)
        for entry in session.scalars(select(AuditEntry).where(AuditEntry.actor_id == editor.id))
    }
    assert actions == {
        ("speakers", "create"),
        ("sources", "create"),
        ("quotes", "create"),
        ("positions", "create"),
    }


def test_add_quote_reuses_a_known_source_and_ignores_its_fields(
    client: TestClient, session: Session, world: World, editor: User
) -> None:
    form = quote_form(
        token_for(client),
        source_url=world.source.url,
        source_title="",
        source_outlet="",
        source_kind="",
        source_tier="",
        source_published_on="not a date",
        new_speaker_name="",
        new_speaker_role="",
        speaker_id=str(world.ua_speaker.id),
        also_record_position="",
        rationale="",
    )
    before = counts(session)
    response = client.post("/quotes/new", data=form, follow_redirects=False)
    assert response.status_code == 303, response.text
    after = counts(session)
    assert after["Source"] == before["Source"] and after["Speaker"] == before["Speaker"]
    assert after["Quote"] == before["Quote"] + 1 and after["Position"] == before["Position"]


def test_add_quote_over_htmx_swaps_the_form_or_redirects(
    client: TestClient, session: Session, editor: User
) -> None:
    bad = client.post("/quotes/new", data=quote_form(token_for(client), said_on=""), headers=HX)
    assert bad.status_code == 422 and "<html" not in bad.text
    assert '<form id="quote-form"' in bad.text and 'hx-target="this"' in bad.text
    good = client.post("/quotes/new", data=quote_form(token_for(client)), headers=HX)
    assert good.status_code == 204
    assert good.headers["HX-Redirect"].startswith("/cells/ua/ceasefire")


FUTURE = (date.today() + timedelta(days=3)).isoformat()

# (changes to a valid add form, the field whose error shows, words in its message)
QUOTE_RULES: list[tuple[dict[str, str], str, str]] = [
    ({"text": "   "}, "text", "required"),
    ({"text": "x" * 5001}, "text", "at most 5,000"),
    ({"kind": "rumour"}, "kind", "listed options"),
    ({"said_on": "2025-02-30"}, "said_on", "not a real date"),
    ({"said_on": "23/04/2025"}, "said_on", "YYYY-MM-DD"),
    ({"said_on": FUTURE}, "said_on", "in the future"),
    ({"said_on": ""}, "said_on", "required"),
    ({"published_on": "2025-04-19"}, "published_on", "cannot be before said on"),
    ({"party": "atlantis"}, "party", "from the list"),
    ({"speaker_id": "RU"}, "speaker_id", "from the list"),
    ({"new_speaker_name": "N" * 201}, "new_speaker_name", "at most 200"),
    ({"new_speaker_name": "", "new_speaker_role": "Minister"}, "new_speaker_name", "name"),
    ({"source_url": "javascript:alert(1)"}, "source_url", "http:// or https://"),
    ({"source_url": "ftp://files.example.org/x"}, "source_url", "http:// or https://"),
    ({"source_title": ""}, "source_title", "required"),
    ({"source_outlet": ""}, "source_outlet", "required"),
    ({"source_kind": ""}, "source_kind", "required"),
    ({"source_tier": "rumour mill"}, "source_tier", "listed options"),
    ({"source_published_on": "2025-13-01"}, "source_published_on", "not a real date"),
    ({"language": "English!"}, "language", "language code"),
    ({"status": "maybe"}, "status", "listed options"),
    ({"confirms_or_denies": "987654"}, "confirms_or_denies", "from the list"),
    ({"note": "n" * 5001}, "note", "at most 5,000"),
    ({"stance_1": "perhaps"}, "stance_1", "listed stances"),
    ({"stance_1": ""}, "stance_1", "stance"),
    ({"issue_1": "", "stance_2": "rejects"}, "issue_2", "issue"),
    ({"issue_2": "ceasefire", "stance_2": "rejects"}, "issue_2", "already tagged"),
    ({"issue_1": "atlantis"}, "issue_1", "from the list"),
    ({"issue_1": "", "stance_1": ""}, "issue_1", "at least one issue"),
    ({"stance_1": "conditional"}, "condition", "needs its condition"),
    ({"condition": "if the US guarantees it"}, "condition", "Only a conditional"),
]
SELECTS = (
    "issue_", "stance_", "kind", "status", "source_kind", "source_tier", "party", "speaker_id",
    "confirms_or_denies",
)  # fmt: skip


def test_each_quote_rule_shows_its_message_beside_its_field(
    client: TestClient, session: Session, world: World, editor: User
) -> None:
    token = token_for(client)
    before = counts(session)
    for changes, name, words in QUOTE_RULES:
        form = quote_form(token, **changes)
        response = client.post("/quotes/new", data=form)
        assert response.status_code == 422, (changes, response.text[:300])
        page = response.text
        assert words.lower() in field_error(page, name).lower(), (changes, field_error(page, name))
        assert f'aria-describedby="{name}-error"' in page and "Not saved" in page
        for key, typed in form.items():
            # What was typed into text inputs comes back (selects only keep listed options).
            if key != "csrf_token" and typed.strip() and not key.startswith(SELECTS):
                assert str(escape(typed.strip())) in page, (changes, key)
    assert counts(session) == before


def test_speaker_of_another_party_is_refused(
    client: TestClient, session: Session, world: World, editor: User
) -> None:
    ru_speaker = str(world.ru_speaker.id)
    form = quote_form(
        token_for(client), speaker_id=ru_speaker, new_speaker_name="", new_speaker_role=""
    )
    response = client.post("/quotes/new", data=form)
    assert response.status_code == 422
    assert "speaks for Russia, not Ukraine" in field_error(response.text, "speaker_id")
    assert f'<option value="{ru_speaker}" selected>' in response.text


def test_failed_position_in_the_same_save_leaves_nothing_written(
    client: TestClient, session: Session, world: World, editor: User
) -> None:
    before = counts(session)
    form = quote_form(token_for(client), stance_1="conditional", condition="")
    assert client.post("/quotes/new", data=form).status_code == 422
    assert counts(session) == before


# --- edit and conflicts -------------------------------------------------------------------------


def _stored_quote(session: Session, world: World) -> Quote:
    issue = catalog.get_issue(session, slug="ceasefire")
    return b.quote(
        session, world.ua, issue, Stance.REJECTS, said_on=date(2025, 4, 2), text="Never."
    )


def _edit_form(client: TestClient, quote_id: int) -> dict[str, str]:
    """What the edit form holds when opened: its inputs, selected options and quote text."""
    page = client.get(f"/quotes/{quote_id}/edit").text
    form: dict[str, str] = {}
    for tag in re.findall(r"<input [^>]*>", page):
        name = re.search(r'name="([^"]+)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if name and value and 'type="checkbox"' not in tag:
            form[name.group(1)] = html.unescape(value.group(1))
    for name, body in re.findall(
        r'<select id="[^"]+" name="([^"]+)".*?>(.*?)</select>', page, re.S
    ):
        chosen = re.search(r'<option value="([^"]*)" selected>', body)
        form[name] = chosen.group(1) if chosen else ""
    text_match = re.search(r'<textarea id="text" name="text"[^>]*>([^<]*)</textarea>', page)
    assert text_match
    form["text"] = html.unescape(text_match.group(1))
    return form


def test_edit_quote_saves_and_audits_before_and_after(
    client: TestClient, session: Session, world: World, editor: User
) -> None:
    quote = _stored_quote(session, world)
    form = _edit_form(client, quote.id)
    assert form["version"] == "1" and form["text"] == "Never." and form["issue_1"] == "ceasefire"
    form.update(
        text="Not now.", stance_1="ambiguous", issue_2="nato-membership", stance_2="rejects"
    )
    response = client.post(f"/quotes/{quote.id}/edit", data=form, follow_redirects=False)
    assert response.status_code == 303, response.text
    stored = quotes.get_quote(session, quote_id=quote.id)
    assert stored.text == "Not now." and stored.version == 2
    assert {t.issue.slug: t.stance for t in stored.issue_tags} == {
        "ceasefire": Stance.AMBIGUOUS,
        "nato-membership": Stance.REJECTS,
    }
    entry = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "update", AuditEntry.entity_type == "quotes")
    ).one()
    assert entry.actor_id == editor.id and entry.entity_id == str(quote.id)
    assert entry.before is not None and entry.after is not None
    assert entry.before["text"] == "Never." and entry.after["text"] == "Not now."
    assert entry.before["tags"] == {"ceasefire": "rejects"}
    assert entry.after["tags"] == {"ceasefire": "ambiguous", "nato-membership": "rejects"}


def test_edit_validation_keeps_the_version_and_the_input(
    client: TestClient, session: Session, world: World, editor: User
) -> None:
    quote = _stored_quote(session, world)
    form = _edit_form(client, quote.id)
    form.update(text="Changed", said_on="2025-04-31")
    response = client.post(f"/quotes/{quote.id}/edit", data=form)
    assert response.status_code == 422
    assert "not a real date" in field_error(response.text, "said_on")
    assert 'name="version" value="1"' in response.text and ">Changed</textarea>" in response.text
    assert "Also record" not in response.text
    assert quotes.get_quote(session, quote_id=quote.id).text == "Never."


def test_second_editor_saving_a_stale_version_gets_a_conflict(
    app: FastAPI, client: TestClient, session: Session, world: World, editor: User
) -> None:
    quote = _stored_quote(session, world)
    with TestClient(app) as other:
        login(other, session, email="second@example.org")
        first = _edit_form(client, quote.id)
        second = _edit_form(other, quote.id)
        first["text"] = "First editor's wording."
        saved = client.post(f"/quotes/{quote.id}/edit", data=first, follow_redirects=False)
        assert saved.status_code == 303
        second["text"] = "Second editor's wording."
        second["note"] = "typed by the second editor"
        response = other.post(f"/quotes/{quote.id}/edit", data=second)
        assert response.status_code == 409
        page = html.unescape(response.text)
        assert "Someone else changed this quote" in page
        assert "First editor's wording." in page and "Second editor's wording." in page
        assert "typed by the second editor" in page
        htmx = other.post(f"/quotes/{quote.id}/edit", data=second, headers=HX)
        assert htmx.status_code == 409 and htmx.headers["HX-Retarget"] == "#content"
    stored = quotes.get_quote(session, quote_id=quote.id)
    assert stored.text == "First editor's wording." and stored.version == 2
    assert stored.note == ""


def test_a_concurrent_save_before_flush_is_an_edit_conflict(session: Session, world: World) -> None:
    quote = _stored_quote(session, world)
    data = quotes.parse_quote_input(
        session,
        {
            "text": "Edited",
            "kind": "direct",
            "said_on": "2025-04-02",
            "party": "ua",
            "source_url": world.source.url,
            "status": "confirmed",
            "issue_1": "ceasefire",
            "stance_1": "rejects",
        },
    )
    # Another transaction saved in between: the row's version moved on under us.
    session.execute(
        update(Quote).where(Quote.id == quote.id).values(version=Quote.version + 1),
        execution_options={"synchronize_session": False},
    )
    with pytest.raises(EditConflict):
        quotes.update_quote(session, actor=None, quote=quote, data=data, expected_version=1)


def test_edit_refuses_moving_a_cited_quote_after_its_position(
    client: TestClient, session: Session, world: World, editor: User
) -> None:
    issue = catalog.get_issue(session, slug="ceasefire")
    position = b.position(session, world.ua, issue, Stance.REJECTS, date(2025, 4, 2))
    cited = position.evidence[0]
    form = _edit_form(client, cited.id)
    form.update(said_on="2025-04-05", party="ru")
    response = client.post(f"/quotes/{cited.id}/edit", data=form)
    assert response.status_code == 422
    assert "cannot be later" in field_error(response.text, "said_on")
    assert "cannot change" in field_error(response.text, "party")


# --- delete and retract -------------------------------------------------------------------------


def test_delete_is_refused_while_a_position_cites_the_quote(
    client: TestClient, session: Session, world: World, editor: User
) -> None:
    issue = catalog.get_issue(session, slug="ceasefire")
    cited = b.position(session, world.ua, issue, Stance.REJECTS, date(2025, 4, 2)).evidence[0]
    confirm = client.get(f"/quotes/{cited.id}/delete")
    assert confirm.status_code == 200 and "Delete this quote?" in confirm.text
    assert "Ukraine on Ceasefire</a>:" in confirm.text and "Retract" in confirm.text
    response = client.post(
        f"/quotes/{cited.id}/delete", data={"csrf_token": token_for(client)}, follow_redirects=False
    )
    assert response.status_code == 409
    assert "Not deleted" in response.text and "rejects from 2 Apr 2025" in response.text
    assert "Retract it instead" in response.text
    assert session.get(Quote, cited.id) is not None


def test_delete_after_confirmation_removes_the_quote_and_audits_it(
    client: TestClient, session: Session, world: World, editor: User
) -> None:
    quote = _stored_quote(session, world)
    answer = b.quote(session, world.ru, None, responds_to=quote, said_on=date(2025, 4, 3))
    quote_id = quote.id  # the row goes: its attributes cannot be read again after the request
    confirm = client.get(f"/quotes/{quote.id}/delete").text
    assert "Delete this quote?" in confirm and "Never." in confirm
    assert f'action="/quotes/{quote.id}/delete"' in confirm and ">Delete</button>" in confirm
    response = client.post(
        f"/quotes/{quote.id}/delete", data={"csrf_token": token_for(client)}, follow_redirects=False
    )
    assert response.status_code == 303 and response.headers["location"] == "/parties/ua"
    assert session.get(Quote, quote_id) is None
    kept = session.get(Quote, answer.id)
    assert kept is not None and kept.confirms_or_denies_id is None
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "delete")).one()
    assert entry.actor_id == editor.id and entry.entity_id == str(quote_id)
    assert entry.before is not None and entry.before["text"] == "Never." and entry.after is None


def test_retract_marks_the_quote_retracted(
    client: TestClient, session: Session, world: World, editor: User
) -> None:
    issue = catalog.get_issue(session, slug="ceasefire")
    cited = b.position(session, world.ua, issue, Stance.REJECTS, date(2025, 4, 2)).evidence[0]
    response = client.post(
        f"/quotes/{cited.id}/retract",
        data={"csrf_token": token_for(client)},
        follow_redirects=False,
    )
    assert response.status_code == 303
    retracted = session.get(Quote, cited.id)
    assert retracted is not None and retracted.status == QuoteStatus.RETRACTED
    entry = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "update", AuditEntry.entity_type == "quotes")
    ).one()
    assert entry.before is not None and entry.after is not None
    assert (entry.before["status"], entry.after["status"]) == ("confirmed", "retracted")


# --- escaping -----------------------------------------------------------------------------------


def test_markup_typed_into_text_fields_is_shown_as_text(
    client: TestClient, session: Session, world: World, editor: User
) -> None:
    form = quote_form(
        token_for(client),
        text=XSS,
        note=XSS,
        new_speaker_name=XSS,
        new_speaker_role=XSS,
        source_title=XSS,
        source_outlet=XSS,
        rationale=XSS,
    )
    assert client.post("/quotes/new", data=form, follow_redirects=False).status_code == 303
    quote = session.scalars(select(Quote).where(Quote.text == XSS)).one()
    pages = {
        "cell": client.get("/cells/ua/ceasefire?as_of=2025-04-20").text,
        "edit": client.get(f"/quotes/{quote.id}/edit").text,
        "delete": client.get(f"/quotes/{quote.id}/delete").text,
    }
    for name, page in pages.items():
        assert "<script>alert(1)</script>" not in page, name
        assert "<img src=x" not in page, name
        assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;" in page
    # The cell shows the quote, its speaker, source title and outlet, and the rationale.
    assert pages["cell"].count("&lt;script&gt;alert(1)") >= 5


def test_errors_across_fields_show_alongside_field_errors(
    client: TestClient, session: Session, world: World, editor: User
) -> None:
    form = quote_form(
        token_for(client), said_on="soon", published_on="2025-04-01", stance_1="conditional",
        source_title="", new_speaker_role="Minister", new_speaker_name="",
    )  # fmt: skip
    page = client.post("/quotes/new", data=form).text
    assert "not a real date" in field_error(page, "said_on")
    assert "needs its condition" in field_error(page, "condition")
    assert "required" in field_error(page, "source_title")  # a rule that asks the database
    assert "name" in field_error(page, "new_speaker_name")
