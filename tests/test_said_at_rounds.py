"""Quotes and positions tied to a round of talks: the forms' Round field, the evidence and the
round page that show it, the API, the CSV downloads and import/export, and the database key."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Position, Quote, Round, RoundFormat, Stance
from app.services import catalog, export_file, position_runs, rounds, transfer
from tests import builders as b
from tests.auth_helpers import login, make_user
from tests.conftest import csrf_token
from tests.html_reader import parse

SOURCE = "https://peacetalks.invalid/seeds/000_f42f69482efc36bc"
LONDON = "london-2025-04-23"


@pytest.fixture
def editor(client: TestClient, seeded: Session) -> TestClient:
    make_user(seeded, "editor@example.org")
    login(client, "editor@example.org")
    return client


def _text(html: str) -> str:
    return parse(html).text()


def _quote_form(client: TestClient, **fields: str) -> dict[str, str]:
    return {
        "csrf_token": csrf_token(client, "/quotes/new"), "text": "We discussed a ceasefire "
        "along the current line in London today.", "kind": "direct", "said_on": "2025-04-23",
        "party": "ua", "source_url": SOURCE, "language": "en", "issue_1": "ceasefire",
        "stance_1": "accepts", "round": LONDON, **fields,
    }  # fmt: skip


def _said_in_london(session: Session) -> Quote:
    found = session.scalar(select(Quote).where(Quote.text.startswith("We discussed a ceasefire")))
    assert found is not None
    return found


def test_a_quote_said_at_a_round_shows_there_and_in_the_cells_evidence(
    editor: TestClient, seeded: Session
) -> None:
    response = editor.post("/quotes/new", data=_quote_form(editor), follow_redirects=False)
    assert response.status_code == 303, response.text
    quote = _said_in_london(seeded)
    london = rounds.get_round(seeded, slug=LONDON)
    assert quote.round_id == london.id
    cell = _text(editor.get("/cells/ua/ceasefire?as_of=2025-04-23").text)
    assert "We discussed a ceasefire" in cell and "at the London talks" in cell
    said = _text(editor.get(f"/rounds/{LONDON}").text).partition("Said at this round")[2]
    assert "We discussed a ceasefire" in said
    assert "Speaking on his arrival in London" in said  # the seed's Yermak quote, tied there
    edit = editor.get(f"/quotes/{quote.id}/edit").text
    assert f'<option value="{LONDON}" selected>' in edit


def test_the_round_field_is_optional_and_an_unknown_round_is_refused_beside_it(
    editor: TestClient, seeded: Session
) -> None:
    bad = editor.post("/quotes/new", data=_quote_form(editor, round="nowhere"))
    assert bad.status_code == 422
    assert 'id="round-error"' in bad.text and "Choose a round from the list." in bad.text
    response = editor.post(
        "/quotes/new", data=_quote_form(editor, round=""), follow_redirects=False
    )
    assert response.status_code == 303, response.text
    assert _said_in_london(seeded).round_id is None


def test_editing_a_quote_moves_it_to_another_round(editor: TestClient, seeded: Session) -> None:
    editor.post("/quotes/new", data=_quote_form(editor), follow_redirects=False)
    quote = _said_in_london(seeded)
    form = {**_quote_form(editor, round="paris-2025-04-17", said_on="2025-04-17")}
    form["version"] = str(quote.version)
    response = editor.post(f"/quotes/{quote.id}/edit", data=form, follow_redirects=False)
    assert response.status_code == 303, response.text
    seeded.expire_all()
    paris = rounds.get_round(seeded, slug="paris-2025-04-17")
    assert _said_in_london(seeded).round_id == paris.id
    assert "We discussed a ceasefire" in _text(editor.get("/rounds/paris-2025-04-17").text)


def test_a_position_taken_at_a_round_shows_on_the_round_and_in_the_history(
    editor: TestClient, seeded: Session
) -> None:
    evidence = seeded.scalar(select(Quote.id).where(Quote.text.startswith("Speaking on his")))
    form = {
        "csrf_token": csrf_token(editor, "/positions/new"), "party": "ua", "issue": "ceasefire",
        "stance": "accepts", "effective_from": "2025-04-23", "round": LONDON,
        "rationale": "Yermak said in London the talks would aim at a full ceasefire first.",
        "evidence": str(evidence),
    }  # fmt: skip
    response = editor.post("/positions/new", data=form, follow_redirects=False)
    assert response.status_code == 303, response.text
    position = seeded.scalar(select(Position).where(Position.rationale.startswith("Yermak said")))
    assert position is not None and position.round_id == rounds.get_round(seeded, slug=LONDON).id
    page = _text(editor.get(f"/rounds/{LONDON}").text)
    assert "Stances taken here" in page and "Ukraine on Ceasefire" in page
    assert "at the London talks" in _text(editor.get("/parties/ua").text)
    # The cell's history names the round too, on its page (twice: the cached copy as well),
    # as a fragment and in its JSON twin (these once failed: the round was not loaded).
    for _ in range(2):
        cell = editor.get("/cells/ua/ceasefire?as_of=2025-04-30")
        assert cell.status_code == 200 and "at the London talks" in _text(cell.text)
    fragment = editor.get("/cells/ua/ceasefire?as_of=2025-04-30", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and f'href="/rounds/{LONDON}"' in fragment.text
    twin = editor.get("/api/v1/cells/ua/ceasefire?as_of=2025-04-30")
    assert twin.status_code == 200
    assert [p["round"] for p in twin.json()["positions"] if p["id"] == position.id] == [LONDON]
    listed = editor.get("/api/v1/positions?party=ua&issue=ceasefire").json()["items"]
    assert {p["round"] for p in listed} >= {LONDON}
    bad = editor.post("/positions/new", data={**form, "round": "nowhere"})
    assert bad.status_code == 422 and 'id="round-error"' in bad.text


def test_the_api_and_the_quotes_csv_name_the_round(client: TestClient, seeded: Session) -> None:
    found = client.get("/api/v1/quotes", params={"q": "arrival in London"}).json()["items"]
    assert [q["round"] for q in found] == [LONDON]
    others = client.get("/api/v1/quotes", params={"q": "sanctions"}).json()["items"]
    assert others and all(q["round"] is None for q in others)
    body = client.get("/exports/quotes.csv", params={"q": "presented its peace proposal"}).text
    assert body.splitlines()[0].endswith(",round") and body.splitlines()[1].endswith(
        ",paris-2025-04-17"
    )


def test_export_names_the_round_and_an_import_ties_quotes_to_a_round_of_the_file(
    seeded: Session, tmp_path: Path
) -> None:
    data = export_file.export_document(seeded)
    tied = {q["text"][:30]: q["round"] for q in data["quotes"] if q["round"]}
    assert set(tied.values()) == {"paris-2025-04-17", LONDON}
    new_round = {**data["rounds"][1], "slug": "istanbul-2025-06-02", "name": "Istanbul talks",
                 "starts_on": "2025-06-02", "ends_on": "2025-06-02", "documents": []}  # fmt: skip
    quote = {**data["quotes"][0], "ref": "istanbul-1", "text": "A memorandum was handed over.",
             "said_on": "2025-06-02", "published_on": None, "round": "istanbul-2025-06-02",
             "issues": [], "confirms_or_denies": None}  # fmt: skip
    path = tmp_path / "more.json"
    path.write_text(json.dumps({"quotes": [quote], "rounds": [new_round]}), "utf-8")
    added = transfer.import_file(seeded, path)
    assert added["quotes"] == 1 and added["rounds"] == 1
    istanbul = seeded.scalar(select(Round.id).where(Round.slug == "istanbul-2025-06-02"))
    stored = seeded.scalar(select(Quote).where(Quote.text == "A memorandum was handed over."))
    assert stored is not None and stored.round_id == istanbul
    quote.update(ref="x", text="Another text.", round="no-such-round")
    path.write_text(json.dumps({"quotes": [quote]}), "utf-8")
    with pytest.raises(transfer.ImportRejected) as rejected:
        transfer.import_file(seeded, path)
    assert "quotes row 1, round: unknown round 'no-such-round'" in [
        str(e) for e in rejected.value.errors
    ]


def test_the_database_clears_the_round_of_its_quotes_when_the_round_goes(
    session: Session,
) -> None:
    party, issue = b.party(session, "rdp"), b.issue(session, "rdi")
    meeting = rounds.create_round(
        session, actor=None, slug="short-lived", name="Short-lived talks",
        starts_on=date(2025, 5, 1), ends_on=None, format=RoundFormat.TECHNICAL,
    )  # fmt: skip
    session.flush()
    quote = b.quote(session, party, issue)
    quote.round_id = meeting.id
    session.flush()
    session.delete(meeting)
    session.flush()
    session.expire_all()
    assert session.get(Quote, quote.id).round_id is None  # type: ignore[union-attr]
    assert catalog.find_party(session, slug="rdp") is not None


def test_the_rounds_page_gives_each_round_the_changes_up_to_the_next(
    client: TestClient, session: Session
) -> None:
    party = b.party(session, "chp", name="Chronia")
    issue = b.issue(session, "chi", title="Grain corridor")
    for slug, name, day in (("spring", "Spring talks", 1), ("summer", "Summer talks", 10)):
        rounds.create_round(
            session, actor=None, slug=slug, name=name, starts_on=date(2025, 5, day),
            ends_on=None, format=RoundFormat.BILATERAL, parties=[(party, "")],
        )  # fmt: skip
    b.position(session, party, issue, Stance.ACCEPTS, date(2025, 5, 3))
    b.position(session, party, issue, Stance.REJECTS, date(2025, 5, 12))
    position_runs.ensure_fresh(session)
    page = _text(client.get("/rounds").text)
    spring = page.partition("Spring talks")[2].partition("Summer talks")[0]
    summer = page.partition("Summer talks")[2]
    assert "Chronia on Grain corridor" in spring and "Accepts" in spring
    assert "Rejects" not in spring
    assert "Chronia on Grain corridor" in summer and "Accepts → Rejects" in summer
