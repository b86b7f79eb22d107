"""The live stream's set-based check (every recipient's (agency, role) pairs in one
statement) admits exactly what ``authz.scope`` admits for each recipient, for every
registered live object type — on both databases (ADR 18)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from accord.authz.actor import Actor, MembershipGrant
from accord.authz.roles import BUILTIN_ROLES
from accord.core.events import Event
from accord.core.time import utcnow
from accord.directory.models import Agency
from accord.operations import live
from accord.operations.models import Incident, MapLayer

ROLES = {role.name: role.permissions for role in BUILTIN_ROLES}
POINT = {"type": "Point", "coordinates": [-77.05, 40.95]}
DEMO = ("MCEMA", "CCSO", "LHFD", "HVFC", "MCEMS", "HPD", "ACSP-H", "HVHD")


def _actor(name: str, *memberships: tuple[uuid.UUID, str]) -> Actor:
    return Actor(
        user_id=uuid.uuid4(),
        username=name,
        memberships=tuple(MembershipGrant(agency, role, frozenset(ROLES[role])) for agency, role in memberships),
    )


@pytest.fixture(scope="module")
def world(app: Any, session_factory: Any) -> dict[str, Any]:
    """LEAD runs incidents with HELP taking part; REC holds a data-use agreement for
    LEAD's incident reports (AMBER to all its people, AMBER+STRICT to its analysts only);
    PART shares a partnership with LEAD (GREEN); NONE has nothing."""
    from fastapi.testclient import TestClient

    from accord.accounts.service import create_user_unchecked
    from accord.seed import DEMO_PASSWORD, system_actor
    from tests.conftest import api_token, bearer, unique

    tag = uuid.uuid4().hex[:5].upper()
    with session_factory() as db:
        ids = {}
        for name in ("LEAD", "HELP", "REC", "PART", "NONE", "RET"):
            agency = Agency(
                name=f"Oracle {name} {tag}",
                short_name=f"O{name}{tag}",
                kind="police",
                level="local",
                jurisdiction_name="T",
            )
            db.add(agency)
            db.flush()
            ids[name] = agency.id
        names = {}
        for key, role, agency in [
            ("commander", "commander", "LEAD"),
            ("coordinator", "coordinator", "LEAD"),
            ("lead_admin", "agency_admin", "LEAD"),
            ("rec_admin", "agency_admin", "REC"),
            ("ret_admin", "agency_admin", "RET"),
            ("part_coordinator", "coordinator", "PART"),
        ]:
            names[key] = unique(f"oracle-{key.replace('_', '')}-")
            create_user_unchecked(
                db,
                actor=system_actor("test"),
                username=names[key],
                display_name=key,
                email="",
                password=DEMO_PASSWORD,
                agency_id=ids[agency],
                role=role,
                check_password_policy=False,
            )
        db.commit()
    with TestClient(app) as client:
        h = {key: bearer(api_token(client, name)) for key, name in names.items()}
        partnership = {
            "name": f"Oracle partnership {tag}",
            "kind": "task_force",
            "starts_on": "2026-01-01",
            "members": [str(ids["LEAD"]), str(ids["PART"])],
        }
        assert client.post("/api/v1/partnerships", json=partnership, headers=h["coordinator"]).status_code == 201
        clause = {
            "kind": "sharing",
            "providers": [str(ids["LEAD"])],
            "recipients": [str(ids["REC"])],
            "categories": ["incident_report"],
            "purposes": ["situational_awareness"],
        }
        draft = {
            "kind": "data_use",
            "title": "Oracle situational awareness",
            "parties": [str(ids["LEAD"]), str(ids["REC"])],
            "effective_at": (utcnow() - timedelta(minutes=5)).isoformat(),
            "clauses": [
                clause | {"max_tier": "AMBER"},
                clause | {"max_tier": "AMBER+STRICT", "recipient_roles": ["analyst"]},
            ],
        }
        # RET sees LEAD's AMBER incident reports for 30 days after they were last updated.
        retained = {
            "kind": "data_use",
            "title": "Oracle retention",
            "parties": [str(ids["LEAD"]), str(ids["RET"])],
            "effective_at": (utcnow() - timedelta(minutes=5)).isoformat(),
            "clauses": [clause | {"recipients": [str(ids["RET"])], "max_tier": "AMBER", "retention_days": 30}],
        }
        for body, other in ((draft, ("rec_admin", "REC")), (retained, ("ret_admin", "RET"))):
            agreement = client.post("/api/v1/agreements", json=body, headers=h["coordinator"])
            assert agreement.status_code == 201, agreement.text
            agreement_id = agreement.json()["id"]
            proposed = client.post(f"/api/v1/agreements/{agreement_id}/propose", headers=h["coordinator"])
            digest = proposed.json()["versions"][0]["content_hash"]
            for who, short in (("lead_admin", "LEAD"), other):
                signed = client.post(
                    f"/api/v1/agreements/{agreement_id}/sign",
                    json={"agency_id": str(ids[short]), "content_hash": digest},
                    headers=h[who],
                )
                assert signed.status_code == 200, signed.text
        for tier in ("CLEAR", "GREEN", "AMBER", "AMBER+STRICT"):
            for participants in ([], [str(ids["HELP"])]):
                body = {
                    "lead_agency_id": str(ids["LEAD"]),
                    "name": f"Oracle {tier} incident",
                    "type": "flood",
                    "severity": "moderate",
                    "tier": tier,
                    "location": POINT,
                    "participants": participants,
                }
                incident = client.post("/api/v1/incidents", json=body, headers=h["commander"]).json()
                url = f"/api/v1/incidents/{incident['id']}"
                task = {"title": "Oracle task", "assigned_agency_id": str(ids["LEAD"]), "location": POINT}
                assert client.post(f"{url}/tasks", json=task, headers=h["commander"]).status_code == 201
                assert (
                    client.post(f"{url}/log", json={"text": "Oracle entry"}, headers=h["commander"]).status_code == 201
                )
                seat = {"position": "incident_commander", "agency_id": str(ids["LEAD"]), "person_name": "Oracle IC"}
                assert client.post(f"{url}/command", json=seat, headers=h["commander"]).status_code == 201
                start = utcnow()
                period = {"starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=12)).isoformat()}
                assert client.post(f"{url}/periods", json=period, headers=h["commander"]).status_code == 201
                draft = client.get(f"{url}/alerts/draft", headers=h["commander"])
                assert draft.status_code == 200, draft.text
                published = client.post(f"{url}/alerts", json=draft.json(), headers=h["commander"])
                assert published.status_code == 201, published.text
            layer = {
                "agency_id": str(ids["LEAD"]),
                "name": f"Oracle layer {tier}",
                "tier": tier if tier != "AMBER+STRICT" else "AMBER",
                "features": {"type": "FeatureCollection", "features": []},
            }
            assert client.post("/api/v1/map/layers", json=layer, headers=h["commander"]).status_code == 201
    # Half the AMBER incidents and layers were last updated 45 days ago: past RET's
    # retention period, so RET must not see them (nor their alerts).
    with session_factory() as db:
        old = utcnow() - timedelta(days=45)
        stale = list(
            db.scalars(
                select(Incident).where(Incident.lead_agency_id == ids["LEAD"], Incident.tier == "AMBER").limit(1)
            )
        )
        for incident in stale:
            incident.updated_at = old
        for layer in db.scalars(select(MapLayer).where(MapLayer.agency_id == ids["LEAD"], MapLayer.tier == "AMBER")):
            layer.updated_at = old
        db.commit()
    actors = [
        _actor("retention viewer", (ids["RET"], "viewer")),
        _actor("lead viewer", (ids["LEAD"], "viewer")),
        _actor("helper commander", (ids["HELP"], "commander")),
        _actor("recipient viewer", (ids["REC"], "viewer")),
        _actor("recipient analyst", (ids["REC"], "analyst")),
        _actor("partner viewer", (ids["PART"], "viewer")),
        _actor("stranger", (ids["NONE"], "analyst")),
        _actor("two hats", (ids["NONE"], "viewer"), (ids["REC"], "analyst")),
        _actor("two roles", (ids["REC"], "viewer"), (ids["REC"], "analyst")),
        _actor("helper and partner", (ids["HELP"], "viewer"), (ids["PART"], "trainer")),
        _actor("no agency", *()),
    ]
    with session_factory() as db:  # people of the demo region too: its partnerships, protocols, operations
        demo = dict(db.execute(select(Agency.short_name, Agency.id).where(Agency.short_name.in_(DEMO))).all())
    actors += [
        _actor(f"{short} {role}", (demo[short], role)) for short in sorted(demo) for role in ("viewer", "commander")
    ]
    actors.append(_actor("MCEMA and CCSO", (demo["MCEMA"], "coordinator"), (demo["CCSO"], "analyst")))
    return {"ids": ids, "actors": actors}


def test_every_registered_type_is_checked_set_based(db, world):
    expected = {"incident", "activity", "task", "command", "period", "map_layer"}
    assert expected <= live.registered_types()
    for object_type in expected:
        assert live.can_check_pairs(db, object_type), object_type
    # Records name people (RED): checked recipient by recipient through authz.scope.
    assert live.checked_by_user("record") and not live.can_check_pairs(db, "record")


@pytest.mark.parametrize("object_type", sorted(t for t in live.registered_types() if not live.checked_by_user(t)))
def test_the_set_based_check_admits_exactly_what_scope_admits(db, world, object_type):
    registered = live.registered(object_type)
    assert registered is not None
    assert live.can_check_pairs(db, object_type), f"{object_type}: its policy is not a union over memberships"
    ids = [str(i) for i in db.scalars(select(registered.id_column).limit(400))]
    assert ids, f"no {object_type} rows to check"
    batch = [
        Event(id=n, kind="x.y", object_type=object_type, object_id=object_id, occurred_at=utcnow())
        for n, object_id in enumerate(ids, start=1)
    ]
    # All recipients' pairs in one statement, as the dispatcher asks: a pair must never
    # see what another pair of the same statement may see.
    index: dict[tuple[uuid.UUID, str], int] = {}
    wanted = [
        [index.setdefault(p, len(index)) for p in live.membership_pairs(a, registered.permission)]
        for a in world["actors"]
    ]
    visible = live.visible_to_pairs(db, object_type, list(index), ids)
    seen_any = False
    for actor, positions in zip(world["actors"], wanted, strict=True):
        expected = {e.object_id for e in live.visible_events(db, actor, batch)}
        got: set[str] = set()
        for position in positions:
            got |= visible[position]
        assert got == expected, (object_type, actor.username, sorted(got ^ expected)[:5])
        seen_any = seen_any or bool(expected)
    assert seen_any
