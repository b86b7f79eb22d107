"""Mutual-aid I/O."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import Field, field_validator

from accord.core.schemas import MAX_OFFSET, ReadModel, Strict
from accord.mutualaid.vocab import CATEGORIES

ResourceStatus = Literal["available", "assigned", "out_of_service"]
ResourceKind = Literal["team", "equipment", "personnel", "facility"]
KEY_RE = re.compile(r"^[a-z][a-z0-9_]{1,79}$")


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise ValueError("give a time zone (for example 2026-12-06T14:00:00Z)")
    return value


class TypeLevel(Strict):
    level: int = Field(ge=1, le=9)
    minimum_capabilities: list[str] = Field(default_factory=list, max_length=30)
    required_qualifications: list[str] = Field(default_factory=list, max_length=20)

    @field_validator("required_qualifications")
    @classmethod
    def _keys(cls, value: list[str]) -> list[str]:
        for key in value:
            if not KEY_RE.match(key):
                raise ValueError(f"{key!r}: a qualification is a lower-case key (letters, digits, _)")
        return value


class ResourceTypeIn(Strict):
    """A type as the reference file and agency imports write it."""

    key: str = Field(min_length=2, max_length=80)
    name: str = Field(min_length=3, max_length=200)
    category: str
    kind: ResourceKind
    unit: str = Field(default="each", max_length=20)
    travel_speed_kmh: float = Field(gt=0, le=1000)
    levels: list[TypeLevel] = Field(min_length=1, max_length=9)

    @field_validator("key")
    @classmethod
    def _key(cls, value: str) -> str:
        if not KEY_RE.match(value):
            raise ValueError("a type key is lower-case letters, digits and _ (for example 'swift_water_rescue_team')")
        return value

    @field_validator("category")
    @classmethod
    def _category(cls, value: str) -> str:
        if value not in CATEGORIES:
            raise ValueError(f"unknown category; one of: {', '.join(CATEGORIES)}")
        return value

    @field_validator("levels")
    @classmethod
    def _numbered(cls, value: list[TypeLevel]) -> list[TypeLevel]:
        if [lv.level for lv in value] != list(range(1, len(value) + 1)):
            raise ValueError("levels are numbered 1, 2, 3... in order (1 is the most capable)")
        return value


class ResourceTypeImport(Strict):
    agency_id: uuid.UUID
    types: list[ResourceTypeIn] = Field(min_length=1, max_length=500)


class ResourceTypeRead(ReadModel):
    key: str
    name: str
    category: str
    kind: str
    unit: str
    travel_speed_kmh: float
    levels: list[dict[str, Any]]
    version: str
    owner_agency_id: uuid.UUID | None


class QualifiedPerson(Strict):
    person_id: uuid.UUID
    qualification: str
    valid_until: datetime | None = None

    _until = field_validator("valid_until")(_aware)

    @field_validator("qualification")
    @classmethod
    def _key(cls, value: str) -> str:
        if not KEY_RE.match(value):
            raise ValueError("a qualification is a lower-case key (letters, digits, _)")
        return value


Money = Decimal


class ResourceCreate(Strict):
    owner_agency_id: uuid.UUID
    type_key: str
    level: int = Field(ge=1, le=9)
    name: str = Field(min_length=2, max_length=200)
    quantity: int = Field(default=1, ge=1, le=10000)
    status: ResourceStatus = "available"
    home_name: str = Field(default="", max_length=200)
    home: dict[str, Any]
    location: dict[str, Any] | None = None
    hourly_rate: Money = Field(default=Decimal("0"), ge=0, le=100000, max_digits=10, decimal_places=2)
    daily_rate: Money = Field(default=Decimal("0"), ge=0, le=1000000, max_digits=10, decimal_places=2)
    mileage_rate: Money = Field(default=Decimal("0"), ge=0, le=1000, max_digits=10, decimal_places=2)
    minimum_reserve: int = Field(default=0, ge=0, le=10000)
    shareable: bool = True
    notes: str = Field(default="", max_length=1000)
    qualified: list[QualifiedPerson] = Field(default_factory=list, max_length=200)


class ResourceUpdate(Strict):
    """Only what is given changes."""

    name: str | None = Field(default=None, min_length=2, max_length=200)
    quantity: int | None = Field(default=None, ge=1, le=10000)
    status: ResourceStatus | None = None
    location: dict[str, Any] | None = None
    hourly_rate: Money | None = Field(default=None, ge=0, le=100000, max_digits=10, decimal_places=2)
    daily_rate: Money | None = Field(default=None, ge=0, le=1000000, max_digits=10, decimal_places=2)
    mileage_rate: Money | None = Field(default=None, ge=0, le=1000, max_digits=10, decimal_places=2)
    minimum_reserve: int | None = Field(default=None, ge=0, le=10000)
    shareable: bool | None = None
    notes: str | None = Field(default=None, max_length=1000)
    qualified: list[QualifiedPerson] | None = Field(default=None, max_length=200)


class ResourceFilter(Strict):
    type_key: str | None = Field(default=None, max_length=80)
    status: ResourceStatus | None = None
    owner_agency_id: uuid.UUID | None = None
    limit: int = Field(default=100, ge=1, le=500)
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET)


class QualificationRead(ReadModel):
    person_id: uuid.UUID
    qualification: str
    valid_until: datetime | None


class ResourceRead(ReadModel):
    id: uuid.UUID
    owner_agency_id: uuid.UUID
    type_key: str
    level: int
    name: str
    quantity: int
    status: str
    home_name: str
    home: dict[str, Any]
    location: dict[str, Any]
    hourly_rate: Decimal
    daily_rate: Decimal
    mileage_rate: Decimal
    minimum_reserve: int
    shareable: bool
    notes: str
    qualified: list[QualificationRead]
    updated_at: datetime


# -- requests (ICS-213) and offers ------------------------------------------------------------
Priority = Literal["urgent", "high", "routine", "low"]
RequestStatus = Literal["pending", "open", "filled", "cancelled", "closed"]
OfferStatus = Literal[
    "offered", "committed", "mobilized", "on_scene", "demobilized", "returned", "declined", "withdrawn"
]


class RequestCreate(Strict):
    """The fields of the ICS-213 resource request. Ask for a type (and its level) or, when
    no type fits, describe what is needed."""

    incident_id: uuid.UUID
    requesting_agency_id: uuid.UUID
    type_key: str | None = Field(default=None, max_length=80)
    level: int | None = Field(default=None, ge=1, le=9)
    description: str = Field(default="", max_length=2000)
    quantity: int = Field(ge=1, le=1000)
    deliver_to: str = Field(min_length=2, max_length=300)
    location: dict[str, Any]
    needed_at: datetime
    priority: Priority = "routine"
    substitutes_ok: bool = False
    special_instructions: str = Field(default="", max_length=2000)
    requester_name: str = Field(min_length=2, max_length=200)
    requester_position: str = Field(default="", max_length=200)

    _needed = field_validator("needed_at")(_aware)

    @field_validator("description")
    @classmethod
    def _trimmed(cls, value: str) -> str:
        return value.strip()


class ApprovalCreate(Strict):
    """The approver's name as signed on the form."""

    name: str = Field(min_length=2, max_length=200)


class CancelRequest(Strict):
    reason: str = Field(min_length=3, max_length=1000)


class RequestFilter(Strict):
    incident_id: uuid.UUID | None = None
    status: RequestStatus | None = None
    # mine: requests of my agency; received: partners' requests sent to my agency.
    side: Literal["mine", "received"] | None = None
    limit: int = Field(default=50, ge=1, le=200)
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET)


class ActivationRead(ReadModel):
    clause_id: uuid.UUID
    agreement_id: uuid.UUID
    title: str
    met: bool
    conditions: list[str]
    reasons: list[str]


class RecipientRead(ReadModel):
    agency_id: uuid.UUID
    clause_id: uuid.UUID


class RequestRead(ReadModel):
    id: uuid.UUID
    number: str
    incident_id: uuid.UUID
    requesting_agency_id: uuid.UUID
    requester_name: str
    requester_position: str
    type_key: str | None
    level: int | None
    description: str
    quantity: int
    deliver_to: str
    location: dict[str, Any]
    needed_at: datetime
    priority: str
    substitutes_ok: bool
    special_instructions: str
    status: str
    logistics_approved_by: str | None
    logistics_approved_at: datetime | None
    finance_approved_by: str | None
    finance_approved_at: datetime | None
    opened_at: datetime | None
    filled_at: datetime | None
    closed_at: datetime | None
    activation: list[ActivationRead]
    recipients: list[RecipientRead]
    created_at: datetime
    updated_at: datetime
    committed_quantity: int = 0


class OfferCreate(Strict):
    resource_id: uuid.UUID
    quantity: int = Field(default=1, ge=1, le=1000)
    note: str = Field(default="", max_length=2000)


class OfferMove(Strict):
    """The next step of an offer or deployment."""

    status: Literal["committed", "mobilized", "on_scene", "demobilized", "returned", "declined", "withdrawn"]
    note: str = Field(default="", max_length=2000)


class RankRead(ReadModel):
    """Why an offer or candidate stands where it does."""

    on_time: bool
    fit: str  # exact | substitute | described
    qualified: bool
    missing_qualifications: list[str]
    distance_km: float
    travel_minutes: int
    eta_at: datetime
    offerable: int
    reserve: int
    explanation: list[str]


class OfferRead(ReadModel):
    id: uuid.UUID
    request_id: uuid.UUID
    resource_id: uuid.UUID
    providing_agency_id: uuid.UUID
    clause_id: uuid.UUID
    agreement_version_id: uuid.UUID
    quantity: int
    status: str
    eta_at: datetime
    rank: RankRead
    note: str
    offered_at: datetime
    committed_at: datetime | None
    mobilized_at: datetime | None
    on_scene_at: datetime | None
    demobilized_at: datetime | None
    returned_at: datetime | None
    declined_at: datetime | None
    withdrawn_at: datetime | None
    resource_name: str = ""
    position: int = 0  # 1 = best of the request's live offers


class CandidateRead(ReadModel):
    resource_id: uuid.UUID
    resource_name: str
    owner_agency_id: uuid.UUID
    type_key: str
    level: int
    position: int
    rank: RankRead
