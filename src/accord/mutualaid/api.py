"""JSON API of the mutual-aid inventory: resource types (shipped and agencies' own) and
resources, with a GeoJSON layer for the operating picture."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse

from accord.authz import Actor
from accord.authz.deps import Permission
from accord.core.deps import DB
from accord.core.schemas import Page
from accord.mutualaid import queries, service
from accord.mutualaid.schemas import (
    ResourceCreate,
    ResourceFilter,
    ResourceRead,
    ResourceTypeImport,
    ResourceTypeRead,
    ResourceUpdate,
)

router = APIRouter(prefix="/api/v1", tags=["mutual aid"])
Read = Annotated[Actor, Depends(Permission("mutualaid:resource:read"))]
Manage = Annotated[Actor, Depends(Permission("mutualaid:resource:manage"))]
Types = Annotated[Actor, Depends(Permission("mutualaid:type:manage"))]


@router.get("/resource-types", response_model=list[ResourceTypeRead])
def list_types(db: DB, actor: Read, category: str | None = None) -> list[ResourceTypeRead]:
    """NIMS-style resource types: Accord's reference list and agencies' own."""
    return [ResourceTypeRead.model_validate(t) for t in queries.list_types(db, actor, category)]


@router.get("/resource-types/{key}", response_model=ResourceTypeRead)
def get_type(db: DB, actor: Read, key: str) -> ResourceTypeRead:
    return ResourceTypeRead.model_validate(queries.get_type(db, actor, key))


@router.post("/resource-types/import", response_model=list[ResourceTypeRead], status_code=201)
def import_types(db: DB, actor: Types, data: ResourceTypeImport) -> list[ResourceTypeRead]:
    """Add or update an agency's own types (keys start with its short name)."""
    saved = service.import_types(db, actor=actor, data=data)
    db.commit()
    return [ResourceTypeRead.model_validate(t) for t in saved]


@router.get("/resources", response_model=Page[ResourceRead])
def list_resources(db: DB, actor: Read, filters: Annotated[ResourceFilter, Query()]) -> Page[ResourceRead]:
    """Your agency's resources and those partners offer under mutual-aid clauses in force."""
    rows, total = queries.list_resources(db, actor, filters)
    return Page(
        items=[ResourceRead.model_validate(r) for r in rows], total=total, limit=filters.limit, offset=filters.offset
    )


@router.post("/resources", response_model=ResourceRead, status_code=201)
def create_resource(db: DB, actor: Manage, data: ResourceCreate) -> ResourceRead:
    resource = service.create_resource(db, actor=actor, data=data)
    db.commit()
    return ResourceRead.model_validate(resource)


@router.get("/resources.geojson")
def resources_geojson(db: DB, actor: Read) -> JSONResponse:
    """The resources the caller may see, where they are now."""
    return JSONResponse(queries.resources_feature_collection(db, actor), media_type="application/geo+json")


@router.get("/resources/{resource_id}", response_model=ResourceRead)
def get_resource(db: DB, actor: Read, resource_id: uuid.UUID) -> ResourceRead:
    return ResourceRead.model_validate(queries.get_resource(db, actor, resource_id))


@router.patch("/resources/{resource_id}", response_model=ResourceRead)
def update_resource(db: DB, actor: Manage, resource_id: uuid.UUID, data: ResourceUpdate) -> ResourceRead:
    resource = service.update_resource(db, actor=actor, resource_id=resource_id, data=data)
    db.commit()
    return ResourceRead.model_validate(resource)
