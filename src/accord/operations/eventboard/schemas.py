"""Command-board I/O. Unknown fields are refused; times must carry a time zone."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import Field, field_validator

from accord.core.schemas import ReadModel, Strict

Priority = Literal["normal", "urgent"]
# Control characters are never part of a name or a message (PostgreSQL refuses NUL outright).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_LINE_BREAK = re.compile(r"[\r\n\t]")


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise ValueError("give a time zone (for example 2026-07-11T08:00:00-04:00 or ...Z)")
    return value


def _one_line(value: str | None) -> str | None:
    if value is not None and (_CONTROL.search(value) or _LINE_BREAK.search(value)):
        raise ValueError("must be one line of text without control characters")
    return value


def _text(value: str | None) -> str | None:
    if value is not None and _CONTROL.search(value):
        raise ValueError("must not contain control characters")
    return value


class ShiftCreate(Strict):
    name: str = Field(min_length=1, max_length=80)
    starts_at: datetime
    ends_at: datetime

    _name = field_validator("name")(_one_line)
    _times = field_validator("starts_at", "ends_at")(_aware)


class PostCreate(Strict):
    name: str = Field(min_length=1, max_length=120)
    description: str = Field(default="", max_length=1000)
    location: dict[str, Any] = Field(description="GeoJSON Point, [longitude, latitude] in WGS 84")
    radius_m: float | None = Field(default=None, gt=0, le=20_000, description="metres around the point")

    _name = field_validator("name")(_one_line)
    _description = field_validator("description")(_text)


class AssignmentCreate(Strict):
    shift_id: uuid.UUID
    post_id: uuid.UUID
    agency_id: uuid.UUID
    unit: str = Field(min_length=1, max_length=80, description="call sign or name of the unit")
    people: int = Field(default=1, ge=1, le=500)
    person_id: uuid.UUID | None = Field(default=None, description="a person of the agency, from the directory")
    notes: str = Field(default="", max_length=500)

    _unit = field_validator("unit")(_one_line)
    _notes = field_validator("notes")(_text)


class AssignmentUpdate(Strict):
    """Only what is given changes: move a unit to another post or shift, change its
    strength, its named person (null clears it) or its notes."""

    shift_id: uuid.UUID | None = None
    post_id: uuid.UUID | None = None
    people: int | None = Field(default=None, ge=1, le=500)
    person_id: uuid.UUID | None = None
    notes: str | None = Field(default=None, max_length=500)

    _notes = field_validator("notes")(_text)


class MessageCreate(Strict):
    text: str = Field(min_length=1, max_length=2000)
    priority: Priority = "normal"
    post_id: uuid.UUID | None = None
    corrects_id: uuid.UUID | None = None

    _body = field_validator("text")(_text)


class ShiftRead(ReadModel):
    id: uuid.UUID
    incident_id: uuid.UUID
    name: str
    starts_at: datetime
    ends_at: datetime
    created_at: datetime
    removed_at: datetime | None


class PostRead(ReadModel):
    id: uuid.UUID
    incident_id: uuid.UUID
    name: str
    description: str
    location: dict[str, Any]
    radius_m: float | None
    created_at: datetime
    removed_at: datetime | None


class AssignmentRead(ReadModel):
    id: uuid.UUID
    incident_id: uuid.UUID
    shift_id: uuid.UUID
    post_id: uuid.UUID
    agency_id: uuid.UUID
    unit: str
    people: int
    person_id: uuid.UUID | None
    person_name: str
    notes: str
    created_at: datetime
    updated_at: datetime
    removed_at: datetime | None


class ReceiptRead(ReadModel):
    reader_name: str
    reader_agency_id: uuid.UUID
    read_at: datetime


class MessageRead(ReadModel):
    id: uuid.UUID
    incident_id: uuid.UUID
    posted_at: datetime
    author_name: str
    author_agency_id: uuid.UUID
    text: str
    priority: str
    post_id: uuid.UUID | None
    corrects_id: uuid.UUID | None
    read_by: list[ReceiptRead] = Field(default_factory=list, description="who read it first when, oldest first")
    read_count: int = 0
    audience: int = Field(default=0, description="people of the board's agencies who may read it")
    read_by_me: bool = False


class ReadAllResult(ReadModel):
    marked: int = Field(description="messages newly marked read")


class BoardAgency(ReadModel):
    id: uuid.UUID
    short_name: str
    name: str
    kind: str
    lead: bool


class BoardCell(ReadModel):
    shift_id: uuid.UUID
    people: int
    assignments: list[AssignmentRead]


class BoardRow(ReadModel):
    post: PostRead
    cells: list[BoardCell] = Field(description="one per shift, in the order of ``shifts``")


class ShiftTotal(ReadModel):
    shift_id: uuid.UUID
    units: int
    people: int


class BoardRead(ReadModel):
    """The grid: posts (rows) by shifts (columns), each cell with its units."""

    incident_id: uuid.UUID
    number: str
    name: str
    status: str
    started_at: datetime
    lead_agency_id: uuid.UUID
    agencies: list[BoardAgency]
    shifts: list[ShiftRead]
    rows: list[BoardRow]
    totals: list[ShiftTotal]
    unread: int = Field(description="messages the caller has not marked read")
    urgent_unread: int
    can_set_up: bool = Field(description="the caller may add and remove shifts and posts")
    can_assign_for: list[uuid.UUID] = Field(description="agencies whose units the caller may assign")
    can_post: bool
