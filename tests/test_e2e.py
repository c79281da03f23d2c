"""End to end: the real server (seeded, on SQLite and on PostgreSQL) in headless Chromium.

One server per backend for this module, one browser for the module, a fresh browser context
(cookies, history, JavaScript on or off) per test.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Error,
    Page,
    Request,
    Response,
    expect,
)

from tests.conftest import scratch_database
from tests.e2e_support import chromium, seeded_server

pytestmark = pytest.mark.e2e

AS_OF = "2025-04-23"
BEFORE_US_PLAN = "2025-04-16"  # the US plan (and its stance on Crimea) dates from 2025-04-17
CELL_PATH = f"/cells/ua/crimea-recognition?as_of={AS_OF}"
UA_CRIMEA = "Ukraine on Crimea recognition: Rejects"
ARTIFACTS = Path(__file__).resolve().parent / "_artifacts"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TIMEOUT_MS = 10_000

NewPage = Callable[..., Page]


@pytest.fixture(scope="module")
def base_url(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A running server on a freshly migrated and seeded database of `backend`."""
    workdir = tmp_path_factory.mktemp(f"e2e-{backend}")
    with scratch_database(backend, workdir) as url, seeded_server(url, workdir) as server:
        yield server


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def new_page(base_url: str, browser: Browser) -> Iterator[NewPage]:
    """Open a page in a fresh context on the server; `javascript=False` for a browser without JS."""
    contexts: list[BrowserContext] = []

    def open_page(*, javascript: bool = True) -> Page:
        context = browser.new_context(
            base_url=base_url,
            java_script_enabled=javascript,
            viewport={"width": 1400, "height": 1000},
        )
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page: NewPage) -> Page:
    return new_page()


def _open_matrix(page: Page, as_of: str = AS_OF) -> None:
    response = page.goto(f"/?as_of={as_of}")
    assert response is not None and response.status == 200
    expect(page.locator("#matrix table.matrix")).to_be_visible()


def test_clicking_a_cell_opens_its_evidence_in_place(page: Page, base_url: str) -> None:
    _open_matrix(page)
    page.evaluate("window.__marker = 1")

    with page.expect_request(lambda r: "/cells/" in r.url) as fetched:
        page.get_by_role("link", name=UA_CRIMEA, exact=True).click()
    assert fetched.value.resource_type == "fetch", "the click navigated instead of using htmx"
    assert fetched.value.headers.get("hx-request") == "true"

    detail = page.locator("#cell-detail")
    expect(detail).to_contain_text("Position history")
    expect(detail).to_contain_text(re.compile("nothing to talk about", re.IGNORECASE))
    expect(page).to_have_url(f"{base_url}{CELL_PATH}")
    # A partial swap, not a navigation: the matrix and the page's JS state are still there, and
    # the fragment did not bring a second copy of the page's chrome along.
    expect(page.locator("#matrix table.matrix")).to_be_visible()
    assert page.evaluate("window.__marker") == 1
    expect(page.locator("header.site-header")).to_have_count(1)
    expect(page.locator("#cell-detail")).to_have_count(1)

    # Back: htmx re-fetches the previous URL as a full page (no client-side cache) and swaps it in.
    def is_restore(request: Request) -> bool:
        return request.headers.get("hx-history-restore-request") == "true"

    with page.expect_request(is_restore) as restore:
        page.go_back()
    assert restore.value.url == f"{base_url}/?as_of={AS_OF}"
    assert "hx-request" not in restore.value.headers
    expect(page).to_have_url(f"{base_url}/?as_of={AS_OF}")
    expect(page.locator("#matrix table.matrix")).to_be_visible()
    expect(page.locator("#matrix")).to_have_count(1)
    expect(page.locator("header.site-header")).to_have_count(1)
    expect(page.locator("#cell-detail")).to_be_empty()
    assert page.evaluate("window.__marker") == 1


def test_cell_link_works_without_javascript(new_page: NewPage, base_url: str) -> None:
    page = new_page(javascript=False)
    _open_matrix(page)

    with page.expect_request(lambda r: "/cells/" in r.url) as fetched:
        page.get_by_role("link", name=UA_CRIMEA, exact=True).click()
    assert fetched.value.is_navigation_request()
    assert "hx-request" not in fetched.value.headers

    expect(page).to_have_url(f"{base_url}{CELL_PATH}")
    expect(page).to_have_title(re.compile(r"^Ukraine on Crimea recognition\b"))
    expect(page.locator("header.site-header")).to_be_visible()
    expect(page.locator("#cell-detail")).to_contain_text("Position history")
    expect(page.locator("#cell-detail")).to_contain_text(
        re.compile("nothing to talk about", re.IGNORECASE)
    )


@pytest.mark.parametrize("javascript", [True, False], ids=["htmx", "no-js"])
def test_as_of_form_moves_the_matrix_in_time(
    new_page: NewPage, base_url: str, javascript: bool
) -> None:
    page = new_page(javascript=javascript)
    _open_matrix(page)
    us_crimea = page.locator('#matrix a.cell-link[href^="/cells/us/crimea-recognition?"]')
    # The compact cell's label: the stance, then its markers in words (here: unconfirmed).
    expect(us_crimea).to_have_attribute(
        "aria-label", re.compile(r"^United States on Crimea recognition: Accepts(;|$)")
    )
    if javascript:
        page.evaluate("window.__marker = 1")

    page.locator("#as_of").fill(BEFORE_US_PLAN)
    with page.expect_request(lambda r: f"as_of={BEFORE_US_PLAN}" in r.url) as submitted:
        page.get_by_role("button", name="Show", exact=True).click()
    if javascript:
        assert submitted.value.resource_type == "fetch", "the form navigated instead of using htmx"
        assert submitted.value.headers.get("hx-request") == "true"
    else:
        assert submitted.value.is_navigation_request()

    expect(page).to_have_url(re.compile(rf"[?&]as_of={BEFORE_US_PLAN}(&|$)"))
    expect(us_crimea).to_have_attribute("aria-label", re.compile("no recorded position"))
    expect(us_crimea).to_have_attribute("href", re.compile(rf"as_of={BEFORE_US_PLAN}"))
    expect(page.locator("#matrix .as-of time").first).to_have_attribute("datetime", BEFORE_US_PLAN)
    expect(page.locator("#matrix")).to_have_count(1)
    expect(page.locator("#as_of")).to_have_value(BEFORE_US_PLAN)
    if javascript:
        assert page.evaluate("window.__marker") == 1, "the form caused a full page load"


def test_pages_have_no_console_errors(page: Page) -> None:
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            problems.append(f"{page.url}: console error: {message.text} ({message.location})")

    def on_page_error(error: Error) -> None:
        problems.append(f"{page.url}: uncaught: {error}")

    def on_request_failed(request: Request) -> None:
        # A navigation cancels loads still in flight (e.g. the favicon): not an error of the page.
        if request.failure != "net::ERR_ABORTED":
            problems.append(f"{page.url}: request failed: {request.url} {request.failure}")

    def on_response(response: Response) -> None:
        if response.status >= 400:
            problems.append(f"{page.url}: {response.status} for {response.url}")

    page.on("console", on_console)
    page.on("pageerror", on_page_error)
    page.on("requestfailed", on_request_failed)
    page.on("response", on_response)

    for path in ["/", CELL_PATH, "/issues/ceasefire", "/parties/ru"]:
        response = page.goto(path, wait_until="load")
        assert response is not None and response.status == 200, path
        expect(page.locator("header.site-header")).to_be_visible()

    # htmx's own work (a swap, a pushed URL, a history restore) must not log errors either.
    _open_matrix(page)
    page.get_by_role("link", name=UA_CRIMEA, exact=True).click()
    expect(page.locator("#cell-detail")).to_contain_text("Position history")
    page.go_back()
    expect(page.locator("#cell-detail")).to_be_empty()

    assert not problems, "\n".join(problems)


def test_screenshot_matrix_and_cell(page: Page, backend: str) -> None:
    """Screenshots for humans to look at (tests/_artifacts/ is git-ignored)."""
    ARTIFACTS.mkdir(exist_ok=True)
    matrix_png = ARTIFACTS / f"matrix-{backend}.png"
    cell_png = ARTIFACTS / f"cell-{backend}.png"
    for stale in (matrix_png, cell_png):
        stale.unlink(missing_ok=True)

    _open_matrix(page)
    page.screenshot(path=matrix_png, full_page=True)
    page.get_by_role("link", name=UA_CRIMEA, exact=True).click()
    expect(page.locator("#cell-detail")).to_contain_text("Position history")
    page.locator("#cell-detail").scroll_into_view_if_needed()
    page.screenshot(path=cell_png, full_page=True)

    for png in (matrix_png, cell_png):
        data = png.read_bytes()
        assert data.startswith(PNG_SIGNATURE), png
        assert len(data) > 10_000, f"{png} is suspiciously small ({len(data)} bytes)"
