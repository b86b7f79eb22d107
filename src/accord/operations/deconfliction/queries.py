"""Reads of planned operations and deconfliction notices, always through ``authz.scope``;
and the system-level candidate search of the conflict check, whose results never leave
the service (only conflicts become notices)."""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable, Sequence

from sqlalchemy import Select, func, or_, select, text
from sqlalchemy.orm import Session, aliased

from accord.authz import Actor, scope
from accord.core.errors import NotFound
from accord.directory.models import Agency, Person
from accord.geo.overlap import EARTH_RADIUS_M
from accord.operations.deconfliction import policy as _policy
from accord.operations.deconfliction.models import DeconflictionNotice, PlannedOperation, PlannedOperationCell
from accord.operations.deconfliction.schemas import (
    AgencyRef,
    ConflictRead,
    ContactRead,
    IncidentRef,
    NoticeFilter,
    PlannedOperationFilter,
    WindowRead,
)
from accord.operations.deconfliction.vocab import INCIDENT_POINT_RADIUS_M, PLANNED
from accord.operations.models import Incident

READ, MANAGE = _policy.READ, _policy.MANAGE
INCIDENT_READ = "operations:incident:read"


# -- own operations and notices (through authz.scope) -----------------------------------
def get_operation(db: Session, actor: Actor, operation_id: uuid.UUID, *, action: str = READ) -> PlannedOperation:
    operation = db.scalar(scope(actor, action, select(PlannedOperation).where(PlannedOperation.id == operation_id)))
    if operation is None:
        raise NotFound("planned operation")
    return operation


def list_operations(db: Session, actor: Actor, filters: PlannedOperationFilter) -> tuple[list[PlannedOperation], int]:
    stmt = select(PlannedOperation)
    if filters.status is not None:
        stmt = stmt.where(PlannedOperation.status == filters.status)
    stmt = scope(actor, READ, stmt)
    total = db.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    order = (PlannedOperation.starts_at.desc(), PlannedOperation.id)
    page = db.scalars(stmt.order_by(*order).limit(filters.limit).offset(filters.offset))
    return list(page), int(total)


def operation_titles(db: Session, actor: Actor, operation_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Titles of one's own operations among ``operation_ids`` (for the notices list)."""
    if not operation_ids:
        return {}
    stmt = scope(actor, READ, select(PlannedOperation).where(PlannedOperation.id.in_(set(operation_ids))))
    return {row[0]: row[1] for row in db.execute(stmt.with_only_columns(PlannedOperation.id, PlannedOperation.title))}


def _notices(actor: Actor, action: str = READ) -> Select[DeconflictionNotice]:
    return scope(actor, action, select(DeconflictionNotice))


def get_notice(db: Session, actor: Actor, notice_id: uuid.UUID, *, action: str = READ) -> DeconflictionNotice:
    notice = db.scalar(_notices(actor, action).where(DeconflictionNotice.id == notice_id))
    if notice is None:
        raise NotFound("deconfliction notice")
    return notice


def list_notices(db: Session, actor: Actor, filters: NoticeFilter) -> tuple[list[DeconflictionNotice], int]:
    stmt = _notices(actor)
    if not filters.include_resolved:
        stmt = stmt.where(DeconflictionNotice.resolved_at.is_(None))
    total = db.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    page = db.scalars(
        stmt.order_by(DeconflictionNotice.notified_at.desc(), DeconflictionNotice.id)
        .limit(filters.limit)
        .offset(filters.offset)
    )
    return list(page), int(total)


def unacknowledged_count(db: Session, actor: Actor) -> int:
    stmt = _notices(actor).where(
        DeconflictionNotice.resolved_at.is_(None), DeconflictionNotice.acknowledged_at.is_(None)
    )
    return int(db.scalar(select(func.count()).select_from(stmt.subquery())) or 0)


def operation_conflicts(db: Session, actor: Actor, operation_id: uuid.UUID) -> list[DeconflictionNotice]:
    """The current conflicts of one's own operation (404 for anyone else's)."""
    get_operation(db, actor, operation_id)
    stmt = _notices(actor).where(
        DeconflictionNotice.operation_id == operation_id, DeconflictionNotice.resolved_at.is_(None)
    )
    return list(db.scalars(stmt.order_by(DeconflictionNotice.overlap_starts_at, DeconflictionNotice.id)))


def open_conflict_counts(db: Session, actor: Actor, operation_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, int]:
    if not operation_ids:
        return {}
    stmt = _notices(actor).where(
        DeconflictionNotice.operation_id.in_(operation_ids), DeconflictionNotice.resolved_at.is_(None)
    )
    sub = stmt.subquery()
    rows = db.execute(select(sub.c.operation_id, func.count()).group_by(sub.c.operation_id))
    return {row[0]: int(row[1]) for row in rows}


def _agencies(db: Session, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Agency]:
    """The platform's phone book (every member may read it): names and duty lines."""
    wanted = set(ids)
    if not wanted:
        return {}
    return {a.id: a for a in db.scalars(select(Agency).where(Agency.id.in_(wanted))).unique()}


def _visible_incidents(db: Session, actor: Actor, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, IncidentRef]:
    """The incidents among ``ids`` the reader may see now (``authz.scope``)."""
    wanted = set(ids)
    if not wanted:
        return {}
    stmt = scope(actor, INCIDENT_READ, select(Incident).where(Incident.id.in_(wanted)))
    rows = db.execute(stmt.with_only_columns(Incident.id, Incident.number, Incident.name))
    return {row[0]: IncidentRef(id=row[0], number=row[1], name=row[2]) for row in rows}


def duty_line(agency: Agency) -> ContactRead:
    return ContactRead(name=f"{agency.short_name} 24/7 duty line", phone=agency.duty_phone)


def conflict_views(db: Session, actor: Actor, notices: Sequence[DeconflictionNotice]) -> list[ConflictRead]:
    """What each notice tells its reader. An incident is named only to a reader who may
    see it; to anyone else it is the lead agency and its duty line, nothing more."""
    agencies = _agencies(db, (n.other_agency_id for n in notices))
    incidents = _visible_incidents(db, actor, (n.incident_id for n in notices if n.incident_id is not None))
    views = []
    for notice in notices:
        other = agencies[notice.other_agency_id]
        incident = incidents.get(notice.incident_id) if notice.incident_id is not None else None
        contact = ContactRead(name=notice.other_contact_name, phone=notice.other_contact_phone)
        concerns = "operation" if notice.operation_id is not None else "incident"
        if concerns == "operation" and notice.incident_id is not None and incident is None:
            contact = duty_line(other)
        views.append(
            ConflictRead(
                notice_id=notice.id,
                concerns=concerns,
                other_side="incident" if concerns == "operation" and notice.incident_id is not None else "operation",
                operation_id=notice.operation_id,
                incident=incident,
                other_agency=AgencyRef(
                    id=other.id, short_name=other.short_name, name=other.name, duty_phone=other.duty_phone
                ),
                other_contact=contact,
                overlap=WindowRead(starts_at=notice.overlap_starts_at, ends_at=notice.overlap_ends_at),
                revision=notice.revision,
                notified_at=notice.notified_at,
                acknowledged_at=notice.acknowledged_at,
                resolved_at=notice.resolved_at,
            )
        )
    return views


# -- system-level reads of the conflict check (results never leave the service) ----------
def agency_contact(db: Session, agency_id: uuid.UUID, user_id: uuid.UUID | None) -> ContactRead:
    """Whom to call at ``agency_id`` about an incident: its creator when the directory has
    their number, else the agency's 24/7 duty line, else a duty contact with a number."""
    if user_id is not None:
        person = db.scalars(select(Person).where(Person.user_id == user_id, Person.agency_id == agency_id)).first()
        if person is not None and person.phone:
            return ContactRead(name=person.full_name, phone=person.phone)
    agency = db.get(Agency, agency_id)
    if agency is None:
        raise NotFound("agency")
    if agency.duty_phone:
        return duty_line(agency)
    duty = db.scalars(
        select(Person).where(Person.agency_id == agency_id, Person.is_duty_contact.is_(True), Person.phone != "")
    ).first()
    if duty is not None:
        return ContactRead(name=duty.full_name, phone=duty.phone)
    return ContactRead(name=f"{agency.short_name} (no duty line in the directory)", phone="")


def lock_for_matching(db: Session) -> None:
    """Serialise conflict checks until commit, so two operations registered at the same
    moment see each other: SQLite has one writer already (the operation is written before
    the search); PostgreSQL takes a transaction-level advisory lock."""
    if db.get_bind().dialect.name == "postgresql":
        db.execute(
            text("SELECT pg_advisory_xact_lock(CAST(CAST(CAST('planned_operations' AS regclass) AS oid) AS bigint))")
        )


def candidate_operations(db: Session, operation: PlannedOperation) -> list[PlannedOperation]:
    """Other agencies' planned operations sharing an H3 cell and the bbox with
    ``operation`` (whose cells are flushed), in an overlapping window: the indexed
    prefilter. The exact geometry is checked by the caller."""
    mine = aliased(PlannedOperationCell)
    theirs = aliased(PlannedOperationCell)
    sharing_cells = (
        select(theirs.operation_id)
        .join(mine, mine.cell == theirs.cell)
        .where(mine.operation_id == operation.id, theirs.operation_id != operation.id)
    )
    stmt = select(PlannedOperation).where(
        PlannedOperation.id.in_(sharing_cells),
        PlannedOperation.owner_agency_id != operation.owner_agency_id,
        PlannedOperation.status == PLANNED,
        PlannedOperation.starts_at < operation.ends_at,
        PlannedOperation.ends_at > operation.starts_at,
        PlannedOperation.min_lon <= operation.max_lon,
        PlannedOperation.max_lon >= operation.min_lon,
        PlannedOperation.min_lat <= operation.max_lat,
        PlannedOperation.max_lat >= operation.min_lat,
    )
    return list(db.scalars(stmt.order_by(PlannedOperation.id)))


def operations_in_cells(
    db: Session, *, cells: Iterable[str], bbox: tuple[float, float, float, float], exclude_agency: uuid.UUID
) -> list[PlannedOperation]:
    """Planned operations of other agencies than ``exclude_agency`` with a cell among
    ``cells`` and a bbox meeting ``bbox`` (the prefilter for an incident's place)."""
    found: dict[uuid.UUID, PlannedOperation] = {}
    ordered = sorted(set(cells))
    for start in range(0, len(ordered), 500):
        chunk = ordered[start : start + 500]
        stmt = select(PlannedOperation).where(
            PlannedOperation.id.in_(
                select(PlannedOperationCell.operation_id).where(PlannedOperationCell.cell.in_(chunk))
            ),
            PlannedOperation.owner_agency_id != exclude_agency,
            PlannedOperation.status == PLANNED,
            PlannedOperation.min_lon <= bbox[2],
            PlannedOperation.max_lon >= bbox[0],
            PlannedOperation.min_lat <= bbox[3],
            PlannedOperation.max_lat >= bbox[1],
        )
        found.update((op.id, op) for op in db.scalars(stmt))
    return [found[key] for key in sorted(found)]


def _point_margin(max_abs_lat: float) -> tuple[float, float]:
    """Degrees (lon, lat) that an incident point's circle reaches beyond the point."""
    lat = INCIDENT_POINT_RADIUS_M * 1.05 / (math.pi * EARTH_RADIUS_M / 180.0)
    return lat / math.cos(math.radians(min(max_abs_lat + 0.1, 89.0))), lat


def candidate_incidents(db: Session, operation: PlannedOperation) -> list[Incident]:
    """Open incidents of other lead agencies with a place whose bbox (a point's grown by
    its circle) meets the operation's, active during its window. Incidents keep no H3
    cells of their own: the caller checks cells and exact geometry in Python."""
    dlon, dlat = _point_margin(max(abs(operation.min_lat), abs(operation.max_lat)))
    stmt = select(Incident).where(
        Incident.status != "closed",
        Incident.lead_agency_id != operation.owner_agency_id,
        Incident.min_lon.is_not(None),
        Incident.min_lon <= operation.max_lon + dlon,
        Incident.max_lon >= operation.min_lon - dlon,
        Incident.min_lat <= operation.max_lat + dlat,
        Incident.max_lat >= operation.min_lat - dlat,
        Incident.started_at < operation.ends_at,
        or_(Incident.closed_at.is_(None), Incident.closed_at > operation.starts_at),
    )
    return list(db.scalars(stmt.order_by(Incident.id)))


def notices_of_operation(db: Session, operation_id: uuid.UUID) -> list[DeconflictionNotice]:
    """Both sides' notices of every pair ``operation_id`` is in (system-level)."""
    stmt = select(DeconflictionNotice).where(
        or_(
            DeconflictionNotice.operation_id == operation_id,
            DeconflictionNotice.counterpart_operation_id == operation_id,
        )
    )
    return list(db.scalars(stmt))


def notices_of_incident(db: Session, incident_id: uuid.UUID) -> list[DeconflictionNotice]:
    return list(db.scalars(select(DeconflictionNotice).where(DeconflictionNotice.incident_id == incident_id)))


def incident(db: Session, incident_id: uuid.UUID) -> Incident | None:
    """System-level read of an incident's place and times for the conflict check."""
    return db.get(Incident, incident_id)
