"""Resource types (reference data), agencies' resources and the people qualified to staff
them, and who is bound to whom by a mutual-aid clause in force (compiled from agreements
like grants are)."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, Numeric, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from accord.core.db import Base, IdMixin, TimestampMixin
from accord.core.time import utcnow


class ResourceType(IdMixin, Base):
    """A kind of resource with its levels (1 is the most capable): NIMS-style typing.
    Accord ships its own list (``data/resource_types.json``, ``version``); an agency may
    add types of its own (``owner_agency_id``, key prefixed with its short name)."""

    __tablename__ = "resource_types"

    key: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(20))  # team | equipment | personnel | facility
    unit: Mapped[str] = mapped_column(String(20), default="each")
    travel_speed_kmh: Mapped[float] = mapped_column(Float)
    levels: Mapped[list[Any]] = mapped_column()  # [{level, minimum_capabilities, required_qualifications}]
    version: Mapped[str] = mapped_column(String(40))
    owner_agency_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("agencies.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Resource(IdMixin, TimestampMixin, Base):
    __tablename__ = "resources"
    __table_args__ = (
        Index("ix_resources_agency_type", "owner_agency_id", "type_key", "status"),
        Index("ix_resources_type_status", "type_key", "status"),
    )

    owner_agency_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("agencies.id"))
    type_key: Mapped[str] = mapped_column(String(80), ForeignKey("resource_types.key"))
    level: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(20), default="available")  # available | assigned | out_of_service
    home_name: Mapped[str] = mapped_column(String(200), default="")
    home: Mapped[dict[str, Any]] = mapped_column()  # GeoJSON Point
    location: Mapped[dict[str, Any]] = mapped_column()  # GeoJSON Point: where it is now
    lon: Mapped[float] = mapped_column(Float)  # of ``location``, for distance prefilters
    lat: Mapped[float] = mapped_column(Float)
    hourly_rate: Mapped[Decimal] = mapped_column(Numeric(10, 2), default=Decimal("0"))
    daily_rate: Mapped[Decimal] = mapped_column(Numeric(10, 2), default=Decimal("0"))
    mileage_rate: Mapped[Decimal] = mapped_column(Numeric(10, 2), default=Decimal("0"))  # per km
    minimum_reserve: Mapped[int] = mapped_column(Integer, default=0)  # kept at home, never offered
    shareable: Mapped[bool] = mapped_column(Boolean, default=True)  # offered to bound partners
    notes: Mapped[str] = mapped_column(String(1000), default="")

    qualified: Mapped[list[ResourceQualification]] = relationship(
        back_populates="resource", cascade="all, delete-orphan", lazy="selectin"
    )


class ResourceQualification(IdMixin, Base):
    """A person of the owner agency qualified to staff the resource, and until when."""

    __tablename__ = "resource_qualifications"
    __table_args__ = (UniqueConstraint("resource_id", "person_id", "qualification"),)

    resource_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("resources.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("people.id"))
    qualification: Mapped[str] = mapped_column(String(80))
    valid_until: Mapped[datetime | None] = mapped_column()

    resource: Mapped[Resource] = relationship(back_populates="qualified")


class MutualAidBinding(IdMixin, Base):
    """One party of one mutual-aid clause of a signed agreement, and when the clause binds
    it: rebuilt from the agreement on every lifecycle change (``clauses.compile``), with the
    windows grants get. Two agencies are bound now when both have a row of the same clause
    in force."""

    __tablename__ = "mutual_aid_bindings"
    __table_args__ = (
        Index("ix_mutual_aid_bindings_agency", "agency_id", "valid_from"),
        Index("ix_mutual_aid_bindings_clause", "clause_id", "agency_id"),
    )

    agreement_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("agreements.id", ondelete="CASCADE"))
    agreement_version_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("agreement_versions.id", ondelete="CASCADE")
    )
    clause_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("clauses.id", ondelete="CASCADE"))
    agency_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("agencies.id"))
    terms: Mapped[dict[str, Any]] = mapped_column()  # the clause's terms, as signed
    valid_from: Mapped[datetime] = mapped_column()
    valid_until: Mapped[datetime | None] = mapped_column()
