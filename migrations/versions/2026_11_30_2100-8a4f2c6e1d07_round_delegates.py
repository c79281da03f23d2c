"""Delegations linked to speakers: `round_delegates` (round, party, speaker).

A new table only; the free-text `round_parties.delegation` stays as a note for people not (yet)
known as speakers.

Revision ID: 8a4f2c6e1d07
Revises: 5e1b7d0c93a4
Create Date: 2026-11-30 21:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "8a4f2c6e1d07"
down_revision: str | Sequence[str] | None = "5e1b7d0c93a4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "round_delegates",
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("party_id", sa.Integer(), nullable=False),
        sa.Column("speaker_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["round_id", "party_id"],
            ["round_parties.round_id", "round_parties.party_id"],
            name=op.f("fk_round_delegates_round_id_round_parties"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["speaker_id"],
            ["speakers.id"],
            name=op.f("fk_round_delegates_speaker_id_speakers"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint(
            "round_id", "party_id", "speaker_id", name=op.f("pk_round_delegates")
        ),
    )
    op.create_index(
        op.f("ix_round_delegates_speaker_id"), "round_delegates", ["speaker_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_round_delegates_speaker_id"), table_name="round_delegates")
    op.drop_table("round_delegates")
