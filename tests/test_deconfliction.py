"""Deconfliction of planned operations (issue 5, part 4): overlap and no overlap in space
and time, both sides told only whom to call, one's own operations only, and a check that
reveals nothing that does not conflict — on both databases."""

from __future__ import annotations

import json
import random
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from accord.core.time import utcnow
from accord.directory.models import Agency
from accord.geo.overlap import destination
from tests.conftest import assert_error

SECRET_WORDS = ("Operation Nightjar", "CASE-2026-4471", "search_warrant", "surveillance")


def spot() -> tuple[float, float]:
    """A place of this test's own, far from the demo region and from other tests."""
    return round(random.uniform(-104.0, -86.0), 5), round(random.uniform(31.0, 39.0), 5)


def moved(at: tuple[float, float], bearing: float, metres: float) -> tuple[float, float]:
    return destination(at[0], at[1], bearing, metres)


def point(at: tuple[float, float]) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [at[0], at[1]]}


def square(at: tuple[float, float], half_m: float) -> dict[str, Any]:
    west, east = moved(at, 270, half_m)[0], moved(at, 90, half_m)[0]
    south, north = moved(at, 180, half_m)[1], moved(at, 0, half_m)[1]
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {"type": "Polygon", "coordinates": [ring]}


def iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


BASE = (utcnow() + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)


def window(start_h: float, hours: float) -> dict[str, str]:
    return {"starts_at": iso(BASE + timedelta(hours=start_h)), "ends_at": iso(BASE + timedelta(hours=start_h + hours))}


@pytest.fixture(scope="module")
def world(app: Any, session_factory: Any) -> dict[str, Any]:
    """Three agencies of their own (no partnership or agreement between them) and their
    people, made once for the module: every test works at a place of its own (``spot``)."""
    from fastapi.testclient import TestClient

    from accord.accounts.service import create_user_unchecked
    from accord.seed import DEMO_PASSWORD, system_actor
    from tests.conftest import api_token, bearer, unique

    tag = uuid.uuid4().hex[:5].upper()
    ids: dict[str, uuid.UUID] = {}
    users: dict[str, dict[str, Any]] = {}
    with session_factory() as db:
        for index, name in enumerate(("A", "B", "C")):
            agency = Agency(
                name=f"Deconfliction test {name} {tag}",
                short_name=f"D{name}{tag}",
                kind="police",
                level="local",
                jurisdiction_name="Test",
                duty_phone=f"+1-555-010-000{index}",
            )
            db.add(agency)
            db.flush()
            ids[name] = agency.id
        for who, role, agency_name in (
            ("a", "commander", "A"),
            ("a_viewer", "viewer", "A"),
            ("b", "analyst", "B"),
            ("c", "commander", "C"),
            ("admin", "platform_admin", None),
        ):
            username = unique(f"dc-{who}-")
            user = create_user_unchecked(
                db,
                actor=system_actor("test"),
                username=username,
                display_name=f"Test {role}",
                email=f"{username}@test.example",
                password=DEMO_PASSWORD,
                agency_id=ids[agency_name] if agency_name else None,
                role=role,
                check_password_policy=False,
            )
            users[who] = {"username": username, "id": user.id}
        db.commit()
    with TestClient(app, base_url="http://testserver") as client:
        headers = {who: bearer(api_token(client, user["username"])) for who, user in users.items()}
    return {"ids": ids, "short": {k: f"D{k}{tag}" for k in ids}, "users": users, "h": headers}


def told(db: Any, *object_ids: str) -> dict[str, int]:
    """How many notices each agency holds about these operations or incidents (any state)."""
    db.rollback()
    rows = db.execute(
        text(
            "SELECT agency_id, count(*) FROM deconfliction_notices WHERE "
            + " OR ".join(
                f"operation_id = :i{n} OR counterpart_operation_id = :i{n} OR incident_id = :i{n}"
                for n in range(len(object_ids))
            )
            + " GROUP BY agency_id"
        ),
        {f"i{n}": _db_id(db, value) for n, value in enumerate(object_ids)},
    ).all()
    return {
        str(uuid.UUID(str(agency))) if not isinstance(agency, uuid.UUID) else str(agency): int(count)
        for agency, count in rows
    }


def _db_id(db: Any, value: str) -> Any:
    return uuid.UUID(value).hex if db.get_bind().dialect.name == "sqlite" else value


def register(client: Any, headers: dict[str, str], at: tuple[float, float] | None = None, **fields: Any) -> dict:
    body: dict[str, Any] = {
        "kind": "search_warrant",
        "title": "Operation Nightjar",
        "case_reference": "CASE-2026-4471",
        "contact_name": "Det. Ana Reyes",
        "contact_phone": "+1-555-0100-222",
        **window(0, 4),
    }
    if at is not None:
        body |= {"location": point(at), "radius_m": 200}
    body |= fields
    response = client.post("/api/v1/planned-operations", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def conflicts(client: Any, headers: dict[str, str], operation: dict) -> list[dict]:
    response = client.get(f"/api/v1/planned-operations/{operation['id']}/conflicts", headers=headers)
    assert response.status_code == 200, response.text
    return list(response.json()["conflicts"])


def notices(
    client: Any, headers: dict[str, str], *, about: dict | None = None, include_resolved: bool = False
) -> list[dict]:
    """The agency's notices; ``about`` one of its own operations or incidents only."""
    params = {"limit": 200, "include_resolved": include_resolved}
    response = client.get("/api/v1/planned-operations/notices", params=params, headers=headers)
    assert response.status_code == 200, response.text
    items = list(response.json()["items"])
    if about is not None:
        items = [n for n in items if about["id"] in (n["operation_id"], (n["incident"] or {}).get("id"))]
    return items


def test_overlapping_operations_tell_both_contacts_whom_to_call_and_nothing_else(client, world, db):
    at = spot()
    mine = register(client, world["h"]["a"], at, **window(0, 4))
    theirs = register(
        client,
        world["h"]["b"],
        moved(at, 45, 150),
        kind="surveillance",
        title="Surveillance of the Dock St block",
        case_reference="B-77",
        contact_name="Sgt. Lee Park",
        contact_phone="+1 555 0199 333",
        **window(3, 4),
    )
    assert theirs["open_conflicts"] == 1
    for headers, operation, other, contact in (
        (world["h"]["a"], mine, "B", {"name": "Sgt. Lee Park", "phone": "+1 555 0199 333"}),
        (world["h"]["b"], theirs, "A", {"name": "Det. Ana Reyes", "phone": "+1-555-0100-222"}),
    ):
        found = conflicts(client, headers, operation)
        assert len(found) == 1
        conflict = found[0]
        assert conflict["other_agency"]["id"] == str(world["ids"][other])
        assert conflict["other_contact"] == contact
        assert conflict["overlap"] == {"starts_at": window(3, 1)["starts_at"], "ends_at": window(3, 1)["ends_at"]}
        assert conflict["concerns"] == "operation" and conflict["operation_id"] == operation["id"]
        assert conflict["incident"] is None and conflict["areas_overlap"] is True
        assert set(conflict) == {
            "notice_id", "concerns", "other_side", "operation_id", "incident", "other_agency", "other_contact",
            "overlap", "areas_overlap", "revision", "notified_at", "acknowledged_at", "resolved_at",
        }  # fmt: skip
    # The other side's case never crosses: not its kind, title, case reference or place.
    told_b = json.dumps(conflicts(client, world["h"]["b"], theirs)) + json.dumps(notices(client, world["h"]["b"]))
    for secret in (*SECRET_WORDS[:3], str(at[0]), str(at[1]), mine["id"]):
        assert secret not in told_b
    told_a = json.dumps(conflicts(client, world["h"]["a"], mine)) + json.dumps(notices(client, world["h"]["a"]))
    for secret in ("Dock St", "B-77", "surveillance", theirs["id"]):
        assert secret not in told_a
    # Each side holds one notice; the third agency is told nothing.
    assert told(db, mine["id"], theirs["id"]) == {str(world["ids"]["A"]): 1, str(world["ids"]["B"]): 1}


@pytest.mark.parametrize(
    ("offset", "their_window"),
    [
        ((0, 0), (4, 2)),  # same place, the next window (half-open: touching is no overlap)
        ((0, 0), (-3, 3)),  # same place, the window before
        ((45, 1200), (0, 4)),  # same time, 1.2 km away: bboxes meet, circles of 200 m + 500 m do not
        ((90, 5000), (0, 4)),  # same time, 5 km away
    ],
)
def test_operations_apart_in_space_or_time_do_not_conflict(client, world, db, offset, their_window):
    at = spot()
    mine = register(client, world["h"]["a"], at, radius_m=500, **window(0, 4))
    theirs = register(client, world["h"]["b"], moved(at, *offset), radius_m=500, **window(*their_window))
    assert conflicts(client, world["h"]["a"], mine) == []
    assert conflicts(client, world["h"]["b"], theirs) == []
    assert told(db, mine["id"], theirs["id"]) == {}


def test_the_exact_geometry_decides_after_the_prefilter(client, world):
    """Diagonal neighbours: the bboxes of the two circles intersect and they share H3
    cells, but the circles (500 m each, 1,200 m apart) do not touch; an area does."""
    from accord.geo.overlap import footprint_of_point, might_overlap, overlaps

    for _ in range(100):  # a place where the two circles share an H3 cell (most places)
        at = spot()
        a, b = footprint_of_point(*at, 500), footprint_of_point(*moved(at, 45, 1200), 500)
        if might_overlap(a, b):
            break
    assert might_overlap(a, b) and not overlaps(a, b)
    mine = register(client, world["h"]["a"], at, radius_m=500)
    register(client, world["h"]["b"], moved(at, 45, 1200), radius_m=500)
    assert conflicts(client, world["h"]["a"], mine) == []
    body = {"location": None, "radius_m": None}
    area_op = register(client, world["h"]["c"], None, area=square(moved(at, 45, 300), 100), **body)
    assert len(conflicts(client, world["h"]["c"], area_op)) == 1
    assert conflicts(client, world["h"]["a"], mine)[0]["other_agency"]["id"] == str(world["ids"]["C"])


def test_an_agency_does_not_conflict_with_itself(client, world):
    at = spot()
    first = register(client, world["h"]["a"], at)
    register(client, world["h"]["a"], at, kind="tactical")
    assert conflicts(client, world["h"]["a"], first) == []


def test_only_the_owner_sees_its_operations_not_even_the_platform_admin(client, world):
    mine = register(client, world["h"]["a"], spot())
    url = f"/api/v1/planned-operations/{mine['id']}"
    assert client.get(url, headers=world["h"]["a"]).json()["title"] == "Operation Nightjar"
    missing = client.get(f"/api/v1/planned-operations/{uuid.uuid4()}", headers=world["h"]["b"])
    for who in ("b", "admin"):
        hidden = client.get(url, headers=world["h"][who])
        assert_error(hidden, 404, "not_found")
        assert {**hidden.json()["error"], "request_id": ""} == {**missing.json()["error"], "request_id": ""}
        assert_error(client.get(f"{url}/conflicts", headers=world["h"][who]), 404, "not_found")
        listed = client.get("/api/v1/planned-operations", headers=world["h"][who]).json()
        assert mine["id"] not in [o["id"] for o in listed["items"]]
        assert_error(client.patch(url, json={"status": "cancelled"}, headers=world["h"][who]), 404, "not_found")
    assert client.get("/api/v1/planned-operations", headers=world["h"]["admin"]).json()["total"] == 0
    # Viewers hold no deconfliction permission at all.
    assert_error(client.get("/api/v1/planned-operations", headers=world["h"]["a_viewer"]), 403, "forbidden")
    assert_error(client.get("/api/v1/planned-operations/notices", headers=world["h"]["a_viewer"]), 403, "forbidden")


def test_a_changed_window_tells_both_sides_again_and_moving_away_resolves(client, world):
    at = spot()
    mine = register(client, world["h"]["a"], at, **window(0, 4))
    theirs = register(client, world["h"]["b"], at, **window(2, 4))
    notice_b = notices(client, world["h"]["b"], about=theirs)[0]
    acked = client.post(
        f"/api/v1/planned-operations/notices/{notice_b['notice_id']}/acknowledge", headers=world["h"]["b"]
    )
    assert acked.status_code == 200 and acked.json()["acknowledged_at"] is not None
    url = f"/api/v1/planned-operations/{mine['id']}"
    # The same window again is no news.
    assert client.patch(url, json=window(0, 4), headers=world["h"]["a"]).status_code == 200
    assert notices(client, world["h"]["b"], about=theirs)[0]["revision"] == 1
    changed = client.patch(url, json=window(1, 4), headers=world["h"]["a"])
    assert changed.status_code == 200, changed.text
    again = notices(client, world["h"]["b"], about=theirs)[0]
    assert again["notice_id"] == notice_b["notice_id"] and again["revision"] == 2
    assert again["acknowledged_at"] is None and again["overlap"]["starts_at"] == window(2, 3)["starts_at"]
    assert notices(client, world["h"]["a"], about=mine)[0]["overlap"]["ends_at"] == window(2, 3)["ends_at"]
    # A new contact is news too: the other side must call the right number.
    relieved = client.patch(
        url, json={"contact_name": "Det. Kim Ng", "contact_phone": "+1-555-0100-333"}, headers=world["h"]["a"]
    )
    assert relieved.status_code == 200, relieved.text
    again = notices(client, world["h"]["b"], about=theirs)[0]
    assert again["other_contact"] == {"name": "Det. Kim Ng", "phone": "+1-555-0100-333"} and again["revision"] == 3
    # Moving 5 km away resolves the pair for both.
    away = client.patch(url, json={"location": point(moved(at, 0, 5000))}, headers=world["h"]["a"])
    assert away.status_code == 200 and away.json()["open_conflicts"] == 0
    assert notices(client, world["h"]["a"], about=mine) == notices(client, world["h"]["b"], about=theirs) == []
    resolved = notices(client, world["h"]["b"], about=theirs, include_resolved=True)
    assert len(resolved) == 1 and resolved[0]["resolved_at"] is not None
    # Coming back reopens the same notice (deduplicated per pair), then cancelling resolves it.
    client.patch(url, json={"location": point(at), "radius_m": 300}, headers=world["h"]["a"])
    back = notices(client, world["h"]["b"], about=theirs)
    assert [n["notice_id"] for n in back] == [notice_b["notice_id"]] and back[0]["revision"] == 4
    cancelled = client.patch(
        f"/api/v1/planned-operations/{theirs['id']}", json={"status": "cancelled"}, headers=world["h"]["b"]
    )
    assert cancelled.json()["status"] == "cancelled"
    assert conflicts(client, world["h"]["a"], mine) == []
    final = client.patch(
        f"/api/v1/planned-operations/{theirs['id']}", json={"status": "planned"}, headers=world["h"]["b"]
    )
    assert assert_error(final, 409, "conflict")["fields"][0]["field"] == "status"


def test_a_notice_is_acknowledged_only_by_its_recipient(client, world):
    at = spot()
    mine = register(client, world["h"]["a"], at)
    register(client, world["h"]["b"], at)
    notice_a = notices(client, world["h"]["a"], about=mine)[0]
    url = f"/api/v1/planned-operations/notices/{notice_a['notice_id']}/acknowledge"
    assert_error(client.post(url, headers=world["h"]["b"]), 404, "not_found")
    assert_error(client.post(url, headers=world["h"]["admin"]), 404, "not_found")
    assert client.post(url, headers=world["h"]["a"]).status_code == 200
    assert notices(client, world["h"]["a"], about=mine)[0]["acknowledged_at"] is not None


def _incident(client: Any, world: dict, at: tuple[float, float], **fields: Any) -> dict:
    body = {
        "lead_agency_id": str(world["ids"]["C"]),
        "name": "Gas leak at the mill",
        "type": "hazmat",
        "severity": "moderate",
        "tier": "AMBER",
        "location": point(at),
    } | fields
    response = client.post("/api/v1/incidents", json=body, headers=world["h"]["c"])
    assert response.status_code == 201, response.text
    return response.json()


def test_an_open_incident_conflicts_and_is_named_only_to_who_may_see_it(client, world):
    at = spot()
    hidden = _incident(client, world, moved(at, 0, 900))  # a point: a 1 km circle
    shown = _incident(client, world, moved(at, 180, 900), name="Road collapse", tier="CLEAR")
    far = _incident(client, world, moved(at, 90, 3000), name="Far away")
    mine = register(client, world["h"]["a"], at, radius_m=200, **window(0, 4))
    found = {c["incident"]["id"] if c["incident"] else None: c for c in conflicts(client, world["h"]["a"], mine)}
    assert set(found) == {None, shown["id"]}  # the AMBER incident is not named to A
    assert found[None]["other_agency"]["id"] == str(world["ids"]["C"])
    assert found[None]["other_contact"] == {"name": f"{world['short']['C']} 24/7 duty line", "phone": "+1-555-010-0002"}
    assert found[shown["id"]]["incident"] == {"id": shown["id"], "number": shown["number"], "name": "Road collapse"}
    assert found[shown["id"]]["overlap"]["starts_at"] == window(0, 4)["starts_at"]
    assert "Gas leak" not in json.dumps(conflicts(client, world["h"]["a"], mine))
    # The lead agency is told about its incidents: the operation's contact, never its case.
    lead = [n for i in (hidden, shown, far) for n in notices(client, world["h"]["c"], about=i)]
    assert {n["incident"]["id"] for n in lead} == {hidden["id"], shown["id"]}
    assert all(n["concerns"] == "incident" and n["operation_id"] is None for n in lead)
    assert all(n["other_contact"] == {"name": "Det. Ana Reyes", "phone": "+1-555-0100-222"} for n in lead)
    assert "Nightjar" not in json.dumps(lead)


def test_a_closed_incident_no_longer_conflicts(client, world, db):
    from accord.operations.deconfliction import service
    from accord.seed import system_actor

    at = spot()
    incident = _incident(client, world, at)
    mine = register(client, world["h"]["a"], at)
    assert len(conflicts(client, world["h"]["a"], mine)) == 1
    closed = client.patch(f"/api/v1/incidents/{incident['id']}", json={"status": "closed"}, headers=world["h"]["c"])
    assert closed.status_code == 200
    # The incidents service calls this once wired in (ADR 14); here the test does.
    db.rollback()
    service.reconcile_incident(db, actor=system_actor("test"), incident_id=uuid.UUID(incident["id"]))
    db.commit()
    assert conflicts(client, world["h"]["a"], mine) == []
    assert notices(client, world["h"]["c"], about=incident) == []
    later = register(client, world["h"]["b"], at)
    assert [c["other_agency"]["id"] for c in conflicts(client, world["h"]["b"], later)] == [str(world["ids"]["A"])]


def test_an_incident_opened_after_registration_is_found_at_once_and_by_checking_again(client, world):
    at = spot()
    mine = register(client, world["h"]["a"], at)
    incident = _incident(client, world, at)
    # Opening the incident checked it against planned operations already.
    assert [c["other_agency"]["id"] for c in conflicts(client, world["h"]["a"], mine)] == [str(world["ids"]["C"])]
    checked = client.post(
        "/api/v1/planned-operations/check", json={"operation_id": mine["id"]}, headers=world["h"]["a"]
    )
    assert checked.status_code == 200, checked.text
    assert [c["other_agency"]["id"] for c in checked.json()["conflicts"]] == [str(world["ids"]["C"])]
    assert len(notices(client, world["h"]["c"], about=incident)) == 1


def _enquire(client: Any, headers: dict[str, str], at: tuple[float, float], **fields: Any) -> Any:
    enquiry = {
        "location": point(at),
        "radius_m": 300,
        "contact_name": "Analyst on duty",
        "contact_phone": "+1-555-0100-999",
        **window(0, 4),
    } | fields
    return client.post("/api/v1/planned-operations/check", json={"enquiry": enquiry}, headers=headers)


def test_is_anything_planned_here_reveals_nothing_that_does_not_conflict(client, world, db):
    """Byte for byte: an empty area, and an area with operations near in space but not in
    time, near in time but not in space, and the enquirer's own, answer the same."""
    empty = spot()
    quiet = _enquire(client, world["h"]["a"], empty)
    busy = spot()
    nearby = [
        register(client, world["h"]["b"], busy, **window(5, 4)),  # same place, later
        register(client, world["h"]["b"], busy, **window(-20, 19)),  # same place, ended before
        register(client, world["h"]["c"], moved(busy, 90, 1500), **window(0, 4)),  # same time, 1.5 km away
        register(client, world["h"]["c"], moved(busy, 0, 700), radius_m=300, **window(1, 2)),  # 300 + 300 < 700 m
        register(client, world["h"]["a"], busy, **window(0, 4)),  # the enquirer's own
    ]
    noisy = _enquire(client, world["h"]["a"], busy)
    for response in (quiet, noisy):
        assert response.status_code == 201, response.text
        assert response.content == b'{"conflicts":[]}'
        assert response.headers["location"].startswith("/api/v1/planned-operations/")
    assert sorted(quiet.headers.keys()) == sorted(noisy.headers.keys())
    # Checking the registered enquiry again answers the same bytes too.
    again = client.post(
        "/api/v1/planned-operations/check",
        json={"operation_id": noisy.headers["location"].rsplit("/", 1)[1]},
        headers=world["h"]["a"],
    )
    assert again.status_code == 200 and again.content == b'{"conflicts":[]}'
    # Nobody near was told anything either.
    assert told(db, *(op["id"] for op in nearby)) == {}
    # The enquiry is the enquirer's own registration, listed and cancellable.
    enquiry = client.get(noisy.headers["location"], headers=world["h"]["a"]).json()
    assert enquiry["kind"] == "enquiry" and enquiry["status"] == "planned"


def test_an_enquiry_that_conflicts_tells_the_other_side_who_asked(client, world):
    at = spot()
    theirs = register(client, world["h"]["b"], at)
    asked = _enquire(client, world["h"]["a"], moved(at, 10, 250))
    assert asked.status_code == 201
    [conflict] = asked.json()["conflicts"]
    assert conflict["other_agency"]["id"] == str(world["ids"]["B"])
    assert conflict["other_contact"] == {"name": "Det. Ana Reyes", "phone": "+1-555-0100-222"}
    [told] = conflicts(client, world["h"]["b"], theirs)
    assert told["other_agency"]["id"] == str(world["ids"]["A"])
    assert told["other_contact"] == {"name": "Analyst on duty", "phone": "+1-555-0100-999"}


def test_check_needs_a_registration_of_ones_own(client, world):
    theirs = register(client, world["h"]["b"], spot())
    url = "/api/v1/planned-operations/check"
    assert_error(client.post(url, json={"operation_id": theirs["id"]}, headers=world["h"]["a"]), 404, "not_found")
    for body in ({}, {"operation_id": theirs["id"], "enquiry": {"starts_at": "x"}}):
        response = client.post(url, json=body, headers=world["h"]["a"])
        assert response.status_code == 422, response.text
    neither = client.post(url, json={}, headers=world["h"]["a"])
    assert assert_error(neither, 422, "invalid")["fields"][0]["field"] == "operation_id"
    bad = _enquire(client, world["h"]["a"], spot(), radius_m=0)
    assert assert_error(bad, 422, "invalid")["fields"][0]["field"] == "enquiry.radius_m"


def test_the_contact_defaults_to_the_registering_users_directory_entry(client, world, db):
    from accord.directory.models import Person

    user = world["users"]["a"]
    if db.scalar(text("SELECT count(*) FROM people WHERE full_name = 'Lt. Sam Ortega'")) == 0:
        db.add(
            Person(agency_id=world["ids"]["A"], full_name="Lt. Sam Ortega", phone="+1-555-0100-777", user_id=user["id"])
        )
    db.commit()
    body = {"contact_name": None, "contact_phone": None}
    operation = register(client, world["h"]["a"], spot(), **body)
    assert (operation["contact_name"], operation["contact_phone"]) == ("Lt. Sam Ortega", "+1-555-0100-777")
    # Without a number in the directory the contact must be given.
    refused = client.post(
        "/api/v1/planned-operations",
        json={"kind": "drone_flight", "title": "Survey", "location": point(spot()), "radius_m": 100, **window(0, 1)},
        headers=world["h"]["c"],
    )
    assert assert_error(refused, 422, "invalid")["fields"][0]["field"] == "contact_phone"


def _valid_body(at: tuple[float, float]) -> dict[str, Any]:
    return {
        "kind": "warrant_service",
        "title": "Warrant service",
        "location": point(at),
        "radius_m": 150,
        "contact_name": "Det. Reyes",
        "contact_phone": "+1-555-0100-222",
        **window(0, 2),
    }


LONG_AGO = iso(utcnow() - timedelta(days=3))
AN_HOUR_AGO = iso(utcnow() - timedelta(hours=1))


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"kind": "heist"}, "kind"),
        ({"title": "x"}, "title"),
        ({"surprise": 1}, "surprise"),
        ({"location": {"type": "Point", "coordinates": [-200, 35]}}, "location.coordinates"),
        ({"location": {"type": "LineString", "coordinates": [[0, 0], [1, 1]]}}, "location.type"),
        ({"radius_m": 0}, "radius_m"),
        ({"radius_m": None}, "radius_m"),
        ({"radius_m": 100000}, "radius_m"),  # some 6,000 H3 cells: more than 2,000
        ({"location": None, "radius_m": None}, "location"),
        ({"area": {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [0, 0]]]}, "radius_m": None}, "area"),
        ({"area": {"type": "Polygon", "coordinates": [[[-90, 35], [-89, 35], [-89, 36], [-90, 35]]]}}, "area"),
        ({"starts_at": "2026-12-24T18:00:00"}, "starts_at"),
        ({"ends_at": "tomorrow"}, "ends_at"),
        ({"starts_at": "0001-01-01T00:00:00+05:00"}, "starts_at"),
        ({"starts_at": window(3, 1)["starts_at"], "ends_at": window(1, 1)["starts_at"]}, "ends_at"),
        ({"ends_at": window(0, 24 * 15)["ends_at"]}, "ends_at"),
        ({"starts_at": LONG_AGO, "ends_at": AN_HOUR_AGO}, "ends_at"),
        (
            {"starts_at": iso(utcnow() + timedelta(days=400)), "ends_at": iso(utcnow() + timedelta(days=401))},
            "starts_at",
        ),
        ({"contact_phone": "call me"}, "contact_phone"),
        ({"contact_phone": "12"}, "contact_phone"),
        ({"contact_phone": None}, "contact_phone"),
        ({"owner_agency_id": str(uuid.UUID(int=5))}, "owner_agency_id"),
    ],
)
def test_bad_registrations_are_refused_naming_the_field(client, world, fields, field):
    body = _valid_body(spot()) | fields
    body = {k: v for k, v in body.items() if v is not None}
    response = client.post("/api/v1/planned-operations", json=body, headers=world["h"]["a"])
    assert response.status_code == 422, response.text
    found = [p["field"] for p in response.json()["error"]["fields"]]
    assert any(f == field or f.startswith(field + ".") or f.startswith(field + "[") for f in found), found


def test_registering_for_another_agency_is_forbidden(client, world):
    body = _valid_body(spot()) | {"owner_agency_id": str(world["ids"]["B"])}
    assert_error(client.post("/api/v1/planned-operations", json=body, headers=world["h"]["a"]), 403, "forbidden")
    assert_error(client.post("/api/v1/planned-operations", json=body, headers=world["h"]["admin"]), 403, "forbidden")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"status": "paused"}, "status"),
        ({"radius_m": -1}, "radius_m"),
        ({"location": point((10, 95))}, "location.coordinates"),
        ({"area": {"type": "Polygon", "coordinates": []}}, "area"),
        ({"ends_at": iso(BASE - timedelta(hours=1))}, "ends_at"),
        ({"title": "Renamed"}, "title"),
        ({"contact_phone": "none"}, "contact_phone"),
    ],
)
def test_bad_changes_are_refused_naming_the_field(client, world, fields, field):
    operation = register(client, world["h"]["a"], spot())
    response = client.patch(f"/api/v1/planned-operations/{operation['id']}", json=fields, headers=world["h"]["a"])
    assert response.status_code == 422, response.text
    found = [p["field"] for p in response.json()["error"]["fields"]]
    assert any(f == field or f.startswith(field + ".") or f.startswith(field + "[") for f in found), found


def test_every_change_writes_its_audit_event_and_live_event(client, world, db):
    at = spot()
    mine = register(client, world["h"]["a"], at)
    theirs = register(client, world["h"]["b"], at)
    [notice_b] = notices(client, world["h"]["b"], about=theirs)
    client.post(f"/api/v1/planned-operations/notices/{notice_b['notice_id']}/acknowledge", headers=world["h"]["b"])
    client.patch(f"/api/v1/planned-operations/{mine['id']}", json={"status": "cancelled"}, headers=world["h"]["a"])
    db.rollback()
    actions = db.scalars(
        text("SELECT action FROM audit_events WHERE object_id = :id ORDER BY seq"), {"id": mine["id"]}
    ).all()
    assert actions == ["operations.planned.register", "operations.planned.cancel"]
    on_notice = db.scalars(
        text("SELECT action FROM audit_events WHERE object_id = :id ORDER BY seq"), {"id": notice_b["notice_id"]}
    ).all()
    assert on_notice == [
        "operations.deconfliction.notified",
        "operations.deconfliction.acknowledged",
        "operations.deconfliction.resolved",
    ]
    details = db.scalars(
        text("SELECT details FROM audit_events WHERE object_id IN (:a, :b, :n)"),
        {"a": mine["id"], "b": theirs["id"], "n": notice_b["notice_id"]},
    ).all()
    assert not any(secret in str(d) for d in details for secret in ("Nightjar", "CASE-2026"))
    rows = db.execute(
        text("SELECT kind, object_type, agency_id, payload FROM event_outbox WHERE object_id = :id ORDER BY id"),
        {"id": notice_b["notice_id"]},
    ).all()
    assert [r[0] for r in rows] == [
        "deconfliction.notice.notified",
        "deconfliction.notice.acknowledged",
        "deconfliction.notice.resolved",
    ]
    assert {r[1] for r in rows} == {"deconfliction_notice"}
    payloads = [r[3] if isinstance(r[3], dict) else json.loads(r[3]) for r in rows]
    assert all(set(p) == {"revision", "state"} for p in payloads)
    kinds = db.scalars(
        text("SELECT kind FROM event_outbox WHERE object_id = :id ORDER BY id"), {"id": mine["id"]}
    ).all()
    assert kinds == ["planned_operation.registered", "planned_operation.cancelled"]


def test_live_events_reach_only_the_recipient_agency(client, world, db):
    from accord.authz import Actor, MembershipGrant
    from accord.authz.roles import BUILTIN_ROLES
    from accord.core.events import Event
    from accord.operations.live import visible_events

    at = spot()
    register(client, world["h"]["a"], at)
    register(client, world["h"]["b"], at)
    db.rollback()
    rows = db.execute(
        text(
            "SELECT id, kind, object_type, object_id FROM event_outbox "
            "WHERE object_type IN ('deconfliction_notice', 'planned_operation') ORDER BY id DESC LIMIT 4"
        )
    ).all()
    batch = [
        Event(id=r[0], occurred_at=utcnow(), kind=r[1], object_type=r[2], object_id=r[3], agency_id=None, payload={})
        for r in rows
    ]
    commander = next(r for r in BUILTIN_ROLES if r.name == "commander").permissions

    def member(agency: str) -> Actor:
        grant = MembershipGrant(world["ids"][agency], "commander", commander)
        return Actor(user_id=uuid.uuid4(), username=agency, memberships=(grant,), auth_method="token")

    seen = {agency: visible_events(db, member(agency), batch) for agency in "ABC"}
    assert len(seen["A"]) == 2 and len(seen["B"]) == 2 and seen["C"] == []
    assert {e.object_id for e in seen["A"]}.isdisjoint({e.object_id for e in seen["B"]})
