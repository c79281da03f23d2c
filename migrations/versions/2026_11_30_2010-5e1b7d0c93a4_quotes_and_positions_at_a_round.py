"""Quotes and positions tied to a round of talks: a nullable `round_id` on each.

Plain columns added in place on both databases: on SQLite a batch rebuild of `quotes` would drop
the search triggers and the view that depend on it, so the column is added with ALTER TABLE and
its foreign key written inline (SQLite cannot add a constraint to an existing table).

Revision ID: 5e1b7d0c93a4
Revises: 5e1f0a7c3b92
Create Date: 2026-11-30 20:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5e1b7d0c93a4"
down_revision: str | Sequence[str] | None = "5e1f0a7c3b92"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("quotes", "positions")


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table in TABLES:
        name = f"fk_{table}_round_id_rounds"
        if sqlite:
            op.execute(
                f"ALTER TABLE {table} ADD COLUMN round_id INTEGER"
                f" CONSTRAINT {name} REFERENCES rounds (id) ON DELETE SET NULL"
            )
        else:
            op.add_column(table, sa.Column("round_id", sa.Integer(), nullable=True))
            op.create_foreign_key(name, table, "rounds", ["round_id"], ["id"], ondelete="SET NULL")
        op.create_index(f"ix_{table}_round_id", table, ["round_id"])


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table in TABLES:
        op.drop_index(f"ix_{table}_round_id", table_name=table)
        if not sqlite:
            op.drop_constraint(f"fk_{table}_round_id_rounds", table, type_="foreignkey")
        op.execute(f"ALTER TABLE {table} DROP COLUMN round_id")
