"""The command board of a planned event (issue 5, part 6): shifts, posts, each agency's
units, the message board with read receipts; who sees and changes what; audit and live
events — on both databases."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from accord.accounts.service import create_user_unchecked
from accord.authz.service import actor_for
from accord.core.events import Event
from accord.core.time import utcnow
from accord.directory.models import Agency, Person
from accord.operations.live import visible_events
from accord.seed import DEMO_PASSWORD, system_actor
from tests.conftest import api_token, assert_error, bearer, unique

POINT = {"type": "Point", "coordinates": [-76.7795, 40.9012]}


def _iso(moment: datetime) -> str:
    return moment.isoformat()


@pytest.fixture(scope="module")
def crew(app: Any, session_factory: Any) -> Iterator[dict[str, Any]]:
    """Agencies and people for the whole module (people cost a password hash each): an
    emergency-management lead, police and fire taking part, a stranger agency."""
    tag = uuid.uuid4().hex[:5].upper()
    ids: dict[str, uuid.UUID] = {}
    shorts: dict[str, str] = {}
    with session_factory() as db:
        for name, kind in (("LEAD", "emergency_management"), ("POL", "police"), ("FIRE", "fire"), ("FAR", "police")):
            agency = Agency(
                name=f"Board test {name} {tag}",
                short_name=f"B{name}{tag}",
                kind=kind,
                level="local",
                jurisdiction_name="T",
            )
            db.add(agency)
            db.flush()
            ids[name], shorts[name] = agency.id, agency.short_name
        medic = Person(agency_id=ids["FIRE"], full_name=f"Dana Medic {tag}", title="Captain")
        cop = Person(agency_id=ids["POL"], full_name=f"Pat Officer {tag}", title="Sergeant")
        db.add_all([medic, cop])
        db.commit()
        roles = {
            "lead": ("commander", "LEAD"),
            "lead_viewer": ("viewer", "LEAD"),
            "police": ("commander", "POL"),
            "police_logistics": ("logistics", "POL"),
            "fire": ("commander", "FIRE"),
            "fire_viewer": ("viewer", "FIRE"),
            "stranger": ("commander", "FAR"),
        }
        users = {}
        for who, (role, agency) in roles.items():
            username = unique(f"board-{role}-")
            user = create_user_unchecked(
                db,
                actor=system_actor("test"),
                username=username,
                display_name=f"Test {role.title()}",
                email="",
                password=DEMO_PASSWORD,
                agency_id=ids[agency],
                role=role,
                check_password_policy=False,
            )
            users[who] = {"username": username, "id": user.id}
        db.commit()
        medic_id, cop_id = medic.id, cop.id
    with TestClient(app) as client:
        app.state.login_limiter.reset()
        people = {who: (bearer(api_token(client, u["username"])), u) for who, u in users.items()}
        yield {"ids": ids, "shorts": shorts, "people": people, "medic": medic_id, "cop": cop_id, "client": client}


def _event(crew: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """A planned event starting in two days, its board set up by the lead: shifts Morning,
    Afternoon and Night of eight hours each, posts Main stage and North gate."""
    client, ids = crew["client"], crew["ids"]
    lead = crew["people"]["lead"][0]
    # Each event on days of its own: the module's units are booked on every board.
    crew["events"] = crew.get("events", 0) + 1
    start = (utcnow() + timedelta(days=2 + 3 * crew["events"])).replace(hour=12, minute=0, second=0, microsecond=0)
    body = {
        "lead_agency_id": str(ids["LEAD"]),
        "name": f"Riverfest {uuid.uuid4().hex[:4]}",
        "type": "planned_event",
        "severity": "minor",
        "tier": "CLEAR",
        "started_at": _iso(start),
        "participants": [str(ids["POL"]), str(ids["FIRE"])],
    } | fields
    event = client.post("/api/v1/incidents", json=body, headers=lead)
    assert event.status_code == 201, event.text
    incident_id = event.json()["id"]
    url = f"/api/v1/incidents/{incident_id}/board"
    shifts = {}
    for name, begin in (("Morning", 0), ("Afternoon", 8), ("Night", 16)):
        window = {
            "starts_at": _iso(start + timedelta(hours=begin)),
            "ends_at": _iso(start + timedelta(hours=begin + 8)),
        }
        made = client.post(f"{url}/shifts", json={"name": name} | window, headers=lead)
        assert made.status_code == 201, made.text
        shifts[name] = made.json()["id"]
    posts = {}
    for name in ("Main stage", "North gate"):
        made = client.post(f"{url}/posts", json={"name": name, "location": POINT, "radius_m": 150}, headers=lead)
        assert made.status_code == 201, made.text
        posts[name] = made.json()["id"]
    return crew | {"incident_id": incident_id, "url": url, "start": start, "shifts": shifts, "posts": posts}


@pytest.fixture
def world(crew: dict[str, Any]) -> dict[str, Any]:
    """A fresh event of its own for a test that changes the board."""
    return _event(crew)


@pytest.fixture(scope="module")
def shared(crew: dict[str, Any]) -> dict[str, Any]:
    """One event for the tests whose requests are all refused (they change nothing)."""
    return _event(crew)


@pytest.fixture
def client(crew: dict[str, Any]) -> Any:
    return crew["client"]


def _h(world: dict[str, Any], who: str) -> dict[str, str]:
    return world["people"][who][0]


def _assign(client: Any, world: dict[str, Any], who: str, **fields: Any) -> Any:
    body = {
        "shift_id": world["shifts"]["Morning"],
        "post_id": world["posts"]["Main stage"],
        "agency_id": str(world["ids"]["FIRE"]),
        "unit": "Engine 4",
        "people": 4,
    } | fields
    return client.post(f"{world['url']}/assignments", json=body, headers=_h(world, who))


def test_the_lead_sets_up_the_board_and_the_grid_shows_posts_by_shifts(client, world):
    made = _assign(client, world, "fire", person_id=str(world["medic"]), notes="staged behind the stage")
    assert made.status_code == 201, made.text
    assert made.json()["person_name"].startswith("Dana Medic")
    grid = client.get(world["url"], headers=_h(world, "police")).json()
    assert [s["name"] for s in grid["shifts"]] == ["Morning", "Afternoon", "Night"]
    assert [r["post"]["name"] for r in grid["rows"]] == ["Main stage", "North gate"]
    cell = grid["rows"][0]["cells"][0]
    assert cell["shift_id"] == world["shifts"]["Morning"] and cell["people"] == 4
    assert [a["unit"] for a in cell["assignments"]] == ["Engine 4"]
    assert grid["totals"][0] == {"shift_id": world["shifts"]["Morning"], "units": 1, "people": 4}
    assert [a["short_name"] for a in grid["agencies"]] == [world["shorts"][k] for k in ("LEAD", "FIRE", "POL")]
    assert grid["agencies"][0]["lead"] is True and grid["agencies"][1]["kind"] == "fire"
    # What the caller may do is part of the answer, for the page and for API clients.
    assert grid["can_set_up"] is False and grid["can_assign_for"] == [str(world["ids"]["POL"])]
    lead = client.get(world["url"], headers=_h(world, "lead")).json()
    assert lead["can_set_up"] is True and len(lead["can_assign_for"]) == 3
    assert client.get(world["url"], headers=_h(world, "fire_viewer")).json()["can_post"] is False


def test_only_agencies_taking_part_see_the_board_everyone_else_gets_the_same_404(client, shared):
    stranger = _h(shared, "stranger")
    # The event is CLEAR: the stranger sees the incident itself, never its board.
    assert client.get(f"/api/v1/incidents/{shared['incident_id']}", headers=stranger).status_code == 200
    hidden = []
    for path in ("", "/shifts", "/posts", "/assignments", "/messages"):
        hidden.append(assert_error(client.get(shared["url"] + path, headers=stranger), 404, "not_found"))
    missing = assert_error(client.get(f"/api/v1/incidents/{uuid.uuid4()}/board", headers=stranger), 404, "not_found")
    assert {h["message"] for h in hidden} == {missing["message"]} == {"board not found"}
    shift = {"name": "Mine", "starts_at": _iso(shared["start"]), "ends_at": _iso(shared["start"] + timedelta(hours=1))}
    for path, body in (("/shifts", shift), ("/messages", {"text": "hello"}), ("/messages/read", None)):
        assert_error(client.post(shared["url"] + path, json=body, headers=stranger), 404, "not_found")
    assert client.get(shared["url"], headers=_h(shared, "fire_viewer")).status_code == 200


def test_an_incident_that_is_not_a_planned_event_has_no_board(client, shared):
    flood = client.post(
        "/api/v1/incidents",
        json={"lead_agency_id": str(shared["ids"]["LEAD"]), "name": "Flood", "type": "flood", "severity": "minor"},
        headers=_h(shared, "lead"),
    ).json()
    board = f"/api/v1/incidents/{flood['id']}/board"
    assert_error(client.get(board, headers=_h(shared, "lead")), 404, "not_found")
    refused = client.post(f"{board}/posts", json={"name": "X", "location": POINT}, headers=_h(shared, "lead"))
    assert_error(refused, 404, "not_found")


def test_shifts_and_posts_are_the_lead_agencys_to_set_up(client, shared):
    body = {"name": "Extra", "starts_at": _iso(shared["start"]), "ends_at": _iso(shared["start"] + timedelta(hours=2))}
    assert_error(client.post(f"{shared['url']}/shifts", json=body, headers=_h(shared, "police")), 403, "forbidden")
    assert_error(client.post(f"{shared['url']}/shifts", json=body, headers=_h(shared, "lead_viewer")), 403, "forbidden")
    post = {"name": "Somewhere", "location": POINT}
    assert_error(client.post(f"{shared['url']}/posts", json=post, headers=_h(shared, "fire")), 403, "forbidden")


def test_commanders_assign_their_own_units_and_the_lead_assigns_anyones(client, world):
    assert _assign(client, world, "fire").status_code == 201
    refused = _assign(client, world, "police", unit="Engine 9")
    assert_error(refused, 403, "forbidden")
    by_lead = _assign(client, world, "lead", unit="Engine 9", shift_id=world["shifts"]["Afternoon"])
    assert by_lead.status_code == 201, by_lead.text
    assert by_lead.json()["agency_id"] == str(world["ids"]["FIRE"])
    own = _assign(client, world, "police", agency_id=str(world["ids"]["POL"]), unit="Car 12", people=2)
    assert own.status_code == 201
    assert_error(_assign(client, world, "fire_viewer", unit="Engine 7"), 403, "forbidden")


def test_a_unit_is_never_double_booked_in_overlapping_shifts(client, world, db):
    assert _assign(client, world, "fire").status_code == 201
    # Same unit, same shift, another post: refused naming the field and where it is.
    clash = _assign(client, world, "fire", unit="  engine   4 ", post_id=world["posts"]["North gate"])
    error = assert_error(clash, 409, "conflict")
    assert error["fields"][0]["field"] == "unit"
    assert "Main stage" in error["message"] and "Morning" in error["message"]
    # The next shift does not overlap (half-open windows): fine.
    assert _assign(client, world, "fire", shift_id=world["shifts"]["Afternoon"]).status_code == 201
    # A shift overlapping the morning one.
    overlap = client.post(
        f"{world['url']}/shifts",
        json={
            "name": "Parade",
            "starts_at": _iso(world["start"] + timedelta(hours=6)),
            "ends_at": _iso(world["start"] + timedelta(hours=7)),
        },
        headers=_h(world, "lead"),
    ).json()
    assert (
        assert_error(_assign(client, world, "fire", shift_id=overlap["id"]), 409, "conflict")["fields"][0]["field"]
        == "unit"
    )
    # Another agency may call a unit "Engine 4" too.
    other = _assign(client, world, "police", agency_id=str(world["ids"]["POL"]), shift_id=overlap["id"])
    assert other.status_code == 201
    # A named person is at one post at a time as well.
    first = _assign(
        client, world, "fire", unit="Medic 1", shift_id=world["shifts"]["Night"], person_id=str(world["medic"])
    )
    assert first.status_code == 201
    twice = _assign(
        client, world, "fire", unit="Medic 2", shift_id=world["shifts"]["Night"], person_id=str(world["medic"])
    )
    assert assert_error(twice, 409, "conflict")["fields"][0]["field"] == "person_id"
    # Taking a unit off the board frees it.
    removed = client.delete(f"{world['url']}/assignments/{first.json()['id']}", headers=_h(world, "fire"))
    assert removed.status_code == 200 and removed.json()["removed_at"] is not None
    assert (
        _assign(
            client, world, "fire", unit="Medic 2", shift_id=world["shifts"]["Night"], person_id=str(world["medic"])
        ).status_code
        == 201
    )


def test_double_booking_on_another_events_board_is_refused_without_naming_that_event(client, world):
    assert _assign(client, world, "fire", unit="Tower 1").status_code == 201
    second = client.post(
        "/api/v1/incidents",
        json={
            "lead_agency_id": str(world["ids"]["POL"]),
            "name": "Parade",
            "type": "planned_event",
            "severity": "minor",
            "started_at": _iso(world["start"]),
            "participants": [str(world["ids"]["FIRE"])],
        },
        headers=_h(world, "police"),
    ).json()
    url = f"/api/v1/incidents/{second['id']}/board"
    shift = client.post(
        f"{url}/shifts",
        json={
            "name": "All",
            "starts_at": _iso(world["start"] + timedelta(hours=2)),
            "ends_at": _iso(world["start"] + timedelta(hours=4)),
        },
        headers=_h(world, "police"),
    ).json()
    post = client.post(f"{url}/posts", json={"name": "Route", "location": POINT}, headers=_h(world, "police")).json()
    body = {"shift_id": shift["id"], "post_id": post["id"], "agency_id": str(world["ids"]["FIRE"]), "unit": "tower 1"}
    error = assert_error(client.post(f"{url}/assignments", json=body, headers=_h(world, "police")), 409, "conflict")
    assert error["fields"][0]["field"] == "unit"
    assert (
        "another event" in error["message"]
        and "Riverfest" not in error["message"]
        and "Main stage" not in error["message"]
    )


def test_moving_a_unit_checks_the_same_rules(client, world):
    engine = _assign(client, world, "fire").json()
    _assign(client, world, "fire", unit="Engine 5", shift_id=world["shifts"]["Afternoon"])
    url = f"{world['url']}/assignments/{engine['id']}"
    moved = client.patch(url, json={"post_id": world["posts"]["North gate"], "people": 3}, headers=_h(world, "fire"))
    assert moved.status_code == 200, moved.text
    assert moved.json()["post_id"] == world["posts"]["North gate"] and moved.json()["people"] == 3
    # Engine 5 is in the afternoon: Engine 4 moves there, Engine 5 cannot move into the morning twice.
    assert (
        client.patch(url, json={"shift_id": world["shifts"]["Afternoon"]}, headers=_h(world, "fire")).status_code == 200
    )
    assert_error(client.patch(url, json={"post_id": str(uuid.uuid4())}, headers=_h(world, "fire")), 422, "invalid")
    assert_error(client.patch(url, json={"people": 1}, headers=_h(world, "police")), 403, "forbidden")
    assert_error(client.patch(url, json={"people": 1}, headers=_h(world, "stranger")), 404, "not_found")
    client.delete(url, headers=_h(world, "fire"))
    assert_error(client.patch(url, json={"people": 2}, headers=_h(world, "fire")), 409, "conflict")
    assert_error(client.delete(url, headers=_h(world, "fire")), 409, "conflict")


@pytest.mark.parametrize(
    ("fields", "status", "field"),
    [
        ({"agency_id": "FAR"}, 422, "agency_id"),
        ({"agency_id": str(uuid.UUID(int=5))}, 422, "agency_id"),
        ({"shift_id": str(uuid.UUID(int=5))}, 422, "shift_id"),
        ({"post_id": str(uuid.UUID(int=5))}, 422, "post_id"),
        ({"person_id": "COP"}, 422, "person_id"),
        ({"person_id": str(uuid.UUID(int=5))}, 422, "person_id"),
        ({"unit": ""}, 422, "unit"),
        ({"unit": "x" * 81}, 422, "unit"),
        ({"unit": "Engine\n4"}, 422, "unit"),
        ({"people": 0}, 422, "people"),
        ({"people": 501}, 422, "people"),
        ({"notes": "n" * 501}, 422, "notes"),
        ({"shift_id": "not-an-id"}, 422, "shift_id"),
        ({"colour": "red"}, 422, "colour"),
    ],
)
def test_bad_assignments_are_refused_naming_the_field(client, shared, fields, status, field):
    if fields.get("agency_id") == "FAR":
        fields["agency_id"] = str(shared["ids"]["FAR"])
    if fields.get("person_id") == "COP":
        fields["person_id"] = str(shared["cop"])  # a police officer on a fire unit
    response = _assign(client, shared, "lead", **fields)
    error = assert_error(response, status, "invalid")
    assert any(field in p["field"] for p in error["fields"]), error


def test_a_shift_of_another_board_is_not_a_shift_of_this_one(client, world):
    other = client.post(
        "/api/v1/incidents",
        json={
            "lead_agency_id": str(world["ids"]["LEAD"]),
            "name": "Other event",
            "type": "planned_event",
            "severity": "minor",
            "started_at": _iso(world["start"]),
            "participants": [str(world["ids"]["FIRE"])],
        },
        headers=_h(world, "lead"),
    ).json()
    shift = client.post(
        f"/api/v1/incidents/{other['id']}/board/shifts",
        json={
            "name": "Elsewhere",
            "starts_at": _iso(world["start"] + timedelta(days=3)),
            "ends_at": _iso(world["start"] + timedelta(days=3, hours=1)),
        },
        headers=_h(world, "lead"),
    ).json()
    error = assert_error(_assign(client, world, "lead", shift_id=shift["id"]), 422, "invalid")
    assert error["fields"][0]["field"] == "shift_id"


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"name": "Morning"}, 409, "name"),
        ({"name": "morning "}, 409, "name"),
        ({"same_window": True}, 409, "starts_at"),
        ({"ends_before": True}, 422, "ends_at"),
        ({"hours": 30}, 422, "ends_at"),
        ({"minutes": 5}, 422, "ends_at"),
        ({"days_before": 5}, 422, "starts_at"),
        ({"days_after": 90}, 422, "starts_at"),
        ({"naive": True}, 422, "starts_at"),
        ({"name": ""}, 422, "name"),
        ({"name": "A\x00B"}, 422, "name"),
        ({"starts_at": "soon"}, 422, "starts_at"),
    ],
)
def test_bad_shifts_are_refused_naming_the_field(client, shared, change, status, field):
    start = shared["start"] + timedelta(hours=1)
    end = (
        start
        + timedelta(hours=change.get("hours", 4), minutes=change.get("minutes", 0))
        - (timedelta(hours=4) if "minutes" in change else timedelta())
    )
    if change.get("same_window"):
        start, end = shared["start"], shared["start"] + timedelta(hours=8)
    if change.get("ends_before"):
        end = start - timedelta(hours=1)
    if "days_before" in change:
        start, end = shared["start"] - timedelta(days=5), shared["start"] - timedelta(days=5, hours=-2)
    if "days_after" in change:
        start, end = shared["start"] + timedelta(days=90), shared["start"] + timedelta(days=90, hours=2)
    body: dict[str, Any] = {"name": change.get("name", "Extra"), "starts_at": _iso(start), "ends_at": _iso(end)}
    if change.get("naive"):
        body["starts_at"] = start.replace(tzinfo=None).isoformat()
    if "starts_at" in change:
        body["starts_at"] = change["starts_at"]
    response = client.post(f"{shared['url']}/shifts", json=body, headers=_h(shared, "lead"))
    error = assert_error(response, status, "conflict" if status == 409 else "invalid")
    assert any(p["field"] == field for p in error["fields"]), error


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"name": "main STAGE"}, 409, "name"),
        ({"location": {"type": "Point", "coordinates": [-200, 40]}}, 422, "location.coordinates"),
        ({"location": {"type": "Polygon", "coordinates": []}}, 422, "location.type"),
        ({"location": "here"}, 422, "location"),
        ({"radius_m": 0}, 422, "radius_m"),
        ({"radius_m": 50_000}, 422, "radius_m"),
        ({"description": "d" * 1001}, 422, "description"),
        ({"name": "x" * 121}, 422, "name"),
    ],
)
def test_bad_posts_are_refused_naming_the_field(client, shared, change, status, field):
    body = {"name": "Second stage", "location": POINT} | change
    response = client.post(f"{shared['url']}/posts", json=body, headers=_h(shared, "lead"))
    error = assert_error(response, status, "conflict" if status == 409 else "invalid")
    assert any(p["field"] == field for p in error["fields"]), error


def test_shifts_and_posts_with_units_stay_until_the_units_go(client, world):
    engine = _assign(client, world, "fire").json()
    lead = _h(world, "lead")
    shift_url, post_url = (
        f"{world['url']}/shifts/{world['shifts']['Morning']}",
        f"{world['url']}/posts/{world['posts']['Main stage']}",
    )
    assert assert_error(client.delete(shift_url, headers=lead), 409, "conflict")["fields"][0]["field"] == "shift_id"
    assert assert_error(client.delete(post_url, headers=lead), 409, "conflict")["fields"][0]["field"] == "post_id"
    client.delete(f"{world['url']}/assignments/{engine['id']}", headers=_h(world, "fire"))
    assert client.delete(shift_url, headers=lead).status_code == 200
    assert client.delete(post_url, headers=lead).status_code == 200
    assert [s["name"] for s in client.get(f"{world['url']}/shifts", headers=lead).json()] == ["Afternoon", "Night"]
    everything = client.get(f"{world['url']}/shifts?include_removed=true", headers=lead).json()
    assert len(everything) == 3
    assert_error(client.delete(shift_url, headers=lead), 409, "conflict")
    assert_error(
        client.delete(f"{world['url']}/shifts/{world['shifts']['Night']}", headers=_h(world, "fire")), 403, "forbidden"
    )
    # The name of a removed post may be used again.
    assert (
        client.post(f"{world['url']}/posts", json={"name": "Main stage", "location": POINT}, headers=lead).status_code
        == 201
    )


def test_messages_carry_read_receipts_read_by_n_of_m(client, world, make_user):
    url = f"{world['url']}/messages"
    posted = client.post(
        url,
        json={"text": "Gates open at 10:00", "priority": "urgent", "post_id": world["posts"]["North gate"]},
        headers=_h(world, "lead"),
    )
    assert posted.status_code == 201, posted.text
    message = posted.json()
    # The author has read it; everyone of the three agencies with the read permission may.
    assert message["read_count"] == 1 and message["read_by_me"] is True
    assert message["audience"] == 6  # the six test users of the three agencies (the stranger is not one)
    mid = message["id"]
    fire_viewer = _h(world, "fire_viewer")
    mine = client.get(url, headers=fire_viewer).json()
    assert mine[0]["id"] == mid and mine[0]["read_by_me"] is False
    grid = client.get(world["url"], headers=fire_viewer).json()
    assert grid["unread"] == 1 and grid["urgent_unread"] == 1
    first = client.post(f"{url}/{mid}/read", headers=fire_viewer)
    assert first.status_code == 200, first.text
    again = client.post(f"{url}/{mid}/read", headers=fire_viewer)
    assert again.json()["read_at"] == first.json()["read_at"]  # the first read counts
    read = client.get(f"{url}/{mid}", headers=_h(world, "police")).json()
    assert read["read_count"] == 2 and read["audience"] == 6
    assert [r["reader_agency_id"] for r in read["read_by"]] == [str(world["ids"]["LEAD"]), str(world["ids"]["FIRE"])]
    assert read["read_by"][1]["reader_name"] == "Test Viewer"
    assert client.get(world["url"], headers=fire_viewer).json()["unread"] == 0
    # A new colleague joins the audience.
    make_user("viewer", world["shorts"]["POL"])
    assert client.get(f"{url}/{mid}", headers=_h(world, "police")).json()["audience"] == 7
    assert_error(client.post(f"{url}/{uuid.uuid4()}/read", headers=fire_viewer), 404, "not_found")
    assert_error(client.post(f"{url}/{mid}/read", headers=_h(world, "stranger")), 404, "not_found")


def test_mark_all_read_and_who_may_post(client, world):
    url = f"{world['url']}/messages"
    for who, words in (
        ("lead", "Briefing at 09:00"),
        ("police_logistics", "Barriers delivered"),
        ("fire", "Engine 4 in place"),
    ):
        assert client.post(url, json={"text": words}, headers=_h(world, who)).status_code == 201
    assert_error(client.post(url, json={"text": "hello"}, headers=_h(world, "fire_viewer")), 403, "forbidden")
    viewer = _h(world, "lead_viewer")
    assert client.get(world["url"], headers=viewer).json()["unread"] == 3
    assert client.post(f"{url}/read", headers=viewer).json() == {"marked": 3}
    assert client.post(f"{url}/read", headers=viewer).json() == {"marked": 0}
    listed = client.get(url, headers=viewer).json()
    assert [m["text"] for m in listed] == ["Engine 4 in place", "Barriers delivered", "Briefing at 09:00"]
    assert all(m["read_by_me"] for m in listed)
    assert listed[1]["author_agency_id"] == str(world["ids"]["POL"])


def test_messages_are_append_only_and_a_correction_is_a_new_message(client, world, db):
    url = f"{world['url']}/messages"
    first = client.post(url, json={"text": "Lost child at the north gate"}, headers=_h(world, "police")).json()
    fix = client.post(
        url, json={"text": "Lost child found, reunited", "corrects_id": first["id"]}, headers=_h(world, "fire")
    )
    assert fix.status_code == 201 and fix.json()["corrects_id"] == first["id"]
    client.post(f"{url}/{first['id']}/read", headers=_h(world, "fire_viewer"))
    texts = [m["text"] for m in client.get(url, headers=_h(world, "lead")).json()]
    assert texts == ["Lost child found, reunited", "Lost child at the north gate"]
    key = uuid.UUID(first["id"]).hex if db.get_bind().dialect.name == "sqlite" else first["id"]
    for statement in (
        "UPDATE board_messages SET text = 'changed' WHERE id = :id",
        "DELETE FROM board_messages WHERE id = :id",
        "UPDATE board_receipts SET read_at = read_at WHERE message_id = :id",
        "DELETE FROM board_receipts WHERE message_id = :id",
    ):
        with pytest.raises(Exception, match="append-only"):
            db.execute(text(statement), {"id": key})
        db.rollback()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"text": ""}, "text"),
        ({"text": "x" * 2001}, "text"),
        ({"text": "bell\x07"}, "text"),
        ({"text": "ok", "priority": "critical"}, "priority"),
        ({"text": "ok", "post_id": str(uuid.UUID(int=3))}, "post_id"),
        ({"text": "ok", "corrects_id": str(uuid.UUID(int=3))}, "corrects_id"),
        ({"text": "ok", "author": "someone else"}, "author"),
    ],
)
def test_bad_messages_are_refused_naming_the_field(client, shared, body, field):
    error = assert_error(
        client.post(f"{shared['url']}/messages", json=body, headers=_h(shared, "lead")), 422, "invalid"
    )
    assert any(p["field"] == field for p in error["fields"]), error


def test_a_closed_event_keeps_its_board_as_it_was(client, world):
    _assign(client, world, "fire")
    message = client.post(f"{world['url']}/messages", json={"text": "All clear"}, headers=_h(world, "lead")).json()
    incident = f"/api/v1/incidents/{world['incident_id']}"
    client.patch(incident, json={"status": "closed"}, headers=_h(world, "lead"))
    assert_error(_assign(client, world, "fire", unit="Engine 8"), 409, "conflict")
    refused = client.post(f"{world['url']}/messages", json={"text": "late"}, headers=_h(world, "lead"))
    assert assert_error(refused, 409, "conflict")["fields"][0]["field"] == "status"
    # Reading stays possible, and so does saying one has read.
    assert client.get(world["url"], headers=_h(world, "police")).json()["status"] == "closed"
    assert client.post(f"{world['url']}/messages/{message['id']}/read", headers=_h(world, "police")).status_code == 200


def test_every_change_is_audited_and_announced_with_ids_only(client, world, db):
    engine = _assign(client, world, "fire").json()
    client.patch(f"{world['url']}/assignments/{engine['id']}", json={"people": 5}, headers=_h(world, "fire"))
    client.delete(f"{world['url']}/assignments/{engine['id']}", headers=_h(world, "fire"))
    message = client.post(f"{world['url']}/messages", json={"text": "Secret plan"}, headers=_h(world, "lead")).json()
    client.post(f"{world['url']}/messages/{message['id']}/read", headers=_h(world, "police"))
    client.post(f"{world['url']}/messages/read", headers=_h(world, "fire"))
    refused = _assign(client, world, "police", unit="Engine 9")  # 403: nothing audited as done, nothing announced
    assert refused.status_code == 403
    db.rollback()
    actions = db.scalars(
        text("SELECT action FROM audit_events WHERE object_id = :id AND outcome = 'success' ORDER BY seq"),
        {"id": world["incident_id"]},
    ).all()
    assert actions == [
        "operations.incident.create",
        *["operations.board.shift.add"] * 3,
        *["operations.board.post.add"] * 2,
        "operations.board.assignment.add",
        "operations.board.assignment.update",
        "operations.board.assignment.remove",
        "operations.board.message.post",
        "operations.board.message.read",
        "operations.board.message.read",
    ]
    rows = db.execute(
        text(
            "SELECT kind, object_type, object_id, payload FROM event_outbox WHERE kind LIKE 'board.%' ORDER BY id DESC LIMIT 13"
        )
    ).all()
    mine = [
        r
        for r in rows
        if (r[3] if isinstance(r[3], dict) else json.loads(r[3])).get("incident_id") == world["incident_id"]
    ]
    assert [(k, t) for k, t, _, _ in reversed(mine)] == [
        ("board.shift.added", "board_shift"),
        ("board.shift.added", "board_shift"),
        ("board.shift.added", "board_shift"),
        ("board.post.added", "board_post"),
        ("board.post.added", "board_post"),
        ("board.assignment.added", "board_assignment"),
        ("board.assignment.changed", "board_assignment"),
        ("board.assignment.removed", "board_assignment"),
        ("board.message.posted", "board_message"),
        ("board.message.read", "board_receipt"),
        ("board.message.read", "board_receipt"),
    ]
    for _, _, _, payload in mine:
        body = payload if isinstance(payload, dict) else json.loads(payload)
        assert "Secret" not in json.dumps(body)
        assert set(body) <= {"incident_id", "shift_id", "post_id", "priority", "count"}


def test_live_events_reach_only_the_agencies_taking_part(client, world, db):
    engine = _assign(client, world, "fire").json()
    message = client.post(f"{world['url']}/messages", json={"text": "Heat warning"}, headers=_h(world, "lead")).json()
    batch = [
        Event(
            id=1,
            prev_id=None,
            kind="board.assignment.added",
            object_type="board_assignment",
            object_id=engine["id"],
            occurred_at=utcnow(),
            agency_id=None,
            payload={"incident_id": world["incident_id"]},
        ),
        Event(
            id=2,
            prev_id=1,
            kind="board.message.posted",
            object_type="board_message",
            object_id=message["id"],
            occurred_at=utcnow(),
            agency_id=None,
            payload={"incident_id": world["incident_id"]},
        ),
        Event(
            id=3,
            prev_id=2,
            kind="board.message.read",
            object_type="board_receipt",
            object_id=message["id"],
            occurred_at=utcnow(),
            agency_id=None,
            payload={"incident_id": world["incident_id"]},
        ),
        Event(
            id=4,
            prev_id=3,
            kind="board.shift.added",
            object_type="board_shift",
            object_id=world["shifts"]["Night"],
            occurred_at=utcnow(),
            agency_id=None,
            payload={"incident_id": world["incident_id"]},
        ),
        Event(
            id=5,
            prev_id=4,
            kind="board.post.added",
            object_type="board_post",
            object_id=world["posts"]["North gate"],
            occurred_at=utcnow(),
            agency_id=None,
            payload={"incident_id": world["incident_id"]},
        ),
    ]
    db.rollback()
    for who, expected in (("fire_viewer", [1, 2, 3, 4, 5]), ("police", [1, 2, 3, 4, 5]), ("stranger", [])):
        user = world["people"][who][1]
        actor = actor_for(db, user_id=user["id"], username=user["username"], display_name="t", auth_method="token")
        assert [e.id for e in visible_events(db, actor, batch)] == expected, who


def test_the_board_is_the_same_for_every_reader_and_reads_are_not_writes(client, world, db):
    _assign(client, world, "fire")
    db.rollback()
    before = db.scalar(text("SELECT count(*) FROM audit_events"))
    for who in ("lead", "police", "fire_viewer"):
        grid = client.get(world["url"], headers=_h(world, who)).json()
        assert grid["rows"][0]["cells"][0]["assignments"][0]["unit"] == "Engine 4"
    db.rollback()
    assert db.scalar(text("SELECT count(*) FROM audit_events")) == before
    assert db.scalar(select(Agency.id).where(Agency.id == world["ids"]["FAR"])) is not None
