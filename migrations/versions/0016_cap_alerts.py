"""CAP alerts: the public alerts published for incidents (append-only: UPDATE and DELETE
refused by triggers, the stored XML is what was served) and the outside CAP alerts
imported as incident reports.

Revision ID: 0016
Revises: 0011
Create Date: 2026-12-06 17:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import accord.core.db

revision = "0016"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "incident_alerts",
        sa.Column("incident_id", sa.Uuid(), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=False),
        sa.Column("thread_id", sa.Uuid(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("msg_type", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("identifier", sa.String(length=120), nullable=False),
        sa.Column("sender", sa.String(length=200), nullable=False),
        sa.Column("sent_at", accord.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("effective_at", accord.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("expires_at", accord.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("event", sa.String(length=200), nullable=False),
        sa.Column("headline", sa.String(length=200), nullable=False),
        sa.Column("urgency", sa.String(length=10), nullable=False),
        sa.Column("severity", sa.String(length=10), nullable=False),
        sa.Column("certainty", sa.String(length=10), nullable=False),
        sa.Column("note", sa.String(length=1000), nullable=False),
        sa.Column("xml", sa.LargeBinary(), nullable=False),
        sa.Column("xml_sha256", sa.String(length=64), nullable=False),
        sa.Column("published_by_user_id", sa.Uuid(), nullable=True),
        sa.Column("published_at", accord.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["agency_id"], ["agencies.id"], name=op.f("fk_incident_alerts_agency_id_agencies")),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_incident_alerts_incident_id_incidents")
        ),
        sa.ForeignKeyConstraint(
            ["published_by_user_id"], ["users.id"], name=op.f("fk_incident_alerts_published_by_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_alerts")),
        sa.UniqueConstraint("sender", "identifier", name=op.f("uq_incident_alerts_sender_identifier")),
        sa.UniqueConstraint("thread_id", "sequence", name=op.f("uq_incident_alerts_thread_id_sequence")),
    )
    with op.batch_alter_table("incident_alerts", schema=None) as batch_op:
        batch_op.create_index("ix_incident_alerts_incident", ["incident_id", "sent_at"], unique=False)
        batch_op.create_index("ix_incident_alerts_sent", ["sent_at"], unique=False)

    op.create_table(
        "incident_alert_imports",
        sa.Column("agency_id", sa.Uuid(), nullable=False),
        sa.Column("incident_id", sa.Uuid(), nullable=False),
        sa.Column("sender", sa.String(length=300), nullable=False),
        sa.Column("identifier", sa.String(length=300), nullable=False),
        sa.Column("sent_at", accord.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("msg_type", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("scope", sa.String(length=10), nullable=False),
        sa.Column("event", sa.String(length=200), nullable=False),
        sa.Column("outcome", sa.String(length=10), nullable=False),
        sa.Column("xml_sha256", sa.String(length=64), nullable=False),
        sa.Column("source_url", sa.String(length=2000), nullable=True),
        sa.Column("imported_by_user_id", sa.Uuid(), nullable=True),
        sa.Column("imported_at", accord.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_incident_alert_imports_agency_id_agencies")
        ),
        sa.ForeignKeyConstraint(
            ["imported_by_user_id"], ["users.id"], name=op.f("fk_incident_alert_imports_imported_by_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_incident_alert_imports_incident_id_incidents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_alert_imports")),
        sa.UniqueConstraint(
            "agency_id", "sender", "identifier", name=op.f("uq_incident_alert_imports_agency_id_sender_identifier")
        ),
    )
    with op.batch_alter_table("incident_alert_imports", schema=None) as batch_op:
        batch_op.create_index("ix_incident_alert_imports_incident", ["incident_id"], unique=False)

    _append_only()


_MESSAGE = "incident_alerts is append-only: a published alert is changed by publishing an Update or a Cancel"
_PG_TRIGGERS = f"""
CREATE FUNCTION incident_alerts_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '{_MESSAGE}';
END $$;
CREATE TRIGGER incident_alerts_no_change BEFORE UPDATE OR DELETE ON incident_alerts
  FOR EACH ROW EXECUTE FUNCTION incident_alerts_append_only();
CREATE TRIGGER incident_alerts_no_truncate BEFORE TRUNCATE ON incident_alerts
  FOR EACH STATEMENT EXECUTE FUNCTION incident_alerts_append_only();
"""
_SQLITE_TRIGGERS = (
    f"CREATE TRIGGER incident_alerts_no_update BEFORE UPDATE ON incident_alerts "
    f"BEGIN SELECT RAISE(ABORT, '{_MESSAGE}'); END",
    f"CREATE TRIGGER incident_alerts_no_delete BEFORE DELETE ON incident_alerts "
    f"BEGIN SELECT RAISE(ABORT, '{_MESSAGE}'); END",
)


def _append_only() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_TRIGGERS)
    else:
        for statement in _SQLITE_TRIGGERS:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER incident_alerts_no_change ON incident_alerts")
        op.execute("DROP TRIGGER incident_alerts_no_truncate ON incident_alerts")
        op.execute("DROP FUNCTION incident_alerts_append_only()")
    else:
        op.execute("DROP TRIGGER incident_alerts_no_update")
        op.execute("DROP TRIGGER incident_alerts_no_delete")
    with op.batch_alter_table("incident_alert_imports", schema=None) as batch_op:
        batch_op.drop_index("ix_incident_alert_imports_incident")
    op.drop_table("incident_alert_imports")
    with op.batch_alter_table("incident_alerts", schema=None) as batch_op:
        batch_op.drop_index("ix_incident_alerts_sent")
        batch_op.drop_index("ix_incident_alerts_incident")
    op.drop_table("incident_alerts")
