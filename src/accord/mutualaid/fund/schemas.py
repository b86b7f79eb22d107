"""Pydantic I/O of the collaboration fund. Amounts are decimal strings in JSON
("120000.00"): whole cents, never floats."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field

from accord.core.schemas import ReadModel, Strict

Basis = Literal["equal", "population", "custom"]
# Positive, whole cents, below a trillion: a partnership's fund, not a national budget.
Amount = Annotated[Decimal, Field(gt=0, lt=Decimal("1e12"), max_digits=14, decimal_places=2)]
Figure = Annotated[Decimal, Field(ge=0, lt=Decimal("1e14"), max_digits=18, decimal_places=4)]


class FigureIn(Strict):
    agency_id: uuid.UUID
    figure: Figure


class FormulaSet(Strict):
    """The contribution formula: ``equal`` (no figures), or ``population`` / ``custom``
    with one figure per current member (a population is a whole number > 0; a custom
    weight is >= 0, at least one > 0)."""

    basis: Basis
    figures: list[FigureIn] = Field(default_factory=list, max_length=500)
    note: str = Field(default="", max_length=500)


class CallCreate(Strict):
    period: str = Field(min_length=2, max_length=80, description='what the call is for, e.g. "FY2027 operating"')
    amount: Amount
    due_on: date | None = None


class ContributionCreate(Strict):
    agency_id: uuid.UUID
    amount: Amount
    received_on: date
    reference: str = Field(default="", max_length=120)
    call_id: uuid.UUID | None = Field(default=None, description="the call it pays; none: the member's oldest first")


class SpendingCreate(Strict):
    amount: Amount
    spent_on: date
    purpose: str = Field(min_length=3, max_length=500)
    request_id: uuid.UUID | None = Field(default=None, description="a resource request of a member agency")
    incident_id: uuid.UUID | None = Field(default=None, description="an incident the caller can see")


class FigureRead(ReadModel):
    agency_id: uuid.UUID
    agency_name: str
    figure: Decimal


class FormulaRead(ReadModel):
    basis: Basis
    note: str
    figures: list[FigureRead]
    updated_at: datetime


class ShareRead(ReadModel):
    agency_id: uuid.UUID
    agency_name: str
    figure: Decimal
    share: Decimal
    paid: Decimal
    due: Decimal


class CallRead(ReadModel):
    id: uuid.UUID
    period: str
    amount: Decimal
    basis: Basis
    due_on: date | None
    issued_at: datetime
    paid: Decimal
    shares: list[ShareRead]


class ContributionRead(ReadModel):
    id: uuid.UUID
    agency_id: uuid.UUID
    agency_name: str
    call_id: uuid.UUID | None
    amount: Decimal
    received_on: date
    reference: str
    recorded_at: datetime


class SpendingRead(ReadModel):
    id: uuid.UUID
    amount: Decimal
    spent_on: date
    purpose: str
    request_id: uuid.UUID | None
    incident_id: uuid.UUID | None
    recorded_at: datetime


class MemberStanding(ReadModel):
    """A member's totals: asked for (its shares of every call), paid, still owed, and any
    credit (paid beyond its shares)."""

    agency_id: uuid.UUID
    agency_name: str
    current_member: bool
    called: Decimal
    paid: Decimal
    owes: Decimal
    credit: Decimal


class HistoryEntry(ReadModel):
    on: date
    at: datetime
    kind: Literal["call", "contribution", "spending"]
    amount: Decimal | None
    text: str
    balance: Decimal | None  # the balance after this entry (contributions and spending)


class FundRead(ReadModel):
    partnership_id: uuid.UUID
    partnership_name: str
    formula: FormulaRead | None
    received: Decimal
    spent: Decimal
    balance: Decimal
    members: list[MemberStanding]
    calls: list[CallRead]
    contributions: list[ContributionRead]
    spending: list[SpendingRead]
    history: list[HistoryEntry]
    can_manage: bool
