"""Reading the audit trail, through ``authz.scope``."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from accord.audit import chain
from accord.audit import policy as _policy  # noqa: F401  (registers the policy)
from accord.audit.models import AuditChainHead, AuditCheckpoint, AuditEvent
from accord.audit.schemas import AuditFilter
from accord.audit.service import HEAD_ID
from accord.authz import Actor, scope
from accord.core.errors import InvalidInput


def chain_leaves(db: Session, size: int) -> list[bytes]:
    """The first ``size`` Merkle leaves, in chain order."""
    hashes = db.scalars(
        select(AuditEvent.hash).where(AuditEvent.chain_index < size).order_by(AuditEvent.chain_index)
    ).all()
    return [chain.leaf_hash(h) for h in hashes if h is not None]


def list_events(db: Session, actor: Actor, filters: AuditFilter) -> tuple[list[AuditEvent], int]:
    stmt = scope(actor, "audit:event:read", select(AuditEvent))
    if filters.action:
        stmt = stmt.where(AuditEvent.action.startswith(filters.action, autoescape=True))
    if filters.outcome:
        stmt = stmt.where(AuditEvent.outcome == filters.outcome)
    if filters.actor:
        stmt = stmt.where(AuditEvent.actor_username == filters.actor.lower())
    if filters.agency_id:
        stmt = stmt.where(AuditEvent.agency_id == filters.agency_id)
    for bound in (filters.since, filters.until):
        if bound is not None and bound.tzinfo is None:
            raise InvalidInput(
                "since" if bound is filters.since else "until", "give a time zone (e.g. 2026-01-01T00:00:00Z)"
            )
    if filters.since:
        stmt = stmt.where(AuditEvent.occurred_at >= filters.since)
    if filters.until:
        stmt = stmt.where(AuditEvent.occurred_at < filters.until)
    total = db.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = db.scalars(stmt.order_by(AuditEvent.seq.desc()).limit(filters.limit).offset(filters.offset))
    return list(rows), total


def checkpoints(db: Session, since_size: int = 0) -> list[AuditCheckpoint]:
    """Signed checkpoints, oldest first. They reveal sizes and hashes, nothing of any event."""
    stmt = select(AuditCheckpoint).where(AuditCheckpoint.tree_size >= since_size)
    return list(db.scalars(stmt.order_by(AuditCheckpoint.tree_size)))


def consistency(db: Session, first: int, second: int) -> tuple[bytes, bytes, list[bytes]]:
    """Roots of the log at two sizes and the proof that the second extends the first."""
    if first < 0:
        raise InvalidInput("first", "must be 0 or more")
    if second < first:
        raise InvalidInput("second", "must be at least first")
    size = db.scalar(select(AuditChainHead.size).where(AuditChainHead.id == HEAD_ID)) or 0
    if second > size:
        raise InvalidInput("second", f"the log holds {size} events")
    leaves = chain_leaves(db, second)
    return chain.tree_root(leaves[:first]), chain.tree_root(leaves), chain.consistency_proof(leaves, first)
