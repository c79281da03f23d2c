"""A local web site of fixture pages, good and hostile, for the source metadata fetcher's tests.

A real HTTP server (the standard library's, one thread per request) on a loopback address and
a random port; it records every request it receives, so a test can prove a refused URL was
never connected to.
"""

from __future__ import annotations

import json
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

NEWS_JSON_LD = {
    "@context": "https://schema.org",
    "@graph": [
        {"@type": "WebSite", "name": "Example Wire site"},
        {
            "@type": "NewsArticle",
            "headline": "Kyiv & Moscow trade ceasefire terms in Istanbul",
            "datePublished": "2025-05-16T09:30:00+03:00",
            "publisher": {"@type": "Organization", "name": "Example Wire"},
        },
    ],
}
NEWS_PAGE = f"""<!doctype html>
<html lang="en"><head>
<meta charset="utf-8">
<title>Ceasefire terms traded | Example Wire</title>
<meta property="og:title" content="Ceasefire terms traded (OpenGraph)">
<meta property="og:site_name" content="Example Wire (OpenGraph)">
<meta property="article:published_time" content="2025-05-15T22:00:00Z">
<script type="application/ld+json">{json.dumps(NEWS_JSON_LD)}</script>
</head><body><h1>Ceasefire terms</h1><p>Delegations met.</p></body></html>"""

OPENGRAPH_PAGE = """<!doctype html><html><head>
<title>Sybiha: no talks about territory | Kyiv Daily</title>
<meta property="og:title" content="Sybiha: no talks about territory">
<meta property="og:site_name" content="Kyiv Daily">
<meta property="article:published_time" content="2025-04-21T08:00:00+03:00">
</head><body></body></html>"""

TITLE_ONLY_PAGE = """<html><head><title>
   Talks resume in Riyadh  </title></head><body>No metadata here.</body></html>"""

BROKEN_PAGE = """<html><head><titl>not a title</titl>
<meta name="date" content="2025-03-11">
<meta property="og:title">
<script type="application/ld+json">{"@type": "NewsArticle", "headline": </script>
<title>Broken but readable &amp; escaped <b>title</b></title>
<div <<< class="x"><p>unclosed <a href="/x>link
<![CDATA[ odd ]]> <!-- unterminated comment"""

WINDOWS_1251_PAGE = (
    '<html><head><meta http-equiv="Content-Type" content="text/html; charset=windows-1251">'
    "<title>Переговоры в Стамбуле</title></head></html>"
).encode("windows-1251")

KNOWN_CANONICAL_PAGE = """<html><head><title>A page known by its canonical address</title>
<link rel="canonical" href="/canonical-article"></head></html>"""

HUGE_SIZE = 3 * 1024 * 1024
SLOW_SECONDS = 3.0


@dataclass
class Hit:
    """One request the site received."""

    path: str
    headers: dict[str, str]


@dataclass
class FixtureSite:
    """The running site: its base URL and the requests it has received."""

    host: str
    port: int
    hits: list[Hit] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def url(self, path: str) -> str:
        """The absolute URL of a path on this site."""
        return f"http://{self.host}:{self.port}{path}"

    def paths(self) -> list[str]:
        """The paths requested so far, in order."""
        return [hit.path for hit in self.hits]


class _Handler(BaseHTTPRequestHandler):
    site: FixtureSite

    def log_message(self, format: str, *args: object) -> None:  # quiet test output
        pass

    def do_GET(self) -> None:
        self.site.hits.append(Hit(self.path, {k.lower(): v for k, v in self.headers.items()}))
        path = self.path.split("?", 1)[0]
        pages = {
            "/news": NEWS_PAGE,
            "/opengraph": OPENGRAPH_PAGE,
            "/title-only": TITLE_ONLY_PAGE,
            "/broken": BROKEN_PAGE,
            "/known-canonical": KNOWN_CANONICAL_PAGE,
        }
        if path in pages:
            self._send(200, "text/html; charset=utf-8", pages[path].encode())
        elif path == "/cyrillic":
            self._send(200, "text/html", WINDOWS_1251_PAGE)
        elif path == "/pdf":
            self._send(200, "application/pdf", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
        elif path == "/untyped":
            self._send(200, None, b"<html><title>No type</title></html>")
        elif path == "/missing":
            self._send(404, "text/html", b"<title>Not here</title>")
        elif path.startswith("/redirect/"):
            left = int(path.rsplit("/", 1)[1])
            self._redirect("/news" if left <= 1 else f"/redirect/{left - 1}")
        elif path == "/to-loopback":
            self._redirect(f"http://127.0.0.1:{self.site.port}/news")
        elif path == "/to-private":
            self._redirect("http://10.0.0.1/admin")
        elif path == "/to-metadata":
            self._redirect("http://169.254.169.254/latest/meta-data/")
        elif path == "/to-ftp":
            self._redirect("ftp://example.org/file.html")
        elif path == "/set-cookie":
            self.send_response(302)
            self.send_header("Set-Cookie", "tracker=1; Path=/")
            self.send_header("Location", "/news")
            self.end_headers()
        elif path == "/huge":
            self._huge(declared=False)
        elif path == "/huge-declared":
            self._huge(declared=True)
        elif path == "/slow":
            self._slow_body()
        elif path == "/stall":
            self._stall()
        elif path == "/slow-head":
            self._wait(SLOW_SECONDS)
            self._send(200, "text/html", NEWS_PAGE.encode())
        else:
            self._send(404, "text/plain", b"no such fixture")

    def _send(self, status: int, content_type: str | None, body: bytes) -> None:
        self.send_response(status)
        if content_type is not None:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except OSError:  # the fetcher gave up first (a slow fixture): nothing to tell it
            pass

    def _redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("Location", location)
        self.end_headers()

    def _huge(self, *, declared: bool) -> None:
        """A page of HUGE_SIZE bytes: sent whole without a length, or announced and then held."""
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        if declared:
            self.send_header("Content-Length", str(HUGE_SIZE))
        self.end_headers()
        self.wfile.write(b"<html><head><title>Huge</title></head><body>")
        if declared:  # the length alone must be enough to refuse it: send nothing more for now
            self._wait(SLOW_SECONDS)
            return
        chunk = b"<p>" + b"x" * 65_530 + b"</p>"
        sent = 0
        try:
            while sent < HUGE_SIZE and not self.site.stop.is_set():
                self.wfile.write(chunk)
                sent += len(chunk)
        except OSError:  # the fetcher hung up once it had read enough: as it should
            pass

    def _slow_body(self) -> None:
        """Headers at once, then one byte every 50 ms for SLOW_SECONDS."""
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        deadline = time.monotonic() + SLOW_SECONDS
        try:
            while time.monotonic() < deadline and not self.site.stop.is_set():
                self.wfile.write(b" ")
                self.wfile.flush()
                time.sleep(0.05)
        except OSError:
            pass

    def _stall(self) -> None:
        """Headers and the start of a page, then silence for SLOW_SECONDS."""
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(b"<html><head><title>Stalled")
        self.wfile.flush()
        self._wait(SLOW_SECONDS)

    def _wait(self, seconds: float) -> None:
        self.site.stop.wait(seconds)


@contextmanager
def serve_fixture_site(
    host: str = "127.0.0.1", tls: ssl.SSLContext | None = None
) -> Iterator[FixtureSite]:
    """Run the fixture site on `host` and a free port until the block ends (over TLS with
    `tls`, a server-side context)."""
    site = FixtureSite(host=host, port=0)
    handler = type("Handler", (_Handler,), {"site": site})
    server = ThreadingHTTPServer((host, 0), handler)
    server.daemon_threads = True
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    site.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, name="fixture-site", daemon=True)
    thread.start()
    try:
        yield site
    finally:
        site.stop.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
