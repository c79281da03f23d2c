"""The document and round pages over real HTTP: paste → split → tag → save, a version and its
comparison, a reaction, the rounds, a round as `since`, the JSON API, and no N+1 on a document."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.models import PointRelation
from app.services import documents
from tests.auth_helpers import login, make_user
from tests.conftest import StatementCounter, csrf_token
from tests.html_reader import parse


def text_of(html: str) -> str:
    """The words a reader sees on the page."""
    return parse(html).text()


PLAN = "\n".join(
    ["Peace framework (draft)"]
    + [f"{n}. Provision number {n} of the framework, as printed." for n in range(1, 6)]
    + ["6. The Armed Forces of Ukraine are limited to 600,000 personnel."]
    + ["7. Ukraine will not join NATO."]
)


@pytest.fixture
def editor(client: TestClient, seeded: Session) -> TestClient:
    make_user(seeded, "editor@example.org")
    login(client, "editor@example.org")
    return client


def _form(client: TestClient, **fields: str) -> dict[str, str]:
    return {
        "csrf_token": csrf_token(client, "/documents/new"),
        "title": "US 28-point plan", "slug": "us-plan-28", "kind": "plan", "status": "leaked",
        "confirmation": "reported", "tabled_on": "2025-11-20", "language": "en",
        "party_us": "authoring",
        "source_url": "https://peacetalks.invalid/seeds/000_f42f69482efc36bc",
        "text": PLAN, **fields,
    }  # fmt: skip


def _split(client: TestClient, **fields: str) -> dict[str, str]:
    """Split the text as the form does and return the fields it comes back with."""
    response = client.post("/documents/new", data={**_form(client, **fields), "action": "split"})
    assert response.status_code == 200, response.text
    found = dict(re.findall(r'name="((?:label|text)_\d+)"[^>]*value="([^"]*)"', response.text))
    found.update(
        re.findall(
            r'<textarea id="(text_\d+)" name="text_\d+"[^>]*>([^<]*)</textarea>', response.text
        )
    )
    return found


def test_paste_split_correct_tag_and_save_a_document(editor: TestClient, seeded: Session) -> None:
    points = _split(editor)
    assert points["label_1"] == "Preamble" and points["label_8"] == "7"
    form = {**_form(editor), **points, "action": "save", "drop_1": "on",
            "issue_8_1": "nato-membership", "stance_8_1": "rejects",
            "label_7": "6", "text_7": "The Armed Forces of Ukraine are limited to 600,000 personnel."}  # fmt: skip
    response = editor.post("/documents/new", data=form, follow_redirects=False)
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/documents/us-plan-28"
    plan = documents.get_document(seeded, slug="us-plan-28")
    assert [p.label for p in plan.points] == ["1", "2", "3", "4", "5", "6", "7"]
    assert [(t.issue.slug, t.stance.value) for t in plan.points[6].quote.issue_tags] == [
        ("nato-membership", "rejects")
    ]
    page = editor.get("/documents/us-plan-28")
    assert "Ukraine will not join NATO." in page.text and "NATO membership: rejects" in text_of(
        page.text
    )


def test_a_bad_document_form_shows_errors_beside_the_fields(editor: TestClient) -> None:
    points = _split(editor)
    form = {**_form(editor, slug="Bad Slug", party_us=""), **points, "action": "save",
            "text_3": "", "issue_2_1": "nato-membership"}  # fmt: skip
    response = editor.post("/documents/new", data=form)
    assert response.status_code == 422
    for name in ("slug", "authors", "text_3", "stance_2_1"):
        assert f'id="{name}-error"' in response.text, name


def test_a_revision_is_mapped_and_compared_word_by_word(
    editor: TestClient, seeded: Session
) -> None:
    points = _split(editor)
    editor.post("/documents/new", data={**_form(editor), **points, "action": "save"})
    prefilled = editor.get("/documents/new?from=us-plan-28")
    assert 'value="us-plan-28"' in prefilled.text
    revised = PLAN.replace("600,000", "800,000").replace("7. Ukraine will not join NATO.\n", "")
    revised = revised.replace("7. Ukraine will not join NATO.", "7. An amnesty applies to all.")
    points = _split(editor, text=revised, slug="us-plan-19", derived_from="us-plan-28")
    response = editor.post(
        "/documents/new",
        data={
            **_form(editor, slug="us-plan-19", derived_from="us-plan-28", text=revised),
            **points,
            "action": "save",
        },  # fmt: skip
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    new = documents.get_document(seeded, slug="us-plan-19")
    old = documents.get_document(seeded, slug="us-plan-28")
    line = documents.lineage(seeded, document=new, predecessor=old)
    assert line.relation[new.points[6].id] == PointRelation.CHANGED  # point 6
    assert line.relation[new.points[7].id] == PointRelation.NEW  # the amnesty
    assert [p.label for p in line.removed] == ["7"]
    page = text_of(editor.get("/documents/us-plan-28/compare/us-plan-19").text)
    assert "600,000 → 800,000" in page
    assert "removed" in page and "new" in page
    assert "Removed from US 28-point plan" in text_of(editor.get("/documents/us-plan-19").text)


def test_a_reaction_to_a_point_shows_on_the_document(editor: TestClient, seeded: Session) -> None:
    plan = documents.get_document(seeded, slug="us-proposal-paris-2025-04")
    page = text_of(editor.get("/documents/us-proposal-paris-2025-04").text)
    assert "Ukraine" in page and "rejects" in page.lower()
    quote_id = re.search(r'<option value="(\d+)">#\d+ 2025-04-23 US: The US expected', editor.get(
        "/documents/us-proposal-paris-2025-04").text)  # fmt: skip
    assert quote_id is not None
    response = editor.post(
        "/documents/us-proposal-paris-2025-04/reactions",
        data={
            "csrf_token": csrf_token(editor, "/documents"),
            "quote_id": quote_id.group(1),
            "point_id": str(plan.points[6].id),
            "stance": "accepts",
        },  # fmt: skip
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    reactions = documents.reactions(seeded, document=plan)
    assert [r.quote_id for r in reactions.by_point[plan.points[6].id]] == [int(quote_id.group(1))]
    again = editor.post(
        "/documents/us-proposal-paris-2025-04/reactions",
        data={
            "csrf_token": csrf_token(editor, "/documents"),
            "quote_id": quote_id.group(1),
            "point_id": str(plan.points[6].id),
        },  # fmt: skip
    )
    assert again.status_code == 422 and "already recorded" in again.text


def test_anonymous_readers_see_documents_and_rounds_but_cannot_write(
    client: TestClient, seeded: Session
) -> None:
    listing = text_of(client.get("/documents").text)
    assert "US peace proposal presented in Paris" in listing
    rounds = text_of(client.get("/rounds").text)
    assert "Paris meeting" in rounds and "London talks" in rounds and "Rubio cancelled" in rounds
    assert "US peace proposal presented in Paris" in rounds
    london = text_of(client.get("/rounds/london-2025-04-23").text)
    assert "Andriy Yermak" in london
    assert client.get("/documents/new", follow_redirects=False).status_code in {303, 401, 403}
    assert client.get("/documents/nothing-here").status_code == 404


def test_a_round_is_a_since_value_on_the_changes_page_and_the_matrix(
    client: TestClient, seeded: Session
) -> None:
    page = client.get("/changes?from=round:paris-2025-04-17&to=2025-04-30")
    assert page.status_code == 200
    assert "Since the Paris meeting (17 Apr 2025)" in text_of(page.text)
    matrix = client.get("/?since=round:london-2025-04-23&as_of=2025-04-30")
    assert matrix.status_code == 200 and "changes since 22 Apr 2025" in text_of(matrix.text)
    api = client.get("/api/v1/matrix?since=round:london-2025-04-23&as_of=2025-04-30").json()
    assert api["since"] == "2025-04-22"
    bad = client.get("/changes?from=round:nowhere")
    assert bad.status_code == 400 and "no round" in bad.text


def test_api_lists_documents_a_document_and_rounds(client: TestClient, seeded: Session) -> None:
    listed = client.get("/api/v1/documents").json()
    assert [d["slug"] for d in listed] == ["us-proposal-paris-2025-04"]
    assert listed[0]["points"] == 8 and listed[0]["parties"] == {"us": "authoring"}
    one = client.get("/api/v1/documents/us-proposal-paris-2025-04").json()
    assert one["point_list"][2]["issues"] == {"nato-membership": "rejects"}
    assert client.get("/api/v1/documents/none").status_code == 404
    rounds = client.get("/api/v1/rounds").json()
    assert [r["slug"] for r in rounds] == ["paris-2025-04-17", "london-2025-04-23"]


def test_round_form_records_a_round(editor: TestClient, seeded: Session) -> None:
    form = {"csrf_token": csrf_token(editor, "/rounds/new"), "name": "Geneva talks",
            "slug": "geneva-2025-11", "starts_on": "2025-11-23", "format": "bilateral",
            "party_us": "on", "delegation_us": "Rubio, Witkoff", "party_ua": "on",
            "document_us-proposal-paris-2025-04": "on"}  # fmt: skip
    response = editor.post("/rounds/new", data=form, follow_redirects=False)
    assert response.status_code == 303, response.text
    page = text_of(editor.get("/rounds/geneva-2025-11").text)
    assert "Rubio, Witkoff" in page and "US peace proposal presented in Paris" in page
    bad = editor.post(
        "/rounds/new", data={**form, "slug": "geneva-2025-11", "ends_on": "2025-11-01"}
    )
    assert bad.status_code == 422
    assert 'id="slug-error"' in bad.text and 'id="ends_on-error"' in bad.text


def test_a_document_page_reads_a_fixed_number_of_statements(
    editor: TestClient, seeded: Session, count_statements: StatementCounter
) -> None:
    def statements(slug: str) -> int:
        count_statements.statements.clear()
        assert editor.get(f"/documents/{slug}").status_code == 200
        return count_statements.count

    points = _split(editor)
    editor.post("/documents/new", data={**_form(editor), **points, "action": "save"})
    long = "\n".join(f"{n}. Provision {n} says something else entirely." for n in range(1, 41))
    points = _split(editor, text=long, slug="long-plan")
    editor.post("/documents/new", data={**_form(editor, slug="long-plan", text=long), **points,
                                        "action": "save"})  # fmt: skip
    assert statements("us-plan-28") == statements("long-plan")
    count_statements.statements.clear()
    editor.get("/documents/us-plan-28/compare/long-plan")
    few = count_statements.count
    count_statements.statements.clear()
    editor.get("/documents/long-plan/compare/us-plan-28")
    assert count_statements.count == few


def test_status_change_carries_the_confirmation_to_every_point(
    editor: TestClient, seeded: Session
) -> None:
    plan = documents.get_document(seeded, slug="us-proposal-paris-2025-04")
    form = {"csrf_token": csrf_token(editor, "/documents"), "status": "superseded",
            "confirmation": "denied", "version": str(plan.version)}  # fmt: skip
    response = editor.post(
        "/documents/us-proposal-paris-2025-04/status", data=form, follow_redirects=False
    )
    assert response.status_code == 303, response.text
    plan = documents.get_document(seeded, slug="us-proposal-paris-2025-04")
    assert plan.status.value == "superseded"
    assert {p.quote.status.value for p in plan.points} == {"denied"}
    stale = editor.post("/documents/us-proposal-paris-2025-04/status", data=form)
    assert stale.status_code == 409


def test_an_editor_corrects_a_mapping(editor: TestClient, seeded: Session) -> None:
    points = _split(editor)
    editor.post("/documents/new", data={**_form(editor), **points, "action": "save"})
    merged = PLAN.replace("7. Ukraine will not join NATO.", "")
    points = _split(editor, text=merged, slug="v2", derived_from="us-plan-28")
    editor.post("/documents/new", data={**_form(editor, slug="v2", derived_from="us-plan-28",
                                                text=merged), **points, "action": "save"})  # fmt: skip
    form = {"csrf_token": csrf_token(editor, "/documents"), "point": "6", "maps_to": "6, 7",
            "relation": "merged"}  # fmt: skip
    response = editor.post("/documents/v2/mapping", data=form, follow_redirects=False)
    assert response.status_code == 303, response.text
    new = documents.get_document(seeded, slug="v2")
    old = documents.get_document(seeded, slug="us-plan-28")
    line = documents.lineage(seeded, document=new, predecessor=old)
    assert line.removed == [] and line.relation[new.points[6].id] == PointRelation.MERGED
    bad = editor.post("/documents/v2/mapping", data={**form, "maps_to": "99"})
    assert bad.status_code == 422 and 'id="mapping_maps_to-error"' in bad.text


def test_party_and_issue_pages_list_the_texts(client: TestClient, seeded: Session) -> None:
    party = text_of(client.get("/parties/us").text)
    assert "US peace proposal presented in Paris (author; plan, tabled 17 Apr 2025" in party
    issue = text_of(client.get("/issues/nato-membership").text)
    assert "US peace proposal presented in Paris, point 3" in issue and "Rejects" in issue
    assert "No document of this party" in text_of(client.get("/parties/ru").text)
