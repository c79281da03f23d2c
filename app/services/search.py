"""Quote search: full-text (PostgreSQL tsvector, SQLite FTS5) with filters, best match first, paginated.

The query language is the one people type into web search boxes: words (all must match),
"quoted phrases", OR between alternatives, and -word to exclude. Any input is accepted: what
cannot be understood is dropped, so a search returns results or none, never an error.

What is searched: a quote's text and note, and who said it, for whom, on what and where (the
speaker's name and role, the party's name and short name, the titles of the issues it is
tagged with, the source's outlet and title). Database triggers keep that document current
(migration 999e27deeea4), so renaming a speaker or retagging a quote is searchable at once.

How words match, the same on both databases:
- Case and accents do not matter, in the index and in the query alike: PostgreSQL's
  `peacetalks_search` configuration runs words through unaccent, SQLite's tokenizer removes
  diacritics.
- Words are stemmed (English) and no word is a stop word, so "it but there are" is a phrase
  like any other.
- Transliterated names: a word ending in one of NAME_ENDINGS after at least three letters
  whose last is a consonant (Zelensky, Zelenskyy, Zelenskiy, Zelenskii, Zelenskyi, Zelenskij,
  Zelenskyj) stands for every spelling with the same stem and any of those endings. The index
  keeps words as written and a query word is expanded to all of them; ordinary words gain
  only spellings that do not occur, so nothing else widens.
- Numbers: a number of four or more digits, typed plain or grouped by thousands with commas,
  dots or spaces (800000, 800,000, 800.000, "800 000"), matches every one of those writings.
- Highlighting marks every spelling a word was expanded to.

Order: by relevance when there are words to rank by (PostgreSQL ts_rank_cd, SQLite bm25; the
quote's text weighs most, then the who/what/where part, then the note), newest first among
equals. Only the newest RANK_WINDOW matches are ranked (on PostgreSQL, when fewer are among the
newest SCAN_FIRST quotes, those found there) and older ones follow newest first, so the cost
of ranking does not grow with the number of matches (a common word matches a good part
of a million quotes). `sort=date` (or a search without words) orders every match newest first.
"""

from __future__ import annotations

import base64
import binascii
import enum
import functools
import itertools
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    Integer,
    Select,
    bindparam,
    exists,
    func,
    literal,
    literal_column,
    null,
    select,
    text,
    tuple_,
    union_all,
)
from sqlalchemy.orm import Session

from app.models import (
    Issue,
    Party,
    Quote,
    QuoteIssue,
    QuoteKind,
    QuoteStatus,
    Source,
    SourceTier,
    Speaker,
    Stance,
)
from app.services import catalog, versioning
from app.services.errors import InvalidParameter
from app.services.held_catalog import Listing
from app.services.quote_views import QuoteView, load_quotes
from app.services.search_query import (
    TEXT_SEARCH_CONFIG,
    ParsedQuery,
    fts5_match,
    parse,
    phrase_pairs,
    tsquery,
)
from app.services.search_texts import PointOf, points_of

PAGE_SIZE = 25
MAX_PAGE = 400


class QuoteSort(enum.StrEnum):
    """How results are ordered: best match first, or newest first."""

    RELEVANCE = "relevance"
    DATE = "date"


@dataclass(slots=True)
class QuoteFilters:
    """What the quote list is narrowed to and how it is ordered; every field optional."""

    q: str = ""
    party: str | None = None
    issue: str | None = None
    speaker: int | None = None
    stance: Stance | None = None
    status: QuoteStatus | None = None
    tier: SourceTier | None = None
    date_from: date | None = None
    date_to: date | None = None
    sort: QuoteSort = QuoteSort.RELEVANCE


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where a page of results starts: right after the quote (`said_on`, `id`) in newest-first
    order (a range of an index, however deep), or `ranked` results into the best-match-first
    part (which holds at most RANK_WINDOW). Opaque to clients: `encode()` and `decode()`."""

    said_on: date | None = None
    id: int | None = None
    ranked: int | None = None

    def encode(self) -> str:
        """The cursor as a short URL-safe token."""
        plain = f"r{self.ranked}" if self.ranked is not None else f"d{self.said_on}:{self.id}"
        return base64.urlsafe_b64encode(plain.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str, *, field: str = "after") -> Cursor:
        """A cursor from its token; InvalidParameter for anything `encode()` did not make."""
        try:
            plain = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
            if plain.startswith("r"):
                ranked = int(plain[1:])
                if 0 < ranked <= RANK_WINDOW:
                    return cls(ranked=ranked)
            elif plain.startswith("d"):
                day, _, number = plain[1:].partition(":")
                return cls(said_on=date.fromisoformat(day), id=int(number))
        except (ValueError, binascii.Error, UnicodeDecodeError):
            pass
        raise InvalidParameter(field, "is not a cursor this API gave (use the next link).")


@dataclass(slots=True)
class QuotePage:
    """One page of results, with what is needed to link the next and previous pages."""

    quotes: list[QuoteView]
    page: int
    has_next: bool
    terms: list[str]
    party: Party | None
    issue: Issue | None
    by_relevance: bool = False
    ranked_all: bool = True
    """False when more quotes matched than the rank window: only the newest were ranked."""
    rank_window: int = 0
    next_after: Cursor | None = None
    """Where the next page starts (None on the last page)."""
    points: dict[int, PointOf] = field(default_factory=dict)
    """The quotes of the page that are a document's points, by quote id: what they are part of."""


RANK_WINDOW = 200
"""Newest matches ranked by relevance; older ones follow newest first (the cost stays bounded)."""

_VECTOR: ColumnElement[Any] = literal_column("quotes.search_vector")
_PAIRS: ColumnElement[Any] = literal_column("quotes.phrase_vector")
"""PostgreSQL: each quote's neighbouring word pairs (revision b7c2e5f9a031)."""
_CONFIG: ColumnElement[Any] = literal_column(f"'{TEXT_SEARCH_CONFIG}'::regconfig")


@dataclass(frozen=True, slots=True)
class _TextMatch:
    """How the words narrow the quotes: FTS5 hits to join, or a condition; and a relevance score."""

    hits: Any = None
    condition: ColumnElement[bool] | None = None
    score: ColumnElement[Any] | None = None
    higher_is_better: bool = True
    tsq: ColumnElement[Any] | None = None
    """PostgreSQL: the tsquery itself (what the vector must match, or must not when `negated`)."""
    negated: bool = False
    pairs: ColumnElement[bool] | None = None
    """PostgreSQL: what a match's word pairs must hold (its phrases' pairs), or None."""
    words: str | None = None
    """PostgreSQL: the tsquery's text of the words alone, without exclusions (None: only
    exclusions)."""

    def narrow(self, stmt: Select[Any]) -> Select[Any]:
        """The statement with the text search applied."""
        if self.hits is not None:
            stmt = stmt.join(self.hits, self.hits.c.id == Quote.id)
        if self.condition is not None:
            stmt = stmt.where(self.condition)
        return stmt


_FTS5_HITS = "SELECT rowid AS id FROM quotes_fts WHERE quotes_fts MATCH :match"
# bm25 weights follow the columns (text, note, meta) as PostgreSQL's weights A, C and B do.
_FTS5_SCORED_HITS = (
    "SELECT rowid AS id, bm25(quotes_fts, 1.0, 0.2, 0.4) AS score "
    "FROM quotes_fts WHERE quotes_fts MATCH :match"
)


def _fts5_hits(match: str, *, scored: bool) -> Any:
    hits = text(_FTS5_SCORED_HITS if scored else _FTS5_HITS).bindparams(bindparam("match", match))
    if scored:
        return hits.columns(id=Integer, score=Float).subquery("hits")
    return hits.columns(id=Integer).subquery("hits")


def _text_match(session: Session, parsed: ParsedQuery, *, scored: bool) -> _TextMatch | None:
    """The text search for this dialect, or None when there are no words."""
    if parsed.empty:
        return None
    postgresql = session.get_bind().dialect.name == "postgresql"
    if not parsed.clauses:  # only exclusions: anything that has none of them
        if postgresql:
            negatives = func.to_tsquery(_CONFIG, bindparam("tsq", tsquery([parsed.excluded], [])))
            return _TextMatch(
                condition=~_VECTOR.op("@@", is_comparison=True)(negatives),
                tsq=negatives,
                negated=True,
            )
        excluded = _fts5_hits(fts5_match([parsed.excluded]), scored=False)
        return _TextMatch(condition=Quote.id.not_in(select(excluded.c.id)))
    if postgresql:
        query = func.to_tsquery(_CONFIG, bindparam("tsq", tsquery(parsed.clauses, parsed.excluded)))
        pairs = phrase_pairs(parsed.clauses)
        return _TextMatch(
            pairs=_PAIRS.op("@@", is_comparison=True)(_pairs_query(pairs)) if pairs else None,
            condition=_VECTOR.op("@@", is_comparison=True)(query),
            # Normalisation 1 divides by 1 + log(length): a long document does not win by size.
            score=func.ts_rank_cd(_VECTOR, query, 1) if scored else None,
            tsq=query,
            words=tsquery(parsed.clauses, []),
        )
    hits = _fts5_hits(fts5_match(parsed.clauses, parsed.excluded), scored=scored)
    return _TextMatch(hits=hits, score=hits.c.score if scored else None, higher_is_better=False)


def _pairs_query(pairs: list[list[str]]) -> ColumnElement[Any]:
    """PostgreSQL: a tsquery on word pairs: one spelling of every pair (`&&` of `||`)."""
    params = itertools.count()

    def spelt(text: str) -> ColumnElement[Any]:
        return func.peacetalks_phrase_pairs(bindparam(f"pair{next(params)}", text))

    def either(forms: list[str]) -> ColumnElement[Any]:
        return functools.reduce(lambda a, b: a.op("||")(b), (spelt(f) for f in forms))

    return functools.reduce(lambda a, b: a.op("&&")(b), (either(forms) for forms in pairs))


@dataclass(frozen=True, slots=True)
class _Scope:
    """The quotes the filters allow, and what a newest-first walk over them reads: the quotes by
    day, or, with an issue chosen, that issue's tags, whose copies of the quote's party and day
    put issue, party or stance and day in one index (a range, not every quote filtered)."""

    conditions: list[ColumnElement[bool]]
    tagged: bool = False
    on_quotes: bool = True
    """Whether a condition reads the quotes themselves (speaker, status, tier; any when untagged)."""
    tag_stance: Stance | None = None
    """Untagged: the stance one of a quote's tags must take. Its condition (among `conditions`)
    is checked after the walk over the newest quotes (`newest_vectors`), not in it."""
    tag_check: ColumnElement[bool] | None = None
    """That condition, as `conditions` holds it."""

    @property
    def said_on(self) -> Any:
        """The day the walk orders by."""
        return QuoteIssue.said_on if self.tagged else Quote.said_on

    @property
    def id(self) -> Any:
        """The quote id the walk orders by (after the day)."""
        return QuoteIssue.quote_id if self.tagged else Quote.id

    def newest(self) -> tuple[ColumnElement[Any], ColumnElement[Any]]:
        """Newest first (then the higher id)."""
        return self.said_on.desc(), self.id.desc()

    def select(self, *columns: Any) -> Select[Any]:
        """These columns of the quotes in scope."""
        stmt = select(*columns)
        if self.tagged:
            stmt = stmt.select_from(QuoteIssue).join(Quote, Quote.id == QuoteIssue.quote_id)
        return stmt.where(*self.conditions)

    def after(self, cursor: Cursor) -> _Scope:
        """Only the quotes after the cursor's in newest-first order."""
        assert cursor.said_on is not None and cursor.id is not None  # noqa: S101 - a key cursor
        key = tuple_(self.said_on, self.id) < tuple_(literal(cursor.said_on), literal(cursor.id))
        # The day alone as well: any planner reads it as the index range's end.
        conditions = [*self.conditions, self.said_on <= cursor.said_on, key]
        return replace(self, conditions=conditions)

    def newest_vectors(self, limit: int) -> Any:
        """PostgreSQL: the newest `limit` quotes in scope as (id, said_on, vector). Along an
        issue's tags each vector is read by its quote's key as the walk reaches it, so the
        planner cannot trade the walk for a scan of every quote to join them."""
        if self.tagged and not self.on_quotes:
            vector = select(_VECTOR).select_from(Quote).where(Quote.id == QuoteIssue.quote_id)
            stmt = select(
                QuoteIssue.quote_id.label("id"),
                QuoteIssue.said_on.label("said_on"),
                vector.scalar_subquery().label("vector"),
            ).where(*self.conditions)
        elif self.tag_check is not None:
            # Walking the quotes in scope but for a tag's stance, then checking each one's
            # tags: with the stance in the walk PostgreSQL listed every quote of the party and
            # every tag of that stance (a hash join) to sort them, as the walk's limit is above
            # what it expects to find (316 ms on the large benchmark database; 30 ms so).
            walked = [c for c in self.conditions if c is not self.tag_check]
            walk = (
                select(
                    Quote.id.label("id"), Quote.said_on.label("said_on"), _VECTOR.label("vector")
                )
                .where(*walked)
                .order_by(*self.newest())
                .limit(limit)
                .subquery("walk")
            )
            tag = select(QuoteIssue.quote_id).where(
                QuoteIssue.quote_id == walk.c.id, QuoteIssue.stance == self.tag_stance
            )
            return select(walk).where(exists(tag)).subquery("recent")
        else:
            stmt = self.select(
                self.id.label("id"), self.said_on.label("said_on"), _VECTOR.label("vector")
            )
        return stmt.order_by(*self.newest()).limit(limit).subquery("recent")


def _filter_conditions(
    session: Session, filters: QuoteFilters, listing: Listing | None = None
) -> tuple[_Scope, Party | None, Issue | None]:
    """The scope of every filter but the text; unknown party, issue or speaker is a 400. The
    party and issue are looked up in `listing` (the worker's held catalog) when given, and in
    the database when it does not list them (one made since the listing was read)."""
    conditions: list[ColumnElement[bool]] = []
    tag_check: ColumnElement[bool] | None = None
    party = issue = None
    if filters.party:
        if listing is not None:
            party = next((p for p in listing.parties if p.slug == filters.party), None)
        party = party or catalog.find_party(session, slug=filters.party)
        if party is None:
            raise InvalidParameter("party", f"there is no party '{filters.party[:60]}'.")
    if filters.issue:
        if listing is not None:
            issue = next((i for i in listing.issues if i.slug == filters.issue), None)
        issue = issue or catalog.find_issue(session, slug=filters.issue)
        if issue is None:
            raise InvalidParameter("issue", f"there is no issue '{filters.issue[:60]}'.")
    tagged = issue is not None
    day = QuoteIssue.said_on if tagged else Quote.said_on
    if issue is not None:
        # One tag per quote and issue: walking the issue's tags lists each quote once.
        conditions.append(QuoteIssue.issue_id == issue.id)
        if party is not None:
            conditions.append(QuoteIssue.party_id == party.id)
        if filters.stance is not None:
            conditions.append(QuoteIssue.stance == filters.stance)
    else:
        if party is not None:
            conditions.append(Quote.party_id == party.id)
        if filters.stance is not None:
            tag = select(QuoteIssue.quote_id).where(
                QuoteIssue.quote_id == Quote.id, QuoteIssue.stance == filters.stance
            )
            tag_check = exists(tag)
            conditions.append(tag_check)
    if filters.speaker is not None:
        if session.get(Speaker, filters.speaker) is None:
            raise InvalidParameter("speaker", "there is no such speaker.")
        conditions.append(Quote.speaker_id == filters.speaker)
    if filters.status is not None:
        conditions.append(Quote.status == filters.status)
    if filters.tier is not None:
        conditions.append(Quote.source_id.in_(select(Source.id).where(Source.tier == filters.tier)))
    if filters.date_from is not None:
        conditions.append(day >= filters.date_from)
    if filters.date_to is not None:
        conditions.append(day <= filters.date_to)
    on_quotes = not tagged or any(
        value is not None for value in (filters.speaker, filters.status, filters.tier)
    )
    stance = filters.stance if tag_check is not None else None
    return _Scope(conditions, tagged, on_quotes, stance, tag_check), party, issue


def _ranked_page(
    scope: _Scope,
    match: _TextMatch,
    score: ColumnElement[Any],
    offset: int,
    limit: int,
    window: int,
) -> Select[Any]:
    """The ids of quotes best match first among the newest `window` matches, then older ones
    newest first.

    Each row also carries how many matches were ranked. Ranking every match would read every
    matching row (a common word matches a large part of a million quotes); the window keeps
    the cost to `window` rows plus the page.
    """
    newest = (Quote.said_on.desc(), Quote.id.desc())
    ranked = (
        match.narrow(scope.select(Quote.id, score.label("score")))
        .order_by(*scope.newest())
        .limit(window)
        .cte("ranked")
    )
    parts: list[Select[Any]] = [
        select(ranked.c.id, literal(0).label("part"), ranked.c.score.label("score"))
    ]
    older_needed = offset + limit - window
    if older_needed > 0:
        older = (
            match.narrow(scope.select(Quote.id))
            .where(Quote.id.not_in(select(ranked.c.id)))
            .order_by(*scope.newest())
            .limit(older_needed)
            .subquery("older")
        )
        parts.append(select(older.c.id, literal(1), null()))
    order = (parts[0] if len(parts) == 1 else union_all(*parts)).subquery("ordered")
    best = order.c.score.desc() if match.higher_is_better else order.c.score.asc()
    window_size = select(func.count()).select_from(ranked).scalar_subquery()
    return (
        select(Quote.id, window_size)
        .join(order, order.c.id == Quote.id)
        .order_by(order.c.part, best, *newest)
        .offset(offset)
        .limit(limit)
    )


SCAN_FIRST = 10_000
"""PostgreSQL: how many of the newest quotes (after the other filters) are checked for the words
before the text index is asked for every match instead."""

_LISTED_WORDS = text(
    "SELECT regexp_replace(to_tsquery(CAST(:config AS regconfig), :words)::text,"
    " ' <(-|[0-9]+)> ', ' & ', 'g')::tsquery"
    " @@ array_to_tsvector(most_common_elems::text::text[])"
    " FROM pg_stats WHERE schemaname = current_schema() AND tablename = 'quotes'"
    " AND attname = 'search_vector' AND NOT inherited"
)
"""PostgreSQL: whether the words (phrases read as all their words) can match by the words the
planner's statistics list as common in the quotes' search vectors alone; no row before the
quotes are first analysed."""


UNLISTED_KEPT = 4096
"""Answers of `_words_unlisted` kept per worker (the newest asked)."""
UNLISTED_SECONDS = 600.0
"""How long an answer is kept: the statistics change only when the quotes are analysed."""
_unlisted: OrderedDict[tuple[str, int], tuple[bool, float]] = OrderedDict()
_unlisted_lock = threading.Lock()


def _words_unlisted(session: Session, words: str, version: int | None = None) -> bool:
    """`_words_unlisted_now`, kept per data version (`version`; None or a transaction's own:
    not kept) for UNLISTED_SECONDS: a statement of its own on every search was 8% of a search
    page's processor time. A kept answer may lag an ANALYZE by that long; it only chooses
    between two plans that find the same quotes."""
    if version is None or version >= versioning.PRIVATE_BASE:
        return _words_unlisted_now(session, words)
    key, now = (words, version), time.monotonic()
    with _unlisted_lock:
        kept = _unlisted.get(key)
        if kept is not None and now - kept[1] < UNLISTED_SECONDS:
            _unlisted.move_to_end(key)
            return kept[0]
    answer = _words_unlisted_now(session, words)
    with _unlisted_lock:
        _unlisted[key] = (answer, now)
        _unlisted.move_to_end(key)
        while len(_unlisted) > UNLISTED_KEPT:
            _unlisted.popitem(last=False)
    return answer


def _words_unlisted_now(session: Session, words: str) -> bool:
    """PostgreSQL: whether the words (a tsquery's text, without exclusions) cannot match
    without a word that the statistics of the quotes' search vectors do not list among their
    common ones (up to 1,000 words, each in a fair share of the quotes): then the matches are
    few, and the text index lists them at once, where checking the newest quotes one by one
    would read all SCAN_FIRST of them first (a word in no quote: 22 ms of a 35 ms search on
    the large benchmark database, 3 ms by the index)."""
    listed = session.execute(_LISTED_WORDS, {"config": TEXT_SEARCH_CONFIG, "words": words})
    found = listed.scalar_one_or_none()
    return found is False


def _newest_matches(
    session: Session,
    scope: _Scope,
    match: _TextMatch,
    needed: int,
    enough: int,
    version: int | None = None,
) -> tuple[list[Any], bool]:
    """PostgreSQL: up to the newest `needed` matches as (id, said_on, score), newest first, of
    which at least `enough` (or every match, when there are fewer); and True when they are the
    newest `needed` or every match (False: only those among the newest quotes).

    One statement, two plans, each bounded whatever the words: the newest SCAN_FIRST quotes
    are checked first (fast when matches are common); only when they hold fewer than `enough`
    (matches are rare) does the text index list every match to be sorted. The planner alone
    would walk the date index for a word it guesses common and, for a word in no quote, read
    the whole table. When the words cannot match without one the planner's statistics do not
    list as common (`_words_unlisted`), the text index is asked at once.
    """
    tsq = match.tsq if match.tsq is not None else literal("")
    # The walk over the newest quotes reads the query as a value worked out once (a scalar
    # subquery, which PostgreSQL runs once per statement): written in place, `to_tsquery(...)`
    # of a parameter was parsed and stemmed again for every quote checked once PostgreSQL
    # planned the prepared statement generically, 9 of a word pair's 11 ms (3,400 quotes).
    once = select(tsq).scalar_subquery()

    def matching(vector: ColumnElement[Any], query: Any = tsq) -> ColumnElement[bool]:
        hit = vector.op("@@", is_comparison=True)(query)
        return ~hit if match.negated else hit

    def score(vector: ColumnElement[Any], query: Any = tsq) -> ColumnElement[Any]:
        return func.ts_rank_cd(vector, query, 1) if match.score is not None else null()

    def by_text_index(*when: ColumnElement[bool]) -> Select[Any]:
        """Part 1: the newest `needed` of every match, listed by the text index."""
        hits = (
            scope.select(Quote.id, Quote.said_on)
            .where(matching(_VECTOR), *when)
            # A phrase's word pairs first: the few quotes holding them, not all holding its words.
            .where(*([match.pairs] if match.pairs is not None else []))
            .cte("hits")
            .prefix_with("MATERIALIZED")
        )
        top = (
            select(hits.c.id, hits.c.said_on)
            .order_by(hits.c.said_on.desc(), hits.c.id.desc())
            .limit(needed)
            .subquery("top")
        )
        return select(literal(1).label("part"), top.c.id, top.c.said_on, score(_VECTOR)).join(
            Quote, Quote.id == top.c.id
        )

    if match.words is not None and _words_unlisted(session, match.words, version):
        ordered = by_text_index().subquery("ordered")
        rows = session.execute(
            select(ordered).order_by(ordered.c.said_on.desc(), ordered.c.id.desc())
        ).all()
        return [row[1:] for row in rows], True
    recent = scope.newest_vectors(SCAN_FIRST)
    first = (
        select(recent.c.id, recent.c.said_on, score(recent.c.vector, once).label("score"))
        .where(matching(recent.c.vector, once))
        .order_by(recent.c.said_on.desc(), recent.c.id.desc())
        .limit(needed)
        .cte("first")
        .prefix_with("MATERIALIZED")
    )
    parts = [select(literal(0).label("part"), first.c.id, first.c.said_on, first.c.score)]
    if not match.negated:  # the text index cannot list what lacks a word
        # Run only when the first plan found too few (a one-time filter); MATERIALIZED keeps
        # the order and limit out, so the planner lists the matches by the text index.
        found = select(func.count()).select_from(first).scalar_subquery()
        parts.append(by_text_index(found < enough))
    ordered = union_all(*parts).subquery("ordered")
    rows = session.execute(
        select(ordered).order_by(ordered.c.part, ordered.c.said_on.desc(), ordered.c.id.desc())
    ).all()
    newest_scanned = [row[1:] for row in rows if row[0] == 0]
    if len(newest_scanned) >= enough or match.negated:
        return newest_scanned, len(newest_scanned) >= needed
    return [row[1:] for row in rows if row[0] == 1], True


def _newest_first_page(
    session: Session,
    scope: _Scope,
    match: _TextMatch,
    offset: int,
    limit: int,
    window: int,
    version: int | None = None,
) -> tuple[list[QuoteView], bool, int]:
    """PostgreSQL: a page of matches, the newest `window` best match first (0: newest first),
    older ones after them newest first; whether every match was ranked, and how many were.
    When matches are sparse among the newest quotes, only those found there are ranked."""
    found, complete = _newest_matches(
        session, scope, match, max(window, offset + limit), enough=offset + limit, version=version
    )
    ranked = sorted(found[:window], key=lambda r: (-r[2], -r[1].toordinal(), -r[0]))
    ids = [row[0] for row in [*ranked, *found[window:]][offset : offset + limit]]
    quotes = load_quotes(session, ids)
    ranked_all = window == 0 or (complete and len(ranked) < window)
    return [quotes[i] for i in ids], ranked_all, len(ranked)


def search_quotes(
    session: Session,
    *,
    filters: QuoteFilters,
    page: int = 1,
    page_size: int = PAGE_SIZE,
    rank_window: int = RANK_WINDOW,
    after: Cursor | None = None,
    listing: Listing | None = None,
    version: int | None = None,
) -> QuotePage:
    """Quotes matching the filters, best match (or newest) first, from a page number or from a
    cursor (`after`, the page's `next_after`); an unknown filter value is a 400. `listing`:
    the worker's held catalog, where the party and issue filters are looked up first (each
    was a query per request: a tenth of a quotes API request's processor time); `version`:
    the data version it is of (what `_words_unlisted` keeps its answers by)."""
    if page < 1 or page > MAX_PAGE:
        raise InvalidParameter("page", f"must be between 1 and {MAX_PAGE}.")
    parsed = parse(filters.q)
    scope, party, issue = _filter_conditions(session, filters, listing)
    offset = (page - 1) * page_size
    keyed = after is not None and after.ranked is None
    if after is not None and after.ranked is not None:
        offset = after.ranked
    elif after is not None:
        # Past the ranked part every order is newest first: the rest is an index range.
        scope, offset = scope.after(after), 0
    by_relevance = bool(parsed.clauses) and filters.sort == QuoteSort.RELEVANCE
    match = _text_match(session, parsed, scored=by_relevance and not keyed)
    limit = page_size + 1
    ranked_all, ranked = True, 0
    if match is not None and match.tsq is not None:
        window = rank_window if by_relevance and not keyed else 0
        rows, ranked_all, ranked = _newest_first_page(
            session, scope, match, offset, limit, window, version
        )
        rank_window = ranked or rank_window
    elif match is not None and match.score is not None:
        found = session.execute(
            _ranked_page(scope, match, match.score, offset, limit, rank_window)
        ).all()
        by_id = load_quotes(session, [quote_id for quote_id, _ in found])
        rows = [by_id[quote_id] for quote_id, _ in found]
        ranked = found[0][1] if found else 0
        ranked_all = not found or ranked < rank_window
    else:
        # The page's ids first, then the quotes by id: the walk's statement stays one or two
        # tables for the planner, and loading with the speakers, parties, sources, rounds and
        # answered quotes is one statement text that PostgreSQL plans once (app.db.among).
        stmt = scope.select(scope.id)
        if match is not None:
            stmt = match.narrow(stmt)
        ids = list(session.scalars(stmt.order_by(*scope.newest()).offset(offset).limit(limit)))
        loaded = load_quotes(session, ids)
        rows = [loaded[i] for i in ids]
    shown = rows[:page_size]
    next_after = None
    if len(rows) > page_size:
        end = offset + page_size
        last = shown[-1]
        next_after = Cursor(ranked=end) if end <= ranked else Cursor(last.said_on, last.id)
    provisions = [q.id for q in shown if q.kind == QuoteKind.DOCUMENT_PROVISION]
    return QuotePage(
        quotes=shown,
        page=page,
        has_next=len(rows) > page_size,
        terms=parsed.terms,
        party=party,
        issue=issue,
        by_relevance=by_relevance and not keyed,
        ranked_all=ranked_all,
        rank_window=rank_window,
        next_after=next_after,
        points=points_of(session, quote_ids=provisions),
    )
