"""Empty views explain themselves: why nothing shows at that date, and a link to the nearest view
that shows something (the matrix, a cell, a party, an issue, the changes)."""

from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.models import Stance
from app.services import coverage, positions
from tests import builders as b
from tests.auth_helpers import login, make_user
from tests.conftest import StatementCounter

COVERAGE_SQL = "min(positions.recorded_at)"


def _empty_state(page: str) -> str:
    """The text of the page's empty-state note ("" when there is none)."""
    match = re.search(r'<div class="empty-state"[^>]*>(.*?)</div>', page, flags=re.DOTALL)
    return " ".join(re.sub(r"<[^>]+>", "", match.group(1)).split()) if match else ""


def _way_out(page: str) -> str:
    """The link the empty-state note offers."""
    match = re.search(r'<div class="empty-state".*?<a href="([^"]+)"', page, flags=re.DOTALL)
    assert match, "no link in the empty state"
    return html.unescape(match.group(1))


def _filled_cells(page: str) -> int:
    return len(re.findall(r'<td class="cell stance-', page))


def test_matrix_before_the_earliest_position_says_so_and_links_to_it(
    client: TestClient, seeded: Session
) -> None:
    page = client.get("/", params={"as_of": "2025-04-01"}).text
    assert _filled_cells(page) == 0
    assert _empty_state(page) == (
        "No position had taken effect by 1 Apr 2025. The earliest recorded position took effect"
        " on 14 Apr 2025 — show the matrix as of then."
    )
    assert _way_out(page) == "/?as_of=2025-04-14"
    shown = client.get(_way_out(page)).text
    assert _empty_state(shown) == "" and _filled_cells(shown) == 1  # Russia, from 14 Apr


def test_matrix_link_out_keeps_known_on_and_since(client: TestClient, seeded: Session) -> None:
    page = client.get(
        "/", params={"as_of": "2025-04-10", "since": "2025-03-01", "known_on": "2025-04-30"}
    ).text
    assert _way_out(page) == "/?as_of=2025-04-14&since=2025-03-01&known_on=2025-04-30"
    assert _filled_cells(client.get(_way_out(page)).text) == 1
    # A `since` the new date would not be after is left out (it would be refused).
    later = client.get("/", params={"as_of": "2025-04-10", "since": "2025-04-09"}).text
    assert _way_out(later) == "/?as_of=2025-04-14&since=2025-04-09"
    assert _way_out(client.get("/?as_of=2025-04-01&since=2025-03-31").text) == (
        "/?as_of=2025-04-14&since=2025-03-31"
    )


def test_matrix_known_before_the_first_recording_says_so_and_links_to_it(
    client: TestClient, seeded: Session
) -> None:
    page = client.get("/", params={"as_of": "2025-04-23", "known_on": "2025-04-01"}).text
    assert _filled_cells(page) == 0
    assert _empty_state(page) == (
        "Nothing had been recorded by 1 Apr 2025; the first recording was made on 23 Apr 2025"
        " — show the matrix as we knew it then."
    )
    assert _way_out(page) == "/?as_of=2025-04-23&known_on=2025-04-23"
    assert _filled_cells(client.get(_way_out(page)).text) >= 10
    # Asked for a day before anything took effect too: the link moves both dates on.
    early = client.get("/", params={"as_of": "2025-04-01", "known_on": "2025-04-01"}).text
    assert _way_out(early) == "/?as_of=2025-04-23&known_on=2025-04-23"


def test_matrix_of_an_empty_database_says_so_and_offers_editors_a_link(
    client: TestClient, session: Session
) -> None:
    b.party(session, "solo", name="Solo")
    b.issue(session, "lonely", title="Lonely")
    page = client.get("/").text
    assert _empty_state(page) == "No positions recorded yet."
    assert "/positions/new" not in page
    make_user(session, "ed@example.org")
    login(client, "ed@example.org")
    editor_page = client.get("/").text
    assert _empty_state(editor_page).startswith("No positions recorded yet. Record the first")
    assert _way_out(editor_page) == "/positions/new"


def test_cell_page_empty_at_that_date_links_to_its_first_position(
    client: TestClient, seeded: Session
) -> None:
    page = client.get("/cells/ua/crimea-recognition", params={"as_of": "2025-04-01"}).text
    assert _empty_state(page) == (
        "No position for Ukraine on Crimea recognition had taken effect by 1 Apr 2025. The"
        " earliest recorded position took effect on 22 Apr 2025 — show this cell as of then."
    )
    assert _way_out(page) == "/cells/ua/crimea-recognition?as_of=2025-04-22"
    assert 'class="empty-state"' not in client.get(_way_out(page)).text
    fragment = client.get(
        "/cells/ua/crimea-recognition",
        params={"as_of": "2023-01-01", "known_on": "2025-04-01"},
        headers={"HX-Request": "true"},
    ).text
    assert "<html" not in fragment
    assert _empty_state(fragment).startswith(
        "No position for Ukraine on Crimea recognition had been recorded by 1 Apr 2025; the first"
        " recording was made on 23 Apr 2025"
    )
    assert _way_out(fragment) == (
        "/cells/ua/crimea-recognition?as_of=2025-04-23&known_on=2025-04-23"
    )


def test_cell_with_nothing_recorded_offers_editors_to_record_one(
    client: TestClient, seeded: Session
) -> None:
    page = client.get("/cells/eu/ceasefire").text
    assert _empty_state(page) == "No positions recorded yet for Europe on Ceasefire first."
    make_user(seeded, "ed@example.org")
    login(client, "ed@example.org")
    page = client.get("/cells/eu/ceasefire").text
    assert _way_out(page) == "/positions/new?party=eu&issue=ceasefire"


def test_party_and_issue_pages_empty_at_that_date_link_to_the_first_date(
    client: TestClient, seeded: Session
) -> None:
    party = client.get("/parties/ua", params={"as_of": "2025-04-01"}).text
    assert _empty_state(party) == (
        "No position for Ukraine had taken effect by 1 Apr 2025. The earliest recorded position"
        " took effect on 22 Apr 2025 — show this party as of then."
    )
    assert _way_out(party) == "/parties/ua?as_of=2025-04-22"
    assert 'class="empty-state"' not in client.get(_way_out(party)).text
    issue = client.get("/issues/ceasefire", params={"as_of": "2025-04-01"}).text
    assert _empty_state(issue).startswith(
        "No position on Ceasefire first had taken effect by 1 Apr 2025."
    )
    assert _way_out(issue) == "/issues/ceasefire?as_of=2025-04-22"
    assert 'class="empty-state"' not in client.get(_way_out(issue)).text
    assert _empty_state(client.get("/parties/eu").text) == "No positions recorded yet for Europe."


def test_changes_window_after_the_last_change_links_to_the_most_recent(
    client: TestClient, seeded: Session
) -> None:
    page = client.get("/changes", params={"from": "2025-05-01", "to": "2025-05-31"}).text
    assert 'class="change"' not in page
    assert _empty_state(page) == (
        "No change of stance between 1 May 2025 and 31 May 2025. The most recent change took"
        " effect on 23 Apr 2025 — show changes since 24 Mar 2025."
    )
    assert _way_out(page) == "/changes?from=2025-03-24&to=2025-05-31"
    assert client.get(_way_out(page)).text.count('class="change"') >= 10


def test_changes_default_window_explains_itself(client: TestClient, seeded: Session) -> None:
    page = client.get("/changes").text
    until = date.today()
    assert _empty_state(page).startswith(
        f"No change of stance between {(until - timedelta(days=30)).day} "
    )
    assert "The most recent change took effect on 23 Apr 2025" in _empty_state(page)
    assert _way_out(page) == f"/changes?from=2025-03-24&to={until.isoformat()}"


def test_changes_window_before_the_first_position_links_to_it(
    client: TestClient, seeded: Session
) -> None:
    page = client.get("/changes", params={"from": "2025-03-01", "to": "2025-04-01"}).text
    assert _empty_state(page) == (
        "No change of stance between 1 Mar 2025 and 1 Apr 2025; the first recorded position took"
        " effect on 14 Apr 2025 — show changes since 13 Apr 2025."
    )
    assert _way_out(page) == "/changes?from=2025-04-13&to=2025-05-14"
    assert client.get(_way_out(page)).text.count('class="change"') >= 10


def test_changes_known_before_the_first_recording_link_to_it(
    client: TestClient, seeded: Session
) -> None:
    page = client.get(
        "/changes", params={"from": "2025-04-01", "to": "2025-04-30", "known_on": "2025-04-01"}
    ).text
    assert _empty_state(page) == (
        "Nothing had been recorded by 1 Apr 2025; the first recording was made on 23 Apr 2025"
        " — show the changes as we knew them then."
    )
    assert _way_out(page) == "/changes?from=2025-04-01&to=2025-04-30&known_on=2025-04-23"
    assert client.get(_way_out(page)).text.count('class="change"') >= 10


def test_changes_of_an_empty_database(client: TestClient, session: Session) -> None:
    assert _empty_state(client.get("/changes").text) == "No positions recorded yet."


def test_latest_change_skips_restatements(session: Session) -> None:
    party, issue = b.party(session), b.issue(session)
    b.position(session, party, issue, Stance.ACCEPTS, date(2025, 3, 1))
    b.position(session, party, issue, Stance.ACCEPTS, date(2025, 3, 20))  # restated
    why = coverage.explain_changes(session, since=date(2025, 3, 10), until=date(2025, 3, 31))
    assert why.reason == coverage.Reason.NO_CHANGE_SINCE and why.found == date(2025, 3, 1)
    assert why.params == {"from": "2025-02-08", "to": "2025-03-31"}


def test_first_recording_uses_the_utc_day(session: Session) -> None:
    party, issue = b.party(session), b.issue(session)
    quote = b.quote(session, party, issue, said_on=date(2025, 3, 1))
    positions.record_position(
        session,
        actor=None,
        party=party,
        issue=issue,
        stance=Stance.ACCEPTS,
        effective_from=date(2025, 3, 1),
        rationale="Said so.",
        evidence=[quote],
        recorded_at=datetime(2025, 3, 4, 23, 30, tzinfo=UTC),
    )
    why = coverage.explain_view(
        session, as_of=date(2025, 3, 31), known_on=date(2025, 3, 3), party_ids=[party.id]
    )
    assert why.reason == coverage.Reason.NOT_YET_RECORDED
    assert (why.asked, why.found) == (date(2025, 3, 3), date(2025, 3, 4))
    assert why.params == {"as_of": "2025-03-31", "known_on": "2025-03-04"}


def _coverage_queries(counter: StatementCounter) -> int:
    return sum(COVERAGE_SQL in statement.lower() for statement in counter.statements)


def test_only_an_empty_view_asks_why_in_one_query(
    client: TestClient, seeded: Session, count_statements: StatementCounter
) -> None:
    client.get("/", params={"as_of": "2025-04-23"})
    client.get("/cells/ua/ceasefire", params={"as_of": "2025-04-23"})
    client.get("/parties/ua", params={"as_of": "2025-04-23"})
    client.get("/changes", params={"from": "2025-04-01", "to": "2025-04-30"})
    assert _coverage_queries(count_statements) == 0
    for url in (
        "/?as_of=2025-04-01",
        "/cells/ua/ceasefire?as_of=2025-04-01",
        "/parties/ua?as_of=2025-04-01",
        "/issues/ceasefire?as_of=2025-04-01",
        "/changes?from=2025-05-01&to=2025-05-31",
    ):
        before = count_statements.count
        before_coverage = _coverage_queries(count_statements)
        assert 'class="empty-state"' in client.get(url).text, url
        assert _coverage_queries(count_statements) == before_coverage + 1, url
        assert count_statements.count > before
    # Cached with the page: the second view of the same empty matrix asks nothing.
    before_coverage = _coverage_queries(count_statements)
    client.get("/?as_of=2025-04-01")
    assert _coverage_queries(count_statements) == before_coverage


def test_empty_matrix_with_since_explains_once(client: TestClient, seeded: Session) -> None:
    page = client.get("/", params={"as_of": "2025-04-01", "since": "2025-03-01"}).text
    assert page.count('class="empty-state"') == 1
    assert "No party changed its stance on any issue in this period." in page
