"""Offers and the deployments they become: a partner offers one of its resources to a
request it received; the requester commits or declines it; the provider mobilizes it, it
arrives on scene, the requester releases it (demobilized) and the provider reports it home
(returned). Each step is time-stamped, audited and announced live in the same transaction;
an illegal step is refused naming the steps allowed. Nothing here commits."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from accord.agreements.models import Clause
from accord.audit.service import record_event
from accord.authz import Actor, roles_key
from accord.core import events
from accord.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from accord.core.time import utcnow
from accord.mutualaid import matching, queries
from accord.mutualaid.models import MutualAidBinding, Resource, ResourceOffer, ResourceRequest
from accord.mutualaid.policy import in_force
from accord.mutualaid.schemas import OfferCreate, OfferMove

MANAGE = "mutualaid:offer:manage"

# Who takes each step: the requesting agency or the providing one.
STEPS: dict[str, tuple[frozenset[str], str]] = {
    # to: (from which statuses, whose step)
    "committed": (frozenset({"offered"}), "requester"),
    "declined": (frozenset({"offered"}), "requester"),
    "withdrawn": (frozenset({"offered", "committed"}), "provider"),
    "mobilized": (frozenset({"committed"}), "provider"),
    "on_scene": (frozenset({"mobilized"}), "provider"),
    "demobilized": (frozenset({"on_scene"}), "requester"),
    "returned": (frozenset({"demobilized"}), "provider"),
}
NEXT: dict[str, tuple[str, ...]] = {
    status: tuple(to for to, (sources, _) in STEPS.items() if status in sources)
    for status in ("offered", "committed", "mobilized", "on_scene", "demobilized", "returned", "declined", "withdrawn")
}


def _agencies(actor: Actor) -> set[uuid.UUID]:
    return {agency for agency, _ in roles_key(actor, MANAGE)}


def _announce(db: Session, kind: str, offer: ResourceOffer) -> None:
    events.emit(
        db,
        kind=kind,
        object_type="resource_offer",
        object_id=offer.id,
        agency_id=offer.providing_agency_id,
        payload={"status": offer.status, "request_id": str(offer.request_id)},
    )


def _audit(db: Session, actor: Actor, action: str, offer: ResourceOffer, **details: object) -> None:
    record_event(
        db,
        actor=actor,
        action=action,
        agency_id=offer.providing_agency_id,
        object_type="resource_offer",
        object_id=offer.id,
        details={"request_id": str(offer.request_id), **details},
    )


def _committed(db: Session, request_id: uuid.UUID) -> int:
    return queries.committed_quantities(db, [request_id]).get(request_id, 0)


def candidates(
    db: Session,
    actor: Actor,
    request_id: uuid.UUID,
    *,
    speeds: Mapping[str, float],
    road_factor: float,
    now: datetime | None = None,
    limit: int | None = None,
) -> list[matching.Ranked]:
    """Partners' resources ranked for the request (the requester's view), or the caller's
    own when the request was sent to the caller's agency (what it could offer); the best
    ``limit`` of them."""
    request = queries.get_request(db, actor, request_id, recipients=False)
    mine = {agency for agency, _ in roles_key(actor, queries.REQUESTS)}
    agencies = None if request.requesting_agency_id in mine else mine
    return matching.candidates(
        db, actor, request, speeds=speeds, road_factor=road_factor, agencies=agencies, now=now, limit=limit
    )


def make_offer(
    db: Session,
    *,
    actor: Actor,
    request_id: uuid.UUID,
    data: OfferCreate,
    speeds: Mapping[str, float],
    road_factor: float,
    edxl_message_id: str | None = None,
    now: datetime | None = None,
) -> ResourceOffer:
    """Offer one of the caller's agency's resources to a request it received (ranked as of
    ``now``, default the present)."""
    request = queries.get_request(db, actor, request_id)
    try:
        resource = queries.get_resource(db, actor, data.resource_id)
    except NotFound:
        raise InvalidInput("resource_id", "no such resource") from None
    if resource.owner_agency_id not in _agencies(actor):
        raise PermissionDenied(MANAGE, resource.owner_agency_id)
    if resource.owner_agency_id == request.requesting_agency_id:
        raise InvalidInput("resource_id", "an agency does not offer resources to its own request")
    recipient = next((r for r in request.recipients if r.agency_id == resource.owner_agency_id), None)
    if recipient is None:
        raise InvalidInput("resource_id", "the request was not sent to the resource's agency")
    if request.status != "open":
        raise Conflict("status", f"the request is {request.status}; offers answer an open request")
    if resource.status != "available" or not resource.shareable:
        raise Conflict("resource_id", f"the resource is {resource.status.replace('_', ' ')}; offer an available one")
    duplicate = db.scalar(
        select(func.count())
        .select_from(ResourceOffer)
        .where(
            ResourceOffer.request_id == request.id,
            ResourceOffer.resource_id == resource.id,
            ResourceOffer.status.in_(matching.ACTIVE_OFFERS),
        )
    )
    if duplicate:
        raise Conflict("resource_id", "this resource is already offered to the request")
    ranked = matching.rank(
        matching.need_of(request), matching.options_of(db, [resource], speeds), road_factor=road_factor, now=now
    )
    if not ranked:
        fit = matching.fit_of(matching.need_of(request), resource.type_key, resource.level)
        if fit is None:
            wanted = f"{request.type_key} level {request.level or 'any'}"
            more = " or a more capable level" if request.substitutes_ok else ""
            raise InvalidInput(
                "resource_id",
                f"the request asks for {wanted}{more}; this is {resource.type_key} level {resource.level}",
            )
        raise Conflict("quantity", "no unit of this resource is free above the owner's reserve")
    best = ranked[0]
    if data.quantity > best.offerable:
        raise InvalidInput("quantity", f"at most {best.offerable} unit(s) of this resource are free above its reserve")
    binding_version = db.scalar(select(Clause.version_id).where(Clause.id == recipient.clause_id))
    if binding_version is None:  # pragma: no cover - a recipient names a clause that exists (foreign key)
        raise Conflict("resource_id", "the clause the request was sent under no longer exists")
    rank = best.as_dict()
    rank["explanation"] = [line for line in rank["explanation"] if not line.startswith("#")]
    offer = ResourceOffer(
        request_id=request.id,
        resource_id=resource.id,
        providing_agency_id=resource.owner_agency_id,
        clause_id=recipient.clause_id,
        agreement_version_id=binding_version,
        quantity=data.quantity,
        status="offered",
        eta_at=best.eta_at,
        rank=rank,
        note=data.note,
        offered_by_user_id=actor.user_id,
        offered_at=now or utcnow(),
        edxl_message_id=edxl_message_id,
    )
    db.add(offer)
    db.flush()
    _audit(db, actor, "mutualaid.offer.create", offer, resource_id=str(resource.id), quantity=offer.quantity)
    _announce(db, "resource_offer.created", offer)
    return offer


def _side_agency(offer: ResourceOffer, request: ResourceRequest, side: str) -> uuid.UUID:
    return request.requesting_agency_id if side == "requester" else offer.providing_agency_id


def _still_bound(db: Session, offer: ResourceOffer) -> bool:
    return bool(
        db.scalar(
            select(func.count())
            .select_from(MutualAidBinding)
            .where(
                MutualAidBinding.clause_id == offer.clause_id,
                MutualAidBinding.agency_id == offer.providing_agency_id,
                in_force(MutualAidBinding, utcnow()),
            )
        )
    )


def move_offer(db: Session, *, actor: Actor, offer_id: uuid.UUID, data: OfferMove) -> ResourceOffer:
    """Take the offer or deployment one step along."""
    offer = queries.get_offer(db, actor, offer_id)
    request = db.get(ResourceRequest, offer.request_id)
    assert request is not None  # an offer's request exists (foreign key) and the caller sees the offer
    sources, side = STEPS[data.status]
    if offer.status not in sources:
        allowed = ", ".join(NEXT[offer.status]) or "nothing (this is final)"
        raise Conflict(
            "status", f"an offer that is {offer.status} cannot become {data.status}; it can become: {allowed}"
        )
    agency = _side_agency(offer, request, side)
    if agency not in _agencies(actor):
        whose = "requesting" if side == "requester" else "providing"
        raise PermissionDenied(MANAGE, agency, reason=f"only the {whose} agency makes an offer {data.status}")
    now = utcnow()
    resource = db.get(Resource, offer.resource_id)
    assert resource is not None
    if data.status == "committed":
        if request.status not in ("open", "filled"):
            raise Conflict("status", f"the request is {request.status}; offers are committed to an open request")
        committed = _committed(db, request.id)
        if committed + offer.quantity > request.quantity:
            raise Conflict(
                "status", f"{committed} of {request.quantity} unit(s) are already committed; this offer would exceed it"
            )
        if not _still_bound(db, offer):
            raise Conflict("status", "the mutual-aid clause this offer was made under no longer binds the provider")
        if resource.status != "available":
            raise Conflict("status", f"the resource is {resource.status.replace('_', ' ')} now")
        if committed + offer.quantity >= request.quantity:
            request.status, request.filled_at = "filled", now
        if offer.quantity >= resource.quantity - resource.minimum_reserve:
            resource.status = "assigned"
    elif data.status == "withdrawn" and offer.status == "committed":
        _reopen(request, resource)
    elif data.status == "on_scene":
        resource.location = dict(request.location)
        resource.lon, resource.lat = request.lon, request.lat
    elif data.status == "returned":
        resource.status = "available"
        resource.location = dict(resource.home)
        resource.lon, resource.lat = resource.home["coordinates"][0], resource.home["coordinates"][1]
    previous = offer.status
    offer.status, offer.updated_at = data.status, now
    setattr(offer, f"{data.status}_at", now)
    if data.note:
        offer.note = (offer.note + "\n" if offer.note else "") + f"{data.status}: {data.note}"
    resource.updated_at = now
    request.updated_at = now
    if data.status == "returned":
        _close_when_all_home(db, request, now)
    db.flush()
    _audit(db, actor, f"mutualaid.offer.{data.status}", offer, previous=previous)
    _announce(db, f"resource_offer.{data.status}", offer)
    events.emit(
        db,
        kind="resource.updated",
        object_type="resource",
        object_id=resource.id,
        agency_id=resource.owner_agency_id,
        payload={"status": resource.status, "location": resource.location["coordinates"]},
    )
    if request.status in ("filled", "open", "closed"):
        events.emit(
            db,
            kind="resource_request.updated",
            object_type="resource_request",
            object_id=request.id,
            agency_id=request.requesting_agency_id,
            payload={"status": request.status, "incident_id": str(request.incident_id)},
        )
    return offer


def _reopen(request: ResourceRequest, resource: Resource) -> None:
    """A committed offer withdrawn: the request needs the units again."""
    if request.status == "filled":
        request.status, request.filled_at = "open", None
    resource.status = "available"


def _close_when_all_home(db: Session, request: ResourceRequest, now: datetime) -> None:
    """A filled request whose every deployment is back is closed."""
    if request.status != "filled":
        return
    out = db.scalar(
        select(func.count())
        .select_from(ResourceOffer)
        .where(
            ResourceOffer.request_id == request.id,
            ResourceOffer.status.in_(("committed", "mobilized", "on_scene", "demobilized")),
        )
    )
    if not out:
        request.status, request.closed_at = "closed", now
