"""JSON API of the directory: agencies, people, capabilities, the region map layer, and
how bad input is answered (4xx naming the field and the reason, never 500).

Tests commit to the shared, seeded database: everything they create has a unique
short name ("T" + 6 hex digits) and seeded agencies are never changed."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from accord.directory.vocab import CAPABILITIES

AGENCIES = "/api/v1/agencies"
PEOPLE = "/api/v1/people"


# --- helpers ----------------------------------------------------------------------------


def short() -> str:
    return "T" + uuid.uuid4().hex[:6].upper()


def square(lon: float = -120.5, lat: float = 45.5, size: float = 0.2) -> list[list[float]]:
    """A closed, counter-clockwise ring [lon, lat]."""
    return [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]


def polygon(lon: float = -120.5, lat: float = 45.5, size: float = 0.2) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [square(lon, lat, size)]}


def agency_body(**overrides: Any) -> dict[str, Any]:
    sn = overrides.pop("short_name", None) or short()
    body: dict[str, Any] = {
        "name": f"Test Agency {sn}",
        "short_name": sn,
        "kind": "police",
        "level": "local",
        "jurisdiction_name": f"Town of {sn}",
    }
    body.update(overrides)
    return body


def error_of(response: Any, status: int, code: str, *, check_headers: bool = True) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert error["code"] == code, error
    assert isinstance(error["message"], str) and error["message"], error
    assert isinstance(error["request_id"], str) and error["request_id"], error
    if check_headers:
        assert response.headers.get("x-request-id") == error["request_id"], dict(response.headers)
    for f in error["fields"]:
        assert set(f) == {"field", "reason"}, f
        assert isinstance(f["field"], str) and f["field"], f
        assert isinstance(f["reason"], str) and f["reason"], f
    return error


def field_reasons(error: dict[str, Any]) -> dict[str, str]:
    return {f["field"]: f["reason"] for f in error["fields"]}


def create_agency(client: Any, headers: dict[str, str], **overrides: Any) -> dict[str, Any]:
    response = client.post(AGENCIES, json=agency_body(**overrides), headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def seeded(client: Any, headers: dict[str, str], short_name: str) -> dict[str, Any]:
    response = client.get(AGENCIES, params={"q": short_name, "limit": 500}, headers=headers)
    assert response.status_code == 200, response.text
    matches = [a for a in response.json()["items"] if a["short_name"] == short_name]
    assert len(matches) == 1, short_name
    return matches[0]


def count_short_name(client: Any, headers: dict[str, str], short_name: str) -> int:
    response = client.get(AGENCIES, params={"q": short_name, "limit": 500}, headers=headers)
    assert response.status_code == 200, response.text
    return sum(1 for a in response.json()["items"] if a["short_name"] == short_name)


def _module_user(app: Any, session_factory: Any, role: str, agency: str | None) -> dict[str, str]:
    """A fresh user shared by this module's tests (they never lock or change it): hashing a
    password per test would dominate the run time."""
    from fastapi.testclient import TestClient
    from sqlalchemy import select

    from accord.accounts.service import create_user_unchecked
    from accord.directory.models import Agency
    from accord.seed import DEMO_PASSWORD, system_actor
    from tests.conftest import api_token, bearer

    username = f"dirapi-{role.replace('_', '')}-{uuid.uuid4().hex[:8]}"
    with session_factory() as db:
        agency_id = db.scalar(select(Agency.id).where(Agency.short_name == agency)) if agency else None
        create_user_unchecked(
            db,
            actor=system_actor("test"),
            username=username,
            display_name=f"Directory API {role}",
            email=f"{username}@example.com",
            password=DEMO_PASSWORD,
            agency_id=agency_id,
            role=role,
            check_password_policy=False,
        )
        db.commit()
    with TestClient(app, base_url="http://testserver") as c:
        return bearer(api_token(c, username))


@pytest.fixture(scope="module")
def admin(app: Any, session_factory: Any) -> dict[str, str]:
    return _module_user(app, session_factory, "platform_admin", None)


@pytest.fixture(scope="module")
def viewer(app: Any, session_factory: Any) -> dict[str, str]:
    return _module_user(app, session_factory, "viewer", "HPD")


@pytest.fixture(scope="module")
def hpd_admin(app: Any, session_factory: Any) -> dict[str, str]:
    return _module_user(app, session_factory, "agency_admin", "HPD")


# --- reading ----------------------------------------------------------------------------


def test_list_is_paginated_and_ordered_by_name(client, viewer):
    everything = client.get(AGENCIES, params={"limit": 500}, headers=viewer)
    assert everything.status_code == 200, everything.text
    body = everything.json()
    assert body["limit"] == 500 and body["offset"] == 0
    assert body["total"] == len(body["items"]) >= 19
    names = [a["name"] for a in body["items"]]
    assert names == sorted(names)
    seeded_short = {"CCSO", "MCSO", "TCSO", "HPD", "HVFC", "HVHD", "ACSP-H", "HVRA", "FECO-HV"}
    assert seeded_short <= {a["short_name"] for a in body["items"]}

    first = client.get(AGENCIES, params={"limit": 3, "offset": 0}, headers=viewer).json()
    second = client.get(AGENCIES, params={"limit": 3, "offset": 3}, headers=viewer).json()
    assert (first["limit"], first["offset"], second["limit"], second["offset"]) == (3, 0, 3, 3)
    assert first["total"] == second["total"] == body["total"]
    assert len(first["items"]) == len(second["items"]) == 3
    assert [a["id"] for a in first["items"] + second["items"]] == [a["id"] for a in body["items"][:6]]

    beyond = client.get(AGENCIES, params={"limit": 10, "offset": body["total"]}, headers=viewer).json()
    assert beyond["items"] == [] and beyond["total"] == body["total"]

    default = client.get(AGENCIES, headers=viewer).json()
    assert default["limit"] == 50 and default["offset"] == 0


def test_list_filters_by_q_kind_level_and_capability(client, viewer):
    def get(**params: Any) -> dict[str, Any]:
        response = client.get(AGENCIES, params={"limit": 500, **params}, headers=viewer)
        assert response.status_code == 200, response.text
        return response.json()

    sheriffs = get(kind="sheriff")
    assert {"CCSO", "MCSO", "TCSO"} <= {a["short_name"] for a in sheriffs["items"]}
    assert all(a["kind"] == "sheriff" for a in sheriffs["items"])
    assert sheriffs["total"] == len(sheriffs["items"])

    state = get(level="state")
    assert {"ACSP-H", "HVFC"} <= {a["short_name"] for a in state["items"]}
    assert all(a["level"] == "state" for a in state["items"])
    assert "CCSO" not in {a["short_name"] for a in state["items"]}

    marine = get(capability="marine-patrol")
    assert {"WFPD", "MCSO"} <= {a["short_name"] for a in marine["items"]}
    assert all("marine-patrol" in a["capabilities"] for a in marine["items"])
    assert "CCSO" not in {a["short_name"] for a in marine["items"]}

    police_k9 = get(kind="police", capability="k9")
    assert {"HPD", "KPD"} <= {a["short_name"] for a in police_k9["items"]}
    assert "WFPD" not in {a["short_name"] for a in police_k9["items"]}
    assert all(a["kind"] == "police" and "k9" in a["capabilities"] for a in police_k9["items"])

    # q matches name, short name or jurisdiction name, case-insensitively
    by_short = get(q="ccso")
    assert "CCSO" in {a["short_name"] for a in by_short["items"]}
    for a in get(q="sheriff")["items"]:
        assert "sheriff" in (a["name"] + a["short_name"] + a["jurisdiction_name"]).lower()

    nothing = get(q="zz-no-such-agency-zz")
    assert nothing == {"items": [], "total": 0, "limit": 500, "offset": 0}


def test_q_treats_like_wildcards_literally(client, admin, viewer):
    sn = short()
    created = create_agency(client, admin, short_name=sn, name=f"Test {sn} 100% Unit_X")
    percent = client.get(AGENCIES, params={"q": "%", "limit": 500}, headers=viewer).json()
    assert created["id"] in {a["id"] for a in percent["items"]}
    assert all("%" in (a["name"] + a["short_name"] + a["jurisdiction_name"]) for a in percent["items"])
    underscore = client.get(AGENCIES, params={"q": "t_x", "limit": 500}, headers=viewer).json()
    assert created["id"] in {a["id"] for a in underscore["items"]}
    assert all("t_x" in (a["name"] + a["short_name"] + a["jurisdiction_name"]).lower() for a in underscore["items"])


def test_get_one_agency_and_unknown_is_404(client, viewer):
    ccso = seeded(client, viewer, "CCSO")
    response = client.get(f"{AGENCIES}/{ccso['id']}", headers=viewer)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body == ccso
    assert body["kind"] == "sheriff" and body["level"] == "county"
    assert body["jurisdiction"]["type"] == "MultiPolygon"
    assert len(body["bbox"]) == 4
    assert body["bbox"][0] < body["bbox"][2] and body["bbox"][1] < body["bbox"][3]

    hvfc = seeded(client, viewer, "HVFC")
    assert hvfc["parent"]["short_name"] == "ACSP-H"
    assert set(hvfc["parent"]) == {"id", "name", "short_name", "kind", "level"}

    missing = client.get(f"{AGENCIES}/{uuid.uuid4()}", headers=viewer)
    error = error_of(missing, 404, "not_found")
    assert "agency" in error["message"]


def test_geojson_layer_is_a_feature_collection_of_multipolygons(client, viewer):
    response = client.get(f"{AGENCIES}.geojson", headers=viewer)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    layer = response.json()
    assert layer["type"] == "FeatureCollection"
    features = layer["features"]
    assert len(features) >= 19
    shorts = set()
    for feature in features:
        assert feature["type"] == "Feature"
        geometry = feature["geometry"]
        assert geometry["type"] == "MultiPolygon"
        assert geometry["coordinates"] and all(
            poly and all(len(ring) >= 4 for ring in poly) for poly in geometry["coordinates"]
        )
        lons = [p[0] for poly in geometry["coordinates"] for ring in poly for p in ring]
        lats = [p[1] for poly in geometry["coordinates"] for ring in poly for p in ring]
        assert feature["bbox"] == pytest.approx([min(lons), min(lats), max(lons), max(lats)])
        props = feature["properties"]
        assert {"id", "name", "short_name", "kind", "level"} <= set(props)
        assert props["id"] == feature["id"]
        uuid.UUID(props["id"])
        shorts.add(props["short_name"])
    assert {"CCSO", "MCSO", "TCSO", "HPD", "HVFC", "HVHD"} <= shorts

    sheriffs = client.get(f"{AGENCIES}.geojson", params={"kind": "sheriff"}, headers=viewer).json()
    assert {f["properties"]["short_name"] for f in sheriffs["features"]} >= {"CCSO", "MCSO", "TCSO"}
    assert all(f["properties"]["kind"] == "sheriff" for f in sheriffs["features"])


def test_geojson_leaves_out_agencies_without_jurisdiction(client, admin, viewer):
    created = create_agency(client, admin)
    assert created["jurisdiction"] is None and created["bbox"] is None
    layer = client.get(f"{AGENCIES}.geojson", params={"limit": 500}, headers=viewer).json()
    assert created["id"] not in {f["id"] for f in layer["features"]}


def test_capabilities_vocabulary(client, viewer):
    response = client.get("/api/v1/capabilities", headers=viewer)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body == [{"key": k, "label": v} for k, v in CAPABILITIES.items()]
    assert {"key": "patrol", "label": "Patrol"} in body


@pytest.mark.parametrize(
    "path",
    [
        AGENCIES,
        f"{AGENCIES}.geojson",
        "/api/v1/capabilities",
        PEOPLE,
        f"{AGENCIES}/{uuid.UUID(int=1)}",
        f"{AGENCIES}/{uuid.UUID(int=1)}/people",
        f"{PEOPLE}/{uuid.UUID(int=1)}",
    ],
)
def test_unauthenticated_reads_are_401(client, path):
    error_of(client.get(path), 401, "unauthenticated")
    error_of(client.get(path, headers={"Authorization": "Bearer acc_bogus.not-a-token"}), 401, "unauthenticated")


def test_unauthenticated_writes_are_401(client):
    error_of(client.post(AGENCIES, json=agency_body()), 401, "unauthenticated")
    error_of(client.patch(f"{AGENCIES}/{uuid.uuid4()}", json={"address": "x"}), 401, "unauthenticated")
    error_of(client.post(PEOPLE, json={"agency_id": str(uuid.uuid4()), "full_name": "Nobody"}), 401, "unauthenticated")


# --- creating and editing agencies ------------------------------------------------------


def test_platform_admin_creates_agency_polygon_stored_as_multipolygon(client, admin, viewer):
    ccso = seeded(client, viewer, "CCSO")
    ring = square(-121.25, 44.5, 0.5)
    body = agency_body(
        kind="fire",
        level="county",
        jurisdiction={"type": "Polygon", "coordinates": [ring]},
        address="1 Test Road",
        duty_phone="+1 555 0100",
        contacts=[{"kind": "phone", "value": "+1 555 0101", "label": "Front desk"}],
        capabilities=["hazmat", "structural-firefighting", "hazmat"],
        parent_id=ccso["id"],
    )
    response = client.post(AGENCIES, json=body, headers=admin)
    assert response.status_code == 201, response.text
    created = response.json()
    uuid.UUID(created["id"])
    for key in ("name", "short_name", "kind", "level", "jurisdiction_name", "address", "duty_phone"):
        assert created[key] == body[key], key
    assert created["jurisdiction"] == {"type": "MultiPolygon", "coordinates": [[ring]]}
    assert created["bbox"] == pytest.approx([-121.25, 44.5, -120.75, 45.0])
    assert created["capabilities"] == ["hazmat", "structural-firefighting"]
    assert created["contacts"] == [{"kind": "phone", "value": "+1 555 0101", "label": "Front desk"}]
    assert created["parent"]["id"] == ccso["id"] and created["parent"]["short_name"] == "CCSO"

    fetched = client.get(f"{AGENCIES}/{created['id']}", headers=viewer)
    assert fetched.status_code == 200
    assert fetched.json() == created

    layer = client.get(f"{AGENCIES}.geojson", params={"q": body["short_name"]}, headers=viewer).json()
    assert len(layer["features"]) == 1
    feature = layer["features"][0]
    assert feature["geometry"] == created["jurisdiction"]
    assert feature["bbox"] == pytest.approx(created["bbox"])
    assert feature["properties"]["short_name"] == body["short_name"]
    assert feature["properties"]["kind"] == "fire" and feature["properties"]["level"] == "county"
    assert feature["properties"]["name"] == body["name"]


def test_multipolygon_bbox_spans_all_parts(client, admin):
    jurisdiction = {
        "type": "MultiPolygon",
        "coordinates": [[square(-122.0, 46.0, 0.1)], [square(-121.0, 47.0, 0.3)]],
    }
    created = create_agency(client, admin, jurisdiction=jurisdiction)
    assert created["jurisdiction"] == jurisdiction
    assert created["bbox"] == pytest.approx([-122.0, 46.0, -120.7, 47.3])


@pytest.mark.parametrize("role", ["agency_admin", "viewer", "analyst"])
def test_non_platform_roles_cannot_create_agencies(client, as_user, role):
    headers, _ = as_user(role, "CCSO")
    body = agency_body()
    error = error_of(client.post(AGENCIES, json=body, headers=headers), 403, "forbidden")
    assert "directory:agency:create" in error["message"]
    assert count_short_name(client, headers, body["short_name"]) == 0


def test_agency_admin_edits_own_agency_only(client, admin, make_user, as_user):
    from tests.conftest import api_token, bearer

    mine = create_agency(client, admin, capabilities=["patrol"])
    user = make_user("agency_admin", mine["short_name"])
    own = bearer(api_token(client, user["username"], user["password"]))

    changes = {
        "address": "2 Changed Street",
        "duty_phone": "+1 555 0199",
        "capabilities": ["k9", "patrol", "swat"],
        "contacts": [{"kind": "email", "value": "duty@example.com"}],
        "jurisdiction": polygon(-119.0, 44.0, 0.25),
    }
    response = client.patch(f"{AGENCIES}/{mine['id']}", json=changes, headers=own)
    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated["address"] == "2 Changed Street"
    assert updated["duty_phone"] == "+1 555 0199"
    assert sorted(updated["capabilities"]) == ["k9", "patrol", "swat"]
    assert updated["contacts"] == [{"kind": "email", "value": "duty@example.com", "label": ""}]
    assert updated["jurisdiction"]["type"] == "MultiPolygon"
    assert updated["bbox"] == pytest.approx([-119.0, 44.0, -118.75, 44.25])
    # untouched fields stay
    for key in ("name", "short_name", "kind", "level", "jurisdiction_name"):
        assert updated[key] == mine[key]
    stored = client.get(f"{AGENCIES}/{mine['id']}", headers=own).json()
    assert stored["capabilities"] == ["k9", "patrol", "swat"]
    assert {**stored, "capabilities": None} == {**updated, "capabilities": None}

    # clearing the jurisdiction clears the bbox too
    cleared = client.patch(f"{AGENCIES}/{mine['id']}", json={"jurisdiction": None}, headers=own)
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["jurisdiction"] is None and cleared.json()["bbox"] is None

    # another agency (seeded CCSO, and one created by the platform admin): 403, unchanged
    for other in (seeded(client, own, "CCSO"), create_agency(client, admin)):
        denied = client.patch(f"{AGENCIES}/{other['id']}", json={"address": "hijacked"}, headers=own)
        error = error_of(denied, 403, "forbidden")
        assert "directory:agency:update" in error["message"]
        assert client.get(f"{AGENCIES}/{other['id']}", headers=own).json()["address"] == other["address"]

    # the admin of CCSO cannot edit this agency either
    ccso_admin, _ = as_user("agency_admin", "CCSO")
    error_of(client.patch(f"{AGENCIES}/{mine['id']}", json={"address": "x"}, headers=ccso_admin), 403, "forbidden")
    # and a viewer of the agency itself has no update permission
    own_viewer, _ = as_user("viewer", mine["short_name"])
    error_of(client.patch(f"{AGENCIES}/{mine['id']}", json={"address": "x"}, headers=own_viewer), 403, "forbidden")


def test_patch_answer_lists_capabilities_like_get(client, admin):
    """The PATCH answer is the stored agency: capabilities in the same (sorted) order as
    create and GET give them."""
    mine = create_agency(client, admin, capabilities=["swat", "patrol"])
    assert mine["capabilities"] == ["patrol", "swat"]
    response = client.patch(f"{AGENCIES}/{mine['id']}", json={"capabilities": ["k9", "patrol", "swat"]}, headers=admin)
    assert response.status_code == 200, response.text
    stored = client.get(f"{AGENCIES}/{mine['id']}", headers=admin).json()
    assert stored["capabilities"] == ["k9", "patrol", "swat"]
    assert response.json()["capabilities"] == stored["capabilities"]


def test_patch_unknown_agency_is_404(client, admin):
    error_of(client.patch(f"{AGENCIES}/{uuid.uuid4()}", json={"address": "x"}, headers=admin), 404, "not_found")


@pytest.mark.parametrize("field", ["name", "short_name", "kind", "level", "jurisdiction_name"])
def test_patch_required_field_to_null_is_422(client, admin, field):
    mine = create_agency(client, admin)
    error = error_of(client.patch(f"{AGENCIES}/{mine['id']}", json={field: None}, headers=admin), 422, "invalid")
    assert field in field_reasons(error)
    assert client.get(f"{AGENCIES}/{mine['id']}", headers=admin).json()[field] == mine[field]


def test_duplicate_short_name_or_name_is_409(client, admin):
    response = client.post(AGENCIES, json=agency_body(short_name="CCSO"), headers=admin)
    error = error_of(response, 409, "conflict")
    assert set(field_reasons(error)) == {"short_name"}
    assert "CCSO" in field_reasons(error)["short_name"]

    mine = create_agency(client, admin)
    again = client.post(AGENCIES, json=agency_body(name=mine["name"]), headers=admin)
    assert set(field_reasons(error_of(again, 409, "conflict"))) == {"name"}

    clash = client.patch(f"{AGENCIES}/{mine['id']}", json={"short_name": "HPD"}, headers=admin)
    assert set(field_reasons(error_of(clash, 409, "conflict"))) == {"short_name"}
    # setting an agency's own short name again is not a conflict
    same = client.patch(f"{AGENCIES}/{mine['id']}", json={"short_name": mine["short_name"]}, headers=admin)
    assert same.status_code == 200, same.text


def test_parent_cycles_and_self_parent_are_422(client, admin):
    a = create_agency(client, admin)
    b = create_agency(client, admin)
    c = create_agency(client, admin)

    linked = client.patch(f"{AGENCIES}/{a['id']}", json={"parent_id": b["id"]}, headers=admin)
    assert linked.status_code == 200, linked.text
    assert linked.json()["parent"]["id"] == b["id"]

    cycle = client.patch(f"{AGENCIES}/{b['id']}", json={"parent_id": a["id"]}, headers=admin)
    reasons = field_reasons(error_of(cycle, 422, "invalid"))
    assert set(reasons) == {"parent_id"}
    assert "cycle" in reasons["parent_id"]
    assert client.get(f"{AGENCIES}/{b['id']}", headers=admin).json()["parent"] is None

    # a longer cycle: a -> b -> c -> a
    assert client.patch(f"{AGENCIES}/{b['id']}", json={"parent_id": c["id"]}, headers=admin).status_code == 200
    long_cycle = client.patch(f"{AGENCIES}/{c['id']}", json={"parent_id": a["id"]}, headers=admin)
    assert set(field_reasons(error_of(long_cycle, 422, "invalid"))) == {"parent_id"}

    self_parent = client.patch(f"{AGENCIES}/{a['id']}", json={"parent_id": a["id"]}, headers=admin)
    reasons = field_reasons(error_of(self_parent, 422, "invalid"))
    assert set(reasons) == {"parent_id"}
    assert "own parent" in reasons["parent_id"]

    unknown = client.patch(f"{AGENCIES}/{a['id']}", json={"parent_id": str(uuid.uuid4())}, headers=admin)
    assert set(field_reasons(error_of(unknown, 422, "invalid"))) == {"parent_id"}
    unknown_on_create = client.post(AGENCIES, json=agency_body(parent_id=str(uuid.uuid4())), headers=admin)
    assert set(field_reasons(error_of(unknown_on_create, 422, "invalid"))) == {"parent_id"}

    # unlinking works
    unlinked = client.patch(f"{AGENCIES}/{a['id']}", json={"parent_id": None}, headers=admin)
    assert unlinked.status_code == 200, unlinked.text
    assert unlinked.json()["parent"] is None


# --- people -----------------------------------------------------------------------------


def _person(agency_id: str, **overrides: Any) -> dict[str, Any]:
    body = {
        "agency_id": agency_id,
        "full_name": f"Pat {uuid.uuid4().hex[:6]}",
        "title": "Liaison officer",
        "email": "pat@example.com",
        "phone": "+1 555 0142",
    }
    body.update(overrides)
    return body


@pytest.fixture
def own_agency(client, admin, make_user):
    """A fresh agency and a fresh agency_admin token of it."""
    from tests.conftest import api_token, bearer

    agency = create_agency(client, admin)
    user = make_user("agency_admin", agency["short_name"])
    return agency, bearer(api_token(client, user["username"], user["password"]))


def test_people_lifecycle_by_the_agencys_admin(client, own_agency, hpd_admin):
    agency, own = own_agency
    other_admin = hpd_admin

    body = _person(agency["id"], is_liaison=True)
    created = client.post(PEOPLE, json=body, headers=own)
    assert created.status_code == 201, created.text
    person = created.json()
    assert person["agency_id"] == agency["id"]
    assert person["agency_short_name"] == agency["short_name"]
    for key in ("full_name", "title", "email", "phone"):
        assert person[key] == body[key]
    assert person["is_liaison"] is True and person["is_duty_contact"] is False
    assert person["has_account"] is False
    url = f"{PEOPLE}/{person['id']}"

    assert client.get(url, headers=other_admin).json() == person  # the directory is shared

    denied_create = client.post(PEOPLE, json=_person(agency["id"]), headers=other_admin)
    error_of(denied_create, 403, "forbidden")
    error_of(client.patch(url, json={"title": "Hijacked"}, headers=other_admin), 403, "forbidden")
    error_of(client.delete(url, headers=other_admin), 403, "forbidden")
    assert client.get(url, headers=own).json()["title"] == "Liaison officer"

    patched = client.patch(url, json={"title": "Duty officer", "is_duty_contact": True, "email": ""}, headers=own)
    assert patched.status_code == 200, patched.text
    assert patched.json()["title"] == "Duty officer"
    assert patched.json()["is_duty_contact"] is True
    assert patched.json()["email"] == ""
    assert patched.json()["full_name"] == body["full_name"]

    nulled = client.patch(url, json={"full_name": None}, headers=own)
    assert set(field_reasons(error_of(nulled, 422, "invalid"))) == {"full_name"}

    moved = client.patch(url, json={"agency_id": str(uuid.uuid4())}, headers=own)
    reasons = field_reasons(error_of(moved, 422, "invalid"))
    assert reasons == {"agency_id": "unknown field"}

    listed = client.get(f"{AGENCIES}/{agency['id']}/people", headers=own)
    assert listed.status_code == 200, listed.text
    assert [p["id"] for p in listed.json()["items"]] == [person["id"]]
    assert listed.json()["total"] == 1

    deleted = client.delete(url, headers=own)
    assert deleted.status_code == 204, deleted.text
    assert deleted.content == b""
    error_of(client.get(url, headers=own), 404, "not_found")
    error_of(client.delete(url, headers=own), 404, "not_found")
    assert client.get(f"{AGENCIES}/{agency['id']}/people", headers=own).json()["total"] == 0


def test_people_of_seeded_agency_cannot_be_created_by_another_agencys_admin(client, hpd_admin, viewer):
    ccso = seeded(client, viewer, "CCSO")
    before = client.get(f"{AGENCIES}/{ccso['id']}/people", headers=viewer).json()["total"]
    error_of(client.post(PEOPLE, json=_person(ccso["id"]), headers=hpd_admin), 403, "forbidden")
    error_of(client.post(PEOPLE, json=_person(ccso["id"]), headers=viewer), 403, "forbidden")
    assert client.get(f"{AGENCIES}/{ccso['id']}/people", headers=viewer).json()["total"] == before


def test_person_of_unknown_agency_is_422_and_unknown_person_404(client, admin):
    response = client.post(PEOPLE, json=_person(str(uuid.uuid4())), headers=admin)
    assert set(field_reasons(error_of(response, 422, "invalid"))) == {"agency_id"}
    error = error_of(client.get(f"{PEOPLE}/{uuid.uuid4()}", headers=admin), 404, "not_found")
    assert "person" in error["message"]
    error_of(client.patch(f"{PEOPLE}/{uuid.uuid4()}", json={"title": "x"}, headers=admin), 404, "not_found")
    error_of(client.get(f"{AGENCIES}/{uuid.uuid4()}/people", headers=admin), 404, "not_found")


def test_person_with_bad_email_is_422_naming_email(client, own_agency):
    agency, own = own_agency
    response = client.post(PEOPLE, json=_person(agency["id"], email="not-an-email"), headers=own)
    reasons = field_reasons(error_of(response, 422, "invalid"))
    assert set(reasons) == {"email"}, reasons
    assert "email" in reasons["email"]


def test_person_with_a_user_account_cannot_be_deleted(client, own_agency, make_user, db):
    from accord.directory.models import Person

    agency, own = own_agency
    person = client.post(PEOPLE, json=_person(agency["id"]), headers=own).json()
    user = make_user("viewer", agency["short_name"])
    row = db.get(Person, uuid.UUID(person["id"]))
    row.user_id = user["id"]
    db.commit()
    assert client.get(f"{PEOPLE}/{person['id']}", headers=own).json()["has_account"] is True
    error = error_of(client.delete(f"{PEOPLE}/{person['id']}", headers=own), 409, "conflict")
    assert set(field_reasons(error)) == {"person"}
    assert client.get(f"{PEOPLE}/{person['id']}", headers=own).status_code == 200


def test_people_filters_liaison_and_duty(client, own_agency, viewer):
    agency, own = own_agency
    ids = {}
    for key, flags in {
        "liaison": {"is_liaison": True},
        "duty": {"is_duty_contact": True},
        "both": {"is_liaison": True, "is_duty_contact": True},
        "neither": {},
    }.items():
        response = client.post(
            PEOPLE, json=_person(agency["id"], full_name=f"{key} {agency['short_name']}", **flags), headers=own
        )
        assert response.status_code == 201, response.text
        ids[key] = response.json()["id"]

    def found(**params: Any) -> set[str]:
        response = client.get(PEOPLE, params={"agency_id": agency["id"], "limit": 500, **params}, headers=viewer)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["total"] == len(body["items"])
        return {p["id"] for p in body["items"]}

    assert found() == set(ids.values())
    assert found(liaison="true") == {ids["liaison"], ids["both"]}
    assert found(duty="true") == {ids["duty"], ids["both"]}
    assert found(liaison="true", duty="true") == {ids["both"]}
    assert found(liaison="false", duty="false") == {ids["neither"]}
    assert found(liaison="false") == {ids["duty"], ids["neither"]}
    assert found(q="neither") == {ids["neither"]}

    everywhere = client.get(PEOPLE, params={"liaison": "true", "limit": 500}, headers=viewer).json()
    assert everywhere["items"] and all(p["is_liaison"] for p in everywhere["items"])
    assert {ids["liaison"], ids["both"]} <= {p["id"] for p in everywhere["items"]}
    duty = client.get(PEOPLE, params={"duty": "true", "limit": 500}, headers=viewer).json()
    assert all(p["is_duty_contact"] for p in duty["items"])

    paged = client.get(PEOPLE, params={"agency_id": agency["id"], "limit": 2, "offset": 2}, headers=viewer).json()
    assert paged["total"] == 4 and paged["limit"] == 2 and paged["offset"] == 2 and len(paged["items"]) == 2

    error_of(client.get(PEOPLE, params={"liaison": "perhaps"}, headers=viewer), 422, "invalid")


# --- bad input: 4xx naming field and reason -----------------------------------------------


def test_unknown_top_level_field_is_named(client, admin):
    body = agency_body(colour="blue")
    error = error_of(client.post(AGENCIES, json=body, headers=admin), 422, "invalid")
    assert field_reasons(error) == {"colour": "unknown field"}
    assert "colour" in error["message"]
    mine = create_agency(client, admin)
    patched = client.patch(f"{AGENCIES}/{mine['id']}", json={"colour": "blue"}, headers=admin)
    assert field_reasons(error_of(patched, 422, "invalid")) == {"colour": "unknown field"}


@pytest.mark.parametrize(
    ("overrides", "field", "reason_part"),
    [
        ({"kind": 5}, "kind", "Input should be"),
        ({"kind": "wizard"}, "kind", "Input should be"),
        ({"level": "galactic"}, "level", "Input should be"),
        ({"capabilities": "x"}, "capabilities", "valid list"),
        ({"capabilities": ["patrol", "levitation"]}, "capabilities", "unknown capability 'levitation'"),
        ({"short_name": "lower"}, "short_name", "pattern"),
        ({"short_name": "ABCDEFGHIJKLMNOPQ"}, "short_name", "at most 16"),
        ({"short_name": "A"}, "short_name", "at least 2"),
        ({"name": "ab"}, "name", "at least 3"),
        ({"name": 42}, "name", "valid string"),
        ({"contacts": [{"kind": "pigeon", "value": "x"}]}, "contacts.0.kind", "Input should be"),
        ({"contacts": "x"}, "contacts", "valid list"),
        ({"parent_id": "not-a-uuid"}, "parent_id", "UUID"),
    ],
)
def test_wrong_types_and_values_name_the_field(client, admin, overrides, field, reason_part):
    body = agency_body(**overrides)
    error = error_of(client.post(AGENCIES, json=body, headers=admin), 422, "invalid")
    reasons = field_reasons(error)
    assert field in reasons, reasons
    assert reason_part in reasons[field], reasons
    assert count_short_name(client, admin, str(body["short_name"])) == 0


def test_missing_required_fields_are_named(client, admin):
    error = error_of(client.post(AGENCIES, json={}, headers=admin), 422, "invalid")
    reasons = field_reasons(error)
    for field in ("name", "short_name", "kind", "level", "jurisdiction_name"):
        assert reasons.get(field) == "Field required", reasons


HUGE = 10**400

BAD_JURISDICTIONS = [
    pytest.param("POLYGON((0 0, 1 0, 1 1, 0 0))", "jurisdiction", "dictionary", id="not-an-object"),
    pytest.param([[0, 0]], "jurisdiction", "dictionary", id="a-list"),
    pytest.param({"type": "Point", "coordinates": [-120.0, 45.0]}, "jurisdiction.type", "'Point'", id="point"),
    pytest.param({"coordinates": [square()]}, "jurisdiction.type", "Polygon", id="no-type"),
    pytest.param(
        {"type": "Polygon", "coordinates": [[*square()[:-1], [-120.4, 45.6]]]},
        "jurisdiction.coordinates[0]",
        "not closed",
        id="ring-not-closed",
    ),
    pytest.param(
        {"type": "Polygon", "coordinates": [[[-120.0, 45.0], [-119.0, 45.0], [-120.0, 45.0]]]},
        "jurisdiction.coordinates[0]",
        "at least 4 positions",
        id="ring-of-3",
    ),
    pytest.param({"type": "Polygon", "coordinates": []}, "jurisdiction.coordinates", "non-empty", id="no-rings"),
    pytest.param({"type": "Polygon"}, "jurisdiction.coordinates", "non-empty", id="no-coordinates"),
    pytest.param(
        {"type": "MultiPolygon", "coordinates": []}, "jurisdiction.coordinates", "at least one", id="empty-multi"
    ),
    pytest.param(
        {"type": "Polygon", "coordinates": [[[-120.0, 45.0], [-119.0, 95.0], [-119.0, 46.0], [-120.0, 45.0]]]},
        "jurisdiction.coordinates[0][1]",
        "latitude 95",
        id="latitude-95",
    ),
    pytest.param(
        {"type": "Polygon", "coordinates": [[[-200.0, 45.0], [-119.0, 45.0], [-119.0, 46.0], [-200.0, 45.0]]]},
        "jurisdiction.coordinates[0][0]",
        "longitude -200",
        id="longitude-minus-200",
    ),
    pytest.param(
        {"type": "Polygon", "coordinates": [[[p[1], p[0]] for p in square(-120.5, 45.5)]]},
        "jurisdiction.coordinates[0][0]",
        "latitude -120.5",
        id="lat-lon-swapped",
    ),
    pytest.param(
        {"type": "Polygon", "coordinates": [[[-120.0, 45.0], ["-119", 45.0], [-119.0, 46.0], [-120.0, 45.0]]]},
        "jurisdiction.coordinates[0][1]",
        "finite numbers",
        id="string-coordinate",
    ),
    pytest.param(
        {"type": "Polygon", "coordinates": [[[-120.0, 45.0], ["NaN", 45.0], [-119.0, 46.0], [-120.0, 45.0]]]},
        "jurisdiction.coordinates[0][1]",
        "finite numbers",
        id="nan-string",
    ),
    pytest.param(
        {"type": "Polygon", "coordinates": [[[-120.0, 45.0], [-119.0, "Infinity"], [-119.0, 46.0], [-120.0, 45.0]]]},
        "jurisdiction.coordinates[0][1]",
        "finite numbers",
        id="infinity-string",
    ),
    pytest.param(
        {"type": "Polygon", "coordinates": [[[-120.0, 45.0], [True, 45.0], [-119.0, 46.0], [-120.0, 45.0]]]},
        "jurisdiction.coordinates[0][1]",
        "finite numbers",
        id="boolean-coordinate",
    ),
    pytest.param(
        {"type": "Polygon", "coordinates": [[[-120.0, 45.0], [-119.0], [-119.0, 46.0], [-120.0, 45.0]]]},
        "jurisdiction.coordinates[0][1]",
        "[longitude, latitude]",
        id="one-number-position",
    ),
    pytest.param(
        {"type": "Polygon", "coordinates": [[[-120.0, 45.0], [-119.0, 45.0, 1, 2], [-119.0, 46.0], [-120.0, 45.0]]]},
        "jurisdiction.coordinates[0][1]",
        "[longitude, latitude]",
        id="four-number-position",
    ),
    pytest.param(
        {"type": "Polygon", "coordinates": [[[-120.0, 45.0], [-119.0, HUGE], [-119.0, 46.0], [-120.0, 45.0]]]},
        "jurisdiction.coordinates[0][1]",
        "",
        id="huge-integer",
    ),
    pytest.param(
        {"type": "Polygon", "coordinates": [[[-120, 45], [-119, 46], [-119, 45], [-120, 46], [-120, 45]]]},
        "jurisdiction",
        "invalid geometry",
        id="bow-tie",
    ),
    pytest.param(
        {"type": "Polygon", "coordinates": [square(), square(-118.0, 40.0, 0.1)]},
        "jurisdiction",
        "invalid geometry",
        id="hole-outside-shell",
    ),
    pytest.param(
        {"type": "Polygon", "coordinates": [square()], "crs": {"type": "name"}},
        "jurisdiction.crs",
        "unknown member",
        id="unknown-member",
    ),
    pytest.param(
        {"type": "MultiPolygon", "coordinates": [[square()], "oops"]},
        "jurisdiction.coordinates[1]",
        "linear rings",
        id="multipolygon-bad-part",
    ),
]


@pytest.mark.parametrize(("jurisdiction", "field", "reason_part"), BAD_JURISDICTIONS)
def test_malformed_jurisdiction_is_422_naming_the_position(client, admin, jurisdiction, field, reason_part):
    body = agency_body(jurisdiction=jurisdiction)
    response = client.post(AGENCIES, json=body, headers=admin)
    error = error_of(response, 422, "invalid")
    reasons = field_reasons(error)
    assert reasons, error
    assert all(f.startswith("jurisdiction") for f in reasons), reasons
    assert field in reasons, reasons
    assert reason_part in reasons[field], reasons
    assert len(reasons[field]) > 10  # a sentence a person can act on
    assert count_short_name(client, admin, body["short_name"]) == 0


def test_malformed_jurisdiction_on_patch_leaves_agency_unchanged(client, admin):
    mine = create_agency(client, admin, jurisdiction=polygon())
    bad = {"type": "Polygon", "coordinates": [[[-120, 45], [-119, 46], [-119, 45], [-120, 46], [-120, 45]]]}
    response = client.patch(f"{AGENCIES}/{mine['id']}", json={"jurisdiction": bad, "address": "x"}, headers=admin)
    reasons = field_reasons(error_of(response, 422, "invalid"))
    assert list(reasons) == ["jurisdiction"] and reasons["jurisdiction"].startswith("invalid geometry")
    after = client.get(f"{AGENCIES}/{mine['id']}", headers=admin).json()
    assert after["jurisdiction"] == mine["jurisdiction"] and after["bbox"] == mine["bbox"]
    assert after["address"] == mine["address"]


def test_json_nan_literal_in_coordinates_is_422(client, admin):
    body = agency_body(jurisdiction=polygon())
    raw = json.dumps(body).replace("-120.3", "NaN", 1)
    assert "NaN" in raw
    response = client.post(AGENCIES, content=raw, headers={**admin, "content-type": "application/json"})
    reasons = field_reasons(error_of(response, 422, "invalid"))
    assert all(f.startswith("jurisdiction") for f in reasons), reasons
    assert any("finite" in r for r in reasons.values()), reasons


def test_body_over_the_limit_is_413(client, admin, settings):
    limit = settings.max_body_bytes
    assert limit == 2 * 1024 * 1024
    body = agency_body(address="")
    text = json.dumps(body)
    padded = text[:-1] + ', "padding": "' + "x" * (limit - len(text)) + '"}'
    assert len(padded.encode()) > limit
    response = client.post(AGENCIES, content=padded, headers={**admin, "content-type": "application/json"})
    error = error_of(response, 413, "too_large", check_headers=False)
    assert field_reasons(error) == {"body": error["message"]}
    assert str(limit) in error["message"]
    assert count_short_name(client, admin, body["short_name"]) == 0

    # exactly at the limit is read (and rejected for its unknown field, not its size)
    at_limit = text[:-1] + ', "padding": "' + "x" * (limit - len(text) - 16) + '"}'
    assert len(at_limit.encode()) <= limit
    response = client.post(AGENCIES, content=at_limit, headers={**admin, "content-type": "application/json"})
    assert field_reasons(error_of(response, 422, "invalid")) == {"padding": "unknown field"}


def test_413_answer_carries_request_id_and_security_headers(client, admin, settings):
    """Like every other answer, the early 413 carries X-Request-ID (matching the body's
    request_id) and the security headers."""
    payload = b"{" + b" " * settings.max_body_bytes + b"}"
    response = client.post(AGENCIES, content=payload, headers={**admin, "content-type": "application/json"})
    error = error_of(response, 413, "too_large", check_headers=False)
    assert response.headers.get("x-request-id") == error["request_id"]
    assert response.headers.get("x-content-type-options") == "nosniff"
    assert response.headers.get("x-frame-options") == "DENY"


def test_chunked_body_over_the_limit_is_413(client, admin, settings):
    """Without a Content-Length the limit is enforced while reading."""
    limit = settings.max_body_bytes
    chunk = b" " * 65536
    chunks = [b'{"name": "x"'] + [chunk] * (limit // len(chunk) + 1) + [b"}"]

    def stream():
        yield from chunks

    response = client.post(AGENCIES, content=stream(), headers={**admin, "content-type": "application/json"})
    assert "content-length" not in {k.lower() for k in response.request.headers}
    error_of(response, 413, "too_large")


def test_invalid_json_body_is_422(client, admin):
    response = client.post(
        AGENCIES, content=b'{"name": "Broken", ', headers={**admin, "content-type": "application/json"}
    )
    error = error_of(response, 422, "invalid")
    assert error["fields"]
    assert any("JSON" in f["reason"] for f in error["fields"]), error


def test_body_that_is_not_an_object_is_422(client, admin):
    response = client.post(AGENCIES, json=["a", "list"], headers=admin)
    error_of(response, 422, "invalid")


@pytest.mark.parametrize(
    "path",
    [f"{AGENCIES}/not-a-uuid", f"{AGENCIES}/123/people", f"{PEOPLE}/zzz"],
)
def test_invalid_uuid_in_path_is_422(client, viewer, path):
    error = error_of(client.get(path, headers=viewer), 422, "invalid")
    assert len(error["fields"]) == 1
    assert error["fields"][0]["field"] in ("agency_id", "person_id")
    assert "UUID" in error["fields"][0]["reason"]


def test_invalid_uuid_in_patch_path_is_422(client, admin):
    error = error_of(client.patch(f"{AGENCIES}/nope", json={"address": "x"}, headers=admin), 422, "invalid")
    assert "agency_id" in field_reasons(error)


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        (AGENCIES, {"limit": 0}, "limit"),
        (AGENCIES, {"limit": 100000}, "limit"),
        (AGENCIES, {"limit": "many"}, "limit"),
        (AGENCIES, {"offset": -1}, "offset"),
        (AGENCIES, {"kind": "wizard"}, "kind"),
        (AGENCIES, {"level": "galactic"}, "level"),
        (AGENCIES, {"capability": "levitation"}, "capability"),
        (AGENCIES, {"q": "x" * 101}, "q"),
        (f"{AGENCIES}.geojson", {"kind": "wizard"}, "kind"),
        (PEOPLE, {"limit": 0}, "limit"),
        (PEOPLE, {"limit": 100000}, "limit"),
        (PEOPLE, {"agency_id": "nope"}, "agency_id"),
    ],
)
def test_bad_filters_are_422(client, viewer, path, params, field):
    error = error_of(client.get(path, params=params, headers=viewer), 422, "invalid")
    assert field in field_reasons(error), error


def test_largest_allowed_limit_is_500(client, viewer):
    response = client.get(AGENCIES, params={"limit": 500}, headers=viewer)
    assert response.status_code == 200
    error_of(client.get(AGENCIES, params={"limit": 501}, headers=viewer), 422, "invalid")


def test_search_wildcards_are_taken_literally(client, as_user):
    headers, _ = as_user("viewer", "HPD")
    everything = client.get("/api/v1/agencies", params={"limit": 500}, headers=headers).json()["items"]
    for term in ("%", "_", "\\", "f%d"):
        expected = {
            a["short_name"]
            for a in everything
            if any(term.lower() in a[k].lower() for k in ("name", "short_name", "jurisdiction_name"))
        }
        found = client.get("/api/v1/agencies", params={"q": term, "limit": 500}, headers=headers).json()["items"]
        assert {a["short_name"] for a in found} == expected, term
    assert client.get("/api/v1/agencies", params={"q": "SHERIFF"}, headers=headers).json()["total"] >= 3
