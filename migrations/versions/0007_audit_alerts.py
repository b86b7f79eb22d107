"""audit alerts: trouble with the audit trail itself (a failed audit write, a broken
chain), kept apart from the log for platform administrators.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22 06:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import accord.core.db

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_alerts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("message", sa.String(length=2000), nullable=False),
        sa.Column("raised_at", accord.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_at", accord.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by", sa.String(length=150), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_alerts")),
    )


def downgrade() -> None:
    op.drop_table("audit_alerts")
