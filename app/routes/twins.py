"""A data page's twins: the JSON, CSV and Atom addresses that carry the same data as the page.

Each page lists only the twins that exist for it; the page shows them as a "Data: JSON · CSV ·
Atom" line and in `<link rel="alternate">` in its head (macros `twin_line` and `twin_head` in
templates/_macros.html). A twin keeps the page's parameters that it understands and leaves out
the ones the reader did not give, so it follows the same defaults as the page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from urllib.parse import quote, urlencode

JSON = "application/json"
CSV = "text/csv"
ATOM = "application/atom+xml"
LABELS = {JSON: "JSON", CSV: "CSV", ATOM: "Atom"}


@dataclass(frozen=True, slots=True)
class Twin:
    """One machine-readable form of a page: its media type and address."""

    media_type: str
    href: str

    @property
    def label(self) -> str:
        """The word shown for it: JSON, CSV or Atom."""
        return LABELS[self.media_type]


Value = str | date | None


def _twin(media_type: str, path: str, params: list[tuple[str, Value]] | None = None) -> Twin:
    given = [(k, v.isoformat() if isinstance(v, date) else v) for k, v in params or [] if v]
    return Twin(media_type, f"{path}?{urlencode(given, safe=',')}" if given else path)


def _slug(value: str) -> str:
    return quote(value, safe="")


def for_matrix(
    *, as_of: Value, known_on: Value, since: Value, parties: str, issues: str
) -> list[Twin]:
    """The matrix's twins: the matrix API and CSV for the same day and choice of parties and
    issues (`since` only feeds the API, which lists the changes too)."""
    chosen: list[tuple[str, Value]] = [("parties", parties), ("issues", issues)]
    day: list[tuple[str, Value]] = [("as_of", as_of), ("known_on", known_on)]
    return [
        _twin(JSON, "/api/v1/matrix", [*day, ("since", since), *chosen]),
        _twin(CSV, "/exports/matrix.csv", [*day, *chosen]),
    ]


def for_party(slug: str, *, as_of: date | None) -> list[Twin]:
    """The party page's twins: its API object, its positions as CSV, its Atom feed."""
    s = _slug(slug)
    return [
        _twin(JSON, f"/api/v1/parties/{s}", [("as_of", as_of)]),
        _twin(CSV, "/exports/positions.csv", [("party", slug), ("to", as_of)]),
        _twin(ATOM, f"/feeds/parties/{s}.atom"),
    ]


def for_issue(slug: str, *, as_of: date | None) -> list[Twin]:
    """The issue page's twins: its API object, its positions as CSV, its Atom feed."""
    s = _slug(slug)
    return [
        _twin(JSON, f"/api/v1/issues/{s}", [("as_of", as_of)]),
        _twin(CSV, "/exports/positions.csv", [("issue", slug), ("to", as_of)]),
        _twin(ATOM, f"/feeds/issues/{s}.atom"),
    ]


def for_cell(party: str, issue: str, *, as_of: date | None, known_on: date | None) -> list[Twin]:
    """The cell page's twins: its API object, its positions as CSV, its Atom feed."""
    p, i = _slug(party), _slug(issue)
    return [
        _twin(JSON, f"/api/v1/cells/{p}/{i}", [("as_of", as_of), ("known_on", known_on)]),
        _twin(CSV, "/exports/positions.csv", [("party", party), ("issue", issue), ("to", as_of)]),
        _twin(ATOM, f"/feeds/cells/{p}/{i}.atom"),
    ]


def for_compare(slugs: list[str], *, only: str | None, as_of: date | None) -> list[Twin]:
    """The comparison's twin: its API object (there is no CSV or feed of a comparison)."""
    params: list[tuple[str, Value]] = [("parties", ",".join(slugs)), ("only", only)]
    return [_twin(JSON, "/api/v1/compare", [*params, ("as_of", as_of)])]


def for_changes(*, since: Value, until: Value, known_on: Value) -> list[Twin]:
    """The changes page's twins: the changes API for the same window, the Atom feed of changes."""
    params: list[tuple[str, Value]] = [("from", since), ("to", until), ("known_on", known_on)]
    return [_twin(JSON, "/api/v1/changes", params), _twin(ATOM, "/feeds/changes.atom")]


def for_search(params: dict[str, str]) -> list[Twin]:
    """The quote search's twins: the quotes API and CSV with the same filters and order (the
    page number is left out: the API pages by its own page_size)."""
    given: list[tuple[str, Value]] = [(k, v) for k, v in params.items() if k != "page"]
    return [_twin(JSON, "/api/v1/quotes", given), _twin(CSV, "/exports/quotes.csv", given)]


def for_speaker(speaker_id: int) -> list[Twin]:
    """The speaker page's twins: the speaker's API object, their quotes as CSV."""
    return [
        _twin(JSON, f"/api/v1/speakers/{speaker_id}"),
        _twin(CSV, "/exports/quotes.csv", [("speaker", str(speaker_id))]),
    ]
