"""Compare two parties issue by issue."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.models import QuoteStatus, Stance
from app.services import evidence
from tests import builders as b

D = date(2025, 4, 1)


def test_comparison_says_where_parties_agree_and_differ(session: Session) -> None:
    us, ua = b.party(session, "cus"), b.party(session, "cua")
    same, other, lonely = b.issue(session), b.issue(session), b.issue(session)
    b.position(session, us, same, Stance.ACCEPTS, D)
    b.position(session, ua, same, Stance.ACCEPTS, D)
    b.position(session, us, other, Stance.ACCEPTS, D)
    b.position(session, ua, other, Stance.REJECTS, D)
    b.position(session, us, lonely, Stance.REJECTS, D)
    newer = b.quote(
        session, ua, other, Stance.REJECTS, said_on=date(2025, 4, 5), text="Newest words"
    )
    comparison = evidence.compare(session, slugs=["cus", "cua"], as_of=date(2025, 4, 30))
    assert comparison.verdict(same).word == "agree"
    assert comparison.verdict(other).word == "differ"
    assert comparison.verdict(lonely).word == "not_comparable"
    assert comparison.latest[(ua.id, other.id)].id == newer.id


def test_denied_or_unconfirmed_evidence_is_never_agreement(session: Session) -> None:
    us, ru = b.party(session, "dus"), b.party(session, "dru")
    denied, reported, ambiguous = b.issue(session), b.issue(session), b.issue(session)
    b.position(session, us, denied, Stance.ACCEPTS, D)
    b.position(session, ru, denied, Stance.ACCEPTS, D, status=QuoteStatus.DENIED)
    b.position(session, us, reported, Stance.REJECTS, D)
    b.position(session, ru, reported, Stance.REJECTS, D, status=QuoteStatus.REPORTED)
    b.position(session, us, ambiguous, Stance.AMBIGUOUS, D)
    b.position(session, ru, ambiguous, Stance.AMBIGUOUS, D)
    comparison = evidence.compare(session, slugs=["dus", "dru"], as_of=date(2025, 4, 30))
    verdict = comparison.verdict(denied)
    assert (verdict.word, verdict.label) == ("unclear", "Unclear")
    assert "evidence was denied" in verdict.reason
    assert "unconfirmed" in comparison.verdict(reported).reason
    assert "ambiguous" in comparison.verdict(ambiguous).reason


def test_seed_denial_is_unclear_not_agree(client: TestClient, seeded: Session) -> None:
    # Russia's cell on occupied territories rests on the FT report that Peskov denied.
    html = client.get("/compare", params={"parties": "us,ru", "as_of": "2025-04-23"}).text
    row = html.split('href="/issues/occupied-territories')[1].split("</tr>")[0]
    assert "Unclear" in row and "Agree" not in row
    assert "Russia&#39;s evidence was denied" in row


def test_three_parties_summary_and_differences_only(client: TestClient, seeded: Session) -> None:
    html = client.get("/compare", params={"parties": "us,ua,ru", "as_of": "2025-04-23"}).text
    assert "United States, Ukraine and Russia, as of 23 Apr 2025" in html
    summary = html.split('class="compare-summary"><strong>')[1].split("</strong>")[0]
    counts = {word: int(n) for n, word in (part.split(" ", 1) for part in summary.split(", "))}
    assert set(counts) == {"agree", "differ", "unclear", "not comparable"}
    assert sum(counts.values()) == html.count('<tr class="verdict-')
    only = client.get(
        "/compare", params={"parties": ["us", "ua", "ru"], "only": "differences"}
    ).text
    rows = only.count('<tr class="verdict-')
    assert rows == counts["differ"] + counts["unclear"]
    assert "verdict-agree" not in only and "verdict-not_comparable" not in only


def test_compare_refuses_the_same_party_twice(client: TestClient, seeded: Session) -> None:
    response = client.get("/compare", params={"parties": "us,ua,us"})
    assert response.status_code == 400
    assert "named twice" in response.text
    assert client.get("/compare", params={"parties": "us"}).status_code == 400
    assert client.get("/compare", params={"parties": "us,ua", "only": "x"}).status_code == 400


def test_compare_page(client: TestClient, seeded: Session) -> None:
    html = client.get("/compare", params={"a": "us", "b": "ua", "as_of": "2025-04-23"}).text
    assert "United States and Ukraine, as of 23 Apr 2025" in html
    assert "Differ" in html  # Crimea recognition
    assert "There is nothing to talk about" in html
    assert client.get("/compare", params={"a": "us", "b": "atlantis"}).status_code == 404
    assert (
        client.get("/compare", params={"a": "us", "b": "ua", "as_of": "today"}).status_code == 400
    )
    fragment = client.get("/compare", params={"a": "ru", "b": "ua"}, headers={"HX-Request": "true"})
    assert "<html" not in fragment.text and 'id="comparison"' in fragment.text
