"""Reads of resource types and resources, always through ``authz.scope``."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from accord.authz import Actor, scope
from accord.core.errors import NotFound
from accord.mutualaid import policy as _policy  # noqa: F401  (registers the policies)
from accord.mutualaid.models import Resource, ResourceType
from accord.mutualaid.schemas import ResourceFilter

READ = "mutualaid:resource:read"


def list_types(db: Session, actor: Actor, category: str | None = None) -> list[ResourceType]:
    stmt = select(ResourceType)
    if category:
        stmt = stmt.where(ResourceType.category == category)
    return list(db.scalars(scope(actor, READ, stmt).order_by(ResourceType.category, ResourceType.name)))


def get_type(db: Session, actor: Actor, key: str) -> ResourceType:
    found = db.scalar(scope(actor, READ, select(ResourceType).where(ResourceType.key == key)))
    if found is None:
        raise NotFound("resource type")
    return found


def list_resources(db: Session, actor: Actor, filters: ResourceFilter) -> tuple[list[Resource], int]:
    stmt = select(Resource)
    if filters.type_key:
        stmt = stmt.where(Resource.type_key == filters.type_key)
    if filters.status:
        stmt = stmt.where(Resource.status == filters.status)
    if filters.owner_agency_id:
        stmt = stmt.where(Resource.owner_agency_id == filters.owner_agency_id)
    stmt = scope(actor, READ, stmt)
    total = db.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    rows = db.scalars(
        stmt.order_by(Resource.type_key, Resource.name, Resource.id).limit(filters.limit).offset(filters.offset)
    )
    return list(rows), int(total)


def get_resource(db: Session, actor: Actor, resource_id: uuid.UUID) -> Resource:
    found = db.scalar(scope(actor, READ, select(Resource).where(Resource.id == resource_id)))
    if found is None:
        raise NotFound("resource")
    return found


def resources_feature_collection(db: Session, actor: Actor) -> dict[str, Any]:
    """The resources the caller may see, where they are now (the operating picture's layer)."""
    rows = db.scalars(scope(actor, READ, select(Resource)).order_by(Resource.name).limit(5000))
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": r.location,
                "properties": {
                    "kind": "resource",
                    "id": str(r.id),
                    "name": r.name,
                    "type_key": r.type_key,
                    "level": r.level,
                    "status": r.status,
                    "quantity": r.quantity,
                    "owner_agency_id": str(r.owner_agency_id),
                },
            }
            for r in rows
        ],
    }
