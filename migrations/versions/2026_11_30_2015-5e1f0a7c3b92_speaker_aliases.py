"""Speaker aliases: other writings of a speaker's name, searched like the name.

A new table `speaker_aliases`. A quote's searchable "meta" part (revision 999e27deeea4) gains
its speaker's aliases after the name and role, so a search for "Selenskyj" finds the quotes
of Volodymyr Zelenskyy. With no alias the meta text is exactly what it was, so nothing has to
be reindexed here.

PostgreSQL: `quote_search_meta()` is replaced with one that appends the aliases, and a trigger
on `speaker_aliases` refreshes the meta of the speaker's quotes when one is added, changed or
removed. SQLite: the view the FTS5 index reads from is replaced (the `quotes` and `speakers`
tables and their triggers stay as they are), and trigger pairs on `speaker_aliases` take the
speaker's quotes out of the index before the change and put them back after it.

Revision ID: 5e1f0a7c3b92
Revises: 5e1d7a0c3b92
Create Date: 2026-11-30 20:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5e1f0a7c3b92"
down_revision: str | Sequence[str] | None = "5e1d7a0c3b92"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _pg_meta_function(speaker_part: str) -> str:
    return f"""
CREATE OR REPLACE FUNCTION quote_search_meta(q_id integer, q_speaker integer, q_party integer,
                                             q_source integer) RETURNS text
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN concat_ws(' ',
        ({speaker_part}),
        (SELECT p.name || ' ' || p.short_name FROM parties AS p WHERE p.id = q_party),
        (SELECT string_agg(i.title, ' ' ORDER BY i.id)
           FROM quote_issues AS t JOIN issues AS i ON i.id = t.issue_id WHERE t.quote_id = q_id),
        (SELECT o.outlet || ' ' || o.title FROM sources AS o WHERE o.id = q_source));
END $$
"""


PG_SPEAKER_BEFORE = "SELECT s.name || ' ' || s.role FROM speakers AS s WHERE s.id = q_speaker"
PG_SPEAKER_WITH_ALIASES = (
    "SELECT s.name || ' ' || s.role || coalesce(' ' || (SELECT string_agg(a.name, ' ' "
    "ORDER BY a.id) FROM speaker_aliases AS a WHERE a.speaker_id = s.id), '') "
    "FROM speakers AS s WHERE s.id = q_speaker"
)
PG_REFRESH = (
    "UPDATE quotes AS q SET search_meta = "
    "quote_search_meta(q.id, q.speaker_id, q.party_id, q.source_id) WHERE q.speaker_id = {who}"
)
PG_ALIASED_FUNCTION = f"""
CREATE FUNCTION quotes_search_meta_aliased() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        {PG_REFRESH.format(who="NEW.speaker_id")};
    END IF;
    IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND OLD.speaker_id <> NEW.speaker_id) THEN
        {PG_REFRESH.format(who="OLD.speaker_id")};
    END IF;
    RETURN NULL;
END $$
"""

SQLITE_VIEW = """
CREATE VIEW quote_search_documents AS
SELECT q.id AS id, q.text AS text, q.note AS note,
    coalesce((SELECT s.name || ' ' || s.role{aliases} FROM speakers AS s WHERE s.id = q.speaker_id), '')
    || ' ' || coalesce((SELECT p.name || ' ' || p.short_name FROM parties AS p WHERE p.id = q.party_id), '')
    || ' ' || coalesce((SELECT group_concat(i.title, ' ') FROM quote_issues AS t
                        JOIN issues AS i ON i.id = t.issue_id WHERE t.quote_id = q.id), '')
    || ' ' || coalesce((SELECT o.outlet || ' ' || o.title FROM sources AS o WHERE o.id = q.source_id), '')
    AS meta
FROM quotes AS q
"""
SQLITE_ALIASES = (
    " || coalesce(' ' || (SELECT group_concat(a.name, ' ') FROM "
    "(SELECT name FROM speaker_aliases WHERE speaker_id = s.id ORDER BY id) AS a), '')"
)
SQLITE_FORGET = (
    "INSERT INTO quotes_fts(quotes_fts, rowid, text, note, meta) "
    "SELECT 'delete', id, text, note, meta FROM quote_search_documents WHERE {where};"
)
SQLITE_INDEX = (
    "INSERT INTO quotes_fts(rowid, text, note, meta) "
    "SELECT id, text, note, meta FROM quote_search_documents WHERE {where};"
)
SQLITE_OF = "id IN (SELECT id FROM quotes WHERE speaker_id {who})"
SQLITE_PAIRS = [
    ("speaker_aliases_search_insert", "INSERT", "= new.speaker_id", "= new.speaker_id"),
    ("speaker_aliases_search_delete", "DELETE", "= old.speaker_id", "= old.speaker_id"),
    (
        "speaker_aliases_search_update",
        "UPDATE OF name, speaker_id",
        "IN (old.speaker_id, new.speaker_id)",
        "IN (old.speaker_id, new.speaker_id)",
    ),
]


def upgrade() -> None:
    op.create_table(
        "speaker_aliases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("speaker_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["speaker_id"],
            ["speakers.id"],
            name=op.f("fk_speaker_aliases_speaker_id_speakers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_speaker_aliases")),
        sa.UniqueConstraint("speaker_id", "name", name=op.f("uq_speaker_aliases_speaker_id_name")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_pg_meta_function(PG_SPEAKER_WITH_ALIASES))
        op.execute(PG_ALIASED_FUNCTION)
        op.execute(
            "CREATE TRIGGER speaker_aliases_search AFTER INSERT OR DELETE OR UPDATE "
            "ON speaker_aliases FOR EACH ROW EXECUTE FUNCTION quotes_search_meta_aliased()"
        )
        return
    op.execute("DROP VIEW quote_search_documents")
    op.execute(SQLITE_VIEW.format(aliases=SQLITE_ALIASES))
    for name, event, before, after in SQLITE_PAIRS:
        forget = SQLITE_FORGET.format(where=SQLITE_OF.format(who=before))
        index = SQLITE_INDEX.format(where=SQLITE_OF.format(who=after))
        op.execute(
            f"CREATE TRIGGER {name}_before BEFORE {event} ON speaker_aliases BEGIN {forget} END"
        )
        op.execute(
            f"CREATE TRIGGER {name}_after AFTER {event} ON speaker_aliases BEGIN {index} END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS speaker_aliases_search ON speaker_aliases")
        op.execute("DROP FUNCTION IF EXISTS quotes_search_meta_aliased()")
        op.execute(_pg_meta_function(PG_SPEAKER_BEFORE))
        op.drop_table("speaker_aliases")
        # Quotes of speakers that had aliases lose them from their searchable meta part.
        op.execute(
            "UPDATE quotes AS q SET search_meta = "
            "quote_search_meta(q.id, q.speaker_id, q.party_id, q.source_id) "
            "WHERE q.search_meta IS DISTINCT FROM "
            "quote_search_meta(q.id, q.speaker_id, q.party_id, q.source_id)"
        )
        return
    for name, *_ in SQLITE_PAIRS:
        for when in ("before", "after"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}_{when}")
    op.execute("DROP VIEW quote_search_documents")
    op.execute(SQLITE_VIEW.format(aliases=""))
    op.drop_table("speaker_aliases")
    op.execute("INSERT INTO quotes_fts(quotes_fts) VALUES ('rebuild')")
