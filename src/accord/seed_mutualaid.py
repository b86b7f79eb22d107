"""Demo mutual aid: the shipped resource types, and thirty resources across the demo
agencies (swift-water teams, engines, ambulances, generators, pumps, drones, a dive team,
shelter and feeding teams...) with their rates, reserves and the people qualified to staff
them (``mutualaid/data/demo_inventory.json``). Through the service, as a logistics officer
would. Idempotent: nothing happens once any demo resource exists."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from accord.authz.actor import Actor, MembershipGrant
from accord.authz.roles import BUILTIN_ROLES
from accord.config import Settings
from accord.directory.models import Agency, Person
from accord.mutualaid import service
from accord.mutualaid.models import Resource
from accord.mutualaid.reference import sync_reference_types
from accord.mutualaid.schemas import QualifiedPerson, ResourceCreate

INVENTORY = Path(__file__).parent / "mutualaid" / "data" / "demo_inventory.json"
LOGISTICS = next(role.permissions for role in BUILTIN_ROLES if role.name == "logistics")


def seed_mutualaid(db: Session, settings: Settings) -> None:
    sync_reference_types(db)
    if db.scalar(select(Resource.id).limit(1)) is not None:
        return
    agencies = {a.short_name: a for a in db.scalars(select(Agency))}
    for item in json.loads(INVENTORY.read_text()):
        agency = agencies.get(item["agency"])
        if agency is None:
            continue
        actor = Actor(
            user_id=None,
            username="seed",
            display_name=f"{agency.short_name} logistics",
            memberships=(MembershipGrant(agency.id, "logistics", frozenset(LOGISTICS)),),
            auth_method="system",
        )
        qualified = []
        for entry in item["qualified"]:
            person = db.scalar(
                select(Person.id).where(Person.agency_id == agency.id, Person.full_name == entry["person"])
            )
            if person is not None:
                qualified.append(QualifiedPerson(person_id=person, qualification=entry["qualification"]))
        point = {"type": "Point", "coordinates": [item["lon"], item["lat"]]}
        service.create_resource(
            db,
            actor=actor,
            data=ResourceCreate(
                owner_agency_id=agency.id,
                type_key=item["type_key"],
                level=item["level"],
                name=item["name"],
                quantity=item["quantity"],
                home_name=item["home_name"],
                home=point,
                hourly_rate=item["hourly_rate"],
                daily_rate=item["daily_rate"],
                mileage_rate=item["mileage_rate"],
                minimum_reserve=item["minimum_reserve"],
                qualified=qualified,
            ),
        )
    db.flush()
