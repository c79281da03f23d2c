"""The FastAPI application: static files, routers and error pages."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from app import __version__
from app.config import PROJECT_ROOT
from app.routes import api, pages
from app.services.errors import InvalidParameter, NotFound
from app.templating import render


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
    assert isinstance(exc, NotFound)
    return _error(request, 404, "Not found", str(exc))


async def _invalid_parameter(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, InvalidParameter)
    return _error(request, 400, "Bad request", f"{exc.field}: {exc.message}", exc.field)


async def _request_validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0] if exc.errors() else {}
    field = ".".join(str(part) for part in first.get("loc", ())[1:]) or None
    message = str(first.get("msg", "invalid request"))
    return _error(request, 400, "Bad request", f"{field}: {message}" if field else message, field)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 404:
        return _error(request, 404, "Not found", f"There is no page at {request.url.path}.")
    titles = {405: "Method not allowed", 403: "Forbidden", 401: "Unauthorized"}
    response = _error(
        request, exc.status_code, titles.get(exc.status_code, "Error"), str(exc.detail)
    )
    if exc.headers:
        response.headers.update(exc.headers)
    return response


def create_app() -> FastAPI:
    """Build the app: one place wires routers, static files and error handlers."""
    app = FastAPI(
        title="peacetalks",
        version=__version__,
        summary="Where each party to the Ukraine peace talks stands on each term of a settlement.",
    )
    app.mount("/static", StaticFiles(directory=PROJECT_ROOT / "static"), name="static")
    app.include_router(pages.router)
    app.include_router(api.router)
    app.include_router(api.health_router)
    app.add_exception_handler(NotFound, _not_found)
    app.add_exception_handler(InvalidParameter, _invalid_parameter)
    app.add_exception_handler(RequestValidationError, _request_validation)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    return app


app = create_app()
