"""Demo mutual aid: the shipped resource types, and thirty resources across the demo
agencies (swift-water teams, engines, ambulances, generators, pumps, drones, a dive team,
shelter and feeding teams...) with their rates, reserves and the people qualified to staff
them (``mutualaid/data/demo_inventory.json``). Through the service, as a logistics officer
would. Idempotent: nothing happens once any demo resource exists.

The mutual-aid compact's collaboration fund: a population formula (figures the
coordinator entered from the counties' and cities' own estimates), the FY2027 operating
call, the contributions received so far and one spending. Idempotent too: nothing happens
once the compact has a fund."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from accord.accounts.models import User
from accord.agreements.models import Partnership
from accord.authz.actor import Actor, MembershipGrant
from accord.authz.roles import BUILTIN_ROLES
from accord.config import Settings
from accord.core.time import utcnow
from accord.directory.models import Agency, Person
from accord.mutualaid import service
from accord.mutualaid.fund import service as fund
from accord.mutualaid.fund.models import CollaborationFund
from accord.mutualaid.fund.schemas import CallCreate, ContributionCreate, FigureIn, FormulaSet, SpendingCreate
from accord.mutualaid.models import Resource
from accord.mutualaid.reference import sync_reference_types
from accord.mutualaid.schemas import QualifiedPerson, ResourceCreate

INVENTORY = Path(__file__).parent / "mutualaid" / "data" / "demo_inventory.json"
LOGISTICS = next(role.permissions for role in BUILTIN_ROLES if role.name == "logistics")
COORDINATOR = next(role.permissions for role in BUILTIN_ROLES if role.name == "coordinator")
COMPACT = "Harrow Valley Mutual Aid Compact"
# Residents each member serves (fictional): the county agencies their county, the city
# agencies their city, the regional authority the valley.
POPULATIONS = {
    "CCEMA": 61_400,
    "MCEMA": 118_900,
    "TCEMA": 38_200,
    "CCSO": 61_400,
    "MCSO": 118_900,
    "TCSO": 38_200,
    "LHFD": 21_700,
    "CRFD": 9_800,
    "MCEMS": 118_900,
    "HPD": 46_300,
    "WFPD": 12_600,
    "KPD": 8_900,
    "HVRA": 218_500,
}
# Members that have paid their FY2027 share so far (days ago, reference).
PAID = [
    ("MCEMA", 41, "MCEMA-EFT-27-0113"),
    ("HVRA", 35, "HVRA-CHK-88412"),
    ("MCSO", 30, "MCSO-EFT-5521"),
    ("CCEMA", 22, "CC-TRS-2027-004"),
    ("HPD", 12, "HPD-AP-77310"),
    ("LHFD", 6, "LHFD-2027-19"),
]


def seed_mutualaid(db: Session, settings: Settings) -> None:
    sync_reference_types(db)
    _seed_fund(db)
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


def _seed_fund(db: Session) -> None:
    compact = db.scalar(select(Partnership).where(Partnership.name == COMPACT))
    if compact is None or db.scalar(select(CollaborationFund.id).where(CollaborationFund.partnership_id == compact.id)):
        return
    agencies = {a.short_name: a.id for a in db.scalars(select(Agency))}
    members = {m.agency_id for m in compact.members if m.left_at is None}
    coordinator = db.scalar(select(User.id).where(User.username == "coordinator"))
    actor = Actor(
        user_id=coordinator,
        username="coordinator" if coordinator else "seed",
        display_name="Compact coordinator",
        memberships=(MembershipGrant(agencies["MCEMA"], "coordinator", frozenset(COORDINATOR)),),
        auth_method="system",
    )
    figures = [
        FigureIn(agency_id=agencies[short], figure=Decimal(people))
        for short, people in POPULATIONS.items()
        if agencies.get(short) in members
    ]
    note = "Residents served, from each member's 2026 estimate"
    fund.set_formula(
        db, actor=actor, partnership_id=compact.id, data=FormulaSet(basis="population", figures=figures, note=note)
    )
    today = utcnow().date()

    def day(ago: int) -> date:
        return max(today - timedelta(days=ago), compact.starts_on)

    call = fund.issue_call(
        db,
        actor=actor,
        partnership_id=compact.id,
        data=CallCreate(period="FY2027 operating", amount=Decimal("120000.00"), due_on=today + timedelta(days=60)),
    )
    call.issued_at = utcnow() - timedelta(days=50)  # the demo's call went out before the payments came in
    shares = {s.agency_id: s.amount for s in call.shares}
    for short, ago, reference in PAID:
        agency = agencies[short]
        if agency in shares:
            data = ContributionCreate(
                agency_id=agency, amount=shares[agency], received_on=day(ago), reference=reference, call_id=call.id
            )
            fund.record_contribution(db, actor=actor, partnership_id=compact.id, data=data)
    spending = SpendingCreate(
        amount=Decimal("8450.00"),
        spent_on=day(3),
        purpose="Swift-water technician refresher for the compact's rescue teams (24 students, Harrow River)",
    )
    fund.record_spending(db, actor=actor, partnership_id=compact.id, data=spending)
