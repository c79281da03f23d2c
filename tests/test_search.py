"""Quote search: web-search semantics on both databases, filters, highlighting, hostile input."""

from __future__ import annotations

from datetime import date

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text as sql
from sqlalchemy.orm import Session

from app.models import Party, Quote, QuoteKind, QuoteStatus, Source, Speaker, Stance
from app.services import catalog, quotes, search, speakers
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


def test_words_must_all_match_and_sort_by_date_is_newest_first(
    session: Session, corpus: dict[str, int]
) -> None:
    assert set(_found(session, q="ceasefire")) == {corpus["full"], corpus["partial"]}
    assert _found(session, q="ceasefire", sort=search.QuoteSort.DATE) == [
        corpus["full"],
        corpus["partial"],
    ]
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
        {"sort": "random"},
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


# ---------------------------------------------------------------------------------------------
# What analysts type: names, parties, issues, outlets, spellings, numbers, common words.


def _said(
    session: Session,
    party: Party,
    words: str,
    *,
    speaker: Speaker | None = None,
    source: Source | None = None,
    tags: list[tuple[object, Stance]] | None = None,
    said_on: date = date(2025, 4, 1),
) -> int:
    quote = quotes.create_quote(
        session,
        actor=None,
        text=words,
        kind=QuoteKind.DIRECT,
        said_on=said_on,
        party=party,
        source=source or b.source(session),
        status=QuoteStatus.CONFIRMED,
        speaker=speaker,
        tags=tags or [],  # type: ignore[arg-type]
    )
    session.flush()
    return quote.id


def _speaker(session: Session, party: Party, name: str, role: str = "") -> Speaker:
    speaker = catalog.create_speaker(session, actor=None, party=party, name=name, role=role)
    session.flush()
    return speaker


def test_speaker_name_and_role_find_quotes_that_do_not_name_them(session: Session) -> None:
    ua = b.party(session, "s-ua")
    yermak = _speaker(session, ua, "Andriy Yermak", "Head of the Presidential Office")
    theirs = _said(session, ua, "We discussed the framework in Geneva", speaker=yermak)
    _said(session, ua, "Another framework was discussed")
    assert _found(session, q="Yermak") == [theirs]
    assert _found(session, q="yermak framework") == [theirs]
    assert _found(session, q='"presidential office"') == [theirs]


def test_party_name_and_short_name_find_the_partys_quotes(session: Session) -> None:
    ours = b.party(session, "s-atl", name="Atlantic Federation")
    other = b.party(session, "s-oth", name="Other Republic")
    quote = _said(session, ours, "No comment at this stage")
    _said(session, other, "No comment at this stage either")
    assert _found(session, q="atlantic") == [quote]
    assert _found(session, q="S-ATL") == [quote]  # the short name b.party gives


def test_issue_title_finds_tagged_quotes_without_the_word(session: Session) -> None:
    ru = b.party(session, "s-ru")
    truce = b.issue(session, "s-truce", title="Ceasefire")
    tagged = _said(
        session, ru, "The guns will fall silent at Easter", tags=[(truce, Stance.ACCEPTS)]
    )
    _said(session, ru, "The guns will not fall silent")
    assert _found(session, q="ceasefire") == [tagged]
    assert _found(session, q="ceasefire guns") == [tagged]


def test_source_outlet_finds_its_quotes(session: Session) -> None:
    eu = b.party(session, "s-eu")
    reported = _said(
        session, eu, "Talks resume next week", source=b.source(session, outlet="Politico Europe")
    )
    _said(session, eu, "Talks resume next week", source=b.source(session, outlet="Wire"))
    assert _found(session, q="politico") == [reported]


@pytest.mark.parametrize(
    "query",
    ["Zelensky", "Zelenskyy", "zelenskiy", "ZELENSKII", "Zelenskyi", '"president zelensky"'],
)
def test_transliterations_of_a_name_find_each_other(session: Session, query: str) -> None:
    ua = b.party(session, "s-ua2")
    spelled = {
        "yy": _said(session, ua, "President Zelenskyy said no", said_on=date(2025, 4, 3)),
        "y": _said(session, ua, "President Zelensky said yes", said_on=date(2025, 4, 2)),
        "iy": _said(session, ua, "President Zelenskiy's office", said_on=date(2025, 4, 1)),
    }
    _said(session, ua, "Olena Zelenska travelled to Paris")
    assert set(_found(session, q=query)) == set(spelled.values())


def test_transliteration_does_not_widen_ordinary_words(session: Session) -> None:
    us = b.party(session, "s-us")
    policy = _said(session, us, "Our policy has not changed")
    _said(session, us, "The police were not informed")
    _said(session, us, "Policing the line is hard")
    assert _found(session, q="policy") == [policy]
    assert _found(session, q="policies") == [policy]


def test_accents_do_not_matter(session: Session) -> None:
    eu = b.party(session, "s-eu2")
    accented = _said(session, eu, "Maroš Šefčovič met the delegation")
    plain = _said(session, eu, "Sefcovic will travel")
    assert set(_found(session, q="sefcovic")) == {accented, plain}
    assert set(_found(session, q="Šefčovič")) == {accented, plain}


@pytest.mark.parametrize("query", ["800000", "800,000", "800.000", '"800 000"', "800,000."])
def test_numbers_match_however_their_thousands_are_written(session: Session, query: str) -> None:
    ru = b.party(session, "s-ru2")
    written = [
        _said(session, ru, "They have 800,000 troops"),
        _said(session, ru, "Some 800.000 soldiers"),
        _said(session, ru, "About 800 000 reservists"),
        _said(session, ru, "Exactly 800000 shells"),
    ]
    _said(session, ru, "Only 80,000 tanks and 800 drones")
    assert set(_found(session, q=query)) == set(written)
    assert _found(session, q="8000000") == []


def test_phrase_of_common_words_matches(session: Session) -> None:
    us = b.party(session, "s-us2")
    meant = _said(session, us, "We want it but there are conditions")
    reordered = _said(session, us, "There are conditions, but we want it")
    assert _found(session, q='"it but there are"') == [meant]
    assert _found(session, q="\u201cit but there are\u201d") == [meant]  # curly quotes
    assert _found(session, q='"but there are conditions"') == [meant]
    assert set(_found(session, q="there")) == {meant, reordered}


def test_a_phrase_of_plain_words_is_found_wherever_it_stands(session: Session) -> None:
    # On PostgreSQL these read the quotes holding the phrase's word pairs (quotes.phrase_vector).
    party = b.party(session, "s-pairs")
    start = _said(session, party, "Guarantees for Kyiv come first, then the rest")
    end = _said(session, party, "What comes first? Guarantees for Kyiv")
    possessive = _said(session, party, "Russia's war of choice goes on")
    apart = _said(session, party, "Guarantees, they say, are not for Kyiv")
    named = _said(session, party, "Zelenskyy said energy security guarantees matter")
    assert set(_found(session, q='"guarantees for kyiv"')) == {start, end}
    assert _found(session, q='"kyiv come first"') == [start]
    assert _found(session, q='"russia\'s war"') == [possessive]
    assert set(_found(session, q='"guarantees for kyiv" first')) == {start, end}
    assert apart in _found(session, q="guarantees kyiv")
    assert set(_found(session, q='"for kyiv" -"the rest"')) == {end, apart}
    # Words with other spellings (a name's endings; "security" reads as one) pair in each.
    assert _found(session, q='"security guarantees matter"') == [named]
    assert _found(session, q='"zelenskiy said"') == [named]
    assert _found(session, q='"security energy"') == []


def test_relevance_first_then_newest_among_equals(session: Session) -> None:
    party = b.party(session, "s-rank")
    titled = b.issue(session, "s-armistice", title="Armistice terms")
    older = _said(session, party, "Armistice now", said_on=date(2025, 3, 1))
    middle = _said(session, party, "Armistice now", said_on=date(2025, 3, 2))
    newer = _said(session, party, "Armistice now", said_on=date(2025, 3, 3))
    # Newest of all, but the word is only in its issue's title: it weighs less than the text.
    only_tagged = _said(
        session, party, "Talks go on", tags=[(titled, Stance.ACCEPTS)], said_on=date(2025, 3, 5)
    )
    assert _found(session, q="armistice") == [newer, middle, older, only_tagged]
    assert _found(session, q="armistice", sort=search.QuoteSort.DATE) == [
        only_tagged,
        newer,
        middle,
        older,
    ]
    first = search.search_quotes(
        session, filters=search.QuoteFilters(q="armistice"), page=1, page_size=2
    )
    second = search.search_quotes(
        session, filters=search.QuoteFilters(q="armistice"), page=2, page_size=2
    )
    assert [q.id for q in first.quotes + second.quotes] == [newer, middle, older, only_tagged]
    assert first.by_relevance and first.has_next and not second.has_next


def test_only_the_newest_matches_are_ranked_and_older_ones_follow_newest_first(
    session: Session,
) -> None:
    party = b.party(session, "s-window")
    long = "A truce perhaps, said once in a long sentence about quite other matters"
    strongest = _said(session, party, "Truce truce truce", said_on=date(2025, 1, 1))
    long_old = _said(session, party, long, said_on=date(2025, 1, 2))
    short_old = _said(session, party, "Truce now", said_on=date(2025, 1, 3))
    long_new = _said(session, party, long, said_on=date(2025, 1, 4))
    short_new = _said(session, party, "Truce now", said_on=date(2025, 1, 5))
    truce = search.QuoteFilters(q="truce")
    everything = search.search_quotes(session, filters=truce)
    assert [q.id for q in everything.quotes] == [
        strongest,
        short_new,
        short_old,
        long_new,
        long_old,
    ]
    assert everything.ranked_all

    def window_of_three(page: int, size: int) -> search.QuotePage:
        return search.search_quotes(
            session, filters=truce, page=page, page_size=size, rank_window=3
        )

    whole = window_of_three(1, 25)
    # The newest three ranked (short, short, long), then the two older ones newest first.
    assert [q.id for q in whole.quotes] == [short_new, short_old, long_new, long_old, strongest]
    assert not whole.ranked_all
    pages = [window_of_three(n, 2) for n in (1, 2, 3)]
    assert [q.id for p in pages for q in p.quotes] == [q.id for q in whole.quotes]
    assert [p.has_next for p in pages] == [True, True, False]
    # By cursors: into the ranked part by a count, past it after the last quote shown (a key).
    walked, cursor, cursors = [], None, []
    for _ in range(5):
        found = search.search_quotes(
            session, filters=truce, page_size=2, rank_window=3, after=cursor
        )
        walked += [q.id for q in found.quotes]
        cursor = found.next_after
        if cursor is None:
            break
        cursors.append(cursor)
    assert walked == [q.id for q in whole.quotes]
    assert cursors == [
        search.Cursor(ranked=2),
        search.Cursor(said_on=date(2025, 1, 2), id=long_old),
    ]
    assert search.Cursor.decode(cursors[1].encode()) == cursors[1]


def _index_is_consistent(session: Session) -> None:
    if session.get_bind().dialect.name == "sqlite":
        # Raises "database disk image is malformed" when the index and its content disagree.
        session.execute(
            sql("INSERT INTO quotes_fts(quotes_fts, rank) VALUES ('integrity-check', 1)")
        )


def test_renames_and_retagging_keep_the_index_current(session: Session) -> None:
    ua = b.party(session, "s-ua3", name="Ukraine Test")
    speaker = _speaker(session, ua, "Andriy Yermak")
    source = b.source(session, outlet="Old Herald")
    issue = b.issue(session, "s-guarantees", title="Security guarantees")
    quote_id = _said(
        session, ua, "The plan is acceptable", speaker=speaker, source=source,
        tags=[(issue, Stance.ACCEPTS)],
    )  # fmt: skip
    _index_is_consistent(session)

    speakers.update_speaker(
        session, actor=None, speaker=speaker, expected_version=speaker.version, party=ua,
        name="Rustem Umerov", role="Secretary of the Security Council",
    )  # fmt: skip
    session.flush()
    assert _found(session, q="umerov") == [quote_id]
    assert _found(session, q="yermak") == []
    assert _found(session, q='"security council"') == [quote_id]

    catalog.update_issue(
        session, actor=None, issue=issue, expected_version=issue.version,
        title="Reassurance force", proposition=issue.proposition, description="", sort_order=1,
    )  # fmt: skip
    session.flush()
    assert _found(session, q="reassurance") == [quote_id]
    assert _found(session, q="guarantees") == []

    catalog.update_party(
        session, actor=None, party=ua, expected_version=ua.version, name="Kyiv Government",
        short_name="KG", kind=ua.kind, parent=None, sort_order=ua.sort_order,
    )  # fmt: skip
    session.flush()
    assert _found(session, q="kyiv government") == [quote_id]
    assert _found(session, q="Ukraine") == []

    # Written by plain SQL, past every service: the database keeps the index current itself.
    session.execute(
        sql("UPDATE sources SET outlet = 'New Courier' WHERE id = :id"), {"id": source.id}
    )
    assert _found(session, q="courier") == [quote_id]
    assert _found(session, q="herald") == []

    quote = session.get(quotes.Quote, quote_id)
    assert quote is not None
    session.refresh(quote, ["issue_tags"])
    quote.issue_tags.clear()
    session.flush()
    assert _found(session, q="reassurance") == []
    truce = b.issue(session, "s-truce2", title="Ceasefire")
    quote.issue_tags.append(quotes.QuoteIssue(issue_id=truce.id, stance=Stance.REJECTS))
    quote.text = "The plan is unacceptable"
    session.flush()
    assert _found(session, q="ceasefire unacceptable") == [quote_id]
    _index_is_consistent(session)

    session.execute(sql("DELETE FROM quotes WHERE id = :id"), {"id": quote_id})
    assert _found(session, q="ceasefire") == []
    _index_is_consistent(session)


def test_search_page_marks_every_spelling_and_orders_by_choice(
    client: TestClient, seeded: Session
) -> None:
    page = client.get("/quotes", params={"q": "Zelensky"})
    assert page.status_code == 200
    assert "<mark>Zelenskyy</mark>" in page.text
    assert '<option value="relevance" selected>' in page.text
    by_date = client.get("/quotes", params={"q": "Zelensky", "sort": "date"})
    assert '<option value="date" selected>' in by_date.text
    api = client.get("/api/v1/quotes", params={"q": "Zelensky", "sort": "date"})
    days = [item["said_on"] for item in api.json()["items"]]
    assert days and days == sorted(days, reverse=True)


def _tag_copies(session: Session, quote_id: int) -> set[tuple[int, int | None, date | None]]:
    rows = session.execute(
        sql("SELECT issue_id, party_id, said_on FROM quote_issues WHERE quote_id = :q"),
        {"q": quote_id},
    )
    return {
        (issue, party, day if isinstance(day, date) or day is None else date.fromisoformat(day))
        for issue, party, day in rows
    }


def test_a_quotes_tags_carry_its_party_and_day_whatever_writes(session: Session) -> None:
    ua, ru = b.party(session, "s-copy-ua"), b.party(session, "s-copy-ru")
    first, second = b.issue(session, "s-copy-1"), b.issue(session, "s-copy-2")
    quote = session.get_one(
        Quote,
        _said(
            session, ua, "Copied along", said_on=date(2025, 2, 1), tags=[(first, Stance.ACCEPTS)]
        ),
    )
    assert _tag_copies(session, quote.id) == {(first.id, ua.id, date(2025, 2, 1))}
    # A tag added by SQL by hand takes the quote's values too.
    session.execute(
        sql("INSERT INTO quote_issues (quote_id, issue_id, stance) VALUES (:q, :i, 'rejects')"),
        {"q": quote.id, "i": second.id},
    )
    quote.said_on, quote.party_id = date(2025, 3, 9), ru.id
    session.flush()
    assert _tag_copies(session, quote.id) == {
        (first.id, ru.id, date(2025, 3, 9)),
        (second.id, ru.id, date(2025, 3, 9)),
    }
    # The filters that read the copies find it where it now is, and no longer where it was.
    moved = search.QuoteFilters(issue="s-copy-2", party="s-copy-ru", date_from=date(2025, 3, 1))
    assert [q.id for q in search.search_quotes(session, filters=moved).quotes] == [quote.id]
    before = search.QuoteFilters(issue="s-copy-1", party="s-copy-ua")
    assert search.search_quotes(session, filters=before).quotes == []


def test_words_the_statistics_do_not_list_are_listed_by_the_text_index_at_once(
    session: Session, backend: str
) -> None:
    """On PostgreSQL, once the quotes are analysed, a search whose words cannot match without one
    the statistics do not list as common (a word in no quote, a rare one, a common word with a
    rare one) asks the text index at once rather than checking the newest quotes one by one;
    a search of common words checks the newest first. Either way the same quotes come back,
    best match first, however old they are."""
    from sqlalchemy import event

    party = b.party(session, "s-rare")
    first = _said(session, party, "The ceasefire talks went on", said_on=date(2025, 3, 1))
    # Enough quotes for the statistics to leave out a word said twice (a large table's list
    # only the words in a fair share of the quotes), written by the database itself.
    session.execute(
        sql(
            "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 5000)"
            " INSERT INTO quotes (text, kind, said_on, party_id, source_id, status)"
            " SELECT text, kind, said_on, party_id, source_id, status FROM quotes, n"
            " WHERE id = :id"
        ),
        {"id": first},
    )
    rare_old = _said(session, party, "A zyzzogeton ceasefire", said_on=date(2019, 5, 1))
    rare_new = _said(session, party, "The zyzzogeton zyzzogeton", said_on=date(2020, 5, 1))
    session.execute(sql("ANALYZE quotes"))
    common = set(session.scalars(sql("SELECT id FROM quotes WHERE party_id = :p"), {"p": party.id}))
    ran: list[str] = []

    def record(_c: object, _cur: object, statement: str, *_: object) -> None:
        ran.append(statement)

    searches: dict[str, list[int]] = {}
    scanned: dict[str, bool] = {}
    bind = session.get_bind()
    event.listen(bind, "before_cursor_execute", record)
    try:
        for words in ("zyzzogeton", "zyzzogeton ceasefire", "zzyzx", "ceasefire talks"):
            ran.clear()
            searches[words] = _found(session, q=words)
            scanned[words] = any("first AS MATERIALIZED" in statement for statement in ran)
    finally:
        event.remove(bind, "before_cursor_execute", record)
    assert searches["zyzzogeton"] == [rare_new, rare_old]  # the twice-said word ranks first
    assert searches["zyzzogeton ceasefire"] == [rare_old]
    assert searches["zzyzx"] == []
    assert set(searches["ceasefire talks"]) <= common and len(searches["ceasefire talks"]) == 25
    if backend == "sqlite":
        return  # FTS5 lists matches by its index alone: the same results are what counts
    assert scanned == {
        "zyzzogeton": False,
        "zyzzogeton ceasefire": False,
        "zzyzx": False,
        "ceasefire talks": True,
    }
