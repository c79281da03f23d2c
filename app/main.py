"""The FastAPI application: static files, routers and error pages."""

from __future__ import annotations

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.trustedhost import TrustedHostMiddleware

from app import __version__
from app.config import PROJECT_ROOT, check_production_settings, get_settings
from app.middleware import (
    CONTENT_SECURITY_POLICY,
    RequestContextMiddleware,
    RequestLimitMiddleware,
    docs_policy,
)
from app.routes import (
    api,
    audit,
    auth,
    briefing,
    exports,
    feeds,
    manage,
    pages,
    positions,
    quotes,
    search,
)
from app.security import (
    Forbidden,
    LoginRequired,
    csrf_guard,
    login_url,
    reader_guard,
)
from app.services.errors import InvalidParameter, NotFound
from app.services.users import Throttled
from app.templating import render, templates, wants_fragment


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


def _docs_policy(app: FastAPI) -> str:
    """The CSP for the docs pages, allowing by hash the inline script FastAPI writes into them.

    The script embeds the OpenAPI URL; mounted under a root_path it changes and the docs stop
    loading (the app's own pages are unaffected): serve them from the root or set
    DOCS_ENABLED=false.
    """
    openapi_url = app.openapi_url or ""
    pages = [
        get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} - Swagger UI",
            oauth2_redirect_url=app.swagger_ui_oauth2_redirect_url,
            init_oauth=app.swagger_ui_init_oauth,
            swagger_ui_parameters=app.swagger_ui_parameters,
        ),
        get_swagger_ui_oauth2_redirect_html(),
        get_redoc_html(openapi_url=openapi_url, title=f"{app.title} - ReDoc"),
    ]
    return docs_policy(bytes(page.body).decode() for page in pages)


def create_app() -> FastAPI:
    """Build the app: one place wires routers, static files, error handlers and middleware.

    Refuses (UnsafeProductionSettings) to build a production app with unsafe settings.
    """
    settings = get_settings()
    check_production_settings(settings)
    docs = settings.docs_enabled
    templates.env.globals["docs_enabled"] = docs  # the header links to /docs only when it exists
    app = FastAPI(
        # Every route checks CSRF on unsafe methods: a new route cannot forget it.
        dependencies=[Depends(csrf_guard)],
        title="peacetalks",
        version=__version__,
        summary="Where each party to the Ukraine peace talks stands on each term of a settlement.",
        debug=settings.debug,
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
        openapi_url="/openapi.json" if docs else None,
    )
    app.mount("/static", StaticFiles(directory=PROJECT_ROOT / "static"), name="static")
    # Compress larger responses on the fly (already-compressed ones, like the cached matrix
    # page, pass through untouched).
    app.add_middleware(GZipMiddleware, minimum_size=2048, compresslevel=5)
    readers = [Depends(reader_guard)]
    app.include_router(pages.router, dependencies=readers)
    app.include_router(search.router, dependencies=readers)
    app.include_router(feeds.router, dependencies=readers)
    app.include_router(exports.router, dependencies=readers)
    app.include_router(briefing.router, dependencies=readers)
    app.include_router(api.router, dependencies=readers)
    app.include_router(api.health_router)
    app.include_router(auth.router)
    for editor_router in (quotes.router, positions.router, manage.router, audit.router):
        app.include_router(editor_router, dependencies=readers)
    app.add_exception_handler(NotFound, _not_found)
    app.add_exception_handler(InvalidParameter, _invalid_parameter)
    app.add_exception_handler(RequestValidationError, _request_validation)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Forbidden, _forbidden)
    app.add_exception_handler(LoginRequired, _login_required)
    app.add_exception_handler(Throttled, _throttled)

    # Middleware runs outermost-last-added: request context (id, headers, log, 500) wraps the
    # host check, which wraps the body limits, which wrap compression and the app.
    app.add_middleware(
        RequestLimitMiddleware,
        max_body_bytes=settings.max_body_bytes,
        max_form_fields=settings.max_form_fields,
    )
    app.add_middleware(
        TrustedHostMiddleware, allowed_hosts=settings.allowed_hosts, www_redirect=False
    )
    docs_paths = [app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url] if docs else []
    app.add_middleware(
        RequestContextMiddleware,
        https_only=settings.https_only,
        debug=settings.debug,
        docs_paths=[path for path in docs_paths if path],
        docs_policy=_docs_policy(app) if docs else CONTENT_SECURITY_POLICY,
    )
    return app


app = create_app()
