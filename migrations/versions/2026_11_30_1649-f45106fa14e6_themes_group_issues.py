"""Themes: headings that group the issues in the matrix (territory, security, economy, process).

A new table `themes` and a nullable `issues.theme` holding a theme's slug (kept pointing at a
theme by app.services.themes). A plain column, added in place on both databases: on SQLite a
batch rebuild of `issues` would have to set aside the search view and triggers around it.

Revision ID: f45106fa14e6
Revises: 5b0c2e7d41a9
Create Date: 2026-11-30 16:49:10
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "f45106fa14e6"
down_revision: str | Sequence[str] | None = "5b0c2e7d41a9"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "themes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=60), nullable=False),
        sa.Column("title", sa.String(length=80), nullable=False),
        sa.Column("sort_order", sa.Integer(), server_default="0", nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_themes")),
        sa.UniqueConstraint("slug", name=op.f("uq_themes_slug")),
    )
    op.execute("ALTER TABLE issues ADD COLUMN theme VARCHAR(60)")
    op.create_index(op.f("ix_issues_theme"), "issues", ["theme"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_issues_theme"), table_name="issues")
    op.execute("ALTER TABLE issues DROP COLUMN theme")
    op.drop_table("themes")
