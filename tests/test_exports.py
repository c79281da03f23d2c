"""CSV downloads: UTF-8 with a header row, filtered, safe against spreadsheet formulas."""

from __future__ import annotations

import csv
import io

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.models import Stance
from app.services.exports import neutralise
from tests import builders as b


def _rows(client: TestClient, url: str) -> list[dict[str, str]]:
    response = client.get(url)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))


def test_neutralise_formula_starts() -> None:
    for dangerous in ("=1+1", "+1", "-1", "@SUM(A1)", "\t=x", "\r=x"):
        assert neutralise(dangerous).startswith("'"), dangerous
    assert neutralise("plain") == "plain" and neutralise(None) == ""


def test_quotes_csv_follows_filters_and_neutralises_formulas(
    client: TestClient, session: Session
) -> None:
    party, issue = b.party(session, "csvp"), b.issue(session, "csvi")
    b.quote(session, party, issue, Stance.ACCEPTS, text='=HYPERLINK("http://evil.example","click")')
    b.quote(session, party, issue, Stance.REJECTS, text="Ordinary words, with a comma")
    other = b.party(session, "csvo")
    b.quote(session, other, issue, text="Someone else")
    rows = _rows(client, "/exports/quotes.csv?party=csvp")
    assert len(rows) == 2
    texts = {r["text"] for r in rows}
    assert '\'=HYPERLINK("http://evil.example","click")' in texts
    assert "Ordinary words, with a comma" in texts
    assert {r["party"] for r in rows} == {"csvp"}
    assert rows[0]["issues"].startswith("csvi:")


def test_positions_and_matrix_csv(client: TestClient, seeded: Session) -> None:
    positions = _rows(client, "/exports/positions.csv?party=ua")
    assert {(p["issue"], p["stance"]) for p in positions} == {
        ("crimea-recognition", "rejects"),
        ("ceasefire", "accepts"),
    }
    assert all(p["evidence_quote_ids"] for p in positions)
    matrix = _rows(client, "/exports/matrix.csv?as_of=2025-04-23")
    cells = {(r["party"], r["issue"]): r for r in matrix}
    assert cells[("ua", "crimea-recognition")]["stance"] == "rejects"
    assert cells[("eu", "ceasefire")]["stance"] == ""  # no recorded position
    assert client.get("/exports/matrix.csv?as_of=nope").status_code == 400
