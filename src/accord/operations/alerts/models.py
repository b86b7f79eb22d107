"""Published CAP alerts of incidents, and the outside CAP alerts imported as incident reports.

``incident_alerts`` is append-only in the database (triggers refuse UPDATE and DELETE, see
migration 0016): the stored XML is exactly what was served, byte for byte, with its SHA-256.
An Update or a Cancel is a new row in the same thread (``thread_id`` names the first
message, ``sequence`` counts from 1)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from accord.core.db import Base, IdMixin
from accord.core.time import utcnow


class IncidentAlert(IdMixin, Base):
    """One CAP 1.2 message (Alert, Update or Cancel) published for an incident."""

    __tablename__ = "incident_alerts"
    __table_args__ = (
        UniqueConstraint("sender", "identifier"),
        UniqueConstraint("thread_id", "sequence"),
        Index("ix_incident_alerts_incident", "incident_id", "sent_at"),
        Index("ix_incident_alerts_sent", "sent_at"),
    )

    incident_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("incidents.id"))
    agency_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("agencies.id"))
    thread_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    sequence: Mapped[int] = mapped_column(Integer)
    msg_type: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(10))
    identifier: Mapped[str] = mapped_column(String(120))
    sender: Mapped[str] = mapped_column(String(200))
    sent_at: Mapped[datetime] = mapped_column()
    effective_at: Mapped[datetime | None] = mapped_column()
    expires_at: Mapped[datetime | None] = mapped_column()
    event: Mapped[str] = mapped_column(String(200))
    headline: Mapped[str] = mapped_column(String(200))
    urgency: Mapped[str] = mapped_column(String(10))
    severity: Mapped[str] = mapped_column(String(10))
    certainty: Mapped[str] = mapped_column(String(10))
    note: Mapped[str] = mapped_column(String(1000), default="")
    xml: Mapped[bytes] = mapped_column(LargeBinary)
    xml_sha256: Mapped[str] = mapped_column(String(64))
    published_by_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))
    published_at: Mapped[datetime] = mapped_column(default=utcnow)


class ImportedAlert(IdMixin, Base):
    """An outside CAP alert an agency imported: where its incident report came from.

    Deduplicated per importing agency by ``(sender, identifier)``; an Update or a Cancel
    of an imported alert is a row of its own linked to the same incident."""

    __tablename__ = "incident_alert_imports"
    __table_args__ = (
        UniqueConstraint("agency_id", "sender", "identifier"),
        Index("ix_incident_alert_imports_incident", "incident_id"),
    )

    agency_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("agencies.id"))
    incident_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("incidents.id"))
    sender: Mapped[str] = mapped_column(String(300))
    identifier: Mapped[str] = mapped_column(String(300))
    sent_at: Mapped[datetime] = mapped_column()
    msg_type: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(10))
    scope: Mapped[str] = mapped_column(String(10))
    event: Mapped[str] = mapped_column(String(200), default="")
    outcome: Mapped[str] = mapped_column(String(10))  # imported | updated | cancelled
    xml_sha256: Mapped[str] = mapped_column(String(64))
    source_url: Mapped[str | None] = mapped_column(String(2000))
    imported_by_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)
