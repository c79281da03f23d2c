"""A single-row data version that every write of evidence bumps (the matrix cache keys on it).

Revision ID: 32869a18b747
Revises: 3563193f4fce
Create Date: 2026-11-27 10:14:11.641424
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "32869a18b747"
down_revision: str | Sequence[str] | None = "3563193f4fce"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "data_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_version")),
    )
    op.execute("INSERT INTO data_version (id, version) VALUES (1, 0)")


def downgrade() -> None:
    op.drop_table("data_version")
