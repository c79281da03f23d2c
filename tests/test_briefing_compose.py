"""The briefing as an adviser hands it over: the bottom line on page 1, each thing said once, the
matrix on landscape pages, the public address in its links, a tagged PDF, the compose form and
the same link rendered once. Every check reads the real PDF bytes back (pypdf).

A small world with known answers: two parties and three issues, as of 30 Jun 2025 with changes
since 1 Jun 2025 —
- Harbour access: Alpha accepts (since 1 Apr, confirmed), Beta accepts on a condition: converge;
- Border line: Alpha accepts, Beta rejects (only reported): furthest apart, and unconfirmed;
- Truce: Alpha rejected from 1 Mar and accepts from 10 Jun (the one change, and the one issue
  with a history to chart); Beta has no position.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader
from pypdf.generic import DictionaryObject
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from app.config import get_settings
from app.models import QuoteStatus, Stance
from tests import builders as b
from tests.test_briefing import client_for, pdf_pages

FIXED_NOW = datetime(2025, 7, 1, 9, 0, tzinfo=UTC)
CHOICE = "parties=alpha,beta&issues=harbour,border,truce"
VIEW = f"as_of=2025-06-30&since=2025-06-01&{CHOICE}"


def app_on(session: Session) -> TestClient:
    """The real app on this session, generating on 1 Jul 2025."""
    return client_for(session, FIXED_NOW)


@dataclass
class Small:
    session: Session
    client: TestClient
    pdf: bytes
    pages: list[str]


@pytest.fixture(scope="module")
def small(engine: Engine) -> Iterator[Small]:
    with engine.connect() as conn:
        outer = conn.begin()
        session = Session(
            bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False
        )
        alpha = b.party(session, "alpha", name="Alpha Republic")
        beta = b.party(session, "beta", name="Beta Kingdom")
        harbour = b.issue(session, "harbour", title="Harbour access")
        border = b.issue(session, "border", title="Border line")
        truce = b.issue(session, "truce", title="Truce first")
        b.position(session, alpha, harbour, Stance.ACCEPTS, date(2025, 4, 1))
        b.position(session, beta, harbour, Stance.CONDITIONAL, date(2025, 5, 2), condition="tolls")
        b.position(session, alpha, border, Stance.ACCEPTS, date(2025, 5, 3))
        b.position(
            session, beta, border, Stance.REJECTS, date(2025, 5, 4), status=QuoteStatus.REPORTED
        )
        b.position(session, alpha, truce, Stance.REJECTS, date(2025, 3, 1))
        b.position(session, alpha, truce, Stance.ACCEPTS, date(2025, 6, 10))
        session.flush()
        with app_on(session) as client:
            response = client.get(f"/briefing.pdf?{VIEW}")
            assert response.status_code == 200, response.text
            yield Small(session, client, response.content, pdf_pages(response.content))
        session.close()
        outer.rollback()


def test_page_one_is_the_bottom_line_with_each_statement_cited(small: Small) -> None:
    first = small.pages[0]
    assert "Bottom line" in first
    summary = first[first.index("Bottom line WHAT CHANGED") :]
    assert re.search(
        r"WHAT CHANGED SINCE 1 JUN 2025 10 Jun 2025 · Alpha Republic on Truce first: "
        r"rejects → accepts \[\d+\] WHERE THEY CONVERGE",
        summary,
    ), summary
    assert re.search(
        r"Harbour access: every party accepts — ALPHA \[\d+\], BETA \(on a condition\) \[\d+\]",
        summary,
    )
    assert re.search(r"Border line: ALPHA \[\d+\] accepts; BETA \[\d+\] rejects", summary)
    assert re.search(
        r"Beta Kingdom on Border line: rejects, only reported, not confirmed \[\d+\]", summary
    )
    assert re.search(r"Freshest: Alpha Republic on Truce first, 10 Jun 2025 \[\d+\]", summary)
    assert re.search(
        r"Stalest: Alpha Republic on Harbour access, 1 Apr 2025 \(90 days before 30 Jun 2025\) \[\d+\]; 1 stance rests on evidence older than 60 days",
        summary,
    )
    # Truce is not a meeting point (Beta has no stance) nor apart (nobody rejects it now).
    assert "Truce first: every party" not in summary and "Truce first: ALPHA" not in summary


def test_summary_links_go_to_the_issue_sections_and_citations_to_the_sources(
    small: Small,
) -> None:
    html = small.client.get(f"/briefing?{VIEW}").text
    summary = html[
        html.index('id="summary"') : html.index("</section>", html.index('id="summary"'))
    ]
    for slug in ("harbour", "border", "truce"):
        assert f'href="#issue-{slug}"' in summary
        assert f'id="issue-{slug}"' in html
    cited = set(re.findall(r'href="#source-(\d+)"', summary))
    assert cited and all(f'id="source-{n}"' in html for n in cited)


def test_the_editor_lead_is_printed_under_the_title(small: Small) -> None:
    lead = "Read this first.\n\nThe second paragraph."
    response = small.client.get(f"/briefing.pdf?{VIEW}", params={"lead": lead})
    first = pdf_pages(response.content)[0]
    assert "Read this first. The second paragraph." in first
    assert first.index("Read this first.") < first.index("Bottom line")


def test_the_key_is_printed_once_and_only_a_history_gets_a_chart(small: Small) -> None:
    text = " ".join(small.pages)
    assert "Key:" not in text  # the charts' own key is gone: one legend for the document
    assert text.count("A accepts, C conditional, ? ambiguous, R rejects") == 1
    assert text.count("Conditional: accepts on a stated condition") == 1
    assert "TRUCE FIRST: STANCES OVER TIME" in text  # the chart's heading, in capitals
    assert "HARBOUR ACCESS: STANCES OVER TIME" not in text
    assert "BORDER LINE: STANCES OVER TIME" not in text
    assert text.count("No stance on this issue has changed") == 2


def test_no_recorded_position_is_one_line_per_issue_or_left_out(small: Small) -> None:
    text = " ".join(small.pages)
    assert text.count("No recorded position: Beta Kingdom.") == 1
    omitted = small.client.get(f"/briefing.pdf?{VIEW}&omit=no_position,charts")
    text = " ".join(pdf_pages(omitted.content))
    assert "No recorded position:" not in text
    assert "STANCES OVER TIME" not in text
    assert "Bottom line" in text


def test_the_matrix_is_a_landscape_page_of_its_own(small: Small) -> None:
    reader = PdfReader(io.BytesIO(small.pdf))
    landscape = [
        n for n, page in enumerate(reader.pages) if page.mediabox.width > page.mediabox.height
    ]
    assert len(landscape) == 1
    matrix = small.pages[landscape[0]]
    assert "Who accepts what, as of 30 Jun 2025" in matrix
    assert "Party Harbour access Border line Truce first" in matrix
    assert "Agreement Deal zone Apart Gaps" in matrix


def _structure(pdf: bytes) -> tuple[dict[str, Any], list[list[str]]]:
    """The catalog and, per table of the tag tree that has rows, its element types."""
    root = PdfReader(io.BytesIO(pdf)).trailer["/Root"]

    def kids(node: Any) -> list[Any]:
        k = node.get("/K")
        k = k.get_object() if hasattr(k, "get_object") else k
        items = [x.get_object() for x in (k if isinstance(k, list) else [k]) if x is not None]
        return [x for x in items if isinstance(x, DictionaryObject)]

    def walk(node: Any) -> Iterator[Any]:
        yield node
        for child in kids(node):
            yield from walk(child)

    tables = []
    for node in walk(root["/StructTreeRoot"]):
        # WeasyPrint nests its table wrapper boxes as /Table elements holding only the caption:
        # the tables read here are those with rows of their own.
        rows = {"/THead", "/TBody", "/TFoot", "/TR"}
        if node.get("/S") == "/Table" and any(k.get("/S") in rows for k in kids(node)):
            tables.append([n.get("/S") for n in walk(node)])
    return root, tables


def test_the_pdf_is_tagged_with_title_language_and_table_headers(small: Small) -> None:
    root, tables = _structure(small.pdf)
    assert "/StructTreeRoot" in root and bool(root["/MarkInfo"]["/Marked"])
    assert root["/Lang"] == "en"
    title = PdfReader(io.BytesIO(small.pdf)).metadata.title
    assert title == "Ukraine peace talks: positions briefing (as of 30 Jun 2025)"
    assert len(tables) == 1
    assert tables[0].count("/TH") == 1 + 3 + 2 + 1  # corner, issues, parties, agreement


def test_public_url_is_every_absolute_link_of_the_pdf_and_the_feeds(
    small: Small, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PUBLIC_URL", "https://peace.example.org/talks/")
    get_settings.cache_clear()
    try:
        with app_on(small.session) as client:
            pdf = client.get(f"/briefing.pdf?{VIEW}").content
            feed = client.get("/feeds/changes.atom").text
    finally:
        monkeypatch.delenv("PUBLIC_URL")
        get_settings.cache_clear()
    first = pdf_pages(pdf)[0]
    assert "PUBLIC_URL" not in first
    assert "https://peace.example.org/talks/briefing?as_of=2025-06-30" in first.replace(" ", "")
    links = [
        annotation.get_object()["/A"]["/URI"]
        for page in PdfReader(io.BytesIO(pdf)).pages
        for annotation in page.get("/Annots") or ()
        if "/URI" in annotation.get_object().get("/A", {})
    ]
    ours = [url for url in links if not url.startswith("https://example.org/news/")]
    assert ours and all(url.startswith("https://peace.example.org/talks/") for url in ours)
    hrefs = re.findall(r'href="([^"]+)"', feed)
    assert hrefs and all(h.startswith("https://peace.example.org/talks/") for h in hrefs)


def test_a_bad_public_url_refuses_to_start(monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic import ValidationError

    from app.config import Settings

    for bad in ("peace.example.org", "ftp://peace.example.org", "https://x.org/?a=1"):
        monkeypatch.setenv("PUBLIC_URL", bad)
        with pytest.raises(ValidationError, match="PUBLIC_URL takes the site's address"):
            Settings()


def test_the_same_link_twice_renders_once(small: Small) -> None:
    with app_on(small.session) as client:
        first = client.get(f"/briefing.pdf?{VIEW}&title=Twice")
        again = client.get(f"/briefing.pdf?{VIEW}&title=Twice")
        cache = client.app.state.briefing_cache  # type: ignore[attr-defined]
        assert first.content == again.content
        assert (cache.renders, cache.hits) == (1, 1)
        b.party(small.session, "gamma", name="Gamma Union")  # outside the briefing's choice
        small.session.flush()
        changed = client.get(f"/briefing.pdf?{VIEW}&title=Twice")
        assert changed.status_code == 200
        assert (cache.renders, cache.hits) == (2, 1)  # the data moved on: rendered afresh


def test_the_form_composes_a_briefing_without_javascript(small: Small) -> None:
    blank = small.client.get("/briefing")
    assert blank.status_code == 200
    for field in ('name="title"', 'name="lead"', 'name="as_of"', 'name="since"', 'name="known_on"'):
        assert field in blank.text
    assert 'type="checkbox" name="parties" value="alpha"' in blank.text
    assert 'type="checkbox" name="omit" value="no_position"' in blank.text
    assert 'formaction="/briefing.pdf"' in blank.text and 'method="get"' in blank.text
    # What a browser sends for the ticked boxes and typed fields: each choice in the URL.
    query = (
        "title=Cabinet+note&lead=For+the+minister&as_of=2025-06-30&since=2025-06-01&known_on="
        "&parties=alpha&parties=beta&issues=truce&omit=no_position"
    )
    page = small.client.get(f"/briefing?{query}")
    assert page.status_code == 200
    assert 'value="alpha" checked' in page.text and 'value="truce" checked' in page.text
    assert 'value="harbour" checked' not in page.text
    assert 'value="no_position" checked' in page.text
    pdf_link = re.search(r'class="button" href="(/briefing\.pdf\?[^"]+)"', page.text)
    assert pdf_link is not None
    pdf = small.client.get(pdf_link.group(1).replace("&amp;", "&"))
    text = " ".join(pdf_pages(pdf.content))
    assert "Cabinet note" in text and "For the minister" in text
    assert "Harbour access" not in text and "No recorded position:" not in text
    download = small.client.get(f"/briefing.pdf?{query}")
    assert pdf_pages(download.content) == pdf_pages(pdf.content)


def test_the_form_shows_each_problem_beside_its_field(small: Small) -> None:
    response = small.client.get(
        "/briefing?as_of=2025-06-30&since=2025-07-01&title=Kept&omit=cover&parties=zz"
    )
    assert response.status_code == 400
    html = response.text
    assert '<p class="field-error" id="since-error">must be before the as-of date.</p>' in html
    assert 'id="omit-error">unknown part &#39;cover&#39;' in html
    since = html[html.index('id="b-since"') :]
    since = since[: since.index(">")]
    assert 'value="2025-07-01"' in since and 'aria-invalid="true"' in since
    assert 'value="Kept"' in html
    assert "Bottom line" not in html  # no document for a bad request
    unknown = small.client.get("/briefing?parties=zz")
    assert unknown.status_code == 400
    assert 'id="parties-error">unknown party &#39;zz&#39;' in unknown.text


def test_the_word_document_has_the_same_content_and_citations(small: Small) -> None:
    from docx import Document

    response = small.client.get(f"/briefing.docx?{VIEW}")
    assert response.status_code == 200
    assert response.headers["content-disposition"] == (
        'attachment; filename="briefing-2025-06-30.docx"'
    )
    doc = Document(io.BytesIO(response.content))
    assert doc.core_properties.title == "Ukraine peace talks: positions briefing"
    assert doc.core_properties.language == "en"
    text = "\n".join(p.text for p in doc.paragraphs)
    pdf_text = " ".join(small.pages)
    # The bottom line says the same, with the same citation numbers as the PDF.
    for line in (
        r"10 Jun 2025 · Alpha Republic on Truce first: rejects → accepts \[\d+\]",
        r"Harbour access: every party accepts — ALPHA \[\d+\], BETA \(on a condition\) \[\d+\]",
        r"Border line: ALPHA \[\d+\] accepts; BETA \[\d+\] rejects",
        r"Beta Kingdom on Border line: rejects, only reported, not confirmed \[\d+\]",
    ):
        in_word = re.search(line, text)
        in_pdf = re.search(line, pdf_text)
        assert in_word and in_pdf and in_word.group(0) == in_pdf.group(0), line
    # The change refers to its quote, printed in its issue's section (in both, said once).
    line = r"Evidence: .*?, 10 Jun 2025 · \w+ · quoted under Truce first \[\d+\]"
    in_word, in_pdf = re.search(line, text), re.search(line, pdf_text)
    assert in_word and in_pdf, (text, pdf_text)
    assert in_word.group(0).lower() == in_pdf.group(0).lower()
    headings = [p.text for p in doc.paragraphs if p.style.name.startswith("Heading")]
    assert headings[:2] == ["Bottom line", "What changed since 1 Jun 2025"]
    assert {"Harbour access", "Border line", "Truce first", "Sources"} <= set(headings)
    assert "No recorded position: Beta Kingdom." in text
    sources = [p.text for p in doc.paragraphs if re.match(r"\[\d+\] Test Wire\.", p.text)]
    assert len(sources) == len(re.findall(r"\[\d+\] Test Wire\.", pdf_text)) > 0
    (table,) = doc.tables
    rows = [[c.text for c in row.cells] for row in table.rows]
    assert rows[0] == ["Party", "Harbour access", "Border line", "Truce first"]
    assert rows[1] == ["Alpha Republic", "Accepts ◷", "Accepts", "Accepts Δ"]
    assert rows[2] == ["Beta Kingdom", "Cond.", "Rejects ?", "—"]
    assert rows[3] == ["Agreement", "Deal zone", "Apart", "Gaps"]
    assert table.rows[0]._tr.trPr.xml.count("tblHeader") == 1  # repeated on each page
