"""JSON API of incidents: open, list, read, change, add agencies, activity log."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from accord.authz import Actor
from accord.authz.deps import Permission
from accord.core.deps import DB
from accord.core.schemas import Page
from accord.operations import queries, service
from accord.operations.models import Incident
from accord.operations.policy import takes_part
from accord.operations.schemas import (
    ActivityCreate,
    ActivityRead,
    IncidentCreate,
    IncidentFilter,
    IncidentRead,
    IncidentUpdate,
    ParticipantAdd,
)

router = APIRouter(prefix="/api/v1/incidents", tags=["incidents"])
Read = Annotated[Actor, Depends(Permission("operations:incident:read"))]
Create = Annotated[Actor, Depends(Permission("operations:incident:create"))]
Update = Annotated[Actor, Depends(Permission("operations:incident:update"))]
Log = Annotated[Actor, Depends(Permission("operations:log:write"))]


def incident_read(actor: Actor, incident: Incident) -> IncidentRead:
    read = IncidentRead.model_validate(incident)
    read.taking_part = takes_part(actor, queries.READ, incident)
    return read


@router.get("", response_model=Page[IncidentRead])
def list_incidents(db: DB, actor: Read, filters: Annotated[IncidentFilter, Query()]) -> Page[IncidentRead]:
    items, total = queries.list_incidents(db, actor, filters)
    return Page(items=[incident_read(actor, i) for i in items], total=total, limit=filters.limit, offset=filters.offset)


@router.post("", response_model=IncidentRead, status_code=201)
def create_incident(db: DB, actor: Create, data: IncidentCreate) -> IncidentRead:
    incident = service.create_incident(db, actor=actor, data=data)
    db.commit()
    return incident_read(actor, incident)


@router.get("/{incident_id}", response_model=IncidentRead)
def get_incident(db: DB, actor: Read, incident_id: uuid.UUID) -> IncidentRead:
    return incident_read(actor, queries.get_incident(db, actor, incident_id))


@router.patch("/{incident_id}", response_model=IncidentRead)
def update_incident(db: DB, actor: Update, incident_id: uuid.UUID, data: IncidentUpdate) -> IncidentRead:
    incident = service.update_incident(db, actor=actor, incident_id=incident_id, data=data)
    db.commit()
    return incident_read(actor, incident)


@router.post("/{incident_id}/participants", response_model=IncidentRead, status_code=201)
def add_participant(db: DB, actor: Update, incident_id: uuid.UUID, data: ParticipantAdd) -> IncidentRead:
    incident = service.add_participant(db, actor=actor, incident_id=incident_id, agency_id=data.agency_id)
    db.commit()
    return incident_read(actor, incident)


@router.get("/{incident_id}/log", response_model=list[ActivityRead])
def list_activity(db: DB, actor: Read, incident_id: uuid.UUID) -> list[ActivityRead]:
    return [ActivityRead.model_validate(e) for e in queries.list_activity(db, actor, incident_id)]


@router.post("/{incident_id}/log", response_model=ActivityRead, status_code=201)
def log_activity(db: DB, actor: Log, incident_id: uuid.UUID, data: ActivityCreate) -> ActivityRead:
    entry = service.log_activity(db, actor=actor, incident_id=incident_id, data=data)
    db.commit()
    return ActivityRead.model_validate(entry)
