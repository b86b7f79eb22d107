"""CAP alerts out (issue 5, part 7): an incident's public alert composed from the incident,
published as CAP 1.2 (valid against the official OASIS schema), updated and cancelled with
``references``; the public Atom feed and documents; who may publish; audit and live events."""

from __future__ import annotations

import functools
import hashlib
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
import xmlschema
from lxml import etree
from sqlalchemy import text

from accord.core.ratelimit import SlidingWindowLimiter
from accord.directory.models import Agency
from accord.formats.cap import CAP_XSD_PATH, parse_cap
from accord.operations.vocab import INCIDENT_TYPES
from tests.conftest import assert_error

REPO = Path(__file__).resolve().parents[1]
OFFICIAL_XSD = REPO.parent / "shared" / "standards" / "cap" / "CAP-v1.2.xsd"
ATOM = "{http://www.w3.org/2005/Atom}"
AREA = {
    "type": "Polygon",
    "coordinates": [[[-76.86, 40.93], [-76.70, 40.91], [-76.72, 40.87], [-76.86, 40.88], [-76.86, 40.93]]],
}


@functools.cache
def official_schema() -> xmlschema.XMLSchema:
    """The OASIS schema from ../shared/standards/cap when present (the copy vendored in
    the package must be identical to it), else the vendored copy: a fresh clone runs too."""
    if OFFICIAL_XSD.is_file():
        assert OFFICIAL_XSD.read_bytes() == CAP_XSD_PATH.read_bytes()
        return xmlschema.XMLSchema(str(OFFICIAL_XSD))
    return xmlschema.XMLSchema(str(CAP_XSD_PATH))


def assert_official(xml: bytes) -> None:
    errors = list(official_schema().iter_errors(xml.decode()))
    assert not errors, errors[0]


@pytest.fixture(scope="module")
def world(app: Any, session_factory: Any) -> dict[str, Any]:
    return make_world(app, session_factory)


def make_world(app: Any, session_factory: Any) -> dict[str, Any]:
    """Three agencies of their own (the lead, a participant, a stranger) and their people,
    made once per module: accounts are slow to make (argon2) and the tests only read them."""
    from fastapi.testclient import TestClient

    from accord.accounts.service import create_user_unchecked
    from accord.seed import DEMO_PASSWORD, system_actor
    from tests.conftest import api_token, bearer, unique

    tag = uuid.uuid4().hex[:5].upper()
    ids: dict[str, tuple[uuid.UUID, str]] = {}
    roles = {
        "commander": ("commander", "LEAD"),
        "analyst": ("analyst", "LEAD"),
        "viewer": ("viewer", "LEAD"),
        "helper": ("commander", "HELP"),
        "stranger": ("commander", "FAR"),
    }
    users: dict[str, dict[str, Any]] = {}
    with session_factory() as db:
        for name in ("LEAD", "HELP", "FAR"):
            agency = Agency(
                name=f"Alert test {name} {tag}",
                short_name=f"A{name}{tag}",
                kind="police",
                level="local",
                jurisdiction_name="Test",
                duty_phone="+1-570-555-0199",
            )
            db.add(agency)
            db.flush()
            ids[name] = (agency.id, agency.short_name)
        for who, (role, agency_key) in roles.items():
            username = unique(f"{role}-")
            user = create_user_unchecked(
                db,
                actor=system_actor("test"),
                username=username,
                display_name=f"Test {role.title()}",
                email=f"{username}@test.example",
                password=DEMO_PASSWORD,
                agency_id=ids[agency_key][0],
                role=role,
                check_password_policy=False,
            )
            users[who] = {
                "username": username,
                "password": DEMO_PASSWORD,
                "id": user.id,
                "agency_id": ids[agency_key][0],
            }
        db.commit()
    with TestClient(app) as client:
        app.state.login_limiter.reset()
        people = {who: (bearer(api_token(client, u["username"])), u) for who, u in users.items()}
    return {"ids": {k: v[0] for k, v in ids.items()}, "short": {k: v[1] for k, v in ids.items()}, "people": people}


def open_incident(client: Any, world: dict[str, Any], **fields: Any) -> dict[str, Any]:
    body = {
        "lead_agency_id": str(world["ids"]["LEAD"]),
        "name": "Harrow River flood at Harrowgate",
        "type": "flood",
        "severity": "severe",
        "tier": "AMBER",
        "summary": "River above flood stage; River Road closed between the bridge and Mill Street.",
        "area": AREA,
        "participants": [str(world["ids"]["HELP"])],
    } | fields
    response = client.post("/api/v1/incidents", json=body, headers=world["people"]["commander"][0])
    assert response.status_code == 201, response.text
    return dict(response.json())


def draft(client: Any, world: dict[str, Any], incident: dict[str, Any]) -> dict[str, Any]:
    response = client.get(f"/api/v1/incidents/{incident['id']}/alerts/draft", headers=world["people"]["commander"][0])
    assert response.status_code == 200, response.text
    return dict(response.json())


def publish(client: Any, world: dict[str, Any], incident: dict[str, Any], **changes: Any) -> dict[str, Any]:
    body = draft(client, world, incident) | changes
    response = client.post(
        f"/api/v1/incidents/{incident['id']}/alerts", json=body, headers=world["people"]["commander"][0]
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def served(client: Any, alert: dict[str, Any]) -> bytes:
    response = client.get(f"/public/alerts/{alert['id']}.xml")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/cap+xml"
    return bytes(response.content)


def test_the_draft_is_prefilled_from_the_incident(client, world):
    incident = open_incident(client, world)
    body = draft(client, world, incident)
    assert body["event"] == "Flood" and body["category"] == "Met" and body["severity"] == "Severe"
    assert body["headline"] == incident["name"] and body["description"] == incident["summary"]
    assert body["urgency"] == "Expected" and body["certainty"] == "Likely"  # reported, not yet active
    assert body["response_type"] == "Avoid" and "flood water" in body["instruction"]


def test_a_published_alert_is_valid_cap_against_the_official_schema_and_served_as_stored(client, world, db):
    incident = open_incident(client, world)
    alert = publish(client, world, incident, instruction="Stay away from River Road.")
    assert alert["msg_type"] == "Alert" and alert["sequence"] == 1
    assert alert["sender"] == f"{world['short']['LEAD'].lower()}@accord.invalid"
    assert alert["identifier"] == f"ACCORD-{incident['number']}-001"
    xml = served(client, alert)
    assert_official(xml)
    assert hashlib.sha256(xml).hexdigest() == alert["xml_sha256"]
    db.rollback()
    stored = db.execute(text("SELECT xml FROM incident_alerts WHERE identifier = :i"), {"i": alert["identifier"]})
    assert bytes(stored.scalar_one()) == xml
    cap = parse_cap(xml)
    info = cap.infos[0]
    assert (cap.msg_type, cap.scope, cap.status) == ("Alert", "Public", "Actual")
    assert info.categories == ("Met",) and info.event == "Flood" and info.severity == "Severe"
    assert info.sender_name == f"Alert test LEAD {world['short']['LEAD'][5:]}"
    assert info.contact == "+1-570-555-0199"
    assert info.instruction == "Stay away from River Road."
    assert info.expires is not None and info.effective is not None
    assert (info.expires - info.effective).total_seconds() == 24 * 3600
    # The incident's area, in CAP's lat,lon order, closed.
    polygon = info.areas[0].polygons[0]
    assert polygon.to_geojson()["coordinates"] == AREA["coordinates"]
    assert b"-00:00" in xml  # CAP writes UTC as -00:00


@pytest.mark.parametrize("incident_type", sorted(INCIDENT_TYPES))
def test_every_incident_type_publishes_an_alert_the_official_schema_accepts(client, world, incident_type):
    """Names and summaries with markup characters, quotes and non-Latin text are escaped."""
    name = f"Überflutung & <Harrow> “{incident_type}” 洪水"
    incident = open_incident(client, world, type=incident_type, name=name, summary="a < b && c > d\nline two")
    alert = publish(client, world, incident, status="Exercise", urgency="Unknown", certainty="Possible")
    xml = served(client, alert)
    assert_official(xml)
    info = parse_cap(xml).infos[0]
    assert info.headline == name and info.description == "a < b && c > d\nline two"


def test_an_incident_with_a_point_only_is_alerted_as_a_circle(client, world):
    incident = open_incident(client, world, area=None, location={"type": "Point", "coordinates": [-76.78, 40.90]})
    alert = publish(client, world, incident, radius_km=2.5)
    circle = parse_cap(served(client, alert)).infos[0].areas[0].circles[0]
    assert (circle.lat, circle.lon, circle.radius_km) == (40.9, -76.78, 2.5)


def test_updates_and_cancels_reference_every_earlier_message_and_validate(client, world):
    incident = open_incident(client, world)
    first = publish(client, world, incident)
    headers = world["people"]["commander"][0]
    body = draft(client, world, incident) | {
        "headline": "Flood: River Road and Ferry Lane closed",
        "severity": "Extreme",
    }
    update = client.post(f"/api/v1/alerts/{first['id']}/update", json=body, headers=headers)
    assert update.status_code == 201, update.text
    second = update.json()
    assert (second["msg_type"], second["sequence"], second["thread_id"]) == ("Update", 2, first["id"])
    cancel = client.post(
        f"/api/v1/alerts/{first['id']}/cancel", json={"note": "River below flood stage."}, headers=headers
    )
    assert cancel.status_code == 201, cancel.text
    third = cancel.json()
    messages = [parse_cap(served(client, m)) for m in (first, second, third)]
    for m in (first, second, third):
        assert_official(served(client, m))
    assert [(r.sender, r.identifier) for r in messages[1].references] == [(first["sender"], first["identifier"])]
    assert [(r.identifier) for r in messages[2].references] == [first["identifier"], second["identifier"]]
    assert messages[1].references[0].sent == messages[0].sent
    assert messages[2].note == "River below flood stage."
    assert messages[2].infos[0].response_types == ("AllClear",)
    # A cancelled alert takes no more messages.
    again = client.post(f"/api/v1/alerts/{first['id']}/update", json=body, headers=headers)
    assert assert_error(again, 409, "conflict")["fields"][0]["field"] == "alert_id"
    listed = client.get(f"/api/v1/incidents/{incident['id']}/alerts", headers=world["people"]["viewer"][0]).json()
    assert [a["msg_type"] for a in listed] == ["Cancel", "Update", "Alert"]


def test_the_public_feed_lists_alerts_in_force_newest_first_without_signing_in(client, world):
    incident = open_incident(client, world)
    older = publish(client, world, incident, headline="First alert of the feed test")
    newer = publish(client, world, incident, headline="Second alert of the feed test")
    response = client.get("/public/alerts.atom")
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/atom+xml")
    feed = etree.fromstring(response.content)
    entries = feed.findall(f"{ATOM}entry")
    ids = [e.findtext(f"{ATOM}id") for e in entries]
    assert ids.index(f"urn:uuid:{newer['id']}") < ids.index(f"urn:uuid:{older['id']}")
    entry = entries[ids.index(f"urn:uuid:{newer['id']}")]
    link = entry.find(f"{ATOM}link")
    assert link.get("type") == "application/cap+xml" and link.get("href").endswith(f"/public/alerts/{newer['id']}.xml")
    # An update replaces its alert in the feed; an expired alert leaves it.
    headers = world["people"]["commander"][0]
    body = draft(client, world, incident) | {"headline": "Second alert, updated"}
    updated = client.post(f"/api/v1/alerts/{newer['id']}/update", json=body, headers=headers).json()
    ids = [
        e.findtext(f"{ATOM}id")
        for e in etree.fromstring(client.get("/public/alerts.atom").content).iter(f"{ATOM}entry")
    ]
    assert f"urn:uuid:{updated['id']}" in ids and f"urn:uuid:{newer['id']}" not in ids


def test_the_public_documents_are_rate_limited(client, world, app):
    incident = open_incident(client, world)
    alert = publish(client, world, incident)
    app.state.public_alerts_limiter = SlidingWindowLimiter(3, 60)
    try:
        codes = [client.get(f"/public/alerts/{alert['id']}.xml").status_code for _ in range(3)]
        assert codes == [200, 200, 200]
        assert client.get("/public/alerts.atom").status_code == 429
    finally:
        app.state.public_alerts_limiter = None
    assert client.get(f"/public/alerts/{uuid.uuid4()}.xml").status_code == 404


def test_only_the_lead_agencys_commanders_publish(client, world):
    incident = open_incident(client, world)
    body = draft(client, world, incident)
    url = f"/api/v1/incidents/{incident['id']}/alerts"
    assert_error(client.post(url, json=body, headers=world["people"]["helper"][0]), 403, "forbidden")
    assert_error(client.post(url, json=body, headers=world["people"]["stranger"][0]), 404, "not_found")
    assert_error(client.post(url, json=body, headers=world["people"]["analyst"][0]), 403, "forbidden")
    assert_error(client.post(url, json=body, headers=world["people"]["viewer"][0]), 403, "forbidden")
    assert_error(client.post(url, json=body), 401, "unauthenticated")
    # Participants read the list; strangers get 404 as for a missing incident.
    assert client.get(url, headers=world["people"]["helper"][0]).status_code == 200
    assert_error(client.get(url, headers=world["people"]["stranger"][0]), 404, "not_found")


def test_a_closed_incident_takes_only_a_cancellation(client, world):
    incident = open_incident(client, world)
    alert = publish(client, world, incident)
    headers = world["people"]["commander"][0]
    closed = client.patch(f"/api/v1/incidents/{incident['id']}", json={"status": "closed"}, headers=headers)
    assert closed.status_code == 200
    body = draft(client, world, incident)
    refused = client.post(f"/api/v1/incidents/{incident['id']}/alerts", json=body, headers=headers)
    assert assert_error(refused, 409, "conflict")["fields"][0]["field"] == "status"
    cancel = client.post(f"/api/v1/alerts/{alert['id']}/cancel", json={"note": "Incident closed."}, headers=headers)
    assert cancel.status_code == 201, cancel.text


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"severity": "Bad"}, "severity"),
        ({"category": "Weather"}, "category"),
        ({"headline": "x" * 161}, "headline"),
        ({"headline": ""}, "headline"),
        ({"event": ""}, "event"),
        ({"area_desc": ""}, "area_desc"),
        ({"expires": "2020-01-01T00:00:00Z"}, "expires"),
        ({"expires": "2030-01-01T00:00:00"}, "expires"),
        ({"effective": "2030-01-02T00:00:00Z", "expires": "2030-01-01T00:00:00Z"}, "body"),
        ({"radius_km": 0}, "radius_km"),
        ({"headline": "Bad \u0001 character"}, "headline"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_bad_alerts_are_refused_naming_the_field(client, world, changes, field):
    incident = open_incident(client, world)
    body = draft(client, world, incident) | changes
    response = client.post(
        f"/api/v1/incidents/{incident['id']}/alerts", json=body, headers=world["people"]["commander"][0]
    )
    error = assert_error(response, 422, "invalid")
    assert any(field in p["field"] for p in error["fields"]), error


def test_an_incident_without_a_place_cannot_alert_the_public(client, world):
    incident = open_incident(client, world, area=None)
    body = draft(client, world, incident)
    response = client.post(
        f"/api/v1/incidents/{incident['id']}/alerts", json=body, headers=world["people"]["commander"][0]
    )
    assert assert_error(response, 422, "invalid")["fields"][0]["field"] == "area_desc"


def test_the_preview_is_the_xml_that_would_be_served_and_stores_nothing(client, world):
    incident = open_incident(client, world)
    headers = world["people"]["commander"][0]
    body = draft(client, world, incident)
    preview = client.post(f"/api/v1/incidents/{incident['id']}/alerts/preview", json=body, headers=headers)
    assert preview.status_code == 200, preview.text
    assert_official(preview.json()["xml"].encode())
    assert client.get(f"/api/v1/incidents/{incident['id']}/alerts", headers=headers).json() == []


def test_publishing_is_audited_announced_and_the_published_row_is_append_only(client, world, db):
    incident = open_incident(client, world)
    alert = publish(client, world, incident)
    db.rollback()
    action = db.execute(
        text("SELECT action, details FROM audit_events WHERE object_id = :id"), {"id": alert["id"]}
    ).one()
    details = action[1] if isinstance(action[1], dict) else json.loads(action[1])
    assert action[0] == "operations.alert.publish" and details["sha256"] == alert["xml_sha256"]
    event = db.execute(
        text("SELECT kind, object_type, payload FROM event_outbox WHERE object_id = :id"), {"id": alert["id"]}
    ).one()
    payload = event[2] if isinstance(event[2], dict) else json.loads(event[2])
    assert event[:2] == ("incident_alert.published", "incident_alert")
    assert payload == {"incident_id": incident["id"], "thread_id": alert["id"], "msg_type": "Alert"}
    key = uuid.UUID(alert["id"]).hex if db.get_bind().dialect.name == "sqlite" else alert["id"]
    for statement in ("UPDATE incident_alerts SET headline = 'changed'", "DELETE FROM incident_alerts"):
        with pytest.raises(Exception, match="append-only"):
            db.execute(text(f"{statement} WHERE id = :id"), {"id": key})
        db.rollback()


def actor_of(db: Any, user: dict[str, Any]) -> Any:
    from accord.authz.service import actor_for

    return actor_for(db, user_id=user["id"], username=user["username"], display_name="t", auth_method="token")


def test_live_events_of_alerts_reach_only_those_who_see_the_incident(client, world, db):
    from accord.core.events import Event
    from accord.core.time import utcnow
    from accord.operations.live import visible_events

    incident = open_incident(client, world)
    alert = publish(client, world, incident)
    event = Event(
        id=1,
        kind="incident_alert.published",
        object_type="incident_alert",
        object_id=alert["id"],
        occurred_at=utcnow(),
    )
    db.rollback()
    assert visible_events(db, actor_of(db, world["people"]["helper"][1]), [event]) == [event]
    assert visible_events(db, actor_of(db, world["people"]["stranger"][1]), [event]) == []
