"""Incident I/O."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import Field, field_validator

from accord.core.schemas import MAX_OFFSET, ReadModel, Strict
from accord.operations.vocab import INCIDENT_TYPES

Severity = Literal["minor", "moderate", "severe", "extreme"]
IncidentTier = Literal["CLEAR", "GREEN", "AMBER", "AMBER+STRICT"]
Status = Literal["reported", "active", "contained", "closed"]


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
