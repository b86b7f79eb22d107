"""Demo joint operations: the Harrow River flood, an active incident across the Calder and
Marrow county line under unified command (Marrow County EMA leads; Calder County EMA and
the Lower Harrow Fire District hold incident-commander seats), with two operational
periods and their objectives, a dozen tasks whose units moved over the last hours (the
operating picture's time slider replays them), an ICS-214 log with a correction, a public
CAP alert, and a layer of shelters and sandbag stations the relief alliance publishes.

Everything goes through the services, as people would; only the times are set back
afterwards, so the demo has a history of the last day. Idempotent: nothing happens once
the flood exists."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from accord.accounts.models import User
from accord.authz.actor import Actor, MembershipGrant
from accord.authz.roles import BUILTIN_ROLES
from accord.config import Settings
from accord.core.time import utcnow
from accord.directory.models import Agency, Person
from accord.operations import command, layers, service, taskboard
from accord.operations.alerts import service as alerts
from accord.operations.models import (
    ActivityEntry,
    CommandAssignment,
    Incident,
    OperationalPeriod,
    Task,
    TaskUpdate,
)
from accord.operations.schemas import (
    ActivityCreate,
    CommandAssign,
    IncidentCreate,
    IncidentUpdate,
    MapLayerCreate,
    ObjectiveUpdate,
    PeriodCreate,
    TaskCreate,
    TaskReport,
)

FLOOD = "Harrow River flood"
STORY = Path(__file__).parent / "operations" / "data" / "demo_flood.json"
ROLES = {role.name: role.permissions for role in BUILTIN_ROLES}
# The river's flood plain from the Calder County side through Harrowgate into Marrow County.
FLOOD_AREA = {
    "type": "Polygon",
    "coordinates": [
        [
            [-76.872, 40.936],
            [-76.842, 40.930],
            [-76.812, 40.918],
            [-76.786, 40.909],
            [-76.760, 40.902],
            [-76.728, 40.893],
            [-76.700, 40.885],
            [-76.698, 40.872],
            [-76.726, 40.878],
            [-76.758, 40.887],
            [-76.785, 40.894],
            [-76.814, 40.903],
            [-76.846, 40.915],
            [-76.876, 40.922],
            [-76.872, 40.936],
        ]
    ],
}


def _actor(db: Session, agency: Agency, role: str, person_name: str) -> Actor:
    """Someone of ``agency`` holding ``role``; the demo person's account when it has one."""
    person = db.scalar(select(Person).where(Person.agency_id == agency.id, Person.full_name == person_name))
    user_id = person.user_id if person is not None and person.user_id else None
    if user_id is None:
        user_id = db.scalar(select(User.id).where(User.username == "admin"))
    return Actor(
        user_id=user_id,
        username="seed",
        display_name=person_name,
        memberships=(MembershipGrant(agency.id, role, frozenset(ROLES[role])),),
        auth_method="system",
    )


def _point(lon: float, lat: float) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [lon, lat]}


def seed_operations(db: Session, settings: Settings) -> None:
    agencies = {a.short_name: a for a in db.scalars(select(Agency))}
    needed = ("MCEMA", "CCEMA", "LHFD", "MCEMS", "HPD", "CCSO", "MCSO", "HVWA", "HVRA", "ACSP-H")
    if any(short not in agencies for short in needed):
        return
    if db.scalar(select(Incident.id).where(Incident.name == FLOOD, Incident.lead_agency_id == agencies["MCEMA"].id)):
        return
    now = utcnow().replace(second=0, microsecond=0)
    started = now - timedelta(hours=20)
    mcema = _actor(db, agencies["MCEMA"], "commander", "Dwayne Harris")
    lhfd = _actor(db, agencies["LHFD"], "commander", "Frank DeLuca")
    ccema = _actor(db, agencies["CCEMA"], "commander", "Glenn Harker")
    flood = service.create_incident(
        db,
        actor=mcema,
        data=IncidentCreate(
            lead_agency_id=agencies["MCEMA"].id,
            name=FLOOD,
            type="flood",
            severity="severe",
            tier="GREEN",
            summary=(
                "The Harrow River crested 3.4 m above flood stage at the Harrowgate gauge overnight after 140 mm of "
                "rain in 18 hours. Riverside neighbourhoods of Harrowgate and the low road along the Calder County "
                "side are under water; Route 45 is closed at the Elm Street bridge. Two care homes evacuated, "
                "one shelter open at Harrowgate High School. Water authority reports the Elm Street pump station "
                "at risk. River expected to fall slowly from 18:00."
            ),
            area=FLOOD_AREA,
            location=_point(-76.776, 40.902),
            started_at=started,
            participants=[agencies[s].id for s in ("CCEMA", "LHFD", "MCEMS", "HPD", "CCSO", "MCSO", "HVWA", "HVRA")],
        ),
    )
    service.update_incident(db, actor=mcema, incident_id=flood.id, data=IncidentUpdate(status="active"))

    # Unified command and the command and general staff, with one change of hands.
    seats = [
        (mcema, "incident_commander", "", "MCEMA", "Catherine Voss", "Ch. 1 / 555-0140"),
        (ccema, "incident_commander", "", "CCEMA", "Glenn Harker", "Ch. 1 / 555-0131"),
        (lhfd, "incident_commander", "", "LHFD", "Harold Ostrowski", "Ch. 1 / 555-0121"),
        (mcema, "safety_officer", "", "LHFD", "Jessica Lam", "Ch. 4"),
        (mcema, "public_information_officer", "", "CCEMA", "Luis Ortega", "555-0135"),
        (mcema, "liaison_officer", "", "MCEMA", "Emily Sato", "555-0143"),
        (mcema, "operations_chief", "", "LHFD", "Simone Achebe", "Ch. 2"),
        (mcema, "planning_chief", "", "CCEMA", "Jerome Watts", "Ch. 3"),
        (mcema, "logistics_chief", "", "MCEMA", "Dwayne Harris", "Ch. 5"),
        (mcema, "division_supervisor", "Division A — Riverside", "HPD", "Keisha Monroe", "Ch. 6"),
        (mcema, "division_supervisor", "Division B — Calder low road", "CCSO", "Colleen Murphy", "Ch. 7"),
        (lhfd, "group_supervisor", "Water Rescue Group", "LHFD", "Nathan Greer", "Ch. 8"),
        (mcema, "group_supervisor", "Medical Group", "MCEMS", "Marcus Bell", "Ch. 9"),
    ]
    for who, position, label, short, name, contact in seats:
        person = db.scalar(select(Person).where(Person.agency_id == agencies[short].id, Person.full_name == name))
        command.assign_position(
            db,
            actor=who,
            incident_id=flood.id,
            data=CommandAssign(
                position=position,
                label=label,
                agency_id=agencies[short].id,
                person_id=person.id if person else None,
                person_name="" if person else name,
                contact=contact,
            ),
        )
    # The night's safety officer handed over to the day's when the day period began.
    command.assign_position(
        db,
        actor=mcema,
        incident_id=flood.id,
        data=CommandAssign(
            position="safety_officer", agency_id=agencies["LHFD"].id, person_name="Yolanda Pruitt", contact="Ch. 4"
        ),
    )

    # Two operational periods: the night's (done) and the day's (running).
    # Twelve-hour periods: the running one began on the hour, six hours ago at most.
    day_start = (now - timedelta(hours=6)).replace(minute=0)
    night_period = command.add_period(
        db,
        actor=mcema,
        incident_id=flood.id,
        data=PeriodCreate(
            starts_at=day_start - timedelta(hours=12),
            ends_at=day_start,
            objectives=["Rescue people trapped by rising water", "Evacuate Riverside Manor and Elmwood care homes"],
        ),
    )
    for objective in night_period.objectives:
        command.set_objective_status(
            db, actor=mcema, incident_id=flood.id, objective_id=objective.id, data=ObjectiveUpdate(status="achieved")
        )
    day = command.add_period(
        db,
        actor=mcema,
        incident_id=flood.id,
        data=PeriodCreate(
            starts_at=day_start,
            ends_at=day_start + timedelta(hours=12),
            objectives=[
                "Keep the Elm Street pump station running (drinking water for 40,000 people)",
                "Search the flooded blocks of Riverside street by street",
                "Shelter and feed every displaced resident",
                "Reopen Route 45 once the bridge is inspected",
            ],
        ),
    )
    goals = {i: o.id for i, o in enumerate(day.objectives)}

    # Tasks, each with a track over the last hours.
    story = json.loads(STORY.read_text())
    writers = {"LHFD": lhfd, "CCEMA": ccema, "MCEMA": mcema}

    def writer(short: str) -> Actor:
        """Someone on scene for ``short``: its first person in the directory."""
        if short not in writers:
            first = db.scalar(
                select(Person.full_name).where(Person.agency_id == agencies[short].id).order_by(Person.created_at)
            )
            writers[short] = _actor(db, agencies[short], "logistics", first or f"{short} duty officer")
        return writers[short]

    for plan in story["tasks"]:
        track = plan["track"]
        task = taskboard.create_task(
            db,
            actor=mcema,
            incident_id=flood.id,
            data=TaskCreate(
                title=plan["title"],
                assigned_agency_id=agencies[plan["agency"]].id,
                assigned_unit=plan["unit"],
                priority=plan["priority"],
                due_at=now + timedelta(hours=2) if plan["status"] == "assigned" else None,
                location=_point(*track[0]),
                objective_id=goals.get(plan["objective"]) if plan["objective"] is not None else None,
            ),
        )
        steps: list[TaskReport] = []
        if plan["status"] in ("in_progress", "done", "blocked"):
            steps.append(TaskReport(status="in_progress", text="On scene"))
        steps += [TaskReport(location=_point(*place), text="Moving on") for place in track[1:]]
        if plan["status"] == "done":
            steps.append(TaskReport(status="done", text="Complete"))
        if plan["status"] == "blocked":
            steps.append(TaskReport(status="blocked", text="Current too strong for divers; waiting for the river"))
        for step in steps:
            taskboard.report_on_task(db, actor=writer(plan["agency"]), incident_id=flood.id, task_id=task.id, data=step)
    db.flush()

    # The ICS-214 log of the night and the morning, with one correction.
    logged: list[ActivityEntry] = []
    for entry in story["log"]:
        logged.append(
            service.log_activity(
                db,
                actor=writer(entry["agency"]),
                incident_id=flood.id,
                data=ActivityCreate(
                    text=entry["text"], unit=entry["unit"], occurred_at=now - timedelta(hours=entry["hours_ago"])
                ),
            )
        )
    service.log_activity(
        db,
        actor=writer("MCEMS"),
        incident_id=flood.id,
        data=ActivityCreate(
            text="Correction: 36 residents moved (two more at Elmwood)",
            unit="Medic 3",
            occurred_at=now - timedelta(hours=14.5),
            corrects_id=logged[3].id,
        ),
    )

    # The relief alliance's shelters and sandbag stations, for everyone.
    layers.publish_layer(
        db,
        actor=_actor(db, agencies["HVRA"], "commander", writer("HVRA").display_name),
        data=MapLayerCreate(
            agency_id=agencies["HVRA"].id,
            name="Shelters and sandbag stations",
            description="Open shelters and self-serve sandbag stations of the Harrow Valley Relief Alliance.",
            tier="CLEAR",
            features=story["shelters"],
        ),
    )
    # The public alert the joint information centre published.
    draft = alerts.draft_for(db, actor=mcema, incident_id=flood.id)
    public = draft.model_copy(
        update={
            "headline": "Harrow River flood: stay out of Riverside and the Calder low road",
            "instruction": (
                "Do not drive through flood water. Route 45 is closed at the Elm Street bridge. "
                "Shelter open at Harrowgate High School (pets welcome). Boil water if you are told to."
            ),
        }
    )
    alerts.publish_alert(db, actor=mcema, incident_id=flood.id, data=public, sender_domain=settings.cap_sender)
    db.flush()
    _set_history(db, flood, started, now)


def _set_history(db: Session, flood: Incident, started: datetime, now: datetime) -> None:
    """Spread what the services just stamped "now" over the last hours: assignments from
    the start (the night's safety officer until the day period), tasks and their reports along the
    day, so the briefing, the history and the time slider tell a plausible story."""
    seats = list(db.scalars(select(CommandAssignment).where(CommandAssignment.incident_id == flood.id)))
    period = db.scalar(
        select(OperationalPeriod.starts_at).where(
            OperationalPeriod.incident_id == flood.id, OperationalPeriod.number == 2
        )
    )
    handover = period or now - timedelta(hours=1)  # the night's safety officer handed over then
    for seat in seats:
        seat.started_at = started + timedelta(minutes=30)
        if seat.ended_at is not None:
            seat.ended_at = handover
    replacements = [s for s in seats if s.position == "safety_officer" and s.ended_at is None]
    for seat in replacements:
        seat.started_at = handover
    tasks = list(db.scalars(select(Task).where(Task.incident_id == flood.id).order_by(Task.number)))
    for index, task in enumerate(tasks):
        created = started + timedelta(hours=2 + index * 1.4)
        created = min(created, now - timedelta(hours=1, minutes=10))
        task.created_at = created
        updates = list(
            db.scalars(select(TaskUpdate).where(TaskUpdate.task_id == task.id).order_by(TaskUpdate.at, TaskUpdate.id))
        )
        span = (now - timedelta(minutes=5)) - created
        for step, update in enumerate(updates):
            update.at = created + span * (step / max(1, len(updates) - 1)) if step else created
        task.updated_at = updates[-1].at if updates else created
    flood.updated_at = now
    db.flush()
