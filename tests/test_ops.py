"""Faults and operations: backups that restore, an import killed halfway, a database that
comes back, and two upgrades at once."""

from __future__ import annotations

import csv
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy import func, text
from sqlalchemy import select as sql_select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from app import migrate
from app.db import Base, make_engine
from app.models import AuditEntry, Quote
from app.services import matrix
from tests import builders as b
from tests.conftest import scratch_database, wait_until
from tests.e2e_support import serve


def _cli(url: str, *args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args], env={**os.environ, "DATABASE_URL": url},
        capture_output=True, text=True, timeout=300, **kwargs,  # type: ignore[call-overload]
    )  # fmt: skip


def _counts(url: str) -> dict[str, int]:
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            return {
                t.name: session.scalar(sql_select(func.count()).select_from(t)) or 0
                for t in Base.metadata.sorted_tables
            }
    finally:
        engine.dispose()


def _matrix(url: str) -> list[tuple[str, str, str, str, str]]:
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            grid = matrix.build_matrix(session, as_of=date(2025, 4, 23))
            return sorted(
                (p.slug, i.slug, c.state, c.stance.value if c.stance else "", c.confirmation or "")
                for p in grid.parties
                for i in grid.issues
                if (c := grid.cell(p, i)) is not None
            )
    finally:
        engine.dispose()


@contextmanager
def _uncommitted_writes(url: str, backend: str) -> Iterator[Callable[[], bool]]:
    """A check of whether another connection's transaction has written rows it has not yet
    committed: on PostgreSQL it holds a transaction id (only a write takes one); on SQLite it
    holds the write lock and its pages have reached the write-ahead log."""
    if backend == "sqlite":
        path = Path(make_url(url).database or "")
        wal = path.with_name(f"{path.name}-wal")

        def sqlite_writing() -> bool:
            if not wal.exists() or wal.stat().st_size == 0:
                return False
            probe = sqlite3.connect(path, timeout=0, isolation_level=None)
            try:
                probe.execute("BEGIN IMMEDIATE")
                probe.execute("ROLLBACK")
                return False
            except sqlite3.OperationalError:  # "database is locked": the writer holds it
                return True
            finally:
                probe.close()

        yield sqlite_writing
        return
    engine = make_engine(url)
    query = text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
        " AND pid <> pg_backend_pid() AND backend_xid IS NOT NULL"
    )

    def postgres_writing() -> bool:
        with engine.connect() as connection:  # a new snapshot of the activity each time
            return bool(connection.execute(query).scalar())

    try:
        yield postgres_writing
    finally:
        engine.dispose()


def _revision(url: str) -> str | None:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    finally:
        engine.dispose()


def _head() -> str:
    return ScriptDirectory.from_config(migrate.alembic_config()).get_current_head() or ""


def test_backup_while_writing_restores_a_consistent_database(backend: str, tmp_path: Path) -> None:
    with scratch_database(backend, tmp_path) as source, \
            scratch_database(backend, tmp_path) as during, \
            scratch_database(backend, tmp_path) as after:  # fmt: skip
        assert _cli(source, "db", "upgrade").returncode == 0
        assert _cli(source, "seed").returncode == 0
        engine = make_engine(source)
        stop = threading.Event()
        five_written = threading.Event()

        def write() -> None:
            with Session(engine) as session:
                party = b.party(session)
                issue = b.issue(session)
                session.commit()
                n = 0
                while not stop.is_set():
                    n += 1
                    b.quote(session, party, issue, text=f"Written during the backup {n}")
                    session.commit()
                    if n == 5:
                        five_written.set()

        writer = threading.Thread(target=write)
        writer.start()
        try:
            assert five_written.wait(timeout=60), "the writer never got going"
            archive = tmp_path / "during.backup"
            backed = _cli(source, "backup", "--out", str(archive))
            assert backed.returncode == 0, backed.stderr
        finally:
            stop.set()
            writer.join()
            engine.dispose()
        restored = _cli(during, "restore", str(archive))
        assert restored.returncode == 0, restored.stderr
        assert _revision(during) == _head()
        assert _matrix(during) == _matrix(source)
        # A consistent snapshot: every quote came with its audit entry, in one transaction.
        snapshot = make_engine(during)
        with Session(snapshot) as session:
            quotes = session.scalar(sql_select(func.count()).select_from(Quote)) or 0
            audited = session.scalar(
                sql_select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.entity_type == "quotes")
            )
            assert quotes == audited and quotes > 23
        snapshot.dispose()
        # After the writes stop, a backup restores to exactly the same rows.
        final = tmp_path / "after.backup"
        assert _cli(source, "backup", "--out", str(final)).returncode == 0
        assert _cli(after, "restore", str(final)).returncode == 0
        assert _counts(after) == _counts(source)
        assert _cli(after, "restore", str(final)).returncode != 0  # never over existing data


def test_killing_an_import_halfway_changes_nothing_and_a_rerun_succeeds(
    backend: str, tmp_path: Path
) -> None:
    # Big enough that the (streamed, bulk) import is still writing when it is killed.
    rows = 60_000
    big = tmp_path / "big.csv"
    with big.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["text", "kind", "said_on", "party", "source_url", "status", "issues"])
        for n in range(rows):
            writer.writerow(
                [f"Bulk statement number {n}", "reported", "2025-03-01", "ua",
                 "https://peacetalks.invalid/seeds/000_f42f69482efc36bc", "reported",
                 "ceasefire:accepts"]
            )  # fmt: skip
    with scratch_database(backend, tmp_path) as url:
        assert _cli(url, "db", "upgrade").returncode == 0
        assert _cli(url, "seed").returncode == 0
        before = _counts(url)
        process = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "import", str(big)],
            env={**os.environ, "DATABASE_URL": url}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        assert process.stderr is not None
        # Blocking reads: a select() on the pipe would miss a line already buffered by readline.
        line = ""
        for line in iter(process.stderr.readline, ""):
            if "writing" in line:
                break
        assert "writing" in line, "the import never started writing"
        # Kill it once its transaction has written rows (not after a guessed delay).
        with _uncommitted_writes(url, backend) as writing:
            assert wait_until(lambda: writing() or process.poll() is not None, timeout=120)
        assert process.poll() is None, "the import finished before it could be killed"
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        assert _counts(url) == before
        rerun = _cli(url, "import", str(big))
        assert rerun.returncode == 0, rerun.stderr
        assert _counts(url)["quotes"] == before["quotes"] + rows


@contextmanager
def _proxy(target_port: int) -> Iterator[tuple[int, threading.Event]]:
    """A TCP proxy to the database whose 'cable' can be cut and mended."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.2)
    cut = threading.Event()
    done = threading.Event()
    open_sockets: list[socket.socket] = []

    def pump(a: socket.socket, z: socket.socket) -> None:
        try:
            while not cut.is_set():
                data = a.recv(65536)
                if not data:
                    break
                z.sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, z):
                try:
                    s.close()
                except OSError:
                    pass

    def serve_loop() -> None:
        while not done.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                if cut.is_set():
                    for s in open_sockets:
                        try:
                            s.shutdown(socket.SHUT_RDWR)
                        except OSError:
                            pass
                    open_sockets.clear()
                continue
            if cut.is_set():
                client.close()
                continue
            upstream = socket.create_connection(("127.0.0.1", target_port))
            open_sockets.extend([client, upstream])
            threading.Thread(target=pump, args=(client, upstream), daemon=True).start()
            threading.Thread(target=pump, args=(upstream, client), daemon=True).start()

    thread = threading.Thread(target=serve_loop, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1], cut
    finally:
        done.set()
        thread.join()
        listener.close()


def _health(base: str) -> int:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(f"{base}/healthz", timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def test_healthz_is_503_while_the_database_is_away_and_200_when_it_returns(tmp_path: Path) -> None:
    with scratch_database("postgresql", tmp_path) as url:
        migrate.upgrade(url=url)
        parsed = make_url(url)
        with _proxy(parsed.port or 5432) as (port, cut):
            proxied = parsed.set(host="127.0.0.1", port=port).render_as_string(hide_password=False)
            with serve(proxied, tmp_path) as base:
                assert _health(base) == 200
                cut.set()
                assert wait_until(lambda: _health(base) == 503)
                cut.clear()
                assert wait_until(lambda: _health(base) == 200)  # same process: no restart needed


def test_two_upgrades_at_once_one_migrates_the_other_waits(tmp_path: Path) -> None:
    with scratch_database("postgresql", tmp_path) as url:
        env = {**os.environ, "DATABASE_URL": url}
        runs = [
            subprocess.Popen([sys.executable, "-m", "app.cli", "db", "upgrade"], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)
        ]  # fmt: skip
        results = [run.communicate(timeout=120) for run in runs]
        assert [run.returncode for run in runs] == [0, 0], results
        assert _revision(url) == _head()


def test_restore_refuses_a_database_that_is_not_empty(backend: str, tmp_path: Path) -> None:
    with scratch_database(backend, tmp_path) as url:
        assert _cli(url, "db", "upgrade").returncode == 0
        archive = tmp_path / "x.backup"
        assert _cli(url, "backup", "--out", str(archive)).returncode == 0
        refused = _cli(url, "restore", str(archive))
        assert refused.returncode != 0 and "not empty" in refused.stderr
