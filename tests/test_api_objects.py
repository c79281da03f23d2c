"""The API's single objects (a party, an issue, a cell, a comparison, a speaker): the same data
as their pages, JSON errors for unknown slugs and bad parameters, documented in OpenAPI."""

from __future__ import annotations

from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import PartyKind, QuoteStatus, Speaker, Stance
from tests import builders
from tests.html_reader import parse, row_headed_by

OBJECTS = [
    "/api/v1/parties/{party}",
    "/api/v1/issues/{issue}",
    "/api/v1/cells/{party}/{issue}",
    "/api/v1/speakers/{speaker}",
]


def _zelenskyy(session: Session) -> Speaker:
    speaker = session.scalar(select(Speaker).where(Speaker.name == "Volodymyr Zelenskyy"))
    assert speaker is not None
    return speaker


def test_party_object_holds_its_stances_history_and_quotes(
    client: TestClient, seeded: Session
) -> None:
    body = client.get("/api/v1/parties/ua", params={"as_of": "2025-04-23"}).json()
    listed = next(p for p in client.get("/api/v1/parties").json() if p["slug"] == "ua")
    assert {k: body[k] for k in listed} == listed  # the list's fields, then the page's data
    assert body["as_of"] == "2025-04-23"
    cells = {c["issue"]: c for c in body["cells"]}
    assert cells["crimea-recognition"]["stance"] == "rejects"
    assert cells["crimea-recognition"]["confirmation"] == "confirmed"
    assert all(c["party"] == "ua" for c in body["cells"])
    assert body["positions"] and all(p["party"] == "ua" for p in body["positions"])
    assert body["quotes"] and all(q["party"] == "ua" for q in body["quotes"])
    before = client.get("/api/v1/parties/ua", params={"as_of": "2025-01-01"}).json()
    assert before["cells"] == [] and before["positions"] == []


def test_bloc_object_lists_members_and_a_split_cell(client: TestClient, session: Session) -> None:
    bloc = builders.party(session, kind=PartyKind.BLOC)
    one, two = builders.party(session, parent=bloc), builders.party(session, parent=bloc)
    issue = builders.issue(session)
    builders.position(session, one, issue, Stance.ACCEPTS, date(2025, 3, 1))
    builders.position(session, two, issue, Stance.REJECTS, date(2025, 3, 1))
    body = client.get(f"/api/v1/parties/{bloc.slug}", params={"as_of": "2025-04-01"}).json()
    assert body["members"] == [one.slug, two.slug]
    (cell,) = body["cells"]
    assert cell["state"] == "split" and cell["stance"] is None
    assert cell["members"] == {one.slug: "accepts", two.slug: "rejects"}
    same = client.get(f"/api/v1/cells/{bloc.slug}/{issue.slug}", params={"as_of": "2025-04-01"})
    assert same.json()["state"] == "split"
    assert same.json()["members"] == cell["members"]


def test_issue_object_holds_each_partys_stance(client: TestClient, seeded: Session) -> None:
    body = client.get("/api/v1/issues/crimea-recognition", params={"as_of": "2025-04-23"}).json()
    assert body["slug"] == "crimea-recognition" and body["proposition"]
    cells = {c["party"]: c for c in body["cells"]}
    assert cells["ua"]["stance"] == "rejects"
    assert cells["us"]["confirmation"] == "unconfirmed"
    assert all(p["issue"] == "crimea-recognition" for p in body["positions"])


def test_cell_object_is_the_matrix_cell(client: TestClient, seeded: Session) -> None:
    params = {"as_of": "2025-04-23"}
    matrix = client.get("/api/v1/matrix", params=params).json()
    in_matrix = next(
        c for c in matrix["cells"] if (c["party"], c["issue"]) == ("ru", "occupied-territories")
    )
    body = client.get("/api/v1/cells/ru/occupied-territories", params=params).json()
    assert {k: body[k] for k in in_matrix} == in_matrix
    assert body["confirmation"] == "denied"
    assert body["as_of"] == "2025-04-23" and body["known_on"] is None
    cited = {q for p in body["positions"] for q in p["evidence"]}
    assert cited and cited <= {q["id"] for q in body["quotes"]}


def test_cell_object_as_we_knew_it_and_before_anything(client: TestClient, seeded: Session) -> None:
    known = client.get(
        "/api/v1/cells/ua/crimea-recognition",
        params={"as_of": "2025-04-23", "known_on": "2025-04-22"},
    ).json()
    assert known["state"] == "none" and known["stance"] is None and known["positions"] == []
    assert known["known_on"] == "2025-04-22"
    now = client.get("/api/v1/cells/ua/crimea-recognition", params={"as_of": "2025-04-23"})
    assert now.json()["state"] == "position"


def test_a_cell_of_quotes_alone_is_not_assessed(client: TestClient, session: Session) -> None:
    party, issue = builders.party(session), builders.issue(session)
    builders.quote(session, party, issue, said_on=date(2025, 3, 1), status=QuoteStatus.REPORTED)
    body = client.get(f"/api/v1/cells/{party.slug}/{issue.slug}?as_of=2025-04-01").json()
    assert body["state"] == "not_assessed" and body["unassessed_quotes"] == 1
    assert len(body["quotes"]) == 1


def test_compare_object_matches_the_page(client: TestClient, seeded: Session) -> None:
    params = {"parties": "us,ua,ru", "as_of": "2025-04-23"}
    body = client.get("/api/v1/compare", params=params).json()
    assert body["parties"] == ["us", "ua", "ru"]
    page = client.get("/compare", params=params).text
    assert body["summary"] in page
    assert sum(body["counts"].values()) == len(body["issues"])
    for row in body["issues"]:  # each verdict and reason as the page's row shows it
        shown = row_headed_by(parse(page), f"/issues/{row['issue']}")
        assert shown.has_class(f"verdict-{row['verdict']}")
        assert row["reason"] in shown.text()
        assert {c["party"] for c in row["cells"]} <= {"us", "ua", "ru"}
    crimea = next(i for i in body["issues"] if i["issue"] == "crimea-recognition")
    assert {c["party"]: c["stance"] for c in crimea["cells"]}["ua"] == "rejects"
    assert set(crimea["latest_quotes"]) == {"us", "ua"}
    only = client.get("/api/v1/compare", params={**params, "only": "differences"}).json()
    assert only["only_differences"] is True
    assert {i["verdict"] for i in only["issues"]} <= {"differ", "unclear"}
    assert len(only["issues"]) == body["counts"]["differ"] + body["counts"]["unclear"]
    older = client.get("/api/v1/compare", params={"a": "us", "b": "ua"}).json()
    assert older["parties"] == ["us", "ua"]


def test_speaker_object_lists_quotes_by_issue(client: TestClient, seeded: Session) -> None:
    speaker = _zelenskyy(seeded)
    body = client.get(f"/api/v1/speakers/{speaker.id}").json()
    assert body["name"] == "Volodymyr Zelenskyy" and body["role"] == "President of Ukraine"
    assert body["party"] == "ua" and body["party_name"] == "Ukraine"
    assert body["quote_count"] == len(body["quotes"]) >= 2
    said = [q["said_on"] for q in body["quotes"]]
    assert said == sorted(said, reverse=True)
    assert all(q["speaker"] == "Volodymyr Zelenskyy" for q in body["quotes"])
    by_issue = {i["issue"]: i["quotes"] for i in body["issues"]}
    tagged = {(t["issue"], q["id"]) for q in body["quotes"] for t in q["issues"]}
    assert {(i, q) for i, ids in by_issue.items() for q in ids} == tagged


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/parties/atlantis",
        "/api/v1/issues/atlantis",
        "/api/v1/cells/atlantis/crimea-recognition",
        "/api/v1/cells/ua/atlantis",
        "/api/v1/speakers/999999",
        "/api/v1/speakers/zelenskyy",
        "/api/v1/speakers/99999999999999999999",
        "/api/v1/speakers/١٢",
        "/api/v1/compare?parties=us,atlantis",
    ],
)
def test_unknown_objects_are_json_404(client: TestClient, seeded: Session, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["error"] == "Not found"


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/api/v1/parties/ua?as_of=23/04/2025", "as_of"),
        ("/api/v1/issues/ceasefire?as_of=2025-02-30", "as_of"),
        ("/api/v1/cells/ua/ceasefire?known_on=yesterday", "known_on"),
        ("/api/v1/compare?parties=us", "parties"),
        ("/api/v1/compare?parties=us,us", "parties"),
        ("/api/v1/compare?parties=us,ua&only=agreements", "only"),
        ("/api/v1/compare?parties=us,ua,ru,eu,uk,fr,de,us-x,ua-x", "parties"),
    ],
)
def test_bad_parameters_are_json_400(
    client: TestClient, seeded: Session, path: str, field: str
) -> None:
    response = client.get(path)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["field"] == field


def test_openapi_documents_every_object(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in [
        "/api/v1/parties/{slug}",
        "/api/v1/issues/{slug}",
        "/api/v1/cells/{party}/{issue}",
        "/api/v1/compare",
        "/api/v1/speakers/{speaker_id}",
    ]:
        operation = paths[path]["get"]
        assert operation["summary"], path
        assert {"200", "400", "404"} <= set(operation["responses"]), path
