"""The API docs work offline: Swagger UI and ReDoc come from our own static files, in headless
Chromium with every request to another origin refused, and nothing breaks their policy."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Route

from tests.e2e_support import chromium, run_cli, serve

pytestmark = pytest.mark.e2e

TIMEOUT_MS = 20_000
REDOCLY_BADGE = "https://cdn.redoc.ly/redoc/logo-mini.svg"
"""ReDoc's "API docs by Redocly" badge points at Redocly's CDN: the policy blocks it, and ReDoc
then leaves the image out."""


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    workdir = tmp_path_factory.mktemp("docs")
    url = f"sqlite:///{workdir / 'docs.db'}"
    run_cli(url, "db", "upgrade")
    with serve(url, workdir) as server:
        yield server


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.mark.parametrize(
    ("path", "rendered"),
    [
        ("/docs", "#swagger-ui .opblock-summary-path"),  # one row per API operation
        ("/redoc", "redoc [data-section-id^='operation/']"),
    ],
)
def test_api_docs_render_without_the_internet(
    base_url: str, browser: Browser, path: str, rendered: str
) -> None:
    own = urlsplit(base_url).netloc
    elsewhere: list[str] = []
    problems: list[str] = []

    def only_our_own(route: Route) -> None:
        if urlsplit(route.request.url).netloc in {own, ""} or route.request.url.startswith(
            ("blob:", "data:")
        ):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    def watch(message: ConsoleMessage) -> None:
        if message.type == "error" or "Content Security Policy" in message.text:
            problems.append(message.text)

    context = browser.new_context()
    try:
        context.route("**/*", only_our_own)
        page = context.new_page()
        page.on("console", watch)
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.goto(base_url + path)
        page.wait_for_selector(rendered, timeout=TIMEOUT_MS)
        assert page.locator(rendered).count() > 5
        assert "peacetalks" in page.title()
    finally:
        context.close()
    assert elsewhere == []
    refused = [p for p in problems if "Content Security Policy" in p and REDOCLY_BADGE not in p]
    assert refused == [], problems


def test_the_vendored_files_are_the_pinned_releases() -> None:
    from app.config import PROJECT_ROOT
    from app.routes import docs

    vendor = PROJECT_ROOT / "static" / "vendor"
    swagger = vendor / f"swagger-ui-{docs.SWAGGER_UI_VERSION}"
    redoc = vendor / f"redoc-{docs.REDOC_VERSION}"
    for folder, files in [
        (swagger, ["swagger-ui-bundle.js", "swagger-ui.css", "LICENSE", "NOTICE"]),
        (redoc, ["redoc.standalone.js", "LICENSE"]),
    ]:
        for name in files:
            assert (folder / name).stat().st_size > 0, folder / name
    assert f'PACKAGE_VERSION:"{docs.SWAGGER_UI_VERSION}"' in _text(swagger / "swagger-ui-bundle.js")
    assert f'"{docs.REDOC_VERSION}"' in _text(redoc / "redoc.standalone.js")


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace")
