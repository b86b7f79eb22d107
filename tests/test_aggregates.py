"""De-identified aggregates (ADR 0010): who counts what, what contributes, and that no
cell under 11 is ever returned — not directly, not as a difference of nested areas, not
by subtracting two overlapping queries. The surfaces: JSON, CSV, the page and its chart.

Each world lives in its own far-away place and in weeks of its own (years no other test
uses), so CLEAR records of other tests never land in its cells."""

from __future__ import annotations

import csv
import io
import itertools
import random
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, select, update

from accord.audit.models import AuditEvent
from accord.authz.service import actor_for
from accord.core.time import utcnow
from accord.directory.models import Agency
from accord.seed import DEMO_PASSWORD, system_actor
from accord.sharing import aggregates
from accord.sharing.aggregates import THRESHOLD, Nesting, audit, suppress
from accord.sharing.models import Record
from accord.sharing.schemas import RecordCreate
from tests.conftest import ARTIFACTS, BACKEND, api_token, assert_error, bearer, browser_login, refresh, unique
from tests.sharing_world import propose_and_sign
from tests.test_browser import browser, live_server  # noqa: F401  (module fixtures)

_YEARS = itertools.count(2100 + random.SystemRandom().randrange(0, 700, 10))

BODIES = {
    "incident_report": ({"summary": "Crash at the bridge"}, {"persons_involved": "R. Stone", "arrest_details": "none"}),
    "inspection_finding": ({"facility": "Pump house", "finding": "Valve leak"}, {"inspector_contact": "J. Moss"}),
    "bolo": ({"subject_description": "Red pickup"}, {"subject_name": "K. Vale", "warrant": "W-1"}),
}


def _square(lon: float, lat: float, half_w: float, half_h: float | None = None) -> dict[str, Any]:
    h = half_h if half_h is not None else half_w
    ring = [[lon - half_w, lat - h], [lon + half_w, lat - h], [lon + half_w, lat + h], [lon - half_w, lat + h]]
    return {"type": "MultiPolygon", "coordinates": [[[*ring, ring[0]]]]}


class World:
    """Agencies (some with jurisdictions), users, agreements; records are added later.

    Geography around (cx, cy): COUNTY is a square tiled by WEST and EAST halves; CITY lies
    inside WEST. Agencies: A (the counting agency, COUNTY's), CITYPD (CITY's), WEST and EAST
    (the halves'), FULL (a full grant to A), AGG (an aggregates-only grant to A), RET (a
    grant to A with a 30-day retention), NONE (no grant)."""

    def __init__(self, app: Any, session_factory: Any, *, county_name: str = "Test County") -> None:
        from fastapi.testclient import TestClient

        from accord.accounts.service import create_user_unchecked

        rng = random.SystemRandom()
        self.cx, self.cy = rng.uniform(-30, -10), rng.uniform(-50, -30)  # the South Atlantic: nobody else's
        self.session_factory = session_factory
        tag = uuid.uuid4().hex[:5].upper()
        areas = {
            "A": (county_name, _square(self.cx, self.cy, 0.5)),
            "WEST": ("West district", _square(self.cx - 0.25, self.cy, 0.25, 0.5)),
            "EAST": ("East district", _square(self.cx + 0.25, self.cy, 0.25, 0.5)),
            "CITYPD": ("Test City", _square(self.cx - 0.3, self.cy, 0.08)),
        }
        self.ids: dict[str, uuid.UUID] = {}
        self.users: dict[str, Any] = {}
        with session_factory() as db:
            for key in ("A", "B", "CITYPD", "WEST", "EAST", "FULL", "AGG", "RET", "NONE"):
                name, area = areas.get(key, ("Nowhere in particular", None))
                agency = Agency(
                    name=f"Aggregates test {key} {tag}",
                    short_name=f"G{key[:4]}{tag}",
                    kind="police",
                    level="county" if key == "A" else "local",
                    jurisdiction_name=name,
                    jurisdiction=area,
                )
                if area:
                    ring = area["coordinates"][0][0]
                    agency.min_lon, agency.min_lat = min(p[0] for p in ring), min(p[1] for p in ring)
                    agency.max_lon, agency.max_lat = max(p[0] for p in ring), max(p[1] for p in ring)
                db.add(agency)
                db.flush()
                self.ids[key] = agency.id
            people = [("a_analyst", "analyst", "A"), ("a_viewer", "viewer", "A"), ("a_admin", "agency_admin", "A")]
            people += [("a_auditor", "auditor", "A"), ("b_analyst", "analyst", "B")]
            for key in ("FULL", "AGG", "RET", "NONE", "CITYPD", "WEST", "EAST"):
                people += [(f"{key}_analyst", "analyst", key), (f"{key}_coord", "coordinator", key)]
                people += [(f"{key}_admin", "agency_admin", key)]
            for key, role, agency_key in people:
                self.users[key] = create_user_unchecked(
                    db,
                    actor=system_actor("test"),
                    username=unique(f"agg-{key.lower().replace('_', '-')}-"),
                    display_name=key,
                    email="",
                    password=DEMO_PASSWORD,
                    agency_id=self.ids[agency_key],
                    role=role,
                    check_password_policy=False,
                )
            db.commit()
        with TestClient(app) as client:
            self.headers = {k: bearer(api_token(client, u.username)) for k, u in self.users.items() if "analyst" in k}
            self.headers |= {
                k: bearer(api_token(client, u.username))
                for k, u in self.users.items()
                if k.endswith(("_coord", "_admin", "_viewer", "_auditor"))
            }
            self.agreements = {
                "FULL": self._agree(client, "FULL", categories=["incident_report", "inspection_finding"]),
                "AGG": self._agree(client, "AGG", categories=["incident_report"], aggregates_only=True),
                "RET": self._agree(client, "RET", categories=["inspection_finding"], retention_days=30),
            }

    def _agree(self, client: Any, provider: str, *, categories: list[str], **terms: Any) -> str:
        clause = {
            "kind": "sharing",
            "providers": [str(self.ids[provider])],
            "recipients": [str(self.ids["A"])],
            "categories": categories,
            "max_tier": "AMBER",
            "purposes": ["investigation"],
            "labels": ["PII"],
            **terms,
        }
        draft = {
            "kind": "data_use",
            "title": f"{provider} counts for A",
            "parties": [str(self.ids[provider]), str(self.ids["A"])],
            "effective_at": (utcnow() - timedelta(minutes=5)).isoformat(),
            "clauses": [clause],
        }
        created = client.post("/api/v1/agreements", json=draft, headers=self.headers[f"{provider}_coord"])
        assert created.status_code == 201, created.text
        headers = {
            "hpd_coordinator": self.headers[f"{provider}_coord"],
            "hpd_admin": self.headers[f"{provider}_admin"],
            "kpd_admin": self.headers["a_admin"],
        }
        propose_and_sign(client, created.json()["id"], headers, {"HPD": self.ids[provider], "KPD": self.ids["A"]})
        return str(created.json()["id"])

    # places
    def city(self) -> tuple[float, float]:
        return (self.cx - 0.3, self.cy + 0.01)

    def west(self) -> tuple[float, float]:  # in WEST, not in CITY
        return (self.cx - 0.1, self.cy + 0.3)

    def east(self) -> tuple[float, float]:
        return (self.cx + 0.3, self.cy - 0.2)

    def outside(self) -> tuple[float, float]:
        return (self.cx + 3, self.cy + 3)

    def add(
        self,
        owner: str,
        n: int,
        *,
        week: date,
        place: tuple[float, float] | None,
        tier: str = "AMBER",
        category: str = "incident_report",
        variant: int = 0,
    ) -> list[uuid.UUID]:
        """``n`` records of ``owner`` in the week of ``week`` (through the service, one
        transaction). ``variant`` changes titles, bodies and labelled fields only."""
        from accord.sharing import service

        plain, labelled = BODIES[category]
        created = []
        with self.session_factory() as db:
            analyst = self.users["a_analyst" if owner == "A" else "b_analyst" if owner == "B" else f"{owner}_analyst"]
            actor = actor_for(db, user_id=analyst.id, username=analyst.username, display_name="", auth_method="system")
            for i in range(n):
                body = dict(plain)
                if variant:  # other words, and the labelled fields filled in
                    body = {k: f"{v} ({variant}-{i})" for k, v in plain.items()} | labelled
                data = RecordCreate(
                    owner_agency_id=self.ids[owner],
                    category=category,
                    tier=tier,
                    purpose="investigation",
                    title=f"Record {i} of {owner}" + (f" variant {variant}" if variant else ""),
                    body=body,
                    geometry={"type": "Point", "coordinates": list(place)} if place else None,
                    event_at=datetime.combine(week, datetime.min.time(), UTC) + timedelta(days=i % 7, hours=i % 24),
                    red_recipients=[analyst.id] if tier == "RED" else [],
                )
                created.append(service.create_record(db, actor=actor, data=data).id)
            db.commit()
        return created

    def area_id(self, key: str) -> str:
        with self.session_factory() as db:
            geometry = db.scalar(select(Agency.jurisdiction).where(Agency.id == self.ids[key]))
        return aggregates.jurisdiction_id(geometry)

    def nesting(self) -> Nesting:
        """The geography as the test knows it (not as the code computes it)."""
        county, west, east, city = (self.area_id(k) for k in ("A", "WEST", "EAST", "CITYPD"))
        pairs = {(west, east), (city, east)}
        return Nesting(
            inside={county: frozenset({west, east, city}), west: frozenset({city})},
            disjoint=frozenset((min(a, b), max(a, b)) for a, b in pairs),
            tilings={county: (frozenset({west, east}),)},
        )


def weeks(year: int, first: int, n: int = 1) -> list[date]:
    return [date.fromisocalendar(year, first + i, 1) for i in range(n)]


def label(day: date) -> str:
    return aggregates.week_label(day)


def get(client: Any, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    response = client.get("/api/v1/records/aggregates", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


def cells(body: dict[str, Any]) -> dict[tuple[str, str, str], int | None]:
    return {(c["category"], c["week"], c["area_id"]): c["count"] for c in body["cells"]}


@pytest.fixture(scope="module")
def world(app, session_factory) -> Iterator[World]:
    built = World(app, session_factory, county_name='=HYPERLINK("http://x") County')
    yield built
    # The region map frames every jurisdiction: take ours out of the South Atlantic again.
    with session_factory() as db:
        db.execute(
            update(Agency)
            .where(Agency.id.in_(built.ids.values()))
            .values(jurisdiction=None, min_lon=None, min_lat=None, max_lon=None, max_lat=None)
        )
        db.commit()


# --- the population ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def counted(world) -> dict[str, Any]:
    """One week, incident reports: who counts in CITY, WEST, COUNTY."""
    (w,) = weeks(next(_YEARS), 10)
    world.add("A", 5, week=w, place=world.city())
    world.add("A", 4, week=w, place=world.city(), tier="RED")  # never counted, not even by its owner
    world.add("FULL", 4, week=w, place=world.city())  # full grant
    world.add("AGG", 3, week=w, place=world.city())  # aggregates-only grant
    world.add("NONE", 6, week=w, place=world.city())  # no grant: not counted
    world.add("NONE", 2, week=w, place=world.city(), tier="CLEAR")  # CLEAR: counted
    world.add("FULL", 7, week=w, place=world.city(), tier="AMBER+STRICT")  # above the clause's tier
    world.add("A", 13, week=w, place=world.east())
    world.add("A", 12, week=w, place=world.outside())
    world.add("A", 11, week=w, place=None)
    world.add("B", 20, week=w, place=world.city())  # another agency's own records: not A's
    return {"week": w}


def test_counts_own_clear_and_granted_records_never_red(client, world, counted):
    body = get(client, world.headers["a_analyst"], from_week=label(counted["week"]), to_week=label(counted["week"]))
    found = cells(body)
    week = label(counted["week"])
    city, west, east, county = (world.area_id(k) for k in ("CITYPD", "WEST", "EAST", "A"))
    # CITY: 5 own + 4 full grant + 3 aggregates-only + 2 CLEAR = 14; WEST holds the same records.
    assert found[("incident_report", week, city)] == 14
    assert found[("incident_report", week, east)] == 13
    assert found[("incident_report", week, county)] == 27
    assert found[("incident_report", week, "outside")] == 12
    assert found[("incident_report", week, "unknown")] == 11
    # WEST - CITY = 0 and COUNTY - EAST - WEST = 0: structural, published; but WEST = CITY is not
    # "one hidden member" of a tiling, so everything here is published.
    assert found[("incident_report", week, west)] == 14
    assert body["threshold"] == THRESHOLD and body["area"] == "jurisdiction"
    names = {a["id"]: a["name"] for a in body["areas"]}
    assert names[city] == "Test City" and names["unknown"] == "Unknown place"
    within = {a["id"]: set(a["within"]) for a in body["areas"]}
    assert within[city] == {west, county} and within[west] == {county}
    assert audit(found, world.nesting()) == []


def test_the_population_names_its_clauses_not_records(client, world, counted):
    body = get(client, world.headers["a_analyst"], from_week=label(counted["week"]), to_week=label(counted["week"]))
    population = body["population"]
    assert population["agency_id"] == str(world.ids["A"])
    clauses = {c["agreement_id"]: c for c in population["clauses"]}
    assert set(clauses) == set(world.agreements.values())
    assert clauses[world.agreements["AGG"]]["aggregates_only"] is True
    assert clauses[world.agreements["FULL"]]["aggregates_only"] is False
    assert clauses[world.agreements["RET"]]["retention_days"] == 30
    assert set(clauses[world.agreements["AGG"]]) == {
        "agreement_id",
        "agreement_title",
        "version",
        "clause_id",
        "clause_position",
        "providers",
        "categories",
        "purposes",
        "max_tier",
        "aggregates_only",
        "retention_days",
    }
    only_bolo = get(client, world.headers["a_analyst"], category="bolo", from_week=label(counted["week"]))
    assert only_bolo["population"]["clauses"] == []  # no clause covers BOLOs


def test_aggregates_only_grants_count_but_never_expose_records(client, world, counted):
    h = world.headers["a_analyst"]
    listed = client.get("/api/v1/records", params={"owner_agency_id": str(world.ids["AGG"])}, headers=h).json()
    assert listed["total"] == 0
    (one,) = world.add("AGG", 1, week=counted["week"] + timedelta(weeks=30), place=world.city())
    assert client.get(f"/api/v1/records/{one}", headers=h).status_code == 404
    full = client.get("/api/v1/records", params={"owner_agency_id": str(world.ids["FULL"])}, headers=h).json()
    assert full["total"] >= 4  # a full grant reads as before


def test_an_agency_without_grants_counts_its_own_and_clear_records(client, world, counted):
    week = label(counted["week"])
    found = cells(get(client, world.headers["b_analyst"], from_week=week, to_week=week))
    city = world.area_id("CITYPD")
    # B's 20 own records and the 2 CLEAR ones of NONE; nothing of A, FULL, AGG.
    assert found[("incident_report", week, city)] == 22
    body = get(client, world.headers["b_analyst"], from_week=week, to_week=week)
    assert body["population"]["clauses"] == []


def test_retention_stops_a_record_counting_when_its_period_ends(client, world, db):
    (w,) = weeks(next(_YEARS), 20)
    ids = world.add("RET", 11, week=w, place=None, category="inspection_finding")
    query = {"from_week": label(w), "to_week": label(w), "category": "inspection_finding"}
    east = "unknown"
    assert cells(get(client, world.headers["a_analyst"], **query))[("inspection_finding", label(w), east)] == 11
    refresh(db)
    old = utcnow() - timedelta(days=31)
    db.execute(update(Record).where(Record.id == ids[0]).values(created_at=old, updated_at=old))
    db.commit()
    after = cells(get(client, world.headers["a_analyst"], **query))
    assert after.get(("inspection_finding", label(w), east)) is None  # 10 left: suppressed (or not listed)
    # The same records of a provider whose grant keeps them for good still count.
    refresh(db)
    db.execute(update(Record).where(Record.id == ids[0]).values(created_at=utcnow(), updated_at=utcnow()))
    db.commit()


def test_the_query_is_audited_with_its_filters_and_no_values(client, world, counted, db):
    week = label(counted["week"])
    get(client, world.headers["a_analyst"], from_week=week, to_week=week, category="incident_report")
    refresh(db)
    found = db.scalars(
        select(AuditEvent)
        .where(AuditEvent.action == "sharing.aggregate.read", AuditEvent.actor_user_id == world.users["a_analyst"].id)
        .order_by(AuditEvent.occurred_at.desc())
    ).first()
    assert found is not None and found.agency_id == world.ids["A"]
    assert found.details["surface"] == "api" and found.details["from_week"] == week
    assert set(found.details) == {
        "surface",
        "area",
        "categories",
        "from_week",
        "to_week",
        "area_id",
        "cells",
        "published",
        "suppressed",
    }


# --- what contributes ---------------------------------------------------------------------


def test_titles_bodies_and_labelled_fields_never_contribute(client, world):
    """Two worlds alike but for titles, bodies and labelled fields count alike."""
    y1, y2 = next(_YEARS), next(_YEARS)
    for year, variant in ((y1, 0), (y2, 7)):
        w1, w2 = weeks(year, 5, 2)
        world.add("A", 12, week=w1, place=world.city(), variant=variant)
        world.add("FULL", 9, week=w1, place=world.east(), variant=variant)
        world.add("AGG", 14, week=w2, place=world.west(), variant=variant)
        world.add("A", 11, week=w2, place=None, category="bolo", variant=variant)
    h = world.headers["a_analyst"]

    def shape(year: int) -> list[tuple[Any, ...]]:
        body = get(client, h, from_week=f"{year}-W05", to_week=f"{year}-W06")
        return [(c["category"], c["week"][5:], c["area_id"], c["count"], c["suppressed"]) for c in body["cells"]]

    assert shape(y1) == shape(y2) and shape(y1)


def test_only_category_event_time_and_place_are_read(client, world, counted, app, session_factory):
    mapped = set(aggregates.CountableRecord.__mapper__.columns.keys())
    assert mapped.isdisjoint({"title", "body", "search_text", "body_sealed", "data_key_id"})
    statements: list[str] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    engine = session_factory.kw["bind"]
    event.listen(engine, "before_cursor_execute", capture)
    try:
        get(client, world.headers["a_analyst"], from_week=label(counted["week"]))
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    counting = [s for s in statements if "FROM records" in s]
    assert counting
    for sql in counting:
        selected = sql.split("FROM records")[0]
        for column in ("title", "body", "search_text", "body_sealed"):
            assert f"records.{column}" not in sql, sql
        assert "records.category" in selected and "records.event_at" in selected


# --- suppression --------------------------------------------------------------------------


def test_small_cells_and_revealing_differences_are_suppressed(client, world):
    (w,) = weeks(next(_YEARS), 30)
    week = label(w)
    city, west, east, county = (world.area_id(k) for k in ("CITYPD", "WEST", "EAST", "A"))
    world.add("A", 14, week=w, place=world.city())
    world.add("A", 4, week=w, place=world.west())  # WEST = 18, WEST - CITY = 4
    world.add("A", 15, week=w, place=world.east())  # COUNTY = 33
    world.add("A", 3, week=w, place=world.outside())
    found = cells(get(client, world.headers["a_analyst"], from_week=week, to_week=week))
    shown = {k[2]: v for k, v in found.items() if v is not None}
    assert ("incident_report", week, "outside") not in found or found[("incident_report", week, "outside")] is None
    # WEST - CITY = 4 reveals a small count: one of them is withheld (the smaller: CITY).
    assert not (city in shown and west in shown)
    assert all(v >= THRESHOLD for v in shown.values())
    assert audit(found, world.nesting()) == []
    # COUNTY, EAST and the one of WEST/CITY left stay published.
    assert shown.get(county) == 33 and shown.get(east) == 15


def test_overlapping_queries_cannot_be_subtracted(client, world):
    year = next(_YEARS)
    w1, w2, w3 = weeks(year, 1, 3)
    world.add("A", 12, week=w1, place=world.city())
    world.add("A", 12, week=w2, place=world.city())
    world.add("A", 5, week=w3, place=world.city())
    world.add("A", 8, week=w3, place=world.west())
    world.add("A", 16, week=w3, place=world.east())
    h = world.headers["a_analyst"]
    wide = get(client, h, from_week=label(w1), to_week=label(w3))
    narrow = get(client, h, from_week=label(w1), to_week=label(w2))
    one_area = get(client, h, from_week=label(w1), to_week=label(w3), area_id=world.area_id("A"))
    both = cells(wide) | cells(narrow) | cells(one_area)
    for body in (narrow, one_area):
        for key, value in cells(body).items():
            assert key not in cells(wide) or cells(wide)[key] == value  # a cell reads the same in every query
    # No totals: every cell is one category, one week, one area.
    assert {c["week"] for c in wide["cells"]} <= {label(w1), label(w2), label(w3)}
    # Week 3: CITY 5 and WEST 13 (= CITY + 8) and COUNTY 29: CITY is under 11; WEST - nothing
    # else published reveals nothing; COUNTY - WEST = 16 = EAST is fine.
    assert both.get(("incident_report", label(w3), world.area_id("CITYPD"))) is None
    assert audit(both, world.nesting()) == []
    assert all(v is None or v >= THRESHOLD for v in both.values())


def test_a_tiling_never_leaves_exactly_one_member_hidden(client, world):
    (w,) = weeks(next(_YEARS), 40)
    world.add("A", 20, week=w, place=world.west())
    world.add("A", 6, week=w, place=world.east())  # EAST = 6 = COUNTY - WEST
    week = label(w)
    found = cells(get(client, world.headers["a_analyst"], from_week=week, to_week=week))
    county, west = world.area_id("A"), world.area_id("WEST")
    assert not (found.get(("incident_report", week, county)) and found.get(("incident_report", week, west)))
    assert audit(found, world.nesting()) == []


def test_the_code_finds_the_same_nesting_as_the_test(world, db):
    mine = {world.area_id(k) for k in ("A", "WEST", "EAST", "CITYPD")}
    areas = tuple(a for a in aggregates.jurisdictions(db, system_actor("test")) if a.id in mine)
    computed = aggregates.nesting_of(areas)
    expected = world.nesting()
    assert {k: set(v) for k, v in computed.inside.items()} == {k: set(v) for k, v in expected.inside.items()}
    assert computed.disjoint == expected.disjoint
    assert {k: set(v) for k, v in computed.tilings.items()} == {k: set(v) for k, v in expected.tilings.items()}


# Hypothesis over random tables and random nestings: suppress() always passes audit().

AREAS = ["R", "C1", "C2", "C3", "T1", "T2", "T3", "F"]
# R (a region) is tiled by counties C1..C3; towns T1, T2 in C1 and T3 in C2; F straddles C2 and C3.
NEST = Nesting(
    inside={
        "R": frozenset({"C1", "C2", "C3", "T1", "T2", "T3", "F"}),
        "C1": frozenset({"T1", "T2"}),
        "C2": frozenset({"T3"}),
    },
    disjoint=frozenset(
        (min(a, b), max(a, b))
        for a, b in [
            ("C1", "C2"),
            ("C1", "C3"),
            ("C2", "C3"),
            ("T1", "T2"),
            ("T1", "T3"),
            ("T2", "T3"),
            ("T1", "C2"),
            ("T1", "C3"),
            ("T2", "C2"),
            ("T2", "C3"),
            ("T3", "C1"),
            ("T3", "C3"),
            ("F", "C1"),
            ("F", "T1"),
            ("F", "T2"),
            ("F", "T3"),
        ]
    ),
    tilings={"R": (frozenset({"C1", "C2", "C3"}),)},
)


@st.composite
def regional_counts(draw: Any) -> dict[tuple[str, str, str], int]:
    """Consistent counts: records drawn into the smallest pieces, summed up the nesting."""
    table: dict[tuple[str, str, str], int] = {}
    for category, week in itertools.product(("a", "b"), ("2030-W01", "2030-W02")):
        pieces = {
            "T1": draw(st.integers(0, 25)),
            "T2": draw(st.integers(0, 25)),
            "C1 rest": draw(st.integers(0, 25)),
            "T3 not F": draw(st.integers(0, 25)),
            "C2 rest": draw(st.integers(0, 25)),
            "F in C2": draw(st.integers(0, 12)),
            "F in C3": draw(st.integers(0, 12)),
            "C3 rest": draw(st.integers(0, 25)),
        }
        c1 = pieces["T1"] + pieces["T2"] + pieces["C1 rest"]
        c2 = pieces["T3 not F"] + pieces["C2 rest"] + pieces["F in C2"]
        c3 = pieces["F in C3"] + pieces["C3 rest"]
        values = {
            "T1": pieces["T1"],
            "T2": pieces["T2"],
            "T3": pieces["T3 not F"],
            "F": pieces["F in C2"] + pieces["F in C3"],
            "C1": c1,
            "C2": c2,
            "C3": c3,
            "R": c1 + c2 + c3,
        }
        for area, n in values.items():
            if n:
                table[(category, week, area)] = n
    return table


@given(regional_counts())
@settings(max_examples=400, deadline=None)
def test_suppression_always_passes_its_audit(counts):
    published = suppress(counts, NEST)
    assert audit(published, NEST) == []
    for cell, value in published.items():
        assert value is None or (value == counts[cell] and value >= THRESHOLD)
    assert set(published) == set(counts)


def test_the_audit_finds_each_kind_of_disclosure():
    week = "2030-W01"
    assert audit({("a", week, "T1"): 7}, NEST)  # a small cell
    assert audit({("a", week, "C1"): 30, ("a", week, "T1"): 24}, NEST)  # C1 - T1 = 6
    assert audit({("a", week, "C1"): 40, ("a", week, "T1"): 12, ("a", week, "T2"): 20}, NEST)  # C1 - T1 - T2 = 8
    assert audit({("a", week, "R"): 60, ("a", week, "C1"): 20, ("a", week, "C2"): 20}, NEST)  # C3 = R - C1 - C2
    assert not audit({("a", week, "C1"): 40, ("a", week, "T1"): 12, ("a", week, "T2"): None}, NEST)
    assert audit({("a", week, "R"): 60, ("a", week, "F"): 55}, NEST)  # R - F = 5
    assert not audit({("a", week, "C2"): 40, ("a", week, "F"): 35}, NEST)  # F is not inside C2


def test_a_long_search_withholds_the_parent():
    inner = {f"t{i}": 11 + i for i in range(40)}
    nesting = Nesting(
        inside={"P": frozenset(inner)},
        disjoint=frozenset((min(a, b), max(a, b)) for a, b in itertools.combinations(inner, 2)),
    )
    counts = {("a", "2030-W01", area): n for area, n in inner.items()} | {("a", "2030-W01", "P"): 5_000}
    published = suppress(counts, nesting, budget=100)
    assert published[("a", "2030-W01", "P")] is None
    assert audit(published, nesting) == []


# Random small worlds through the whole stack: no returned cell is under 11, and no
# difference of nested published cells, across several overlapping queries, is either.

PLACES = ("city", "west", "east", "outside", None)


@st.composite
def small_worlds(draw: Any) -> list[tuple[str, int, int, str | None, str]]:
    groups = draw(
        st.lists(
            st.tuples(
                st.sampled_from(["A", "FULL", "AGG", "NONE"]),
                st.integers(1, 16),
                st.integers(0, 2),  # week offset
                st.sampled_from(PLACES),
                st.sampled_from(["AMBER", "CLEAR", "RED"]),
            ),
            min_size=1,
            max_size=7,
        )
    )
    return groups


@given(small_worlds())
@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
def test_random_worlds_never_return_a_small_cell(client, world, groups):
    year = next(_YEARS)
    first = date.fromisocalendar(year, 10, 1)
    for owner, n, offset, place, tier in groups:
        where = getattr(world, place)() if place else None
        world.add(owner, n, week=first + timedelta(weeks=offset), place=where, tier=tier)
    h = world.headers["a_analyst"]
    queries = [
        {"from_week": f"{year}-W10", "to_week": f"{year}-W12"},
        {"from_week": f"{year}-W10", "to_week": f"{year}-W11"},
        {"from_week": f"{year}-W11", "to_week": f"{year}-W12", "category": "incident_report"},
        {"from_week": f"{year}-W10", "to_week": f"{year}-W12", "area_id": world.area_id("WEST")},
        {"from_week": f"{year}-W10", "to_week": f"{year}-W12", "area_id": world.area_id("A")},
    ]
    union: dict[tuple[str, str, str], int | None] = {}
    for query in queries:
        for key, value in cells(get(client, h, **query)).items():
            assert value is None or value >= THRESHOLD
            assert union.get(key, value) == value  # the same cell reads the same in every query
            union[key] = value
    assert audit(union, world.nesting()) == []


# --- H3 ---------------------------------------------------------------------------------


def test_h3_cells_of_one_resolution(client, world):
    import h3

    (w,) = weeks(next(_YEARS), 15)
    world.add("A", 12, week=w, place=world.city())
    world.add("A", 3, week=w, place=world.east())
    body = get(client, world.headers["a_analyst"], area="h3", from_week=label(w), to_week=label(w))
    assert body["h3_resolution"] == aggregates.H3_RESOLUTION
    lon, lat = world.city()
    cell = h3.latlng_to_cell(lat, lon, aggregates.H3_RESOLUTION)
    found = cells(body)
    assert found[("incident_report", label(w), cell)] == 12
    east = h3.latlng_to_cell(world.east()[1], world.east()[0], aggregates.H3_RESOLUTION)
    assert found.get(("incident_report", label(w), east)) is None
    assert all(a["within"] == [] for a in body["areas"])
    filtered = get(client, world.headers["a_analyst"], area="h3", from_week=label(w), area_id=cell)
    assert {c["area_id"] for c in filtered["cells"]} == {cell}


# --- surfaces ---------------------------------------------------------------------------


def test_csv_has_the_same_cells_and_defuses_formulas(client, world, counted):
    week = label(counted["week"])
    response = client.get(
        "/api/v1/records/aggregates.csv",
        params={"from_week": week, "to_week": week},
        headers=world.headers["a_analyst"],
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert list(rows[0]) == ["category", "week", "area_id", "area_name", "count", "suppressed"]
    county = next(r for r in rows if r["area_id"] == world.area_id("A"))
    assert county["area_name"].startswith("'=") and county["count"] == "27"
    suppressed = [r for r in rows if r["suppressed"] == "True"]
    assert all(r["count"] == "" for r in suppressed)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"area": "county"}, "area"),
        ({"category": "parking_ticket"}, "category.0"),
        ({"from_week": "2026-47"}, "from_week"),
        ({"from_week": "2026-W54"}, "from_week"),
        ({"to_week": "2026-W00"}, "to_week"),
        ({"to_week": "0999-W01"}, "to_week"),
        ({"from_week": "2026-W10", "to_week": "2026-W01"}, "from_week"),
        ({"from_week": "2024-W01", "to_week": "2026-W01"}, "to_week"),
        ({"area_id": "../etc"}, "area_id"),
        ({"area_id": "j-000000000000"}, "area_id"),
        ({"area": "h3", "area_id": "8928308280fffff"}, "area_id"),  # resolution 9
        ({"agency_id": "not-a-uuid"}, "agency_id"),
        ({"total": "yes"}, "total"),
    ],
)
def test_bad_input_names_the_field(client, world, params, field):
    response = client.get("/api/v1/records/aggregates", params=params, headers=world.headers["a_analyst"])
    error = assert_error(response, 422, "invalid")
    assert field in {f["field"] for f in error["fields"]}, error
    csv_response = client.get("/api/v1/records/aggregates.csv", params=params, headers=world.headers["a_analyst"])
    assert csv_response.status_code == 422


def test_who_may_count(client, world, as_user):
    h = world.headers
    assert client.get("/api/v1/records/aggregates", headers=h["a_viewer"]).status_code == 403
    assert client.get("/api/v1/records/aggregates", headers=h["a_auditor"]).status_code == 200
    assert client.get("/api/v1/records/aggregates", headers=h["a_admin"]).status_code == 200
    assert client.get("/api/v1/records/aggregates").status_code == 401
    other = client.get("/api/v1/records/aggregates", params={"agency_id": str(world.ids["B"])}, headers=h["a_analyst"])
    assert other.status_code == 403  # counts are only ever one's own agency's
    operator, _ = as_user("platform_admin", None)
    empty = client.get("/api/v1/records/aggregates", headers=operator).json()
    assert empty["cells"] == [] and empty["population"]["agency_id"] is None


def test_the_page_shows_chart_table_population_and_csv_link(client, world, counted):
    browser_login(client, world.users["a_analyst"].username)
    week = label(counted["week"])
    page = client.get("/records/aggregates", params={"from_week": week, "to_week": week})
    assert page.status_code == 200, page.text
    html = page.text
    assert 'id="aggregate-chart"' in html and "/static/vendor/chart.umd.min.js" in html
    assert "/api/v1/records/aggregates.csv?" in html and "Trends" in html
    assert ">27<" in html  # COUNTY, the area with most records, is charted by default
    city = world.area_id("CITYPD")
    chosen = client.get("/records/aggregates", params={"from_week": week, "to_week": week, "area_id": city})
    assert ">14<" in chosen.text and "in Test City" in chosen.text
    assert "FULL counts for A" in html and "aggregates only" in html
    hexes = client.get("/records/aggregates", params={"area": "h3", "from_week": week, "to_week": week})
    assert hexes.status_code == 200 and "H3 resolution 6" in hexes.text and 'id="aggregate-chart"' in hexes.text
    bad = client.get("/records/aggregates", params={"from_week": "2026-47"})
    assert bad.status_code == 422 and "YYYY-Www" in bad.text


def test_the_page_is_for_permission_holders_only(client, world):
    browser_login(client, world.users["a_viewer"].username)
    assert client.get("/records/aggregates").status_code == 403
    assert "/records/aggregates" not in client.get("/records").text


# --- in a browser ---------------------------------------------------------------------------


@pytest.mark.browser
def test_the_chart_draws_in_chromium(live_server, browser, world):  # noqa: F811
    """Six weeks of three categories; the page draws stacked bars with Chart.js from our own
    origin (the CSP allows no other), with suppressed weeks marked. The screenshot is for a
    person to look at."""
    from playwright.sync_api import expect

    year = next(_YEARS)
    days = weeks(year, 10, 6)
    for day, n in zip(days, (14, 18, 22, 12, 25, 16), strict=True):
        world.add("A", n, week=day, place=world.city())
    for day, n in zip(days, (12, 0, 15, 13, 5, 19), strict=True):
        if n:
            world.add("FULL", n, week=day, place=world.east(), category="inspection_finding")
    for day, n in zip(days, (11, 13, 4, 17, 12, 20), strict=True):
        world.add("A", n, week=day, place=world.west(), category="bolo")
    context = browser.new_context(viewport={"width": 1300, "height": 1000})
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.goto(live_server + "/login")
    page.get_by_label("Username").fill(world.users["a_analyst"].username)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(live_server + "/")
    page.get_by_role("link", name="Trends").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Trends")
    page.get_by_label("From week").fill(f"{year}-W10")
    page.get_by_label("To week (included)").fill(f"{year}-W15")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("canvas#aggregate-chart[data-drawn=true]")).to_be_visible()
    expect(page.locator(".agg-table")).to_contain_text("suppressed")
    expect(page.get_by_role("link", name="Download CSV")).to_be_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"aggregates-{BACKEND}.png"), full_page=True)
    assert not problems, problems
    context.close()
