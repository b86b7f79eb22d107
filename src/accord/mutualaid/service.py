"""Commands on the inventory: agencies' own resource types (added or imported), resources
(registered, changed, retired) and the people qualified to staff them. Every change is
audited and announced live in the same transaction; nothing here commits."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from accord.agreements.models import Agreement, AgreementVersion, Clause
from accord.agreements.service import compile_grants
from accord.audit.service import record_event
from accord.authz import Actor, roles_key
from accord.core import events
from accord.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from accord.core.time import utcnow
from accord.directory import queries as directory
from accord.geo.overlap import point_coordinates
from accord.mutualaid import queries
from accord.mutualaid.models import Resource, ResourceQualification, ResourceType
from accord.mutualaid.schemas import QualifiedPerson, ResourceCreate, ResourceTypeImport, ResourceUpdate

MANAGE = "mutualaid:resource:manage"
TYPES = "mutualaid:type:manage"


def _agency_of(actor: Actor, permission: str, agency_id: uuid.UUID) -> None:
    if agency_id not in {agency for agency, _ in roles_key(actor, permission)}:
        raise PermissionDenied(permission, agency_id)


def _point(value: dict[str, Any], field: str) -> dict[str, Any]:
    lon, lat = point_coordinates(value, field)
    return {"type": "Point", "coordinates": [lon, lat]}


def _announce(db: Session, kind: str, resource: Resource) -> None:
    events.emit(
        db,
        kind=kind,
        object_type="resource",
        object_id=resource.id,
        agency_id=resource.owner_agency_id,
        payload={"status": resource.status, "location": resource.location["coordinates"]},
    )


# -- resource types -------------------------------------------------------------------------------
def import_types(db: Session, *, actor: Actor, data: ResourceTypeImport) -> list[ResourceType]:
    """Add or update an agency's own types. Their keys start with the agency's short name
    (``hvwa_chlorine_team``), so they never collide with the shipped ones or another's."""
    _agency_of(actor, TYPES, data.agency_id)
    try:
        agency = directory.get_agency(db, actor, data.agency_id)
    except NotFound:
        raise InvalidInput("agency_id", "no such agency") from None
    prefix = agency.short_name.lower().replace("-", "_") + "_"
    saved = []
    for index, spec in enumerate(data.types):
        if not spec.key.startswith(prefix):
            raise InvalidInput(f"types[{index}].key", f"an agency's own type key starts with {prefix!r}")
        row = db.scalar(select(ResourceType).where(ResourceType.key == spec.key))
        if row is not None and row.owner_agency_id != data.agency_id:
            raise Conflict(f"types[{index}].key", "another agency's type has this key")
        if row is None:
            row = ResourceType(key=spec.key, owner_agency_id=data.agency_id)
            db.add(row)
        row.name, row.category, row.kind, row.unit = spec.name, spec.category, spec.kind, spec.unit
        row.travel_speed_kmh = spec.travel_speed_kmh
        row.levels = [level.model_dump() for level in spec.levels]
        row.version, row.updated_at = f"{agency.short_name}:{utcnow():%Y-%m-%d}", utcnow()
        saved.append(row)
    db.flush()
    record_event(
        db,
        actor=actor,
        action="mutualaid.type.import",
        agency_id=data.agency_id,
        object_type="resource_type",
        details={"keys": [t.key for t in saved]},
    )
    return saved


# -- resources ------------------------------------------------------------------------------------
def _qualified(db: Session, owner: uuid.UUID, people: list[QualifiedPerson]) -> list[ResourceQualification]:
    rows = []
    for index, person in enumerate(people):
        if directory.person_in_agency(db, person.person_id, owner) is None:
            raise InvalidInput(f"qualified[{index}].person_id", "no such person in the owner agency")
        rows.append(
            ResourceQualification(
                person_id=person.person_id, qualification=person.qualification, valid_until=person.valid_until
            )
        )
    if len({(r.person_id, r.qualification) for r in rows}) != len(rows):
        raise InvalidInput("qualified", "a person is listed twice with the same qualification")
    return rows


def _level_of(db: Session, actor: Actor, type_key: str, level: int) -> None:
    try:
        kind = queries.get_type(db, actor, type_key)
    except NotFound:
        raise InvalidInput("type_key", "no such resource type") from None
    if level > len(kind.levels):
        raise InvalidInput("level", f"{kind.name} has levels 1 to {len(kind.levels)}")


def create_resource(db: Session, *, actor: Actor, data: ResourceCreate) -> Resource:
    _agency_of(actor, MANAGE, data.owner_agency_id)
    _level_of(db, actor, data.type_key, data.level)
    home = _point(data.home, "home")
    location = _point(data.location, "location") if data.location is not None else home
    if data.minimum_reserve >= data.quantity and data.shareable and data.quantity > 1:
        raise InvalidInput("minimum_reserve", "the reserve leaves nothing to offer; lower it or mark it not shareable")
    resource = Resource(
        owner_agency_id=data.owner_agency_id,
        type_key=data.type_key,
        level=data.level,
        name=data.name,
        quantity=data.quantity,
        status=data.status,
        home_name=data.home_name,
        home=home,
        location=location,
        lon=location["coordinates"][0],
        lat=location["coordinates"][1],
        hourly_rate=data.hourly_rate,
        daily_rate=data.daily_rate,
        mileage_rate=data.mileage_rate,
        minimum_reserve=data.minimum_reserve,
        shareable=data.shareable,
        notes=data.notes,
    )
    resource.qualified = _qualified(db, data.owner_agency_id, data.qualified)
    db.add(resource)
    db.flush()
    record_event(
        db,
        actor=actor,
        action="mutualaid.resource.create",
        agency_id=resource.owner_agency_id,
        object_type="resource",
        object_id=resource.id,
        details={"type": resource.type_key, "level": resource.level, "quantity": resource.quantity},
    )
    _announce(db, "resource.created", resource)
    return resource


def _owned(db: Session, actor: Actor, resource_id: uuid.UUID) -> Resource:
    resource = queries.get_resource(db, actor, resource_id)
    _agency_of(actor, MANAGE, resource.owner_agency_id)
    return resource


def update_resource(db: Session, *, actor: Actor, resource_id: uuid.UUID, data: ResourceUpdate) -> Resource:
    """Change what is given; a new ``location`` is where the resource is now."""
    resource = _owned(db, actor, resource_id)
    changed: list[str] = []
    simple = ("name", "quantity", "status", "hourly_rate", "daily_rate", "mileage_rate", "minimum_reserve", "shareable")
    for name in (*simple, "notes"):
        value = getattr(data, name)
        if value is not None and value != getattr(resource, name):
            setattr(resource, name, value)
            changed.append(name)
    if data.location is not None:
        location = _point(data.location, "location")
        resource.location = location
        resource.lon, resource.lat = location["coordinates"][0], location["coordinates"][1]
        changed.append("location")
    if data.qualified is not None:
        resource.qualified = _qualified(db, resource.owner_agency_id, data.qualified)
        changed.append("qualified")
    if resource.minimum_reserve >= resource.quantity and resource.shareable and resource.quantity > 1:
        raise InvalidInput("minimum_reserve", "the reserve leaves nothing to offer; lower it or mark it not shareable")
    if not changed:
        return resource
    resource.updated_at = utcnow()
    db.flush()
    record_event(
        db,
        actor=actor,
        action="mutualaid.resource.update",
        agency_id=resource.owner_agency_id,
        object_type="resource",
        object_id=resource.id,
        details={"changed": sorted(changed)},
    )
    _announce(db, "resource.moved" if changed == ["location"] else "resource.updated", resource)
    return resource


# -- the bindings of agreements signed before this module existed ----------------------------
def rebuild_bindings(db: Session) -> int:
    """Compile every agreement that has a mutual-aid clause again (its grants and bindings:
    the same windows); for databases whose agreements were signed before bindings existed."""
    ids = db.scalars(
        select(AgreementVersion.agreement_id)
        .join(Clause, Clause.version_id == AgreementVersion.id)
        .where(Clause.kind == "mutual_aid")
        .distinct()
    )
    count = 0
    for agreement_id in list(ids):
        agreement = db.get(Agreement, agreement_id)
        if agreement is not None:
            compile_grants(db, agreement)
            count += 1
    return count
