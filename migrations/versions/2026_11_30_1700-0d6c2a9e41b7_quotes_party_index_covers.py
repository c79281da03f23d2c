"""On PostgreSQL the index of a party's quotes by date also carries their id and status, so
counting the quotes of a cell no position assesses yet reads the index alone.

Revision ID: 0d6c2a9e41b7
Revises: ff1dc174e7de
Create Date: 2026-11-30 17:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0d6c2a9e41b7"
down_revision: str | Sequence[str] | None = "ff1dc174e7de"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _replace(include: list[str] | None) -> None:
    op.drop_index("ix_quotes_party_id_said_on", table_name="quotes")
    op.create_index(
        "ix_quotes_party_id_said_on",
        "quotes",
        ["party_id", "said_on"],
        postgresql_include=include,
    )


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _replace(["id", "status"])


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _replace(None)
