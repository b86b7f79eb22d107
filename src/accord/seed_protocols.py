"""Demo protocols of the Harrow Valley Mutual Aid Compact, written jointly by its county
emergency management and Lower Harrow Fire, published, and adopted by a signed MOU of
the compact's emergency-management, fire, EMS and law-enforcement members, so that the
incidents they lead or join (a flood, a structure fire...) carry them."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from accord.accounts.models import User
from accord.agreements import service as agreements
from accord.agreements.models import Partnership
from accord.agreements.schemas import AgreementDraft, SignRequest
from accord.authz.actor import Actor, MembershipGrant
from accord.authz.roles import BUILTIN_ROLES
from accord.config import Settings
from accord.core.time import utcnow
from accord.directory.models import Agency
from accord.operations.protocols import service as protocols
from accord.operations.protocols.models import Protocol, ProtocolVersion
from accord.operations.protocols.schemas import ProtocolCreate, ProtocolEdit, PublishRequest

COMPACT = "Harrow Valley Mutual Aid Compact"
MOU_TITLE = "Harrow Valley Joint Response Protocols MOU"
PARTIES = ["CCEMA", "MCEMA", "TCEMA", "LHFD", "CRFD", "MCEMS", "CCSO", "MCSO", "TCSO", "HPD", "WFPD", "KPD"]


def _seat(user_id: uuid.UUID, agencies: list[uuid.UUID], roles: tuple[str, ...]) -> Actor:
    perms = frozenset().union(*(r.permissions for r in BUILTIN_ROLES if r.name in roles))
    grants = tuple(MembershipGrant(a, role, perms) for a in agencies for role in roles)
    return Actor(
        user_id=user_id,
        username="seed",
        display_name="Harrow Valley demo seed",
        memberships=grants,
        auth_method="system",
    )


def _step(text: str, who: dict[str, str], decision: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"text": text, "actor": who} | ({"decision": decision} if decision else {})


def _decide(question: str, by: dict[str, str], yes: str, no: str) -> dict[str, Any]:
    return {"question": question, "decided_by": by, "if_yes": yes, "if_no": no}


def _kind(kind: str) -> dict[str, str]:
    return {"agency_kind": kind}


def _role(role: str) -> dict[str, str]:
    return {"role": role}


def _protocols(ids: dict[str, uuid.UUID]) -> list[dict[str, Any]]:
    def contact(name: str, agency: str, phone: str, role: str) -> dict[str, Any]:
        return {"name": name, "agency_id": str(ids[agency]), "phone": phone, "role": role}

    fire_scene = {
        "title": "Fire at a crime scene",
        "summary": "Life safety and fire control come first; evidence is preserved wherever that costs no life. "
        "Fire and police run the scene under unified command until investigators take it over.",
        "incident_types": ["structure_fire"],
        "steps": [
            _step(
                "Size up and report whether the building may be a crime scene (shots fired, forced entry, "
                "injuries not caused by the fire, more than one seat of fire).",
                _role("first_arriving_unit"),
            ),
            _step(
                "Notify the police agency of jurisdiction and the county EMA duty officer; "
                "assign a shared tactical channel.",
                _role("dispatch"),
            ),
            _step(
                "Set up unified command with the ranking police officer at one command post.", _role("unified_command")
            ),
            _step(
                "Decide how to attack the fire.",
                _kind("fire"),
                _decide(
                    "Is there a known or possible life hazard inside?",
                    _role("incident_commander"),
                    "Offensive entry for rescue, with a police escort if the scene may be hostile; touch and move as "
                    "little as possible.",
                    "Defensive attack; keep crews out of rooms investigators have not seen.",
                ),
            ),
            _step("Set an outer perimeter and a scene log of everyone entering or leaving.", _kind("police")),
            _step(
                "Overhaul only as far as safety requires; leave the area of origin, doors, windows and any weapon "
                "where they lie, and tell investigators what was moved.",
                _kind("fire"),
            ),
            _step(
                "Hand the scene over.",
                _role("unified_command"),
                _decide(
                    "Is the fire under control and the structure safe to enter?",
                    _role("safety_officer"),
                    "Joint walkthrough, then transfer to police investigators; "
                    "the fire marshal stays for origin and cause.",
                    "Hold the perimeter and reassess with a structural engineer.",
                ),
            ),
        ],
        "roles": [
            {
                "agency_kind": "fire",
                "role": "Fire control, rescue and scene safety; origin-and-cause with the fire marshal.",
            },
            {
                "agency_kind": "police",
                "role": "Perimeter, scene log, evidence and chain of custody; leads the investigation.",
            },
            {
                "agency_kind": "sheriff",
                "role": "As police, outside city limits; deputies relieve city officers on long scenes.",
            },
            {"agency_kind": "ems", "role": "Standby for firefighters and victims; treats and transports the injured."},
            {"agency_kind": "emergency_management", "role": "Duty officer informed; supports displaced residents."},
        ],
        "contacts": [
            contact("Simone Achebe", "LHFD", "+1-570-555-0127", "Deputy Chief, Operations"),
            contact("Rachel Lindqvist", "HPD", "+1-570-555-0117", "Lieutenant, emergency planning"),
            contact("Aaron Feldman", "MCEMA", "+1-570-555-0138", "County EMA duty officer"),
        ],
    }
    impaired = {
        "title": "Impaired driver needing medical care",
        "summary": "Medical care comes before any investigation. EMS never collects evidence; police document "
        "impairment separately and request a hospital blood draw under implied consent.",
        "incident_types": ["transportation"],
        "steps": [
            _step("Make the scene safe: traffic control, hazards, number of patients.", _role("first_arriving_unit")),
            _step("Assess and treat the driver like any other patient.", _kind("ems")),
            _step(
                "Decide on transport.",
                _kind("ems"),
                _decide(
                    "Does the driver need transport to hospital?",
                    _kind("ems"),
                    "Transport; an officer follows and requests the blood draw at the hospital.",
                    "EMS documents clearance or refusal, then releases the driver to police for field sobriety tests.",
                ),
            ),
            _step(
                "Handle a refusal of care.",
                _kind("police"),
                _decide(
                    "Does the driver refuse care while injured and apparently impaired?",
                    _role("medical_group_supervisor"),
                    "Consult online medical control; police may take protective custody so EMS can treat.",
                    "Continue with the investigation.",
                ),
            ),
            _step(
                "Record observations (odour, speech, containers) in the police report, not the patient care report.",
                _kind("police"),
            ),
            _step(
                "Tow the vehicle under an evidence hold; notify next of kin if the driver is admitted.", _kind("police")
            ),
        ],
        "roles": [
            {"agency_kind": "ems", "role": "Patient care and transport; never draws blood for evidence."},
            {"agency_kind": "police", "role": "Investigation, blood-draw request, custody and the vehicle."},
            {"agency_kind": "sheriff", "role": "As police on county roads."},
            {"agency_kind": "fire", "role": "Extrication, fluids and hazards; traffic blocking with apparatus."},
        ],
        "contacts": [
            contact("Carla Jiménez", "MCEMS", "+1-570-555-0134", "Deputy Director, Operations"),
            contact("Rachel Lindqvist", "HPD", "+1-570-555-0117", "Lieutenant, emergency planning"),
            contact("Victor Nwosu", "KPD", "+1-814-555-0119", "Captain, administration"),
        ],
    }
    school = {
        "title": "Active threat at a school",
        "summary": "Stop the killing, then stop the dying. Law enforcement goes to the threat at once; fire and EMS "
        "stage until unified command sends rescue task forces into the warm zone.",
        "incident_types": ["active_threat"],
        "steps": [
            _step(
                "Broadcast on all-call; start the district's lockdown notification; send fire and EMS to staging, "
                "not to the building.",
                _role("dispatch"),
            ),
            _step("First officers form a contact team and move to the threat without waiting.", _kind("police")),
            _step(
                "Set up unified command out of the line of sight; name staging and a casualty collection point.",
                _role("unified_command"),
            ),
            _step(
                "Decide on rescue task forces.",
                _role("unified_command"),
                _decide(
                    "Is the threat contained to a known area?",
                    _role("incident_commander"),
                    "Send rescue task forces (police escort with EMS and fire) into the warm zone.",
                    "Keep fire and EMS in staging; continue clearing.",
                ),
            ),
            _step("Triage, treat and transport by priority to the trauma center.", _kind("ems")),
            _step(
                "Open the family reunification center away from the school; issue joint public messages.",
                _kind("emergency_management"),
            ),
            _step(
                "Declare the building clear.",
                _role("unified_command"),
                _decide(
                    "Can the building be declared clear?",
                    _role("unified_command"),
                    "Move to reunification and investigation; hold the scene for investigators.",
                    "Continue the secondary search with bomb-squad support.",
                ),
            ),
        ],
        "roles": [
            {
                "agency_kind": "police",
                "role": "Contact teams, clearing, escort of rescue task forces, the investigation.",
            },
            {"agency_kind": "sheriff", "role": "Contact teams and perimeter; tactical team."},
            {"agency_kind": "fire", "role": "Rescue task forces, fire and hazards, extrication."},
            {"agency_kind": "ems", "role": "Casualty collection, triage, treatment and transport."},
            {"agency_kind": "emergency_management", "role": "Reunification center, public information, hospitals."},
        ],
        "contacts": [
            contact("Noor Haddad", "MCSO", "+1-570-555-0122", "Chief Deputy"),
            contact("Aaron Feldman", "MCEMA", "+1-570-555-0138", "County EMA duty officer"),
            contact("Carla Jiménez", "MCEMS", "+1-570-555-0134", "Deputy Director, Operations"),
        ],
    }
    flood = {
        "title": "Swift-water rescue during a flood",
        "summary": "Reach, throw, row, go — in that order. Nobody enters moving water without a PFD and helmet, and "
        "only certified technicians go in. Roads close early; mutual aid is requested before local teams run out.",
        "incident_types": ["flood", "search_rescue"],
        "steps": [
            _step(
                "Send the nearest swift-water team and an ALS unit; alert the county EMA duty officer.",
                _role("dispatch"),
            ),
            _step(
                "Keep sight of the victim; post upstream spotters and downstream safety before any rescue.",
                _role("first_arriving_unit"),
            ),
            _step(
                "Choose the rescue method.",
                _kind("fire"),
                _decide(
                    "Can the victim be reached from the bank (reach or throw)?",
                    _role("incident_commander"),
                    "Reach or throw; no one enters the water.",
                    "Boat or tethered swimmer, by certified technicians only.",
                ),
            ),
            _step("Close flooded roads and keep bystanders off bridges and banks.", _kind("sheriff")),
            _step("Treat for hypothermia and near-drowning; transport.", _kind("ems")),
            _step(
                "Call in mutual aid.",
                _kind("emergency_management"),
                _decide(
                    "Are more than two rescues pending, or is the river still rising?",
                    _kind("emergency_management"),
                    "Request swift-water teams under the compact and open the EOC.",
                    "Continue with local resources; reassess every 30 minutes.",
                ),
            ),
            _step("Open shelters for evacuated residents.", _kind("ngo")),
        ],
        "roles": [
            {"agency_kind": "fire", "role": "Swift-water rescue teams, boats, rope systems; rescue operations."},
            {"agency_kind": "police", "role": "Road closures and evacuation inside the city."},
            {"agency_kind": "sheriff", "role": "Road closures, evacuation and marine patrol on county waters."},
            {"agency_kind": "ems", "role": "Treatment of rescued people and of rescuers; transport."},
            {"agency_kind": "emergency_management", "role": "EOC, mutual-aid requests, shelters and public warnings."},
            {"agency_kind": "ngo", "role": "Shelters, meals and care for evacuated residents."},
        ],
        "contacts": [
            contact("Frank DeLuca", "LHFD", "+1-570-555-0128", "Battalion Chief, A Shift"),
            contact("Gloria Washington", "TCEMA", "+1-717-555-0123", "Deputy Director, Emergency Management"),
            contact("Nadia Petrova", "CCEMA", "+1-814-555-0134", "Emergency Management Coordinator"),
            contact("Oluwaseun Bakare", "HVRA", "+1-272-555-0129", "Disaster Program Manager"),
        ],
    }
    return [fire_scene, impaired, school, flood]


def seed_protocols(db: Session, settings: Settings) -> None:
    """Idempotent: does nothing once the compact has its protocols (or has no compact)."""
    compact = db.scalar(select(Partnership).where(Partnership.name == COMPACT))
    if compact is None:
        return
    present = select(Protocol.id).join(ProtocolVersion).where(Protocol.partnership_id == compact.id)
    if db.scalar(present.limit(1)) is not None:
        return
    ids = {a.short_name: a.id for a in db.scalars(select(Agency)).unique()}
    users = {
        u.username: u.id
        for u in db.scalars(select(User).where(User.username.in_(("coordinator", "commander", "admin"))))
    }
    if {"coordinator", "commander", "admin"} - set(users):
        return
    coordinator = _seat(users["coordinator"], [ids["MCEMA"]], ("coordinator",))
    commander = _seat(users["commander"], [ids["LHFD"]], ("commander",))
    published: dict[str, uuid.UUID] = {}
    for body in _protocols(ids):
        protocol = protocols.create_protocol(
            db, actor=coordinator, data=ProtocolCreate(partnership_id=compact.id, **body)
        )
        protocols.publish_protocol(db, actor=commander, protocol_id=protocol.id, data=PublishRequest(version=1))
        published[body["title"]] = protocol.latest.id
        if body["title"] == "Fire at a crime scene":
            # Version 2 added EMS's evidence duty after a review; the MOU adopts it.
            steps = [*body["steps"]]
            steps.insert(
                5,
                _step(
                    "Bag patients' clothing as evidence and write down what patients say about the fire.", _kind("ems")
                ),
            )
            protocols.edit_protocol(db, actor=commander, protocol_id=protocol.id, data=ProtocolEdit(steps=steps))
            protocols.publish_protocol(db, actor=coordinator, protocol_id=protocol.id, data=PublishRequest(version=2))
            published[body["title"]] = protocol.latest.id
        if body["title"] == "Active threat at a school":
            # The partners are reworking reunification: an open draft of version 2.
            summary = body["summary"] + " Reunification now follows the district's standard reunification method."
            protocols.edit_protocol(db, actor=coordinator, protocol_id=protocol.id, data=ProtocolEdit(summary=summary))
    signer = _seat(users["admin"], [ids[p] for p in PARTIES], tuple(r.name for r in BUILTIN_ROLES if not r.platform))
    draft = AgreementDraft(
        kind="mou",
        title=MOU_TITLE,
        text="The parties adopt the joint response protocols named below. Each party follows a protocol at every "
        "incident of a type the protocol applies to that it leads or takes part in, and trains its people on it. "
        "A new version of a protocol binds the parties once an amendment of this memorandum adopts it.",
        parties=[ids[p] for p in PARTIES],
        partnership_id=compact.id,
        effective_at=utcnow() - timedelta(days=14),
        clauses=[{"kind": "protocol", "protocol_version_id": v} for v in published.values()]
        + [{"kind": "opt_out", "notice_days": 30}],
    )
    agreement = agreements.draft_agreement(db, actor=signer, data=draft)
    agreements.propose(db, actor=signer, agreement_id=agreement.id)
    digest = agreement.versions[-1].content_hash or ""
    for party in PARTIES:
        agreements.sign(
            db, actor=signer, agreement_id=agreement.id, data=SignRequest(agency_id=ids[party], content_hash=digest)
        )
    db.flush()
