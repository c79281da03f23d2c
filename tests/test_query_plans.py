"""No web request scans the whole quotes table: the plans of search, cell and quotes API queries,
on a generated PostgreSQL database large enough for the planner to choose as in production.

Each request goes through the app; every statement it runs is explained again with its own
parameters (EXPLAIN ANALYZE), and no node may read the quotes table sequentially or touch more
than a small share of its rows.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, make_url, text

from app import db, migrate
from app.config import get_settings
from app.main import create_app
from app.services import cells, position_runs, search
from tests.conftest import require_postgres

QUOTES = 200_000
PARTIES, ISSUES = 30, 40
WORDS = (
    "ceasefire crimea sanctions nato membership territory guarantees security negotiations talks "
    "kremlin kyiv washington brussels envoy summit proposal plan frontline withdrawal referendum "
    "recognition annexation energy grain corridor prisoners exchange monitoring peacekeepers"
).split()
MOST_ROWS_TOUCHED = QUOTES // 10
"""What one plan node may read of the quotes table (a whole-table scan reads all of it)."""

GENERATE = [
    "SET session_replication_role = replica",  # the search-meta triggers: not needed here
    f"""INSERT INTO parties (id, slug, name, short_name, kind, sort_order)
        SELECT p, 'party-' || p, 'Party ' || p, 'P' || p, 'state', p
        FROM generate_series(1, {PARTIES}) AS p""",
    f"""INSERT INTO issues (id, slug, title, proposition, sort_order)
        SELECT i, 'issue-' || i, 'Issue ' || i, 'Proposition ' || i, i
        FROM generate_series(1, {ISSUES}) AS i""",
    f"""INSERT INTO speakers (id, name, role, party_id)
        SELECT p * 10 + s, 'Speaker ' || p || '-' || s, 'Minister', p
        FROM generate_series(1, {PARTIES}) AS p, generate_series(0, 2) AS s""",
    """INSERT INTO sources (id, url, title, outlet, kind, tier)
        SELECT n, 'https://example.org/r/' || n, 'Report ' || n, 'Wire', 'news_report',
               'on_record'
        FROM generate_series(1, 2000) AS n""",
    f"""INSERT INTO quotes (id, text, kind, said_on, speaker_id, party_id, source_id, status)
        SELECT n, (SELECT string_agg(v.w[1 + floor(random() * {len(WORDS)})::int], ' ')
                   FROM generate_series(1, 12 + (n % 10)) AS k,
                        (SELECT ARRAY[{", ".join(f"'{w}'" for w in WORDS)}] AS w) AS v),
               'direct', DATE '2022-01-01' + floor(random() * 1400)::int,
               (1 + n % {PARTIES}) * 10 + n % 3, 1 + n % {PARTIES}, 1 + n % 2000,
               CASE WHEN n % 3 = 0 THEN 'reported' ELSE 'confirmed' END
        FROM generate_series(1, {QUOTES}) AS n""",
    # The copies of each quote's party and day its triggers would write (they are off here).
    f"""INSERT INTO quote_issues (quote_id, issue_id, stance, party_id, said_on)
        SELECT q.id, 1 + (q.id / {PARTIES} * 7) % {ISSUES},
               (ARRAY['accepts', 'conditional', 'ambiguous', 'rejects'])[1 + q.id % 4],
               q.party_id, q.said_on
        FROM quotes AS q""",
    f"""INSERT INTO positions (id, party_id, issue_id, stance, condition, effective_from,
                               rationale)
        SELECT n, 1 + (n / 8) / {ISSUES} % {PARTIES}, 1 + (n / 8) % {ISSUES},
               (ARRAY['accepts', 'ambiguous', 'rejects'])[1 + n % 3], NULL,
               DATE '2022-01-01' + (n % 8) * 150, 'Generated.'
        FROM generate_series(1, {PARTIES * ISSUES * 8}) AS n""",
    f"""INSERT INTO position_evidence (position_id, quote_id)
        SELECT n, n FROM generate_series(1, {PARTIES * ISSUES * 8}) AS n""",
    "SET session_replication_role = DEFAULT",
    "SELECT setval(pg_get_serial_sequence('quotes', 'id'), (SELECT max(id) FROM quotes))",
]
"""The data, made by PostgreSQL itself (a few seconds)."""

REQUESTS = [
    "/quotes?q=zzyzx",  # a word in no quote
    '/quotes?q="ceasefire+kyiv+crimea+nato+talks"',  # a phrase that never occurs
    "/quotes?q=zzyzx&sort=date",
    "/quotes?q=ceasefire",  # a common word
    "/quotes?q=ceasefire+crimea",
    "/quotes?q=grain+corridor+envoy",
    "/quotes?q=ceasefire+-nato&party=party-3",
    "/quotes?q=-ceasefire",
    "/api/v1/quotes?party=party-3&issue=issue-5&stance=accepts",
    "/api/v1/quotes?party=party-3&issue=issue-5&stance=accepts&from=2023-01-01&to=2023-06-30",
    "/api/v1/quotes?issue=issue-9&page=20&page_size=50",
    "/api/v1/quotes?issue=issue-9&stance=rejects&page_size=100",
    "/api/v1/quotes?q=sanctions&party=party-3&page_size=50",
    "/api/v1/quotes?q=zzyzx&issue=issue-2",
    "/api/v1/quotes?q=ceasefire&issue=issue-2&party=party-4",
    "/api/v1/quotes?stance=rejects&from=2024-01-01&page=7",
    # Keyset pages, deep in the list: an index range from the cursor on.
    f"/api/v1/quotes?after={search.Cursor(date(2023, 3, 1), 60_000).encode()}",
    f"/api/v1/quotes?party=party-3&after={search.Cursor(date(2022, 6, 1), 10).encode()}",
    f"/api/v1/quotes?issue=issue-9&party=party-2&stance=accepts"
    f"&after={search.Cursor(date(2024, 1, 1), 150_000).encode()}",
    f"/api/v1/quotes?q=ceasefire&after={search.Cursor(ranked=100).encode()}",
    f"/api/v1/quotes?q=ceasefire+kyiv&after={search.Cursor(date(2023, 1, 1), 1).encode()}",
]

CELL_REQUESTS = [
    ("/cells/party-7/issue-12?as_of=2024-06-01", {}),
    ("/cells/party-2/issue-40?as_of=2023-01-15", {"HX-Request": "true"}),  # its fragment
    ("/api/v1/cells/party-11/issue-3?as_of=2025-01-01", {}),
    ("/api/v1/cells/party-30/issue-1", {}),
]
CELL_ROWS_TOUCHED = 400
"""What one plan node of a cell's page may read of the quotes or their tags: the cell shows the
newest 20 of its ~170 quotes and may count them all (its party has ~6,700, of which a walk by
party and day reads 40 for every quote of the issue it finds)."""


@pytest.fixture(scope="module")
def large_database() -> Iterator[str]:
    """A database of QUOTES quotes, built once and kept for the next run (it only reads)."""
    base = make_url(require_postgres())
    url = base.set(database=f"{base.database}_plans").render_as_string(hide_password=False)
    admin = db.make_engine(
        base.set(database="postgres").render_as_string(hide_password=False),
        isolation_level="AUTOCOMMIT",
    )
    with admin.connect() as conn:
        name = make_url(url).database
        if conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first():
            migrate.upgrade(url=url)  # kept from an earlier run: at the newest revision first
            ready = db.make_engine(url)
            with ready.connect() as check:
                built = check.execute(text("SELECT count(*) FROM quotes")).scalar_one()
                # Made before the tags carried their quote's day and reached every cell: again.
                uncopied, cells = check.execute(
                    text(
                        "SELECT count(*) FILTER (WHERE said_on IS NULL),"
                        " count(DISTINCT (party_id, issue_id)) FROM quote_issues"
                    )
                ).one()
                runs = check.execute(text("SELECT count(*) FROM position_runs")).scalar_one()
            ready.dispose()
            if built != QUOTES or uncopied or cells != PARTIES * ISSUES or not runs:
                conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        if not conn.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
        ).first():
            conn.execute(text(f'CREATE DATABASE "{name}"'))
            migrate.upgrade(url=url)
            engine = db.make_engine(url)
            with engine.begin() as build:
                for statement in GENERATE:
                    build.execute(text(statement))
                position_runs.refresh(build)  # as `peacetalks db refresh-runs` does after COPY
            with engine.connect() as vacuum:
                vacuum.execution_options(isolation_level="AUTOCOMMIT").execute(
                    text("VACUUM ANALYZE")
                )
            engine.dispose()
    admin.dispose()
    yield url


def _quote_nodes(
    plan: dict[str, Any], tables: tuple[str, ...] = ("quotes",)
) -> Iterator[dict[str, Any]]:
    if plan.get("Relation Name") in tables:
        yield plan
    for child in plan.get("Plans", []):
        yield from _quote_nodes(child, tables)


def _rows_touched(node: dict[str, Any]) -> float:
    loops = node.get("Actual Loops", 1)
    kept = node.get("Actual Rows", 0)
    removed = node.get("Rows Removed by Filter", 0) + node.get("Rows Removed by Index Recheck", 0)
    return float((kept + removed) * loops)


def _explained(
    url: str,
    path: str,
    headers: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    generic: str | None = None,
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Each statement on quotes or their tags that the request ran, with its analysed plan (or,
    given `generic`, each statement holding that text, with the plan PostgreSQL makes once for
    any parameters, as it may for a statement prepared and run five times: unanalysed)."""
    monkeypatch.setenv("DATABASE_URL", url)
    caches = (get_settings, db.get_web_engine, db.get_web_reading_engine)
    for cached in caches:
        cached.cache_clear()
    statements: list[tuple[str, Any]] = []

    def remember(_c: object, _cur: object, statement: str, parameters: Any, *_a: object) -> None:
        if "quote" in statement and statement.lstrip().upper().startswith(("SELECT", "WITH")):
            statements.append((statement, parameters))

    engine = db.get_web_engine()
    event.listen(engine, "before_cursor_execute", remember)
    try:
        with TestClient(create_app()) as client:
            assert client.get(path, headers=headers).status_code == 200
        assert statements, path
        with engine.connect() as conn:
            if generic is not None:
                conn.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
            for statement, parameters in statements:
                if generic is not None:
                    if generic not in statement:
                        continue
                    explained = _generic_plan(conn, statement, parameters)
                else:
                    explained = conn.exec_driver_sql(
                        "EXPLAIN (ANALYZE, FORMAT JSON) " + statement, parameters
                    ).scalar_one()
                plan = (explained if isinstance(explained, list) else json.loads(explained))[0]
                yield statement, plan["Plan"]
    finally:
        event.remove(engine, "before_cursor_execute", remember)
        engine.dispose()
        for cached in caches:
            cached.cache_clear()


def _generic_plan(conn: Any, statement: str, parameters: dict[str, Any]) -> Any:
    """The generic plan of `statement` (its parameters named as the psycopg dialect writes
    them): prepared in SQL with numbered parameters, explained as executed."""
    names: list[str] = []

    def numbered(found: re.Match[str]) -> str:
        if found.group(1) not in names:
            names.append(found.group(1))
        return f"${names.index(found.group(1)) + 1}"

    conn.exec_driver_sql("DEALLOCATE ALL")
    conn.exec_driver_sql("PREPARE planned AS " + re.sub(r"%\((\w+)\)s", numbered, statement))
    arguments = ", ".join(_literal(parameters[name]) for name in names)
    return conn.exec_driver_sql(f"EXPLAIN (FORMAT JSON) EXECUTE planned({arguments})").scalar_one()


def _literal(value: Any) -> str:
    """A parameter as an SQL literal of no stated type (PREPARE gave each parameter its type)."""
    if isinstance(value, bool) or value is None:
        return {True: "true", False: "false", None: "NULL"}[value]
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


@pytest.mark.parametrize("path", REQUESTS)
def test_no_web_request_scans_the_quotes_table(
    large_database: str, path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for statement, plan in _explained(large_database, path, {}, monkeypatch):
        for node in _quote_nodes(plan):
            assert node["Node Type"] != "Seq Scan", (path, statement)
            assert _rows_touched(node) <= MOST_ROWS_TOUCHED, (path, statement, node)


@pytest.mark.parametrize(("path", "headers"), CELL_REQUESTS)
def test_a_cells_views_read_index_ranges_bounded_by_the_cell(
    large_database: str, path: str, headers: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    shown = 0
    for statement, plan in _explained(large_database, path, headers, monkeypatch):
        for node in _quote_nodes(plan, ("quotes", "quote_issues")):
            assert node["Node Type"] != "Seq Scan", (path, statement)
            assert _rows_touched(node) <= CELL_ROWS_TOUCHED, (path, statement, node)
        if statement.split("FROM")[0].strip() == "SELECT quote_issues.quote_id":  # the newest
            shown += int(plan["Actual Rows"])
    assert shown == cells.CELL_QUOTE_LIMIT, path  # the cell has quotes: the range was read


PHRASE_ROWS_TOUCHED = 1_000
"""What a phrase search may read of the quotes beyond the newest SCAN_FIRST: the quotes holding
its word pairs (its words alone are in thousands of quotes)."""


@pytest.mark.parametrize(
    "path",
    [
        '/quotes?q="ceasefire kremlin grain corridor"',  # four common words, a phrase hardly said
        '/api/v1/quotes?q="envoy summit proposal"+kyiv',
        '/quotes?q="security territory energy summit"',  # words with other spellings (-y)
    ],
)
def test_a_phrase_reads_only_the_quotes_holding_its_word_pairs(
    large_database: str, path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    by_pairs = False
    for statement, plan in _explained(large_database, path, {}, monkeypatch):
        nodes = list(_quote_nodes(plan))
        for node in nodes:
            assert node["Node Type"] != "Seq Scan", (path, statement)
            if node["Node Type"] == "Bitmap Heap Scan":  # what the text indexes listed
                assert _rows_touched(node) <= PHRASE_ROWS_TOUCHED, (path, statement, node)
        by_pairs |= "ix_quotes_phrase_vector" in json.dumps(plan)
    assert by_pairs, path


@pytest.mark.parametrize(
    "path",
    [
        "/quotes?q=zzyzx",  # a word in no quote
        "/api/v1/quotes?q=zzyzx+ceasefire",  # a common word with one in no quote
        '/quotes?q="kyiv zzyzx"',
    ],
)
def test_a_word_the_statistics_do_not_list_reads_no_quote_one_by_one(
    large_database: str, path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The newest quotes are not checked one by one for a word the planner's statistics do
    not list as common: the text index lists its few matches (here none) at once."""
    for statement, plan in _explained(large_database, path, {}, monkeypatch):
        for node in _quote_nodes(plan):
            assert _rows_touched(node) <= 50, (path, statement, node)


NEWEST_WITH_VECTOR = "ix_quotes_newest_with_vector"
SCAN_ROWS_TOUCHED = search.SCAN_FIRST
"""What a node of the walk over the newest quotes may read: at most the walk's own length."""


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


@pytest.mark.parametrize(
    "path", ["/quotes?q=ceasefire+crimea", '/quotes?q="envoy summit"', "/quotes?q=-ceasefire"]
)
def test_the_walk_over_the_newest_quotes_reads_the_index_alone_and_the_query_once(
    large_database: str, path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A search of common words checks the newest quotes' vectors where the date index carries
    them (no row of the table fetched, as the table is vacuumed); and it works the query out
    once per statement, also when PostgreSQL plans the prepared statement generically (as it
    does after five runs of one statement text): a `to_tsquery` of a parameter in the walk's
    filter is parsed and stemmed again for every quote checked."""
    walks = 0
    for statement, plan in _explained(large_database, path, {}, monkeypatch):
        if "first AS MATERIALIZED" in statement:
            walks += 1
            scans = [n for n in _nodes(plan) if n.get("Index Name") == NEWEST_WITH_VECTOR]
            assert [n["Node Type"] for n in scans] == ["Index Only Scan"], (path, plan)
            assert scans[0]["Heap Fetches"] == 0, (path, scans[0])
    assert walks == 1, path
    walk = "first AS MATERIALIZED"
    for _, plan in _explained(large_database, path, {}, monkeypatch, generic=walk):
        filters = [n["Filter"] for n in _nodes(plan) if n.get("Alias") == "recent"]
        assert filters and not any("to_tsquery" in f for f in filters), (path, filters)


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/quotes?q=ceasefire&party=party-3&stance=accepts&page_size=50&page=3",
        "/quotes?q=kyiv+talks&stance=rejects",
    ],
)
def test_a_stance_without_an_issue_is_checked_on_the_walked_quotes_not_by_listing_every_tag(
    large_database: str, path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stance with no issue is checked tag by tag on the quotes the walk reaches: with the
    check inside the walk, PostgreSQL listed every tag of that stance (a quarter of them) and
    every quote of the party to sort them all."""
    walks = 0
    for statement, plan in _explained(large_database, path, {}, monkeypatch):
        if "first AS MATERIALIZED" not in statement:
            continue
        walks += 1
        for node in _quote_nodes(plan, ("quotes", "quote_issues")):
            if node.get("Actual Loops", 0) == 0:
                continue  # the text index's part, not run: the walk found enough
            assert node["Node Type"] != "Seq Scan", (path, node)
            assert _rows_touched(node) <= SCAN_ROWS_TOUCHED, (path, node)
    assert walks == 1, path
