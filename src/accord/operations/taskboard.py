"""Commands on tasks: assign work to an agency taking part (and one of its units), then
report on it — notes, status along the board, new positions. Every report is a new
``TaskUpdate`` row, so the board shows who said what when and the map can replay where a
task's unit was. Audit and live events in the same transaction; nothing here commits."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from accord.audit.service import record_event
from accord.authz import Actor, roles_key
from accord.core import events
from accord.core.errors import Conflict, InvalidInput, PermissionDenied
from accord.core.time import utcnow
from accord.geo.overlap import point_coordinates
from accord.operations import queries
from accord.operations.command import commanding_agencies
from accord.operations.models import Incident, Objective, Task, TaskUpdate
from accord.operations.schemas import TaskCreate, TaskReport
from accord.operations.vocab import TASK_STATUSES, TASK_TRANSITIONS

WRITE = "operations:task:write"


def _point(location: dict[str, Any] | None, field: str) -> dict[str, Any] | None:
    if location is None:
        return None
    lon, lat = point_coordinates(location, field)
    return {"type": "Point", "coordinates": [lon, lat]}


def _involved(incident: Incident) -> set[uuid.UUID]:
    return {incident.lead_agency_id} | {p.agency_id for p in incident.participants}


def _writer_agency(actor: Actor, incident: Incident) -> uuid.UUID:
    """The caller's agency taking part in ``incident`` that writes tasks (lead first)."""
    mine = [agency for agency, _ in roles_key(actor, WRITE)]
    involved = _involved(incident)
    if incident.lead_agency_id in mine:
        return incident.lead_agency_id
    for agency in mine:
        if agency in involved:
            return agency
    raise PermissionDenied(WRITE, incident.lead_agency_id, "only agencies taking part work on its tasks")


def _announce(db: Session, kind: str, task: Task, incident: Incident) -> None:
    payload: dict[str, Any] = {"incident_id": str(incident.id), "status": task.status, "number": task.number}
    if task.location is not None:
        payload["location"] = task.location["coordinates"]
    events.emit(
        db, kind=kind, object_type="task", object_id=task.id, agency_id=task.assigned_agency_id, payload=payload
    )


def create_task(db: Session, *, actor: Actor, incident_id: uuid.UUID, data: TaskCreate) -> Task:
    incident = queries.whole_incident(db, actor, incident_id, "incident")
    agency = _writer_agency(actor, incident)
    if incident.status == "closed":
        raise Conflict("status", "the incident is closed; no new tasks")
    if data.assigned_agency_id not in _involved(incident):
        raise InvalidInput("assigned_agency_id", "this agency does not take part in the incident")
    if data.objective_id is not None:
        found = db.scalar(
            select(Objective.id).where(Objective.id == data.objective_id, Objective.incident_id == incident.id)
        )
        if found is None:
            raise InvalidInput("objective_id", "no such objective in this incident")
    now = utcnow()
    if data.due_at is not None and data.due_at < now - timedelta(days=1):
        raise InvalidInput("due_at", "a task is not due more than a day in the past")
    location = _point(data.location, "location")
    task = Task(
        incident_id=incident.id,
        title=data.title,
        details=data.details,
        objective_id=data.objective_id,
        assigned_agency_id=data.assigned_agency_id,
        assigned_unit=data.assigned_unit,
        status="assigned",
        priority=data.priority,
        due_at=data.due_at,
        location=location,
        created_by_user_id=actor.user_id,
        created_by_agency_id=agency,
    )
    # Numbers run per incident; two people adding a task at once may pick the same one:
    # the unique constraint refuses the second, which takes the next.
    for _attempt in range(5):
        task.number = (db.scalar(select(func.max(Task.number)).where(Task.incident_id == incident.id)) or 0) + 1
        try:
            with db.begin_nested():
                db.add(task)
                db.flush()
            break
        except IntegrityError:
            continue
    else:
        raise Conflict("number", "could not number the task; try again")
    db.add(
        TaskUpdate(
            task_id=task.id,
            at=now,
            author_user_id=actor.user_id,
            author_name=actor.display_name or actor.username,
            agency_id=agency,
            text="Task assigned",
            status="assigned",
            location=location,
        )
    )
    db.flush()
    db.refresh(task, ["updates"])
    record_event(
        db,
        actor=actor,
        action="operations.task.create",
        agency_id=agency,
        object_type="incident",
        object_id=incident.id,
        details={"task": str(task.id), "number": task.number, "assigned_agency_id": str(data.assigned_agency_id)},
    )
    _announce(db, "task.created", task, incident)
    return task


def report_on_task(db: Session, *, actor: Actor, incident_id: uuid.UUID, task_id: uuid.UUID, data: TaskReport) -> Task:
    """A note, a status change, a new position or a new unit, by the agency the task is
    assigned to, the agency that set it, or unified command."""
    incident = queries.whole_incident(db, actor, incident_id, "incident")
    task = queries.get_task(db, actor, incident.id, task_id)
    mine = {agency for agency, _ in roles_key(actor, WRITE)}
    allowed = {task.assigned_agency_id, task.created_by_agency_id} | set(commanding_agencies(db, actor, incident))
    agency = next(
        (
            a
            for a in (task.assigned_agency_id, task.created_by_agency_id, incident.lead_agency_id)
            if a in mine and a in allowed
        ),
        None,
    )
    if agency is None:
        agency = next((a for a in mine if a in allowed), None)
    if agency is None:
        raise PermissionDenied(
            WRITE, task.assigned_agency_id, "only the assigned agency, the tasking agency or unified command"
        )
    if incident.status == "closed":
        raise Conflict("status", "the incident is closed; its tasks are kept as they were")
    if not (data.text or data.status or data.location is not None or data.assigned_unit is not None):
        raise InvalidInput("text", "say something: a note, a status, a location or a unit")
    if data.status == task.status and not (data.text or data.location is not None or data.assigned_unit is not None):
        raise Conflict("status", f"the task is already {TASK_STATUSES[task.status].lower()}")
    status = None
    if data.status is not None and data.status != task.status:
        if data.status not in TASK_TRANSITIONS[task.status]:
            allowed_next = (
                ", ".join(TASK_STATUSES[s].lower() for s in sorted(TASK_TRANSITIONS[task.status])) or "nothing"
            )
            raise Conflict(
                "status",
                f"a task that is {TASK_STATUSES[task.status].lower()} cannot become "
                f"{TASK_STATUSES[data.status].lower()}; it can become: {allowed_next}",
            )
        status = task.status = data.status
    location = _point(data.location, "location")
    if location is not None:
        task.location = location
    text = data.text
    if data.assigned_unit is not None and data.assigned_unit != task.assigned_unit:
        task.assigned_unit = data.assigned_unit
        text = (text + " " if text else "") + f"(unit: {data.assigned_unit or 'none'})"
    task.updated_at = utcnow()
    update = TaskUpdate(
        task_id=task.id,
        at=task.updated_at,
        author_user_id=actor.user_id,
        author_name=actor.display_name or actor.username,
        agency_id=agency,
        text=text,
        status=status,
        location=location,
    )
    db.add(update)
    db.flush()
    db.refresh(task, ["updates"])
    record_event(
        db,
        actor=actor,
        action="operations.task.update",
        agency_id=agency,
        object_type="incident",
        object_id=incident.id,
        details={"task": str(task.id), "status": status, "moved": location is not None},
    )
    _announce(db, "task.moved" if location is not None and status is None else "task.updated", task, incident)
    return task
