"""Quote search: web-search semantics on both databases, filters, highlighting, hostile input."""

from __future__ import annotations

from datetime import date

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from app.models import QuoteStatus, Stance
from app.services import search
from app.templating import highlight
from tests import builders as b


@pytest.fixture
def corpus(session: Session) -> dict[str, int]:
    us, ua = b.party(session, "sus"), b.party(session, "sua")
    crimea, ceasefire = b.issue(session, "scrimea"), b.issue(session, "sceasefire")
    texts = {
        "full": (
            "A full and unconditional ceasefire is the first step",
            ua,
            ceasefire,
            date(2025, 4, 22),
        ),
        "partial": ("A partial ceasefire could come first", ua, ceasefire, date(2025, 4, 21)),
        "crimea": ("Crimea will never be recognised as Russian", ua, crimea, date(2025, 4, 20)),
        "plan": ("The plan recognises Russian control over Crimea", us, crimea, date(2025, 4, 17)),
        "truce": ("An Easter truce was announced", us, ceasefire, date(2025, 4, 19)),
    }
    ids = {}
    for key, (text, party, issue, day) in texts.items():
        status = QuoteStatus.REPORTED if party is us else QuoteStatus.CONFIRMED
        ids[key] = b.quote(
            session, party, issue, Stance.ACCEPTS, text=text, said_on=day, status=status
        ).id
    session.flush()
    return ids


def _found(session: Session, **filters: object) -> list[int]:
    page = search.search_quotes(session, filters=search.QuoteFilters(**filters))  # type: ignore[arg-type]
    return [q.id for q in page.quotes]


def test_words_must_all_match_and_results_are_newest_first(
    session: Session, corpus: dict[str, int]
) -> None:
    assert _found(session, q="ceasefire") == [corpus["full"], corpus["partial"]]
    assert _found(session, q="ceasefire partial") == [corpus["partial"]]


def test_phrase_matches_words_in_order(session: Session, corpus: dict[str, int]) -> None:
    assert _found(session, q='"unconditional ceasefire"') == [corpus["full"]]
    assert _found(session, q='"ceasefire unconditional"') == []


def test_minus_excludes(session: Session, corpus: dict[str, int]) -> None:
    assert _found(session, q="crimea -plan") == [corpus["crimea"]]
    assert corpus["plan"] not in _found(session, q="-crimea")


def test_or_gives_alternatives(session: Session, corpus: dict[str, int]) -> None:
    assert set(_found(session, q="truce OR partial")) == {corpus["truce"], corpus["partial"]}


def test_filters_narrow_results(session: Session, corpus: dict[str, int]) -> None:
    assert set(_found(session, party="sus")) == {corpus["plan"], corpus["truce"]}
    assert set(_found(session, issue="scrimea")) == {corpus["crimea"], corpus["plan"]}
    assert _found(session, status=QuoteStatus.REPORTED, issue="scrimea") == [corpus["plan"]]
    assert _found(session, date_from=date(2025, 4, 21), date_to=date(2025, 4, 21)) == [
        corpus["partial"]
    ]
    assert _found(session, stance=Stance.REJECTS) == []


def test_highlight_escapes_then_marks() -> None:
    html = str(highlight('<b>Crimea</b> & "crimean" cream', ["crimea"]))
    assert html.startswith("&lt;b&gt;<mark>Crimea</mark>&lt;/b&gt;")
    assert "<mark>crimean</mark>" in html and "cream" in html and "<mark>cream" not in html
    marked = str(highlight("<i>x</i>", ["i"]))  # the word i is marked; the tag stays text
    assert "<i>" not in marked and marked == "&lt;<mark>i</mark>&gt;x&lt;/<mark>i</mark>&gt;"


def test_quotes_page_filters_in_url_and_fragment_for_htmx(
    client: TestClient, seeded: Session
) -> None:
    page = client.get("/quotes", params={"q": "crimea", "party": "ua"})
    assert page.status_code == 200
    assert "<mark>Crimea</mark>" in page.text
    assert 'value="crimea"' in page.text
    fragment = client.get("/quotes", params={"q": "ceasefire"}, headers={"HX-Request": "true"})
    assert "<html" not in fragment.text and 'id="results"' in fragment.text


@pytest.mark.parametrize(
    "params",
    [
        {"party": "atlantis"},
        {"issue": "nope"},
        {"speaker": "abc"},
        {"stance": "maybe"},
        {"status": "x"},
        {"tier": "gossip"},
        {"from": "2025-02-30"},
        {"page": "0"},
        {"page": "-1"},
    ],
)
def test_bad_filters_are_400(client: TestClient, seeded: Session, params: dict[str, str]) -> None:
    response = client.get("/quotes", params=params)
    assert response.status_code == 400, params


HOSTILE = st.one_of(
    st.text(max_size=200),
    st.sampled_from(
        [
            '"',
            '""',
            "((",
            "AND",
            "OR OR",
            "-",
            '-"x',
            "NEAR(a b)",
            "*",
            "a*",
            "^x",
            "col:val",
            "\x00",
            "'; DROP TABLE quotes; --",
            "x" * 10000,
            "\u202e\u0000",
            "ЗСУ Крим",
            "NOT",
            ":",
        ]
    ),
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(query=HOSTILE)
def test_any_input_returns_results_or_none(
    session: Session, corpus: dict[str, int], query: str
) -> None:
    page = search.search_quotes(session, filters=search.QuoteFilters(q=query))
    assert isinstance(page.quotes, list)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(query=HOSTILE)
def test_any_input_over_http_is_never_a_server_error(
    client: TestClient, corpus: dict[str, int], query: str
) -> None:
    response = client.get("/quotes", params={"q": query})
    # Results or none; only a NUL character (which PostgreSQL cannot store) is refused.
    assert response.status_code == 200 or ("\x00" in query and response.status_code == 400)


def test_cached_search_shows_a_new_quote_at_once(client: TestClient, session: Session) -> None:
    party, issue = b.party(session, "cache-s"), b.issue(session, "cache-si")
    assert "said words" not in client.get("/quotes", params={"q": "freshly"}).text
    b.quote(session, party, issue, text="Freshly said words")
    assert "<mark>Freshly</mark> said words" in client.get("/quotes", params={"q": "freshly"}).text
