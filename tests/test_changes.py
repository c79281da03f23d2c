"""What changed between two dates, and blocs whose members split."""

from __future__ import annotations

import re
from datetime import date, timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.models import PartyKind, Stance
from app.services import matrix
from tests import builders as b

D = date(2025, 3, 1)


def test_changes_list_names_old_and_new_stance_and_skips_reaffirmations(session: Session) -> None:
    us, nato = b.party(session), b.issue(session)
    b.position(session, us, nato, Stance.ACCEPTS, D)
    b.position(session, us, nato, Stance.ACCEPTS, D + timedelta(days=2))  # reaffirmed: no change
    b.position(session, us, nato, Stance.REJECTS, D + timedelta(days=5))
    changes = matrix.changes_between(
        session, since=D - timedelta(days=1), until=D + timedelta(days=10)
    )
    assert [(c.old_stance, c.new_stance, c.effective_from) for c in changes] == [
        (Stance.ACCEPTS, Stance.REJECTS, D + timedelta(days=5)),
        (None, Stance.ACCEPTS, D),
    ]
    inside = matrix.changes_between(session, since=D, until=D + timedelta(days=4))
    assert inside == []


def test_matrix_highlights_only_cells_whose_stance_differs(session: Session) -> None:
    ua, ru = b.party(session), b.party(session)
    ceasefire = b.issue(session)
    b.position(session, ua, ceasefire, Stance.ACCEPTS, D)
    b.position(session, ua, ceasefire, Stance.REJECTS, D + timedelta(days=3))
    b.position(session, ru, ceasefire, Stance.REJECTS, D)
    b.position(session, ru, ceasefire, Stance.ACCEPTS, D + timedelta(days=2))
    b.position(session, ru, ceasefire, Stance.REJECTS, D + timedelta(days=4))  # back where it was
    grid = matrix.build_matrix(session, as_of=D + timedelta(days=10), since=D + timedelta(days=1))
    assert grid.has_changed(ua, ceasefire)
    assert not grid.has_changed(ru, ceasefire)
    assert len([c for c in grid.changes if c.party_id == ru.id]) == 2


def test_changes_respect_known_on(session: Session) -> None:
    us, nato = b.party(session), b.issue(session)
    b.position(session, us, nato, Stance.REJECTS, D)
    yesterday = date.today() - timedelta(days=1)
    assert (
        matrix.changes_between(session, since=D - timedelta(days=1), until=D, known_on=yesterday)
        == []
    )
    assert len(matrix.changes_between(session, since=D - timedelta(days=1), until=D)) == 1


def test_bloc_cell_says_split_when_members_differ(session: Session) -> None:
    eu = b.party(session, "bloc-eu", name="Europe", kind=PartyKind.BLOC)
    uk = b.party(session, "uk", name="United Kingdom", parent=eu)
    fr = b.party(session, "fr", name="France", parent=eu)
    de = b.party(session, "de", name="Germany", parent=eu)
    guarantees, nato = b.issue(session, "guarantees"), b.issue(session, "nato")
    b.position(session, uk, guarantees, Stance.ACCEPTS, D)
    b.position(session, fr, guarantees, Stance.REJECTS, D)
    b.position(session, uk, nato, Stance.ACCEPTS, D)
    b.position(session, de, nato, Stance.ACCEPTS, D)
    grid = matrix.build_matrix(session, as_of=D)
    split = grid.split(eu, guarantees)
    assert {(p.slug, stance) for p, stance in split} == {
        ("uk", Stance.ACCEPTS),
        ("fr", Stance.REJECTS),
    }
    assert grid.split(eu, nato) == []
    # The bloc itself has no position: its cell is a split, with no stance of its own.
    cell = grid.cell(eu, guarantees)
    assert cell is not None and (cell.state, cell.stance, cell.split) == ("split", None, True)
    agreed = grid.cell(eu, nato)  # members agree: no split, and no stance made up for the bloc
    assert agreed is None


def test_matrix_page_with_since_highlights_and_lists_changes(
    client: TestClient, seeded: Session
) -> None:
    for view in ("detailed", "compact"):
        query = {"as_of": "2025-04-23", "since": "2025-04-20", "view": view}
        html = client.get("/", params=query).text
        assert "Ukraine on Crimea recognition: Rejects, changed since 20 Apr 2025" in html
        unchanged = re.search(r'aria-label="United States on Crimea recognition: ([^"]*)"', html)
        assert unchanged and "changed" not in unchanged[1], view  # unchanged since 17 Apr
    assert "What changed between 20 Apr 2025 and 23 Apr 2025" in html
    assert "There is nothing to talk about" in html


def test_changes_page_lists_and_validates(client: TestClient, seeded: Session) -> None:
    page = client.get("/changes", params={"from": "2025-04-01", "to": "2025-04-30"})
    assert page.status_code == 200
    assert page.text.count('class="change"') >= 10
    fragment = client.get(
        "/changes",
        params={"from": "2025-04-21", "to": "2025-04-30"},
        headers={"HX-Request": "true"},
    )
    assert "<html" not in fragment.text and "Crimea recognition" in fragment.text
    assert (
        client.get("/changes", params={"from": "2025-05-01", "to": "2025-04-01"}).status_code == 400
    )
    assert client.get("/changes", params={"from": "soon"}).status_code == 400


def test_matrix_page_with_bloc_split(client: TestClient, session: Session) -> None:
    eu = b.party(session, "bloc2", name="Bloc Two", kind=PartyKind.BLOC)
    one = b.party(session, "m1", name="Member One", parent=eu)
    two = b.party(session, "m2", name="Member Two", parent=eu)
    issue = b.issue(session, "split-issue", title="Split issue")
    b.position(session, one, issue, Stance.ACCEPTS, D)
    b.position(session, two, issue, Stance.REJECTS, D)
    html = client.get("/", params={"as_of": D.isoformat()}).text
    assert "Bloc Two on Split issue: split" in html
    assert "M1 accepts" in html and "M2 rejects" in html
