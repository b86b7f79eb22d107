"""Pure space/time primitives for deconfliction: footprints, prefilters, exact overlap.

A *footprint* is where a planned operation or an incident happens: a geodesic circle
(a point and a radius in metres) or a GeoJSON area. It carries three things:

* ``geometry`` - the exact shapely geometry in WGS 84 (``x = lon``, ``y = lat``; edges are
  straight lines in lon/lat, as in GeoJSON and shapely);
* ``bbox`` - ``(min_lon, min_lat, max_lon, max_lat)``, stored in indexed columns;
* ``cells`` - H3 cells at :data:`CELL_RESOLUTION` that **cover** the geometry: every point of
  the geometry (interior and boundary) lies in one of them. Stored in an indexed table.

Two footprints are checked in two steps, as SQL will do it: :func:`might_overlap` (bboxes
intersect and cell sets intersect - cheap and indexable, never a false negative because both
cell sets cover their geometries), then :func:`overlaps` (exact shapely predicate).

Boundaries are closed: footprints that merely touch (share an edge or a single point) count
as overlapping. For deconfliction a spurious notice is cheap; a missed one is not.

How the covering is built: H3's ``contain="overlap"`` mode returns every cell whose boundary
polygon intersects the shape, but it reads both the shape and the cell boundaries with
straight edges in lat/lng, whereas true H3 cell edges are great-circle arcs. At resolution 7
(edges ~1.4 km) the two readings differ by well under a metre (~0.4 m at 85° latitude). So
the covering is computed on the geometry's outer rings (holes dropped: a superset is fine)
buffered by :data:`COVER_MARGIN_M` metres, plus the cell of every vertex. Any point ``p`` of
the geometry lies in its true cell ``C``; ``C``'s lat/lng polygon passes within a metre of
``p``, hence meets the buffered shape, hence ``C`` is in the result.

Scope limits (kept simple on purpose; the demo region is in the US):

* the antimeridian is not supported: a geometry whose bbox spans more than 180° of longitude
  (e.g. an unsplit polygon or a circle crossing ±180°), or which comes within the covering
  margin of ±180°, is refused with a :class:`FootprintError`;
* polar regions are not supported: every point must lie within ±:data:`MAX_ABS_LATITUDE`.

Errors are :class:`FootprintError` (a ``ValueError`` and an ``InvalidInput``, so the API
answers 422 naming the field); invalid GeoJSON areas raise ``InvalidInputs`` from
:func:`accord.geo.geojson.validate_area`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import h3
from shapely.geometry import MultiPolygon, Polygon, box, shape
from shapely.geometry.base import BaseGeometry
from shapely.geometry.polygon import orient
from shapely.ops import unary_union

from accord.core.errors import InvalidInput
from accord.geo.geojson import BBox, validate_area

CELL_RESOLUTION = 7
EARTH_RADIUS_M = 6_371_008.8
MIN_RADIUS_M = 1.0
MAX_RADIUS_M = 200_000.0
CIRCLE_SEGMENTS = 64
MAX_ABS_LATITUDE = 85.0
MAX_LON_SPAN_DEG = 180.0
COVER_MARGIN_M = 5.0
_METRES_PER_DEGREE = math.pi * EARTH_RADIUS_M / 180.0
_BUFFER_QUAD_SEGS = 4  # round joins: the buffer is at least cos(pi/16) ~ 98 % of its nominal width


class FootprintError(InvalidInput, ValueError):
    """Bad footprint or time input; names the field (``exc.problems[0].field``) and the reason."""


@dataclass(frozen=True)
class Footprint:
    """Exact geometry (WGS 84 lon/lat), its bbox, and the H3 cells that cover it."""

    geometry: BaseGeometry
    bbox: BBox
    cells: frozenset[str]


# --------------------------------------------------------------------------- construction


def _finite_number(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an integer too large for a float
        return False


def _check_radius(radius_m: Any, field: str) -> float:
    if not _finite_number(radius_m):
        raise FootprintError(field, f"must be a finite number of metres, got {radius_m!r}")
    if not MIN_RADIUS_M <= radius_m <= MAX_RADIUS_M:
        raise FootprintError(
            field, f"must be between {MIN_RADIUS_M:g} and {MAX_RADIUS_M:g} metres (200 km), got {radius_m!r}"
        )
    return float(radius_m)


def _check_lon_lat(lon: Any, lat: Any, field: str) -> tuple[float, float]:
    if not (_finite_number(lon) and _finite_number(lat)):
        raise FootprintError(field, "coordinates must be finite numbers [longitude, latitude]")
    if not -180 <= lon <= 180:
        raise FootprintError(field, f"longitude {lon} is outside -180..180 (WGS 84, [lon, lat] order)")
    if not -90 <= lat <= 90:
        raise FootprintError(field, f"latitude {lat} is outside -90..90 (WGS 84, [lon, lat] order)")
    return float(lon), float(lat)


def destination(lon: float, lat: float, bearing_deg: float, distance_m: float) -> tuple[float, float]:
    """The point ``distance_m`` from ``(lon, lat)`` along ``bearing_deg`` on the sphere (lon in -180..180)."""
    phi1 = math.radians(lat)
    lam1 = math.radians(lon)
    theta = math.radians(bearing_deg)
    delta = distance_m / EARTH_RADIUS_M
    sin_phi2 = math.sin(phi1) * math.cos(delta) + math.cos(phi1) * math.sin(delta) * math.cos(theta)
    phi2 = math.asin(max(-1.0, min(1.0, sin_phi2)))
    lam2 = lam1 + math.atan2(
        math.sin(theta) * math.sin(delta) * math.cos(phi1),
        math.cos(delta) - math.sin(phi1) * sin_phi2,
    )
    lon2 = (math.degrees(lam2) + 540.0) % 360.0 - 180.0
    return lon2, math.degrees(phi2)


def _check_extent(geom: BaseGeometry, field: str) -> BBox:
    min_lon, min_lat, max_lon, max_lat = (float(v) for v in geom.bounds)
    if max_lon - min_lon > MAX_LON_SPAN_DEG:
        raise FootprintError(
            field,
            f"spans {max_lon - min_lon:.1f}° of longitude (more than {MAX_LON_SPAN_DEG:g}°); "
            "areas crossing the antimeridian (±180°) or containing a pole are not supported",
        )
    if max(abs(min_lat), abs(max_lat)) > MAX_ABS_LATITUDE:
        raise FootprintError(field, f"reaches beyond ±{MAX_ABS_LATITUDE:g}° latitude; polar areas are not supported")
    return (min_lon, min_lat, max_lon, max_lat)


def _outer_shell(geom: BaseGeometry) -> BaseGeometry:
    """The geometry with its holes filled (a superset, which is all a covering needs)."""
    parts = list(geom.geoms) if isinstance(geom, MultiPolygon) else [geom]
    return unary_union([Polygon(part.exterior) for part in parts if isinstance(part, Polygon)])


def _covering_cells(geom: BaseGeometry, bbox: BBox, field: str) -> frozenset[str]:
    max_abs_lat = min(max(abs(bbox[1]), abs(bbox[3])) + 0.01, 89.0)
    # degrees of buffer so that the margin is >= COVER_MARGIN_M in every direction
    margin_deg = COVER_MARGIN_M / (_METRES_PER_DEGREE * math.cos(math.radians(max_abs_lat)))
    grown = _outer_shell(geom).buffer(margin_deg, quad_segs=_BUFFER_QUAD_SEGS)
    if not grown.within(box(-180.0, -90.0, 180.0, 90.0)):
        raise FootprintError(field, "comes too close to the antimeridian (±180° longitude), which is not supported")
    cells = set(h3.h3shape_to_cells_experimental(h3.geo_to_h3shape(grown), CELL_RESOLUTION, contain="overlap"))
    parts = list(geom.geoms) if isinstance(geom, MultiPolygon) else [geom]
    for part in parts:
        for ring in [part.exterior, *part.interiors]:
            cells.update(h3.latlng_to_cell(lat, lon, CELL_RESOLUTION) for lon, lat in ring.coords)
    return frozenset(cells)


def _footprint(geom: BaseGeometry, field: str) -> Footprint:
    bbox = _check_extent(geom, field)
    return Footprint(geometry=geom, bbox=bbox, cells=_covering_cells(geom, bbox, field))


def circle_polygon(lon: float, lat: float, radius_m: float, segments: int = CIRCLE_SEGMENTS) -> Polygon:
    """A geodesic circle as a polygon of ``segments`` vertices (counter-clockwise).

    Vertices sit at ``radius_m / cos(pi / segments)`` from the centre, so the polygon's edges
    are tangent to the true circle: the polygon contains the circle (errs on the side of a
    notice) and each vertex is within 0.13 % of the radius for 64 segments.
    """
    reach = radius_m / math.cos(math.pi / segments)
    ring = [destination(lon, lat, 360.0 * k / segments, reach) for k in range(segments)]
    return orient(Polygon(ring), sign=1.0)


def footprint_of_point(lon: float, lat: float, radius_m: float, *, field: str = "location") -> Footprint:
    """Footprint of a geodesic circle around ``(lon, lat)``; ``radius_m`` in 1 m .. 200 km.

    Raises :class:`FootprintError` naming ``radius_m`` for a bad radius, ``field`` for a bad
    centre or a circle that crosses the antimeridian or reaches beyond ±85° latitude.
    """
    radius = _check_radius(radius_m, "radius_m")
    lon, lat = _check_lon_lat(lon, lat, f"{field}.coordinates")
    return _footprint(circle_polygon(lon, lat, radius), field)


def footprint_of_area(geojson: dict[str, Any], *, field: str = "area") -> Footprint:
    """Footprint of a GeoJSON Polygon or MultiPolygon (validated by ``validate_area``)."""
    multi = validate_area(geojson, field=field)
    return _footprint(shape(multi), field)


def point_coordinates(location: Any, field: str) -> tuple[float, float]:
    """(lon, lat) of a GeoJSON Point, or FootprintError naming ``field`` and the fault."""
    if not isinstance(location, dict):
        raise FootprintError(field, "must be a GeoJSON Point object")
    if location.get("type") != "Point":
        raise FootprintError(f"{field}.type", f"must be 'Point', not {location.get('type')!r}")
    extra = set(location) - {"type", "coordinates", "bbox"}
    if extra:
        raise FootprintError(f"{field}.{sorted(extra)[0]}", "unknown member of a geometry")
    coords = location.get("coordinates")
    if not isinstance(coords, list) or not 2 <= len(coords) <= 3:
        raise FootprintError(f"{field}.coordinates", "a position must be [longitude, latitude]")
    return _check_lon_lat(coords[0], coords[1], f"{field}.coordinates")


def footprint_of(location: dict[str, Any] | None, radius_m: float | None, area: dict[str, Any] | None) -> Footprint:
    """Footprint from API-style input: ``location`` (GeoJSON Point) + ``radius_m``, or ``area``.

    Exactly one of the two forms must be given; errors name the field at fault.
    """
    if location is not None and area is not None:
        raise FootprintError("area", "give either location with radius_m or area, not both")
    if area is not None:
        if radius_m is not None:
            raise FootprintError("radius_m", "applies only to location; leave it out when giving area")
        return footprint_of_area(area, field="area")
    if location is None:
        raise FootprintError(
            "location",
            "required: give location (a GeoJSON Point) with radius_m, or area (a GeoJSON Polygon or MultiPolygon)",
        )
    lon, lat = point_coordinates(location, "location")
    if radius_m is None:
        raise FootprintError("radius_m", "required with location (metres, 1 to 200000)")
    return footprint_of_point(lon, lat, radius_m, field="location")


# --------------------------------------------------------------------------- predicates


def bboxes_intersect(a: BBox, b: BBox) -> bool:
    """Closed bbox intersection (touching counts), as ``a.min <= b.max AND b.min <= a.max`` in SQL."""
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]


def might_overlap(a: Footprint, b: Footprint) -> bool:
    """Indexed prefilter: bboxes intersect and the cell sets share a cell.

    Never ``False`` when :func:`overlaps` is ``True``: both cell sets cover their geometries,
    so a common point lies in a cell of both.
    """
    return bboxes_intersect(a.bbox, b.bbox) and not a.cells.isdisjoint(b.cells)


def overlaps(a: Footprint, b: Footprint) -> bool:
    """Exact check (call after :func:`might_overlap`): the closed geometries share a point."""
    return bool(a.geometry.intersects(b.geometry))


# --------------------------------------------------------------------------- time


def _aware(value: Any, field: str) -> datetime:
    if not isinstance(value, datetime):
        raise FootprintError(field, f"must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise FootprintError(field, "must be timezone-aware (UTC); naive datetimes are refused")
    return value.astimezone(UTC)


def time_overlap(
    a_start: datetime, a_end: datetime, b_start: datetime, b_end: datetime | None
) -> tuple[datetime, datetime] | None:
    """The common window (UTC) of half-open intervals ``[a_start, a_end)`` and ``[b_start, b_end)``.

    ``b_end=None`` means ``b`` is still active (an open incident): it runs on without end.
    Returns ``None`` when the windows do not overlap; adjacent windows (``a_end == b_start``)
    do not. Raises :class:`FootprintError` naming the field for a naive datetime or an end
    not after its start.
    """
    a0 = _aware(a_start, "a_start")
    a1 = _aware(a_end, "a_end")
    b0 = _aware(b_start, "b_start")
    b1 = None if b_end is None else _aware(b_end, "b_end")
    if a1 <= a0:
        raise FootprintError("a_end", "must be after a_start")
    if b1 is not None and b1 <= b0:
        raise FootprintError("b_end", "must be after b_start")
    start = max(a0, b0)
    end = a1 if b1 is None else min(a1, b1)
    return (start, end) if start < end else None
