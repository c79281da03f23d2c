"""Atom feeds of position changes: well-formed, with the elements RFC 4287 requires."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.models import Stance
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
