"""Operations commands of `peacetalks`: backup and restore.

PostgreSQL is dumped with `pg_dump -Fc` (a consistent snapshot while the app keeps writing) and
restored with `pg_restore` into an empty database. SQLite is copied with its online backup API,
page by page under SQLite's own locking, never as a file copy that could catch a write halfway.

A backup holds every account's password hash: it is created readable by its owner alone (0600)
and never over an existing file. A restore ends every session the backup carried, so a cookie
from back then (logged out since, or stolen) does not come back to life.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import delete, inspect
from sqlalchemy.engine import make_url

from app.config import get_settings
from app.db import make_engine
from app.models import UserSession

BACKUP_MODE = 0o600


def _libpq_url(url: str) -> str:
    """The SQLAlchemy URL as a libpq connection string for pg_dump and pg_restore."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise typer.BadParameter("an in-memory SQLite database cannot be backed up")
    return Path(database)


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise typer.BadParameter(f"{name} is not installed (Debian: postgresql-client)")
    return path


def _create_private(out: Path) -> int:
    """Create `out` readable and writable by its owner alone; refuse if it exists."""
    try:
        return os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, BACKUP_MODE)
    except FileExistsError:
        raise typer.BadParameter(
            f"{out} exists; a backup never overwrites a file: choose a new name"
        ) from None


def backup_database(url: str, out: Path) -> None:
    """Write a backup of the database at `url` to a new file `out`, readable by its owner only."""
    backend = make_url(url).get_backend_name()
    if backend not in {"postgresql", "sqlite"}:
        raise typer.BadParameter(f"backups of {backend} databases are not supported")
    source = None if backend == "postgresql" else _sqlite_path(url)
    descriptor = _create_private(out)
    try:
        if source is None:
            with os.fdopen(descriptor, "wb") as archive:
                subprocess.run(  # noqa: S603 - our own tool path and settings, no shell
                    [_tool("pg_dump"), "--format=custom", "--no-owner", _libpq_url(url)],
                    stdout=archive,
                    check=True,
                )
        else:
            os.close(descriptor)  # SQLite writes into the empty file it finds
            _sqlite_copy(sqlite3.connect(source), out)
    except BaseException:
        out.unlink(missing_ok=True)  # ours, created above: no half-written backup is left
        raise


def _sqlite_copy(source: sqlite3.Connection, target_path: Path) -> None:
    """Copy a SQLite database page by page with its online backup API, then close both."""
    target = sqlite3.connect(target_path)
    try:
        with target:
            source.backup(target)
    finally:
        target.close()
        source.close()


def _is_empty(url: str) -> bool:
    engine = make_engine(url)
    try:
        return not inspect(engine).get_table_names()
    finally:
        engine.dispose()


def restore_database(url: str, archive: Path) -> int:
    """Restore `archive` into the empty database at `url`; returns how many sessions it ended."""
    if not _is_empty(url):
        raise typer.BadParameter(
            "the target database is not empty; restore into a new, empty database"
        )
    backend = make_url(url).get_backend_name()
    if backend == "postgresql":
        subprocess.run(  # noqa: S603 - our own tool path and settings, no shell
            [_tool("pg_restore"), "--no-owner", "--exit-on-error", "--single-transaction",
             "--dbname", _libpq_url(url), str(archive)],
            check=True,
        )  # fmt: skip
    elif backend == "sqlite":
        _sqlite_copy(sqlite3.connect(f"file:{archive}?mode=ro", uri=True), _sqlite_path(url))
    else:
        raise typer.BadParameter(f"restoring {backend} databases is not supported")
    return _end_sessions(url)


def _end_sessions(url: str) -> int:
    """Forget every login session in the database at `url`; returns how many there were."""
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            return connection.execute(delete(UserSession)).rowcount
    finally:
        engine.dispose()


def register(cli: typer.Typer) -> None:
    """Add the operations commands to the main command."""

    @cli.command("backup")
    def backup(
        out: Annotated[Path, typer.Option("--out", help="The backup file to write.")],
    ) -> None:
        """Back up the database to a new file, mode 0600 (pg_dump -Fc on PostgreSQL; SQLite's
        online backup API)."""
        backup_database(get_settings().effective_database_url, out)
        typer.echo(f"Backed up to {out}.")

    @cli.command("restore")
    def restore(
        archive: Annotated[
            Path, typer.Argument(exists=True, dir_okay=False, help="A backup file.")
        ],
    ) -> None:
        """Restore a backup into the (empty) database named by DATABASE_URL; every login
        session it carried ends."""
        try:
            ended = restore_database(get_settings().effective_database_url, archive)
        except subprocess.CalledProcessError as exc:
            typer.echo(f"Restore failed ({exc.returncode}); see the messages above.", err=True)
            raise typer.Exit(code=1) from None
        if ended == 0:
            typer.echo(f"Restored {archive}; it carried no login session.")
        else:
            sessions = "login session" if ended == 1 else "login sessions"
            typer.echo(f"Restored {archive}; ended the {ended:,} {sessions} it carried.")
