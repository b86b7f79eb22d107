"""Planned-operation and deconfliction I/O.

What a conflict tells is :class:`ConflictRead`: the other agency, the other contact and
the overlap window; never the other side's kind, title, case reference or place."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from accord.core.schemas import MAX_OFFSET, ReadModel, Strict
from accord.operations.deconfliction.vocab import KINDS

Status = Literal["planned", "cancelled", "completed"]
_PHONE = re.compile(r"^\+?[0-9 ().\-/]+((ext\.?|x) ?[0-9]{1,6})?$")


def _known_kind(value: str) -> str:
    if value not in KINDS:
        raise ValueError(f"unknown kind of operation; one of: {', '.join(KINDS)}")
    return value


def _aware(value: datetime | None) -> datetime | None:
    """Aware, and read as UTC (a time at the edge of the calendar is refused, not a 500)."""
    if value is None:
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("give a time zone (for example 2026-11-22T14:00:00Z)")
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("outside the calendar's range") from None


def _phone(value: str | None) -> str | None:
    """A number someone can dial: digits with the usual separators, at least 7 digits."""
    if value is None:
        return None
    digits = sum(c.isdigit() for c in value)
    if not _PHONE.match(value) or not 7 <= digits <= 20:
        raise ValueError("must be a telephone number the other side can call (7 to 20 digits, e.g. +1-814-555-0123)")
    return value


class _Contact(Strict):
    contact_name: str | None = Field(default=None, min_length=2, max_length=150)
    contact_phone: str | None = Field(default=None, max_length=40)

    _phone_ok = field_validator("contact_phone")(_phone)


class EnquiryCreate(_Contact):
    """ "Is anything planned here?": registered as an operation of kind ``enquiry``."""

    owner_agency_id: uuid.UUID | None = None
    title: str = Field(default="Is anything planned here?", min_length=3, max_length=200)
    case_reference: str = Field(default="", max_length=100)
    location: dict[str, Any] | None = None
    radius_m: float | None = None
    area: dict[str, Any] | None = None
    starts_at: datetime
    ends_at: datetime

    _times = field_validator("starts_at", "ends_at")(_aware)


class PlannedOperationCreate(EnquiryCreate):
    """Where (a point with ``radius_m``, or an ``area``) and when; ``owner_agency_id``
    defaults to the caller's agency, the contact to the caller's directory entry."""

    kind: str
    title: str = Field(min_length=3, max_length=200)

    _kind = field_validator("kind")(_known_kind)


class PlannedOperationUpdate(_Contact):
    """Only what is given changes: the place, the window, the contact or the status."""

    location: dict[str, Any] | None = None
    radius_m: float | None = None
    area: dict[str, Any] | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    status: Status | None = None

    _times = field_validator("starts_at", "ends_at")(_aware)


class ConflictCheck(Strict):
    """Give ``operation_id`` (one's own registration) or ``enquiry`` (registered now)."""

    operation_id: uuid.UUID | None = None
    enquiry: EnquiryCreate | None = None


class PlannedOperationFilter(Strict):
    status: Status | None = None
    limit: int = Field(default=50, ge=1, le=200)
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET)


class NoticeFilter(Strict):
    include_resolved: bool = False
    limit: int = Field(default=50, ge=1, le=200)
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET)


class PlannedOperationRead(ReadModel):
    id: uuid.UUID
    owner_agency_id: uuid.UUID
    kind: str
    title: str
    case_reference: str
    location: dict[str, Any] | None
    radius_m: float | None
    area: dict[str, Any] | None
    starts_at: datetime
    ends_at: datetime
    contact_name: str
    contact_phone: str
    status: str
    created_at: datetime
    updated_at: datetime
    open_conflicts: int = 0


class AgencyRef(BaseModel):
    id: uuid.UUID
    short_name: str
    name: str
    duty_phone: str


class ContactRead(BaseModel):
    name: str
    phone: str


class WindowRead(BaseModel):
    starts_at: datetime
    ends_at: datetime


class IncidentRef(BaseModel):
    id: uuid.UUID
    number: str
    name: str


class ConflictRead(BaseModel):
    """One side's notice. ``concerns`` says what of the recipient's is in conflict: its
    planned operation (``operation_id``) or an incident it leads (``incident``);
    ``other_side`` whether the other agency's side is a planned operation or an open
    incident (named in ``incident`` only to a reader who may see it)."""

    notice_id: uuid.UUID
    concerns: Literal["operation", "incident"]
    other_side: Literal["operation", "incident"]
    operation_id: uuid.UUID | None
    incident: IncidentRef | None
    other_agency: AgencyRef
    other_contact: ContactRead
    overlap: WindowRead
    areas_overlap: bool = True
    revision: int
    notified_at: datetime
    acknowledged_at: datetime | None
    resolved_at: datetime | None


class ConflictsRead(BaseModel):
    conflicts: list[ConflictRead]
