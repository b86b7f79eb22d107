"""HTML pages of joint operations: the incidents list, opening an incident, the incident
page (status, unified command, operational period and objectives, the task board, the
activity log, a map) with its sections refreshed live, the ICS-201 briefing (HTML and
PDF), and the full-screen common operating picture. The same service calls as the JSON
API; every form carries its CSRF token; refusals of input come back as a message naming
the field."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from accord.authz import Actor, roles_key
from accord.authz.deps import Permission
from accord.core.deps import DB
from accord.core.errors import AccordError, NotFound
from accord.core.time import utcnow
from accord.directory import queries as directory
from accord.directory.schemas import PersonFilter
from accord.operations import briefing, command, queries, service, stream, taskboard
from accord.operations.deconfliction import queries as deconfliction
from accord.operations.models import ActivityEntry, CommandAssignment, Incident, Objective, OperationalPeriod, Task
from accord.operations.policy import takes_part
from accord.operations.protocols import queries as protocols
from accord.operations.schemas import (
    ActivityCreate,
    CommandAssign,
    IncidentCreate,
    IncidentFilter,
    IncidentUpdate,
    ObjectiveCreate,
    ObjectiveUpdate,
    PeriodCreate,
    TaskCreate,
    TaskReport,
)
from accord.operations.vocab import (
    INCIDENT_TIERS,
    INCIDENT_TYPES,
    PLANNED_EVENT,
    POSITIONS,
    SEVERITIES,
    TASK_PRIORITIES,
    TASK_STATUSES,
    TASK_TRANSITIONS,
    TRANSITIONS,
)
from accord.web.forms import errors_of, form_dict
from accord.web.pdf import render_pdf
from accord.web.templating import flash, redirect, render, templates, verify_csrf

router = APIRouter(include_in_schema=False)
Read = Annotated[Actor, Depends(Permission("operations:incident:read"))]
Create = Annotated[Actor, Depends(Permission("operations:incident:create"))]
Update = Annotated[Actor, Depends(Permission("operations:incident:update"))]
Log = Annotated[Actor, Depends(Permission("operations:log:write"))]
TaskWrite = Annotated[Actor, Depends(Permission("operations:task:write"))]
Csrf = Depends(verify_csrf)
STATUS_LABELS = {"reported": "Reported", "active": "Active", "contained": "Contained", "closed": "Closed"}
PARTS = ("header", "board", "command", "period", "log")
VOCAB = {
    "types": INCIDENT_TYPES,
    "severities": SEVERITIES,
    "tiers": INCIDENT_TIERS,
    "status_labels": STATUS_LABELS,
    "positions": POSITIONS,
    "task_statuses": TASK_STATUSES,
    "task_priorities": TASK_PRIORITIES,
    "task_transitions": TASK_TRANSITIONS,
    # The one or two next steps a task card offers as buttons (cancelling is in its details).
    "task_moves": {
        "assigned": [("in_progress", "Start"), ("done", "Done")],
        "in_progress": [("done", "Done"), ("blocked", "Blocked")],
        "blocked": [("in_progress", "Resume"), ("done", "Done")],
        "done": [],
        "cancelled": [],
    },
    "severity_options": [(s, s.title()) for s in SEVERITIES],
    "tier_options": [
        ("CLEAR", "CLEAR — anyone"),
        ("GREEN", "GREEN — our partnerships"),
        ("AMBER", "AMBER — agencies our agreements name"),
        ("AMBER+STRICT", "AMBER+STRICT — named agencies only, never re-shared"),
    ],
}


def _names(db: Session, actor: Actor) -> dict[uuid.UUID, str]:
    return {agency: name for agency, name in directory.agency_options(db, actor)}


def _mine(actor: Actor, permission: str) -> set[uuid.UUID]:
    return {agency for agency, _ in roles_key(actor, permission)}


def _fail(request: Request, exc: Exception, where: str) -> Response:
    """A refused form: the message names the field; 403 and 404 go to the error handler."""
    errors, summary = errors_of(exc)
    detail = "; ".join(f"{field.replace('_', ' ')}: {reason}" for field, reason in errors.items())
    flash(request, "error", f"{summary} {detail}".strip())
    return redirect(request, where)


def _time(value: str | None) -> str | None:
    """A ``datetime-local`` field (the browser's wall clock, no zone) read as UTC, which is
    what the form says it is."""
    if not value:
        return None
    text = value.strip()
    return text if ("Z" in text or "+" in text[10:]) else f"{text}Z"


def _point(form: dict[str, Any], prefix: str = "") -> dict[str, Any] | None:
    lon, lat = form.get(f"{prefix}lon", "").strip(), form.get(f"{prefix}lat", "").strip()
    if not lon and not lat:
        return None
    if not lon or not lat:
        raise AccordError(message="location: give both longitude and latitude", status_code=422, code="invalid")
    try:
        return {"type": "Point", "coordinates": [float(lon), float(lat)]}
    except ValueError:
        raise AccordError(
            message="location: longitude and latitude must be numbers (WGS 84, e.g. -77.05 and 40.95)",
            status_code=422,
            code="invalid",
        ) from None


def _area(text: str) -> dict[str, Any] | None:
    """The area field: GeoJSON text (a Polygon or MultiPolygon), empty for none."""
    if not text.strip():
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise AccordError(
            message=f"area: not GeoJSON ({exc.msg} at line {exc.lineno})", status_code=422, code="invalid"
        ) from None
    if not isinstance(value, dict):
        raise AccordError(message="area: give a GeoJSON Polygon or MultiPolygon", status_code=422, code="invalid")
    if value.get("type") == "Feature":
        value = value.get("geometry")
    return value if isinstance(value, dict) else None


# -- the incidents ----------------------------------------------------------------------------
@router.get("/incidents")
def incidents_page(request: Request, db: DB, actor: Read, status: str = "", offset: int = 0) -> Response:
    last_event_id = stream.newest_id(db)  # first: a change committed meanwhile is replayed, not lost
    try:
        filters = IncidentFilter(status=status or None, offset=max(0, offset), limit=100)
    except ValidationError as exc:
        errors, _ = errors_of(exc)
        flash(request, "error", "; ".join(f"{field}: {reason}" for field, reason in errors.items()))
        filters = IncidentFilter(limit=100)
    rows, total = queries.list_incidents(db, actor, filters)
    mine = [i for i in rows if takes_part(actor, queries.READ, i)]
    shared = [i for i in rows if not takes_part(actor, queries.READ, i)]
    open_tasks = queries.open_task_counts(db, actor, [i.id for i in mine])
    notices = deconfliction.unacknowledged_count(db, actor) if actor.has("operations:planned:read") else 0
    context = {
        "mine": mine,
        "shared": shared,
        "total": total,
        "status": filters.status or "",
        "open_tasks": open_tasks,
        "names": _names(db, actor),
        "notices": notices,
        "last_event_id": last_event_id,
        **VOCAB,
    }
    return render(request, "incidents/list.html", context)


def _lead_choices(db: Session, actor: Actor) -> list[tuple[uuid.UUID, str]]:
    names = _names(db, actor)
    return [(agency, names.get(agency, str(agency))) for agency in sorted(_mine(actor, service.CREATE), key=str)]


@router.get("/incidents/new")
def new_incident_page(request: Request, db: DB, actor: Create) -> Response:
    context = {
        "leads": _lead_choices(db, actor),
        "agencies": directory.agency_options(db, actor),
        "form": {"severity": "moderate", "tier": "AMBER", "type": "flood"},
        "errors": {},
        **VOCAB,
    }
    return render(request, "incidents/new.html", context)


@router.post("/incidents/new", dependencies=[Csrf])
async def create_incident_form(request: Request, db: DB, actor: Create) -> Response:
    form = await form_dict(request)
    data = await request.form()
    participants = [value for value in data.getlist("participants") if isinstance(value, str) and value]

    def work() -> Incident:
        body = IncidentCreate(
            lead_agency_id=form.get("lead_agency_id") or None,
            name=form.get("name", ""),
            type=form.get("type", ""),
            severity=form.get("severity", ""),
            tier=form.get("tier") or "AMBER",
            summary=form.get("summary", ""),
            location=_point(form),
            area=_area(form.get("area", "")),
            started_at=_time(form.get("started_at")),
            participants=participants,
        )
        incident = service.create_incident(db, actor=actor, data=body)
        db.commit()
        return incident

    def refused(exc: Exception) -> dict[str, Any]:
        db.rollback()
        errors, summary = errors_of(exc)
        return {
            "leads": _lead_choices(db, actor),
            "agencies": directory.agency_options(db, actor),
            "form": form | {"participants": participants},
            "errors": errors,
            "summary": summary,
            **VOCAB,
        }

    try:  # off the event loop: the live streams share it
        incident = await run_in_threadpool(work)
    except (ValidationError, AccordError) as exc:
        context = await run_in_threadpool(refused, exc)
        return render(request, "incidents/new.html", context, status_code=422)
    flash(request, "success", f"Incident {incident.number} opened. Add tasks and fill the command positions.")
    return redirect(request, f"/incidents/{incident.id}")


def _incident_context(db: Session, actor: Actor, incident: Incident, part: str | None = None) -> dict[str, Any]:
    """What the incident page shows: all of it, or one live-refreshed ``part``."""
    now = utcnow()
    taking_part = takes_part(actor, queries.READ, incident)
    names = _names(db, actor)
    involved = [incident.lead_agency_id] + [p.agency_id for p in incident.participants]
    context: dict[str, Any] = {
        "incident": incident,
        "taking_part": taking_part,
        "names": names,
        "shorts": directory.agency_short_names(db, actor),
        "involved": [(agency, names.get(agency, "Unknown agency")) for agency in involved],
        "now": now,
        "transitions": sorted(TRANSITIONS[incident.status]),
        "is_lead": incident.lead_agency_id in _mine(actor, service.UPDATE),
        "can_organise": bool(command.commanding_agencies(db, actor, incident)),
        "can_task": bool(_mine(actor, taskboard.WRITE) & set(involved)),
        "can_log": bool(_mine(actor, service.LOG) & set(involved)),
        "own_commander_agencies": [a for a in involved if a in _mine(actor, service.UPDATE)],
        "planned_event": incident.type == PLANNED_EVENT,
        **VOCAB,
    }
    if not taking_part:
        return context
    # A live refresh re-reads one section: read only what that section shows.
    wanted = set(PARTS) | {"page"} if part is None else {part}
    if wanted & {"period", "page"}:
        periods = queries.list_periods(db, actor, incident.id)
        period = queries.current_period(periods, now)
        context |= {"periods": periods, "period": period}
        context["objective_options"] = [(o.id, o.text[:80]) for o in period.objectives] if period else []
    if wanted & {"board", "page"}:
        tasks = queries.list_tasks(db, actor, incident.id)
        columns, overdue = queries.status_board(tasks, now)
        context |= {"tasks": tasks, "columns": columns, "overdue": overdue}
    if wanted & {"command", "page"}:
        seats = queries.list_command(db, actor, incident.id)
        context["organisation"] = briefing.organisation(seats)
        context["history"] = [r for r in seats if r.ended_at is not None]
    if wanted & {"log", "page"}:
        log = queries.list_activity(db, actor, incident.id)
        context["log"] = log
        context["log_options"] = [(e.id, f"{e.occurred_at:%H:%M} {e.text[:60]}") for e in reversed(log[-50:])]
    if "page" in wanted:
        people: dict[uuid.UUID, list[tuple[uuid.UUID, str]]] = {}
        for agency in involved:
            found, _ = directory.list_people(db, actor, PersonFilter(agency_id=agency, limit=200))
            people[agency] = [(p.id, f"{p.full_name} — {p.title}" if p.title else p.full_name) for p in found]
        context["people"] = people
        context["protocol_count"] = len(protocols.protocols_for_incident(db, actor, incident.id))
        context["own_commander_options"] = [(a, names.get(a, str(a))) for a in context["own_commander_agencies"]]
    return context


@router.get("/incidents/{incident_id}")
def incident_page(request: Request, db: DB, actor: Read, incident_id: uuid.UUID) -> Response:
    last_event_id = stream.newest_id(db)  # first: a change committed meanwhile is replayed, not lost
    incident = queries.get_incident(db, actor, incident_id)
    context = _incident_context(db, actor, incident) | {"last_event_id": last_event_id}
    return render(request, "incidents/detail.html", context)


@router.get("/incidents/{incident_id}/part/{part}")
def incident_part(request: Request, db: DB, actor: Read, incident_id: uuid.UUID, part: str) -> Response:
    """One section of the incident page, re-read when a live event says it changed."""
    if part not in PARTS:
        raise NotFound("section")
    incident = queries.get_incident(db, actor, incident_id)
    if part != "header" and not takes_part(actor, queries.READ, incident):
        raise NotFound("section")  # the whole incident is for the agencies taking part
    context = _incident_context(db, actor, incident, part) | {"part": part}
    return render(request, "incidents/part.html", context)


async def _submit(
    request: Request, db: Session, where: str, work: Callable[[], object], success: str | Callable[[Any], str] = ""
) -> Response:
    """Run a form's command and commit, off the event loop (the live streams share it);
    a refusal comes back as a message naming the field, then the page again."""

    def run() -> object:
        try:
            done = work()
            db.commit()
            return done
        except Exception:
            db.rollback()
            raise

    try:
        done = await run_in_threadpool(run)
    except (ValidationError, AccordError) as exc:
        return _fail(request, exc, where)
    message = success(done) if callable(success) else success
    if message:
        flash(request, "success", message)
    return redirect(request, where)


@router.post("/incidents/{incident_id}/status", dependencies=[Csrf])
async def change_incident(request: Request, db: DB, actor: Update, incident_id: uuid.UUID) -> Response:
    form = await form_dict(request)
    fields = {k: v for k, v in form.items() if k in ("status", "severity", "tier", "summary", "name") and v != ""}
    return await _submit(
        request,
        db,
        f"/incidents/{incident_id}",
        lambda: service.update_incident(db, actor=actor, incident_id=incident_id, data=IncidentUpdate(**fields)),
        "Incident updated.",
    )


@router.post("/incidents/{incident_id}/participants", dependencies=[Csrf])
async def add_participant_form(request: Request, db: DB, actor: Update, incident_id: uuid.UUID) -> Response:
    form = await form_dict(request)
    try:
        agency = uuid.UUID(form.get("agency_id", ""))
    except ValueError:
        flash(request, "error", "agency: choose the agency that joins")
        return redirect(request, f"/incidents/{incident_id}")
    return await _submit(
        request,
        db,
        f"/incidents/{incident_id}",
        lambda: service.add_participant(db, actor=actor, incident_id=incident_id, agency_id=agency),
        "The agency takes part now: its people see the whole incident.",
    )


@router.post("/incidents/{incident_id}/tasks", dependencies=[Csrf])
async def create_task_form(request: Request, db: DB, actor: TaskWrite, incident_id: uuid.UUID) -> Response:
    form = await form_dict(request)

    def work() -> Task:
        body = TaskCreate(
            title=form.get("title", ""),
            details=form.get("details", ""),
            assigned_agency_id=form.get("assigned_agency_id") or None,
            assigned_unit=form.get("assigned_unit", ""),
            priority=form.get("priority") or "routine",
            due_at=_time(form.get("due_at")),
            location=_point(form),
            objective_id=form.get("objective_id") or None,
        )
        return taskboard.create_task(db, actor=actor, incident_id=incident_id, data=body)

    return await _submit(
        request, db, f"/incidents/{incident_id}#board", work, lambda task: f"Task T{task.number} assigned."
    )


@router.post("/incidents/{incident_id}/tasks/{task_id}/report", dependencies=[Csrf])
async def report_on_task_form(
    request: Request, db: DB, actor: TaskWrite, incident_id: uuid.UUID, task_id: uuid.UUID
) -> Response:
    form = await form_dict(request)

    def work() -> Task:
        body = TaskReport(text=form.get("text", ""), status=form.get("status") or None, location=_point(form))
        return taskboard.report_on_task(db, actor=actor, incident_id=incident_id, task_id=task_id, data=body)

    return await _submit(request, db, f"/incidents/{incident_id}#board", work)


@router.post("/incidents/{incident_id}/log", dependencies=[Csrf])
async def log_form(request: Request, db: DB, actor: Log, incident_id: uuid.UUID) -> Response:
    form = await form_dict(request)

    def work() -> ActivityEntry:
        body = ActivityCreate(
            text=form.get("text", ""),
            unit=form.get("unit", ""),
            occurred_at=_time(form.get("occurred_at")),
            corrects_id=form.get("corrects_id") or None,
        )
        return service.log_activity(db, actor=actor, incident_id=incident_id, data=body)

    return await _submit(request, db, f"/incidents/{incident_id}#log", work)


@router.post("/incidents/{incident_id}/command", dependencies=[Csrf])
async def assign_form(request: Request, db: DB, actor: Update, incident_id: uuid.UUID) -> Response:
    form = await form_dict(request)

    def work() -> CommandAssignment:
        body = CommandAssign(
            position=form.get("position", ""),
            label=form.get("label", ""),
            agency_id=form.get("agency_id") or None,
            person_id=form.get("person_id") or None,
            person_name=form.get("person_name", ""),
            contact=form.get("contact", ""),
        )
        return command.assign_position(db, actor=actor, incident_id=incident_id, data=body)

    return await _submit(
        request, db, f"/incidents/{incident_id}#command", work, lambda seat: f"{POSITIONS[seat.position]} filled."
    )


@router.post("/incidents/{incident_id}/command/{assignment_id}/end", dependencies=[Csrf])
async def end_assignment_form(
    request: Request, db: DB, actor: Update, incident_id: uuid.UUID, assignment_id: uuid.UUID
) -> Response:
    return await _submit(
        request,
        db,
        f"/incidents/{incident_id}#command",
        lambda: command.end_assignment(db, actor=actor, incident_id=incident_id, assignment_id=assignment_id),
    )


@router.post("/incidents/{incident_id}/periods", dependencies=[Csrf])
async def period_form(request: Request, db: DB, actor: Update, incident_id: uuid.UUID) -> Response:
    form = await form_dict(request)
    objectives = [line.strip() for line in form.get("objectives", "").splitlines() if line.strip()]

    def work() -> OperationalPeriod:
        body = PeriodCreate(
            starts_at=_time(form.get("starts_at")), ends_at=_time(form.get("ends_at")), objectives=objectives
        )
        return command.add_period(db, actor=actor, incident_id=incident_id, data=body)

    return await _submit(request, db, f"/incidents/{incident_id}#period", work, "Operational period added.")


@router.post("/incidents/{incident_id}/periods/{period_id}/objectives", dependencies=[Csrf])
async def objective_form(
    request: Request, db: DB, actor: Update, incident_id: uuid.UUID, period_id: uuid.UUID
) -> Response:
    form = await form_dict(request)

    def work() -> Objective:
        body = ObjectiveCreate(text=form.get("text", ""))
        return command.add_objective(db, actor=actor, incident_id=incident_id, period_id=period_id, data=body)

    return await _submit(request, db, f"/incidents/{incident_id}#period", work)


@router.post("/incidents/{incident_id}/objectives/{objective_id}", dependencies=[Csrf])
async def objective_status_form(
    request: Request, db: DB, actor: Update, incident_id: uuid.UUID, objective_id: uuid.UUID
) -> Response:
    form = await form_dict(request)

    def work() -> Objective:
        body = ObjectiveUpdate(status=form.get("status", ""))
        return command.set_objective_status(
            db, actor=actor, incident_id=incident_id, objective_id=objective_id, data=body
        )

    return await _submit(request, db, f"/incidents/{incident_id}#period", work)


# -- the briefing (ICS-201) -----------------------------------------------------------------------
@router.get("/incidents/{incident_id}/briefing")
def briefing_page(request: Request, db: DB, actor: Read, incident_id: uuid.UUID) -> Response:
    document = briefing.build_briefing(db, actor, incident_id)
    return render(request, "incidents/briefing.html", {"b": document, "pdf": False, **VOCAB})


@router.get("/incidents/{incident_id}/briefing.pdf")
def briefing_pdf(request: Request, db: DB, actor: Read, incident_id: uuid.UUID) -> Response:
    document = briefing.build_briefing(db, actor, incident_id)
    html = templates.get_template("incidents/briefing_pdf.html").render(b=document, pdf=True, **VOCAB)
    filename = f"ICS-201-{document.incident.number}.pdf"
    return Response(
        render_pdf(html),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )


# -- the common operating picture -------------------------------------------------------------------
@router.get("/cop")
def operating_picture(request: Request, db: DB, actor: Read) -> Response:
    now = utcnow()
    last_event_id = stream.newest_id(db)  # before the map reads its layers
    context = {
        "layers": queries.list_layers(db, actor),
        "now": now,
        "since": now - timedelta(hours=24),
        "last_event_id": last_event_id,
        "planned": actor.has("operations:planned:read"),
        "epoch": int(datetime(1970, 1, 1, tzinfo=UTC).timestamp()),
    }
    return render(request, "incidents/cop.html", context)
