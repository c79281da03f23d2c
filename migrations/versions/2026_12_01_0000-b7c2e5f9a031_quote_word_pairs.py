"""PostgreSQL: each quote's adjacent word pairs, indexed, so a phrase search reads only the
quotes holding its pairs (`quotes.phrase_vector`).

A phrase of common words ("security guarantees for kyiv") is a few quotes, yet the text index
can only list the quotes holding all its words, each of which must then be read to check the
words' order: at a million quotes, thousands of rows for a phrase that may never occur. Each
pair of neighbouring words ("secur_guarante") becomes one lexeme of a second vector, generated
from the same text, meta and note as `search_vector` (so it is kept by the same writes and
triggers); a phrase's pairs are then one lookup of that vector's index. SQLite's FTS5 index
keeps word positions and needs nothing.

Revision ID: b7c2e5f9a031
Revises: 8a4f2c6e1d07
Create Date: 2026-12-01 00:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "b7c2e5f9a031"
down_revision: str | Sequence[str] | None = "8a4f2c6e1d07"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WORD_PAIRS = """
CREATE FUNCTION peacetalks_word_pairs(vector tsvector) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(array_to_tsvector(array_agg(DISTINCT a.lexeme || '_' || b.lexeme)), '')
    FROM (SELECT t.lexeme, p FROM unnest(vector) AS t, unnest(t.positions) AS p) AS a
    JOIN (SELECT t.lexeme, p FROM unnest(vector) AS t, unnest(t.positions) AS p) AS b
        ON b.p = a.p + 1
$$
"""
# A phrase's pairs as a query (every pair required); NULL for fewer than two words. Its
# lexemes are cast, not parsed: the parser would split a pair at its underscore.
PHRASE_PAIRS = """
CREATE FUNCTION peacetalks_phrase_pairs(phrase text) RETURNS tsquery
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT string_agg(quote_literal(lexeme), ' & ')::tsquery
    FROM unnest(peacetalks_word_pairs(to_tsvector('peacetalks_search'::regconfig, phrase)))
$$
"""


def _vector() -> str:
    # The expression of quotes.search_vector (revision 999e27deeea4), repeated: a generated
    # column cannot read another.
    return " || ".join(
        f"setweight(to_tsvector('peacetalks_search'::regconfig, coalesce({column}, '')), '{weight}')"
        for column, weight in (("text", "A"), ("search_meta", "B"), ("note", "C"))
    )


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(WORD_PAIRS)
    op.execute(PHRASE_PAIRS)
    op.execute(
        "ALTER TABLE quotes ADD COLUMN phrase_vector tsvector GENERATED ALWAYS AS "
        f"(peacetalks_word_pairs({_vector()})) STORED"
    )
    op.execute("CREATE INDEX ix_quotes_phrase_vector ON quotes USING gin (phrase_vector)")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX IF EXISTS ix_quotes_phrase_vector")
    op.execute("ALTER TABLE quotes DROP COLUMN IF EXISTS phrase_vector")
    op.execute("DROP FUNCTION IF EXISTS peacetalks_phrase_pairs(text)")
    op.execute("DROP FUNCTION IF EXISTS peacetalks_word_pairs(tsvector)")
