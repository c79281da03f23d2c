"""Dated speaker roles: a role a speaker held from a date on, and the role on each quote.

A new table `speaker_roles` and a nullable `quotes.speaker_role` (the role its speaker held
when it was said; empty for quotes of a speaker with one role). A plain column, added in place
on both databases: on SQLite a batch rebuild of `quotes` would drop the search triggers on it.

Revision ID: 7c3e9a41d2b8
Revises: 241a3e6badee
Create Date: 2026-11-30 18:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7c3e9a41d2b8"
down_revision: str | Sequence[str] | None = "241a3e6badee"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "speaker_roles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("speaker_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=200), nullable=False),
        sa.Column("held_from", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["speaker_id"],
            ["speakers.id"],
            name=op.f("fk_speaker_roles_speaker_id_speakers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_speaker_roles")),
        sa.UniqueConstraint(
            "speaker_id", "held_from", name=op.f("uq_speaker_roles_speaker_id_held_from")
        ),
    )
    op.execute("ALTER TABLE quotes ADD COLUMN speaker_role VARCHAR(200)")


def downgrade() -> None:
    op.execute("ALTER TABLE quotes DROP COLUMN speaker_role")
    op.drop_table("speaker_roles")
