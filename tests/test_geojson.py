"""Unit tests of the GeoJSON area validation (accord.geo.geojson): no database."""

from __future__ import annotations

import copy
import math
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from accord.core.errors import FieldProblem, InvalidInputs
from accord.geo.geojson import MAX_POSITIONS, area_km2, bbox_of, centroid_of, validate_area


def ring(min_lon: float, min_lat: float, max_lon: float, max_lat: float) -> list[list[float]]:
    return [[min_lon, min_lat], [max_lon, min_lat], [max_lon, max_lat], [min_lon, max_lat], [min_lon, min_lat]]


def rect(min_lon: float, min_lat: float, max_lon: float, max_lat: float) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [ring(min_lon, min_lat, max_lon, max_lat)]}


def problems(value: Any, field: str = "geometry") -> list[FieldProblem]:
    with pytest.raises(InvalidInputs) as caught:
        validate_area(value, field=field)
    exc = caught.value
    assert exc.status_code == 422 and exc.code == "invalid"
    assert exc.problems, "InvalidInputs without problems"
    for p in exc.problems:
        assert isinstance(p, FieldProblem)
        assert p.field.startswith(field), p
        assert p.reason and p.reason == p.reason.strip(), p
        assert not p.reason.startswith(":"), p
    return exc.problems


def only_problem(value: Any, field: str = "geometry") -> FieldProblem:
    found = problems(value, field)
    assert len(found) == 1, found
    return found[0]


# --- accepted -----------------------------------------------------------------------------


def test_polygon_is_promoted_to_multipolygon():
    area = rect(-120.0, 45.0, -119.0, 46.0)
    valid = validate_area(area)
    assert valid == {"type": "MultiPolygon", "coordinates": [area["coordinates"]]}
    assert bbox_of(valid) == (-120.0, 45.0, -119.0, 46.0)
    assert bbox_of(area) == (-120.0, 45.0, -119.0, 46.0)


def test_input_is_not_mutated():
    area = {"type": "Polygon", "coordinates": [[[-120, 45, 10], [-119, 45, 10], [-119, 46, 10], [-120, 45, 10]]]}
    before = copy.deepcopy(area)
    validate_area(area)
    assert area == before


def test_multipolygon_is_kept_and_bbox_spans_parts():
    area = {
        "type": "MultiPolygon",
        "coordinates": [[ring(-122.0, 46.0, -121.9, 46.1)], [ring(-121.0, 47.0, -120.7, 47.3)]],
    }
    valid = validate_area(area)
    assert valid == area
    assert bbox_of(valid) == pytest.approx((-122.0, 46.0, -120.7, 47.3))


def test_integers_altitudes_and_bbox_member_are_accepted():
    area = {
        "type": "Polygon",
        "bbox": [-120, 45, -119, 46],
        "coordinates": [[[-120, 45, 100], [-119, 45, 120.5], [-119, 46, 0], [-120, 45, 100]]],
    }
    valid = validate_area(area)
    # altitudes are dropped, the bbox member is not copied
    assert valid == {"type": "MultiPolygon", "coordinates": [[[[-120, 45], [-119, 45], [-119, 46], [-120, 45]]]]}
    assert all(len(p) == 2 for p in valid["coordinates"][0][0])


def test_polygon_with_a_hole_is_valid():
    area = {"type": "Polygon", "coordinates": [ring(0, 0, 10, 10), ring(2, 2, 4, 4)[::-1]]}
    valid = validate_area(area)
    assert len(valid["coordinates"][0]) == 2
    # the hole does not change the bbox, but it does reduce the area
    assert bbox_of(valid) == (0.0, 0.0, 10.0, 10.0)
    assert area_km2(valid) < area_km2(rect(0, 0, 10, 10))


def test_extreme_but_legal_coordinates():
    valid = validate_area(rect(-180, -90, 180, 90))
    assert bbox_of(valid) == (-180.0, -90.0, 180.0, 90.0)


def test_closure_ignores_altitude():
    area = {"type": "Polygon", "coordinates": [[[0, 0, 1], [1, 0], [1, 1], [0, 0, 5]]]}
    assert validate_area(area)["coordinates"][0][0][0] == [0, 0]


def test_default_field_name_and_custom_field_name():
    assert only_problem("x").field == "geometry"
    assert only_problem("x", field="jurisdiction").field == "jurisdiction"
    assert only_problem({"type": "Point", "coordinates": [0, 0]}, field="area").field == "area.type"


# --- rejected -----------------------------------------------------------------------------


@pytest.mark.parametrize("value", [None, "POLYGON((0 0,1 0,1 1,0 0))", 5, [], [[0, 0]], True])
def test_not_an_object(value):
    p = only_problem(value)
    assert p.field == "geometry"
    assert "Polygon or MultiPolygon" in p.reason


@pytest.mark.parametrize("kind", ["Point", "LineString", "GeometryCollection", "Feature", "polygon", None, 3])
def test_wrong_type(kind):
    p = only_problem({"type": kind, "coordinates": [ring(0, 0, 1, 1)]})
    assert p.field == "geometry.type"
    assert "'Polygon' or 'MultiPolygon'" in p.reason
    assert repr(kind) in p.reason


def test_unknown_member():
    p = only_problem({"type": "Polygon", "coordinates": [ring(0, 0, 1, 1)], "properties": {}})
    assert p == FieldProblem("geometry.properties", "unknown member of a geometry")


def test_ring_not_closed():
    p = only_problem({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]})
    assert p.field == "geometry.coordinates[0]"
    assert "not closed" in p.reason


def test_ring_with_three_positions():
    p = only_problem({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [0, 0]]]})
    assert p.field == "geometry.coordinates[0]"
    assert "at least 4 positions" in p.reason


def test_problem_in_a_hole_names_the_hole():
    area = {"type": "Polygon", "coordinates": [ring(0, 0, 10, 10), [[2, 2], [3, 2], [3, 3], [2, 3]]]}
    p = only_problem(area)
    assert p.field == "geometry.coordinates[1]"
    assert "not closed" in p.reason


def test_problem_in_second_polygon_of_multipolygon():
    area = {"type": "MultiPolygon", "coordinates": [[ring(0, 0, 1, 1)], [[[5, 5], [6, 5], [6, 95], [5, 5]]]]}
    p = only_problem(area)
    assert p.field == "geometry.coordinates[1][0][2]"
    assert "latitude 95" in p.reason


@pytest.mark.parametrize(
    ("position", "reason_part"),
    [
        ([0, 95], "latitude 95 is outside -90..90"),
        ([0, -90.0001], "latitude -90.0001 is outside"),
        ([-200, 0], "longitude -200 is outside -180..180"),
        ([180.5, 0], "longitude 180.5 is outside"),
        ([45.5, -120.5], "latitude -120.5 is outside"),  # [lat, lon] swapped
        (["1", 0], "finite numbers"),
        ([0, "NaN"], "finite numbers"),
        ([float("nan"), 0], "finite numbers"),
        ([0, float("inf")], "finite numbers"),
        ([True, 0], "finite numbers"),
        ([None, 0], "finite numbers"),
        ([[0], 0], "finite numbers"),
        ([0], "[longitude, latitude]"),
        ([0, 0, 0, 0], "[longitude, latitude]"),
        ({"lon": 0, "lat": 0}, "[longitude, latitude]"),
        ("0,0", "[longitude, latitude]"),
    ],
)
def test_bad_position_names_its_index(position, reason_part):
    area = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], position, [1, 1], [0, 0]]]}
    p = only_problem(area)
    assert p.field == "geometry.coordinates[0][2]"
    assert reason_part in p.reason
    if "is outside" in reason_part:
        assert "[lon, lat]" in p.reason  # the hint for swapped coordinates


@pytest.mark.parametrize("huge", [10**400, -(10**400)], ids=["plus-1e400", "minus-1e400"])
def test_huge_integer_coordinate_is_a_problem_not_a_crash(huge):
    """JSON allows arbitrarily large integers; they must be reported, not raise OverflowError."""
    area = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, huge], [0, 0]]]}
    p = only_problem(area)
    assert p.field == "geometry.coordinates[0][2]"


def test_bow_tie_is_invalid_geometry():
    p = only_problem({"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]})
    assert p.field == "geometry"
    assert p.reason.startswith("invalid geometry: ")
    assert "Self-intersection" in p.reason


def test_hole_outside_shell_and_overlapping_parts_are_invalid():
    assert only_problem({"type": "Polygon", "coordinates": [ring(0, 0, 1, 1), ring(5, 5, 6, 6)]}).reason.startswith(
        "invalid geometry"
    )
    overlapping = {"type": "MultiPolygon", "coordinates": [[ring(0, 0, 2, 2)], [ring(1, 1, 3, 3)]]}
    assert only_problem(overlapping).reason.startswith("invalid geometry")


def test_degenerate_ring_is_invalid():
    p = only_problem({"type": "Polygon", "coordinates": [[[0, 0], [0, 0], [0, 0], [0, 0]]]})
    assert p.field == "geometry" and p.reason.startswith("invalid geometry")


@pytest.mark.parametrize(
    ("area", "field", "reason_part"),
    [
        ({"type": "Polygon", "coordinates": []}, "geometry.coordinates", "non-empty list of linear rings"),
        ({"type": "Polygon"}, "geometry.coordinates", "non-empty list of linear rings"),
        ({"type": "Polygon", "coordinates": "x"}, "geometry.coordinates", "non-empty list of linear rings"),
        ({"type": "Polygon", "coordinates": [None]}, "geometry.coordinates[0]", "at least 4 positions"),
        ({"type": "MultiPolygon", "coordinates": []}, "geometry.coordinates", "at least one polygon"),
        ({"type": "MultiPolygon"}, "geometry.coordinates", "at least one polygon"),
        ({"type": "MultiPolygon", "coordinates": [[]]}, "geometry.coordinates[0]", "non-empty list"),
    ],
)
def test_structure_problems(area, field, reason_part):
    p = only_problem(area)
    assert p.field == field
    assert reason_part in p.reason


def test_polygon_given_as_multipolygon_reports_each_position():
    """A Polygon's coordinates sent as a MultiPolygon: each position is taken for a ring."""
    found = problems({"type": "MultiPolygon", "coordinates": [ring(0, 0, 1, 1)]})
    assert [p.field for p in found] == [f"geometry.coordinates[0][{i}]" for i in range(5)]
    assert all("at least 4 positions" in p.reason for p in found)


def test_several_problems_are_all_reported_at_most_twenty():
    polys = [[[[0, 0], [1, 0], [1, 95], [0, 0]]] for _ in range(30)]
    found = problems({"type": "MultiPolygon", "coordinates": polys})
    assert len(found) == 20
    assert [p.field for p in found] == [f"geometry.coordinates[{i}][0][2]" for i in range(20)]


def test_too_many_positions():
    n = MAX_POSITIONS + 1
    big = [[math.cos(2 * math.pi * i / n), math.sin(2 * math.pi * i / n)] for i in range(n - 1)]
    big.append(big[0])
    p = only_problem({"type": "Polygon", "coordinates": [big]})
    assert p.field == "geometry.coordinates"
    assert f"limit {MAX_POSITIONS}" in p.reason


# --- bbox, centroid, area -----------------------------------------------------------------


def test_area_km2_of_one_degree_square():
    at_equator = area_km2(validate_area(rect(0, -0.5, 1, 0.5)))
    assert at_equator == pytest.approx(111.32 * 111.32, rel=1e-3)
    at_60 = area_km2(validate_area(rect(10, 59.5, 11, 60.5)))
    assert at_60 == pytest.approx(at_equator / 2, rel=0.01)
    # a real county-sized square near 45°N: 0.5° x 0.5° is about 2,190 km²
    county = area_km2(validate_area(rect(-121.0, 44.75, -120.5, 45.25)))
    assert county == pytest.approx(2191, rel=0.02)


def test_area_of_multipolygon_is_the_sum_of_parts():
    a = rect(0, 0, 1, 1)
    b = rect(5, 0, 6, 1)
    both = validate_area({"type": "MultiPolygon", "coordinates": [a["coordinates"], b["coordinates"]]})
    assert area_km2(both) == pytest.approx(area_km2(validate_area(a)) * 2, rel=1e-3)


def test_centroid_is_inside():
    lon, lat = centroid_of(validate_area(rect(-120, 45, -119, 46)))
    assert -120 < lon < -119 and 45 < lat < 46


# --- property: random valid rectangles ---------------------------------------------------

lons = st.floats(min_value=-180, max_value=180, allow_nan=False, allow_infinity=False)
lats = st.floats(min_value=-90, max_value=90, allow_nan=False, allow_infinity=False)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(lon_a=lons, lon_b=lons, lat_a=lats, lat_b=lats)
def test_random_rectangles_validate_and_bbox_is_their_bounds(lon_a, lon_b, lat_a, lat_b):
    min_lon, max_lon = sorted((lon_a, lon_b))
    min_lat, max_lat = sorted((lat_a, lat_b))
    assume(max_lon - min_lon > 1e-6 and max_lat - min_lat > 1e-6)
    area = rect(min_lon, min_lat, max_lon, max_lat)
    valid = validate_area(area, field="jurisdiction")
    assert valid["type"] == "MultiPolygon"
    assert valid["coordinates"] == [area["coordinates"]]
    assert bbox_of(valid) == (min_lon, min_lat, max_lon, max_lat)
    assert area_km2(valid) >= 0
    # clockwise rings are accepted as well (GeoJSON asks for, but does not require, the right-hand rule)
    clockwise = {"type": "Polygon", "coordinates": [ring(min_lon, min_lat, max_lon, max_lat)[::-1]]}
    assert bbox_of(validate_area(clockwise)) == (min_lon, min_lat, max_lon, max_lat)


@settings(max_examples=200, deadline=None)
@given(
    lon=st.floats(min_value=-179, max_value=179, allow_nan=False),
    lat=st.floats(min_value=-89, max_value=89, allow_nan=False),
    bad=st.one_of(
        st.floats(min_value=90.0001, max_value=1e9, allow_nan=False),
        st.floats(min_value=-1e9, max_value=-90.0001, allow_nan=False),
    ),
)
def test_random_out_of_range_latitude_is_named(lon, lat, bad):
    area = {"type": "Polygon", "coordinates": [[[lon, lat], [lon + 0.5, lat], [lon + 0.5, bad], [lon, lat]]]}
    p = only_problem(area, field="jurisdiction")
    assert p.field == "jurisdiction.coordinates[0][2]"
    assert "latitude" in p.reason
