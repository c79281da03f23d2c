"""Benchmark: `peacetalks import` of a big quotes CSV, on PostgreSQL and on SQLite.

Run by hand:

    .venv/bin/python -m bench.import_speed [--rows 100000] [--database postgresql sqlite]
        [--keep DIR]

It writes a CSV of --rows quote rows (a new source every 50 rows, a speaker on two rows in
three, one or two issue tags each, a note on one row in five, and a position per tag on one row
in ten), seeds an empty database (PostgreSQL: the scratch database `peacetalks_bench_import`,
dropped and created afresh; SQLite: a file in a temporary folder), then runs the command as a
user does, `peacetalks import FILE` in its own process under `/usr/bin/time -v`, and prints the
wall time, rows per second and peak memory (maximum resident set size) of the dry run, the
import and a second import of the same file (which adds nothing). Targets (issue 10): 100,000
rows in under 60 s on PostgreSQL and under 2 minutes on SQLite, peak memory under 400 MB.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATABASE = "peacetalks_bench_import"
PARTIES = ["us", "ua", "ru", "eu", "uk", "fr", "de", "eu-institutions"]
ISSUES = [
    "crimea-recognition", "occupied-territories", "nato-membership", "eu-membership",
    "sanctions-relief", "ceasefire", "security-guarantees",
]  # fmt: skip
STANCES = ["accepts", "ambiguous", "rejects"]
WORDS = (
    "ceasefire territory guarantees security negotiations talks envoy summit proposal plan "
    "frontline withdrawal recognition energy grain corridor prisoners exchange monitoring "
    "sovereignty reparations assets tribunal infrastructure nuclear minister delegation"
).split()


def write_csv(path: Path, rows: int, *, seed: int = 20250423) -> int:
    """A quotes CSV of `rows` rows in the import's columns; returns how many rows hold a position."""
    from app.services.transfer import CSV_COLUMNS

    rng = random.Random(seed)
    start = date(2020, 1, 1)
    with_positions = 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        for n in range(rows):
            party = PARTIES[n % len(PARTIES)]
            tags = rng.sample(ISSUES, 1 + (n % 3 == 0))
            said_on = start + timedelta(days=n % 2000)
            position = n % 10 == 0
            with_positions += position
            speaker = f"Speaker {party} {n % 40}" if n % 3 else ""
            writer.writerow(
                {
                    "text": f"Statement {n}: " + " ".join(rng.choices(WORDS, k=24)) + ".",
                    "kind": "direct" if speaker else "reported",
                    "said_on": said_on.isoformat(),
                    "published_on": (said_on + timedelta(days=n % 3)).isoformat(),
                    "party": party,
                    "speaker": speaker,
                    "speaker_role": f"Envoy {n % 40}" if speaker else "",
                    "source_url": f"https://example.org/bench/{n // 50}",
                    "source_title": f"Report {n // 50}",
                    "source_outlet": f"Outlet {n // 50 % 30}",
                    "source_published_on": said_on.isoformat(),
                    "source_kind": "news_report",
                    "source_tier": "on_record",
                    "language": "en",
                    "translated": "false",
                    "status": "confirmed" if n % 4 else "reported",
                    "note": f"Note on statement {n}." if n % 5 == 0 else "",
                    "issues": "; ".join(f"{slug}:{rng.choice(STANCES)}" for slug in tags),
                    "position_rationale": f"Statement {n} shows it." if position else "",
                }
            )
    return with_positions


@dataclass
class Run:
    """One `peacetalks import` process: its exit code, wall time, peak memory and output."""

    exit_code: int
    seconds: float
    peak_mb: float
    output: str


def run_import(url: str, file: Path, *extra: str) -> Run:
    """`peacetalks import FILE` in its own process under /usr/bin/time -v."""
    env = {**os.environ, "DATABASE_URL": url}
    started = time.perf_counter()
    result = subprocess.run(
        ["/usr/bin/time", "-v", sys.executable, "-m", "app.cli", "import", str(file), *extra],
        env=env, cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    seconds = time.perf_counter() - started
    found = re.search(r"Maximum resident set size \(kbytes\): (\d+)", result.stderr)
    peak = int(found.group(1)) / 1024 if found else float("nan")
    return Run(result.returncode, seconds, peak, result.stdout + result.stderr)


def prepare(url: str) -> None:
    """Migrate and seed an empty database with the command line."""
    env = {**os.environ, "DATABASE_URL": url}
    for step in (["db", "upgrade"], ["seed"]):
        subprocess.run(
            [sys.executable, "-m", "app.cli", *step], env=env, cwd=ROOT, check=True,
            capture_output=True,
        )  # fmt: skip


def fresh_database(kind: str, workdir: Path) -> str:
    """An empty database: PostgreSQL's peacetalks_bench_import, or a SQLite file."""
    if kind == "sqlite":
        return f"sqlite:///{workdir / 'bench-import.db'}"
    import psycopg

    from bench.load import ADMIN, url_for

    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DATABASE}"')
    return url_for(DATABASE)


def stored_counts(url: str) -> dict[str, int]:
    """Rows per evidence table, to check what the import wrote."""
    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from app.db import make_engine
    from app.models import AuditEntry, Position, Quote, QuoteIssue, Source, Speaker

    engine = make_engine(url)
    try:
        with Session(engine) as session:
            return {
                model.__tablename__: session.scalar(select(func.count()).select_from(model)) or 0
                for model in (Source, Speaker, Quote, QuoteIssue, Position, AuditEntry)
            }
    finally:
        engine.dispose()


def line(label: str, run: Run, rows: int) -> str:
    rate = rows / run.seconds if run.seconds else 0.0
    return (
        f"  {label:<16} {run.seconds:7.1f} s  {rate:8,.0f} rows/s  peak {run.peak_mb:6.0f} MB"
        f"  exit {run.exit_code}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="time `peacetalks import` of a big quotes CSV")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument(
        "--database", nargs="+", choices=["postgresql", "sqlite"], default=["postgresql", "sqlite"]
    )
    parser.add_argument("--keep", type=Path, help="write the CSV (and SQLite file) here, keep it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        workdir = args.keep or Path(temporary)
        workdir.mkdir(parents=True, exist_ok=True)
        file = workdir / f"quotes-{args.rows}.csv"
        positions = write_csv(file, args.rows)
        size = file.stat().st_size / 1_000_000
        print(f"{file.name}: {args.rows:,} quote rows, {positions:,} with positions, {size:.1f} MB")
        for kind in args.database:
            url = fresh_database(kind, workdir)
            if kind == "sqlite":
                Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)
            prepare(url)
            print(f"{kind}:")
            dry = run_import(url, file, "--dry-run")
            print(line("dry run", dry, args.rows))
            first = run_import(url, file)
            print(line("import", first, args.rows))
            again = run_import(url, file)
            print(line("import again", again, args.rows))
            for run in (dry, first, again):
                if run.exit_code:
                    print(run.output[-3000:])
            print(f"  stored: {stored_counts(url)}")
            said = [text for text in first.output.splitlines() if text.startswith("Imported")]
            print(f"  the command said: {said[-1] if said else '(nothing)'}")


if __name__ == "__main__":
    main()
