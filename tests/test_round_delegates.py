"""Delegations linked to speakers: the round form's speaker choices and their refusals, the round
and speaker pages, the API, import/export and the audit log."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import migrate
from app.db import make_engine
from app.models import AuditEntry, RoundDelegate, Speaker
from app.services import catalog, export_file, speakers, transfer
from app.services.errors import InUse
from tests.auth_helpers import login, make_user
from tests.conftest import csrf_token, scratch_database
from tests.html_reader import Element, parse

GENEVA = "geneva-2025-11"


@pytest.fixture
def editor(client: TestClient, seeded: Session) -> TestClient:
    make_user(seeded, "editor@example.org")
    login(client, "editor@example.org")
    return client


def _find(root: Element, tag: str, **attrs: str) -> list[Element]:
    """The elements with this tag and these attribute values (class_ for class)."""
    wanted = {k.rstrip("_"): v for k, v in attrs.items()}
    return root.find_all(tag, lambda e: all(e.attrs.get(k) == v for k, v in wanted.items()))


def _speaker(session: Session, name: str) -> Speaker:
    found = session.scalar(select(Speaker).where(Speaker.name == name))
    assert found is not None, name
    return found


def _form(client: TestClient, **fields: object) -> dict[str, object]:
    return {
        "csrf_token": csrf_token(client, "/rounds/new"), "name": "Geneva talks", "slug": GENEVA,
        "starts_on": "2025-11-23", "format": "bilateral", "party_us": "on",
        "delegation_us": "two staffers", "party_ua": "on", **fields,
    }  # fmt: skip


def _record_geneva(editor: TestClient, seeded: Session) -> tuple[Speaker, Speaker, Speaker]:
    rubio, witkoff = _speaker(seeded, "Marco Rubio"), _speaker(seeded, "Steve Witkoff")
    yermak = _speaker(seeded, "Andriy Yermak")
    form = _form(
        editor, delegates_us=[str(witkoff.id), str(rubio.id)], delegates_ua=[str(yermak.id)]
    )
    response = editor.post("/rounds/new", data=form, follow_redirects=False)
    assert response.status_code == 303, response.text
    return rubio, witkoff, yermak


def test_the_form_offers_each_partys_speakers_and_stores_the_ones_ticked(
    editor: TestClient, seeded: Session
) -> None:
    blank = parse(editor.get("/rounds/new").text)
    rubio = _speaker(seeded, "Marco Rubio")
    assert len(_find(blank, "input", name="delegates_us", value=str(rubio.id))) == 1
    assert _find(blank, "input", name="delegates_ru", value=str(rubio.id)) == []
    rubio, witkoff, yermak = _record_geneva(editor, seeded)
    stored = set(seeded.execute(select(RoundDelegate.party_id, RoundDelegate.speaker_id)).all())
    assert stored == {
        (rubio.party_id, rubio.id), (witkoff.party_id, witkoff.id), (yermak.party_id, yermak.id)
    }  # fmt: skip
    entry = seeded.scalar(
        select(AuditEntry)
        .where(AuditEntry.entity_type == "rounds", AuditEntry.action == "create")
        .order_by(AuditEntry.id.desc())
        .limit(1)
    )
    assert entry is not None and entry.after is not None
    assert entry.after["delegates"] == {"us": sorted([rubio.id, witkoff.id]), "ua": [yermak.id]}


@pytest.mark.parametrize("case", ["unknown", "garbled", "other-party", "party-not-ticked"])
def test_a_speaker_who_cannot_be_in_the_delegation_is_refused_beside_it_and_the_form_kept(
    editor: TestClient, seeded: Session, case: str
) -> None:
    rubio, yermak = _speaker(seeded, "Marco Rubio"), _speaker(seeded, "Andriy Yermak")
    field, sent, message = {
        "unknown": ("delegates_us", "999999", "one is not known"),
        "garbled": ("delegates_us", "rubio", "one is not known"),
        "other-party": ("delegates_us", str(yermak.id), "Not a speaker of this party: Andriy"),
        "party-not-ticked": ("delegates_ru", None, "Tick the party too"),
    }[case]
    if sent is None:  # a Russian speaker ticked while Russia is not
        sent = str(_speaker(seeded, "Dmitry Peskov").id)
    form = _form(editor, **{field: [str(rubio.id), sent] if field == "delegates_us" else [sent]})
    response = editor.post("/rounds/new", data=form)
    assert response.status_code == 422
    page = parse(response.text)
    [error] = _find(page, "p", id=f"{field}-error")
    assert message in error.text()
    assert _find(page, "input", name="name")[0].attrs["value"] == "Geneva talks"
    if case != "party-not-ticked":
        [kept] = _find(page, "input", name="delegates_us", value=str(rubio.id))
        assert "checked" in kept.attrs
    assert seeded.scalar(select(RoundDelegate)) is None


def test_the_round_pages_link_the_delegates_then_give_the_note(
    editor: TestClient, seeded: Session
) -> None:
    rubio, witkoff, yermak = _record_geneva(editor, seeded)
    for path in (f"/rounds/{GENEVA}", "/rounds"):
        html = editor.get(path).text
        attended = html.partition("Geneva talks")[2].partition("Attended:")[2].partition("</p>")[0]
        assert (
            f'<a href="/speakers/{rubio.id}">Marco Rubio</a>, '
            f'<a href="/speakers/{witkoff.id}">Steve Witkoff</a>; two staffers)'
        ) in attended, path
        assert f'<a href="/speakers/{yermak.id}">Andriy Yermak</a>)' in attended, path


def test_a_speakers_page_lists_the_rounds_they_attended(
    editor: TestClient, seeded: Session
) -> None:
    rubio, _witkoff, _yermak = _record_geneva(editor, seeded)
    kellogg = _speaker(seeded, "Keith Kellogg")
    [line] = _find(parse(editor.get(f"/speakers/{rubio.id}").text), "p", class_="speaker-rounds")
    assert "Geneva talks" in line.text()
    assert f'href="/rounds/{GENEVA}"' in editor.get(f"/speakers/{rubio.id}").text
    assert 'class="speaker-rounds"' not in editor.get(f"/speakers/{kellogg.id}").text


def test_the_api_and_the_csv_give_each_partys_delegates_by_name(
    editor: TestClient, seeded: Session
) -> None:
    rubio, witkoff, yermak = _record_geneva(editor, seeded)
    geneva = next(r for r in editor.get("/api/v1/rounds").json() if r["slug"] == GENEVA)
    assert geneva["delegates"] == {
        "us": [
            {"id": rubio.id, "name": "Marco Rubio"},
            {"id": witkoff.id, "name": "Steve Witkoff"},
        ],
        "ua": [{"id": yermak.id, "name": "Andriy Yermak"}],
    }
    assert geneva["parties"]["us"] == "two staffers"
    london = next(r for r in editor.get("/api/v1/rounds").json() if r["slug"] != GENEVA)
    assert all(v == [] for v in london["delegates"].values())
    text = editor.get("/exports/rounds.csv").content.decode("utf-8").removeprefix("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text)))
    delegations = next(r for r in rows if r["slug"] == GENEVA)["delegations"]
    assert "us: Marco Rubio, Steve Witkoff, two staffers" in delegations
    assert "ua: Andriy Yermak" in delegations


def test_export_carries_the_delegates_and_an_older_file_without_them_still_imports(
    editor: TestClient, seeded: Session, tmp_path: Path
) -> None:
    _record_geneva(editor, seeded)
    data = export_file.export_document(seeded)
    geneva = next(r for r in data["rounds"] if r["slug"] == GENEVA)
    assert {p["party"]: p["delegates"] for p in geneva["parties"]} == {
        "us": ["Marco Rubio", "Steve Witkoff"], "ua": ["Andriy Yermak"]
    }  # fmt: skip
    older = json.loads(json.dumps(geneva))
    older["slug"] = "older-file-round"
    for seat in older["parties"]:
        del seat["delegates"]
    path = tmp_path / "older.json"
    path.write_text(json.dumps({"rounds": [older]}), "utf-8")
    assert transfer.import_file(seeded, path)["rounds"] == 1
    wrong = json.loads(json.dumps(geneva))
    wrong["slug"] = "wrong-delegate"
    wrong["parties"][0]["delegates"] = ["Nobody Known"]
    path.write_text(json.dumps({"rounds": [wrong]}), "utf-8")
    with pytest.raises(transfer.ImportRejected) as rejected:
        transfer.import_file(seeded, path)
    party = wrong["parties"][0]["party"]
    assert f"rounds row 1, delegates: unknown speaker 'Nobody Known' of party '{party}'" in [
        str(e) for e in rejected.value.errors
    ]


def test_a_delegate_keeps_their_speaker_from_deletion_and_moves_when_merged(
    editor: TestClient, seeded: Session
) -> None:
    rubio, _witkoff, _yermak = _record_geneva(editor, seeded)
    with pytest.raises(InUse, match="1 round"):
        speakers.delete_speaker(seeded, actor=None, speaker=rubio)
    twin = speakers.add_speaker(
        seeded,
        actor=None,
        party=catalog.get_party_by_id(seeded, party_id=rubio.party_id),
        name="M. Rubio",
        role="",
    )
    seeded.flush()
    seat = RoundDelegate(round_id=_round_id(seeded), party_id=rubio.party_id, speaker_id=twin.id)
    seeded.add(seat)
    seeded.flush()
    witkoff = _speaker(seeded, "Steve Witkoff")
    speakers.merge_speakers(seeded, actor=None, keep=witkoff, merged=twin)
    left = set(seeded.scalars(select(RoundDelegate.speaker_id)))
    assert twin.id not in left and witkoff.id in left


def _round_id(session: Session) -> int:
    found = session.scalar(select(RoundDelegate.round_id))
    assert found is not None
    return found


def test_delegates_survive_export_import_export_byte_for_byte(
    editor: TestClient, seeded: Session, backend: str, tmp_path: Path
) -> None:
    _record_geneva(editor, seeded)
    exported = export_file.export_text(seeded, "yaml")
    assert "- Marco Rubio" in exported
    path = tmp_path / "all.yaml"
    path.write_text(exported, "utf-8")
    with scratch_database(backend, tmp_path) as url:
        migrate.upgrade(url=url)
        engine = make_engine(url)
        try:
            with Session(engine) as fresh, fresh.begin():
                transfer.import_file(fresh, path)
            with Session(engine) as fresh:
                assert len(fresh.scalars(select(RoundDelegate)).all()) == 3
                assert export_file.export_text(fresh, "yaml") == exported
        finally:
            engine.dispose()
