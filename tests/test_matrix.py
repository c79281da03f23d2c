"""The as-of rule, evidence markers and freshness of the position matrix."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from app.models import PartyKind, QuoteStatus, Stance
from app.services import matrix
from tests import builders as b

D = date(2025, 4, 1)


def test_matrix_as_of_ignores_later_positions(session: Session) -> None:
    us, crimea = b.party(session), b.issue(session)
    b.position(session, us, crimea, Stance.ACCEPTS, D + timedelta(days=10))
    grid = matrix.build_matrix(session, as_of=D + timedelta(days=9))
    assert grid.cell(us, crimea) is None
    grid = matrix.build_matrix(session, as_of=D + timedelta(days=10))
    cell = grid.cell(us, crimea)
    assert cell is not None and cell.stance == Stance.ACCEPTS


def test_matrix_earlier_position_shows_until_replaced(session: Session) -> None:
    ua, nato = b.party(session), b.issue(session)
    b.position(session, ua, nato, Stance.ACCEPTS, D)
    b.position(session, ua, nato, Stance.CONDITIONAL, D + timedelta(days=5), condition="if X")
    before = matrix.build_matrix(session, as_of=D + timedelta(days=4)).cell(ua, nato)
    after = matrix.build_matrix(session, as_of=D + timedelta(days=5)).cell(ua, nato)
    assert before is not None and before.stance == Stance.ACCEPTS
    assert after is not None and after.stance == Stance.CONDITIONAL and after.condition == "if X"
    assert after.effective_from == D + timedelta(days=5)


def test_matrix_never_leaks_other_party_or_issue(session: Session) -> None:
    ru, us = b.party(session), b.party(session)
    crimea, nato = b.issue(session), b.issue(session)
    b.position(session, ru, crimea, Stance.ACCEPTS, D)
    grid = matrix.build_matrix(session, as_of=D + timedelta(days=30))
    assert grid.cell(ru, crimea) is not None
    assert grid.cell(ru, nato) is None
    assert grid.cell(us, crimea) is None


def test_cell_marks_reported_evidence_unconfirmed_and_denied_evidence_denied(
    session: Session,
) -> None:
    us, ru, crimea = b.party(session), b.party(session), b.issue(session)
    b.position(session, us, crimea, Stance.ACCEPTS, D, status=QuoteStatus.REPORTED)
    b.position(session, ru, crimea, Stance.ACCEPTS, D, status=QuoteStatus.DENIED)
    grid = matrix.build_matrix(session, as_of=D)
    us_cell, ru_cell = grid.cell(us, crimea), grid.cell(ru, crimea)
    assert us_cell is not None and us_cell.confirmation == "unconfirmed"
    assert ru_cell is not None and ru_cell.confirmation == "denied"


def test_cell_confirmed_when_any_evidence_confirmed(session: Session) -> None:
    ua, ceasefire = b.party(session), b.issue(session)
    reported = b.quote(session, ua, ceasefire, said_on=D, status=QuoteStatus.REPORTED)
    confirmed = b.quote(session, ua, ceasefire, said_on=D, status=QuoteStatus.CONFIRMED)
    b.position(session, ua, ceasefire, Stance.ACCEPTS, D, evidence=[reported, confirmed])
    cell = matrix.build_matrix(session, as_of=D).cell(ua, ceasefire)
    assert cell is not None
    assert cell.confirmation == "confirmed"
    assert cell.evidence_count == 2


def test_cell_freshness_is_newest_evidence_and_stale_after_threshold(session: Session) -> None:
    ua, ceasefire = b.party(session), b.issue(session)
    old = b.quote(session, ua, ceasefire, said_on=D - timedelta(days=20))
    new = b.quote(session, ua, ceasefire, said_on=D - timedelta(days=3))
    b.position(session, ua, ceasefire, Stance.ACCEPTS, D, evidence=[old, new])
    fresh = matrix.build_matrix(session, as_of=D, stale_after_days=60).cell(ua, ceasefire)
    assert fresh is not None and fresh.latest_evidence_on == D - timedelta(days=3)
    assert not fresh.stale
    later = matrix.build_matrix(session, as_of=D + timedelta(days=90), stale_after_days=60)
    cell = later.cell(ua, ceasefire)
    assert cell is not None and cell.stale


def test_retracted_evidence_is_not_counted(session: Session) -> None:
    ua, ceasefire = b.party(session), b.issue(session)
    kept = b.quote(session, ua, ceasefire, said_on=D)
    retracted = b.quote(session, ua, ceasefire, said_on=D, status=QuoteStatus.RETRACTED)
    b.position(session, ua, ceasefire, Stance.ACCEPTS, D, evidence=[kept, retracted])
    cell = matrix.build_matrix(session, as_of=D).cell(ua, ceasefire)
    assert cell is not None and cell.evidence_count == 1


def test_known_on_ignores_positions_recorded_later(session: Session) -> None:
    ua, nato = b.party(session), b.issue(session)
    b.position(session, ua, nato, Stance.ACCEPTS, D)
    today = date.today()
    assert matrix.build_matrix(session, as_of=today, known_on=today).cell(ua, nato) is not None
    yesterday = today - timedelta(days=1)
    assert matrix.build_matrix(session, as_of=today, known_on=yesterday).cell(ua, nato) is None


def test_bloc_members_are_listed_beneath_their_bloc(session: Session) -> None:
    eu = b.party(session, name="Europe", kind=PartyKind.BLOC)
    b.party(session, name="Far away")
    de = b.party(session, parent=eu, name="Germany")
    grid = matrix.build_matrix(session, as_of=D)
    names = [p.name for p in grid.parties]
    assert names.index("Germany") == names.index("Europe") + 1
    assert de.parent_id == eu.id


positions_strategy = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=2),  # party index
        st.integers(min_value=0, max_value=2),  # issue index
        st.sampled_from(list(Stance)),
        st.integers(min_value=0, max_value=30),  # day offset
    ),
    min_size=0,
    max_size=12,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(recorded=positions_strategy, as_of_offset=st.integers(min_value=-1, max_value=31))
def test_matrix_matches_latest_position_on_or_before_as_of(
    session: Session, recorded: list[tuple[int, int, Stance, int]], as_of_offset: int
) -> None:
    """Property: each cell's stance is the last recorded position with effective_from <= as_of,
    and its "since" the start of the unbroken run of that stance (restatements don't restart it)."""
    nested = session.begin_nested()
    try:
        parties = [b.party(session) for _ in range(3)]
        issues = [b.issue(session) for _ in range(3)]
        held: dict[tuple[int, int], list[tuple[date, int, Stance]]] = {}
        as_of = D + timedelta(days=as_of_offset)
        for n, (p, i, stance, offset) in enumerate(recorded):
            day = D + timedelta(days=offset)
            b.position(
                session,
                parties[p],
                issues[i],
                stance,
                day,
                condition="on a condition" if stance == Stance.CONDITIONAL else None,
            )
            if day <= as_of:
                held.setdefault((p, i), []).append((day, n, stance))
        expected: dict[tuple[int, int], tuple[date, Stance]] = {}
        for key, history in held.items():
            # Later recordings win ties on the same date, as in the service.
            history.sort()
            stance = history[-1][2]
            start = len(history) - 1
            while start > 0 and history[start - 1][2] == stance:
                start -= 1
            expected[key] = (history[start][0], stance)
        grid = matrix.build_matrix(session, as_of=as_of)
        for p, party in enumerate(parties):
            for i, issue in enumerate(issues):
                cell = grid.cell(party, issue)
                if (p, i) in expected:
                    assert cell is not None
                    assert (cell.effective_from, cell.stance) == expected[(p, i)]
                else:
                    assert cell is None
    finally:
        nested.rollback()
