"""Incident I/O."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import Field, field_validator

from accord.core.schemas import MAX_OFFSET, ReadModel, Strict
from accord.operations.vocab import INCIDENT_TYPES, POSITIONS

Severity = Literal["minor", "moderate", "severe", "extreme"]
IncidentTier = Literal["CLEAR", "GREEN", "AMBER", "AMBER+STRICT"]
Status = Literal["reported", "active", "contained", "closed"]
ObjectiveStatus = Literal["open", "achieved", "dropped"]
TaskStatus = Literal["assigned", "in_progress", "blocked", "done", "cancelled"]
TaskPriority = Literal["immediate", "urgent", "routine"]
LayerTier = Literal["CLEAR", "GREEN", "AMBER"]


def _known_type(value: str) -> str:
    if value not in INCIDENT_TYPES:
        raise ValueError(f"unknown incident type; one of: {', '.join(INCIDENT_TYPES)}")
    return value


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise ValueError("give a time zone (for example 2026-11-22T14:00:00Z)")
    return value


class IncidentCreate(Strict):
    lead_agency_id: uuid.UUID
    name: str = Field(min_length=3, max_length=200)
    type: str
    severity: Severity
    tier: IncidentTier = "AMBER"
    summary: str = Field(default="", max_length=4000)
    location: dict[str, Any] | None = None
    area: dict[str, Any] | None = None
    started_at: datetime | None = None
    participants: list[uuid.UUID] = Field(default_factory=list, max_length=50)

    _type = field_validator("type")(_known_type)
    _started = field_validator("started_at")(_aware)


class IncidentUpdate(Strict):
    """Only what is given changes; ``status`` moves along the incident lifecycle."""

    name: str | None = Field(default=None, min_length=3, max_length=200)
    severity: Severity | None = None
    status: Status | None = None
    tier: IncidentTier | None = None
    summary: str | None = Field(default=None, max_length=4000)
    location: dict[str, Any] | None = None
    area: dict[str, Any] | None = None
    # A state of emergency declared (true) or ended (false) for the incident.
    emergency_declared: bool | None = None


class ParticipantAdd(Strict):
    agency_id: uuid.UUID


class ActivityCreate(Strict):
    text: str = Field(min_length=1, max_length=4000)
    unit: str = Field(default="", max_length=120)
    occurred_at: datetime | None = None
    corrects_id: uuid.UUID | None = None

    _occurred = field_validator("occurred_at")(_aware)


class IncidentFilter(Strict):
    status: Status | None = None
    type: str | None = None
    limit: int = Field(default=50, ge=1, le=200)
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET)

    @field_validator("type")
    @classmethod
    def _type(cls, value: str | None) -> str | None:
        return None if value is None else _known_type(value)


class ParticipantRead(ReadModel):
    agency_id: uuid.UUID
    joined_at: datetime


class IncidentRead(ReadModel):
    id: uuid.UUID
    number: str
    name: str
    type: str
    severity: str
    status: str
    lead_agency_id: uuid.UUID
    tier: str
    summary: str
    location: dict[str, Any] | None
    area: dict[str, Any] | None
    started_at: datetime
    closed_at: datetime | None
    emergency_declared_at: datetime | None = None
    updated_at: datetime
    participants: list[ParticipantRead]
    taking_part: bool = False


class ActivityRead(ReadModel):
    id: uuid.UUID
    incident_id: uuid.UUID
    logged_at: datetime
    occurred_at: datetime
    author_name: str
    author_agency_id: uuid.UUID
    unit: str
    text: str
    corrects_id: uuid.UUID | None


# -- operational periods, objectives, command -------------------------------------------
class PeriodCreate(Strict):
    starts_at: datetime
    ends_at: datetime
    objectives: list[str] = Field(default_factory=list, max_length=20)

    _aware_times = field_validator("starts_at", "ends_at")(_aware)

    @field_validator("objectives")
    @classmethod
    def _objectives(cls, value: list[str]) -> list[str]:
        cleaned = [text.strip() for text in value]
        for index, text in enumerate(cleaned):
            if not 3 <= len(text) <= 1000:
                raise ValueError(f"objective {index + 1} must have 3 to 1000 characters")
        return cleaned


class ObjectiveCreate(Strict):
    text: str = Field(min_length=3, max_length=1000)


class ObjectiveUpdate(Strict):
    status: ObjectiveStatus


class ObjectiveRead(ReadModel):
    id: uuid.UUID
    period_id: uuid.UUID
    position: int
    text: str
    status: str


class PeriodRead(ReadModel):
    id: uuid.UUID
    incident_id: uuid.UUID
    number: int
    starts_at: datetime
    ends_at: datetime
    objectives: list[ObjectiveRead]


class CommandAssign(Strict):
    """Fill an ICS position: a person of the directory (``person_id``) or, for someone not
    in it yet, a name; the holder's agency must take part in the incident."""

    position: str
    label: str = Field(default="", max_length=80)
    agency_id: uuid.UUID
    person_id: uuid.UUID | None = None
    person_name: str = Field(default="", max_length=150)
    contact: str = Field(default="", max_length=80)

    @field_validator("position")
    @classmethod
    def _position(cls, value: str) -> str:
        if value not in POSITIONS:
            raise ValueError(f"unknown ICS position; one of: {', '.join(POSITIONS)}")
        return value


class CommandRead(ReadModel):
    id: uuid.UUID
    incident_id: uuid.UUID
    position: str
    label: str
    agency_id: uuid.UUID
    person_id: uuid.UUID | None
    person_name: str
    contact: str
    started_at: datetime
    ended_at: datetime | None


# -- tasks --------------------------------------------------------------------------------
class TaskCreate(Strict):
    title: str = Field(min_length=3, max_length=200)
    details: str = Field(default="", max_length=4000)
    assigned_agency_id: uuid.UUID
    assigned_unit: str = Field(default="", max_length=120)
    priority: TaskPriority = "routine"
    due_at: datetime | None = None
    location: dict[str, Any] | None = None
    objective_id: uuid.UUID | None = None

    _due = field_validator("due_at")(_aware)


class TaskReport(Strict):
    """An update on a task: any of a note, a new status, a new position, a new unit."""

    text: str = Field(default="", max_length=2000)
    status: TaskStatus | None = None
    location: dict[str, Any] | None = None
    assigned_unit: str | None = Field(default=None, max_length=120)


class TaskUpdateRead(ReadModel):
    id: uuid.UUID
    at: datetime
    author_name: str
    agency_id: uuid.UUID
    text: str
    status: str | None
    location: dict[str, Any] | None


class TaskRead(ReadModel):
    id: uuid.UUID
    incident_id: uuid.UUID
    number: int
    title: str
    details: str
    objective_id: uuid.UUID | None
    assigned_agency_id: uuid.UUID
    assigned_unit: str
    status: str
    priority: str
    due_at: datetime | None
    location: dict[str, Any] | None
    created_by_agency_id: uuid.UUID
    created_at: datetime
    updated_at: datetime
    updates: list[TaskUpdateRead]


class TaskFilter(Strict):
    status: TaskStatus | None = None
    assigned_agency_id: uuid.UUID | None = None


class StatusBoard(ReadModel):
    """Tasks in board order, one column per status, each column by priority then due time."""

    columns: dict[str, list[TaskRead]]
    overdue: int


# -- map layers ---------------------------------------------------------------------------
class MapLayerCreate(Strict):
    agency_id: uuid.UUID
    name: str = Field(min_length=3, max_length=120)
    description: str = Field(default="", max_length=1000)
    tier: LayerTier = "GREEN"
    features: dict[str, Any]


class MapLayerRead(ReadModel):
    id: uuid.UUID
    agency_id: uuid.UUID
    name: str
    description: str
    tier: str
    feature_count: int
    updated_at: datetime
