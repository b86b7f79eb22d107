"""Incidents, the agencies taking part, and the activity log (ICS-214).

The activity log is append-only in the database (triggers refuse UPDATE and DELETE, see
migration 0011): a correction is a new entry naming the one it corrects."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from accord.core.db import Base, IdMixin, TimestampMixin
from accord.core.time import utcnow


class Incident(IdMixin, TimestampMixin, Base):
    __tablename__ = "incidents"
    __table_args__ = (
        Index("ix_incidents_lead_status", "lead_agency_id", "status"),
        Index("ix_incidents_tier", "tier_rank"),
    )

    number: Mapped[str] = mapped_column(String(20), unique=True)  # e.g. 2026-0007
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(40))
    severity: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    lead_agency_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("agencies.id"))
    tier: Mapped[str] = mapped_column(String(16))
    tier_rank: Mapped[int] = mapped_column(Integer)
    summary: Mapped[str] = mapped_column(String(4000), default="")
    location: Mapped[dict[str, Any] | None] = mapped_column()  # GeoJSON Point
    area: Mapped[dict[str, Any] | None] = mapped_column()  # GeoJSON (Multi)Polygon
    min_lon: Mapped[float | None] = mapped_column(Float)
    min_lat: Mapped[float | None] = mapped_column(Float)
    max_lon: Mapped[float | None] = mapped_column(Float)
    max_lat: Mapped[float | None] = mapped_column(Float)
    started_at: Mapped[datetime] = mapped_column()
    closed_at: Mapped[datetime | None] = mapped_column()
    created_by_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))

    participants: Mapped[list[IncidentParticipant]] = relationship(
        back_populates="incident",
        cascade="all, delete-orphan",
        lazy="selectin",
        order_by="IncidentParticipant.joined_at",
    )


class IncidentParticipant(Base):
    """An agency taking part: its members see the whole incident (ADR 14)."""

    __tablename__ = "incident_participants"
    __table_args__ = (Index("ix_incident_participants_agency", "agency_id"),)

    incident_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("incidents.id"), primary_key=True)
    agency_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("agencies.id"), primary_key=True)
    joined_at: Mapped[datetime] = mapped_column(default=utcnow)
    added_by_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))

    incident: Mapped[Incident] = relationship(back_populates="participants")


class ActivityEntry(IdMixin, Base):
    """One line of an ICS-214 activity log: who (person, agency, unit) did or saw what, when."""

    __tablename__ = "incident_activity"
    __table_args__ = (Index("ix_incident_activity_incident", "incident_id", "logged_at"),)

    incident_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("incidents.id"))
    logged_at: Mapped[datetime] = mapped_column(default=utcnow)  # when it was written
    occurred_at: Mapped[datetime] = mapped_column()  # when it happened, as the author says
    author_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))
    author_name: Mapped[str] = mapped_column(String(150))
    author_agency_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("agencies.id"))
    unit: Mapped[str] = mapped_column(String(120), default="")
    text: Mapped[str] = mapped_column(String(4000))
    corrects_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("incident_activity.id"))
