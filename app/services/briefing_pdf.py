"""The briefing's PDF: WeasyPrint behind one function, fetching only our own static files, at
most MAX_CONCURRENT_RENDERS at once (a caller that waits too long gets RendererBusy), tagged for
screen readers, and kept per data version so the same briefing link renders once."""

from __future__ import annotations

import asyncio
import functools
import mimetypes
import threading
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Hashable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from app.config import PROJECT_ROOT
from app.services.errors import FetchRefused, RendererBusy

STATIC_DIR = PROJECT_ROOT / "static"
STYLESHEET = STATIC_DIR / "css" / "briefing.css"
RENDER_BASE_URL = "http://briefing.invalid/"
"""Base URL of the HTML handed to the PDF engine: `/static/...` resolves under it and is served
from STATIC_DIR; `.invalid` never resolves, so nothing can reach the network through it."""

MAX_CONCURRENT_RENDERS = 2
RENDER_WAIT_SECONDS = 5.0
RETRY_AFTER_SECONDS = 10


def static_file_for(url: str) -> Path:
    """The file under STATIC_DIR that a `/static/...` URL under RENDER_BASE_URL names.

    Anything else (another scheme or host, a path outside static/, a missing file) is refused.
    """
    base = urlsplit(RENDER_BASE_URL)
    parts = urlsplit(url)
    if (parts.scheme, parts.netloc) != (base.scheme, base.netloc):
        raise FetchRefused(f"not one of our static files: {url[:200]}")
    if not parts.path.startswith("/static/"):
        raise FetchRefused(f"not one of our static files: {url[:200]}")
    root = STATIC_DIR.resolve()
    path = (root / unquote(parts.path.removeprefix("/static/"))).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        raise FetchRefused(f"no such static file: {url[:200]}")
    return path


@functools.cache
def _fetcher_class() -> type[Any]:
    # WeasyPrint (and Pango behind it) loads only when a PDF is made, not when the app starts.
    from weasyprint.urls import URLFetcher, URLFetcherResponse  # type: ignore[import-untyped]

    class StaticOnlyFetcher(URLFetcher):  # type: ignore[misc]
        """WeasyPrint's URL fetcher, narrowed to our static files and `data:` URLs."""

        def __init__(self) -> None:
            super().__init__(allowed_protocols=("data",), allow_redirects=False)
            self.fetched: list[str] = []
            self.refused: list[str] = []

        def fetch(self, url: str, headers: dict[str, str] | None = None) -> Any:
            if url.lower().startswith("data:"):
                self.fetched.append(url[:60])
                return super().fetch(url, headers)
            try:
                path = static_file_for(url)
            except FetchRefused:
                self.refused.append(url)
                raise
            self.fetched.append(url)
            mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            if mime.startswith("text/"):
                mime += "; charset=utf-8"
            return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": mime})

    return StaticOnlyFetcher


def static_only_fetcher() -> Any:
    """A new URL fetcher for the PDF engine that serves only our static files and `data:` URLs."""
    return _fetcher_class()()


_engine_parts = threading.local()


def engine_stylesheet() -> Any:
    """This thread's parsed briefing stylesheet, made on first use and again when the file
    changes: parsing it for every PDF cost about a tenth of the PDF. Per thread, as WeasyPrint
    does not promise a stylesheet may be shared between threads. No font configuration is kept
    with it (the stylesheet has no @font-face): a kept one holds fontconfig and Pango objects
    until interpreter exit, the likeliest cause of a segmentation fault a CI run hit after its
    last test passed; each PDF gets WeasyPrint's own, as before."""
    from weasyprint import CSS  # type: ignore[import-untyped]

    changed = STYLESHEET.stat().st_mtime_ns
    kept = getattr(_engine_parts, "kept", None)
    if kept is None or kept[0] != changed:
        css = CSS(
            string=STYLESHEET.read_text(encoding="utf-8"),
            base_url=f"{RENDER_BASE_URL}static/css/",
            url_fetcher=static_only_fetcher(),
            media_type="print",
        )
        kept = _engine_parts.kept = (changed, css)
    return kept[1]


PLATE_START = "<!-- plate -->"
PLATE_END = "<!-- /plate -->"
MAIN_START = '<main class="document">'
PLATE_AFTER_PAGE = 1
"""The landscape matrix (the "plate", between PLATE_START and PLATE_END in the HTML) is laid
out on its own and its pages go right after this page of the text. Left in the flow, a page of
another size must start a new page, so the text before it stopped half way down a page."""


def split_plate(html: str) -> tuple[str, str] | None:
    """The briefing HTML without its plate, and a document of the plate alone (the same head);
    None when there is no plate."""
    start, end = html.find(PLATE_START), html.find(PLATE_END)
    main = html.find(MAIN_START)
    if start < 0 or end < start or main < 0 or main > start:
        return None
    plate = html[start : end + len(PLATE_END)]
    text = html[:start] + html[end + len(PLATE_END) :]
    head = html[: main + len(MAIN_START)]
    return text, f"{head}\n{plate}\n</main>\n</body>\n</html>\n"


def font_configuration() -> Any:
    """A new WeasyPrint font configuration (its fontconfig and Pango font map). One PDF's
    layouts share one: each fresh one starts with no font loaded and nothing measured, which
    cost the seed briefing about a tenth of its time when its text and its plate each had
    their own. None is kept beyond a PDF (a kept one lives until interpreter exit, the
    likeliest cause of a segmentation fault a CI run hit after its last test passed)."""
    from weasyprint.text.fonts import FontConfiguration  # type: ignore[import-untyped]

    return FontConfiguration()


def _laid_out(
    html: str, url_fetcher: Any | None, extra_css: str = "", fonts: Any | None = None
) -> Any:
    """WeasyPrint's layout of `html`, styled by the briefing stylesheet (and `extra_css`), with
    the font configuration `fonts` (a new one when None)."""
    from weasyprint import CSS, HTML

    stylesheets = [engine_stylesheet()]
    if extra_css:
        stylesheets.append(CSS(string=extra_css, media_type="print"))
    document = HTML(
        string=html,
        base_url=RENDER_BASE_URL,
        url_fetcher=url_fetcher or static_only_fetcher(),
        media_type="print",
    )
    return document.render(stylesheets=stylesheets, font_config=fonts or font_configuration())


def _text_with_plate_room(text: str, plate_pages: int) -> tuple[str, str]:
    """The text laid out for a plate of `plate_pages` pages after page PLATE_AFTER_PAGE: its later
    pages numbered on past the plate, an empty page per plate page at the end (so `counter(pages)`
    counts the plate; they are dropped), and the plate's page in the contents."""
    slots = '<div class="plate-slot"></div>' * plate_pages
    return text.replace("</main>", f"{slots}</main>", 1), (
        f"@page :nth({PLATE_AFTER_PAGE + 1}) {{ counter-increment: page {plate_pages + 1} }}\n"
        ".plate-slot { break-before: page; }\n"
        f'.contents a[href="#matrix"]::after {{ content: " {PLATE_AFTER_PAGE + 1}"; }}\n'
    )


def _plate_numbering(total: int) -> str:
    """The plate's pages numbered from the page after PLATE_AFTER_PAGE, out of `total`."""
    return (
        f"@page :first {{ counter-reset: page {PLATE_AFTER_PAGE + 1}; }}\n"
        f'@page {{ @bottom-right {{ content: "Page " counter(page) " of {total}"; }} }}\n'
    )


def render_pdf(html: str, *, url_fetcher: Any | None = None) -> bytes:
    """The one function that turns briefing HTML into PDF bytes (WeasyPrint today), styled by
    static/css/briefing.css (the preview links it; the engine takes it parsed, once per thread).

    The landscape matrix is laid out apart from the text and its pages placed after page 1, so
    the text flows on without a half-empty page before it; page numbers, the contents and links
    count and reach it where it is printed.

    The output depends only on the HTML and the stylesheet: no random file identifier, and the
    creation date comes from the document's own `dcterms.created` (the generation time passed in).
    """
    fonts = font_configuration()
    parts = split_plate(html)
    if parts is None:
        document = _laid_out(html, url_fetcher, fonts=fonts)
    else:
        text_html, plate_html = parts
        # One landscape page per table is the design; a table taller than a page is counted
        # from the plate's own layout and the text laid out again (the plate is the small part).
        slots = max(1, plate_html.count('<table class="matrix'))
        while True:
            room_html, room_css = _text_with_plate_room(text_html, slots)
            text = _laid_out(room_html, url_fetcher, room_css, fonts)
            plate = _laid_out(plate_html, url_fetcher, _plate_numbering(len(text.pages)), fonts)
            if len(plate.pages) == slots:
                break
            slots = len(plate.pages)
        real = text.pages[: len(text.pages) - slots]
        pages = real[:PLATE_AFTER_PAGE] + plate.pages + real[PLATE_AFTER_PAGE:]
        document = text.copy(pages)
    # Tagged (a structure tree with headings, lists, tables and their header cells, in the
    # document's order), so a screen reader can read it; title and language come from the
    # HTML's <title> and lang.
    pdf: bytes = document.write_pdf(pdf_identifier=False, uncompressed_pdf=False, pdf_tags=True)
    return pdf


RENDERED_CACHE_BYTES = 32_000_000
"""Bytes of rendered briefings (PDF, DOCX) kept per app: the newest first, the oldest dropped."""


class RenderedCache:
    """Rendered documents by key (the request, the data version, ...), least recently used
    dropped beyond `max_bytes`; thread-safe, so renders in the thread pool can share it."""

    def __init__(self, max_bytes: int = RENDERED_CACHE_BYTES) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[Hashable, bytes] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.renders = 0
        self.hits = 0

    def get(self, key: Hashable) -> bytes | None:
        """The document kept under `key`, or None."""
        with self._lock:
            body = self._entries.get(key)
            if body is not None:
                self._entries.move_to_end(key)
                self.hits += 1
            return body

    def put(self, key: Hashable, body: bytes) -> None:
        """Keep `body` under `key` (a document larger than the whole budget is not kept)."""
        with self._lock:
            self.renders += 1
            if len(body) > self.max_bytes:
                return
            old = self._entries.pop(key, None)
            self._bytes += len(body) - (len(old) if old is not None else 0)
            self._entries[key] = body
            while self._bytes > self.max_bytes:
                _, dropped = self._entries.popitem(last=False)
                self._bytes -= len(dropped)


_render_slots = threading.BoundedSemaphore(MAX_CONCURRENT_RENDERS)


@asynccontextmanager
async def render_slot(wait_seconds: float | None = None) -> AsyncIterator[None]:
    """Hold one of MAX_CONCURRENT_RENDERS PDF slots; RendererBusy if none frees up in time.

    The wait polls without holding a worker thread, so waiting downloads cannot starve the app.
    """
    wait = RENDER_WAIT_SECONDS if wait_seconds is None else wait_seconds
    deadline = time.monotonic() + wait
    while not _render_slots.acquire(blocking=False):
        if time.monotonic() >= deadline:
            raise RendererBusy(RETRY_AFTER_SECONDS)
        await asyncio.sleep(0.05)
    try:
        yield
    finally:
        _render_slots.release()
