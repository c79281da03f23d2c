"""Benchmark over HTTP: the app on PostgreSQL with 2 workers, measured with wrk at 32 connections.

Run by hand (it takes a few minutes; the data is kept for the next run unless --regenerate):

    .venv/bin/python -m bench.load [--quotes 1000000] [--positions 50000] [--duration 15]

It needs PostgreSQL on 127.0.0.1:5432 (user postgres) and Debian's `wrk`. It creates two
databases, `peacetalks_bench_seed` (the seed data) and `peacetalks_bench_large` (30 parties x
40 issues, --positions positions with history, --quotes quotes, loaded with COPY), serves each
with `peacetalks serve --workers 2`, serves a bare FastAPI page as the yardstick, and prints
requests per second and p50/p99 latency for each page.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PREFIX = os.environ.get("BENCH_DB_PREFIX", "peacetalks_bench")
"""Prefix of the benchmark's database names (BENCH_DB_PREFIX), so runs side by side do not collide."""
SEED_DB = f"{PREFIX}_seed"
LARGE_DB = f"{PREFIX}_large"
PARTIES, ISSUES = 30, 40
STANCES = ["accepts", "conditional", "ambiguous", "rejects"]
VOCABULARY = (
    "ceasefire crimea sanctions nato membership territory guarantees security negotiations talks "
    "kremlin kyiv washington brussels envoy summit proposal plan frontline withdrawal referendum "
    "recognition annexation energy grain corridor prisoners exchange monitoring peacekeepers "
    "constitution sovereignty reparations assets frozen tribunal aggression drones offensive "
    "truce moratorium infrastructure nuclear zaporizhzhia donetsk luhansk kherson kharkiv odesa "
    "minister president spokesperson adviser delegation london paris geneva istanbul riyadh"
).split()


def url_for(database: str) -> str:
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{database}"


def recreate(database: str) -> None:
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{database}"')


def exists(database: str) -> bool:
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        return (
            conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone()
            is not None
        )


def cli(database: str, *args: str) -> None:
    env = {**os.environ, "DATABASE_URL": url_for(database)}
    subprocess.run([sys.executable, "-m", "app.cli", *args], env=env, check=True, cwd=ROOT)


def generate_large(quotes: int, positions: int) -> None:
    """Fill the large database with COPY: parties, issues, positions with history, quotes."""
    rng = random.Random(20250423)
    started = time.perf_counter()
    with psycopg.connect(f"postgresql://postgres@127.0.0.1:5432/{LARGE_DB}") as conn:
        with conn.cursor() as cur:
            with cur.copy(
                "COPY parties (id, slug, name, short_name, kind, sort_order) FROM STDIN"
            ) as copy:
                for p in range(1, PARTIES + 1):
                    copy.write_row((p, f"party-{p}", f"Party {p}", f"P{p}", "state", p))
            with cur.copy(
                "COPY issues (id, slug, title, proposition, sort_order) FROM STDIN"
            ) as copy:
                for i in range(1, ISSUES + 1):
                    copy.write_row((i, f"issue-{i}", f"Issue {i}", f"Proposition number {i}", i))
            with cur.copy("COPY speakers (id, name, role, party_id) FROM STDIN") as copy:
                for p in range(1, PARTIES + 1):
                    for s in range(3):
                        copy.write_row((p * 10 + s, f"Speaker {p}-{s}", "Minister", p))
            cur.execute(
                "INSERT INTO sources (id, url, title, outlet, kind, tier) "
                "SELECT n, 'https://example.org/report/' || n, 'Report ' || n, 'Wire ' || (n % 20), "
                "'news_report', 'on_record' FROM generate_series(1, 5000) AS n"
            )
            start = date(2022, 1, 1)
            cells = PARTIES * ISSUES
            per_cell = max(1, -(-positions // cells))  # ceiling: every position lands in a cell
            print(f"  copying {quotes:,} quotes ...", flush=True)
            with cur.copy(
                "COPY quotes (id, text, kind, said_on, speaker_id, party_id, source_id, status) FROM STDIN"
            ) as copy:
                for q in range(1, quotes + 1):
                    if q <= positions:  # the evidence of position q: same party, same day
                        cell = (q - 1) // per_cell
                        party = cell // ISSUES + 1
                        day = start + timedelta(days=((q - 1) % per_cell) * 21 + cell % 7)
                    else:
                        party = rng.randint(1, PARTIES)
                        day = start + timedelta(days=rng.randint(0, 1400))
                    words = " ".join(rng.choices(VOCABULARY, k=rng.randint(10, 24)))
                    status = "confirmed" if q % 3 else "reported"
                    copy.write_row(
                        (
                            q,
                            words.capitalize() + ".",
                            "direct",
                            day,
                            party * 10 + q % 3,
                            party,
                            q % 5000 + 1,
                            status,
                        )
                    )
            with cur.copy("COPY quote_issues (quote_id, issue_id, stance) FROM STDIN") as copy:
                for q in range(1, quotes + 1):
                    if q <= positions:
                        issue = ((q - 1) // per_cell) % ISSUES + 1
                    else:
                        issue = rng.randint(1, ISSUES)
                    copy.write_row((q, issue, STANCES[q % 4]))
            print(f"  copying {positions:,} positions ...", flush=True)
            with cur.copy(
                "COPY positions (id, party_id, issue_id, stance, condition, effective_from, rationale) FROM STDIN"
            ) as copy:
                for n in range(1, positions + 1):
                    cell = (n - 1) // per_cell
                    party, issue = cell // ISSUES + 1, cell % ISSUES + 1
                    day = start + timedelta(days=((n - 1) % per_cell) * 21 + cell % 7)
                    stance = STANCES[(n + cell) % 4]
                    condition = "if guarantees are given" if stance == "conditional" else None
                    copy.write_row(
                        (n, party, issue, stance, condition, day, "Generated for the benchmark.")
                    )
            with cur.copy("COPY position_evidence (position_id, quote_id) FROM STDIN") as copy:
                for n in range(1, positions + 1):
                    copy.write_row((n, n))
            for table in ("parties", "issues", "speakers", "sources", "quotes", "positions"):
                cur.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
                )
            cur.execute("SELECT nextval('data_version_seq')")  # COPY bypasses the app
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")
    print(f"  generated in {time.perf_counter() - started:.0f} s", flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def server(args: list[str], env: dict[str, str], health: str) -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [*args, "--port", str(port)],
        env={**os.environ, **env},
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(base + health, timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        else:
            raise RuntimeError(f"server did not start: {args}")
        yield base
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def wrk(url: str, connections: int, duration: int) -> tuple[float, float, float]:
    """Requests per second, p50 and p99 in milliseconds."""
    threads = min(2, connections)
    out = subprocess.run(
        # Like a browser, ask for gzip (every page, the yardstick included).
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{duration}s",
            "--latency",
            "-H",
            "Accept-Encoding: gzip",
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]

    def percentile(p: str) -> float:
        value, unit = re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    if "Non-2xx" in out:
        raise RuntimeError(f"errors from {url}:\n{out}")
    return rps, percentile("50"), percentile("99")


def main() -> None:
    parser = argparse.ArgumentParser(description="HTTP benchmark with wrk")
    parser.add_argument("--quotes", type=int, default=1_000_000)
    parser.add_argument("--positions", type=int, default=50_000)
    parser.add_argument("--duration", type=int, default=15, help="seconds per measurement")
    parser.add_argument("--regenerate", action="store_true")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: apt-get install wrk")

    if args.regenerate or not exists(SEED_DB):
        recreate(SEED_DB)
        cli(SEED_DB, "db", "upgrade")
        cli(SEED_DB, "seed")
    if args.regenerate or not exists(LARGE_DB):
        print("Generating the large dataset ...", flush=True)
        recreate(LARGE_DB)
        cli(LARGE_DB, "db", "upgrade")
        generate_large(args.quotes, args.positions)

    serve = [sys.executable, "-m", "app.cli", "serve", "--host", "127.0.0.1", "--workers", "2"]
    results: list[tuple[str, int, float, float, float]] = []

    def measure(name: str, url: str, connections: int = 32) -> None:
        for _ in range(8):  # warm up every worker (first render, caches)
            urllib.request.urlopen(url, timeout=60).read()
        rps, p50, p99 = wrk(url, connections, args.duration)
        results.append((name, connections, rps, p50, p99))
        print(
            f"  {name:<34} c={connections:<3} {rps:9.1f} req/s   p50 {p50:8.1f} ms   p99 {p99:8.1f} ms",
            flush=True,
        )

    yardstick = [
        sys.executable,
        "-m",
        "uvicorn",
        "bench.yardstick:app",
        "--host",
        "127.0.0.1",
        "--workers",
        "2",
        "--log-level",
        "warning",
    ]
    with server(yardstick, {}, "/") as base:
        measure("yardstick (constant page)", base + "/")
    with server(serve, {"DATABASE_URL": url_for(SEED_DB)}, "/healthz") as base:
        measure("matrix, seed size", base + "/?as_of=2025-04-23")
    with server(serve, {"DATABASE_URL": url_for(LARGE_DB)}, "/healthz") as base:
        measure("matrix, 30x40, 50k positions", base + "/?as_of=2025-06-01")
        measure("cell detail", base + "/cells/party-7/issue-12?as_of=2025-06-01")
        measure("cell detail (1 client)", base + "/cells/party-7/issue-12?as_of=2025-06-01", 1)
        measure("search 1M quotes", base + "/quotes?q=ceasefire+crimea+-nato")
        measure("search 1M quotes (1 client)", base + "/quotes?q=ceasefire+crimea+-nato", 1)
        measure("quotes API", base + "/api/v1/quotes?q=sanctions&party=party-3&page_size=50")
        measure("changes page", base + "/changes?from=2023-01-01&to=2024-01-01")
        first_after_write(base)
    yard = results[0][2]
    print(
        f"\nmatrix / yardstick: seed {results[1][2] / yard:.2f}, large {results[2][2] / yard:.2f} (target >= 0.33)"
    )


def first_after_write(base: str) -> None:
    """Time the first matrix view after a write (the cache is cold for the new data version)."""
    samples = []
    for n in range(5):
        with psycopg.connect(
            f"postgresql://postgres@127.0.0.1:5432/{LARGE_DB}", autocommit=True
        ) as conn:
            # What a commit that changes the data does (app.services.versioning).
            conn.execute(
                "SELECT pg_notify('peacetalks_data_version', "
                "CAST(nextval('data_version_seq') AS text))"
            )
        time.sleep(0.05)  # let the workers' listeners hear of it
        started = time.perf_counter()
        urllib.request.urlopen(base + f"/?as_of=2025-06-0{n + 1}", timeout=30).read()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    print(
        f"  first matrix view after a write: median {samples[2]:.0f} ms, max {samples[-1]:.0f} ms (target < 150 ms)"
    )


if __name__ == "__main__":
    main()
