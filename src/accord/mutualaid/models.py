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


class ResourceRequest(IdMixin, TimestampMixin, Base):
    """An ICS-213 resource request of an agency taking part in an incident. It waits for
    its logistics and finance approvals, then goes to the agencies bound with the requester
    by the clauses whose thresholds it met (``recipients``), who answer it with offers."""

    __tablename__ = "resource_requests"
    __table_args__ = (
        Index("ix_resource_requests_incident", "incident_id", "status"),
        Index("ix_resource_requests_agency", "requesting_agency_id", "status"),
    )

    number: Mapped[str] = mapped_column(String(30), unique=True)  # 213-2026-0007
    incident_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("incidents.id"))
    requesting_agency_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("agencies.id"))
    requested_by_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))
    requester_name: Mapped[str] = mapped_column(String(200))  # as signed on the form
    requester_position: Mapped[str] = mapped_column(String(200), default="")
    type_key: Mapped[str | None] = mapped_column(String(80), ForeignKey("resource_types.key"))
    level: Mapped[int | None] = mapped_column(Integer)  # the type level asked for (1 most capable)
    description: Mapped[str] = mapped_column(String(2000), default="")
    quantity: Mapped[int] = mapped_column(Integer)
    deliver_to: Mapped[str] = mapped_column(String(300))  # reporting location, in words
    location: Mapped[dict[str, Any]] = mapped_column()  # GeoJSON Point of ``deliver_to``
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    needed_at: Mapped[datetime] = mapped_column()
    priority: Mapped[str] = mapped_column(String(16))  # urgent | high | routine | low
    substitutes_ok: Mapped[bool] = mapped_column(Boolean, default=False)
    special_instructions: Mapped[str] = mapped_column(String(2000), default="")
    status: Mapped[str] = mapped_column(String(16))  # pending | open | filled | cancelled | closed
    logistics_approved_by: Mapped[str | None] = mapped_column(String(200))
    logistics_approved_at: Mapped[datetime | None] = mapped_column()
    finance_approved_by: Mapped[str | None] = mapped_column(String(200))
    finance_approved_at: Mapped[datetime | None] = mapped_column()
    opened_at: Mapped[datetime | None] = mapped_column()  # sent to partners
    filled_at: Mapped[datetime | None] = mapped_column()  # offers committed for the quantity
    closed_at: Mapped[datetime | None] = mapped_column()
    activation: Mapped[list[Any]] = mapped_column()  # [{clause_id, agreement, clause, met, reasons}]
    edxl_message_id: Mapped[str | None] = mapped_column(String(200))  # when it came as EDXL-RM

    recipients: Mapped[list[RequestRecipient]] = relationship(
        back_populates="request", cascade="all, delete-orphan", lazy="selectin"
    )


class RequestRecipient(Base):
    """An agency the request went to, and the clause that binds it to answer. It sees the
    request while that clause still binds it (a terminated agreement hides it at once)."""

    __tablename__ = "resource_request_recipients"
    __table_args__ = (Index("ix_resource_request_recipients_agency", "agency_id", "clause_id"),)

    request_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("resource_requests.id", ondelete="CASCADE"), primary_key=True
    )
    agency_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("agencies.id"), primary_key=True)
    clause_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("clauses.id"), primary_key=True)

    request: Mapped[ResourceRequest] = relationship(back_populates="recipients")


class ResourceOffer(IdMixin, TimestampMixin, Base):
    """A partner's answer to a request with one of its resources. Once the requester commits
    it, it is a deployment: offered -> committed -> mobilized -> on scene -> demobilized ->
    returned, each step time-stamped (or declined / withdrawn before it moves)."""

    __tablename__ = "resource_offers"
    __table_args__ = (
        Index("ix_resource_offers_request", "request_id", "status"),
        Index("ix_resource_offers_provider", "providing_agency_id", "status"),
        Index("ix_resource_offers_resource", "resource_id", "status"),
    )

    request_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("resource_requests.id"))
    resource_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("resources.id"))
    providing_agency_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("agencies.id"))
    clause_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("clauses.id"))  # terms it is paid under
    agreement_version_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("agreement_versions.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    eta_at: Mapped[datetime] = mapped_column()  # estimated arrival when offered
    rank: Mapped[dict[str, Any]] = mapped_column()  # the ranking's factors and their words
    note: Mapped[str] = mapped_column(String(2000), default="")
    offered_by_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))
    offered_at: Mapped[datetime] = mapped_column(default=utcnow)
    committed_at: Mapped[datetime | None] = mapped_column()
    mobilized_at: Mapped[datetime | None] = mapped_column()
    on_scene_at: Mapped[datetime | None] = mapped_column()
    demobilized_at: Mapped[datetime | None] = mapped_column()
    returned_at: Mapped[datetime | None] = mapped_column()
    declined_at: Mapped[datetime | None] = mapped_column()
    withdrawn_at: Mapped[datetime | None] = mapped_column()
    edxl_message_id: Mapped[str | None] = mapped_column(String(200))
