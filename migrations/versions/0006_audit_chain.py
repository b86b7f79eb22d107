"""audit chain: events are hash-chained and leaves of a Merkle tree; the chain head and
signed checkpoints get tables. Events written before this revision are chained here, in
the order they were written (their hashes are set once, with the append-only triggers
lifted for this one statement per row and restored at once).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 06:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from sqlalchemy.dialects import postgresql

import accord.core.db
import accord.core.time
from accord.audit import chain

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

EVENT_COLUMNS = [c for c in chain.FIELDS if c != "chain_index"]


def _lift_triggers(lift: bool) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE audit_events {'DISABLE' if lift else 'ENABLE'} TRIGGER audit_events_no_change")
    elif lift:
        op.execute("DROP TRIGGER audit_events_no_update")
    else:
        op.execute(
            "CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events "
            "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END"
        )


def upgrade() -> None:
    op.add_column("audit_events", sa.Column("chain_index", sa.BigInteger(), nullable=True))
    op.create_index("ux_audit_events_chain_index", "audit_events", ["chain_index"], unique=True)
    json_type = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
    op.create_table(
        "audit_chain_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("head_hash", sa.String(length=64), nullable=False),
        sa.Column("frontier", json_type, nullable=False),
        sa.Column("updated_at", accord.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("checkpointed_at", accord.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_chain_head")),
    )
    op.create_table(
        "audit_checkpoints",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tree_size", sa.BigInteger(), nullable=False),
        sa.Column("root_hash", sa.String(length=64), nullable=False),
        sa.Column("head_hash", sa.String(length=64), nullable=False),
        sa.Column("signed_at", accord.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("signature", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_checkpoints")),
        sa.UniqueConstraint("tree_size", name=op.f("uq_audit_checkpoints_tree_size")),
    )
    _chain_existing()


def _chain_existing() -> None:
    conn = op.get_bind()
    events = sa.table(
        "audit_events",
        sa.column("seq", sa.BigInteger()),
        sa.column("chain_index", sa.BigInteger()),
        sa.column("prev_hash", sa.String()),
        sa.column("hash", sa.String()),
        sa.column("occurred_at", accord.core.db.UTCDateTime()),
        sa.column("details", sa.JSON().with_variant(postgresql.JSONB(), "postgresql")),
        *[sa.column(c) for c in EVENT_COLUMNS if c not in ("occurred_at", "details")],
    )
    rows = conn.execute(sa.select(events).order_by(events.c.seq)).mappings().all()
    head, frontier = chain.GENESIS, []
    if rows:
        _lift_triggers(True)
        for index, row in enumerate(rows):
            fields = {**{c: row[c] for c in EVENT_COLUMNS}, "chain_index": index}
            digest = chain.event_hash(head, _typed(fields))
            conn.execute(
                events.update().where(events.c.seq == row["seq"]).values(chain_index=index, prev_hash=head, hash=digest)
            )
            head = digest
            frontier = chain.append_leaf(frontier, chain.leaf_hash(digest))
        _lift_triggers(False)
    head_table = sa.table(
        "audit_chain_head",
        sa.column("id", sa.Integer()),
        sa.column("size", sa.BigInteger()),
        sa.column("head_hash", sa.String()),
        sa.column("frontier", sa.JSON().with_variant(postgresql.JSONB(), "postgresql")),
        sa.column("updated_at", accord.core.db.UTCDateTime()),
    )
    conn.execute(
        head_table.insert().values(
            id=1,
            size=len(rows),
            head_hash=head,
            frontier=[[n, h.hex()] for n, h in frontier],
            updated_at=accord.core.time.utcnow(),
        )
    )


def _typed(fields: dict) -> dict:
    """Values as the application writes them (UUIDs from SQLite come back as text)."""
    import uuid

    typed = dict(fields)
    for name in ("id", "actor_user_id", "actor_agency_id", "agency_id", "clause_id"):
        value = typed[name]
        if isinstance(value, str):
            typed[name] = uuid.UUID(value)
    return typed


def downgrade() -> None:
    op.drop_table("audit_checkpoints")
    op.drop_table("audit_chain_head")
    op.drop_index("ux_audit_events_chain_index", table_name="audit_events")
    # Not batch mode: rebuilding the table on SQLite would drop its append-only triggers.
    op.execute("ALTER TABLE audit_events DROP COLUMN chain_index")
