"""A quote shows the role its speaker held on the day it was said, not their latest one:
in the search results, the quotes CSV, the JSON API's quote objects and the briefing's PDF
and Word documents, and after a database is rebuilt from an export (YAML, JSON or CSV).
A speaker who changed office mid-year, a quote before and one after."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path

import pytest
from docx import Document
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.models import Party, Quote, QuoteKind, QuoteStatus, Speaker, SpeakerRole, Stance
from app.services import catalog, export_file, positions, quotes, speakers, transfer
from app.services.seed import read_yaml
from tests import builders as b
from tests.conftest import migrated_database
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


def _roles_shown(session: Session) -> dict[str, str]:
    said = session.scalars(select(Quote).options(selectinload(Quote.speaker)))
    return {quote.text: quote.role_then for quote in said if quote.speaker_id is not None}


@pytest.mark.parametrize("fmt", ["yaml", "json", "csv"])
def test_a_database_rebuilt_from_an_export_shows_the_role_held_when_said(
    session: Session, changed_office: Speaker, backend: str, tmp_path: Path, fmt: str
) -> None:
    exported = export_file.export_text(session, fmt)
    if fmt == "csv":
        rows = {row["text"]: row["speaker_role"] for row in csv.DictReader(io.StringIO(exported))}
        assert rows == EXPECTED
    else:
        ada = next(s for s in read_yaml(exported)["speakers"] if s["name"] == "Ada Lovell")
        assert ada["roles"] == [
            {"role": "Special Envoy", "held_from": None},
            {"role": "Foreign Minister", "held_from": "2025-07-01"},
        ]
    path = tmp_path / f"all.{fmt}"
    path.write_text(exported, "utf-8")
    with migrated_database(backend, tmp_path) as engine:
        with Session(engine) as fresh, fresh.begin():
            if fmt == "csv":  # quotes only: their party and issue come first
                b.party(fresh, "alpha", name="Alpha Republic")
                b.issue(fresh, "harbour", title="Harbour access")
            transfer.import_file(fresh, path)
        with Session(engine) as fresh:
            assert _roles_shown(fresh) == EXPECTED
            assert export_file.export_text(fresh, fmt) == exported
            rebuilt = fresh.scalars(select(Speaker).where(Speaker.name == "Ada Lovell")).one()
            assert rebuilt.role == "Foreign Minister"
            held = fresh.scalars(
                select(SpeakerRole.held_from).where(SpeakerRole.speaker_id == rebuilt.id)
            ).all()
            # A CSV gives the role with each quote, so a change is dated by its first quote.
            change = date(2025, 9, 10) if fmt == "csv" else date(2025, 7, 1)
            assert sorted(held) == [speakers.FIRST_DAY, change]


def test_a_file_without_dated_roles_still_imports(
    session: Session, changed_office: Speaker, backend: str, tmp_path: Path
) -> None:
    old = read_yaml(export_file.export_text(session, "yaml"))
    for speaker in old["speakers"]:
        del speaker["roles"]
    path = tmp_path / "old.json"
    path.write_text(json.dumps(old), "utf-8")
    with migrated_database(backend, tmp_path) as engine:
        with Session(engine) as fresh, fresh.begin():
            assert transfer.import_file(fresh, path)["quotes"] == 2
        with Session(engine) as fresh:  # one role, the one the file gives
            assert set(_roles_shown(fresh).values()) == {"Foreign Minister"}


def test_quotes_imported_for_a_speaker_with_dated_roles_get_the_role_held_then(
    session: Session, changed_office: Speaker, tmp_path: Path
) -> None:
    source = b.source(session)
    said = {"Her word in spring on the harbour.": "2025-04-01",
            "Her word in autumn on the harbour.": "2025-10-01"}  # fmt: skip
    document = {
        "quotes": [
            {"text": text, "kind": "direct", "said_on": day, "speaker": "Ada Lovell",
             "party": "alpha", "source": source.url, "status": "confirmed"}
            for text, day in said.items()
        ]
    }  # fmt: skip
    path = tmp_path / "more.json"
    path.write_text(json.dumps(document), "utf-8")
    assert transfer.import_file(session, path)["quotes"] == 2
    shown = _roles_shown(session)
    assert [shown[text] for text in said] == ["Special Envoy", "Foreign Minister"]


def test_a_speaker_row_with_two_roles_from_one_day_is_refused_naming_its_row(
    session: Session, tmp_path: Path
) -> None:
    b.party(session, "alpha", name="Alpha Republic")
    roles = [
        {"role": "Envoy", "held_from": "2025-01-01"},
        {"role": "Minister", "held_from": "2025-01-01"},
    ]
    document = {"speakers": [{"name": "Ada Lovell", "party": "alpha", "roles": roles}]}
    path = tmp_path / "twice.json"
    path.write_text(json.dumps(document), "utf-8")
    with pytest.raises(transfer.ImportRejected) as refused:
        transfer.import_file(session, path)
    assert [str(e) for e in refused.value.errors] == [
        "speakers row 1: each held_from can start one role (and one role may have none)"
    ]


def test_a_csv_role_is_held_to_the_forms_rule_on_every_row_naming_its_line(
    session: Session, changed_office: Speaker, tmp_path: Path
) -> None:
    exported = export_file.export_text(session, "csv")
    rows = list(csv.DictReader(io.StringIO(exported)))
    for row in rows:
        row["speaker"] = "Ada Lovelace"  # new to the database: the rows give her roles
    rows[1]["speaker_role"] = "x" * 201
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    path = tmp_path / "roles.csv"
    path.write_text(buffer.getvalue(), "utf-8")
    with pytest.raises(transfer.ImportRejected) as refused:
        transfer.import_file(session, path)
    assert [(e.row, e.field) for e in refused.value.errors] == [(3, "speaker_role")]
    assert "at most 200 characters" in refused.value.errors[0].message
