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

with a size for the view in VIEW_CACHE_SIZES.
"""

from __future__ import annotations

import gzip
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from app.config import get_settings
from app.security import Auth
from app.services import versioning
from app.templating import render, render_text, wants_fragment

VIEW_CACHE_SIZES = {"matrix": 256, "changes": 256, "cell": 2048, "search": 1024}
"""Entries kept per cached view (each entry: one fragment, or one anonymous page gzipped)."""
VARY = "HX-Request, Cookie"
"""Sent with every cached view's response, hit or miss (compression adds Accept-Encoding)."""


class RenderCache:
    """A thread-safe least-recently-used map of rendered views."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._items: OrderedDict[Hashable, object] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> object | None:
        """The cached value for `key`, or None."""
        with self._lock:
            value = self._items.get(key)
            if value is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return value

    def put(self, key: Hashable, value: object) -> None:
        """Remember `value`, dropping the least recently used entry when full."""
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._items.clear()


def view_caches() -> dict[str, RenderCache]:
    """A fresh cache for each cached view (create_app puts them on `app.state`)."""
    return {name: RenderCache(size) for name, size in VIEW_CACHE_SIZES.items()}


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
    html: str
    page: dict[str, Any]


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
    A view rendered inside a transaction with uncommitted changes of its own keys on a private
    number, so no other reader is ever served it.
    """
    logged_in = auth.user is not None
    as_fragment = wants_fragment(request)
    version = await versioning.for_view(session, logged_in=logged_in)
    key = (name, version, params, logged_in, as_fragment)
    headers = {"Vary": VARY}
    if revalidate:
        # The page around the view shows who is logged in and carries their CSRF token.
        headers["ETag"] = etag(*key, auth.user.id if auth.user else "-", auth.csrf_token)
        headers["Cache-Control"] = "private, no-cache"
        if headers["ETag"] in request.headers.get("if-none-match", ""):
            return Response(status_code=304, headers=headers)
    cache = request.app.state.view_caches[name]
    whole_page = not logged_in and not auth.csrf_token and not as_fragment
    page_key = (*key, "page.gz")
    if whole_page and isinstance(packed := cache.get(page_key), bytes):
        return _compressed(request, packed, headers, status_code)
    entry = cache.get(key)
    if not isinstance(entry, _Entry):
        entry = await run_in_threadpool(_load, session, load, fragment, logged_in, as_fragment)
        cache.put(key, entry)
    response = render(
        request,
        page,
        {**(context or {}), **entry.page},
        fragment=fragment,
        fragment_html=entry.html,
        status_code=status_code,
    )
    if whole_page:
        packed = gzip.compress(bytes(response.body), compresslevel=6, mtime=0)
        cache.put(page_key, packed)
        return _compressed(request, packed, headers, status_code)
    response.headers.update(headers)
    return response


def _load(
    session: Session,
    load: Callable[[Session], Loaded],
    fragment: str,
    editable: bool,
    as_fragment: bool,
) -> _Entry:
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
    return _Entry(html, loaded.page)


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
