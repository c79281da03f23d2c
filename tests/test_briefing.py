"""The briefing: the PDF's text (parsed with pypdf), its filters, its safety, and the command line.

The seed briefing is rendered once per database and shared by the tests that only read it.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from html import unescape
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, selectinload

from app import migrate
from app.config import PROJECT_ROOT
from app.db import get_session, make_engine
from app.main import create_app
from app.models import Quote, QuoteStatus, Source, SourceTier, Stance
from app.routes import briefing as briefing_routes
from app.services import briefing as briefing_service
from app.services import briefing_pdf, catalog, seed
from tests import builders as b
from tests.conftest import joined_requests, scratch_database

FIXED_NOW = datetime(2025, 4, 23, 12, 0, tzinfo=UTC)
VIEW = "as_of=2025-04-23&since=2025-04-16"
CYRILLIC = "Україна не визнає окупацію Криму"
PAYLOAD = '<img src="file:///etc/passwd"> <script>alert(1)</script> & "Moscow"'


def pdf_pages(pdf: bytes) -> list[str]:
    """Each page's text, whitespace collapsed."""
    return [
        " ".join((page.extract_text() or "").split()) for page in PdfReader(io.BytesIO(pdf)).pages
    ]


def client_for(session: Session, now: datetime = FIXED_NOW) -> TestClient:
    """The real app on this session (with caches of its own), the generation clock fixed."""
    application = create_app()

    application.dependency_overrides[get_session] = joined_requests(session)
    application.dependency_overrides[briefing_routes.generation_time] = lambda: now
    return TestClient(application)


@dataclass
class World:
    """The seed data plus a Cyrillic and a hostile quote, and the briefing PDF rendered once."""

    session: Session
    client: TestClient
    pdf: bytes
    pages: list[str]

    @property
    def text(self) -> str:
        return " ".join(self.pages)


@pytest.fixture(scope="module")
def world(engine: Engine) -> Iterator[World]:
    with engine.connect() as conn:
        outer = conn.begin()
        session = Session(
            bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False
        )
        seed.load_seeds(session, PROJECT_ROOT / "seeds")
        ua = catalog.get_party(session, slug="ua")
        ru = catalog.get_party(session, slug="ru")
        kharkiv = catalog.get_issue(session, slug="kharkiv-return")
        nato = catalog.get_issue(session, slug="nato-membership")
        cyrillic = b.quote(session, ua, kharkiv, said_on=date(2025, 4, 21), text=CYRILLIC)
        b.position(session, ua, kharkiv, Stance.ACCEPTS, date(2025, 4, 21), evidence=[cyrillic])
        hostile = b.quote(
            session, ru, nato, Stance.REJECTS, said_on=date(2025, 4, 20), text=PAYLOAD
        )
        b.position(session, ru, nato, Stance.REJECTS, date(2025, 4, 20), evidence=[hostile])
        session.flush()
        with client_for(session) as client:
            response = client.get(f"/briefing.pdf?{VIEW}")
            assert response.status_code == 200, response.text
            yield World(session, client, response.content, pdf_pages(response.content))
        session.close()
        outer.rollback()


def test_briefing_pdf_is_a_pdf_with_a_sanitised_file_name(world: World) -> None:
    response = world.client.get(f"/briefing.pdf?{VIEW}")
    assert response.headers["content-type"] == "application/pdf"
    assert (
        response.headers["content-disposition"] == 'attachment; filename="briefing-2025-04-23.pdf"'
    )
    assert response.content.startswith(b"%PDF-")
    assert briefing_service.safe_filename('briefing-"x;\r\n/../y.pdf') == "briefing-x-y.pdf"


def test_briefing_shows_title_dates_parties_issues_and_stance_words(world: World) -> None:
    text = world.text
    assert "Ukraine peace talks: positions briefing" in world.pages[0]
    assert "23 Apr 2025" in world.pages[0] and "16 Apr 2025" in world.pages[0]
    assert "Generated 23 Apr 2025, 12:00 UTC" in world.pages[0]
    # No PUBLIC_URL: the permalink is a path, and the briefing says so.
    permalink = "/briefing?as_of=2025-04-23&since=2025-04-16&known_on=2025-04-23"
    assert permalink in world.pages[0].replace(" ", "")
    assert "its public address is not configured, PUBLIC_URL" in world.pages[0]
    assert "http://testserver" not in text
    for party in catalog.list_parties(world.session):
        assert party.name in text, party.name
    for issue in catalog.list_issues(world.session):
        assert issue.title in text, issue.title
        assert issue.proposition in text, issue.proposition
    for word in ("Accepts", "Conditional", "Ambiguous", "Rejects"):
        assert word in text
    assert "What changed between 16 Apr 2025 and 23 Apr 2025" in text
    for marker in ("UNCONFIRMED", "DENIED", "CHANGED"):  # the issues' stances, in words
        assert marker in text
    # The matrix's key, once: its symbols and what they mean.
    for key in (
        "? only reported",
        "✕ denied",
        "◷ evidence older than 60 days",
        "◐ members differ",
        "Δ changed since 16 Apr 2025",
    ):
        assert text.count(key) == 1, key


def test_a_change_refers_to_its_quote_in_the_issue_section_instead_of_repeating_it(
    world: World,
) -> None:
    # "There is nothing to talk about": Zelenskyy on Crimea, the evidence of Ukraine's change
    # and a key quote of Crimea recognition's section: printed once, referred to from the change.
    words = "There is nothing to talk about"
    start = world.text.index("What changed between")
    changes = world.text[start : world.text.index("Texts on the table", start)]
    assert words not in changes
    issues = world.text[world.text.index("Crimea recognition Proposition") :]
    assert issues.count(words) == 1
    evidence = "Evidence: Volodymyr Zelenskyy, President of Ukraine, 22 Apr 2025 · CONFIRMED"
    assert f"{evidence} · quoted under Crimea recognition [" in changes
    html = world.client.get(f"/briefing?{VIEW}").text
    ids = set(re.findall(r'id="([^"]+)"', html))
    targets = re.findall(r'quoted under <a href="#([^"]+)">', html)
    assert len(targets) >= 10 and all(t in ids for t in targets), targets
    # In the issue sections: the quote under the changed party's stance.
    assert all(t.startswith("q-") for t in targets)
    # Without the issue sections, the change prints its quote.
    alone = world.client.get(f"/briefing?{VIEW}&omit=issues").text
    assert "quoted under" not in alone
    assert f'<p class="quote-text" lang="en">“{words}' in alone


def test_every_page_has_the_running_header_and_page_n_of_m(world: World) -> None:
    total = len(world.pages)
    assert total >= 5
    for number, page in enumerate(world.pages, start=1):
        assert f"Page {number} of {total}" in page
        assert "Ukraine peace talks: positions briefing" in page
        assert "As of 23 Apr 2025" in page


def test_every_cited_source_is_listed_with_outlet_and_url(world: World) -> None:
    text = world.text
    squeezed = text.replace(" ", "")
    document = briefing_service.build_briefing(
        world.session,
        request=briefing_service.BriefingRequest(as_of=date(2025, 4, 23), since=date(2025, 4, 16)),
        generated_at=FIXED_NOW,
        base_url="http://testserver/",
    )
    assert len(document.sources) >= 3  # the seed article and the two test wires
    for number, source in enumerate(document.sources, start=1):
        assert source.outlet in text
        assert source.url in squeezed
        assert f"[{number}]" in text
    assert "Test Wire" in text and "Seed article" in text


def test_cyrillic_quote_is_intact(world: World) -> None:
    assert CYRILLIC in world.text


def test_html_in_a_quote_is_printed_as_text_and_nothing_is_fetched(world: World) -> None:
    assert '<img src="file:///etc/passwd">' in world.text
    assert "<script>alert(1)</script>" in world.text
    preview = world.client.get(f"/briefing?{VIEW}").text
    assert "&lt;img src=&#34;file:///etc/passwd&#34;&gt;" in preview
    assert '<img src="file' not in preview
    document = briefing_service.build_briefing(
        world.session,
        request=briefing_service.BriefingRequest(as_of=date(2025, 4, 23)),
        generated_at=FIXED_NOW,
        base_url="http://testserver/",
    )
    fetcher = briefing_pdf.static_only_fetcher()
    pdf = briefing_pdf.render_pdf(
        briefing_service.render_html(document, preview=False), url_fetcher=fetcher
    )
    assert '<img src="file:///etc/passwd">' in " ".join(pdf_pages(pdf))
    assert fetcher.fetched == []  # the stylesheet comes parsed; the document asks for nothing
    assert fetcher.refused == []


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "http://169.254.169.254/latest/meta-data/",
        "https://example.org/x.png",
        "http://127.0.0.1:8000/static/css/briefing.css",
        "http://briefing.invalid/static/../../app/config.py",
        "http://briefing.invalid/static/%2e%2e/%2e%2e/etc/passwd",
        "http://briefing.invalid/etc/passwd",
        "ftp://briefing.invalid/static/css/briefing.css",
    ],
)
def test_the_pdf_url_fetcher_refuses_anything_but_our_static_files(url: str) -> None:
    fetcher = briefing_pdf.static_only_fetcher()
    with pytest.raises(ValueError):
        fetcher.fetch(url)


def test_the_pdf_url_fetcher_serves_static_files_and_data_urls() -> None:
    fetcher = briefing_pdf.static_only_fetcher()
    css = fetcher.fetch("http://briefing.invalid/static/css/briefing.css")
    assert b"@page" in css.read() and css.content_type == "text/css"
    assert fetcher.fetch("data:text/plain;base64,aGk=").read() == b"hi"


def test_raw_markup_reaching_the_engine_still_fetches_nothing() -> None:
    fetcher = briefing_pdf.static_only_fetcher()
    html = '<p>x</p><img src="file:///etc/passwd"><img src="http://169.254.169.254/a.png">'
    assert briefing_pdf.render_pdf(html, url_fetcher=fetcher).startswith(b"%PDF-")
    assert fetcher.fetched == []
    assert sorted(fetcher.refused) == ["file:///etc/passwd", "http://169.254.169.254/a.png"]


def test_filters_leave_out_the_parties_and_issues_not_selected(world: World) -> None:
    for query in (
        "parties=ua,ru&issues=crimea-recognition,nato-membership",
        "parties=ua&parties=ru&issues=crimea-recognition&issues=nato-membership",
    ):
        # The texts on the table name who tabled each text (the US plan bears on Crimea).
        response = world.client.get(f"/briefing.pdf?{VIEW}&{query}&omit=texts")
        assert response.status_code == 200, response.text
        text = " ".join(pdf_pages(response.content))
        for shown in ("Ukraine", "Russia", "Crimea recognition", "NATO membership"):
            assert shown in text
        for absent in (
            "United States",
            "Germany",
            "France",
            "Security guarantees",
            "EU membership",
        ):
            assert absent not in text, absent
        assert "parties=ua,ru" in text.replace(" ", "").replace("%2C", ",")


def test_a_bloc_alone_still_shows_its_members_split(world: World) -> None:
    session = world.session
    nested = session.begin_nested()
    try:
        eu = catalog.get_party(session, slug="eu")
        uk = catalog.get_party(session, slug="uk")
        fr = catalog.get_party(session, slug="fr")
        ceasefire = catalog.get_issue(session, slug="ceasefire")
        b.position(session, uk, ceasefire, Stance.ACCEPTS, date(2025, 4, 10))
        b.position(session, fr, ceasefire, Stance.REJECTS, date(2025, 4, 10))
        document = briefing_service.build_briefing(
            session,
            request=briefing_service.BriefingRequest(
                as_of=date(2025, 4, 23), parties=("eu",), issues=("ceasefire",)
            ),
            generated_at=FIXED_NOW,
            base_url="http://testserver/",
        )
        assert [p.slug for p in document.matrix.parties] == ["eu"]
        assert [(m.slug, stance) for m, stance in document.split(eu, ceasefire)] == [
            ("uk", Stance.ACCEPTS),
            ("fr", Stance.REJECTS),
        ]
        html = briefing_service.render_html(document, preview=False)
        assert "Split" in html and "UK acc. · France rej." in html  # the matrix cell
        assert "Members: United Kingdom accepts; France rejects." in html  # the issue's section
    finally:
        nested.rollback()


def test_key_quotes_are_the_strongest_then_newest_three(world: World) -> None:
    session = world.session
    nested = session.begin_nested()
    try:
        party = b.party(session)
        issue = b.issue(session)
        aggregator = b.source(session)
        aggregator.tier = SourceTier.AGGREGATOR

        def say(day: int, status: QuoteStatus, src: Source | None = None) -> Quote:
            return b.quote(
                session, party, issue, said_on=date(2025, 4, day), status=status, src=src
            )

        reported_new = say(20, QuoteStatus.REPORTED)
        confirmed_old = say(5, QuoteStatus.CONFIRMED)
        confirmed_new = say(18, QuoteStatus.CONFIRMED)
        confirmed_weak = say(19, QuoteStatus.CONFIRMED, aggregator)
        denied = say(21, QuoteStatus.DENIED)
        retracted = say(22, QuoteStatus.RETRACTED)
        later = say(28, QuoteStatus.CONFIRMED)
        quotes = [
            reported_new,
            confirmed_old,
            confirmed_new,
            confirmed_weak,
            denied,
            retracted,
            later,
        ]
        session.flush()
        session.scalars(
            select(Quote)
            .where(Quote.id.in_([q.id for q in quotes]))
            .options(selectinload(Quote.source))
            .execution_options(populate_existing=True)
        ).all()
        chosen = briefing_service.key_quotes(quotes, as_of=date(2025, 4, 23))
        assert chosen == [confirmed_new, confirmed_old, confirmed_weak]
        everything = briefing_service.key_quotes(quotes, as_of=date(2025, 4, 23), limit=10)
        assert everything[-2:] == [reported_new, denied]
        assert retracted not in everything and later not in everything
    finally:
        nested.rollback()


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("parties=us,zz", "unknown party"),
        ("issues=no-such-issue", "unknown issue"),
        ("as_of=2025-02-30", "as_of"),
        ("as_of=yesterday", "as_of"),
        ("since=2025-05-01&as_of=2025-04-23", "since"),
        ("known_on=23/04/2025", "known_on"),
    ],
)
def test_a_malformed_filter_gives_a_400_page(world: World, query: str, field: str) -> None:
    for path in ("/briefing.pdf", "/briefing"):
        response = world.client.get(f"{path}?{query}")
        assert response.status_code == 400, (path, query)
        assert response.headers["content-type"].startswith("text/html")
        assert field in response.text


def test_the_same_request_gives_the_same_pdf(world: World) -> None:
    again = world.client.get(f"/briefing.pdf?{VIEW}")
    assert again.content == world.pdf


def test_the_preview_is_the_same_document_with_a_download_link(world: World) -> None:
    html = world.client.get(f"/briefing?{VIEW}").text
    assert '<link rel="stylesheet" href="/static/css/briefing.css">' in html
    assert 'href="/briefing.pdf?as_of=2025-04-23&amp;since=2025-04-16"' in html
    assert "Ukraine peace talks: positions briefing" in html
    assert CYRILLIC in html
    # The content security policy refuses inline styles: the charts take theirs from briefing.css.
    assert "<style" not in html and " style=" not in html
    ids = re.findall(r' id="([^"]+)"', html)
    assert len(ids) == len(set(ids)), "every chart needs ids of its own"


def test_the_title_is_configurable_and_escaped(world: World) -> None:
    response = world.client.get(f"/briefing?{VIEW}&title=Cabinet+note+<b>x</b>")
    assert "Cabinet note &lt;b&gt;x&lt;/b&gt;" in response.text
    assert "title=Cabinet+note+%3Cb%3Ex%3C%2Fb%3E" in response.text


def test_a_busy_renderer_answers_503_with_retry_after(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(briefing_pdf, "RENDER_WAIT_SECONDS", 0.1)
    held = [briefing_pdf._render_slots.acquire(blocking=False) for _ in range(2)]
    try:
        assert all(held)
        # A link not rendered before (the same link again would come from the cache).
        response = world.client.get(f"/briefing.pdf?{VIEW}&title=Busy")
        assert response.status_code == 503
        assert response.headers["retry-after"] == str(briefing_pdf.RETRY_AFTER_SECONDS)
    finally:
        for _ in held:
            briefing_pdf._render_slots.release()


def test_the_matrix_links_to_the_briefing_of_its_view(world: World) -> None:
    html = unescape(world.client.get("/?as_of=2025-04-23&since=2025-04-16").text)
    assert 'href="/briefing.pdf?as_of=2025-04-23&since=2025-04-16"' in html
    assert "Download briefing" in html


def _cli(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        env={**os.environ, "DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_the_command_line_writes_the_same_pdf_as_the_route(backend: str, tmp_path: Path) -> None:
    with scratch_database(backend, tmp_path) as url:
        migrate.upgrade(url=url)
        engine = make_engine(url)
        try:
            with Session(engine) as session:
                seed.load_seeds(session, PROJECT_ROOT / "seeds")
                session.commit()
            out = tmp_path / "cli.pdf"
            filters = ["--party", "ua,ru", "--party", "us", "--issue", "crimea-recognition"]
            filters += ["--lead", "For the minister.", "--omit", "charts"]
            result = _cli(
                url,
                "briefing",
                "--out",
                str(out),
                "--as-of",
                "2025-04-23",
                "--since",
                "2025-04-16",
                *filters,
                "--generated-at",
                FIXED_NOW.isoformat(),
            )
            assert result.returncode == 0, result.stderr
            with Session(engine, expire_on_commit=False) as session, client_for(session) as client:
                response = client.get(
                    f"/briefing.pdf?{VIEW}&parties=ua,ru,us&issues=crimea-recognition"
                    "&lead=For+the+minister.&omit=charts"
                )
            assert response.status_code == 200
            assert pdf_pages(out.read_bytes()) == pdf_pages(response.content)
            assert out.read_bytes() == response.content
            assert "For the minister." in pdf_pages(response.content)[0]

            # --format docx writes the same briefing as an editable Word document.
            word = tmp_path / "cli.docx"
            result = _cli(url, "briefing", "--out", str(word), "--format", "docx", *filters)
            assert result.returncode == 0, result.stderr
            from docx import Document

            paragraphs = [p.text for p in Document(str(word)).paragraphs]
            assert paragraphs[:2] == [
                "Ukraine peace talks: positions briefing",
                "For the minister.",
            ]
            assert "Crimea recognition" in paragraphs and "Sources" in paragraphs

            # --base-url overrides PUBLIC_URL (and its absence) for the permalink.
            based = tmp_path / "based.pdf"
            result = _cli(
                url,
                "briefing",
                "--out",
                str(based),
                "--as-of",
                "2025-04-23",
                "--base-url",
                "https://peace.example.org/",
            )
            assert result.returncode == 0, result.stderr
            squeezed = pdf_pages(based.read_bytes())[0].replace(" ", "")
            assert "https://peace.example.org/briefing?as_of=2025-04-23&known_on=" in squeezed
            assert "PUBLIC_URL" not in pdf_pages(based.read_bytes())[0]

            bad = tmp_path / "bad.pdf"
            for args, message in (
                (["--party", "zz"], "--party: unknown party 'zz'"),
                (["--issue", "nope"], "--issue: unknown issue 'nope'"),
                (["--as-of", "2025-13-01"], "--as-of:"),
                (["--since", "2025-05-01", "--as-of", "2025-04-23"], "--since:"),
                (["--omit", "cover"], "--omit: unknown part 'cover'"),
                (["--base-url", "ftp://x"], "--base-url:"),
                (["--format", "odt"], "--format: choose pdf or docx"),
            ):
                result = _cli(url, "briefing", "--out", str(bad), *args)
                assert result.returncode == 1, args
                assert message in result.stderr
                assert "Traceback" not in result.stderr
                assert not bad.exists()
        finally:
            engine.dispose()
