"""Pages over HTTP: full pages and htmx fragments, errors, escaping, health."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.db import engine_dependency, make_engine
from app.models import PartyKind, QuoteStatus, Stance
from tests import builders as b

HX = {"HX-Request": "true"}


def test_matrix_page_shows_seeded_cells_as_words(client: TestClient, seeded: Session) -> None:
    response = client.get("/?as_of=2025-04-23")
    assert response.status_code == 200
    html = response.text
    assert "<!doctype html>" in html.lower()
    assert "Ukraine on Crimea recognition: Rejects" in html
    assert "United States on Crimea recognition: Accepts" in html
    assert "Europe on Crimea recognition: no recorded position" in html
    assert "unconfirmed" in html and "denied" in html
    assert 'href="/cells/ua/crimea-recognition?as_of=2025-04-23"' in html
    assert "HX-Request" in response.headers["vary"]


def test_matrix_htmx_request_gets_fragment_only(client: TestClient, seeded: Session) -> None:
    response = client.get("/?as_of=2025-04-23", headers=HX)
    assert response.status_code == 200
    assert "<html" not in response.text
    assert (
        response.text.lstrip().startswith('<section id="matrix"') or 'id="matrix"' in response.text
    )
    assert "HX-Request" in response.headers["vary"]


def test_history_restore_request_gets_full_page(client: TestClient, seeded: Session) -> None:
    response = client.get(
        "/cells/ua/crimea-recognition", headers={**HX, "HX-History-Restore-Request": "true"}
    )
    assert "<html" in response.text


def test_cell_detail_page_and_fragment(client: TestClient, seeded: Session) -> None:
    url = "/cells/ua/crimea-recognition?as_of=2025-04-23"
    page = client.get(url)
    fragment = client.get(url, headers=HX)
    assert page.status_code == fragment.status_code == 200
    assert "<html" in page.text and "<html" not in fragment.text
    # The fragment names the history entry htmx pushes; the full page keeps a single <title>.
    assert "<title>Ukraine on Crimea recognition" in fragment.text
    assert page.text.split("<body")[0].count("<title>") == 1  # (SVG charts carry their own)
    for html in (page.text, fragment.text):
        assert "Position history" in html
        assert "There is nothing to talk about" in html
        assert "Volodymyr Zelenskyy" in html
        assert "https://peacetalks.invalid/seeds/000_f42f69482efc36bc" in html


def test_denied_report_names_who_denied_it(client: TestClient, seeded: Session) -> None:
    html = client.get("/cells/ru/occupied-territories?as_of=2025-04-23").text
    assert "Denied" in html and "Dmitry Peskov" in html


def test_party_and_issue_pages(client: TestClient, seeded: Session) -> None:
    party = client.get("/parties/ua?as_of=2025-04-23")
    issue = client.get("/issues/crimea-recognition?as_of=2025-04-23")
    assert party.status_code == issue.status_code == 200
    assert "Ukraine" in party.text and "Crimea recognition" in party.text
    assert "Crimea is recognised as part of Russia" in issue.text
    assert "United States" in issue.text and "Rejects" in issue.text


@pytest.mark.parametrize(
    "url",
    [
        "/parties/atlantis",
        "/issues/atlantis",
        "/cells/atlantis/ceasefire",
        "/cells/ua/atlantis",
        "/nowhere",
    ],
)
def test_unknown_slug_gives_404_page(client: TestClient, seeded: Session, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 404
    assert "text/html" in response.headers["content-type"]
    assert "Not found" in response.text


@pytest.mark.parametrize(
    "bad", ["2025-13-01", "yesterday", "2025-4-1", "20250423", "'; DROP TABLE x"]
)
@pytest.mark.parametrize("url", ["/", "/cells/ua/ceasefire", "/parties/ua", "/issues/ceasefire"])
def test_malformed_as_of_gives_400_with_message(
    client: TestClient, seeded: Session, url: str, bad: str
) -> None:
    response = client.get(url, params={"as_of": bad})
    assert response.status_code == 400
    assert "is not a date" in response.text and "YYYY-MM-DD" in response.text


PAYLOAD = '"><script>alert(1)</script><img src=x onerror=alert(1)> {{7*7}} <div hx-get="/x" hx-trigger="load">'


def test_hostile_quote_text_is_shown_as_text_everywhere(
    client: TestClient, session: Session
) -> None:
    party = b.party(session, "hostile", name=PAYLOAD[:150])
    issue = b.issue(session, "hostile-issue", title="Hostile issue")
    evidence = b.quote(session, party, issue, Stance.REJECTS, text=PAYLOAD)
    b.position(session, party, issue, Stance.REJECTS, evidence.said_on, evidence=[evidence])
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
    for url in ["/", "/cells/hostile/hostile-issue", "/parties/hostile", "/issues/hostile-issue"]:
        for headers in ({}, HX):
            html = client.get(url, headers=headers).text
            assert "<script>alert(1)" not in html, url
            assert '<div hx-get="/x"' not in html, url
            assert "<img src=x" not in html, url
            assert "{{7*7}}" in html, url  # shown as typed, never evaluated
            if url != "/":
                assert escaped in html, url


def test_healthz_ok(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["database"] == "ok"


@pytest.fixture
def unreachable_app(app: FastAPI, backend: str, tmp_path) -> Iterator[FastAPI]:  # type: ignore[no-untyped-def]
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path}/missing-dir/nested/db.sqlite"
    else:
        url = "postgresql+psycopg://postgres@127.0.0.1:1/nowhere?connect_timeout=2"
    engine = make_engine(url)
    app.dependency_overrides[engine_dependency] = lambda: engine
    yield app
    engine.dispose()


def test_healthz_503_when_database_unreachable(unreachable_app: FastAPI) -> None:
    with TestClient(unreachable_app) as client:
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"


def test_bloc_members_render_beneath_bloc(client: TestClient, session: Session) -> None:
    eu = b.party(session, "bloc", name="Europe Bloc", kind=PartyKind.BLOC)
    b.party(session, "member", name="Member State", parent=eu)
    html = client.get("/").text
    assert html.index("Europe Bloc") < html.index("Member State")
    assert 'class="member' in html


def test_retracted_quote_status_is_visible(client: TestClient, session: Session) -> None:
    party, issue = b.party(session, "rp"), b.issue(session, "ri")
    b.quote(session, party, issue, status=QuoteStatus.RETRACTED, text="Withdrawn words")
    html = client.get("/cells/rp/ri").text
    assert "Withdrawn words" in html and "retracted" in html


def test_editors_see_edit_links_on_quotes_and_readers_do_not(
    client: TestClient, seeded: Session
) -> None:
    from tests.auth_helpers import login, make_user

    url = "/cells/ua/crimea-recognition?as_of=2025-04-23"
    assert "/edit" not in client.get(url).text
    make_user(seeded, "ed@example.org")
    login(client, "ed@example.org")
    html = client.get(url).text
    assert 'href="/quotes/' in html and '/edit">Edit</a>' in html
