"""Commands on resource requests (ICS-213): create one checked against the activation
thresholds of the clauses binding the requester, approve it for logistics and finance
(which sends it to the partners those clauses bind), cancel it. Every change is audited and
announced live in the same transaction; nothing here commits."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from accord.agreements.models import AgreementVersion, Clause
from accord.audit.service import record_event
from accord.authz import Actor, roles_key
from accord.core import events
from accord.core.errors import AccordError, Conflict, FieldProblem, InvalidInput, NotFound, PermissionDenied
from accord.core.time import utcnow
from accord.geo.overlap import point_coordinates
from accord.mutualaid import queries
from accord.mutualaid.models import MutualAidBinding, RequestRecipient, Resource, ResourceOffer, ResourceRequest
from accord.mutualaid.policy import in_force
from accord.mutualaid.schemas import ApprovalCreate, RequestCreate
from accord.mutualaid.thresholds import RequestFacts, check
from accord.operations import queries as operations
from accord.operations.models import Incident

CREATE = "mutualaid:request:create"
_GRACE = timedelta(minutes=5)  # a form filled in slowly still means "now"
APPROVE = {"logistics": "mutualaid:request:approve_logistics", "finance": "mutualaid:request:approve_finance"}


class ThresholdsNotMet(AccordError):
    """No mutual-aid clause binding the requester is activated by the request: each clause
    and why (422)."""

    def __init__(self, problems: list[FieldProblem]) -> None:
        summary = "; ".join(p.reason for p in problems[:3])
        super().__init__(
            message=f"no mutual-aid clause is activated by this request: {summary}",
            problems=problems,
            status_code=422,
            code="thresholds_not_met",
        )


def _holds(actor: Actor, permission: str, agency_id: uuid.UUID) -> None:
    if agency_id not in {agency for agency, _ in roles_key(actor, permission)}:
        raise PermissionDenied(permission, agency_id)


def _announce(db: Session, kind: str, request: ResourceRequest) -> None:
    events.emit(
        db,
        kind=kind,
        object_type="resource_request",
        object_id=request.id,
        agency_id=request.requesting_agency_id,
        payload={"status": request.status, "incident_id": str(request.incident_id)},
    )


def _audit(db: Session, actor: Actor, action: str, request: ResourceRequest, **details: Any) -> None:
    record_event(
        db,
        actor=actor,
        action=action,
        agency_id=request.requesting_agency_id,
        object_type="resource_request",
        object_id=request.id,
        details={"number": request.number, **details},
    )


def own_available(db: Session, agency_id: uuid.UUID, type_key: str, level: int | None) -> int:
    """Units of the type (at the level asked or more capable) the agency still has at home
    above its reserves: what it could send itself."""
    stmt = select(func.coalesce(func.sum(Resource.quantity - Resource.minimum_reserve), 0)).where(
        Resource.owner_agency_id == agency_id,
        Resource.type_key == type_key,
        Resource.status == "available",
        Resource.quantity > Resource.minimum_reserve,
    )
    if level is not None:
        stmt = stmt.where(Resource.level <= level)
    return int(db.scalar(stmt) or 0)


def _clause_titles(db: Session, clause_ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    rows = db.execute(
        select(Clause.id, Clause.position, AgreementVersion.title, AgreementVersion.number)
        .join(AgreementVersion, AgreementVersion.id == Clause.version_id)
        .where(Clause.id.in_(clause_ids))
    )
    return {cid: f"{title} (version {number}), clause {position + 1}" for cid, position, title, number in rows}


def activation(
    db: Session, *, requester: uuid.UUID, incident: Incident, type_key: str | None, level: int | None, type_name: str
) -> tuple[list[dict[str, Any]], list[RequestRecipient]]:
    """Each mutual-aid clause binding the requester now, whether the request meets its
    thresholds and why not; and the partners the met clauses bind (the recipients)."""
    now = utcnow()
    mine = list(
        db.scalars(
            select(MutualAidBinding).where(MutualAidBinding.agency_id == requester, in_force(MutualAidBinding, now))
        )
    )
    if not mine:
        raise ThresholdsNotMet(
            [FieldProblem("requesting_agency_id", "no mutual-aid clause in force binds your agency to any partner")]
        )
    spare = own_available(db, requester, type_key, level) if type_key else 1
    facts = RequestFacts(
        incident_type=incident.type,
        incident_severity=incident.severity,
        emergency_declared=incident.emergency_declared_at is not None,
        own_available=spare,
        type_name=type_name or "resources of the type",
    )
    titles = _clause_titles(db, {b.clause_id for b in mine})
    results: list[dict[str, Any]] = []
    met_clauses: list[uuid.UUID] = []
    for binding in sorted(mine, key=lambda b: titles.get(b.clause_id, "")):
        result = check(binding.terms.get("thresholds"), facts)
        reasons = list(result.reasons)
        if not type_key and (binding.terms.get("thresholds") or {}).get("own_resources_exhausted"):
            reasons = [*reasons, "a request by description cannot show your own resources are committed; name a type"]
        met = result.met and not reasons
        results.append(
            {
                "clause_id": str(binding.clause_id),
                "agreement_id": str(binding.agreement_id),
                "title": titles.get(binding.clause_id, "mutual-aid clause"),
                "met": met,
                "conditions": list(result.conditions),
                "reasons": reasons,
            }
        )
        if met:
            met_clauses.append(binding.clause_id)
    if not met_clauses:
        raise ThresholdsNotMet(
            [FieldProblem("thresholds", f"{r['title']}: {reason}") for r in results for reason in r["reasons"]]
        )
    partners = db.execute(
        select(MutualAidBinding.agency_id, MutualAidBinding.clause_id).where(
            MutualAidBinding.clause_id.in_(met_clauses),
            MutualAidBinding.agency_id != requester,
            in_force(MutualAidBinding, now),
        )
    )
    recipients: dict[uuid.UUID, RequestRecipient] = {}
    for agency_id, clause_id in partners:
        recipients.setdefault(agency_id, RequestRecipient(agency_id=agency_id, clause_id=clause_id))
    if not recipients:
        raise ThresholdsNotMet([FieldProblem("thresholds", "the clauses met bind no other agency now")])
    return results, list(recipients.values())


def _takes_part(incident: Incident, agency_id: uuid.UUID) -> bool:
    return incident.lead_agency_id == agency_id or any(p.agency_id == agency_id for p in incident.participants)


def _number(db: Session, now: datetime, skip: int = 0) -> str:
    count = db.scalar(
        select(func.count()).select_from(ResourceRequest).where(ResourceRequest.number.like(f"213-{now:%Y}-%"))
    )
    return f"213-{now:%Y}-{(count or 0) + 1 + skip:04d}"


def _add_numbered(db: Session, request: ResourceRequest, now: datetime) -> None:
    """Insert the request with the year's next number. Two requests numbered at the same
    moment (PostgreSQL runs them side by side) cannot both take it: the second takes the
    one after instead of failing."""
    for attempt in range(5):
        request.number = _number(db, now, attempt)
        try:
            with db.begin_nested():
                db.add(request)
                db.flush()
            return
        except IntegrityError:
            continue
    raise Conflict("number", "too many requests are being numbered at once; send it again")


def create_request(
    db: Session, *, actor: Actor, data: RequestCreate, edxl_message_id: str | None = None
) -> ResourceRequest:
    _holds(actor, CREATE, data.requesting_agency_id)
    try:
        incident = operations.get_incident(db, actor, data.incident_id)
    except NotFound:
        raise InvalidInput("incident_id", "no such incident") from None
    if not _takes_part(incident, data.requesting_agency_id):
        raise InvalidInput("incident_id", "your agency does not take part in this incident")
    if incident.status == "closed":
        raise Conflict("incident_id", "the incident is closed")
    type_name = ""
    if data.type_key is not None:
        try:
            kind = queries.get_type(db, actor, data.type_key)
        except NotFound:
            raise InvalidInput("type_key", "no such resource type") from None
        if data.level is not None and data.level > len(kind.levels):
            raise InvalidInput("level", f"{kind.name} has levels 1 to {len(kind.levels)}")
        type_name = kind.name
    elif data.level is not None:
        raise InvalidInput("level", "a level needs a type_key")
    elif not data.description:
        raise InvalidInput("description", "name a type_key or describe what is needed")
    lon, lat = point_coordinates(data.location, "location")
    now = utcnow()
    if data.needed_at < now.replace(microsecond=0) - _GRACE:
        raise InvalidInput("needed_at", "is in the past")
    results, recipients = activation(
        db,
        requester=data.requesting_agency_id,
        incident=incident,
        type_key=data.type_key,
        level=data.level,
        type_name=type_name,
    )
    request = ResourceRequest(
        number="",  # _add_numbered
        incident_id=incident.id,
        requesting_agency_id=data.requesting_agency_id,
        requested_by_user_id=actor.user_id,
        requester_name=data.requester_name,
        requester_position=data.requester_position,
        type_key=data.type_key,
        level=data.level,  # none: any level of the type
        description=data.description,
        quantity=data.quantity,
        deliver_to=data.deliver_to,
        location={"type": "Point", "coordinates": [lon, lat]},
        lon=lon,
        lat=lat,
        needed_at=data.needed_at,
        priority=data.priority,
        substitutes_ok=data.substitutes_ok,
        special_instructions=data.special_instructions,
        status="pending",
        activation=results,
        edxl_message_id=edxl_message_id,
    )
    request.recipients = recipients
    _add_numbered(db, request, now)
    _audit(db, actor, "mutualaid.request.create", request, clauses=[r["clause_id"] for r in results if r["met"]])
    _announce(db, "resource_request.created", request)
    return request


def approve_request(
    db: Session, *, actor: Actor, request_id: uuid.UUID, section: str, data: ApprovalCreate
) -> ResourceRequest:
    """Record the logistics or finance approval; with both, the request is checked against
    the thresholds again (an agreement may have ended meanwhile) and sent to partners."""
    request = queries.get_request(db, actor, request_id)
    _holds(actor, APPROVE[section], request.requesting_agency_id)
    if request.status != "pending":
        raise Conflict("status", f"the request is {request.status}; only a pending request is approved")
    if getattr(request, f"{section}_approved_at") is not None:
        raise Conflict(section, f"the request is already approved for {section}")
    now = utcnow()
    setattr(request, f"{section}_approved_by", data.name)
    setattr(request, f"{section}_approved_at", now)
    if request.logistics_approved_at is not None and request.finance_approved_at is not None:
        incident = operations.get_incident(db, actor, request.incident_id)
        kind_name = queries.get_type(db, actor, request.type_key).name if request.type_key else ""
        results, recipients = activation(
            db,
            requester=request.requesting_agency_id,
            incident=incident,
            type_key=request.type_key,
            level=request.level,
            type_name=kind_name,
        )
        request.activation = results
        request.recipients = recipients
        request.status, request.opened_at = "open", now
    request.updated_at = now
    db.flush()
    _audit(db, actor, f"mutualaid.request.approve_{section}", request, status=request.status)
    _announce(db, "resource_request.opened" if request.status == "open" else "resource_request.approved", request)
    return request


def cancel_request(db: Session, *, actor: Actor, request_id: uuid.UUID, reason: str) -> ResourceRequest:
    """Withdraw a request nobody has filled yet; offers still waiting are declined with it
    (deployments already committed go on until they are released)."""
    request = queries.get_request(db, actor, request_id)
    _holds(actor, CREATE, request.requesting_agency_id)
    if request.status not in ("pending", "open"):
        raise Conflict("status", f"the request is {request.status}; only a pending or open request is cancelled")
    now = utcnow()
    waiting = list(
        db.scalars(
            select(ResourceOffer).where(ResourceOffer.request_id == request.id, ResourceOffer.status == "offered")
        )
    )
    for offer in waiting:
        offer.status, offer.declined_at, offer.updated_at = "declined", now, now
        events.emit(
            db,
            kind="resource_offer.declined",
            object_type="resource_offer",
            object_id=offer.id,
            agency_id=offer.providing_agency_id,
            payload={"status": offer.status, "request_id": str(request.id)},
        )
    request.status, request.closed_at, request.updated_at = "cancelled", now, now
    db.flush()
    _audit(db, actor, "mutualaid.request.cancel", request, reason=reason, declined=len(waiting))
    _announce(db, "resource_request.cancelled", request)
    return request
