"""Benchmark: time to build the matrix (the queries and their rows) at seed size and at a large size.

Run by hand:  .venv/bin/python -m bench.matrix_build [--url DATABASE_URL] [--parties 30] [--issues 40]
It creates a scratch SQLite file (or uses the given, empty, database), bulk-inserts a dataset with
position history, and prints the median and p95 time of `build_matrix` over repeated runs.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import insert
from sqlalchemy.orm import Session

from app import migrate
from app.config import PROJECT_ROOT
from app.db import make_engine
from app.models import (
    Issue,
    Party,
    Position,
    PositionEvidence,
    Quote,
    QuoteIssue,
    Source,
    Stance,
)
from app.services import matrix, seed

STANCES = [Stance.ACCEPTS, Stance.AMBIGUOUS, Stance.REJECTS]


def generate(session: Session, parties: int, issues: int, history: int) -> None:
    """Bulk-insert parties x issues cells, each with `history` positions citing one quote."""
    session.execute(
        insert(Party),
        [
            {
                "id": 1000 + p,
                "slug": f"bp{p}",
                "name": f"Party {p}",
                "short_name": f"P{p}",
                "kind": "state",
                "sort_order": p,
            }
            for p in range(parties)
        ],
    )
    session.execute(
        insert(Issue),
        [
            {
                "id": 1000 + i,
                "slug": f"bi{i}",
                "title": f"Issue {i}",
                "proposition": f"Term {i}",
                "sort_order": i,
            }
            for i in range(issues)
        ],
    )
    session.execute(
        insert(Source),
        [
            {
                "id": 1000,
                "url": "https://example.org/bench",
                "title": "Bench",
                "outlet": "Bench",
                "kind": "news_report",
                "tier": "on_record",
            }
        ],
    )
    quotes, tags, positions, evidence = [], [], [], []
    serial = 1000
    start = date(2024, 1, 1)
    for p in range(parties):
        for i in range(issues):
            for h in range(history):
                serial += 1
                day = start + timedelta(days=7 * h + (p + i) % 7)
                stance = STANCES[(p + i + h) % 3]
                quotes.append(
                    {
                        "id": serial,
                        "text": f"Quote {serial}",
                        "kind": "direct",
                        "said_on": day,
                        "party_id": 1000 + p,
                        "source_id": 1000,
                        "status": "confirmed",
                    }
                )
                tags.append({"quote_id": serial, "issue_id": 1000 + i, "stance": stance})
                positions.append(
                    {
                        "id": serial,
                        "party_id": 1000 + p,
                        "issue_id": 1000 + i,
                        "stance": stance,
                        "effective_from": day,
                        "rationale": "bench",
                    }
                )
                evidence.append({"position_id": serial, "quote_id": serial})
    for model, rows in (
        (Quote, quotes),
        (QuoteIssue, tags),
        (Position, positions),
        (PositionEvidence, evidence),
    ):
        for chunk in range(0, len(rows), 5000):
            session.execute(insert(model), rows[chunk : chunk + 5000])


def timings(session: Session, as_of: date, runs: int) -> tuple[float, float, int]:
    """Median and p95 milliseconds of build_matrix, and the number of cells."""
    samples = []
    cells = 0
    for _ in range(runs):
        started = time.perf_counter()
        grid = matrix.build_matrix(session, as_of=as_of)
        samples.append((time.perf_counter() - started) * 1000)
        cells = len(grid.cells)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1], cells


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="an empty database to use (default: a scratch SQLite file)")
    parser.add_argument("--parties", type=int, default=30)
    parser.add_argument("--issues", type=int, default=40)
    parser.add_argument("--history", type=int, default=40, help="positions per cell")
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    url = args.url or f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}"
    migrate.upgrade(url=url)
    engine = make_engine(url)
    with Session(engine) as session:
        seed.load_seeds(session, PROJECT_ROOT / "seeds")
        session.commit()
        median, p95, cells = timings(session, date(2025, 4, 23), args.runs)
        print(f"seed size        : {cells:5d} cells  median {median:7.2f} ms  p95 {p95:7.2f} ms")
        started = time.perf_counter()
        generate(session, args.parties, args.issues, args.history)
        session.commit()
        print(
            f"generated {args.parties}x{args.issues}x{args.history} positions in {time.perf_counter() - started:.1f} s"
        )
        median, p95, cells = timings(session, date(2025, 6, 1), args.runs)
        print(f"large            : {cells:5d} cells  median {median:7.2f} ms  p95 {p95:7.2f} ms")
    engine.dispose()


if __name__ == "__main__":
    main()
