"""records: full-text index (SQLite FTS5 external-content table, PostgreSQL GIN on to_tsvector)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 01:10:00
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

SQLITE_UP = (
    "CREATE VIRTUAL TABLE records_fts USING fts5(search_text, content='records', content_rowid='rowid', "
    "tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER records_fts_ai AFTER INSERT ON records BEGIN "
    "INSERT INTO records_fts(rowid, search_text) VALUES (new.rowid, new.search_text); END",
    "CREATE TRIGGER records_fts_ad AFTER DELETE ON records BEGIN "
    "INSERT INTO records_fts(records_fts, rowid, search_text) VALUES ('delete', old.rowid, old.search_text); END",
    "CREATE TRIGGER records_fts_au AFTER UPDATE OF search_text ON records BEGIN "
    "INSERT INTO records_fts(records_fts, rowid, search_text) VALUES ('delete', old.rowid, old.search_text); "
    "INSERT INTO records_fts(rowid, search_text) VALUES (new.rowid, new.search_text); END",
    "INSERT INTO records_fts(records_fts) VALUES ('rebuild')",
)
SQLITE_DOWN = (
    "DROP TRIGGER records_fts_au",
    "DROP TRIGGER records_fts_ad",
    "DROP TRIGGER records_fts_ai",
    "DROP TABLE records_fts",
)
PG_UP = "CREATE INDEX ix_records_fts ON records USING gin (to_tsvector('english'::regconfig, search_text))"
PG_DOWN = "DROP INDEX ix_records_fts"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_UP)
    else:
        for statement in SQLITE_UP:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_DOWN)
    else:
        for statement in SQLITE_DOWN:
            op.execute(statement)
