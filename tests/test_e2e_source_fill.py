""" "Fill from URL" in a real browser, with htmx and without JavaScript: the app's server fetches
a page of the local fixture site (FETCH_ALLOW_LOOPBACK is set for it) and the form comes back
filled, with what the editor typed kept."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect

from tests.conftest import scratch_database
from tests.e2e_support import chromium, migrate_and_seed, run_cli, serve
from tests.page_server import FixtureSite, serve_fixture_site

pytestmark = pytest.mark.e2e

EMAIL, PASSWORD = "filler@example.org", "correct horse battery"


@pytest.fixture(scope="module")
def site() -> Iterator[FixtureSite]:
    with serve_fixture_site() as running:
        yield running


@pytest.fixture(scope="module")
def app_url(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A seeded server that may fetch from loopback, with one editor, on `backend`."""
    workdir = tmp_path_factory.mktemp(f"fill-{backend}")
    with scratch_database(backend, workdir) as url, pytest.MonkeyPatch.context() as env:
        migrate_and_seed(url)
        account = ["users", "create", "--email", EMAIL, "--name", "Fay", "--role", "editor"]
        run_cli(url, *account, stdin=PASSWORD + "\n")
        env.setenv("FETCH_ALLOW_LOOPBACK", "true")  # the server's environment is copied from ours
        with serve(url, workdir) as server:
            yield server


@pytest.mark.parametrize("javascript", [True, False], ids=["htmx", "no-js"])
def test_fill_from_url_fills_the_new_source_fields_in_the_browser(
    app_url: str, site: FixtureSite, javascript: bool
) -> None:
    with chromium() as browser:
        _fill_in(browser, app_url, site, javascript=javascript)


def _fill_in(browser: Browser, app_url: str, site: FixtureSite, *, javascript: bool) -> None:
    context = browser.new_context(base_url=app_url, java_script_enabled=javascript)
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto("/login")
    page.get_by_label("Email", exact=True).fill(EMAIL)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("header.site-header")).to_contain_text("Fay (editor)")

    page.goto("/quotes/new")
    page.get_by_label("Quote", exact=True).fill("Typed before filling, kept after.")
    page.get_by_label("Source URL", exact=True).fill(site.url("/news"))
    if javascript:
        page.evaluate("window.stillThisPage = true")
    page.get_by_role("button", name="Fill from URL").click()

    expect(page.get_by_label("Title", exact=True)).to_have_value(
        "Kyiv & Moscow trade ceasefire terms in Istanbul"
    )
    expect(page.get_by_label("Outlet", exact=True)).to_have_value("Example Wire (OpenGraph)")
    expect(page.get_by_label("Published on (source)", exact=True)).to_have_value("2025-05-16")
    expect(page.get_by_label("Source kind", exact=True)).to_have_value("news_report")
    expect(page.get_by_label("Quote", exact=True)).to_have_value(
        "Typed before filling, kept after."
    )
    expect(page.locator("#source_url-note")).to_contain_text("Filled from the page: title")
    if javascript:  # htmx swapped the form in place: the page itself was not reloaded
        assert page.evaluate("window.stillThisPage") is True
    context.close()
