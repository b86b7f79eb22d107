"""Benchmark: agreement-filtered full-text search and filtered record lists at scale.

Issue 3: 1,000,000 records, 50 agencies, 200 agreements. For one analyst whose agency
receives grants from several agreements, ``sharing.queries.list_records`` (the real code
path behind ``GET /api/v1/records``: count, page, the caller's grants and partners, and
the basis and masks per row) is timed against hand-written SQL that returns the same page
and the same total. Goal: median at most 1.25x the hand-written query, p95 at most 1.5x.

Agencies, users, partnerships and agreements are made through the real services (draft,
propose, sign by each party), so the grants are compiled by the real code; the schema
comes from the project's migrations. Records are bulk-loaded (executemany on SQLite, where
the FTS5 triggers index them; COPY on PostgreSQL) and then ANALYZEd.

Run:   .venv/bin/python benchmarks/sharing_search.py [--records N] [--reps 30] [--keep]
Prints progress on stderr, a table of figures, and one JSON object on its last line.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import random
import shutil
import signal
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))  # measure the code of this tree

from sqlalchemy import Engine, bindparam, column, create_engine, insert, inspect, select, table, text  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402
from sqlalchemy.sql.elements import TextClause  # noqa: E402
from sqlalchemy.sql.selectable import TextualSelect  # noqa: E402
from sqlalchemy.types import Boolean, Date, Integer, String, Uuid  # noqa: E402

from accord.accounts import service as accounts  # noqa: E402
from accord.agreements import service as agreements  # noqa: E402
from accord.agreements.models import Grant  # noqa: E402
from accord.agreements.schemas import AgreementDraft, PartnershipCreate, SignRequest  # noqa: E402
from accord.agreements.vocab import TIER_RANK  # noqa: E402
from accord.authz import Actor  # noqa: E402
from accord.authz.service import actor_for  # noqa: E402
from accord.core.db import UTCDateTime, make_engine, make_session_factory  # noqa: E402
from accord.core.time import utcnow  # noqa: E402
from accord.directory import service as directory  # noqa: E402
from accord.directory.models import Agency  # noqa: E402
from accord.directory.schemas import AgencyCreate  # noqa: E402
from accord.migrate import upgrade  # noqa: E402
from accord.seed import system_actor  # noqa: E402
from accord.sharing.categories import labelled_fields  # noqa: E402
from accord.sharing.models import Record  # noqa: E402
from accord.sharing.queries import list_records  # noqa: E402
from accord.sharing.schemas import RecordFilter  # noqa: E402
from accord.sharing.search import terms_of  # noqa: E402
from accord.sharing.service import search_text  # noqa: E402

PG_URL = os.environ.get("ACCORD_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
GOAL = {"median_ratio": 1.25, "p95_ratio": 1.5}
SEED = 20261122
AGENCIES = 50
AGREEMENTS = 200
PARTNERSHIPS = 12
PASSWORD = "bench-sharing-search-password"
KEPT_SCHEMA = "bench_sharing_search"

# --- progress ------------------------------------------------------------------------------


class Progress:
    """A progress line on stderr: redrawn in place on a terminal, every 10% otherwise."""

    def __init__(self, label: str, total: int) -> None:
        self.label, self.total, self.done = label, max(total, 1), 0
        self.started = time.perf_counter()
        self.tty = sys.stderr.isatty()
        self.next_report = 0.1

    def advance(self, n: int) -> None:
        self.done += n
        fraction = self.done / self.total
        if self.tty or fraction >= self.next_report or self.done >= self.total:
            elapsed = time.perf_counter() - self.started
            rate = self.done / elapsed if elapsed else 0.0
            eta = (self.total - self.done) / rate if rate else 0.0
            line = f"  {self.label}: {self.done:,}/{self.total:,} ({fraction:4.0%}) {rate:,.0f}/s, eta {eta:,.0f}s"
            if self.tty:
                sys.stderr.write("\r" + line + ("\n" if self.done >= self.total else ""))
            else:
                sys.stderr.write(line + "\n")
            sys.stderr.flush()
            while self.next_report <= fraction:
                self.next_report += 0.1


def log(message: str) -> None:
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


# --- vocabularies for realistic, varied records ------------------------------------------------


def split(words: str, separator: str) -> list[str]:
    return words.split(separator)


PLACE_STEMS = split(
    "Harrow Kettle Marrow Wyndham Ashford Calder Tamsin Brook Oak Elder Fallow Granite Hollis Iron Juniper Lark "
    "Mill North Pine Quarry Raven Stone Thorn Upton Vale Willow Yarrow Copper Dover Ember",
    " ",
)
PLACE_ENDS = split("burg ton field ferry creek ridge haven ford dale port", " ")
STREETS = split(
    "Route 11|Route 45|Route 322|River Road|Market Street|Ferry Street|Mill Lane|Quarry Road|Church Street|"
    "Depot Street|Canal Road|Ridge Pike|Orchard Lane|Furnace Road|Station Avenue|Bridge Street|Turnpike 76|"
    "College Avenue|Airport Road|Industrial Parkway",
    "|",
)
INCIDENTS = split(
    "Structure fire|Brush fire|Two-vehicle collision|Hazmat spill|Gas leak|Water main break|Flooding|Power outage|"
    "Missing hiker|Swift-water rescue|Chemical odor|Bridge closure|Downed power lines|Train derailment|"
    "Carbon monoxide alarm|Tractor-trailer rollover|Grain bin entrapment|Propane tank leak|Sinkhole|Ice jam flooding",
    "|",
)
INCIDENT_DETAILS = split(
    "Crews on scene for {n} hours.|{n} residents evacuated to the {place} community center.|"
    "Road closed both directions; detour via {street}.|No injuries reported.|{n} patients transported to "
    "{place} General.|Mutual aid requested from neighbouring districts.|Utility crews isolating the area.|"
    "Shelter opened at {place} High School.|Water rescue teams staged at the boat launch.|Flooding of low-lying "
    "roads expected overnight.|Debris blocking the northbound lanes.|Hazmat team monitoring air quality.|"
    "Vehicle fire spread to the tree line.|Situation contained by {hour}:00.|Volunteer fire company assisting.",
    "|",
)
TOPICS = split(
    "Counterfeit oxycodone pills|Catalytic-converter thefts|Organized retail theft|Copper wire thefts|"
    "Phishing campaign against municipal payroll|Human trafficking indicators|Fentanyl seizures|Stolen firearms|"
    "Card skimmers at fuel pumps|Drone sightings over substations|Threats against election workers|"
    "Gang graffiti|Ransomware activity against clinics|Cargo theft at truck stops|Straw purchases of handguns",
    "|",
)
INTEL_LINES = split(
    "Likely a single supplier moving product between {place} and {place2}.|Reporting from {n} agencies "
    "corroborates the pattern.|Subjects use rental vehicles and rotate phones.|Expect activity to continue "
    "through the weekend.|Low likelihood of violence; high likelihood of repeat offences.|Linked to Operation "
    "{code} by shared phone numbers.|Blue M30 pills tested positive for fentanyl.|Suspects travel the {street} "
    "corridor at night.|Similar incidents reported in {place}.|Analysts assess the threat as moderate.",
    "|",
)
BOLO_REASONS = split(
    "Stolen vehicle|Missing endangered adult|Armed robbery suspect|Hit-and-run vehicle|Runaway juvenile|"
    "Wanted person|Attempt to locate|Stolen trailer|Suspicious vehicle",
    "|",
)
COLORS = split("silver white black red blue grey green maroon tan gold", " ")
VEHICLES = split(
    "Ford F-150 pickup|Chevrolet Silverado pickup|Ram 1500 pickup|Honda Civic sedan|Toyota Camry sedan|"
    "Nissan Altima sedan|Jeep Wrangler|Dodge Caravan minivan|Subaru Outback wagon|Kia Soul hatchback|"
    "Freightliner box truck|Harley-Davidson motorcycle|Toyota Tacoma pickup|Hyundai Elantra sedan",
    "|",
)
SUBJECTS = split(
    "White male, {age}s, beard, orange work jacket|Black female, {age}s, braids, grey hoodie|Hispanic male, "
    "{age}s, slim build, red cap|White female, {age}, white hair, blue cardigan; dementia|Male, {age}s, heavy "
    "build, camouflage jacket|Female, {age}s, ponytail, black leggings|Juvenile male, {age}, backpack, skateboard",
    "|",
)
CRIMES = split(
    "Burglary|Vehicle theft|Arson|Fraud|Vandalism|Assault|Narcotics distribution|Identity theft|Shoplifting", "|"
)
CASE_LINES = split(
    "{n} incidents since September; bolt cutters recovered.|Two unidentified males seen on camera.|Search "
    "warrant executed at a residence in {place}.|Stolen property recovered at a pawn shop.|Latent prints "
    "submitted to the state lab.|Cell-site records requested.|Victims are mostly elderly residents of {place}.|"
    "Pattern matches a series in {place2}.|Linked to Operation {code}.|Suspect vehicle is a {color} pickup.",
    "|",
)
STATUSES = split("Open|Closed|Pending lab results|Referred to prosecutor|Inactive", "|")
CONDITIONS = split(
    "Norovirus GII|Salmonella enteritidis|E. coli O157|Hepatitis A|Legionellosis|Measles|Pertussis|Influenza A|"
    "Carbon monoxide poisoning|Heat illness|Listeriosis|Campylobacter",
    "|",
)
SETTINGS = split(
    "Food vendor|School cafeteria|Nursing home|Daycare|Restaurant|Church supper|Swimming pool|Festival|"
    "Cooling tower|Summer camp",
    "|",
)
FACILITIES = split(
    "Lift station|Pump station|Food truck|Restaurant|Water treatment plant|Substation|School kitchen|Reservoir|"
    "Well house|Wastewater plant",
    "|",
)
FINDINGS = split(
    "No hand-washing station|Operator interface reachable from the internet|Food held below safe temperature|"
    "Chlorine residual below minimum|Perimeter fence breached|Default password on the PLC|Backflow preventer "
    "missing|Expired fire extinguishers|Unlocked chemical storage|Generator failed its load test",
    "|",
)
THREATS = split(
    "Brute-force attempts against the remote-access VPN|Phishing email impersonating the county treasurer|"
    "Beaconing from a SCADA workstation|Credential stuffing against the billing portal|Malicious macro in an "
    "invoice attachment|Port scan of pump-station controllers|Ransomware note found on a file server",
    "|",
)
CODES = split(
    "Nightjar Kestrel Osprey Heron Bittern Curlew Plover Merlin Harrier Shrike Wren Linnet Siskin Dunlin Godwit "
    "Whimbrel Gannet Fulmar Petrel Skua Avocet Dipper Twite Crake",
    " ",
)
FILLER = split(
    "Information is preliminary.|Follow-up scheduled with the duty officer.|Contact the watch desk for updates.|"
    "Further reporting to follow.|Shared for awareness.|Do not act on this information without confirmation.|"
    "Details may change as the situation develops.|Coordinate with the county liaison.|Photos attached to the "
    "case file.|Requesting any related reporting.",
    "|",
)
NAMES = split("Dorsey Bell Sandoval Becker Whitlock Kowalski Nguyen Okafor Lindqvist Moreau Castillo Brennan", " ")
UNITS = split("Engine|Ladder|Medic|Rescue|Squad|Unit|Car|Tanker|Brush", "|")

CATEGORIES_BY_KIND: dict[str, dict[str, int]] = {
    "police": {"incident_report": 30, "bolo": 30, "case_summary": 25, "intelligence_bulletin": 15},
    "sheriff": {"incident_report": 30, "bolo": 30, "case_summary": 25, "intelligence_bulletin": 15},
    "state": {"incident_report": 20, "bolo": 40, "case_summary": 20, "intelligence_bulletin": 20},
    "federal": {"intelligence_bulletin": 50, "threat_indicator": 30, "case_summary": 20},
    "fire": {"incident_report": 85, "inspection_finding": 15},
    "ems": {"incident_report": 95, "public_health_case": 5},
    "emergency_management": {"incident_report": 80, "public_health_case": 5, "inspection_finding": 15},
    "public_health": {"public_health_case": 60, "inspection_finding": 40},
    "utility": {"threat_indicator": 40, "inspection_finding": 40, "incident_report": 20},
    "ngo": {"incident_report": 100},
}
PURPOSES_BY_CATEGORY: dict[str, dict[str, int]] = {
    "incident_report": {"emergency_response": 50, "situational_awareness": 35, "planning": 15},
    "intelligence_bulletin": {"threat_analysis": 50, "investigation": 30, "situational_awareness": 20},
    "bolo": {"investigation": 80, "situational_awareness": 20},
    "case_summary": {"investigation": 100},
    "public_health_case": {"public_health_response": 90, "planning": 10},
    "inspection_finding": {"public_health_response": 40, "infrastructure_protection": 50, "planning": 10},
    "threat_indicator": {"infrastructure_protection": 50, "threat_analysis": 50},
}
TIER_WEIGHTS = {"CLEAR": 8, "GREEN": 25, "AMBER": 50, "AMBER+STRICT": 10, "RED": 7}
# kind, level, short-name prefix, name suffix, how many
AGENCY_PLAN = (
    ("police", "local", "PD", "Police Department", 12),
    ("sheriff", "county", "SO", "County Sheriff's Office", 6),
    ("fire", "local", "FD", "Fire District", 8),
    ("ems", "local", "EMS", "EMS Authority", 5),
    ("emergency_management", "county", "EMA", "Emergency Management Agency", 5),
    ("public_health", "county", "HD", "Health District", 4),
    ("utility", "local", "WA", "Water Authority", 4),
    ("state", "state", "SP", "State Police Troop", 2),
    ("federal", "federal", "FO", "Federal Field Office", 2),
    ("ngo", "non_governmental", "RC", "Relief Chapter", 2),
)
ROLES = ("agency_admin", "coordinator", "analyst")


class Weighted:
    """random.choices with precomputed cumulative weights (fast in a hot loop)."""

    def __init__(self, items: Sequence[Any], weights: Sequence[float]) -> None:
        self.items = list(items)
        self.cum: list[float] = []
        total = 0.0
        for w in weights:
            total += w
            self.cum.append(total)

    def pick(self, rng: random.Random) -> Any:
        return rng.choices(self.items, cum_weights=self.cum)[0]


def zipf(items: Sequence[Any], s: float = 1.0) -> Weighted:
    return Weighted(items, [1.0 / (rank + 1) ** s for rank in range(len(items))])


PLACES = [stem + end for end in PLACE_ENDS for stem in PLACE_STEMS]  # 300 names, Zipf-distributed below
PLACE_PICK = zipf(PLACES, 0.9)
CODE_PICK = zipf(CODES, 1.2)
FILLER_PICK = zipf(FILLER, 0.8)
TIER_PICK = Weighted(list(TIER_WEIGHTS), list(TIER_WEIGHTS.values()))
PURPOSE_PICK = {c: Weighted(list(w), list(w.values())) for c, w in PURPOSES_BY_CATEGORY.items()}
CATEGORY_PICK = {k: Weighted(list(w), list(w.values())) for k, w in CATEGORIES_BY_KIND.items()}
RARE_PLATE = "KXR4821"  # planted in a handful of BOLOs: the "look up this plate" search


class TextMaker:
    """Title and body of a record of a category, in the shape of sharing/categories.py."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.bolos = 0

    def _fill(self, template: str) -> str:
        r = self.rng
        return template.format(
            n=r.randint(2, 40),
            place=PLACE_PICK.pick(r),
            place2=PLACE_PICK.pick(r),
            street=r.choice(STREETS),
            code=CODE_PICK.pick(r),
            hour=r.randint(0, 23),
            color=r.choice(COLORS),
            age=r.randint(2, 8) * 10 if r.random() < 0.8 else r.randint(12, 90),
        )

    def _lines(self, pool: list[str], k: int) -> str:
        parts = [self._fill(self.rng.choice(pool)) for _ in range(k)]
        if self.rng.random() < 0.5:
            parts.append(FILLER_PICK.pick(self.rng))
        return " ".join(parts)

    def _plate(self) -> str:
        r = self.rng
        letters = "".join(r.choice("ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(3))
        return f"{letters}{r.randint(1000, 9999)}"

    def _person(self) -> str:
        r = self.rng
        born = f"{r.randint(1950, 2008)}-0{r.randint(1, 9)}-1{r.randint(0, 9)}"
        return f"{r.choice('ABCDEFGHJKLMRST')}. {r.choice(NAMES)} (DOB {born})"

    def make(self, category: str) -> tuple[str, dict[str, Any]]:
        r = self.rng
        place = PLACE_PICK.pick(r)
        if category == "incident_report":
            kind = r.choice(INCIDENTS)
            title = f"{kind} {r.choice(('at', 'near', 'in'))} {place}"
            body: dict[str, Any] = {
                "summary": f"{kind} reported near {r.choice(STREETS)}, {place}. " + self._lines(INCIDENT_DETAILS, 2),
                "location_description": f"{r.randint(1, 999)} {r.choice(STREETS)}, {place}",
                "units_involved": f"{r.choice(UNITS)} {r.randint(1, 60)}, {r.choice(UNITS)} {r.randint(1, 60)}",
            }
            if r.random() < 0.4:
                body["persons_involved"] = self._person()
            if r.random() < 0.1:
                body["arrest_details"] = f"Arrested on charges filed as {r.randint(10, 99)}-CR-{r.randint(1000, 9999)}"
            return title, body
        if category == "intelligence_bulletin":
            topic = r.choice(TOPICS)
            title = f"{topic} in {place}" if r.random() < 0.6 else f"{topic} along the {r.choice(STREETS)} corridor"
            body = {
                "summary": f"{topic} reported around {place}. " + self._lines(INTEL_LINES, 2),
                "assessment": self._lines(INTEL_LINES, 1),
                "source_reliability": r.choice("ABCDEF"),
            }
            if r.random() < 0.7:
                body["subjects"] = self._person()
            if r.random() < 0.3:
                body["criminal_history"] = f"{r.randint(1, 5)} prior convictions"
            return title, body
        if category == "bolo":
            reason = r.choice(BOLO_REASONS)
            color, vehicle = r.choice(COLORS), r.choice(VEHICLES)
            self.bolos += 1
            plate = RARE_PLATE if self.bolos % 40_000 == 1 else self._plate()
            title = f"{reason}: {color} {vehicle}"
            body = {
                "subject_description": self._fill(r.choice(SUBJECTS)),
                "vehicle": f"{color.title()} {r.randint(2004, 2026)} {vehicle}, plate {plate}",
                "last_seen": f"{r.choice(STREETS)} toward {place}, {r.randint(0, 23):02d}:{r.randint(0, 59):02d}",
                "subject_name": self._person(),
            }
            if r.random() < 0.3:
                body["warrant"] = f"Bench warrant {r.randint(10, 26)}-CR-{r.randint(1000, 9999)}"
            return title, body
        if category == "case_summary":
            crime = r.choice(CRIMES)
            title = f"{crime} series: {place}"
            body = {"summary": f"{crime} in {place}. " + self._lines(CASE_LINES, 3), "status": r.choice(STATUSES)}
            if r.random() < 0.6:
                body["suspects"] = self._person()
            body["case_number"] = f"{r.randint(10, 26)}-{r.randint(1000, 99999)}"
            return title, body
        if category == "public_health_case":
            condition, setting = r.choice(CONDITIONS), r.choice(SETTINGS)
            title = f"{condition} cluster in {place}"
            body = {
                "condition": condition,
                "onset_date": f"20{r.randint(23, 26)}-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}",
                "case_count": r.randint(2, 80),
                "exposure_setting": f"{setting} in {place}",
                "patient_name": f"{r.randint(2, 80)} cases; line list held by the health district",
                "diagnosis_details": f"{r.randint(0, 9)} hospitalisations",
                "lab_results": f"PCR positive in {r.randint(1, 9)} of {r.randint(10, 20)} samples",
            }
            return title, body
        if category == "inspection_finding":
            facility, finding = r.choice(FACILITIES), r.choice(FINDINGS)
            title = f"{facility} inspection: {finding.lower()}"
            body = {
                "facility": f"{place} {facility.lower()}",
                "finding": f"{finding}. " + self._lines(FILLER, 0),
                "severity": r.choice(("Low", "Moderate", "High", "Critical")),
                "inspector_contact": f"Inspector {r.choice(NAMES)}, +1-717-555-0{r.randint(100, 199)}",
            }
            return title, body
        threat = r.choice(THREATS)
        kind = r.choice(("ip", "domain", "url", "hash", "email"))
        value = {
            "ip": f"203.0.113.{r.randint(1, 254)}",
            "domain": f"{r.choice(NAMES).lower()}-{r.choice(CODES).lower()}.example",
            "url": f"https://{r.choice(CODES).lower()}.example/{r.randint(100, 999)}",
            "hash": f"{r.getrandbits(128):032x}",
            "email": f"{r.choice(NAMES).lower()}@{r.choice(CODES).lower()}.example",
        }[kind]
        body = {
            "indicator_type": kind,
            "value": value,
            "description": f"{threat} at {place}.",
            "reporter_contact": f"SCADA security lead, +1-717-555-0{r.randint(100, 199)}",
        }
        return f"{threat} ({kind})", body


# --- the world: agencies, people, partnerships, agreements (through the services) -----------


@dataclass
class World:
    agency_ids: list[uuid.UUID]
    agency_kinds: list[str]
    users: dict[tuple[int, str], uuid.UUID]  # (agency index, role) -> user id
    caller_user_id: uuid.UUID
    caller_agency_id: uuid.UUID
    facts: dict[str, int] = field(default_factory=dict)


def short_name(index: int, prefix: str) -> str:
    return f"B{index:02d}-{prefix}"


def username(index: int, role: str) -> str:
    return f"bench-b{index:02d}-{role.replace('_', '')}"


def build_world(factory: sessionmaker[Session], rng: random.Random) -> World:
    system = system_actor("bench")
    started = time.perf_counter()
    with factory() as db:
        agency_ids: list[uuid.UUID] = []
        kinds: list[str] = []
        index = 0
        for kind, level, prefix, suffix, count in AGENCY_PLAN:
            for _ in range(count):
                town = PLACES[(index * 7) % len(PLACES)]
                data = AgencyCreate(
                    name=f"{town} {suffix}",
                    short_name=short_name(index, prefix),
                    kind=kind,
                    level=level,
                    jurisdiction_name=f"{town} area",
                )
                agency_ids.append(directory.create_agency(db, actor=system, data=data).id)
                kinds.append(kind)
                index += 1
        progress = Progress("users (argon2id)", len(agency_ids) * len(ROLES))
        users: dict[tuple[int, str], uuid.UUID] = {}
        for i, agency_id in enumerate(agency_ids):
            for role in ROLES:
                user = accounts.create_user_unchecked(
                    db,
                    actor=system,
                    username=username(i, role),
                    display_name=f"Bench {role} {i:02d}",
                    email=f"{username(i, role)}@bench.example",
                    password=PASSWORD,
                    agency_id=agency_id,
                    role=role,
                    check_password_policy=False,
                )
                users[(i, role)] = user.id
                progress.advance(1)
        db.commit()

        def actor(i: int, role: str) -> Actor:
            return actor_for(
                db,
                user_id=users[(i, role)],
                username=username(i, role),
                display_name=username(i, role),
                auth_method="session",
            )

        coordinators = {i: actor(i, "coordinator") for i in range(len(agency_ids))}
        admins = {i: actor(i, "agency_admin") for i in range(len(agency_ids))}
        partnerships = make_partnerships(db, rng, agency_ids, kinds, coordinators)
        db.commit()
        stats = make_agreements(db, rng, agency_ids, kinds, partnerships, coordinators, admins)
        db.commit()
        grants = db.scalar(select(Grant.id).order_by(None).limit(1)) is not None
        assert grants, "no grants were compiled"
    log(f"  world built in {time.perf_counter() - started:.1f}s: {stats}")
    return World(agency_ids, kinds, users, users[(0, "analyst")], agency_ids[0], facts=stats)


def make_partnerships(
    db: Session,
    rng: random.Random,
    agency_ids: list[uuid.UUID],
    kinds: list[str],
    coordinators: dict[int, Actor],
) -> list[tuple[uuid.UUID | None, list[int]]]:
    """PARTNERSHIPS groups of 5-14 agencies; every agency is in at least one, the caller's
    agency (index 0) in four."""
    found: list[tuple[uuid.UUID | None, list[int]]] = []
    partnership_kinds = ("task_force", "mutual_aid_compact", "fusion_center", "regional_commission", "joint_command")
    uncovered = set(range(len(agency_ids)))
    for p in range(PARTNERSHIPS):
        size = rng.randint(5, 14)
        members = set(rng.sample(range(len(agency_ids)), size))
        if p < 4:
            members.add(0)
        if uncovered and p >= PARTNERSHIPS - 4:
            members |= set(rng.sample(sorted(uncovered), min(len(uncovered), 6)))
        uncovered -= members
        ordered = sorted(members)
        data = PartnershipCreate(
            name=f"Bench partnership {p:02d}",
            kind=partnership_kinds[p % len(partnership_kinds)],
            purpose="Share information and resources across the region.",
            starts_on=date(2024, 1, 1),
            members=[agency_ids[i] for i in ordered],
        )
        created = agreements.create_partnership(db, actor=coordinators[ordered[0]], data=data)
        found.append((created.id, ordered))
    return found


def _sharing_clause(
    rng: random.Random, parties: list[int], agency_ids: list[uuid.UUID], kinds: list[str], caller_recipient: bool
) -> dict[str, Any]:
    providers = rng.sample(parties, rng.randint(1, len(parties)))
    recipients = rng.sample(parties, rng.randint(1, len(parties)))
    if caller_recipient and 0 in parties and 0 not in recipients:
        recipients.append(0)
    if set(providers) == set(recipients) and len(providers) == 1:
        recipients = [p for p in parties if p not in providers][:1] or recipients
    offered: set[str] = set()
    for p in providers:
        offered |= set(CATEGORIES_BY_KIND[kinds[p]])
    categories = rng.sample(sorted(offered), rng.randint(1, min(3, len(offered))))
    purposes: set[str] = set()
    for c in categories:
        options = list(PURPOSES_BY_CATEGORY[c])
        purposes |= set(rng.sample(options, rng.randint(1, len(options))))
    roles = rng.choices(([], ["analyst", "agency_admin"], ["commander"]), weights=(60, 25, 15))[0]
    return {
        "kind": "sharing",
        "providers": [str(agency_ids[p]) for p in providers],
        "recipients": [str(agency_ids[r]) for r in recipients],
        "categories": categories,
        "max_tier": rng.choices(("GREEN", "AMBER", "AMBER+STRICT"), weights=(15, 65, 20))[0],
        "purposes": sorted(purposes),
        "labels": rng.sample(["PII", "PHI", "CJI"], rng.randint(0, 2)),
        "recipient_roles": roles,
        "retention_days": rng.choice((None, 90, 365, 1825)),
        "aggregates_only": rng.random() < 0.05,
    }


def make_agreements(
    db: Session,
    rng: random.Random,
    agency_ids: list[uuid.UUID],
    kinds: list[str],
    partnerships: list[tuple[uuid.UUID | None, list[int]]],
    coordinators: dict[int, Actor],
    admins: dict[int, Actor],
) -> dict[str, int]:
    """AGREEMENTS agreements with 1-3 sharing clauses each, drafted, proposed and signed by
    every party through the service (so grants are compiled by the real code). A few stay
    unsigned, start in the future, expire, or are suspended, terminated or opted out of."""
    now = utcnow()
    outcome = {"signed": 0, "unsigned": 0, "suspended": 0, "terminated": 0, "opted_out": 0, "future": 0}
    progress = Progress("agreements (draft, propose, sign)", AGREEMENTS)
    for n in range(AGREEMENTS):
        partnership_id, members = rng.choice(partnerships) if rng.random() < 0.7 else (None, list(range(AGENCIES)))
        parties = rng.sample(members, rng.randint(2, min(6, len(members))))
        with_caller = n % 5 == 0 and 0 in members  # the caller's agency is a party and recipient often
        if with_caller and 0 not in parties:
            parties[0] = 0
        clauses: list[dict[str, Any]] = [
            _sharing_clause(rng, parties, agency_ids, kinds, with_caller) for _ in range(rng.randint(1, 3))
        ]
        if rng.random() < 0.5:
            clauses.append({"kind": "opt_out", "notice_days": rng.choice((0, 14, 30, 90))})
        future = rng.random() < 0.06
        effective = now + timedelta(days=rng.randint(5, 60)) if future else now - timedelta(days=rng.randint(10, 900))
        expires = effective + timedelta(days=rng.randint(180, 1500)) if rng.random() < 0.2 else None
        draft = AgreementDraft(
            kind=rng.choice(("data_use", "mou", "charter", "mutual_aid")),
            title=f"Bench information-sharing agreement {n:03d}",
            text="The parties share the records named in the clauses below for the purposes named there.",
            partnership_id=partnership_id,
            parties=[agency_ids[p] for p in parties],
            effective_at=effective,
            expires_at=expires,
            clauses=clauses,
        )
        drafter = coordinators[parties[0]]
        created = agreements.draft_agreement(db, actor=drafter, data=draft)
        agreements.propose(db, actor=drafter, agreement_id=created.id)
        digest = created.versions[-1].content_hash or ""
        unsigned = rng.random() < 0.05
        for p in parties[:1] if unsigned else parties:
            agreements.sign(
                db,
                actor=admins[p],
                agreement_id=created.id,
                data=SignRequest(agency_id=agency_ids[p], content_hash=digest),
            )
        roll = rng.random()
        in_force = expires is None or expires > now
        if unsigned:
            outcome["unsigned"] += 1
        elif future:
            outcome["future"] += 1
        elif roll < 0.03 and in_force:
            agreements.suspend(db, actor=admins[parties[0]], agreement_id=created.id)
            outcome["suspended"] += 1
        elif roll < 0.06:
            agreements.terminate(db, actor=admins[parties[0]], agreement_id=created.id, reason="Bench: ended early")
            outcome["terminated"] += 1
        elif roll < 0.10 and in_force:
            leaver = parties[-1]
            agreements.opt_out(db, actor=admins[leaver], agreement_id=created.id, agency_id=agency_ids[leaver])
            outcome["opted_out"] += 1
        else:
            outcome["signed"] += 1
        progress.advance(1)
    outcome["grants"] = len(list(db.scalars(select(Grant.id))))
    outcome["caller_grants"] = len(list(db.scalars(select(Grant.id).where(Grant.recipient_agency_id == agency_ids[0]))))
    return outcome


def load_world(factory: sessionmaker[Session]) -> World | None:
    """The world of an earlier --keep run, or None."""
    with factory() as db:
        agencies = {a.short_name: a for a in db.scalars(select(Agency).where(Agency.short_name.like("B%-%")))}
        if len(agencies) != AGENCIES:
            return None
        ordered = sorted(agencies.values(), key=lambda a: a.short_name)
        users: dict[tuple[int, str], uuid.UUID] = {}
        for i in range(len(ordered)):
            for role in ROLES:
                found = accounts.find_user(db, username(i, role))
                if found is None:
                    return None
                users[(i, role)] = found.id
        return World([a.id for a in ordered], [a.kind for a in ordered], users, users[(0, "analyst")], ordered[0].id)


# --- records ---------------------------------------------------------------------------------

RECORD_COLUMNS = split(
    "id owner_agency_id category tier tier_rank purpose title body geometry min_lon min_lat max_lon max_lat "
    "event_at created_by_user_id search_text created_at updated_at revision",
    " ",
)


def generate_records(
    world: World, n: int, rng: random.Random, now: datetime
) -> Iterator[tuple[dict[str, Any], list[uuid.UUID]]]:
    """n records (values by column name) with the users named on RED ones."""
    maker = TextMaker(rng)
    owners = Weighted(range(len(world.agency_ids)), [rng.lognormvariate(0, 0.8) for _ in world.agency_ids])
    everyone = list(world.users.values())
    span = 3 * 365 * 24 * 3600
    for _ in range(n):
        owner = owners.pick(rng)
        category = CATEGORY_PICK[world.agency_kinds[owner]].pick(rng)
        tier = TIER_PICK.pick(rng)
        title, body = maker.make(category)
        event_at = now - timedelta(seconds=rng.randrange(span))
        created = event_at + timedelta(seconds=rng.randrange(3600))
        geometry = None
        bbox: tuple[float | None, ...] = (None, None, None, None)
        if rng.random() < 0.6:
            lon, lat = round(rng.uniform(-77.6, -76.4), 5), round(rng.uniform(40.5, 41.3), 5)
            geometry, bbox = {"type": "Point", "coordinates": [lon, lat]}, (lon, lat, lon, lat)
        named: list[uuid.UUID] = []
        if tier == "RED":
            named = rng.sample(everyone, rng.randint(1, 3))
            if rng.random() < 0.1 and world.caller_user_id not in named:
                named.append(world.caller_user_id)
        values = {
            "id": uuid.UUID(int=rng.getrandbits(128), version=4),
            "owner_agency_id": world.agency_ids[owner],
            "category": category,
            "tier": tier,
            "tier_rank": TIER_RANK[tier],
            "purpose": PURPOSE_PICK[category].pick(rng),
            "title": title,
            "body": body,
            "geometry": geometry,
            "min_lon": bbox[0],
            "min_lat": bbox[1],
            "max_lon": bbox[2],
            "max_lat": bbox[3],
            "event_at": event_at,
            "created_by_user_id": world.users[(owner, "analyst")],
            "search_text": search_text(title, category, body),
            "created_at": created,
            "updated_at": created,
            "revision": 1,
        }
        yield values, named


def load_records(engine: Engine, world: World, n: int) -> None:
    rng = random.Random(SEED + 1)
    now = utcnow()
    with engine.connect() as conn:
        present = {c["name"] for c in inspect(conn).get_columns("records")}
    missing = [c for c in present if c not in RECORD_COLUMNS]
    if missing:
        log(f"  note: records has columns this benchmark does not fill: {missing} (their defaults apply)")
    columns = [c for c in RECORD_COLUMNS if c in present]
    rows = generate_records(world, n, rng, now)
    progress = Progress("records", n)
    if engine.dialect.name == "postgresql":
        _copy_records(engine, rows, columns, progress)
    else:
        _insert_records(engine, rows, columns, progress)


def _insert_records(
    engine: Engine, rows: Iterator[tuple[dict[str, Any], list[uuid.UUID]]], columns: list[str], progress: Progress
) -> None:
    """executemany through SQLAlchemy Core with the models' column types, so values are
    stored exactly as the application stores them; the FTS5 triggers index each row."""
    model = Record.__table__.c
    records = table("records", *[column(c, model[c].type) for c in columns])
    recipients = table("record_recipients", column("record_id", Uuid()), column("user_id", Uuid()))
    batch: list[dict[str, Any]] = []
    named: list[dict[str, Any]] = []
    with engine.connect() as conn:
        dbapi = conn.connection.dbapi_connection
        assert dbapi is not None
        dbapi.execute("PRAGMA synchronous=OFF")  # outside SQLAlchemy's transaction: a load, not a test of durability
        dbapi.execute("PRAGMA cache_size=-1000000")

        def flush() -> None:
            conn.execute(insert(records), batch)
            if named:
                conn.execute(insert(recipients), named)
            conn.commit()
            progress.advance(len(batch))
            batch.clear()
            named.clear()

        for values, people in rows:
            batch.append({c: values[c] for c in columns})
            named.extend({"record_id": values["id"], "user_id": u} for u in people)
            if len(batch) == 20_000:
                flush()
        if batch:
            flush()
        dbapi.execute("PRAGMA synchronous=FULL")
        dbapi.execute("PRAGMA cache_size=-2000")


def _copy_records(
    engine: Engine, rows: Iterator[tuple[dict[str, Any], list[uuid.UUID]]], columns: list[str], progress: Progress
) -> None:
    """COPY into records (the GIN full-text index is maintained as rows arrive)."""
    from psycopg.types.json import Jsonb

    json_columns = {"body", "geometry"}
    named: list[tuple[uuid.UUID, uuid.UUID]] = []
    raw = engine.raw_connection()
    try:
        dbapi = raw.driver_connection
        assert dbapi is not None
        with dbapi.cursor() as cur:
            with cur.copy(f"COPY records ({', '.join(columns)}) FROM STDIN") as copy:
                pending = 0
                for values, people in rows:
                    copy.write_row(
                        [
                            (Jsonb(values[c]) if values[c] is not None else None) if c in json_columns else values[c]
                            for c in columns
                        ]
                    )
                    named.extend((values["id"], u) for u in people)
                    pending += 1
                    if pending == 20_000:
                        progress.advance(pending)
                        pending = 0
                if pending:
                    progress.advance(pending)
            with cur.copy("COPY record_recipients (record_id, user_id) FROM STDIN") as copy:
                for pair in named:
                    copy.write_row(pair)
        dbapi.commit()
    finally:
        raw.close()


def analyze(engine: Engine) -> None:
    started = time.perf_counter()
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            names = conn.scalars(
                text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename")
            ).all()
            for name in names:
                conn.exec_driver_sql(f'VACUUM ANALYZE "{name}"')
    else:
        with engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
            conn.commit()
    log(f"  ANALYZE done in {time.perf_counter() - started:.1f}s")


# --- the queries -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Query:
    kind: str  # search | list
    name: str
    filters: dict[str, Any]


QUERIES = (
    Query("search", "common word", {"q": "vehicle"}),
    Query("search", "place name", {"q": PLACES[12]}),
    Query("search", "operation codename", {"q": "whimbrel"}),
    Query("search", "plate lookup", {"q": "KXR4821"}),
    Query("search", "two words", {"q": "silver pickup"}),
    Query("search", "word + category", {"q": "flooding", "category": "incident_report"}),
    Query("list", "category", {"category": "bolo"}),
    Query("list", "category + tier", {"category": "incident_report", "tier": "AMBER"}),
    Query("list", "tier", {"tier": "GREEN"}),
    Query("list", "rare category", {"category": "public_health_case"}),
    Query("list", "category + tier, page 5", {"category": "case_summary", "tier": "AMBER", "offset": 200}),
)

PAGE_COLUMNS = ", ".join(f"r.{c.name}" for c in Record.__table__.columns)


PARTNERS_SQL = """
    SELECT theirs.agency_id FROM partnership_members mine
    JOIN partnership_members theirs ON theirs.partnership_id = mine.partnership_id
    JOIN partnerships p ON p.id = mine.partnership_id
    WHERE mine.agency_id = :me AND mine.left_at IS NULL AND theirs.left_at IS NULL
      AND p.starts_on <= :today AND (p.ends_on IS NULL OR p.ends_on >= :today)"""
GRANT_IN_FORCE = """g.recipient_agency_id = :me AND NOT g.aggregates_only
      AND g.valid_from <= :now AND (g.valid_until IS NULL OR g.valid_until > :now)
      AND (g.recipient_role IS NULL OR g.recipient_role IN :roles)"""


@dataclass(frozen=True)
class Baseline:
    count: TextClause
    page: TextualSelect
    grants: TextualSelect  # the caller's grants from the owners on the page (for basis and masks)
    partners: TextualSelect


def retention_cutoff(dialect: str) -> str:
    """``now`` minus the grant's retention period, by hand for each database."""
    if dialect == "postgresql":
        return "(:now - make_interval(days => g.retention_days))"
    return "strftime('%Y-%m-%d %H:%M:%f', :now, '-' || g.retention_days || ' days')"


def grant_branch(shape: str, dialect: str) -> str:
    """The grant rule by hand. "in": the caller's covering set, one row per tier a grant
    reaches, built once per statement; "exists": a correlated EXISTS per row (slower on
    both databases at this size, kept to compare: --baseline exists). A grant whose clause
    sets a retention period covers a row only while it was saved within it: "in" tests
    those grants with a correlated EXISTS behind a covering set of their own."""
    cutoff = retention_cutoff(dialect)
    if shape == "exists":
        return f"""(r.tier_rank IN (1, 2, 3) AND EXISTS (
            SELECT 1 FROM grants g
            WHERE {GRANT_IN_FORCE} AND g.provider_agency_id = r.owner_agency_id
              AND g.category = r.category AND g.purpose = r.purpose AND g.max_tier >= r.tier_rank
              AND (g.retention_days IS NULL OR r.updated_at >= {cutoff})))"""

    def tiers(kept: str) -> str:
        return " UNION ALL ".join(
            f"""SELECT g.provider_agency_id, g.category, g.purpose, {rank} FROM grants g
                WHERE {GRANT_IN_FORCE} AND {kept} AND g.max_tier >= {rank}"""
            for rank in (1, 2, 3)
        )

    key = "(r.owner_agency_id, r.category, r.purpose, r.tier_rank)"
    return f"""({key} IN ({tiers("g.retention_days IS NULL")})
        OR ({key} IN ({tiers("g.retention_days IS NOT NULL")}) AND EXISTS (
            SELECT 1 FROM grants g
            WHERE {GRANT_IN_FORCE} AND g.provider_agency_id = r.owner_agency_id
              AND g.category = r.category AND g.purpose = r.purpose AND g.max_tier >= r.tier_rank
              AND g.retention_days IS NOT NULL AND r.updated_at >= {cutoff})))"""


def baseline_sql(dialect: str, filters: dict[str, Any], shape: str = "in") -> Baseline:
    """What a careful engineer writes by hand for this caller (one agency, its roles as
    binds): the sharing rules over the records matching the filters, counted and paged,
    then the grants behind the page's rows, for the basis and the masks of each."""
    where = []
    if filters.get("q"):
        if dialect == "postgresql":
            where.append(
                "to_tsvector('english'::regconfig, r.search_text) @@ plainto_tsquery('english'::regconfig, :q)"
            )
        else:
            where.append("r.rowid IN (SELECT rowid FROM records_fts WHERE records_fts MATCH :fts)")
    if filters.get("category"):
        where.append("r.category = :category")
    if filters.get("tier"):
        where.append("r.tier = :tier")
    visible = f"""(
        r.owner_agency_id = :me
        OR r.tier_rank = 0
        OR (r.tier_rank = 1 AND r.owner_agency_id IN ({PARTNERS_SQL}))
        OR {grant_branch(shape, dialect)}
        OR (r.tier_rank = 4 AND r.id IN (SELECT rr.record_id FROM record_recipients rr WHERE rr.user_id = :user))
    )"""
    condition = " AND ".join([*where, visible])
    binds = [
        bindparam("me", type_=Uuid()),
        bindparam("user", type_=Uuid()),
        bindparam("now", type_=UTCDateTime()),
        bindparam("today", type_=Date()),
        bindparam("roles", type_=String(), expanding=True),
    ]
    count = text(f"SELECT count(*) FROM records r WHERE {condition}").bindparams(*binds)
    page = (
        text(
            f"SELECT {PAGE_COLUMNS} FROM records r WHERE {condition} "
            "ORDER BY r.event_at DESC, r.id LIMIT :limit OFFSET :offset"
        )
        .bindparams(*binds, bindparam("limit", type_=Integer()), bindparam("offset", type_=Integer()))
        .columns(*[column(c.name, c.type) for c in Record.__table__.columns])
    )
    grants = (
        text(
            "SELECT g.provider_agency_id, g.category, g.purpose, g.max_tier, g.grants_pii, g.grants_phi, "
            "g.grants_cji, g.clause_id, g.retention_days FROM grants g "
            f"WHERE {GRANT_IN_FORCE} AND g.provider_agency_id IN :owners"
        )
        .bindparams(
            *[b for b in binds if f":{b.key}" in GRANT_IN_FORCE], bindparam("owners", type_=Uuid(), expanding=True)
        )
        .columns(  # positional: every column, in order
            column("provider_agency_id", Uuid()),
            column("category", String()),
            column("purpose", String()),
            column("max_tier", Integer()),
            column("grants_pii", Boolean()),
            column("grants_phi", Boolean()),
            column("grants_cji", Boolean()),
            column("clause_id", Uuid()),
            column("retention_days", Integer()),
        )
    )
    partners = (
        text(PARTNERS_SQL)
        .bindparams(*[b for b in binds if f":{b.key}" in PARTNERS_SQL])
        .columns(column("agency_id", Uuid()))
    )
    return Baseline(count, page, grants, partners)


def baseline_params(dialect: str, world: World, filters: dict[str, Any]) -> dict[str, Any]:
    now = utcnow()
    params: dict[str, Any] = {
        "me": world.caller_agency_id,
        "user": world.caller_user_id,
        "now": now,
        "today": now.date(),
        "roles": ["analyst"],
        "limit": filters.get("limit", 50),
        "offset": filters.get("offset", 0),
    }
    if filters.get("q"):
        terms = terms_of(filters["q"])
        if dialect == "postgresql":
            params["q"] = " ".join(terms)
        else:
            params["fts"] = " ".join(f'"{t}"' for t in terms)
    for name in ("category", "tier"):
        if filters.get(name):
            params[name] = filters[name]
    return params


# --- timing ----------------------------------------------------------------------------------

AccessKey = tuple[str, tuple[str, ...], tuple[str, ...]]  # basis, masked fields, clauses behind it
Result = tuple[list[str], int, list[AccessKey]]


def run_real(factory: sessionmaker[Session], actor: Actor, filters: dict[str, Any]) -> tuple[float, Result]:
    started = time.perf_counter()
    with factory() as db:
        rows, total = list_records(db, actor, RecordFilter(**filters))
        ids = [str(record.id) for record, _access in rows]
    elapsed = time.perf_counter() - started
    access = [(a.basis, tuple(sorted(a.masked)), tuple(sorted({str(g.clause_id) for g in a.grants}))) for _r, a in rows]
    return elapsed, (ids, total, access)


def run_baseline(engine: Engine, sql: Baseline, world: World, filters: dict[str, Any]) -> tuple[float, Result]:
    started = time.perf_counter()
    with engine.connect() as conn:
        params = baseline_params(engine.dialect.name, world, filters)
        total = int(conn.execute(sql.count, params).scalar_one())
        rows = conn.execute(sql.page, params).all()
        others = {r.owner_agency_id for r in rows if r.owner_agency_id != world.caller_agency_id and r.tier_rank != 4}
        covering: dict[tuple[uuid.UUID, str, str], list[Any]] = {}
        if others:
            for g in conn.execute(sql.grants, {**params, "owners": sorted(others)}):
                covering.setdefault((g.provider_agency_id, g.category, g.purpose), []).append(g)
        partners: set[uuid.UUID] | None = None
        access: list[AccessKey] = []
        for r in rows:
            if r.owner_agency_id == world.caller_agency_id:
                access.append(("owner", (), ()))
                continue
            if r.tier_rank == 4:
                access.append(("named", (), ()))
                continue
            grants = [
                g
                for g in covering.get((r.owner_agency_id, r.category, r.purpose), [])
                if g.max_tier >= r.tier_rank
                and (g.retention_days is None or r.updated_at >= params["now"] - timedelta(days=g.retention_days))
            ]
            labels = {
                name
                for g in grants
                for name, on in (("PII", g.grants_pii), ("PHI", g.grants_phi), ("CJI", g.grants_cji))
                if on
            }
            masked = tuple(sorted(f for f, label in labelled_fields(r.category).items() if label not in labels))
            if grants:
                basis = "grant"
            elif r.tier_rank == 1:
                if partners is None:
                    partners = set(conn.scalars(sql.partners, params))
                basis = "partnership" if r.owner_agency_id in partners else "public"
            else:
                basis = "public"
            access.append((basis, masked, tuple(sorted({str(g.clause_id) for g in grants}))))
        ids = [str(r.id) for r in rows]
    return time.perf_counter() - started, (ids, total, access)


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def geomean(values: list[float]) -> float:
    return math.exp(statistics.fmean(math.log(v) for v in values))


def figures(real: list[float], base: list[float]) -> dict[str, float]:
    median, base_median = statistics.median(real), statistics.median(base)
    high, base_high = p95(real), p95(base)
    return {
        "median_ms": round(median * 1000, 3),
        "p95_ms": round(high * 1000, 3),
        "baseline_median_ms": round(base_median * 1000, 3),
        "baseline_p95_ms": round(base_high * 1000, 3),
        "median_ratio": round(median / base_median, 3),
        "p95_ratio": round(high / base_high, 3),
    }


def measure(engine: Engine, world: World, reps: int, warmup: int, shape: str) -> dict[str, Any]:
    factory = make_session_factory(engine)
    with factory() as db:
        caller = actor_for(
            db,
            user_id=world.caller_user_id,
            username=username(0, "analyst"),
            display_name="bench analyst",
            auth_method="token",
        )
    sql = {q.name: baseline_sql(engine.dialect.name, q.filters, shape) for q in QUERIES}
    samples: dict[str, tuple[list[float], list[float]]] = {q.name: ([], []) for q in QUERIES}
    checks: dict[str, dict[str, Any]] = {}
    for q in QUERIES:  # same page, same total, before any timing
        _, real = run_real(factory, caller, q.filters)
        _, base = run_baseline(engine, sql[q.name], world, q.filters)
        if real != base:
            first = next((i for i, pair in enumerate(zip(real[2], base[2], strict=False)) if pair[0] != pair[1]), None)
            raise AssertionError(
                f"{engine.dialect.name} {q.kind}/{q.name}: real path and baseline disagree: "
                f"total {real[1]} vs {base[1]}, same ids {real[0] == base[0]}, "
                f"first access difference at row {first}: "
                f"{real[2][first] if first is not None else '-'} vs {base[2][first] if first is not None else '-'}"
            )
        checks[q.name] = {"total": real[1], "page": len(real[0])}
        log(f"  {q.kind:6} {q.name:26} total {real[1]:>8,}  page {len(real[0])}  (ids, total, access agree)")
    progress = Progress("timed repetitions", reps + warmup)
    for rep in range(reps + warmup):
        for position, q in enumerate(QUERIES):
            real_first = (rep + position) % 2 == 0  # alternate A/B so drift hits both alike
            order: list[Callable[[], tuple[float, Result]]] = [
                partial(run_real, factory, caller, q.filters),
                partial(run_baseline, engine, sql[q.name], world, q.filters),
            ]
            if not real_first:
                order.reverse()
            timings = [fn()[0] for fn in order]
            real_s, base_s = timings if real_first else timings[::-1]
            if rep >= warmup:
                samples[q.name][0].append(real_s)
                samples[q.name][1].append(base_s)
        progress.advance(1)
    per_query = {q.name: {"kind": q.kind, **checks[q.name], **figures(*samples[q.name])} for q in QUERIES}
    result: dict[str, Any] = {}
    for kind in ("search", "list"):
        names = [q.name for q in QUERIES if q.kind == kind]
        # Per kind: geometric means over its queries (each query weighs the same, however
        # fast), and the worst query, which is what the goal is checked against.
        summary: dict[str, float] = {
            key: round(geomean([per_query[n][key] for n in names]), 3)
            for key in ("median_ms", "p95_ms", "baseline_median_ms", "baseline_p95_ms", "median_ratio", "p95_ratio")
        }
        summary["worst_query_median_ratio"] = max(per_query[n]["median_ratio"] for n in names)
        summary["worst_query_p95_ratio"] = max(per_query[n]["p95_ratio"] for n in names)
        result[kind] = summary
    result["queries"] = per_query
    return result


def met(result: dict[str, Any]) -> bool:
    return all(
        result[kind]["worst_query_median_ratio"] <= GOAL["median_ratio"]
        and result[kind]["worst_query_p95_ratio"] <= GOAL["p95_ratio"]
        for kind in ("search", "list")
    )


# --- databases -------------------------------------------------------------------------------


def postgres_admin(statement: str) -> None:
    engine = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(statement))
    finally:
        engine.dispose()


def provision(backend: str, args: argparse.Namespace) -> tuple[str, Callable[[], None]]:
    """A database URL for this run and how to remove it afterwards (nothing with --keep)."""
    if backend == "sqlite":
        folder = Path(args.sqlite_dir) if args.keep else Path(f"/tmp/accord-bench-{os.getpid()}")
        path = folder / f"sharing_search-{args.records}.db"
        folder.mkdir(parents=True, exist_ok=True)

        def drop_sqlite() -> None:
            if not args.keep:
                shutil.rmtree(folder, ignore_errors=True)

        return f"sqlite:///{path}", drop_sqlite
    schema = f"{KEPT_SCHEMA}_{args.records}" if args.keep else f"{KEPT_SCHEMA}_{os.getpid()}"
    if not args.keep:
        postgres_admin(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    postgres_admin(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    separator = "&" if "?" in PG_URL else "?"

    def drop_schema() -> None:
        if not args.keep:
            postgres_admin(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')

    return f"{PG_URL}{separator}options=-csearch_path%3D{schema}", drop_schema


def kept_records(engine: Engine) -> int:
    """Records in a kept database whose schema is at the newest migration, else -1."""
    from alembic.script import ScriptDirectory

    from accord.migrate import MIGRATIONS, alembic_config

    head = ScriptDirectory.from_config(alembic_config(str(engine.url))).get_current_head()
    assert MIGRATIONS.is_dir()
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version") or not inspect(conn).has_table("records"):
            return -1
        if conn.execute(text("SELECT version_num FROM alembic_version")).scalar() != head:
            return -1
        return int(conn.execute(text("SELECT count(*) FROM records")).scalar_one())


def reset(backend: str, url: str, engine: Engine) -> None:
    """Start a kept database over (an earlier run stopped half-way or had other sizes)."""
    engine.dispose()
    if backend == "sqlite":
        path = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
    else:
        schema = url.rsplit("%3D", 1)[1]
        postgres_admin(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        postgres_admin(f'CREATE SCHEMA "{schema}"')


def server_version(engine: Engine) -> str:
    with engine.connect() as conn:
        query = "SELECT version()" if engine.dialect.name == "postgresql" else "SELECT sqlite_version()"
        return str(conn.execute(text(query)).scalar_one()).split(" on ")[0]


def run_backend(backend: str, args: argparse.Namespace) -> dict[str, Any]:
    log(f"== {backend}")
    url, cleanup = provision(backend, args)
    engine = make_engine(url)
    try:
        world = None
        if args.keep and kept_records(engine) == args.records:
            world = load_world(make_session_factory(engine))
            if world is not None:
                log(f"  reusing the kept dataset ({args.records:,} records)")
        if world is None:
            reset(backend, url, engine)
            started = time.perf_counter()
            upgrade(url)
            log(f"  migrated in {time.perf_counter() - started:.1f}s")
            world = build_world(make_session_factory(engine), random.Random(SEED))
            started = time.perf_counter()
            load_records(engine, world, args.records)
            log(f"  {args.records:,} records loaded in {time.perf_counter() - started:.1f}s")
            analyze(engine)
        gc.collect()
        result: dict[str, Any] = {"version": server_version(engine)}
        result |= measure(engine, world, args.reps, args.warmup, args.baseline)
        if world.facts:
            result["dataset"] = world.facts
        return result
    finally:
        engine.dispose()
        cleanup()


def print_table(results: dict[str, Any]) -> None:
    header = f"{'database':10} {'kind':6} {'query':26} {'total':>9} {'median':>9} {'base':>9} {'ratio':>6} "
    header += f"{'p95':>9} {'base':>9} {'ratio':>6}"
    print(header)
    for backend, result in results.items():
        if "queries" not in result:
            continue
        for name, f in result["queries"].items():
            print(
                f"{backend:10} {f['kind']:6} {name:26} {f['total']:>9,} {f['median_ms']:>8.1f}ms "
                f"{f['baseline_median_ms']:>7.1f}ms {f['median_ratio']:>6.2f} {f['p95_ms']:>7.1f}ms "
                f"{f['baseline_p95_ms']:>7.1f}ms {f['p95_ratio']:>6.2f}"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--reps", type=int, default=30, help="timed repetitions per query and path")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--only", choices=("sqlite", "postgresql"), action="append", help="run one database only")
    parser.add_argument(
        "--keep", action="store_true", help="keep the databases and reuse them next time (same --records)"
    )
    parser.add_argument(
        "--baseline", choices=("in", "exists"), default="in", help="how the hand-written SQL tests the grants"
    )
    parser.add_argument("--sqlite-dir", default=str(ROOT / "var" / "bench"), help="where --keep stores SQLite")
    args = parser.parse_args(argv)
    # A stopped run still drops its schema and file (the cleanup runs in `finally`).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = time.perf_counter()
    results: dict[str, Any] = {}
    for backend in args.only or ["sqlite", "postgresql"]:
        try:
            results[backend] = run_backend(backend, args)
        except Exception as exc:
            if backend == "postgresql" and "connection" in str(exc).lower():
                log(f"  PostgreSQL unreachable: {exc.__class__.__name__}: {exc}")
                results[backend] = {"error": f"{exc.__class__.__name__}: unreachable"}
                continue
            raise
    print_table(results)
    measured = {k: v for k, v in results.items() if "error" not in v}
    summary: dict[str, Any] = {
        "benchmark": "sharing_search",
        "records": args.records,
        "agencies": AGENCIES,
        "agreements": AGREEMENTS,
        "reps": args.reps,
        "baseline": args.baseline,
        **results,
        "goal": GOAL,
        "met": bool(measured) and len(measured) == len(results) and all(met(r) for r in measured.values()),
        "wall_s": round(time.perf_counter() - started, 1),
    }
    print(json.dumps(summary, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
