"""Reading the audit trail, through ``authz.scope``."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from accord.audit import policy as _policy  # noqa: F401  (registers the policy)
from accord.audit.models import AuditEvent
from accord.audit.schemas import AuditFilter
from accord.authz import Actor, scope
from accord.core.errors import InvalidInput


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
