"""EDXL-RM 1.0 routes of mutual aid: export a request or an offer as XML, import a request, a
partner's response or a commitment sent as XML (``Content-Type: application/xml``, at most
1 MiB). Semantics: :mod:`accord.mutualaid.exchange.service`."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from accord.authz import Actor
from accord.authz.deps import Permission
from accord.core.deps import DB
from accord.core.errors import AccordError, FieldProblem, InvalidInput
from accord.formats.edxl_rm import MAX_DOCUMENT_BYTES
from accord.mutualaid.api import offer_read, request_read
from accord.mutualaid.exchange import service
from accord.mutualaid.exchange.schemas import (
    CommitImportRead,
    DeclinedLine,
    RequestImportRead,
    ResponseImportRead,
)
from accord.mutualaid.models import Resource

router = APIRouter(prefix="/api/v1", tags=["mutual aid", "EDXL-RM"])
Requests = Annotated[Actor, Depends(Permission("mutualaid:request:read"))]
Create = Annotated[Actor, Depends(Permission("mutualaid:request:create"))]
Offers = Annotated[Actor, Depends(Permission("mutualaid:offer:manage"))]

XML_MEDIA_TYPE = "application/xml"
XML_TYPES = frozenset({XML_MEDIA_TYPE, "text/xml"})
XML_RESPONSE: dict[int | str, dict[str, Any]] = {200: {"content": {XML_MEDIA_TYPE: {"schema": {"type": "string"}}}}}


def _xml_body(message: str) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {XML_MEDIA_TYPE: {"schema": {"type": "string", "description": message}}},
        }
    }


def _too_large(size: int | str) -> AccordError:
    reason = f"the document is {size} bytes; EDXL-RM messages of at most {MAX_DOCUMENT_BYTES} bytes (1 MiB) are read"
    return AccordError(message=reason, problems=[FieldProblem("body", reason)], status_code=413, code="too_large")


async def edxl_document(request: Request) -> bytes:
    """The raw XML body, refused before it is parsed when it is not XML or too large."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in XML_TYPES:
        raise AccordError(
            message="send the EDXL-RM 1.0 message as the request body with Content-Type: application/xml",
            problems=[FieldProblem("content-type", f"'{media or 'none'}' is not accepted; send application/xml")],
            status_code=415,
            code="unsupported_media_type",
        )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_DOCUMENT_BYTES:
        raise _too_large(int(declared))
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_DOCUMENT_BYTES:
            raise _too_large(f"more than {MAX_DOCUMENT_BYTES}")
    if not body.strip():
        raise InvalidInput("body", "empty: send the EDXL-RM 1.0 message as XML")
    return bytes(body)


Document = Annotated[bytes, Depends(edxl_document)]


def _xml(exported: service.Exported) -> Response:
    return Response(
        exported.xml,
        media_type=XML_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{exported.filename}"'},
    )


def _matching_settings(request: Request) -> tuple[dict[str, float], float]:
    settings = request.app.state.settings
    return dict(settings.travel_speeds), float(settings.road_factor)


@router.get("/resource-requests/{request_id}/edxl-rm", response_class=Response, responses=XML_RESPONSE)
def export_request(db: DB, actor: Requests, request_id: uuid.UUID) -> Response:
    """The request as an EDXL-RM 1.0 ``RequestResource``."""
    exported = service.export_request(db, actor=actor, request_id=request_id)
    db.commit()  # the audit event of a partner's request read
    return _xml(exported)


@router.get("/resource-offers/{offer_id}/edxl-rm", response_class=Response, responses=XML_RESPONSE)
def export_offer(db: DB, actor: Requests, offer_id: uuid.UUID) -> Response:
    """The offer as a ``ResponseToRequestResource`` (offered: Accept; declined or withdrawn:
    Decline with the reason) or, once committed, a ``CommitResource``."""
    exported = service.export_offer(db, actor=actor, offer_id=offer_id)
    db.commit()
    return _xml(exported)


@router.post(
    "/resource-requests/edxl-rm",
    response_model=RequestImportRead,
    status_code=201,
    openapi_extra=_xml_body("an EDXL-RM 1.0 RequestResource of your agency's own system"),
)
def import_requests(
    db: DB, actor: Create, data: Document, incident_id: uuid.UUID, requesting_agency_id: uuid.UUID
) -> RequestImportRead:
    """A ``RequestResource`` from your agency's own outside system: one pending ICS-213 request
    per resource line, checked like any request. Refused: 422 naming each element and why;
    a MessageID imported before: 409."""
    made = service.import_requests(
        db, actor=actor, incident_id=incident_id, requesting_agency_id=requesting_agency_id, data=data
    )
    db.commit()
    return RequestImportRead(
        message_id=made.message_id, requests=[request_read(db, r) for r in made.requests], notes=made.notes
    )


@router.post(
    "/resource-requests/{request_id}/offers/edxl-rm",
    response_model=ResponseImportRead,
    status_code=201,
    openapi_extra=_xml_body("an EDXL-RM 1.0 ResponseToRequestResource answering this request"),
)
def import_response(
    db: DB, actor: Offers, request: Request, data: Document, request_id: uuid.UUID
) -> ResponseImportRead:
    """A partner's ``ResponseToRequestResource`` to this request: Accept and Provisional lines
    naming your agency's resources become offers; Decline lines are reported back."""
    speeds, road = _matching_settings(request)
    made = service.import_response(db, actor=actor, request_id=request_id, data=data, speeds=speeds, road_factor=road)
    db.commit()
    return ResponseImportRead(
        message_id=made.message_id,
        offers=[offer_read(o, db.get(Resource, o.resource_id)) for o in made.offers],
        declined=[
            DeclinedLine(element_id=d.element_id, resource_id=d.resource_id, reason=d.reason) for d in made.declined
        ],
    )


@router.post(
    "/resource-offers/edxl-rm/commit",
    response_model=CommitImportRead,
    openapi_extra=_xml_body("an EDXL-RM 1.0 CommitResource of your agency's own system"),
)
def import_commit(db: DB, actor: Offers, data: Document) -> CommitImportRead:
    """A ``CommitResource`` from the requesting agency's outside system: the offers it names
    (by resource, on the request it originates from) are committed."""
    made = service.import_commit(db, actor=actor, data=data)
    db.commit()
    return CommitImportRead(
        message_id=made.message_id, offers=[offer_read(o, db.get(Resource, o.resource_id)) for o in made.offers]
    )
