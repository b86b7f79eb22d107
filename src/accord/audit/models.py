"""Append-only audit events. UPDATE and DELETE are refused by database triggers
(see the first migration), not just by convention."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from accord.core.db import Base, new_id
from accord.core.time import utcnow


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_agency_seq", "agency_id", "seq"),
        Index("ix_audit_events_actor_seq", "actor_user_id", "seq"),
        Index("ix_audit_events_action", "action"),
        Index("ux_audit_events_chain_index", "chain_index", unique=True),
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
    # JSON, not JSONB, on PostgreSQL: kept as written, so the hash over it still matches
    # when read back (JSONB turns 1e16 into an integer and -0.0 into 0).
    details: Mapped[dict[str, Any]] = mapped_column(JSON(none_as_null=True), default=dict)
    # The hash chain (audit.chain): position, the previous event's hash and this one's.
    chain_index: Mapped[int | None] = mapped_column(BigInteger)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64))


class AuditChainHead(Base):
    """The end of the chain: one row, updated by every append. Appenders lock it, so
    concurrent writers queue here (for the few statements at commit) instead of forking
    the chain. ``frontier`` is the Merkle tree's right edge, so checkpoints cost O(log n)."""

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    head_hash: Mapped[str] = mapped_column(String(64))
    frontier: Mapped[list[Any]] = mapped_column(default=list)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    checkpointed_at: Mapped[datetime | None] = mapped_column()


class AuditCheckpoint(Base):
    """A signed statement of the log at one size: its Merkle root and last hash. Partner
    agencies fetch and keep these, so rewriting history afterwards cannot go unnoticed."""

    __tablename__ = "audit_checkpoints"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    tree_size: Mapped[int] = mapped_column(BigInteger, unique=True)
    root_hash: Mapped[str] = mapped_column(String(64))
    head_hash: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[datetime] = mapped_column(default=utcnow)
    key_id: Mapped[str] = mapped_column(String(32))
    signature: Mapped[str] = mapped_column(String(128))


class AuditAlert(Base):
    """Trouble with the audit trail itself, for platform administrators: kept apart from
    the log (which may be what is failing) and written in a transaction of its own."""

    __tablename__ = "audit_alerts"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(40))  # audit_write_failed | verify_failed
    message: Mapped[str] = mapped_column(String(2000))
    raised_at: Mapped[datetime] = mapped_column(default=utcnow)
    acknowledged_at: Mapped[datetime | None] = mapped_column()
    acknowledged_by: Mapped[str | None] = mapped_column(String(150))
