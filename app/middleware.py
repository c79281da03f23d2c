"""Pure ASGI middleware: request ids, security headers, the request log, the 500 page and
request-size limits.

Pure ASGI (not BaseHTTPMiddleware) so streaming responses stay streamed and a request costs a
few dict lookups: every header value is encoded once, when the app is built.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import re
import secrets
import time
from collections import deque
from collections.abc import Iterable

from markupsafe import escape
from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import serving
from app.logging_setup import ERROR_LOGGER, REQUEST_LOGGER

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
"""The app's own pages: nothing inline, nothing from another origin."""

PRIVATE_PREFIXES = ("/quotes/", "/positions/", "/manage/", "/audit/")
PRIVATE_PATHS = frozenset({"/manage", "/audit", "/login", "/logout"})
"""Editor pages and login: answered with `Cache-Control: no-store` (so is every unsafe method).

`/quotes` itself is the public search; everything below it (new, tag-row, {id}/edit, ...) is
for editors."""

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_INCOMING_ID = re.compile(r"[A-Za-z0-9-]{1,64}")

request_log = logging.getLogger(REQUEST_LOGGER)
error_log = logging.getLogger(ERROR_LOGGER)


def is_private_path(path: str) -> bool:
    """True for editor pages and login, which browsers and proxies must not store."""
    return path in PRIVATE_PATHS or path.startswith(PRIVATE_PREFIXES)


def is_api_path(path: str) -> bool:
    """True for the JSON API, whose errors are JSON too."""
    return path.startswith("/api/")


def request_id_for(scope: Scope) -> str:
    """The id of this request: a proxy's X-Request-ID if it is short and plain, else a new one."""
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            incoming: str = value.decode("latin-1")
            if _INCOMING_ID.fullmatch(incoming):
                return incoming
            break
    return secrets.token_hex(8)


def _user_id(scope: Scope) -> int | None:
    # app.security.get_auth leaves request.state.auth behind once it has run; `viewer` holds
    # plain values, so reading it never touches a (possibly closed) database session.
    state = scope.get("state")
    auth = state.get("auth") if isinstance(state, dict) else None
    viewer = getattr(auth, "viewer", None)
    user_id = getattr(viewer, "id", None)
    return user_id if isinstance(user_id, int) else None


def _is_personal(scope: Scope) -> bool:
    # A logged-in user's pages show their name, and a visitor holding a CSRF token (after the
    # login form) gets it in every page: such pages are theirs alone.
    state = scope.get("state")
    auth = state.get("auth") if isinstance(state, dict) else None
    return getattr(auth, "viewer", None) is not None or bool(getattr(auth, "csrf_token", ""))


def _for_one_visitor(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """A personal HTML response's headers: `Cache-Control: private, no-store` (unless it already
    revalidates privately, like the matrix's per-user ETag) and `Vary` naming Cookie."""
    cache_control = b", ".join(v for n, v in headers if n.lower() == b"cache-control").lower()
    if not any(n.lower() == b"content-type" and v.startswith(b"text/html") for n, v in headers):
        return headers
    private = b"private" in cache_control
    vary = [
        part.strip()
        for name, value in headers
        if name.lower() == b"vary"
        for part in value.split(b",")
        if part.strip()
    ]
    if b"cookie" not in {part.lower() for part in vary}:
        vary.append(b"Cookie")
    kept = [
        (name, value)
        for name, value in headers
        if name.lower() != b"vary" and (private or name.lower() != b"cache-control")
    ]
    if not private:
        kept.append((b"cache-control", b"private, no-store"))
    kept.append((b"vary", b", ".join(vary)))
    return kept


def _header_list(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    return [
        (name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()
    ]


class RequestContextMiddleware:
    """Outermost layer: gives each request an id, sets the security headers on every response,
    turns an unhandled exception into a plain 500 and writes one log line per request."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        https_only: bool = False,
        debug: bool = False,
        docs_paths: Iterable[str] = (),
        docs_policy: str = CONTENT_SECURITY_POLICY,
    ) -> None:
        self.app = app
        self.debug = debug
        common = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"}
        if https_only:
            common["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
        self.headers = _header_list({"Content-Security-Policy": CONTENT_SECURITY_POLICY, **common})
        self.docs_headers = _header_list({"Content-Security-Policy": docs_policy, **common})
        self.docs_paths = frozenset(docs_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = request_id_for(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        path: str = scope["path"]
        method: str = scope["method"]
        extra = self.docs_headers if path in self.docs_paths else self.headers
        no_store = method in UNSAFE_METHODS or is_private_path(path)
        id_header = (b"x-request-id", request_id.encode("latin-1"))
        status = 500
        response_started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                headers: list[tuple[bytes, bytes]] = [
                    (name, value)
                    for name, value in message.get("headers", ())
                    if not (no_store and name.lower() == b"cache-control")
                    and name.lower() != b"x-request-id"
                ]
                headers.extend(extra)
                headers.append(id_header)
                if no_store:
                    headers.append((b"cache-control", b"no-store"))
                elif _is_personal(scope):
                    headers = _for_one_visitor(headers)
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            error_log.error(
                "unhandled error",
                exc_info=True,
                extra={"fields": {"request_id": request_id, "method": method, "path": path}},
            )
            if response_started or self.debug:
                raise
            await _server_error(scope, request_id, send_with_headers)
        finally:
            if request_log.isEnabledFor(logging.INFO):
                request_log.info(
                    "request",
                    extra={
                        "fields": {
                            "method": method,
                            "path": path[:512],
                            "status": status,
                            "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                            "request_id": request_id,
                            "user_id": _user_id(scope),
                        }
                    },
                )


async def _server_error(scope: Scope, request_id: str, send: Send) -> None:
    """A 500 that tells the user only that it failed and which request id to quote."""
    path: str = scope["path"]
    if is_api_path(path):
        body = json.dumps({"error": "Internal server error", "request_id": request_id}).encode()
        content_type = b"application/json"
    else:
        body = _error_page(scope, request_id).encode("utf-8")
        content_type = b"text/html; charset=utf-8"
    await send(
        {
            "type": "http.response.start",
            "status": 500,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
                (b"cache-control", b"no-store"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _error_page(scope: Scope, request_id: str) -> str:
    try:
        from app.templating import render_text, wants_fragment

        # The one render path's text step, without the base context: nothing that could fail.
        page = render_text(
            "errors/500.html",
            {"request_id": request_id, "as_fragment": wants_fragment(HTTPConnection(scope))},
        )
    except Exception:  # the page that reports an error must not fail itself
        error_log.exception(
            "500 page failed to render", extra={"fields": {"request_id": request_id}}
        )
        return (
            "<!doctype html><title>500 Internal server error</title>"
            f"<h1>500 · Internal server error</h1><p>Request id: {escape(request_id)}</p>"
        )
    return page


class RequestRejected(HTTPException):
    """A request body refused by RequestLimitMiddleware (413 too large, 400 too many fields).

    An HTTPException, so FastAPI's body parsing re-raises it and the app's error handler renders
    it like any other 4xx."""


class RequestLimitMiddleware:
    """Refuse request bodies over `max_body_bytes` (413) and forms with more than
    `max_form_fields` fields (400), before and while the body streams in."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, max_form_fields: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_form_fields = max_form_fields

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        content_length: int | None = None
        content_type = b""
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    content_length = int(value)
                except ValueError:
                    content_length = None
            elif name == b"content-type":
                content_type = value
        if content_length is not None and content_length > self.max_body_bytes:
            await _reject(scope, send, self._too_large())
            return
        # PostgreSQL cannot store NUL characters in text; no legitimate input holds one.
        target = scope.get("raw_path", b"") + b"?" + scope.get("query_string", b"")
        if NUL in target.lower():
            await _reject(scope, send, _nul())
            return
        separators, slack = _field_separators(content_type)
        if content_length is not None and not separators:
            # The server holds the body to its Content-Length, which is within the limit.
            await self.app(scope, receive, send)
            return

        received = 0
        seen = 0
        tail = b""
        longest = max((len(s) for s in separators), default=1)
        nul_tail = b""
        most_separators = self.max_form_fields + slack

        async def limited_receive() -> Message:
            nonlocal received, seen, tail, nul_tail
            message = await receive()
            if message["type"] == "http.request":
                chunk: bytes = message.get("body", b"")
                received += len(chunk)
                if received > self.max_body_bytes:
                    raise self._too_large()
                if separators:
                    if b"&" in separators:  # urlencoded: a NUL may straddle two chunks
                        if NUL in (nul_tail + chunk).lower():
                            raise _nul()
                        nul_tail = (nul_tail + chunk)[-(len(NUL) - 1) :]
                    elif b"\x00" in chunk:  # multipart: values are raw (no form takes a file)
                        raise _nul()
                    window = tail + chunk
                    seen += sum(window.count(s) for s in separators)
                    tail = window[-(longest - 1) :] if longest > 1 else b""
                    if seen > most_separators:
                        raise RequestRejected(
                            400, f"The form has more than {self.max_form_fields} fields."
                        )
            return message

        response_started = False

        async def watch_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, watch_send)
        except RequestRejected as exc:
            # Raised where no error handler caught it (e.g. a plain ASGI app reading the body).
            if response_started:
                raise
            await _reject(scope, send, exc)

    def _too_large(self) -> RequestRejected:
        return RequestRejected(
            413, f"The request body is larger than {self.max_body_bytes:,} bytes."
        )


NUL = b"%00"


def _nul() -> RequestRejected:
    return RequestRejected(400, "Text may not contain NUL characters.")


def _field_separators(content_type: bytes) -> tuple[tuple[bytes, ...], int]:
    """What separates the fields of a form body of this type, and how many more separators
    than fields a full form has (nothing to count for other types).

    A urlencoded body has one field more than separators; a multipart body has one boundary
    more than parts (the closing one)."""
    kind = content_type.split(b";", 1)[0].strip().lower()
    if kind == b"application/x-www-form-urlencoded":
        return (b"&", b";"), -1
    if kind == b"multipart/form-data":
        for param in content_type.split(b";")[1:]:
            key, _, value = param.strip().partition(b"=")
            boundary = value.strip().strip(b'"')
            if key.lower() == b"boundary" and boundary:
                return (b"--" + boundary,), 1
    return (), 0


async def _reject(scope: Scope, send: Send, exc: RequestRejected) -> None:
    title = "Content too large" if exc.status_code == 413 else "Bad request"
    # The rest of an oversized body is not read: the connection cannot be reused.
    await _early_error(scope, send, exc.status_code, title, exc.detail, [(b"connection", b"close")])


async def _early_error(
    scope: Scope,
    send: Send,
    status: int,
    title: str,
    detail: str,
    extra_headers: list[tuple[bytes, bytes]],
) -> None:
    """An error answered before the app: JSON {error, detail} under /api/, else a small page
    of its own (no template: it is answered when the app is too busy or is not to be asked)."""
    if is_api_path(scope["path"]):
        body = json.dumps({"error": title, "detail": detail}).encode()
        content_type = b"application/json"
    else:
        body = EARLY_ERROR_PAGE.format(
            status=status, title=escape(title), detail=escape(detail)
        ).encode()
        content_type = b"text/html; charset=utf-8"
    headers = [
        (b"content-type", content_type),
        (b"content-length", str(len(body)).encode()),
        *extra_headers,
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


EARLY_ERROR_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{status} {title}</title>
  <link rel="stylesheet" href="/static/css/app.css">
</head>
<body>
<main id="content">
<section class="error-page">
<div class="error" role="alert">
  <h1>{status} · {title}</h1>
  <p>{detail}</p>
</div>
<p><a href="/">Back to the matrix</a></p>
</section>
</main>
</body>
</html>
"""
"""The page of an error answered before the app (the queue's 503, a refused body), marked up
as templates/errors/500.html, self-contained like it."""


def docs_policy(pages: Iterable[str]) -> str:
    """The policy for /docs and /redoc only: Swagger UI and ReDoc load from our own static
    files, set styles inline, and Swagger UI starts with one inline script, allowed by its hash
    (never 'unsafe-inline' for scripts); ReDoc searches in a worker it starts from a blob."""
    hashes = sorted(
        {
            "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"
            for page in pages
            for script in re.findall(r"<script>(.*?)</script>", page, flags=re.DOTALL)
        }
    )
    return (
        f"default-src 'self'; script-src 'self' {' '.join(hashes)}; "
        "style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self'; "
        "worker-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
        "frame-ancestors 'none'; form-action 'self'"
    )


class HeadMiddleware:
    """Answers HEAD on every GET route (pages, fragments, feeds, CSVs, the API, the PDF) as GET
    would, with the same status and headers and no body.

    FastAPI registers an APIRoute for exactly the methods it names, so a HEAD reached the
    router as a method no route allows (405). Here, once for every route: the app sees a GET,
    and the body it sends back is dropped (Content-Length still says how long it would be).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return
        finished = False

        async def send_without_body(message: Message) -> None:
            nonlocal finished
            if message["type"] in {"http.response.body", "http.response.pathsend"}:
                if finished or message.get("more_body", False):
                    return
                finished = True
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, send_without_body)


class Turns:
    """One worker's queue of requests: at most `slots` worked on at once, the others waiting
    their turn in the order they came (first come, first served) for at most `wait_seconds`.
    Kept on `app.state.turns`, so /healthz can say how full it is."""

    def __init__(self, *, slots: int, wait_seconds: float) -> None:
        self.slots = slots
        self.wait_seconds = wait_seconds
        self._free = slots
        self._waiting: deque[asyncio.Future[None]] = deque()

    def state(self) -> dict[str, int]:
        """The slots, how many are taken, and how many requests wait for one."""
        waiting = sum(1 for turn in self._waiting if not turn.done())
        return {"slots": self.slots, "working": self.slots - self._free, "waiting": waiting}

    def release(self) -> None:
        """A turn ends: the slot goes to the first request still waiting, or is free again."""
        while self._waiting:
            turn = self._waiting.popleft()
            if not turn.done():
                turn.set_result(None)  # handed on: the slot stays taken
                return
        self._free += 1

    async def take(self) -> bool:
        """Wait for a turn: True once it is this request's, False when the wait ran out."""
        if self._free > 0 and not self._waiting:
            self._free -= 1
            return True
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append(turn)
        try:
            await asyncio.wait_for(asyncio.shield(turn), self.wait_seconds)
        except TimeoutError:
            if turn.done() and not turn.cancelled():
                return True  # given a turn just as the wait ran out
            turn.cancel()
            return False
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self.release()  # given a turn it will not use
            else:
                turn.cancel()
            raise
        return True


class EvenConnections:
    """Served by several workers (app.serving): a worker holding more than its share of the
    server's connections closes one after its response (`Connection: close`), and the client's
    next connection is placed afresh. Served otherwise, it does nothing."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        shares = serving.balance
        if scope["type"] != "http" or shares is None:
            await self.app(scope, receive, send)
            return

        async def send_closing(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                closes = any(name.lower() == b"connection" for name, _ in headers)
                if not closes and shares.shed_one():
                    message = {**message, "headers": [*headers, (b"connection", b"close")]}
            await send(message)

        await self.app(scope, receive, send_closing)


class TakeTurns:
    """Requests of this worker take turns (`turns`: at most so many at once, first come first
    served, a bounded wait); one whose wait runs out gets 503 with Retry-After.

    Under more requests than the processor can answer, every request then waits about as long
    as the others instead of sharing the processor with all of them: the slowest answers come
    near the typical one. A turn starts once the request has arrived (a slow sender of a form
    does not keep one) and ends when the response starts (nor does a slow reader of a long
    body) or the app returns. Static files and /healthz skip the queue; no slots, no queue.
    """

    def __init__(self, app: ASGIApp, *, turns: Turns, retry_after: int = 5) -> None:
        self.app = app
        self.turns = turns
        self.retry_after = retry_after

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or self.turns.slots <= 0 or path.startswith(QUEUE_FREE):
            await self.app(scope, receive, send)
            return
        if scope["method"] in UNSAFE_METHODS:
            receive = await _arrived(receive)  # a slow sender must not hold a turn
        if not await self.turns.take():
            await _busy(scope, send, self.retry_after)
            return
        held = True

        async def send_releasing(message: Message) -> None:
            nonlocal held
            if held and message["type"] == "http.response.start":
                held = False
                self.turns.release()
            await send(message)

        try:
            await self.app(scope, receive, send_releasing)
        finally:
            if held:
                held = False
                self.turns.release()


async def _arrived(receive: Receive) -> Receive:
    """Read the request's whole body now; a receive that hands the app the same messages, in
    order (then the server's own). A body refused while it arrives (RequestLimitMiddleware) is
    refused where the app reads that part, as it would have been."""
    messages: list[Message] = []
    refused: Exception | None = None
    try:
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request" or not message.get("more_body", False):
                break
    except RequestRejected as exc:
        refused = exc

    async def replay() -> Message:
        if messages:
            return messages.pop(0)
        if refused is not None:
            raise refused
        return await receive()

    return replay


QUEUE_FREE = ("/static/", "/healthz")
"""Paths that never wait for a turn: files from disk, and the health check (it must answer
while the queue is full, to say so)."""


async def _busy(scope: Scope, send: Send, retry_after: int) -> None:
    detail = "The server is busy; please try again in a few seconds."
    await _early_error(
        scope, send, 503, "Busy", detail, [(b"retry-after", str(retry_after).encode())]
    )
