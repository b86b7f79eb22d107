"""Mutual aid, the inventory (issue 6, part 1): resource types shipped and agencies' own,
resources with rates, reserves and qualified people, and who sees them — the owner, and
agencies bound with it by a mutual-aid clause in force — on both databases."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import select

from accord.directory.models import Agency, Person
from tests.conftest import assert_error, users_with_tokens

POINT = {"type": "Point", "coordinates": [-76.70, 40.86]}


@pytest.fixture(scope="module")
def people(app: Any, session_factory: Any) -> dict[str, Any]:
    """Logistics officers of LHFD and MCEMS (parties to the demo's mutual-aid agreement)
    and of HPD (in the compact, not a party), and an LHFD viewer."""
    made = users_with_tokens(
        app,
        session_factory,
        [
            ("lhfd", "logistics", "LHFD"),
            ("lhfd_viewer", "viewer", "LHFD"),
            ("mcems", "logistics", "MCEMS"),
            ("hpd", "logistics", "HPD"),
        ],
    )
    with session_factory() as db:
        made["greer"] = db.scalar(select(Person.id).where(Person.full_name == "Nathan Greer"))
    return made


def _resource(client: Any, people: dict[str, Any], **fields: Any) -> Any:
    body = {
        "owner_agency_id": str(people["ids"]["LHFD"]),
        "type_key": "swift_water_rescue_team",
        "level": 2,
        "name": f"Test boat team {uuid.uuid4().hex[:4]}",
        "home_name": "Station 41",
        "home": POINT,
        "hourly_rate": "95.00",
        "mileage_rate": "2.10",
        "qualified": [{"person_id": str(people["greer"]), "qualification": "swiftwater_technician"}],
    } | fields
    return client.post("/api/v1/resources", json=body, headers=people["h"]["lhfd"])


def test_the_shipped_types_follow_nims_typing(client, people):
    types = client.get("/api/v1/resource-types", headers=people["h"]["hpd"]).json()
    assert len(types) >= 40
    swift = client.get("/api/v1/resource-types/swift_water_rescue_team", headers=people["h"]["hpd"]).json()
    assert [level["level"] for level in swift["levels"]] == [1, 2, 3, 4]
    assert "swiftwater_technician" in swift["levels"][0]["required_qualifications"]
    assert swift["version"] and swift["owner_agency_id"] is None
    assert_error(client.get("/api/v1/resource-types/no_such_type", headers=people["h"]["hpd"]), 404, "not_found")


def test_an_agency_imports_types_of_its_own_under_its_prefix(client, people):
    spec = {
        "key": "lhfd_ice_rescue_team",
        "name": "Ice rescue team",
        "category": "search_rescue",
        "kind": "team",
        "travel_speed_kmh": 50,
        "levels": [
            {"level": 1, "minimum_capabilities": ["4 people", "ice sled"], "required_qualifications": ["ice_rescue"]}
        ],
    }
    made = client.post(
        "/api/v1/resource-types/import",
        json={"agency_id": str(people["ids"]["LHFD"]), "types": [spec]},
        headers=people["h"]["lhfd"],
    )
    assert made.status_code == 201, made.text
    assert made.json()[0]["owner_agency_id"] == str(people["ids"]["LHFD"])
    for bad, field in [
        (spec | {"key": "ice_rescue_team"}, "types[0].key"),
        (spec | {"category": "circus"}, "category"),
        (spec | {"levels": [{"level": 2}]}, "levels"),
        (spec | {"travel_speed_kmh": 0}, "travel_speed_kmh"),
    ]:
        refused = client.post(
            "/api/v1/resource-types/import",
            json={"agency_id": str(people["ids"]["LHFD"]), "types": [bad]},
            headers=people["h"]["lhfd"],
        )
        assert refused.status_code == 422, refused.text
        assert any(field in p["field"] for p in refused.json()["error"]["fields"]), refused.json()
    other = client.post(
        "/api/v1/resource-types/import",
        json={"agency_id": str(people["ids"]["LHFD"]), "types": [spec]},
        headers=people["h"]["hpd"],
    )
    assert_error(other, 403, "forbidden")


def test_a_resource_is_seen_by_its_agency_and_bound_partners_only(client, people):
    made = _resource(client, people)
    assert made.status_code == 201, made.text
    resource = made.json()
    assert resource["qualified"][0]["qualification"] == "swiftwater_technician"
    url = f"/api/v1/resources/{resource['id']}"
    assert client.get(url, headers=people["h"]["lhfd_viewer"]).status_code == 200
    assert client.get(url, headers=people["h"]["mcems"]).status_code == 200  # bound by the mutual-aid clause
    assert_error(client.get(url, headers=people["h"]["hpd"]), 404, "not_found")  # in the compact, not a party
    kept = _resource(client, people, shareable=False).json()
    assert_error(client.get(f"/api/v1/resources/{kept['id']}", headers=people["h"]["mcems"]), 404, "not_found")
    listed = client.get(
        "/api/v1/resources", params={"type_key": "swift_water_rescue_team"}, headers=people["h"]["mcems"]
    ).json()
    assert resource["id"] in [r["id"] for r in listed["items"]] and kept["id"] not in [r["id"] for r in listed["items"]]
    layer = client.get("/api/v1/resources.geojson", headers=people["h"]["hpd"]).json()
    assert resource["id"] not in [f["properties"]["id"] for f in layer["features"]]


def test_only_the_owner_keeps_its_resource_and_moves_show_on_the_map(client, people, db):
    resource = _resource(client, people).json()
    url = f"/api/v1/resources/{resource['id']}"
    moved = client.patch(
        url, json={"location": {"type": "Point", "coordinates": [-76.77, 40.90]}}, headers=people["h"]["lhfd"]
    )
    assert moved.status_code == 200 and moved.json()["location"]["coordinates"] == [-76.77, 40.90]
    assert moved.json()["home"] == POINT
    assert_error(client.patch(url, json={"status": "assigned"}, headers=people["h"]["mcems"]), 403, "forbidden")
    assert_error(client.patch(url, json={"status": "assigned"}, headers=people["h"]["lhfd_viewer"]), 403, "forbidden")
    layer = client.get("/api/v1/resources.geojson", headers=people["h"]["mcems"]).json()
    mine = [f for f in layer["features"] if f["properties"]["id"] == resource["id"]]
    assert mine[0]["geometry"]["coordinates"] == [-76.77, 40.90]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"type_key": "unicorn"}, "type_key"),
        ({"level": 7}, "level"),
        ({"home": {"type": "Point", "coordinates": [-200, 40]}}, "home"),
        (
            {"qualified": [{"person_id": str(uuid.uuid4()), "qualification": "swiftwater_technician"}]},
            "qualified[0].person_id",
        ),
        ({"qualified": [{"person_id": str(uuid.uuid4()), "qualification": "Not A Key"}]}, "qualified"),
        ({"quantity": 2, "minimum_reserve": 2}, "minimum_reserve"),
        ({"hourly_rate": "-1"}, "hourly_rate"),
        ({"status": "lost"}, "status"),
    ],
)
def test_bad_resources_are_refused_naming_the_field(client, people, fields, field):
    refused = _resource(client, people, **fields)
    assert refused.status_code == 422, refused.text
    assert any(field in p["field"] for p in refused.json()["error"]["fields"]), refused.json()


def test_a_terminated_agreement_stops_offering_resources_to_its_parties(client, people, db, as_user):
    """Bindings follow the agreements: a partner that opts out or whose agreement ends
    sees nothing more (tested through a fresh agreement between two test agencies)."""
    from datetime import timedelta

    from accord.core.time import utcnow

    tag = uuid.uuid4().hex[:5].upper()
    a, b = (
        Agency(name=f"MA {n} {tag}", short_name=f"MA{n}{tag}", kind="fire", level="local", jurisdiction_name="T")
        for n in "AB"
    )
    db.add_all([a, b])
    db.commit()
    coordinator, _ = as_user("coordinator", a.short_name)
    admin_a, _ = as_user("agency_admin", a.short_name)
    admin_b, _ = as_user("agency_admin", b.short_name)
    logistics_a, _ = as_user("logistics", a.short_name)
    viewer_b, _ = as_user("viewer", b.short_name)
    terms = {
        "kind": "mutual_aid",
        "activation_threshold": "Any request",
        "reimbursement_terms": "Requester pays",
        "thresholds": {"min_severity": "moderate"},
        "reimbursement": {"payer": "requester", "waived_hours": 4},
    }
    draft = {
        "kind": "mutual_aid",
        "title": "Test mutual aid",
        "parties": [str(a.id), str(b.id)],
        "effective_at": (utcnow() - timedelta(minutes=5)).isoformat(),
        "clauses": [terms],
    }
    agreement = client.post("/api/v1/agreements", json=draft, headers=coordinator)
    assert agreement.status_code == 201, agreement.text
    agreement_id = agreement.json()["id"]
    digest = client.post(f"/api/v1/agreements/{agreement_id}/propose", headers=coordinator).json()["versions"][0][
        "content_hash"
    ]
    for headers, agency in ((admin_a, a), (admin_b, b)):
        signed = client.post(
            f"/api/v1/agreements/{agreement_id}/sign",
            json={"agency_id": str(agency.id), "content_hash": digest},
            headers=headers,
        )
        assert signed.status_code == 200, signed.text
    made = client.post(
        "/api/v1/resources",
        json={
            "owner_agency_id": str(a.id),
            "type_key": "generator_portable",
            "level": 1,
            "name": "Generator A",
            "home": POINT,
        },
        headers=logistics_a,
    )
    assert made.status_code == 201, made.text
    url = f"/api/v1/resources/{made.json()['id']}"
    assert client.get(url, headers=viewer_b).status_code == 200
    document = client.get(f"/agreements/{agreement_id}", headers=admin_a)
    assert document.status_code in (200, 303)
    ended = client.post(f"/api/v1/agreements/{agreement_id}/terminate", json={"reason": "test"}, headers=admin_a)
    assert ended.status_code == 200, ended.text
    assert_error(client.get(url, headers=viewer_b), 404, "not_found")
