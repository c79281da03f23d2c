"""The read-only JSON API beyond the matrix: lists, filters, pagination limits, JSON errors."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session


def test_parties_issues_speakers(client: TestClient, seeded: Session) -> None:
    parties = client.get("/api/v1/parties").json()
    assert [p["slug"] for p in parties][:4] == ["us", "ua", "ru", "eu"]
    assert {i["slug"] for i in client.get("/api/v1/issues").json()} >= {
        "crimea-recognition",
        "ceasefire",
    }
    listing = client.get("/api/v1/speakers").json()
    assert (listing["page"], listing["page_size"], listing["has_next"]) == (1, 50, False)
    speakers = {s["name"]: s for s in listing["items"]}
    assert speakers["Dmitry Peskov"]["party"] == "ru"


def test_speakers_api_pages_like_the_other_lists(client: TestClient, seeded: Session) -> None:
    every = client.get("/api/v1/speakers", params={"page_size": 100}).json()["items"]
    names = [s["name"] for s in every]
    assert len(names) >= 10 and names == sorted(names)
    collected: list[str] = []
    page = 1
    while True:
        body = client.get("/api/v1/speakers", params={"page_size": 4, "page": page}).json()
        assert (body["page"], body["page_size"]) == (page, 4) and 1 <= len(body["items"]) <= 4
        collected += [s["name"] for s in body["items"]]
        if not body["has_next"]:
            break
        page += 1
    assert collected == names and page == -(-len(names) // 4)


def test_quotes_api_filters_and_pages(client: TestClient, seeded: Session) -> None:
    first = client.get("/api/v1/quotes", params={"party": "ua", "page_size": 3}).json()
    assert len(first["items"]) == 3 and first["has_next"] and first["page"] == 1
    second = client.get("/api/v1/quotes", params={"party": "ua", "page_size": 3, "page": 2}).json()
    assert not {q["id"] for q in first["items"]} & {q["id"] for q in second["items"]}
    days = [q["said_on"] for q in first["items"] + second["items"]]
    assert days == sorted(days, reverse=True)
    found = client.get("/api/v1/quotes", params={"q": '"nothing to talk about"'}).json()["items"]
    assert len(found) == 1 and found[0]["speaker"] == "Volodymyr Zelenskyy"
    assert found[0]["source"]["url"].startswith("https://")
    assert found[0]["issues"] == [{"issue": "crimea-recognition", "stance": "rejects"}]


def test_positions_and_changes_api(client: TestClient, seeded: Session) -> None:
    positions = client.get("/api/v1/positions", params={"party": "us", "from": "2025-04-20"}).json()
    assert [p["issue"] for p in positions["items"]] == ["security-guarantees"]
    assert positions["items"][0]["evidence"]
    changes = client.get(
        "/api/v1/changes", params={"from": "2025-04-21", "to": "2025-04-23"}
    ).json()
    assert {(c["party"], c["issue"], c["new_stance"]) for c in changes} == {
        ("us", "security-guarantees", "accepts"),
        ("ua", "ceasefire", "accepts"),
        ("ua", "crimea-recognition", "rejects"),
    }


def test_matrix_api_since_flags_changed_cells(client: TestClient, seeded: Session) -> None:
    body = client.get(
        "/api/v1/matrix", params={"as_of": "2025-04-23", "since": "2025-04-20"}
    ).json()
    changed = {(c["party"], c["issue"]) for c in body["cells"] if c["changed"]}
    assert changed == {
        ("ua", "crimea-recognition"),
        ("ua", "ceasefire"),
        ("us", "security-guarantees"),
    }


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/v1/quotes?page_size=101", "page_size"),
        ("/api/v1/quotes?page_size=0", "page_size"),
        ("/api/v1/quotes?page=0", "page"),
        ("/api/v1/quotes?page=abc", "page"),
        ("/api/v1/quotes?status=lost", "status"),
        ("/api/v1/quotes?from=2025-99-01", "from"),
        ("/api/v1/positions?to=yesterday", "to"),
        ("/api/v1/sources?page_size=1000", "page_size"),
        ("/api/v1/speakers?page_size=101", "page_size"),
        ("/api/v1/speakers?page=0", "page"),
        ("/api/v1/speakers?page=abc", "page"),
        ("/api/v1/changes?from=2025-05-01&to=2025-04-01", "from"),
        ("/api/v1/matrix?as_of=2025-04-23&since=2025-04-24", "since"),
    ],
)
def test_bad_parameters_are_400_json(
    client: TestClient, seeded: Session, url: str, field: str
) -> None:
    response = client.get(url)
    assert response.status_code == 400, url
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["field"] == field


def test_unknown_party_filter_is_404_json(client: TestClient, seeded: Session) -> None:
    response = client.get("/api/v1/positions", params={"party": "atlantis"})
    assert response.status_code == 404 and response.json()["error"] == "Not found"


def test_openapi_documents_every_endpoint(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in (
        "parties",
        "issues",
        "speakers",
        "sources",
        "quotes",
        "positions",
        "matrix",
        "changes",
    ):
        assert f"/api/v1/{path}" in paths


def _follow(client: TestClient, params: dict[str, str | int]) -> list[dict[str, object]]:
    """Every page from the first by the `next` links; checks each page's own fields."""
    body = client.get("/api/v1/quotes", params=params).json()
    pages = [body]
    while body["next"] is not None:
        assert body["has_next"] and body["next_after"] in body["next"]
        assert "page=" not in body["next"].replace("page_size=", "")
        body = client.get(body["next"]).json()
        assert body["page"] is None and body["page_size"] == params["page_size"]
        pages.append(body)
    assert not pages[-1]["has_next"] and pages[-1]["next_after"] is None
    return [item for page in pages for item in page["items"]]


@pytest.mark.parametrize(
    "filters",
    [
        {},
        {"party": "ua"},
        {"issue": "crimea-recognition"},
        {"issue": "ceasefire", "party": "ua", "stance": "accepts"},
        {"issue": "ceasefire", "from": "2025-04-01", "to": "2025-04-22"},
        {"stance": "accepts"},
        {"q": "ceasefire", "sort": "date"},
        {"q": "ceasefire"},  # best match first: the cursor counts into the ranked part
    ],
)
def test_quotes_api_next_links_walk_the_same_list_as_pages(
    client: TestClient, seeded: Session, filters: dict[str, str]
) -> None:
    by_cursor = _follow(client, {**filters, "page_size": 2})
    by_page = client.get("/api/v1/quotes", params={**filters, "page_size": 100}).json()["items"]
    assert by_cursor, filters
    assert [q["id"] for q in by_cursor] == [q["id"] for q in by_page]
    if filters.get("sort") == "date" or "q" not in filters:
        keys = [(q["said_on"], q["id"]) for q in by_cursor]
        assert keys == sorted(keys, reverse=True)
    if "issue" in filters:
        assert all(filters["issue"] in {t["issue"] for t in q["issues"]} for q in by_cursor)


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/v1/quotes?after=not-a-cursor", "after"),
        ("/api/v1/quotes?after=cjk5OTk5", "after"),  # "r99999": past the ranked part
        ("/api/v1/quotes?after=ZDIwMjUtMDQtMjA6MQ&page=2", "after"),  # a cursor and a page
    ],
)
def test_a_bad_cursor_is_a_400(client: TestClient, seeded: Session, url: str, field: str) -> None:
    response = client.get(url)
    assert response.status_code == 400 and response.json()["field"] == field
