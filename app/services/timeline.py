"""Timeline charts: each party's stance on an issue over time, laid out for a server-rendered SVG."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from app.models import Party, Stance
from app.services.matrix import Held, runs_of

WIDTH = 760.0
LABEL_WIDTH = 130.0
LANE_HEIGHT = 30.0
TOP = 8.0
AXIS_HEIGHT = 24.0
MIN_TICK_GAP = 80.0
ROUND_ROW = 14.0
"""Height of a row of round names above the lanes."""
ROUND_ROWS = 3
"""Most rows of round names; a name that fits in none is left to the chart's text alternative."""
ROUND_CHARS = 24
"""Round names longer than this are shortened on the chart (the full name is in its title)."""
CHAR_WIDTH = 6.2
"""Width of a character of a round's name (10px DejaVu Sans, a little generous)."""
SHORT = {
    Stance.ACCEPTS: "A",
    Stance.CONDITIONAL: "C",
    Stance.AMBIGUOUS: "?",
    Stance.REJECTS: "R",
}


@dataclass(frozen=True, slots=True)
class Segment:
    """A stretch of time over which one stance held."""

    start: date
    end: date
    stance: Stance
    x: float
    width: float

    @property
    def label(self) -> str:
        """The stance word when it fits, else its one-letter key (the legend spells it out)."""
        word = self.stance.value
        if self.width >= 8 * len(word) + 8:
            return word
        return SHORT[self.stance] if self.width >= 14 else ""


@dataclass(slots=True)
class Lane:
    """One party's row of segments."""

    party: Party
    y: float
    segments: list[Segment] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class RoundMark:
    """A round of talks on the time axis: a line at its first day, named above the lanes."""

    day: date
    name: str
    x: float
    label: str
    """The name as drawn ("" when no row has room: the title and text alternative name it)."""
    label_y: float
    anchor: str
    """SVG text-anchor: "start", or "end" for a name that would run off the right edge."""


@dataclass(slots=True)
class Timeline:
    """The chart: lanes, date ticks, the rounds on the axis and its size."""

    start: date
    end: date
    lanes: list[Lane]
    ticks: list[tuple[float, str]]
    width: float
    height: float
    label_width: float = LABEL_WIDTH
    rounds: list[RoundMark] = field(default_factory=list)
    lanes_top: float = TOP
    """Where the first lane starts (below the rows of round names)."""


def _x(day: date, start: date, span_days: int, plot_width: float) -> float:
    return LABEL_WIDTH + plot_width * (day - start).days / span_days


def build_timeline(
    positions: Iterable[Held],
    *,
    parties: list[Party],
    as_of: date,
    rounds: Sequence[tuple[date, str]] = (),
) -> Timeline | None:
    """Lay out positions (of one issue, effective on or before `as_of`) per party, with the
    rounds of talks (first day, name) that fall on the chart's span; None if empty."""
    by_party: dict[int, list[Held]] = {}
    for position in positions:
        if position.effective_from <= as_of:
            by_party.setdefault(position.party_id, []).append(position)
    if not by_party:
        return None
    start = min(p.effective_from for ps in by_party.values() for p in ps)
    end = max(as_of, start + timedelta(days=1))
    span = (end - start).days
    plot = WIDTH - LABEL_WIDTH - 10
    marks, rows = _round_marks(rounds, start, end, span, plot)
    top = TOP + rows * ROUND_ROW
    lanes: list[Lane] = []
    for party in parties:
        held = by_party.get(party.id)
        if not held:
            continue
        # Per day keep the last recorded position (the one in force that day), then one bar per
        # run: a restatement of the same stance and condition does not start a new bar.
        latest_per_day: dict[date, Held] = {}
        for position in sorted(held, key=lambda p: (p.effective_from, p.recorded_at, p.id)):
            latest_per_day[position.effective_from] = position
        runs = runs_of(latest_per_day.values())
        lane = Lane(party=party, y=top + len(lanes) * LANE_HEIGHT)
        for index, run in enumerate(runs):
            until = runs[index + 1].start if index + 1 < len(runs) else end
            x0, x1 = _x(run.start, start, span, plot), _x(until, start, span, plot)
            lane.segments.append(
                Segment(
                    start=run.start,
                    end=until,
                    stance=run.stance,
                    x=round(x0, 1),
                    width=round(max(x1 - x0, 2.0), 1),
                )
            )
        lanes.append(lane)
    tick_count = min(6, span) or 1
    ticks: list[tuple[float, str]] = []
    for n in range(tick_count + 1):
        day = start + timedelta(days=round(span * n / tick_count))
        x = round(_x(day, start, span, plot), 1)
        # Labels are about 70 units wide: skip a tick too close to the one before it; the
        # last one (the as-of date) stays and pushes out its neighbour instead.
        if ticks and x - ticks[-1][0] < MIN_TICK_GAP:
            if n != tick_count:
                continue
            if len(ticks) > 1:
                ticks.pop()
        ticks.append((x, f"{day.day} {day:%b %Y}"))
    height = top + len(lanes) * LANE_HEIGHT + AXIS_HEIGHT
    return Timeline(
        start=start, end=end, lanes=lanes, ticks=ticks, width=WIDTH, height=height,
        rounds=marks, lanes_top=top,
    )  # fmt: skip


def _round_marks(
    rounds: Sequence[tuple[date, str]], start: date, end: date, span: int, plot: float
) -> tuple[list[RoundMark], int]:
    """The rounds between `start` and `end` placed on the axis, each name in the first row
    where it overlaps no other (at most ROUND_ROWS); and the number of rows used."""
    right_edge = LABEL_WIDTH + plot
    taken: list[list[tuple[float, float]]] = []
    marks: list[RoundMark] = []
    for day, name in sorted(rounds):
        if not start <= day <= end:
            continue
        x = round(_x(day, start, span, plot), 1)
        label = name if len(name) <= ROUND_CHARS else name[: ROUND_CHARS - 1] + "…"
        width = len(label) * CHAR_WIDTH + 4
        left, anchor = (x + 2, "start") if x + 2 + width <= right_edge else (x - 2 - width, "end")
        row = next(
            (
                n
                for n, spans in enumerate(taken)
                if all(left + width < a or left > b for a, b in spans)
            ),
            len(taken),
        )
        if row >= ROUND_ROWS:
            label, row = "", 0
        else:
            if row == len(taken):
                taken.append([])
            taken[row].append((left, left + width))
        y = TOP + row * ROUND_ROW + 10
        marks.append(RoundMark(day, name, x, label, y, anchor))
    return marks, len(taken)
