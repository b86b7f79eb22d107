"""Time sheets and claims of mutual-aid deployments. Every row names the deployment's
providing and requesting agency (copied from the offer and its request when written), so
one indexed predicate decides who sees it: members of those two agencies.

Time-sheet entries are never edited or deleted: a mistake is voided (who, when, why) and
the right entry written again; a voided entry stays on the sheet and no longer counts.
A claim freezes the computed lines and the entries they came from when it is submitted."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Date, ForeignKey, Index, Integer, Numeric, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from accord.core.db import Base, IdMixin
from accord.core.time import utcnow


class TimeEntry(IdMixin, Base):
    """One line of a deployment's time sheet: labour, equipment, mileage or a consumable."""

    __tablename__ = "deployment_time_entries"
    __table_args__ = (
        Index("ix_deployment_time_entries_offer", "offer_id", "work_date"),
        Index("ix_deployment_time_entries_parties", "providing_agency_id", "requesting_agency_id"),
    )

    offer_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("resource_offers.id"))
    incident_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("incidents.id"))
    providing_agency_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("agencies.id"))
    requesting_agency_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("agencies.id"))
    sequence: Mapped[int] = mapped_column(Integer)  # 1, 2, ... per deployment, in the order recorded
    kind: Mapped[str] = mapped_column(String(16))  # labor | equipment | mileage | consumable
    work_date: Mapped[date] = mapped_column(Date)
    person_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("people.id"))
    person_name: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(String(500), default="")
    hours: Mapped[Decimal | None] = mapped_column(Numeric(6, 2))
    km: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    quantity: Mapped[Decimal | None] = mapped_column(Numeric(12, 3))
    unit_cost: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    rate: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))  # labour: the rate entered
    note: Mapped[str] = mapped_column(String(1000), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))
    voided_at: Mapped[datetime | None] = mapped_column()
    voided_by_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))
    void_reason: Mapped[str] = mapped_column(String(500), default="")


class CostClaim(IdMixin, Base):
    """A reimbursement claim of the providing agency to the requesting agency for one
    deployment: draft -> submitted -> approved | rejected; approved -> paid. Claims are
    cumulative: a submitted claim asks for what the deployment's costs now come to, less
    what earlier claims (submitted, approved or paid) already asked for."""

    __tablename__ = "cost_claims"
    __table_args__ = (
        Index("ix_cost_claims_offer", "offer_id", "status"),
        Index("ix_cost_claims_parties", "providing_agency_id", "requesting_agency_id", "incident_id"),
    )

    number: Mapped[str] = mapped_column(String(40), unique=True)  # CLM-2026-0001
    offer_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("resource_offers.id"))
    incident_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("incidents.id"))
    providing_agency_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("agencies.id"))
    requesting_agency_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("agencies.id"))
    clause_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("clauses.id"))
    agreement_version_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("agreement_versions.id"))
    status: Mapped[str] = mapped_column(String(16), default="draft")
    note: Mapped[str] = mapped_column(String(2000), default="")
    # Frozen at submission: the computation, the entries it used, and the sums.
    computation: Mapped[dict[str, Any] | None] = mapped_column()
    entry_ids: Mapped[list[Any] | None] = mapped_column()
    total: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))  # the deployment's cost then
    claimable: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))  # of which the requester owes
    previously_claimed: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))  # what this claim asks for
    paid_amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    payment_reference: Mapped[str] = mapped_column(String(200), default="")
    rejection_reason: Mapped[str] = mapped_column(String(2000), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))
    submitted_at: Mapped[datetime | None] = mapped_column()
    submitted_by_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column()  # approved or rejected
    decided_by_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))
    paid_at: Mapped[datetime | None] = mapped_column()
    paid_by_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))
