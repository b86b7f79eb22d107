"""Directory reads, all through ``authz.scope``."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from accord.authz import Actor, scope
from accord.core.db import contains
from accord.core.errors import NotFound
from accord.directory import policy as _policy  # noqa: F401  (registers the policies)
from accord.directory.models import Agency, AgencyCapability, Person
from accord.directory.schemas import AgencyFilter, PersonFilter

READ_AGENCY = "directory:agency:read"
READ_PERSON = "directory:person:read"


def _agency_stmt(actor: Actor, filters: AgencyFilter) -> Select[Agency]:
    stmt = scope(actor, READ_AGENCY, select(Agency))
    if filters.q:
        q = filters.q
        stmt = stmt.where(
            or_(contains(Agency.name, q), contains(Agency.short_name, q), contains(Agency.jurisdiction_name, q))
        )
    if filters.kind:
        stmt = stmt.where(Agency.kind == filters.kind)
    if filters.level:
        stmt = stmt.where(Agency.level == filters.level)
    if filters.capability:
        stmt = stmt.where(
            Agency.id.in_(select(AgencyCapability.agency_id).where(AgencyCapability.capability == filters.capability))
        )
    return stmt


def list_agencies(db: Session, actor: Actor, filters: AgencyFilter) -> tuple[list[Agency], int]:
    stmt = _agency_stmt(actor, filters)
    total = db.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = db.scalars(stmt.order_by(Agency.name).limit(filters.limit).offset(filters.offset)).unique().all()
    return list(rows), total


def get_agency(db: Session, actor: Actor, agency_id: uuid.UUID) -> Agency:
    agency = db.scalars(scope(actor, READ_AGENCY, select(Agency).where(Agency.id == agency_id))).unique().first()
    if agency is None:
        raise NotFound("agency")
    return agency


def agency_options(db: Session, actor: Actor) -> list[tuple[uuid.UUID, str]]:
    stmt = scope(actor, READ_AGENCY, select(Agency)).order_by(Agency.name)
    return [(a.id, f"{a.name} ({a.short_name})") for a in db.scalars(stmt).unique()]


def agencies_feature_collection(db: Session, actor: Actor, filters: AgencyFilter) -> dict[str, Any]:
    """The region map layer: one Feature per visible agency with a jurisdiction."""
    stmt = _agency_stmt(actor, filters).where(Agency.min_lon.is_not(None))
    features = []
    for agency in db.scalars(stmt.order_by(Agency.level, Agency.name)).unique():
        features.append(
            {
                "type": "Feature",
                "id": str(agency.id),
                "geometry": agency.jurisdiction,
                "bbox": [agency.min_lon, agency.min_lat, agency.max_lon, agency.max_lat],
                "properties": {
                    "id": str(agency.id),
                    "name": agency.name,
                    "short_name": agency.short_name,
                    "kind": agency.kind,
                    "level": agency.level,
                    "jurisdiction_name": agency.jurisdiction_name,
                    "duty_phone": agency.duty_phone,
                    "capabilities": agency.capability_keys,
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}


def count_by_kind(db: Session, actor: Actor) -> dict[str, int]:
    stmt = scope(actor, READ_AGENCY, select(Agency.kind, func.count()).select_from(Agency)).group_by(Agency.kind)
    return {kind: n for kind, n in db.execute(stmt).all()}


def _person_stmt(actor: Actor, filters: PersonFilter) -> Select[Person]:
    stmt = scope(actor, READ_PERSON, select(Person))
    if filters.q:
        stmt = stmt.where(or_(contains(Person.full_name, filters.q), contains(Person.title, filters.q)))
    if filters.agency_id:
        stmt = stmt.where(Person.agency_id == filters.agency_id)
    if filters.liaison is not None:
        stmt = stmt.where(Person.is_liaison == filters.liaison)
    if filters.duty is not None:
        stmt = stmt.where(Person.is_duty_contact == filters.duty)
    return stmt


def list_people(db: Session, actor: Actor, filters: PersonFilter) -> tuple[list[Person], int]:
    stmt = _person_stmt(actor, filters)
    total = db.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = db.scalars(stmt.order_by(Person.full_name).limit(filters.limit).offset(filters.offset)).unique().all()
    return list(rows), total


def get_person(db: Session, actor: Actor, person_id: uuid.UUID) -> Person:
    person = db.scalars(scope(actor, READ_PERSON, select(Person).where(Person.id == person_id))).unique().first()
    if person is None:
        raise NotFound("person")
    return person


def agency_exists(db: Session, agency_id: uuid.UUID) -> bool:
    """Existence only (for validating references); the directory is every member's phone book."""
    return db.scalar(select(Agency.id).where(Agency.id == agency_id)) is not None


def person_exists(db: Session, person_id: uuid.UUID) -> bool:
    return db.scalar(select(Person.id).where(Person.id == person_id)) is not None


def person_in_agency(db: Session, person_id: uuid.UUID, agency_id: uuid.UUID) -> Person | None:
    """Reference check for liaisons: the person, if they belong to that agency."""
    stmt = select(Person).where(Person.id == person_id, Person.agency_id == agency_id)
    return db.scalars(stmt).unique().first()


def person_for_user(db: Session, user_id: uuid.UUID) -> Person | None:
    """The directory entry linked to a signed-in user (their own record, no scope needed)."""
    return db.scalars(select(Person).where(Person.user_id == user_id)).unique().first()


def agency_short_names(db: Session, actor: Actor) -> dict[uuid.UUID, str]:
    """Short names (CCSO, LHFD...) of the agencies the caller may see, for dense boards."""
    stmt = scope(actor, READ_AGENCY, select(Agency))
    return {a.id: a.short_name for a in db.scalars(stmt).unique()}
