"""Quote search: full-text (PostgreSQL tsvector, SQLite FTS5) with filters, newest first, paginated.

The query language is the one people type into web search boxes: words (all must match),
"quoted phrases", OR between alternatives, and -word to exclude. Any input is accepted: what
cannot be understood is dropped, so a search returns results or none, never an error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import bindparam, exists, select, text
from sqlalchemy.orm import Session

from app.models import (
    Issue,
    Party,
    Quote,
    QuoteIssue,
    QuoteStatus,
    Source,
    SourceTier,
    Speaker,
    Stance,
)
from app.services import catalog
from app.services.errors import InvalidParameter
from app.services.evidence import quote_loading

MAX_QUERY = 1000
"""Characters of a search kept (a longer paste is cut, not refused)."""
PAGE_SIZE = 25
MAX_PAGE = 400

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_TOKEN = re.compile(r'(-?)"([^"]*)"?|(\S+)')
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(slots=True)
class ParsedQuery:
    """A search as clauses: every clause must match; a clause is alternatives (each a phrase)."""

    clauses: list[list[list[str]]] = field(default_factory=list)
    excluded: list[list[str]] = field(default_factory=list)

    @property
    def terms(self) -> list[str]:
        """The words to highlight in results."""
        return [word for clause in self.clauses for phrase in clause for word in phrase]

    @property
    def empty(self) -> bool:
        return not self.clauses and not self.excluded


def clean(query: str) -> str:
    """The query without control characters (NUL breaks PostgreSQL), cut to MAX_QUERY."""
    return _CONTROL.sub(" ", query)[:MAX_QUERY].strip()


def parse(query: str) -> ParsedQuery:
    """Parse web-search syntax into clauses; never fails."""
    parsed = ParsedQuery()
    pending_or = False
    for match in _TOKEN.finditer(clean(query)):
        negate, quoted, bare = match.group(1), match.group(2), match.group(3)
        if bare is not None and bare.upper() == "OR":
            pending_or = bool(parsed.clauses)
            continue
        if bare is not None and bare.startswith("-") and len(bare) > 1:
            negate, bare = "-", bare[1:]
        words = [w.lower() for w in _WORD.findall(quoted if quoted is not None else bare or "")]
        if not words:
            continue
        if negate:
            parsed.excluded.append(words)
            pending_or = False
        elif pending_or:
            parsed.clauses[-1].append(words)
            pending_or = False
        else:
            parsed.clauses.append([words])
    return parsed


def _fts5_phrase(words: list[str]) -> str:
    return '"' + " ".join(w.replace('"', '""') for w in words) + '"'


def fts5_match(clauses: list[list[list[str]]]) -> str:
    """An FTS5 MATCH expression in which every user word is a quoted string (nothing to inject)."""
    parts = []
    for clause in clauses:
        alternatives = [_fts5_phrase(phrase) for phrase in clause]
        parts.append(
            alternatives[0] if len(alternatives) == 1 else "(" + " OR ".join(alternatives) + ")"
        )
    return " AND ".join(parts)


@dataclass(slots=True)
class QuoteFilters:
    """What the quote list is narrowed to; every field optional."""

    q: str = ""
    party: str | None = None
    issue: str | None = None
    speaker: int | None = None
    stance: Stance | None = None
    status: QuoteStatus | None = None
    tier: SourceTier | None = None
    date_from: date | None = None
    date_to: date | None = None


@dataclass(slots=True)
class QuotePage:
    """One page of results, with what is needed to link the next and previous pages."""

    quotes: list[Quote]
    page: int
    has_next: bool
    terms: list[str]
    party: Party | None
    issue: Issue | None


def _text_condition(session: Session, parsed: ParsedQuery, raw: str) -> list[object]:
    conditions: list[object] = []
    if session.get_bind().dialect.name == "postgresql":
        if parsed.clauses:
            conditions.append(
                text("quotes.search_vector @@ websearch_to_tsquery('english', :q)").bindparams(
                    bindparam("q", clean(raw))
                )
            )
        elif parsed.excluded:
            negatives = " OR ".join(" ".join(w) for w in parsed.excluded)
            conditions.append(
                text(
                    "NOT (quotes.search_vector @@ websearch_to_tsquery('english', :neg))"
                ).bindparams(bindparam("neg", negatives))
            )
        return conditions
    if parsed.clauses:
        conditions.append(
            text(
                "quotes.id IN (SELECT rowid FROM quotes_fts WHERE quotes_fts MATCH :match)"
            ).bindparams(bindparam("match", fts5_match(parsed.clauses)))
        )
    if parsed.excluded:
        any_excluded = " OR ".join(_fts5_phrase(phrase) for phrase in parsed.excluded)
        conditions.append(
            text(
                "quotes.id NOT IN (SELECT rowid FROM quotes_fts WHERE quotes_fts MATCH :excluded)"
            ).bindparams(bindparam("excluded", any_excluded))
        )
    return conditions


def search_quotes(
    session: Session, *, filters: QuoteFilters, page: int = 1, page_size: int = PAGE_SIZE
) -> QuotePage:
    """Quotes matching the filters, newest first; unknown party, issue or speaker is a 400."""
    if page < 1 or page > MAX_PAGE:
        raise InvalidParameter("page", f"must be between 1 and {MAX_PAGE}.")
    parsed = parse(filters.q)
    party = issue = None
    stmt = select(Quote)
    if filters.party:
        party = catalog.find_party(session, slug=filters.party)
        if party is None:
            raise InvalidParameter("party", f"there is no party '{filters.party[:60]}'.")
        stmt = stmt.where(Quote.party_id == party.id)
    if filters.issue:
        issue = catalog.find_issue(session, slug=filters.issue)
        if issue is None:
            raise InvalidParameter("issue", f"there is no issue '{filters.issue[:60]}'.")
    if issue is not None or filters.stance is not None:
        tag = select(QuoteIssue.quote_id).where(QuoteIssue.quote_id == Quote.id)
        if issue is not None:
            tag = tag.where(QuoteIssue.issue_id == issue.id)
        if filters.stance is not None:
            tag = tag.where(QuoteIssue.stance == filters.stance)
        stmt = stmt.where(exists(tag))
    if filters.speaker is not None:
        if session.get(Speaker, filters.speaker) is None:
            raise InvalidParameter("speaker", "there is no such speaker.")
        stmt = stmt.where(Quote.speaker_id == filters.speaker)
    if filters.status is not None:
        stmt = stmt.where(Quote.status == filters.status)
    if filters.tier is not None:
        stmt = stmt.where(Quote.source_id.in_(select(Source.id).where(Source.tier == filters.tier)))
    if filters.date_from is not None:
        stmt = stmt.where(Quote.said_on >= filters.date_from)
    if filters.date_to is not None:
        stmt = stmt.where(Quote.said_on <= filters.date_to)
    for condition in _text_condition(session, parsed, filters.q):
        stmt = stmt.where(condition)  # type: ignore[arg-type]
    stmt = (
        stmt.order_by(Quote.said_on.desc(), Quote.id.desc())
        .offset((page - 1) * page_size)
        .limit(page_size + 1)
        .options(*quote_loading())
    )
    rows = list(session.scalars(stmt))
    return QuotePage(
        quotes=rows[:page_size],
        page=page,
        has_next=len(rows) > page_size,
        terms=parsed.terms,
        party=party,
        issue=issue,
    )


def speakers_for_filter(session: Session) -> list[Speaker]:
    """Every speaker by name, with their party, for the speaker filter."""
    from sqlalchemy.orm import selectinload

    return list(
        session.scalars(select(Speaker).order_by(Speaker.name).options(selectinload(Speaker.party)))
    )
