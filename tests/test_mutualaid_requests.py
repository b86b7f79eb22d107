"""Mutual aid, requests and offers (issue 6, part 2): ICS-213 requests checked against the
activation thresholds of the clauses binding the requester, approvals that send them to the
partners those clauses bind, ranked candidates with their reasons, offers and the
deployment lifecycle, and who sees what — on both databases.

The demo's Harrow Valley Mutual Aid Agreement binds the three county EMAs, LHFD, CRFD and
MCEMS; its clause is activated by a declared emergency *or* the requester's own resources
of the type being committed. HPD is in the compact's partnership but not a party."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from accord.mutualaid import matching
from accord.mutualaid.thresholds import RequestFacts, check
from tests.conftest import assert_error, users_with_tokens

FLOOD_POINT = {"type": "Point", "coordinates": [-76.74, 40.90]}


@pytest.fixture(scope="module")
def world(app: Any, session_factory: Any) -> dict[str, Any]:
    from fastapi.testclient import TestClient

    people = users_with_tokens(
        app,
        session_factory,
        [
            ("mcema_cmd", "commander", "MCEMA"),
            ("mcema", "logistics", "MCEMA"),
            ("lhfd", "logistics", "LHFD"),
            ("crfd", "logistics", "CRFD"),
            ("hpd", "logistics", "HPD"),
            ("lhfd_viewer", "viewer", "LHFD"),
        ],
    )
    h, ids = people["h"], people["ids"]
    with TestClient(app) as client:
        incident = client.post(
            "/api/v1/incidents",
            json={
                "lead_agency_id": str(ids["MCEMA"]),
                "name": f"Test flood {uuid.uuid4().hex[:4]}",
                "type": "flood",
                "severity": "severe",
                "location": FLOOD_POINT,
                "participants": [str(ids["HPD"])],
            },
            headers=h["mcema_cmd"],
        )
        assert incident.status_code == 201, incident.text
        # Resources of the test's own at known places: LHFD's boat near the flood, CRFD's far.
        made = {}
        for key, agency, level, lon, qualified_until in [
            ("near", "lhfd", 2, -76.75, None),
            ("far", "crfd", 2, -77.30, None),
            ("big", "crfd", 1, -76.76, None),
            ("lapsed", "lhfd", 2, -76.741, "2026-01-01T00:00:00Z"),
        ]:
            person = _person(session_factory, "LHFD" if agency == "lhfd" else "CRFD")
            body = {
                "owner_agency_id": str(ids[agency.upper()]),
                "type_key": "swift_water_rescue_team",
                "level": level,
                "name": f"Req-test boat {key} {uuid.uuid4().hex[:4]}",
                "home": {"type": "Point", "coordinates": [lon, 40.90]},
                "hourly_rate": "90.00",
                "qualified": [
                    {"person_id": str(person), "qualification": q, "valid_until": qualified_until}
                    for q in ("swiftwater_technician", "boat_operator")
                ],
            }
            response = client.post("/api/v1/resources", json=body, headers=h[agency])
            assert response.status_code == 201, response.text
            made[key] = response.json()
    return {"h": h, "ids": ids, "incident": incident.json(), "resources": made}


def _person(session_factory: Any, agency: str) -> uuid.UUID:
    from sqlalchemy import select

    from accord.directory.models import Agency, Person

    with session_factory() as db:
        agency_id = db.scalar(select(Agency.id).where(Agency.short_name == agency))
        person = db.scalar(select(Person.id).where(Person.agency_id == agency_id).limit(1))
        assert person is not None
        return person


def _needed(hours: float = 3) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).isoformat()


def _request(client: Any, world: dict[str, Any], **fields: Any) -> Any:
    body = {
        "incident_id": world["incident"]["id"],
        "requesting_agency_id": str(world["ids"]["MCEMA"]),
        "type_key": "swift_water_rescue_team",
        "level": 2,
        "quantity": 2,
        "deliver_to": "Staging, Harrowgate fairgrounds",
        "location": FLOOD_POINT,
        "needed_at": _needed(),
        "priority": "urgent",
        "substitutes_ok": True,
        "requester_name": "Dana Whitfield",
        "requester_position": "Logistics section chief",
    } | fields
    return client.post("/api/v1/resource-requests", json=body, headers=world["h"]["mcema"])


def _open(client: Any, world: dict[str, Any], **fields: Any) -> dict[str, Any]:
    made = _request(client, world, **fields)
    assert made.status_code == 201, made.text
    url = f"/api/v1/resource-requests/{made.json()['id']}/approvals"
    assert client.post(f"{url}/logistics", json={"name": "L. Chief"}, headers=world["h"]["mcema"]).status_code == 200
    opened = client.post(f"{url}/finance", json={"name": "F. Chief"}, headers=world["h"]["mcema"])
    assert opened.status_code == 200, opened.text
    assert opened.json()["status"] == "open"
    return dict(opened.json())


# -- thresholds (pure) ------------------------------------------------------------------------------
FACTS = RequestFacts("flood", "moderate", False, 2, "Swift-water rescue team")


def test_thresholds_all_any_and_none():
    assert check(None, FACTS).met and check({}, FACTS).met
    strict = check({"min_severity": "severe", "declared_emergency": True}, FACTS)
    assert not strict.met
    assert strict.reasons == (
        "the incident's severity is moderate; the clause needs severe or worse",
        "no emergency is declared for the incident",
    )
    assert check({"min_severity": "moderate", "incident_types": ["flood", "wildfire"]}, FACTS).met
    assert "covers wildfire only" in check({"incident_types": ["wildfire"]}, FACTS).reasons[0]
    either = {"declared_emergency": True, "own_resources_exhausted": True, "require": "any"}
    refused = check(either, FACTS)
    assert not refused.met and "still has 2 Swift-water rescue team available" in refused.reasons[1]
    assert check(either, RequestFacts("flood", "moderate", True, 2, "x")).met
    assert check(either, RequestFacts("flood", "moderate", False, 0, "x")).met
    assert not check({**either, "require": "all"}, RequestFacts("flood", "moderate", True, 2, "x")).met


# -- matching (pure) -------------------------------------------------------------------------------
NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def _option(name: str, lon: float, level: int = 2, **fields: Any) -> matching.Option:
    base: dict[str, Any] = {
        "resource_id": uuid.uuid5(uuid.NAMESPACE_DNS, name),
        "name": name,
        "owner_agency_id": uuid.uuid5(uuid.NAMESPACE_DNS, "agency-" + name),
        "type_key": "swift_water_rescue_team",
        "level": level,
        "quantity": 1,
        "minimum_reserve": 0,
        "lon": lon,
        "lat": 40.9,
        "travel_speed_kmh": 60.0,
        "required_qualifications": ("swiftwater_technician",),
        "qualifications": (("swiftwater_technician", None),),
    }
    return matching.Option(**(base | fields))


def test_ranking_puts_qualified_on_time_exact_and_near_first_and_says_why():
    need = matching.Need("swift_water_rescue_team", 2, True, -76.74, 40.90, NOW + timedelta(hours=1))
    options = [
        _option("far", -77.30),  # about 60 km by road: late
        _option("near", -76.75),
        _option("bigger", -76.745, level=1),  # closer still, but a substitute
        _option("unqualified", -76.741, qualifications=(("swiftwater_technician", NOW),)),  # lapses before needed
        _option("weaker", -76.74, level=3),  # never fits a level-2 request
        _option("reserved", -76.74, quantity=2, minimum_reserve=2),  # nothing above the reserve
    ]
    ranked = matching.rank(need, options, now=NOW)
    assert [r.option.name for r in ranked] == ["near", "bigger", "far", "unqualified"]
    near, bigger, far, unqualified = ranked
    assert near.fit == "exact" and near.on_time and near.qualified and near.position == 1
    assert bigger.fit == "substitute" and "level 1 stands in for level 2" in " ".join(bigger.explanation)
    assert not far.on_time and "after it is needed" in " ".join(far.explanation)
    assert unqualified.missing_qualifications == ("swiftwater_technician",)
    assert "not qualified at the time needed" in " ".join(unqualified.explanation)
    assert near.explanation[0] == "#1"
    exact_only = matching.Need("swift_water_rescue_team", 2, False, -76.74, 40.90, NOW + timedelta(hours=1))
    assert "bigger" not in [r.option.name for r in matching.rank(exact_only, options, now=NOW)]


def test_eta_follows_distance_speed_and_road_factor():
    need = matching.Need("swift_water_rescue_team", 2, False, -76.74, 40.90, NOW + timedelta(hours=5))
    one = _option("one", -76.74 + 0.5)
    km = matching.great_circle_km(one.lon, one.lat, need.lon, need.lat)
    assert 41 < km < 43  # half a degree of longitude at 40.9° N
    ranked = matching.rank(need, [one], now=NOW, road_factor=1.5)[0]
    assert ranked.distance_km == pytest.approx(km * 1.5)
    assert ranked.travel_minutes == round(km * 1.5 / 60 * 60)
    assert ranked.eta_at == NOW + timedelta(hours=km * 1.5 / 60)
    slower = matching.rank(need, [_option("one", -76.24, travel_speed_kmh=30.0)], now=NOW, road_factor=1.5)[0]
    assert slower.travel_minutes == pytest.approx(2 * ranked.travel_minutes, abs=1)


def test_reserve_headroom_breaks_ties_and_units_already_offered_count():
    need = matching.Need("generator_large", 2, False, -76.74, 40.9, NOW + timedelta(hours=5))
    common = {"type_key": "generator_large", "required_qualifications": (), "qualifications": ()}
    deep = _option("deep", -76.80, quantity=4, minimum_reserve=1, **common)
    thin = _option("thin", -76.80, quantity=4, minimum_reserve=3, **common)
    busy = _option("busy", -76.80, quantity=2, minimum_reserve=1, already_offered=1, **common)
    ranked = matching.rank(need, [thin, busy, deep], now=NOW)
    assert [r.option.name for r in ranked] == ["deep", "thin"]
    assert ranked[0].offerable == 3 and "above the owner's reserve of 1" in " ".join(ranked[0].explanation)


# -- requests through the API -------------------------------------------------------------------------
def test_a_request_that_meets_no_clause_is_refused_with_the_clause_and_the_reason(client, world):
    # MCEMA has its own sandbagging machine at home and no emergency is declared.
    refused = _request(client, world, type_key="sandbagging_machine", level=2, quantity=1)
    error = assert_error(refused, 422, "thresholds_not_met")
    reasons = " | ".join(f["reason"] for f in error["fields"])
    assert "Harrow Valley Mutual Aid Agreement" in reasons and "clause 1" in reasons
    assert "no emergency is declared for the incident" in reasons
    assert (
        "your agency still has 1 Sandbagging machine available"
        in reasons.replace("Sandbagging Machine", "Sandbagging machine")
        or "still has 1" in reasons
    )
    declared = client.patch(
        f"/api/v1/incidents/{world['incident']['id']}",
        json={"emergency_declared": True},
        headers=world["h"]["mcema_cmd"],
    )
    assert declared.status_code == 200 and declared.json()["emergency_declared_at"]
    try:
        accepted = _request(client, world, type_key="sandbagging_machine", level=2, quantity=1)
        assert accepted.status_code == 201, accepted.text
        assert accepted.json()["activation"][0]["met"] is True
    finally:
        client.patch(
            f"/api/v1/incidents/{world['incident']['id']}",
            json={"emergency_declared": False},
            headers=world["h"]["mcema_cmd"],
        )


def test_an_agency_no_clause_binds_cannot_ask(client, world):
    refused = client.post(
        "/api/v1/resource-requests",
        json={
            "incident_id": world["incident"]["id"],
            "requesting_agency_id": str(world["ids"]["HPD"]),
            "type_key": "swift_water_rescue_team",
            "quantity": 1,
            "deliver_to": "Harrowgate",
            "location": FLOOD_POINT,
            "needed_at": _needed(),
            "requester_name": "Sgt. Ames",
        },
        headers=world["h"]["hpd"],
    )
    error = assert_error(refused, 422, "thresholds_not_met")
    assert error["fields"][0]["field"] == "requesting_agency_id"
    assert "no mutual-aid clause in force binds your agency" in error["fields"][0]["reason"]


@pytest.mark.parametrize(
    ("fields", "field", "status"),
    [
        ({"type_key": "no_such_type"}, "type_key", 422),
        ({"level": 7}, "level", 422),
        ({"type_key": None, "level": None, "description": ""}, "description", 422),
        ({"type_key": None, "level": 2, "description": "boats"}, "level", 422),
        ({"quantity": 0}, "quantity", 422),
        ({"needed_at": "2026-12-06T10:00:00"}, "needed_at", 422),
        ({"needed_at": "2020-01-01T00:00:00Z"}, "needed_at", 422),
        ({"location": {"type": "Point", "coordinates": [200, 40]}}, "location.coordinates", 422),
        ({"location": {"type": "Polygon", "coordinates": []}}, "location.type", 422),
        ({"priority": "whenever"}, "priority", 422),
        ({"incident_id": str(uuid.uuid4())}, "incident_id", 422),
        ({"requester_name": ""}, "requester_name", 422),
        ({"surprise": 1}, "surprise", 422),
    ],
)
def test_bad_request_forms_name_the_field(client, world, fields, field, status):
    response = _request(client, world, **fields)
    assert response.status_code == status, response.text
    assert any(field in p["field"] for p in response.json()["error"]["fields"]), response.json()


def test_requests_wait_for_both_approvals_and_only_then_reach_partners(client, world):
    made = _request(client, world)
    assert made.status_code == 201, made.text
    request = made.json()
    assert request["status"] == "pending" and request["number"].startswith("213-")
    assert {r["agency_id"] for r in request["recipients"]} >= {str(world["ids"]["LHFD"]), str(world["ids"]["CRFD"])}
    url = f"/api/v1/resource-requests/{request['id']}"
    assert_error(client.get(url, headers=world["h"]["lhfd"]), 404, "not_found")  # not sent yet
    approve = f"{url}/approvals/logistics"
    assert_error(client.post(approve, json={"name": "Lee"}, headers=world["h"]["lhfd"]), 404, "not_found")
    assert_error(client.post(approve, json={"name": "L"}, headers=world["h"]["mcema"]), 422, "invalid")
    assert (
        client.post(f"{url}/approvals/logistics", json={"name": "L. Chief"}, headers=world["h"]["mcema"]).status_code
        == 200
    )
    again = client.post(f"{url}/approvals/logistics", json={"name": "L. Chief"}, headers=world["h"]["mcema"])
    assert_error(again, 409, "conflict")
    opened = client.post(f"{url}/approvals/finance", json={"name": "F. Chief"}, headers=world["h"]["mcema"]).json()
    assert opened["status"] == "open" and opened["opened_at"] and opened["finance_approved_by"] == "F. Chief"
    assert client.get(url, headers=world["h"]["lhfd_viewer"]).status_code == 200
    assert_error(client.get(url, headers=world["h"]["hpd"]), 404, "not_found")  # not a party
    received = client.get("/api/v1/resource-requests", params={"side": "received"}, headers=world["h"]["lhfd"]).json()
    assert request["id"] in [r["id"] for r in received["items"]]
    mine = client.get("/api/v1/resource-requests", params={"side": "mine"}, headers=world["h"]["lhfd"]).json()
    assert request["id"] not in [r["id"] for r in mine["items"]]


def test_candidates_are_ranked_with_reasons_for_the_requester(client, world):
    request = _open(client, world, needed_at=_needed(0.5))  # CRFD's exact-level boat is an hour away
    listed = client.get(f"/api/v1/resource-requests/{request['id']}/candidates", headers=world["h"]["mcema"])
    assert listed.status_code == 200, listed.text
    ours = {v["id"]: k for k, v in world["resources"].items()}
    order = [ours[c["resource_id"]] for c in listed.json() if c["resource_id"] in ours]
    assert order == ["near", "big", "far", "lapsed"], listed.json()
    first = next(c for c in listed.json() if c["resource_id"] == world["resources"]["near"]["id"])
    assert (
        first["rank"]["fit"] == "exact"
        and first["rank"]["qualified"]
        and first["rank"]["explanation"][0].startswith("#")
    )
    best = client.get(
        f"/api/v1/resource-requests/{request['id']}/candidates", params={"limit": 1}, headers=world["h"]["mcema"]
    ).json()
    assert len(best) == 1 and best[0]["position"] == 1 and best[0]["resource_id"] == listed.json()[0]["resource_id"]
    too_many = client.get(
        f"/api/v1/resource-requests/{request['id']}/candidates", params={"limit": 501}, headers=world["h"]["mcema"]
    )
    assert_error(too_many, 422, "invalid")
    # A partner sees only its own resources that could answer.
    own = client.get(f"/api/v1/resource-requests/{request['id']}/candidates", headers=world["h"]["crfd"]).json()
    assert {c["owner_agency_id"] for c in own} == {str(world["ids"]["CRFD"])}
    assert_error(
        client.get(f"/api/v1/resource-requests/{request['id']}/candidates", headers=world["h"]["hpd"]), 404, "not_found"
    )


def test_an_offer_moves_through_the_deployment_lifecycle(client, world):
    request = _open(client, world, quantity=1)
    h = world["h"]
    url = f"/api/v1/resource-requests/{request['id']}/offers"
    boat = world["resources"]["near"]
    made = client.post(url, json={"resource_id": boat["id"], "note": "Two boats, four crew"}, headers=h["lhfd"])
    assert made.status_code == 201, made.text
    offer = made.json()
    assert offer["status"] == "offered" and offer["rank"]["fit"] == "exact" and offer["eta_at"]
    assert_error(client.post(url, json={"resource_id": boat["id"]}, headers=h["lhfd"]), 409, "conflict")  # twice
    assert [o["id"] for o in client.get(url, headers=h["mcema"]).json()] == [offer["id"]]
    assert_error(client.get(url, headers=h["hpd"]), 404, "not_found")
    step = f"/api/v1/resource-offers/{offer['id']}/status"

    refused = assert_error(client.post(step, json={"status": "mobilized"}, headers=h["lhfd"]), 409, "conflict")
    assert "can become: committed, declined, withdrawn" in refused["message"]
    assert_error(client.post(step, json={"status": "committed"}, headers=h["lhfd"]), 403, "forbidden")  # provider
    committed = client.post(step, json={"status": "committed"}, headers=h["mcema"])
    assert committed.status_code == 200, committed.text
    assert committed.json()["committed_at"]
    filled = client.get(f"/api/v1/resource-requests/{request['id']}", headers=h["mcema"]).json()
    assert filled["status"] == "filled" and filled["committed_quantity"] == 1 and filled["filled_at"]
    assert client.get(f"/api/v1/resources/{boat['id']}", headers=h["lhfd"]).json()["status"] == "assigned"

    for status, who in [("mobilized", "lhfd"), ("on_scene", "lhfd"), ("demobilized", "mcema")]:
        moved = client.post(step, json={"status": status}, headers=h[who])
        assert moved.status_code == 200, moved.text
        assert moved.json()[f"{status}_at"]
    here = client.get(f"/api/v1/resources/{boat['id']}", headers=h["lhfd"]).json()
    assert here["location"] == FLOOD_POINT  # on scene: the map shows it there
    assert_error(client.post(step, json={"status": "returned"}, headers=h["mcema"]), 403, "forbidden")
    back = client.post(step, json={"status": "returned", "note": "All crew home"}, headers=h["lhfd"]).json()
    assert back["status"] == "returned" and "All crew home" in back["note"]
    home = client.get(f"/api/v1/resources/{boat['id']}", headers=h["lhfd"]).json()
    assert home["status"] == "available" and home["location"] == home["home"]
    closed = client.get(f"/api/v1/resource-requests/{request['id']}", headers=h["mcema"]).json()
    assert closed["status"] == "closed"
    final = assert_error(client.post(step, json={"status": "mobilized"}, headers=h["lhfd"]), 409, "conflict")
    assert "nothing (this is final)" in final["message"]
    board = client.get("/api/v1/deployments", params={"incident_id": world["incident"]["id"]}, headers=h["mcema"])
    assert offer["id"] in [d["id"] for d in board.json()]


def test_offers_that_do_not_fit_or_exceed_are_refused(client, world):
    request = _open(client, world, quantity=1, substitutes_ok=False)
    h, url = world["h"], f"/api/v1/resource-requests/{request['id']}/offers"
    big = client.post(url, json={"resource_id": world["resources"]["big"]["id"]}, headers=h["crfd"])
    assert_error(big, 422, "invalid")
    assert "level 1" in big.json()["error"]["message"]
    other = client.post(url, json={"resource_id": world["resources"]["near"]["id"]}, headers=h["crfd"])
    assert_error(other, 403, "forbidden")  # not CRFD's resource
    assert_error(client.post(url, json={"resource_id": str(uuid.uuid4())}, headers=h["crfd"]), 422, "invalid")
    too_many = client.post(url, json={"resource_id": world["resources"]["far"]["id"], "quantity": 2}, headers=h["crfd"])
    assert_error(too_many, 422, "invalid")
    assert too_many.json()["error"]["fields"][0]["field"] == "quantity"
    assert_error(client.post(url, json={"resource_id": "nope"}, headers=h["crfd"]), 422, "invalid")
    # Two offers for one unit: committing the second would exceed the request.
    first = client.post(url, json={"resource_id": world["resources"]["far"]["id"]}, headers=h["crfd"]).json()
    second = client.post(url, json={"resource_id": world["resources"]["lapsed"]["id"]}, headers=h["lhfd"]).json()
    assert not second["rank"]["qualified"]
    listed = client.get(url, headers=h["mcema"]).json()
    assert [o["id"] for o in listed] == [first["id"], second["id"]]  # the qualified one first
    assert (
        client.post(
            f"/api/v1/resource-offers/{first['id']}/status", json={"status": "committed"}, headers=h["mcema"]
        ).status_code
        == 200
    )
    over = client.post(
        f"/api/v1/resource-offers/{second['id']}/status", json={"status": "committed"}, headers=h["mcema"]
    )
    assert_error(over, 409, "conflict")
    assert "already committed" in over.json()["error"]["message"]
    declined = client.post(
        f"/api/v1/resource-offers/{second['id']}/status", json={"status": "declined"}, headers=h["mcema"]
    )
    assert declined.json()["status"] == "declined" and declined.json()["declined_at"]
    # The provider withdraws the committed one: the request needs the unit again.
    client.post(f"/api/v1/resource-offers/{first['id']}/status", json={"status": "withdrawn"}, headers=h["crfd"])
    assert client.get(f"/api/v1/resource-requests/{request['id']}", headers=h["mcema"]).json()["status"] == "open"
    assert_error(
        client.post(f"/api/v1/resource-offers/{first['id']}/status", json={"status": "teleported"}, headers=h["crfd"]),
        422,
        "invalid",
    )


def test_cancelling_a_request_declines_waiting_offers(client, world):
    request = _open(client, world, quantity=1)
    h = world["h"]
    offer = client.post(
        f"/api/v1/resource-requests/{request['id']}/offers",
        json={"resource_id": world["resources"]["far"]["id"]},
        headers=h["crfd"],
    ).json()
    url = f"/api/v1/resource-requests/{request['id']}/cancel"
    assert_error(client.post(url, json={"reason": "no"}, headers=h["mcema"]), 422, "invalid")  # too short
    assert_error(client.post(url, json={"reason": "Water receding"}, headers=h["crfd"]), 403, "forbidden")
    cancelled = client.post(url, json={"reason": "Water receding"}, headers=h["mcema"])
    assert cancelled.json()["status"] == "cancelled"
    assert client.get(f"/api/v1/resource-offers/{offer['id']}", headers=h["crfd"]).json()["status"] == "declined"
    assert_error(client.post(url, json={"reason": "Water receding"}, headers=h["mcema"]), 409, "conflict")


def test_a_number_taken_meanwhile_is_skipped_not_a_500(client, world, session_factory):
    """Numbers come from a count: a request committed by someone else at the same moment
    (here: one already holding the next number) makes this one take the following number."""
    from sqlalchemy import func, select

    from accord.mutualaid.models import ResourceRequest

    year = datetime.now(UTC).year
    with session_factory() as db:
        count = db.scalar(
            select(func.count()).select_from(ResourceRequest).where(ResourceRequest.number.like(f"213-{year}-%"))
        )
        taken = f"213-{year}-{count + 2:04d}"
        db.add(
            ResourceRequest(
                number=taken,
                incident_id=uuid.UUID(world["incident"]["id"]),
                requesting_agency_id=world["ids"]["MCEMA"],
                requester_name="Elsewhere",
                quantity=1,
                deliver_to="Elsewhere",
                location=FLOOD_POINT,
                lon=-76.74,
                lat=40.90,
                needed_at=datetime.now(UTC),
                priority="routine",
                status="cancelled",
                activation=[],
            )
        )
        db.commit()
    made = _request(client, world)
    assert made.status_code == 201, made.text
    assert made.json()["number"] == f"213-{year}-{count + 3:04d}"
