"""Cached views: one helper, `cached_view()`, serves every page rendered once per data version.

A cached route reads like any other: parse its parameters, make one call, return the response.
The helper owns the rest: the data-version lookup, the cache key, the ETag and 304, `Vary`,
compression and page-or-fragment. The caches live on the application (`app.state.view_caches`,
made by `create_app()` with `view_caches()`), so each app, and each test's app, has its own.

To add a cached page: a route that parses its parameters, a `load(session)` returning `Loaded`
(the fragment's context, and any plain values the page around it shows), and one call:

    return await cached_view(
        request, session, auth, name="changes", params=(since, until, known),
        page="changes/page.html", fragment="changes/_list.html", load=load,
        context={"since": since, "until": until},
    )

with a byte budget for the view in VIEW_CACHE_BYTES. Each view's cache is bounded in bytes
(compressed bodies plus ENTRY_OVERHEAD an entry), not in entries, and drops the least recently
used first. A `load` that keeps caches of its own can key them on `request.state.data_version`,
the version the view is rendered for. How concurrent requests share one render, and when a
reader gets the version before a write instead: `once()` and `cached_view()`.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import threading
import zlib
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from app.config import get_settings
from app.security import Auth
from app.services import versioning
from app.templating import render, render_text, wants_fragment

T = TypeVar("T")
PAGE_GZIP_LEVEL = 1
"""gzip level of an anonymous reader's whole page (sent as stored to clients that take gzip):
the fastest, as every miss pays it (a 470 kB matrix page: 1.2 ms and 25 kB, against 2.4 ms and
23 kB at level 5)."""
FRAGMENT_ZLIB_LEVEL = 3
"""zlib level of a stored fragment: cheap to pack, ~15 times smaller than the text."""
VIEW_CACHE_BYTES = {
    "matrix": 36_000_000,
    "changes": 10_000_000,
    "cell": 17_000_000,
    "search": 17_000_000,
}
"""Bytes kept per cached view and worker (each entry: one fragment or one anonymous page, held
compressed), 80 MB in all: the shares of the `view_cache_mb` setting."""
CELL_STATE_BYTES = 4_000_000
"""Bytes kept per worker of the compact matrix's cell states (`matrix_cells`: one state's markup
each, app.cell_markup), whatever `view_cache_mb` says: not a view but a part of every matrix,
from a small set (the benchmark's 1,200 cells over 700 days take 438 states, 0.32 MB), so a
small view cache must not make every matrix render its cells again."""
VARY = "HX-Request, Cookie"
"""Sent with every cached view's response, hit or miss (compression adds Accept-Encoding)."""
ENTRY_OVERHEAD = 400
"""Bytes an entry costs beyond its compressed body (key, tuple, dict), counted against the bound."""


class RenderCache:
    """A thread-safe least-recently-used map of rendered views, bounded in bytes.

    Values are compressed bytes (or objects that say their size in `nbytes`); the least recently
    used are dropped while the total passes `max_bytes`. `pending` holds the renders under way
    (on the event loop), so a view is rendered once however many ask for it at the same time.
    """

    def __init__(self, max_bytes: int = 8_000_000) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self._items: OrderedDict[Hashable, tuple[object, int]] = OrderedDict()
        self._lock = threading.Lock()
        self.pending: dict[Hashable, asyncio.Future[Any]] = {}
        self._newest: dict[Hashable, tuple[int, Hashable]] = {}
        self.hits = 0
        self.misses = 0
        self.renders = 0
        self.previous_served = 0

    def get(self, key: Hashable) -> object | None:
        """The cached value for `key`, or None."""
        with self._lock:
            item = self._items.get(key)
            if item is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return item[0]

    def put(self, key: Hashable, value: object, *, slot: Slot | None = None) -> None:
        """Remember `value`, dropping the least recently used entries past the byte bound.
        With a `slot` (the key less its data version, and the version), the value is also the
        slot's newest, for `previous()`."""
        size = _size(value) + ENTRY_OVERHEAD
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self.bytes -= old[1]
            if size > self.max_bytes:
                return
            self._items[key] = (value, size)
            self.bytes += size
            if slot is not None:
                newest = self._newest.get(slot.name)
                if newest is None or newest[0] <= slot.version:
                    self._newest[slot.name] = (slot.version, key)
            while self.bytes > self.max_bytes:
                _, (_, dropped) = self._items.popitem(last=False)
                self.bytes -= dropped
            if len(self._newest) > 2 * len(self._items) + 64:
                # Forget the slots whose newest value was dropped (they keep the map bounded).
                self._newest = {n: v for n, v in self._newest.items() if v[1] in self._items}

    def previous(self, slot: Slot) -> object | None:
        """The value held for the slot under the newest data version older than `slot.version`,
        or None."""
        with self._lock:
            newest = self._newest.get(slot.name)
            if newest is None or newest[0] >= slot.version:
                return None
            item = self._items.get(newest[1])
            if item is None:
                return None
            self.previous_served += 1
            return item[0]

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._items.clear()
            self._newest.clear()
            self.bytes = 0

    def __len__(self) -> int:
        return len(self._items)


def _size(value: object) -> int:
    if isinstance(value, bytes | bytearray):
        return len(value)
    return int(getattr(value, "nbytes", 0))


@dataclass(frozen=True, slots=True)
class Slot:
    """Where a view's renders follow one another: its cache key less the data version
    (`name`), and the version it is rendered for."""

    name: Hashable
    version: int


async def once(
    cache: RenderCache,
    key: Hashable,
    make: Callable[[], Awaitable[T]],
    *,
    slot: Slot | None = None,
) -> T:
    """The value cached under `key`, made by `make()` on a miss, once (no stampede).

    The request that finds the miss makes the value and waits for it. Requests for the same key
    arriving while it is made do not make it again: with a `slot`, they get at once the value
    held for the same slot under the newest older data version, when there is one (the view as
    it was just before the write being rendered); otherwise, or without a slot, they wait for
    that one result. A failure is not cached: the waiting requests get the same error, the next
    request tries again."""
    cached = cache.get(key)
    if cached is not None:
        return cached  # type: ignore[return-value]
    pending = cache.pending.get(key)
    loop = asyncio.get_running_loop()
    if pending is not None and pending.get_loop() is loop:
        previous = cache.previous(slot) if slot is not None else None
        if previous is not None:
            return previous  # type: ignore[return-value]
        return await asyncio.shield(pending)
    future: asyncio.Future[Any] = loop.create_future()
    cache.pending[key] = future
    try:
        value = await make()
    except BaseException as exc:
        future.set_exception(exc)
        future.exception()  # retrieved: no "never retrieved" warning when nobody waited
        raise
    else:
        cache.renders += 1
        cache.put(key, value, slot=slot)
        future.set_result(value)
        return value
    finally:
        cache.pending.pop(key, None)


def view_caches() -> dict[str, RenderCache]:
    """A fresh cache for each cached view (create_app puts them on `app.state`), with its share
    of the `view_cache_mb` setting (VIEW_CACHE_BYTES are the shares of the default 80 MB), and
    the compact matrix's cell states (`matrix_cells`, CELL_STATE_BYTES)."""
    scale = get_settings().view_cache_mb * 1_000_000 / sum(VIEW_CACHE_BYTES.values())
    caches = {name: RenderCache(int(size * scale)) for name, size in VIEW_CACHE_BYTES.items()}
    caches["matrix_cells"] = RenderCache(CELL_STATE_BYTES)
    return caches


def cache_state(caches: dict[str, RenderCache]) -> dict[str, dict[str, int]]:
    """Each cached view's entries, bytes held, renders, hits, misses and the times it served
    the previous version during a render (for /healthz)."""
    return {
        name: {
            "entries": len(cache),
            "bytes": cache.bytes,
            "max_bytes": cache.max_bytes,
            "renders": cache.renders,
            "hits": cache.hits,
            "misses": cache.misses,
            "previous_served": cache.previous_served,
        }
        for name, cache in caches.items()
    }


def etag(*parts: object) -> str:
    """A weak validator for a response built from these parts."""
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()[:32]
    return f'W/"{digest}"'


@dataclass(frozen=True, slots=True)
class Loaded:
    """What a cached view's `load` returns: the fragment's context, and plain values the page
    around it shows (a title, a form's choices), cached with the fragment."""

    fragment: dict[str, Any]
    page: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Entry:
    packed: bytes
    """The rendered fragment, UTF-8 and zlib-compressed (a matrix's 1.1 MB is ~60 kB)."""
    page: dict[str, Any]

    @property
    def nbytes(self) -> int:
        return len(self.packed)

    @property
    def html(self) -> str:
        return zlib.decompress(self.packed).decode()


async def cached_view(
    request: Request,
    session: Session,
    auth: Auth,
    *,
    name: str,
    params: tuple[Hashable, ...],
    page: str,
    fragment: str,
    load: Callable[[Session], Loaded],
    context: dict[str, Any] | None = None,
    revalidate: bool = False,
    status_code: int = 200,
) -> Response:
    """The view `name` for these parsed `params`: `fragment` for htmx, else `page` around it.

    The fragment is rendered once per data version, parameters, editor-or-reader and
    fragment-or-page (`load` queries in the thread pool; the template gets its context plus
    `editable` and `as_fragment`, never the request, as it is shared by every reader). The
    page around it is rendered by `render()` for each request, with `context` and what `load`
    gave for the page; an anonymous reader's page holds nothing of their own, so it is kept
    whole, gzipped once, and sent compressed to every client that accepts gzip.
    `revalidate` adds a per-user ETag (304 on a match) and `Cache-Control: private, no-cache`.
    `status_code` is the answer's status (422 for a view shown with a parameter's error).

    What a reader sees after a write (app.services.versioning): the key holds the data version,
    which moves on only once a write has committed, and the fragment is loaded after the
    version is read, so a view cached under a version holds every write up to it.
    - The writer, and any logged-in user on any worker, reads the version from the database on
      each request: they see every write whose commit had returned before their request began
      (on PostgreSQL the commit returns only after moving the version on; on SQLite the version
      moves inside the writing transaction).
    - On SQLite, and on PostgreSQL while the worker's listener is down (or switched off), so
      does every anonymous reader.
    - On PostgreSQL an anonymous reader on another worker keys on the version that worker's
      listener has heard: a write shows there once its NOTIFY arrives (it is sent right after
      the commit; milliseconds). Until then that reader may be served the view as it was just
      before the write, never anything older than what the worker last heard.
    - While a view is rendered for a new version, an anonymous reader asking for the same view
      (same parameters, page or fragment) gets at once the one rendered under the newest older
      version still cached, if any, rather than waiting (see `once()`): the view as it was
      before the latest writes, for as long as one render takes. The request that found the
      miss, and every logged-in user, waits for the new render instead.
    A view rendered inside a transaction with uncommitted changes of its own keys on a private
    number, so no other reader is ever served it (nor is it kept as anyone's previous version).
    """
    logged_in = auth.user is not None
    as_fragment = wants_fragment(request)
    version = await versioning.for_view(session, logged_in=logged_in)
    request.state.data_version = version  # what `load` may key caches of its own on
    key = (name, version, params, logged_in, as_fragment)
    headers = {"Vary": VARY}
    if revalidate:
        # The page around the view shows who is logged in and carries their CSRF token.
        headers["ETag"] = etag(*key, auth.user.id if auth.user else "-", auth.csrf_token)
        headers["Cache-Control"] = "private, no-cache"
        if headers["ETag"] in request.headers.get("if-none-match", ""):
            return Response(status_code=304, headers=headers)
    cache: RenderCache = request.app.state.view_caches[name]
    whole_page = not logged_in and not auth.csrf_token and not as_fragment
    # Only an anonymous reader may be given the previous version while the new one renders.
    previous = not logged_in and version < versioning.PRIVATE_BASE

    def slot(*extra: str) -> Slot | None:
        return Slot((name, params, as_fragment, *extra), version) if previous else None

    rendered: list[str] = []
    """The fragment's text when this request rendered it (others unpack the stored entry)."""

    def around(page_context: dict[str, Any], html: str) -> Response:
        return render(
            request,
            page,
            {**(context or {}), **page_context},
            fragment=fragment,
            fragment_html=html,
            status_code=status_code,
        )

    async def page_around() -> Response:
        entry = await once(cache, key, fragment_entry, slot=slot())
        return around(entry.page, rendered[0] if rendered else entry.html)

    async def fragment_entry() -> _Entry:
        entry, html = await run_in_threadpool(
            _load, session, load, fragment, logged_in, as_fragment
        )
        rendered.append(html)
        return entry

    async def whole() -> bytes:
        # The fragment is rendered for this page and not kept on its own: the page is kept
        # whole, and htmx asks for the fragment under a key of its own (as_fragment), so
        # packing it too only cost time (zlib: 0.9 ms of a matrix miss) and cache room.
        page_context, html = await run_in_threadpool(
            _render, session, load, fragment, logged_in, as_fragment
        )
        body = bytes(around(page_context, html).body)
        return await run_in_threadpool(lambda: gzip.compress(body, PAGE_GZIP_LEVEL, mtime=0))

    if whole_page:
        packed = await once(cache, (*key, "page.gz"), whole, slot=slot("page.gz"))
        return _compressed(request, packed, headers, status_code)
    response = await page_around()
    response.headers.update(headers)
    return response


def _render(
    session: Session,
    load: Callable[[Session], Loaded],
    fragment: str,
    editable: bool,
    as_fragment: bool,
) -> tuple[dict[str, Any], str]:
    """What the page around the fragment shows, and the fragment rendered."""
    loaded = load(session)
    html = render_text(
        fragment,
        {
            **loaded.fragment,
            "editable": editable,
            "as_fragment": as_fragment,
            "site_name": get_settings().site_name,
        },
    )
    return loaded.page, html


def _load(
    session: Session,
    load: Callable[[Session], Loaded],
    fragment: str,
    editable: bool,
    as_fragment: bool,
) -> tuple[_Entry, str]:
    """The fragment rendered: its entry to store and its text."""
    page, html = _render(session, load, fragment, editable, as_fragment)
    return _Entry(zlib.compress(html.encode(), FRAGMENT_ZLIB_LEVEL), page), html


def _compressed(
    request: Request, packed: bytes, headers: dict[str, str], status_code: int = 200
) -> Response:
    """An anonymous reader's whole page: gzipped as cached, or unpacked for a client that
    does not take gzip."""
    headers = {**headers, "Vary": f"{VARY}, Accept-Encoding"}
    if "gzip" in request.headers.get("accept-encoding", ""):
        return Response(
            packed,
            status_code=status_code,
            media_type="text/html; charset=utf-8",
            headers={**headers, "Content-Encoding": "gzip"},
        )
    return HTMLResponse(gzip.decompress(packed), status_code=status_code, headers=headers)
