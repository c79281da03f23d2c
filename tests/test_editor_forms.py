"""The editor's forms get it right the first time: every error in one round, listed at the top
as links to the fields, required fields marked in their labels, and a saved quote or position
said so on the page it lands on. Over HTTP, on both databases."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.models import User
from app.security import FLASH_COOKIE
from tests.conftest import csrf_token
from tests.html_reader import parse
from tests.test_quote_forms import HX, World, editor, quote_form, world

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
    # The four rounds an editor met before: a pair without its stance, a missing rationale,
    # published before said, and the fields a new source needs.
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
        "#rationale",
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
        ("/quotes/new", {"text", "kind", "status", "said_on", "party", "language", "source_url"},
         {"published_on", "note", "new_speaker_name", "source_title"}),
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
