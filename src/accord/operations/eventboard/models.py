"""Command-board tables. Every row names its incident (a planned event), so one indexed
predicate decides who sees it: members of the lead and participating agencies.

Shifts, posts and assignments are never deleted: removing one stamps ``removed_at``, so
the board's history stays readable and a live event about a removal still names a row
whose visibility can be checked. Messages and read receipts are append-only in the
database (triggers refuse UPDATE and DELETE, see migration 0015): a correction is a new
message naming the one it corrects, and a receipt keeps the first time a person read."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from accord.core.db import Base, IdMixin
from accord.core.time import utcnow


class BoardShift(IdMixin, Base):
    """A column of the board: a named period, half-open ``[starts_at, ends_at)``."""

    __tablename__ = "board_shifts"
    __table_args__ = (Index("ix_board_shifts_incident", "incident_id", "starts_at"),)

    incident_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("incidents.id"))
    name: Mapped[str] = mapped_column(String(80))
    starts_at: Mapped[datetime] = mapped_column()
    ends_at: Mapped[datetime] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))
    removed_at: Mapped[datetime | None] = mapped_column()
    removed_by_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))


class BoardPost(IdMixin, Base):
    """A row of the board: a place people stand at (GeoJSON Point, optional radius)."""

    __tablename__ = "board_posts"
    __table_args__ = (Index("ix_board_posts_incident", "incident_id"),)

    incident_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("incidents.id"))
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(String(1000), default="")
    location: Mapped[dict[str, Any]] = mapped_column()  # GeoJSON Point [lon, lat], WGS 84
    radius_m: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))
    removed_at: Mapped[datetime | None] = mapped_column()
    removed_by_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))


class BoardAssignment(IdMixin, Base):
    """A unit of one agency at one post during one shift."""

    __tablename__ = "board_assignments"
    __table_args__ = (
        Index("ix_board_assignments_incident", "incident_id", "shift_id"),
        # Double-booking checks look a unit up by agency and call sign across shifts.
        Index("ix_board_assignments_unit", "agency_id", "unit_key"),
    )

    incident_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("incidents.id"))
    shift_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("board_shifts.id"))
    post_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("board_posts.id"))
    agency_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("agencies.id"))
    unit: Mapped[str] = mapped_column(String(80))  # call sign or name, as written
    unit_key: Mapped[str] = mapped_column(String(80))  # the same, case and spacing folded
    people: Mapped[int] = mapped_column(Integer, default=1)
    person_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("people.id", ondelete="SET NULL"))
    person_name: Mapped[str] = mapped_column(String(200), default="")  # as the directory said when assigned
    notes: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    removed_at: Mapped[datetime | None] = mapped_column()
    removed_by_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))


class BoardMessage(IdMixin, Base):
    """A message on the board; append-only."""

    __tablename__ = "board_messages"
    __table_args__ = (Index("ix_board_messages_incident", "incident_id", "posted_at"),)

    incident_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("incidents.id"))
    posted_at: Mapped[datetime] = mapped_column(default=utcnow)
    author_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))
    author_name: Mapped[str] = mapped_column(String(200))
    author_agency_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("agencies.id"))
    text: Mapped[str] = mapped_column(String(2000))
    priority: Mapped[str] = mapped_column(String(8))  # normal | urgent
    post_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("board_posts.id"))
    corrects_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("board_messages.id"))


class BoardReceipt(Base):
    """The first time one person read one message; append-only."""

    __tablename__ = "board_receipts"
    __table_args__ = (Index("ix_board_receipts_incident", "incident_id", "user_id"),)

    message_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("board_messages.id"), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id"), primary_key=True)
    incident_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("incidents.id"))
    read_at: Mapped[datetime] = mapped_column(default=utcnow)
    reader_name: Mapped[str] = mapped_column(String(200))
    reader_agency_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("agencies.id"))
