"""Directory import: `accord directory import FILE` (Typer, through CliRunner) and
`POST /api/v1/agencies/import`. Good features are kept; each bad one is reported with its
index, field and reason. Every agency created here has a unique short name."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from accord.directory.models import Agency

IMPORT = "/api/v1/agencies/import"


def short() -> str:
    return "T" + uuid.uuid4().hex[:6].upper()


def square(lon: float, lat: float, size: float = 0.1) -> list[list[float]]:
    return [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]


def feature(short_name: str | None, /, geometry: Any = "square", **props: Any) -> dict[str, Any]:
    """One agency Feature; keyword arguments override (None: leave out) its properties."""
    properties: dict[str, Any] = {
        "name": f"Import Test {short_name}",
        "short_name": short_name,
        "kind": "fire",
        "level": "local",
        "jurisdiction_name": f"District {short_name}",
        "capabilities": ["structural-firefighting"],
    }
    properties.update(props)
    properties = {k: v for k, v in properties.items() if v is not None}
    if geometry == "square":
        geometry = {"type": "Polygon", "coordinates": [square(-120.0, 45.0)]}
    return {"type": "Feature", "geometry": geometry, "properties": properties}


def collection(*features: Any) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": list(features)}


def agency(db: Any, short_name: str) -> Agency | None:
    db.rollback()  # a fresh transaction sees what the command committed (SQLite WAL snapshots)
    db.expire_all()
    return db.scalars(select(Agency).where(Agency.short_name == short_name)).unique().first()


def count(db: Any, short_name: str) -> int:
    db.rollback()
    db.expire_all()
    return db.scalar(select(func.count()).select_from(Agency).where(Agency.short_name == short_name)) or 0


def no_traceback(result: Any) -> None:
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output


def table_rows(text: str) -> list[list[str]]:
    """The data rows of a Rich table: cells between vertical box characters."""
    rows = []
    for line in text.splitlines():
        if not re.search(r"[│┃|]", line):
            continue
        cells = [c.strip() for c in re.split(r"[│┃|]", line)[1:-1]]
        if len(cells) == 4 and cells[0].isdigit():
            rows.append(cells)
    return rows


def write(tmp_path: Path, data: Any, name: str = "region.geojson") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


# --- CLI ------------------------------------------------------------------------------------


def test_cli_import_keeps_good_features_and_reports_bad_ones(run_cli, tmp_path, db):
    good_a, good_b, bad_ring, bad_kind, bad_name = (short() for _ in range(5))
    unclosed = {"type": "Polygon", "coordinates": [[*square(-119.0, 44.0)[:-1], [-119.05, 44.05]]]}
    data = collection(
        feature(good_a, parent="CCSO"),
        feature(
            good_b,
            kind="ems",
            level="county",
            geometry={"type": "MultiPolygon", "coordinates": [[square(-118.0, 43.0)]]},
        ),
        feature(bad_ring, geometry=unclosed),
        feature(bad_kind, kind="wizardry"),
        feature(bad_name, name=None),
    )
    path = write(tmp_path, data)

    result = run_cli("directory", "import", str(path))
    no_traceback(result)
    assert result.exit_code == 1, result.output
    assert "2 created, 0 updated, 3 failed" in result.stdout

    rows = table_rows(result.stderr)
    assert [r[0] for r in rows] == ["2", "3", "4"], result.stderr
    by_index = {int(r[0]): r for r in rows}
    assert by_index[2][1] == f"Import Test {bad_ring}"
    assert by_index[2][2] == "jurisdiction.coordinates[0]"
    assert "ring is not closed" in by_index[2][3]
    assert by_index[3][1] == f"Import Test {bad_kind}"
    assert by_index[3][2] == "kind"
    assert "Input should be" in by_index[3][3] and "'police'" in by_index[3][3]
    assert by_index[4][1] == bad_name  # no name: the short name identifies it
    assert by_index[4][2] == "name"
    assert by_index[4][3] == "Field required"

    a, b = agency(db, good_a), agency(db, good_b)
    assert a is not None and b is not None
    assert a.parent is not None and a.parent.short_name == "CCSO"
    assert a.jurisdiction is not None and a.jurisdiction["type"] == "MultiPolygon"
    assert (a.min_lon, a.min_lat, a.max_lon, a.max_lat) == pytest.approx((-120.0, 45.0, -119.9, 45.1))
    assert a.capability_keys == ["structural-firefighting"]
    assert (b.kind, b.level) == ("ems", "county")
    for missing in (bad_ring, bad_kind, bad_name):
        assert agency(db, missing) is None

    # the same file again: the good features are updated, not duplicated
    again = run_cli("directory", "import", str(path))
    no_traceback(again)
    assert again.exit_code == 1
    assert "0 created, 2 updated, 3 failed" in again.stdout
    assert count(db, good_a) == 1 and count(db, good_b) == 1
    assert [r[0] for r in table_rows(again.stderr)] == ["2", "3", "4"]


def test_cli_reimport_updates_fields(run_cli, tmp_path, db):
    sn = short()
    first = run_cli("directory", "import", str(write(tmp_path, collection(feature(sn, address="1 Old Road")))))
    assert first.exit_code == 0, first.output
    assert "1 created, 0 updated, 0 failed" in first.stdout
    original_id = agency(db, sn).id

    changed = feature(
        sn,
        name=f"Renamed {sn}",
        address="2 New Road",
        capabilities=["hazmat", "technical-rescue"],
        geometry={"type": "Polygon", "coordinates": [square(-117.0, 42.0, 0.3)]},
    )
    second = run_cli("directory", "import", str(write(tmp_path, collection(changed), "v2.geojson")))
    assert second.exit_code == 0, second.output
    assert "0 created, 1 updated, 0 failed" in second.stdout
    assert "Features not imported" not in second.output
    row = agency(db, sn)
    assert row.id == original_id
    assert count(db, sn) == 1
    assert row.name == f"Renamed {sn}" and row.address == "2 New Road"
    assert row.capability_keys == ["hazmat", "technical-rescue"]
    assert (row.min_lon, row.min_lat, row.max_lon, row.max_lat) == pytest.approx((-117.0, 42.0, -116.7, 42.3))


def test_cli_import_links_parents_by_short_name(run_cli, tmp_path, db):
    child, parent, orphan = short(), short(), short()
    data = collection(
        feature(child, parent=parent),  # the parent comes later in the file
        feature(parent, kind="emergency_management", level="county"),
        feature(orphan, parent="NOPE" + uuid.uuid4().hex[:6].upper()),
    )
    result = run_cli("directory", "import", str(write(tmp_path, data)))
    no_traceback(result)
    assert result.exit_code == 1, result.output
    rows = table_rows(result.stderr)
    assert len(rows) == 1, result.stderr
    assert rows[0][0] == "2" and rows[0][2] == "parent"
    assert "no agency with short_name 'NOPE" in rows[0][3]

    assert agency(db, child).parent.short_name == parent
    assert agency(db, parent).parent is None
    orphan_row = agency(db, orphan)
    assert orphan_row is not None and orphan_row.parent_id is None


def test_cli_import_parent_cycle_is_reported(run_cli, tmp_path, db):
    a, b = short(), short()
    result = run_cli(
        "directory", "import", str(write(tmp_path, collection(feature(a, parent=b), feature(b, parent=a))))
    )
    no_traceback(result)
    assert result.exit_code == 1, result.output
    rows = table_rows(result.stderr)
    assert [(r[0], r[2]) for r in rows] == [("1", "parent")]
    assert "cycle" in rows[0][3]
    assert agency(db, a).parent.short_name == b
    assert agency(db, b).parent_id is None


@pytest.mark.parametrize(
    "content",
    ["this is not json {", '{"type": "FeatureCollection", "features": [', ""],
    ids=["text", "truncated", "empty"],
)
def test_cli_import_of_invalid_json(run_cli, tmp_path, content):
    result = run_cli("directory", "import", str(write(tmp_path, content, "broken.geojson")))
    no_traceback(result)
    assert result.exit_code == 1
    assert "not valid JSON" in result.stderr
    assert "broken.geojson" in result.stderr


def test_cli_import_of_non_utf8_file(run_cli, tmp_path):
    path = tmp_path / "latin1.geojson"
    path.write_bytes('{"type": "FeatureCollection", "name": "Région"}'.encode("latin-1"))
    result = run_cli("directory", "import", str(path))
    no_traceback(result)
    assert result.exit_code == 1
    assert "not valid JSON" in result.stderr


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (feature("TFEATURE"), "must be a GeoJSON FeatureCollection"),
        ([feature("TLIST")], "must be a GeoJSON FeatureCollection"),
        ("42", "must be a GeoJSON FeatureCollection"),
        ({"type": "FeatureCollection"}, "features: must be a list of Features"),
        ({"type": "FeatureCollection", "features": {"a": 1}}, "features: must be a list of Features"),
        ({"type": "FeatureCollection", "features": []}, "the collection has no features"),
    ],
    ids=["feature", "list", "number", "no-features", "features-object", "empty"],
)
def test_cli_import_of_json_that_is_not_a_feature_collection(run_cli, tmp_path, db, data, message):
    result = run_cli("directory", "import", str(write(tmp_path, data)))
    no_traceback(result)
    assert result.exit_code == 1
    assert message in result.stderr, result.stderr
    assert "created" not in result.stdout
    assert agency(db, "TFEATURE") is None and agency(db, "TLIST") is None


def test_cli_import_of_missing_file(run_cli, tmp_path):
    missing = tmp_path / "nowhere.geojson"
    result = run_cli("directory", "import", str(missing))
    no_traceback(result)
    assert result.exit_code == 1
    assert "no such file" in result.stderr
    assert "nowhere.geojson" in result.stderr


def test_cli_import_of_a_directory(run_cli, tmp_path):
    result = run_cli("directory", "import", str(tmp_path))
    no_traceback(result)
    assert result.exit_code == 1
    assert "no such file" in result.stderr


def test_cli_import_of_a_malformed_feature_reports_it_without_traceback(run_cli, tmp_path, db):
    """Properties the importer cannot use (a geometry under `jurisdiction`, a short name that is
    a list) are problems of that feature: exit 1, a report, no traceback, the rest imported."""
    good, odd = short(), short()
    data = collection(
        feature(good),
        feature(odd, jurisdiction={"type": "Polygon", "coordinates": [square(-120.0, 45.0)]}),
        feature(None, short_name=[short()]),
    )
    result = run_cli("directory", "import", str(write(tmp_path, data)))
    no_traceback(result)
    assert result.exit_code == 1, result.output
    assert "1 created, 0 updated, 2 failed" in result.stdout
    assert sorted({r[0] for r in table_rows(result.stderr)}) == ["1", "2"]
    assert agency(db, good) is not None and agency(db, odd) is None


def test_cli_import_of_the_demo_region_updates_everything(run_cli, db):
    """The shipped demo file re-imports cleanly (idempotent seed): all updates, no failures."""
    from accord.seed import REGION_FILE

    n = len(json.loads(REGION_FILE.read_text())["features"])
    db.rollback()
    before = db.scalar(select(func.count()).select_from(Agency))
    result = run_cli("directory", "import", str(REGION_FILE))
    no_traceback(result)
    assert result.exit_code == 0, result.output
    assert f"0 created, {n} updated, 0 failed" in result.stdout
    db.rollback()
    assert db.scalar(select(func.count()).select_from(Agency)) == before


# --- API --------------------------------------------------------------------------------------


@pytest.fixture
def admin(as_user):
    headers, _ = as_user("platform_admin", None)
    return headers


def test_api_import_returns_the_report(client, admin, db):
    good, bad, orphan = short(), short(), short()
    body = collection(
        feature(good, parent="MCSO"),
        feature(bad, geometry={"type": "Polygon", "coordinates": [[[-120, 45], [-119, 95], [-119, 46], [-120, 45]]]}),
        feature(orphan, parent="ZZ" + uuid.uuid4().hex[:6].upper()),
        "not a feature",
        {"type": "Feature", "geometry": None},
    )
    response = client.post(IMPORT, json=body, headers=admin)
    assert response.status_code == 200, response.text
    report = response.json()
    assert set(report) == {"created", "updated", "failed", "problems"}
    assert report["created"] == 2
    assert report["updated"] == 0
    problems = {(p["feature"], p["field"]): p for p in report["problems"]}
    assert set(problems) == {
        (1, "jurisdiction.coordinates[0][1]"),
        (2, "parent"),
        (3, "type"),
        (4, "properties"),
    }, report["problems"]
    assert problems[(1, "jurisdiction.coordinates[0][1]")]["name"] == f"Import Test {bad}"
    assert "latitude 95" in problems[(1, "jurisdiction.coordinates[0][1]")]["reason"]
    assert "no agency with short_name 'ZZ" in problems[(2, "parent")]["reason"]
    assert problems[(3, "type")]["reason"] == "each item must be a GeoJSON Feature"
    assert problems[(4, "properties")]["reason"] == "must be an object"
    assert report["failed"] == 4
    for p in report["problems"]:
        assert set(p) == {"feature", "name", "field", "reason"}

    assert agency(db, good).parent.short_name == "MCSO"
    assert agency(db, bad) is None
    assert agency(db, orphan) is not None

    again = client.post(IMPORT, json=collection(feature(good, parent="MCSO")), headers=admin)
    assert again.status_code == 200, again.text
    assert again.json() == {"created": 0, "updated": 1, "failed": 0, "problems": []}
    assert count(db, good) == 1


@pytest.mark.parametrize(
    "bad_short_name",
    [123, ["TLIST"], {"sn": "X"}, True, None],
    ids=["number", "list", "object", "boolean", "missing"],
)
def test_api_import_short_name_of_wrong_type_is_reported(client, admin, db, bad_short_name):
    """short_name is the match key: a value of the wrong type is a problem of that feature,
    never a database error."""
    good = short()
    body = collection(feature(good), feature(None, short_name=bad_short_name))
    response = client.post(IMPORT, json=body, headers=admin)
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["created"] == 1 and report["failed"] == 1
    assert [(p["feature"], p["field"]) for p in report["problems"]] == [(1, "short_name")]
    assert agency(db, good) is not None


def test_api_import_feature_with_reserved_properties_is_reported(client, admin, db):
    """A feature whose properties carry `jurisdiction` (the geometry belongs in `geometry`) is
    reported as a bad feature; the rest of the file is still imported."""
    good, odd = short(), short()
    odd_feature = feature(odd, jurisdiction={"type": "Polygon", "coordinates": [square(-120.0, 45.0)]})
    response = client.post(IMPORT, json=collection(feature(good), odd_feature), headers=admin)
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["created"] == 1 and report["failed"] == 1
    assert {p["feature"] for p in report["problems"]} == {1}
    assert any("jurisdiction" in p["field"] for p in report["problems"]), report["problems"]
    assert agency(db, good) is not None and agency(db, odd) is None


def test_api_import_unknown_property_is_reported(client, admin, db):
    sn = short()
    response = client.post(IMPORT, json=collection(feature(sn, colour="red")), headers=admin)
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["created"] == 0 and report["failed"] == 1
    assert [(p["feature"], p["field"]) for p in report["problems"]] == [(0, "colour")]
    assert agency(db, sn) is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"type": "Feature", "properties": {}}, "type"),
        ({"type": "FeatureCollection"}, "features"),
        ({"type": "FeatureCollection", "features": []}, "features"),
    ],
)
def test_api_import_of_a_non_collection_is_422(client, admin, body, field):
    response = client.post(IMPORT, json=body, headers=admin)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert [f["field"] for f in error["fields"]] == [field]


def test_api_import_body_must_be_a_json_object(client, admin):
    assert client.post(IMPORT, json=[1, 2], headers=admin).status_code == 422
    bad = client.post(IMPORT, content=b"not json", headers={**admin, "content-type": "application/json"})
    assert bad.status_code == 422
    assert bad.json()["error"]["code"] == "invalid"


@pytest.mark.parametrize("role", ["agency_admin", "viewer"])
def test_api_import_needs_platform_permission(client, as_user, db, role):
    headers, _ = as_user(role, "CCSO")
    sn = short()
    response = client.post(IMPORT, json=collection(feature(sn)), headers=headers)
    assert response.status_code == 403, response.text
    error = response.json()["error"]
    assert error["code"] == "forbidden"
    assert "directory:agency:import" in error["message"]
    assert agency(db, sn) is None


def test_api_import_unauthenticated_is_401(client):
    response = client.post(IMPORT, json=collection(feature(short())))
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"
