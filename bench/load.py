"""Benchmark over HTTP when the cache misses: the app on PostgreSQL with 2 workers, under wrk.

Run by hand (it takes a few minutes; the data is kept for the next run unless --regenerate):

    .venv/bin/python -m bench.load [--quotes 1000000] [--positions 50000] [--duration 15]

It needs PostgreSQL on 127.0.0.1:5432 (user postgres) and Debian's `wrk`. It creates the
database `peacetalks_bench_large` (BENCH_DB_PREFIX changes `peacetalks_bench`): 30 parties x 40
issues, --positions positions with history, --quotes quotes, loaded with COPY. It serves it
with `peacetalks serve --workers 2` and a bare FastAPI page (the yardstick) the same way, and
runs wrk with the Lua scripts in bench/, each choosing a random request every time (so the
per-data-version cache rarely answers): the matrix as of a random day, a random cell on a
random day, searches of the generated vocabulary, the quotes API with random filters and
pages. The yardstick runs before and after each workload, so every ratio compares neighbours.
wrk's percentiles are checked against the app's own request log (one line per request with its
duration). Last: the first matrix view after each of 10 writes, and each worker's resident
memory and cache bytes (from /healthz).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import psycopg

from app import db
from app.services import position_runs

ROOT = Path(__file__).resolve().parent.parent
ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PREFIX = os.environ.get("BENCH_DB_PREFIX", "peacetalks_bench")
"""Prefix of the benchmark's database names (BENCH_DB_PREFIX), so runs side by side do not collide."""
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
    engine = db.make_engine(url_for(LARGE_DB))
    with engine.begin() as connection:
        position_runs.refresh(connection)  # the matrix's stored runs, as the app keeps them
    engine.dispose()
    with psycopg.connect(f"postgresql://postgres@127.0.0.1:5432/{LARGE_DB}") as conn:
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")
    print(f"  generated in {time.perf_counter() - started:.0f} s", flush=True)


def warm(database: str) -> None:
    """Read the database's tables and indexes into PostgreSQL's shared buffers (pg_prewarm, from
    PostgreSQL's contrib), biggest last, and say how much fits.

    A served database stays in memory; a benchmark that starts after the data was generated
    would otherwise measure first reads from disk. With Debian's default shared_buffers (128 MB)
    only the operating system's page cache can hold the 3 GB of quotes and indexes, and on this
    workplace's machines a reclaimer keeps that cache near 2.3 GB, so part of every run was the
    disk; PostgreSQL's own buffers are not reclaimed (there is no swap)."""
    with psycopg.connect(
        f"postgresql://postgres@127.0.0.1:5432/{database}", autocommit=True
    ) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
        buffers = conn.execute(
            "SELECT setting::bigint * 8192 FROM pg_settings WHERE name = 'shared_buffers'"
        ).fetchone()[0]  # type: ignore[index]
        relations = conn.execute(
            "SELECT c.oid::regclass::text, pg_relation_size(c.oid) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind IN ('r', 'i', 't', 'm') AND n.nspname IN ('public', 'pg_toast') "
            "AND c.relpersistence = 'p' AND pg_relation_size(c.oid) > 0 ORDER BY 2"
        ).fetchall()
        total = sum(size for _, size in relations)
        started = time.perf_counter()
        for name, _ in relations:
            conn.execute("SELECT pg_prewarm(%s::regclass)", (name,))
        print(
            f"  shared_buffers {buffers / 1e9:.2f} GB; tables and indexes {total / 1e9:.2f} GB, "
            f"read into them in {time.perf_counter() - started:.0f} s"
            + ("" if total <= buffers else " (they do not fit: part of each run reads the disk)"),
            flush=True,
        )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def server(
    args: list[str], env: dict[str, str], health: str, log: Path | None = None
) -> Iterator[str]:
    """Serve on a free port until the block ends; the server's stdout (the request log) goes
    to `log` (or nowhere)."""
    port = free_port()
    with log.open("wb") if log else open(os.devnull, "wb") as out:
        process = subprocess.Popen(
            [*args, "--port", str(port)],
            env={**os.environ, **env},
            cwd=ROOT,
            stdout=out,
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


@dataclass
class Run:
    """One wrk run: requests per second, wrk's p50 and p99 (ms), answers that were not 2xx,
    and the same run seen in the app's request log (count, p50, p99, max in ms)."""

    name: str
    connections: int
    rps: float
    p50: float
    p99: float
    errors: int
    log: tuple[int, float, float, float] | None = None
    ratio: float | None = None
    hits: int | None = None
    """Answers its view's cache gave (hit), over both workers (None: not a cached view)."""


def wrk(
    url: str, connections: int, duration: int, script: str | None = None, args: Sequence[str] = ()
) -> tuple[float, float, float, int]:
    """Requests per second, p50 and p99 in milliseconds, and how many answers were not 2xx."""
    command = ["wrk", f"-t{min(2, connections)}", f"-c{connections}", f"-d{duration}s"]
    command += ["--latency", "--timeout", "10s", "-H", "Accept-Encoding: gzip"]
    if script is not None:
        command += ["-s", str(ROOT / "bench" / script)]
    command.append(url)
    if args:
        command += ["--", *args]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]

    def percentile(p: str) -> float:
        value, unit = re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    timeouts = re.search(r"timeout (\d+)", out)
    failed = (int(errors.group(1)) if errors else 0) + (int(timeouts.group(1)) if timeouts else 0)
    return rps, percentile("50"), percentile("99"), failed


def logged(log: Path, since: int) -> tuple[int, float, float, float]:
    """The requests the app logged after byte `since`: count, p50, p99 and max duration (ms)."""
    durations = []
    with log.open("rb") as lines:
        lines.seek(since)
        for line in lines:
            if b'"duration_ms"' in line:
                durations.append(float(json.loads(line)["duration_ms"]))
    if not durations:
        return 0, 0.0, 0.0, 0.0
    durations.sort()

    def at(q: float) -> float:
        return durations[min(len(durations) - 1, int(q * len(durations)))]

    return len(durations), at(0.5), at(0.99), durations[-1]


def cache_hits(base: str, view: str, workers: int = 2) -> int:
    """The hits of one view's cache summed over the workers (from /healthz, asked until each
    worker has answered)."""
    seen: dict[int, int] = {}
    for _ in range(200):
        with urllib.request.urlopen(base + "/healthz", timeout=10) as response:
            worker = json.loads(response.read())["worker"]
        seen[worker["pid"]] = worker["caches"][view]["hits"]
        if len(seen) == workers:
            break
    return sum(seen.values())


def worker_memory(base: str) -> dict[int, tuple[int, int]]:
    """Each worker's resident memory and bytes held in its view caches, from /healthz."""
    seen: dict[int, tuple[int, int]] = {}
    for _ in range(40):
        with urllib.request.urlopen(base + "/healthz", timeout=10) as response:
            worker = json.loads(response.read())["worker"]
        cached = sum(cache["bytes"] for cache in worker["caches"].values())
        seen[worker["pid"]] = (worker["rss_bytes"], cached)
    return seen


VIEWS = {"matrix.lua": "matrix", "cell.lua": "cell", "search.lua": "search"}
"""The cached view each workload asks for (its cache's hits are counted)."""
WORKLOADS = [
    # name, script, connections, script arguments ("words": the vocabulary)
    ("matrix, random as_of (700 days)", "matrix.lua", 32, ()),
    ("matrix, random as_of (700 days)", "matrix.lua", 1, ()),
    ("cell, random party x issue x as_of", "cell.lua", 32, (str(PARTIES), str(ISSUES))),
    ("cell, random party x issue x as_of", "cell.lua", 1, (str(PARTIES), str(ISSUES))),
    ("search, word pairs and phrases", "search.lua", 32, ("words",)),
    ("search, word pairs and phrases", "search.lua", 1, ("words",)),
    ("search, absent word or phrase", "search.lua", 1, ("absent", "words")),
    ("quotes API, random filters and pages", "api.lua", 32, ("words",)),
    ("quotes API, random filters, after a random cursor", "api_after.lua", 32, ("words",)),
]


def main() -> None:
    parser = argparse.ArgumentParser(description="HTTP benchmark with wrk when the cache misses")
    parser.add_argument("--quotes", type=int, default=1_000_000)
    parser.add_argument("--positions", type=int, default=50_000)
    parser.add_argument("--duration", type=int, default=15, help="seconds per measurement")
    parser.add_argument(
        "--warmup", type=int, default=3, help="seconds of each workload run first, not measured"
    )
    parser.add_argument(
        "--view-cache-mb",
        type=int,
        default=None,
        help="the app's VIEW_CACHE_MB (default: its own, 80); 1 keeps too little to answer misses",
    )
    parser.add_argument("--regenerate", action="store_true")
    parser.add_argument(
        "--cold",
        action="store_true",
        help="do not read the database into PostgreSQL's shared buffers first (pg_prewarm)",
    )
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated workload scripts to run (matrix, cell, search, api, api_after)",
    )
    args = parser.parse_args()
    chosen = {f"{name.strip()}.lua" for name in args.only.split(",") if name.strip()}
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: apt-get install wrk")
    if args.regenerate or not exists(LARGE_DB):
        print("Generating the large dataset ...", flush=True)
        recreate(LARGE_DB)
        cli(LARGE_DB, "db", "upgrade")
        generate_large(args.quotes, args.positions)
    else:
        cli(LARGE_DB, "db", "upgrade")
    if not args.cold:
        warm(LARGE_DB)

    serve = [sys.executable, "-m", "app.cli", "serve", "--host", "127.0.0.1", "--workers", "2"]
    yardstick = [sys.executable, "-m", "bench.yardstick", "--host", "127.0.0.1", "--workers", "2"]
    logs = Path(tempfile.mkdtemp(prefix="bench-load-"))
    app_env = {"DATABASE_URL": url_for(LARGE_DB)}
    if args.view_cache_mb is not None:
        app_env["VIEW_CACHE_MB"] = str(args.view_cache_mb)
    app_log = logs / "app.log"
    runs: list[Run] = []
    with (
        server(yardstick, {}, "/", logs / "yardstick.log") as yard,
        server(serve, app_env, "/healthz", app_log) as base,
    ):
        for name, script, connections, script_args in WORKLOADS:
            if chosen and script not in chosen:
                continue
            words = [w for a in script_args for w in (VOCABULARY if a == "words" else [a])]
            if args.warmup:  # a server runs warm: first requests (templates, held data) aside
                wrk(base, connections, args.warmup, script, words)
            before = wrk(yard + "/", 32, args.duration)[0]
            view = VIEWS.get(script)
            hits = cache_hits(base, view) if view else 0
            since = app_log.stat().st_size
            rps, p50, p99, errors = wrk(base, connections, args.duration, script, words)
            run = Run(name, connections, rps, p50, p99, errors, logged(app_log, since))
            run.hits = cache_hits(base, view) - hits if view else None
            after = wrk(yard + "/", 32, args.duration)[0]
            run.ratio = rps / ((before + after) / 2)
            runs.append(run)
            print(_row(run), flush=True)
        write = first_after_write(base)
        memory = worker_memory(base)
    print(
        f"\nUnder load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} "
        f"{os.getloadavg()[2]:.2f}, {time.strftime('%Y-%m-%d %H:%M')} UTC, --duration "
        f"{args.duration}, --warmup {args.warmup}, --view-cache-mb {args.view_cache_mb}:\n"
    )
    print(
        "| workload | conns | req/s | p50 ms | p99 ms | log p99 ms | log max ms | non-2xx "
        "| cache hits | ratio to yardstick |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for run in runs:
        print(_row(run))
    print(
        f"\nFirst matrix view after a write (10 writes): median {write[0]:.0f} ms, slowest {write[1]:.0f} ms"
    )
    for pid, (rss, cached) in sorted(memory.items()):
        print(f"Worker {pid}: resident {rss / 1e6:.0f} MB, view caches {cached / 1e6:.1f} MB")


def _row(run: Run) -> str:
    count, _, log_p99, log_max = run.log or (0, 0.0, 0.0, 0.0)
    ratio = f"{run.ratio:.4f}" if run.ratio is not None and run.connections > 1 else "-"
    hits = f"{run.hits / count:.0%}" if run.hits is not None and count else "-"
    return (
        f"| {run.name} | {run.connections} | {run.rps:,.1f} | {run.p50:.1f} | {run.p99:.1f} | "
        f"{log_p99:.1f} | {log_max:.1f} | {run.errors} | {hits} | {ratio} |"
    )


def first_after_write(base: str) -> tuple[float, float]:
    """The first matrix view after each of 10 writes (the cache is cold for the new data
    version): the median and the slowest, in ms."""
    samples = []
    for n in range(10):
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
        urllib.request.urlopen(base + f"/?as_of=2025-06-{n + 1:02d}", timeout=30).read()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return (samples[4] + samples[5]) / 2, samples[-1]


if __name__ == "__main__":
    main()
