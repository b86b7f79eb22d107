"""Pure conversions between incidents and CAP 1.2 alerts (no database, no web).

Coordinates: CAP writes ``lat,lon``; the incident keeps GeoJSON ``[lon, lat]`` (WGS 84).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry
from shapely.ops import unary_union
from shapely.validation import make_valid

from accord.formats.cap import CapAlert, CapArea, CapCircle, CapInfo, CapPolygon
from accord.geo.overlap import MAX_RADIUS_M, circle_polygon
from accord.operations.alerts.vocab import SEVERITY_OF_CAP, TYPE_BY_EVENT_WORDS, TYPE_OF_CATEGORY

NAME_MAX, SUMMARY_MAX = 200, 4000
COORDINATE_DIGITS = 6  # about 0.1 m: more would only lengthen the XML


def shorten(text: str, limit: int) -> str:
    """``text`` with its whitespace runs collapsed, cut to ``limit`` characters with an ellipsis."""
    text = re.sub(r"[ \t\r\f\v]+", " ", text).strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def choose_info(alert: CapAlert) -> CapInfo | None:
    """The ``<info>`` a report is made from: the first in English, else the first."""
    for info in alert.infos:
        if info.effective_language.lower().startswith("en"):
            return info
    return alert.infos[0] if alert.infos else None


def incident_type_of(info: CapInfo) -> str:
    event = f" {info.event.lower()} "
    for words, incident_type in TYPE_BY_EVENT_WORDS:
        if any(word in event for word in words):
            return incident_type
    for category in info.categories:
        if category in TYPE_OF_CATEGORY:
            return TYPE_OF_CATEGORY[category]
    return "other"


def _polygon_parts(geometry: BaseGeometry) -> list[Polygon]:
    if isinstance(geometry, Polygon):
        return [] if geometry.is_empty else [geometry]
    return [part for sub in getattr(geometry, "geoms", ()) for part in _polygon_parts(sub)]


def _as_lists(value: Any) -> Any:
    return [_as_lists(v) for v in value] if isinstance(value, list | tuple) else value


@dataclass
class Place:
    """Where an alert applies, as the incident stores it."""

    area: dict[str, Any] | None = None  # GeoJSON MultiPolygon
    location: dict[str, Any] | None = None  # GeoJSON Point
    notes: list[str] = field(default_factory=list)


def place_of(info: CapInfo) -> Place:
    """Polygons and circles of every ``<area>`` merged into one MultiPolygon; a circle is
    drawn as a polygon (``geo.overlap.circle_polygon``). A self-intersecting polygon is
    repaired (``make_valid``) rather than refused, and the repair noted."""
    place = Place()
    parts: list[BaseGeometry] = []
    centre: tuple[float, float] | None = None
    for area in info.areas:
        for polygon in area.polygons:
            shell = Polygon([(lon, lat) for lat, lon in polygon.points])
            if not shell.is_valid:
                place.notes.append(f"a polygon of '{area.area_desc}' crosses itself; it was repaired")
                parts.append(make_valid(shell))
            else:
                parts.append(shell)
        for circle in area.circles:
            centre = centre or (circle.lon, circle.lat)
            radius_m = circle.radius_km * 1000
            if 0 < radius_m <= MAX_RADIUS_M:
                parts.append(circle_polygon(circle.lon, circle.lat, radius_m))
            elif radius_m > MAX_RADIUS_M:
                place.notes.append(f"a circle of '{area.area_desc}' is wider than 200 km; only its centre is kept")
    polygons = _polygon_parts(unary_union(parts)) if parts else []
    if polygons:
        place.area = {
            "type": "MultiPolygon",
            "coordinates": _as_lists(MultiPolygon(polygons).__geo_interface__["coordinates"]),
        }
        point = MultiPolygon(polygons).representative_point()
        place.location = {"type": "Point", "coordinates": [float(point.x), float(point.y)]}
    elif centre is not None:
        place.location = {"type": "Point", "coordinates": [centre[0], centre[1]]}
    return place


@dataclass(frozen=True)
class Report:
    """The incident report an outside alert becomes."""

    name: str
    type: str
    severity: str
    tier: str
    summary: str
    started_at: datetime
    place: Place


def report_of(alert: CapAlert, info: CapInfo, *, now: datetime) -> Report:
    title = (info.headline or "").strip() or info.event.strip()
    if len(title) < 3:
        title = f"CAP alert: {info.event.strip()}"
    if alert.status == "Exercise":
        title = f"EXERCISE: {title}"
    summary = (info.description or "").strip() or title
    if info.instruction and info.instruction.strip():
        summary += f"\n\nInstruction: {info.instruction.strip()}"
    return Report(
        name=shorten(title, NAME_MAX),
        type=incident_type_of(info),
        severity=SEVERITY_OF_CAP[info.severity],
        tier="CLEAR" if alert.scope == "Public" else "AMBER",
        summary=shorten(summary, SUMMARY_MAX) if len(summary) > SUMMARY_MAX else summary,
        started_at=min(alert.sent, now),
        place=place_of(info),
    )


# --- out ------------------------------------------------------------------------------


def _ring(ring: list[Any]) -> tuple[tuple[float, float], ...]:
    points = [(round(float(p[1]), COORDINATE_DIGITS), round(float(p[0]), COORDINATE_DIGITS)) for p in ring]
    if points and points[0] != points[-1]:
        points.append(points[0])
    return tuple(points)


def cap_area_of(
    *, area_desc: str, area: dict[str, Any] | None, location: dict[str, Any] | None, radius_km: float
) -> CapArea | None:
    """The incident's area as CAP polygons (outer rings: CAP has no holes), or a circle of
    ``radius_km`` around its location; None when it has neither."""
    if area is not None:
        polygons = area["coordinates"] if area.get("type") == "MultiPolygon" else [area["coordinates"]]
        return CapArea(area_desc=area_desc, polygons=tuple(CapPolygon(_ring(p[0])) for p in polygons))
    if location is not None:
        lon, lat = (round(float(v), COORDINATE_DIGITS) for v in location["coordinates"][:2])
        return CapArea(area_desc=area_desc, circles=(CapCircle(lat, lon, radius_km),))
    return None
