"""The one Jinja2 environment and the one render path: a full page, or its fragment for htmx.

How anything is rendered (one path):
- `render(request, page, context, fragment=...)` answers every HTML request: the page, or the
  fragment htmx swaps when `wants_fragment()` says so, with the base context below and
  `Vary: HX-Request`. A page includes its fragment with `{% include %}`.
- A cached view (app.cached_views) renders its fragment once, for every reader, and hands the
  HTML to `render(..., fragment_html=html)`: sent as it is for htmx, placed in the page where
  it says `{{ fragment_html }}` otherwise (spliced in after the page renders around a marker).
  That is the one place rendered HTML becomes Markup.
- `render_text(name, context)` renders a template to text with no request and no base
  context, for what is not a page response or must not depend on one: cached fragments, the
  briefing PDF's HTML, the Atom feed, and the 500 page, which must render whatever failed (it
  asks `wants_fragment()` too). `render()` is built on it; nothing else renders a template.

Base context, provided to every template (a test keeps this list and the code in step):

| key          | what it is                                                          |
| ------------ | ------------------------------------------------------------------- |
| request      | the Starlette request (url_for, query parameters)                   |
| site_name    | the name shown in the header (setting `site_name`)                  |
| htmx_src     | URL path of the vendored htmx script                                |
| today        | the server's current date, the default `as_of`                      |
| as_fragment  | True when rendering the fragment for htmx rather than the full page |
| current_user | the logged-in user (security.Viewer: id, display_name, role) or None |
| csrf_token   | the token every unsafe form and htmx request must carry             |
| flash        | a logged-in user's one-time "saved" message (security.Flash) or None |
"""

from __future__ import annotations

import functools
import re
from datetime import date
from typing import Any

import pyphen
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape
from starlette.requests import HTTPConnection, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from app.config import PROJECT_ROOT, get_settings
from app.forms import error_list
from app.models import Stance
from app.security import FLASH_COOKIE, Flash, read_flash, set_flash
from app.services.matrix import split_members

HTMX_VERSION = "4.0.1"
BASE_CONTEXT_KEYS = frozenset(
    {
        "request",
        "site_name",
        "htmx_src",
        "today",
        "as_fragment",
        "current_user",
        "csrf_token",
        "flash",
    }
)

templates = Jinja2Templates(directory=PROJECT_ROOT / "templates")
# Autoescape every template whatever its file name: user text reaches templates only escaped.
templates.env.autoescape = True
templates.env.trim_blocks = True
templates.env.lstrip_blocks = True
# Each template is read once per process, as the code is (a changed template takes a restart, like
# a changed module): checking every template file's time on every render was 3.6 % of a worker
# serving matrix misses.
templates.env.auto_reload = False

STANCE_LABELS = {
    Stance.ACCEPTS: "Accepts",
    Stance.CONDITIONAL: "Conditional",
    Stance.AMBIGUOUS: "Ambiguous",
    Stance.REJECTS: "Rejects",
}


@functools.lru_cache(maxsize=8192)
def format_day(value: date | None) -> str:
    """A date as analysts write it: 23 Apr 2025. Kept per day: a cell page writes about 250
    dates (its quotes, their sources and answers, its positions and their evidence, the
    timeline's ticks) from a few hundred distinct days, and strftime is the dear part."""
    if value is None:
        return ""
    return f"{value.day} {value:%b %Y}"


def stance_label(value: Stance | str) -> str:
    """The word shown for a stance."""
    return STANCE_LABELS[Stance(value)]


def highlight(value: str, terms: list[str] | None) -> Markup:
    """The text, escaped, with words that start with a search term wrapped in <mark>.

    Matches are found in the raw text and every piece is escaped on its own, so user text can
    never become markup (one of the few reviewed places that builds Markup).
    """
    words = sorted({t for t in terms or [] if t}, key=len, reverse=True)
    if not words:
        return Markup(escape(value))  # noqa: S704 - escaped
    pattern = re.compile(
        r"(?<!\w)(?:" + "|".join(re.escape(w) for w in words) + r")\w*", re.IGNORECASE
    )
    pieces: list[str] = []
    position = 0
    for match in pattern.finditer(value):
        pieces.append(str(escape(value[position : match.start()])))
        pieces.append(f"<mark>{escape(match.group(0))}</mark>")
        position = match.end()
    pieces.append(str(escape(value[position:])))
    return Markup("".join(pieces))  # noqa: S704 - every piece escaped above


_HYPHENATION = pyphen.Pyphen(lang="en_US")


@functools.lru_cache(maxsize=4096)
def soft_hyphens(value: str) -> Markup:
    """The text, escaped, with invisible hyphenation points (`&shy;`, from pyphen's dictionary)
    in its longer words: a narrow column then breaks "recog-nition" with a hyphen rather than
    "recogniti" / "on" wherever the width runs out, whether or not the browser hyphenates.
    Written as a character reference, so a page of ASCII titles stays ASCII (app/cell_markup.py)."""
    text = " ".join(
        _HYPHENATION.inserted(word, hyphen="\u00ad") if len(word) >= 7 else word
        for word in value.split(" ")
    )
    # Escaping leaves U+00AD alone; each becomes its reference after the text is escaped.
    return Markup(str(escape(text)).replace("\u00ad", "&shy;"))  # noqa: S704


templates.env.filters["day"] = format_day
templates.env.filters["soft_hyphens"] = soft_hyphens
templates.env.filters["highlight"] = highlight
templates.env.filters["stance_label"] = stance_label
templates.env.globals["stances"] = list(Stance)
templates.env.globals["split_members"] = split_members
templates.env.globals["error_list"] = error_list
templates.env.globals["zip"] = zip


def base_context(request: Request) -> dict[str, Any]:
    """What every template gets; see the table in this module's docstring."""
    auth = getattr(request.state, "auth", None)
    return {
        "request": request,
        "site_name": get_settings().site_name,
        "htmx_src": f"/static/vendor/htmx-{HTMX_VERSION}.min.js",
        "today": date.today(),
        "as_fragment": False,
        "current_user": auth.viewer if auth else None,
        "csrf_token": auth.csrf_token if auth else "",
        "flash": read_flash(request) if auth and auth.viewer else None,
    }


def wants_fragment(request: HTTPConnection) -> bool:
    """True for an htmx request, except a history restore, which must get the whole page."""
    return (
        request.headers.get("HX-Request") == "true"
        and "HX-History-Restore-Request" not in request.headers
    )


def render_text(name: str, context: dict[str, Any]) -> str:
    """The template `name` rendered with exactly `context`: no request, no base context."""
    return templates.get_template(name).render(context)


def macro(name: str, macro_name: str) -> Any:
    """The macro `macro_name` of the template `name`, to call from Python (it sees no render
    context, only its arguments and the environment's globals and filters)."""
    return getattr(templates.get_template(name).module, macro_name)


SPLICE = "\x00fragment\x00"
"""Where a page holds its cached fragment while the page is rendered (no text holds a NUL)."""


def render(
    request: Request,
    page: str,
    context: dict[str, Any],
    *,
    fragment: str | None = None,
    fragment_html: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """Render `page`, or `fragment` (the part of it htmx swaps) when htmx asks for one.

    `fragment_html` is `fragment` already rendered (a cached view's): sent as it is for htmx,
    and given to the page as `fragment_html`.
    """
    as_fragment = fragment is not None and wants_fragment(request)
    if as_fragment and fragment_html is not None:
        body = fragment_html
    else:
        values = {**base_context(request), **context, "as_fragment": as_fragment}
        if fragment_html is not None:
            # A marker is rendered in its place and the fragment spliced in after: passing a
            # large fragment through the template would escape-check (copy) it whole.
            values["fragment_html"] = Markup(SPLICE)  # noqa: S704
        body = render_text(fragment if as_fragment and fragment is not None else page, values)
        if fragment_html is not None:
            # Our own template's output, rendered with autoescape (the one reviewed place).
            before, marker, after = body.partition(SPLICE)
            body = before + fragment_html + after if marker else body
    response = HTMLResponse(body, status_code=status_code, headers={"Vary": "HX-Request"})
    if not as_fragment and request.cookies.get(FLASH_COOKIE):
        response.delete_cookie(FLASH_COOKIE, path="/")  # shown once, on this page
    return response


def redirect_after_post(request: Request, url: str, *, flash: Flash | None = None) -> Response:
    """After a successful POST: 303 for a plain form; for htmx, ask it to navigate (no swap).
    `flash` is shown once on the page it lands on ("Quote added to … — view it")."""
    response: Response
    if request.headers.get("HX-Request") == "true":
        response = Response(status_code=204, headers={"HX-Redirect": url})
    else:
        response = RedirectResponse(url, status_code=303)
    if flash is not None:
        set_flash(response, flash)
    return response
