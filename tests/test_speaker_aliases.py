"""Speakers have aliases (other writings of their name): edited on the speaker's form and
audited, searched like the name, offered by the speaker typeahead and the "Did you mean …?"
check, refused as another speaker's name, shown on the speaker's page and in the API, and
carried through export and import. Over HTTP, on both databases."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import AuditEntry, Quote, Role, Speaker, SpeakerAlias, User
from app.services import catalog, export_file, transfer
from tests import builders as b
from tests.auth_helpers import login as admin_login
from tests.auth_helpers import make_user
from tests.conftest import csrf_token, migrated_database
from tests.html_reader import parse
from tests.test_quote_forms import World, editor, quote_form, world

__all__ = ["editor", "world"]  # fixtures this module uses

SAID = "The front line is where the talks must begin."


def _said_by(session: Session, world: World) -> Quote:
    """A quote of Andrii Sybiha whose text and source do not name him."""
    quote = b.quote(session, world.ua, None, text=SAID)
    quote.speaker_id = world.ua_speaker.id
    session.flush()
    return quote


def _edit(client: TestClient, speaker: Speaker, aliases: str, **changes: str) -> object:
    url = f"/manage/speakers/{speaker.id}/edit"
    page = parse(client.get(url).text)
    version = next(e for e in page.find_all("input") if e.attrs.get("name") == "version")
    form = {
        "csrf_token": csrf_token(client, url),
        "version": version.attrs["value"],
        "name": speaker.name,
        "role": speaker.role,
        "party": "ua",
        "aliases": aliases,
        **changes,
    }
    return client.post(url, data=form, follow_redirects=False)


def _found(client: TestClient, words: str) -> list[str]:
    root = parse(client.get("/quotes", params={"q": words}).text)
    return [a.text() for a in root.find_all("article") if a.has_class("quote")]


def test_an_editor_adds_and_removes_aliases_and_the_audit_log_and_search_follow(
    client: TestClient, session: Session, editor: User, world: World
) -> None:
    _said_by(session, world)
    assert _found(client, "Sybiga") == []
    saved = _edit(client, world.ua_speaker, "Sybiga\n  Andriy   Sybiha \n\nSybiga\n")
    assert saved.status_code == 303, saved.text  # type: ignore[attr-defined]
    stored = session.scalars(
        select(SpeakerAlias.name).where(SpeakerAlias.speaker_id == world.ua_speaker.id)
    ).all()
    assert sorted(stored) == ["Andriy Sybiha", "Sybiga"]  # tidied, the repeat once
    # The quote search finds his quotes by an alias (the words are only in the alias).
    found = _found(client, "Sybiga")
    assert len(found) == 1 and SAID in found[0]
    # The form shows them one a line, and the speaker's page lists them.
    form = client.get(f"/manage/speakers/{world.ua_speaker.id}/edit").text
    assert ">Andriy Sybiha\nSybiga</textarea>" in form
    page = parse(client.get(f"/speakers/{world.ua_speaker.id}").text)
    shown = page.find_all("p", lambda e: e.has_class("speaker-aliases"))
    assert shown and shown[0].text() == "Also written: Andriy Sybiha, Sybiga."
    listed = parse(client.get("/manage/speakers").text)
    row = next(
        e for e in listed.find_all("tr") if e.attrs.get("id") == f"speaker-{world.ua_speaker.id}"
    )
    assert "also Andriy Sybiha, Sybiga" in row.text()

    removed = _edit(client, world.ua_speaker, "Andriy Sybiha")
    assert removed.status_code == 303  # type: ignore[attr-defined]
    assert _found(client, "Sybiga") == []  # no longer in the index
    assert len(_found(client, "Andriy")) == 1
    entries = session.scalars(
        select(AuditEntry)
        .where(
            AuditEntry.entity_type == "speakers",
            AuditEntry.entity_id == str(world.ua_speaker.id),
            AuditEntry.action == "update",
        )
        .order_by(AuditEntry.id)
    ).all()
    assert [(e.before["aliases"], e.after["aliases"]) for e in entries] == [  # type: ignore[index]
        ([], ["Andriy Sybiha", "Sybiga"]),
        (["Andriy Sybiha", "Sybiga"], ["Andriy Sybiha"]),
    ]
    assert entries[-1].actor_id == editor.id


def test_an_alias_taken_by_another_speaker_or_the_own_name_is_refused_beside_the_field(
    client: TestClient, session: Session, editor: User, world: World
) -> None:
    other = catalog.create_speaker(session, actor=None, party=world.ua, name="Rustem Umerov")
    catalog.create_speaker(session, actor=None, party=world.ru, name="Umerov")  # other party
    session.flush()
    taken = _edit(client, world.ua_speaker, "Rustem Umerov")
    assert taken.status_code == 422  # type: ignore[attr-defined]
    page = parse(taken.text)  # type: ignore[attr-defined]
    error = page.find_all("p", lambda e: e.attrs.get("id") == "aliases-error")
    assert error and "'Rustem Umerov' is Rustem Umerov's name" in error[0].text()
    assert _edit(client, world.ua_speaker, "andrii sybiha").status_code == 422  # type: ignore[attr-defined]
    too_long = _edit(client, world.ua_speaker, "x" * 201)
    assert too_long.status_code == 422  # type: ignore[attr-defined]
    assert "at most 200 characters" in too_long.text  # type: ignore[attr-defined]
    # An alias of Umerov (Ukraine) is then refused for Sybiha, and as a new speaker's name.
    assert _edit(client, other, "Umerow", party="ua").status_code == 303  # type: ignore[attr-defined]
    again = _edit(client, world.ua_speaker, "Umerow")
    assert "already an alias of Rustem Umerov" in again.text  # type: ignore[attr-defined]
    token = csrf_token(client, "/manage/speakers/new")
    new = client.post(
        "/manage/speakers/new",
        data={"csrf_token": token, "name": "Umerow", "role": "", "party": "ua", "aliases": ""},
    )
    assert new.status_code == 422
    assert "another writing of Rustem Umerov (Ukraine)" in new.text
    assert session.scalar(select(Speaker).where(Speaker.name == "Umerow")) is None


def test_typeahead_and_did_you_mean_match_an_alias(
    client: TestClient, session: Session, editor: User, world: World
) -> None:
    session.add(SpeakerAlias(speaker_id=world.ua_speaker.id, name="Sybiga"))
    session.flush()
    options = client.get("/quotes/speaker-options", params={"party": "ua", "speaker_q": "sybig"})
    assert options.status_code == 200
    labels = [o.text() for o in parse(options.text).find_all("option") if o.attrs.get("value")]
    assert labels == ["Andrii Sybiha — Foreign Minister (Ukraine)"]
    # Typing the alias as a new speaker asks "Did you mean …?" rather than adding a twin.
    token = csrf_token(client, "/quotes/new")
    form = quote_form(token, new_speaker_name="Sybiga", new_speaker_role="")
    asked = client.post("/quotes/new", data=form)
    assert asked.status_code == 422
    assert "Did you mean Andrii Sybiha (Ukraine)?" in asked.text
    assert session.scalar(select(Speaker).where(Speaker.name == "Sybiga")) is None


def test_the_api_lists_a_speakers_aliases(
    client: TestClient, session: Session, world: World
) -> None:
    session.add_all(
        SpeakerAlias(speaker_id=world.ua_speaker.id, name=name) for name in ("Sybiga", "Sybiha")
    )
    session.flush()
    one = client.get(f"/api/v1/speakers/{world.ua_speaker.id}").json()
    assert one["aliases"] == ["Sybiga", "Sybiha"]
    listed = {s["name"]: s["aliases"] for s in client.get("/api/v1/speakers").json()["items"]}
    assert listed == {"Andrii Sybiha": ["Sybiga", "Sybiha"], "Dmitry Peskov": []}


def test_merging_makes_the_merged_name_and_its_aliases_aliases_of_the_one_kept(
    app: FastAPI, session: Session, world: World
) -> None:
    twin = catalog.create_speaker(session, actor=None, party=world.ru, name="Dmitry Peskow")
    session.flush()
    session.add_all(
        [
            SpeakerAlias(speaker_id=twin.id, name="Peskoff"),
            SpeakerAlias(speaker_id=twin.id, name="dmitry peskov"),  # the kept name, case aside
        ]
    )
    session.flush()
    moved = b.quote(session, world.ru, None, text="Words of the twin on the talks.")
    moved.speaker_id = twin.id
    session.flush()
    with TestClient(app) as admin:
        assert len(_found(admin, "Peskoff")) == 1
        make_user(session, "admin@example.org", role=Role.ADMIN)
        admin_login(admin, "admin@example.org")
        token = csrf_token(admin, f"/manage/speakers/{twin.id}/merge")
        done = admin.post(
            f"/manage/speakers/{twin.id}/merge",
            data={"csrf_token": token, "into": str(world.ru_speaker.id)},
            follow_redirects=False,
        )
        assert done.status_code == 303
        # The quote moved is found by the merged name and aliases, now the kept speaker's.
        for words in ("Peskoff", "Peskow", "Peskov"):
            found = _found(admin, words)
            assert len(found) == 1 and "Dmitry Peskov" in found[0], words
    session.expire_all()
    kept = session.scalars(
        select(SpeakerAlias.name).where(SpeakerAlias.speaker_id == world.ru_speaker.id)
    ).all()
    assert sorted(kept) == ["Dmitry Peskow", "Peskoff"]
    entry = session.scalars(
        select(AuditEntry)
        .where(AuditEntry.entity_type == "speakers", AuditEntry.action == "update")
        .order_by(AuditEntry.id.desc())
    ).first()
    assert entry is not None and entry.after["aliases_added"] == ["Dmitry Peskow", "Peskoff"]


def test_aliases_survive_export_and_import_and_the_export_round_trips_exactly(
    session: Session, backend: str, tmp_path: Path, world: World
) -> None:
    session.add_all(
        SpeakerAlias(speaker_id=world.ua_speaker.id, name=name) for name in ("Sybiha A.", "Sybiga")
    )
    session.flush()
    exported = export_file.export_text(session, "yaml")
    assert "  aliases:\n  - Sybiga\n  - Sybiha A.\n" in exported
    path = tmp_path / "all.yaml"
    path.write_text(exported, "utf-8")
    with migrated_database(backend, tmp_path) as engine:
        with Session(engine) as fresh, fresh.begin():
            transfer.import_file(fresh, path)
        with Session(engine) as fresh:
            assert export_file.export_text(fresh, "yaml") == exported
            entry = fresh.scalars(
                select(AuditEntry).where(
                    AuditEntry.entity_type == "speakers", AuditEntry.action == "create"
                )
            ).all()
            assert [e.after.get("aliases") for e in entry] == [  # type: ignore[union-attr]
                ["Sybiga", "Sybiha A."],
                None,
            ]


def test_a_new_speaker_named_as_another_speakers_alias_is_refused_beside_the_field(
    client: TestClient, session: Session, editor: User, world: World
) -> None:
    session.add(SpeakerAlias(speaker_id=world.ua_speaker.id, name="Sybiga"))
    session.flush()
    speakers_before = session.scalar(select(func.count()).select_from(Speaker))
    token = csrf_token(client, "/quotes/new")
    typed = quote_form(
        token, new_speaker_name="sybiga", new_speaker_role="Minister", new_speaker_confirmed="on"
    )
    refused = client.post("/quotes/new", data=typed)
    assert refused.status_code == 422
    page = parse(refused.text)
    error = page.find_all("p", lambda e: e.attrs.get("id") == "new_speaker_name-error")
    # The Manage form's own words, naming the speaker it is an alias of.
    assert error and error[0].text() == (
        "'sybiga' is another writing of Andrii Sybiha (Ukraine): edit that speaker, "
        "or remove the alias there first."
    )
    shown = {
        e.attrs.get("name"): e.attrs.get("value", "")
        for e in page.find_all("input")
        if e.attrs.get("type") not in {"checkbox", "radio", "hidden"}
    }
    for name in ("new_speaker_name", "new_speaker_role", "said_on", "source_url", "source_title"):
        assert shown.get(name) == typed[name], name
    assert typed["text"] in refused.text and typed["rationale"] in refused.text
    assert session.scalar(select(func.count()).select_from(Speaker)) == speakers_before
    assert (
        session.scalar(select(func.count()).select_from(Quote).where(Quote.text == typed["text"]))
        == 0
    )
    # The same name for another party is no one's alias there: that speaker is added.
    token = csrf_token(client, "/quotes/new")
    other = quote_form(
        token,
        party="ru",
        new_speaker_name="Sybiga",
        new_speaker_role="",
        new_speaker_confirmed="on",
    )
    assert client.post("/quotes/new", data=other, follow_redirects=False).status_code == 303
    added = session.scalars(select(Speaker).where(Speaker.name == "Sybiga")).one()
    assert added.party_id == world.ru.id
