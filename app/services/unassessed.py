"""Counting the quotes of cells that no position assesses yet (the matrix's "3 quotes" cells).

The count as of a day is every quote of the party tagged with the issue, said on or before the
day, not retracted. At a million quotes one count reads every quote of the party, so a matrix
view may pass a `DayTally`: the days of those quotes per cell, read once per data version and
worker (from the second matrix of a version on: the first after a write counts for its own day,
which reads less), from which a count as of any day is a binary search. The version keys it, so
a write (which moves the version on) is never missed.
"""

from __future__ import annotations

import threading
from array import array
from bisect import bisect_right
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import Session

from app.models import Quote, QuoteIssue, QuoteStatus
from app.services.versions_asked import VersionsAsked

Pair = tuple[int, int]


@dataclass(slots=True)
class DayStore:
    """Per data version and cell: the days of its quotes, bounded in bytes (least recently used
    dropped first)."""

    max_bytes: int = 4_000_000
    bytes: int = 0
    _items: OrderedDict[tuple[int, Pair], tuple[array[int], array[int]]] = field(
        default_factory=OrderedDict
    )
    _lock: threading.Lock = field(default_factory=threading.Lock)
    asked: VersionsAsked = field(default_factory=VersionsAsked)
    """The versions a matrix was counted for (app.services.versions_asked)."""

    def get(self, key: tuple[int, Pair]) -> tuple[array[int], array[int]] | None:
        """The cell's days and running counts for this version, or None."""
        with self._lock:
            item = self._items.get(key)
            if item is not None:
                self._items.move_to_end(key)
            return item

    def put(self, key: tuple[int, Pair], days: array[int], totals: array[int]) -> None:
        """Remember a cell's days, dropping the least recently used past the bound."""
        size = 64 + days.itemsize * len(days) + totals.itemsize * len(totals)
        with self._lock:
            if key in self._items:
                return
            self._items[key] = (days, totals)
            self.bytes += size
            while self.bytes > self.max_bytes and self._items:
                _, (old_days, old_totals) = self._items.popitem(last=False)
                self.bytes -= 64 + old_days.itemsize * len(old_days)
                self.bytes -= old_totals.itemsize * len(old_totals)


@dataclass(frozen=True, slots=True)
class DayTally:
    """A store and the data version the view is rendered for."""

    store: DayStore
    version: int


def counts(
    session: Session,
    *,
    as_of: date,
    created_before: datetime | None,
    pairs: list[Pair],
    tally: DayTally | None = None,
) -> dict[Pair, int]:
    """For cells with no position: how many quotes of the party are tagged with the issue (the
    cells with none left out); with `created_before`, only quotes recorded before it."""
    if not pairs:
        return {}
    if tally is None or created_before is not None:
        return _counted(session, as_of=as_of, created_before=created_before, pairs=pairs)
    found = {pair: tally.store.get((tally.version, pair)) for pair in pairs}
    missing = [pair for pair, item in found.items() if item is None]
    if missing and not tally.store.asked.asked_before(tally.version):
        # The first view after a write counts for its own day only (cheaper than every day).
        return _counted(session, as_of=as_of, created_before=None, pairs=pairs)
    if missing:
        stmt = (
            select(Quote.party_id, QuoteIssue.issue_id, Quote.said_on, func.count())
            .join(QuoteIssue, QuoteIssue.quote_id == Quote.id)
            .where(
                Quote.status != QuoteStatus.RETRACTED,
                tuple_(Quote.party_id, QuoteIssue.issue_id).in_(missing),
            )
            .group_by(Quote.party_id, QuoteIssue.issue_id, Quote.said_on)
            .order_by(Quote.party_id, QuoteIssue.issue_id, Quote.said_on)
        )
        days: dict[Pair, tuple[array[int], array[int]]] = {
            pair: (array("i"), array("i")) for pair in missing
        }
        for party_id, issue_id, said_on, count in session.execute(stmt):
            on, totals = days[(party_id, issue_id)]
            on.append(said_on.toordinal())
            totals.append((totals[-1] if totals else 0) + count)
        for pair, (on, totals) in days.items():
            tally.store.put((tally.version, pair), on, totals)
            found[pair] = (on, totals)
    result: dict[Pair, int] = {}
    for pair, item in found.items():
        assert item is not None  # noqa: S101 - filled just above
        on, totals = item
        index = bisect_right(on, as_of.toordinal())
        if index:
            result[pair] = totals[index - 1]
    return result


def _counted(
    session: Session, *, as_of: date, created_before: datetime | None, pairs: list[Pair]
) -> dict[Pair, int]:
    # Read along the tags' cell index (issue, party, day): each cell's range, not its party's
    # every quote; one tag per quote and issue, so counting tags counts quotes.
    stmt = (
        select(QuoteIssue.party_id, QuoteIssue.issue_id, func.count())
        .join(Quote, Quote.id == QuoteIssue.quote_id)
        .where(
            QuoteIssue.said_on <= as_of,
            Quote.status != QuoteStatus.RETRACTED,
            tuple_(QuoteIssue.party_id, QuoteIssue.issue_id).in_(pairs),
        )
        .group_by(QuoteIssue.party_id, QuoteIssue.issue_id)
    )
    if created_before is not None:
        stmt = stmt.where(Quote.created_at < created_before)
    counted = session.execute(stmt)
    return {(p, i): count for p, i, count in counted if p is not None}  # copies are never null
