"""Position runs: each position with what the matrix shows while it is in force (the start of
its run, the run's evidence up to it), so that the matrix as of a day is one index probe a cell.
Filled here from the positions already stored; app.services.position_runs keeps it in step.

Revision ID: ff1dc174e7de
Revises: f45106fa14e6
Create Date: 2026-11-30 16:51:40
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "ff1dc174e7de"
down_revision: str | Sequence[str] | None = "f45106fa14e6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "position_runs",
        sa.Column("position_id", sa.Integer(), nullable=False),
        sa.Column("party_id", sa.Integer(), nullable=False),
        sa.Column("issue_id", sa.Integer(), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "stance",
            sa.Enum(
                "accepts",
                "conditional",
                "ambiguous",
                "rejects",
                name="stance",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("condition", sa.Text(), nullable=True),
        sa.Column("run_start", sa.Date(), nullable=False),
        sa.Column("evidence_count", sa.Integer(), nullable=False),
        sa.Column("latest_evidence_on", sa.Date(), nullable=True),
        sa.Column("confirmed", sa.Integer(), nullable=False),
        sa.Column("denied", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["position_id"],
            ["positions.id"],
            name=op.f("fk_position_runs_position_id_positions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("position_id", name=op.f("pk_position_runs")),
    )
    op.create_index(
        "ix_position_runs_cell_as_of",
        "position_runs",
        ["party_id", "issue_id", "effective_from", "recorded_at", "position_id"],
    )
    # The rows of the positions stored so far, computed as the app computes them.
    from app.services import position_runs

    position_runs.refresh(op.get_bind())


def downgrade() -> None:
    op.drop_index("ix_position_runs_cell_as_of", table_name="position_runs")
    op.drop_table("position_runs")
