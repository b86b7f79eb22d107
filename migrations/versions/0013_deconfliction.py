"""deconfliction of planned operations: the operations (owner agency, kind, private title
and case reference, a point with a radius or an area, window, contact, status) with their
bbox, the H3 cells (resolution 7) that cover each one in an indexed child table for the
overlap prefilter, and the notices told to each side of a conflict (one row per side and
pair, unique per recipient agency).

Revision ID: 0013
Revises: 0011
Create Date: 2026-12-06 16:35:33.527035
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import accord.core.db
from sqlalchemy.dialects import postgresql

revision = "0013"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "planned_operations",
        sa.Column("owner_agency_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("case_reference", sa.String(length=100), nullable=False),
        sa.Column(
            "location",
            sa.JSON(none_as_null=True).with_variant(
                postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), "postgresql"
            ),
            nullable=True,
        ),
        sa.Column("radius_m", sa.Float(), nullable=True),
        sa.Column(
            "area",
            sa.JSON(none_as_null=True).with_variant(
                postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), "postgresql"
            ),
            nullable=True,
        ),
        sa.Column("min_lon", sa.Float(), nullable=False),
        sa.Column("min_lat", sa.Float(), nullable=False),
        sa.Column("max_lon", sa.Float(), nullable=False),
        sa.Column("max_lat", sa.Float(), nullable=False),
        sa.Column("starts_at", accord.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", accord.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("contact_name", sa.String(length=150), nullable=False),
        sa.Column("contact_phone", sa.String(length=40), nullable=False),
        sa.Column("contact_user_id", sa.Uuid(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_by_user_id", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", accord.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", accord.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_user_id"], ["users.id"], name=op.f("fk_planned_operations_contact_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_user_id"], ["users.id"], name=op.f("fk_planned_operations_created_by_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["owner_agency_id"], ["agencies.id"], name=op.f("fk_planned_operations_owner_agency_id_agencies")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_planned_operations")),
    )
    with op.batch_alter_table("planned_operations", schema=None) as batch_op:
        batch_op.create_index("ix_planned_operations_bbox", ["min_lon", "min_lat", "max_lon", "max_lat"], unique=False)
        batch_op.create_index("ix_planned_operations_owner", ["owner_agency_id", "status", "starts_at"], unique=False)
        batch_op.create_index("ix_planned_operations_window", ["status", "starts_at", "ends_at"], unique=False)

    op.create_table(
        "deconfliction_notices",
        sa.Column("agency_id", sa.Uuid(), nullable=False),
        sa.Column("pair_key", sa.String(length=120), nullable=False),
        sa.Column("operation_id", sa.Uuid(), nullable=True),
        sa.Column("counterpart_operation_id", sa.Uuid(), nullable=True),
        sa.Column("incident_id", sa.Uuid(), nullable=True),
        sa.Column("other_agency_id", sa.Uuid(), nullable=False),
        sa.Column("other_contact_name", sa.String(length=150), nullable=False),
        sa.Column("other_contact_phone", sa.String(length=40), nullable=False),
        sa.Column("overlap_starts_at", accord.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("overlap_ends_at", accord.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("notified_at", accord.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_at", accord.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by_user_id", sa.Uuid(), nullable=True),
        sa.Column("resolved_at", accord.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", accord.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", accord.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["acknowledged_by_user_id"],
            ["users.id"],
            name=op.f("fk_deconfliction_notices_acknowledged_by_user_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_deconfliction_notices_agency_id_agencies")
        ),
        sa.ForeignKeyConstraint(
            ["counterpart_operation_id"],
            ["planned_operations.id"],
            name=op.f("fk_deconfliction_notices_counterpart_operation_id_planned_operations"),
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_deconfliction_notices_incident_id_incidents")
        ),
        sa.ForeignKeyConstraint(
            ["operation_id"],
            ["planned_operations.id"],
            name=op.f("fk_deconfliction_notices_operation_id_planned_operations"),
        ),
        sa.ForeignKeyConstraint(
            ["other_agency_id"], ["agencies.id"], name=op.f("fk_deconfliction_notices_other_agency_id_agencies")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deconfliction_notices")),
        sa.UniqueConstraint("agency_id", "pair_key", name=op.f("uq_deconfliction_notices_agency_id_pair_key")),
    )
    with op.batch_alter_table("deconfliction_notices", schema=None) as batch_op:
        batch_op.create_index(
            "ix_deconfliction_notices_agency", ["agency_id", "resolved_at", "notified_at"], unique=False
        )
        batch_op.create_index("ix_deconfliction_notices_counterpart", ["counterpart_operation_id"], unique=False)
        batch_op.create_index("ix_deconfliction_notices_incident", ["incident_id"], unique=False)
        batch_op.create_index("ix_deconfliction_notices_operation", ["operation_id"], unique=False)

    op.create_table(
        "planned_operation_cells",
        sa.Column("operation_id", sa.Uuid(), nullable=False),
        sa.Column("cell", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["operation_id"],
            ["planned_operations.id"],
            name=op.f("fk_planned_operation_cells_operation_id_planned_operations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("operation_id", "cell", name=op.f("pk_planned_operation_cells")),
    )
    with op.batch_alter_table("planned_operation_cells", schema=None) as batch_op:
        batch_op.create_index("ix_planned_operation_cells_cell", ["cell", "operation_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("planned_operation_cells", schema=None) as batch_op:
        batch_op.drop_index("ix_planned_operation_cells_cell")

    op.drop_table("planned_operation_cells")
    with op.batch_alter_table("deconfliction_notices", schema=None) as batch_op:
        batch_op.drop_index("ix_deconfliction_notices_operation")
        batch_op.drop_index("ix_deconfliction_notices_incident")
        batch_op.drop_index("ix_deconfliction_notices_counterpart")
        batch_op.drop_index("ix_deconfliction_notices_agency")

    op.drop_table("deconfliction_notices")
    with op.batch_alter_table("planned_operations", schema=None) as batch_op:
        batch_op.drop_index("ix_planned_operations_window")
        batch_op.drop_index("ix_planned_operations_owner")
        batch_op.drop_index("ix_planned_operations_bbox")

    op.drop_table("planned_operations")
