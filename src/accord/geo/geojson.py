"""Strict GeoJSON area validation with errors that name the exact position at fault.

Jurisdictions are stored as MultiPolygons; a Polygon is accepted and promoted.
Checks: structure, numeric WGS 84 ranges, closed rings of >= 4 positions, and
geometric validity (no self-intersections) via shapely.
"""

from __future__ import annotations

import math
from typing import Any

from shapely.geometry import shape
from shapely.validation import explain_validity

from accord.core.errors import FieldProblem, InvalidInputs

BBox = tuple[float, float, float, float]
MAX_POSITIONS = 200_000


def _position_problem(pos: Any, path: str) -> str | None:
    if not isinstance(pos, list) or len(pos) < 2 or len(pos) > 3:
        return f"{path}: a position must be [longitude, latitude]"
    for v in pos:
        if isinstance(v, bool) or not isinstance(v, int | float):
            return f"{path}: coordinates must be finite numbers"
        try:
            finite = math.isfinite(v)
        except OverflowError:  # an integer too large for a float
            finite = False
        if not finite:
            return f"{path}: coordinates must be finite numbers"
    lon, lat = pos[0], pos[1]
    if not -180 <= lon <= 180:
        return f"{path}: longitude {lon} is outside -180..180 (WGS 84, [lon, lat] order)"
    if not -90 <= lat <= 90:
        return f"{path}: latitude {lat} is outside -90..90 (WGS 84, [lon, lat] order)"
    return None


def _polygon_problems(rings: Any, path: str, budget: list[int]) -> list[str]:
    if not isinstance(rings, list) or not rings:
        return [f"{path}: a polygon must be a non-empty list of linear rings"]
    problems: list[str] = []
    for r, ring in enumerate(rings):
        rpath = f"{path}[{r}]"
        if not isinstance(ring, list) or len(ring) < 4:
            problems.append(f"{rpath}: a linear ring needs at least 4 positions")
            continue
        budget[0] += len(ring)
        if budget[0] > MAX_POSITIONS:
            return [f"{path}: too many positions (limit {MAX_POSITIONS})"]
        for p, pos in enumerate(ring):
            problem = _position_problem(pos, f"{rpath}[{p}]")
            if problem:
                problems.append(problem)
                break
        else:
            if ring[0][:2] != ring[-1][:2]:
                problems.append(f"{rpath}: ring is not closed (first position must equal the last)")
    return problems


def validate_area(value: Any, field: str = "geometry") -> dict[str, Any]:
    """Return ``value`` as a valid GeoJSON MultiPolygon or raise InvalidInputs naming the field."""
    if not isinstance(value, dict):
        raise InvalidInputs([FieldProblem(field, "must be a GeoJSON Polygon or MultiPolygon object")])
    kind = value.get("type")
    coords = value.get("coordinates")
    extra = set(value) - {"type", "coordinates", "bbox"}
    if extra:
        raise InvalidInputs([FieldProblem(f"{field}.{sorted(extra)[0]}", "unknown member of a geometry")])
    if kind == "Polygon":
        polygons: list[Any] = [coords]
        paths = [f"{field}.coordinates"]
    elif kind == "MultiPolygon":
        if not isinstance(coords, list) or not coords:
            raise InvalidInputs([FieldProblem(f"{field}.coordinates", "a MultiPolygon needs at least one polygon")])
        polygons = coords
        paths = [f"{field}.coordinates[{i}]" for i in range(len(coords))]
    else:
        raise InvalidInputs([FieldProblem(f"{field}.type", f"must be 'Polygon' or 'MultiPolygon', not {kind!r}")])

    budget = [0]
    messages: list[str] = []
    for poly, path in zip(polygons, paths, strict=True):
        messages.extend(_polygon_problems(poly, path, budget))
    if messages:
        raise InvalidInputs([FieldProblem(m.split(":", 1)[0], m.split(":", 1)[1].strip()) for m in messages[:20]])
    multi = {
        "type": "MultiPolygon",
        "coordinates": [[[list(p[:2]) for p in ring] for ring in poly] for poly in polygons],
    }
    geom = shape(multi)
    if not geom.is_valid:
        raise InvalidInputs([FieldProblem(field, f"invalid geometry: {explain_validity(geom)}")])
    return multi


def bbox_of(area: dict[str, Any]) -> BBox:
    minx, miny, maxx, maxy = shape(area).bounds
    return (float(minx), float(miny), float(maxx), float(maxy))


def centroid_of(area: dict[str, Any]) -> tuple[float, float]:
    point = shape(area).representative_point()
    return (float(point.x), float(point.y))


def area_km2(area: dict[str, Any]) -> float:
    """Approximate area (equirectangular at the centroid latitude): good to a few percent."""
    geom = shape(area)
    lat = math.radians(geom.centroid.y)
    return float(geom.area) * 111.32 * 111.32 * math.cos(lat)
