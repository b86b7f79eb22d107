"""Protocols, their versions, the incident types each version applies to, and adoptions.

A published version is frozen: triggers (migration 0014) refuse to change or delete it,
or the incident types it applies to. Adoptions are compiled rows, rebuilt by the
agreements module's ``compile_grants`` (through ``clause_kinds``) on every lifecycle
change of the adopting agreement, each with the window in which it binds its agency."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from accord.core.db import Base, IdMixin, TimestampMixin
from accord.operations.vocab import INCIDENT_TYPES


class Protocol(IdMixin, TimestampMixin, Base):
    """A protocol written jointly by the members of ``partnership``."""

    __tablename__ = "protocols"

    partnership_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("partnerships.id"), index=True)
    created_by_agency_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("agencies.id"))
    created_by_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))
    versions: Mapped[list[ProtocolVersion]] = relationship(
        back_populates="protocol", lazy="selectin", order_by="ProtocolVersion.number"
    )

    @property
    def latest(self) -> ProtocolVersion:
        return self.versions[-1]

    @property
    def current(self) -> ProtocolVersion | None:
        """The newest published version (what the partnership has agreed so far)."""
        published = [v for v in self.versions if v.status == "published"]
        return published[-1] if published else None


class ProtocolVersion(IdMixin, TimestampMixin, Base):
    """Version ``number`` of a protocol: a draft while it is edited, then published with
    the SHA-256 of its canonical content and frozen."""

    __tablename__ = "protocol_versions"
    __table_args__ = (UniqueConstraint("protocol_id", "number"),)

    protocol_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("protocols.id"))
    number: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="draft")  # draft | published
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text, default="")
    steps: Mapped[list[Any]] = mapped_column(default=list)
    roles: Mapped[list[Any]] = mapped_column(default=list)
    contacts: Mapped[list[Any]] = mapped_column(default=list)
    content_hash: Mapped[str | None] = mapped_column(String(64))
    edited_by_agency_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("agencies.id"))
    published_at: Mapped[datetime | None] = mapped_column()
    published_by_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))
    published_by_agency_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("agencies.id"))

    protocol: Mapped[Protocol] = relationship(back_populates="versions")
    types: Mapped[list[ProtocolVersionType]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="ProtocolVersionType.incident_type"
    )

    @property
    def incident_types(self) -> list[str]:
        """In the vocabulary's order (how people read them)."""
        chosen = {t.incident_type for t in self.types}
        return [t for t in INCIDENT_TYPES if t in chosen] + sorted(chosen - set(INCIDENT_TYPES))


class ProtocolVersionType(Base):
    """An incident type a version applies to: the key that attaches it to incidents."""

    __tablename__ = "protocol_version_types"
    __table_args__ = (Index("ix_protocol_version_types_type", "incident_type", "version_id"),)

    version_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("protocol_versions.id", ondelete="CASCADE"), primary_key=True
    )
    incident_type: Mapped[str] = mapped_column(String(40), primary_key=True)


class ProtocolAdoption(IdMixin, Base):
    """``agency`` follows ``protocol_version`` between ``valid_from`` and ``valid_until``
    because clause ``clause`` of agreement version ``agreement_version`` binds it."""

    __tablename__ = "protocol_adoptions"
    __table_args__ = (
        Index("ix_protocol_adoptions_agency", "agency_id", "protocol_version_id"),
        Index("ix_protocol_adoptions_version", "protocol_version_id"),
        Index("ix_protocol_adoptions_agreement", "agreement_id"),
    )

    agreement_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("agreements.id", ondelete="CASCADE"))
    agreement_version_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("agreement_versions.id", ondelete="CASCADE")
    )
    clause_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("clauses.id", ondelete="CASCADE"))
    agency_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("agencies.id"))
    protocol_version_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("protocol_versions.id"))
    valid_from: Mapped[datetime] = mapped_column()
    valid_until: Mapped[datetime | None] = mapped_column()
