"""audit event details kept verbatim: JSON, not JSONB, on PostgreSQL.

JSONB normalizes numbers, so a float such as 1e16 came back as the integer
10000000000000000 and -0.0 as 0: the event's hash, computed over what was written, no
longer matched what verify read, and the chain reported an edit nobody made. JSON keeps
the text as written. Existing values keep their meaning (the rewrite goes through their
JSONB text, which is what verify already read).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22 11:10:00
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":  # SQLite keeps JSON as text already
        op.execute("ALTER TABLE audit_events ALTER COLUMN details TYPE json USING details::json")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE audit_events ALTER COLUMN details TYPE jsonb USING details::jsonb")
