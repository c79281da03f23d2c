"""The FastAPI application: static files, routers and error pages."""

from __future__ import annotations

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.trustedhost import TrustedHostMiddleware
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from app import __version__
from app.cached_views import view_caches
from app.config import PROJECT_ROOT, check_production_settings, get_settings
from app.db import RetryWhenBusy, database_busy, database_timed_out, note_busy
from app.middleware import (
    CONTENT_SECURITY_POLICY,
    EvenConnections,
    HeadMiddleware,
    RequestContextMiddleware,
    RequestLimitMiddleware,
    TakeTurns,
    Turns,
)
from app.routes import (
    api,
    api_objects,
    audit,
    auth,
    briefing,
    docs,
    documents,
    exports,
    feeds,
    manage,
    pages,
    positions,
    quotes,
    rounds,
    search,
)
from app.security import (
    Forbidden,
    LoginRequired,
    csrf_guard,
    login_url,
    reader_guard,
)
from app.services import held_catalog, position_runs, unassessed, versioning
from app.services.errors import (
    EditConflict,
    InUse,
    InvalidParameter,
    NotFound,
    Throttled,
    ValidationFailed,
)
from app.templating import render, wants_fragment


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _error(
    request: Request, status: int, title: str, detail: str, field: str | None = None
) -> Response:
    if _is_api(request):
        body: dict[str, str | None] = {"error": title, "detail": detail}
        if field is not None:
            body["field"] = field
        return JSONResponse(body, status_code=status)
    return render(
        request,
        "errors/page.html",
        {"status": status, "title": title, "detail": detail},
        fragment="errors/_error.html",
        status_code=status,
    )


async def _not_found(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, NotFound):  # registered for it; narrows the type
        raise exc
    return _error(request, 404, "Not found", str(exc))


async def _invalid_parameter(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, InvalidParameter):  # registered for it; narrows the type
        raise exc
    return _error(request, 400, "Bad request", f"{exc.field}: {exc.message}", exc.field)


async def _edit_conflict(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, EditConflict):  # registered for it; narrows the type
        raise exc
    response = render(
        request,
        "conflict.html",
        {
            "title": exc.title,
            "current": exc.current,
            "submitted": exc.submitted,
            "retry_url": exc.retry_url,
            "resubmit": exc.resubmit,
        },
        status_code=409,
    )
    if request.headers.get("HX-Request") == "true":
        # htmx swaps 4xx answers into the form; show the conflict page's content in its place.
        response.headers["HX-Retarget"] = "#content"
        response.headers["HX-Reswap"] = "outerHTML"
        response.headers["HX-Reselect"] = "#content"
    return response


async def _in_use(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, InUse):  # registered for it; narrows the type
        raise exc
    return _error(request, 409, "Conflict", exc.message)


async def _validation_failed(request: Request, exc: Exception) -> Response:
    # A form route re-renders its form with these errors (422); this answers the rest.
    if not isinstance(exc, ValidationFailed):  # registered for it; narrows the type
        raise exc
    field = next(iter(exc.errors), None)
    return _error(request, 422, "Unprocessable content", str(exc), field)


async def _request_validation(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, RequestValidationError):  # registered for it; narrows the type
        raise exc
    first = exc.errors()[0] if exc.errors() else {}
    field = ".".join(str(part) for part in first.get("loc", ())[1:]) or None
    message = str(first.get("msg", "invalid request"))
    return _error(request, 400, "Bad request", f"{field}: {message}" if field else message, field)


async def _forbidden(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, Forbidden):  # registered for it; narrows the type
        raise exc
    return _error(request, 403, "Forbidden", exc.message)


async def _login_required(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, LoginRequired):  # registered for it; narrows the type
        raise exc
    target = login_url(exc.next_path)
    if wants_fragment(request):
        # htmx would swap a redirect's page into the target; ask it to navigate instead.
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


async def _throttled(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, Throttled):  # registered for it; narrows the type
        raise exc
    response = render(
        request, "errors/throttled.html", {"retry_after": exc.retry_after}, status_code=429
    )
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


def _busy(request: Request, why: str) -> Response:
    response = _error(
        request, 503, "Busy", f"{why}; nothing was saved. Please try again in a few seconds."
    )
    response.headers["Retry-After"] = "5"
    return response


async def _database_timed_out(request: Request, exc: Exception) -> Response:
    if not database_timed_out(exc):  # registered for pool and operational errors
        raise exc
    return _busy(request, "The database is busy")


async def _database_busy(request: Request, exc: Exception) -> Response:
    if database_timed_out(exc):  # a bounded wait ran out: answer now, do not run again
        return await _database_timed_out(request, exc)
    if not database_busy(exc):  # registered for OperationalError; anything else is a 500
        raise exc
    note_busy(request)  # RetryWhenBusy runs the request again while it may
    return _busy(request, "Others were saving at the same moment")


async def _http_error(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, StarletteHTTPException):  # registered for it; narrows the type
        raise exc
    if exc.status_code == 404:
        return _error(request, 404, "Not found", f"There is no page at {request.url.path}.")
    titles = {
        400: "Bad request",
        401: "Unauthorized",
        403: "Forbidden",
        405: "Method not allowed",
        413: "Content too large",
    }
    response = _error(
        request, exc.status_code, titles.get(exc.status_code, "Error"), str(exc.detail)
    )
    if exc.headers:
        response.headers.update(exc.headers)
    return response


def create_app() -> FastAPI:
    """Build the app: one place wires routers, static files, error handlers and middleware.

    Refuses (UnsafeProductionSettings) to build a production app with unsafe settings.
    """
    settings = get_settings()
    check_production_settings(settings)
    serves_docs = settings.serves_docs
    app = FastAPI(
        # Every route checks CSRF on unsafe methods: a new route cannot forget it.
        dependencies=[Depends(csrf_guard)],
        title="peacetalks",
        version=__version__,
        summary="Where each party to the Ukraine peace talks stands on each term of a settlement.",
        debug=settings.debug,
        # Swagger UI and ReDoc come from our own static files (app.routes.docs), not a CDN.
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json" if serves_docs else None,
    )
    # The header links to /docs only when this app serves it (base.html reads it per request:
    # no global template setting that another app, or a test, would have to undo).
    app.state.docs_enabled = serves_docs
    # Writes move the data version on; cached views key on it (each app has its own caches).
    versioning.install()
    app.state.view_caches = view_caches()
    app.state.unassessed_days = unassessed.DayStore()  # the matrix's unassessed counts
    app.state.held_runs = position_runs.HeldRuns()  # the matrix's stored runs, in memory
    app.state.held_catalog = held_catalog.HeldCatalog()  # parties, issues, themes per version
    app.mount("/static", StaticFiles(directory=PROJECT_ROOT / "static"), name="static")
    # Innermost: a request whose transaction met a busy database runs again (app.db).
    app.add_middleware(RetryWhenBusy)
    # Compress larger responses on the fly (already-compressed ones, like the cached matrix
    # page, pass through untouched).
    app.add_middleware(GZipMiddleware, minimum_size=2048, compresslevel=5)
    # HEAD on every GET route: the app answers a GET and the body is dropped (see the class).
    app.add_middleware(HeadMiddleware)
    readers = [Depends(reader_guard)]
    app.include_router(pages.router, dependencies=readers)
    app.include_router(search.router, dependencies=readers)
    app.include_router(feeds.router, dependencies=readers)
    app.include_router(exports.router, dependencies=readers)
    app.include_router(briefing.router, dependencies=readers)
    app.include_router(api.router, dependencies=readers)
    app.include_router(api_objects.router, dependencies=readers)
    app.include_router(documents.api_router, dependencies=readers)
    app.include_router(rounds.api_router, dependencies=readers)
    app.include_router(search.api_router, dependencies=readers)
    app.include_router(documents.router, dependencies=readers)
    app.include_router(rounds.router, dependencies=readers)
    app.include_router(api.health_router)
    app.include_router(auth.router)
    if serves_docs:
        app.include_router(docs.router)
    for editor_router in (quotes.router, positions.router, manage.router, audit.router):
        app.include_router(editor_router, dependencies=readers)
    app.add_exception_handler(NotFound, _not_found)
    app.add_exception_handler(InvalidParameter, _invalid_parameter)
    app.add_exception_handler(ValidationFailed, _validation_failed)
    app.add_exception_handler(EditConflict, _edit_conflict)
    app.add_exception_handler(InUse, _in_use)
    app.add_exception_handler(RequestValidationError, _request_validation)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Forbidden, _forbidden)
    app.add_exception_handler(LoginRequired, _login_required)
    app.add_exception_handler(Throttled, _throttled)
    app.add_exception_handler(OperationalError, _database_busy)
    app.add_exception_handler(PoolTimeout, _database_timed_out)

    # Middleware runs outermost-last-added: request context (id, headers, log, 500) wraps the
    # host check, which wraps the body limits, which wrap HEAD, compression and the app.
    # Inside the request context (so a 503 is logged and carries the usual headers): requests
    # beyond the worker's slots wait their turn, first come first served.
    app.state.turns = Turns(slots=settings.request_slots, wait_seconds=settings.request_wait_s)
    app.add_middleware(TakeTurns, turns=app.state.turns)
    app.add_middleware(
        RequestLimitMiddleware,
        max_body_bytes=settings.max_body_bytes,
        max_form_fields=settings.max_form_fields,
    )
    app.add_middleware(
        TrustedHostMiddleware, allowed_hosts=settings.allowed_hosts, www_redirect=False
    )
    app.add_middleware(
        RequestContextMiddleware,
        https_only=settings.https_only,
        debug=settings.debug,
        docs_paths=docs.DOCS_PATHS if serves_docs else (),
        docs_policy=(
            docs.policy(openapi_url=app.openapi_url or "", title=app.title)
            if serves_docs
            else CONTENT_SECURITY_POLICY
        ),
    )
    # Served by several workers, one with more than its share of the connections closes one
    # after its response, so that long-lived connections end up spread evenly (app.serving).
    app.add_middleware(EvenConnections)
    if settings.trusted_proxies:
        # Outermost: only a configured proxy's X-Forwarded-For/-Proto name the client and scheme
        # that everything inside sees (the login throttle's address, the CSRF origin check).
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)
    return app


app = create_app()
