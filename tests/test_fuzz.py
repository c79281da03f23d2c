"""Generated requests, 4xx or results and never a 5xx: schemathesis against the OpenAPI schema, and
hypothesis over every parameter of every route (query, path and form fields, found by walking the
routes and the forms the pages carry) with the inputs that used to break things: Unicode digits,
extreme dates, control characters and odd numbers, forms sent both URL-encoded and multipart."""

from __future__ import annotations

import re
import string
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from html.parser import HTMLParser
from urllib.parse import quote, urlencode, urlsplit

import pytest
import schemathesis
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from app.main import create_app
from app.models import Role
from app.routes import briefing
from app.services import users
from tests.auth_helpers import login, make_user
from tests.conftest import csrf_token


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cheap argon2id parameters: forms that set a password are fuzzed, not the hash's cost."""
    monkeypatch.setattr(
        users, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


def test_api_never_answers_5xx(app: FastAPI, seeded: Session) -> None:
    """schemathesis generates requests for every operation of the OpenAPI schema, in process.

    (Its pytest plugin does not load under pytest 9, so the operations are driven directly.)
    """
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 8
    for operation in operations:

        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def check(case: schemathesis.Case) -> None:
            response = case.call()
            assert response.status_code < 500, (
                case.method,
                case.path,
                case.query,
                response.text[:300],
            )

        check()


# --- What is generated -----------------------------------------------------------------------

_WORD = st.text(string.ascii_letters + " ", max_size=6)


def _around(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """`inner` alone or inside ordinary words."""
    return st.one_of(inner, st.builds(lambda a, x, b: a + x + b, _WORD, inner, _WORD))


HOSTILE: dict[str, st.SearchStrategy[str]] = {
    # str.isdigit() accepts "²" and int() refuses it; int() accepts "١٢"; neither is a number here.
    "unicode digits": st.one_of(
        st.sampled_from(["²", "١٢", "１２", "৩", "Ⅻ", "1²"]),
        st.text(
            st.characters(categories=["Nd", "No", "Nl"], exclude_characters="0123456789"),
            min_size=1,
            max_size=4,
        ),
    ),
    # Far enough from today, date arithmetic overflows.
    "extreme dates": st.one_of(
        st.sampled_from(["0001-01-01", "9999-12-31", "1899-12-31", "2101-01-01", "0000-00-00"]),
        st.dates(max_value=date(1899, 12, 31)).map(date.isoformat),
        st.dates(min_value=date(2101, 1, 1)).map(date.isoformat),
    ),
    # XML forbids most of them (an Atom feed breaks), PostgreSQL refuses NUL, U+202E disguises.
    "control characters": _around(
        st.text(
            st.one_of(
                st.characters(categories=["Cc"]),
                st.sampled_from("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufffe"),
            ),
            min_size=1,
            max_size=3,
        )
    ),
    "odd numbers and text": st.one_of(
        st.sampled_from(
            [
                "-1",
                "0",
                "99999999999999999999",
                "1e3",
                " 1",
                "+1",
                "1_0",
                "0x1F",
                "é",
                "",
                "x" * 3000,
                "'; DROP TABLE quotes; --",
                "<script>",
                "../..",
                "2025-02-30",
                "2025-04-23T00:00",
                "Крим",
                "%00",
                "ua",
            ]
        ),
        st.text(max_size=20),
    ),  # fmt: skip
}
CLASSES = list(HOSTILE)


# --- Every route and its parameters ----------------------------------------------------------


def _routes() -> list[APIRoute]:
    def walk(routes: list[object]) -> Iterator[APIRoute]:
        for route in routes:
            if isinstance(route, APIRoute):
                yield route
            inner = getattr(route, "original_router", None)  # an included router
            if inner is not None:
                yield from walk(list(inner.routes))

    return list(walk(list(create_app().routes)))


def _parameters(dependant: Dependant) -> list[tuple[str, str]]:
    """(name, "query" or "path") of every parameter a route reads, its dependencies' included."""
    found = [(p.alias, "query") for p in dependant.query_params]
    found += [(p.alias, "path") for p in dependant.path_params]
    for sub in dependant.dependencies:
        found += _parameters(sub)
    return sorted(set(found))


def _pattern(path: str) -> str:
    """A regex matching the route's URLs, each path parameter a named group."""
    return re.sub(r"\\\{([^}]+)\\\}", r"(?P<\1>[^/]+)", re.escape(path)) + "$"


ROUTES = _routes()
GET_ROUTES = [r for r in ROUTES if "GET" in r.methods]
POST_ROUTES = sorted({r.path for r in ROUTES if r.methods & {"POST", "PUT", "PATCH", "DELETE"}})
NOT_CRAWLED = (".pdf", ".csv", ".atom", ".ico", "/docs", "/redoc", "/openapi.json")
SAME_PARAMETERS = {"/briefing.pdf": "/briefing"}
"""The PDF reads its parameters through the preview's one dependency (checked below) and takes
seconds to render, so the preview's parameters stand for the PDF's."""


def _url(route: APIRoute, site: Site, **values: str) -> str:
    """The route's real URL (from the crawl; else "1" for each path parameter), with the path
    parameters named in `values` replaced."""
    real = re.match(_pattern(route.path), site.urls.get(route.path, ""))
    given = {name: quote(value, safe="") for name, value in values.items()}

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in given:
            return given[name]
        return real.group(name) if real else "1"

    return re.sub(r"\{([^}]+)\}", fill, route.path)


# --- The pages' links and forms --------------------------------------------------------------


@dataclass
class Form:
    """A POST form as a page carries it: the fields it would submit, and every field's name."""

    page: str
    action: str
    fields: list[tuple[str, str]] = field(default_factory=list)
    names: list[str] = field(default_factory=list)

    def add(self, name: str, value: str, *, submitted: bool = True) -> None:
        if name not in self.names:
            self.names.append(name)
        if submitted:
            self.fields.append((name, value))


class _Page(HTMLParser):
    """The links and POST forms of a page."""

    def __init__(self, url: str) -> None:
        super().__init__(convert_charrefs=True)
        self.url = url
        self.links: list[str] = []
        self.forms: list[Form] = []
        self.form: Form | None = None
        self.select: str | None = None
        self.chosen: str | None = None
        self.textarea: str | None = None
        self.text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {key: value or "" for key, value in attrs}
        if tag == "a" and a.get("href", "").startswith("/"):
            self.links.append(a["href"])
        elif tag == "form" and a.get("method", "get").lower() == "post":
            self.form = Form(page=self.url, action=a.get("action", ""))
            self.forms.append(self.form)
        elif self.form is None:
            return
        elif tag == "option" and self.select is not None:
            if self.chosen is None or "selected" in a:
                self.chosen = a.get("value", "")
        elif not a.get("name"):
            return
        elif tag == "input" and a.get("type", "text") in {"checkbox", "radio"}:
            self.form.add(a["name"], a.get("value", "on"), submitted="checked" in a)
        elif tag == "input" and a.get("type", "text") not in {"submit", "button", "file"}:
            self.form.add(a["name"], a.get("value", ""))
        elif tag == "textarea":
            self.textarea, self.text = a["name"], ""
        elif tag == "select":
            self.select, self.chosen = a["name"], None

    def handle_data(self, data: str) -> None:
        if self.textarea is not None:
            self.text += data

    def handle_endtag(self, tag: str) -> None:
        if self.form is None:
            return
        if tag == "textarea" and self.textarea is not None:
            self.form.add(self.textarea, self.text.removeprefix("\n"))
            self.textarea = None
        elif tag == "select" and self.select is not None:
            self.form.add(self.select, self.chosen or "")
            self.select = None
        elif tag == "form":
            self.form = None


def _read(client: TestClient, url: str) -> _Page:
    page = _Page(url)
    page.feed(client.get(url, follow_redirects=False).text)
    return page


@dataclass
class Site:
    """What a crawl found: a real URL for each route it saw linked, a form for each POST route."""

    urls: dict[str, str] = field(default_factory=dict)
    forms: dict[str, Form] = field(default_factory=dict)


def _route_of(url: str) -> str | None:
    path = urlsplit(url).path
    return next((r.path for r in ROUTES if re.match(_pattern(r.path), path)), None)


def _crawl(client: TestClient, starts: list[str], *, avoid: str = "\0") -> Site:
    """Read one page of each GET route, breadth first from `starts`, noting links and forms;
    skipping URLs that contain `avoid`."""
    site, queue, visited = Site(), list(starts), set()
    while queue and len(visited) < 120:
        url = queue.pop(0)
        route = _route_of(url)
        path = urlsplit(url).path
        if route is None or route in visited or path.endswith(NOT_CRAWLED) or avoid in url:
            continue
        visited.add(route)
        page = _read(client, url)
        for form in page.forms:
            target = _route_of(form.action)
            if target and target not in site.forms and avoid not in form.action:
                site.forms[target] = form
        for link in [url, *page.links]:
            target = _route_of(link)
            if target and target not in site.urls and avoid not in link:
                site.urls[target] = urlsplit(link).path
        queue.extend(page.links)
    return site


def _fresh(client: TestClient, form: Form) -> Form:
    """The form as its page carries it now (its current version, this client's CSRF token)."""
    return next((f for f in _read(client, form.page).forms if f.action == form.action), form)


@pytest.fixture
def admin_site(client: TestClient, seeded: Session) -> Site:
    """`client` logged in as an admin, and the site as it sees it: another user's pages, never
    its own (a fuzzed form there could end its own session)."""
    admin = make_user(seeded, "root@example.org", role=Role.ADMIN)
    make_user(seeded, "target@example.org")
    _a_version_of_the_seed_plan(seeded)  # its page carries the mapping form
    login(client, admin.email)
    # The crawl reads one page per route: the version's page first, or another document's page
    # (the cell's points link to the seed plan) stands for it and the mapping form goes unseen.
    starts = ["/documents/us-proposal-revised", "/", "/quotes", "/manage"]
    return _crawl(client, starts, avoid=f"/manage/users/{admin.id}/")


def _a_version_of_the_seed_plan(session: Session) -> None:
    from app.services import documents

    plan = documents.get_document(session, slug="us-proposal-paris-2025-04")
    documents.create_document(
        session, actor=None, slug="us-proposal-revised", title="Revised proposal",
        kind=plan.kind, status=plan.status, confirmation=plan.confirmation,
        tabled_on=plan.tabled_on, source=plan.source,
        parties=[(p.party, p.role) for p in plan.parties],
        points=documents.derived_drafts(plan), derived_from=plan,
    )  # fmt: skip


@pytest.fixture
def visitor(app: FastAPI) -> Iterator[TestClient]:
    """An anonymous reader's client."""
    with TestClient(app) as anonymous:
        yield anonymous


@pytest.fixture
def visitor_site(visitor: TestClient, seeded: Session) -> Site:
    """The site as an anonymous reader sees it (the crawl's cookies are then forgotten)."""
    found = _crawl(visitor, ["/", "/quotes", "/login"])
    visitor.cookies.clear()
    return found


# --- Every parameter of every route ---------------------------------------------------------


# One example draws a value of every class for every parameter; shrinking it would replay
# hundreds of requests many times over, and the failure's message names the input already.
@settings(
    max_examples=1,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)
@given(data=st.data())
def test_every_parameter_of_every_route_gives_4xx_or_results(
    client: TestClient,
    admin_site: Site,
    visitor: TestClient,
    visitor_site: Site,
    data: st.DataObject,
) -> None:
    """Each class of hostile input, in turn, in each query and path parameter of each GET route
    and in each field of each form (the CSRF token too), as an admin, who reaches every route,
    and at the login form as a visitor. One example: every parameter gets every class."""
    assert sorted({*admin_site.forms, *visitor_site.forms}) == POST_ROUTES
    pdf = next(r for r in GET_ROUTES if r.path == "/briefing.pdf")
    preview = next(r for r in GET_ROUTES if r.path == SAME_PARAMETERS["/briefing.pdf"])
    assert any(d.call is briefing.briefing_request for d in pdf.dependant.dependencies)
    assert _parameters(pdf.dependant) == _parameters(preview.dependant)
    assert _fuzz_query_and_path(client, admin_site, data) > 400
    sent = _fuzz_forms(client, admin_site, data) + _fuzz_forms(visitor, visitor_site, data)
    assert sent > 400


def _fuzz_query_and_path(client: TestClient, site: Site, data: st.DataObject) -> int:
    sent = 0
    for route in GET_ROUTES:
        if route.path in SAME_PARAMETERS:
            continue
        for name, where in _parameters(route.dependant):
            for kind in CLASSES:
                value = data.draw(HOSTILE[kind], label=f"{route.path} {name} ({kind})")
                if where == "path":
                    url, params = _url(route, site, **{name: value}), {}
                else:
                    url, params = _url(route, site), {name: value}
                response = client.get(url, params=params, follow_redirects=False)
                assert response.status_code < 500, (url, params, response.text[:300])
                sent += 1
    return sent


def _submit(
    client: TestClient, form: Form, fields: list[tuple[str, str]], *, multipart: bool
) -> int:
    if multipart:
        parts = [(name, (None, value)) for name, value in fields]
        return client.post(form.action, files=parts, follow_redirects=False).status_code
    form_type = {"Content-Type": "application/x-www-form-urlencoded"}
    return client.post(
        form.action, content=urlencode(fields), headers=form_type, follow_redirects=False
    ).status_code


def _fuzz_forms(client: TestClient, site: Site, data: st.DataObject) -> int:
    """Every field of every form, each class in turn, sent URL-encoded or multipart in turn; a
    form that saved is read again (its version has moved on)."""
    sent = 0
    for route, discovered in sorted(site.forms.items()):
        form = _fresh(client, discovered)
        for n, name in enumerate(discovered.names):
            for k, kind in enumerate(CLASSES):
                value = data.draw(HOSTILE[kind], label=f"{route} {name} ({kind})")
                fields = [(f, v) for f, v in form.fields if f != name] + [(name, value)]
                status = _submit(client, form, fields, multipart=(n + k) % 2 == 0)
                assert status < 500, (form.action, name, kind, repr(value)[:200])
                sent += 1
                if status in {302, 303}:
                    form = _fresh(client, form)
    return sent


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_a_visitors_pages_give_4xx_or_results(
    visitor: TestClient, visitor_site: Site, data: st.DataObject
) -> None:
    """Anonymous readers take other paths (whole cached pages): several parameters at once."""
    visitor.cookies.clear()
    route = data.draw(st.sampled_from([r for r in GET_ROUTES if r.path not in SAME_PARAMETERS]))
    names = [name for name, where in _parameters(route.dependant) if where == "query"]
    chosen = data.draw(st.lists(st.sampled_from(names), max_size=4)) if names else []
    params = {name: data.draw(st.one_of(*HOSTILE.values())) for name in chosen}
    headers = {"HX-Request": "true"} if data.draw(st.booleans()) else {}
    url = _url(route, visitor_site)
    response = visitor.get(url, params=params, headers=headers, follow_redirects=False)
    assert response.status_code < 500, (url, params, response.text[:300])


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    slug=st.text(min_size=1, max_size=80).filter(lambda s: "/" not in s and s not in {".", ".."})
)
def test_any_slug_is_404_or_a_page(client: TestClient, seeded: Session, slug: str) -> None:
    slug = quote(slug, safe="")
    for path in (
        f"/parties/{slug}",
        f"/issues/{slug}",
        f"/cells/{slug}/ceasefire",
        f"/feeds/parties/{slug}.atom",
    ):
        assert client.get(path).status_code in {200, 400, 404}, path


def test_unsafe_api_methods_without_a_token_are_refused(
    client: TestClient, seeded: Session
) -> None:
    for path in ("/api/v1/matrix", "/api/v1/quotes", "/api/v1/positions"):
        for method in ("POST", "PUT", "PATCH", "DELETE"):
            assert client.request(method, path).status_code in {403, 405}, (method, path)
    assert csrf_token(client)  # the guard is in force for forms too
