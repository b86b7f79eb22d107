"""Commands of deconfliction: register, change and cancel planned operations, check them
against other agencies' operations and open incidents, tell both sides of each conflict,
acknowledge notices. Every change writes its audit event and live event in the caller's
transaction; nothing here commits.

The conflict check is system-level (it must see other agencies' operations), but what it
finds never reaches the caller except as notices of real conflicts: candidates sharing an
H3 cell and the bbox (indexed, in SQL), then the time window, then the exact geometry
(``accord.geo.overlap``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shapely.geometry import shape
from sqlalchemy import delete
from sqlalchemy.orm import Session

from accord.audit.service import record_event
from accord.authz import Actor, roles_by_agency
from accord.core import events
from accord.core.errors import Conflict, FieldProblem, InvalidInput, InvalidInputs, NotFound, PermissionDenied
from accord.core.time import utcnow
from accord.directory import queries as directory
from accord.geo.geojson import bbox_of, validate_area
from accord.geo.overlap import (
    Footprint,
    footprint_of,
    footprint_of_area,
    footprint_of_point,
    might_overlap,
    overlaps,
    point_coordinates,
    time_overlap,
)
from accord.operations.deconfliction import queries
from accord.operations.deconfliction.models import DeconflictionNotice, PlannedOperation, PlannedOperationCell
from accord.operations.deconfliction.schemas import (
    ConflictCheck,
    EnquiryCreate,
    PlannedOperationCreate,
    PlannedOperationUpdate,
)
from accord.operations.deconfliction.vocab import (
    ENQUIRY,
    FINAL,
    INCIDENT_POINT_RADIUS_M,
    MAX_CELLS,
    MAX_DURATION,
    MAX_LEAD_TIME,
    PLANNED,
)
from accord.operations.models import Incident

READ, MANAGE = queries.READ, queries.MANAGE
Window = tuple[datetime, datetime]


# -- validation ---------------------------------------------------------------------------
def _owner(db: Session, actor: Actor, owner_agency_id: uuid.UUID | None) -> uuid.UUID:
    """The agency registering: the one named (the caller must manage its operations), or
    the caller's only such agency. A platform-wide role registers for no agency."""
    mine = roles_by_agency(actor, MANAGE)
    if owner_agency_id is None:
        if len(mine) == 1:
            return next(iter(mine))
        if not mine:
            raise PermissionDenied(MANAGE)
        raise InvalidInput("owner_agency_id", "required: you register operations for several agencies; name one")
    if not directory.agency_exists(db, owner_agency_id):
        raise InvalidInput("owner_agency_id", "no such agency")
    if owner_agency_id not in mine:
        raise PermissionDenied(MANAGE, owner_agency_id)
    return owner_agency_id


def _contact(db: Session, actor: Actor, name: str | None, phone: str | None) -> tuple[str, str, uuid.UUID | None]:
    """The contact the other side will call: as given, or the caller's directory entry.
    It must be reachable: a number is required."""
    person = directory.person_for_user(db, actor.user_id) if actor.user_id is not None else None
    if name is None and phone is None:
        if person is None or not person.phone:
            raise InvalidInput(
                "contact_phone",
                "required: your directory entry has no phone number; give the number the other side should call",
            )
        return person.full_name, person.phone, actor.user_id
    if phone is None:
        raise InvalidInput("contact_phone", "required with contact_name: the number the other side should call")
    if name is None:
        name = person.full_name if person is not None else (actor.display_name or actor.username)
        return name, phone, actor.user_id
    return name, phone, None


def _window(starts_at: datetime, ends_at: datetime, *, field_prefix: str = "") -> None:
    now = utcnow()
    if ends_at <= starts_at:
        raise InvalidInput(f"{field_prefix}ends_at", "must be after starts_at")
    if ends_at - starts_at > MAX_DURATION:
        raise InvalidInput(
            f"{field_prefix}ends_at", f"an operation lasts at most {MAX_DURATION.days} days; register each phase"
        )
    if ends_at <= now:
        raise InvalidInput(f"{field_prefix}ends_at", "is in the past: register operations to come or under way")
    if starts_at > now + MAX_LEAD_TIME:
        raise InvalidInput(f"{field_prefix}starts_at", f"more than {MAX_LEAD_TIME.days} days ahead")


def _prefixed(exc: InvalidInput | InvalidInputs, prefix: str) -> InvalidInputs:
    return InvalidInputs([FieldProblem(prefix + p.field, p.reason) for p in exc.problems])


def _place(
    location: dict[str, Any] | None, radius_m: float | None, area: dict[str, Any] | None, *, field_prefix: str = ""
) -> tuple[Footprint, dict[str, Any]]:
    """The footprint (``geo.overlap``) and the columns that store it; errors name the field."""
    try:
        footprint = footprint_of(location, radius_m, area)
        normalized: dict[str, Any]
        if area is not None:
            normalized = {"location": None, "radius_m": None, "area": validate_area(area, field="area")}
        else:
            lon, lat = point_coordinates(location, "location")
            normalized = {"location": {"type": "Point", "coordinates": [lon, lat]}, "radius_m": radius_m, "area": None}
    except (InvalidInput, InvalidInputs) as exc:
        if field_prefix:
            raise _prefixed(exc, field_prefix) from None
        raise
    if len(footprint.cells) > MAX_CELLS:
        field = "area" if area is not None else "radius_m"
        raise InvalidInput(
            field_prefix + field,
            f"too large: covers {len(footprint.cells)} H3 cells (about {len(footprint.cells) * 5.16:,.0f} km²); "
            f"a planned operation covers at most {MAX_CELLS} (about {MAX_CELLS * 5.16:,.0f} km²)",
        )
    return footprint, normalized


def _store_place(operation: PlannedOperation, footprint: Footprint, place: dict[str, Any]) -> None:
    operation.location, operation.radius_m, operation.area = place["location"], place["radius_m"], place["area"]
    operation.min_lon, operation.min_lat, operation.max_lon, operation.max_lat = footprint.bbox


def _store_cells(db: Session, operation: PlannedOperation, footprint: Footprint) -> None:
    """Replace the operation's cells (the prefilter's index) with the footprint's."""
    db.execute(delete(PlannedOperationCell).where(PlannedOperationCell.operation_id == operation.id))
    db.add_all(PlannedOperationCell(operation_id=operation.id, cell=cell) for cell in sorted(footprint.cells))
    db.flush()


def operation_footprint(operation: PlannedOperation) -> Footprint:
    if operation.area is not None:
        return footprint_of_area(operation.area)
    assert operation.location is not None and operation.radius_m is not None
    lon, lat = operation.location["coordinates"]
    return footprint_of_point(float(lon), float(lat), operation.radius_m)


def incident_footprint(incident: Incident) -> Footprint | None:
    """An incident's area, or its point as a circle of ``INCIDENT_POINT_RADIUS_M``. A
    place ``geo.overlap`` cannot cover (across the antimeridian, polar) keeps its exact
    geometry and bbox without cells: it is then matched by bbox and geometry only."""
    try:
        if incident.area is not None:
            return footprint_of_area(incident.area)
        if incident.location is not None:
            lon, lat = incident.location["coordinates"]
            return footprint_of_point(float(lon), float(lat), INCIDENT_POINT_RADIUS_M)
    except (InvalidInput, InvalidInputs):
        if incident.area is not None:
            return Footprint(geometry=shape(incident.area), bbox=bbox_of(incident.area), cells=frozenset())
    return None


# -- audit and live events ----------------------------------------------------------------
def _announce_operation(db: Session, kind: str, operation: PlannedOperation, **payload: Any) -> None:
    events.emit(
        db,
        kind=f"planned_operation.{kind}",
        object_type="planned_operation",
        object_id=operation.id,
        agency_id=operation.owner_agency_id,
        payload={"status": operation.status} | payload,
    )


def _audit_operation(db: Session, actor: Actor, action: str, operation: PlannedOperation, **details: Any) -> None:
    record_event(
        db,
        actor=actor,
        action=f"operations.planned.{action}",
        agency_id=operation.owner_agency_id,
        object_type="planned_operation",
        object_id=operation.id,
        details=details,
    )


def _notice_event(db: Session, actor: Actor, action: str, notice: DeconflictionNotice) -> None:
    """Audit and announce a notice: ids, revision and state; the window only in the
    recipient's own audit trail; never the other side's case."""
    state = "resolved" if notice.resolved_at is not None else "open"
    record_event(
        db,
        actor=actor,
        action=f"operations.deconfliction.{action}",
        agency_id=notice.agency_id,
        object_type="deconfliction_notice",
        object_id=notice.id,
        details={
            "revision": notice.revision,
            "state": state,
            "overlap": [notice.overlap_starts_at.isoformat(), notice.overlap_ends_at.isoformat()],
        },
    )
    events.emit(
        db,
        kind=f"deconfliction.notice.{action}",
        object_type="deconfliction_notice",
        object_id=notice.id,
        agency_id=notice.agency_id,
        payload={"revision": notice.revision, "state": state},
    )


# -- matching -----------------------------------------------------------------------------
@dataclass(frozen=True)
class _Side:
    """What one agency is told about one pair."""

    agency_id: uuid.UUID
    operation_id: uuid.UUID | None
    counterpart_operation_id: uuid.UUID | None
    incident_id: uuid.UUID | None
    other_agency_id: uuid.UUID
    other_contact: tuple[str, str]


@dataclass(frozen=True)
class _Found:
    window: Window
    sides: tuple[_Side, _Side]


def _pair_of_operations(a: PlannedOperation, b: PlannedOperation, window: Window) -> tuple[str, _Found]:
    first, second = sorted((a, b), key=lambda op: str(op.id))
    key = f"operations:{first.id}:{second.id}"

    def side(own: PlannedOperation, other: PlannedOperation) -> _Side:
        return _Side(
            agency_id=own.owner_agency_id,
            operation_id=own.id,
            counterpart_operation_id=other.id,
            incident_id=None,
            other_agency_id=other.owner_agency_id,
            other_contact=(other.contact_name, other.contact_phone),
        )

    return key, _Found(window, (side(first, second), side(second, first)))


def _pair_with_incident(db: Session, op: PlannedOperation, incident: Incident, window: Window) -> tuple[str, _Found]:
    key = f"operation:{op.id}:incident:{incident.id}"
    contact = queries.agency_contact(db, incident.lead_agency_id, incident.created_by_user_id)
    operation_side = _Side(
        agency_id=op.owner_agency_id,
        operation_id=op.id,
        counterpart_operation_id=None,
        incident_id=incident.id,
        other_agency_id=incident.lead_agency_id,
        other_contact=(contact.name, contact.phone),
    )
    lead_side = _Side(
        agency_id=incident.lead_agency_id,
        operation_id=None,
        counterpart_operation_id=op.id,
        incident_id=incident.id,
        other_agency_id=op.owner_agency_id,
        other_contact=(op.contact_name, op.contact_phone),
    )
    return key, _Found(window, (operation_side, lead_side))


def _incident_conflict(op: PlannedOperation, footprint: Footprint, incident: Incident) -> Window | None:
    theirs = incident_footprint(incident)
    if theirs is None:
        return None
    window = time_overlap(op.starts_at, op.ends_at, incident.started_at, incident.closed_at)
    if window is None:
        return None
    if theirs.cells and not might_overlap(footprint, theirs):
        return None
    return window if overlaps(footprint, theirs) else None


def _conflicts_of_operation(db: Session, op: PlannedOperation, footprint: Footprint) -> dict[str, _Found]:
    found: dict[str, _Found] = {}
    if op.status != PLANNED:
        return found
    for other in queries.candidate_operations(db, op):
        window = time_overlap(op.starts_at, op.ends_at, other.starts_at, other.ends_at)
        if window is not None and overlaps(footprint, operation_footprint(other)):
            key, pair = _pair_of_operations(op, other, window)
            found[key] = pair
    for incident in queries.candidate_incidents(db, op):
        window = _incident_conflict(op, footprint, incident)
        if window is not None:
            key, pair = _pair_with_incident(db, op, incident, window)
            found[key] = pair
    return found


def _notify(db: Session, actor: Actor, key: str, side: _Side, window: Window, row: DeconflictionNotice | None) -> None:
    now = utcnow()
    name, phone = side.other_contact
    if row is None:
        row = DeconflictionNotice(
            agency_id=side.agency_id,
            pair_key=key,
            operation_id=side.operation_id,
            counterpart_operation_id=side.counterpart_operation_id,
            incident_id=side.incident_id,
            other_agency_id=side.other_agency_id,
            other_contact_name=name,
            other_contact_phone=phone,
            overlap_starts_at=window[0],
            overlap_ends_at=window[1],
            revision=1,
            notified_at=now,
        )
        db.add(row)
        db.flush()
        _notice_event(db, actor, "notified", row)
        return
    unchanged = (
        row.resolved_at is None
        and (row.overlap_starts_at, row.overlap_ends_at) == window
        and (row.other_contact_name, row.other_contact_phone) == (name, phone)
    )
    if unchanged:
        return
    row.overlap_starts_at, row.overlap_ends_at = window
    row.other_contact_name, row.other_contact_phone = name, phone
    row.revision += 1
    row.notified_at = now
    row.acknowledged_at = row.acknowledged_by_user_id = row.resolved_at = None
    db.flush()
    _notice_event(db, actor, "renotified", row)


def _settle(db: Session, actor: Actor, found: dict[str, _Found], existing: list[DeconflictionNotice]) -> None:
    """Tell both sides of every conflict found (once per pair; again when its window or
    contact changed); mark the notices of pairs that no longer conflict resolved."""
    by_pair: dict[str, dict[uuid.UUID, DeconflictionNotice]] = {}
    for notice in existing:
        by_pair.setdefault(notice.pair_key, {})[notice.agency_id] = notice
    for key in sorted(found):
        pair = found[key]
        rows = by_pair.get(key, {})
        for side in pair.sides:
            _notify(db, actor, key, side, pair.window, rows.get(side.agency_id))
    now = utcnow()
    for key in sorted(set(by_pair) - set(found)):
        for notice in by_pair[key].values():
            if notice.resolved_at is None:
                notice.resolved_at = now
                db.flush()
                _notice_event(db, actor, "resolved", notice)


def _reconcile(db: Session, actor: Actor, op: PlannedOperation, footprint: Footprint) -> None:
    queries.lock_for_matching(db)
    found = _conflicts_of_operation(db, op, footprint)
    _settle(db, actor, found, queries.notices_of_operation(db, op.id))


# -- commands -----------------------------------------------------------------------------
def register_operation(db: Session, *, actor: Actor, data: PlannedOperationCreate) -> PlannedOperation:
    """Register where and when; both sides of every conflict found are told at once."""
    owner = _owner(db, actor, data.owner_agency_id)
    footprint, place = _place(data.location, data.radius_m, data.area)
    _window(data.starts_at, data.ends_at)
    name, phone, contact_user = _contact(db, actor, data.contact_name, data.contact_phone)
    operation = PlannedOperation(
        owner_agency_id=owner,
        kind=data.kind,
        title=data.title,
        case_reference=data.case_reference,
        starts_at=data.starts_at,
        ends_at=data.ends_at,
        contact_name=name,
        contact_phone=phone,
        contact_user_id=contact_user,
        status=PLANNED,
        created_by_user_id=actor.user_id,
    )
    _store_place(operation, footprint, place)
    db.add(operation)
    db.flush()
    _store_cells(db, operation, footprint)
    _audit_operation(
        db,
        actor,
        "register",
        operation,
        kind=operation.kind,
        window=[operation.starts_at.isoformat(), operation.ends_at.isoformat()],
        cells=len(footprint.cells),
    )
    _announce_operation(db, "registered", operation)
    _reconcile(db, actor, operation, footprint)
    return operation


def update_operation(
    db: Session, *, actor: Actor, operation_id: uuid.UUID, data: PlannedOperationUpdate
) -> PlannedOperation:
    """Change the place, the window, the contact or the status of one's own operation;
    the conflicts are checked again (a changed window tells the other side again)."""
    operation = queries.get_operation(db, actor, operation_id, action=MANAGE)
    if operation.status in FINAL:
        raise Conflict("status", f"the operation is {operation.status}; it is not changed any more")
    changed: list[str] = []
    footprint: Footprint | None = None
    if data.location is not None or data.area is not None or data.radius_m is not None:
        location, radius_m = data.location, data.radius_m
        if data.area is None:  # a new point keeps the radius, a new radius keeps the point
            location = location if location is not None else operation.location
            radius_m = radius_m if radius_m is not None else operation.radius_m
            if location is None:
                raise InvalidInput("radius_m", "applies to a point; this operation has an area: give location too")
            if radius_m is None:
                raise InvalidInput("radius_m", "required with location (metres, 1 to 200000)")
        footprint, place = _place(location, radius_m, data.area)
        _store_place(operation, footprint, place)
        _store_cells(db, operation, footprint)
        changed.append("place")
    if data.starts_at is not None or data.ends_at is not None:
        starts_at = data.starts_at or operation.starts_at
        ends_at = data.ends_at or operation.ends_at
        _window(starts_at, ends_at)
        if (starts_at, ends_at) != (operation.starts_at, operation.ends_at):
            operation.starts_at, operation.ends_at = starts_at, ends_at
            changed.append("window")
    if data.contact_name is not None or data.contact_phone is not None:
        name, phone, contact_user = _contact(
            db,
            actor,
            data.contact_name if data.contact_name is not None else operation.contact_name,
            data.contact_phone if data.contact_phone is not None else operation.contact_phone,
        )
        if (name, phone) != (operation.contact_name, operation.contact_phone):
            operation.contact_name, operation.contact_phone, operation.contact_user_id = name, phone, contact_user
            changed.append("contact")
    status_change = data.status is not None and data.status != operation.status
    if status_change:
        assert data.status is not None
        operation.status = data.status
    if not changed and not status_change:
        return operation
    operation.updated_at = utcnow()
    db.flush()
    if changed:
        _audit_operation(db, actor, "update", operation, changed=changed)
    if status_change:
        _audit_operation(db, actor, "cancel" if operation.status == "cancelled" else "complete", operation)
    _announce_operation(db, "updated" if not status_change else operation.status, operation, changed=changed)
    _reconcile(db, actor, operation, footprint or operation_footprint(operation))
    return operation


def register_enquiry(db: Session, *, actor: Actor, data: EnquiryCreate) -> PlannedOperation:
    """ "Is anything planned here?" is a registration of kind ``enquiry``: whoever it
    conflicts with is told who asked, exactly as for an operation."""
    fields = data.model_dump(exclude_unset=False)
    try:
        create = PlannedOperationCreate.model_validate(fields | {"kind": ENQUIRY})
    except ValueError as exc:  # cannot happen for a valid enquiry; named anyway
        raise InvalidInput("enquiry", str(exc)) from None
    try:
        return register_operation(db, actor=actor, data=create)
    except (InvalidInput, InvalidInputs) as exc:
        raise _prefixed(exc, "enquiry.") from None


def check_conflicts(
    db: Session, *, actor: Actor, data: ConflictCheck
) -> tuple[PlannedOperation, bool, list[DeconflictionNotice]]:
    """Answer "is anything planned here?" only with conflicts, and only by registering:
    for one's own operation (checked again now) or for an enquiry registered now. Returns
    the operation, whether it was registered now, and its current conflicts."""
    if (data.operation_id is None) == (data.enquiry is None):
        raise InvalidInput("operation_id", "give either operation_id (your registration) or enquiry, not both")
    if data.enquiry is not None:
        operation = register_enquiry(db, actor=actor, data=data.enquiry)
        created = True
    else:
        assert data.operation_id is not None
        operation = queries.get_operation(db, actor, data.operation_id, action=MANAGE)
        if operation.status == PLANNED:
            _reconcile(db, actor, operation, operation_footprint(operation))
        created = False
    conflicts = queries.operation_conflicts(db, actor, operation.id)
    _audit_operation(db, actor, "check", operation, conflicts=len(conflicts), registered=created)
    return operation, created, conflicts


def acknowledge_notice(db: Session, *, actor: Actor, notice_id: uuid.UUID) -> DeconflictionNotice:
    """The recipient agency says its contact has the notice (and will call)."""
    notice = queries.get_notice(db, actor, notice_id, action=MANAGE)
    if notice.acknowledged_at is not None:
        return notice
    notice.acknowledged_at = utcnow()
    notice.acknowledged_by_user_id = actor.user_id
    db.flush()
    _notice_event(db, actor, "acknowledged", notice)
    return notice


def reconcile_incident(db: Session, *, actor: Actor, incident_id: uuid.UUID) -> None:
    """Check an incident against planned operations after it opens, moves or closes (for
    the incidents service to call): notices for new conflicts, resolutions for old ones."""
    incident = queries.incident(db, incident_id)
    if incident is None:
        raise NotFound("incident")
    queries.lock_for_matching(db)
    found: dict[str, _Found] = {}
    theirs = incident_footprint(incident) if incident.status != "closed" else None
    if theirs is not None and theirs.cells:
        for op in queries.operations_in_cells(
            db, cells=theirs.cells, bbox=theirs.bbox, exclude_agency=incident.lead_agency_id
        ):
            window = time_overlap(op.starts_at, op.ends_at, incident.started_at, incident.closed_at)
            if window is not None and overlaps(operation_footprint(op), theirs):
                key, pair = _pair_with_incident(db, op, incident, window)
                found[key] = pair
    _settle(db, actor, found, queries.notices_of_incident(db, incident.id))
