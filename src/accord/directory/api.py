"""JSON API of the directory: agencies, people, capabilities, the region map layer."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response

from accord.authz import Actor
from accord.authz.deps import Permission
from accord.core.deps import DB
from accord.core.schemas import Page
from accord.directory import queries, service
from accord.directory.models import Agency, Person
from accord.directory.schemas import (
    AgencyCreate,
    AgencyFilter,
    AgencyRead,
    AgencyUpdate,
    CapabilityRead,
    ImportReport,
    PersonCreate,
    PersonFilter,
    PersonRead,
    PersonUpdate,
)
from accord.directory.vocab import CAPABILITIES

router = APIRouter(prefix="/api/v1", tags=["directory"])
ReadAgencies = Annotated[Actor, Depends(Permission("directory:agency:read"))]
ReadPeople = Annotated[Actor, Depends(Permission("directory:person:read"))]


def agency_read(agency: Agency) -> AgencyRead:
    bbox = None if agency.min_lon is None else [agency.min_lon, agency.min_lat, agency.max_lon, agency.max_lat]
    return AgencyRead.model_validate(
        {
            **{
                k: getattr(agency, k)
                for k in (
                    "id",
                    "name",
                    "short_name",
                    "kind",
                    "level",
                    "jurisdiction_name",
                    "jurisdiction",
                    "address",
                    "contacts",
                    "duty_phone",
                    "parent",
                    "created_at",
                    "updated_at",
                )
            },
            "bbox": bbox,
            "capabilities": agency.capability_keys,
        }
    )


def person_read(person: Person) -> PersonRead:
    return PersonRead.model_validate(
        {
            **{
                k: getattr(person, k)
                for k in ("id", "agency_id", "full_name", "title", "email", "phone", "is_liaison", "is_duty_contact")
            },
            "agency_short_name": person.agency.short_name,
            "has_account": person.user_id is not None,
        }
    )


@router.get("/agencies", response_model=Page[AgencyRead])
def list_agencies(filters: Annotated[AgencyFilter, Query()], actor: ReadAgencies, db: DB) -> Page[AgencyRead]:
    """Search the directory by name, kind, level or capability."""
    rows, total = queries.list_agencies(db, actor, filters)
    return Page(items=[agency_read(a) for a in rows], total=total, limit=filters.limit, offset=filters.offset)


@router.get("/agencies.geojson")
def agencies_geojson(filters: Annotated[AgencyFilter, Query()], actor: ReadAgencies, db: DB) -> dict[str, Any]:
    """Every visible jurisdiction as a GeoJSON FeatureCollection (the region map layer)."""
    return queries.agencies_feature_collection(db, actor, filters)


@router.post("/agencies", response_model=AgencyRead, status_code=201)
def create_agency(
    body: AgencyCreate, actor: Annotated[Actor, Depends(Permission("directory:agency:create"))], db: DB
) -> AgencyRead:
    agency = service.create_agency(db, actor=actor, data=body)
    db.commit()
    return agency_read(agency)


@router.post("/agencies/import", response_model=ImportReport)
def import_agencies(
    body: dict[str, Any], actor: Annotated[Actor, Depends(Permission("directory:agency:import"))], db: DB
) -> ImportReport:
    """Import a GeoJSON FeatureCollection (one agency per Feature, matched by short_name).
    Good features are kept; each bad one is reported with its field and reason."""
    report = service.import_feature_collection(db, actor=actor, collection=body)
    db.commit()
    return report


@router.get("/agencies/{agency_id}", response_model=AgencyRead)
def get_agency(agency_id: uuid.UUID, actor: ReadAgencies, db: DB) -> AgencyRead:
    return agency_read(queries.get_agency(db, actor, agency_id))


@router.patch("/agencies/{agency_id}", response_model=AgencyRead)
def update_agency(
    agency_id: uuid.UUID,
    body: AgencyUpdate,
    actor: Annotated[Actor, Depends(Permission("directory:agency:update"))],
    db: DB,
) -> AgencyRead:
    """Agency administrators edit their own agency only."""
    agency = service.update_agency(db, actor=actor, agency_id=agency_id, data=body)
    db.commit()
    return agency_read(agency)


@router.get("/agencies/{agency_id}/people", response_model=Page[PersonRead])
def agency_people(agency_id: uuid.UUID, actor: ReadPeople, db: DB) -> Page[PersonRead]:
    queries.get_agency(db, actor, agency_id)
    filters = PersonFilter(agency_id=agency_id, limit=500)
    rows, total = queries.list_people(db, actor, filters)
    return Page(items=[person_read(p) for p in rows], total=total, limit=filters.limit, offset=0)


@router.get("/capabilities", response_model=list[CapabilityRead])
def list_capabilities(_: ReadAgencies) -> list[CapabilityRead]:
    """The shared capability vocabulary."""
    return [CapabilityRead(key=k, label=v) for k, v in CAPABILITIES.items()]


@router.get("/people", response_model=Page[PersonRead])
def list_people(filters: Annotated[PersonFilter, Query()], actor: ReadPeople, db: DB) -> Page[PersonRead]:
    rows, total = queries.list_people(db, actor, filters)
    return Page(items=[person_read(p) for p in rows], total=total, limit=filters.limit, offset=filters.offset)


@router.post("/people", response_model=PersonRead, status_code=201)
def create_person(
    body: PersonCreate, actor: Annotated[Actor, Depends(Permission("directory:person:create"))], db: DB
) -> PersonRead:
    person = service.create_person(db, actor=actor, data=body)
    db.commit()
    return person_read(person)


@router.get("/people/{person_id}", response_model=PersonRead)
def get_person(person_id: uuid.UUID, actor: ReadPeople, db: DB) -> PersonRead:
    return person_read(queries.get_person(db, actor, person_id))


@router.patch("/people/{person_id}", response_model=PersonRead)
def update_person(
    person_id: uuid.UUID,
    body: PersonUpdate,
    actor: Annotated[Actor, Depends(Permission("directory:person:update"))],
    db: DB,
) -> PersonRead:
    person = service.update_person(db, actor=actor, person_id=person_id, data=body)
    db.commit()
    return person_read(person)


@router.delete("/people/{person_id}", status_code=204)
def delete_person(
    person_id: uuid.UUID, actor: Annotated[Actor, Depends(Permission("directory:person:delete"))], db: DB
) -> Response:
    service.delete_person(db, actor=actor, person_id=person_id)
    db.commit()
    return Response(status_code=204)
