"""The base template context is documented, and every template autoescapes."""

from __future__ import annotations

import re

from starlette.requests import Request

from app import templating
from app.config import PROJECT_ROOT


def test_base_context_keys_are_the_documented_ones() -> None:
    documented = set(re.findall(r"^\| (\w+)\s+\|", templating.__doc__ or "", re.MULTILINE)) - {
        "key"
    }
    request = Request(
        {"type": "http", "method": "GET", "path": "/", "headers": [], "query_string": b""}
    )
    assert set(templating.base_context(request)) == documented == templating.BASE_CONTEXT_KEYS


def test_every_template_autoescapes() -> None:
    env = templating.templates.env
    names = [
        p.relative_to(PROJECT_ROOT / "templates").as_posix()
        for p in (PROJECT_ROOT / "templates").rglob("*.html")
    ]
    assert names
    for name in names:
        template = env.get_template(name)
        assert env.autoescape is True, name
        source = (PROJECT_ROOT / "templates" / name).read_text()
        assert "|safe" not in source.replace(" ", "") and "autoescape false" not in source, name
        assert template is not None


def test_fragments_name_their_swap_target() -> None:
    for path in (PROJECT_ROOT / "templates").rglob("_*.html"):
        if path.name in {"_macros.html", "_forms.html", "_timeline.html"}:
            continue  # macro libraries, not fragments
        head = path.read_text().lstrip()
        assert head.startswith("{#") and "swap" in head.split("#}")[0].lower(), path


def test_templates_import_the_csrf_macro_with_context() -> None:
    # Imported macros do not see the render context unless asked to: csrf() would print an
    # empty token and every plain (no-JavaScript) form post would be refused.
    for path in (PROJECT_ROOT / "templates").rglob("*.html"):
        for line in path.read_text().splitlines():
            if "import" in line and "csrf" in line and "_forms.html" in line:
                assert "with context" in line, f"{path}: {line.strip()}"


# Every place that marks text as safe HTML, reviewed: each builds it from escaped pieces, from
# our own rendered templates, or from a constant. A new one fails this test until reviewed.
REVIEWED_MARKUP = {
    "app/templating.py": 4,  # highlight() (escapes every piece, then adds <mark>); render()
    # placing a cached view's fragment, our own template's output, in its page; soft_hyphens()
    # (escapes the text, then writes each hyphenation point as &shy;)
    "app/services/briefing.py": 1,  # a constant <style> for the PDF's SVG
    "app/cell_markup.py": 1,  # the compact matrix's cells: our own macro's output (cached), with
    # the link's query, escaped, put in for a placeholder
}


def test_markup_is_made_only_in_reviewed_places() -> None:
    found: dict[str, int] = {}
    for path in sorted((PROJECT_ROOT / "app").rglob("*.py")):
        count = len(re.findall(r"\bMarkup\(", path.read_text()))
        if count:
            found[path.relative_to(PROJECT_ROOT).as_posix()] = count
    assert found == REVIEWED_MARKUP
    for path in (PROJECT_ROOT / "templates").rglob("*.html"):
        source = path.read_text()
        assert "|safe" not in source.replace(" ", "") and "Markup" not in source, path
