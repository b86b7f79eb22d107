"""The common operating picture: what the caller may see on the map, as GeoJSON, now or
at any moment of the last 24 hours (the time slider). Every layer is read through
``authz.scope``: incidents as the agreements allow, tasks of incidents the caller's agency
takes part in, and layers agencies publish."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from accord.authz import Actor, scope
from accord.core.errors import InvalidInput
from accord.core.time import utcnow
from accord.operations import queries
from accord.operations.deconfliction.models import PlannedOperation
from accord.operations.models import Incident, Task, TaskUpdate
from accord.operations.policy import takes_part

READ = queries.READ
PLANNED_READ = "operations:planned:read"
WINDOW = timedelta(hours=24)
MAX_FEATURES = 5_000


def moment(at: datetime | None) -> datetime:
    """``at`` checked against the slider's window: the last 24 hours, never the future."""
    now = utcnow()
    if at is None:
        return now
    if at.tzinfo is None:
        raise InvalidInput("at", "give a time zone (for example 2026-11-22T14:00:00Z)")
    if at > now + timedelta(minutes=5):
        raise InvalidInput("at", "the operating picture does not show the future")
    if at < now - WINDOW - timedelta(minutes=5):
        raise InvalidInput("at", "the time slider reaches back 24 hours")
    return min(at, now)


def _collection(features: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": features}


def incidents_layer(db: Session, actor: Actor, at: datetime) -> dict[str, Any]:
    """Incidents open at ``at`` (areas, else points), each with what the map's popup shows."""
    stmt = select(Incident).where(
        Incident.started_at <= at,
        or_(Incident.closed_at.is_(None), Incident.closed_at > at),
        or_(Incident.area.is_not(None), Incident.location.is_not(None)),
    )
    incidents = db.scalars(scope(actor, READ, stmt).order_by(Incident.started_at.desc()).limit(MAX_FEATURES))
    features = []
    for incident in incidents:
        properties = {
            "kind": "incident",
            "id": str(incident.id),
            "number": incident.number,
            "name": incident.name,
            "type": incident.type,
            "severity": incident.severity,
            "status": incident.status,
            "tier": incident.tier,
            "taking_part": takes_part(actor, READ, incident),
            "url": f"/incidents/{incident.id}",
        }
        if incident.area is not None:
            features.append({"type": "Feature", "geometry": incident.area, "properties": properties})
        if incident.location is not None:
            features.append(
                {"type": "Feature", "geometry": incident.location, "properties": properties | {"point": True}}
            )
    return _collection(features)


def tasks_layer(db: Session, actor: Actor, at: datetime) -> dict[str, Any]:
    """Tasks with a position at ``at`` — where their last report before ``at`` put them —
    and their status at that moment."""
    stmt = (
        select(Task)
        .join(Incident, Incident.id == Task.incident_id)
        .where(Task.created_at <= at, or_(Incident.closed_at.is_(None), Incident.closed_at > at))
    )
    newest = scope(actor, READ, stmt).order_by(Task.created_at.desc(), Task.id).limit(MAX_FEATURES)
    tasks = {t.id: t for t in db.scalars(newest)}
    if not tasks:
        return _collection([])
    updates = db.scalars(
        scope(actor, READ, select(TaskUpdate).where(TaskUpdate.task_id.in_(list(tasks)), TaskUpdate.at <= at)).order_by(
            TaskUpdate.at, TaskUpdate.id
        )
    )
    place: dict[Any, dict[str, Any]] = {}
    status: dict[Any, str] = {}
    for update in updates:
        if update.location is not None:
            place[update.task_id] = update.location
        if update.status is not None:
            status[update.task_id] = update.status
    features = []
    for task_id, task in tasks.items():
        geometry = place.get(task_id)
        if geometry is None:
            continue
        features.append(
            {
                "type": "Feature",
                "geometry": geometry,
                "properties": {
                    "kind": "task",
                    "id": str(task.id),
                    "incident_id": str(task.incident_id),
                    "number": task.number,
                    "title": task.title,
                    "status": status.get(task_id, task.status),
                    "priority": task.priority,
                    "unit": task.assigned_unit,
                    "assigned_agency_id": str(task.assigned_agency_id),
                    "url": f"/incidents/{task.incident_id}#task-{task.number}",
                },
            }
        )
    return _collection(features)


def published_layer(db: Session, actor: Actor, layer_id: Any) -> dict[str, Any]:
    layer = queries.get_layer(db, actor, layer_id)
    features = [
        {**feature, "properties": {**feature.get("properties", {}), "layer": layer.name}}
        for feature in layer.features.get("features", [])
    ]
    return _collection(features)


def planned_layer(db: Session, actor: Actor, at: datetime) -> dict[str, Any]:
    """The caller's own agency's planned operations running at ``at`` or starting within
    the next 24 hours (nobody sees another agency's: deconfliction tells only conflicts)."""
    stmt = select(PlannedOperation).where(
        PlannedOperation.status == "planned",
        PlannedOperation.ends_at > at,
        PlannedOperation.starts_at < at + WINDOW,
    )
    features = []
    for op in db.scalars(scope(actor, PLANNED_READ, stmt).order_by(PlannedOperation.starts_at).limit(MAX_FEATURES)):
        properties = {
            "kind": "planned",
            "id": str(op.id),
            "title": op.title,
            "operation_kind": op.kind,
            "starts_at": op.starts_at.isoformat(),
            "ends_at": op.ends_at.isoformat(),
            "radius_m": op.radius_m,
            "url": f"/operations/planned/{op.id}",
        }
        geometry = op.area or op.location
        if geometry is not None:
            features.append({"type": "Feature", "geometry": geometry, "properties": properties})
    return _collection(features)
