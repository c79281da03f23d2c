"""The briefing of a year of talks (tests/fixtures/year_2025.yaml, imported as `peacetalks
import` does) at the sizes an adviser meets: 12 parties by 15 issues on one landscape page, and
beyond that the matrix split by columns, the party column on every page. Read from the PDF."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pypdf import PageObject, PdfReader
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from app.services import transfer
from tests import builders as b
from tests.test_briefing import pdf_pages
from tests.test_briefing_compose import app_on

YEAR = Path(__file__).parent / "fixtures" / "year_2025.yaml"


@pytest.fixture(scope="module")
def year(engine: Engine) -> Iterator[TestClient]:
    with engine.connect() as conn:
        outer = conn.begin()
        session = Session(
            bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False
        )
        transfer.import_file(session, YEAR)
        b.issue(session, "extra-term", title="Extra term")  # 14 issues and one more: 15
        for n in range(8):
            b.issue(session, f"later-{n}", title=f"Later term {n}")
        session.commit()
        with app_on(session) as client:
            yield client
        session.close()
        outer.rollback()


def _landscape(pdf: bytes) -> list[int]:
    pages = PdfReader(io.BytesIO(pdf)).pages
    return [n for n, page in enumerate(pages) if page.mediabox.width > page.mediabox.height]


def test_a_year_at_twelve_parties_by_fifteen_issues_fits_one_landscape_page(
    year: TestClient,
) -> None:
    issues = [i for i in year.get("/api/v1/issues").json() if not i["slug"].startswith("later-")]
    assert len(issues) == 15
    query = f"as_of=2025-12-15&since=2025-11-01&issues={','.join(i['slug'] for i in issues)}"
    response = year.get(f"/briefing.pdf?{query}")
    assert response.status_code == 200
    landscape = _landscape(response.content)
    assert len(landscape) == 1
    page = pdf_pages(response.content)[landscape[0]]
    for name in ("United States", "Ukraine", "Russia", "Europe", "Hungary"):
        assert name in page
    assert "Extra term" in page and "Agreement" in page


def test_more_issues_split_by_columns_with_the_party_column_on_each_page(
    year: TestClient,
) -> None:
    response = year.get("/briefing.pdf?as_of=2025-12-15&omit=issues,summary")
    landscape = _landscape(response.content)
    assert len(landscape) == 2  # 23 issues: two tables of 12 and 11 columns
    assert landscape[1] == landscape[0] + 1
    pages = pdf_pages(response.content)
    for n in landscape:
        assert "Party" in pages[n] and "United States" in pages[n] and "Agreement" in pages[n]
    first, second = (pages[n] for n in landscape)
    assert ("Later term 7" in first) != ("Later term 7" in second)
    assert ("Extra term" in first) != ("Extra term" in second)


def _filled(page: PageObject) -> float:
    """How far down the page its body text reaches, as a share of the page's height (the running
    header and footer, in the margins, are not counted)."""
    height = float(page.mediabox.height)
    margin = 20 * 72 / 25.4  # the narrowest page margin, 20 mm, in points
    lows: list[float] = []

    def seen(text: str, cm: list[float], tm: list[float], *_: object) -> None:
        y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
        if text.strip() and margin < y < height - margin:
            lows.append(y)

    page.extract_text(visitor_text=seen)
    return (height - min(lows)) / height if lows else 0.0


def test_no_half_empty_page_before_the_landscape_matrix(year: TestClient) -> None:
    # The matrix is printed after page 1 and the text flows on around it: "What changed" used to
    # stop half way down page 3, before the matrix's page of another size.
    issues = [i for i in year.get("/api/v1/issues").json() if not i["slug"].startswith("later-")]
    query = f"as_of=2025-12-15&since=2025-11-01&issues={','.join(i['slug'] for i in issues)}"
    response = year.get(f"/briefing.pdf?{query}")
    assert response.status_code == 200
    assert _landscape(response.content) == [1]
    pages = PdfReader(io.BytesIO(response.content)).pages
    texts = pdf_pages(response.content)
    assert "Page 2 of" in texts[1] and "Who accepts what" in texts[1]
    assert "The matrix 2 ·" in texts[0]
    portrait = [n for n in range(len(pages) - 1) if n != 1]
    filled = {n + 1: round(_filled(pages[n]), 2) for n in portrait}
    assert min(filled.values()) > 0.6, filled
    for number, text in enumerate(texts, start=1):
        assert f"Page {number} of {len(texts)}" in text
