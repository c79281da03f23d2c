"""The whole quote form from the keyboard alone, in Chromium with htmx: Tab moves through the
fields in the order they are read, every control is reached and worked with keys (typing,
arrows in a list, space on a box, Enter on a button), "Fill from URL" and "Add another issue"
leave focus where the editor goes on from, the speaker is found by typing and chosen with the
arrow keys, and Enter on the save button saves. No mouse, no filling by script."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest
from playwright.sync_api import Page, expect

from tests.e2e_support import chromium
from tests.page_server import FixtureSite
from tests.test_e2e_source_fill import EMAIL, PASSWORD, app_url, site

pytestmark = pytest.mark.e2e

__all__ = ["app_url", "site"]  # fixtures: a seeded server that may fetch the fixture site

TEXT = "Talks on security guarantees can start once a ceasefire holds in the air and at sea."

NATURAL_ORDER = [
    "text", "kind", "status", "said_on", "published_on", "party", "language", "is_translation",
    "confirms_or_denies", "note", "round", "speaker_q", "speaker_id", "new_speaker_name",
    "new_speaker_role", "source_url", "button:Fill from URL", "source_title", "source_outlet",
    "source_published_on", "source_kind", "source_tier", "issue_1", "stance_1", "issue_2", "stance_2", "issue_3", "stance_3", "add-tag",
    "also_record_position", "rationale", "condition", "button:Add quote",
]  # fmt: skip
"""The quote form's controls in the order they stand on the page, as Tab must visit them."""

FOCUSED = """() => {
    const e = document.activeElement;
    if (!e || e === document.body) return "";
    if (e.id) return e.id;
    return e.tagName === "BUTTON" ? "button:" + e.textContent.trim() : e.tagName.toLowerCase();
}"""


@dataclass
class Keys:
    """The keyboard, and where focus has been."""

    page: Page
    pressed: list[str] = field(default_factory=list)

    def focused(self) -> str:
        return str(self.page.evaluate(FOCUSED))

    def press(self, key: str) -> None:
        self.page.keyboard.press(key)
        self.pressed.append(key)

    def tab_to(self, target: str, *, most: int = 4) -> None:
        """Tab forward until `target` has focus, in at most `most` presses: the next control
        wanted is never far ahead, nor behind (which Tab would only reach round the page)."""
        passed = []
        for _ in range(most):
            self.press("Tab")
            now = self.focused()
            if now == target:
                return
            passed.append(now)
        raise AssertionError(f"{target} not reached by Tab; focus went {passed}")

    def type(self, text: str) -> None:
        self.page.keyboard.type(text)
        self.pressed.append(f"type {text!r}")

    def choose(self, value: str) -> None:
        """Move the focused list's choice to `value` with the arrow keys."""
        options: list[str] = self.page.evaluate(
            "() => Array.from(document.activeElement.options).map(o => o.value)"
        )
        assert value in options, (value, options)
        current = int(self.page.evaluate("() => document.activeElement.selectedIndex"))
        steps = options.index(value) - max(current, 0)
        for _ in range(abs(steps)):
            self.press("ArrowDown" if steps > 0 else "ArrowUp")
        assert self.page.evaluate("() => document.activeElement.value") == value


def _log_in(keys: Keys) -> None:
    page = keys.page
    page.goto("/login")
    keys.tab_to("email", most=30)
    keys.type(EMAIL)
    keys.tab_to("password")
    keys.type(PASSWORD)
    keys.press("Enter")
    expect(page.locator("header.site-header")).to_contain_text("(editor)")


@contextmanager
def quote_form_by_keys(app_url: str) -> Iterator[Keys]:
    """An editor logged in by keyboard, on the add-quote form with focus on its first field."""
    with chromium() as browser:
        context = browser.new_context(base_url=app_url, locale="en-US")
        context.set_default_timeout(15_000)
        keys = Keys(context.new_page())
        _log_in(keys)
        keys.page.goto("/quotes/new")
        keys.tab_to("text", most=40)
        yield keys
        context.close()


def test_tab_visits_the_quote_form_in_reading_order(app_url: str) -> None:
    with quote_form_by_keys(app_url) as keys:
        visited = ["text"]
        while visited[-1] != "button:Add quote" and len(visited) < 60:
            keys.press("Tab")
            now = keys.focused()
            if now != visited[-1]:  # Tab steps through a date field's month, day and year
                visited.append(now)
    assert visited == NATURAL_ORDER, visited


def test_the_whole_quote_form_is_filled_and_saved_from_the_keyboard(
    app_url: str, site: FixtureSite
) -> None:
    with quote_form_by_keys(app_url) as keys:
        page = keys.page
        keys.type(TEXT)
        keys.tab_to("kind")
        keys.choose("direct")
        keys.tab_to("said_on", most=2)  # past "status"
        keys.type("06022025")  # month, day, year: the en-US date field
        expect(page.locator("#said_on")).to_have_value("2025-06-02")
        keys.tab_to("party", most=6)  # past the rest of the date and "published on"
        keys.choose("ua")
        keys.tab_to("language")
        if page.locator("#language").input_value() != "en":
            keys.press("Control+a")
            keys.type("en")

        # The speaker: a few letters narrow the party's list to two, Enter goes to the list
        # (it does not submit), and the arrow keys choose.
        keys.tab_to("speaker_q", most=5)
        keys.type("er")
        expect(page.locator("#speaker_id option")).to_have_count(3)  # "—", Yermak, Umerov
        keys.press("Enter")
        assert keys.focused() == "speaker_id"
        keys.choose(
            page.locator("#speaker_id option", has_text="Rustem Umerov").get_attribute("value")
            or ""
        )

        # The source by paste: Enter on "Fill from URL", and focus is still there after it.
        keys.tab_to("source_url", most=4)
        keys.type(site.url("/news"))
        keys.tab_to("button:Fill from URL", most=1)
        keys.press("Enter")
        expect(page.locator("#source_url-note")).to_contain_text("Filled from the page")
        expect(page.locator("#source_title")).to_have_value(
            "Kyiv & Moscow trade ceasefire terms in Istanbul"
        )
        assert keys.focused() == "button:Fill from URL"
        keys.tab_to("source_tier", most=8)  # title, outlet, a date (3 stops), kind
        keys.choose("on_record")

        # Three issue and stance pairs: two of the blank ones offered, and one more added with
        # Enter on "Add another issue", which leaves focus on the new pair's issue.
        keys.tab_to("issue_1", most=1)
        keys.choose("ceasefire")
        keys.tab_to("stance_1", most=1)
        keys.choose("conditional")
        keys.tab_to("issue_2", most=1)
        keys.choose("security-guarantees")
        keys.tab_to("stance_2", most=1)
        keys.choose("accepts")
        keys.tab_to("add-tag", most=3)  # past the third pair, left blank
        keys.press("Enter")
        expect(page.locator("#issue_4")).to_be_visible()
        expect(page.locator("#issue_4")).to_be_focused()
        keys.choose("nato-membership")
        keys.tab_to("stance_4", most=1)
        keys.choose("rejects")

        # Record it as the party's position too (space ticks the box), then save with Enter.
        keys.tab_to("also_record_position", most=2)
        keys.press("Space")
        expect(page.locator("#also_record_position")).to_be_checked()
        keys.tab_to("condition", most=2)
        keys.type("a ceasefire holds in the air and at sea")
        keys.tab_to("button:Add quote", most=1)
        keys.press("Enter")
        expect(page.locator("#flash")).to_contain_text("Quote added to")

        found = page.request.get("/api/v1/quotes", params={"q": '"once a ceasefire holds"'})
        items = found.json()["items"]
    assert len(items) == 1, items
    saved = items[0]
    assert (saved["text"], saved["speaker"], saved["party"]) == (TEXT, "Rustem Umerov", "ua")
    assert saved["said_on"] == "2025-06-02" and saved["kind"] == "direct"
    assert saved["source"]["title"] == "Kyiv & Moscow trade ceasefire terms in Istanbul"
    assert saved["source"]["tier"] == "on_record"
    assert {(t["issue"], t["stance"]) for t in saved["issues"]} == {
        ("ceasefire", "conditional"),
        ("security-guarantees", "accepts"),
        ("nato-membership", "rejects"),
    }


def test_the_error_summary_takes_focus_once_and_lets_the_editor_fix_the_fields(
    app_url: str,
) -> None:
    with quote_form_by_keys(app_url) as keys:
        page = keys.page
        keys.type("Saved with nothing else filled in.")
        keys.tab_to("language", most=14)
        keys.press("Enter")  # in a one-line field, Enter saves (the form's first button)
        summary = page.locator("#error-summary")
        expect(summary).to_be_visible()
        expect(summary).to_be_focused()
        # Fixing the fields: typing in "Find a speaker" swaps the speaker list, and focus
        # stays where the editor types.
        keys.tab_to("speaker_q", most=40)
        keys.type("er")
        expect(page.locator("#speaker_id option")).to_have_count(3)
        assert keys.focused() == "speaker_q"
