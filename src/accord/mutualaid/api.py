"""JSON API of the mutual-aid inventory: resource types (shipped and agencies' own) and
resources, with a GeoJSON layer for the operating picture."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from accord.authz import Actor
from accord.authz.deps import Permission
from accord.core.deps import DB
from accord.core.schemas import Page
from accord.mutualaid import deployments, queries, requesting, service
from accord.mutualaid.models import Resource, ResourceOffer, ResourceRequest
from accord.mutualaid.schemas import (
    ApprovalCreate,
    CancelRequest,
    CandidateRead,
    OfferCreate,
    OfferMove,
    OfferRead,
    RankRead,
    RequestCreate,
    RequestFilter,
    RequestRead,
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


# -- requests (ICS-213), offers, deployments --------------------------------------------------------
Requests = Annotated[Actor, Depends(Permission("mutualaid:request:read"))]
Create = Annotated[Actor, Depends(Permission("mutualaid:request:create"))]
ApproveLogistics = Annotated[Actor, Depends(Permission("mutualaid:request:approve_logistics"))]
ApproveFinance = Annotated[Actor, Depends(Permission("mutualaid:request:approve_finance"))]
Offers = Annotated[Actor, Depends(Permission("mutualaid:offer:manage"))]


def _matching_settings(request: Request) -> tuple[dict[str, float], float]:
    settings = request.app.state.settings
    return dict(settings.travel_speeds), float(settings.road_factor)


def request_read(db: DB, request: ResourceRequest) -> RequestRead:
    read = RequestRead.model_validate(request)
    read.committed_quantity = queries.committed_quantities(db, [request.id]).get(request.id, 0)
    return read


def offer_read(offer: ResourceOffer, resource: Resource | None = None, position: int = 0) -> OfferRead:
    read = OfferRead.model_validate(offer)
    read.resource_name = resource.name if resource is not None else ""
    read.position = position
    return read


@router.get("/resource-requests", response_model=Page[RequestRead])
def list_requests(db: DB, actor: Requests, filters: Annotated[RequestFilter, Query()]) -> Page[RequestRead]:
    """Your agency's requests and those partners sent it under a mutual-aid clause in force."""
    rows, total = queries.list_requests(db, actor, filters)
    filled = queries.committed_quantities(db, [r.id for r in rows])
    items = [RequestRead.model_validate(r).model_copy(update={"committed_quantity": filled.get(r.id, 0)}) for r in rows]
    return Page(items=items, total=total, limit=filters.limit, offset=filters.offset)


@router.post("/resource-requests", response_model=RequestRead, status_code=201)
def create_request(db: DB, actor: Create, data: RequestCreate) -> RequestRead:
    """An ICS-213 request, checked against the thresholds of the clauses binding you; it
    goes to partners once approved for logistics and for finance."""
    request = requesting.create_request(db, actor=actor, data=data)
    db.commit()
    return request_read(db, request)


@router.get("/resource-requests/{request_id}", response_model=RequestRead)
def get_request(db: DB, actor: Requests, request_id: uuid.UUID) -> RequestRead:
    return request_read(db, queries.get_request(db, actor, request_id))


@router.post("/resource-requests/{request_id}/approvals/logistics", response_model=RequestRead)
def approve_logistics(db: DB, actor: ApproveLogistics, request_id: uuid.UUID, data: ApprovalCreate) -> RequestRead:
    request = requesting.approve_request(db, actor=actor, request_id=request_id, section="logistics", data=data)
    db.commit()
    return request_read(db, request)


@router.post("/resource-requests/{request_id}/approvals/finance", response_model=RequestRead)
def approve_finance(db: DB, actor: ApproveFinance, request_id: uuid.UUID, data: ApprovalCreate) -> RequestRead:
    request = requesting.approve_request(db, actor=actor, request_id=request_id, section="finance", data=data)
    db.commit()
    return request_read(db, request)


@router.post("/resource-requests/{request_id}/cancel", response_model=RequestRead)
def cancel_request(db: DB, actor: Create, request_id: uuid.UUID, data: CancelRequest) -> RequestRead:
    request = requesting.cancel_request(db, actor=actor, request_id=request_id, reason=data.reason)
    db.commit()
    return request_read(db, request)


@router.get("/resource-requests/{request_id}/candidates", response_model=list[CandidateRead])
def list_candidates(
    db: DB, actor: Requests, request: Request, request_id: uuid.UUID, limit: Annotated[int, Query(ge=1, le=500)] = 50
) -> list[CandidateRead]:
    """Partners' resources ranked for the request, the best ``limit`` with why each stands
    where it does (for a partner the request was sent to: its own resources that could
    answer it)."""
    speeds, road = _matching_settings(request)
    ranked = deployments.candidates(db, actor, request_id, speeds=speeds, road_factor=road, limit=limit)
    return [
        CandidateRead(
            resource_id=r.option.resource_id,
            resource_name=r.option.name,
            owner_agency_id=r.option.owner_agency_id,
            type_key=r.option.type_key,
            level=r.option.level,
            position=r.position,
            rank=RankRead.model_validate(r.as_dict()),
        )
        for r in ranked
    ]


@router.get("/resource-requests/{request_id}/offers", response_model=list[OfferRead])
def list_offers(db: DB, actor: Requests, request_id: uuid.UUID) -> list[OfferRead]:
    """The request's offers, best first by the ranking's factors."""
    pairs = queries.list_offers(db, actor, request_id)
    return [offer_read(o, r, i) for i, (o, r) in enumerate(pairs, start=1)]


@router.post("/resource-requests/{request_id}/offers", response_model=OfferRead, status_code=201)
def make_offer(db: DB, actor: Offers, request: Request, request_id: uuid.UUID, data: OfferCreate) -> OfferRead:
    speeds, road = _matching_settings(request)
    offer = deployments.make_offer(db, actor=actor, request_id=request_id, data=data, speeds=speeds, road_factor=road)
    db.commit()
    return offer_read(offer, db.get(Resource, offer.resource_id))


@router.get("/resource-offers/{offer_id}", response_model=OfferRead)
def get_offer(db: DB, actor: Requests, offer_id: uuid.UUID) -> OfferRead:
    offer = queries.get_offer(db, actor, offer_id)
    return offer_read(offer, db.get(Resource, offer.resource_id))


@router.post("/resource-offers/{offer_id}/status", response_model=OfferRead)
def move_offer(db: DB, actor: Offers, offer_id: uuid.UUID, data: OfferMove) -> OfferRead:
    """Commit, decline, withdraw, mobilize, arrive, release, return: one step at a time."""
    offer = deployments.move_offer(db, actor=actor, offer_id=offer_id, data=data)
    db.commit()
    return offer_read(offer, db.get(Resource, offer.resource_id))


@router.get("/deployments", response_model=list[OfferRead])
def list_deployments(db: DB, actor: Requests, incident_id: uuid.UUID | None = None) -> list[OfferRead]:
    """Committed offers and where they stand (the deployment board)."""
    return [offer_read(o, db.get(Resource, o.resource_id)) for o in queries.list_deployments(db, actor, incident_id)]
