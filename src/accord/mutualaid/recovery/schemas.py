"""Cost-recovery I/O: time-sheet entries, the computed costs, claims and the statement."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import Field

from accord.core.schemas import ReadModel, Strict

EntryKind = Literal["labor", "equipment", "mileage", "consumable"]
ClaimStatus = Literal["draft", "submitted", "approved", "rejected", "paid"]


class TimeEntryCreate(Strict):
    """One entry. Which fields a kind needs: labour ``hours`` and ``person_name`` or
    ``person_id`` (optional ``rate``, else the resource's hourly rate); equipment ``hours``;
    mileage ``km``; consumable ``description``, ``quantity`` and ``unit_cost``."""

    kind: EntryKind
    work_date: date
    person_id: uuid.UUID | None = None
    person_name: str = Field(default="", max_length=200)
    description: str = Field(default="", max_length=500)
    hours: Decimal | None = Field(default=None, gt=0, le=24, max_digits=6, decimal_places=2)
    km: Decimal | None = Field(default=None, gt=0, le=5000, max_digits=10, decimal_places=2)
    quantity: Decimal | None = Field(default=None, gt=0, le=1_000_000, max_digits=12, decimal_places=3)
    unit_cost: Decimal | None = Field(default=None, ge=0, le=1_000_000, max_digits=12, decimal_places=2)
    rate: Decimal | None = Field(default=None, ge=0, le=100_000, max_digits=10, decimal_places=2)
    note: str = Field(default="", max_length=1000)


class VoidEntry(Strict):
    reason: str = Field(min_length=3, max_length=500)


class TimeEntryRead(ReadModel):
    id: uuid.UUID
    offer_id: uuid.UUID
    sequence: int
    kind: str
    work_date: date
    person_id: uuid.UUID | None
    person_name: str
    description: str
    hours: Decimal | None
    km: Decimal | None
    quantity: Decimal | None
    unit_cost: Decimal | None
    rate: Decimal | None
    note: str
    created_at: datetime
    voided_at: datetime | None
    void_reason: str


class LineRead(ReadModel):
    entry_id: uuid.UUID
    kind: str
    work_date: date
    label: str
    quantity: Decimal
    unit: str
    rate: Decimal
    waived_hours: Decimal
    gross: Decimal
    amount: Decimal
    rules: list[str]


class CostsRead(ReadModel):
    """The live computation of a deployment's costs under its clause."""

    offer_id: uuid.UUID
    clause_id: uuid.UUID
    payer: str
    lines: list[LineRead]
    gross: Decimal
    subtotal: Decimal
    total: Decimal
    claimable: Decimal
    borne_by_provider: Decimal
    waived_hours: Decimal
    rules: list[str]
    terms: dict[str, Any]


class ClaimCreate(Strict):
    note: str = Field(default="", max_length=2000)


class ClaimReject(Strict):
    reason: str = Field(min_length=3, max_length=2000)


class ClaimPay(Strict):
    amount: Decimal = Field(gt=0, le=100_000_000, max_digits=14, decimal_places=2)
    reference: str = Field(min_length=1, max_length=200)


class ClaimRead(ReadModel):
    id: uuid.UUID
    number: str
    offer_id: uuid.UUID
    incident_id: uuid.UUID
    providing_agency_id: uuid.UUID
    requesting_agency_id: uuid.UUID
    clause_id: uuid.UUID
    agreement_version_id: uuid.UUID
    status: ClaimStatus
    note: str
    computation: dict[str, Any] | None
    entry_ids: list[Any] | None
    total: Decimal | None
    claimable: Decimal | None
    previously_claimed: Decimal | None
    amount: Decimal | None
    paid_amount: Decimal | None
    payment_reference: str
    rejection_reason: str
    created_at: datetime
    submitted_at: datetime | None
    decided_at: datetime | None
    paid_at: datetime | None
    allowed: list[str] = []


class StatementFilter(Strict):
    incident_id: uuid.UUID
    agency_a: uuid.UUID
    agency_b: uuid.UUID
