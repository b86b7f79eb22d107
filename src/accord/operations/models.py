"""Incidents, the agencies taking part, and the activity log (ICS-214).

The activity log is append-only in the database (triggers refuse UPDATE and DELETE, see
migration 0011): a correction is a new entry naming the one it corrects."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, Integer, String, UniqueConstraint, Uuid
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
    # A state of emergency declared for the incident: some mutual-aid clauses require one.
    emergency_declared_at: Mapped[datetime | None] = mapped_column()

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


class OperationalPeriod(IdMixin, Base):
    """A stretch of the incident (often 12 hours) with its own objectives (ICS-202)."""

    __tablename__ = "incident_periods"
    __table_args__ = (UniqueConstraint("incident_id", "number"),)

    incident_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("incidents.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    starts_at: Mapped[datetime] = mapped_column()
    ends_at: Mapped[datetime] = mapped_column()
    created_by_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))

    objectives: Mapped[list[Objective]] = relationship(
        back_populates="period", lazy="selectin", order_by="Objective.position"
    )


class Objective(IdMixin, Base):
    __tablename__ = "incident_objectives"
    __table_args__ = (Index("ix_incident_objectives_incident", "incident_id", "period_id"),)

    incident_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("incidents.id"))
    period_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("incident_periods.id"))
    position: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(String(1000))
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | achieved | dropped

    period: Mapped[OperationalPeriod] = relationship(back_populates="objectives")


class CommandAssignment(IdMixin, Base):
    """Who holds an ICS position, from when until when: a new holder ends the previous
    one's row, so the rows are the position's history. Unified command: several incident
    commanders, one per agency."""

    __tablename__ = "incident_command"
    __table_args__ = (Index("ix_incident_command_incident", "incident_id", "ended_at"),)

    incident_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("incidents.id"))
    position: Mapped[str] = mapped_column(String(40))
    label: Mapped[str] = mapped_column(String(80), default="")  # "Division A", "Rescue Group"
    agency_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("agencies.id"))
    person_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("people.id"))
    person_name: Mapped[str] = mapped_column(String(150))
    contact: Mapped[str] = mapped_column(String(80), default="")
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column()
    assigned_by_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))
    ended_by_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))


class Task(IdMixin, TimestampMixin, Base):
    """Work assigned to an agency (and optionally one of its units), tracked on the status
    board; a task with a location is a marker on the operating picture."""

    __tablename__ = "incident_tasks"
    __table_args__ = (
        UniqueConstraint("incident_id", "number"),
        Index("ix_incident_tasks_agency_status", "assigned_agency_id", "status"),
    )

    incident_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("incidents.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    details: Mapped[str] = mapped_column(String(4000), default="")
    objective_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("incident_objectives.id"))
    assigned_agency_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("agencies.id"))
    assigned_unit: Mapped[str] = mapped_column(String(120), default="")
    status: Mapped[str] = mapped_column(String(16), default="assigned")
    priority: Mapped[str] = mapped_column(String(16), default="routine")
    due_at: Mapped[datetime | None] = mapped_column()
    location: Mapped[dict[str, Any] | None] = mapped_column()  # GeoJSON Point
    created_by_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))
    created_by_agency_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("agencies.id"))

    updates: Mapped[list[TaskUpdate]] = relationship(back_populates="task", lazy="selectin", order_by="TaskUpdate.at")


class TaskUpdate(IdMixin, Base):
    """A report on a task: text, a status change, a new position (the track the time
    slider replays). Rows are never changed."""

    __tablename__ = "incident_task_updates"
    __table_args__ = (Index("ix_incident_task_updates_task", "task_id", "at"),)

    task_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("incident_tasks.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    author_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))
    author_name: Mapped[str] = mapped_column(String(150))
    agency_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("agencies.id"))
    text: Mapped[str] = mapped_column(String(2000), default="")
    status: Mapped[str | None] = mapped_column(String(16))  # the new status, when it changed
    location: Mapped[dict[str, Any] | None] = mapped_column()  # the new position, when it moved

    task: Mapped[Task] = relationship(back_populates="updates")


class MapLayer(IdMixin, TimestampMixin, Base):
    """A GeoJSON layer an agency publishes on the operating picture (shelters, road
    closures, hydrants...). Who sees it follows the same tiers as incidents."""

    __tablename__ = "map_layers"
    __table_args__ = (Index("ix_map_layers_agency", "agency_id"), Index("ix_map_layers_tier", "tier_rank"))

    agency_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("agencies.id"))
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(String(1000), default="")
    tier: Mapped[str] = mapped_column(String(16))
    tier_rank: Mapped[int] = mapped_column(Integer)
    features: Mapped[dict[str, Any]] = mapped_column()  # a FeatureCollection
    feature_count: Mapped[int] = mapped_column(Integer)
    created_by_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))
    # Withdrawn layers keep their row (empty) so that open maps are told: the live event
    # is delivered to whoever may still read the row.
    withdrawn_at: Mapped[datetime | None] = mapped_column()
