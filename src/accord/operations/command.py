"""Commands on the incident's organisation: operational periods with their objectives and
the ICS positions (who holds which, since when). Every change writes its audit event and
announces a live event in the same transaction; nothing here commits.

Who may change the organisation: unified command. The lead agency's commanders always;
a participating agency's commanders may name their own agency's incident commander (so it
joins unified command), and once their agency holds a seat there they organise the
incident like the lead agency does."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from accord.audit.service import record_event
from accord.authz import Actor, roles_key
from accord.core import events
from accord.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from accord.core.time import utcnow
from accord.directory import queries as directory
from accord.operations import queries
from accord.operations.models import CommandAssignment, Incident, Objective, OperationalPeriod
from accord.operations.schemas import CommandAssign, ObjectiveCreate, ObjectiveUpdate, PeriodCreate
from accord.operations.vocab import ONE_PER_AGENCY, ONE_PER_LABEL, POSITIONS

UPDATE = "operations:incident:update"
MAX_PERIOD = timedelta(days=7)
MAX_OBJECTIVES = 20


def _involved(incident: Incident) -> set[uuid.UUID]:
    return {incident.lead_agency_id} | {p.agency_id for p in incident.participants}


def _seated_agencies(db: Session, incident: Incident) -> set[uuid.UUID]:
    """Agencies holding an incident-commander seat now (unified command)."""
    stmt = select(CommandAssignment.agency_id).where(
        CommandAssignment.incident_id == incident.id,
        CommandAssignment.position == "incident_commander",
        CommandAssignment.ended_at.is_(None),
    )
    return set(db.scalars(stmt))


def commanding_agencies(db: Session, actor: Actor, incident: Incident) -> list[uuid.UUID]:
    """The caller's agencies that may organise ``incident``: the lead, and agencies seated
    in unified command."""
    mine = [agency for agency, _ in roles_key(actor, UPDATE)]
    allowed = {incident.lead_agency_id} | _seated_agencies(db, incident)
    return [agency for agency in mine if agency in allowed]


def _organiser(db: Session, actor: Actor, incident: Incident) -> uuid.UUID:
    agencies = commanding_agencies(db, actor, incident)
    if not agencies:
        raise PermissionDenied(UPDATE, incident.lead_agency_id, "only unified command organises the incident")
    return incident.lead_agency_id if incident.lead_agency_id in agencies else agencies[0]


def _open(db: Session, incident: Incident) -> None:
    """The incident is not closed; and its row is locked until commit, so two people
    organising it at once (a new period, the same seat) take turns (PostgreSQL; SQLite's
    writers already take turns)."""
    db.execute(select(Incident.id).where(Incident.id == incident.id).with_for_update())
    if incident.status == "closed":
        raise Conflict("status", "the incident is closed; its organisation is kept as it was")


def _announce(
    db: Session, kind: str, object_type: str, object_id: uuid.UUID, incident: Incident, **payload: Any
) -> None:
    events.emit(
        db,
        kind=kind,
        object_type=object_type,
        object_id=object_id,
        agency_id=incident.lead_agency_id,
        payload={"incident_id": str(incident.id)} | payload,
    )


# -- operational periods and objectives -------------------------------------------------------
def add_period(db: Session, *, actor: Actor, incident_id: uuid.UUID, data: PeriodCreate) -> OperationalPeriod:
    incident = queries.whole_incident(db, actor, incident_id, "incident")
    agency = _organiser(db, actor, incident)
    _open(db, incident)
    if data.ends_at <= data.starts_at:
        raise InvalidInput("ends_at", "an operational period ends after it starts")
    if data.ends_at - data.starts_at > MAX_PERIOD:
        raise InvalidInput("ends_at", "an operational period lasts at most 7 days")
    if data.starts_at < incident.started_at - timedelta(days=1):
        raise InvalidInput("starts_at", "more than a day before the incident started")
    clash = db.scalar(
        select(OperationalPeriod.number).where(
            OperationalPeriod.incident_id == incident.id,
            OperationalPeriod.starts_at < data.ends_at,
            OperationalPeriod.ends_at > data.starts_at,
        )
    )
    if clash is not None:
        raise Conflict("starts_at", f"overlaps operational period {clash}; periods follow one another")
    number = (
        db.scalar(select(func.max(OperationalPeriod.number)).where(OperationalPeriod.incident_id == incident.id)) or 0
    ) + 1
    period = OperationalPeriod(
        incident_id=incident.id,
        number=number,
        starts_at=data.starts_at,
        ends_at=data.ends_at,
        created_by_user_id=actor.user_id,
    )
    db.add(period)
    db.flush()
    for position, text in enumerate(data.objectives, start=1):
        db.add(Objective(incident_id=incident.id, period_id=period.id, position=position, text=text, status="open"))
    db.flush()
    db.refresh(period, ["objectives"])
    record_event(
        db,
        actor=actor,
        action="operations.period.create",
        agency_id=agency,
        object_type="incident",
        object_id=incident.id,
        details={"period": number, "objectives": len(data.objectives)},
    )
    _announce(db, "incident.period.added", "period", period.id, incident, number=number)
    return period


def _period(
    db: Session, actor: Actor, incident_id: uuid.UUID, period_id: uuid.UUID
) -> tuple[Incident, OperationalPeriod]:
    incident = queries.whole_incident(db, actor, incident_id, "incident")
    period = db.scalar(
        select(OperationalPeriod).where(OperationalPeriod.id == period_id, OperationalPeriod.incident_id == incident.id)
    )
    if period is None:
        raise NotFound("operational period")
    return incident, period


def add_objective(
    db: Session, *, actor: Actor, incident_id: uuid.UUID, period_id: uuid.UUID, data: ObjectiveCreate
) -> Objective:
    incident, period = _period(db, actor, incident_id, period_id)
    agency = _organiser(db, actor, incident)
    _open(db, incident)
    if len(period.objectives) >= MAX_OBJECTIVES:
        raise Conflict("text", f"a period has at most {MAX_OBJECTIVES} objectives")
    objective = Objective(
        incident_id=incident.id, period_id=period.id, position=len(period.objectives) + 1, text=data.text, status="open"
    )
    db.add(objective)
    db.flush()
    record_event(
        db,
        actor=actor,
        action="operations.objective.create",
        agency_id=agency,
        object_type="incident",
        object_id=incident.id,
        details={"period": period.number, "objective": str(objective.id)},
    )
    _announce(db, "incident.objective.added", "period", period.id, incident)
    return objective


def set_objective_status(
    db: Session, *, actor: Actor, incident_id: uuid.UUID, objective_id: uuid.UUID, data: ObjectiveUpdate
) -> Objective:
    incident = queries.whole_incident(db, actor, incident_id, "incident")
    objective = db.scalar(select(Objective).where(Objective.id == objective_id, Objective.incident_id == incident.id))
    if objective is None:
        raise NotFound("objective")
    agency = _organiser(db, actor, incident)
    _open(db, incident)
    if objective.status != data.status:
        before, objective.status = objective.status, data.status
        db.flush()
        record_event(
            db,
            actor=actor,
            action="operations.objective.update",
            agency_id=agency,
            object_type="incident",
            object_id=incident.id,
            details={"objective": str(objective.id), "status": [before, data.status]},
        )
        _announce(db, "incident.objective.updated", "period", objective.period_id, incident, status=data.status)
    return objective


# -- ICS positions ------------------------------------------------------------------------------
def assign_position(db: Session, *, actor: Actor, incident_id: uuid.UUID, data: CommandAssign) -> CommandAssignment:
    """Seat someone in an ICS position; whoever held that seat steps down now (their row
    keeps the history)."""
    incident = queries.whole_incident(db, actor, incident_id, "incident")
    _open(db, incident)
    if data.agency_id not in _involved(incident):
        raise InvalidInput("agency_id", "this agency does not take part in the incident")
    organisers = commanding_agencies(db, actor, incident)
    own_commander = data.position == "incident_commander" and data.agency_id in dict(roles_key(actor, UPDATE))
    if not organisers and not own_commander:
        raise PermissionDenied(UPDATE, incident.lead_agency_id, "only unified command organises the incident")
    if data.position in ONE_PER_LABEL and not data.label:
        raise InvalidInput("label", f"name the {POSITIONS[data.position].lower()}'s unit, e.g. 'Division A'")
    name, contact = data.person_name, data.contact
    if data.person_id is not None:
        person = directory.person_in_agency(db, data.person_id, data.agency_id)
        if person is None:
            raise InvalidInput("person_id", "no such person in that agency")
        name = person.full_name
        contact = contact or person.phone
    if not name or len(name) < 2:
        raise InvalidInput("person_name", "give the person (person_id) or their name")
    now = utcnow()
    seat = select(CommandAssignment).where(
        CommandAssignment.incident_id == incident.id,
        CommandAssignment.position == data.position,
        CommandAssignment.ended_at.is_(None),
    )
    if data.position in ONE_PER_AGENCY:
        seat = seat.where(CommandAssignment.agency_id == data.agency_id)
    elif data.position in ONE_PER_LABEL:
        seat = seat.where(func.lower(CommandAssignment.label) == data.label.lower())
    replaced = list(db.scalars(seat))
    for previous in replaced:
        previous.ended_at, previous.ended_by_user_id = now, actor.user_id
    assignment = CommandAssignment(
        incident_id=incident.id,
        position=data.position,
        label=data.label,
        agency_id=data.agency_id,
        person_id=data.person_id,
        person_name=name,
        contact=contact,
        started_at=now,
        assigned_by_user_id=actor.user_id,
    )
    db.add(assignment)
    db.flush()
    record_event(
        db,
        actor=actor,
        action="operations.command.assign",
        agency_id=organisers[0] if organisers else data.agency_id,
        object_type="incident",
        object_id=incident.id,
        details={
            "position": data.position,
            "label": data.label,
            "agency_id": str(data.agency_id),
            "assignment": str(assignment.id),
            "replaced": [str(r.id) for r in replaced],
        },
    )
    _announce(db, "incident.command.assigned", "command", assignment.id, incident, position=data.position)
    return assignment


def end_assignment(db: Session, *, actor: Actor, incident_id: uuid.UUID, assignment_id: uuid.UUID) -> CommandAssignment:
    """The holder steps down and the seat stays empty until someone is named."""
    incident = queries.whole_incident(db, actor, incident_id, "incident")
    assignment = db.scalar(
        select(CommandAssignment).where(
            CommandAssignment.id == assignment_id, CommandAssignment.incident_id == incident.id
        )
    )
    if assignment is None:
        raise NotFound("command assignment")
    agency = _organiser(db, actor, incident)
    _open(db, incident)
    if assignment.ended_at is not None:
        raise Conflict("assignment", "this person already stepped down")
    assignment.ended_at, assignment.ended_by_user_id = utcnow(), actor.user_id
    db.flush()
    record_event(
        db,
        actor=actor,
        action="operations.command.release",
        agency_id=agency,
        object_type="incident",
        object_id=incident.id,
        details={"position": assignment.position, "assignment": str(assignment.id)},
    )
    _announce(db, "incident.command.released", "command", assignment.id, incident, position=assignment.position)
    return assignment
