"""Records. The tier is stored with its rank so the sharing predicate compares integers;
the search text holds only unlabelled content, so search never reveals a masked field."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from accord.core.db import Base, IdMixin, TimestampMixin


class Record(IdMixin, TimestampMixin, Base):
    __tablename__ = "records"
    __table_args__ = (
        Index("ix_records_owner_category", "owner_agency_id", "category", "tier_rank"),
        Index("ix_records_tier", "tier_rank"),
        Index("ix_records_event_at", "event_at"),
    )

    owner_agency_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("agencies.id"))
    category: Mapped[str] = mapped_column(String(32))
    tier: Mapped[str] = mapped_column(String(16))
    tier_rank: Mapped[int] = mapped_column(Integer)
    purpose: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[dict[str, Any]] = mapped_column(default=dict)
    geometry: Mapped[dict[str, Any] | None] = mapped_column()
    min_lon: Mapped[float | None] = mapped_column(Float)
    min_lat: Mapped[float | None] = mapped_column(Float)
    max_lon: Mapped[float | None] = mapped_column(Float)
    max_lat: Mapped[float | None] = mapped_column(Float)
    event_at: Mapped[datetime] = mapped_column()
    created_by_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))
    search_text: Mapped[str] = mapped_column(Text, default="")
    red_recipients: Mapped[list[RecordRecipient]] = relationship(cascade="all, delete-orphan", lazy="selectin")


class RecordRecipient(Base):
    """RED records name people (user accounts), never agencies."""

    __tablename__ = "record_recipients"
    __table_args__ = (Index("ix_record_recipients_user", "user_id"),)

    record_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("records.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id"), primary_key=True)
