"""A quote shows the role its speaker held on the day it was said, not their latest one:
in the search results, the quotes CSV, the JSON API's quote objects and the briefing's PDF
and Word documents. A speaker who changed office mid-year, a quote before and one after."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from docx import Document
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy.orm import Session

from app.models import Party, Quote, QuoteKind, QuoteStatus, Speaker, Stance
from app.services import catalog, positions, quotes, speakers
from tests import builders as b
from tests.html_reader import parse

BEFORE = "The envoy's first word on the harbour."
AFTER = "The minister's later word on the harbour."
EXPECTED = {BEFORE: "Special Envoy", AFTER: "Foreign Minister"}


@pytest.fixture
def changed_office(session: Session) -> Speaker:
    """Ada Lovell, Special Envoy, then Foreign Minister from 1 Jul 2025; a quote either side,
    both evidence of her party's stance on the harbour."""
    party = b.party(session, "alpha", name="Alpha Republic")
    harbour = b.issue(session, "harbour", title="Harbour access")
    ada = catalog.create_speaker(
        session, actor=None, party=party, name="Ada Lovell", role="Special Envoy"
    )
    said = [_said(session, party, ada, harbour, text, day) for text, day in (
        (BEFORE, date(2025, 3, 10)), (AFTER, date(2025, 9, 10)))]  # fmt: skip
    speakers.add_role(
        session, actor=None, speaker=ada, role="Foreign Minister", held_from=date(2025, 7, 1)
    )
    for quote in said:
        positions.record_position(
            session, actor=None, party=party, issue=harbour, stance=Stance.ACCEPTS,
            effective_from=quote.said_on, rationale="She says so.", evidence=[quote],
        )  # fmt: skip
    session.flush()
    assert ada.role == "Foreign Minister"  # her latest role, which the earlier quote must not show
    return ada


def _said(
    session: Session, party: Party, speaker: Speaker, issue: object, text: str, day: date
) -> Quote:
    return quotes.create_quote(
        session, actor=None, text=text, kind=QuoteKind.DIRECT, said_on=day, party=party,
        source=b.source(session), status=QuoteStatus.CONFIRMED, speaker=speaker,
        tags=[(issue, Stance.ACCEPTS)],  # type: ignore[list-item]
    )  # fmt: skip


def test_search_results_show_the_role_held_when_said(
    client: TestClient, changed_office: Speaker
) -> None:
    root = parse(client.get("/quotes", params={"q": "harbour"}).text)
    articles = [a.text() for a in root.find_all("article") if a.has_class("quote")]
    for text, role in EXPECTED.items():
        shown = [a for a in articles if text in a]
        assert shown and f"Ada Lovell, {role} ·" in shown[0], (text, shown)


def test_the_quotes_csv_gives_the_role_held_when_said(
    client: TestClient, changed_office: Speaker
) -> None:
    rows = list(csv.DictReader(io.StringIO(client.get("/exports/quotes.csv").text)))
    assert {row["text"]: row["speaker_role"] for row in rows} == EXPECTED


def test_the_api_quote_objects_give_the_role_held_when_said(
    client: TestClient, changed_office: Speaker
) -> None:
    found = client.get("/api/v1/quotes", params={"q": "harbour"}).json()["items"]
    assert {q["text"]: q["speaker_role"] for q in found} == EXPECTED
    detail = client.get(f"/api/v1/speakers/{changed_office.id}").json()
    assert detail["role"] == "Foreign Minister"  # the speaker: their role now
    assert {q["text"]: q["speaker_role"] for q in detail["quotes"]} == EXPECTED


BRIEFING = {"as_of": "2025-12-31", "since": "2025-01-01"}


def test_the_briefing_pdf_and_word_document_give_the_role_held_when_said(
    client: TestClient, changed_office: Speaker
) -> None:
    pdf = client.get("/briefing.pdf", params=BRIEFING)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    text = " ".join(
        " ".join((page.extract_text() or "").split())
        for page in PdfReader(io.BytesIO(pdf.content)).pages
    )
    for role in EXPECTED.values():
        assert f"Ada Lovell, {role}" in text, role
    word = client.get("/briefing.docx", params=BRIEFING)
    assert word.status_code == 200
    paragraphs = [p.text for p in Document(io.BytesIO(word.content)).paragraphs]
    for quote, role in EXPECTED.items():
        said = [p for p in paragraphs if quote in p]
        assert said and f"— Ada Lovell, {role} ·" in said[0], (quote, said)
