"""End to end in Chromium, with and without JavaScript: an editor pastes a 20-point plan, corrects
the split, tags points, saves; enters a revised version; compares the two; reads a round."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.test_e2e_flows import ARTIFACTS, _log_in, _page, base_url, browser

pytestmark = pytest.mark.e2e

__all__ = ["base_url", "browser"]  # the module's fixtures, shared

PLAN = "\n".join(
    ["Framework for ending the war (draft as leaked)"]
    + [
        f"{n}. Provision {n}: the parties will settle matter number {n} in good faith."
        for n in range(1, 21)
        if n not in {6, 7}
    ]
)
PLAN = PLAN.replace(
    "5. Provision 5: the parties will settle matter number 5 in good faith.",
    "5. Provision 5: the parties will settle matter number 5 in good faith.\n"
    "6. The Armed Forces of Ukraine are limited to 600,000 personnel.\n"
    "7. Ukraine agrees to enshrine in its constitution that it will not join NATO,\n"
    "and NATO agrees not to admit Ukraine in the future.",
)


def _fill_details(page: Page, *, title: str, slug: str) -> None:
    page.locator("#title").fill(title)
    page.locator("#slug").fill(slug)
    page.locator("#kind").select_option("plan")
    page.locator("#status").select_option("leaked")
    page.locator("#tabled_on").fill("2025-11-20")
    page.locator("#party_us").select_option("authoring")
    page.locator("#source_url").fill("https://peacetalks.invalid/seeds/000_f42f69482efc36bc")


@pytest.mark.parametrize("javascript", [True, False], ids=["htmx", "no-js"])
def test_editor_enters_a_plan_and_a_revision_and_compares_them(
    browser: Browser, base_url: str, javascript: bool, backend: str
) -> None:
    suffix = "js" if javascript else "nojs"
    page = _page(browser, base_url, javascript=javascript)
    _log_in(page)
    page.goto("/documents/new")
    _fill_details(page, title=f"US 28-point plan ({suffix})", slug=f"plan-28-{suffix}")
    page.locator("#text").fill(PLAN)
    page.get_by_role("button", name="Split into points").click()
    # The title line became a Preamble point, and point 7's second line its continuation.
    expect(page.locator("#label_1")).to_have_value("Preamble")
    expect(page.locator("#text_8")).to_have_value(re.compile(r"not join NATO, and NATO agrees"))
    expect(page.locator("ol.point-fields > li")).to_have_count(21)
    page.locator("#drop_1").check()  # correct the split: the preamble is not a point
    page.locator("#label_21").fill("20 (final)")
    page.locator("#issue_8_1").select_option("nato-membership")
    page.locator("#stance_8_1").select_option("rejects")
    page.locator("#issue_7_1").select_option("security-guarantees")
    page.locator("#stance_7_1").select_option("ambiguous")
    page.get_by_role("button", name="Save document").click()
    expect(page).to_have_url(re.compile(rf"/documents/plan-28-{suffix}$"))
    expect(page.locator("ol.points > li")).to_have_count(20)
    expect(page.locator("ol.points")).to_contain_text("NATO membership: rejects")

    page.get_by_role("link", name="Enter a new version of this document").click()
    expect(page.locator("#derived_from")).to_have_value(f"plan-28-{suffix}")
    _fill_details(page, title=f"US 19-point plan ({suffix})", slug=f"plan-19-{suffix}")
    page.locator("#text_6").fill("The Armed Forces of Ukraine are limited to 800,000 personnel.")
    page.locator("#drop_20").check()
    page.get_by_role("button", name="Save document").click()
    expect(page).to_have_url(re.compile(rf"/documents/plan-19-{suffix}$"))
    expect(page.locator("#removed + ul")).to_contain_text("20")
    page.get_by_role("link", name="compare with it").click()
    expect(page).to_have_url(re.compile(rf"/documents/plan-28-{suffix}/compare/plan-19-{suffix}"))
    changed = page.locator("tr.row-changed")
    expect(changed).to_have_count(1)
    expect(changed.locator("td.diff")).to_contain_text("600,000 → 800,000")
    expect(page.locator("tr.row-removed")).to_have_count(1)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"compare-{suffix}-{backend}.png"), full_page=True)

    page.goto("/rounds/london-2025-04-23")
    expect(page.locator("article.round")).to_contain_text("Rubio cancelled")
    page.goto("/documents/us-proposal-paris-2025-04")
    expect(page.locator("ol.points > li")).to_have_count(8)
    page.screenshot(path=str(ARTIFACTS / f"document-{suffix}-{backend}.png"), full_page=True)
    page.context.close()
