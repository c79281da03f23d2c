"""CSV downloads of the texts and meetings: documents, their points (tags and lineage) and the
rounds of talks; the party page's rounds attended and the cell's points of the party's texts."""

from __future__ import annotations

import csv
import io

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.models import DocumentKind, DocumentStatus, PartyRole, QuoteStatus, Stance
from app.services import catalog, documents
from app.services.documents import PointDraft
from tests import builders as b
from tests.html_reader import parse

PLAN = "us-proposal-paris-2025-04"


def _rows(client: TestClient, url: str) -> list[dict[str, str]]:
    response = client.get(url)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    return list(
        csv.DictReader(io.StringIO(response.content.decode("utf-8").removeprefix("\ufeff")))
    )


def test_documents_csv_lists_each_document_with_parties_points_and_rounds(
    client: TestClient, seeded: Session
) -> None:
    rows = _rows(client, "/exports/documents.csv")
    assert [r["slug"] for r in rows] == [PLAN]
    plan = rows[0]
    assert plan["authors"] == "us" and plan["endorsers"] == ""
    assert plan["points"] == "8" and plan["status"] == "reported"
    assert plan["rounds"] == "paris-2025-04-17" and plan["tabled_on"] == "2025-04-17"


def test_points_csv_carries_issue_tags_and_the_line_to_the_predecessor(
    client: TestClient, seeded: Session
) -> None:
    rows = _rows(client, f"/exports/points.csv?document={PLAN}")
    assert [r["label"] for r in rows] == [str(n) for n in range(1, 9)]
    assert rows[2]["issues"] == "nato-membership:rejects" and rows[2]["relation"] == ""
    plan = documents.get_document(seeded, slug=PLAN)
    drafts = documents.derived_drafts(plan)
    changed = "=" + drafts[2].text  # one character more: the same point, changed
    drafts[2] = PointDraft("3", changed, [(drafts[2].tags[0][0], Stance.ACCEPTS)])
    documents.create_document(
        seeded, actor=None, slug="us-proposal-v2", title="US proposal, revised",
        kind=DocumentKind.PLAN, status=DocumentStatus.LEAKED, confirmation=QuoteStatus.REPORTED,
        tabled_on=plan.tabled_on, source=b.source(seeded),
        parties=[(catalog.get_party(seeded, slug="us"), PartyRole.AUTHORING)],
        points=drafts[:3], derived_from=plan,
    )  # fmt: skip
    revised = _rows(client, "/exports/points.csv?document=us-proposal-v2")
    assert [(r["label"], r["relation"], r["maps_to"]) for r in revised] == [
        ("1", "kept", "1"), ("2", "kept", "2"), ("3", "changed", "3"),
    ]  # fmt: skip
    assert revised[2]["issues"] == "nato-membership:accepts"
    assert revised[2]["text"] == "'" + changed  # safe to open in a spreadsheet
    everything = _rows(client, "/exports/points.csv")
    assert len(everything) == 8 + 3
    assert client.get("/exports/points.csv?document=nothing").status_code == 404


def test_rounds_csv_lists_rounds_with_parties_delegations_and_documents(
    client: TestClient, seeded: Session
) -> None:
    rows = _rows(client, "/exports/rounds.csv")
    assert [r["slug"] for r in rows] == ["paris-2025-04-17", "london-2025-04-23"]
    paris, london = rows
    assert paris["documents"] == PLAN and paris["parties"] == "us ua"
    assert london["format"] == "trilateral" and "eu" in london["parties"].split()
    assert "ua: Andriy Yermak, Dmytro Kuleba, Rustem Umerov" in london["delegations"]


def test_the_party_page_lists_the_rounds_it_attended(client: TestClient, seeded: Session) -> None:
    page = parse(client.get("/parties/eu").text).text()
    assert "Rounds attended" in page
    attended = page.partition("Rounds attended")[2].partition("Quotes")[0]
    assert "London talks" in attended and "23 Apr 2025, London; trilateral" in attended
    assert "European national security advisors" in attended
    assert "Paris meeting" not in page
    assert "No round attended by this party" in parse(client.get("/parties/ru").text).text()


def test_a_cell_lists_the_points_of_the_partys_texts_bearing_on_its_issue(
    client: TestClient, seeded: Session
) -> None:
    def texts(path: str) -> str:
        page = parse(client.get(path).text).text()
        return page.partition("texts say")[2].partition("Quotes")[0] if "texts say" in page else ""

    shown = texts("/cells/us/nato-membership?as_of=2025-04-23")
    assert "US peace proposal presented in Paris, point 3" in shown and "Rejects" in shown
    assert "point 1" not in shown  # point 1 bears on Crimea, not on NATO
    assert texts("/cells/us/nato-membership?as_of=2025-04-16") == ""  # not yet tabled
    assert texts("/cells/ua/nato-membership?as_of=2025-04-23") == ""  # not Ukraine's text
