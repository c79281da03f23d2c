"""The matrix's stored runs (app.services.position_runs): the same cells as computing them from
the positions, kept in step by every write path, read with one index probe per cell."""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app import db, migrate
from app.models import Party, PositionRun, Quote, QuoteStatus, Stance
from app.services import matrix, position_runs, quotes
from tests import builders as b
from tests.conftest import StatementCounter, scratch_database
from tests.test_query_counts import plan_of

START = date(2025, 1, 1)


def _messy(session: Session, seed: int) -> list[Party]:
    """Cells with restatements, changed conditions, same-day positions and mixed evidence."""
    rng = random.Random(seed)
    parties = [b.party(session) for _ in range(3)]
    issues = [b.issue(session) for _ in range(3)]
    for party in parties:
        for issue in issues:
            for _ in range(rng.randint(0, 6)):
                stance = rng.choice([Stance.REJECTS, Stance.CONDITIONAL, Stance.ACCEPTS])
                day = START + timedelta(days=rng.choice([0, 10, 10, 30, 45, 60, 90]))
                cited = [
                    b.quote(
                        session,
                        party,
                        issue,
                        stance,
                        said_on=day - timedelta(days=rng.randint(0, 5)),
                        status=rng.choice(list(QuoteStatus)),
                    )
                    for _ in range(rng.randint(1, 2))
                ]
                b.position(
                    session,
                    party,
                    issue,
                    stance,
                    day,
                    evidence=cited,
                    condition=rng.choice(["if A", "if B"])
                    if stance == Stance.CONDITIONAL
                    else None,
                )
    return parties


def _both_ways(session: Session) -> None:
    """The stored runs give every as-of day the cells that the positions themselves give."""
    for offset in range(-1, 100, 3):
        day = START + timedelta(days=offset)
        stored = matrix.current_cells(session, as_of=day)
        # "As we knew it" tomorrow: everything recorded so far, even when the run crosses
        # midnight (a day fixed when the module was imported left out quotes created after it).
        computed = matrix.current_cells(
            session, as_of=day, known_on=date.today() + timedelta(days=1)
        )
        assert stored == computed, day


def test_stored_runs_give_the_cells_computed_from_the_positions(session: Session) -> None:
    for seed in range(3):
        _messy(session, seed)
    _both_ways(session)


def test_retracting_or_redating_a_quote_updates_the_runs_that_cite_it(session: Session) -> None:
    party, issue = b.party(session), b.issue(session)
    first = b.quote(session, party, issue, Stance.REJECTS, said_on=START)
    second = b.quote(session, party, issue, Stance.REJECTS, said_on=START + timedelta(days=5))
    b.position(session, party, issue, Stance.REJECTS, START + timedelta(days=5), evidence=[first])
    b.position(session, party, issue, Stance.REJECTS, START + timedelta(days=9), evidence=[second])
    as_of = START + timedelta(days=20)
    cell = matrix.current_cells(session, as_of=as_of)[(party.id, issue.id)]
    assert (cell.evidence_count, cell.latest_evidence_on) == (2, START + timedelta(days=5))
    quotes.retract_quote(session, actor=None, quote=second)
    second_cell = matrix.current_cells(session, as_of=as_of)[(party.id, issue.id)]
    assert (second_cell.evidence_count, second_cell.latest_evidence_on) == (1, START)
    first.said_on = START + timedelta(days=3)  # an edit through the ORM
    session.flush()
    third_cell = matrix.current_cells(session, as_of=as_of)[(party.id, issue.id)]
    assert third_cell.latest_evidence_on == START + timedelta(days=3)
    _both_ways(session)


def test_a_statement_that_bypasses_the_flush_refreshes_every_cell(session: Session) -> None:
    parties = _messy(session, 7)
    position_runs.ensure_fresh(session)
    session.execute(
        update(Quote).where(Quote.party_id == parties[0].id).values(status=QuoteStatus.DENIED)
    )
    _both_ways(session)


def test_a_commit_stores_the_runs_for_other_sessions(tmp_path: Path, backend: str) -> None:
    with scratch_database(backend, tmp_path) as url:
        migrate.upgrade(url=url)
        engine = db.make_engine(url)
        try:
            with Session(engine) as writer, writer.begin():
                party, issue = b.party(writer, "cr"), b.issue(writer, "ci")
                b.position(writer, party, issue, Stance.ACCEPTS, START)
                b.position(writer, party, issue, Stance.ACCEPTS, START + timedelta(days=4))
            with Session(engine) as reader:
                rows = reader.execute(
                    select(PositionRun.run_start, PositionRun.evidence_count).order_by(
                        PositionRun.effective_from
                    )
                ).all()
            assert [tuple(r) for r in rows] == [(START, 1), (START, 2)]
        finally:
            engine.dispose()


def test_refresh_from_nothing_writes_the_rows_kept_so_far(session: Session) -> None:
    _messy(session, 11)
    position_runs.ensure_fresh(session)
    columns = list(PositionRun.__table__.c)
    kept = sorted(tuple(r) for r in session.execute(select(*columns)))
    position_runs.refresh(session.connection())
    assert sorted(tuple(r) for r in session.execute(select(*columns))) == kept


def test_reading_the_matrix_after_a_write_in_the_same_transaction_costs_four_statements(
    session: Session, count_statements: StatementCounter
) -> None:
    party, issue = b.party(session), b.issue(session)
    b.position(session, party, issue, Stance.ACCEPTS, START)
    session.flush()
    count_statements.statements.clear()
    position_runs.ensure_fresh(session)
    # Delete the cell's rows, read its positions and their evidence, insert the new rows.
    assert count_statements.count == 4, count_statements.statements
    count_statements.statements.clear()
    position_runs.ensure_fresh(session)
    assert count_statements.count == 0


def test_the_as_of_lookup_probes_the_cell_index(session: Session, backend: str) -> None:
    stmt = position_runs.in_force_query(
        as_of=date(2025, 6, 1), party_ids=None, issue_ids=None, lateral=backend == "postgresql"
    )
    plan = plan_of(session, backend, stmt)
    assert "ix_position_runs_cell_as_of" in plan, plan


def _cells(session: Session, day: date, **kwargs: object) -> dict[tuple[int, int], matrix.Cell]:
    return matrix.current_cells(session, as_of=day, **kwargs)  # type: ignore[arg-type]


def test_runs_held_in_memory_give_the_cells_the_database_gives(session: Session) -> None:
    parties = _messy(session, seed=7)
    store = position_runs.HeldRuns()
    held = position_runs.HeldVersion(store, 1)
    days = [START + timedelta(days=n) for n in (-1, 0, 5, 10, 29, 30, 44, 45, 61, 90, 400)]
    assert _cells(session, days[0], held=held) == _cells(session, days[0])
    assert store.rows_held == 0  # the first matrix of a version asks the database
    for day in days:
        assert _cells(session, day, held=held) == _cells(session, day), day
    assert store.rows_held == session.query(PositionRun).count() > 0
    issue_ids = sorted({issue_id for _, issue_id in _cells(session, days[-1])})
    chosen = {"party_ids": [p.id for p in parties[:2]], "issue_ids": issue_ids[1:]}
    for day in days:  # a choice of parties and issues
        assert _cells(session, day, held=held, **chosen) == _cells(session, day, **chosen)
    assert _cells(session, days[-1], held=held, **chosen)


def test_held_runs_follow_the_data_version(session: Session) -> None:
    party, issue = b.party(session), b.issue(session)
    b.position(session, party, issue, Stance.REJECTS, START)
    store = position_runs.HeldRuns()
    for _ in range(2):
        _cells(session, START, held=position_runs.HeldVersion(store, 1))
    assert store.rows_held == 1
    b.position(session, party, issue, Stance.ACCEPTS, START + timedelta(days=3))
    later = START + timedelta(days=5)
    # A new version: the first matrix asks the database (and sees the write), the second
    # holds the new rows; an older version than the one held is never answered from memory.
    for _ in range(2):
        cells = _cells(session, later, held=position_runs.HeldVersion(store, 2))
        assert cells[(party.id, issue.id)].stance == Stance.ACCEPTS
    assert store.rows_held == 2
    assert store.in_force(session, 1, as_of=later, party_ids=None, issue_ids=None) is None


def test_too_many_runs_to_hold_are_read_from_the_database(session: Session) -> None:
    _messy(session, seed=3)
    store = position_runs.HeldRuns(max_rows=1)
    held = position_runs.HeldVersion(store, 1)
    for day in (START, START + timedelta(days=45), START + timedelta(days=90)):
        assert _cells(session, day, held=held) == _cells(session, day)
    assert store.rows_held == 0
