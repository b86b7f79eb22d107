"""Unified command, operational periods and objectives, tasks and the status board, map
layers and the operating picture (issue 5, parts 1 and 3) — on both databases."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest

from accord.core.time import utcnow
from accord.directory.models import Agency, Person
from tests.conftest import api_token, assert_error, bearer, unique

AREA = {
    "type": "Polygon",
    "coordinates": [[[-77.10, 40.90], [-77.00, 40.90], [-77.00, 41.00], [-77.10, 41.00], [-77.10, 40.90]]],
}
POINT = {"type": "Point", "coordinates": [-77.05, 40.95]}


@pytest.fixture(scope="module")
def people(app: Any, session_factory: Any) -> dict[str, Any]:
    """Agencies and signed-in people made once for this file (sign-ins cost argon2 time)."""
    from fastapi.testclient import TestClient

    from accord.accounts.service import create_user_unchecked
    from accord.seed import DEMO_PASSWORD, system_actor

    tag = uuid.uuid4().hex[:5].upper()
    with session_factory() as db:
        ids = {}
        for name in ("LEAD", "HELP", "FAR"):
            agency = Agency(
                name=f"Command test {name} {tag}",
                short_name=f"C{name}{tag}",
                kind="fire",
                level="local",
                jurisdiction_name="Test",
            )
            db.add(agency)
            db.flush()
            ids[name] = agency.id
        person = Person(agency_id=ids["HELP"], full_name="Dana Whitfield", title="Battalion Chief", phone="555-0199")
        db.add(person)
        names = {}
        for key, role, agency in [
            ("commander", "commander", "LEAD"),
            ("lead_viewer", "viewer", "LEAD"),
            ("helper", "commander", "HELP"),
            ("helper_logistics", "logistics", "HELP"),
            ("helper_viewer", "viewer", "HELP"),
            ("stranger", "commander", "FAR"),
        ]:
            names[key] = unique(f"{key.replace('_', '')}-")
            create_user_unchecked(
                db,
                actor=system_actor("test"),
                username=names[key],
                display_name=key.replace("_", " ").title(),
                email="",
                password=DEMO_PASSWORD,
                agency_id=ids[agency],
                role=role,
                check_password_policy=False,
            )
        db.commit()
        person_id = person.id
    with TestClient(app) as client:
        headers = {key: bearer(api_token(client, name)) for key, name in names.items()}
    return {"ids": ids, "person": person_id, "people": headers}


@pytest.fixture
def world(client: Any, people: dict[str, Any]) -> dict[str, Any]:
    """A fresh incident led by LEAD with HELP taking part; FAR has nothing to do with it."""
    body = {
        "lead_agency_id": str(people["ids"]["LEAD"]),
        "name": "River Road flood",
        "type": "flood",
        "severity": "severe",
        "tier": "AMBER",
        "area": AREA,
        "participants": [str(people["ids"]["HELP"])],
    }
    incident = client.post("/api/v1/incidents", json=body, headers=people["people"]["commander"]).json()
    return people | {"incident": incident, "url": f"/api/v1/incidents/{incident['id']}"}


def test_unified_command_seats_one_commander_per_agency_and_keeps_the_history(client, world):
    url, h, ids = world["url"], world["people"], world["ids"]
    lead_ic = client.post(
        f"{url}/command",
        json={"position": "incident_commander", "agency_id": str(ids["LEAD"]), "person_name": "Frank DeLuca"},
        headers=h["commander"],
    )
    assert lead_ic.status_code == 201, lead_ic.text
    # Before it holds a seat, the helping agency may only name its own incident commander.
    refused = client.post(
        f"{url}/command",
        json={"position": "safety_officer", "agency_id": str(ids["HELP"]), "person_name": "Someone"},
        headers=h["helper"],
    )
    assert_error(refused, 403, "forbidden")
    help_ic = client.post(
        f"{url}/command",
        json={"position": "incident_commander", "agency_id": str(ids["HELP"]), "person_id": str(world["person"])},
        headers=h["helper"],
    )
    assert help_ic.status_code == 201, help_ic.text
    assert help_ic.json()["person_name"] == "Dana Whitfield" and help_ic.json()["contact"] == "555-0199"
    # Seated now: it organises the incident like the lead does.
    safety = client.post(
        f"{url}/command",
        json={"position": "safety_officer", "agency_id": str(ids["HELP"]), "person_name": "Lee Park"},
        headers=h["helper"],
    )
    assert safety.status_code == 201, safety.text
    replaced = client.post(
        f"{url}/command",
        json={"position": "safety_officer", "agency_id": str(ids["LEAD"]), "person_name": "Ana Ruiz"},
        headers=h["commander"],
    )
    assert replaced.status_code == 201
    current = client.get(f"{url}/command?current=true", headers=h["helper_viewer"]).json()
    seats = sorted((c["position"], c["person_name"]) for c in current)
    assert seats == [
        ("incident_commander", "Dana Whitfield"),
        ("incident_commander", "Frank DeLuca"),
        ("safety_officer", "Ana Ruiz"),
    ]
    history = client.get(f"{url}/command", headers=h["lead_viewer"]).json()
    lee = next(c for c in history if c["person_name"] == "Lee Park")
    assert lee["ended_at"] is not None
    ended = client.post(f"{url}/command/{replaced.json()['id']}/end", headers=h["commander"])
    assert ended.status_code == 200 and ended.json()["ended_at"] is not None
    assert_error(client.post(f"{url}/command/{replaced.json()['id']}/end", headers=h["commander"]), 409, "conflict")
    # A closed incident's organisation stays as it was.
    for status in ("active", "closed"):
        assert client.patch(url, json={"status": status}, headers=h["commander"]).status_code == 200
    closed = client.post(f"{url}/command/{help_ic.json()['id']}/end", headers=h["commander"])
    assert "closed" in assert_error(closed, 409, "conflict")["message"]
    assert_error(client.get(f"{url}/command", headers=h["stranger"]), 404, "not_found")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"position": "chief_of_everything", "person_name": "X Y"}, "position"),
        ({"position": "division_supervisor", "person_name": "X Y"}, "label"),
        ({"position": "safety_officer"}, "person_name"),
        ({"position": "safety_officer", "person_id": str(uuid.uuid4())}, "person_id"),
        ({"position": "safety_officer", "person_name": "X Y", "agency": "nope"}, "agency"),
    ],
)
def test_bad_command_assignments_name_the_field(client, world, body, field):
    body = {"agency_id": str(world["ids"]["LEAD"])} | body
    response = client.post(f"{world['url']}/command", json=body, headers=world["people"]["commander"])
    assert response.status_code == 422, response.text
    assert any(field in p["field"] for p in response.json()["error"]["fields"])


def test_an_agency_not_taking_part_cannot_hold_a_position(client, world):
    body = {"position": "liaison_officer", "agency_id": str(world["ids"]["FAR"]), "person_name": "Pat Doe"}
    response = client.post(f"{world['url']}/command", json=body, headers=world["people"]["commander"])
    assert assert_error(response, 422, "invalid")["fields"][0]["field"] == "agency_id"


def test_operational_periods_follow_one_another_with_their_objectives(client, world):
    url, h = world["url"], world["people"]
    start = utcnow().replace(microsecond=0)
    first = client.post(
        f"{url}/periods",
        json={
            "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(hours=12)).isoformat(),
            "objectives": ["Evacuate River Road", "Keep Route 45 open"],
        },
        headers=h["commander"],
    )
    assert first.status_code == 201, first.text
    period = first.json()
    assert period["number"] == 1 and [o["text"] for o in period["objectives"]] == [
        "Evacuate River Road",
        "Keep Route 45 open",
    ]
    overlapping = client.post(
        f"{url}/periods",
        json={
            "starts_at": (start + timedelta(hours=6)).isoformat(),
            "ends_at": (start + timedelta(hours=18)).isoformat(),
        },
        headers=h["commander"],
    )
    assert assert_error(overlapping, 409, "conflict")["fields"][0]["field"] == "starts_at"
    backwards = client.post(
        f"{url}/periods",
        json={
            "starts_at": (start + timedelta(hours=13)).isoformat(),
            "ends_at": (start + timedelta(hours=12)).isoformat(),
        },
        headers=h["commander"],
    )
    assert assert_error(backwards, 422, "invalid")["fields"][0]["field"] == "ends_at"
    added = client.post(
        f"{url}/periods/{period['id']}/objectives", json={"text": "Open a shelter"}, headers=h["commander"]
    )
    assert added.status_code == 201 and added.json()["position"] == 3
    done = client.patch(f"{url}/objectives/{added.json()['id']}", json={"status": "achieved"}, headers=h["commander"])
    assert done.status_code == 200 and done.json()["status"] == "achieved"
    assert_error(client.post(f"{url}/periods", json={}, headers=h["helper"]), 422, "invalid")
    refused = client.post(f"{url}/periods/{period['id']}/objectives", json={"text": "Not my call"}, headers=h["helper"])
    assert_error(refused, 403, "forbidden")
    listed = client.get(f"{url}/periods", headers=h["helper_viewer"]).json()
    assert [len(p["objectives"]) for p in listed] == [3]


def test_tasks_move_along_the_board_and_illegal_steps_are_refused(client, world):
    url, h, ids = world["url"], world["people"], world["ids"]
    created = client.post(
        f"{url}/tasks",
        json={
            "title": "Sandbag the Elm Street pump station",
            "assigned_agency_id": str(ids["HELP"]),
            "assigned_unit": "Engine 7",
            "priority": "urgent",
            "due_at": (utcnow() + timedelta(hours=2)).isoformat(),
            "location": POINT,
        },
        headers=h["commander"],
    )
    assert created.status_code == 201, created.text
    task = created.json()
    assert task["number"] == 1 and task["status"] == "assigned" and task["updates"][0]["location"] == POINT
    task_url = f"{url}/tasks/{task['id']}/updates"
    # The assigned agency's logistics staff report on it.
    started = client.post(task_url, json={"status": "in_progress", "text": "On scene"}, headers=h["helper_logistics"])
    assert started.status_code == 201, started.text
    moved = client.post(
        task_url, json={"location": {"type": "Point", "coordinates": [-77.04, 40.96]}}, headers=h["helper"]
    )
    assert moved.json()["location"]["coordinates"] == [-77.04, 40.96]
    assert client.post(task_url, json={"status": "done"}, headers=h["helper"]).json()["status"] == "done"
    illegal = client.post(task_url, json={"status": "in_progress"}, headers=h["helper"])
    assert "done cannot become in progress" in assert_error(illegal, 409, "conflict")["message"]
    assert_error(client.post(task_url, json={}, headers=h["helper"]), 422, "invalid")
    already = client.post(task_url, json={"status": "done"}, headers=h["helper"])
    assert "already done" in assert_error(already, 409, "conflict")["message"]
    board = client.get(f"{url}/task-board", headers=h["lead_viewer"]).json()
    assert [t["number"] for t in board["columns"]["done"]] == [1] and board["overdue"] == 0
    assert [
        u["status"] for u in client.get(f"{url}/tasks/{task['id']}", headers=h["helper_viewer"]).json()["updates"]
    ] == [
        "assigned",
        "in_progress",
        None,
        "done",
    ]
    assert_error(client.get(f"{url}/tasks/{task['id']}", headers=h["stranger"]), 404, "not_found")
    assert_error(client.get(f"{url}/task-board", headers=h["stranger"]), 404, "not_found")


@pytest.mark.parametrize(
    ("body", "field", "status"),
    [
        ({"title": "x"}, "title", 422),
        ({"title": "Valid title", "location": {"type": "Point", "coordinates": [200, 40]}}, "location", 422),
        ({"title": "Valid title", "due_at": "2026-12-01T10:00:00"}, "due_at", 422),
        ({"title": "Valid title", "priority": "whenever"}, "priority", 422),
        ({"title": "Valid title", "objective_id": str(uuid.uuid4())}, "objective_id", 422),
        ({"title": "Valid title", "assigned_agency_id": "FAR"}, "assigned_agency_id", 422),
    ],
)
def test_bad_tasks_name_the_field(client, world, body, field, status):
    if body.get("assigned_agency_id") == "FAR":
        body = body | {"assigned_agency_id": str(world["ids"]["FAR"])}
    body = {"assigned_agency_id": str(world["ids"]["HELP"])} | body
    response = client.post(f"{world['url']}/tasks", json=body, headers=world["people"]["commander"])
    assert response.status_code == status, response.text
    assert any(field in p["field"] for p in response.json()["error"]["fields"]), response.json()


def test_only_agencies_taking_part_write_tasks_and_viewers_never(client, world):
    body = {"title": "Check the levee", "assigned_agency_id": str(world["ids"]["HELP"])}
    assert_error(client.post(f"{world['url']}/tasks", json=body, headers=world["people"]["stranger"]), 404, "not_found")
    assert_error(
        client.post(f"{world['url']}/tasks", json=body, headers=world["people"]["helper_viewer"]), 403, "forbidden"
    )


def test_the_picture_shows_tasks_where_they_were_at_the_moment_asked(client, world):
    url, h, ids = world["url"], world["people"], world["ids"]
    task = client.post(
        f"{url}/tasks",
        json={"title": "Patrol the levee", "assigned_agency_id": str(ids["HELP"]), "location": POINT},
        headers=h["commander"],
    ).json()
    before_move = utcnow()
    client.post(
        f"{url}/tasks/{task['id']}/updates",
        json={"location": {"type": "Point", "coordinates": [-77.02, 40.97]}},
        headers=h["helper"],
    )
    now = client.get("/api/v1/map/tasks.geojson", headers=h["helper_viewer"])
    assert now.headers["content-type"].startswith("application/geo+json")
    mine = [f for f in now.json()["features"] if f["properties"]["id"] == task["id"]]
    assert mine[0]["geometry"]["coordinates"] == [-77.02, 40.97]
    earlier = client.get(
        "/api/v1/map/tasks.geojson", params={"at": before_move.isoformat()}, headers=h["helper_viewer"]
    )
    then = [f for f in earlier.json()["features"] if f["properties"]["id"] == task["id"]]
    assert then[0]["geometry"]["coordinates"] == POINT["coordinates"]
    stranger = client.get("/api/v1/map/tasks.geojson", headers=h["stranger"]).json()
    assert task["id"] not in [f["properties"]["id"] for f in stranger["features"]]
    incidents = client.get("/api/v1/map/incidents.geojson", headers=h["lead_viewer"]).json()
    assert world["incident"]["id"] in [f["properties"]["id"] for f in incidents["features"]]
    hidden = client.get("/api/v1/map/incidents.geojson", headers=h["stranger"]).json()
    assert world["incident"]["id"] not in [f["properties"]["id"] for f in hidden["features"]]
    for at, reason in [("2020-01-01T00:00:00Z", "24 hours"), ((utcnow() + timedelta(hours=2)).isoformat(), "future")]:
        refused = client.get("/api/v1/map/tasks.geojson", params={"at": at}, headers=h["lead_viewer"])
        assert reason in assert_error(refused, 422, "invalid")["message"]


def test_agencies_publish_layers_seen_as_their_tier_allows(client, world):
    h, ids = world["people"], world["ids"]
    layer = {
        "agency_id": str(ids["LEAD"]),
        "name": "Sandbag stations",
        "tier": "CLEAR",
        "features": {
            "type": "FeatureCollection",
            "features": [{"type": "Feature", "geometry": POINT, "properties": {"name": "Elm St", "open": True}}],
        },
    }
    published = client.post("/api/v1/map/layers", json=layer, headers=h["commander"])
    assert published.status_code == 201, published.text
    layer_id = published.json()["id"]
    seen = client.get(f"/api/v1/map/layers/{layer_id}.geojson", headers=h["stranger"]).json()
    assert seen["features"][0]["properties"] == {"name": "Elm St", "open": True, "layer": "Sandbag stations"}
    private = client.post("/api/v1/map/layers", json=layer | {"tier": "AMBER"}, headers=h["commander"])
    assert private.json()["id"] == layer_id  # same name: replaced
    assert_error(client.get(f"/api/v1/map/layers/{layer_id}.geojson", headers=h["stranger"]), 404, "not_found")
    assert layer_id in [item["id"] for item in client.get("/api/v1/map/layers", headers=h["lead_viewer"]).json()]
    assert_error(client.post("/api/v1/map/layers", json=layer, headers=h["helper"]), 403, "forbidden")
    bad = client.post(
        "/api/v1/map/layers",
        json=layer
        | {
            "features": {
                "type": "FeatureCollection",
                "features": [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [1]}}],
            }
        },
        headers=h["commander"],
    )
    assert assert_error(bad, 422, "invalid")["fields"][0]["field"] == "features.features[0].geometry.coordinates"
    assert_error(client.delete(f"/api/v1/map/layers/{layer_id}", headers=h["helper"]), 404, "not_found")
    assert client.delete(f"/api/v1/map/layers/{layer_id}", headers=h["commander"]).status_code == 204
    assert_error(client.get(f"/api/v1/map/layers/{layer_id}.geojson", headers=h["lead_viewer"]), 404, "not_found")
    assert layer_id not in [item["id"] for item in client.get("/api/v1/map/layers", headers=h["lead_viewer"]).json()]
    assert_error(client.delete(f"/api/v1/map/layers/{layer_id}", headers=h["commander"]), 404, "not_found")
    # Publishing under the same name brings it back.
    again = client.post("/api/v1/map/layers", json=layer, headers=h["commander"])
    assert again.status_code == 201 and again.json()["id"] == layer_id
    assert client.get(f"/api/v1/map/layers/{layer_id}.geojson", headers=h["stranger"]).status_code == 200
