"""The interactive API docs, Swagger UI at /docs and ReDoc at /redoc, from our own static files.

Both are vendored in static/vendor/ at pinned versions (like htmx), so the docs work offline and
their pages' policy allows no other origin. Their inline start-up script is allowed by its hash.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from starlette.responses import HTMLResponse

from app.middleware import docs_policy

SWAGGER_UI_VERSION = "5.35.0"
REDOC_VERSION = "2.5.4"
SWAGGER_UI_DIR = f"/static/vendor/swagger-ui-{SWAGGER_UI_VERSION}"
REDOC_DIR = f"/static/vendor/redoc-{REDOC_VERSION}"
FAVICON = "/static/favicon.svg"
DOCS_PATHS = ("/docs", "/redoc")

router = APIRouter(include_in_schema=False)


def swagger_ui_page(*, openapi_url: str, title: str) -> HTMLResponse:
    """Swagger UI for the schema at `openapi_url`."""
    return get_swagger_ui_html(
        openapi_url=openapi_url,
        title=f"{title} - Swagger UI",
        swagger_js_url=f"{SWAGGER_UI_DIR}/swagger-ui-bundle.js",
        swagger_css_url=f"{SWAGGER_UI_DIR}/swagger-ui.css",
        swagger_favicon_url=FAVICON,
        oauth2_redirect_url=None,  # the API has no OAuth2 flow
    )


def redoc_page(*, openapi_url: str, title: str) -> HTMLResponse:
    """ReDoc for the schema at `openapi_url`, in the browser's own fonts."""
    return get_redoc_html(
        openapi_url=openapi_url,
        title=f"{title} - ReDoc",
        redoc_js_url=f"{REDOC_DIR}/redoc.standalone.js",
        redoc_favicon_url=FAVICON,
        with_google_fonts=False,
    )


def policy(*, openapi_url: str, title: str) -> str:
    """The Content-Security-Policy of the docs pages, allowing exactly their inline scripts.

    The script embeds the OpenAPI URL; mounted under a root_path it changes and the docs stop
    loading (the app's own pages are unaffected): serve them from the root or set
    DOCS_ENABLED=false.
    """
    pages = (
        swagger_ui_page(openapi_url=openapi_url, title=title),
        redoc_page(openapi_url=openapi_url, title=title),
    )
    return docs_policy(bytes(page.body).decode() for page in pages)


@router.get("/docs")
def swagger_ui(request: Request) -> HTMLResponse:
    """The API docs in Swagger UI."""
    return swagger_ui_page(openapi_url=request.app.openapi_url, title=request.app.title)


@router.get("/redoc")
def redoc(request: Request) -> HTMLResponse:
    """The API docs in ReDoc."""
    return redoc_page(openapi_url=request.app.openapi_url, title=request.app.title)
