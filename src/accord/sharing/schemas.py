"""Record I/O."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from accord.agreements.schemas import Category, Purpose
from accord.core.schemas import MAX_OFFSET, ReadModel, Strict

Tier = Literal["CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED"]


class RecordCreate(Strict):
    owner_agency_id: uuid.UUID
    category: Category
    tier: Tier
    purpose: Purpose
    title: str = Field(min_length=3, max_length=300)
    body: dict[str, Any]
    geometry: dict[str, Any] | None = None
    event_at: datetime
    red_recipients: list[uuid.UUID] = Field(default_factory=list, max_length=100)

    @field_validator("event_at")
    @classmethod
    def _tz(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("event_at needs a time zone, e.g. 2026-01-01T00:00:00Z")
        return value


class RecordUpdate(Strict):
    """A new version of a record. ``revision`` is the version the editor started from: a
    record changed by someone else in between answers 409 instead of losing their edit.
    The category cannot change (it decides the body's schema): file a new record."""

    revision: int = Field(ge=1)
    tier: Tier | None = None
    purpose: Purpose | None = None
    title: str | None = Field(default=None, min_length=3, max_length=300)
    body: dict[str, Any] | None = None
    geometry: dict[str, Any] | None = None
    clear_geometry: bool = False
    event_at: datetime | None = None
    red_recipients: list[uuid.UUID] | None = Field(default=None, max_length=100)
    note: str = Field(default="", max_length=500)

    @field_validator("event_at")
    @classmethod
    def _tz(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("event_at needs a time zone, e.g. 2026-01-01T00:00:00Z")
        return value


class RecordFilter(Strict):
    q: str | None = Field(default=None, max_length=200)
    category: Category | None = None
    tier: Tier | None = None
    owner_agency_id: uuid.UUID | None = None
    limit: int = Field(default=50, ge=1, le=500)
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET)


class AttachmentRead(ReadModel):
    id: uuid.UUID
    filename: str
    content_type: str
    size: int
    sha256: str
    label: str | None
    masked: bool
    uploaded_at: datetime


class RecordRead(ReadModel):
    id: uuid.UUID
    owner_agency_id: uuid.UUID
    category: str
    tier: str
    purpose: str
    title: str
    body: dict[str, Any]
    masked_fields: dict[str, str]
    geometry: dict[str, Any] | None
    event_at: datetime
    created_at: datetime
    access: str
    revision: int
    attachments: list[AttachmentRead]
    # Shown to the owning agency only (null for partners): a hold tells of litigation.
    legal_hold: bool | None = None
    legal_hold_reason: str | None = None


class RevisionRead(ReadModel):
    number: int
    tier: str
    purpose: str
    title: str
    body: dict[str, Any]
    masked_fields: dict[str, str]
    geometry: dict[str, Any] | None
    event_at: datetime
    changed_at: datetime
    changed_by_user_id: uuid.UUID | None
    note: str


class GrantBasis(ReadModel):
    agreement_id: uuid.UUID
    agreement_title: str
    version: int
    clause_position: int
    clause_id: uuid.UUID
    labels: list[str]
    signatures: list[dict[str, Any]]


class Explanation(ReadModel):
    record_id: uuid.UUID
    access: str
    reason: str
    grants: list[GrantBasis]
    masked_fields: dict[str, str]


class RecipientPreview(ReadModel):
    audience: str
    agencies: list[dict[str, Any]]
    people: list[uuid.UUID]


class AccessReportFilter(Strict):
    """Which agency's records (one you audit; by default your first) and when."""

    agency_id: uuid.UUID | None = None
    since: datetime | None = None
    until: datetime | None = None


class AccessRowRead(BaseModel):
    """One read of the agency's records by another agency (access report)."""

    read_at: datetime
    reader: str
    reader_agency_id: uuid.UUID | None
    reader_agency: str
    record_id: str
    record_title: str
    surface: str
    basis: str
    clause_id: uuid.UUID | None
    clause: str  # "Agreement title, version n, clause p", or how else the read was allowed
    masked: list[str]
    client_addr: str


class RetentionSet(Strict):
    """How long the agency keeps its records of a category after their last change; null
    keeps them until deleted by hand (no automatic purge)."""

    retention_days: int | None = Field(ge=1, le=36500)


class RetentionRead(ReadModel):
    agency_id: uuid.UUID
    category: str
    retention_days: int | None
    records: int
    due: int  # older than the retention period and not held: the next purge removes them
    held: int  # older than the retention period but on legal hold


class LegalHoldSet(Strict):
    reason: str = Field(min_length=3, max_length=500)


class PurgeRead(ReadModel):
    purged: int
    held: int
    keys_destroyed: int
