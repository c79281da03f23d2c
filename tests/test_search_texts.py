"""Search finds documents by title, rounds by name and points by their text, on the page and in
the API, saying what matched and linking to it; the statements stay few."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.models import DocumentKind, DocumentStatus, PartyRole, QuoteStatus
from app.services import documents
from app.services.documents import PointDraft
from app.services.search_texts import matches
from tests import builders as b
from tests.conftest import StatementCounter
from tests.html_reader import parse

PLAN = "/documents/us-proposal-paris-2025-04"


def _hits(html: str) -> list[tuple[str, str]]:
    """The "Documents and rounds" list as (text, link)."""
    sections = parse(html).find_all("section", lambda e: e.has_class("text-hits"))
    if not sections:
        return []
    return [(li.text(), li.find_all("a")[0].attrs["href"]) for li in sections[0].find_all("li")]


def test_words_match_a_title_as_the_quote_search_reads_them() -> None:
    title = "Ukraine–US talks in Genève"
    assert matches("geneve talk", title) and matches("GENÈVE", title)
    assert matches("istanbul OR geneve", title) and not matches("talks -geneve", title)
    assert matches('"ukraine us talks"', title) and not matches('"talks ukraine"', title)
    assert not matches("", title) and not matches("-talks", title)


def test_the_search_page_lists_matching_documents_and_rounds_above_the_quotes(
    client: TestClient, seeded: Session
) -> None:
    hits = _hits(client.get("/quotes", params={"q": "paris"}).text)
    assert ("Document: US peace proposal presented in Paris (Plan, tabled 17 Apr 2025)", PLAN) in [
        (" ".join(text.split()), href) for text, href in hits
    ]
    assert ("/rounds/paris-2025-04-17") in [href for _, href in hits]
    london = _hits(client.get("/quotes", params={"q": "london talks"}).text)
    assert [href for _, href in london] == ["/rounds/london-2025-04-23"]
    assert "Trilateral, 23 Apr 2025, London" in london[0][0]
    assert _hits(client.get("/quotes", params={"q": "london", "party": "ru"}).text) == []
    assert _hits(client.get("/quotes", params={"q": "paris", "issue": "ceasefire"}).text) == []
    assert _hits(client.get("/quotes", params={"q": "paris", "page": "2"}).text) == []


def test_a_point_found_by_its_text_says_which_document_it_is_part_of(
    client: TestClient, seeded: Session
) -> None:
    page = parse(client.get("/quotes", params={"q": "kharkiv"}).text)
    labels = page.find_all("p", lambda e: e.has_class("hit-point"))
    assert [" ".join(p.text().split()) for p in labels] == [
        "Point 8 of US peace proposal presented in Paris:"
    ]
    assert labels[0].find_all("a")[0].attrs["href"] == f"{PLAN}#point-8"
    items = client.get("/api/v1/quotes", params={"q": "kharkiv"}).json()["items"]
    assert [q["point"] for q in items] == [{"document": "us-proposal-paris-2025-04", "label": "8"}]
    others = client.get("/api/v1/quotes", params={"q": "unconditional"}).json()["items"]
    assert others and all(q["point"] is None for q in others)


def test_the_texts_api_finds_documents_and_rounds(client: TestClient, seeded: Session) -> None:
    found = client.get("/api/v1/search/texts", params={"q": "paris"}).json()
    # Newest first; the meeting and the proposal share their day, then go by slug.
    assert [(h["kind"], h["slug"]) for h in found] == [
        ("round", "paris-2025-04-17"), ("document", "us-proposal-paris-2025-04"),
    ]  # fmt: skip
    assert {h["url"] for h in found} == {PLAN, "/rounds/paris-2025-04-17"}
    london = client.get("/api/v1/search/texts", params={"q": "talks", "from": "2025-04-20"})
    assert [h["slug"] for h in london.json()] == ["london-2025-04-23"]
    assert (
        client.get("/api/v1/search/texts", params={"q": "paris", "to": "2025-04-01"}).json() == []
    )
    assert (
        client.get("/api/v1/search/texts", params={"q": "paris", "party": "zz"}).status_code == 400
    )


def test_a_search_reads_as_many_statements_however_many_points_match(
    client: TestClient, session: Session, count_statements: StatementCounter
) -> None:
    party, issue = b.party(session, "srp"), b.issue(session, "sri")

    def plan(slug: str, points: int) -> None:
        drafts = [
            PointDraft(str(n), f"Provision {n} on the grain corridor.") for n in range(points)
        ]
        documents.create_document(
            session, actor=None, slug=slug, title=f"Grain plan {slug}", kind=DocumentKind.PLAN,
            status=DocumentStatus.PUBLISHED, confirmation=QuoteStatus.CONFIRMED,
            tabled_on=date(2025, 5, 1), source=b.source(session),
            parties=[(party, PartyRole.AUTHORING)], points=drafts,
        )  # fmt: skip
        b.quote(session, party, issue, text="The grain corridor was discussed.")

    def statements() -> int:
        count_statements.statements.clear()
        response = client.get("/quotes", params={"q": "grain corridor"})
        assert response.status_code == 200 and "Grain plan" in response.text
        return count_statements.count

    plan("small", 2)
    few = statements()
    plan("large", 20)
    assert statements() == few
