"""A small in-process cache of rendered views, keyed by their parameters and the data version.

Because the key holds the data version read from the database on each request, a cached view
is never served after a write, in this process or any other; and a view rendered inside a
transaction with changes of its own not yet committed keys on a private number, so no other
reader is ever served it (app.services.versioning).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Hashable


class RenderCache:
    """A thread-safe least-recently-used map of rendered HTML (text, or compressed bytes)."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._items: OrderedDict[Hashable, str | bytes] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> str | bytes | None:
        """The cached text or bytes for `key`, or None."""
        with self._lock:
            value = self._items.get(key)
            if value is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return value

    def put(self, key: Hashable, value: str | bytes) -> None:
        """Remember `value`, dropping the least recently used entry when full."""
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        """Forget everything (tests)."""
        with self._lock:
            self._items.clear()


def etag(*parts: object) -> str:
    """A weak validator for a response built from these parts."""
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()[:32]
    return f'W/"{digest}"'


matrix_cache = RenderCache()
cell_cache = RenderCache(size=2048)
search_cache = RenderCache(size=1024)
