"""Load with concurrent writers: readers and editors at once against a running server.

Readers fetch the matrix, cells, searches and the API; editors (each on a party of their own)
add quotes that record positions, check right after each acknowledged write that the matrix
they are shown has it, and now and then two editors save the same quote from the same version
on purpose. Afterwards the caller checks the database: every acknowledged write is there with
its audit entry.

Run by hand against PostgreSQL with 2 workers (prints throughput and p99):

    .venv/bin/python -m bench.concurrent [--duration 30] [--readers 30]
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import httpx2

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "correct horse battery"
EDITOR_PARTIES = [
    ("uk", "United Kingdom"),
    ("fr", "France"),
    ("de", "Germany"),
    ("eu-institutions", "EU institutions"),
]
READER_URLS = [
    "/?as_of=2025-04-23",
    "/cells/ua/crimea-recognition?as_of=2025-04-23",
    "/quotes?q=ceasefire",
    "/api/v1/matrix?as_of=2025-04-23",
    "/api/v1/quotes?q=crimea",
]
SEED_SOURCE = "https://peacetalks.invalid/seeds/000_f42f69482efc36bc"
TOKEN = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
VERSION = re.compile(r'name="version" value="(\d+)"')


@dataclass
class Report:
    """What happened: latencies, statuses, acknowledged and refused writes, problems seen."""

    read_latencies: list[float] = field(default_factory=list)
    write_latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    acknowledged_quotes: list[str] = field(default_factory=list)
    refused: dict[int, int] = field(default_factory=dict)
    stale_views: list[str] = field(default_factory=list)
    conflicts: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, status: int) -> None:
        with self.lock:
            self.statuses[status] = self.statuses.get(status, 0) + 1


def _p99(values: list[float]) -> float:
    return sorted(values)[max(0, int(len(values) * 0.99) - 1)] if values else 0.0


def log_in(client: httpx2.Client, email: str) -> str:
    """Log in through the form; returns the session's CSRF token."""
    token = TOKEN.search(client.get("/login").text)
    assert token, "no CSRF token on the login page"
    response = client.post(
        "/login", data={"email": email, "password": PASSWORD, "csrf_token": token.group(1)}
    )
    assert response.status_code == 303, response.text[:300]
    found = TOKEN.search(client.get("/").text)
    assert found
    return found.group(1)


def _reader(base: str, stop: threading.Event, report: Report, seed: int) -> None:
    rng = random.Random(seed)
    with httpx2.Client(base_url=base, timeout=30) as client:
        while not stop.is_set():
            started = time.perf_counter()
            response = client.get(rng.choice(READER_URLS))
            elapsed = (time.perf_counter() - started) * 1000
            report.count(response.status_code)
            with report.lock:
                report.read_latencies.append(elapsed)


def _writer(
    base: str, index: int, stop: threading.Event, report: Report, shared_quote: int
) -> None:
    slug, name = EDITOR_PARTIES[index]
    stances = ["accepts", "rejects", "ambiguous"]
    with httpx2.Client(base_url=base, timeout=30) as client:
        token = log_in(client, f"editor{index}@example.org")
        n = 0
        while not stop.is_set():
            n += 1
            stance = stances[n % 3]
            day = date(2025, 5, 1) + timedelta(days=n)
            text = f"{name} load statement {n} ({stance})"
            form = {
                "csrf_token": token, "text": text, "kind": "direct", "status": "confirmed",
                "said_on": day.isoformat(), "party": slug, "language": "en", "source_url": SEED_SOURCE,
                "issue_1": "ceasefire", "stance_1": stance, "also_record_position": "on",
                "rationale": f"Load test statement {n}.",
            }  # fmt: skip
            started = time.perf_counter()
            response = client.post("/quotes/new", data=form)
            elapsed = (time.perf_counter() - started) * 1000
            report.count(response.status_code)
            with report.lock:
                report.write_latencies.append(elapsed)
            if response.status_code == 303:
                with report.lock:
                    report.acknowledged_quotes.append(text)
                # The editor's own write must show at once, whichever worker answers.
                page = client.get(f"/?as_of={(day + timedelta(days=1)).isoformat()}").text
                expected = f"{name} on Ceasefire first: {stance.capitalize()}"
                if expected not in page:
                    with report.lock:
                        report.stale_views.append(expected)
            else:
                with report.lock:
                    report.refused[response.status_code] = (
                        report.refused.get(response.status_code, 0) + 1
                    )
            if index < 2 and n % 3 == 0:
                _conflict(client, token, shared_quote, index, n, report)


_barrier = threading.Barrier(2)


def _conflict(
    client: httpx2.Client, token: str, quote_id: int, index: int, n: int, report: Report
) -> None:
    """Two editors save the same quote from the same version: one wins, the other gets 409."""
    page = client.get(f"/quotes/{quote_id}/edit").text
    version = VERSION.search(page)
    if version is None:
        return
    try:
        _barrier.wait(timeout=5)
    except threading.BrokenBarrierError:
        _barrier.reset()
        return
    form = {
        "csrf_token": token, "version": version.group(1),
        "text": f"Shared quote, edited by editor {index} (round {n})", "kind": "reported",
        "status": "reported", "said_on": "2025-04-30", "party": "ua", "language": "en",
        "source_url": SEED_SOURCE, "issue_1": "ceasefire", "stance_1": "accepts",
    }  # fmt: skip
    started = time.perf_counter()
    response = client.post(f"/quotes/{quote_id}/edit", data=form)
    report.count(response.status_code)
    with report.lock:
        report.write_latencies.append((time.perf_counter() - started) * 1000)
        if response.status_code == 409:
            report.conflicts += 1
            report.refused[409] = report.refused.get(409, 0) + 1


def run_load(base: str, *, duration: float, readers: int, shared_quote: int) -> Report:
    """Drive readers and 4 editors for `duration` seconds; returns what happened."""
    report = Report()
    stop = threading.Event()
    threads = [
        threading.Thread(target=_reader, args=(base, stop, report, n)) for n in range(readers)
    ]
    threads += [
        threading.Thread(target=_writer, args=(base, i, stop, report, shared_quote))
        for i in range(len(EDITOR_PARTIES))
    ]
    for thread in threads:
        thread.start()
    time.sleep(duration)
    stop.set()
    _barrier.abort()
    for thread in threads:
        thread.join(timeout=60)
    return report


def create_editors(database_url: str) -> None:
    """Editor accounts editor0..editor3@example.org, made with the command line."""
    env = {**os.environ, "DATABASE_URL": database_url}
    for index in range(len(EDITOR_PARTIES)):
        subprocess.run(
            [sys.executable, "-m", "app.cli", "users", "create", "--email", f"editor{index}@example.org",
             "--name", f"Editor {index}", "--role", "editor"],
            input=PASSWORD + "\n", env=env, cwd=ROOT, check=True, capture_output=True, text=True,
        )  # fmt: skip


def summary(report: Report, duration: float) -> str:
    reads, writes = report.read_latencies, report.write_latencies
    return (
        f"readers: {len(reads) / duration:7.1f} req/s  p50 {statistics.median(reads or [0]):6.1f} ms  "
        f"p99 {_p99(reads):7.1f} ms\n"
        f"editors: {len(writes) / duration:7.1f} req/s  p50 {statistics.median(writes or [0]):6.1f} ms  "
        f"p99 {_p99(writes):7.1f} ms\n"
        f"acknowledged quotes: {len(report.acknowledged_quotes)}; refused: {report.refused}; "
        f"409 conflicts: {report.conflicts}; statuses: {dict(sorted(report.statuses.items()))}; "
        f"stale views after own write: {len(report.stale_views)}"
    )


def main() -> None:
    import psycopg

    from bench.load import server, url_for

    parser = argparse.ArgumentParser(description="readers and editors at once")
    parser.add_argument("--duration", type=float, default=30)
    parser.add_argument("--readers", type=int, default=30)
    args = parser.parse_args()
    database = "peacetalks_bench_concurrent"
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{database}"')
    url = url_for(database)
    env = {**os.environ, "DATABASE_URL": url}
    for step in (["db", "upgrade"], ["seed"]):
        subprocess.run([sys.executable, "-m", "app.cli", *step], env=env, cwd=ROOT, check=True)
    create_editors(url)
    serve = [sys.executable, "-m", "app.cli", "serve", "--host", "127.0.0.1", "--workers", "2"]
    with server(serve, {"DATABASE_URL": url}, "/healthz") as base:
        report = run_load(base, duration=args.duration, readers=args.readers, shared_quote=1)
    print(summary(report, args.duration))
    with psycopg.connect(f"postgresql://postgres@127.0.0.1:5432/{database}") as conn:
        stored = {row[0] for row in conn.execute("SELECT text FROM quotes")}
        audited = conn.execute(
            "SELECT count(*) FROM audit_entries WHERE entity_type = 'quotes'"
        ).fetchone()
    missing = [t for t in report.acknowledged_quotes if t not in stored]
    print(
        f"acknowledged but missing: {len(missing)}; quotes audited: {audited[0] if audited else 0}"
    )
    fives = sum(count for status, count in report.statuses.items() if status >= 500)
    print(f"5xx responses: {fives}")


if __name__ == "__main__":
    main()
