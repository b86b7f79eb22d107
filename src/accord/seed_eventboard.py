"""The demo's planned event: Harrow Valley Riverfest 2026 on the Harrowgate riverfront,
run by the festival joint command (Marrow County EMA leads; Harrowgate police, the Marrow
County sheriff, Lower Harrow fire and Marrow County EMS take part). Its command board has
three shifts, six posts, units of every agency and a few messages, some already read.
Everything goes through the services, so it is audited and validated like real work."""

from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from accord.accounts.models import User
from accord.authz.actor import Actor, MembershipGrant
from accord.authz.roles import BUILTIN_ROLES
from accord.config import Settings
from accord.core.time import utcnow
from accord.directory.models import Agency, Person
from accord.operations import service as operations
from accord.operations.eventboard import service as board
from accord.operations.eventboard.schemas import AssignmentCreate, MessageCreate, PostCreate, ShiftCreate
from accord.operations.models import Incident
from accord.operations.schemas import IncidentCreate

NAME = "Harrow Valley Riverfest 2026"
LEAD = "MCEMA"
PARTICIPANTS = ["HPD", "MCSO", "LHFD", "MCEMS"]
LOCAL = ZoneInfo("America/New_York")
GROUNDS = {
    "type": "Polygon",
    "coordinates": [
        [[-76.7865, 40.8872], [-76.7675, 40.8872], [-76.7675, 40.9004], [-76.7865, 40.9004], [-76.7865, 40.8872]]
    ],
}
# name, description, (lon, lat), radius in metres
POSTS = [
    ("Command post", "MCEMA mobile command vehicle, Riverside Park upper lot", (-76.7745, 40.8968), 30),
    ("Main stage", "Riverside Park bandshell; about 8,000 expected for the headliner", (-76.7792, 40.8912), 120),
    (
        "First-aid tent",
        "MCEMS treatment area: 6 cots, ALS on site, lost children brought here",
        (-76.7768, 40.8926),
        40,
    ),
    ("River landing", "Boat launch and fishing pier: water-rescue staging", (-76.7830, 40.8885), 80),
    ("North gate", "Market Street entrance: bag checks, lost and found", (-76.7760, 40.8992), 60),
    ("Parking", "Fairgrounds lot: shuttle drop-off, overflow parking, cooling buses", (-76.7700, 40.8950), 200),
]
# name, local start (day offset, hour, minute), hours
SHIFTS = [("Day", (0, 7, 0), 8.5), ("Evening", (0, 15, 0), 8.5), ("Overnight", (0, 23, 0), 8.5)]
# shift, post, agency, unit, people, person (full name or None), notes
UNITS = [
    ("Day", "Command post", "MCEMA", "Mobile Command 1", 3, "Dwayne Harris", "Unified command; EOC on standby"),
    ("Day", "Command post", "HPD", "Watch Commander", 1, "Keisha Monroe", ""),
    ("Day", "Main stage", "HPD", "Foot Patrol A", 6, "Rachel Lindqvist", ""),
    ("Day", "Main stage", "MCEMS", "Bike Team 1", 2, None, "Roams the crowd front of stage"),
    ("Day", "First-aid tent", "MCEMS", "Medic 12", 2, "Tara Novak", "ALS"),
    ("Day", "First-aid tent", "MCEMS", "Treatment Team A", 4, None, ""),
    ("Day", "River landing", "LHFD", "Rescue 2", 4, "Nathan Greer", "Swift-water team, boat in the water"),
    ("Day", "River landing", "MCSO", "Marine 1", 2, "Curtis Reyes", ""),
    ("Day", "North gate", "HPD", "Gate Team North", 4, None, "Bag checks from 10:00"),
    ("Day", "Parking", "MCSO", "Traffic 3", 2, None, "Route 11 turn lane"),
    ("Evening", "Command post", "LHFD", "Battalion 1", 1, "Frank DeLuca", ""),
    ("Evening", "Command post", "MCEMA", "EOC Liaison", 1, "Emily Sato", ""),
    ("Evening", "Main stage", "HPD", "Foot Patrol B", 8, None, "Headliner 20:30"),
    ("Evening", "Main stage", "LHFD", "Engine 4", 4, None, "Fireworks standby from 21:00"),
    ("Evening", "First-aid tent", "MCEMS", "Medic 14", 2, "Marcus Bell", ""),
    ("Evening", "River landing", "LHFD", "Rescue 5", 4, None, "No boats on the water after dark"),
    ("Evening", "River landing", "MCSO", "Marine 2", 2, None, ""),
    ("Evening", "North gate", "HPD", "Gate Team Evening", 4, None, ""),
    ("Overnight", "Command post", "HPD", "Car 21", 2, None, "Grounds patrol every hour"),
    ("Overnight", "Parking", "MCSO", "Patrol 7", 1, "Teresa Dombrowski", ""),
    ("Overnight", "First-aid tent", "MCEMS", "Medic 3", 2, None, "Standby until the grounds are clear"),
]


def _first_saturday(after: datetime) -> datetime:
    """Local midnight of the first Saturday at least three days away."""
    day = (after + timedelta(days=3)).astimezone(LOCAL).date()
    day += timedelta(days=(5 - day.weekday()) % 7)
    return datetime.combine(day, time(0, 0), tzinfo=LOCAL)


def _actor(user_id: uuid.UUID | None, name: str, agencies: list[uuid.UUID], role: str = "commander") -> Actor:
    permissions = next(r.permissions for r in BUILTIN_ROLES if r.name == role)
    grants = tuple(MembershipGrant(agency, role, permissions) for agency in agencies)
    username = "seed" if user_id is None else name
    return Actor(user_id=user_id, username=username, display_name=name, memberships=grants, auth_method="system")


def seed_eventboard(db: Session, settings: Settings) -> None:
    """Idempotent: does nothing when the demo festival exists already."""
    if db.scalar(select(Incident.id).where(Incident.name == NAME)) is not None:
        return
    ids = {a.short_name: a.id for a in db.scalars(select(Agency)).unique()}
    if not {LEAD, *PARTICIPANTS} <= set(ids):
        return  # not the demo region
    users = {
        u.username: u
        for u in db.scalars(select(User).where(User.username.in_(["admin", "commander", "coordinator", "trainer"])))
    }
    people = {
        p.full_name: p
        for p in db.scalars(select(Person).where(Person.agency_id.in_([ids[a] for a in [LEAD, *PARTICIPANTS]])))
    }
    involved = [ids[LEAD], *(ids[a] for a in PARTICIPANTS)]
    admin = users.get("admin")
    # Set-up in the name of the seed (as the other demo data), with a commander's rights in each agency.
    seed = Actor(
        user_id=admin.id if admin else None,
        username="seed",
        display_name="Harrow Valley demo seed",
        memberships=_actor(None, "seed", involved).memberships,
        auth_method="system",
    )
    now = utcnow()
    saturday = _first_saturday(now)
    incident = operations.create_incident(
        db,
        actor=seed,
        data=IncidentCreate(
            lead_agency_id=ids[LEAD],
            name=NAME,
            type="planned_event",
            severity="minor",
            tier="AMBER",
            summary="Music and food festival on the Harrowgate riverfront, 07:00 to midnight; about 25,000 "
            "visitors expected, fireworks over the river at 21:45. Unified command under the festival joint command.",
            area=GROUNDS,
            started_at=saturday + timedelta(hours=7),
            participants=[ids[a] for a in PARTICIPANTS],
        ),
    )
    shifts: dict[str, uuid.UUID] = {}
    for name, (day, hour, minute), hours in SHIFTS:
        starts = saturday + timedelta(days=day, hours=hour, minutes=minute)
        ends = starts + timedelta(hours=hours)
        shift = board.add_shift(
            db, actor=seed, incident_id=incident.id, data=ShiftCreate(name=name, starts_at=starts, ends_at=ends)
        )
        shifts[name] = shift.id
    posts: dict[str, uuid.UUID] = {}
    for name, description, (lon, lat), radius in POSTS:
        location: dict[str, Any] = {"type": "Point", "coordinates": [lon, lat]}
        place = PostCreate(name=name, description=description, location=location, radius_m=radius)
        posts[name] = board.add_post(db, actor=seed, incident_id=incident.id, data=place).id
    for shift_name, post_name, agency, unit, count, person, notes in UNITS:
        found = people.get(person) if person else None
        data = AssignmentCreate(
            shift_id=shifts[shift_name],
            post_id=posts[post_name],
            agency_id=ids[agency],
            unit=unit,
            people=count,
            person_id=found.id if found else None,
            notes=notes,
        )
        board.assign_unit(db, actor=seed, incident_id=incident.id, data=data)
    _messages(db, incident.id, ids, users, posts, now)
    db.flush()


def _messages(
    db: Session,
    incident_id: uuid.UUID,
    ids: dict[str, uuid.UUID],
    users: dict[str, User],
    posts: dict[str, uuid.UUID],
    now: datetime,
) -> None:
    commander = users.get("commander")

    def author(name: str, agency: str) -> Actor:
        if commander is not None and name == commander.display_name:
            return Actor(
                user_id=commander.id,
                username=commander.username,
                display_name=commander.display_name,
                memberships=_actor(None, name, [ids[agency]]).memberships,
                auth_method="system",
            )
        return _actor(None, name, [ids[agency]])

    said: dict[str, uuid.UUID] = {}
    # key, author, agency, hours ago, text, priority, post, corrects
    script = [
        (
            "brief",
            "Dwayne Harris",
            "MCEMA",
            50,
            "Unified command briefing Friday 16:00 at the Marrow County EOC. "
            "Bring your unit rosters: this board is the roster of record.",
            "normal",
            None,
            None,
        ),
        (
            "gate",
            "Rachel Lindqvist",
            "HPD",
            30,
            "Bag checks at the north gate from 10:00. Lost children go to the first-aid tent, not to the command post.",
            "normal",
            "North gate",
            None,
        ),
        (
            "heat",
            "Tara Novak",
            "MCEMS",
            20,
            "First-aid tent: 6 cots, two ALS crews. Heat index forecast 94°F "
            "Saturday afternoon; cooling buses requested.",
            "normal",
            "First-aid tent",
            None,
        ),
        (
            "river",
            "Nathan Greer",
            "LHFD",
            6,
            "River at 6.1 ft and falling. Swift-water team stays staged at the "
            "landing; no boats on the water after dark.",
            "normal",
            "River landing",
            None,
        ),
        (
            "fireworks",
            "Frank DeLuca",
            "LHFD",
            3,
            "Fireworks shoot moved to 21:45. Engine 4 on standby at the main stage from 21:00.",
            "urgent",
            "Main stage",
            None,
        ),
        (
            "heat2",
            "Tara Novak",
            "MCEMS",
            2,
            "Heat index now forecast 97°F. Two cooling buses confirmed at the parking lot from 12:00.",
            "urgent",
            "Parking",
            "heat",
        ),
        (
            "radio",
            "Dwayne Harris",
            "MCEMA",
            0.7,
            "Radio plan: unified command on HV-EVENT 1, tactical on HV-EVENT 2. Radio check at 06:45.",
            "normal",
            None,
            None,
        ),
    ]
    for key, name, agency, hours, words, priority, post, corrects in script:
        data = MessageCreate(
            text=words,
            priority=priority,
            post_id=posts[post] if post else None,
            corrects_id=said[corrects] if corrects else None,
        )
        message = board.post_message(
            db, actor=author(name, agency), incident_id=incident_id, data=data, at=now - timedelta(hours=hours)
        )
        said[key] = message.id
    # Who has read what: the demo logins of the agencies taking part.
    readers = {"coordinator": ("MCEMA", ["brief", "gate", "heat", "river"]), "trainer": ("HPD", ["brief", "gate"])}
    readers["commander"] = ("LHFD", ["brief", "gate", "heat", "river"])
    posted = {key: now - timedelta(hours=hours) for key, _, _, hours, *_ in script}
    for username, (agency, keys) in readers.items():
        user = users.get(username)
        if user is None:
            continue
        reader = Actor(
            user_id=user.id,
            username=user.username,
            display_name=user.display_name,
            memberships=_actor(None, user.display_name, [ids[agency]], role="viewer").memberships,
            auth_method="system",
        )
        for offset, key in enumerate(keys):
            at = min(posted[key] + timedelta(minutes=25 + 17 * offset), now)
            board.mark_read(db, actor=reader, incident_id=incident_id, message_id=said[key], at=at)
