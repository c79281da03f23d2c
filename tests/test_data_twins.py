"""Every data page points to its data twins (JSON, CSV, Atom), visibly and in its head, and each
twin answers with its own content type; the API objects behind them; search URLs without empties."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.models import Stance
from tests import builders
from tests.html_reader import Element, parse

MEDIA = {"JSON": "application/json", "CSV": "text/csv", "Atom": "application/atom+xml"}

PAGES = {
    "/parties/ua?as_of=2025-04-23": ["JSON", "CSV", "Atom"],
    "/issues/crimea-recognition": ["JSON", "CSV", "Atom"],
    "/cells/ru/occupied-territories?as_of=2025-04-23&known_on=2025-04-23": ["JSON", "CSV", "Atom"],
    "/compare?parties=us,ua,ru&only=differences&as_of=2025-04-23": ["JSON"],
    "/changes?from=2025-04-01&to=2025-04-30": ["JSON", "Atom"],
    "/quotes?q=crimea&party=ua": ["JSON", "CSV"],
}


def _alternates(page: Element) -> list[tuple[str, str]]:
    head = page.find_all("head")[0]
    return [
        (link.attrs["type"], link.attrs["href"])
        for link in head.find_all("link", lambda e: e.attrs.get("rel") == "alternate")
    ]


def _twin_line(page: Element) -> Element:
    lines = page.find_all("p", lambda e: e.has_class("data-twins"))
    assert len(lines) == 1, f"{len(lines)} data lines"
    return lines[0]


@pytest.mark.parametrize("path", list(PAGES))
def test_data_page_links_its_twins_and_each_answers(
    client: TestClient, seeded: Session, path: str
) -> None:
    page = parse(client.get(path).text)
    line = _twin_line(page)
    assert line.text().startswith("Data:")
    visible = [(a.text(), a.attrs["href"]) for a in line.find_all("a")]
    assert [label for label, _ in visible] == PAGES[path]
    # The head names the same twins, each with its media type.
    assert _alternates(page) == [(MEDIA[label], href) for label, href in visible]
    for label, href in visible:
        response = client.get(href)
        assert response.status_code == 200, href
        assert response.headers["content-type"].startswith(MEDIA[label]), href


def test_twins_keep_the_pages_parameters(client: TestClient, seeded: Session) -> None:
    cell = dict(_alternates(parse(client.get(next(iter(PAGES))).text)))
    assert cell["application/json"] == "/api/v1/parties/ua?as_of=2025-04-23"
    assert cell["text/csv"] == "/exports/positions.csv?party=ua&to=2025-04-23"
    page = parse(client.get("/cells/ru/occupied-territories?as_of=2025-04-23").text)
    assert dict(_alternates(page))["application/json"] == (
        "/api/v1/cells/ru/occupied-territories?as_of=2025-04-23"
    )
    search = dict(_alternates(parse(client.get("/quotes?q=crimea&page=1").text)))
    assert search["text/csv"] == "/exports/quotes.csv?q=crimea"


def test_a_page_without_as_of_links_twins_without_it(client: TestClient, seeded: Session) -> None:
    # The twin follows the same default (today) rather than freezing the day it was read.
    hrefs = [h for _, h in _alternates(parse(client.get("/parties/ua").text))]
    assert "/api/v1/parties/ua" in hrefs
    assert not any("as_of" in h for h in hrefs)


def test_a_cell_opened_in_place_carries_its_data_line(client: TestClient, seeded: Session) -> None:
    fragment = client.get(
        "/cells/ua/crimea-recognition?as_of=2025-04-23", headers={"HX-Request": "true"}
    )
    links = parse(fragment.text).find_all("p", lambda e: e.has_class("data-twins"))[0].links()
    assert "/feeds/cells/ua/crimea-recognition.atom" in links


def test_cell_feed_follows_one_cell(client: TestClient, session: Session) -> None:
    party, issue, other = builders.party(session), builders.issue(session), builders.issue(session)
    builders.position(session, party, issue, Stance.ACCEPTS, date(2025, 3, 1))
    builders.position(session, party, issue, Stance.REJECTS, date(2025, 3, 9))
    builders.position(session, party, other, Stance.ACCEPTS, date(2025, 3, 5))
    response = client.get(f"/feeds/cells/{party.slug}/{issue.slug}.atom")
    assert response.headers["content-type"].startswith("application/atom+xml")
    assert response.text.count("<entry>") == 2
    assert other.title not in response.text
    assert client.get(f"/feeds/cells/{party.slug}/nowhere.atom").status_code == 404


def test_search_drops_empty_filters_with_a_redirect(client: TestClient, seeded: Session) -> None:
    response = client.get(
        "/quotes?q=crimea&party=&issue=&speaker=&stance=&status=&tier=&from=&to=&sort=date",
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/quotes?q=crimea&sort=date"
    everything_empty = client.get("/quotes?q=&party=", follow_redirects=False)
    assert everything_empty.headers["location"] == "/quotes"
    # htmx follows the redirect and pushes the URL it ends at.
    followed = client.get("/quotes?q=crimea&party=", headers={"HX-Request": "true"})
    assert followed.status_code == 200
    assert str(followed.url).endswith("/quotes?q=crimea")
    assert 'id="results"' in followed.text
    assert client.get("/quotes?q=crimea", follow_redirects=False).status_code == 200


def test_changes_api_default_window_is_the_pages(client: TestClient, session: Session) -> None:
    party, issue = builders.party(session), builders.issue(session)
    today = date.today()
    builders.position(session, party, issue, Stance.ACCEPTS, today - timedelta(days=40))
    builders.position(session, party, issue, Stance.REJECTS, today - timedelta(days=31))
    inside = builders.position(session, party, issue, Stance.ACCEPTS, today - timedelta(days=29))
    listed = [c["position_id"] for c in client.get("/api/v1/changes").json()]
    assert listed == [inside.id]  # 31 days ago is outside the window, 29 inside
    page = parse(client.get("/changes").text)
    assert len(page.find_all("li", lambda e: e.has_class("change"))) == 1
    assert f"/cells/{party.slug}/{issue.slug}" in page.find_all("ol")[0].links()[0]


def test_matrix_head_names_its_twins_with_the_choice(client: TestClient, seeded: Session) -> None:
    """The matrix's head links its JSON and CSV for the same day and choice of parties and
    issues, and each twin answers with only the chosen ones."""
    path = "/?as_of=2025-04-23&parties=ua,ru&issues=crimea-recognition,nato-membership"
    twins = dict(_alternates(parse(client.get(path).text)))
    assert twins == {
        "application/json": "/api/v1/matrix?as_of=2025-04-23&parties=ua,ru"
        "&issues=crimea-recognition,nato-membership",
        "text/csv": "/exports/matrix.csv?as_of=2025-04-23&parties=ua,ru"
        "&issues=crimea-recognition,nato-membership",
    }
    body = client.get(twins["application/json"]).json()
    assert {p["slug"] for p in body["parties"]} == {"ua", "ru"}
    assert {i["slug"] for i in body["issues"]} == {"crimea-recognition", "nato-membership"}
    csv_text = client.get(twins["text/csv"]).text
    assert "Russia" in csv_text and "United States" not in csv_text
    # Served again from the cache, the head still names the same twins; without as_of, none.
    assert dict(_alternates(parse(client.get(path).text))) == twins
    bare = dict(_alternates(parse(client.get("/").text)))
    assert bare == {"application/json": "/api/v1/matrix", "text/csv": "/exports/matrix.csv"}
