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

import uuid
from datetime import datetime, timedelta
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
    # The night's safety officer handed over to the day's at 06:00.
    night = db.scalar(
        select(CommandAssignment).where(
            CommandAssignment.incident_id == flood.id, CommandAssignment.position == "safety_officer"
        )
    )
    assert night is not None
    command.assign_position(
        db,
        actor=mcema,
        incident_id=flood.id,
        data=CommandAssign(
            position="safety_officer", agency_id=agencies["LHFD"].id, person_name="Yolanda Pruitt", contact="Ch. 4"
        ),
    )

    # Two operational periods: the night's (done) and the day's (running).
    day_start = now.replace(hour=6, minute=0) if now.hour >= 6 else (now - timedelta(days=1)).replace(hour=6, minute=0)
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
    objective = {i: o.id for i, o in enumerate(day.objectives)}

    # Tasks, each with a track over the last hours.
    def hours_ago(h: float) -> datetime:
        return now - timedelta(hours=h)

    plans = [
        ("Sandbag the Elm Street pump station", "HVWA", "Crew 2", "immediate", 0, (-76.7905, 40.9035), "in_progress", [(-76.7880, 40.9010), (-76.7905, 40.9035)]),
        ("Swift-water search, Riverside blocks 1–6", "LHFD", "Rescue 41", "immediate", 1, (-76.7700, 40.8985), "in_progress", [(-76.7610, 40.8950), (-76.7650, 40.8965), (-76.7700, 40.8985)]),
        ("Boat patrol of the low road", "CCSO", "Marine 3", "urgent", 1, (-76.8470, 40.9220), "in_progress", [(-76.8600, 40.9280), (-76.8530, 40.9250), (-76.8470, 40.9220)]),
        ("Traffic control at Route 45 / Elm Street bridge", "HPD", "Car 12", "urgent", 3, (-76.7810, 40.9060), "in_progress", []),
        ("Ambulance standby at the shelter", "MCEMS", "Medic 7", "routine", 2, (-76.7650, 40.9120), "in_progress", []),
        ("Open the shelter at Harrowgate High School", "HVRA", "Shelter team", "urgent", 2, (-76.7640, 40.9125), "done", []),
        ("Evacuate Riverside Manor care home", "MCEMS", "Medic 3 and Bus 1", "immediate", None, (-76.7580, 40.8960), "done", []),
        ("Check the Route 45 bridge abutments", "MCSO", "Dive team", "routine", 3, (-76.7830, 40.9050), "blocked", []),
        ("Door-to-door welfare checks, Mill Street", "HPD", "Car 4", "routine", 1, (-76.7750, 40.9010), "assigned", []),
        ("Refuel generators at the pump station", "HVWA", "Fuel truck", "urgent", 0, (-76.7895, 40.9045), "assigned", []),
        ("Stage a second rescue boat at Calder Landing", "LHFD", "Rescue 42", "urgent", 1, (-76.8560, 40.9260), "assigned", []),
    ]
    writers = {"LHFD": lhfd, "CCEMA": ccema}
    for title, short, unit, priority, goal, start, status, track in plans:
        task = taskboard.create_task(
            db,
            actor=mcema,
            incident_id=flood.id,
            data=TaskCreate(
                title=title,
                assigned_agency_id=agencies[short].id,
                assigned_unit=unit,
                priority=priority,
                due_at=now + timedelta(hours=2) if status == "assigned" else None,
                location=_point(*(track[0] if track else start)),
                objective_id=objective.get(goal) if goal is not None else None,
            ),
        )
        reporter = writers.get(short, _actor(db, agencies[short], "logistics", "Unit on scene"))
        steps: list[TaskReport] = []
        if status in ("in_progress", "done", "blocked"):
            steps.append(TaskReport(status="in_progress", text="On scene"))
        for place in track[1:]:
            steps.append(TaskReport(location=_point(*place), text="Moving on"))
        if status == "done":
            steps.append(TaskReport(status="done", text="Complete"))
        if status == "blocked":
            steps.append(TaskReport(status="blocked", text="Current too strong for divers; waiting for the river to fall"))
        for step in steps:
            taskboard.report_on_task(db, actor=reporter, incident_id=flood.id, task_id=task.id, data=step)
    db.flush()

    # The ICS-214 log of the night and the morning, with one correction.
    entries = [
        (19.5, "MCEMA", "EOC activated at level 2 after the NWS flood warning", "EOC"),
        (18.0, "LHFD", "Rescue 41 and 42 in service for swift-water calls", "Rescue 41"),
        (16.5, "HPD", "Route 45 closed at the Elm Street bridge", "Car 12"),
        (15.0, "MCEMS", "Riverside Manor: 34 residents moved to Harrowgate High School", "Medic 3"),
        (12.0, "LHFD", "Two adults rescued from a car on the low road", "Rescue 42"),
        (9.0, "HVWA", "Pump station at risk: water 40 cm below the floor", "Crew 2"),
        (6.0, "MCEMA", "Operational period 2 begins; briefing held at the EOC", "EOC"),
        (3.0, "HVRA", "Shelter at Harrowgate High School: 112 residents, 30 pets", "Shelter team"),
        (1.0, "CCSO", "Marine 3 reports the low road passable for boats only", "Marine 3"),
    ]
    logged: list[ActivityEntry] = []
    for hours, short, text, unit in entries:
        who = writers.get(short) or mcema if short in ("MCEMA", "LHFD", "CCEMA") else _actor(
            db, agencies[short], "logistics", "Unit on scene"
        )
        logged.append(
            service.log_activity(
                db,
                actor=who,
                incident_id=flood.id,
                data=ActivityCreate(text=text, unit=unit, occurred_at=hours_ago(hours)),
            )
        )
    service.log_activity(
        db,
        actor=_actor(db, agencies["MCEMS"], "logistics", "Unit on scene"),
        incident_id=flood.id,
        data=ActivityCreate(
            text="Correction: 36 residents moved (two more at Elmwood)",
            unit="Medic 3",
            occurred_at=hours_ago(14.5),
            corrects_id=logged[3].id,
        ),
    )

    # The relief alliance's shelters and sandbag stations, for everyone.
    hvra = _actor(db, agencies["HVRA"], "commander", "Relief Alliance duty officer")
    layers.publish_layer(
        db,
        actor=hvra,
        data=MapLayerCreate(
            agency_id=agencies["HVRA"].id,
            name="Shelters and sandbag stations",
            description="Open shelters and self-serve sandbag stations of the Harrow Valley Relief Alliance.",
            tier="CLEAR",
            features={
                "type": "FeatureCollection",
                "features": [
                    {"type": "Feature", "geometry": _point(-76.7640, 40.9125), "properties": {"name": "Harrowgate High School shelter", "capacity": 250, "open": True}},
                    {"type": "Feature", "geometry": _point(-76.8120, 40.9300), "properties": {"name": "Calder Grange Hall shelter", "capacity": 80, "open": True}},
                    {"type": "Feature", "geometry": _point(-76.7960, 40.8950), "properties": {"name": "Sandbag station — Mill Street", "open": True}},
                    {"type": "Feature", "geometry": _point(-76.7420, 40.8880), "properties": {"name": "Sandbag station — Elm Park", "open": False}},
                ],
            },
        ),
    )
    db.flush()
    _set_history(db, flood, started, now)


def _set_history(db: Session, flood: Incident, started: datetime, now: datetime) -> None:
    """Spread what the services just stamped "now" over the last hours: assignments from
    the start (the night's safety officer until 06:00), tasks and their reports along the
    day, so the briefing, the history and the time slider tell a plausible story."""
    seats = list(db.scalars(select(CommandAssignment).where(CommandAssignment.incident_id == flood.id)))
    handover = now - timedelta(hours=max(1, (now.hour - 6) % 24))
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
        updates = list(db.scalars(select(TaskUpdate).where(TaskUpdate.task_id == task.id).order_by(TaskUpdate.at, TaskUpdate.id)))
        span = (now - timedelta(minutes=5)) - created
        for step, update in enumerate(updates):
            update.at = created + span * (step / max(1, len(updates) - 1)) if step else created
        task.updated_at = updates[-1].at if updates else created
    for period in db.scalars(select(OperationalPeriod).where(OperationalPeriod.incident_id == flood.id)):
        period_id: uuid.UUID = period.id
        del period_id
    flood.updated_at = now
    db.flush()
