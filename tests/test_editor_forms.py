"""The editor's forms get it right the first time: every error in one round, listed at the top
as links to the fields, required fields marked in their labels, and a saved quote or position
said so on the page it lands on. Over HTTP, on both databases."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import (
    AuditEntry,
    Position,
    Quote,
    QuoteStatus,
    Role,
    SourceTier,
    Speaker,
    SpeakerRole,
    Stance,
    User,
)
from app.security import FLASH_COOKIE
from app.services import catalog, quotes
from tests import builders as b
from tests.auth_helpers import login as admin_login
from tests.auth_helpers import make_user
from tests.conftest import csrf_token
from tests.html_reader import parse
from tests.test_quote_forms import (
    HX,
    World,
    _edit_form,
    _stored_quote,
    editor,
    login,
    quote_form,
    world,
)

__all__ = ["editor", "world"]  # fixtures this module uses


def summary_links(html: str) -> list[tuple[str, str]]:
    """The error summary's links as (href, text), in order."""
    boxes = parse(html).find_all("div", lambda e: e.attrs.get("id") == "error-summary")
    if not boxes:
        return []
    return [(a.attrs.get("href", ""), a.text()) for a in boxes[0].find_all("a")]


def ids_in(html: str) -> set[str]:
    return {e.attrs["id"] for e in parse(html).iter() if "id" in e.attrs}


@pytest.mark.parametrize("headers", [{}, HX], ids=["plain", "htmx"])
def test_every_problem_comes_back_in_one_round(
    client: TestClient, editor: User, headers: dict[str, str]
) -> None:
    # The rounds an editor met before: a pair without its stance, published before said, and
    # the fields a new source needs (a missing rationale is now written for them).
    token = csrf_token(client, "/quotes/new")
    no_source = dict.fromkeys(("source_title", "source_outlet", "source_kind", "source_tier"), "")
    form = quote_form(token, stance_1="", rationale="", published_on="2025-04-18", **no_source)
    response = client.post("/quotes/new", data=form, headers=headers)
    assert response.status_code == 422
    links = summary_links(response.text)
    assert [href for href, _ in links] == [
        "#published_on",
        "#source_title",
        "#source_outlet",
        "#source_kind",
        "#source_tier",
        "#stance_1",
    ]
    assert links[0][1] == "Published on: Published on cannot be before said on."
    assert links[5][1] == "Stance 1: Choose the stance this quote signals on the issue."
    # Every link points at a field on the page, and each field has its message beside it.
    targets = ids_in(response.text)
    for href, _ in links:
        assert href[1:] in targets and f"{href[1:]}-error" in targets


def test_a_record_rule_is_reported_beside_a_field_error(
    client: TestClient, editor: User, world: World
) -> None:
    # The speaker of another party (a database rule) and an unreadable date (a field rule).
    token = csrf_token(client, "/quotes/new")
    form = quote_form(
        token, said_on="20 April", new_speaker_name="", new_speaker_role="",
        speaker_id=str(world.ru_speaker.id),
    )  # fmt: skip
    response = client.post("/quotes/new", data=form, headers=HX)
    assert response.status_code == 422
    hrefs = [href for href, _ in summary_links(response.text)]
    assert hrefs == ["#said_on", "#speaker_id"]


def test_the_summary_takes_focus_and_sits_at_the_top_of_the_form(
    client: TestClient, editor: User
) -> None:
    token = csrf_token(client, "/quotes/new")
    response = client.post("/quotes/new", data=quote_form(token, text=""), headers=HX)
    form = parse(response.text).find_all("form")[0]
    box = [e for e in form.iter() if e.tag not in {"form", "input", "button"}][0]
    assert box.attrs.get("id") == "error-summary"
    assert "autofocus" in box.attrs and box.attrs.get("tabindex") == "-1"
    assert box.attrs.get("role") == "alert"
    assert "novalidate" in form.attrs  # the server, not the browser, reports every problem
    assert summary_links(response.text) == [("#text", "Quote: This field is required.")]


@pytest.mark.parametrize(
    ("page", "required", "optional"),
    [
        ("/quotes/new", {"text", "kind", "said_on", "party", "language", "source_url"},
         {"published_on", "note", "new_speaker_name", "source_title", "status"}),
        ("/positions/new", {"party", "issue", "stance", "effective_from", "rationale"},
         {"condition"}),
    ],
)  # fmt: skip
def test_required_fields_are_marked_in_their_labels(
    client: TestClient, editor: User, page: str, required: set[str], optional: set[str]
) -> None:
    root = parse(client.get(page).text)
    marked = {
        line.find_all("label")[0].attrs["for"]
        for line in root.find_all("span", lambda e: e.has_class("label-line"))
        if line.find_all("span", lambda e: e.has_class("required-mark"))[0].text() == "required"
    }
    assert required <= marked and not optional & marked
    # The mark sits beside the label, not in it: the control's name stays its label.
    labels = {label.attrs.get("for"): label.text() for label in root.find_all("label")}
    assert labels["party"] == "Party"


@pytest.mark.parametrize("headers", [{}, HX], ids=["plain", "htmx"])
def test_a_saved_quote_says_so_once_on_the_page_it_lands_on(
    client: TestClient, session: Session, editor: User, headers: dict[str, str]
) -> None:
    token = csrf_token(client, "/quotes/new")
    saved = client.post(
        "/quotes/new", data=quote_form(token), headers=headers, follow_redirects=False
    )
    target = saved.headers.get("HX-Redirect") or saved.headers["location"]
    assert target.startswith("/cells/ua/ceasefire#quote-")
    page = client.get(target)
    flash = parse(page.text).find_all("p", lambda e: e.attrs.get("id") == "flash")
    assert len(flash) == 1
    assert flash[0].text() == (
        "Quote added to Ukraine × Ceasefire, and recorded as the party's position — view it"
    )
    assert flash[0].find_all("a")[0].attrs["href"] == target
    again = client.get(target)  # shown once
    assert 'id="flash"' not in again.text and FLASH_COOKIE not in client.cookies


def test_a_saved_edit_and_a_recorded_position_say_so(
    client: TestClient, session: Session, editor: User, world: World
) -> None:
    token = csrf_token(client, "/positions/new")
    quote_id = (
        client.post(
            "/quotes/new", data=quote_form(token, also_record_position=""), follow_redirects=False
        )
        .headers["location"]
        .rsplit("-", 1)[1]
    )
    client.get("/")  # the add's flash is shown and gone
    form = {
        "csrf_token": token, "party": "ua", "issue": "nato-membership", "stance": "rejects",
        "effective_from": "2025-04-21", "rationale": "Said on the record.", "evidence": quote_id,
    }  # fmt: skip
    page = client.post("/positions/new", data=form)
    assert page.url.path == "/cells/ua/nato-membership"
    flash = parse(page.text).find_all("p", lambda e: e.attrs.get("id") == "flash")
    assert flash[0].text() == "Position recorded: Ukraine × NATO membership — view it"


def test_a_forged_flash_cookie_is_not_shown(client: TestClient, editor: User) -> None:
    client.cookies.set(FLASH_COOKIE, "forged-value")
    assert 'id="flash"' not in client.get("/").text


# --- Defaults that fit the work ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "tier", "status"),
    [
        ("direct", "on_record", QuoteStatus.CONFIRMED),
        ("direct", "official_readout", QuoteStatus.CONFIRMED),
        ("document_provision", "published_document", QuoteStatus.CONFIRMED),
        ("reported", "on_record", QuoteStatus.REPORTED),
        ("direct", "anonymous_official", QuoteStatus.REPORTED),
        ("direct", "state_media", QuoteStatus.REPORTED),
    ],
)
def test_status_left_to_the_source_follows_it(
    client: TestClient, session: Session, editor: User, kind: str, tier: str, status: QuoteStatus
) -> None:
    status_select = parse(client.get("/quotes/new").text).find_all(
        "select", lambda e: e.attrs.get("id") == "status"
    )[0]
    options = status_select.find_all("option")
    assert (options[0].attrs["value"], options[0].text()) == ("", "— as the source says —")
    assert not [o for o in options if "selected" in o.attrs]  # so the first one is chosen
    form = quote_form(csrf_token(client, "/quotes/new"), kind=kind, source_tier=tier, status="")
    assert client.post("/quotes/new", data=form, follow_redirects=False).status_code == 303
    quote = session.scalar(select(Quote).where(Quote.text == form["text"]))
    assert quote is not None and quote.status == status


def test_a_known_sources_tier_sets_the_status_and_a_chosen_status_wins(
    client: TestClient, session: Session, editor: User, world: World
) -> None:
    world.source.tier = SourceTier.ANONYMOUS_OFFICIAL
    token = csrf_token(client, "/quotes/new")
    for text, status in (("Left to the source.", ""), ("Chosen by the editor.", "confirmed")):
        form = quote_form(token, text=text, source_url=world.source.url, status=status)
        assert client.post("/quotes/new", data=form, follow_redirects=False).status_code == 303
    stored = dict(session.execute(select(Quote.text, Quote.status)).all())
    assert stored["Left to the source."] == QuoteStatus.REPORTED
    assert stored["Chosen by the editor."] == QuoteStatus.CONFIRMED


def test_the_last_party_and_language_are_remembered_for_the_session(
    client: TestClient, editor: User, world: World
) -> None:
    blank = shown(client.get("/quotes/new").text)
    assert (blank["party"], blank["language"]) == ("", "en")
    form = quote_form(
        csrf_token(client, "/quotes/new"),
        party="ru",
        language="ru",
        new_speaker_name="Yuri Ushakov",
    )
    saved = client.post("/quotes/new", data=form, follow_redirects=False)
    memory = [c for c in saved.headers.get_list("set-cookie") if c.startswith("pt_memory=")]
    assert len(memory) == 1 and "max-age" not in memory[0].lower()  # for the browser session
    again = shown(client.get("/quotes/new").text)
    assert (again["party"], again["language"]) == ("ru", "ru")
    assert shown(client.get("/quotes/new?party=ua").text)["party"] == "ua"  # a link's party wins


def test_recording_a_position_is_a_choice_and_a_blank_rationale_is_written(
    client: TestClient, session: Session, editor: User, world: World
) -> None:
    assert not checked(client.get("/quotes/new").text, "also_record_position")
    form = quote_form(
        csrf_token(client, "/quotes/new"),
        rationale="",
        speaker_id=str(world.ua_speaker.id),
        new_speaker_name="",
        new_speaker_role="",
        source_outlet="Kyiv Daily",
    )
    assert client.post("/quotes/new", data=form, follow_redirects=False).status_code == 303
    position = session.scalar(select(Position).order_by(Position.id.desc()))
    assert position is not None
    assert position.rationale == (
        "Andrii Sybiha (Foreign Minister) said so on 20 Apr 2025 (Kyiv Daily, on-record)."
    )


def shown(html: str) -> dict[str, str]:
    """The party chosen and the language typed in a rendered quote form."""
    root = parse(html)
    party = root.find_all("select", lambda e: e.attrs.get("id") == "party")[0]
    chosen = party.find_all("option", lambda o: "selected" in o.attrs)
    language = root.find_all("input", lambda e: e.attrs.get("id") == "language")[0]
    return {
        "party": chosen[0].attrs["value"] if chosen else "",
        "language": language.attrs.get("value", ""),
    }


def checked(html: str, name: str) -> bool:
    boxes = parse(html).find_all("input", lambda e: e.attrs.get("id") == name)
    return "checked" in boxes[0].attrs


# --- The position form shows the stance in force ------------------------------------------------


def test_the_position_form_shows_the_stance_in_force_with_its_evidence(
    client: TestClient, session: Session, editor: User, world: World
) -> None:
    ceasefire = catalog.find_issue(session, slug="ceasefire")
    assert ceasefire is not None
    b.position(session, world.ua, ceasefire, Stance.REJECTS, date(2025, 3, 1))
    later = b.quote(session, world.ua, ceasefire, text="A full ceasefire, on conditions.")
    b.position(
        session, world.ua, ceasefire, Stance.CONDITIONAL, date(2025, 4, 1), evidence=[later],
        condition="the front line is frozen",
    )  # fmt: skip
    b.position(session, world.ua, ceasefire, Stance.ACCEPTS, date.today() + timedelta(days=30))
    # Without JavaScript: the page itself, when a cell's link names the party and the issue.
    page = client.get("/positions/new?party=ua&issue=ceasefire").text
    box = parse(page).find_all("section", lambda e: e.attrs.get("id") == "current-stance")[0]
    assert box.text().startswith(
        "Ukraine on Ceasefire, in force now: Conditional (if the front line is frozen) "
        "since 1 Apr 2025."
    )
    assert "Because the quote says so." in box.text()
    assert [li.text() for li in box.find_all("li")] == [
        "1 Apr 2025 · Unattributed · Test Wire · confirmed: “A full ceasefire, on conditions.”"
    ]
    assert box.attrs["hx-get"] == "/positions/current" and "#issue" in box.attrs["hx-include"]
    # With htmx: the fragment alone, for the party and issue chosen.
    fragment = client.get("/positions/current?party=ua&issue=ceasefire", headers=HX)
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert "Conditional" in fragment.text and "front line is frozen" in fragment.text


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ("party=ru&issue=ceasefire", "Russia has no recorded position on Ceasefire"),
        ("party=ru", "Choose a party and an issue"),
        ("party=atlantis&issue=ceasefire", "Choose a party and an issue"),
    ],
)
def test_the_stance_in_force_says_when_there_is_none(
    client: TestClient, editor: User, query: str, says: str
) -> None:
    response = client.get(f"/positions/current?{query}", headers=HX)
    assert response.status_code == 200 and says in parse(response.text).text()


# --- Speakers that stay clean: "Did you mean …?" ----------------------------------------------


def speaker_form(client: TestClient, name: str, **changes: str) -> dict[str, str]:
    form = quote_form(csrf_token(client, "/quotes/new"), new_speaker_name=name, **changes)
    return {**form, "new_speaker_role": ""}


@pytest.mark.parametrize(
    ("party", "typed", "meant"),
    [
        ("ua", "Volodymyr Zelensky", "Volodymyr Zelenskyy"),
        ("ua", "volodymyr zelenskiy", "Volodymyr Zelenskyy"),
        ("ru", "Dmitry Peskow", "Dmitry Peskov"),
        ("ru", "Dmitriy Peskoff", "Dmitry Peskov"),
        ("ru", "DMITRY PESKOV", "Dmitry Peskov"),
        ("ua", "Andriy Sybiha", "Andrii Sybiha"),
        ("ua", "Andrii Sybyha", "Andrii Sybiha"),  # one letter apart
    ],
)
def test_a_new_speaker_close_to_a_known_one_is_asked_about(
    client: TestClient,
    session: Session,
    editor: User,
    world: World,
    party: str,
    typed: str,
    meant: str,
) -> None:
    catalog.create_speaker(session, actor=None, party=world.ua, name="Volodymyr Zelenskyy")
    speakers_before = session.scalar(select(func.count()).select_from(Speaker))
    response = client.post("/quotes/new", data=speaker_form(client, typed, party=party))
    assert response.status_code == 422
    owner = "Ukraine" if party == "ua" else "Russia"
    assert summary_links(response.text) == [
        (
            "#new_speaker_name",
            f"New speaker name: Did you mean {meant} ({owner})? Use the speaker below, "
            f"or tick “A new speaker” to add {typed}.",
        )
    ]
    buttons = parse(response.text).find_all(
        "button", lambda e: e.attrs.get("name") == "use_speaker"
    )
    assert [button.text().split(" — ")[0].split(" (")[0] for button in buttons] == [f"Use {meant}"]
    assert session.scalar(select(func.count()).select_from(Speaker)) == speakers_before


def test_using_the_suggested_speaker_saves_with_them_and_adds_none(
    client: TestClient, session: Session, editor: User, world: World
) -> None:
    form = speaker_form(client, "Dmitry Peskow", party="ru")
    speakers_before = session.scalar(select(func.count()).select_from(Speaker))
    saved = client.post(
        "/quotes/new",
        data={**form, "use_speaker": str(world.ru_speaker.id)},
        follow_redirects=False,
    )
    assert saved.status_code == 303, saved.text
    quote = session.scalar(select(Quote).where(Quote.text == form["text"]))
    assert quote is not None and quote.speaker_id == world.ru_speaker.id
    assert session.scalar(select(func.count()).select_from(Speaker)) == speakers_before


def test_a_confirmed_new_speaker_is_added_and_an_unlike_name_is_not_asked_about(
    client: TestClient, session: Session, editor: User, world: World
) -> None:
    confirmed = speaker_form(client, "Dmitry Peskow", party="ru", new_speaker_confirmed="on")
    assert client.post("/quotes/new", data=confirmed, follow_redirects=False).status_code == 303
    unlike = speaker_form(client, "Yuri Ushakov", party="ru", text="Another statement.")
    assert client.post("/quotes/new", data=unlike, follow_redirects=False).status_code == 303
    names = set(session.scalars(select(Speaker.name).where(Speaker.party_id == world.ru.id)))
    assert names == {"Dmitry Peskov", "Dmitry Peskow", "Yuri Ushakov"}


# --- Dated roles ---------------------------------------------------------------------------------


def test_a_role_typed_for_a_known_speaker_is_dated_and_shown_with_each_quote(
    client: TestClient, session: Session, editor: User, world: World
) -> None:
    token = csrf_token(client, "/quotes/new")

    def add(text: str, said_on: str, role: str) -> None:
        form = quote_form(
            token, text=text, said_on=said_on, new_speaker_name="Andrii Sybiha",
            new_speaker_role=role, source_url=world.source.url,
            also_record_position="on" if role else "",
        )  # fmt: skip
        assert client.post("/quotes/new", data=form, follow_redirects=False).status_code == 303

    add("Earlier words on a ceasefire.", "2025-04-01", "")
    add("Later words on a ceasefire.", "2025-11-20", "Chief negotiator")
    add("Words from between.", "2025-06-01", "")
    session.refresh(world.ua_speaker)
    assert world.ua_speaker.role == "Chief negotiator"  # their latest role
    roles = session.execute(
        select(SpeakerRole.held_from, SpeakerRole.role)
        .where(SpeakerRole.speaker_id == world.ua_speaker.id)
        .order_by(SpeakerRole.held_from)
    ).all()
    assert [(day.isoformat(), role) for day, role in roles] == [
        ("1900-01-01", "Foreign Minister"),
        ("2025-11-20", "Chief negotiator"),
    ]
    expected = {
        "Earlier words on a ceasefire.": "Foreign Minister",
        "Words from between.": "Foreign Minister",
        "Later words on a ceasefire.": "Chief negotiator",
    }
    # The cell and the search show each quote with the role held then.
    for page in ("/cells/ua/ceasefire?as_of=2025-12-31", "/quotes?q=words"):
        root = parse(client.get(page).text)
        for text, role in expected.items():
            article = [
                a for a in root.find_all("article") if text in a.text() and a.has_class("quote")
            ]
            assert article, (page, text)
            assert f"Andrii Sybiha, {role} ·" in article[0].text(), (page, text)
    # So do the CSV and the briefing.
    rows = list(csv.DictReader(io.StringIO(client.get("/exports/quotes.csv").text)))
    assert {row["text"]: row["speaker_role"] for row in rows} == expected
    briefing = client.get("/briefing?as_of=2025-12-31").text
    assert "Andrii Sybiha</strong>, Chief negotiator" in briefing
    # The change is in the audit log.
    entry = session.scalar(
        select(AuditEntry)
        .where(AuditEntry.entity_type == "speakers", AuditEntry.action == "update")
        .order_by(AuditEntry.id.desc())
    )
    assert entry is not None and entry.after["role"] == "Chief negotiator"


# --- Finding a speaker by typing -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "listed"),
    [
        ("party=ua&speaker_q=sybi", ["Andrii Sybiha — Foreign Minister (Ukraine)"]),
        ("party=ua&speaker_q=ZELENSKY", ["Volodymyr Zelenskyy (Ukraine)"]),
        ("party=ua&speaker_q=", ["Andrii Sybiha — Foreign Minister (Ukraine)",
                                 "Volodymyr Zelenskyy (Ukraine)"]),
        ("party=ru&speaker_q=peskow", ["Dmitry Peskov — Kremlin spokesman (Russia)"]),
        ("party=ru&speaker_q=sybi", []),
    ],
)  # fmt: skip
def test_speaker_suggestions_follow_the_party_and_the_letters_typed(
    client: TestClient, session: Session, editor: User, world: World, query: str, listed: list[str]
) -> None:
    catalog.create_speaker(session, actor=None, party=world.ua, name="Volodymyr Zelenskyy")
    response = client.get(f"/quotes/speaker-options?{query}", headers=HX)
    assert response.status_code == 200 and "<html" not in response.text
    options = [o.text() for o in parse(response.text).find_all("option")]
    assert options == ["— unattributed, or a new speaker —", *listed]


def test_the_one_speaker_the_letters_name_is_chosen(
    client: TestClient, editor: User, world: World
) -> None:
    one = client.get("/quotes/speaker-options?party=ru&speaker_q=pesk", headers=HX)
    selected = parse(one.text).find_all("option", lambda o: "selected" in o.attrs)
    assert [o.attrs["value"] for o in selected] == [str(world.ru_speaker.id)]
    none_typed = client.get("/quotes/speaker-options?party=ru&speaker_q=", headers=HX)
    assert not parse(none_typed.text).find_all("option", lambda o: "selected" in o.attrs)


def test_the_chosen_speaker_stays_listed_and_without_javascript_all_are(
    client: TestClient, editor: User, world: World
) -> None:
    chosen = world.ru_speaker.id
    response = client.get(f"/quotes/speaker-options?party=ru&speaker_q=x&speaker_id={chosen}")
    selected = parse(response.text).find_all("option", lambda o: "selected" in o.attrs)
    assert [o.attrs["value"] for o in selected] == [str(chosen)]
    page = parse(client.get("/quotes/new?party=ua").text)
    select_box = page.find_all("select", lambda e: e.attrs.get("id") == "speaker_id")[0]
    assert len(select_box.find_all("option")) == 3  # the blank one and both parties' speakers
    search = page.find_all("input", lambda e: e.attrs.get("id") == "speaker_q")[0]
    assert search.attrs["hx-target"] == "#speaker_id" and "#party" in search.attrs["hx-include"]


# --- No duplicate quotes -------------------------------------------------------------------------

RECORDED = "We will never recognise Crimea as Russian, whatever the pressure."


@pytest.mark.parametrize(
    ("typed", "same"),
    [
        ("We will never recognise Crimea as Russian, whatever the pressure.", "speaker"),
        ("“We will  never recognise Crimea as Russian — whatever the pressure”", "speaker"),
        ("we will never recognise crimea as russian, whatever the pressure!", "source"),
        ("We will never recognize Crimea as Russian, whatever the pressure.", "source"),
    ],
)
def test_a_nearly_identical_quote_is_shown_before_saving(
    client: TestClient, session: Session, editor: User, world: World, typed: str, same: str
) -> None:
    recorded = b.quote(session, world.ua, None, text=RECORDED, src=world.source)
    recorded.speaker_id = world.ua_speaker.id
    session.flush()
    where = (
        {"speaker_id": str(world.ua_speaker.id), "new_speaker_name": "", "new_speaker_role": ""}
        if same == "speaker"
        else {"source_url": world.source.url}
    )
    form = quote_form(csrf_token(client, "/quotes/new"), text=typed, **where)
    response = client.post("/quotes/new", data=form, headers=HX)
    assert response.status_code == 422
    assert ("#text", f"Quote: A quote like this is already recorded (#{recorded.id}, said on "
            "2025-04-01): tag that one instead, or tick “Save anyway”.") in summary_links(
        response.text)  # fmt: skip
    box = parse(response.text).find_all("div", lambda e: e.attrs.get("id") == "near-quotes")[0]
    assert box.links() == [f"/quotes/{recorded.id}/edit"]
    saved = client.post("/quotes/new", data={**form, "save_anyway": "on"}, follow_redirects=False)
    assert saved.status_code == 303, saved.text


def test_a_different_quote_or_another_speakers_is_not_a_duplicate(
    client: TestClient, session: Session, editor: User, world: World
) -> None:
    b.quote(session, world.ua, None, text=RECORDED, src=world.source)
    token = csrf_token(client, "/quotes/new")
    other = quote_form(token, text="We will discuss Crimea only after a ceasefire holds.")
    assert client.post("/quotes/new", data=other, follow_redirects=False).status_code == 303
    # The same words from another speaker in another source are their own statement.
    repeated = quote_form(token, text=RECORDED, source_url="https://example.org/elsewhere")
    assert client.post("/quotes/new", data=repeated, follow_redirects=False).status_code == 303


def test_quotes_that_differ_in_a_number_are_two_statements(
    client: TestClient, session: Session, editor: User, world: World
) -> None:
    b.quote(
        session, world.ua, None, text="Russia holds 800,000 troops near the line.", src=world.source
    )
    form = quote_form(
        csrf_token(client, "/quotes/new"),
        text="Russia holds 600,000 troops near the line.",
        source_url=world.source.url,
    )
    assert client.post("/quotes/new", data=form, follow_redirects=False).status_code == 303


# --- Reading the conflict page -------------------------------------------------------------------


def test_the_conflict_page_lines_up_readable_values_and_applies_my_changes(
    app: FastAPI, client: TestClient, session: Session, editor: User, world: World
) -> None:
    quote = _stored_quote(session, world)
    with TestClient(app) as other:
        login(other, session, email="second@example.org")
        first, second = _edit_form(client, quote.id), _edit_form(other, quote.id)
        first["text"] = "First editor's wording."
        assert client.post(f"/quotes/{quote.id}/edit", data=first).status_code == 200
        second.update(text="Second editor's wording.", speaker_id=str(world.ua_speaker.id))
        response = other.post(f"/quotes/{quote.id}/edit", data=second)
        assert response.status_code == 409
        root = parse(response.text)
        rows = {
            tr.find_all("th")[0].text(): (tr.has_class("differs"), [td.text() for td in tr.find_all("td")])
            for tr in root.find_all("tbody")[0].find_all("tr")
        }  # fmt: skip
        assert rows["Quote differs"] == (
            True,
            ["First editor's wording.", "Second editor's wording."],
        )
        assert rows["Party"] == (False, ["Ukraine", "Ukraine"])  # names, not slugs
        assert rows["Speaker differs"] == (
            True,
            ["Unattributed", "Andrii Sybiha — Foreign Minister"],
        )
        assert rows["Said on"] == (False, ["2 Apr 2025", "2 Apr 2025"])
        assert rows["Issues"] == (False, ["Ceasefire: Rejects", "Ceasefire: Rejects"])
        assert not [label for label in rows if "ersion" in label]
        # One click: the form again, on the current version, with what the second editor typed.
        apply_form = root.find_all(
            "form", lambda e: e.attrs.get("action") == f"/quotes/{quote.id}/edit"
        )[0]
        posted = {i.attrs["name"]: i.attrs.get("value", "") for i in apply_form.find_all("input")}
        posted["action"] = "apply"
        reopened = other.post(f"/quotes/{quote.id}/edit", data=posted)
        assert reopened.status_code == 200
        text = parse(reopened.text).find_all("textarea", lambda e: e.attrs.get("id") == "text")
        assert text[0].text() == "Second editor's wording."
        version = parse(reopened.text).find_all("input", lambda e: e.attrs.get("name") == "version")
        assert version[0].attrs["value"] == "2"
        saved = other.post(
            f"/quotes/{quote.id}/edit", data={**second, "version": "2"}, follow_redirects=False
        )
        assert saved.status_code == 303
    assert quotes.get_quote(session, quote_id=quote.id).text == "Second editor's wording."


# --- Admins merge two speakers -------------------------------------------------------------------


def test_an_admin_merges_a_duplicate_speaker_and_the_audit_log_records_it(
    app: FastAPI, client: TestClient, session: Session, editor: User, world: World
) -> None:
    twin = catalog.create_speaker(session, actor=None, party=world.ru, name="Dmitry Peskow")
    twin_id = twin.id
    quote = b.quote(session, world.ru, None, text="Said by the twin.")
    quote.speaker_id = twin.id
    session.flush()
    # An editor may not merge.
    token = csrf_token(client, "/quotes/new")
    refused = client.post(
        f"/manage/speakers/{twin_id}/merge",
        data={"csrf_token": token, "into": str(world.ru_speaker.id)},
    )
    assert refused.status_code == 403
    with TestClient(app) as admin:
        make_user(session, "admin@example.org", role=Role.ADMIN)
        admin_login(admin, "admin@example.org")
        page = parse(admin.get(f"/manage/speakers/{twin_id}/merge").text)
        offered = [o.text() for o in page.find_all("option") if o.attrs.get("value")]
        assert offered == ["Dmitry Peskov — Kremlin spokesman"]  # the same party's only
        token = csrf_token(admin, f"/manage/speakers/{twin_id}/merge")
        wrong = admin.post(
            f"/manage/speakers/{twin_id}/merge",
            data={"csrf_token": token, "into": str(world.ua_speaker.id)},
        )
        assert wrong.status_code == 422 and "same party" in wrong.text
        done = admin.post(
            f"/manage/speakers/{twin_id}/merge",
            data={"csrf_token": token, "into": str(world.ru_speaker.id)},
            follow_redirects=False,
        )
        assert done.status_code == 303
    session.expire_all()
    assert session.scalar(select(Speaker).where(Speaker.id == twin_id)) is None
    assert session.get(Quote, quote.id).speaker_id == world.ru_speaker.id  # type: ignore[union-attr]
    entry = session.scalar(
        select(AuditEntry)
        .where(AuditEntry.entity_type == "speakers", AuditEntry.action == "update")
        .order_by(AuditEntry.id.desc())
    )
    assert entry is not None and entry.entity_id == str(world.ru_speaker.id)
    assert entry.after["merged"]["name"] == "Dmitry Peskow"
    assert entry.after["quotes_moved"] == [quote.id]
