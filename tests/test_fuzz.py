"""Generated requests: schemathesis against the OpenAPI schema in process, and hypothesis over the
pages' parameters (search, filters, dates, slugs, pages). 4xx or results, never a 5xx."""

from __future__ import annotations

from urllib.parse import quote

import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from tests.conftest import csrf_token


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


TEXT = st.one_of(
    st.text(max_size=60),
    st.sampled_from(["", "2025-04-23", "2025-02-30", "-1", "0", "99999999999", "ua", "../..", "%00", "\x00",
                     "<script>", "'; DROP TABLE quotes; --", "x" * 5000, "Крим", "2025-04-23T00:00"]),
)  # fmt: skip
PAGES = [
    "/",
    "/quotes",
    "/changes",
    "/compare",
    "/cells/ua/ceasefire",
    "/parties/ua",
    "/issues/ceasefire",
]
PARAMS = ["as_of", "since", "known_on", "q", "party", "issue", "speaker", "stance", "status", "tier", "from",
          "to", "page", "a", "b"]  # fmt: skip


@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    path=st.sampled_from(PAGES),
    params=st.dictionaries(st.sampled_from(PARAMS), TEXT, max_size=4),
    htmx=st.booleans(),
)
def test_page_parameters_give_4xx_or_results(
    client: TestClient, seeded: Session, path: str, params: dict[str, str], htmx: bool
) -> None:
    headers = {"HX-Request": "true"} if htmx else {}
    response = client.get(path, params=params, headers=headers)
    assert response.status_code < 500, (path, params, response.text[:300])


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
