"""Correcting and deleting a round of talks: the prefilled edit form, its audit entry, errors
beside the fields, the stale-version conflict, the guarded delete, CSRF and the login guard."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import AuditEntry, Role, Round, RoundDelegate, RoundParty
from tests.auth_helpers import login, make_user
from tests.conftest import csrf_token
from tests.html_reader import parse
from tests.test_round_delegates import _find, _speaker

GENEVA = "geneva-2025-11"
LONDON = "london-2025-04-23"  # a seed round a quote is tied to
PLAN = "us-proposal-paris-2025-04"


@pytest.fixture
def editor(client: TestClient, seeded: Session) -> TestClient:
    make_user(seeded, "editor@example.org")
    login(client, "editor@example.org")
    return client


@pytest.fixture
def admin(client: TestClient, seeded: Session) -> TestClient:
    make_user(seeded, "root@example.org", role=Role.ADMIN)
    login(client, "root@example.org")
    return client


def _round(session: Session, slug: str) -> Round | None:
    session.expire_all()
    return session.scalar(select(Round).where(Round.slug == slug))


def _record_geneva(client: TestClient, seeded: Session) -> None:
    """Geneva talks: the US (Rubio, Witkoff and a note) and Ukraine (Yermak)."""
    rubio, witkoff = _speaker(seeded, "Marco Rubio"), _speaker(seeded, "Steve Witkoff")
    form = {
        "csrf_token": csrf_token(client, "/rounds/new"), "name": "Geneva talks", "slug": GENEVA,
        "starts_on": "2025-11-23", "format": "bilateral", "party_us": "on",
        "delegation_us": "two staffers", "party_ua": "on",
        "delegates_us": [str(rubio.id), str(witkoff.id)],
        "delegates_ua": [str(_speaker(seeded, "Andriy Yermak").id)],
    }  # fmt: skip
    response = client.post("/rounds/new", data=form, follow_redirects=False)
    assert response.status_code == 303, response.text


def _edit_form(client: TestClient, slug: str = GENEVA) -> dict[str, object]:
    """What the edit form sends as shown: every named input's value, ticked boxes only."""
    page = parse(client.get(f"/rounds/{slug}/edit").text)
    sent: dict[str, object] = {}
    for field in page.find_all("input"):
        name, kind = field.attrs.get("name"), field.attrs.get("type", "text")
        if not name or (kind == "checkbox" and "checked" not in field.attrs):
            continue
        value = field.attrs.get("value") or ("on" if kind == "checkbox" else "")
        if name.startswith("delegates_"):
            listed = sent.setdefault(name, [])
            assert isinstance(listed, list)
            listed.append(value)
        else:
            sent[name] = value
    for area in page.find_all("textarea"):
        sent[area.attrs["name"]] = area.text()
    [chosen] = [o for o in page.find_all("option") if "selected" in o.attrs]
    sent["format"] = chosen.attrs["value"]
    return sent


def test_the_edit_form_is_filled_and_a_save_changes_the_round_and_is_audited(
    editor: TestClient, seeded: Session
) -> None:
    _record_geneva(editor, seeded)
    rubio, peskov = _speaker(seeded, "Marco Rubio"), _speaker(seeded, "Dmitry Peskov")
    form = _edit_form(editor)
    assert form["name"] == "Geneva talks" and form["delegation_us"] == "two staffers"
    assert sorted(form["delegates_us"]) == sorted(  # type: ignore[arg-type]
        [str(rubio.id), str(_speaker(seeded, "Steve Witkoff").id)]
    )
    assert form["version"] == "1" and "slug" not in form  # the slug stays; it is not offered
    del form["party_ua"], form["delegates_ua"]
    form.update(
        name="Geneva talks (second day)", ends_on="2025-11-24", venue="Palais des Nations",
        format="trilateral", outcome="A 19-point draft.", delegates_us=[str(rubio.id)],
        delegation_us="", party_ru="on", delegates_ru=[str(peskov.id)],
        delegation_ru="a deputy minister", **{f"document_{PLAN}": "on"},
    )  # fmt: skip
    response = editor.post(f"/rounds/{GENEVA}/edit", data=form, follow_redirects=False)
    assert response.status_code == 303, response.text
    assert response.headers["location"] == f"/rounds/{GENEVA}"
    meeting = _round(seeded, GENEVA)
    assert meeting is not None and meeting.version == 2
    assert (meeting.name, meeting.venue, meeting.format.value, str(meeting.ends_on)) == (
        "Geneva talks (second day)", "Palais des Nations", "trilateral", "2025-11-24"
    )  # fmt: skip
    seats = seeded.execute(
        select(RoundParty.party_id, RoundParty.delegation).where(RoundParty.round_id == meeting.id)
    ).all()
    assert sorted(seats) == sorted([(rubio.party_id, ""), (peskov.party_id, "a deputy minister")])
    delegates = seeded.scalars(
        select(RoundDelegate.speaker_id).where(RoundDelegate.round_id == meeting.id)
    ).all()
    assert sorted(delegates) == sorted([rubio.id, peskov.id])
    page = editor.get(f"/rounds/{GENEVA}").text
    assert "Geneva talks (second day)" in page and "US peace proposal presented in Paris" in page
    entry = seeded.scalar(
        select(AuditEntry).where(AuditEntry.entity_type == "rounds", AuditEntry.action == "update")
    )
    assert entry is not None and entry.before is not None and entry.after is not None
    assert (entry.before["name"], entry.after["name"]) == ("Geneva talks", form["name"])
    assert entry.before["parties"] == {"us": "two staffers", "ua": ""}
    assert entry.after["parties"] == {"us": "", "ru": "a deputy minister"}
    assert entry.after["delegates"] == {"us": [rubio.id], "ru": [peskov.id]}
    assert (entry.before["documents"], entry.after["documents"]) == ([], [PLAN])


def test_a_round_ending_before_it_starts_is_refused_beside_the_field_and_the_form_kept(
    editor: TestClient, seeded: Session
) -> None:
    _record_geneva(editor, seeded)
    form = {**_edit_form(editor), "name": "Renamed", "ends_on": "2025-11-20"}
    response = editor.post(f"/rounds/{GENEVA}/edit", data=form)
    assert response.status_code == 422
    page = parse(response.text)
    [error] = _find(page, "p", id="ends_on-error")
    assert "cannot end before it starts" in error.text()
    assert _find(page, "input", name="name")[0].attrs["value"] == "Renamed"
    [kept] = _find(
        page, "input", name="delegates_us", value=str(_speaker(seeded, "Marco Rubio").id)
    )
    assert "checked" in kept.attrs
    meeting = _round(seeded, GENEVA)
    assert meeting is not None and (meeting.name, meeting.version) == ("Geneva talks", 1)


def test_a_save_based_on_a_stale_version_is_refused_with_both_versions(
    editor: TestClient, seeded: Session
) -> None:
    _record_geneva(editor, seeded)
    mine, theirs = _edit_form(editor), _edit_form(editor)
    saved = editor.post(
        f"/rounds/{GENEVA}/edit", data={**theirs, "venue": "Their venue"}, follow_redirects=False
    )
    assert saved.status_code == 303
    response = editor.post(f"/rounds/{GENEVA}/edit", data={**mine, "venue": "My venue"})
    assert response.status_code == 409
    assert "Someone else changed this round" in response.text
    assert "Their venue" in response.text and "My venue" in response.text
    meeting = _round(seeded, GENEVA)
    assert meeting is not None and (meeting.venue, meeting.version) == ("Their venue", 2)
    # "Apply my changes": the typed values on the current version, saved on the next post.
    applied = editor.post(f"/rounds/{GENEVA}/edit", data={**mine, "venue": "My venue",
                                                          "action": "apply"})  # fmt: skip
    assert applied.status_code == 200
    [version] = _find(parse(applied.text), "input", name="version")
    assert version.attrs["value"] == "2"


def test_a_round_that_quotes_are_tied_to_cannot_be_deleted(
    admin: TestClient, seeded: Session
) -> None:
    assert admin.get(f"/rounds/{LONDON}/delete").status_code == 200
    response = admin.post(
        f"/rounds/{LONDON}/delete", data={"csrf_token": csrf_token(admin, f"/rounds/{LONDON}")}
    )
    assert response.status_code == 409
    assert "1 quote" in response.text and "tied to it" in response.text
    assert _round(seeded, LONDON) is not None


def test_an_unused_round_is_deleted_with_its_own_rows(admin: TestClient, seeded: Session) -> None:
    _record_geneva(admin, seeded)
    meeting = _round(seeded, GENEVA)
    assert meeting is not None
    round_id = meeting.id
    page = admin.get(f"/rounds/{GENEVA}/delete")
    assert page.status_code == 200 and "Geneva talks" in page.text
    response = admin.post(
        f"/rounds/{GENEVA}/delete",
        data={"csrf_token": csrf_token(admin, f"/rounds/{GENEVA}")},
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == "/rounds"
    assert _round(seeded, GENEVA) is None
    for model in (RoundParty, RoundDelegate):
        left = seeded.scalar(select(func.count()).where(model.round_id == round_id))
        assert left == 0, model
    entry = seeded.scalar(
        select(AuditEntry).where(AuditEntry.entity_type == "rounds", AuditEntry.action == "delete")
    )
    assert entry is not None and entry.before is not None
    assert (
        entry.before["name"] == "Geneva talks" and entry.before["parties"]["us"] == "two staffers"
    )
    assert admin.get(f"/rounds/{GENEVA}").status_code == 404


def test_the_edit_needs_the_csrf_token(editor: TestClient, seeded: Session) -> None:
    _record_geneva(editor, seeded)
    form = {k: v for k, v in _edit_form(editor).items() if k != "csrf_token"}
    response = editor.post(f"/rounds/{GENEVA}/edit", data={**form, "name": "Forged"})
    assert response.status_code == 403
    meeting = _round(seeded, GENEVA)
    assert meeting is not None and meeting.name == "Geneva talks"


def test_visitors_are_sent_to_log_in_and_editors_cannot_delete(
    client: TestClient, seeded: Session
) -> None:
    for path in (f"/rounds/{LONDON}/edit", f"/rounds/{LONDON}/delete"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303
        assert urlsplit(response.headers["location"]).path == "/login"
    assert "Edit this round" not in client.get(f"/rounds/{LONDON}").text
    make_user(seeded, "editor@example.org")
    login(client, "editor@example.org")
    page = client.get(f"/rounds/{LONDON}").text
    assert f'href="/rounds/{LONDON}/edit"' in page and f"/rounds/{LONDON}/delete" not in page
    assert client.get(f"/rounds/{LONDON}/delete").status_code == 403
