"""Alembic environment: migrates the configured database, or a connection handed in by tests."""

from __future__ import annotations

from alembic import context
from sqlalchemy import ForeignKeyConstraint
from sqlalchemy.engine import Connection

import app.models  # noqa: F401  (registers every table on Base.metadata)
from app.config import get_settings
from app.db import Base, make_engine

target_metadata = Base.metadata

# Full-text search objects are dialect-specific and made by hand in a migration; autogenerate
# must neither drop them nor expect them on the models (quotes.search_meta is kept by triggers).
FTS_NAMES = {
    "search_vector",
    "search_meta",
    "ix_quotes_search_vector",
    "phrase_vector",
    "ix_quotes_phrase_vector",
    "ix_quotes_newest_with_vector",
}


# SQLite: columns added to quotes and positions in place (a rebuild would drop the search
# triggers) carry their foreign key inline in the column, which SQLAlchemy reflects without its
# name and ON DELETE; the key is there and enforced (migration 5e1b7d0c93a4), so it is not compared.
INLINE_SQLITE_KEYS = {("quotes", "round_id"), ("positions", "round_id")}


def _inline_sqlite_key(obj: object) -> bool:
    if not isinstance(obj, ForeignKeyConstraint) or obj.table is None:
        return False
    if context.get_context().dialect.name != "sqlite":
        return False
    return any((obj.table.name, column) in INLINE_SQLITE_KEYS for column in obj.column_keys)


def include_object(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    """Leave the full-text search column, index and FTS5 tables out of autogenerate, and the
    foreign keys SQLite holds inline."""
    if type_ == "foreign_key_constraint" and _inline_sqlite_key(obj):
        return False
    if name is None:
        return True
    return name not in FTS_NAMES and not name.startswith("quotes_fts")


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things in place; batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_object=include_object,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # Two `db upgrade` started at once: the second waits here until the first is done.
            connection.exec_driver_sql("SELECT pg_advisory_xact_lock(762301)")
        context.run_migrations()


def run_migrations_online() -> None:
    """Run against a connection from the caller (tests) or a new engine for the configured URL."""
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = context.config.attributes.get("url") or get_settings().effective_database_url
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            _run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("Offline (--sql) migrations are not supported; connect to a database.")
run_migrations_online()
