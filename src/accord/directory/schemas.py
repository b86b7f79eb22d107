"""Directory I/O models. Inputs forbid unknown fields; enums come from the vocabularies."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import Field, field_validator

from accord.core.schemas import MAX_OFFSET, ReadModel, Strict, optional_email
from accord.directory.vocab import CAPABILITIES

AgencyKind = Literal[
    "police",
    "sheriff",
    "fire",
    "ems",
    "emergency_management",
    "public_health",
    "utility",
    "federal",
    "state",
    "tribal",
    "ngo",
    "private",
]
AgencyLevel = Literal["local", "county", "state", "federal", "tribal", "non_governmental"]
SHORT_NAME_PATTERN = r"^[A-Z0-9][A-Z0-9-]*$"


class Contact(Strict):
    kind: Literal["phone", "email", "radio", "fax", "web"]
    value: str = Field(min_length=1, max_length=200)
    label: str = Field(default="", max_length=120)


def _check_capabilities(values: list[str] | None) -> list[str] | None:
    if values is None:
        return None
    unknown = [v for v in values if v not in CAPABILITIES]
    if unknown:
        raise ValueError(f"unknown capability {unknown[0]!r}; see GET /api/v1/capabilities")
    return sorted(set(values))


class AgencyCreate(Strict):
    name: str = Field(min_length=3, max_length=200)
    short_name: str = Field(min_length=2, max_length=16, pattern=SHORT_NAME_PATTERN)
    kind: AgencyKind
    level: AgencyLevel
    jurisdiction_name: str = Field(min_length=2, max_length=200)
    jurisdiction: dict[str, Any] | None = None
    address: str = Field(default="", max_length=300)
    contacts: list[Contact] = Field(default_factory=list, max_length=20)
    duty_phone: str = Field(default="", max_length=40)
    capabilities: list[str] = Field(default_factory=list, max_length=40)
    parent_id: uuid.UUID | None = None

    _caps = field_validator("capabilities")(_check_capabilities)


class AgencyUpdate(Strict):
    name: str | None = Field(default=None, min_length=3, max_length=200)
    short_name: str | None = Field(default=None, min_length=2, max_length=16, pattern=SHORT_NAME_PATTERN)
    kind: AgencyKind | None = None
    level: AgencyLevel | None = None
    jurisdiction_name: str | None = Field(default=None, min_length=2, max_length=200)
    jurisdiction: dict[str, Any] | None = None
    address: str | None = Field(default=None, max_length=300)
    contacts: list[Contact] | None = Field(default=None, max_length=20)
    duty_phone: str | None = Field(default=None, max_length=40)
    capabilities: list[str] | None = Field(default=None, max_length=40)
    parent_id: uuid.UUID | None = None

    _caps = field_validator("capabilities")(_check_capabilities)


class AgencySummary(ReadModel):
    id: uuid.UUID
    name: str
    short_name: str
    kind: str
    level: str


class AgencyRead(ReadModel):
    id: uuid.UUID
    name: str
    short_name: str
    kind: str
    level: str
    jurisdiction_name: str
    jurisdiction: dict[str, Any] | None
    bbox: list[float] | None
    address: str
    contacts: list[Contact]
    duty_phone: str
    capabilities: list[str]
    parent: AgencySummary | None
    created_at: datetime
    updated_at: datetime


class AgencyFilter(Strict):
    q: str | None = Field(default=None, max_length=100)
    kind: AgencyKind | None = None
    level: AgencyLevel | None = None
    capability: str | None = None
    limit: int = Field(default=50, ge=1, le=500)
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET)

    @field_validator("capability")
    @classmethod
    def _known_capability(cls, v: str | None) -> str | None:
        if v is not None and v not in CAPABILITIES:
            raise ValueError(f"unknown capability {v!r}")
        return v


class PersonCreate(Strict):
    _email = field_validator("email")(optional_email)

    agency_id: uuid.UUID
    full_name: str = Field(min_length=2, max_length=200)
    title: str = Field(default="", max_length=200)
    email: str = Field(default="", max_length=254)
    phone: str = Field(default="", max_length=40)
    is_liaison: bool = False
    is_duty_contact: bool = False


class PersonUpdate(Strict):
    _email = field_validator("email")(optional_email)

    full_name: str | None = Field(default=None, min_length=2, max_length=200)
    title: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=254)
    phone: str | None = Field(default=None, max_length=40)
    is_liaison: bool | None = None
    is_duty_contact: bool | None = None


class PersonRead(ReadModel):
    id: uuid.UUID
    agency_id: uuid.UUID
    agency_short_name: str
    full_name: str
    title: str
    email: str
    phone: str
    is_liaison: bool
    is_duty_contact: bool
    has_account: bool


class PersonFilter(Strict):
    q: str | None = Field(default=None, max_length=100)
    agency_id: uuid.UUID | None = None
    liaison: bool | None = None
    duty: bool | None = None
    limit: int = Field(default=50, ge=1, le=500)
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET)


class CapabilityRead(ReadModel):
    key: str
    label: str


class ImportProblem(ReadModel):
    feature: int
    name: str
    field: str
    reason: str


class ImportReport(ReadModel):
    created: int
    updated: int
    failed: int
    problems: list[ImportProblem]
