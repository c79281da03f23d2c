"""Full-text search on quotes: a generated tsvector with a GIN index on PostgreSQL, FTS5 on SQLite.

Neither lives on the models (they are dialect-specific), so migrations/env.py tells autogenerate
to leave them alone.

Revision ID: 3563193f4fce
Revises: bbc2758f24af
Create Date: 2026-11-27 10:04:40
"""

from collections.abc import Sequence

from alembic import op

revision: str = "3563193f4fce"
down_revision: str | Sequence[str] | None = "bbc2758f24af"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_TRIGGERS = [
    """CREATE TRIGGER quotes_fts_insert AFTER INSERT ON quotes BEGIN
        INSERT INTO quotes_fts(rowid, text, note) VALUES (new.id, new.text, new.note);
    END""",
    """CREATE TRIGGER quotes_fts_delete AFTER DELETE ON quotes BEGIN
        INSERT INTO quotes_fts(quotes_fts, rowid, text, note) VALUES ('delete', old.id, old.text, old.note);
    END""",
    """CREATE TRIGGER quotes_fts_update AFTER UPDATE OF text, note ON quotes BEGIN
        INSERT INTO quotes_fts(quotes_fts, rowid, text, note) VALUES ('delete', old.id, old.text, old.note);
        INSERT INTO quotes_fts(rowid, text, note) VALUES (new.id, new.text, new.note);
    END""",
]


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE quotes ADD COLUMN search_vector tsvector GENERATED ALWAYS AS "
            "(to_tsvector('english', coalesce(text, '') || ' ' || coalesce(note, ''))) STORED"
        )
        op.execute("CREATE INDEX ix_quotes_search_vector ON quotes USING gin (search_vector)")
        return
    # An external-content FTS5 table: the text stays in quotes; triggers keep the index in step.
    op.execute(
        "CREATE VIRTUAL TABLE quotes_fts USING fts5("
        "text, note, content='quotes', content_rowid='id', tokenize='porter unicode61 remove_diacritics 2')"
    )
    for trigger in SQLITE_TRIGGERS:
        op.execute(trigger)
    op.execute("INSERT INTO quotes_fts(quotes_fts) VALUES ('rebuild')")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_quotes_search_vector")
        op.execute("ALTER TABLE quotes DROP COLUMN IF EXISTS search_vector")
        return
    for name in ("quotes_fts_insert", "quotes_fts_delete", "quotes_fts_update"):
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.execute("DROP TABLE IF EXISTS quotes_fts")
