"""HTML pages of mutual aid: the requests of one's agency and those partners sent it, the
inventory (table, map, adding a resource), the ICS-213 request form, a request's sheet with
its approvals, activation, ranked offers and the steps each side may take (refreshed live),
the candidates, and the deployment board. The same service calls as the JSON API; every
form carries its CSRF token; a refusal comes back in the page naming the field and why."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from accord.authz import Actor, roles_key
from accord.authz.deps import Permission
from accord.core.deps import DB
from accord.core.errors import AccordError, FieldProblem, InvalidInput, NotFound
from accord.core.time import utcnow
from accord.directory import queries as directory
from accord.mutualaid import api, deployments, queries, requesting, service
from accord.mutualaid.models import Resource, ResourceOffer, ResourceRequest
from accord.mutualaid.schemas import (
    ApprovalCreate,
    OfferCreate,
    OfferMove,
    RequestCreate,
    RequestFilter,
    ResourceCreate,
    ResourceFilter,
)
from accord.mutualaid.vocab import CATEGORIES, RESOURCE_STATUSES
from accord.operations import queries as operations
from accord.operations import stream
from accord.operations.models import Incident
from accord.operations.schemas import IncidentFilter
from accord.web.forms import errors_of, form_dict
from accord.web.templating import flash, redirect, render, verify_csrf

router = APIRouter(include_in_schema=False)
Requests = Annotated[Actor, Depends(Permission("mutualaid:request:read"))]
Create = Annotated[Actor, Depends(Permission("mutualaid:request:create"))]
ApproveLogistics = Annotated[Actor, Depends(Permission("mutualaid:request:approve_logistics"))]
ApproveFinance = Annotated[Actor, Depends(Permission("mutualaid:request:approve_finance"))]
Offers = Annotated[Actor, Depends(Permission("mutualaid:offer:manage"))]
Inventory = Annotated[Actor, Depends(Permission("mutualaid:resource:read"))]
Manage = Annotated[Actor, Depends(Permission("mutualaid:resource:manage"))]
Csrf = Depends(verify_csrf)

REQUEST_STATUSES = {
    "pending": "Waiting for approval",
    "open": "Open",
    "filled": "Filled",
    "cancelled": "Cancelled",
    "closed": "Closed",
}
OFFER_STATUSES = {
    "offered": "Offered",
    "committed": "Committed",
    "mobilized": "Mobilized",
    "on_scene": "On scene",
    "demobilized": "Demobilized",
    "returned": "Returned",
    "declined": "Declined",
    "withdrawn": "Withdrawn",
}
# The button each step gets, in the order they are offered.
STEP_LABELS = {
    "committed": "Commit",
    "declined": "Decline",
    "withdrawn": "Withdraw",
    "mobilized": "Mobilized",
    "on_scene": "On scene",
    "demobilized": "Demobilize",
    "returned": "Returned home",
}
PRIORITIES = {"urgent": "Urgent", "high": "High", "routine": "Routine", "low": "Low"}
BOARD = ("committed", "mobilized", "on_scene", "demobilized", "returned")
VOCAB = {
    "request_statuses": REQUEST_STATUSES,
    "offer_statuses": OFFER_STATUSES,
    "step_labels": STEP_LABELS,
    "priorities": PRIORITIES,
    "resource_statuses": RESOURCE_STATUSES,
    "categories": CATEGORIES,
}


def _mine(actor: Actor, permission: str) -> set[uuid.UUID]:
    return {agency for agency, _ in roles_key(actor, permission)}


def _names(db: Session, actor: Actor) -> dict[uuid.UUID, str]:
    return dict(directory.agency_options(db, actor))


def _incidents(db: Session, actor: Actor) -> dict[uuid.UUID, Incident]:
    """The incidents the caller may see (to name a request's incident)."""
    rows, _ = operations.list_incidents(db, actor, IncidentFilter(limit=200))
    return {i.id: i for i in rows}


def _types(db: Session, actor: Actor) -> dict[str, Any]:
    return {t.key: t for t in queries.list_types(db, actor)}


def _time(value: str | None) -> str | None:
    """A ``datetime-local`` field read as UTC, which is what the form says it is."""
    if not value:
        return None
    text = value.strip()
    return text if ("Z" in text or "+" in text[10:]) else f"{text}Z"


def _point(form: dict[str, Any], field: str, prefix: str = "") -> dict[str, Any]:
    lon, lat = form.get(f"{prefix}lon", "").strip(), form.get(f"{prefix}lat", "").strip()
    if not lon or not lat:
        raise InvalidInput(field, "give the longitude and the latitude (or click the map)")
    try:
        return {"type": "Point", "coordinates": [float(lon), float(lat)]}
    except ValueError:
        raise InvalidInput(field, "longitude and latitude are numbers (WGS 84, e.g. -76.74 and 40.90)") from None


def _fail(request: Request, exc: Exception, where: str) -> Response:
    """A refused button: the message names the field; 403 and 404 go to the error handler."""
    errors, summary = errors_of(exc)
    detail = "; ".join(f"{field.replace('_', ' ')}: {reason}" for field, reason in errors.items())
    flash(request, "error", f"{summary} {detail}".strip() if detail not in summary else summary)
    return redirect(request, where)


async def _submit(
    request: Request, db: Session, where: str, work: Callable[[], object], success: str | Callable[[Any], str] = ""
) -> Response:
    """Run a button's command and commit, off the event loop (the live streams share it)."""

    def run() -> object:
        try:
            done = work()
            db.commit()
            return done
        except Exception:
            db.rollback()
            raise

    try:
        done = await run_in_threadpool(run)
    except (ValidationError, AccordError) as exc:
        return _fail(request, exc, where)
    message = success(done) if callable(success) else success
    if message:
        flash(request, "success", message)
    return redirect(request, where)


# -- the requests ------------------------------------------------------------------------------------
def _list_context(db: Session, actor: Actor) -> dict[str, Any]:
    mine, _ = queries.list_requests(db, actor, RequestFilter(side="mine", limit=200))
    received, _ = queries.list_requests(db, actor, RequestFilter(side="received", limit=200))
    received = [r for r in received if r.status in ("open", "filled")]
    return {
        "mine": mine,
        "received": received,
        "filled": queries.committed_quantities(db, [r.id for r in mine + received]),
        "names": directory.agency_short_names(db, actor),
        "incidents": _incidents(db, actor),
        "types": _types(db, actor),
        **VOCAB,
    }


@router.get("/mutual-aid")
def requests_page(request: Request, db: DB, actor: Requests) -> Response:
    last_event_id = stream.newest_id(db)  # first: a change committed meanwhile is replayed, not lost
    context = _list_context(db, actor) | {"last_event_id": last_event_id}
    return render(request, "mutualaid/requests.html", context)


@router.get("/mutual-aid/part/requests")
def requests_part(request: Request, db: DB, actor: Requests) -> Response:
    """The two tables of the requests page, re-read when a live event says they changed."""
    return render(request, "mutualaid/_requests.html", _list_context(db, actor))


# -- the inventory -----------------------------------------------------------------------------------
def _inventory_context(db: Session, actor: Actor, type_key: str, status: str) -> dict[str, Any]:
    errors: dict[str, str] = {}
    try:
        filters = ResourceFilter(type_key=type_key or None, status=status or None, limit=500)
    except ValidationError as exc:
        errors, _ = errors_of(exc)
        filters = ResourceFilter(limit=500)
    rows, total = queries.list_resources(db, actor, filters)
    owners = _mine(actor, queries.READ)
    managed = _mine(actor, service.MANAGE)
    names = _names(db, actor)
    return {
        "own": [r for r in rows if r.owner_agency_id in owners],
        "partners": [r for r in rows if r.owner_agency_id not in owners],
        "total": total,
        "filter_errors": errors,
        "type_key": filters.type_key or "",
        "status": filters.status or "",
        "types": _types(db, actor),
        "names": names,
        "shorts": directory.agency_short_names(db, actor),
        "manage_agencies": [(a, names.get(a, str(a))) for a in sorted(managed, key=str)],
        **VOCAB,
    }


@router.get("/mutual-aid/inventory")
def inventory_page(request: Request, db: DB, actor: Inventory, type_key: str = "", status: str = "") -> Response:
    context = _inventory_context(db, actor, type_key, status) | {"form": {"quantity": "1", "level": "1"}, "errors": {}}
    return render(request, "mutualaid/inventory.html", context)


@router.post("/mutual-aid/inventory", dependencies=[Csrf])
async def add_resource_form(request: Request, db: DB, actor: Manage) -> Response:
    form = await form_dict(request)

    def work() -> Resource:
        agencies = _mine(actor, service.MANAGE)
        owner = form.get("owner_agency_id") or (str(next(iter(agencies))) if len(agencies) == 1 else "")
        body = ResourceCreate(
            owner_agency_id=owner,
            type_key=form.get("type_key", ""),
            level=form.get("level") or 1,
            name=form.get("name", ""),
            quantity=form.get("quantity") or 1,
            home_name=form.get("home_name", ""),
            home=_point(form, "home"),
            hourly_rate=form.get("hourly_rate") or "0",
            daily_rate=form.get("daily_rate") or "0",
            mileage_rate=form.get("mileage_rate") or "0",
            minimum_reserve=form.get("minimum_reserve") or 0,
            shareable=form.get("shareable") == "on",
            notes=form.get("notes", ""),
        )
        resource = service.create_resource(db, actor=actor, data=body)
        db.commit()
        return resource

    def refused(exc: Exception) -> dict[str, Any]:
        db.rollback()
        errors, summary = errors_of(exc)
        return _inventory_context(db, actor, "", "") | {"form": form, "errors": errors, "summary": summary}

    try:
        resource = await run_in_threadpool(work)
    except (ValidationError, AccordError) as exc:
        context = await run_in_threadpool(refused, exc)
        return render(request, "mutualaid/inventory.html", context, status_code=422)
    flash(request, "success", f"{resource.name} added to the inventory.")
    return redirect(request, "/mutual-aid/inventory")


# -- the ICS-213 request form -----------------------------------------------------------------------
def _form_context(db: Session, actor: Actor) -> dict[str, Any]:
    agencies = _mine(actor, requesting.CREATE)
    names = _names(db, actor)
    rows, _ = operations.list_incidents(db, actor, IncidentFilter(limit=200))
    incidents = [
        (i.id, f"{i.number} · {i.name} ({names.get(i.lead_agency_id, 'lead')})")
        for i in rows
        if i.status != "closed"
        and (i.lead_agency_id in agencies or any(p.agency_id in agencies for p in i.participants))
    ]
    types = list(_types(db, actor).values())
    return {
        "incident_options": incidents,
        "agency_options": [(a, names.get(a, str(a))) for a in sorted(agencies, key=str)],
        "type_options": types,
        **VOCAB,
    }


@router.get("/mutual-aid/requests/new")
def new_request_page(request: Request, db: DB, actor: Create, incident: str = "") -> Response:
    needed = (utcnow() + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M")
    form = {"incident_id": incident, "quantity": "1", "priority": "routine", "needed_at": needed}
    form["requester_name"] = actor.display_name
    context = _form_context(db, actor) | {"form": form, "errors": {}, "thresholds": []}
    return render(request, "mutualaid/new.html", context)


@router.post("/mutual-aid/requests/new", dependencies=[Csrf])
async def create_request_form(request: Request, db: DB, actor: Create) -> Response:
    form = await form_dict(request)

    def work() -> ResourceRequest:
        agencies = _mine(actor, requesting.CREATE)
        requester = form.get("requesting_agency_id") or (str(next(iter(agencies))) if len(agencies) == 1 else "")
        body = RequestCreate(
            incident_id=form.get("incident_id") or None,
            requesting_agency_id=requester or None,
            type_key=form.get("type_key") or None,
            level=form.get("level") or None,
            description=form.get("description", ""),
            quantity=form.get("quantity") or None,
            deliver_to=form.get("deliver_to", ""),
            location=_point(form, "location"),
            needed_at=_time(form.get("needed_at")),
            priority=form.get("priority") or "routine",
            substitutes_ok=form.get("substitutes_ok") == "on",
            special_instructions=form.get("special_instructions", ""),
            requester_name=form.get("requester_name", ""),
            requester_position=form.get("requester_position", ""),
        )
        made = requesting.create_request(db, actor=actor, data=body)
        db.commit()
        return made

    def refused(exc: Exception) -> dict[str, Any]:
        db.rollback()
        thresholds: list[FieldProblem] = []
        errors: dict[str, str] = {}
        if isinstance(exc, requesting.ThresholdsNotMet):
            thresholds, summary = list(exc.problems), "No mutual-aid clause is activated by this request."
        else:
            errors, summary = errors_of(exc)
        return _form_context(db, actor) | {"form": form, "errors": errors, "summary": summary, "thresholds": thresholds}

    try:
        made = await run_in_threadpool(work)
    except (ValidationError, AccordError) as exc:
        context = await run_in_threadpool(refused, exc)
        return render(request, "mutualaid/new.html", context, status_code=422)
    flash(
        request, "success", f"Request {made.number} written: partners get it once approved for logistics and finance."
    )
    return redirect(request, f"/mutual-aid/requests/{made.id}")


# -- one request ------------------------------------------------------------------------------------
def _offers_context(db: Session, actor: Actor, req: ResourceRequest) -> dict[str, Any]:
    """The ranked offers and the steps the caller's side may take on each."""
    managed = _mine(actor, deployments.MANAGE)
    requester = req.requesting_agency_id in managed
    offers = []
    for position, (offer, resource) in enumerate(queries.list_offers(db, actor, req.id), start=1):
        steps = [
            to
            for to in deployments.NEXT[offer.status]
            if (deployments.STEPS[to][1] == "requester" and requester)
            or (deployments.STEPS[to][1] == "provider" and offer.providing_agency_id in managed)
        ]
        offers.append({"offer": offer, "resource": resource, "position": position, "steps": steps})
    return {
        "req": req,
        "offers": offers,
        "filled": queries.committed_quantities(db, [req.id]).get(req.id, 0),
        "shorts": directory.agency_short_names(db, actor),
    }


def _request_context(db: Session, actor: Actor, http: Request, req: ResourceRequest) -> dict[str, Any]:
    readers = _mine(actor, queries.REQUESTS)
    is_requester = req.requesting_agency_id in readers
    managed = _mine(actor, deployments.MANAGE)
    recipient = next((r for r in req.recipients if r.agency_id in managed), None)
    speeds, road = api._matching_settings(http)
    candidates: list[Any] = []
    if req.status in ("pending", "open") and (is_requester or recipient is not None):
        candidates = deployments.candidates(db, actor, req.id, speeds=speeds, road_factor=road)
    types = _types(db, actor)
    incident = _incidents(db, actor).get(req.incident_id)
    pending = req.status == "pending"
    return _offers_context(db, actor, req) | {
        "is_requester": is_requester,
        "can_offer": recipient is not None and req.status == "open" and not is_requester,
        "can_cancel": req.status in ("pending", "open") and req.requesting_agency_id in _mine(actor, requesting.CREATE),
        "can_approve": {
            section: pending
            and getattr(req, f"{section}_approved_at") is None
            and req.requesting_agency_id in _mine(actor, permission)
            for section, permission in requesting.APPROVE.items()
        },
        "candidates": candidates,
        "kind": types.get(req.type_key or ""),
        "incident": incident,
        "names": _names(db, actor),
        **VOCAB,
    }


@router.get("/mutual-aid/requests/{request_id}")
def request_page(request: Request, db: DB, actor: Requests, request_id: uuid.UUID) -> Response:
    last_event_id = stream.newest_id(db)  # first: a change committed meanwhile is replayed, not lost
    req = queries.get_request(db, actor, request_id)
    context = _request_context(db, actor, request, req) | {"last_event_id": last_event_id}
    return render(request, "mutualaid/request.html", context)


@router.get("/mutual-aid/requests/{request_id}/part/offers")
def offers_part(request: Request, db: DB, actor: Requests, request_id: uuid.UUID) -> Response:
    """The request's ranked offers, re-read when a live event says they changed."""
    req = queries.get_request(db, actor, request_id)
    return render(request, "mutualaid/_offers.html", _offers_context(db, actor, req) | VOCAB)


def _where(request_id: uuid.UUID, anchor: str = "") -> str:
    return f"/mutual-aid/requests/{request_id}{anchor}"


@router.post("/mutual-aid/requests/{request_id}/approve/logistics", dependencies=[Csrf])
async def approve_logistics_form(request: Request, db: DB, actor: ApproveLogistics, request_id: uuid.UUID) -> Response:
    return await _approve(request, db, actor, request_id, "logistics")


@router.post("/mutual-aid/requests/{request_id}/approve/finance", dependencies=[Csrf])
async def approve_finance_form(request: Request, db: DB, actor: ApproveFinance, request_id: uuid.UUID) -> Response:
    return await _approve(request, db, actor, request_id, "finance")


async def _approve(request: Request, db: Session, actor: Actor, request_id: uuid.UUID, section: str) -> Response:
    form = await form_dict(request)

    def work() -> ResourceRequest:
        body = ApprovalCreate(name=form.get("name") or actor.display_name)
        return requesting.approve_request(db, actor=actor, request_id=request_id, section=section, data=body)

    def said(req: ResourceRequest) -> str:
        if req.status == "open":
            return f"Approved for {section}. Request {req.number} went to {len(req.recipients)} partner agencies."
        return f"Approved for {section}."

    return await _submit(request, db, _where(request_id), work, said)


@router.post("/mutual-aid/requests/{request_id}/cancel", dependencies=[Csrf])
async def cancel_request_form(request: Request, db: DB, actor: Create, request_id: uuid.UUID) -> Response:
    form = await form_dict(request)
    reason = form.get("reason", "").strip()

    def work() -> ResourceRequest:
        if len(reason) < 3:
            raise InvalidInput("reason", "say why the request is cancelled (at least 3 characters)")
        return requesting.cancel_request(db, actor=actor, request_id=request_id, reason=reason)

    return await _submit(request, db, _where(request_id), work, "Request cancelled; waiting offers were declined.")


@router.post("/mutual-aid/requests/{request_id}/offers", dependencies=[Csrf])
async def make_offer_form(request: Request, db: DB, actor: Offers, request_id: uuid.UUID) -> Response:
    form = await form_dict(request)
    speeds, road = api._matching_settings(request)

    def work() -> ResourceOffer:
        body = OfferCreate(
            resource_id=form.get("resource_id") or None,
            quantity=form.get("quantity") or 1,
            note=form.get("note", ""),
        )
        return deployments.make_offer(
            db, actor=actor, request_id=request_id, data=body, speeds=speeds, road_factor=road
        )

    return await _submit(request, db, _where(request_id, "#offers"), work, "Offer sent. The requester sees it now.")


@router.post("/mutual-aid/offers/{offer_id}/status", dependencies=[Csrf])
async def move_offer_form(request: Request, db: DB, actor: Offers, offer_id: uuid.UUID) -> Response:
    form = await form_dict(request)
    back = form.get("back", "")
    offer = await run_in_threadpool(queries.get_offer, db, actor, offer_id)
    where = "/mutual-aid/deployments" if back == "board" else _where(offer.request_id, "#offers")

    def work() -> ResourceOffer:
        body = OfferMove(status=form.get("status", ""), note=form.get("note", ""))
        return deployments.move_offer(db, actor=actor, offer_id=offer_id, data=body)

    return await _submit(
        request, db, where, work, lambda moved: f"Offer {OFFER_STATUSES.get(moved.status, moved.status).lower()}."
    )


# -- the deployment board ---------------------------------------------------------------------------
def _board_context(db: Session, actor: Actor, incident: str) -> dict[str, Any]:
    incidents = _incidents(db, actor)
    try:
        chosen = uuid.UUID(incident) if incident else None
    except ValueError:
        raise NotFound("incident") from None
    offers = queries.list_deployments(db, actor, chosen)
    requests = {}
    for request_id in {o.request_id for o in offers}:
        requests[request_id] = queries.get_request(db, actor, request_id)
    resources = {r.id: r for r in queries.list_resources(db, actor, ResourceFilter(limit=500))[0]}
    managed = _mine(actor, deployments.MANAGE)
    columns: dict[str, list[dict[str, Any]]] = {status: [] for status in BOARD}
    for offer in offers:
        req = requests[offer.request_id]
        side_ok = {"requester": req.requesting_agency_id in managed, "provider": offer.providing_agency_id in managed}
        steps = [to for to in deployments.NEXT[offer.status] if side_ok[deployments.STEPS[to][1]] and to != "withdrawn"]
        columns[offer.status].append(
            {"offer": offer, "request": req, "resource": resources.get(offer.resource_id), "steps": steps}
        )
    return {
        "columns": columns,
        "incident_id": incident,
        "incident_options": sorted(
            ((i.id, f"{i.number} · {i.name}") for i in incidents.values()), key=lambda pair: pair[1]
        ),
        "incidents": incidents,
        "shorts": directory.agency_short_names(db, actor),
        "board": BOARD,
        **VOCAB,
    }


@router.get("/mutual-aid/deployments")
def deployments_page(request: Request, db: DB, actor: Requests, incident: str = "") -> Response:
    last_event_id = stream.newest_id(db)
    context = _board_context(db, actor, incident) | {"last_event_id": last_event_id}
    return render(request, "mutualaid/deployments.html", context)


@router.get("/mutual-aid/part/deployments")
def deployments_part(request: Request, db: DB, actor: Requests, incident: str = "") -> Response:
    return render(request, "mutualaid/_deployments.html", _board_context(db, actor, incident))
