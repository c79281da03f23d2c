"""Unassessed quotes counted from their days (app.services.unassessed): the same counts as the
query, read once per data version, and read again for the next one."""

from __future__ import annotations

from datetime import date, timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.models import QuoteStatus, Stance
from app.services import quotes, unassessed
from tests import builders as b
from tests.conftest import StatementCounter

START = date(2025, 1, 1)


def test_counts_from_the_days_match_the_query_on_every_day(
    session: Session, count_statements: StatementCounter
) -> None:
    party, other = b.party(session), b.party(session)
    issue, second = b.issue(session), b.issue(session)
    for n in range(12):
        said = START + timedelta(days=3 * (n // 2))  # two quotes a day
        status = QuoteStatus.RETRACTED if n % 5 == 4 else QuoteStatus.CONFIRMED
        b.quote(session, party, issue, Stance.REJECTS, said_on=said, status=status)
        b.quote(session, other, second if n % 2 else issue, said_on=said)
    session.flush()
    pairs = [
        (party.id, issue.id),
        (other.id, issue.id),
        (other.id, second.id),
        (party.id, second.id),
    ]
    tally = unassessed.DayTally(unassessed.DayStore(), version=7)
    for offset in range(-2, 25):
        day = START + timedelta(days=offset)
        expected = unassessed.counts(session, as_of=day, created_before=None, pairs=pairs)
        count_statements.statements.clear()
        got = unassessed.counts(session, as_of=day, created_before=None, pairs=pairs, tally=tally)
        assert got == expected, day
        # The first count of a version is the day's own; the second reads the days, once.
        assert count_statements.count == (1 if offset in (-2, -1) else 0)
    assert expected[(party.id, issue.id)] == 10  # two of the twelve retracted


def test_a_new_data_version_reads_the_days_again(session: Session) -> None:
    party, issue = b.party(session), b.issue(session)
    first = b.quote(session, party, issue, said_on=START)
    store = unassessed.DayStore()
    pair = [(party.id, issue.id)]

    def count(version: int) -> dict[tuple[int, int], int]:
        tally = unassessed.DayTally(store, version)
        return unassessed.counts(session, as_of=START, created_before=None, pairs=pair, tally=tally)

    assert count(1) == count(1) == {(party.id, issue.id): 1}  # the second reads the days
    quotes.retract_quote(session, actor=None, quote=first)
    session.flush()
    assert count(1) == {(party.id, issue.id): 1}  # the version it was read for
    assert count(2) == count(2) == {}


def test_the_matrix_page_counts_unassessed_quotes_as_the_api_does(
    client: TestClient, session: Session
) -> None:
    party, issue = b.party(session, "unp"), b.issue(session, "uni")
    for n in range(3):
        b.quote(session, party, issue, said_on=START + timedelta(days=n))
    page = client.get("/?as_of=2025-01-02&parties=unp&issues=uni")
    assert "2 quotes, not assessed" in page.text
    page = client.get("/?as_of=2025-01-03&parties=unp&issues=uni")  # the days, read now
    assert "3 quotes, not assessed" in page.text
    assert client.app.state.unassessed_days.bytes > 0  # type: ignore[attr-defined]
    api = client.get("/api/v1/matrix?as_of=2025-01-02&parties=unp&issues=uni").json()
    counted = [v for k, v in _walk(api) if k == "unassessed_quotes"]
    assert counted == [2]


def _walk(value: object) -> list[tuple[str, object]]:
    """Every key and value in a JSON document."""
    if isinstance(value, dict):
        return [kv for k, v in value.items() for kv in [(k, v), *_walk(v)]]
    if isinstance(value, list):
        return [kv for item in value for kv in _walk(item)]
    return []
