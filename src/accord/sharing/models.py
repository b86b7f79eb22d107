"""Records. The tier is stored with its rank so the sharing predicate compares integers;
the search text holds only unlabelled content, so search never reveals a masked field.
Every version of a record is kept as a revision (the history surface), and attachments
are stored in the database, in the same transaction as their audit event.

Records at AMBER+STRICT and RED keep their body (every version) and attachments sealed
with the record's own data key (``data_key_id``; accord.vault): ``body`` then holds ``{}``
and ``search_text`` only the title. Retention per category and legal holds decide purges
(docs/adr/0011)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint, Uuid
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
    revision: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    data_key_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("data_keys.id"))
    body_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    legal_hold: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    legal_hold_reason: Mapped[str] = mapped_column(String(500), default="", server_default="")
    legal_hold_at: Mapped[datetime | None] = mapped_column()
    legal_hold_by_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))
    red_recipients: Mapped[list[RecordRecipient]] = relationship(cascade="all, delete-orphan", lazy="selectin")

    @property
    def shared_at(self) -> datetime:
        """When this content was last shared: a clause's retention period runs from here."""
        return self.updated_at


class RecordRecipient(Base):
    """RED records name people (user accounts), never agencies."""

    __tablename__ = "record_recipients"
    __table_args__ = (Index("ix_record_recipients_user", "user_id"),)

    record_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("records.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id"), primary_key=True)


class RecordRevision(IdMixin, Base):
    """One version of a record as it was saved. The sharing columns are copied so the
    history surface applies the sharing rules to each version as it was: a version that
    was RED stays hidden from partners after the record is downgraded to GREEN."""

    __tablename__ = "record_revisions"
    __table_args__ = (UniqueConstraint("record_id", "number"),)

    record_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("records.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    owner_agency_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("agencies.id"))
    category: Mapped[str] = mapped_column(String(32))
    tier: Mapped[str] = mapped_column(String(16))
    tier_rank: Mapped[int] = mapped_column(Integer)
    purpose: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[dict[str, Any]] = mapped_column(default=dict)
    geometry: Mapped[dict[str, Any] | None] = mapped_column()
    red_recipients: Mapped[list[Any]] = mapped_column(default=list)  # user ids, as text
    event_at: Mapped[datetime] = mapped_column()
    changed_at: Mapped[datetime] = mapped_column()
    changed_by_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))
    note: Mapped[str] = mapped_column(String(500), default="")
    data_key_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("data_keys.id"))
    body_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)

    @property
    def shared_at(self) -> datetime:
        return self.changed_at


class Attachment(IdMixin, Base):
    """A file attached to a record. Its content type is the one sniffed from the bytes
    (checked against what the uploader declared); a label masks it like a labelled field."""

    __tablename__ = "record_attachments"
    __table_args__ = (Index("ix_record_attachments_record", "record_id"),)

    record_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("records.id", ondelete="CASCADE"))
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    label: Mapped[str | None] = mapped_column(String(8))
    uploaded_at: Mapped[datetime] = mapped_column()
    uploaded_by_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    data_key_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("data_keys.id"))  # set: content sealed


class RetentionPolicy(Base):
    """How long an agency keeps its own records of one category after their last change;
    the purge task removes older ones unless they are on legal hold."""

    __tablename__ = "retention_policies"

    agency_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("agencies.id"), primary_key=True)
    category: Mapped[str] = mapped_column(String(32), primary_key=True)
    retention_days: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column()
    updated_by_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))
