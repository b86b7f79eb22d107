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


MAX_FEATURES = 5_000
_LINE_KINDS = {"LineString", "MultiPoint"}
_PROPERTY_BYTES = 2_000


def _geometry_problems(geometry: Any, path: str, budget: list[int]) -> list[str]:
    """Problems of one Point, MultiPoint, LineString, MultiLineString, Polygon or
    MultiPolygon (GeoJSON's simple geometries); an empty list when it is well formed."""
    if not isinstance(geometry, dict):
        return [f"{path}: must be a GeoJSON geometry object"]
    kind, coords = geometry.get("type"), geometry.get("coordinates")
    if kind == "Point":
        problem = _position_problem(coords, f"{path}.coordinates")
        return [problem] if problem else []
    if kind in _LINE_KINDS or kind == "MultiLineString":
        lines = coords if kind == "MultiLineString" else [coords]
        if not isinstance(lines, list) or not lines:
            return [f"{path}.coordinates: must be a non-empty list"]
        for i, line in enumerate(lines):
            lpath = f"{path}.coordinates" + (f"[{i}]" if kind == "MultiLineString" else "")
            if not isinstance(line, list) or len(line) < (1 if kind == "MultiPoint" else 2):
                return [f"{lpath}: needs {'a position' if kind == 'MultiPoint' else 'at least 2 positions'}"]
            budget[0] += len(line)
            if budget[0] > MAX_POSITIONS:
                return [f"{path}: too many positions (limit {MAX_POSITIONS})"]
            for p, pos in enumerate(line):
                problem = _position_problem(pos, f"{lpath}[{p}]")
                if problem:
                    return [problem]
        return []
    if kind == "Polygon":
        return _polygon_problems(coords, f"{path}.coordinates", budget)
    if kind == "MultiPolygon":
        if not isinstance(coords, list) or not coords:
            return [f"{path}.coordinates: a MultiPolygon needs at least one polygon"]
        found: list[str] = []
        for i, poly in enumerate(coords):
            found.extend(_polygon_problems(poly, f"{path}.coordinates[{i}]", budget))
        return found
    return [f"{path}.type: must be a GeoJSON geometry type (Point, LineString, Polygon, Multi...), not {kind!r}"]


def validate_feature_collection(value: Any, field: str = "features") -> dict[str, Any]:
    """A GeoJSON FeatureCollection of simple geometries with small flat properties (a
    layer an agency publishes), returned as a clean copy; InvalidInputs names the first
    problems by path (``features.features[3].geometry.coordinates[0]``)."""
    if not isinstance(value, dict) or value.get("type") != "FeatureCollection":
        raise InvalidInputs([FieldProblem(field, "must be a GeoJSON FeatureCollection")])
    features = value.get("features")
    if not isinstance(features, list):
        raise InvalidInputs([FieldProblem(f"{field}.features", "must be a list of Features")])
    if len(features) > MAX_FEATURES:
        raise InvalidInputs([FieldProblem(f"{field}.features", f"at most {MAX_FEATURES} features per layer")])
    budget = [0]
    clean: list[dict[str, Any]] = []
    problems: list[str] = []
    for i, feature in enumerate(features):
        path = f"{field}.features[{i}]"
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            problems.append(f"{path}: must be a GeoJSON Feature")
            continue
        found = _geometry_problems(feature.get("geometry"), f"{path}.geometry", budget)
        properties = feature.get("properties") or {}
        flat: dict[str, Any] = {}
        if not isinstance(properties, dict):
            found.append(f"{path}.properties: must be an object")
        else:
            flat = {str(k)[:60]: v for k, v in properties.items() if isinstance(v, str | int | float | bool)}
            if len(str(flat)) > _PROPERTY_BYTES:
                found.append(f"{path}.properties: larger than {_PROPERTY_BYTES} characters")
        problems.extend(found)
        if len(problems) >= 20:
            break
        if not found:
            clean.append({"type": "Feature", "geometry": feature["geometry"], "properties": flat})
    if problems:
        raise InvalidInputs([FieldProblem(m.split(":", 1)[0], m.split(":", 1)[1].strip()) for m in problems[:20]])
    return {"type": "FeatureCollection", "features": clean}
