"""Alerts to platform administrators when the audit trail itself is in trouble: an audit
write that failed (so the change it recorded was refused) or a verify that found the chain
broken. They are stored apart from the audit log, in their own transaction, because the
log may be what is failing, and each one is also logged at CRITICAL."""

from __future__ import annotations

import logging
import uuid

from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from accord.audit import policy as _policy  # noqa: F401  (registers the policies)
from accord.audit.models import AuditAlert
from accord.audit.service import record_event
from accord.authz import Actor, require, scope
from accord.core.errors import NotFound
from accord.core.time import utcnow

log = logging.getLogger("accord.audit")
KINDS = ("audit_write_failed", "verify_failed")
READ = "audit:alert:read"
ACKNOWLEDGE = "audit:alert:acknowledge"


def _logged_alert(kind: str, message: str) -> AuditAlert:
    if kind not in KINDS:
        raise ValueError(f"alert kind must be one of {KINDS}")
    log.critical("audit alert: %s: %s", kind, message, extra={"alert": kind})
    return AuditAlert(kind=kind, message=message[:2000], raised_at=utcnow())


def alert_in(db: Session, *, kind: str, message: str) -> AuditAlert:
    """Log an alert and store it with the caller's transaction (when the log itself works)."""
    alert = _logged_alert(kind, message)
    db.add(alert)
    return alert


def raise_alert(bind: Engine | Connection, *, kind: str, message: str) -> None:
    """Log and store an alert in a transaction of its own (never the failing one)."""
    alert = _logged_alert(kind, message)
    engine = bind.engine if isinstance(bind, Connection) else bind
    try:
        with Session(engine) as db:
            db.add(alert)
            db.commit()
    except Exception:  # the database itself may be down: the log line above still stands
        log.exception("could not store the audit alert")


def list_alerts(db: Session, actor: Actor, *, open_only: bool = False) -> list[AuditAlert]:
    """Alerts, newest first (platform administrators only, through the scope)."""
    stmt = scope(actor, READ, select(AuditAlert))
    if open_only:
        stmt = stmt.where(AuditAlert.acknowledged_at.is_(None))
    return list(db.scalars(stmt.order_by(AuditAlert.raised_at.desc()).limit(500)))


def acknowledge(db: Session, *, actor: Actor, alert_id: uuid.UUID) -> AuditAlert:
    require(actor, ACKNOWLEDGE)
    alert = db.scalar(scope(actor, READ, select(AuditAlert).where(AuditAlert.id == alert_id)))
    if alert is None:
        raise NotFound("alert")
    if alert.acknowledged_at is None:
        alert.acknowledged_at = utcnow()
        alert.acknowledged_by = actor.username
        record_event(db, actor=actor, action="audit.alert.acknowledge", object_type="audit_alert", object_id=alert.id)
    return alert
