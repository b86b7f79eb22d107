"""encryption at rest and retention: data keys wrapped by the master key, sealed bodies
and attachments for AMBER+STRICT and RED, legal holds, retention per agency and category.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22 08:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import accord.core.db

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "data_keys",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=False),
        sa.Column("master_key_id", sa.String(length=16), nullable=False),
        sa.Column("wrapped", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", accord.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("rewrapped_at", accord.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["agency_id"], ["agencies.id"], name=op.f("fk_data_keys_agency_id_agencies")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_keys")),
    )
    op.create_index("ix_data_keys_master", "data_keys", ["master_key_id"])
    op.create_table(
        "retention_policies",
        sa.Column("agency_id", sa.Uuid(), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("retention_days", sa.Integer(), nullable=False),
        sa.Column("updated_at", accord.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by_user_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(["agency_id"], ["agencies.id"], name=op.f("fk_retention_policies_agency_id_agencies")),
        sa.ForeignKeyConstraint(
            ["updated_by_user_id"], ["users.id"], name=op.f("fk_retention_policies_updated_by_user_id_users")
        ),
        sa.PrimaryKeyConstraint("agency_id", "category", name=op.f("pk_retention_policies")),
    )
    for column in (
        sa.Column("body_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("legal_hold", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("legal_hold_reason", sa.String(length=500), server_default="", nullable=False),
        sa.Column("legal_hold_at", accord.core.db.UTCDateTime(timezone=True), nullable=True),
    ):
        op.add_column("records", column)  # a plain ADD COLUMN keeps the full-text triggers
    _add_reference("records", "data_key_id", "data_keys")
    _add_reference("records", "legal_hold_by_user_id", "users")
    op.add_column("record_revisions", sa.Column("body_sealed", sa.LargeBinary(), nullable=True))
    _add_reference("record_revisions", "data_key_id", "data_keys")
    _add_reference("record_attachments", "data_key_id", "data_keys")


def _add_reference(table: str, column: str, target: str) -> None:
    """A nullable UUID column referencing ``target``. SQLite gets it in a plain ADD COLUMN
    (a batch rebuild of ``records`` would drop its full-text triggers)."""
    name = f"fk_{table}_{column}_{target}"
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"ALTER TABLE {table} ADD COLUMN {column} CHAR(32) CONSTRAINT {name} REFERENCES {target} (id)")
    else:
        op.add_column(table, sa.Column(column, sa.Uuid(), nullable=True))
        op.create_foreign_key(name, table, target, [column], ["id"])


def downgrade() -> None:
    for table, column in (
        ("record_attachments", "data_key_id"),
        ("record_revisions", "data_key_id"),
        ("record_revisions", "body_sealed"),
        ("records", "legal_hold_by_user_id"),
        ("records", "data_key_id"),
        ("records", "legal_hold_at"),
        ("records", "legal_hold_reason"),
        ("records", "legal_hold"),
        ("records", "body_sealed"),
    ):
        if op.get_bind().dialect.name != "sqlite" and column.endswith("_id"):
            target = "users" if column.startswith("legal") else "data_keys"
            op.drop_constraint(f"fk_{table}_{column}_{target}", table, type_="foreignkey")
        op.drop_column(table, column)
    op.drop_table("retention_policies")
    op.drop_index("ix_data_keys_master", table_name="data_keys")
    op.drop_table("data_keys")
