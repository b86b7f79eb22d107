"""The incident briefing (ICS-201), generated from the incident's current state: situation,
sketch, objectives of the current operational period, actions (tasks and the latest log
entries), the organisation (who holds which position now), resources (agencies and the
units assigned to tasks) and the protocols attached. Read through the same doors as the
incident page: only agencies taking part get a briefing."""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from html import escape
from typing import Any

from sqlalchemy.orm import Session

from accord.authz import Actor
from accord.core.time import utcnow
from accord.directory import queries as directory
from accord.operations import queries
from accord.operations.models import ActivityEntry, CommandAssignment, Incident, OperationalPeriod, Task
from accord.operations.protocols import queries as protocols
from accord.operations.vocab import COMMAND_STAFF, GENERAL_STAFF, POSITIONS

RECENT_LOG = 12
SKETCH_W, SKETCH_H = 560, 340


@dataclass
class Unit:
    agency: str
    units: list[str] = field(default_factory=list)
    open_tasks: int = 0


@dataclass
class Briefing:
    incident: Incident
    prepared_at: datetime
    prepared_by: str
    agency_names: dict[uuid.UUID, str]
    period: OperationalPeriod | None
    command: list[tuple[str, list[CommandAssignment]]]
    tasks: list[Task]
    recent_log: list[ActivityEntry]
    resources: list[Unit]
    protocol_titles: list[tuple[str, int]]
    sketch_svg: str


def organisation(rows: list[CommandAssignment]) -> list[tuple[str, list[CommandAssignment]]]:
    """The positions held now, grouped as an ICS organisation chart reads."""
    current = [r for r in rows if r.ended_at is None]
    groups = [
        ("Unified command", [r for r in current if r.position == "incident_commander"]),
        ("Command staff", [r for r in current if r.position in COMMAND_STAFF and r.position != "incident_commander"]),
        ("General staff", [r for r in current if r.position in GENERAL_STAFF]),
        ("Branches, divisions and groups", [r for r in current if r.position not in COMMAND_STAFF + GENERAL_STAFF]),
    ]
    return groups


def _resources(incident: Incident, tasks: list[Task], names: dict[uuid.UUID, str]) -> list[Unit]:
    agencies = [incident.lead_agency_id] + [p.agency_id for p in incident.participants]
    found = {agency: Unit(names.get(agency, "Unknown agency")) for agency in agencies}
    for task in tasks:
        unit = found.setdefault(task.assigned_agency_id, Unit(names.get(task.assigned_agency_id, "Unknown agency")))
        if task.assigned_unit and task.assigned_unit not in unit.units:
            unit.units.append(task.assigned_unit)
        if task.status not in ("done", "cancelled"):
            unit.open_tasks += 1
    return list(found.values())


def _rings(geometry: dict[str, Any] | None) -> list[list[list[float]]]:
    if not geometry:
        return []
    if geometry.get("type") == "Polygon":
        return [geometry["coordinates"][0]]
    if geometry.get("type") == "MultiPolygon":
        return [polygon[0] for polygon in geometry["coordinates"]]
    return []


def sketch(incident: Incident, tasks: list[Task]) -> str:
    """An SVG sketch of the incident's area, its point and the tasks with a position
    (equirectangular at the area's latitude; enough for a briefing, not for navigation)."""
    rings = _rings(incident.area)
    points: list[tuple[float, float, str]] = []
    if incident.location:
        lon, lat = incident.location["coordinates"][:2]
        points.append((lon, lat, "incident"))
    for task in tasks:
        if task.location:
            lon, lat = task.location["coordinates"][:2]
            points.append((lon, lat, f"T{task.number}"))
    xs = [p[0] for ring in rings for p in ring] + [p[0] for p in points]
    ys = [p[1] for ring in rings for p in ring] + [p[1] for p in points]
    if not xs:
        return ""
    min_x, max_x, min_y, max_y = min(xs), max(xs), min(ys), max(ys)
    scale_x = math.cos(math.radians((min_y + max_y) / 2))
    span_x = max((max_x - min_x) * scale_x, 0.002)
    span_y = max(max_y - min_y, 0.002)
    pad = 24
    unit = min((SKETCH_W - 2 * pad) / span_x, (SKETCH_H - 2 * pad) / span_y)
    off_x = (SKETCH_W - span_x * unit) / 2
    off_y = (SKETCH_H - span_y * unit) / 2

    def at(lon: float, lat: float) -> tuple[float, float]:
        return off_x + (lon - min_x) * scale_x * unit, SKETCH_H - (off_y + (lat - min_y) * unit)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {SKETCH_W} {SKETCH_H}" '
        f'width="{SKETCH_W}" height="{SKETCH_H}" role="img" aria-label="Sketch of the incident area">',
        f'<rect width="{SKETCH_W}" height="{SKETCH_H}" fill="#f6f8fa" stroke="#d0d7de"/>',
    ]
    for ring in rings:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in (at(p[0], p[1]) for p in ring))
        parts.append(f'<polygon points="{path}" fill="#cf222e" fill-opacity="0.15" stroke="#cf222e" stroke-width="2"/>')
    for lon, lat, label in points:
        x, y = at(lon, lat)
        if label == "incident":
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="7" fill="#cf222e" stroke="#fff" stroke-width="2"/>')
        else:
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="5" fill="#0969da" stroke="#fff" stroke-width="1.5"/>')
            parts.append(
                f'<text x="{x + 7:.1f}" y="{y + 4:.1f}" font-size="12" font-family="sans-serif" fill="#0b1f33">'
                f"{escape(label)}</text>"
            )
    parts.append(
        f'<text x="{SKETCH_W - 8}" y="{SKETCH_H - 8}" font-size="11" text-anchor="end" '
        'font-family="sans-serif" fill="#57606a">N ↑ · not to scale for navigation</text></svg>'
    )
    return "".join(parts)


def build_briefing(db: Session, actor: Actor, incident_id: uuid.UUID) -> Briefing:
    incident = queries.whole_incident(db, actor, incident_id, "briefing")
    now = utcnow()
    names = {agency: name for agency, name in directory.agency_options(db, actor)}
    periods = queries.list_periods(db, actor, incident.id)
    tasks = queries.list_tasks(db, actor, incident.id)
    log = queries.list_activity(db, actor, incident.id)
    attached = protocols.protocols_for_incident(db, actor, incident.id)
    return Briefing(
        incident=incident,
        prepared_at=now,
        prepared_by=actor.display_name or actor.username,
        agency_names=names,
        period=queries.current_period(periods, now),
        command=organisation(queries.list_command(db, actor, incident.id, current_only=True)),
        tasks=tasks,
        recent_log=log[-RECENT_LOG:][::-1],
        resources=_resources(incident, tasks, names),
        protocol_titles=[(a.version.title, a.version.number) for a in attached],
        sketch_svg=sketch(incident, tasks),
    )


POSITION_LABELS = POSITIONS
