"""Commands on incidents: open, change, add participating agencies, write the activity log.
Every change writes its audit event in the same transaction; nothing here commits."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from accord.agreements.vocab import TIER_RANK
from accord.audit.service import record_event
from accord.authz import Actor, roles_key
from accord.core import events
from accord.core.errors import Conflict, InvalidInput, PermissionDenied
from accord.core.time import utcnow
from accord.directory import queries as directory
from accord.geo.geojson import bbox_of, validate_area
from accord.geo.overlap import point_coordinates
from accord.operations import queries
from accord.operations.deconfliction import service as deconfliction
from accord.operations.models import ActivityEntry, Incident, IncidentParticipant
from accord.operations.policy import takes_part
from accord.operations.schemas import ActivityCreate, IncidentCreate, IncidentUpdate
from accord.operations.vocab import PLANNED_EVENT, TRANSITIONS

CREATE, UPDATE, LOG = "operations:incident:create", "operations:incident:update", "operations:log:write"
# An activity entry may be written a little ahead of the server's clock, never much more.
CLOCK_SKEW = timedelta(minutes=5)


def _announce(db: Session, kind: str, incident: Incident, **payload: Any) -> None:
    """A live event for the incident's map and boards; recipients re-read the incident
    through ``authz.scope``, so the payload carries ids and states, never content."""
    events.emit(
        db,
        kind=kind,
        object_type="incident",
        object_id=incident.id,
        agency_id=incident.lead_agency_id,
        payload={"status": incident.status} | payload,
    )


def _agencies(actor: Actor, permission: str) -> list[uuid.UUID]:
    """The caller's agencies holding ``permission`` (a platform-wide role runs the platform,
    not incidents)."""
    return [agency for agency, _ in roles_key(actor, permission)]


def _place(location: dict[str, Any] | None, area: dict[str, Any] | None) -> dict[str, Any]:
    """Validated location and area with the bounding box used by map prefilters."""
    found: dict[str, Any] = {"location": None, "area": None, "bbox": None}
    if location is not None:
        lon, lat = point_coordinates(location, "location")
        found["location"] = {"type": "Point", "coordinates": [lon, lat]}
        found["bbox"] = (lon, lat, lon, lat)
    if area is not None:
        found["area"] = validate_area(area, "area")
        found["bbox"] = bbox_of(found["area"])
    return found


def _set_place(incident: Incident, place: dict[str, Any]) -> None:
    incident.location, incident.area = place["location"], place["area"]
    bbox = place["bbox"] or (None, None, None, None)
    incident.min_lon, incident.min_lat, incident.max_lon, incident.max_lat = bbox


def _next_number(db: Session, year: int) -> str:
    prefix = f"{year}-"
    last = db.scalar(select(func.max(Incident.number)).where(Incident.number.like(f"{prefix}%")))
    return f"{prefix}{(int(last[len(prefix) :]) if last else 0) + 1:04d}"


def create_incident(db: Session, *, actor: Actor, data: IncidentCreate) -> Incident:
    if not directory.agency_exists(db, data.lead_agency_id):
        raise InvalidInput("lead_agency_id", "no such agency")
    if data.lead_agency_id not in _agencies(actor, CREATE):
        raise PermissionDenied(CREATE, data.lead_agency_id)
    participants = [a for a in dict.fromkeys(data.participants) if a != data.lead_agency_id]
    for index, agency_id in enumerate(participants):
        if not directory.agency_exists(db, agency_id):
            raise InvalidInput(f"participants[{index}]", "no such agency")
    started_at = data.started_at or utcnow()
    if started_at > utcnow() + CLOCK_SKEW and data.type != PLANNED_EVENT:
        raise InvalidInput("started_at", "an incident cannot start in the future; only a planned event can")
    place = _place(data.location, data.area)
    incident = Incident(
        name=data.name,
        type=data.type,
        severity=data.severity,
        status="reported",
        lead_agency_id=data.lead_agency_id,
        tier=data.tier,
        tier_rank=TIER_RANK[data.tier],
        summary=data.summary,
        started_at=started_at,
        created_by_user_id=actor.user_id,
    )
    _set_place(incident, place)
    incident.participants = [IncidentParticipant(agency_id=a, added_by_user_id=actor.user_id) for a in participants]
    # Numbers run per year; two commanders opening incidents at the same moment may pick
    # the same one: the unique index refuses the second, which takes the next.
    for _attempt in range(5):
        incident.number = _next_number(db, started_at.year)
        try:
            with db.begin_nested():
                db.add(incident)
                db.flush()
            break
        except IntegrityError:
            continue
    else:
        raise Conflict("number", "could not assign an incident number; try again")
    record_event(
        db,
        actor=actor,
        action="operations.incident.create",
        agency_id=incident.lead_agency_id,
        object_type="incident",
        object_id=incident.id,
        details={
            "number": incident.number,
            "type": incident.type,
            "tier": incident.tier,
            "participants": len(participants),
        },
    )
    _announce(db, "incident.created", incident)
    if incident.location is not None or incident.area is not None:
        deconfliction.reconcile_incident(db, actor=actor, incident_id=incident.id)
    return incident


def _led(actor: Actor, incident: Incident) -> None:
    if incident.lead_agency_id not in _agencies(actor, UPDATE):
        raise PermissionDenied(UPDATE, incident.lead_agency_id)


def update_incident(db: Session, *, actor: Actor, incident_id: uuid.UUID, data: IncidentUpdate) -> Incident:
    """Change what is given; only the lead agency's commanders steer the incident."""
    incident = queries.get_incident(db, actor, incident_id)
    _led(actor, incident)
    if incident.status == "closed":
        raise Conflict("status", "the incident is closed; a closed incident is not changed")
    changes: dict[str, Any] = {}
    if data.status is not None and data.status != incident.status:
        allowed = TRANSITIONS[incident.status]
        if data.status not in allowed:
            raise Conflict(
                "status",
                f"an incident that is {incident.status} cannot become {data.status}; "
                f"it can become: {', '.join(sorted(allowed))}",
            )
        changes["status"] = [incident.status, data.status]
        incident.status = data.status
        if data.status == "closed":
            incident.closed_at = utcnow()
    for name in ("name", "severity", "summary"):
        value = getattr(data, name)
        if value is not None and value != getattr(incident, name):
            changes[name] = True
            setattr(incident, name, value)
    if data.tier is not None and data.tier != incident.tier:
        changes["tier"] = [incident.tier, data.tier]
        incident.tier, incident.tier_rank = data.tier, TIER_RANK[data.tier]
    if data.location is not None or data.area is not None:
        place = _place(
            data.location if data.location is not None else incident.location,
            data.area if data.area is not None else incident.area,
        )
        _set_place(incident, place)
        changes["place"] = True
    if data.emergency_declared is not None and data.emergency_declared != (incident.emergency_declared_at is not None):
        incident.emergency_declared_at = utcnow() if data.emergency_declared else None
        changes["emergency_declared"] = data.emergency_declared
    if changes:
        incident.updated_at = utcnow()
        db.flush()
        record_event(
            db,
            actor=actor,
            action="operations.incident.update",
            agency_id=incident.lead_agency_id,
            object_type="incident",
            object_id=incident.id,
            details={"changed": changes},
        )
        _announce(db, "incident.updated", incident, changed=sorted(changes))
        if "place" in changes or "status" in changes:
            deconfliction.reconcile_incident(db, actor=actor, incident_id=incident.id)
    return incident


def add_participant(db: Session, *, actor: Actor, incident_id: uuid.UUID, agency_id: uuid.UUID) -> Incident:
    incident = queries.get_incident(db, actor, incident_id)
    _led(actor, incident)
    if not directory.agency_exists(db, agency_id):
        raise InvalidInput("agency_id", "no such agency")
    if agency_id == incident.lead_agency_id or any(p.agency_id == agency_id for p in incident.participants):
        raise Conflict("agency_id", "this agency already takes part in the incident")
    if incident.status == "closed":
        raise Conflict("status", "the incident is closed; no agency joins a closed incident")
    incident.participants.append(IncidentParticipant(agency_id=agency_id, added_by_user_id=actor.user_id))
    incident.updated_at = utcnow()
    db.flush()
    record_event(
        db,
        actor=actor,
        action="operations.incident.participant.add",
        agency_id=incident.lead_agency_id,
        object_type="incident",
        object_id=incident.id,
        details={"agency_id": str(agency_id)},
    )
    _announce(db, "incident.participant.added", incident, agency_id=str(agency_id))
    return incident


def log_activity(db: Session, *, actor: Actor, incident_id: uuid.UUID, data: ActivityCreate) -> ActivityEntry:
    """Append an entry (ICS-214) for an agency taking part; a correction is a new entry
    naming the one it corrects, which stays as it was written."""
    incident = queries.get_incident(db, actor, incident_id)
    if not takes_part(actor, LOG, incident):
        raise PermissionDenied(LOG, incident.lead_agency_id)
    involved = {incident.lead_agency_id} | {p.agency_id for p in incident.participants}
    author_agency = next(a for a in _agencies(actor, LOG) if a in involved)
    now = utcnow()
    occurred_at = data.occurred_at or now
    if occurred_at > now + CLOCK_SKEW:
        raise InvalidInput("occurred_at", "an activity cannot be logged before it happens")
    if occurred_at < incident.started_at - timedelta(days=1):
        raise InvalidInput("occurred_at", "more than a day before the incident started")
    if data.corrects_id is not None:
        corrected = db.scalar(
            select(ActivityEntry.id).where(
                ActivityEntry.id == data.corrects_id, ActivityEntry.incident_id == incident.id
            )
        )
        if corrected is None:
            raise InvalidInput("corrects_id", "no such entry in this incident's activity log")
    entry = ActivityEntry(
        incident_id=incident.id,
        logged_at=now,
        occurred_at=occurred_at,
        author_user_id=actor.user_id,
        author_name=actor.display_name or actor.username,
        author_agency_id=author_agency,
        unit=data.unit,
        text=data.text,
        corrects_id=data.corrects_id,
    )
    db.add(entry)
    db.flush()
    record_event(
        db,
        actor=actor,
        action="operations.activity.log",
        agency_id=author_agency,
        object_type="incident",
        object_id=incident.id,
        details={"entry": str(entry.id)} | ({"corrects": str(data.corrects_id)} if data.corrects_id else {}),
    )
    events.emit(
        db,
        kind="incident.activity.logged",
        object_type="activity",
        object_id=entry.id,
        agency_id=author_agency,
        payload={"incident_id": str(incident.id)},
    )
    return entry
