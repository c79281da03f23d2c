"""The matrix at a glance in a real browser (issue 13), on a year of talks (12 parties, 16 issues):
no page overflows sideways at 1440, 1024 or 390 px; the compact view fits at 1440 px; the header
row and party column stay in place while scrolling; an opened cell shows beside the matrix (below
on a phone), inside the viewport, holding focus, and Escape closes it."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.conftest import scratch_database
from tests.e2e_support import PROJECT_ROOT, chromium, migrate_and_seed, run_cli, serve

pytestmark = pytest.mark.e2e

YEAR = PROJECT_ROOT / "tests" / "fixtures" / "year_2025.yaml"
MATRIX = "/?as_of=2025-12-31&since=2025-11-01"
EMAIL, PASSWORD = "ada@example.org", "correct horse battery"
SIZES = [(1440, 900), (1024, 768), (390, 844)]


@pytest.fixture(scope="module")
def base_url(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    workdir = tmp_path_factory.mktemp(f"glance-{backend}")
    with scratch_database(backend, workdir) as url:
        migrate_and_seed(url)
        run_cli(url, "import", str(YEAR))
        account = ["users", "create", "--email", EMAIL, "--name", "Ada", "--role", "admin"]
        run_cli(url, *account, stdin=PASSWORD + "\n")
        with serve(url, workdir) as server:
            yield server


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


def _page(browser: Browser, base_url: str, width: int, height: int) -> Page:
    context = browser.new_context(base_url=base_url, viewport={"width": width, "height": height})
    context.set_default_timeout(10_000)
    return context.new_page()


def _overflow(page: Page) -> int:
    return int(page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth"))


@pytest.mark.parametrize(("width", "height"), SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_no_page_overflows_sideways(
    browser: Browser, base_url: str, width: int, height: int
) -> None:
    page = _page(browser, base_url, width, height)
    for path in (MATRIX, MATRIX + "&view=detailed", "/cells/ru/nato-membership?as_of=2025-12-31",
                 "/quotes?q=NATO", "/changes", "/compare?parties=us,ua,ru", "/issues/nato-membership",
                 "/parties/ua", "/login", "/briefing?as_of=2025-12-31&since=2025-11-01",
                 "/documents", "/rounds"):  # fmt: skip
        page.goto(path)
        assert _overflow(page) <= 0, (path, width)
    page.context.close()


def test_compact_matrix_fits_at_1440_with_every_column_in_view(
    browser: Browser, base_url: str
) -> None:
    page = _page(browser, base_url, 1440, 900)
    page.goto(MATRIX)
    headers = page.locator("table.matrix.compact thead th")
    assert headers.count() >= 16
    for index in range(headers.count()):
        box = headers.nth(index).bounding_box()
        assert box and box["x"] + box["width"] <= 1440, index
    wrap = page.locator(".table-wrap.compact")
    assert wrap.evaluate("e => e.scrollWidth <= e.clientWidth + 1")
    page.context.close()


def test_header_row_and_party_column_stay_in_place(browser: Browser, base_url: str) -> None:
    page = _page(browser, base_url, 1024, 600)
    page.goto(MATRIX)
    wrap = page.locator(".table-wrap.compact")
    wrap.evaluate("e => { e.scrollLeft = e.scrollWidth; e.scrollTop = e.scrollHeight; }")
    page.wait_for_timeout(100)
    wrap_box = wrap.bounding_box()
    corner = page.locator("table.matrix.compact thead th.corner").bounding_box()
    party = page.locator("table.matrix.compact tbody tr:last-child th").bounding_box()
    assert wrap_box and corner and party
    assert abs(corner["x"] - wrap_box["x"]) < 3 and abs(corner["y"] - wrap_box["y"]) < 3
    assert abs(party["x"] - wrap_box["x"]) < 3
    page.context.close()


@pytest.mark.parametrize(("width", "height"), [(1440, 900), (390, 844)], ids=["wide", "phone"])
def test_an_opened_cell_shows_in_view_holds_focus_and_escape_closes_it(
    browser: Browser, base_url: str, width: int, height: int
) -> None:
    page = _page(browser, base_url, width, height)
    page.goto(MATRIX)
    cell = page.get_by_role("link", name="Russia on NATO membership: Rejects")
    cell.click()
    panel = page.locator("#cell-detail")
    expect(panel).to_contain_text("Russia on NATO membership")
    expect(page).to_have_url(re.compile(r"/cells/ru/nato-membership"))  # a permalink
    box = panel.bounding_box()
    assert box and box["y"] >= 0 and box["y"] < height and box["x"] < width
    assert page.evaluate("document.getElementById('cell-detail').contains(document.activeElement)")
    expect(page.locator("td.selected")).to_have_count(1)
    page.keyboard.press("Escape")
    expect(panel).to_be_empty()
    expect(page.locator("td.selected")).to_have_count(0)
    assert page.evaluate("document.activeElement.getAttribute('aria-label')").startswith(
        "Russia on NATO"
    )
    expect(page).to_have_url(re.compile(r"^(?!.*/cells/)"))
    # The close button does the same.
    cell.click()
    page.get_by_role("button", name="Close the detail").click()
    expect(panel).to_be_empty()
    page.context.close()


def test_phone_navigation_shows_every_link_when_logged_out(browser: Browser, base_url: str) -> None:
    page = _page(browser, base_url, 390, 844)
    page.goto("/")
    for link in page.locator(".site-header nav a").all():
        box = link.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390, link.inner_text()
    page.context.close()


def test_no_editor_or_admin_page_overflows_on_a_phone(browser: Browser, base_url: str) -> None:
    page = _page(browser, base_url, 390, 844)
    page.goto("/login")
    page.get_by_label("Email", exact=True).fill(EMAIL)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("header.site-header")).to_contain_text("Ada (admin)")
    for link in page.locator(".site-header nav a").all():
        box = link.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390, link.inner_text()
    for path in ("/quotes/new", "/positions/new", "/manage", "/manage/parties", "/manage/issues",
                 "/manage/speakers", "/manage/sources", "/manage/users", "/manage/parties/new",
                 "/audit", "/documents/new", "/rounds/new", "/briefing", MATRIX):  # fmt: skip
        page.goto(path)
        assert _overflow(page) <= 0, path
    page.context.close()
