"""Mutual-aid requests, offers and commitments as OASIS EDXL-RM 1.0 messages, both ways.

Three messages cross (the codec is :mod:`accord.formats.edxl_rm`, ADR 20):

* a request is a ``RequestResource``;
* an offer is a ``ResponseToRequestResource`` while it is offered (``Accept``), declined by
  the requester or withdrawn by the provider (``Decline`` with the reason);
* an offer committed, or further along its deployment, is a ``CommitResource``.

**Message IDs.** An Accord object that came in by EDXL-RM keeps what it came in as in
``edxl_message_id``: ``<MessageID>#<ResourceInfoElementID>`` (the line is always kept, so that
answers can name it in ``PrecedingResourceInfoElementID``; a ``MessageID`` with ``#`` in it is
refused for that reason). Its message id is the part before ``#`` and its line the part after.
Anything else has an id derived from it: ``accord-request-<uuid>`` (line: the ICS-213 number),
``accord-offer-<uuid>-response`` (line ``1``) and ``accord-offer-<uuid>-commit`` (line ``1``).

**Threading.** A response names the request as ``OriginatingMessageID`` and
``PrecedingMessageID`` and answers its line; a commitment names the request as
``OriginatingMessageID`` and the response as ``PrecedingMessageID``. When a request's id is
both stored on one Accord request and derived from another (an Accord export imported back),
the stored one wins: it is the outside system that speaks EDXL-RM.

**Resource information.** Accord's type list is ``urn:x-accord:resource-types:<version>``
(``ResourceType.version``); ``TypeStructure`` carries the type key, and ``Keyword`` values
carry ``level:<n>``, ``substitutes-ok`` and ``priority:<urgent|high|routine|low>``; the free
description is ``Description``; ``Name`` is the type's name (a resource's name on a response
or commitment, whose ``ResourceID`` is the Accord resource id). A request by description has
no type, and EDXL-RM requires one on a request: it is written under
``urn:x-accord:resource-types:unlisted`` with the value ``unlisted``. The quantity is a
``MeasuredQuantity`` in the type's unit; ICS-213 special instructions travel as
``AssignmentInformation/Restrictions``. ``ScheduleInformation`` ``RequestedArrival`` is when
the resource is needed and where it reports (``deliver_to`` as the location description and the
point); a response adds ``EstimatedArrival`` (the offer's ETA), a commitment ``Committed``,
``EstimatedArrival`` and ``ActualArrival`` (on scene) when known. ``IncidentInformation`` is the
incident's number and name, written only for those who may see the incident. Contacts:
``Requester`` (the requester's name and position, the requesting agency), an ``Approver`` line
per approval given (logistics, finance), ``RespondingOrg`` (the providing agency).

**Import.** Every inbound message is parsed by the hardened codec (no DTD, no entities, 1 MiB)
and refused with 422 naming each element and the reason; then checked against Accord: a field
Accord cannot keep is refused by element, never dropped. A whole message is imported or
nothing is.

* ``RequestResource`` (the requesting agency's own outside system): one pending request per
  line, through :func:`accord.mutualaid.requesting.create_request` (so the thresholds check
  applies and its 422 passes through). The type comes from ``TypeStructure`` when its list is
  Accord's (a value that is no Accord type is refused naming ``TypeStructure/Value``); from
  another list the request is by description: ``Name``, ``Description``, the list's value and
  any keywords, in that order. ``RequestedArrival`` with a ``DateTime`` and a point is
  required; other schedule types are refused. ``Restrictions``, ``AnticipatedFunction``,
  ``OrderID``, a named ``ResourceID`` and the ``MessageDescription`` become lines of the
  special instructions. The ``Requester`` contact (a person name) is required; ``Approver``
  lines are noted but are not Accord approvals: the request waits for its own. A
  ``MessageID`` already imported for the agency is refused (409).
* ``ResponseToRequestResource`` (a partner's outside system), posted to the request it answers:
  ``OriginatingMessageID`` must be the request's message id and each
  ``PrecedingResourceInfoElementID`` its line. ``Accept`` and ``Provisional`` lines naming an
  Accord resource of the caller's agency in ``ResourceID`` become offers through
  :func:`accord.mutualaid.deployments.make_offer` (every rule applies); ``Decline`` lines are
  reported back; ``Conditional`` is refused (Accord keeps no conditions on an offer).
* ``CommitResource`` (the requesting agency's outside system) commits the offers it names,
  through :func:`accord.mutualaid.deployments.move_offer`: ``OriginatingMessageID`` is the
  request, each line's ``ResourceID`` the resource of an offer on it, and
  ``PrecedingMessageID``, when given, must be the response that offered each of them. In
  EDXL-RM terms this is the requester confirming the commitment; Accord records it as the
  offer becoming ``committed``. A quantity, when given, must be the offer's whole quantity.

**Audit.** Exporting an object of another agency (a partner's request, an offer between two
agencies) is a read of that agency's data: one ``mutualaid.*.export`` event, like record
exports. Each import leaves a ``mutualaid.exchange.import`` event beside the events of the
requests, offers and steps it made. Nothing here commits.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from accord.audit.service import record_event
from accord.authz import Actor, require, roles_key, scope
from accord.core.errors import AccordError, Conflict, FieldProblem, InvalidInput, InvalidInputs, NotFound
from accord.core.time import utcnow
from accord.directory import queries as directory
from accord.formats.edxl_rm import (
    MessageKind,
    RmContact,
    RmInvalid,
    RmMessage,
    RmResource,
    RmResponse,
    RmSchedule,
    build_rm,
    parse_rm,
)
from accord.mutualaid import deployments, queries, requesting
from accord.mutualaid.models import Resource, ResourceOffer, ResourceRequest, ResourceType
from accord.mutualaid.requesting import ThresholdsNotMet
from accord.mutualaid.schemas import OfferCreate, OfferMove, RequestCreate
from accord.operations import queries as operations

TYPE_LIST_PREFIX = "urn:x-accord:resource-types:"
UNLISTED_URN = f"{TYPE_LIST_PREFIX}unlisted"
UNLISTED = "unlisted"
PRIORITIES = ("urgent", "high", "routine", "low")
RESPONSE_STATUSES = frozenset({"offered", "declined", "withdrawn"})
_DERIVED_REQUEST = re.compile(r"accord-request-([0-9a-fA-F-]{36})")
_ID_LIMIT = 200  # ResourceRequest/ResourceOffer.edxl_message_id


# --------------------------------------------------------------------------- message ids


@dataclass(frozen=True, slots=True)
class Thread:
    """Where an Accord object stands in EDXL-RM: the message it is, and its line in it."""

    message_id: str
    element_id: str


def request_thread(request: ResourceRequest) -> Thread:
    if request.edxl_message_id:
        message, _, element = request.edxl_message_id.partition("#")
        return Thread(message, element or "1")
    return Thread(f"accord-request-{request.id}", request.number)


def offer_thread(offer: ResourceOffer) -> Thread:
    """The response that offered it."""
    if offer.edxl_message_id:
        message, _, element = offer.edxl_message_id.partition("#")
        return Thread(message, element or "1")
    return Thread(f"accord-offer-{offer.id}-response", "1")


def commit_message_id(offer: ResourceOffer) -> str:
    return f"accord-offer-{offer.id}-commit"


def type_list_urn(kind: ResourceType) -> str:
    return f"{TYPE_LIST_PREFIX}{kind.version}"


def is_accord_list(urn: str | None) -> bool:
    return urn is not None and urn.startswith(TYPE_LIST_PREFIX) and urn != UNLISTED_URN


# --------------------------------------------------------------------------- export (Accord -> EDXL-RM)


@dataclass(frozen=True, slots=True)
class Exported:
    filename: str
    xml: bytes
    message: RmMessage


def _agency_name(db: Session, actor: Actor, agency_id: uuid.UUID) -> str | None:
    try:
        return directory.get_agency(db, actor, agency_id).name
    except NotFound:
        return None


def _visible_incident(db: Session, actor: Actor, incident_id: uuid.UUID) -> tuple[str | None, str | None]:
    """The incident's number and name, for those who may see the incident."""
    try:
        incident = operations.get_incident(db, actor, incident_id)
    except NotFound:
        return None, None
    return incident.number, incident.name


def _type_of(db: Session, actor: Actor, key: str | None) -> ResourceType | None:
    if key is None:
        return None
    try:
        return queries.get_type(db, actor, key)
    except NotFound:  # pragma: no cover - types are reference data every reader sees
        return None


def request_contacts(request: ResourceRequest, agency: str | None) -> tuple[RmContact, ...]:
    contacts = [
        RmContact(
            role="Requester",
            name=request.requester_name,
            organisation=agency,
            description=request.requester_position or None,
        )
    ]
    for section in ("logistics", "finance"):
        approver = getattr(request, f"{section}_approved_by")
        if approver:
            contacts.append(
                RmContact(
                    role="Approver", name=approver, organisation=agency, description=f"{section.title()} approval"
                )
            )
    return tuple(contacts)


def request_line(request: ResourceRequest, kind: ResourceType | None) -> RmResource:
    keywords = [f"level:{request.level}"] if request.level is not None else []
    if request.substitutes_ok:
        keywords.append("substitutes-ok")
    keywords.append(f"priority:{request.priority}")
    arrival = RmSchedule(
        kind="RequestedArrival",
        at=request.needed_at,
        location_description=request.deliver_to,
        point=(request.lon, request.lat),
    )
    return RmResource(
        element_id=request_thread(request).element_id,
        type_value=kind.key if kind is not None else UNLISTED,
        type_list_urn=type_list_urn(kind) if kind is not None else UNLISTED_URN,
        name=kind.name if kind is not None else None,
        description=request.description or None,
        keywords=tuple(keywords),
        quantity=Decimal(request.quantity),
        unit_of_measure=kind.unit if kind is not None else "each",
        restrictions=request.special_instructions or None,
        schedules=(arrival,),
    )


def request_message(
    request: ResourceRequest,
    *,
    kind: ResourceType | None,
    agency: str | None,
    incident: tuple[str | None, str | None],
    now: datetime,
) -> RmMessage:
    return RmMessage(
        kind="RequestResource",
        message_id=request_thread(request).message_id,
        sent_at=now,
        resources=(request_line(request, kind),),
        contacts=request_contacts(request, agency),
        incident_id=incident[0],
        incident_description=incident[1],
    )


def offer_message(
    offer: ResourceOffer,
    request: ResourceRequest,
    *,
    resource: Resource | None,
    kind: ResourceType | None,
    provider: str | None,
    requester: str | None,
    incident: tuple[str | None, str | None],
    now: datetime,
) -> RmMessage:
    """A response while the offer is offered, declined or withdrawn; a commitment after."""
    asked = request_thread(request)
    response = offer_thread(offer)
    committed = offer.status not in RESPONSE_STATUSES
    schedules = [RmSchedule(kind="Committed", at=offer.committed_at)] if committed else []
    schedules.append(
        RmSchedule(
            kind="EstimatedArrival",
            at=offer.eta_at,
            location_description=request.deliver_to,
            point=(request.lon, request.lat),
        )
    )
    if committed and offer.on_scene_at is not None:
        schedules.append(RmSchedule(kind="ActualArrival", at=offer.on_scene_at))
    if committed:
        answer = RmResponse(preceding_element_id=response.element_id, response_type="Accept")
    elif offer.status == "offered":
        answer = RmResponse(preceding_element_id=asked.element_id, response_type="Accept", reason=offer.note or None)
    else:
        when = offer.declined_at if offer.status == "declined" else offer.withdrawn_at
        who = "the requesting agency declined" if offer.status == "declined" else "the providing agency withdrew"
        stamp = f" on {when.isoformat()}" if when is not None else ""
        answer = RmResponse(
            preceding_element_id=asked.element_id,
            response_type="Decline",
            reason_code=offer.status,
            reason=f"{who} this offer{stamp}" + (f": {offer.note}" if offer.note else ""),
        )
    line = RmResource(
        element_id=response.element_id if not committed else "1",
        response=answer,
        resource_id=str(offer.resource_id),
        name=resource.name if resource is not None else None,
        type_value=kind.key if kind is not None else None,
        type_list_urn=type_list_urn(kind) if kind is not None else None,
        keywords=(f"level:{resource.level}",) if resource is not None else (),
        quantity=Decimal(offer.quantity),
        unit_of_measure=kind.unit if kind is not None else None,
        schedules=tuple(schedules),
    )
    contacts = [RmContact(role="RespondingOrg", organisation=provider or str(offer.providing_agency_id))]
    if committed:
        contacts.insert(0, RmContact(role="Requester", name=request.requester_name, organisation=requester))
    return RmMessage(
        kind="CommitResource" if committed else "ResponseToRequestResource",
        message_id=commit_message_id(offer) if committed else response.message_id,
        sent_at=now,
        resources=(line,),
        contacts=tuple(contacts),
        originating_message_id=asked.message_id,
        preceding_message_id=response.message_id if committed else asked.message_id,
        incident_id=incident[0],
        incident_description=incident[1],
    )


def _build(message: RmMessage) -> bytes:
    try:
        return build_rm(message)
    except RmInvalid as exc:  # Accord's own data that EDXL-RM cannot carry (e.g. a control character)
        raise AccordError(
            message=f"this object cannot be written as EDXL-RM 1.0: {exc}",
            problems=[FieldProblem(p.path, p.reason) for p in exc.problems],
            status_code=409,
            code="conflict",
        ) from None


def _mine(actor: Actor, permission: str) -> set[uuid.UUID]:
    return {agency for agency, _ in roles_key(actor, permission)}


def _received_clause(request: ResourceRequest, agencies: set[uuid.UUID]) -> uuid.UUID | None:
    return next((r.clause_id for r in request.recipients if r.agency_id in agencies), None)


def _audit_export(
    db: Session,
    actor: Actor,
    message: RmMessage,
    *,
    owner: uuid.UUID,
    obj: ResourceRequest | ResourceOffer,
    clause: uuid.UUID | None,
) -> None:
    """An export that reads ``owner``'s data (not the caller's agency): one audit event."""
    kind = "request" if isinstance(obj, ResourceRequest) else "offer"
    record_event(
        db,
        actor=actor,
        action=f"mutualaid.{kind}.export",
        agency_id=owner,
        object_type=f"resource_{kind}",
        object_id=obj.id,
        clause_id=clause,
        details={"format": "EDXL-RM 1.0", "message": message.kind, "message_id": message.message_id},
    )


def export_request(db: Session, *, actor: Actor, request_id: uuid.UUID) -> Exported:
    """The request as a ``RequestResource``; a partner's request exported is an audited read."""
    request = queries.get_request(db, actor, request_id)
    message = request_message(
        request,
        kind=_type_of(db, actor, request.type_key),
        agency=_agency_name(db, actor, request.requesting_agency_id),
        incident=_visible_incident(db, actor, request.incident_id),
        now=utcnow(),
    )
    mine = _mine(actor, queries.REQUESTS)
    if request.requesting_agency_id not in mine:
        _audit_export(
            db, actor, message, owner=request.requesting_agency_id, obj=request, clause=_received_clause(request, mine)
        )
    return Exported(f"{request.number}.edxl-rm.xml", _build(message), message)


def export_offer(db: Session, *, actor: Actor, offer_id: uuid.UUID) -> Exported:
    """The offer as a ``ResponseToRequestResource`` or, once committed, a ``CommitResource``.
    An offer is between two agencies: exporting it reads the other one's data (audited)."""
    offer = queries.get_offer(db, actor, offer_id)
    request = queries.get_request(db, actor, offer.request_id)
    try:
        resource: Resource | None = queries.get_resource(db, actor, offer.resource_id)
    except NotFound:
        resource = None
    message = offer_message(
        offer,
        request,
        resource=resource,
        kind=_type_of(db, actor, resource.type_key) if resource is not None else None,
        provider=_agency_name(db, actor, offer.providing_agency_id),
        requester=_agency_name(db, actor, request.requesting_agency_id),
        incident=_visible_incident(db, actor, request.incident_id),
        now=utcnow(),
    )
    mine = _mine(actor, queries.REQUESTS)
    for other in dict.fromkeys((offer.providing_agency_id, request.requesting_agency_id)):
        if other not in mine:
            _audit_export(db, actor, message, owner=other, obj=offer, clause=offer.clause_id)
    suffix = "commit" if message.kind == "CommitResource" else "response"
    return Exported(f"{request.number}-offer-{suffix}.edxl-rm.xml", _build(message), message)


# --------------------------------------------------------------------------- import (EDXL-RM -> Accord)


def parse(data: bytes, kind: MessageKind) -> RmMessage:
    """Parse ``data`` as the EDXL-RM message ``kind``; 422 naming every element and reason."""
    try:
        message = parse_rm(data)
    except RmInvalid as exc:
        raise InvalidInputs([FieldProblem(p.path, p.reason) for p in exc.problems]) from None
    if message.kind != kind:
        raise InvalidInput(
            f"/{message.kind}", f"this address reads a <{kind}> message; <{message.kind}> is sent elsewhere"
        )
    root = f"/{kind}"
    if "#" in message.message_id:
        raise InvalidInput(
            f"{root}/MessageID",
            f"'{message.message_id}' contains '#'; Accord keeps '<MessageID>#<ResourceInfoElementID>' "
            "and could not tell the two apart",
        )
    for index, line in enumerate(message.resources, start=1):
        if len(message.message_id) + 1 + len(line.element_id) > _ID_LIMIT:
            raise InvalidInput(
                f"{root}/ResourceInformation[{index}]/ResourceInfoElementID",
                f"the MessageID and this element ID together exceed the {_ID_LIMIT - 1} characters Accord keeps",
            )
    return message


@contextmanager
def located(paths: Mapping[str, str], where: str) -> Iterator[None]:
    """Re-raise a command's 4xx naming the message's element instead of the JSON field (the
    thresholds refusal passes through as it is: it names clauses, not elements)."""
    try:
        yield
    except ThresholdsNotMet:
        raise
    except ValidationError as exc:
        raise InvalidInputs(
            [
                FieldProblem(paths.get(str(e["loc"][0]) if e["loc"] else "", where), str(e["msg"]))
                for e in exc.errors(include_url=False)
            ]
        ) from None
    except AccordError as exc:
        if not exc.problems:
            raise
        raise AccordError(
            message=f"{where}: {exc.message}",
            problems=[FieldProblem(paths.get(p.field, p.field), p.reason) for p in exc.problems],
            status_code=exc.status_code,
            code=exc.code,
        ) from None


def _validated(model: type[BaseModel], paths: Mapping[str, str], where: str, **fields: Any) -> Any:
    with located(paths, where):
        return model.model_validate(fields)


def _whole(amount: Decimal, path: str) -> int:
    if amount != amount.to_integral_value() or amount < 1:
        raise InvalidInput(path, f"'{amount}' is not a whole number of units of at least 1")
    if amount > 1000:
        raise InvalidInput(path, f"'{amount}' is more than the 1000 units an Accord request or offer carries")
    return int(amount)


@dataclass(frozen=True, slots=True)
class RequestImport:
    message_id: str
    requests: list[ResourceRequest]
    notes: list[str]


def _requests_stored_as(message_id: str) -> Any:
    return or_(
        ResourceRequest.edxl_message_id == message_id,
        ResourceRequest.edxl_message_id.startswith(f"{message_id}#", autoescape=True),
    )


def _requester(message: RmMessage) -> tuple[RmContact, str]:
    for index, contact in enumerate(message.contacts, start=1):
        if contact.role == "Requester" and (contact.name or "").strip():
            return contact, f"/RequestResource/ContactInformation[{index}]"
    raise InvalidInput(
        "/RequestResource/ContactInformation",
        "a Requester contact with a person name (xnl:PersonName) is required: the ICS-213 requester",
    )


@dataclass
class _Keywords:
    level: int | None = None
    substitutes_ok: bool = False
    priority: str = "routine"
    other: tuple[str, ...] = ()


def _keywords(line: RmResource, path: str, typed: bool) -> _Keywords:
    found = _Keywords()
    other: list[str] = []
    where = f"{path}/Resource/Keyword"
    for raw in line.keywords:
        value = raw.strip()
        name, _, arg = value.partition(":")
        if typed and name == "level" and arg:
            if not arg.isdigit() or not 1 <= int(arg) <= 9:
                raise InvalidInput(where, f"'{value}': a level is level:<1..9> (1 is the most capable)")
            found.level = int(arg)
        elif value == "substitutes-ok":
            found.substitutes_ok = True
        elif name == "priority" and arg:
            if arg not in PRIORITIES:
                raise InvalidInput(where, f"'{value}': a priority is one of {', '.join(PRIORITIES)}")
            found.priority = arg
        elif value:
            other.append(value)
    found.other = tuple(other)
    return found


def _arrival(line: RmResource, path: str) -> tuple[RmSchedule, str]:
    arrival: tuple[RmSchedule, str] | None = None
    for index, schedule in enumerate(line.schedules, start=1):
        schedule_path = f"{path}/ScheduleInformation[{index}]"
        if schedule.kind != "RequestedArrival":
            raise InvalidInput(
                f"{schedule_path}/ScheduleType",
                f"'{schedule.kind}' is not carried on an Accord request; "
                "it carries RequestedArrival (when and where the resource is needed)",
            )
        if arrival is not None:
            raise InvalidInput(schedule_path, "a second RequestedArrival; an Accord request has one time and place")
        arrival = schedule, schedule_path
    if arrival is None:
        raise InvalidInput(
            f"{path}/ScheduleInformation",
            "a RequestedArrival schedule is required: when the resource is needed and where it reports",
        )
    schedule, schedule_path = arrival
    if schedule.at is None:
        raise InvalidInput(f"{schedule_path}/DateTime", "required: when the resource is needed")
    if schedule.point is None:
        raise InvalidInput(
            f"{schedule_path}/Location/TargetArea",
            "required: the point where the resource reports (gml:Point with gml:pos 'lat lon')",
        )
    return schedule, schedule_path


def request_form(
    db: Session,
    *,
    actor: Actor,
    message: RmMessage,
    line: RmResource,
    path: str,
    incident_id: uuid.UUID,
    agency_id: uuid.UUID,
    requester: tuple[RmContact, str],
) -> tuple[RequestCreate, dict[str, str]]:
    """One resource line of a ``RequestResource`` as the ICS-213 form, and where each field
    of the form came from in the message."""
    type_path = f"{path}/Resource/TypeStructure"
    amount_path = f"{path}/AssignmentInformation/Quantity/MeasuredQuantity/Amount"
    typed = is_accord_list(line.type_list_urn)
    words = _keywords(line, path, typed)
    kind: ResourceType | None = None
    description: list[str] = []
    if typed:
        value = (line.type_value or "").strip()
        try:
            kind = queries.get_type(db, actor, value)
        except NotFound:
            raise InvalidInput(
                f"{type_path}/Value",
                f"'{value}' is not a resource type of Accord's list ({line.type_list_urn}); "
                "use a key from GET /api/v1/resource-types, or another list to ask by description",
            ) from None
        if line.name and line.name.strip() != kind.name:
            description.append(line.name.strip())
    else:
        description.append((line.name or "").strip())
    description.append((line.description or "").strip())
    if not typed and line.type_list_urn != UNLISTED_URN:
        description.append(f"(type '{(line.type_value or '').strip()}' of list {line.type_list_urn})")
    if words.other:
        description.append(f"(keywords: {', '.join(words.other)})")
    if line.quantity is None:
        raise InvalidInput(
            f"{path}/AssignmentInformation/Quantity", "required: how many are needed (MeasuredQuantity/Amount)"
        )
    quantity = _whole(line.quantity, amount_path)
    unit = (line.unit_of_measure or "").strip()
    if unit and kind is not None and unit.lower() != kind.unit.lower():
        raise InvalidInput(
            f"{path}/AssignmentInformation/Quantity/MeasuredQuantity/UnitOfMeasure/Value",
            f"'{unit}': Accord counts {kind.name} in '{kind.unit}'",
        )
    if unit and kind is None and unit.lower() != "each":
        description.append(f"(quantity in {unit})")
    schedule, schedule_path = _arrival(line, path)
    assert schedule.point is not None
    lon, lat = schedule.point
    special = [(line.restrictions or "").strip()]
    for label, text in (
        ("Anticipated function", line.anticipated_function),
        ("Order ID", line.order_id),
        ("Resource asked for", line.resource_id),
        ("Message", message.description),
    ):
        if text and text.strip():
            special.append(f"{label}: {text.strip()}")
    contact, contact_path = requester
    paths = {
        "type_key": f"{type_path}/Value",
        "level": f"{path}/Resource/Keyword",
        "priority": f"{path}/Resource/Keyword",
        "description": f"{path}/Resource/Description",
        "quantity": amount_path,
        "deliver_to": f"{schedule_path}/Location/LocationDescription",
        "location": f"{schedule_path}/Location/TargetArea",
        "location.coordinates": f"{schedule_path}/Location/TargetArea",
        "needed_at": f"{schedule_path}/DateTime",
        "special_instructions": f"{path}/AssignmentInformation/Restrictions",
        "requester_name": f"{contact_path}/AdditionalContactInformation/PartyName/PersonName",
        "requester_position": f"{contact_path}/ContactDescription",
    }
    form = _validated(
        RequestCreate,
        paths,
        path,
        incident_id=incident_id,
        requesting_agency_id=agency_id,
        type_key=kind.key if kind is not None else None,
        level=words.level,
        description=" ".join(part for part in description if part),
        quantity=quantity,
        deliver_to=(schedule.location_description or "").strip() or f"{lat:.5f}, {lon:.5f}",
        location={"type": "Point", "coordinates": [lon, lat]},
        needed_at=schedule.at,
        priority=words.priority,
        substitutes_ok=words.substitutes_ok,
        special_instructions="\n".join(part for part in special if part),
        requester_name=(contact.name or "").strip(),
        requester_position=(contact.description or "").strip(),
    )
    return form, paths


def import_requests(
    db: Session, *, actor: Actor, incident_id: uuid.UUID, requesting_agency_id: uuid.UUID, data: bytes
) -> RequestImport:
    """A ``RequestResource`` of the agency's own outside system as pending Accord requests."""
    require(actor, requesting.CREATE, requesting_agency_id)
    message = parse(data, "RequestResource")
    root = "/RequestResource"
    earlier = db.scalar(
        scope(
            actor,
            queries.REQUESTS,
            select(ResourceRequest).where(
                ResourceRequest.requesting_agency_id == requesting_agency_id,
                _requests_stored_as(message.message_id),
            ),
        ).limit(1)
    )
    if earlier is not None:
        raise Conflict(
            f"{root}/MessageID",
            f"'{message.message_id}' is already imported for your agency (request {earlier.number})",
        )
    requester = _requester(message)
    notes: list[str] = []
    if message.incident_id or message.incident_description:
        named = " ".join(v for v in (message.incident_id, message.incident_description) if v)
        notes.append(f"IncidentInformation '{named}': filed under the incident given (incident_id), not matched")
    approvers = [c.name or c.organisation or "" for c in message.contacts if c.role == "Approver"]
    if approvers:
        notes.append(
            f"Approver contacts ({', '.join(a for a in approvers if a) or 'unnamed'}) are not Accord approvals; "
            "the request waits for its logistics and finance approvals in Accord"
        )
    made: list[ResourceRequest] = []
    for index, line in enumerate(message.resources, start=1):
        path = f"{root}/ResourceInformation[{index}]"
        form, paths = request_form(
            db,
            actor=actor,
            message=message,
            line=line,
            path=path,
            incident_id=incident_id,
            agency_id=requesting_agency_id,
            requester=requester,
        )
        with located(paths, path):
            made.append(
                requesting.create_request(
                    db, actor=actor, data=form, edxl_message_id=f"{message.message_id}#{line.element_id}"
                )
            )
    record_event(
        db,
        actor=actor,
        action="mutualaid.exchange.import",
        agency_id=requesting_agency_id,
        object_type="resource_request",
        object_id=made[0].id,
        details={
            "format": "EDXL-RM 1.0",
            "message": message.kind,
            "message_id": message.message_id,
            "requests": [r.number for r in made],
            "notes": notes,
        },
    )
    return RequestImport(message.message_id, made, notes)


@dataclass(frozen=True, slots=True)
class Declined:
    element_id: str
    resource_id: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class ResponseImport:
    message_id: str
    offers: list[ResourceOffer]
    declined: list[Declined]


def _resource_id(line: RmResource, path: str, what: str) -> uuid.UUID:
    where = f"{path}/Resource/ResourceID"
    if line.resource_id is None or not line.resource_id.strip():
        raise InvalidInput(where, f"required: {what}")
    try:
        return uuid.UUID(line.resource_id.strip())
    except ValueError:
        raise InvalidInput(where, f"'{line.resource_id.strip()}' is not an Accord resource id (a UUID)") from None


def _own_resource(db: Session, actor: Actor, line: RmResource, path: str, agencies: set[uuid.UUID]) -> Resource:
    resource_id = _resource_id(line, path, "the Accord resource offered")
    try:
        resource = queries.get_resource(db, actor, resource_id)
    except NotFound:
        resource = None
    if resource is None or resource.owner_agency_id not in agencies:
        raise InvalidInput(
            f"{path}/Resource/ResourceID", f"'{resource_id}' is not a resource of your agency; offer your own"
        )
    if is_accord_list(line.type_list_urn) and (line.type_value or "").strip() != resource.type_key:
        raise InvalidInput(
            f"{path}/Resource/TypeStructure/Value",
            f"'{(line.type_value or '').strip()}' is not the type of resource {resource_id} ({resource.type_key})",
        )
    return resource


def import_response(
    db: Session,
    *,
    actor: Actor,
    request_id: uuid.UUID,
    data: bytes,
    speeds: Mapping[str, float],
    road_factor: float,
) -> ResponseImport:
    """A partner's ``ResponseToRequestResource`` to the request: its accepted lines as offers."""
    request = queries.get_request(db, actor, request_id)
    message = parse(data, "ResponseToRequestResource")
    root = "/ResponseToRequestResource"
    asked = request_thread(request)
    if message.originating_message_id != asked.message_id:
        raise InvalidInput(
            f"{root}/OriginatingMessageID",
            f"'{message.originating_message_id}' is not this request; its message id is '{asked.message_id}'",
        )
    earlier = db.scalar(
        scope(
            actor,
            queries.REQUESTS,
            select(ResourceOffer.id).where(
                ResourceOffer.request_id == request.id,
                or_(
                    ResourceOffer.edxl_message_id == message.message_id,
                    ResourceOffer.edxl_message_id.startswith(f"{message.message_id}#", autoescape=True),
                ),
            ),
        ).limit(1)
    )
    if earlier is not None:
        raise Conflict(f"{root}/MessageID", f"'{message.message_id}' is already imported for this request")
    agencies = _mine(actor, deployments.MANAGE)
    offers: list[ResourceOffer] = []
    declined: list[Declined] = []
    for index, line in enumerate(message.resources, start=1):
        path = f"{root}/ResourceInformation[{index}]"
        answer = line.response
        assert answer is not None  # the codec requires ResponseInformation on every line of a response
        if answer.preceding_element_id.strip() != asked.element_id:
            raise InvalidInput(
                f"{path}/ResponseInformation/PrecedingResourceInfoElementID",
                f"'{answer.preceding_element_id}' is not the request's line; it is '{asked.element_id}'",
            )
        reason = " ".join(v.strip() for v in (answer.reason_code, answer.reason) if v and v.strip())
        if answer.response_type == "Decline":
            declined.append(Declined(line.element_id, line.resource_id, reason))
            continue
        if answer.response_type == "Conditional":
            raise InvalidInput(
                f"{path}/ResponseInformation/ResponseType",
                "Accord keeps no conditions on an offer: answer Accept or Provisional with the terms in "
                "ResponseReason, or Decline",
            )
        resource = _own_resource(db, actor, line, path, agencies)
        quantity = 1 if line.quantity is None else _whole(line.quantity, f"{path}/AssignmentInformation/Quantity")
        note = f"Provisional: {reason}" if answer.response_type == "Provisional" else reason
        paths = {
            "resource_id": f"{path}/Resource/ResourceID",
            "quantity": f"{path}/AssignmentInformation/Quantity/MeasuredQuantity/Amount",
            "note": f"{path}/ResponseInformation/ResponseReason",
            "status": f"{root}/OriginatingMessageID",
        }
        form = _validated(OfferCreate, paths, path, resource_id=resource.id, quantity=quantity, note=note)
        with located(paths, path):
            offers.append(
                deployments.make_offer(
                    db,
                    actor=actor,
                    request_id=request.id,
                    data=form,
                    speeds=speeds,
                    road_factor=road_factor,
                    edxl_message_id=f"{message.message_id}#{line.element_id}",
                )
            )
    record_event(
        db,
        actor=actor,
        action="mutualaid.exchange.import",
        agency_id=offers[0].providing_agency_id if offers else None,
        object_type="resource_request",
        object_id=request.id,
        details={
            "format": "EDXL-RM 1.0",
            "message": message.kind,
            "message_id": message.message_id,
            "offers": [str(o.id) for o in offers],
            "declined": [d.element_id for d in declined],
        },
    )
    return ResponseImport(message.message_id, offers, declined)


@dataclass(frozen=True, slots=True)
class CommitImport:
    message_id: str
    offers: list[ResourceOffer]


def requests_of_message(db: Session, actor: Actor, message_id: str, agencies: set[uuid.UUID]) -> list[ResourceRequest]:
    """Requests of ``agencies`` that ``message_id`` names: those stored with it (one per line
    of the message), else the Accord request it is derived from."""
    mine = select(ResourceRequest).where(ResourceRequest.requesting_agency_id.in_(agencies))
    stored = list(db.scalars(scope(actor, queries.REQUESTS, mine.where(_requests_stored_as(message_id)))))
    if stored:
        return stored
    derived = _DERIVED_REQUEST.fullmatch(message_id)
    if derived is None:
        return []
    try:
        request_id = uuid.UUID(derived.group(1))
    except ValueError:
        return []
    stmt = mine.where(ResourceRequest.id == request_id, ResourceRequest.edxl_message_id.is_(None))
    return list(db.scalars(scope(actor, queries.REQUESTS, stmt)))


def import_commit(db: Session, *, actor: Actor, data: bytes) -> CommitImport:
    """A ``CommitResource`` of the requesting agency's outside system: the offers it names
    become committed (the requester confirming the commitment, in EDXL-RM terms)."""
    message = parse(data, "CommitResource")
    root = "/CommitResource"
    requests = requests_of_message(db, actor, message.originating_message_id or "", _mine(actor, deployments.MANAGE))
    if not requests:
        raise InvalidInput(
            f"{root}/OriginatingMessageID",
            f"'{message.originating_message_id}' names no request of your agency that Accord knows",
        )
    on_requests = scope(
        actor,
        queries.REQUESTS,
        select(ResourceOffer).where(ResourceOffer.request_id.in_([r.id for r in requests])),
    )
    offers = list(db.scalars(on_requests.order_by(ResourceOffer.offered_at.desc(), ResourceOffer.id)))
    committed: list[ResourceOffer] = []
    seen: set[uuid.UUID] = set()
    for index, line in enumerate(message.resources, start=1):
        path = f"{root}/ResourceInformation[{index}]"
        if line.response is not None and line.response.response_type != "Accept":
            raise InvalidInput(
                f"{path}/ResponseInformation/ResponseType",
                f"'{line.response.response_type}': a commitment line commits (Accept); decline an offer in Accord",
            )
        resource_id = _resource_id(line, path, "the Accord resource of the offer committed")
        if resource_id in seen:
            raise InvalidInput(f"{path}/Resource/ResourceID", f"'{resource_id}' is committed twice in this message")
        seen.add(resource_id)
        candidates = [o for o in offers if o.resource_id == resource_id]
        if not candidates:
            raise InvalidInput(
                f"{path}/Resource/ResourceID",
                f"'{resource_id}' is the resource of no offer on request {', '.join(r.number for r in requests)}",
            )
        waiting = [o for o in candidates if o.status == "offered"] or candidates
        if message.preceding_message_id is not None:
            matching = [o for o in waiting if offer_thread(o).message_id == message.preceding_message_id]
            if not matching:
                raise InvalidInput(
                    f"{root}/PrecedingMessageID",
                    f"'{message.preceding_message_id}' is not the response that offered resource {resource_id}; "
                    f"that was '{offer_thread(waiting[0]).message_id}'",
                )
            waiting = matching
        if len(waiting) > 1:
            raise InvalidInput(
                f"{path}/Resource/ResourceID",
                f"'{resource_id}' is offered to {len(waiting)} requests of this message; "
                "name the response in PrecedingMessageID",
            )
        offer = waiting[0]
        if line.quantity is not None:
            amount_path = f"{path}/AssignmentInformation/Quantity/MeasuredQuantity/Amount"
            if _whole(line.quantity, amount_path) != offer.quantity:
                raise InvalidInput(
                    amount_path,
                    f"'{line.quantity}': the offer is of {offer.quantity} unit(s); Accord commits a whole offer",
                )
        paths = {"status": path, "note": path}
        move = _validated(
            OfferMove, paths, path, status="committed", note=f"EDXL-RM CommitResource {message.message_id}"
        )
        with located(paths, path):
            committed.append(deployments.move_offer(db, actor=actor, offer_id=offer.id, data=move))
    record_event(
        db,
        actor=actor,
        action="mutualaid.exchange.import",
        agency_id=requests[0].requesting_agency_id,
        object_type="resource_request",
        object_id=requests[0].id,
        details={
            "format": "EDXL-RM 1.0",
            "message": message.kind,
            "message_id": message.message_id,
            "offers": [str(o.id) for o in committed],
        },
    )
    return CommitImport(message.message_id, committed)
