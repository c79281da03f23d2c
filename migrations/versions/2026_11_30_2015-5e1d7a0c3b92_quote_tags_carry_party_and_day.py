"""A quote's tags carry its party and day, so a cell's quotes and the API's filters are index ranges.

`quote_issues` gains `party_id` and `said_on`, copies of its quote's, kept by triggers whatever
writes (the ORM, the import, COPY, SQL by hand): a tag written takes its quote's values, and a
quote whose party or day changes passes them to its tags. Three indexes then answer, newest
first and bounded by what they ask: one cell's quotes (issue, party, day), an issue's quotes
of one stance (issue, stance, day) and an issue's quotes (issue, day; it replaces the index on
`issue_id` alone, which it covers). Without them a cell's page walked every quote of the party
by date and kept the 1 in 40 tagged with the issue.

Plain nullable columns added in place: on SQLite a batch rebuild of `quote_issues` would drop
the search triggers on it. The tags' update triggers fire on their own columns only, so these
never touch the search index.

Revision ID: 5e1d7a0c3b92
Revises: 7c3e9a41d2b8
Create Date: 2026-11-30 20:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5e1d7a0c3b92"
down_revision: str | Sequence[str] | None = "7c3e9a41d2b8"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = {
    "ix_quote_issues_cell": ["issue_id", "party_id", "said_on", "quote_id"],
    "ix_quote_issues_stance": ["issue_id", "stance", "said_on", "quote_id"],
    "ix_quote_issues_issue_said_on": ["issue_id", "said_on", "quote_id"],
}

BACKFILL = (
    "UPDATE quote_issues SET "
    "party_id = (SELECT q.party_id FROM quotes AS q WHERE q.id = quote_issues.quote_id), "
    "said_on = (SELECT q.said_on FROM quotes AS q WHERE q.id = quote_issues.quote_id)"
)

PG_FUNCTIONS = [
    """CREATE FUNCTION quote_issues_copy_quote() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        SELECT q.party_id, q.said_on INTO NEW.party_id, NEW.said_on
          FROM quotes AS q WHERE q.id = NEW.quote_id;
        RETURN NEW;
    END $$""",
    """CREATE FUNCTION quotes_copy_to_tags() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE quote_issues SET party_id = NEW.party_id, said_on = NEW.said_on
         WHERE quote_id = NEW.id;
        RETURN NULL;
    END $$""",
]
PG_TRIGGERS = [
    "CREATE TRIGGER quote_issues_copy_quote BEFORE INSERT OR UPDATE OF quote_id, party_id, "
    "said_on ON quote_issues FOR EACH ROW EXECUTE FUNCTION quote_issues_copy_quote()",
    "CREATE TRIGGER quotes_copy_to_tags AFTER UPDATE OF party_id, said_on ON quotes FOR EACH ROW "
    "WHEN (OLD.party_id IS DISTINCT FROM NEW.party_id OR OLD.said_on IS DISTINCT FROM NEW.said_on) "
    "EXECUTE FUNCTION quotes_copy_to_tags()",
]

_SQLITE_COPY = (
    "UPDATE quote_issues SET "
    "party_id = (SELECT q.party_id FROM quotes AS q WHERE q.id = new.quote_id), "
    "said_on = (SELECT q.said_on FROM quotes AS q WHERE q.id = new.quote_id) "
    "WHERE quote_id = new.quote_id AND issue_id = new.issue_id;"
)
# SQLite cannot assign NEW in a trigger: the tag is updated right after it is written, and the
# update trigger below fires on its own columns only (a tag's copy is never written by hand).
SQLITE_TRIGGERS = [
    f"CREATE TRIGGER quote_issues_copy_insert AFTER INSERT ON quote_issues BEGIN {_SQLITE_COPY} END",
    f"CREATE TRIGGER quote_issues_copy_moved AFTER UPDATE OF quote_id ON quote_issues BEGIN "
    f"{_SQLITE_COPY} END",
    "CREATE TRIGGER quotes_copy_to_tags AFTER UPDATE OF party_id, said_on ON quotes "
    "WHEN old.party_id IS NOT new.party_id OR old.said_on IS NOT new.said_on BEGIN "
    "UPDATE quote_issues SET party_id = new.party_id, said_on = new.said_on "
    "WHERE quote_id = new.id; END",
]
SQLITE_TRIGGER_NAMES = [
    "quote_issues_copy_insert",
    "quote_issues_copy_moved",
    "quotes_copy_to_tags",
]


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    op.add_column("quote_issues", sa.Column("party_id", sa.Integer(), nullable=True))
    op.add_column("quote_issues", sa.Column("said_on", sa.Date(), nullable=True))
    op.execute(BACKFILL)
    for statement in (PG_FUNCTIONS + PG_TRIGGERS) if postgresql else SQLITE_TRIGGERS:
        op.execute(statement)
    for name, columns in INDEXES.items():
        op.create_index(name, "quote_issues", columns)
    op.drop_index("ix_quote_issues_issue_id", table_name="quote_issues")


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    op.create_index("ix_quote_issues_issue_id", "quote_issues", ["issue_id"])
    for name in INDEXES:
        op.drop_index(name, table_name="quote_issues")
    if postgresql:
        op.execute("DROP TRIGGER IF EXISTS quotes_copy_to_tags ON quotes")
        op.execute("DROP TRIGGER IF EXISTS quote_issues_copy_quote ON quote_issues")
        op.execute("DROP FUNCTION IF EXISTS quotes_copy_to_tags()")
        op.execute("DROP FUNCTION IF EXISTS quote_issues_copy_quote()")
    else:
        for name in SQLITE_TRIGGER_NAMES:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    # SQLite drops a column in place (3.35+) when nothing indexes or references it.
    op.drop_column("quote_issues", "said_on")
    op.drop_column("quote_issues", "party_id")
