"""A small reader for the app's HTML in tests: a tree of elements, found by tag and attributes,
read as the words a reader sees (no markup, whitespace collapsed)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}


@dataclass
class Element:
    """An element with its attributes and children (elements and text, in document order)."""

    tag: str
    attrs: dict[str, str]
    children: list[Element | str] = field(default_factory=list)

    def iter(self) -> Iterator[Element]:
        """This element and every element inside it, in document order."""
        yield self
        for child in self.children:
            if isinstance(child, Element):
                yield from child.iter()

    def find_all(self, tag: str, where: Callable[[Element], bool] | None = None) -> list[Element]:
        """Every element inside (or this one) with the tag that `where` accepts."""
        return [e for e in self.iter() if e.tag == tag and (where is None or where(e))]

    def links(self) -> list[str]:
        """The href of every link inside."""
        return [a.attrs.get("href", "") for a in self.find_all("a")]

    def has_class(self, name: str) -> bool:
        """True when the element's class attribute lists `name`."""
        return name in self.attrs.get("class", "").split()

    def text(self) -> str:
        """The visible words: text pieces joined by spaces, whitespace collapsed, no space
        before punctuation (so "<span>1 quote</span>, not assessed" reads "1 quote, not
        assessed")."""
        pieces: list[str] = []
        self._collect(pieces)
        joined = " ".join(" ".join(pieces).split())
        return re.sub(r" ([,;.:)])", r"\1", joined)

    def _collect(self, pieces: list[str]) -> None:
        if self.tag in {"script", "style"}:
            return
        for child in self.children:
            if isinstance(child, str):
                pieces.append(child)
            else:
                child._collect(pieces)


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(element)
        if tag not in VOID:
            self.stack.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(Element(tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse(html: str) -> Element:
    """The document's tree."""
    builder = _TreeBuilder()
    builder.feed(html)
    builder.close()
    return builder.root


def row_headed_by(root: Element, path: str) -> Element:
    """The one table row whose heading cell (its first th) links to `path` (query ignored)."""
    rows = []
    for tr in root.find_all("tr"):
        heads = [c for c in tr.children if isinstance(c, Element) and c.tag == "th"]
        if heads and any(href.split("?")[0] == path for href in heads[0].links()):
            rows.append(tr)
    assert len(rows) == 1, f"{len(rows)} rows are headed by a link to {path}"
    return rows[0]
