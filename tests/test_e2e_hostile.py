"""In Chromium: a dataset whose every text field holds an XSS/template-injection payload, walked
page by page (the payload shows as text, nothing runs, nothing is fetched, no CSP violation, no
console error), and axe-core on the main pages (no serious or critical violations)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.conftest import scratch_database
from tests.e2e_support import chromium, migrate_and_seed, run_cli, serve

pytestmark = pytest.mark.e2e

PAYLOAD = '"><script>alert(1)</script><img src=x onerror=alert(1)> {{7*7}} <div hx-get="/x" hx-trigger="load">'
SHORT = '"><img src=x onerror=alert(1)>'
AXE = Path(__file__).resolve().parent / "vendor" / "axe-core-4.14.1.min.js"
ARTIFACTS = Path(__file__).resolve().parent / "_artifacts"
EMAIL, PASSWORD = "a11y@example.org", "correct horse battery"


def _payload_file(path: Path) -> Path:
    document = {
        "parties": [{"slug": "hostile", "name": PAYLOAD, "short_name": SHORT, "kind": "state", "sort_order": 90}],
        "issues": [{"slug": "hostile-issue", "title": SHORT, "proposition": PAYLOAD, "description": PAYLOAD,
                    "sort_order": 90}],
        "speakers": [{"name": PAYLOAD, "role": PAYLOAD, "party": "hostile"}],
        "sources": [{"url": "https://example.org/?q=%22%3E%3Cscript%3E", "title": PAYLOAD, "outlet": PAYLOAD,
                     "published_on": "2025-04-20", "kind": "news_report", "tier": "on_record"}],
        "quotes": [{"ref": "h1", "text": PAYLOAD, "kind": "direct", "said_on": "2025-04-20", "speaker": PAYLOAD,
                    "party": "hostile", "source": "https://example.org/?q=%22%3E%3Cscript%3E", "status": "reported",
                    "note": PAYLOAD, "issues": [{"issue": "hostile-issue", "stance": "conditional"},
                                                {"issue": "ceasefire", "stance": "rejects"}]}],
        "positions": [{"party": "hostile", "issue": "hostile-issue", "stance": "conditional", "condition": PAYLOAD,
                       "effective_from": "2025-04-20", "rationale": PAYLOAD, "evidence": ["h1"]},
                      {"party": "hostile", "issue": "ceasefire", "stance": "rejects",
                       "effective_from": "2025-04-21", "rationale": PAYLOAD, "evidence": ["h1"]}],
    }  # fmt: skip
    path.write_text(json.dumps(document))
    return path


@pytest.fixture(scope="module")
def base_url(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    workdir = tmp_path_factory.mktemp(f"hostile-{backend}")
    with scratch_database(backend, workdir) as url:
        migrate_and_seed(url)
        for args, stdin in (
            (["import", str(_payload_file(workdir / "payload.json"))], ""),
            (
                ["users", "create", "--email", EMAIL, "--name", "Ally", "--role", "admin"],
                PASSWORD + "\n",
            ),
        ):
            run_cli(url, *args, stdin=stdin)
        with serve(url, workdir) as server:
            yield server


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


PAGES = [
    "/?as_of=2025-04-23&since=2025-04-19",
    "/cells/hostile/hostile-issue?as_of=2025-04-23",
    "/cells/hostile/ceasefire?as_of=2025-04-23",
    "/parties/hostile?as_of=2025-04-23",
    "/issues/hostile-issue?as_of=2025-04-23",
    "/issues/ceasefire?as_of=2025-04-23",
    "/quotes?q=alert",
    "/quotes?party=hostile",
    "/compare?a=hostile&b=ua&as_of=2025-04-23",
    "/changes?from=2025-04-01&to=2025-04-30",
    "/briefing?as_of=2025-04-23&parties=hostile,ua&issues=hostile-issue,ceasefire",
    "/login",
]
EDITOR_PAGES = [
    "/quotes/new",
    "/positions/new?party=hostile&issue=hostile-issue",
    "/audit",
    "/manage/parties",
]


def _watch(page: Page) -> dict[str, list[str]]:
    seen: dict[str, list[str]] = {
        "dialogs": [],
        "x_requests": [],
        "console": [],
        "page_errors": [],
        "failed": [],
    }
    page.on("dialog", lambda d: (seen["dialogs"].append(d.message), d.dismiss()))
    page.on(
        "request",
        lambda r: seen["x_requests"].append(r.url) if r.url.rstrip("/").endswith("/x") else None,
    )
    page.on("console", lambda m: seen["console"].append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: seen["page_errors"].append(str(e)))
    page.on(
        "response",
        lambda r: seen["console"].append(f"{r.status} {r.url}") if r.status >= 400 else None,
    )
    page.add_init_script(
        "document.addEventListener('securitypolicyviolation',"
        " e => (window.__csp = window.__csp || []).push(e.violatedDirective + ' ' + e.blockedURI));"
    )
    return seen


def _log_in(page: Page) -> None:
    page.goto("/login")
    page.get_by_label("Email", exact=True).fill(EMAIL)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("header.site-header")).to_contain_text("Ally (admin)")


def test_payload_is_text_everywhere_nothing_runs_and_no_csp_violation(
    browser: Browser, base_url: str
) -> None:
    context = browser.new_context(base_url=base_url)
    page = context.new_page()
    seen = _watch(page)
    for path in PAGES + ["__login__"] + EDITOR_PAGES:
        if path == "__login__":
            _log_in(page)
            continue
        response = page.goto(path)
        assert response is not None and response.status == 200, path
        page.wait_for_load_state("networkidle")
        if path != "/login" and not path.startswith(("/quotes/new", "/positions/new", "/manage")):
            assert "onerror=alert(1)" in page.inner_text("body"), path  # shown as text
        assert page.locator('img[src="x"]').count() == 0, path
        assert page.locator('div[hx-get="/x"]').count() == 0, path
        assert page.evaluate("window.__csp || []") == [], path
        name = "".join(c if c.isalnum() else "-" for c in path)[:60]
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"hostile{name}.png"), full_page=True)
    # htmx fragments too: open the hostile cell in place from the matrix.
    page.goto("/?as_of=2025-04-23")
    page.locator('a.cell-link[href^="/cells/hostile/hostile-issue"]').click()
    expect(page.locator("#cell-detail")).to_contain_text("{{7*7}}")
    page.wait_for_load_state("networkidle")
    assert page.locator('img[src="x"]').count() == 0
    assert seen["dialogs"] == [] and seen["x_requests"] == [], seen
    assert seen["page_errors"] == [], seen
    assert seen["console"] == [] and seen["failed"] == [], seen
    context.close()


def _axe(page: Page) -> list[dict[str, object]]:
    page.evaluate(AXE.read_text())
    result = page.evaluate(
        "async () => (await axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21aa']}}))"
        ".violations.map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.length,"
        " target: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))"
    )
    return [v for v in result if v["impact"] in {"serious", "critical"}]


@pytest.mark.parametrize("size", [(1440, 900), (390, 844)], ids=["wide", "phone"])
@pytest.mark.parametrize(
    "path",
    ["/?as_of=2025-04-23&since=2025-04-20", "/?as_of=2025-04-23&view=detailed",
     "/cells/ua/crimea-recognition?as_of=2025-04-23", "/quotes?q=ceasefire", "/quotes/new",
     "/briefing?as_of=2025-04-23", "/changes", "/compare?parties=us,ua,ru&as_of=2025-04-23",
     "/issues/crimea-recognition", "/parties/ua?as_of=2025-04-23", "/speakers/1", "/documents",
     "/documents/us-proposal-paris-2025-04", "/rounds", "/rounds/paris-2025-04-17"],
)  # fmt: skip
def test_main_pages_pass_axe(
    browser: Browser, base_url: str, path: str, size: tuple[int, int]
) -> None:
    viewport = {"width": size[0], "height": size[1]}
    context = browser.new_context(base_url=base_url, bypass_csp=True, viewport=viewport)
    page = context.new_page()
    if path == "/quotes/new":
        _log_in(page)
    response = page.goto(path)
    assert response is not None and response.status == 200, path
    assert _axe(page) == []
    context.close()


def test_matrix_is_navigable_by_keyboard(browser: Browser, base_url: str) -> None:
    context = browser.new_context(base_url=base_url)
    page = context.new_page()
    page.goto("/?as_of=2025-04-23")
    target = "Ukraine on Crimea recognition: Rejects"
    for _ in range(200):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.getAttribute('aria-label')") == target:
            break
    else:
        pytest.fail("Tab never reached the Ukraine x Crimea cell")
    page.keyboard.press("Enter")
    expect(page.locator("#cell-detail")).to_contain_text("Position history")
    context.close()


@pytest.mark.parametrize(
    "path",
    ["/api/v1/matrix?as_of=2025-04-23", "/api/v1/quotes?party=hostile", "/api/v1/parties",
     "/api/v1/issues", "/api/v1/speakers", "/api/v1/sources", "/api/v1/positions?party=hostile",
     "/api/v1/changes?from=2025-04-01&to=2025-04-30", "/feeds/parties/hostile.atom",
     "/exports/quotes.csv?party=hostile"],
)  # fmt: skip
def test_payload_in_the_api_feeds_and_exports_is_data(base_url: str, path: str) -> None:
    import urllib.request

    with urllib.request.urlopen(base_url + path, timeout=30) as response:
        body = response.read().decode("utf-8")
        kind = response.headers["content-type"]
    if kind.startswith("application/json"):
        assert {PAYLOAD, SHORT} & set(_strings(json.loads(body))), path  # the exact text, as data
    elif "atom" in kind:
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body and "<script>" not in body
    else:
        assert "onerror=alert(1)" in body  # CSV: text, quoted by the csv module


def test_payload_in_the_briefing_pdf_is_text(base_url: str) -> None:
    import io
    import urllib.request

    from pypdf import PdfReader

    url = f"{base_url}/briefing.pdf?as_of=2025-04-23&parties=hostile&issues=hostile-issue"
    with urllib.request.urlopen(url, timeout=120) as response:
        pdf = response.read()
    text = " ".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "alert(1)" in text and "{{7*7}}" in text


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []
