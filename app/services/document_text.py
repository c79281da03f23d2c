"""A document's text, point by point: splitting a pasted text by its numbering, matching the
points of a version to its predecessor's, and word-level differences between two points.

Pure functions over strings, no database: app.services.documents stores what they find.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass

_SEP = r"\s*[:.)\-–—]?"
_LABEL = re.compile(
    r"^\s*(?:"
    rf"(?:point|article|section|clause|paragraph)\s+(?P<word>\d{{1,3}}[a-z]?){_SEP}"
    rf"|(?P<annex>annex\s+(?:\d{{1,3}}|[ivxlc]{{1,7}})[a-z]?){_SEP}"
    r"|(?P<number>\d{1,3}[a-z]?)\s*[.)]"
    r"|\((?P<paren>\d{1,3}[a-z]?)\)"
    r")(?:\s+(?P<rest>.*))?$",
    re.IGNORECASE,
)
_ROMAN = re.compile(r"^\s*(?P<roman>[IVXLC]{1,7})\s*[.)](?:\s+(?P<rest>.*))?$")
PREAMBLE = "Preamble"
"""The label given to text before the first numbered point."""


@dataclass(slots=True)
class SplitPoint:
    """A point as the splitter found it: its label as printed and its text."""

    label: str
    text: str


def _label_of(line: str, *, roman: bool) -> tuple[str, str] | None:
    """(label, rest of the line) when `line` starts a point, else None."""
    found = _LABEL.match(line)
    if found:
        label = found["word"] or found["number"] or found["paren"] or found["annex"]
        if found["annex"]:
            label = "Annex " + found["annex"].split(None, 1)[1]
        return label, (found["rest"] or "").strip()
    if roman:
        found = _ROMAN.match(line)
        if found:
            return found["roman"], (found["rest"] or "").strip()
    return None


def split_points(text: str, *, roman: bool = False) -> list[SplitPoint]:
    """Split a pasted text into points by the numbering at the start of its lines ("1.", "2)",
    "6a.", "(7)", "Point 7:", "Annex 2", and with `roman` "IV."); lines without a number
    continue the point above, and text before the first number is a point labelled Preamble."""
    points: list[SplitPoint] = []
    lines: list[str] = []
    label: str | None = None

    def close() -> None:
        body = " ".join(" ".join(lines).split())
        if label is not None or body:
            points.append(SplitPoint(label or PREAMBLE, body))

    for line in text.splitlines():
        start = _label_of(line, roman=roman)
        if start is None:
            if line.strip():
                lines.append(line.strip())
            continue
        close()
        label, first = start
        lines = [first] if first else []
    close()
    return points


# --- Lineage: which point of the predecessor a point continues ---------------------------------

MATCH_THRESHOLD = 0.55
"""How alike two texts must be (difflib's ratio over words) for a point to continue another
under a different label."""
SAME_LABEL_THRESHOLD = 0.3
"""The lower bar for a point under the same label."""


def words(text: str) -> list[str]:
    """The words of a text as compared: split on white space, punctuation kept with its word."""
    return text.split()


def likeness(a: str, b: str) -> float:
    """How alike two texts are, 0 to 1, by their words."""
    return difflib.SequenceMatcher(None, words(a.lower()), words(b.lower()), autojunk=False).ratio()


@dataclass(slots=True)
class Match:
    """A point of the new version (by index) and the predecessor's point it continues, if any."""

    index: int
    predecessor: int | None
    relation: str  # kept, changed or new


def match_points(new: Sequence[tuple[str, str]], old: Sequence[tuple[str, str]]) -> list[Match]:
    """Map each (label, text) of `new` to one of `old`: first the same label with alike text,
    then the most alike text left; identical text is kept, other text changed, no match new.
    Points of `old` that no match names were removed."""
    taken: set[int] = set()
    found: dict[int, int] = {}
    by_label = {label: i for i, (label, _text) in enumerate(old)}
    for index, (label, text) in enumerate(new):
        j = by_label.get(label)
        if j is not None and j not in taken and likeness(text, old[j][1]) >= SAME_LABEL_THRESHOLD:
            found[index] = j
            taken.add(j)
    candidates = sorted(
        (
            (likeness(text, old_text), index, j)
            for index, (_label, text) in enumerate(new)
            if index not in found
            for j, (_old_label, old_text) in enumerate(old)
            if j not in taken
        ),
        key=lambda c: (-c[0], c[1], c[2]),
    )
    for score, index, j in candidates:
        if score < MATCH_THRESHOLD:
            break
        if index in found or j in taken:
            continue
        found[index] = j
        taken.add(j)
    matches = []
    for index, (_label, text) in enumerate(new):
        j = found.get(index)
        if j is None:
            matches.append(Match(index, None, "new"))
        else:
            same = words(text) == words(old[j][1])
            matches.append(Match(index, j, "kept" if same else "changed"))
    return matches


# --- Word-level differences ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Piece:
    """A run of words in a comparison: the same in both, or what one text has instead of the
    other's (`old` → `new`; one of them empty when words were only removed or added)."""

    same: str = ""
    old: str = ""
    new: str = ""

    @property
    def changed(self) -> bool:
        """Whether this run differs between the texts."""
        return bool(self.old or self.new)


def word_diff(old: str, new: str) -> list[Piece]:
    """The differences between two texts word by word ("600,000" → "800,000")."""
    a, b = words(old), words(new)
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    pieces = []
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            pieces.append(Piece(same=" ".join(a[i1:i2])))
        else:
            pieces.append(Piece(old=" ".join(a[i1:i2]), new=" ".join(b[j1:j2])))
    return pieces
