"""Unit tests of the deconfliction primitives (accord.geo.overlap): no database.

Coverage of the H3 cell set is proven two independent ways:
* sampling: every vertex, points densified along every edge and random interior points of
  each geometry fall in a cell of ``footprint.cells`` (``h3.latlng_to_cell``, the true cells);
* exhaustively: no cell just outside the cover (the 1-ring around it) intersects the geometry,
  so no part of a connected component can escape the cover.
"""

from __future__ import annotations

import itertools
import math
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import h3
import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from shapely.geometry import MultiPolygon, Polygon

from accord.core.errors import InvalidInputs
from accord.geo.overlap import (
    CELL_RESOLUTION,
    CIRCLE_SEGMENTS,
    COVER_MARGIN_M,
    EARTH_RADIUS_M,
    MAX_ABS_LATITUDE,
    Footprint,
    FootprintError,
    destination,
    footprint_of,
    footprint_of_area,
    footprint_of_point,
    might_overlap,
    overlaps,
    time_overlap,
)

# (min_lon, max_lon, min_lat, max_lat): the demo region, and near the latitude limit both ways
REGIONS = [(-84.0, -82.0, 34.0, 36.0), (-84.0, -82.0, 79.0, 80.5), (20.0, 22.0, -80.5, -79.0)]
FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def haversine_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


def rect(min_lon: float, min_lat: float, max_lon: float, max_lat: float) -> dict[str, Any]:
    ring = [[min_lon, min_lat], [max_lon, min_lat], [max_lon, max_lat], [min_lon, max_lat], [min_lon, min_lat]]
    return {"type": "Polygon", "coordinates": [ring]}


def parts(geom: Any) -> list[Polygon]:
    return list(geom.geoms) if isinstance(geom, MultiPolygon) else [geom]


# --------------------------------------------------------------------------- strategies


@st.composite
def centres(draw: st.DrawFn) -> tuple[float, float]:
    min_lon, max_lon, min_lat, max_lat = draw(st.sampled_from(REGIONS))
    return draw(st.floats(min_lon, max_lon)), draw(st.floats(min_lat, max_lat))


def star_polygon(draw: st.DrawFn, lon: float, lat: float, max_m: float) -> list[list[float]]:
    """A simple polygon, star-shaped around (lon, lat): sorted bearings, random reaches."""
    n = draw(st.integers(3, 9))
    bearings = sorted(draw(st.lists(st.floats(0, 359.9), min_size=n, max_size=n, unique=True)))
    assume(all(b - a > 1.0 for a, b in itertools.pairwise(bearings)))
    reaches = draw(st.lists(st.floats(5.0, max_m), min_size=n, max_size=n))
    ring = [list(destination(lon, lat, b, r)) for b, r in zip(bearings, reaches, strict=True)]
    return [*ring, ring[0]]


@st.composite
def footprints(draw: st.DrawFn, centre: tuple[float, float] | None = None) -> Footprint:
    lon, lat = centre if centre is not None else draw(centres())
    kind = draw(st.sampled_from(["circle", "polygon", "holed", "multi"]))
    if kind == "circle":
        radius = 10 ** draw(st.floats(1.0, math.log10(50_000)))  # 10 m .. 50 km, log-uniform
        return footprint_of_point(lon, lat, radius)
    outer = star_polygon(draw, lon, lat, draw(st.sampled_from([50.0, 2_000.0, 20_000.0])))
    if kind == "polygon":
        area: dict[str, Any] = {"type": "Polygon", "coordinates": [outer]}
    elif kind == "holed":  # the ring shrunk towards its kernel point is a hole inside it
        t = draw(st.floats(0.2, 0.8))
        hole = [[lon + t * (x - lon), lat + t * (y - lat)] for x, y in outer]
        area = {"type": "Polygon", "coordinates": [outer, hole[::-1]]}
    else:
        lon2, lat2 = destination(lon, lat, draw(st.floats(0, 359)), draw(st.floats(30_000, 60_000)))
        area = {"type": "MultiPolygon", "coordinates": [[outer], [star_polygon(draw, lon2, lat2, 10_000.0)]]}
    try:
        return footprint_of_area(area)
    except InvalidInputs:  # a degenerate random ring (e.g. collinear spokes): not what we test
        assume(False)
        raise


@st.composite
def nearby_pairs(draw: st.DrawFn) -> tuple[Footprint, Footprint]:
    lon, lat = draw(centres())
    a = draw(footprints((lon, lat)))
    b_centre = destination(lon, lat, draw(st.floats(0, 359.9)), draw(st.floats(0, 80_000)))
    return a, draw(footprints(b_centre))


# --------------------------------------------------------------------------- coverage


def cell_polygon(cell: str) -> Polygon:
    return Polygon([(lng, lat) for lat, lng in h3.cell_to_boundary(cell)])


def assert_covers(fp: Footprint, seed: int) -> None:
    def in_cells(lon: float, lat: float) -> bool:
        return h3.latlng_to_cell(lat, lon, CELL_RESOLUTION) in fp.cells

    for poly in parts(fp.geometry):
        for ring in [poly.exterior, *poly.interiors]:
            coords = list(ring.coords)
            for (x0, y0), (x1, y1) in itertools.pairwise(coords):
                for t in np.linspace(0.0, 1.0, 12):  # vertices and points along every edge
                    x, y = x0 + t * (x1 - x0), y0 + t * (y1 - y0)
                    assert in_cells(x, y), f"boundary point ({x}, {y}) outside the cover"

    rng = np.random.default_rng(seed)
    min_lon, min_lat, max_lon, max_lat = fp.bbox
    xs = rng.uniform(min_lon, max_lon, 400)
    ys = rng.uniform(min_lat, max_lat, 400)
    inside = shapely.contains_xy(fp.geometry, xs, ys)
    for x, y in zip(xs[inside], ys[inside], strict=True):
        assert in_cells(x, y), f"interior point ({x}, {y}) outside the cover"

    ring_cells = {n for c in fp.cells for n in h3.grid_disk(c, 1)} - fp.cells
    outside = [cell_polygon(c) for c in ring_cells]
    hits = [c for c, hit in zip(ring_cells, shapely.intersects(fp.geometry, outside), strict=True) if hit]
    assert not hits, f"cells {hits} meet the geometry but are not in the cover"


@FAST
@given(fp=footprints(), seed=st.integers(0, 2**32 - 1))
def test_cells_cover_every_point_of_the_geometry(fp: Footprint, seed: int) -> None:
    assert fp.cells and all(h3.get_resolution(c) == CELL_RESOLUTION for c in fp.cells)
    assert_covers(fp, seed)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pair=nearby_pairs())
def test_prefilter_has_no_false_negatives(pair: tuple[Footprint, Footprint]) -> None:
    a, b = pair
    if overlaps(a, b):
        assert might_overlap(a, b) and might_overlap(b, a)
    assert overlaps(a, b) == overlaps(b, a)
    assert might_overlap(a, b) == might_overlap(b, a)


def unit_vector(lat: float, lon: float) -> np.ndarray:
    p, q = math.radians(lat), math.radians(lon)
    return np.array([math.cos(p) * math.cos(q), math.cos(p) * math.sin(q), math.sin(p)])


@pytest.mark.parametrize("lat", [35.0, 80.0, -80.0, MAX_ABS_LATITUDE, -MAX_ABS_LATITUDE])
def test_margin_exceeds_the_gap_between_planar_and_true_cell_edges(lat: float) -> None:
    """The premise of the covering: H3 reads cell edges as straight lat/lng lines, true edges
    are great-circle arcs. The gap must stay well inside the buffer margin at every latitude
    we accept, or a sliver of geometry could sit in a cell the cover does not list."""
    worst = 0.0
    for cell in h3.grid_disk(h3.latlng_to_cell(lat, -83.0, CELL_RESOLUTION), 2):
        boundary = h3.cell_to_boundary(cell)
        for (lat1, lon1), (lat2, lon2) in zip(boundary, boundary[1:] + boundary[:1], strict=True):
            chord = shapely.LineString([(lon1, lat1), (lon2, lat2)])
            u, v = unit_vector(lat1, lon1), unit_vector(lat2, lon2)
            for t in np.linspace(0.1, 0.9, 9):  # points on the great-circle arc
                w = (1 - t) * u + t * v
                w /= np.linalg.norm(w)
                x, y = math.degrees(math.atan2(w[1], w[0])), math.degrees(math.asin(w[2]))
                near = chord.interpolate(chord.project(shapely.Point(x, y)))
                worst = max(worst, haversine_m(x, y, near.x, near.y))
    assert worst < COVER_MARGIN_M / 4, f"planar/true edge gap {worst:.2f} m vs margin {COVER_MARGIN_M} m"


def test_tiny_geometries_touching_at_an_h3_vertex() -> None:
    """The worst case for a covering: two slivers meeting exactly on a corner shared by 3 cells."""
    cell = h3.latlng_to_cell(35.0, -83.0, CELL_RESOLUTION)
    lat, lon = h3.cell_to_boundary(cell)[0]
    eps = 1e-5
    left = footprint_of_area(
        {"type": "Polygon", "coordinates": [[[lon, lat], [lon - eps, lat + eps], [lon - eps, lat - eps], [lon, lat]]]}
    )
    right = footprint_of_area(
        {"type": "Polygon", "coordinates": [[[lon, lat], [lon + eps, lat - eps], [lon + eps, lat + eps], [lon, lat]]]}
    )
    assert overlaps(left, right)
    assert might_overlap(left, right)
    for fp in (left, right):
        assert_covers(fp, seed=1)


def test_point_sized_circle_and_a_large_circle_are_covered() -> None:
    for fp in (footprint_of_point(-83.0, 35.0, 1), footprint_of_point(-83.0, 35.0, 200_000)):
        assert_covers(fp, seed=2)


# --------------------------------------------------------------------------- circles


@pytest.mark.parametrize("radius", [1, 10, 500, 5_000, 50_000, 200_000])
@pytest.mark.parametrize(("lon", "lat"), [(-83.2, 35.1), (-83.0, 80.0), (21.0, -80.0), (0.0, 0.0)])
def test_circle_vertices_sit_on_the_radius(lon: float, lat: float, radius: float) -> None:
    fp = footprint_of_point(lon, lat, radius)
    ring = list(fp.geometry.exterior.coords)[:-1]
    assert len(ring) >= CIRCLE_SEGMENTS
    for x, y in ring:
        assert haversine_m(lon, lat, x, y) == pytest.approx(radius, rel=0.005)
    assert fp.geometry.is_valid and fp.geometry.exterior.is_ccw
    assert fp.geometry.contains(shapely.Point(lon, lat))


@FAST
@given(centre=centres(), radius=st.floats(10, 50_000))
def test_circle_radius_property(centre: tuple[float, float], radius: float) -> None:
    lon, lat = centre
    fp = footprint_of_point(lon, lat, radius)
    for x, y in list(fp.geometry.exterior.coords)[:-1]:
        assert abs(haversine_m(lon, lat, x, y) - radius) <= 0.005 * radius
    # the polygon is tangent outside the true circle: points just inside the radius are in
    for bearing in range(0, 360, 7):
        x, y = destination(lon, lat, bearing + 0.5, radius * 0.995)
        assert fp.geometry.contains(shapely.Point(x, y))


# --------------------------------------------------------------------------- known cases


def test_circles_800_m_apart_overlap_and_1200_m_apart_do_not() -> None:
    lon, lat = -83.0, 35.0
    a = footprint_of_point(lon, lat, 500)
    near = footprint_of_point(*destination(lon, lat, 90, 800), 500)
    far = footprint_of_point(*destination(lon, lat, 90, 1_200), 500)
    assert might_overlap(a, near) and overlaps(a, near)
    assert not overlaps(a, far)


def test_polygon_containing_a_circle_overlaps() -> None:
    square = footprint_of_area(rect(-83.05, 34.95, -82.95, 35.05))
    inner = footprint_of_point(-83.0, 35.0, 100)
    assert might_overlap(square, inner) and overlaps(square, inner)
    assert might_overlap(inner, square) and overlaps(inner, square)


def test_touching_at_an_edge_counts_as_overlap() -> None:
    """Decision: boundaries are closed, so areas that only share an edge (or a point) overlap.
    Adjacent operations are exactly the ones whose teams may meet; a spurious notice is cheap."""
    west = footprint_of_area(rect(-83.1, 35.0, -83.0, 35.1))
    east = footprint_of_area(rect(-83.0, 35.0, -82.9, 35.1))
    corner = footprint_of_area(rect(-82.9, 35.1, -82.8, 35.2))
    assert overlaps(west, east) and might_overlap(west, east)
    assert overlaps(east, corner) and might_overlap(east, corner)
    apart = footprint_of_area(rect(-82.7, 35.0, -82.6, 35.1))
    assert not overlaps(west, apart) and not might_overlap(west, apart)


def test_footprint_of_picks_the_given_form() -> None:
    circle = footprint_of({"type": "Point", "coordinates": [-83.0, 35.0]}, 250.0, None)
    assert circle.geometry.geom_type == "Polygon" and circle.bbox[0] < -83.0 < circle.bbox[2]
    area = footprint_of(None, None, rect(-83.1, 35.0, -83.0, 35.1))
    assert area.geometry.geom_type == "MultiPolygon"
    assert area.bbox == pytest.approx((-83.1, 35.0, -83.0, 35.1))


# --------------------------------------------------------------------------- time


T0 = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
H = timedelta(hours=1)


def test_time_overlap_window() -> None:
    assert time_overlap(T0, T0 + 3 * H, T0 + H, T0 + 5 * H) == (T0 + H, T0 + 3 * H)
    assert time_overlap(T0 + H, T0 + 5 * H, T0, T0 + 3 * H) == (T0 + H, T0 + 3 * H)


def test_time_adjacent_windows_do_not_overlap() -> None:
    assert time_overlap(T0, T0 + H, T0 + H, T0 + 2 * H) is None
    assert time_overlap(T0 + H, T0 + 2 * H, T0, T0 + H) is None
    assert time_overlap(T0, T0 + H, T0 + 2 * H, T0 + 3 * H) is None


def test_time_contained_window() -> None:
    assert time_overlap(T0, T0 + 10 * H, T0 + 2 * H, T0 + 3 * H) == (T0 + 2 * H, T0 + 3 * H)
    assert time_overlap(T0 + 2 * H, T0 + 3 * H, T0, T0 + 10 * H) == (T0 + 2 * H, T0 + 3 * H)


def test_time_open_ended_incident() -> None:
    assert time_overlap(T0 + 5 * H, T0 + 6 * H, T0, None) == (T0 + 5 * H, T0 + 6 * H)
    assert time_overlap(T0, T0 + 2 * H, T0 + H, None) == (T0 + H, T0 + 2 * H)
    assert time_overlap(T0, T0 + H, T0 + H, None) is None  # incident starts as the operation ends


def test_time_other_zones_are_answered_in_utc() -> None:
    eastern = timezone(timedelta(hours=-4))
    window = time_overlap(T0, T0 + 2 * H, datetime(2025, 6, 1, 9, 0, tzinfo=eastern), None)
    assert window == (T0 + H, T0 + 2 * H)
    assert window is not None and window[0].utcoffset() == timedelta(0)


@pytest.mark.parametrize("field", ["a_start", "a_end", "b_start", "b_end"])
def test_time_naive_datetime_is_refused(field: str) -> None:
    args = {"a_start": T0, "a_end": T0 + H, "b_start": T0, "b_end": T0 + H}
    args[field] = args[field].replace(tzinfo=None)
    with pytest.raises(ValueError, match=field) as caught:
        time_overlap(**args)
    assert isinstance(caught.value, FootprintError) and caught.value.problems[0].field == field


def test_time_end_not_after_start_is_refused() -> None:
    with pytest.raises(ValueError, match="a_end"):
        time_overlap(T0 + H, T0, T0, T0 + H)
    with pytest.raises(ValueError, match="a_end"):
        time_overlap(T0, T0, T0, T0 + H)
    with pytest.raises(ValueError, match="b_end"):
        time_overlap(T0, T0 + H, T0 + H, T0)


# --------------------------------------------------------------------------- bad input


def field_of(exc: pytest.ExceptionInfo[Exception]) -> str:
    problems = getattr(exc.value, "problems", [])
    assert problems, "error without a field"
    return str(problems[0].field)


@pytest.mark.parametrize("radius", [0, -5, 0.5, 200_000.5, 1e9, math.nan, math.inf, -math.inf, True, "500", None])
def test_bad_radius_is_refused(radius: Any) -> None:
    with pytest.raises(ValueError, match="radius_m") as caught:
        footprint_of_point(-83.0, 35.0, radius)
    assert field_of(caught) == "radius_m"


def test_radius_limits_are_inclusive() -> None:
    footprint_of_point(-83.0, 35.0, 1)
    footprint_of_point(-83.0, 35.0, 200_000)


@pytest.mark.parametrize(
    ("location", "field"),
    [
        ({"type": "Polygon", "coordinates": rect(0, 0, 1, 1)["coordinates"]}, "location.type"),
        ({"type": "LineString", "coordinates": [[0, 0], [1, 1]]}, "location.type"),
        ({"coordinates": [-83.0, 35.0]}, "location.type"),
        ("-83,35", "location"),
        ({"type": "Point", "coordinates": [-83.0]}, "location.coordinates"),
        ({"type": "Point", "coordinates": "-83,35"}, "location.coordinates"),
        ({"type": "Point", "coordinates": [35.0, -183.0]}, "location.coordinates"),
        ({"type": "Point", "coordinates": [-83.0, math.nan]}, "location.coordinates"),
        ({"type": "Point", "coordinates": [-83.0, 35.0], "radius": 5}, "location.radius"),
    ],
)
def test_location_must_be_a_point(location: Any, field: str) -> None:
    with pytest.raises(ValueError) as caught:
        footprint_of(location, 500.0, None)
    assert field_of(caught) == field
    assert field in str(caught.value)


def test_both_location_and_area_refused() -> None:
    with pytest.raises(ValueError, match="area") as caught:
        footprint_of({"type": "Point", "coordinates": [-83.0, 35.0]}, 500.0, rect(-83.1, 35.0, -83.0, 35.1))
    assert field_of(caught) == "area"


def test_neither_location_nor_area_refused() -> None:
    with pytest.raises(ValueError, match="location") as caught:
        footprint_of(None, None, None)
    assert field_of(caught) == "location"
    with pytest.raises(ValueError, match="location"):
        footprint_of(None, 500.0, None)


def test_radius_goes_with_location_only() -> None:
    with pytest.raises(ValueError) as caught:
        footprint_of({"type": "Point", "coordinates": [-83.0, 35.0]}, None, None)
    assert field_of(caught) == "radius_m"
    with pytest.raises(ValueError) as caught:
        footprint_of(None, 500.0, rect(-83.1, 35.0, -83.0, 35.1))
    assert field_of(caught) == "radius_m"


def test_invalid_area_is_refused_by_validate_area() -> None:
    bowtie = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}
    with pytest.raises(InvalidInputs) as caught:
        footprint_of(None, None, bowtie)
    assert field_of(caught) == "area"
    with pytest.raises(InvalidInputs) as caught:
        footprint_of(None, None, {"type": "Point", "coordinates": [0, 0]})
    assert field_of(caught) == "area.type"


def test_antimeridian_and_polar_footprints_are_refused() -> None:
    with pytest.raises(ValueError, match="antimeridian") as caught:
        footprint_of_area(rect(-179.5, 50.0, 179.5, 51.0))  # an unsplit box "across" ±180°
    assert field_of(caught) == "area"
    with pytest.raises(ValueError, match="antimeridian"):
        footprint_of_point(179.95, 52.0, 20_000)  # the circle wraps past 180°
    with pytest.raises(ValueError, match="antimeridian"):
        footprint_of_area(rect(179.0, 50.0, 180.0, 51.0))  # touches ±180°
    with pytest.raises(ValueError, match="latitude"):
        footprint_of_point(0.0, 84.9, 50_000)
    with pytest.raises(ValueError, match="latitude"):
        footprint_of_area(rect(10.0, 85.5, 11.0, 86.0))
