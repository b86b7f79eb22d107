"""Reads of published alerts and imported sources, through ``authz.scope``; and the public
feed, which needs no caller: a published alert is public by publication (scope Public)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from accord.authz import Actor, scope
from accord.core.errors import NotFound
from accord.operations import queries as operations
from accord.operations.alerts import policy as _policy  # noqa: F401  (registers the policies)
from accord.operations.alerts.models import ImportedAlert, IncidentAlert

READ = "operations:incident:read"
# A cancelled alert stays in the public feed this long, so receivers learn of the cancellation.
CANCELLED_SHOWN = timedelta(hours=24)
FEED_SIZE = 100


def list_alerts(db: Session, actor: Actor, incident_id: uuid.UUID) -> list[IncidentAlert]:
    """The incident's published messages, newest first (404 if the incident is not visible)."""
    operations.get_incident(db, actor, incident_id)
    stmt = scope(actor, READ, select(IncidentAlert).where(IncidentAlert.incident_id == incident_id))
    return list(db.scalars(stmt.order_by(IncidentAlert.sent_at.desc(), IncidentAlert.published_at.desc())))


def get_alert(db: Session, actor: Actor, alert_id: uuid.UUID) -> IncidentAlert:
    alert = db.scalar(scope(actor, READ, select(IncidentAlert).where(IncidentAlert.id == alert_id)))
    if alert is None:
        raise NotFound("alert")
    return alert


def thread_of(db: Session, actor: Actor, alert: IncidentAlert) -> list[IncidentAlert]:
    """Every message of ``alert``'s thread, first to last."""
    stmt = scope(actor, READ, select(IncidentAlert).where(IncidentAlert.thread_id == alert.thread_id))
    return list(db.scalars(stmt.order_by(IncidentAlert.sequence)))


def count_for_incident(db: Session, actor: Actor, incident_id: uuid.UUID) -> int:
    stmt = scope(actor, READ, select(IncidentAlert).where(IncidentAlert.incident_id == incident_id))
    return int(db.scalar(select(func.count()).select_from(stmt.subquery())) or 0)


def sources_of(db: Session, actor: Actor, incident_id: uuid.UUID) -> list[ImportedAlert]:
    """The outside CAP messages an incident report was made or changed from, oldest first."""
    operations.get_incident(db, actor, incident_id)
    stmt = scope(actor, READ, select(ImportedAlert).where(ImportedAlert.incident_id == incident_id))
    return list(db.scalars(stmt.order_by(ImportedAlert.imported_at, ImportedAlert.id)))


def find_import(db: Session, actor: Actor, agency_id: uuid.UUID, sender: str, identifier: str) -> ImportedAlert | None:
    stmt = select(ImportedAlert).where(
        ImportedAlert.agency_id == agency_id, ImportedAlert.sender == sender, ImportedAlert.identifier == identifier
    )
    return db.scalar(scope(actor, READ, stmt))


def referenced_import(
    db: Session, actor: Actor, agency_id: uuid.UUID, references: Iterable[tuple[str, str]]
) -> ImportedAlert | None:
    """The latest of the agency's imports that a message's ``<references>`` name."""
    pairs = list(references)
    if not pairs:
        return None
    stmt = select(ImportedAlert).where(
        ImportedAlert.agency_id == agency_id,
        or_(*(and_(ImportedAlert.sender == s, ImportedAlert.identifier == i) for s, i in pairs)),
    )
    return db.scalar(scope(actor, READ, stmt).order_by(ImportedAlert.imported_at.desc()).limit(1))


def public_feed(db: Session, now: datetime) -> list[IncidentAlert]:
    """The public feed: the latest message of every alert thread still in force (not yet
    expired), and cancellations of the last 24 hours; newest first."""
    later = aliased(IncidentAlert)
    newer_exists = exists().where(later.thread_id == IncidentAlert.thread_id, later.sequence > IncidentAlert.sequence)
    stmt = (
        select(IncidentAlert)
        .where(~newer_exists)
        .where(
            or_(
                and_(
                    IncidentAlert.msg_type != "Cancel",
                    or_(IncidentAlert.expires_at.is_(None), IncidentAlert.expires_at > now),
                ),
                and_(IncidentAlert.msg_type == "Cancel", IncidentAlert.sent_at > now - CANCELLED_SHOWN),
            )
        )
        .order_by(IncidentAlert.sent_at.desc(), IncidentAlert.published_at.desc())
        .limit(FEED_SIZE)
    )
    return list(db.scalars(stmt))


def public_alert(db: Session, alert_id: uuid.UUID) -> IncidentAlert:
    """Any published message, as it was served (public by publication)."""
    alert = db.get(IncidentAlert, alert_id)
    if alert is None:
        raise NotFound("alert")
    return alert
