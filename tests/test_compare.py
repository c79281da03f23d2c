"""Compare two parties issue by issue."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.models import Stance
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
    comparison = evidence.compare(session, a_slug="cus", b_slug="cua", as_of=date(2025, 4, 30))
    assert comparison.verdict(same) == "agree"
    assert comparison.verdict(other) == "differ"
    assert comparison.verdict(lonely) == "unknown"
    assert comparison.latest[(ua.id, other.id)].id == newer.id


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
