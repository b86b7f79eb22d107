"""Demo partnerships, agreements and records for the Harrow Valley: every tier, label and
clause kind is exercised, so each demo login sees a different slice with its own masks."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from accord.accounts.models import User
from accord.agreements import service as agreements
from accord.agreements.models import Partnership
from accord.agreements.schemas import AgreementDraft, PartnershipCreate, SignRequest
from accord.authz.actor import Actor, MembershipGrant
from accord.authz.roles import BUILTIN_ROLES
from accord.core.time import utcnow
from accord.directory.models import Agency
from accord.sharing import service as sharing
from accord.sharing.schemas import RecordCreate, RecordUpdate

LAW = ["CCSO", "MCSO", "TCSO", "HPD", "KPD", "WFPD", "ACSP-H"]
EMA = ["CCEMA", "MCEMA", "TCEMA"]
MARKER = "Harrow Valley Regional Fusion Center network"
NOROVIRUS_BODY: dict[str, Any] = {
    "condition": "Norovirus GII",
    "onset_date": "2026-11-18",
    "case_count": 23,
    "exposure_setting": "Food vendor at the Harrow River Festival",
    "patient_name": "23 cases; line list held by HVHD",
    "diagnosis_details": "Two hospitalisations for dehydration",
    "lab_results": "PCR positive in 9 of 11 stool samples",
}
NOROVIRUS_LINE_LIST = """case,onset,age_band,setting,hospitalised
1,2026-11-17,30-39,festival food vendor,no
2,2026-11-17,60-69,festival food vendor,yes
3,2026-11-18,20-29,festival food vendor,no
4,2026-11-18,0-9,household contact,no
"""


def _builder(user_id: uuid.UUID, agencies: list[uuid.UUID]) -> Actor:
    perms = frozenset().union(*(r.permissions for r in BUILTIN_ROLES if not r.platform))
    grants = tuple(MembershipGrant(a, "seed", perms) for a in agencies)
    return Actor(
        user_id=user_id,
        username="seed",
        display_name="Harrow Valley demo seed",
        memberships=grants,
        auth_method="system",
    )


def seed_sharing(db: Session) -> bool:
    """Idempotent: does nothing when the demo partnerships exist already."""
    if db.scalar(select(Partnership.id).where(Partnership.name == MARKER)) is not None:
        return False
    ids = {a.short_name: a.id for a in db.scalars(select(Agency)).unique()}
    admin = db.scalar(select(User).where(User.username == "admin"))
    analyst = db.scalar(select(User.id).where(User.username == "analyst"))
    assert admin is not None and analyst is not None
    actor = _builder(admin.id, list(ids.values()))
    now = utcnow()

    def partnership(name: str, kind: str, purpose: str, members: list[str]) -> uuid.UUID:
        data = PartnershipCreate(
            name=name, kind=kind, purpose=purpose, starts_on=date(2026, 1, 1), members=[ids[m] for m in members]
        )
        return agreements.create_partnership(db, actor=actor, data=data).id

    fusion = partnership(
        MARKER,
        "fusion_center",
        "Share criminal intelligence and threat information among law enforcement.",
        ["HVFC", *LAW, "FECO-HV"],
    )
    compact = partnership(
        "Harrow Valley Mutual Aid Compact",
        "mutual_aid_compact",
        "Lend people and equipment across county lines in floods, fires and mass-casualty events.",
        [*EMA, "CCSO", "MCSO", "TCSO", "LHFD", "CRFD", "MCEMS", "HPD", "WFPD", "KPD", "HVRA"],
    )
    partnership(
        "Harrow River Festival Joint Command",
        "joint_command",
        "Unified command for the three-day Harrow River Festival in Harrowgate.",
        ["HPD", "LHFD", "MCEMS", "MCEMA", "MCSO"],
    )
    outbreak = partnership(
        "Foodborne Outbreak Task Force",
        "task_force",
        "Trace and contain foodborne illness across the three counties.",
        ["HVHD", *EMA, "HVWA"],
    )
    cyber = partnership(
        "Water-Sector Cyber Alliance",
        "regional_commission",
        "Protect water and wastewater control systems from cyber attack.",
        ["HVWA", "HVFC", "FECO-HV", "MCEMA"],
    )

    def agreement(
        kind: str,
        title: str,
        text: str,
        parties: list[str],
        clauses: list[dict[str, Any]],
        partnership_id: uuid.UUID | None,
        sign: bool = True,
        days_ago: int = 120,
    ) -> None:
        draft = AgreementDraft(
            kind=kind,
            title=title,
            text=text,
            parties=[ids[p] for p in parties],
            partnership_id=partnership_id,
            effective_at=now - timedelta(days=days_ago),
            clauses=clauses,
        )
        created = agreements.draft_agreement(db, actor=actor, data=draft)
        agreements.propose(db, actor=actor, agreement_id=created.id)
        for party in parties if sign else parties[:2]:
            digest = created.versions[-1].content_hash or ""
            agreements.sign(
                db, actor=actor, agreement_id=created.id, data=SignRequest(agency_id=ids[party], content_hash=digest)
            )

    def share(
        providers: list[str],
        recipients: list[str],
        categories: list[str],
        tier: str,
        purposes: list[str],
        labels: list[str],
        roles: list[str] | None = None,
        retention: int | None = None,
    ) -> dict[str, Any]:
        return {
            "kind": "sharing",
            "providers": [str(ids[p]) for p in providers],
            "recipients": [str(ids[r]) for r in recipients],
            "categories": categories,
            "max_tier": tier,
            "purposes": purposes,
            "labels": labels,
            "recipient_roles": roles or [],
            "retention_days": retention,
        }

    agreement(
        "data_use",
        "Fusion Center Data-Use Agreement",
        "Law-enforcement agencies of the Harrow Valley share bulletins, BOLOs and case summaries with the Regional "
        "Fusion Center for investigation and threat analysis; the Fusion Center shares its bulletins back.",
        ["HVFC", *LAW],
        [
            share(
                LAW,
                ["HVFC"],
                ["intelligence_bulletin", "bolo", "case_summary"],
                "AMBER",
                ["investigation", "threat_analysis"],
                ["PII", "CJI"],
                roles=["analyst", "agency_admin"],
                retention=365,
            ),
            share(
                ["HVFC"],
                LAW,
                ["intelligence_bulletin", "bolo"],
                "AMBER",
                ["investigation", "threat_analysis", "situational_awareness"],
                ["PII"],
            ),
            share(LAW, LAW, ["bolo"], "AMBER", ["investigation"], ["PII"]),
            {"kind": "opt_out", "notice_days": 30},
        ],
        fusion,
    )
    agreement(
        "mou",
        "Foodborne Outbreak Information-Sharing MOU",
        "The health district shares outbreak case data with county emergency management for response; "
        "protected health information stays with the health district.",
        ["HVHD", *EMA],
        [
            share(["HVHD"], EMA, ["public_health_case"], "AMBER", ["public_health_response"], ["PII"], retention=180),
            {"kind": "opt_out", "notice_days": 14},
        ],
        outbreak,
    )
    agreement(
        "data_use",
        "Water-Sector Cyber Threat Data-Use Agreement",
        "The water authority shares indicators of compromise and inspection findings with the Fusion Center and "
        "the federal field office only; they are never re-shared.",
        ["HVWA", "HVFC", "FECO-HV"],
        [
            share(
                ["HVWA"],
                ["HVFC", "FECO-HV"],
                ["threat_indicator", "inspection_finding"],
                "AMBER+STRICT",
                ["infrastructure_protection", "threat_analysis"],
                [],
            )
        ],
        cyber,
    )
    agreement(
        "mutual_aid",
        "Harrow Valley Mutual Aid Agreement",
        "Members lend resources on request across county lines and report incidents to one another.",
        [*EMA, "LHFD", "CRFD", "MCEMS"],
        [
            {
                "kind": "mutual_aid",
                "activation_threshold": "A local emergency declared by a member county, or its own resources of the requested type committed",
                "reimbursement_terms": "Requesting party reimburses personnel at straight-time rates and equipment at FEMA schedule rates after the first 12 hours",
                "liability": "Each party remains liable for its own personnel",
                "insurance": "Each party keeps workers' compensation for its own staff",
                "thresholds": {"declared_emergency": True, "own_resources_exhausted": True, "require": "any"},
                "reimbursement": {"payer": "requester", "waived_hours": 12, "equipment_rate_cap": "150.00"},
            },
            share(
                [*EMA, "LHFD", "CRFD", "MCEMS"],
                [*EMA, "LHFD", "CRFD", "MCEMS"],
                ["incident_report"],
                "AMBER",
                ["emergency_response"],
                [],
            ),
            {"kind": "opt_out", "notice_days": 60},
        ],
        compact,
    )
    agreement(
        "mou",
        "Harrow River Festival Operations MOU (2027)",
        "Police, fire, EMS and emergency management share incident reports during the festival.",
        ["HPD", "LHFD", "MCEMS", "MCEMA"],
        [
            share(
                ["HPD", "LHFD", "MCEMS", "MCEMA"],
                ["HPD", "LHFD", "MCEMS", "MCEMA"],
                ["incident_report"],
                "AMBER",
                ["emergency_response"],
                [],
            )
        ],
        None,
        sign=False,
    )

    def record(
        owner: str,
        category: str,
        tier: str,
        purpose: str,
        title: str,
        body: dict[str, Any],
        point: tuple[float, float] | None = None,
        hours_ago: int = 6,
        red: list[uuid.UUID] | None = None,
    ) -> uuid.UUID:
        data = RecordCreate(
            owner_agency_id=ids[owner],
            category=category,
            tier=tier,
            purpose=purpose,
            title=title,
            body=body,
            geometry={"type": "Point", "coordinates": list(point)} if point else None,
            event_at=now - timedelta(hours=hours_ago),
            red_recipients=red or [],
        )
        return sharing.create_record(db, actor=actor, data=data).id

    record(
        "CCSO",
        "bolo",
        "AMBER",
        "investigation",
        "Stolen pickup tied to catalytic-converter thefts",
        {
            "subject_description": "White male, 30s, beard, orange work jacket",
            "vehicle": "Silver 2016 Ford F-150, partial plate KXR-4",
            "last_seen": "Route 45 eastbound toward Kettleburg",
            "subject_name": "Travis Allen Dorsey",
            "warrant": "Calder Co. bench warrant 26-CR-0417",
        },
        (-77.19, 40.93),
        5,
    )
    record(
        "HPD",
        "intelligence_bulletin",
        "AMBER",
        "threat_analysis",
        "Counterfeit oxycodone pills along the Route 11 corridor",
        {
            "summary": "Blue 'M30' pills testing positive for fentanyl seized in three traffic stops this week.",
            "assessment": "Likely a single supplier moving product between Harrowgate and Wyndham Ferry.",
            "source_reliability": "B",
            "subjects": "Marcus Bell (DOB 1994-03-12)",
            "criminal_history": "Two prior distribution convictions (2019, 2022)",
        },
        (-76.87, 40.88),
        20,
    )
    record(
        "HVFC",
        "intelligence_bulletin",
        "AMBER",
        "situational_awareness",
        "Regional threat overview: Harrow River Festival",
        {
            "summary": "No specific threat to the festival. Expect protest activity near the Market Street stage on Saturday.",
            "assessment": "Low likelihood of violence; high crowd density near the river walk.",
            "source_reliability": "C",
        },
        (-76.86, 40.87),
        30,
    )
    record(
        "MCSO",
        "case_summary",
        "AMBER",
        "investigation",
        "Burglary series: riverfront storage units",
        {
            "summary": "Eleven units forced open since September; bolt cutters recovered.",
            "status": "Open",
            "suspects": "Two unidentified males seen on camera",
            "case_number": "MCSO-26-1187",
        },
        (-76.84, 40.95),
        48,
    )
    record(
        "TCSO",
        "bolo",
        "AMBER",
        "investigation",
        "Missing endangered adult: Wyndham Ferry",
        {
            "subject_description": "Female, 78, 5 ft 2 in, white hair, blue cardigan; dementia",
            "last_seen": "Ferry Street pharmacy, 14:10",
            "subject_name": "Ruth Ellen Sandoval",
        },
        (-76.79, 40.74),
        3,
    )
    record(
        "CCSO",
        "bolo",
        "RED",
        "investigation",
        "Protected source reporting: planned retaliation",
        {
            "subject_description": "Threat against a cooperating witness in the converter-theft case",
            "subject_name": "Withheld from the record; call the CCSO duty lieutenant",
        },
        None,
        2,
        [analyst],
    )
    norovirus = record(
        "HVHD",
        "public_health_case",
        "AMBER",
        "public_health_response",
        "Norovirus cluster linked to a festival food vendor",
        NOROVIRUS_BODY,
        (-76.86, 40.87),
        26,
    )
    record(
        "HVHD",
        "inspection_finding",
        "GREEN",
        "public_health_response",
        "Vendor inspection: hand-washing station missing",
        {
            "facility": "Riverside Grill food truck",
            "finding": "No hand-washing station; food held below safe temperature",
            "severity": "Critical",
            "inspector_contact": "Sanitarian Dana Whitlock, +1-272-555-0177",
        },
        (-76.861, 40.872),
        25,
    )
    record(
        "HVWA",
        "threat_indicator",
        "AMBER+STRICT",
        "infrastructure_protection",
        "Brute-force attempts on SCADA remote-access VPN",
        {
            "indicator_type": "ip",
            "value": "203.0.113.47",
            "description": "1,900 failed logins in 40 minutes against the pump-station VPN",
            "reporter_contact": "SCADA security lead, +1-717-555-0141",
        },
        None,
        9,
    )
    record(
        "HVWA",
        "inspection_finding",
        "AMBER+STRICT",
        "infrastructure_protection",
        "Exposed HMI at the Marrow Creek lift station",
        {
            "facility": "Marrow Creek lift station",
            "finding": "Operator interface reachable from the internet on port 5900",
            "severity": "High",
        },
        (-76.9, 40.97),
        40,
    )
    record(
        "MCEMA",
        "incident_report",
        "GREEN",
        "situational_awareness",
        "Harrow River above flood stage at Harrowgate",
        {
            "summary": "Gauge at 17.8 ft and rising; minor flooding of River Road expected by 22:00.",
            "location_description": "Harrowgate confluence gauge",
            "units_involved": "MCEMA duty officer, LHFD Engine 2",
        },
        (-76.865, 40.882),
        4,
    )
    record(
        "TCEMA",
        "incident_report",
        "AMBER",
        "emergency_response",
        "Evacuation of Ferry Street trailer park",
        {
            "summary": "Voluntary evacuation of 41 homes; shelter open at Wyndham Ferry High School.",
            "location_description": "Ferry Street Mobile Home Park",
            "persons_involved": "Park manager Tom Becker, +1-717-555-0160",
        },
        (-76.8, 40.735),
        2,
    )
    record(
        "MCEMA",
        "incident_report",
        "CLEAR",
        "situational_awareness",
        "Road closure: River Road between Harrowgate and Marrow Creek",
        {
            "summary": "River Road closed both ways due to high water. Use Route 11.",
            "location_description": "River Road",
        },
        (-76.88, 40.9),
        1,
    )
    # A record with a history and a file: the cluster grew, and the line list is attached
    # (PHI: the county emergency managers see it listed, masked).
    sharing.update_record(
        db,
        actor=actor,
        record_id=norovirus,
        data=RecordUpdate(
            revision=1,
            body={**NOROVIRUS_BODY, "case_count": 31, "patient_name": "31 cases; line list held by HVHD"},
            note="eight more cases reported by urgent care",
        ),
    )
    sharing.add_attachment(
        db,
        actor=actor,
        record_id=norovirus,
        filename="norovirus-line-list.csv",
        declared_type="text/csv",
        content=NOROVIRUS_LINE_LIST.encode(),
        label="PHI",
        max_bytes=1024 * 1024,
    )
    db.flush()
    _seed_trends(db, actor, now)
    return True


# Twelve weeks of public calls for service and inspection results across the region, so the
# Trends page (de-identified aggregates, ADR 10) has counts above the suppression threshold.
TREND_WEEKS = 12
TREND_CALLS = {
    "HPD": ("Harrowgate", 14, 22),
    "KPD": ("Kettleburg", 12, 18),
    "WFPD": ("Wyndham Falls", 11, 16),
    "CCSO": ("Calder County", 13, 20),
    "MCSO": ("Marrow County", 12, 19),
    "TCSO": ("Tarrant County", 11, 17),
}
CALL_TYPES = (
    ("Traffic collision", "Two-vehicle collision, no injuries; tow requested."),
    ("Noise complaint", "Loud music reported; parties advised."),
    ("Welfare check", "Caller concerned for an elderly neighbour; resident found well."),
    ("Road hazard", "Debris in the roadway; removed by responding unit."),
    ("Theft report", "Bicycle reported stolen from a porch."),
    ("Suspicious vehicle", "Unoccupied vehicle parked overnight; owner located."),
)
FINDINGS = (
    ("Food service establishment", "Cold holding above 41 °F; corrected on site.", "minor"),
    ("Public pool", "Chlorine residual below minimum; closed until corrected.", "major"),
    ("Child care centre", "Hand-washing sink blocked by supplies.", "minor"),
    ("Food truck", "No certified food manager on duty.", "minor"),
)


def _point_in(area: Any, rng: Any) -> tuple[float, float]:
    from shapely.geometry import Point

    min_x, min_y, max_x, max_y = area.bounds
    for _ in range(200):
        x, y = rng.uniform(min_x, max_x), rng.uniform(min_y, max_y)
        if area.contains(Point(x, y)):
            return round(x, 5), round(y, 5)
    centre = area.representative_point()
    return round(centre.x, 5), round(centre.y, 5)


def _seed_trends(db: Session, actor: Actor, now: Any) -> None:
    """CLEAR records (any agency may count them) with a point inside the owner's
    jurisdiction, spread over the last twelve whole weeks: deterministic, so the demo's
    chart looks the same on every machine."""
    import random

    from shapely.geometry import shape

    rng = random.Random(20261122)  # noqa: S311  (demo data, not secrets)
    agencies = {a.short_name: a for a in db.scalars(select(Agency)).unique()}
    monday = (now - timedelta(days=now.weekday())).replace(hour=9, minute=0, second=0, microsecond=0)
    health = agencies.get("HVHD")
    for week in range(1, TREND_WEEKS + 1):
        start = monday - timedelta(weeks=week)
        for short, (place, low, high) in TREND_CALLS.items():
            agency = agencies.get(short)
            if agency is None or agency.jurisdiction is None:
                continue
            area = shape(agency.jurisdiction)
            for _ in range(rng.randint(low, high)):
                title, summary = rng.choice(CALL_TYPES)
                _clear_record(
                    db,
                    actor,
                    agency.id,
                    "incident_report",
                    "situational_awareness",
                    f"{title}, {place}",
                    {"summary": summary, "location_description": place},
                    _point_in(area, rng),
                    start + timedelta(minutes=rng.randrange(7 * 24 * 60 - 600)),
                )
        if health is not None and health.jurisdiction is not None:
            area = shape(health.jurisdiction)
            for _ in range(rng.randint(11, 16)):
                facility, finding, severity = rng.choice(FINDINGS)
                _clear_record(
                    db,
                    actor,
                    health.id,
                    "inspection_finding",
                    "public_health_response",
                    f"Inspection: {facility.lower()}",
                    {"facility": facility, "finding": finding, "severity": severity},
                    _point_in(area, rng),
                    start + timedelta(minutes=rng.randrange(7 * 24 * 60 - 600)),
                )


def _clear_record(
    db: Session,
    actor: Actor,
    owner: uuid.UUID,
    category: str,
    purpose: str,
    title: str,
    body: dict[str, Any],
    point: tuple[float, float],
    event_at: Any,
) -> None:
    data = RecordCreate(
        owner_agency_id=owner,
        category=category,
        tier="CLEAR",
        purpose=purpose,
        title=title,
        body=body,
        geometry={"type": "Point", "coordinates": list(point)},
        event_at=event_at,
    )
    sharing.create_record(db, actor=actor, data=data)
