"""Planned operations, the H3 cells that cover them, and the notices told to each side of
a conflict.

A notice belongs to the agency it is addressed to and holds only what lets its contact
call the other side: the other agency, the other contact and the overlap window (plus,
for an incident, which incident, shown only to readers who may see it)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, Integer, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from accord.core.db import Base, IdMixin, TimestampMixin


class PlannedOperation(IdMixin, TimestampMixin, Base):
    __tablename__ = "planned_operations"
    __table_args__ = (
        Index("ix_planned_operations_owner", "owner_agency_id", "status", "starts_at"),
        Index("ix_planned_operations_window", "status", "starts_at", "ends_at"),
        Index("ix_planned_operations_bbox", "min_lon", "min_lat", "max_lon", "max_lat"),
    )

    owner_agency_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("agencies.id"))
    kind: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(200))  # private to the owner
    case_reference: Mapped[str] = mapped_column(String(100), default="")  # private to the owner
    location: Mapped[dict[str, Any] | None] = mapped_column()  # GeoJSON Point, with radius_m
    radius_m: Mapped[float | None] = mapped_column(Float)
    area: Mapped[dict[str, Any] | None] = mapped_column()  # GeoJSON MultiPolygon
    min_lon: Mapped[float] = mapped_column(Float)
    min_lat: Mapped[float] = mapped_column(Float)
    max_lon: Mapped[float] = mapped_column(Float)
    max_lat: Mapped[float] = mapped_column(Float)
    starts_at: Mapped[datetime] = mapped_column()
    ends_at: Mapped[datetime] = mapped_column()
    contact_name: Mapped[str] = mapped_column(String(150))
    contact_phone: Mapped[str] = mapped_column(String(40))
    contact_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(16))
    created_by_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))


class PlannedOperationCell(Base):
    """One H3 cell (resolution 7) of an operation's covering: the indexed prefilter."""

    __tablename__ = "planned_operation_cells"
    __table_args__ = (Index("ix_planned_operation_cells_cell", "cell", "operation_id"),)

    operation_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("planned_operations.id", ondelete="CASCADE"), primary_key=True
    )
    cell: Mapped[str] = mapped_column(String(16), primary_key=True)


class DeconflictionNotice(IdMixin, TimestampMixin, Base):
    """What one side of a conflict is told. One row per side and pair (``pair_key``): a
    changed window updates the row and tells its agency again."""

    __tablename__ = "deconfliction_notices"
    __table_args__ = (
        UniqueConstraint("agency_id", "pair_key"),
        Index("ix_deconfliction_notices_agency", "agency_id", "resolved_at", "notified_at"),
        Index("ix_deconfliction_notices_operation", "operation_id"),
        Index("ix_deconfliction_notices_counterpart", "counterpart_operation_id"),
        Index("ix_deconfliction_notices_incident", "incident_id"),
    )

    agency_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("agencies.id"))  # the recipient
    pair_key: Mapped[str] = mapped_column(String(120))
    # The recipient's own operation (None when the recipient leads the incident in the pair).
    operation_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("planned_operations.id"))
    # The other side's operation: kept to find the pair again, never shown.
    counterpart_operation_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("planned_operations.id"))
    incident_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("incidents.id"))
    other_agency_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("agencies.id"))
    other_contact_name: Mapped[str] = mapped_column(String(150))
    other_contact_phone: Mapped[str] = mapped_column(String(40))
    overlap_starts_at: Mapped[datetime] = mapped_column()
    overlap_ends_at: Mapped[datetime] = mapped_column()
    revision: Mapped[int] = mapped_column(Integer, default=1)
    notified_at: Mapped[datetime] = mapped_column()
    acknowledged_at: Mapped[datetime | None] = mapped_column()
    acknowledged_by_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))
    resolved_at: Mapped[datetime | None] = mapped_column()  # the two no longer overlap
