"""Pre-agreed protocols (issue 5, part 5): written jointly by a partnership's members,
versioned and frozen when published, adopted through an agreement's protocol clause while
that agreement is in force, and attached to incidents of matching type — on both
databases. Each test writes its own protocol in a partnership of agencies of its own."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from accord.accounts.service import create_user_unchecked
from accord.authz.actor import Actor, MembershipGrant
from accord.authz.roles import BUILTIN_ROLES
from accord.core.events import Event
from accord.core.time import utcnow
from accord.directory.models import Agency
from accord.operations.live import visible_events
from accord.seed import DEMO_PASSWORD, system_actor
from tests.conftest import api_token, assert_error, bearer, refresh

KINDS = {"EMA": "emergency_management", "FIRE": "fire", "POL": "police", "FAR": "police", "ADOPT": "ems"}
SEATS = {
    "coordinator": ("coordinator", "EMA"),
    "ema_admin": ("agency_admin", "EMA"),
    "commander": ("commander", "FIRE"),
    "fire_admin": ("agency_admin", "FIRE"),
    "pol_viewer": ("viewer", "POL"),
    "pol_commander": ("commander", "POL"),
    "stranger": ("commander", "FAR"),
    "adopter": ("commander", "ADOPT"),
    "adopt_admin": ("agency_admin", "ADOPT"),
    "adopt_coordinator": ("coordinator", "ADOPT"),
}


@pytest.fixture(scope="module")
def world(app: Any, session_factory: Any) -> dict[str, Any]:
    """Agencies of this module only: EMA, FIRE and POL form a partnership; FAR is a
    stranger; ADOPT is outside the partnership but may adopt its protocols."""
    tag = uuid.uuid4().hex[:5].upper()
    ids: dict[str, uuid.UUID] = {}
    people: dict[str, dict[str, str]] = {}
    with session_factory() as db:
        for short, kind in KINDS.items():
            agency = Agency(
                name=f"Protocol test {short} {tag}",
                short_name=f"P{short}{tag}",
                kind=kind,
                level="county",
                jurisdiction_name="Test",
            )
            db.add(agency)
            db.flush()
            ids[short] = agency.id
        usernames = {}
        for seat, (role, short) in SEATS.items():
            usernames[seat] = f"proto-{seat.replace('_', '')}-{tag.lower()}"
            create_user_unchecked(
                db,
                actor=system_actor("test"),
                username=usernames[seat],
                display_name=f"Test {seat}",
                email="",
                password=DEMO_PASSWORD,
                agency_id=ids[short],
                role=role,
                check_password_policy=False,
            )
        db.commit()
    with TestClient(app) as client:
        app.state.login_limiter.reset()
        people = {seat: bearer(api_token(client, name)) for seat, name in usernames.items()}
        body = {
            "name": f"Protocol test partnership {tag}",
            "kind": "mutual_aid_compact",
            "starts_on": "2026-01-01",
            "members": [str(ids["EMA"]), str(ids["FIRE"]), str(ids["POL"])],
        }
        created = client.post("/api/v1/partnerships", json=body, headers=people["coordinator"])
        assert created.status_code == 201, created.text
    return {"ids": ids, "people": people, "partnership": created.json()["id"], "tag": tag}


def content(world: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {
        "partnership_id": world["partnership"],
        "title": "Fire at a crime scene",
        "summary": "Fire suppression and life safety come first; evidence is preserved where it can be.",
        "incident_types": ["structure_fire", "flood"],
        "steps": [
            {"text": "Size up and declare unified command", "actor": {"role": "first_arriving_unit"}},
            {
                "text": "Decide whether to enter before police clear the scene",
                "actor": {"agency_kind": "fire"},
                "decision": {
                    "question": "Is there a life hazard inside?",
                    "decided_by": {"role": "incident_commander"},
                    "if_yes": "Enter with a police escort; photograph before moving anything",
                    "if_no": "Defensive attack; hold the perimeter for investigators",
                },
            },
            {"text": "Hand the scene over to investigators", "actor": {"agency_kind": "police"}},
        ],
        "roles": [
            {"agency_kind": "fire", "role": "Suppression, rescue and scene safety"},
            {"agency_kind": "police", "role": "Perimeter, evidence and chain of custody"},
        ],
        "contacts": [
            {
                "name": "Duty officer",
                "agency_id": str(world["ids"]["EMA"]),
                "phone": "+1-570-555-0112",
                "role": "County EOC",
            }
        ],
    } | fields


def create(client: Any, world: dict[str, Any], who: str = "coordinator", **fields: Any) -> dict[str, Any]:
    response = client.post("/api/v1/protocols", json=content(world, **fields), headers=world["people"][who])
    assert response.status_code == 201, response.text
    return response.json()


def publish(client: Any, world: dict[str, Any], protocol: dict[str, Any], who: str = "commander") -> dict[str, Any]:
    number = protocol["draft_version"]
    response = client.post(
        f"/api/v1/protocols/{protocol['id']}/publish", json={"version": number}, headers=world["people"][who]
    )
    assert response.status_code == 200, response.text
    return response.json()


def published(client: Any, world: dict[str, Any], **fields: Any) -> tuple[dict[str, Any], str]:
    """A protocol with its version 1 published, and that version's id."""
    protocol = publish(client, world, create(client, world, **fields))
    return protocol, protocol["versions"][-1]["id"]


SIGNERS = {"EMA": "ema_admin", "FIRE": "fire_admin", "ADOPT": "adopt_admin"}


def adopt(
    client: Any,
    world: dict[str, Any],
    version_ids: list[str],
    parties: tuple[str, ...] = ("EMA", "FIRE"),
    notice_days: int | None = None,
    partnership: bool = True,
    drafter: str = "coordinator",
) -> dict[str, Any]:
    """An MOU adopting ``version_ids``, proposed and signed by every party: in force now."""
    clauses: list[dict[str, Any]] = [{"kind": "protocol", "protocol_version_id": v} for v in version_ids]
    if notice_days is not None:
        clauses.append({"kind": "opt_out", "notice_days": notice_days})
    body = {
        "kind": "mou",
        "title": f"Joint protocols MOU {uuid.uuid4().hex[:6]}",
        "parties": [str(world["ids"][p]) for p in parties],
        "partnership_id": world["partnership"] if partnership else None,
        "effective_at": (utcnow() - timedelta(minutes=1)).isoformat(),
        "clauses": clauses,
    }
    headers = world["people"][drafter]
    created = client.post("/api/v1/agreements", json=body, headers=headers)
    assert created.status_code == 201, created.text
    agreement_id = created.json()["id"]
    proposed = client.post(f"/api/v1/agreements/{agreement_id}/propose", headers=headers)
    digest = proposed.json()["versions"][-1]["content_hash"]
    for party in parties:
        signed = client.post(
            f"/api/v1/agreements/{agreement_id}/sign",
            json={"agency_id": str(world["ids"][party]), "content_hash": digest},
            headers=world["people"][SIGNERS[party]],
        )
        assert signed.status_code == 200, signed.text
    assert signed.json()["state"] == "active"
    return signed.json()


def open_incident(
    client: Any, world: dict[str, Any], type_: str = "flood", participants: tuple[str, ...] = ("FIRE",), **fields: Any
) -> dict[str, Any]:
    """An incident led by EMA (opened by a commander there, created for the purpose)."""
    body = {
        "lead_agency_id": str(world["ids"]["EMA"]),
        "name": "Harrow River flood",
        "type": type_,
        "severity": "severe",
        "participants": [str(world["ids"][p]) for p in participants],
    } | fields
    response = client.post("/api/v1/incidents", json=body, headers=world["people"]["ema_commander"])
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture(scope="module", autouse=True)
def _ema_commander(world: dict[str, Any], app: Any, session_factory: Any) -> None:
    with session_factory() as db:
        name = f"proto-emacommander-{world['tag'].lower()}"
        create_user_unchecked(
            db,
            actor=system_actor("test"),
            username=name,
            display_name="Test EMA commander",
            email="",
            password=DEMO_PASSWORD,
            agency_id=world["ids"]["EMA"],
            role="commander",
            check_password_policy=False,
        )
        db.commit()
    with TestClient(app) as client:
        world["people"]["ema_commander"] = bearer(api_token(client, name))


def attached(client: Any, world: dict[str, Any], incident: dict[str, Any], who: str = "commander") -> Any:
    return client.get(f"/api/v1/incidents/{incident['id']}/protocols", headers=world["people"][who])


# --- writing, versions, publishing -------------------------------------------------------------


def test_a_protocol_is_drafted_edited_published_and_a_new_edit_opens_the_next_version(client, world, db):
    protocol = create(client, world)
    assert protocol["draft_version"] == 1 and protocol["current_version"] is None
    url = f"/api/v1/protocols/{protocol['id']}"
    commander = world["people"]["commander"]  # a commander of another member writes jointly
    edited = client.patch(url, json={"summary": "Life safety first."}, headers=commander)
    assert edited.status_code == 200, edited.text
    assert [v["number"] for v in edited.json()["versions"]] == [1]
    done = publish(client, world, edited.json())
    v1 = done["versions"][0]
    assert v1["status"] == "published" and v1["published_at"] and done["current_version"] == 1
    canonical = {
        "protocol": protocol["id"],
        "version": 1,
        "title": v1["title"],
        "summary": "Life safety first.",
        "incident_types": sorted(v1["incident_types"]),
        "steps": v1["steps"],
        "roles": v1["roles"],
        "contacts": v1["contacts"],
    }
    assert v1["steps"][0]["decision"] is None and v1["steps"][1]["actor"] == {"agency_kind": "fire", "role": None}
    digest = hashlib.sha256(json.dumps(canonical, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    assert v1["content_hash"] == digest
    again = client.post(f"{url}/publish", json={"version": 1}, headers=commander)
    assert assert_error(again, 409, "conflict")["fields"][0]["field"] == "version"

    opened = client.patch(url, json={"title": "Fire at a crime scene (rev. 2)"}, headers=commander).json()
    assert [(v["number"], v["status"]) for v in opened["versions"]] == [(1, "published"), (2, "draft")]
    v2 = opened["versions"][1]
    assert v2["steps"] == v1["steps"] and v2["incident_types"] == v1["incident_types"]
    assert opened["versions"][0]["title"] == "Fire at a crime scene"  # the published one is untouched
    stale = client.post(f"{url}/publish", json={"version": 3}, headers=commander)
    assert "the draft is version 2" in assert_error(stale, 409, "conflict")["message"]
    diff = client.get(f"{url}/diff", params={"from": 1, "to": 2}, headers=commander).json()
    assert {"op": "-", "line": "Title: Fire at a crime scene"} in diff["lines"]
    assert {"op": "+", "line": "Title: Fire at a crime scene (rev. 2)"} in diff["lines"]

    refresh(db)
    actions = db.scalars(
        text("SELECT action FROM audit_events WHERE object_id = :id ORDER BY seq"), {"id": protocol["id"]}
    ).all()
    assert actions == [
        "operations.protocol.create",
        "operations.protocol.edit",
        "operations.protocol.publish",
        "operations.protocol.edit",
    ]
    rows = db.execute(
        text("SELECT kind, payload FROM event_outbox WHERE object_type = 'protocol' AND object_id = :id ORDER BY id"),
        {"id": protocol["id"]},
    ).all()
    assert [kind for kind, _ in rows] == [
        "protocol.created",
        "protocol.draft.saved",
        "protocol.published",
        "protocol.draft.opened",
    ]
    payloads = [p if isinstance(p, dict) else json.loads(p) for _, p in rows]
    assert payloads[2] == {"version": 1, "status": "published"}  # ids and states, never content


def test_a_published_version_is_frozen_in_the_database(client, world, db):
    _, version_id = published(client, world)
    refresh(db)
    key = uuid.UUID(version_id).hex if db.get_bind().dialect.name == "sqlite" else version_id
    for statement in (
        "UPDATE protocol_versions SET title = 'changed' WHERE id = :id",
        "DELETE FROM protocol_versions WHERE id = :id",
        "DELETE FROM protocol_version_types WHERE version_id = :id",
        "INSERT INTO protocol_version_types (version_id, incident_type) VALUES (:id, 'wildfire')",
    ):
        with pytest.raises(Exception, match="frozen"):
            db.execute(text(statement), {"id": key})
        db.rollback()


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"incident_types": ["volcano"]}, "incident_types"),
        ({"incident_types": []}, "incident_types"),
        ({"incident_types": ["flood", "flood"]}, "incident_types"),
        ({"steps": []}, "steps"),
        ({"steps": [{"text": "Go", "actor": {"role": "incident_commander"}}]}, "steps.0.text"),
        ({"steps": [{"text": "Enter", "actor": {"agency_kind": "fire", "role": "dispatch"}}]}, "steps.0.actor"),
        ({"steps": [{"text": "Enter", "actor": {}}]}, "steps.0.actor"),
        ({"steps": [{"text": "Enter", "actor": {"agency_kind": "wizards"}}]}, "steps.0.actor.agency_kind"),
        ({"steps": [{"text": "Enter", "actor": {"role": "king"}}]}, "steps.0.actor.role"),
        (
            {"steps": [{"text": "Enter", "actor": {"role": "dispatch"}, "decision": {"question": "Safe?"}}]},
            "steps.0.decision.decided_by",
        ),
        ({"roles": [{"agency_kind": "fire", "role": "Suppress"}, {"agency_kind": "fire", "role": "Rescue"}]}, "roles"),
        ({"roles": [{"agency_kind": "navy", "role": "Sail"}]}, "roles.0.agency_kind"),
        (
            {"contacts": [{"name": "A B", "agency_id": str(uuid.uuid4()), "phone": "call me", "role": "x1"}]},
            "contacts.0.phone",
        ),
        (
            {"contacts": [{"name": "A B", "agency_id": str(uuid.UUID(int=5)), "phone": "570 555 0100", "role": "EOC"}]},
            "contacts[0].agency_id",
        ),
        ({"partnership_id": str(uuid.UUID(int=3))}, "partnership_id"),
        ({"title": "x"}, "title"),
        ({"title": "Fire\x00 at a scene"}, "title"),
        ({"steps": [{"text": "Enter\x00", "actor": {"role": "dispatch"}}]}, "steps.0.text"),
        ({"surprise": True}, "surprise"),
    ],
)
def test_bad_protocols_are_refused_naming_the_field(client, world, fields, field):
    response = client.post("/api/v1/protocols", json=content(world, **fields), headers=world["people"]["coordinator"])
    error = assert_error(response, 422, "invalid")
    assert any(f["field"] == field for f in error["fields"]), error


def test_bad_edits_and_publishes_are_refused_naming_the_field(client, world):
    protocol = create(client, world)
    url, headers = f"/api/v1/protocols/{protocol['id']}", world["people"]["coordinator"]
    for body, field in [
        ({"title": None}, "title"),
        ({"steps": None}, "steps"),
        ({"incident_types": ["nope"]}, "incident_types"),
        (
            {"contacts": [{"name": "A", "agency_id": str(world["ids"]["EMA"]), "phone": "1", "role": "x"}]},
            "contacts.0.name",
        ),
    ]:
        error = assert_error(client.patch(url, json=body, headers=headers), 422, "invalid")
        assert error["fields"][0]["field"] == field, error
    nul = client.get("/api/v1/protocols", params={"q": "fire\x00"}, headers=headers)
    assert assert_error(nul, 422, "invalid")["fields"][0]["field"] == "q"
    for body, field in [({"version": 0}, "version"), ({}, "version"), ({"version": "two"}, "version")]:
        error = assert_error(client.post(f"{url}/publish", json=body, headers=headers), 422, "invalid")
        assert error["fields"][0]["field"] == field, error


# --- who sees and who writes -------------------------------------------------------------------


def test_members_see_drafts_strangers_get_404_and_only_member_writers_write(client, world):
    protocol = create(client, world)
    url = f"/api/v1/protocols/{protocol['id']}"
    people = world["people"]
    seen = client.get(url, headers=people["pol_viewer"])
    assert seen.status_code == 200 and seen.json()["versions"][0]["status"] == "draft"
    hidden = client.get(url, headers=people["stranger"])
    missing = client.get(f"/api/v1/protocols/{uuid.uuid4()}", headers=people["stranger"])
    assert {**assert_error(hidden, 404, "not_found"), "request_id": ""} == {
        **assert_error(missing, 404, "not_found"),
        "request_id": "",
    }
    listed = client.get("/api/v1/protocols", headers=people["stranger"]).json()
    assert protocol["id"] not in [p["id"] for p in listed["items"]]
    mine = client.get(
        "/api/v1/protocols", params={"partnership_id": world["partnership"]}, headers=people["pol_viewer"]
    )
    assert protocol["id"] in [p["id"] for p in mine.json()["items"]]
    assert_error(client.patch(url, json={"summary": "x"}, headers=people["pol_viewer"]), 403, "forbidden")
    assert_error(client.patch(url, json={"summary": "x"}, headers=people["stranger"]), 404, "not_found")
    outsider = client.post("/api/v1/protocols", json=content(world), headers=people["stranger"])
    assert assert_error(outsider, 422, "invalid")["fields"][0]["field"] == "partnership_id"


def test_an_adopting_agency_reads_published_versions_but_not_drafts_and_does_not_write(client, world):
    protocol, v1 = published(client, world)
    url = f"/api/v1/protocols/{protocol['id']}"
    adopter = world["people"]["adopter"]
    assert_error(client.get(url, headers=adopter), 404, "not_found")
    client.patch(url, json={"summary": "A draft of version 2"}, headers=world["people"]["commander"])
    agreement = adopt(client, world, [v1], parties=("EMA", "ADOPT"), partnership=False)
    seen = client.get(url, headers=adopter).json()
    assert [(v["number"], v["status"]) for v in seen["versions"]] == [(1, "published")]
    assert seen["current_version"] == 1 and seen["draft_version"] is None
    assert {(a["agency_id"], a["agreement_id"]) for a in seen["adoptions"]} == {
        (str(world["ids"]["EMA"]), agreement["id"]),
        (str(world["ids"]["ADOPT"]), agreement["id"]),
    }
    assert_error(client.get(f"{url}/versions/2", headers=adopter), 404, "not_found")
    assert_error(client.patch(url, json={"summary": "x"}, headers=adopter), 403, "forbidden")


# --- adoption through an agreement -----------------------------------------------------------


def test_a_protocol_clause_must_name_a_published_version_the_drafter_can_read(client, world):
    draft = create(client, world)
    body = {
        "kind": "mou",
        "title": "Adopt a draft",
        "parties": [str(world["ids"]["EMA"]), str(world["ids"]["FIRE"])],
        "effective_at": utcnow().isoformat(),
    }
    headers = world["people"]["coordinator"]
    draft_id = draft["versions"][0]["id"]
    for version_id, reason in [
        (draft_id, "only a published protocol version can be adopted; publish the draft first"),
        (str(uuid.uuid4()), "no such protocol version"),
    ]:
        clause = {"kind": "protocol", "protocol_version_id": version_id}
        error = assert_error(
            client.post("/api/v1/agreements", json=body | {"clauses": [clause]}, headers=headers), 422, "invalid"
        )
        assert error["fields"] == [{"field": "clauses[0].protocol_version_id", "reason": reason}]
    _, v1 = published(client, world)
    # Hidden from the drafter reads exactly like missing.
    outside = {
        "kind": "mou",
        "title": "Adopt a stranger's",
        "parties": [str(world["ids"]["ADOPT"]), str(world["ids"]["FAR"])],
    }
    clause = {"kind": "protocol", "protocol_version_id": v1}
    error = assert_error(
        client.post(
            "/api/v1/agreements",
            json=outside | {"effective_at": utcnow().isoformat(), "clauses": [clause]},
            headers=world["people"]["adopt_coordinator"],
        ),
        422,
        "invalid",
    )
    assert error["fields"] == [{"field": "clauses[0].protocol_version_id", "reason": "no such protocol version"}]
    bad_id = client.post(
        "/api/v1/agreements",
        json=body | {"clauses": [{"kind": "protocol", "protocol_version_id": "v1"}]},
        headers=headers,
    )
    assert assert_error(bad_id, 422, "invalid")["fields"][0]["field"].startswith("clauses.0.protocol")


def test_protocols_attach_to_incidents_of_matching_type_led_or_joined_by_adopters(client, world):
    protocol, v1 = published(client, world)
    agreement = adopt(client, world, [v1])
    clause = agreement["versions"][0]["clauses"][0]
    flood = open_incident(client, world, participants=("FIRE", "POL"))
    found = attached(client, world, flood)
    assert found.status_code == 200, found.text
    ours = [a for a in found.json() if a["protocol_id"] == protocol["id"]]
    assert len(ours) == 1
    assert ours[0]["version"]["number"] == 1 and ours[0]["version"]["steps"][1]["decision"]["decided_by"] == {
        "agency_kind": None,
        "role": "incident_commander",
    }
    assert {
        (a["agency_id"], a["agreement_id"], a["agreement_version_number"], a["clause_id"], a["clause_number"])
        for a in ours[0]["adopted_through"]
    } == {
        (str(world["ids"]["EMA"]), agreement["id"], 1, clause["id"], 1),
        (str(world["ids"]["FIRE"]), agreement["id"], 1, clause["id"], 1),
    }
    # POL did not adopt it, but takes part in the incident: it reads the protocol there.
    assert [a["protocol_id"] for a in attached(client, world, flood, "pol_viewer").json()] == [
        a["protocol_id"] for a in found.json()
    ]
    wildfire = open_incident(client, world, type_="wildfire")
    assert protocol["id"] not in [a["protocol_id"] for a in attached(client, world, wildfire).json()]
    # An incident led by a non-adopter, with no adopter taking part: nothing attached.
    alone = client.post(
        "/api/v1/incidents",
        json={
            "lead_agency_id": str(world["ids"]["POL"]),
            "name": "Flooded underpass",
            "type": "flood",
            "severity": "minor",
        },
        headers=world["people"]["pol_commander"],
    ).json()
    assert attached(client, world, alone, "pol_viewer").json() == []


def test_only_those_taking_part_in_the_incident_see_its_protocols(client, world):
    _, v1 = published(client, world)
    adopt(client, world, [v1])
    incident = open_incident(client, world, tier="CLEAR")
    stranger = world["people"]["stranger"]
    assert client.get(f"/api/v1/incidents/{incident['id']}", headers=stranger).status_code == 200  # CLEAR: readable
    hidden = attached(client, world, incident, "stranger")
    missing = client.get(f"/api/v1/incidents/{uuid.uuid4()}/protocols", headers=stranger)
    assert {**assert_error(hidden, 404, "not_found"), "request_id": ""} == {
        **assert_error(missing, 404, "not_found"),
        "request_id": "",
    }
    secret = open_incident(client, world, tier="AMBER")
    assert_error(attached(client, world, secret, "stranger"), 404, "not_found")
    assert_error(attached(client, world, secret, "adopter"), 404, "not_found")


def test_the_newest_adopted_version_is_attached_not_a_newer_unadopted_one(client, world):
    protocol, v1 = published(client, world)
    adopt(client, world, [v1])
    url = f"/api/v1/protocols/{protocol['id']}"
    commander = world["people"]["commander"]
    v2 = publish(client, world, client.patch(url, json={"summary": "Version 2"}, headers=commander).json())
    v2_id = v2["versions"][-1]["id"]
    incident = open_incident(client, world)
    numbers = {
        a["version"]["number"] for a in attached(client, world, incident).json() if a["protocol_id"] == protocol["id"]
    }
    assert numbers == {1}
    adopt(client, world, [v2_id], parties=("EMA", "ADOPT"), partnership=False)
    client.post(
        f"/api/v1/incidents/{incident['id']}/participants",
        json={"agency_id": str(world["ids"]["ADOPT"])},
        headers=world["people"]["ema_commander"],
    )
    ours = [a for a in attached(client, world, incident).json() if a["protocol_id"] == protocol["id"]]
    assert [a["version"]["number"] for a in ours] == [2]
    assert {a["protocol_version_number"] for a in ours[0]["adopted_through"]} == {2}
    v3 = publish(client, world, client.patch(url, json={"summary": "Version 3"}, headers=commander).json())
    assert v3["current_version"] == 3
    ours = [a for a in attached(client, world, incident).json() if a["protocol_id"] == protocol["id"]]
    assert [a["version"]["number"] for a in ours] == [2]


def test_terminating_suspending_or_opting_out_unadopts_at_once(client, world):
    protocol, v1 = published(client, world)
    first = adopt(client, world, [v1], notice_days=0)
    incident = open_incident(client, world, participants=("FIRE",))

    def adopters() -> set[str]:
        ours = [a for a in attached(client, world, incident).json() if a["protocol_id"] == protocol["id"]]
        return {x["agency_id"] for a in ours for x in a["adopted_through"]}

    ema, fire = str(world["ids"]["EMA"]), str(world["ids"]["FIRE"])
    assert adopters() == {ema, fire}
    opted = client.post(
        f"/api/v1/agreements/{first['id']}/opt-out", json={"agency_id": fire}, headers=world["people"]["fire_admin"]
    )
    assert opted.status_code == 200, opted.text
    assert adopters() == {ema}
    suspended = client.post(f"/api/v1/agreements/{first['id']}/suspend", headers=world["people"]["ema_admin"])
    assert suspended.status_code == 200, suspended.text
    assert adopters() == set()
    client.post(f"/api/v1/agreements/{first['id']}/resume", headers=world["people"]["ema_admin"])
    assert adopters() == {ema}
    ended = client.post(
        f"/api/v1/agreements/{first['id']}/terminate", json={"reason": "Replaced"}, headers=world["people"]["ema_admin"]
    )
    assert ended.status_code == 200, ended.text
    assert adopters() == set()


def test_an_opt_out_with_notice_keeps_the_protocol_until_the_notice_ends(client, world, db):
    protocol, v1 = published(client, world)
    agreement = adopt(client, world, [v1], notice_days=30)
    fire = str(world["ids"]["FIRE"])
    client.post(
        f"/api/v1/agreements/{agreement['id']}/opt-out", json={"agency_id": fire}, headers=world["people"]["fire_admin"]
    )
    refresh(db)
    until = (
        db.execute(
            text("SELECT valid_until FROM protocol_adoptions WHERE agreement_id = :a AND valid_until IS NOT NULL"),
            {"a": agreement["id"] if db.get_bind().dialect.name != "sqlite" else uuid.UUID(agreement["id"]).hex},
        )
        .scalars()
        .all()
    )
    assert len(until) == 1  # FIRE's adoption ends with the notice, EMA's does not end
    incident = open_incident(client, world)
    ours = [a for a in attached(client, world, incident).json() if a["protocol_id"] == protocol["id"]]
    assert fire in {x["agency_id"] for x in ours[0]["adopted_through"]}


def test_adopters_lose_sight_of_the_protocol_when_the_agreement_ends(client, world, db):
    protocol, v1 = published(client, world)
    agreement = adopt(client, world, [v1], parties=("EMA", "ADOPT"), partnership=False)
    url = f"/api/v1/protocols/{protocol['id']}"
    assert client.get(url, headers=world["people"]["adopter"]).status_code == 200
    client.post(
        f"/api/v1/agreements/{agreement['id']}/terminate",
        json={"reason": "Ended"},
        headers=world["people"]["ema_admin"],
    )
    assert_error(client.get(url, headers=world["people"]["adopter"]), 404, "not_found")
    assert client.get(url, headers=world["people"]["pol_viewer"]).json()["adoptions"] == []
    refresh(db)
    kinds = db.scalars(
        text("SELECT kind FROM event_outbox WHERE object_type = 'protocol' AND object_id = :id ORDER BY id"),
        {"id": protocol["id"]},
    ).all()
    # Adopted when the last party signed, un-adopted at termination: each announced (ids only).
    assert kinds[-2:] == ["protocol.adoptions.changed", "protocol.adoptions.changed"]


def test_live_protocol_events_reach_only_those_who_may_read_the_protocol(client, world, db):
    protocol = create(client, world)
    perms = {r.name: r.permissions for r in BUILTIN_ROLES}

    def actor(agency: str, role: str = "viewer") -> Actor:
        grant = MembershipGrant(world["ids"][agency], role, perms[role])
        return Actor(user_id=uuid.uuid4(), username="live", memberships=(grant,), auth_method="token")

    event = Event(id=1, kind="protocol.created", object_type="protocol", object_id=protocol["id"], occurred_at=utcnow())
    refresh(db)
    assert visible_events(db, actor("POL"), [event]) == [event]
    assert visible_events(db, actor("FAR"), [event]) == []


def test_the_agreement_document_names_the_adopted_protocol(client, world, as_user):
    _, v1 = published(client, world)
    agreement = adopt(client, world, [v1])
    version = agreement["versions"][0]
    assert version["clauses"][0] == {
        "id": version["clauses"][0]["id"],
        "position": 0,
        "kind": "protocol",
        "terms": {"protocol_version_id": v1},
    }
    grants = client.get(f"/api/v1/agreements/{agreement['id']}/grants", headers=world["people"]["ema_admin"]).json()
    assert grants == []  # a protocol clause moves no data


def test_the_demo_protocols_are_adopted_by_the_compact_mou_and_seeding_again_adds_nothing(db, settings):
    from sqlalchemy import func, select

    from accord.agreements.models import AgreementVersion
    from accord.operations.protocols.models import Protocol, ProtocolAdoption
    from accord.seed_protocols import MOU_TITLE, PARTIES, seed_protocols

    refresh(db)
    before = (
        db.scalar(select(func.count()).select_from(Protocol)),
        db.scalar(select(func.count()).select_from(ProtocolAdoption)),
    )
    seed_protocols(db, settings)
    db.flush()
    after = (
        db.scalar(select(func.count()).select_from(Protocol)),
        db.scalar(select(func.count()).select_from(ProtocolAdoption)),
    )
    db.rollback()
    assert before == after
    mou = db.scalar(select(AgreementVersion).where(AgreementVersion.title == MOU_TITLE))
    assert mou is not None and mou.status == "signed"
    adopted = db.scalars(
        select(ProtocolAdoption.agency_id).where(ProtocolAdoption.agreement_version_id == mou.id).distinct()
    ).all()
    assert len(adopted) == len(PARTIES)
    assert [c.kind for c in mou.clauses] == ["protocol"] * 4 + ["opt_out"]
