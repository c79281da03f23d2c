"""The search's other finds besides quotes: documents by title and rounds of talks by name (or
venue), and, for quotes that are a document's points, which document and point they are.

Documents and rounds are few (tens, hundreds), so their titles and names are read once per
data version (each worker holds them) and matched here, by the quote search's own reading of the words (search_query.parse):
every word (any of its spellings), or one of its OR alternatives, must occur, no excluded one
may; case and accents do not matter and a word matches the start of a longer one ("talk" finds
"talks"). No quote is read: the quote search's bounded plans are untouched.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Document, DocumentParty, DocumentPoint, Party, Round, RoundParty
from app.services.search_query import Phrase, parse

MAX_TEXT_HITS = 20
"""Documents and rounds listed above the quotes at most."""


@dataclass(frozen=True, slots=True)
class TextHit:
    """A document or round whose title or name matched: what it is, its name, where it lives."""

    kind: str
    """"document" or "round"."""
    slug: str
    title: str
    day: date
    detail: str

    @property
    def href(self) -> str:
        """The page of the document or round."""
        return f"/{self.kind}s/{self.slug}"


@dataclass(frozen=True, slots=True)
class PointOf:
    """A quote that is a document's point: the document and the point's label as printed."""

    document_slug: str
    document_title: str
    label: str

    @property
    def href(self) -> str:
        """The point on its document's page."""
        return f"/documents/{self.document_slug}#point-{self.label.replace(' ', '-')}"


def _fold(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text.casefold())
    return " ".join("".join(c for c in plain if not unicodedata.combining(c)).split())


def _words(text: str) -> list[str]:
    return re.findall(r"[^\W_]+|[0-9][0-9,. ]*[0-9]", _fold(text))


def _phrase_in(phrase: Phrase, words: list[str]) -> bool:
    """The phrase's words, in order and side by side, each word starting one of the text's."""
    wanted = [[_fold(s) for s in chunk] for chunk in phrase]
    for start in range(len(words) - len(wanted) + 1):
        if all(
            any(words[start + i].startswith(s) for s in spellings)
            for i, spellings in enumerate(wanted)
        ):
            return True
    return False


def matches(query: str, text: str) -> bool:
    """Whether `text` holds what the search asks for (see the module's docstring)."""
    parsed = parse(query)
    if not parsed.clauses:
        return False
    words = _words(text)
    return all(any(_phrase_in(p, words) for p in clause) for clause in parsed.clauses) and not any(
        _phrase_in(p, words) for p in parsed.excluded
    )


@dataclass(frozen=True, slots=True)
class TextRow:
    """A document or a round as the search reads it: what it is, its name, its days (a
    document's are the day it was tabled), its kind or format, its venue and its parties."""

    kind: str
    slug: str
    title: str
    first_day: date
    last_day: date
    detail: str
    venue: str
    parties: frozenset[int]


def text_rows(session: Session) -> list[TextRow]:
    """Every document and round, newest first (four statements): what `find_texts` matches.
    The worker holds them per data version (app.services.held_catalog)."""
    document_parties: dict[int, set[int]] = {}
    for document_id, party_id in session.execute(
        select(DocumentParty.document_id, DocumentParty.party_id)
    ):
        document_parties.setdefault(document_id, set()).add(party_id)
    round_parties: dict[int, set[int]] = {}
    for round_id, party_id in session.execute(select(RoundParty.round_id, RoundParty.party_id)):
        round_parties.setdefault(round_id, set()).add(party_id)
    rows = [
        TextRow(
            "document", slug, title, day, day, kind.value, "",
            frozenset(document_parties.get(document_id, ())),
        )
        for document_id, slug, title, day, kind in session.execute(
            select(Document.id, Document.slug, Document.title, Document.tabled_on, Document.kind)
        )
    ]  # fmt: skip
    rows += [
        TextRow(
            "round", slug, name, starts, ends, form.value, venue or "",
            frozenset(round_parties.get(round_id, ())),
        )
        for round_id, slug, name, starts, ends, form, venue in session.execute(
            select(Round.id, Round.slug, Round.name, Round.starts_on, Round.ends_on,
                   Round.format, Round.venue)
        )
    ]  # fmt: skip
    rows.sort(key=lambda row: row.slug)
    rows.sort(key=lambda row: row.first_day, reverse=True)
    return rows


def find_texts(
    session: Session,
    *,
    q: str,
    party: Party | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    rows: list[TextRow] | None = None,
) -> list[TextHit]:
    """Documents whose title and rounds whose name or venue match the words, newest first
    (none without words), narrowed to a party's texts and rounds and to the dates: a round
    counts when any of its days falls between them. From `rows` (the worker's held
    `text_rows`) when given, else read now."""
    if not parse(q).clauses:
        return []
    hits: list[TextHit] = []
    for row in text_rows(session) if rows is None else rows:
        if party is not None and party.id not in row.parties:
            continue
        if date_from is not None and row.last_day < date_from:
            continue
        if date_to is not None and row.first_day > date_to:
            continue
        if matches(q, f"{row.title} {row.venue}"):
            hits.append(
                TextHit(
                    row.kind, row.slug, row.title, row.first_day,
                    _detail(row.kind, row.detail, row.first_day, row.venue),
                )
            )  # fmt: skip
            if len(hits) == MAX_TEXT_HITS:
                break
    return hits


def _detail(kind: str, detail: str, day: date, venue: str) -> str:
    value = detail.replace("_", " ")
    when = f"{day.day} {day:%b %Y}"
    if kind == "document":
        return f"{value.capitalize()}, tabled {when}"
    return f"{value.capitalize()}, {when}" + (f", {venue}" if venue else "")


def points_of(session: Session, *, quote_ids: Sequence[int]) -> dict[int, PointOf]:
    """Which of these quotes are documents' points, and of what (one statement; none when no
    id is given)."""
    if not quote_ids:
        return {}
    rows = session.execute(
        select(DocumentPoint.quote_id, Document.slug, Document.title, DocumentPoint.label)
        .join(Document, Document.id == DocumentPoint.document_id)
        .where(DocumentPoint.quote_id.in_(list(quote_ids)))
    )
    return {quote_id: PointOf(slug, title, label) for quote_id, slug, title, label in rows}
