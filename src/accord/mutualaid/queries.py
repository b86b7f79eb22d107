"""Reads of resource types and resources, always through ``authz.scope``."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, lazyload

from accord.authz import Actor, roles_key, scope
from accord.core.errors import NotFound
from accord.mutualaid import policy as _policy  # noqa: F401  (registers the policies)
from accord.mutualaid.models import Resource, ResourceOffer, ResourceRequest, ResourceType
from accord.mutualaid.schemas import RequestFilter, ResourceFilter

READ = "mutualaid:resource:read"
REQUESTS = "mutualaid:request:read"
LIVE_OFFERS = ("offered", "committed", "mobilized", "on_scene", "demobilized", "returned")
COMMITTED = ("committed", "mobilized", "on_scene", "demobilized", "returned")


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


# -- requests and offers -------------------------------------------------------------------------
def get_request(db: Session, actor: Actor, request_id: uuid.UUID, *, recipients: bool = True) -> ResourceRequest:
    """The request; ``recipients=False`` leaves its recipients to be loaded on first use
    (matching reads them in its own statement)."""
    stmt = select(ResourceRequest).where(ResourceRequest.id == request_id)
    if not recipients:
        stmt = stmt.options(lazyload(ResourceRequest.recipients))
    found = db.scalar(scope(actor, REQUESTS, stmt))
    if found is None:
        raise NotFound("resource request")
    return found


def list_requests(db: Session, actor: Actor, filters: RequestFilter) -> tuple[list[ResourceRequest], int]:
    """Requests of the caller's agencies and those partners sent them, newest first."""
    stmt = select(ResourceRequest)
    if filters.incident_id is not None:
        stmt = stmt.where(ResourceRequest.incident_id == filters.incident_id)
    if filters.status is not None:
        stmt = stmt.where(ResourceRequest.status == filters.status)
    mine = [agency for agency, _ in roles_key(actor, REQUESTS)]
    if filters.side == "mine":
        stmt = stmt.where(ResourceRequest.requesting_agency_id.in_(mine))
    elif filters.side == "received":
        stmt = stmt.where(ResourceRequest.requesting_agency_id.not_in(mine))
    stmt = scope(actor, REQUESTS, stmt)
    total = db.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    rows = db.scalars(
        stmt.order_by(ResourceRequest.created_at.desc(), ResourceRequest.id).limit(filters.limit).offset(filters.offset)
    )
    return list(rows), int(total)


def committed_quantities(db: Session, request_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    """Units committed (or further along) per request: how much of each is filled."""
    if not request_ids:
        return {}
    rows = db.execute(
        select(ResourceOffer.request_id, func.sum(ResourceOffer.quantity))
        .where(ResourceOffer.request_id.in_(request_ids), ResourceOffer.status.in_(COMMITTED))
        .group_by(ResourceOffer.request_id)
    )
    return {request_id: int(total or 0) for request_id, total in rows}


def offer_order(offer: ResourceOffer) -> tuple[object, ...]:
    """The ranking's order (``matching``) applied to the factors stored with each offer."""
    rank = offer.rank
    return (
        offer.status in ("declined", "withdrawn"),
        not rank.get("qualified", False),
        not rank.get("on_time", False),
        rank.get("fit") == "substitute",
        offer.eta_at,
        offer.offered_at,
    )


def list_offers(db: Session, actor: Actor, request_id: uuid.UUID) -> list[tuple[ResourceOffer, Resource | None]]:
    """The request's offers the caller may see, best first, with their resources as far as
    the caller may see them."""
    get_request(db, actor, request_id)
    offers = list(
        db.scalars(scope(actor, REQUESTS, select(ResourceOffer).where(ResourceOffer.request_id == request_id)))
    )
    offers.sort(key=offer_order)
    ids = [o.resource_id for o in offers]
    resources = {r.id: r for r in db.scalars(scope(actor, READ, select(Resource).where(Resource.id.in_(ids))))}
    return [(o, resources.get(o.resource_id)) for o in offers]


def get_offer(db: Session, actor: Actor, offer_id: uuid.UUID) -> ResourceOffer:
    found = db.scalar(scope(actor, REQUESTS, select(ResourceOffer).where(ResourceOffer.id == offer_id)))
    if found is None:
        raise NotFound("offer")
    return found


def list_deployments(db: Session, actor: Actor, incident_id: uuid.UUID | None = None) -> list[ResourceOffer]:
    """Committed offers still out or back (the deployment board), newest step first."""
    stmt = select(ResourceOffer).where(ResourceOffer.status.in_(COMMITTED))
    if incident_id is not None:
        stmt = stmt.where(
            ResourceOffer.request_id.in_(select(ResourceRequest.id).where(ResourceRequest.incident_id == incident_id))
        )
    return list(db.scalars(scope(actor, REQUESTS, stmt).order_by(ResourceOffer.updated_at.desc()).limit(500)))
