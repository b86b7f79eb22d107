"""Demo mutual aid on the Harrow River flood: Marrow County EMA (which leads it) declared a
local emergency and asked its partners under the Harrow Valley Mutual Aid Agreement for

- two swift-water rescue teams (open: Lower Harrow Fire's team 41 and Calder Ridge's water
  rescue have offered; the requester has not chosen yet),
- four light towers for the shelters (open, no offer yet: sign in as ``logistics`` of Tenney
  County EMA to offer yours and watch it arrive on the request's page),
- a 200 kW generator for the Riverside shelter yesterday (done: Calder County EMA's
  generator was committed, went, ran 22 hours and came home; its time sheet, Calder's claim,
  Marrow's approval and payment make the settlement statement between the two).

Through the services, as the people would; the steps' times are then set back to tell the
story over the last day and a half. Idempotent: nothing happens once a demo request exists.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from accord.config import Settings
from accord.core.time import utcnow
from accord.directory.models import Agency
from accord.mutualaid import deployments, requesting
from accord.mutualaid.models import Resource, ResourceOffer, ResourceRequest
from accord.mutualaid.recovery import service as recovery
from accord.mutualaid.recovery.schemas import ClaimCreate, ClaimPay, TimeEntryCreate
from accord.mutualaid.schemas import ApprovalCreate, OfferCreate, OfferMove, RequestCreate
from accord.operations import service as operations
from accord.operations.models import Incident
from accord.operations.schemas import IncidentUpdate
from accord.seed_operations import FLOOD, _actor

STAGING = {"type": "Point", "coordinates": [-76.752, 40.905]}  # Harrowgate fairgrounds
RIVERSIDE_SHELTER = {"type": "Point", "coordinates": [-76.735, 40.897]}


def _request(
    db: Session, settings: Settings, agency: Agency, incident: Incident, *, approve: bool = True, **fields: object
) -> ResourceRequest:
    logistics = _actor(db, agency, "logistics", "Emily Sato")
    body = {
        "incident_id": incident.id,
        "requesting_agency_id": agency.id,
        "requester_name": "Emily Sato",
        "requester_position": "Logistics section chief",
    } | fields
    request = requesting.create_request(db, actor=logistics, data=RequestCreate.model_validate(body))
    if approve:
        for section, name in (("logistics", "Emily Sato"), ("finance", "Catherine Voss")):
            requesting.approve_request(
                db, actor=logistics, request_id=request.id, section=section, data=ApprovalCreate(name=name)
            )
    return request


def _offer(
    db: Session,
    settings: Settings,
    agency: Agency,
    person: str,
    request: ResourceRequest,
    resource_name: str,
    note: str,
    at: datetime | None = None,
) -> ResourceOffer:
    resource = db.scalar(select(Resource).where(Resource.owner_agency_id == agency.id, Resource.name == resource_name))
    assert resource is not None, resource_name
    return deployments.make_offer(
        db,
        actor=_actor(db, agency, "logistics", person),
        request_id=request.id,
        data=OfferCreate(resource_id=resource.id, note=note),
        speeds=settings.travel_speeds,
        road_factor=settings.road_factor,
        now=at,
    )


def _backdate(request: ResourceRequest, offer: ResourceOffer | None, steps: dict[str, datetime]) -> None:
    request.created_at = request.logistics_approved_at = request.finance_approved_at = steps["asked"]
    request.opened_at = steps["asked"]
    if "needed" in steps:
        request.needed_at = steps["needed"]
    if offer is None:
        return
    offer.offered_at = steps["offered"]
    for step in ("committed", "mobilized", "on_scene", "demobilized", "returned"):
        if step in steps:
            setattr(offer, f"{step}_at", steps[step])
    if "committed" in steps:
        request.filled_at = steps["committed"]
    if "returned" in steps:
        request.closed_at = steps["returned"]


def _settle(db: Session, requester: Agency, provider: Agency, offer: ResourceOffer, now: datetime) -> None:
    """The generator's time sheet, Calder County's claim, Marrow County's approval and
    payment: the settlement statement between the two for the flood."""
    db.flush()
    first, last = (now - timedelta(hours=33)).date(), (now - timedelta(hours=10)).date()
    crew = _actor(db, provider, "logistics", "Nadia Petrova")
    entries = [
        TimeEntryCreate(kind="mileage", work_date=first, km=Decimal("38"), note="EOC to Riverside, towed"),
        TimeEntryCreate(kind="equipment", work_date=first, hours=Decimal("12.5")),
        TimeEntryCreate(
            kind="labor", work_date=first, person_name="Jerome Watts", hours=Decimal("4"), rate=Decimal("38.50")
        ),
        TimeEntryCreate(
            kind="labor", work_date=first, person_name="Sophie Tremblay", hours=Decimal("4"), rate=Decimal("34.00")
        ),
        TimeEntryCreate(
            kind="consumable",
            work_date=first,
            description="Diesel (gallons)",
            quantity=Decimal("180"),
            unit_cost=Decimal("3.95"),
        ),
        TimeEntryCreate(kind="equipment", work_date=last, hours=Decimal("10")),
        TimeEntryCreate(
            kind="labor", work_date=last, person_name="Jerome Watts", hours=Decimal("3"), rate=Decimal("38.50")
        ),
        TimeEntryCreate(kind="mileage", work_date=last, km=Decimal("38"), note="Riverside to EOC"),
    ]
    for entry in entries:
        recovery.add_entry(db, actor=crew, offer_id=offer.id, data=entry)
    claim = recovery.create_claim(
        db, actor=crew, offer_id=offer.id, data=ClaimCreate(note="Riverside shelter generator")
    )
    recovery.submit_claim(db, actor=crew, claim_id=claim.id)
    payer = _actor(db, requester, "logistics", "Catherine Voss")
    recovery.approve_claim(db, actor=payer, claim_id=claim.id)
    if claim.amount:
        recovery.pay_claim(
            db, actor=payer, claim_id=claim.id, data=ClaimPay(amount=claim.amount, reference="MCEMA voucher 2026-1187")
        )


def seed_requests(db: Session, settings: Settings) -> None:
    agencies = {a.short_name: a for a in db.scalars(select(Agency))}
    if any(name not in agencies for name in ("MCEMA", "CCEMA", "LHFD", "CRFD")):
        return
    mcema = agencies["MCEMA"]
    flood = db.scalar(select(Incident).where(Incident.name == FLOOD, Incident.lead_agency_id == mcema.id))
    if flood is None or db.scalar(select(ResourceRequest.id).where(ResourceRequest.incident_id == flood.id)):
        return
    now = utcnow().replace(second=0, microsecond=0)
    commander = _actor(db, mcema, "commander", "Dwayne Harris")
    operations.update_incident(db, actor=commander, incident_id=flood.id, data=IncidentUpdate(emergency_declared=True))
    flood.emergency_declared_at = now - timedelta(hours=30)

    # Yesterday: a generator for the Riverside shelter, there and back.
    generator = _request(
        db,
        settings,
        mcema,
        flood,
        type_key="generator_large",
        level=2,
        quantity=1,
        deliver_to="Riverside Elementary shelter, 400 Front Street",
        location=RIVERSIDE_SHELTER,
        needed_at=now + timedelta(hours=2),
        priority="high",
        special_instructions="Shelter on one feeder; the utility expects 24 hours without power.",
    )
    generator.needed_at = now - timedelta(hours=31)
    lent = _offer(
        db,
        settings,
        agencies["CCEMA"],
        "Nadia Petrova",
        generator,
        "Generator 200 kW",
        "Towed, with fuel for 24 h",
        at=now - timedelta(hours=33, minutes=40),
    )
    requester = _actor(db, mcema, "logistics", "Emily Sato")
    provider = _actor(db, agencies["CCEMA"], "logistics", "Nadia Petrova")
    for status, actor in (
        ("committed", requester),
        ("mobilized", provider),
        ("on_scene", provider),
        ("demobilized", requester),
        ("returned", provider),
    ):
        deployments.move_offer(db, actor=actor, offer_id=lent.id, data=OfferMove(status=status))
    _backdate(
        generator,
        lent,
        {
            "asked": now - timedelta(hours=34),
            "needed": now - timedelta(hours=31),
            "offered": now - timedelta(hours=33, minutes=40),
            "committed": now - timedelta(hours=33, minutes=20),
            "mobilized": now - timedelta(hours=33),
            "on_scene": now - timedelta(hours=32),
            "demobilized": now - timedelta(hours=11),
            "returned": now - timedelta(hours=10),
        },
    )

    _settle(db, mcema, agencies["CCEMA"], lent, now)

    # This morning: two swift-water teams; two partners have offered.
    boats = _request(
        db,
        settings,
        mcema,
        flood,
        type_key="swift_water_rescue_team",
        level=2,
        quantity=2,
        deliver_to="Staging, Harrowgate fairgrounds (Gate C)",
        location=STAGING,
        needed_at=now + timedelta(hours=2),
        priority="urgent",
        substitutes_ok=True,
        special_instructions="Report to the Rescue Group supervisor; night operations likely.",
    )
    _offer(
        db,
        settings,
        agencies["LHFD"],
        "Nathan Greer",
        boats,
        "Swift-Water Team 41",
        "Crew of 4, two boats",
        at=now - timedelta(minutes=50),
    )
    _offer(
        db,
        settings,
        agencies["CRFD"],
        "Beth Yoder",
        boats,
        "Calder Ridge Water Rescue",
        "Crew of 5 with a drone",
        at=now - timedelta(minutes=35),
    )
    _backdate(boats, None, {"asked": now - timedelta(hours=1, minutes=10)})

    # Just now: light towers for the shelters, waiting for an offer.
    towers = _request(
        db,
        settings,
        mcema,
        flood,
        type_key="light_tower",
        level=1,
        quantity=4,
        deliver_to="Harrowgate High School shelter, parking lot",
        location={"type": "Point", "coordinates": [-76.771, 40.909]},
        needed_at=now + timedelta(hours=6),
        priority="routine",
    )
    _backdate(towers, None, {"asked": now - timedelta(minutes=20)})
    db.flush()
