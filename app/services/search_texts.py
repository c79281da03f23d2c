"""The search's other finds besides quotes: documents by title and rounds of talks by name (or
venue), and, for quotes that are a document's points, which document and point they are.

Documents and rounds are few (tens, hundreds), so their titles and names are read in one
statement and matched here, by the quote search's own reading of the words (search_query.parse):
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

from sqlalchemy import String, literal, select, type_coerce, union_all
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


def find_texts(
    session: Session,
    *,
    q: str,
    party: Party | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> list[TextHit]:
    """Documents whose title and rounds whose name or venue match the words, newest first (one
    statement; none without words), narrowed to a party's texts and rounds and to the dates."""
    if not parse(q).clauses:
        return []
    documents = select(
        literal("document").label("kind"), Document.slug, Document.title.label("title"),
        Document.tabled_on.label("day"), type_coerce(Document.kind, String).label("detail"),
        literal("").label("venue"),
    )  # fmt: skip
    meetings = select(
        literal("round"), Round.slug, Round.name, Round.starts_on,
        type_coerce(Round.format, String), Round.venue,
    )  # fmt: skip
    if party is not None:
        documents = documents.where(
            Document.id.in_(
                select(DocumentParty.document_id).where(DocumentParty.party_id == party.id)
            )
        )
        meetings = meetings.where(
            Round.id.in_(select(RoundParty.round_id).where(RoundParty.party_id == party.id))
        )
    if date_from is not None:
        documents = documents.where(Document.tabled_on >= date_from)
        meetings = meetings.where(Round.ends_on >= date_from)
    if date_to is not None:
        documents = documents.where(Document.tabled_on <= date_to)
        meetings = meetings.where(Round.starts_on <= date_to)
    both = union_all(documents, meetings).subquery("texts")
    hits = [
        TextHit(kind, slug, title, day, _detail(kind, detail, day, venue))
        for kind, slug, title, day, detail, venue in session.execute(
            select(both).order_by(both.c.day.desc(), both.c.slug)
        )
        if matches(q, f"{title} {venue}")
    ]
    return hits[:MAX_TEXT_HITS]


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
