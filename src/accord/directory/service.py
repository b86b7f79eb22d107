"""Directory commands: rules, audit events; never commits (the caller owns the transaction)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from accord.audit.service import record_event
from accord.authz import Actor, require
from accord.core.errors import AccordError, Conflict, FieldProblem, InvalidInput, InvalidInputs
from accord.directory import queries
from accord.directory.models import Agency, AgencyCapability, Person
from accord.directory.schemas import (
    AgencyCreate,
    AgencyUpdate,
    ImportProblem,
    ImportReport,
    PersonCreate,
    PersonUpdate,
)
from accord.geo.geojson import bbox_of, validate_area


def _set_jurisdiction(agency: Agency, area: dict[str, Any] | None) -> None:
    if area is None:
        agency.jurisdiction = None
        agency.min_lon = agency.min_lat = agency.max_lon = agency.max_lat = None
        return
    valid = validate_area(area, field="jurisdiction")
    agency.jurisdiction = valid
    agency.min_lon, agency.min_lat, agency.max_lon, agency.max_lat = bbox_of(valid)


def _check_unique(db: Session, *, name: str | None, short_name: str | None, exclude: uuid.UUID | None) -> None:
    for column, value, field in ((Agency.name, name, "name"), (Agency.short_name, short_name, "short_name")):
        if value is None:
            continue
        clash = db.scalar(select(Agency.id).where(column == value))
        if clash is not None and clash != exclude:
            raise Conflict(field, f"another agency already uses {value!r}")


def _check_parent(db: Session, actor: Actor, agency_id: uuid.UUID | None, parent_id: uuid.UUID | None) -> None:
    if parent_id is None:
        return
    if parent_id == agency_id:
        raise InvalidInput("parent_id", "an agency cannot be its own parent")
    try:
        parent: Agency | None = queries.get_agency(db, actor, parent_id)
    except AccordError:
        raise InvalidInput("parent_id", "no such agency") from None
    seen: set[uuid.UUID] = set()
    while parent is not None and parent.id not in seen:
        if parent.id == agency_id:
            raise InvalidInput("parent_id", "this parent would make a cycle of parent agencies")
        seen.add(parent.id)
        parent = parent.parent


def _set_capabilities(agency: Agency, keys: list[str]) -> None:
    current = set(agency.capability_keys)
    wanted = set(keys)
    kept = [c for c in agency.capabilities if c.capability in wanted]
    added = [AgencyCapability(capability=k) for k in wanted - current]
    agency.capabilities[:] = sorted(kept + added, key=lambda c: c.capability)


def create_agency(db: Session, *, actor: Actor, data: AgencyCreate) -> Agency:
    require(actor, "directory:agency:create")
    _check_unique(db, name=data.name, short_name=data.short_name, exclude=None)
    agency = Agency(id=uuid.uuid4())
    _check_parent(db, actor, agency.id, data.parent_id)
    for field in ("name", "short_name", "kind", "level", "jurisdiction_name", "address", "duty_phone", "parent_id"):
        setattr(agency, field, getattr(data, field))
    agency.contacts = [c.model_dump() for c in data.contacts]
    _set_jurisdiction(agency, data.jurisdiction)
    _set_capabilities(agency, data.capabilities)
    db.add(agency)
    db.flush()
    record_event(
        db,
        actor=actor,
        action="directory.agency.create",
        agency_id=agency.id,
        object_type="agency",
        object_id=agency.id,
        details={"short_name": agency.short_name},
    )
    return agency


def update_agency(db: Session, *, actor: Actor, agency_id: uuid.UUID, data: AgencyUpdate) -> Agency:
    agency = queries.get_agency(db, actor, agency_id)
    require(actor, "directory:agency:update", agency.id)
    changes = data.model_dump(exclude_unset=True)
    for required in ("name", "short_name", "kind", "level", "jurisdiction_name"):
        if required in changes and changes[required] is None:
            raise InvalidInput(required, "may not be null")
    _check_unique(db, name=changes.get("name"), short_name=changes.get("short_name"), exclude=agency.id)
    if "parent_id" in changes:
        _check_parent(db, actor, agency.id, changes["parent_id"])
    for field in ("name", "short_name", "kind", "level", "jurisdiction_name", "address", "duty_phone", "parent_id"):
        if field in changes:
            setattr(agency, field, changes[field] if changes[field] is not None else "")
    if "parent_id" in changes:
        agency.parent_id = changes["parent_id"]
    if "contacts" in changes:
        agency.contacts = [c.model_dump() for c in (data.contacts or [])]
    if "jurisdiction" in changes:
        _set_jurisdiction(agency, changes["jurisdiction"])
    if "capabilities" in changes:
        _set_capabilities(agency, data.capabilities or [])
    db.flush()
    db.refresh(agency, ["parent"])
    record_event(
        db,
        actor=actor,
        action="directory.agency.update",
        agency_id=agency.id,
        object_type="agency",
        object_id=agency.id,
        details={"fields": sorted(changes)},
    )
    return agency


def create_person(db: Session, *, actor: Actor, data: PersonCreate) -> Person:
    try:
        agency = queries.get_agency(db, actor, data.agency_id)
    except AccordError:
        raise InvalidInput("agency_id", "no such agency") from None
    require(actor, "directory:person:create", agency.id)
    person = Person(**data.model_dump())
    db.add(person)
    db.flush()
    record_event(
        db,
        actor=actor,
        action="directory.person.create",
        agency_id=agency.id,
        object_type="person",
        object_id=person.id,
    )
    return person


def update_person(db: Session, *, actor: Actor, person_id: uuid.UUID, data: PersonUpdate) -> Person:
    person = queries.get_person(db, actor, person_id)
    require(actor, "directory:person:update", person.agency_id)
    changes = data.model_dump(exclude_unset=True)
    for field, value in changes.items():
        if value is None and field in ("full_name", "is_liaison", "is_duty_contact"):
            raise InvalidInput(field, "may not be null")
        setattr(person, field, value if value is not None else "")
    db.flush()
    record_event(
        db,
        actor=actor,
        action="directory.person.update",
        agency_id=person.agency_id,
        object_type="person",
        object_id=person.id,
        details={"fields": sorted(changes)},
    )
    return person


def delete_person(db: Session, *, actor: Actor, person_id: uuid.UUID) -> None:
    person = queries.get_person(db, actor, person_id)
    require(actor, "directory:person:delete", person.agency_id)
    if person.user_id is not None:
        raise Conflict("person", "this person has a user account; deactivate the account first")
    record_event(
        db,
        actor=actor,
        action="directory.person.delete",
        agency_id=person.agency_id,
        object_type="person",
        object_id=person.id,
        details={"full_name": person.full_name},
    )
    db.delete(person)
    db.flush()


# --- import -------------------------------------------------------------------------

RESERVED_PROPERTIES = {
    "jurisdiction": "not a property: the jurisdiction is the Feature's geometry",
    "parent_id": "not a property: name the parent agency by its short name in 'parent'",
}


def _problems_of(exc: Exception) -> list[FieldProblem]:
    if isinstance(exc, ValidationError):
        return [
            FieldProblem(".".join(str(p) for p in err["loc"]) or "properties", err["msg"])
            for err in exc.errors(include_url=False)
        ]
    if isinstance(exc, AccordError):
        return exc.problems or [FieldProblem("feature", exc.message)]
    raise exc


def import_feature_collection(
    db: Session,
    *,
    actor: Actor,
    collection: Any,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Create or update (by ``short_name``) one agency per Feature; bad features are
    reported with the field and reason and skipped, good ones kept."""
    require(actor, "directory:agency:import")
    if not isinstance(collection, dict) or collection.get("type") != "FeatureCollection":
        raise InvalidInput("type", "the file must be a GeoJSON FeatureCollection")
    features = collection.get("features")
    if not isinstance(features, list):
        raise InvalidInput("features", "must be a list of Features")
    if not features:
        raise InvalidInputs([FieldProblem("features", "the collection has no features")])
    created = updated = 0
    problems: list[ImportProblem] = []
    parents: list[tuple[int, str, Agency, str]] = []
    for index, feature in enumerate(features):
        name = "?"
        try:
            if not isinstance(feature, dict) or feature.get("type") != "Feature":
                raise InvalidInput("type", "each item must be a GeoJSON Feature")
            props = feature.get("properties")
            if not isinstance(props, dict):
                raise InvalidInput("properties", "must be an object")
            name = str(props.get("name") or props.get("short_name") or "?")
            props = dict(props)
            for reserved, why in RESERVED_PROPERTIES.items():
                if reserved in props:
                    raise InvalidInput(f"properties.{reserved}", why)
            if not isinstance(props.get("short_name"), str):
                raise InvalidInput("short_name", "must be a string of 2-16 capital letters, digits or hyphens")
            parent_short = props.pop("parent", None)
            with db.begin_nested():
                existing = db.scalars(select(Agency).where(Agency.short_name == props.get("short_name"))).first()
                if existing is None:
                    agency = create_agency(
                        db, actor=actor, data=AgencyCreate(**props, jurisdiction=feature.get("geometry"))
                    )
                    created += 1
                else:
                    agency = update_agency(
                        db,
                        actor=actor,
                        agency_id=existing.id,
                        data=AgencyUpdate(**props, jurisdiction=feature.get("geometry")),
                    )
                    updated += 1
            if parent_short:
                parents.append((index, name, agency, str(parent_short)))
        except (ValidationError, AccordError) as exc:
            for p in _problems_of(exc):
                problems.append(ImportProblem(feature=index, name=name, field=p.field, reason=p.reason))
        if progress:
            progress(index + 1)
    for index, name, agency, parent_short in parents:
        parent_id = db.scalar(select(Agency.id).where(Agency.short_name == parent_short))
        if parent_id is None:
            problems.append(
                ImportProblem(
                    feature=index, name=name, field="parent", reason=f"no agency with short_name {parent_short!r}"
                )
            )
            continue
        try:
            with db.begin_nested():
                update_agency(db, actor=actor, agency_id=agency.id, data=AgencyUpdate(parent_id=parent_id))
        except AccordError as exc:
            for p in _problems_of(exc):
                problems.append(ImportProblem(feature=index, name=name, field="parent", reason=p.reason))
    failed = len({p.feature for p in problems})
    record_event(
        db,
        actor=actor,
        action="directory.import",
        object_type="agency",
        details={"created": created, "updated": updated, "failed": failed},
    )
    return ImportReport(created=created, updated=updated, failed=failed, problems=problems)
