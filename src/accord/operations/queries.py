"""Reads of incidents and their activity logs, always through ``authz.scope``."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from accord.authz import Actor, scope
from accord.core.errors import NotFound
from accord.operations import policy as _policy
from accord.operations.models import ActivityEntry, Incident
from accord.operations.schemas import IncidentFilter

READ = "operations:incident:read"


def get_incident(db: Session, actor: Actor, incident_id: uuid.UUID) -> Incident:
    incident = db.scalar(scope(actor, READ, select(Incident).where(Incident.id == incident_id)))
    if incident is None:
        raise NotFound("incident")
    return incident


def list_incidents(db: Session, actor: Actor, filters: IncidentFilter) -> tuple[list[Incident], int]:
    stmt = select(Incident)
    if filters.status is not None:
        stmt = stmt.where(Incident.status == filters.status)
    if filters.type is not None:
        stmt = stmt.where(Incident.type == filters.type)
    stmt = scope(actor, READ, stmt)
    total = db.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    page = db.scalars(
        stmt.order_by(Incident.started_at.desc(), Incident.id).limit(filters.limit).offset(filters.offset)
    )
    return list(page), int(total)


def list_activity(db: Session, actor: Actor, incident_id: uuid.UUID) -> list[ActivityEntry]:
    """The incident's log, oldest first, for agencies taking part; to anyone else it looks
    like no log at all (404)."""
    incident = get_incident(db, actor, incident_id)
    if not _policy.takes_part(actor, READ, incident):
        raise NotFound("activity log")
    stmt = scope(actor, READ, select(ActivityEntry).where(ActivityEntry.incident_id == incident_id))
    return list(db.scalars(stmt.order_by(ActivityEntry.logged_at, ActivityEntry.id)))
