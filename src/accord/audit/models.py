"""Append-only audit events. UPDATE and DELETE are refused by database triggers
(see the first migration), not just by convention."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from accord.core.db import Base, new_id
from accord.core.time import utcnow


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_agency_seq", "agency_id", "seq"),
        Index("ix_audit_events_actor_seq", "actor_user_id", "seq"),
        Index("ix_audit_events_action", "action"),
    )

    # Integer on SQLite so it is the rowid alias (autoincrement); BIGINT identity on PostgreSQL.
    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    id: Mapped[uuid.UUID] = mapped_column(Uuid, default=new_id, unique=True)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))
    actor_username: Mapped[str] = mapped_column(String(150))
    actor_agency_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    # The agency whose data or people the event concerns: auditors of that agency see it.
    agency_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    action: Mapped[str] = mapped_column(String(100))
    outcome: Mapped[str] = mapped_column(String(20))  # success | failure | denied
    object_type: Mapped[str | None] = mapped_column(String(60))
    object_id: Mapped[str | None] = mapped_column(String(64))
    clause_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    client_addr: Mapped[str | None] = mapped_column(String(64))
    request_id: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Reserved for the hash chain (issue: tamper-evident audit); filled from then on.
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64))
