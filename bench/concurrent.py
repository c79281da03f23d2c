"""Load with concurrent writers: readers and editors at once against a running server.

Readers fetch the matrix, cells, searches and the API; editors (each on a party of their own)
add quotes that record positions, check right after each acknowledged write that the matrix
they are shown has it, and now and then two editors save the same quote from the same version
on purpose. Afterwards the caller checks the database: every acknowledged write is there with
its audit entry.

With --import-rows, editors save quotes while `peacetalks import` loads a CSV of that many
quote rows, and the editors' save latency during the import is printed.

Run by hand, on PostgreSQL with 2 workers or on the embedded SQLite default with 1 (prints
throughput, p99 and 5xx counts):

    .venv/bin/python -m bench.concurrent [--database postgresql|sqlite] [--duration 30]
        [--readers 30] [--import-rows 100000]
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
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
    with httpx2.Client(base_url=base, timeout=120) as client:
        while not stop.is_set():
            started = time.perf_counter()
            response = client.get(rng.choice(READER_URLS))
            elapsed = (time.perf_counter() - started) * 1000
            report.count(response.status_code)
            with report.lock:
                report.read_latencies.append(elapsed)


def _save_new_quote(
    client: httpx2.Client, token: str, index: int, n: int, report: Report
) -> tuple[httpx2.Response, date, str]:
    """Editor `index` adds their n-th quote, recording a position; returns the response."""
    slug, name = EDITOR_PARTIES[index]
    stance = ["accepts", "rejects", "ambiguous"][n % 3]
    day = date(2025, 5, 1) + timedelta(days=n % 365)  # never in the future, which is refused
    # Each editor's statements carry numbers of their own: two texts alike but for the party's
    # name would be a near-duplicate (same source), which the form rightly asks about.
    text = f"{name} load statement {index * 100_000 + n} ({stance})"
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
            report.acknowledged_quotes.append(text)
        else:
            report.refused[response.status_code] = report.refused.get(response.status_code, 0) + 1
    return response, day, stance


def _writer(
    base: str, index: int, stop: threading.Event, report: Report, shared_quote: int
) -> None:
    _, name = EDITOR_PARTIES[index]
    with httpx2.Client(base_url=base, timeout=120) as client:
        token = log_in(client, f"editor{index}@example.org")
        n = 0
        while not stop.is_set():
            n += 1
            response, day, stance = _save_new_quote(client, token, index, n, report)
            if response.status_code == 303:
                # The editor's own write must show at once, whichever worker answers.
                page = client.get(f"/?as_of={(day + timedelta(days=1)).isoformat()}").text
                expected = f"{name} on Ceasefire first: {stance.capitalize()}"
                if expected not in page:
                    with report.lock:
                        report.stale_views.append(expected)
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


def prepare(database_url: str) -> None:
    """Migrate and seed the (empty) database and create the editors, with the command line."""
    env = {**os.environ, "DATABASE_URL": database_url}
    for step in (["db", "upgrade"], ["seed"]):
        done = subprocess.run(
            [sys.executable, "-m", "app.cli", *step], env=env, cwd=ROOT, capture_output=True,
            text=True,
        )  # fmt: skip
        if done.returncode:
            raise RuntimeError(f"`peacetalks {' '.join(step)}` failed:\n{done.stderr[-3000:]}")
    create_editors(database_url)


def serve_command(database_url: str) -> list[str]:
    """`peacetalks serve`: 2 workers on PostgreSQL, 1 on SQLite (the embedded default's)."""
    workers = "1" if database_url.startswith("sqlite") else "2"
    return [sys.executable, "-m", "app.cli", "serve", "--host", "127.0.0.1", "--workers", workers]


def write_import_file(path: Path, rows: int) -> None:
    """A quotes CSV of `rows` rows for `peacetalks import` (a new source every 50 rows)."""
    from app.services.transfer import CSV_COLUMNS

    parties = ["ru", "ua", "us"]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        for n in range(rows):
            writer.writerow(
                {
                    "text": f"Imported statement {n} on the terms of a settlement.",
                    "kind": "reported",
                    "said_on": f"2024-{n % 12 + 1:02d}-{n % 28 + 1:02d}",
                    "party": parties[n % 3],
                    "source_url": f"https://example.org/imported/{n // 50}",
                    "source_title": f"Imported report {n // 50}",
                    "source_outlet": "Wire",
                    "source_kind": "news_report",
                    "source_tier": "on_record",
                    "language": "en",
                    "status": "reported",
                    "issues": "ceasefire:ambiguous",
                }  # fmt: skip
            )


@dataclass
class ImportReport:
    """Editors' saves while an import ran, and how the import went."""

    saves: Report
    import_seconds: float
    import_exit: int
    import_output: str


def edit_during_import(
    base: str, database_url: str, file: Path, *, pause: float = 0.2
) -> ImportReport:
    """4 editors add quotes (one every `pause` seconds each) while `peacetalks import FILE` runs."""
    report = Report()
    clients = [httpx2.Client(base_url=base, timeout=300) for _ in EDITOR_PARTIES]
    tokens = [log_in(client, f"editor{i}@example.org") for i, client in enumerate(clients)]
    done = threading.Event()

    def editor(index: int) -> None:
        n = 0
        while not done.is_set():
            n += 1
            _save_new_quote(clients[index], tokens[index], index, n, report)
            done.wait(pause)

    # Each editor saves once before the import starts, not counted: a worker's first save pays
    # for loading the form's code and templates, which is no wait on the import.
    for index, client in enumerate(clients):
        _save_new_quote(client, tokens[index], index, 0, Report())
    threads = [threading.Thread(target=editor, args=(i,)) for i in range(len(clients))]
    env = {**os.environ, "DATABASE_URL": database_url}
    with tempfile.TemporaryFile("w+") as output:
        started = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "import", str(file)],
            env=env, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        for thread in threads:
            thread.start()
        exit_code = process.wait()
        seconds = time.perf_counter() - started
        done.set()
        for thread in threads:
            thread.join(timeout=600)
        output.seek(0)
        text = output.read()
    for client in clients:
        client.close()
    return ImportReport(report, seconds, exit_code, text)


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


def import_summary(result: ImportReport, rows: int) -> str:
    saves = result.saves.write_latencies
    return (
        f"import of {rows:,} rows: {result.import_seconds:.1f} s "
        f"({rows / result.import_seconds:,.0f} rows/s), exit {result.import_exit}\n"
        f"editors' saves during the import: {len(saves)}, p50 {statistics.median(saves or [0]):.0f} ms, "
        f"p99 {_p99(saves):.0f} ms, max {max(saves or [0]):.0f} ms; "
        f"statuses: {dict(sorted(result.saves.statuses.items()))}"
    )


def stored_quotes(database_url: str) -> tuple[set[str], int]:
    """Every quote's text in the database, and how many audit entries concern quotes."""
    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from app.db import make_engine
    from app.models import AuditEntry, Quote

    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            audited = session.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.entity_type == "quotes")
            )
            return set(session.scalars(select(Quote.text))), audited or 0
    finally:
        engine.dispose()


def fresh_database(kind: str, workdir: Path) -> str:
    """An empty database: PostgreSQL's peacetalks_bench_concurrent, or a SQLite file."""
    if kind == "sqlite":
        return f"sqlite:///{workdir / 'bench-concurrent.db'}"
    import psycopg

    from bench.load import url_for

    database = "peacetalks_bench_concurrent"
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{database}"')
    return url_for(database)


def main() -> None:
    from bench.load import server

    parser = argparse.ArgumentParser(description="readers and editors at once")
    parser.add_argument("--database", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--duration", type=float, default=30)
    parser.add_argument("--readers", type=int, default=30)
    parser.add_argument(
        "--import-rows", type=int, default=0,
        help="instead: editors' saves while an import of this many quote rows runs",
    )  # fmt: skip
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        url = fresh_database(args.database, Path(workdir))
        prepare(url)
        with server(
            serve_command(url), {"DATABASE_URL": url}, "/healthz", Path(workdir) / "app.log"
        ) as base:
            if args.import_rows:
                file = Path(workdir) / "import.csv"
                write_import_file(file, args.import_rows)
                result = edit_during_import(base, url, file)
                report = result.saves
                print(import_summary(result, args.import_rows))
                if result.import_exit:
                    print(result.import_output[-2000:])
            else:
                report = run_load(
                    base, duration=args.duration, readers=args.readers, shared_quote=1
                )
                print(summary(report, args.duration))
        stored, audited = stored_quotes(url)
    missing = [t for t in report.acknowledged_quotes if t not in stored]
    print(f"acknowledged but missing: {len(missing)}; quotes audited: {audited}")
    fives = sum(count for status, count in report.statuses.items() if status >= 500)
    print(f"5xx responses: {fives}")


if __name__ == "__main__":
    main()
