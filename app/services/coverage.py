"""Why a view is empty, and the nearest view that is not: one aggregate over the positions.

A view of the evidence (the matrix, a cell, a party, an issue, the changes) can be empty for
reasons an analyst cannot see: nothing is recorded at all, nothing had been recorded by the
`known_on` day, nothing had taken effect by the `as_of` day, or no change fell in the window.
Each view asks here only once it has found itself empty, so a view with something in it pays
nothing.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from app.models import Position
from app.services.matrix import Cell, history_with_runs
from app.services.users import as_utc


class Reason(enum.StrEnum):
    """Why a view shows nothing."""

    NOTHING_RECORDED = "nothing_recorded"
    """No position is recorded at all (in the view's scope)."""
    NOT_YET_RECORDED = "not_yet_recorded"
    """Positions exist, but none had been recorded by the `known_on` day."""
    NOT_YET_IN_EFFECT = "not_yet_in_effect"
    """Positions had been recorded, but none had taken effect by the `as_of` day."""
    NO_CHANGE_SINCE = "no_change_since"
    """No change in the window; the most recent change came before it."""
    FIRST_CHANGE_LATER = "first_change_later"
    """No change in the window; the first recorded position took effect after it."""


@dataclass(frozen=True, slots=True)
class Coverage:
    """When the recorded positions (of a scope) begin, and the latest change up to a day."""

    first_recorded_at: datetime | None
    """The earliest recording (UTC), whatever the `known_on` day; None when nothing is recorded."""
    first_recorded_from: date | None
    """The effective date of the position recorded first."""
    known: int
    """Positions recorded by the `known_on` day (all of them without one)."""
    earliest_from: date | None
    """The earliest effective date among those positions."""
    latest_change: date | None
    """The latest change of stance (or condition) among them taking effect on or before `until`."""


@dataclass(frozen=True, slots=True)
class EmptyView:
    """Why a view is empty (`reason`), the day that had nothing (`asked`), the nearest day that
    has something (`found`), and the query of the view that shows it (`params`, for the link;
    for the changes, `window_from` is its `from`)."""

    reason: Reason
    asked: date | None = None
    found: date | None = None
    params: dict[str, str] = field(default_factory=dict)
    window_from: date | None = None


def shows_nothing(cells: Iterable[Cell]) -> bool:
    """True when no cell holds a position in force (a split bloc's members hold some)."""
    return all(cell.position_id is None and not cell.split for cell in cells)


def coverage(
    session: Session,
    *,
    until: date,
    known_on: date | None = None,
    party_ids: Sequence[int] | None = None,
    issue_ids: Sequence[int] | None = None,
) -> Coverage:
    """How far the positions of a scope reach, in one statement."""
    scope = []
    if party_ids is not None:
        scope.append(Position.party_id.in_(party_ids))
    if issue_ids is not None:
        scope.append(Position.issue_id.in_(issue_ids))
    first_at = select(func.min(Position.recorded_at)).where(*scope).scalar_subquery()
    first_from = (
        select(Position.effective_from)
        .where(*scope)
        .order_by(Position.recorded_at, Position.id)
        .limit(1)
        .scalar_subquery()
    )
    # The matrix's own history query, so that "a change" means here what it means in the list.
    history = history_with_runs(
        until=date.max, known_on=known_on, party_ids=party_ids, issue_ids=issue_ids
    )
    change_until = case(
        ((history.c.starts == 1) & (history.c.effective_from <= until), history.c.effective_from)
    )
    row = session.execute(
        select(
            first_at.label("first_recorded_at"),
            first_from.label("first_recorded_from"),
            func.count(history.c.id).label("known"),
            func.min(history.c.effective_from).label("earliest_from"),
            func.max(change_until).label("latest_change"),
        ).select_from(history)
    ).one()
    first_recorded_at = row.first_recorded_at
    return Coverage(
        first_recorded_at=(
            as_utc(first_recorded_at).astimezone(UTC) if first_recorded_at is not None else None
        ),
        first_recorded_from=row.first_recorded_from,
        known=row.known,
        earliest_from=row.earliest_from,
        latest_change=row.latest_change,
    )


def _shift(day: date, days: int) -> date:
    """`day` moved by `days`, held within the calendar's range."""
    try:
        return day + timedelta(days=days)
    except OverflowError:
        return date.max if days > 0 else date.min


def explain_view(
    session: Session,
    *,
    as_of: date,
    known_on: date | None = None,
    since: date | None = None,
    party_ids: Sequence[int] | None = None,
    issue_ids: Sequence[int] | None = None,
) -> EmptyView:
    """Why a view of the positions in force (matrix, cell, party, issue) is empty at `as_of`,
    and the query (as_of, since, known_on) of the nearest view that is not."""
    found = coverage(
        session, until=as_of, known_on=known_on, party_ids=party_ids, issue_ids=issue_ids
    )
    if found.first_recorded_at is None or found.first_recorded_from is None:
        return EmptyView(Reason.NOTHING_RECORDED)
    if found.known == 0 or found.earliest_from is None:
        # Only with known_on: nothing recorded by then. As we knew it on the day of the first
        # recording, the position recorded first is in force from its effective date on.
        recorded_on = found.first_recorded_at.date()
        first_from = found.first_recorded_from
        day = as_of if as_of >= first_from else max(first_from, recorded_on)
        return EmptyView(
            Reason.NOT_YET_RECORDED,
            asked=known_on,
            found=recorded_on,
            params=_view_params(day, since, recorded_on),
        )
    day = found.earliest_from
    return EmptyView(
        Reason.NOT_YET_IN_EFFECT,
        asked=as_of,
        found=day,
        params=_view_params(day, since, known_on),
    )


def _view_params(as_of: date, since: date | None, known_on: date | None) -> dict[str, str]:
    params = {"as_of": as_of.isoformat()}
    if since is not None and since < as_of:  # a later `since` would be refused
        params["since"] = since.isoformat()
    if known_on is not None:
        params["known_on"] = known_on.isoformat()
    return params


def explain_changes(
    session: Session, *, since: date, until: date, known_on: date | None = None
) -> EmptyView:
    """Why no change of stance falls in (since, until], and the window of the nearest that does
    (as wide as the asked one: `from`, `to`, `known_on`)."""
    found = coverage(session, until=until, known_on=known_on)
    if found.first_recorded_at is None or found.first_recorded_from is None:
        return EmptyView(Reason.NOTHING_RECORDED)
    width = max((until - since).days, 1)
    if found.known == 0 or found.earliest_from is None:
        recorded_on = found.first_recorded_at.date()
        start, end = _window(found.first_recorded_from, since, until, width)
        return _changes_view(
            Reason.NOT_YET_RECORDED, known_on, recorded_on, start, end, recorded_on
        )
    if found.latest_change is not None:
        # The window holds none, so the latest change up to its end came before it.
        start, end = _window(found.latest_change, since, until, width)
        return _changes_view(
            Reason.NO_CHANGE_SINCE, since, found.latest_change, start, end, known_on
        )
    # Every position, the first change among them, takes effect after the window.
    start, end = _window(found.earliest_from, since, until, width)
    return _changes_view(
        Reason.FIRST_CHANGE_LATER, until, found.earliest_from, start, end, known_on
    )


def _changes_view(
    reason: Reason, asked: date | None, found: date, start: date, end: date, known_on: date | None
) -> EmptyView:
    params = {"from": start.isoformat(), "to": end.isoformat()}
    if known_on is not None:
        params["known_on"] = known_on.isoformat()
    return EmptyView(reason, asked=asked, found=found, params=params, window_from=start)


def _window(day: date, since: date, until: date, width: int) -> tuple[date, date]:
    """A changes window (start, end] that holds `day`: the asked one if it does; else one reaching
    `width` days back from `day` to the asked end, or one of `width` days from just before `day`."""
    if since < day <= until:
        return since, until
    if day <= since:
        return _shift(day, -width), until
    start = _shift(day, -1)
    return start, _shift(start, width)
