"""Speed built in: the matrix runs a fixed number of queries whatever the data size (no N+1)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from app.models import QuoteStatus, Stance
from app.services import briefing_texts, cells, documents, matrix, position_runs
from app.services.documents import PointDraft
from tests import builders as b
from tests.conftest import StatementCounter
from tests.test_documents import _document

START = date(2025, 1, 1)
STANCES = list(Stance)


def _dataset(session: Session, parties: int, issues: int, history: int) -> None:
    party_rows = [b.party(session) for _ in range(parties)]
    issue_rows = [b.issue(session) for _ in range(issues)]
    b.issue(session)  # no position on it: empty cells (one query counts unassessed quotes)
    for p, party in enumerate(party_rows):
        for i, issue in enumerate(issue_rows):
            for step in range(history):
                stance = STANCES[(p + i + step) % len(STANCES)]
                b.position(
                    session,
                    party,
                    issue,
                    stance,
                    START + timedelta(days=10 * step + p),
                    condition="if guaranteed" if stance == Stance.CONDITIONAL else None,
                )
    # As the writer's commit does: the matrix's stored runs are brought up to date, so the
    # counts below are a reader's (a write in the reader's own transaction adds 4 statements).
    position_runs.ensure_fresh(session)


@pytest.mark.parametrize(
    ("url", "limit"),
    [
        # Parties, issues, cells (runs and evidence), unassessed quotes of empty cells; the page
        # also reads the themes that head the issues.
        ("/?as_of=2025-06-01", 6),
        ("/api/v1/matrix?as_of=2025-06-01", 5),
        # With `since`: the changes query and the quotes that show them (with speakers, sources).
        ("/?as_of=2025-06-01&since=2025-01-05", 10),
        ("/changes?from=2025-01-05&to=2025-06-01", 8),
        # Search: the page of quotes, their citations (eager loads) and the filter lists.
        ("/quotes?q=statement", 16),
    ],
)
def test_matrix_runs_a_fixed_number_of_queries(
    client: TestClient, session: Session, count_statements: StatementCounter, url: str, limit: int
) -> None:
    _dataset(session, parties=4, issues=3, history=2)
    count_statements.statements.clear()
    small = client.get(url)
    small_count = count_statements.count
    _dataset(session, parties=10, issues=10, history=3)
    count_statements.statements.clear()
    large = client.get(url)
    assert small.status_code == large.status_code == 200
    assert count_statements.count <= limit, count_statements.statements
    assert count_statements.count == small_count


CELL_VIEWS = [
    ("/cells/qc/qci?as_of=2025-12-31", {}),
    ("/cells/qc/qci?as_of=2025-12-31", {"HX-Request": "true"}),  # the htmx fragment
    ("/api/v1/cells/qc/qci?as_of=2025-12-31", {}),
]


def _grow_cell(session: Session, party: Any, issue: Any, steps: range) -> None:
    """More positions of the cell, each citing a new quote answered by a denial, and more quotes
    of the cell that no position cites (with their own sources)."""
    for step in steps:
        stance = STANCES[step % 4]
        cited = b.quote(session, party, issue, stance, said_on=START + timedelta(days=step))
        b.quote(
            session, party, issue, stance, said_on=START + timedelta(days=step),
            status=QuoteStatus.DENIED, responds_to=cited,
        )  # fmt: skip
        b.position(
            session, party, issue, stance, START + timedelta(days=step), evidence=[cited],
            condition="if so" if stance == Stance.CONDITIONAL else None,
        )  # fmt: skip
        for extra in range(3):
            b.quote(session, party, issue, said_on=START + timedelta(days=step, hours=extra))


@pytest.mark.parametrize(("url", "headers"), CELL_VIEWS)
def test_cell_views_run_few_statements_whatever_the_evidence(
    client: TestClient,
    session: Session,
    count_statements: StatementCounter,
    url: str,
    headers: dict[str, str],
) -> None:
    party, issue = b.party(session, "qc"), b.issue(session, "qci")
    b.position(session, party, issue, Stance.ACCEPTS, START)
    position_runs.ensure_fresh(session)
    count_statements.statements.clear()
    assert client.get(url, headers=headers).status_code == 200
    few = count_statements.count
    _grow_cell(session, party, issue, range(1, 15))
    position_runs.ensure_fresh(session)
    count_statements.statements.clear()
    assert client.get(url, headers=headers).status_code == 200
    # The version, the catalog (parties, issues and themes for the page; the API reads the
    # parties and the issue), the run in force, the positions with their evidence's ids, the
    # newest quotes' ids, the quotes shown (with their tags and responses), the rounds marked on
    # the timeline and the points of the party's texts on the issue.
    assert count_statements.count == few <= 12, count_statements.statements


def plan_of(session: Session, backend: str, stmt: Any) -> str:
    """The plan of `stmt` as text; on PostgreSQL with sequential scans priced out, so that the
    planner shows the index it can use."""
    compiled = stmt.compile(session.get_bind(), compile_kwargs={"literal_binds": True})
    if backend == "sqlite":
        return " ".join(str(row) for row in session.execute(text(f"EXPLAIN QUERY PLAN {compiled}")))
    session.execute(text("SET LOCAL enable_seqscan = off"))
    return " ".join(str(row) for row in session.execute(text(f"EXPLAIN {compiled}")))


def test_as_of_query_can_use_the_cell_index(session: Session, backend: str) -> None:
    stmt = matrix.current_positions_query(as_of=date(2025, 6, 1))
    plan = plan_of(session, backend, stmt)
    # SQLite walks the per-cell index in window order; PostgreSQL may prefer the date index.
    assert "ix_positions_cell_as_of" in plan or "ix_positions_effective_from" in plan, plan


def test_a_cells_quotes_are_a_range_of_the_cell_index(session: Session, backend: str) -> None:
    stmt = cells.cell_quotes_query(party_id=1, issue_id=2, as_of=date(2025, 6, 1))
    plan = plan_of(session, backend, stmt)
    assert "ix_quote_issues_cell" in plan, plan
    # Newest first straight from the index: no sort of the cell's quotes.
    assert "TEMP B-TREE" not in plan and "Sort" not in plan, plan


def test_the_texts_on_the_table_read_a_fixed_number_of_statements(
    session: Session, count_statements: StatementCounter
) -> None:
    us, ua, army = b.party(session), b.party(session), b.issue(session)

    def table(n: int) -> None:
        base = _document(
            session, us,
            [PointDraft(str(k), f"Clause {k} of text {n}.", [(army, Stance.ACCEPTS)]) for k in range(12)],
            slug=f"qc-t{n}", tabled_on=date(2025, 12, 1),
        )  # fmt: skip
        version = _document(
            session, us,
            [PointDraft(str(k), f"Clause {k} of text {n}, revised.") for k in range(10)],
            slug=f"qc-t{n}-v2", derived_from=base, tabled_on=date(2025, 12, 2),
        )  # fmt: skip
        said = b.quote(session, ua, army, said_on=date(2025, 12, 3), text=f"On text {n}.")
        documents.add_reaction(session, actor=None, quote=said, document=version,
                               point=version.points[3], stance=Stance.REJECTS)  # fmt: skip
        session.flush()

    def statements() -> tuple[int, int]:
        session.expire_all()
        count_statements.statements.clear()
        found = briefing_texts.texts_on_table(
            session, as_of=date(2025, 12, 31), known_on=None, issue_ids=[army.id], parties=[us, ua]
        )
        return count_statements.count, sum(len(t.document.points) + len(t.cited()) for t in found)

    table(0)
    few, shown = statements()
    for n in range(1, 4):
        table(n)
    many, more_shown = statements()
    assert more_shown == 4 * shown and many == few


def test_a_cells_quotes_load_by_one_statement_text_whatever_their_number(
    client: TestClient, seeded: Session, engine: Any, backend: str
) -> None:
    """On PostgreSQL a cell's quotes are loaded by `id = ANY(array)` (app.db.among_named): the same
    statement text for any number of quotes, which psycopg prepares and PostgreSQL plans once;
    SQLite keeps its IN list."""
    from sqlalchemy import event

    seen: list[tuple[str, Any]] = []

    def record(_conn: object, _cursor: object, statement: str, parameters: Any, *_: object) -> None:
        if "FROM quotes JOIN parties" in statement and "WHERE quotes.id " in statement:
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        for url in ("/cells/ua/ceasefire", "/cells/us/nato-membership"):
            assert client.get(url).status_code == 200, url
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert len(seen) == 2, seen
    (first, first_parameters), (second, second_parameters) = seen
    if backend == "postgresql":
        assert first == second and "= ANY (" in first, first
        sizes = [
            len(next(v for v in p.values() if isinstance(v, list)))
            for p in (first_parameters, second_parameters)
        ]
    else:
        assert " IN (" in first
        sizes = [len(first_parameters), len(second_parameters)]
    assert sizes[0] != sizes[1] and min(sizes) > 0, sizes


def test_quotes_load_by_id_with_tags_and_responses_in_three_statements(
    session: Session, count_statements: StatementCounter
) -> None:
    """quote_views.load_quotes: each quote with its speaker, party, source, tags and responses
    (oldest first), three statements for one quote or many, nothing left to load lazily."""
    from app.models import QuoteIssue
    from app.services.quote_views import load_quotes

    party, other = b.party(session), b.party(session)
    first_issue, second_issue = b.issue(session), b.issue(session)
    tagged = b.quote(session, party, first_issue, said_on=date(2025, 3, 1))
    session.add(QuoteIssue(quote=tagged, issue=second_issue, stance=Stance.REJECTS))
    later = b.quote(session, other, None, said_on=date(2025, 3, 9), responds_to=tagged)
    earlier = b.quote(session, other, None, said_on=date(2025, 3, 5), responds_to=tagged)
    plain = [b.quote(session, party, None, said_on=date(2025, 2, day)) for day in range(1, 9)]
    session.commit()
    for few_or_many in ([tagged.id], [tagged.id, *(q.id for q in plain)]):
        session.expunge_all()
        count_statements.statements.clear()
        loaded = load_quotes(session, few_or_many)
        assert count_statements.count == 3, count_statements.statements
        assert sorted(loaded) == sorted(few_or_many)
        quote = loaded[tagged.id]
        assert [(t.issue.slug, t.stance) for t in quote.issue_tags] == [
            (first_issue.slug, Stance.ACCEPTS),
            (second_issue.slug, Stance.REJECTS),
        ]
        assert [r.id for r in quote.responses] == [earlier.id, later.id]
        assert quote.responses[0].party.slug == other.slug
        assert (quote.party.slug, quote.source.outlet) == (party.slug, "Test Wire")
        assert all(
            q.issue_tags == [] and q.responses == [] for q in loaded.values() if q is not quote
        )
        assert count_statements.count == 3  # all of it loaded: nothing lazy ran
    answer = load_quotes(session, [later.id])[later.id]
    assert answer.confirms_or_denies is not None
    assert (answer.confirms_or_denies.id, answer.confirms_or_denies.text) == (
        tagged.id,
        tagged.text,
    )
    assert answer.confirms_or_denies.source.outlet == "Test Wire"
    assert (answer.party.slug, answer.issue_tags, answer.responses) == (other.slug, [], [])
    assert load_quotes(session, []) == {}
    assert load_quotes(session, [later.id + 1000]) == {}


def test_a_search_finds_its_party_and_issue_in_the_held_catalog(
    client: TestClient, session: Session, count_statements: StatementCounter
) -> None:
    """The quotes API and the search page look the party and issue filters up in the worker's
    held catalog: no query by slug once it is read. A party made after it was read is still
    found (by the database, or the catalog of the new data version)."""
    party, issue = b.party(session, "hq"), b.issue(session, "hqi")
    b.quote(session, party, issue, Stance.ACCEPTS, said_on=START)
    paths = ["/api/v1/quotes?party=hq&issue=hqi", "/quotes?party=hq&issue=hqi&q=statement"]
    for path in paths:
        assert client.get(path).status_code == 200  # the catalog of this version is read
    for path in paths:
        count_statements.statements.clear()
        assert client.get(path + "&page=1").status_code == 200
        by_slug = [s for s in count_statements.statements if ".slug = " in s]
        assert not by_slug, (path, by_slug)
    b.party(session, "hq2")
    later = client.get("/api/v1/quotes?party=hq2")
    assert later.status_code == 200 and later.json()["items"] == []
    assert client.get("/api/v1/quotes?party=nobody").status_code == 400


def test_a_search_asks_the_statistics_about_its_words_once_per_data_version(
    client: TestClient, session: Session, count_statements: StatementCounter, backend: str
) -> None:
    """Whether the words are among the ones PostgreSQL's statistics list as common is asked
    once per data version and words, not on every search (SQLite never asks: FTS5 lists the
    matches by its index)."""
    party, issue = b.party(session, "hs"), b.issue(session, "hsi")
    b.quote(session, party, issue, Stance.ACCEPTS, said_on=START)

    def asked(path: str) -> int:
        count_statements.statements.clear()
        assert client.get(path).status_code == 200
        return sum("pg_stats" in s for s in count_statements.statements)

    first = asked("/api/v1/quotes?q=statement+hs")
    again = asked("/api/v1/quotes?q=statement+hs&page_size=10")
    other = asked("/api/v1/quotes?q=hs+statement+more")
    if backend == "sqlite":
        assert first == again == other == 0
        return
    assert (first, again, other) == (1, 0, 1)
    b.quote(session, party, issue, Stance.REJECTS, said_on=START)  # a new data version
    assert asked("/api/v1/quotes?q=statement+hs") == 1
