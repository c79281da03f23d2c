"""People have pages: who a speaker is, their quotes by issue with the stances they carry, and
their name linked to that page wherever it appears."""

from __future__ import annotations

from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Issue, Party, QuoteKind, QuoteStatus, Speaker, Stance
from app.services import catalog, quotes
from tests import builders
from tests.auth_helpers import login, make_user
from tests.html_reader import Element, parse


def _speaker(session: Session, party: Party, name: str = "Ada Envoy") -> Speaker:
    speaker = catalog.create_speaker(
        session, actor=None, party=party, name=name, role="Special Envoy"
    )
    session.flush()
    return speaker


def _said(
    session: Session,
    speaker: Speaker,
    tags: list[tuple[Issue, Stance]],
    said_on: date,
    status: QuoteStatus = QuoteStatus.CONFIRMED,
) -> int:
    quote = quotes.create_quote(
        session, actor=None, text=f"Said on {said_on}", kind=QuoteKind.DIRECT, said_on=said_on,
        party=speaker.party, source=builders.source(session), status=status, speaker=speaker,
        tags=tags,
    )  # fmt: skip
    return quote.id


def _sections(page: Element) -> list[Element]:
    return page.find_all("section", lambda e: e.has_class("speaker-issue"))


def test_speaker_page_lists_quotes_by_issue_newest_first(
    client: TestClient, session: Session
) -> None:
    party = builders.party(session, name="Freedonia")
    first, second = builders.issue(session, title="Ceasefire"), builders.issue(session)
    speaker = _speaker(session, party)
    old = _said(session, speaker, [(first, Stance.REJECTS)], date(2025, 3, 1))
    both = _said(
        session, speaker, [(first, Stance.ACCEPTS), (second, Stance.CONDITIONAL)],
        date(2025, 3, 9), QuoteStatus.REPORTED,
    )  # fmt: skip
    loose = _said(session, speaker, [], date(2025, 3, 5), QuoteStatus.DENIED)
    response = client.get(f"/speakers/{speaker.id}")
    assert response.status_code == 200
    page = parse(response.text)
    assert page.find_all("h1")[0].text() == "Ada Envoy"
    who = page.find_all("p", lambda e: e.has_class("speaker-who"))[0].text()
    assert "Special Envoy" in who and "Freedonia" in who and "3 quotes" in who
    sections = _sections(page)
    assert [s.find_all("h2")[0].text() for s in sections] == [
        "Ceasefire", second.title, "No issue tagged",
    ]  # fmt: skip
    ceasefire = sections[0]
    articles = ceasefire.find_all("article")
    assert [a.attrs.get("id") for a in articles] == [f"quote-{both}", f"quote-{old}"]
    signals = [p.text() for p in ceasefire.find_all("p", lambda e: e.has_class("signals"))]
    assert signals[0].startswith("Signals: Accepts") and signals[1].startswith("Signals: Rejects")
    # Status shown as everywhere else; a quote shown twice has one anchor only.
    assert "reported" in articles[0].text()
    repeated = sections[1].find_all("article")[0]
    assert "id" not in repeated.attrs and "Conditional" in sections[1].text()
    assert sections[2].find_all("article")[0].attrs["id"] == f"quote-{loose}"
    assert "denied" in sections[2].text()
    assert "Source:" in articles[0].text()


def test_speaker_with_no_quotes_says_so(client: TestClient, session: Session) -> None:
    speaker = _speaker(session, builders.party(session))
    page = client.get(f"/speakers/{speaker.id}").text
    assert "No quotes of Ada Envoy are recorded." in page


def test_speaker_name_form_redirects_to_the_id(client: TestClient, session: Session) -> None:
    speaker = _speaker(session, builders.party(session))
    response = client.get(f"/speakers/{speaker.id}-ada-envoy?x=1", follow_redirects=False)
    assert response.status_code == 301
    assert response.headers["location"] == f"/speakers/{speaker.id}?x=1"


@pytest.mark.parametrize(
    "key", ["999999", "ada-envoy", "12a", "١٢", "-12", "99999999999999999999", "99999999999999-x"]
)
def test_unknown_speaker_is_404(client: TestClient, session: Session, key: str) -> None:
    response = client.get(f"/speakers/{key}")
    assert response.status_code == 404
    assert "No speaker" in response.text


def _zelenskyy(session: Session) -> Speaker:
    speaker = session.scalar(select(Speaker).where(Speaker.name == "Volodymyr Zelenskyy"))
    assert speaker is not None
    return speaker


@pytest.mark.parametrize(
    "path",
    [
        "/cells/ua/crimea-recognition?as_of=2025-04-23",
        "/parties/ua?as_of=2025-04-23",
        "/issues/crimea-recognition?as_of=2025-04-23",
        "/quotes?q=crimea",
        "/compare?parties=us,ua&as_of=2025-04-23",
        "/changes?from=2025-04-01&to=2025-04-30",
    ],
)
def test_speaker_names_link_to_their_page(client: TestClient, seeded: Session, path: str) -> None:
    href = f"/speakers/{_zelenskyy(seeded).id}"
    page = parse(client.get(path).text)
    named = [a for a in page.find_all("a") if a.text() == "Volodymyr Zelenskyy"]
    assert named, "the name does not appear"
    assert all(a.attrs["href"] == href for a in named)
    # Nowhere on the page is the name shown without its link.
    unlinked = [
        e for e in page.iter()
        if e.tag != "a" and any(isinstance(c, str) and "Zelenskyy" == c.strip() for c in e.children)
    ]  # fmt: skip
    assert not unlinked
    assert client.get(href).status_code == 200


def test_editors_get_edit_links_on_the_speaker_page(client: TestClient, seeded: Session) -> None:
    speaker = _zelenskyy(seeded)
    assert "/edit" not in client.get(f"/speakers/{speaker.id}").text
    make_user(seeded)
    login(client, "editor@example.org")
    assert "Edit</a>" in client.get(f"/speakers/{speaker.id}").text


def test_speaker_page_lists_their_roles_over_time(client: TestClient, session: Session) -> None:
    from app.services import speakers

    speaker = _speaker(session, builders.party(session))
    assert "Roles over time" not in client.get(f"/speakers/{speaker.id}").text
    speakers.add_role(
        session, actor=None, speaker=speaker, role="Deputy envoy", held_from=date(2025, 1, 10)
    )
    speakers.add_role(
        session, actor=None, speaker=speaker, role="Chief envoy", held_from=date(2025, 6, 2)
    )
    session.flush()
    page = client.get(f"/speakers/{speaker.id}").text
    assert "Roles over time:" in page
    assert page.index("Deputy envoy (from 10 Jan 2025)") < page.index(
        "Chief envoy (from 2 Jun 2025)"
    )
