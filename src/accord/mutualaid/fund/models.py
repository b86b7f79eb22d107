"""Collaboration-fund tables. Every row names its partnership, so one indexed predicate
decides who sees it (current members of the partnership). Calls keep the shares they were
issued with: changing the formula later never rewrites what a member was asked for.
Amounts are Numeric(14, 2) in the partnership's currency."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, Index, Numeric, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from accord.core.db import Base, IdMixin
from accord.core.time import utcnow

MONEY = Numeric(14, 2)
FIGURE = Numeric(18, 4)


class CollaborationFund(IdMixin, Base):
    """A partnership's fund and its contribution formula: ``equal`` shares, or shares in
    proportion to each member's ``population`` or ``custom`` figure (``figures``)."""

    __tablename__ = "collaboration_funds"

    partnership_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("partnerships.id", ondelete="CASCADE"), unique=True
    )
    basis: Mapped[str] = mapped_column(String(16))  # equal | population | custom
    note: Mapped[str] = mapped_column(String(500), default="")  # where the figures come from
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))

    figures: Mapped[list[FundFigure]] = relationship(
        back_populates="fund", cascade="all, delete-orphan", lazy="selectin", order_by="FundFigure.agency_id"
    )


class FundFigure(Base):
    """One member's figure under the formula (its population, or an agreed weight),
    entered by the coordinator: the directory keeps no population."""

    __tablename__ = "fund_figures"

    fund_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("collaboration_funds.id", ondelete="CASCADE"), primary_key=True
    )
    agency_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("agencies.id"), primary_key=True)
    partnership_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("partnerships.id", ondelete="CASCADE"))
    figure: Mapped[Decimal] = mapped_column(FIGURE)

    fund: Mapped[CollaborationFund] = relationship(back_populates="figures")


class FundCall(IdMixin, Base):
    """A call for contributions: an amount for a period, shared among the members of the
    day by the formula of the day (``shares``)."""

    __tablename__ = "fund_calls"
    __table_args__ = (
        UniqueConstraint("partnership_id", "period"),
        Index("ix_fund_calls_partnership", "partnership_id", "issued_at"),
    )

    partnership_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("partnerships.id", ondelete="CASCADE"))
    period: Mapped[str] = mapped_column(String(80))  # "FY2027 operating"
    amount: Mapped[Decimal] = mapped_column(MONEY)
    basis: Mapped[str] = mapped_column(String(16))  # the formula's basis when issued
    due_on: Mapped[date | None] = mapped_column(Date)
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    issued_by_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))

    shares: Mapped[list[FundCallShare]] = relationship(
        back_populates="call", cascade="all, delete-orphan", lazy="selectin", order_by="FundCallShare.position"
    )


class FundCallShare(Base):
    """One member's share of a call, and the figure it was computed from."""

    __tablename__ = "fund_call_shares"

    call_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("fund_calls.id", ondelete="CASCADE"), primary_key=True)
    agency_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("agencies.id"), primary_key=True)
    partnership_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("partnerships.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column()  # the order the shares were listed in
    figure: Mapped[Decimal] = mapped_column(FIGURE)
    amount: Mapped[Decimal] = mapped_column(MONEY)

    call: Mapped[FundCall] = relationship(back_populates="shares")


class FundContribution(IdMixin, Base):
    """Money a member paid into the fund, towards one call or (none named) towards its
    oldest calls first."""

    __tablename__ = "fund_contributions"
    __table_args__ = (Index("ix_fund_contributions_partnership", "partnership_id", "agency_id"),)

    partnership_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("partnerships.id", ondelete="CASCADE"))
    agency_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("agencies.id"))
    call_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("fund_calls.id", ondelete="CASCADE"))
    amount: Mapped[Decimal] = mapped_column(MONEY)
    received_on: Mapped[date] = mapped_column(Date)
    reference: Mapped[str] = mapped_column(String(120), default="")  # cheque, transfer or invoice number
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    recorded_by_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))


class FundSpending(IdMixin, Base):
    """Money paid out of the fund, what for, and optionally the resource request or
    incident it paid for."""

    __tablename__ = "fund_spending"
    __table_args__ = (Index("ix_fund_spending_partnership", "partnership_id", "spent_on"),)

    partnership_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("partnerships.id", ondelete="CASCADE"))
    amount: Mapped[Decimal] = mapped_column(MONEY)
    spent_on: Mapped[date] = mapped_column(Date)
    purpose: Mapped[str] = mapped_column(String(500))
    request_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("resource_requests.id"))
    incident_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("incidents.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    recorded_by_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))
