"""Documents (plans, drafts, counter-proposals, ...) point by point, and the rounds of talks.

New tables only. A document's point is a row of `quotes` (kind document_provision) linked to its
document by `document_points` (label as printed, place in the text), so a point is evidence like
any quote: positions cite it, search finds it, a cell shows it, its issue tags carry its stance.
A link table rather than new columns on `quotes`: on SQLite, adding a foreign key to `quotes`
means a batch rebuild, which would drop the search triggers and trip over the search view.
`point_mappings` is a version's lineage (kept, changed, merged, split, new);
`document_reactions` the quotes that react to a document or a point; `rounds` the meetings,
with `round_parties` (delegations) and `round_documents` (what was tabled).

Revision ID: 241a3e6badee
Revises: 0d6c2a9e41b7
Create Date: 2026-11-30 17:20:21.506831
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "241a3e6badee"
down_revision: str | Sequence[str] | None = "0d6c2a9e41b7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=60), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "plan",
                "draft",
                "counter_proposal",
                "memorandum",
                "joint_statement",
                "agreement",
                name="document_kind",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "reported",
                "leaked",
                "published",
                "agreed",
                "signed",
                "superseded",
                "withdrawn",
                name="document_status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column(
            "confirmation",
            sa.Enum(
                "reported",
                "confirmed",
                "denied",
                "retracted",
                name="confirmation",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("tabled_on", sa.Date(), nullable=False),
        sa.Column("public_on", sa.Date(), nullable=True),
        sa.Column("language", sa.String(length=12), server_default="en", nullable=False),
        sa.Column("is_translation", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("derived_from_id", sa.Integer(), nullable=True),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), server_default="", nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "derived_from_id IS NULL OR derived_from_id <> id",
            name=op.f("ck_documents_not_own_predecessor"),
        ),
        sa.CheckConstraint(
            "public_on IS NULL OR public_on >= tabled_on", name=op.f("ck_documents_public_after")
        ),
        sa.ForeignKeyConstraint(
            ["derived_from_id"],
            ["documents.id"],
            name=op.f("fk_documents_derived_from_id_documents"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["sources.id"],
            name=op.f("fk_documents_source_id_sources"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_documents")),
        sa.UniqueConstraint("slug", name=op.f("uq_documents_slug")),
    )
    op.create_index(
        op.f("ix_documents_derived_from_id"), "documents", ["derived_from_id"], unique=False
    )
    op.create_index(op.f("ix_documents_source_id"), "documents", ["source_id"], unique=False)

    op.create_table(
        "rounds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=60), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("venue", sa.String(length=200), server_default="", nullable=False),
        sa.Column(
            "format",
            sa.Enum(
                "bilateral",
                "trilateral",
                "summit",
                "technical",
                "shuttle",
                name="round_format",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("outcome", sa.Text(), server_default="", nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.CheckConstraint("ends_on >= starts_on", name=op.f("ck_rounds_ends_after_start")),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["sources.id"],
            name=op.f("fk_rounds_source_id_sources"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rounds")),
        sa.UniqueConstraint("slug", name=op.f("uq_rounds_slug")),
    )
    op.create_index(op.f("ix_rounds_source_id"), "rounds", ["source_id"], unique=False)
    op.create_index(op.f("ix_rounds_starts_on"), "rounds", ["starts_on"], unique=False)

    op.create_table(
        "document_parties",
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("party_id", sa.Integer(), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "authoring",
                "endorsing",
                name="party_role",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_document_parties_document_id_documents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["party_id"],
            ["parties.id"],
            name=op.f("fk_document_parties_party_id_parties"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("document_id", "party_id", name=op.f("pk_document_parties")),
    )
    op.create_index(
        op.f("ix_document_parties_party_id"), "document_parties", ["party_id"], unique=False
    )

    op.create_table(
        "round_documents",
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_round_documents_document_id_documents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["rounds.id"],
            name=op.f("fk_round_documents_round_id_rounds"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("round_id", "document_id", name=op.f("pk_round_documents")),
    )
    op.create_index(
        op.f("ix_round_documents_document_id"), "round_documents", ["document_id"], unique=False
    )

    op.create_table(
        "round_parties",
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("party_id", sa.Integer(), nullable=False),
        sa.Column("delegation", sa.String(length=1000), server_default="", nullable=False),
        sa.ForeignKeyConstraint(
            ["party_id"],
            ["parties.id"],
            name=op.f("fk_round_parties_party_id_parties"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["rounds.id"],
            name=op.f("fk_round_parties_round_id_rounds"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("round_id", "party_id", name=op.f("pk_round_parties")),
    )
    op.create_index(op.f("ix_round_parties_party_id"), "round_parties", ["party_id"], unique=False)

    op.create_table(
        "document_points",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("quote_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=40), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_document_points_document_id_documents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["quote_id"],
            ["quotes.id"],
            name=op.f("fk_document_points_quote_id_quotes"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_points")),
        sa.UniqueConstraint(
            "document_id", "position", name=op.f("uq_document_points_document_id_position")
        ),
        sa.UniqueConstraint("quote_id", name=op.f("uq_document_points_quote_id")),
    )
    op.create_index(
        op.f("ix_document_points_document_id"), "document_points", ["document_id"], unique=False
    )

    op.create_table(
        "document_reactions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("quote_id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("point_id", sa.Integer(), nullable=True),
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
            nullable=True,
        ),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_document_reactions_document_id_documents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["point_id"],
            ["document_points.id"],
            name=op.f("fk_document_reactions_point_id_document_points"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["quote_id"],
            ["quotes.id"],
            name=op.f("fk_document_reactions_quote_id_quotes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_reactions")),
        sa.UniqueConstraint(
            "quote_id",
            "document_id",
            "point_id",
            name=op.f("uq_document_reactions_quote_id_document_id_point_id"),
        ),
    )
    op.create_index(
        op.f("ix_document_reactions_document_id"),
        "document_reactions",
        ["document_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_document_reactions_point_id"), "document_reactions", ["point_id"], unique=False
    )
    op.create_index(
        op.f("ix_document_reactions_quote_id"), "document_reactions", ["quote_id"], unique=False
    )

    op.create_table(
        "point_mappings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("point_id", sa.Integer(), nullable=False),
        sa.Column("predecessor_point_id", sa.Integer(), nullable=True),
        sa.Column(
            "relation",
            sa.Enum(
                "kept",
                "changed",
                "merged",
                "split",
                "new",
                name="point_relation",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.CheckConstraint(
            "(relation = 'new') = (predecessor_point_id IS NULL)",
            name=op.f("ck_point_mappings_new_iff_no_predecessor"),
        ),
        sa.ForeignKeyConstraint(
            ["point_id"],
            ["document_points.id"],
            name=op.f("fk_point_mappings_point_id_document_points"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["predecessor_point_id"],
            ["document_points.id"],
            name=op.f("fk_point_mappings_predecessor_point_id_document_points"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_point_mappings")),
        sa.UniqueConstraint(
            "point_id",
            "predecessor_point_id",
            name=op.f("uq_point_mappings_point_id_predecessor_point_id"),
        ),
    )
    op.create_index(
        op.f("ix_point_mappings_point_id"), "point_mappings", ["point_id"], unique=False
    )
    op.create_index(
        op.f("ix_point_mappings_predecessor_point_id"),
        "point_mappings",
        ["predecessor_point_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_point_mappings_predecessor_point_id"), table_name="point_mappings")
    op.drop_index(op.f("ix_point_mappings_point_id"), table_name="point_mappings")

    op.drop_table("point_mappings")
    op.drop_index(op.f("ix_document_reactions_quote_id"), table_name="document_reactions")
    op.drop_index(op.f("ix_document_reactions_point_id"), table_name="document_reactions")
    op.drop_index(op.f("ix_document_reactions_document_id"), table_name="document_reactions")

    op.drop_table("document_reactions")
    op.drop_index(op.f("ix_document_points_document_id"), table_name="document_points")

    op.drop_table("document_points")
    op.drop_index(op.f("ix_round_parties_party_id"), table_name="round_parties")

    op.drop_table("round_parties")
    op.drop_index(op.f("ix_round_documents_document_id"), table_name="round_documents")

    op.drop_table("round_documents")
    op.drop_index(op.f("ix_document_parties_party_id"), table_name="document_parties")

    op.drop_table("document_parties")
    op.drop_index(op.f("ix_rounds_starts_on"), table_name="rounds")
    op.drop_index(op.f("ix_rounds_source_id"), table_name="rounds")

    op.drop_table("rounds")
    op.drop_index(op.f("ix_documents_source_id"), table_name="documents")
    op.drop_index(op.f("ix_documents_derived_from_id"), table_name="documents")

    op.drop_table("documents")
