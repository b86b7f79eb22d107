"""Incidents (issue 5, first slice): opening, the lifecycle, participating agencies, the
append-only activity log, and who sees what (ADR 14) — on both databases."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text

from accord.core.time import utcnow
from accord.directory.models import Agency
from tests.conftest import assert_error

AREA = {
    "type": "Polygon",
    "coordinates": [[[-83.40, 34.90], [-83.20, 34.90], [-83.20, 35.05], [-83.40, 35.05], [-83.40, 34.90]]],
}


@pytest.fixture
def world(db: Any, as_user: Any) -> dict[str, Any]:
    """Three agencies of their own: the lead, a participant, and a stranger with no
    partnership or agreement with either."""
    tag = uuid.uuid4().hex[:5].upper()
    ids = {}
    for name in ("LEAD", "HELP", "FAR"):
        agency = Agency(
            name=f"Incident test {name} {tag}",
            short_name=f"I{name}{tag}",
            kind="police",
            level="local",
            jurisdiction_name="Test",
        )
        db.add(agency)
        db.flush()
        ids[name] = (agency.id, agency.short_name)
    db.commit()
    people = {
        "commander": as_user("commander", ids["LEAD"][1]),
        "lead_viewer": as_user("viewer", ids["LEAD"][1]),
        "helper": as_user("commander", ids["HELP"][1]),
        "helper_viewer": as_user("viewer", ids["HELP"][1]),
        "stranger": as_user("commander", ids["FAR"][1]),
    }
    return {"ids": {k: v[0] for k, v in ids.items()}, "people": people}


def _open(client: Any, world: dict[str, Any], **fields: Any) -> dict[str, Any]:
    body = {
        "lead_agency_id": str(world["ids"]["LEAD"]),
        "name": "Harrow River flood",
        "type": "flood",
        "severity": "severe",
        "tier": "AMBER",
        "area": AREA,
        "participants": [str(world["ids"]["HELP"])],
    } | fields
    response = client.post("/api/v1/incidents", json=body, headers=world["people"]["commander"][0])
    assert response.status_code == 201, response.text
    return response.json()


def test_a_commander_opens_an_incident_with_a_number_and_its_participants(client, world):
    incident = _open(client, world)
    assert incident["status"] == "reported" and incident["number"].startswith(f"{utcnow().year}-")
    assert [p["agency_id"] for p in incident["participants"]] == [str(world["ids"]["HELP"])]
    assert incident["taking_part"] is True
    second = _open(client, world, name="Second incident")
    assert int(second["number"][-4:]) == int(incident["number"][-4:]) + 1


def test_participants_see_the_whole_incident_and_strangers_see_nothing(client, world):
    incident = _open(client, world)
    url = f"/api/v1/incidents/{incident['id']}"
    for who in ("lead_viewer", "helper_viewer"):
        headers = world["people"][who][0]
        assert client.get(url, headers=headers).json()["taking_part"] is True
        assert client.get(f"{url}/log", headers=headers).status_code == 200
    stranger = world["people"]["stranger"][0]
    assert_error(client.get(url, headers=stranger), 404, "not_found")
    assert_error(client.get(f"{url}/log", headers=stranger), 404, "not_found")
    listed = client.get("/api/v1/incidents", headers=stranger).json()
    assert incident["id"] not in [i["id"] for i in listed["items"]]
    missing = client.get(f"/api/v1/incidents/{uuid.uuid4()}", headers=stranger)
    hidden = client.get(url, headers=stranger).json()["error"]
    assert {**missing.json()["error"], "request_id": ""} == {**hidden, "request_id": ""}  # not allowed = not there


def test_a_clear_incident_is_seen_by_everyone_but_its_log_is_for_participants(client, world):
    incident = _open(client, world, tier="CLEAR")
    stranger = world["people"]["stranger"][0]
    seen = client.get(f"/api/v1/incidents/{incident['id']}", headers=stranger)
    assert seen.status_code == 200 and seen.json()["taking_part"] is False
    assert_error(client.get(f"/api/v1/incidents/{incident['id']}/log", headers=stranger), 404, "not_found")
    refused = client.post(f"/api/v1/incidents/{incident['id']}/log", json={"text": "on scene"}, headers=stranger)
    assert_error(refused, 403, "forbidden")


def test_the_lifecycle_moves_only_forward_and_names_the_allowed_steps(client, world):
    incident = _open(client, world)
    url, headers = f"/api/v1/incidents/{incident['id']}", world["people"]["commander"][0]
    illegal = client.patch(url, json={"status": "contained"}, headers=headers)
    body = assert_error(illegal, 409, "conflict")
    assert "reported cannot become contained" in body["message"] and "active" in body["message"]
    for status in ("active", "contained", "active", "closed"):
        moved = client.patch(url, json={"status": status}, headers=headers)
        assert moved.status_code == 200 and moved.json()["status"] == status
    assert moved.json()["closed_at"] is not None
    assert_error(client.patch(url, json={"severity": "minor"}, headers=headers), 409, "conflict")


def test_only_the_lead_agency_steers_the_incident(client, world):
    incident = _open(client, world)
    url = f"/api/v1/incidents/{incident['id']}"
    assert_error(client.patch(url, json={"status": "active"}, headers=world["people"]["helper"][0]), 403, "forbidden")
    assert_error(client.patch(url, json={"status": "active"}, headers=world["people"]["stranger"][0]), 404, "not_found")


def test_an_agency_joins_and_then_sees_the_log(client, world):
    incident = _open(client, world, participants=[])
    url = f"/api/v1/incidents/{incident['id']}"
    stranger = world["people"]["stranger"][0]
    assert client.get(url, headers=stranger).status_code == 404
    joined = client.post(
        f"{url}/participants", json={"agency_id": str(world["ids"]["FAR"])}, headers=world["people"]["commander"][0]
    )
    assert joined.status_code == 201, joined.text
    assert client.get(f"{url}/log", headers=stranger).status_code == 200
    again = client.post(
        f"{url}/participants", json={"agency_id": str(world["ids"]["FAR"])}, headers=world["people"]["commander"][0]
    )
    assert assert_error(again, 409, "conflict")["fields"][0]["field"] == "agency_id"


def test_the_activity_log_is_append_only_and_corrections_are_new_entries(client, world, db):
    incident = _open(client, world)
    url = f"/api/v1/incidents/{incident['id']}/log"
    helper = world["people"]["helper"][0]
    first = client.post(url, json={"text": "Engine 4 on scene at the bridge", "unit": "Engine 4"}, headers=helper)
    assert first.status_code == 201, first.text
    entry = first.json()
    assert entry["author_agency_id"] == str(world["ids"]["HELP"])
    fix = client.post(url, json={"text": "Engine 4 at the north bridge", "corrects_id": entry["id"]}, headers=helper)
    assert fix.status_code == 201 and fix.json()["corrects_id"] == entry["id"]
    log = client.get(url, headers=world["people"]["lead_viewer"][0]).json()
    assert [e["text"] for e in log] == ["Engine 4 on scene at the bridge", "Engine 4 at the north bridge"]
    for statement in ("UPDATE incident_activity SET text = 'changed'", "DELETE FROM incident_activity"):
        with pytest.raises(Exception, match="append-only"):
            db.execute(
                text(f"{statement} WHERE id = :id"),
                {"id": uuid.UUID(entry["id"]).hex if db.get_bind().dialect.name == "sqlite" else entry["id"]},
            )
        db.rollback()


def test_every_change_writes_its_audit_event(client, world, db):
    incident = _open(client, world)
    headers = world["people"]["commander"][0]
    client.patch(f"/api/v1/incidents/{incident['id']}", json={"status": "active"}, headers=headers)
    client.post(f"/api/v1/incidents/{incident['id']}/log", json={"text": "Command post set up"}, headers=headers)
    db.rollback()
    actions = db.scalars(
        text("SELECT action FROM audit_events WHERE object_id = :id ORDER BY seq"), {"id": incident["id"]}
    ).all()
    assert actions == ["operations.incident.create", "operations.incident.update", "operations.activity.log"]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"type": "volcano"}, "type"),
        ({"severity": "bad"}, "severity"),
        ({"tier": "RED"}, "tier"),
        ({"name": "x"}, "name"),
        ({"area": {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [0, 0]]]}}, "area"),
        ({"location": {"type": "Point", "coordinates": [-200, 35]}}, "location.coordinates"),
        ({"started_at": "2026-11-22T10:00:00"}, "started_at"),
        ({"participants": [str(uuid.UUID(int=7))]}, "participants[0]"),
        ({"lead_agency_id": str(uuid.UUID(int=9))}, "lead_agency_id"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_bad_incidents_are_refused_naming_the_field(client, world, fields, field):
    body = {"lead_agency_id": str(world["ids"]["LEAD"]), "name": "Test", "type": "flood", "severity": "minor"} | fields
    response = client.post("/api/v1/incidents", json=body, headers=world["people"]["commander"][0])
    assert response.status_code == 422, response.text
    assert any(field in p["field"] for p in response.json()["error"]["fields"]), response.json()


def test_bad_log_entries_are_refused_naming_the_field(client, world):
    incident = _open(client, world)
    url, headers = f"/api/v1/incidents/{incident['id']}/log", world["people"]["commander"][0]
    future = (utcnow() + timedelta(hours=2)).isoformat()
    for body, field in [
        ({"text": ""}, "text"),
        ({"text": "x", "occurred_at": future}, "occurred_at"),
        ({"text": "x", "corrects_id": str(uuid.uuid4())}, "corrects_id"),
    ]:
        response = client.post(url, json=body, headers=headers)
        assert response.status_code == 422, response.text
        assert any(field in p["field"] for p in response.json()["error"]["fields"]), response.json()


def test_every_change_announces_a_live_event_after_commit(client, world, db):
    """Ids and states only: recipients re-read the incident through authz.scope."""
    incident = _open(client, world)
    headers = world["people"]["commander"][0]
    client.patch(f"/api/v1/incidents/{incident['id']}", json={"status": "active"}, headers=headers)
    client.post(f"/api/v1/incidents/{incident['id']}/log", json={"text": "Command post set up"}, headers=headers)
    refused = client.patch(f"/api/v1/incidents/{incident['id']}", json={"status": "reported"}, headers=headers)
    assert refused.status_code == 409
    db.rollback()
    rows = db.execute(
        text("SELECT kind, payload FROM event_outbox WHERE object_id = :id ORDER BY id"), {"id": incident["id"]}
    ).all()
    assert [kind for kind, _ in rows] == ["incident.created", "incident.updated"]
    payloads = [p if isinstance(p, dict) else json.loads(p) for _, p in rows]
    assert payloads[1] == {"status": "active", "changed": ["status"]}
    assert all(set(p) <= {"status", "changed", "agency_id"} for p in payloads)
    # A log entry is its own object: only those who may read the log receive it.
    logged = db.execute(
        text("SELECT object_type, payload FROM event_outbox WHERE kind = 'incident.activity.logged' ORDER BY id DESC")
    ).first()
    assert logged is not None and logged[0] == "activity"
    assert (logged[1] if isinstance(logged[1], dict) else json.loads(logged[1])) == {"incident_id": incident["id"]}


def test_a_planned_event_may_start_in_the_future_and_an_incident_may_not(client, world):
    later = (utcnow() + timedelta(days=3)).isoformat()
    planned = _open(client, world, type="planned_event", name="Riverfest", started_at=later)
    assert planned["type"] == "planned_event"
    body = {"lead_agency_id": str(world["ids"]["LEAD"]), "name": "Flood", "type": "flood", "severity": "minor"}
    refused = client.post(
        "/api/v1/incidents", json=body | {"started_at": later}, headers=world["people"]["commander"][0]
    )
    assert assert_error(refused, 422, "invalid")["fields"][0]["field"] == "started_at"
