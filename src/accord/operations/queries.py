"""Reads of incidents and their activity logs, always through ``authz.scope``."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from accord.authz import Actor, scope
from accord.core.errors import NotFound
from accord.operations import policy as _policy
from accord.operations.models import ActivityEntry, CommandAssignment, Incident, MapLayer, OperationalPeriod, Task
from accord.operations.schemas import IncidentFilter, TaskFilter
from accord.operations.vocab import POSITIONS, TASK_PRIORITIES, TASK_STATUSES

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
    whole_incident(db, actor, incident_id, "activity log")
    stmt = scope(actor, READ, select(ActivityEntry).where(ActivityEntry.incident_id == incident_id))
    return list(db.scalars(stmt.order_by(ActivityEntry.logged_at, ActivityEntry.id)))


def whole_incident(db: Session, actor: Actor, incident_id: uuid.UUID, what: str) -> Incident:
    """The incident, for an agency taking part in it; to anyone else ``what`` (its log,
    tasks, command staff...) looks like it does not exist."""
    incident = get_incident(db, actor, incident_id)
    if not _policy.takes_part(actor, READ, incident):
        raise NotFound(what)
    return incident


def list_command(
    db: Session, actor: Actor, incident_id: uuid.UUID, *, current_only: bool = False
) -> list[CommandAssignment]:
    """Who holds (and held) the incident's ICS positions, in position order."""
    whole_incident(db, actor, incident_id, "command staff")
    stmt = select(CommandAssignment).where(CommandAssignment.incident_id == incident_id)
    if current_only:
        stmt = stmt.where(CommandAssignment.ended_at.is_(None))
    rows = list(db.scalars(scope(actor, READ, stmt).order_by(CommandAssignment.started_at, CommandAssignment.id)))
    order = {position: index for index, position in enumerate(POSITIONS)}
    return sorted(rows, key=lambda row: (order.get(row.position, 99), row.label, row.started_at))


def list_periods(db: Session, actor: Actor, incident_id: uuid.UUID) -> list[OperationalPeriod]:
    whole_incident(db, actor, incident_id, "operational periods")
    stmt = scope(actor, READ, select(OperationalPeriod).where(OperationalPeriod.incident_id == incident_id))
    return list(db.scalars(stmt.order_by(OperationalPeriod.number)))


def current_period(periods: list[OperationalPeriod], at: datetime) -> OperationalPeriod | None:
    """The period running at ``at``, else the latest one that has started, else the first."""
    running = [p for p in periods if p.starts_at <= at < p.ends_at]
    if running:
        return running[-1]
    started = [p for p in periods if p.starts_at <= at]
    return started[-1] if started else (periods[0] if periods else None)


def list_tasks(db: Session, actor: Actor, incident_id: uuid.UUID, filters: TaskFilter | None = None) -> list[Task]:
    whole_incident(db, actor, incident_id, "tasks")
    stmt = select(Task).where(Task.incident_id == incident_id)
    if filters is not None and filters.status is not None:
        stmt = stmt.where(Task.status == filters.status)
    if filters is not None and filters.assigned_agency_id is not None:
        stmt = stmt.where(Task.assigned_agency_id == filters.assigned_agency_id)
    return list(db.scalars(scope(actor, READ, stmt).order_by(Task.number)))


def get_task(db: Session, actor: Actor, incident_id: uuid.UUID, task_id: uuid.UUID) -> Task:
    stmt = select(Task).where(Task.id == task_id, Task.incident_id == incident_id)
    task = db.scalar(scope(actor, READ, stmt))
    if task is None:
        raise NotFound("task")
    return task


def status_board(tasks: list[Task], now: datetime) -> tuple[dict[str, list[Task]], int]:
    """Columns in board order; within one, immediate before urgent before routine, then
    the earliest due. Also how many open tasks are past due."""
    rank = {priority: index for index, priority in enumerate(TASK_PRIORITIES)}
    columns: dict[str, list[Task]] = {status: [] for status in TASK_STATUSES}
    for task in tasks:
        columns[task.status].append(task)
    for column in columns.values():
        column.sort(key=lambda t: (rank.get(t.priority, 9), t.due_at or datetime.max.replace(tzinfo=UTC), t.number))
    overdue = sum(1 for t in tasks if t.due_at and t.due_at < now and t.status not in ("done", "cancelled"))
    return columns, overdue


def list_layers(db: Session, actor: Actor) -> list[MapLayer]:
    stmt = scope(actor, READ, select(MapLayer).where(MapLayer.withdrawn_at.is_(None)))
    return list(db.scalars(stmt.order_by(MapLayer.name, MapLayer.id)))


def get_layer(db: Session, actor: Actor, layer_id: uuid.UUID) -> MapLayer:
    stmt = select(MapLayer).where(MapLayer.id == layer_id, MapLayer.withdrawn_at.is_(None))
    layer = db.scalar(scope(actor, READ, stmt))
    if layer is None:
        raise NotFound("map layer")
    return layer


def open_task_counts(db: Session, actor: Actor, incident_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    """Tasks not yet done or cancelled, per incident (of incidents the caller takes part in)."""
    if not incident_ids:
        return {}
    stmt = scope(
        actor,
        READ,
        select(Task).where(Task.incident_id.in_(incident_ids), Task.status.not_in(("done", "cancelled"))),
    )
    rows = db.execute(stmt.with_only_columns(Task.incident_id, func.count()).group_by(Task.incident_id))
    return {incident_id: int(count) for incident_id, count in rows}
