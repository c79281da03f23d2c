"""Which data versions a view was asked for: the rule by which a worker keeps data of its own
per data version (the unassessed days, the held stored runs).

The first view of a version after a write reads only what it needs from the database (a first
view after a write stays fast, and a view inside a transaction with its own changes, whose
number is never asked again, costs nothing more); from the second on, the worker loads what it
keeps for that version.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

REMEMBERED = 64
"""Versions remembered (the newest)."""


class VersionsAsked:
    """Thread-safe: `asked_before(version)` is False the first time a version is asked about."""

    def __init__(self) -> None:
        self._asked: OrderedDict[int, None] = OrderedDict()
        self._lock = threading.Lock()

    def asked_before(self, version: int) -> bool:
        """Whether this version was asked about before (and remember that it was now)."""
        with self._lock:
            if version in self._asked:
                return True
            self._asked[version] = None
            if len(self._asked) > REMEMBERED:
                self._asked.popitem(last=False)
            return False
