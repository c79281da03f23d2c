"""PostgreSQL: the quotes newest first with their search vectors in the index itself, so a
search that checks the newest quotes for its words reads index pages only.

A search of common words (a pair, a phrase of them) walks the newest quotes and checks each
one's vector (app.services.search, SCAN_FIRST). Walking `ix_quotes_said_on` fetched every
quote's row from the table to read its vector: at a million quotes, 10,000 newest quotes were
10,262 pages and 57 ms of a phrase search's 60 (EXPLAIN ANALYZE on the benchmark's large
database). With the vector carried in the index (INCLUDE) the same walk is an index-only scan
of about 660 pages, 6-8 ms. It needs the table's visibility map to be current, so quotes are
vacuumed after every thousand new or changed rows rather than after a fifth of the table
(PostgreSQL's default: 200,000 inserts at a million quotes, so the newest pages, the ones
every search reads first, would stay unvacuumed for months). SQLite searches through its FTS5
table and needs nothing.

Revision ID: c4d8e1a2f6b3
Revises: b7c2e5f9a031
Create Date: 2026-12-02 19:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "c4d8e1a2f6b3"
down_revision: str | Sequence[str] | None = "b7c2e5f9a031"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "CREATE INDEX ix_quotes_newest_with_vector ON quotes (said_on DESC, id DESC) "
        "INCLUDE (search_vector)"
    )
    op.execute(
        "ALTER TABLE quotes SET (autovacuum_vacuum_insert_threshold = 1000,"
        " autovacuum_vacuum_insert_scale_factor = 0, autovacuum_vacuum_threshold = 1000,"
        " autovacuum_vacuum_scale_factor = 0)"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "ALTER TABLE quotes RESET (autovacuum_vacuum_insert_threshold,"
        " autovacuum_vacuum_insert_scale_factor, autovacuum_vacuum_threshold,"
        " autovacuum_vacuum_scale_factor)"
    )
    op.execute("DROP INDEX IF EXISTS ix_quotes_newest_with_vector")
