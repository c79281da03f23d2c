"""The JSON twin of the matrix."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session


def test_matrix_api_shape_and_seeded_cells(client: TestClient, seeded: Session) -> None:
    response = client.get("/api/v1/matrix", params={"as_of": "2025-04-23"})
    assert response.status_code == 200
    body = response.json()
    assert body["as_of"] == "2025-04-23"
    assert [p["slug"] for p in body["parties"]][:4] == ["us", "ua", "ru", "eu"]
    assert {"slug", "name", "parent"} <= set(body["parties"][0])
    assert {"slug", "title", "proposition"} <= set(body["issues"][0])
    cells = {(c["party"], c["issue"]): c for c in body["cells"]}
    ua_crimea = cells[("ua", "crimea-recognition")]
    assert ua_crimea["stance"] == "rejects"
    assert ua_crimea["confirmation"] == "confirmed"
    assert ua_crimea["effective_from"] == "2025-04-22"
    assert ua_crimea["evidence_count"] >= 1
    assert ua_crimea["latest_evidence_on"] == "2025-04-22"
    assert cells[("us", "crimea-recognition")]["confirmation"] == "unconfirmed"
    assert cells[("ru", "occupied-territories")]["confirmation"] == "denied"
    assert not any(c["party"] == "eu" for c in body["cells"])  # absent means no position


def test_matrix_api_before_any_position_has_no_cells(client: TestClient, seeded: Session) -> None:
    body = client.get("/api/v1/matrix", params={"as_of": "2025-01-01"}).json()
    assert body["cells"] == []
    assert len(body["parties"]) >= 4


@pytest.mark.parametrize("param", ["as_of", "known_on"])
def test_matrix_api_malformed_date_is_400_json(
    client: TestClient, seeded: Session, param: str
) -> None:
    response = client.get("/api/v1/matrix", params={param: "23/04/2025"})
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["field"] == param
    assert "YYYY-MM-DD" in body["detail"]


def test_unknown_api_path_is_json_404(client: TestClient) -> None:
    response = client.get("/api/v1/parties/atlantis")
    assert response.status_code == 404
    assert response.json()["error"] == "Not found"


def test_openapi_documents_the_matrix(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert "/api/v1/matrix" in schema["paths"]
