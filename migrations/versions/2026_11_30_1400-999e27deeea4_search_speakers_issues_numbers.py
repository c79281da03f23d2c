"""Quote search covers who said it, for whom, on what and where; every word is indexed.

A quote's searchable document is its text, its note and a "meta" part: the speaker's name and
role, the party's name and short name, the titles of the issues it is tagged with, and the
source's outlet and title. Triggers keep it current whatever writes: a quote edited or
retagged, a speaker, party, issue or source renamed.

PostgreSQL: `quotes.search_meta` holds the meta part (set by triggers); `search_vector` is
generated from text (weight A), meta (B) and note (C) with the `peacetalks_search`
configuration: English stemming without stop words, so a phrase of common words matches,
and accents taken off (the unaccent extension). Each write costs one lookup of the meta part
(a few primary-key reads) and, for a tag, one more write of its quote: no trigger scans.

SQLite: the FTS5 index reads its content from the view `quote_search_documents` (text, note,
meta). Every trigger pair removes a quote's entry with the values the view gives before the
change and adds it back with the values after it, so the index never holds stale words.
`INSERT INTO quotes_fts(quotes_fts) VALUES ('rebuild')` rebuilds it from the view at any time.

Revision ID: 999e27deeea4
Revises: 32869a18b747
Create Date: 2026-11-30 14:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "999e27deeea4"
down_revision: str | Sequence[str] | None = "32869a18b747"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# --- PostgreSQL --------------------------------------------------------------------------------

# PL/pgSQL, not SQL: its plans are kept for the session, which matters when a trigger calls it
# once per written row.
PG_META_FUNCTION = """
CREATE FUNCTION quote_search_meta(q_id integer, q_speaker integer, q_party integer,
                                  q_source integer) RETURNS text
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN concat_ws(' ',
        (SELECT s.name || ' ' || s.role FROM speakers AS s WHERE s.id = q_speaker),
        (SELECT p.name || ' ' || p.short_name FROM parties AS p WHERE p.id = q_party),
        (SELECT string_agg(i.title, ' ' ORDER BY i.id)
           FROM quote_issues AS t JOIN issues AS i ON i.id = t.issue_id WHERE t.quote_id = q_id),
        (SELECT o.outlet || ' ' || o.title FROM sources AS o WHERE o.id = q_source));
END $$
"""
"""The meta part of a quote: its speaker, party, issues' titles and source."""

PG_REFRESH = (
    "UPDATE quotes AS q SET search_meta = "
    "quote_search_meta(q.id, q.speaker_id, q.party_id, q.source_id) WHERE {where}"
)

PG_FUNCTIONS = [
    PG_META_FUNCTION,
    """CREATE FUNCTION quotes_search_meta_row() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        NEW.search_meta := quote_search_meta(NEW.id, NEW.speaker_id, NEW.party_id, NEW.source_id);
        RETURN NEW;
    END $$""",
    f"""CREATE FUNCTION quotes_search_meta_renamed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_TABLE_NAME = 'speakers' THEN
            {PG_REFRESH.format(where="q.speaker_id = NEW.id")};
        ELSIF TG_TABLE_NAME = 'parties' THEN
            {PG_REFRESH.format(where="q.party_id = NEW.id")};
        ELSIF TG_TABLE_NAME = 'sources' THEN
            {PG_REFRESH.format(where="q.source_id = NEW.id")};
        ELSIF TG_TABLE_NAME = 'issues' THEN
            {PG_REFRESH.format(where="q.id IN (SELECT t.quote_id FROM quote_issues AS t WHERE t.issue_id = NEW.id)")};
        END IF;
        RETURN NULL;
    END $$""",
    # Per row: the ORM writes a quote's tags one by one, and a row trigger is the cheaper there.
    f"""CREATE FUNCTION quotes_search_meta_retagged() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP IN ('INSERT', 'UPDATE') THEN
            {PG_REFRESH.format(where="q.id = NEW.quote_id")};
        END IF;
        IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND OLD.quote_id <> NEW.quote_id) THEN
            {PG_REFRESH.format(where="q.id = OLD.quote_id")};
        END IF;
        RETURN NULL;
    END $$""",
]

PG_RENAMES = {
    "speakers": ("name", "role"),
    "parties": ("name", "short_name"),
    "issues": ("title",),
    "sources": ("outlet", "title"),
}


def _pg_triggers() -> list[str]:
    triggers = [
        "CREATE TRIGGER quotes_search_meta BEFORE INSERT OR UPDATE OF speaker_id, party_id, "
        "source_id ON quotes FOR EACH ROW EXECUTE FUNCTION quotes_search_meta_row()",
        "CREATE TRIGGER quote_issues_search_retagged AFTER INSERT OR DELETE OR UPDATE OF "
        "quote_id, issue_id ON quote_issues FOR EACH ROW "
        "EXECUTE FUNCTION quotes_search_meta_retagged()",
    ]
    for table, columns in PG_RENAMES.items():
        changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in columns)
        triggers.append(
            f"CREATE TRIGGER {table}_search_renamed AFTER UPDATE OF {', '.join(columns)} "
            f"ON {table} FOR EACH ROW WHEN ({changed}) "
            "EXECUTE FUNCTION quotes_search_meta_renamed()"
        )
    return triggers


PG_TRIGGER_NAMES = [
    ("quotes_search_meta", "quotes"),
    ("quote_issues_search_retagged", "quote_issues"),
    *((f"{table}_search_renamed", table) for table in PG_RENAMES),
]


def _pg_vector(config: str) -> str:
    return " || ".join(
        f"setweight(to_tsvector('{config}'::regconfig, coalesce({column}, '')), '{weight}')"
        for column, weight in (("text", "A"), ("search_meta", "B"), ("note", "C"))
    )


def _upgrade_postgresql() -> None:
    # unaccent is a trusted extension (PostgreSQL 13+): the database owner may create it. It
    # stays on the way down, as other objects may have come to use it.
    op.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
    # English stemming with no stop-word list: "it but there are" stays searchable.
    op.execute(
        "CREATE TEXT SEARCH DICTIONARY peacetalks_english_stem "
        "(TEMPLATE = snowball, Language = english)"
    )
    op.execute("CREATE TEXT SEARCH CONFIGURATION peacetalks_search (COPY = english)")
    op.execute(
        "ALTER TEXT SEARCH CONFIGURATION peacetalks_search "
        "ALTER MAPPING REPLACE english_stem WITH peacetalks_english_stem"
    )
    # Words with letters beyond ASCII lose their accents first (Šefčovič is sefcovic).
    op.execute(
        "ALTER TEXT SEARCH CONFIGURATION peacetalks_search "
        "ALTER MAPPING FOR word, hword, hword_part WITH unaccent, peacetalks_english_stem"
    )
    for function in PG_FUNCTIONS:
        op.execute(function)
    op.execute("ALTER TABLE quotes ADD COLUMN search_meta text NOT NULL DEFAULT ''")
    op.execute(PG_REFRESH.format(where="true"))
    op.execute("DROP INDEX IF EXISTS ix_quotes_search_vector")
    op.execute("ALTER TABLE quotes DROP COLUMN IF EXISTS search_vector")
    op.execute(
        "ALTER TABLE quotes ADD COLUMN search_vector tsvector GENERATED ALWAYS AS "
        f"({_pg_vector('peacetalks_search')}) STORED"
    )
    op.execute("CREATE INDEX ix_quotes_search_vector ON quotes USING gin (search_vector)")
    for trigger in _pg_triggers():
        op.execute(trigger)


def _downgrade_postgresql() -> None:
    for name, table in PG_TRIGGER_NAMES:
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
    op.execute("DROP INDEX IF EXISTS ix_quotes_search_vector")
    op.execute("ALTER TABLE quotes DROP COLUMN IF EXISTS search_vector")
    op.execute("ALTER TABLE quotes DROP COLUMN IF EXISTS search_meta")
    for function in (
        "quotes_search_meta_retagged()",
        "quotes_search_meta_renamed()",
        "quotes_search_meta_row()",
        "quote_search_meta(integer, integer, integer, integer)",
    ):
        op.execute(f"DROP FUNCTION IF EXISTS {function}")
    op.execute("DROP TEXT SEARCH CONFIGURATION IF EXISTS peacetalks_search")
    op.execute("DROP TEXT SEARCH DICTIONARY IF EXISTS peacetalks_english_stem")
    # As revision 3563193f4fce left it.
    op.execute(
        "ALTER TABLE quotes ADD COLUMN search_vector tsvector GENERATED ALWAYS AS "
        "(to_tsvector('english', coalesce(text, '') || ' ' || coalesce(note, ''))) STORED"
    )
    op.execute("CREATE INDEX ix_quotes_search_vector ON quotes USING gin (search_vector)")


# --- SQLite ------------------------------------------------------------------------------------

SQLITE_VIEW = """
CREATE VIEW quote_search_documents AS
SELECT q.id AS id, q.text AS text, q.note AS note,
    coalesce((SELECT s.name || ' ' || s.role FROM speakers AS s WHERE s.id = q.speaker_id), '')
    || ' ' || coalesce((SELECT p.name || ' ' || p.short_name FROM parties AS p WHERE p.id = q.party_id), '')
    || ' ' || coalesce((SELECT group_concat(i.title, ' ') FROM quote_issues AS t
                        JOIN issues AS i ON i.id = t.issue_id WHERE t.quote_id = q.id), '')
    || ' ' || coalesce((SELECT o.outlet || ' ' || o.title FROM sources AS o WHERE o.id = q.source_id), '')
    AS meta
FROM quotes AS q
"""

SQLITE_FORGET = (
    "INSERT INTO quotes_fts(quotes_fts, rowid, text, note, meta) "
    "SELECT 'delete', id, text, note, meta FROM quote_search_documents WHERE {where};"
)
SQLITE_INDEX = (
    "INSERT INTO quotes_fts(rowid, text, note, meta) "
    "SELECT id, text, note, meta FROM quote_search_documents WHERE {where};"
)

# (name, event, when, quotes before, quotes after): each event gets a BEFORE trigger that takes
# the affected quotes out of the index as the view shows them now, and an AFTER trigger that
# puts them back as changed.
SQLITE_PAIRS = [
    ("quotes_search_update", "UPDATE OF text, note, speaker_id, party_id, source_id ON quotes", "", "id = old.id", "id = new.id"),
    ("quote_issues_search_insert", "INSERT ON quote_issues", "", "id = new.quote_id", "id = new.quote_id"),
    ("quote_issues_search_delete", "DELETE ON quote_issues", "", "id = old.quote_id", "id = old.quote_id"),
    ("quote_issues_search_update", "UPDATE OF quote_id, issue_id ON quote_issues", "", "id IN (old.quote_id, new.quote_id)", "id IN (old.quote_id, new.quote_id)"),
    ("speakers_search_renamed", "UPDATE OF name, role ON speakers", "old.name IS NOT new.name OR old.role IS NOT new.role", "id IN (SELECT id FROM quotes WHERE speaker_id = old.id)", "id IN (SELECT id FROM quotes WHERE speaker_id = new.id)"),
    ("parties_search_renamed", "UPDATE OF name, short_name ON parties", "old.name IS NOT new.name OR old.short_name IS NOT new.short_name", "id IN (SELECT id FROM quotes WHERE party_id = old.id)", "id IN (SELECT id FROM quotes WHERE party_id = new.id)"),
    ("issues_search_renamed", "UPDATE OF title ON issues", "old.title IS NOT new.title", "id IN (SELECT quote_id FROM quote_issues WHERE issue_id = old.id)", "id IN (SELECT quote_id FROM quote_issues WHERE issue_id = new.id)"),
    ("sources_search_renamed", "UPDATE OF outlet, title ON sources", "old.outlet IS NOT new.outlet OR old.title IS NOT new.title", "id IN (SELECT id FROM quotes WHERE source_id = old.id)", "id IN (SELECT id FROM quotes WHERE source_id = new.id)"),
]  # fmt: skip


def _sqlite_triggers() -> list[str]:
    triggers = [
        "CREATE TRIGGER quotes_search_insert AFTER INSERT ON quotes BEGIN "
        f"{SQLITE_INDEX.format(where='id = new.id')} END",
        # Its tags first, so that the index entry removed below is the one without them
        # (the foreign key's cascade then finds nothing left to delete).
        "CREATE TRIGGER quotes_search_delete BEFORE DELETE ON quotes BEGIN "
        "DELETE FROM quote_issues WHERE quote_id = old.id; "
        f"{SQLITE_FORGET.format(where='id = old.id')} END",
    ]
    for name, event, when, before, after in SQLITE_PAIRS:
        condition = f" WHEN {when}" if when else ""
        triggers.append(
            f"CREATE TRIGGER {name}_before BEFORE {event}{condition} BEGIN "
            f"{SQLITE_FORGET.format(where=before)} END"
        )
        triggers.append(
            f"CREATE TRIGGER {name}_after AFTER {event}{condition} BEGIN "
            f"{SQLITE_INDEX.format(where=after)} END"
        )
    return triggers


SQLITE_TRIGGER_NAMES = [
    "quotes_search_insert",
    "quotes_search_delete",
    *(f"{name}_{when}" for name, *_ in SQLITE_PAIRS for when in ("before", "after")),
]

# As revision 3563193f4fce left it (for the way down).
SQLITE_OLD_TRIGGERS = [
    """CREATE TRIGGER quotes_fts_insert AFTER INSERT ON quotes BEGIN
        INSERT INTO quotes_fts(rowid, text, note) VALUES (new.id, new.text, new.note);
    END""",
    """CREATE TRIGGER quotes_fts_delete AFTER DELETE ON quotes BEGIN
        INSERT INTO quotes_fts(quotes_fts, rowid, text, note) VALUES ('delete', old.id, old.text, old.note);
    END""",
    """CREATE TRIGGER quotes_fts_update AFTER UPDATE OF text, note ON quotes BEGIN
        INSERT INTO quotes_fts(quotes_fts, rowid, text, note) VALUES ('delete', old.id, old.text, old.note);
        INSERT INTO quotes_fts(rowid, text, note) VALUES (new.id, new.text, new.note);
    END""",
]
SQLITE_TOKENIZER = "tokenize='porter unicode61 remove_diacritics 2'"


def _upgrade_sqlite() -> None:
    for name in ("quotes_fts_insert", "quotes_fts_delete", "quotes_fts_update"):
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.execute("DROP TABLE IF EXISTS quotes_fts")
    op.execute(SQLITE_VIEW)
    op.execute(
        "CREATE VIRTUAL TABLE quotes_fts USING fts5(text, note, meta, "
        f"content='quote_search_documents', content_rowid='id', {SQLITE_TOKENIZER})"
    )
    for trigger in _sqlite_triggers():
        op.execute(trigger)
    op.execute("INSERT INTO quotes_fts(quotes_fts) VALUES ('rebuild')")


def _downgrade_sqlite() -> None:
    for name in SQLITE_TRIGGER_NAMES:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.execute("DROP TABLE IF EXISTS quotes_fts")
    op.execute("DROP VIEW IF EXISTS quote_search_documents")
    op.execute(
        "CREATE VIRTUAL TABLE quotes_fts USING fts5("
        f"text, note, content='quotes', content_rowid='id', {SQLITE_TOKENIZER})"
    )
    for trigger in SQLITE_OLD_TRIGGERS:
        op.execute(trigger)
    op.execute("INSERT INTO quotes_fts(quotes_fts) VALUES ('rebuild')")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _upgrade_postgresql()
    else:
        _upgrade_sqlite()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _downgrade_postgresql()
    else:
        _downgrade_sqlite()
