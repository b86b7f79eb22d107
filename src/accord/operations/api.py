"""JSON API of incidents: open, list, read, change, add agencies, activity log."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from accord.accounts import queries as accounts
from accord.authz import Actor
from accord.authz.deps import Permission
from accord.authz.service import load_grants
from accord.core.deps import DB
from accord.core.errors import InvalidInput
from accord.core.schemas import Page
from accord.core.time import utcnow
from accord.operations import command, layers, picture, queries, service, stream, taskboard
from accord.operations.models import Incident, MapLayer, Task
from accord.operations.policy import takes_part
from accord.operations.schemas import (
    ActivityCreate,
    ActivityRead,
    CommandAssign,
    CommandRead,
    IncidentCreate,
    IncidentFilter,
    IncidentRead,
    IncidentUpdate,
    MapLayerCreate,
    MapLayerRead,
    ObjectiveCreate,
    ObjectiveRead,
    ObjectiveUpdate,
    ParticipantAdd,
    PeriodCreate,
    PeriodRead,
    StatusBoard,
    TaskCreate,
    TaskFilter,
    TaskRead,
    TaskReport,
)

router = APIRouter(prefix="/api/v1/incidents", tags=["incidents"])
Read = Annotated[Actor, Depends(Permission("operations:incident:read"))]
Create = Annotated[Actor, Depends(Permission("operations:incident:create"))]
Update = Annotated[Actor, Depends(Permission("operations:incident:update"))]
Log = Annotated[Actor, Depends(Permission("operations:log:write"))]
TaskWrite = Annotated[Actor, Depends(Permission("operations:task:write"))]
Publish = Annotated[Actor, Depends(Permission("operations:layer:publish"))]
Planned = Annotated[Actor, Depends(Permission("operations:planned:read"))]
map_router = APIRouter(prefix="/api/v1/map", tags=["operating picture"])
GEOJSON = "application/geo+json"
live_router = APIRouter(prefix="/api/v1", tags=["live"])
Live = Annotated[Actor, Depends(Permission("operations:live:read"))]


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


# -- operational periods and objectives --------------------------------------------------
@router.get("/{incident_id}/periods", response_model=list[PeriodRead])
def list_periods(db: DB, actor: Read, incident_id: uuid.UUID) -> list[PeriodRead]:
    return [PeriodRead.model_validate(p) for p in queries.list_periods(db, actor, incident_id)]


@router.post("/{incident_id}/periods", response_model=PeriodRead, status_code=201)
def add_period(db: DB, actor: Update, incident_id: uuid.UUID, data: PeriodCreate) -> PeriodRead:
    period = command.add_period(db, actor=actor, incident_id=incident_id, data=data)
    db.commit()
    return PeriodRead.model_validate(period)


@router.post("/{incident_id}/periods/{period_id}/objectives", response_model=ObjectiveRead, status_code=201)
def add_objective(
    db: DB, actor: Update, incident_id: uuid.UUID, period_id: uuid.UUID, data: ObjectiveCreate
) -> ObjectiveRead:
    objective = command.add_objective(db, actor=actor, incident_id=incident_id, period_id=period_id, data=data)
    db.commit()
    return ObjectiveRead.model_validate(objective)


@router.patch("/{incident_id}/objectives/{objective_id}", response_model=ObjectiveRead)
def update_objective(
    db: DB, actor: Update, incident_id: uuid.UUID, objective_id: uuid.UUID, data: ObjectiveUpdate
) -> ObjectiveRead:
    objective = command.set_objective_status(
        db, actor=actor, incident_id=incident_id, objective_id=objective_id, data=data
    )
    db.commit()
    return ObjectiveRead.model_validate(objective)


# -- unified command --------------------------------------------------------------------
@router.get("/{incident_id}/command", response_model=list[CommandRead])
def list_command(db: DB, actor: Read, incident_id: uuid.UUID, current: bool = False) -> list[CommandRead]:
    """Who holds the ICS positions (``current=true``), or every holder since the start."""
    rows = queries.list_command(db, actor, incident_id, current_only=current)
    return [CommandRead.model_validate(r) for r in rows]


@router.post("/{incident_id}/command", response_model=CommandRead, status_code=201)
def assign_position(db: DB, actor: Update, incident_id: uuid.UUID, data: CommandAssign) -> CommandRead:
    assignment = command.assign_position(db, actor=actor, incident_id=incident_id, data=data)
    db.commit()
    return CommandRead.model_validate(assignment)


@router.post("/{incident_id}/command/{assignment_id}/end", response_model=CommandRead)
def end_assignment(db: DB, actor: Update, incident_id: uuid.UUID, assignment_id: uuid.UUID) -> CommandRead:
    assignment = command.end_assignment(db, actor=actor, incident_id=incident_id, assignment_id=assignment_id)
    db.commit()
    return CommandRead.model_validate(assignment)


# -- tasks and the status board -----------------------------------------------------------
@router.get("/{incident_id}/tasks", response_model=list[TaskRead])
def list_tasks(db: DB, actor: Read, incident_id: uuid.UUID, filters: Annotated[TaskFilter, Query()]) -> list[TaskRead]:
    return [TaskRead.model_validate(t) for t in queries.list_tasks(db, actor, incident_id, filters)]


@router.post("/{incident_id}/tasks", response_model=TaskRead, status_code=201)
def create_task(db: DB, actor: TaskWrite, incident_id: uuid.UUID, data: TaskCreate) -> TaskRead:
    task = taskboard.create_task(db, actor=actor, incident_id=incident_id, data=data)
    db.commit()
    return TaskRead.model_validate(task)


@router.get("/{incident_id}/tasks/{task_id}", response_model=TaskRead)
def get_task(db: DB, actor: Read, incident_id: uuid.UUID, task_id: uuid.UUID) -> TaskRead:
    queries.whole_incident(db, actor, incident_id, "task")
    return TaskRead.model_validate(queries.get_task(db, actor, incident_id, task_id))


@router.post("/{incident_id}/tasks/{task_id}/updates", response_model=TaskRead, status_code=201)
def report_on_task(db: DB, actor: TaskWrite, incident_id: uuid.UUID, task_id: uuid.UUID, data: TaskReport) -> TaskRead:
    task: Task = taskboard.report_on_task(db, actor=actor, incident_id=incident_id, task_id=task_id, data=data)
    db.commit()
    return TaskRead.model_validate(task)


@router.get("/{incident_id}/task-board", response_model=StatusBoard)
def status_board(db: DB, actor: Read, incident_id: uuid.UUID) -> StatusBoard:
    columns, overdue = queries.status_board(queries.list_tasks(db, actor, incident_id), utcnow())
    return StatusBoard(
        columns={status: [TaskRead.model_validate(t) for t in tasks] for status, tasks in columns.items()},
        overdue=overdue,
    )


# -- the common operating picture ---------------------------------------------------------
def _geojson(collection: dict[str, Any]) -> JSONResponse:
    return JSONResponse(collection, media_type=GEOJSON)


@map_router.get("/incidents.geojson")
def incidents_geojson(db: DB, actor: Read, at: datetime | None = None) -> JSONResponse:
    """Incidents open at ``at`` (default now; the last 24 hours) that the caller may see."""
    return _geojson(picture.incidents_layer(db, actor, picture.moment(at)))


@map_router.get("/tasks.geojson")
def tasks_geojson(db: DB, actor: Read, at: datetime | None = None) -> JSONResponse:
    """Tasks with a location in incidents the caller's agency takes part in, where they were at ``at``."""
    return _geojson(picture.tasks_layer(db, actor, picture.moment(at)))


@map_router.get("/planned.geojson")
def planned_geojson(db: DB, actor: Planned, at: datetime | None = None) -> JSONResponse:
    """The caller's agency's own planned operations running at ``at`` or in the next 24 hours."""
    return _geojson(picture.planned_layer(db, actor, picture.moment(at)))


@map_router.get("/layers", response_model=list[MapLayerRead])
def list_layers(db: DB, actor: Read) -> list[MapLayerRead]:
    return [MapLayerRead.model_validate(layer) for layer in queries.list_layers(db, actor)]


@map_router.get("/layers/{layer_id}.geojson")
def layer_geojson(db: DB, actor: Read, layer_id: uuid.UUID) -> JSONResponse:
    return _geojson(picture.published_layer(db, actor, layer_id))


@map_router.post("/layers", response_model=MapLayerRead, status_code=201)
def publish_layer(db: DB, actor: Publish, data: MapLayerCreate) -> MapLayerRead:
    """Publish (or, under the same name, replace) a GeoJSON FeatureCollection of one's agency."""
    layer: MapLayer = layers.publish_layer(db, actor=actor, data=data)
    db.commit()
    return MapLayerRead.model_validate(layer)


@map_router.delete("/layers/{layer_id}", status_code=204)
def withdraw_layer(db: DB, actor: Publish, layer_id: uuid.UUID) -> Response:
    layers.withdraw_layer(db, actor=actor, layer_id=layer_id)
    db.commit()
    return Response(status_code=204)


# -- live updates -------------------------------------------------------------------------
def _still_signed_in(request: Request, actor: Actor) -> Any:
    """Checked every 30 seconds by an open stream: the session or token still stands and
    the user's memberships are what they were when the stream opened."""
    factory = request.app.state.session_factory
    idle = request.app.state.settings.session_idle_minutes

    def check() -> bool:
        assert actor.user_id is not None
        with factory() as db:
            stands = accounts.credential_stands(
                db, user_id=actor.user_id, session_id=actor.session_id, token_id=actor.token_id, idle_minutes=idle
            )
            if not stands:
                return False
            only = accounts.token_agency(db, actor.token_id) if actor.token_id else None
            return set(load_grants(db, actor.user_id, only)) == set(actor.memberships)

    return check


@live_router.get(
    "/live",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "Server-Sent Events"}},
)
async def live_updates(
    request: Request,
    actor: Live,
    after: Annotated[str | None, Query(description="resume after this event id (first connect)")] = None,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> StreamingResponse:
    """Server-Sent Events: changes to incidents, tasks, logs, records and map objects the
    caller may see now, checked per event at delivery. Reconnect with ``Last-Event-ID``
    (browsers do) to receive exactly what was missed; ``event: reconnect`` means this
    stream was cut off (too far behind) and should reconnect; ``event: reset`` means the
    history needed was pruned and the page should reload."""
    try:
        after_id = stream.parse_last_event_id(last_event_id, after)
    except ValueError as bad:
        raise InvalidInput(str(bad), "an event id is a non-negative whole number") from None
    dispatcher: stream.Dispatcher = request.app.state.live_dispatcher
    dispatcher.start()
    body = stream.stream(dispatcher, actor, after_id, _still_signed_in(request, actor))
    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(body, media_type="text/event-stream", headers=headers)
