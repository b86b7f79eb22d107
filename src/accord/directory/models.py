"""Directory tables. Jurisdictions are GeoJSON MultiPolygons with an indexed bounding box
for map and overlap prefilters."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Index, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from accord.core.db import Base, IdMixin, TimestampMixin


class Agency(IdMixin, TimestampMixin, Base):
    __tablename__ = "agencies"
    __table_args__ = (Index("ix_agencies_bbox", "min_lon", "min_lat", "max_lon", "max_lat"),)

    name: Mapped[str] = mapped_column(String(200), unique=True)
    short_name: Mapped[str] = mapped_column(String(16), unique=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    level: Mapped[str] = mapped_column(String(32), index=True)
    jurisdiction_name: Mapped[str] = mapped_column(String(200))
    jurisdiction: Mapped[dict[str, Any] | None] = mapped_column()
    min_lon: Mapped[float | None] = mapped_column(Float)
    min_lat: Mapped[float | None] = mapped_column(Float)
    max_lon: Mapped[float | None] = mapped_column(Float)
    max_lat: Mapped[float | None] = mapped_column(Float)
    address: Mapped[str] = mapped_column(String(300), default="")
    contacts: Mapped[list[Any]] = mapped_column(default=list)
    duty_phone: Mapped[str] = mapped_column(String(40), default="")
    parent_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("agencies.id", ondelete="SET NULL"))

    capabilities: Mapped[list[AgencyCapability]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="AgencyCapability.capability"
    )
    parent: Mapped[Agency | None] = relationship(remote_side="Agency.id", lazy="joined")

    @property
    def capability_keys(self) -> list[str]:
        return [c.capability for c in self.capabilities]


class AgencyCapability(Base):
    __tablename__ = "agency_capabilities"
    __table_args__ = (Index("ix_agency_capabilities_capability", "capability"),)

    agency_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("agencies.id", ondelete="CASCADE"), primary_key=True)
    capability: Mapped[str] = mapped_column(String(40), primary_key=True)


class Person(IdMixin, TimestampMixin, Base):
    __tablename__ = "people"
    __table_args__ = (Index("ix_people_agency_name", "agency_id", "full_name"),)

    agency_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("agencies.id", ondelete="CASCADE"))
    full_name: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    is_liaison: Mapped[bool] = mapped_column(Boolean, default=False)
    is_duty_contact: Mapped[bool] = mapped_column(Boolean, default=False)
    user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id", ondelete="SET NULL"), unique=True)

    agency: Mapped[Agency] = relationship(lazy="joined")
