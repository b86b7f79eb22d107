"""Partnership, governance and agreement tables, and the compiled grants.

An agreement has versions; a version has parties, clauses and signatures over the
SHA-256 of its canonical content. Grants carry their own validity window, so effective
dates, expiry and opt-out notice ends take effect exactly on time with no job running.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from accord.core.db import Base, IdMixin, TimestampMixin
from accord.core.time import utcnow


class Partnership(IdMixin, TimestampMixin, Base):
    __tablename__ = "partnerships"

    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    purpose: Mapped[str] = mapped_column(Text, default="")
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    members: Mapped[list[PartnershipMember]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="PartnershipMember.joined_at"
    )


class PartnershipMember(Base):
    __tablename__ = "partnership_members"
    __table_args__ = (Index("ix_partnership_members_agency", "agency_id"),)

    partnership_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("partnerships.id", ondelete="CASCADE"), primary_key=True
    )
    agency_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("agencies.id"), primary_key=True)
    joined_at: Mapped[datetime] = mapped_column(default=utcnow)
    left_at: Mapped[datetime | None] = mapped_column()
    liaison_person_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("people.id", ondelete="SET NULL"))


class GovernanceBody(IdMixin, TimestampMixin, Base):
    __tablename__ = "governance_bodies"

    partnership_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("partnerships.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    member_person_ids: Mapped[list[Any]] = mapped_column(default=list)


class Decision(IdMixin, Base):
    __tablename__ = "governance_decisions"

    body_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("governance_bodies.id", ondelete="CASCADE"), index=True)
    decided_on: Mapped[date] = mapped_column(Date)
    text: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(String(16))
    votes_for: Mapped[int] = mapped_column(Integer, default=0)
    votes_against: Mapped[int] = mapped_column(Integer, default=0)
    abstentions: Mapped[int] = mapped_column(Integer, default=0)
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


class Dispute(IdMixin, TimestampMixin, Base):
    __tablename__ = "disputes"

    partnership_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("partnerships.id", ondelete="CASCADE"), index=True
    )
    raised_by_agency_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("agencies.id"))
    subject: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    resolution: Mapped[str | None] = mapped_column(Text)
    resolved_at: Mapped[datetime | None] = mapped_column()


class Agreement(IdMixin, TimestampMixin, Base):
    __tablename__ = "agreements"

    kind: Mapped[str] = mapped_column(String(32))
    partnership_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("partnerships.id", ondelete="SET NULL"), index=True
    )
    drafted_by_agency_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("agencies.id"))
    # Lifecycle of the agreement as a whole; versions carry their own (draft/proposed/signed/superseded).
    suspended_at: Mapped[datetime | None] = mapped_column()
    terminated_at: Mapped[datetime | None] = mapped_column()
    versions: Mapped[list[AgreementVersion]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="AgreementVersion.number"
    )
    opt_outs: Mapped[list[OptOut]] = relationship(cascade="all, delete-orphan", lazy="selectin")


class AgreementVersion(IdMixin, TimestampMixin, Base):
    __tablename__ = "agreement_versions"
    __table_args__ = (UniqueConstraint("agreement_id", "number"),)

    agreement_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("agreements.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="draft")  # draft | proposed | signed | withdrawn
    title: Mapped[str] = mapped_column(String(300))
    text: Mapped[str] = mapped_column(Text, default="")
    effective_at: Mapped[datetime] = mapped_column()
    expires_at: Mapped[datetime | None] = mapped_column()
    content_hash: Mapped[str | None] = mapped_column(String(64))
    proposed_at: Mapped[datetime | None] = mapped_column()
    signed_at: Mapped[datetime | None] = mapped_column()  # when the last party signed
    parties: Mapped[list[VersionParty]] = relationship(cascade="all, delete-orphan", lazy="selectin")
    clauses: Mapped[list[Clause]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="Clause.position"
    )
    signatures: Mapped[list[Signature]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="Signature.signed_at"
    )

    @property
    def party_ids(self) -> list[uuid.UUID]:
        return [p.agency_id for p in self.parties]


class VersionParty(Base):
    __tablename__ = "agreement_parties"
    __table_args__ = (Index("ix_agreement_parties_agency", "agency_id"),)

    version_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("agreement_versions.id", ondelete="CASCADE"), primary_key=True
    )
    agency_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("agencies.id"), primary_key=True)


class Clause(IdMixin, Base):
    __tablename__ = "clauses"

    version_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("agreement_versions.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))  # sharing | opt_out | mutual_aid
    terms: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Signature(IdMixin, Base):
    __tablename__ = "signatures"
    __table_args__ = (UniqueConstraint("version_id", "agency_id"),)

    version_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("agreement_versions.id", ondelete="CASCADE"))
    agency_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("agencies.id"))
    signer_user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id"))
    signer_name: Mapped[str] = mapped_column(String(200))
    content_hash: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[datetime] = mapped_column(default=utcnow)


class OptOut(IdMixin, Base):
    __tablename__ = "opt_outs"
    __table_args__ = (UniqueConstraint("agreement_id", "agency_id"),)

    agreement_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("agreements.id", ondelete="CASCADE"))
    agency_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("agencies.id"))
    notified_at: Mapped[datetime] = mapped_column(default=utcnow)
    effective_at: Mapped[datetime] = mapped_column()


class Grant(IdMixin, Base):
    """One compiled permission: ``recipient`` (optionally only ``recipient_role``) may see
    ``provider``'s records of ``category`` up to ``max_tier`` for ``purpose`` between
    ``valid_from`` and ``valid_until``. Rebuilt from the agreements on every change."""

    __tablename__ = "grants"
    __table_args__ = (
        Index("ix_grants_recipient", "recipient_agency_id", "provider_agency_id", "category", "purpose"),
        Index("ix_grants_agreement", "agreement_id"),
    )

    agreement_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("agreements.id", ondelete="CASCADE"))
    version_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("agreement_versions.id", ondelete="CASCADE"))
    clause_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("clauses.id", ondelete="CASCADE"))
    provider_agency_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("agencies.id"))
    recipient_agency_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("agencies.id"))
    recipient_role: Mapped[str | None] = mapped_column(String(64))
    category: Mapped[str] = mapped_column(String(32))
    purpose: Mapped[str] = mapped_column(String(32))
    max_tier: Mapped[int] = mapped_column(Integer)
    grants_pii: Mapped[bool] = mapped_column(Boolean, default=False)
    grants_phi: Mapped[bool] = mapped_column(Boolean, default=False)
    grants_cji: Mapped[bool] = mapped_column(Boolean, default=False)
    aggregates_only: Mapped[bool] = mapped_column(Boolean, default=False)
    reshare_allowed: Mapped[bool] = mapped_column(Boolean, default=False)
    retention_days: Mapped[int | None] = mapped_column(Integer)
    valid_from: Mapped[datetime] = mapped_column()
    valid_until: Mapped[datetime | None] = mapped_column()
