"""End to end, as people use it: an editor adds evidence that moves a cell (with and without
JavaScript), and an analyst searches, opens a cell and goes back in time."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.conftest import scratch_database
from tests.e2e_support import chromium, migrate_and_seed, run_cli, serve

pytestmark = pytest.mark.e2e

EMAIL, PASSWORD = "editor@example.org", "correct horse battery"
ARTIFACTS = Path(__file__).resolve().parent / "_artifacts"
SPEAKERS = {"js": "Kaja Kallas", "nojs": "Josep Borrell"}


@pytest.fixture(scope="module")
def base_url(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A seeded server with one editor account, on a fresh database of `backend`."""
    workdir = tmp_path_factory.mktemp(f"flows-{backend}")
    with scratch_database(backend, workdir) as url:
        migrate_and_seed(url)
        account = ["users", "create", "--email", EMAIL, "--name", "Edith", "--role", "editor"]
        run_cli(url, *account, stdin=PASSWORD + "\n")
        with serve(url, workdir) as server:
            yield server


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


def _page(browser: Browser, base_url: str, *, javascript: bool) -> Page:
    context = browser.new_context(base_url=base_url, java_script_enabled=javascript,
                                  viewport={"width": 1400, "height": 1000})  # fmt: skip
    context.set_default_timeout(10_000)
    return context.new_page()


def _log_in(page: Page) -> None:
    page.goto("/login")
    page.get_by_label("Email", exact=True).fill(EMAIL)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("header.site-header")).to_contain_text("Edith (editor)")


@pytest.mark.parametrize(
    ("javascript", "issue_slug", "issue_title"),
    [(True, "security-guarantees", "Security guarantees"), (False, "ceasefire", "Ceasefire first")],
    ids=["htmx", "no-js"],
)
def test_editor_adds_a_quote_with_new_source_and_speaker_that_moves_a_cell(
    browser: Browser,
    base_url: str,
    javascript: bool,
    backend: str,
    issue_slug: str,
    issue_title: str,
) -> None:
    page = _page(browser, base_url, javascript=javascript)
    _log_in(page)
    # Europe has no position on security guarantees in the seed; this quote gives it one.
    page.goto("/?as_of=2025-05-06")
    expect(
        page.get_by_role("link", name=f"Europe on {issue_title}: no recorded position")
    ).to_be_visible()

    page.goto("/quotes/new")
    suffix = "js" if javascript else "nojs"
    # Two names far apart: a name close to a known speaker's is asked about ("Did you mean …?").
    page.get_by_label("Quote", exact=True).fill(
        f"Europe will back Ukraine's security with guarantees ({suffix})."
    )
    page.get_by_label("Kind", exact=True).select_option("direct")
    page.get_by_label("Status", exact=True).select_option("confirmed")
    page.get_by_label("Said on", exact=True).fill("2025-05-05")
    page.get_by_label("Party", exact=True).select_option("eu")
    page.get_by_label("Language", exact=True).fill("en")
    page.get_by_label("New speaker name", exact=True).fill(SPEAKERS[suffix])
    page.get_by_label("New speaker role", exact=True).fill("High Representative")
    page.get_by_label("Source URL", exact=True).fill(
        f"https://example.org/eu-guarantees-{suffix}-{backend}"
    )
    page.get_by_label("Title", exact=True).fill("EU statement on guarantees")
    page.get_by_label("Outlet", exact=True).fill("EU press office")
    page.get_by_label("Source kind", exact=True).select_option("official_statement")
    page.get_by_label("Source tier", exact=True).select_option("official_readout")
    page.locator("#issue_1").select_option(issue_slug)
    page.locator("#stance_1").select_option("accepts")
    page.get_by_label("Also record as the party's position from this date").check()
    page.get_by_label("Rationale", exact=True).fill(
        "The EU's foreign-policy chief said Europe will back guarantees."
    )
    page.get_by_role("button", name="Add quote").click()

    expect(page).to_have_url(re.compile(rf"/cells/eu/{issue_slug}"))
    expect(page.locator("#flash")).to_contain_text(f"Quote added to Europe × {issue_title}")
    expect(page.locator("#cell-detail")).to_contain_text("Europe will back Ukraine's security")
    expect(page.locator("#cell-detail")).to_contain_text(SPEAKERS[suffix])
    page.goto("/?as_of=2025-05-06")
    cell = page.get_by_role("link", name=re.compile(rf"^Europe on {issue_title}: Accepts"))
    expect(cell).to_be_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"editor-flow-{suffix}-{backend}.png"), full_page=True)
    page.context.close()


def test_a_validation_error_shows_beside_its_field_and_keeps_the_input(
    browser: Browser, base_url: str
) -> None:
    page = _page(browser, base_url, javascript=True)
    _log_in(page)
    page.goto("/quotes/new")
    page.get_by_label("Quote", exact=True).fill("Typed words must survive an error.")
    page.get_by_label("Kind", exact=True).select_option("direct")
    page.get_by_label("Status", exact=True).select_option("confirmed")
    page.get_by_label("Party", exact=True).select_option("ua")
    page.get_by_label("Language", exact=True).fill("en")
    page.get_by_label("Source URL", exact=True).fill(
        "https://peacetalks.invalid/seeds/000_f42f69482efc36bc"
    )
    page.get_by_label("Said on", exact=True).fill(
        "2999-01-01"
    )  # in the future: refused by the server
    page.get_by_role("button", name="Add quote").click()
    expect(page.locator("#said_on-error")).to_be_visible()
    expect(page.get_by_label("Quote", exact=True)).to_have_value(
        "Typed words must survive an error."
    )
    page.context.close()


def test_a_forged_token_from_a_logged_in_editor_is_a_clean_403(
    browser: Browser, base_url: str
) -> None:
    page = _page(browser, base_url, javascript=True)
    _log_in(page)
    response = page.request.post(f"{base_url}/positions/new", form={"csrf_token": "forged"})
    assert response.status == 403
    assert "security token" in response.text()
    page.context.close()


def test_analyst_searches_opens_a_cell_and_moves_back_in_time(
    browser: Browser, base_url: str
) -> None:
    page = _page(browser, base_url, javascript=True)
    page.goto("/quotes")
    with page.expect_response(lambda r: "/quotes?" in r.url and "q=constitution" in r.url):
        page.get_by_label("Search", exact=True).fill("constitution")
    results = page.locator("#results")
    expect(results.locator("mark").first).to_have_text(re.compile("constitution", re.IGNORECASE))
    results.get_by_role("link", name="Open the cell").first.click()
    expect(page).to_have_url(re.compile(r"/cells/ua/crimea-recognition"))
    expect(page.locator("#cell-detail")).to_contain_text("Rejects")

    page.goto("/?as_of=2025-04-23")
    expect(page.get_by_role("link", name="Ukraine on Crimea recognition: Rejects")).to_be_visible()
    page.get_by_label("As of", exact=True).fill(
        "2025-04-21"
    )  # before Zelenskyy's briefing of 22 April
    page.get_by_role("button", name="Show").click()
    expect(
        page.get_by_role("link", name="Ukraine on Crimea recognition: no recorded position")
    ).to_be_visible()
    expect(page).to_have_url(re.compile(r"as_of=2025-04-21"))
    page.context.close()


@pytest.mark.parametrize("javascript", [True, False], ids=["htmx", "no-js"])
def test_search_form_leaves_empty_filters_out_of_the_address(
    browser: Browser, base_url: str, javascript: bool
) -> None:
    page = _page(browser, base_url, javascript=javascript)
    page.goto("/quotes")
    page.get_by_label("Search", exact=True).fill("constitution")
    page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(r"/quotes\?q=constitution&sort=relevance$"))
    expect(page.locator("#results mark").first).to_be_visible()
    page.context.close()


def test_analyst_follows_a_speakers_name_to_their_page(browser: Browser, base_url: str) -> None:
    page = _page(browser, base_url, javascript=True)
    page.goto("/cells/ua/crimea-recognition?as_of=2025-04-23")
    page.locator("#cell-detail").get_by_role("link", name="Volodymyr Zelenskyy").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Volodymyr Zelenskyy")
    expect(page.get_by_role("heading", name="Crimea recognition")).to_be_visible()
    page.get_by_role("link", name="JSON").click()
    expect(page).to_have_url(re.compile(r"/api/v1/speakers/\d+$"))
    page.context.close()
