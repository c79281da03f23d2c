"""The data version on PostgreSQL becomes a sequence, advanced after each commit that changes
what views show, so that no writer waits for another on a shared row.

PostgreSQL: `data_version_seq` continues from the number in `data_version`, whose row is
removed (the table stays, empty, so both databases share one schema). SQLite keeps its row:
it is bumped inside the committing write, and SQLite lets one writer in at a time anyway.

Revision ID: 5b0c2e7d41a9
Revises: 999e27deeea4
Create Date: 2026-11-30 14:10:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "5b0c2e7d41a9"
down_revision: str | Sequence[str] | None = "999e27deeea4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE SEQUENCE data_version_seq AS bigint")
    # A number above every one given out so far, so that no cached view is served again.
    op.execute(
        "SELECT setval('data_version_seq', "
        "COALESCE((SELECT version FROM data_version WHERE id = 1), 0) + 1)"
    )
    op.execute("DELETE FROM data_version")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "INSERT INTO data_version (id, version) "
        "SELECT 1, CAST(last_value AS integer) + 1 FROM data_version_seq"
    )
    op.execute("DROP SEQUENCE data_version_seq")
