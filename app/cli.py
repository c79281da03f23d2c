"""The `peacetalks` command: serve the app, migrate the database, load the seed data."""

from __future__ import annotations

import errno
import getpass
import socket
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from alembic.runtime.migration import MigrationContext
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from app import cli_ops, migrate, serving
from app.config import get_settings, site_address
from app.db import get_engine, get_reading_engine, make_engine
from app.models import Party, Role
from app.services import position_runs, versioning
from app.services import seed as seed_service
from app.services import users as user_service
from app.services.errors import NotFound, ValidationFailed

# Plain help (click's layout), not Typer's rich panels: those show every flag as `--dry-run
# <bool>` (even --help) and keep a docstring's line breaks mid-sentence.
cli = typer.Typer(
    help="peacetalks: positions of the parties to the Ukraine peace talks.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
db_cli = typer.Typer(help="Database schema.", no_args_is_help=True, rich_markup_mode=None)
cli.add_typer(db_cli, name="db")
users_cli = typer.Typer(
    help="Editor and admin accounts.", no_args_is_help=True, rich_markup_mode=None
)
cli.add_typer(users_cli, name="users")

SINGULAR = {
    "parties": "party",
    "issues": "issue",
    "speakers": "speaker",
    "sources": "source",
    "quotes": "quote",
    "positions": "position",
}


def counted(number: int, plural: str) -> str:
    """A count with its noun: "1 speaker", "2 speakers", "6,000 quotes"."""
    noun = SINGULAR.get(plural, plural.removesuffix("s")) if number == 1 else plural
    return f"{number:,} {noun}"


def _added(added: dict[str, int]) -> str:
    return ", ".join(counted(count, name) for name, count in added.items() if count)


def _describe(added: dict[str, int], what: str) -> str:
    if not any(added.values()):
        return f"nothing new: the database already holds {what}"
    return _added(added)


def database_label(url: str) -> str:
    """The database as a person names it: a SQLite file's path (relative to the current folder
    when inside it), or a PostgreSQL database's name and server; never a password."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            return "an in-memory SQLite database"
        path = Path(parsed.database).resolve()
        return str(path.relative_to(Path.cwd())) if path.is_relative_to(Path.cwd()) else str(path)
    server = f"{parsed.host}:{parsed.port or 5432}" if parsed.host else "the local socket"
    return f"the {parsed.get_backend_name()} database {parsed.database} on {server}"


def load_seeds(directory: Path | None = None) -> dict[str, int]:
    """Load the seed files in one transaction; returns what was added."""
    with Session(get_engine()) as session, session.begin():
        added = seed_service.load_seeds(session, directory or get_settings().seeds_dir)
    return dict(added)


def _revision(url: str) -> str | None:
    """The database's Alembic revision; None for a database never migrated (a new one)."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def prepare_database(*, seed_if_empty: bool) -> tuple[bool, str]:
    """Bring the configured database to the newest revision, then seed it if asked and it holds
    no party; returns whether anything was done and a sentence saying what."""
    url = get_settings().effective_database_url
    label = database_label(url)
    before = _revision(url)
    migrate.upgrade(url=url)
    done = "Created" if before is None else "Upgraded" if _revision(url) != before else ""
    added = load_seeds() if seed_if_empty and database_is_empty() else {}
    if added:
        return True, f"{done + ' and seeded' if done else 'Seeded'} {label}: {_added(added)}."
    if done:
        return True, f"{done} {label} {'at' if before is None else 'to'} the newest revision."
    return False, f"Nothing to do: {label} is at the newest revision."


@db_cli.command("upgrade")
def db_upgrade(
    seed_if_empty: Annotated[
        bool,
        typer.Option(
            "--seed-if-empty", help="Then load the seed data if the database holds no party yet."
        ),
    ] = False,
) -> None:
    """Apply every migration up to the newest (safe to run again, even at once)."""
    typer.echo(prepare_database(seed_if_empty=seed_if_empty)[1])


@db_cli.command("refresh-runs")
def db_refresh_runs() -> None:
    """Recompute the matrix's stored runs from the positions (after writing them with SQL)."""
    with Session(get_engine()) as session, session.begin():
        rows = position_runs.refresh(session.connection())
        versioning.mark_changed(session)  # cached matrices move on to the new version
    typer.echo(f"Stored runs: {rows} positions recomputed.")


@cli.command()
def seed(
    directory: Annotated[
        Path | None, typer.Option("--dir", help="Folder of seed YAML files (default: seeds/).")
    ] = None,
    if_empty: Annotated[
        bool, typer.Option("--if-empty", help="Only load when the database holds no party yet.")
    ] = False,
) -> None:
    """Load the seed data (idempotent: a second run adds nothing)."""
    if if_empty and not database_is_empty():
        typer.echo("Seed: skipped, the database already holds data.")
        return
    what = "the seed data" if directory is None else f"everything in {directory}"
    typer.echo(f"Seed: added {_describe(load_seeds(directory), what)}.")


def database_is_empty() -> bool:
    """True when no party exists yet (a fresh database)."""
    with Session(get_reading_engine()) as session:
        return session.scalar(select(func.count()).select_from(Party)) == 0


def prepare_embedded() -> None:
    """With the embedded SQLite database, migrate and seed an empty one so the app shows data."""
    if get_settings().is_embedded:
        changed, done = prepare_database(seed_if_empty=True)
        if changed:
            typer.echo(done, err=True)


def check_port(host: str, port: int) -> None:
    """Fail with a sentence saying what to do when `host`:`port` cannot be listened on (bound
    the way uvicorn binds it, then let go)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            reason = exc.strerror or str(exc)
            hint = f"Pick another port: make run PORT={port + 1}, or peacetalks serve --port {port + 1}."
            if exc.errno == errno.EADDRINUSE:
                reason = f"address already in use (something else, perhaps another peacetalks, listens there). {hint}"
            elif exc.errno == errno.EACCES:
                reason = f"permission denied (ports below 1024 need privileges). {hint}"
            typer.echo(f"Cannot serve on {_base_url(host, port)}: {reason}", err=True)
            raise typer.Exit(code=1) from None


def _base_url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


@cli.command()
def serve(
    host: Annotated[
        str | None, typer.Option(help="Address to bind (default HOST or 127.0.0.1).")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port (default PORT or 8000).")] = None,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
) -> None:
    """Serve the app with uvicorn, logging one JSON line per request (not uvicorn's access log).

    With PEACETALKS_ENV=production it refuses to start on unsafe settings, naming what to set.
    """
    from app.config import UnsafeProductionSettings, check_production_settings
    from app.logging_setup import log_config

    settings = get_settings()
    try:
        check_production_settings(settings)
    except UnsafeProductionSettings as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(code=2) from None
    host = host or settings.host
    port = port or settings.port
    check_port(host, port)
    prepare_embedded()
    # One line for a person, before uvicorn's and the request log's JSON lines.
    database = database_label(settings.effective_database_url)
    typer.echo(f"Serving {_base_url(host, port)} with {database}; Ctrl+C stops it.", err=True)
    options: dict[str, Any] = {
        # Not uvicorn's own, which trusts 127.0.0.1: the app reads forwarded headers from
        # TRUSTED_PROXIES alone (app.main).
        "proxy_headers": False,
        "log_config": log_config(),
        "access_log": False,
    }
    # With several workers, each on its own socket so connections are spread evenly.
    status = serving.serve("app.main:app", host=host, port=port, workers=workers, **options)
    if status:
        raise typer.Exit(code=status)


@cli.command("import")
def import_command(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="A .csv, .json or .yaml file.")
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check the file; write nothing.")
    ] = False,
) -> None:
    """Import quotes, sources, speakers, tags and positions: all rows or none.

    The file is checked first (a CSV a line at a time), then written in one transaction, with a
    progress bar for each step. A CSV may be of any size; JSON and YAML are read whole, so they
    may be at most 20 MB and 6 MB.
    """
    from rich.console import Console
    from rich.progress import Progress
    from sqlalchemy.exc import DataError, IntegrityError

    from app.services import transfer

    started = time.perf_counter()
    try:
        # Checking only reads: on SQLite it takes no write lock, so editors are not held up.
        bars = Console(stderr=True)  # standard output stays for what the command reports
        with (
            Progress(console=bars, transient=True) as bar,
            Session(get_reading_engine()) as session,
        ):
            task = bar.add_task(f"Checking {file.name}", total=file.stat().st_size or None)
            plan = transfer.check_file(session, file, progress=lambda n: bar.advance(task, n))
        rows = f"{counted(plan.quotes, 'quotes')} and {counted(plan.positions, 'positions')}"
        if dry_run:
            typer.echo(f"{file}: no errors in {rows} (dry run, nothing written).")
            return
        typer.echo(f"{file}: checked, no errors; writing {rows}.", err=True)
        with (
            Progress(console=bars, transient=True) as bar,
            Session(get_engine()) as session,
            session.begin(),
        ):
            task = bar.add_task(f"Importing {file.name}", total=plan.rows or None)
            added = transfer.load(session, plan, progress=lambda n: bar.advance(task, n))
    except transfer.ImportRejected as exc:
        for error in exc.errors:
            typer.echo(str(error), err=True)
        if exc.total > len(exc.errors):
            typer.echo(f"... and {exc.total - len(exc.errors):,} more not listed.", err=True)
        typer.echo(f"{file}: {counted(exc.total, 'errors')}; nothing was imported.", err=True)
        raise typer.Exit(code=1) from None
    except (IntegrityError, DataError) as exc:  # another writer got in between: run it again
        typer.echo(
            f"{file}: the database refused a row ({exc.orig}); nothing was imported.", err=True
        )
        raise typer.Exit(code=1) from None
    except OSError as exc:
        typer.echo(f"{file}: cannot be read: {exc}", err=True)
        raise typer.Exit(code=1) from None
    seconds = time.perf_counter() - started
    described = _describe(dict(added), "every row of it")
    typer.echo(f"Imported {file}: added {described} ({seconds:.1f} s).")


@cli.command("export")
def export_command(
    fmt: Annotated[str, typer.Option("--format", help="yaml, json or csv (quotes only).")] = "yaml",
    out: Annotated[
        Path | None, typer.Option("--out", help="File to write (default: standard output).")
    ] = None,
) -> None:
    """Write the evidence (parties, issues, speakers, sources, quotes, positions) to a file."""
    from app.services import export_file

    if fmt not in {"yaml", "json", "csv"}:
        raise typer.BadParameter("use yaml, json or csv", param_hint="--format")
    with Session(get_reading_engine()) as session:
        text = export_file.export_text(session, fmt)
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_text(text, "utf-8")
        typer.echo(f"Wrote {out}.", err=True)


def _read_password() -> str:
    if sys.stdin.isatty():
        first = getpass.getpass("Password: ")
        if getpass.getpass("Repeat password: ") != first:
            raise typer.BadParameter("the passwords differ")
        return first
    return sys.stdin.readline().rstrip("\r\n")


@users_cli.command("create")
def users_create(
    email: Annotated[str, typer.Option(help="Login email.")],
    name: Annotated[str, typer.Option(help="Display name.")],
    role: Annotated[Role, typer.Option(help="editor or admin.")] = Role.EDITOR,
) -> None:
    """Add a user; the password is prompted for (or read from standard input when piped)."""
    password = _read_password()
    try:
        with Session(get_engine()) as session, session.begin():
            user = user_service.create_user(
                session, actor=None, email=email, display_name=name, role=role, password=password
            )
            typer.echo(f"Created {user.role.value} {user.email}.")
    except ValidationFailed as exc:
        for field, message in exc.errors.items():
            typer.echo(f"{field}: {message}", err=True)
        raise typer.Exit(code=1) from None


@users_cli.command("list")
def users_list() -> None:
    """List every user with role and whether active."""
    with Session(get_reading_engine()) as session:
        for user in user_service.list_users(session):
            state = "active" if user.active else "disabled"
            typer.echo(f"{user.email}\t{user.display_name}\t{user.role.value}\t{state}")


@users_cli.command("disable")
def users_disable(email: Annotated[str, typer.Option(help="Login email.")]) -> None:
    """Disable a user and end their sessions at once."""
    try:
        with Session(get_engine()) as session, session.begin():
            user = user_service.get_user_by_email(session, email=email)
            user_service.set_active(session, actor=None, user=user, active=False)
    except NotFound:
        typer.echo(f"No user {email}.", err=True)
        raise typer.Exit(code=1) from None
    typer.echo(f"Disabled {email}; their sessions are ended.")


@cli.command("briefing")
def briefing_command(
    out: Annotated[
        Path, typer.Option("--out", help="The file to write (PDF or DOCX).", dir_okay=False)
    ],
    format_: Annotated[
        str,
        typer.Option("--format", help="pdf (the default) or docx (an editable Word document)."),
    ] = "pdf",
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Stances as of this date (YYYY-MM-DD); default today."),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            "--since", help="List changes of stance after this date, or since a round (round:SLUG)."
        ),
    ] = None,
    known_on: Annotated[
        str | None,
        typer.Option("--known-on", help="As we knew it on this date: ignore later recordings."),
    ] = None,
    party: Annotated[
        list[str] | None,
        typer.Option("--party", help="A party slug to include (repeat, or separate with commas)."),
    ] = None,
    issue: Annotated[
        list[str] | None,
        typer.Option("--issue", help="An issue slug to include (repeat, or separate with commas)."),
    ] = None,
    title: Annotated[str | None, typer.Option("--title", help="The cover title.")] = None,
    lead: Annotated[
        str | None, typer.Option("--lead", help="The editor's lead paragraph, under the title.")
    ] = None,
    omit: Annotated[
        list[str] | None,
        typer.Option(
            "--omit",
            help="A part to leave out: summary, matrix, changes, texts, issues, no_position, charts.",
        ),
    ] = None,
    base_url: Annotated[
        str | None,
        typer.Option(
            "--base-url",
            help="The site's address, for the permalink (default PUBLIC_URL; without either "
            "the permalink is printed as a path).",
        ),
    ] = None,
    generated_at: Annotated[
        str | None,
        typer.Option("--generated-at", hidden=True, help="Fix the generation time (ISO 8601)."),
    ] = None,
) -> None:
    """Write the briefing: the same document as /briefing.pdf (or /briefing.docx with
    --format docx) with the same filters."""
    from datetime import UTC, datetime

    from app.services import briefing as briefing_service
    from app.services import briefing_pdf
    from app.services.errors import InvalidParameter

    options = {"as_of": "--as-of", "since": "--since", "known_on": "--known-on"}
    options |= {"parties": "--party", "issues": "--issue", "title": "--title"}
    options |= {"lead": "--lead", "omit": "--omit", "base_url": "--base-url"}
    settings = get_settings()
    if format_ not in ("pdf", "docx"):
        typer.echo("Error: --format: choose pdf or docx.", err=True)
        raise typer.Exit(code=1)
    try:
        if base_url is not None:
            try:
                base_url = site_address(base_url)
            except ValueError:
                raise InvalidParameter("base_url", "use http:// or https:// and a host.") from None
        now = briefing_service.utc_now()
        if generated_at:
            try:
                now = datetime.fromisoformat(generated_at).astimezone(UTC)
            except ValueError:
                raise InvalidParameter("generated_at", "use ISO 8601.") from None
        with Session(get_reading_engine()) as session:
            wanted = briefing_service.parse_request(
                as_of=as_of,
                since=since,
                known_on=known_on,
                parties=party,
                issues=issue,
                title=title,
                lead=lead,
                omit=omit,
                find_round=briefing_service.round_finder(session),
            )
            document = briefing_service.build_briefing(
                session,
                request=wanted,
                generated_at=now,
                base_url=base_url or settings.public_url or None,
                stale_after_days=settings.stale_after_days,
            )
            if format_ == "docx":
                from app.services.briefing_docx import render_docx

                body = render_docx(document)
            else:
                html = briefing_service.render_html(document, preview=False)
    except InvalidParameter as exc:
        typer.echo(f"Error: {options.get(exc.field, exc.field)}: {exc.message}", err=True)
        raise typer.Exit(code=1) from None
    if format_ == "pdf":
        body = briefing_pdf.render_pdf(html)
    # Write beside the target and rename, so a failure never leaves half a PDF behind.
    partial = out.with_name(f".{out.name}.partial")
    try:
        partial.write_bytes(body)
        partial.replace(out)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        typer.echo(f"Error: cannot write {out}: {exc}", err=True)
        raise typer.Exit(code=1) from None
    typer.echo(f"Wrote {out} ({len(body):,} bytes).")


cli_ops.register(cli)


def main() -> None:
    """Entry point of the console script; refuses to run on settings it cannot read."""
    try:
        get_settings()
    except ValidationError as exc:
        typer.echo(f"Refusing to start: {exc}", err=True)
        raise SystemExit(2) from None

    versioning.install()  # a command's writes move the data version on, as the app's do
    cli()


if __name__ == "__main__":
    main()
