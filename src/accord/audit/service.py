"""Writing audit events. Callers pass the session of the change they record, so the
event commits or rolls back with it."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from accord.audit.models import AuditEvent
from accord.authz.actor import Actor
from accord.core.logging import request_id_var
from accord.core.time import utcnow

OUTCOMES = ("success", "failure", "denied")


def record_event(
    db: Session,
    *,
    actor: Actor | None,
    action: str,
    outcome: str = "success",
    agency_id: uuid.UUID | None = None,
    object_type: str | None = None,
    object_id: uuid.UUID | str | None = None,
    details: dict[str, Any] | None = None,
    username: str | None = None,
    client_addr: str | None = None,
    clause_id: uuid.UUID | None = None,
) -> AuditEvent:
    if outcome not in OUTCOMES:
        raise ValueError(f"audit outcome must be one of {OUTCOMES}")
    event = AuditEvent(
        occurred_at=utcnow(),
        actor_user_id=actor.user_id if actor else None,
        actor_username=(actor.username if actor and actor.user_id else None) or username or "anonymous",
        actor_agency_id=actor.primary_agency_id if actor else None,
        agency_id=agency_id if agency_id is not None else (actor.primary_agency_id if actor else None),
        action=action,
        outcome=outcome,
        object_type=object_type,
        object_id=str(object_id) if object_id is not None else None,
        clause_id=clause_id,
        client_addr=client_addr or (actor.client_addr if actor else None),
        request_id=request_id_var.get(),
        details=details or {},
    )
    db.add(event)
    db.flush()
    return event
