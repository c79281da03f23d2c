"""Atom feeds of position changes: well-formed, with the elements RFC 4287 requires."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.models import Issue, Party, Stance
from app.services import positions
from tests import builders as b

ATOM = "{http://www.w3.org/2005/Atom}"


def _parse(client: TestClient, url: str) -> ET.Element:
    response = client.get(url)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/atom+xml")
    root = ET.fromstring(response.content)
    assert root.tag == f"{ATOM}feed"
    for required in ("id", "title", "updated"):
        assert root.find(f"{ATOM}{required}") is not None, required
    for entry in root.findall(f"{ATOM}entry"):
        for required in ("id", "title", "updated", "link", "summary"):
            assert entry.find(f"{ATOM}{required}") is not None, required
        assert entry.find(f"{ATOM}id").text.startswith("tag:")  # type: ignore[union-attr]
    return root


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("/feeds/changes.atom", 11),
        ("/feeds/parties/ua.atom", 2),
        ("/feeds/issues/crimea-recognition.atom", 2),
    ],
)
def test_feeds_are_valid_atom_with_entries_linking_to_cells(
    client: TestClient, seeded: Session, url: str, expected: int
) -> None:
    entries = _parse(client, url).findall(f"{ATOM}entry")
    assert len(entries) == expected
    link = entries[0].find(f"{ATOM}link")
    assert link is not None and "/cells/" in link.get("href", "")
    summary = entries[0].findtext(f"{ATOM}summary") or ""
    assert "Evidence:" in summary and "peacetalks.invalid" in summary


def test_feed_escapes_hostile_text(client: TestClient, session: Session) -> None:
    party = b.party(session, "fx", name='<script>alert("x")</script> & co')
    issue = b.issue(session, "fxi")
    quote = b.quote(session, party, issue, Stance.REJECTS, text="]]></summary><entry>")
    b.position(session, party, issue, Stance.REJECTS, quote.said_on, evidence=[quote])
    root = _parse(client, "/feeds/parties/fx.atom")
    entry = root.find(f"{ATOM}entry")
    assert entry is not None
    assert '<script>alert("x")</script> & co' in (entry.findtext(f"{ATOM}title") or "")
    assert "]]></summary><entry>" in (entry.findtext(f"{ATOM}summary") or "")


def test_unknown_feed_is_404(client: TestClient, seeded: Session) -> None:
    assert client.get("/feeds/parties/atlantis.atom").status_code == 404


def _record(
    session: Session, party: Party, issue: Issue, stance: Stance, effective: date, at: datetime
) -> None:
    quote = b.quote(session, party, issue, stance, said_on=effective)
    positions.record_position(
        session,
        actor=None,
        party=party,
        issue=issue,
        stance=stance,
        effective_from=effective,
        rationale="Said so.",
        evidence=[quote],
        recorded_at=at,
    )


def test_entries_are_updated_when_recorded_and_published_when_in_effect(
    client: TestClient, session: Session
) -> None:
    party, issue = b.party(session, "fd"), b.issue(session, "fdi")
    _record(
        session,
        party,
        issue,
        Stance.ACCEPTS,
        date(2025, 3, 3),
        datetime(2025, 3, 5, 9, 30, tzinfo=UTC),
    )
    _record(
        session,
        party,
        issue,
        Stance.REJECTS,
        date(2025, 3, 10),
        datetime(2025, 3, 10, 18, tzinfo=UTC),
    )
    root = _parse(client, "/feeds/parties/fd.atom")
    assert root.findtext(f"{ATOM}updated") == "2025-03-10T18:00:00Z"  # the newest recording
    entries = root.findall(f"{ATOM}entry")
    dated = [(e.findtext(f"{ATOM}updated"), e.findtext(f"{ATOM}published")) for e in entries]
    assert dated == [
        ("2025-03-10T18:00:00Z", "2025-03-10T00:00:00Z"),
        ("2025-03-05T09:30:00Z", "2025-03-03T00:00:00Z"),
    ]
    summary = entries[1].findtext(f"{ATOM}summary") or ""
    assert summary.startswith("Accepts. Took effect 3 Mar 2025; recorded 5 Mar 2025. Said so.")


def test_seed_feed_dates_its_entries_by_the_article(client: TestClient, seeded: Session) -> None:
    root = _parse(client, "/feeds/parties/ua.atom")
    assert root.findtext(f"{ATOM}updated") == "2025-04-23T12:00:00Z"
    for entry in root.findall(f"{ATOM}entry"):
        assert entry.findtext(f"{ATOM}updated") == "2025-04-23T12:00:00Z"
        assert entry.findtext(f"{ATOM}published") == "2025-04-22T00:00:00Z"
        assert "Took effect 22 Apr 2025; recorded 23 Apr 2025." in (
            entry.findtext(f"{ATOM}summary") or ""
        )


def test_documents_feed_lists_new_documents_and_rounds(client: TestClient, seeded: Session) -> None:
    entries = _parse(client, "/feeds/documents.atom").findall(f"{ATOM}entry")
    titles = sorted(e.findtext(f"{ATOM}title") or "" for e in entries)
    assert titles == [
        "New document: US peace proposal presented in Paris",
        "Round: London talks",
        "Round: Paris meeting",
    ]
    links = {e.find(f"{ATOM}link").get("href", "") for e in entries}  # type: ignore[union-attr]
    assert any(link.endswith("/rounds/london-2025-04-23") for link in links)
