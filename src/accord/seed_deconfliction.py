"""Demo deconfliction for the Harrow Valley: a Calder County Sheriff's narcotics search
warrant and a State Police surveillance of the same Kettleburg block on the same evening,
a Lower Harrow controlled burn under a State Police drone training flight, and a hazmat
training that conflicts with nothing. Both sides of each pair hold their notice."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from accord.authz.actor import Actor, MembershipGrant
from accord.authz.permissions import PERMISSIONS
from accord.config import Settings
from accord.core.time import utcnow
from accord.directory.models import Agency
from accord.geo.overlap import destination
from accord.operations.deconfliction import service
from accord.operations.deconfliction.models import PlannedOperation
from accord.operations.deconfliction.schemas import PlannedOperationCreate

MARKER = "Operation Ridgeback"


def _square(lon: float, lat: float, half_m: float) -> dict[str, Any]:
    west, east = destination(lon, lat, 270, half_m)[0], destination(lon, lat, 90, half_m)[0]
    south, north = destination(lon, lat, 180, half_m)[1], destination(lon, lat, 0, half_m)[1]
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {"type": "Polygon", "coordinates": [[[round(x, 6), round(y, 6)] for x, y in ring]]}


def seed_deconfliction(db: Session, settings: Settings) -> None:
    """Idempotent: does nothing when the demo's operations exist already."""
    if db.scalar(select(PlannedOperation.id).where(PlannedOperation.title == MARKER)) is not None:
        return
    wanted = ("CCSO", "ACSP-H", "LHFD")
    ids = {a.short_name: a.id for a in db.scalars(select(Agency).where(Agency.short_name.in_(wanted))).unique()}
    if len(ids) < 3:
        return  # not the demo region
    perms = frozenset(p for p in PERMISSIONS if p.startswith("operations:planned:"))
    actor = Actor(
        user_id=None,
        username="seed",
        display_name="Harrow Valley demo seed",
        memberships=tuple(MembershipGrant(agency, "seed", perms) for agency in ids.values()),
        auth_method="system",
    )
    # Evenings in the Harrow Valley are UTC-5: 18:00 local is 23:00 UTC.
    evening = (utcnow() + timedelta(days=1)).replace(hour=23, minute=0, second=0, microsecond=0)
    burn_day = (utcnow() + timedelta(days=3)).replace(hour=14, minute=0, second=0, microsecond=0)
    mill_st = (-77.05731, 40.83065)  # a block of Kettleburg, Calder County
    spring_run = (-76.66120, 40.87210)  # fields by Spring Run, Lower Harrow Fire District
    station = (-76.70830, 40.83640)  # the Lower Harrow training ground, 5 km south-west
    drone_at = destination(*spring_run, 60, 700)
    watch_at = destination(*mill_st, 200, 120)
    operations: list[dict[str, Any]] = [
        {
            "owner_agency_id": ids["CCSO"],
            "kind": "search_warrant",
            "title": MARKER,
            "case_reference": "CCSO-NAR-2026-0193",
            "location": {"type": "Point", "coordinates": list(mill_st)},
            "radius_m": 150,
            "starts_at": evening + timedelta(minutes=30),
            "ends_at": evening + timedelta(hours=2, minutes=30),
            "contact_name": "Lt. Derek Tran (CCSO Criminal Intelligence)",
            "contact_phone": "+1-814-555-0124",
        },
        {
            "owner_agency_id": ids["ACSP-H"],
            "kind": "surveillance",
            "title": "Mill Street corridor surveillance",
            "case_reference": "H-CIS-26-0417",
            "location": {"type": "Point", "coordinates": [round(watch_at[0], 6), round(watch_at[1], 6)]},
            "radius_m": 250,
            "starts_at": evening - timedelta(hours=1),
            "ends_at": evening + timedelta(hours=5),
            "contact_name": "Lt. Vanessa Ortiz (Troop H Criminal Investigation)",
            "contact_phone": "+1-814-555-0143",
        },
        {
            "owner_agency_id": ids["LHFD"],
            "kind": "controlled_burn",
            "title": "Spring Run field burn",
            "case_reference": "LHFD-BURN-12",
            "area": _square(*spring_run, 400),
            "starts_at": burn_day,
            "ends_at": burn_day + timedelta(hours=6),
            "contact_name": "Battalion Chief Frank DeLuca",
            "contact_phone": "+1-570-555-0128",
        },
        {
            "owner_agency_id": ids["ACSP-H"],
            "kind": "drone_flight",
            "title": "UAS pilot proficiency flights",
            "case_reference": "H-AVN-26-031",
            "location": {"type": "Point", "coordinates": [round(drone_at[0], 6), round(drone_at[1], 6)]},
            "radius_m": 800,
            "starts_at": burn_day + timedelta(hours=1),
            "ends_at": burn_day + timedelta(hours=3),
            "contact_name": "Tpr. Sean Gallagher (Aviation & UAS Unit)",
            "contact_phone": "+1-814-555-0146",
        },
        {
            "owner_agency_id": ids["LHFD"],
            "kind": "hazmat_training",
            "title": "Chlorine leak drill at the training ground",
            "case_reference": "LHFD-TRN-44",
            "location": {"type": "Point", "coordinates": list(station)},
            "radius_m": 300,
            "starts_at": burn_day + timedelta(days=2),
            "ends_at": burn_day + timedelta(days=2, hours=4),
            "contact_name": "Battalion Chief Frank DeLuca",
            "contact_phone": "+1-570-555-0128",
        },
    ]
    for fields in operations:
        service.register_operation(db, actor=actor, data=PlannedOperationCreate.model_validate(fields))
    db.flush()
