"""JSON API of CAP alerts (publish, update, cancel, import) and the public, unauthenticated,
rate-limited feed and documents."""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from accord.authz import Actor
from accord.authz.deps import Permission, Public
from accord.core.deps import DB
from accord.core.errors import AccordError, FieldProblem, InvalidInput, InvalidInputs, RateLimited
from accord.core.ratelimit import SlidingWindowLimiter
from accord.core.time import utcnow
from accord.operations.alerts import queries, service
from accord.operations.alerts.atom import alert_url, atom_feed
from accord.operations.alerts.models import IncidentAlert
from accord.operations.alerts.schemas import (
    AlertCancel,
    AlertCompose,
    AlertPreview,
    AlertRead,
    ImportReport,
    ImportUrl,
    SourceRead,
)
from accord.operations.alerts.vocab import MAX_DOCUMENT_BYTES

router = APIRouter(tags=["alerts"])
public_router = APIRouter(tags=["public"])
Read = Annotated[Actor, Depends(Permission("operations:incident:read"))]
Publish = Annotated[Actor, Depends(Permission("operations:alert:publish"))]
Import = Annotated[Actor, Depends(Permission("operations:alert:import"))]
XML_TYPES = frozenset(
    {"application/xml", "text/xml", "application/cap+xml", "application/atom+xml", "application/rss+xml"}
)
CAP_MEDIA_TYPE = "application/cap+xml"


def sender_domain(request: Request) -> str:
    return str(request.app.state.settings.cap_sender)


def alert_read(request: Request, alert: IncidentAlert) -> AlertRead:
    read = AlertRead.model_validate(alert)
    read.public_url = alert_url(str(request.base_url), alert.id)
    return read


@router.get("/api/v1/incidents/{incident_id}/alerts", response_model=list[AlertRead])
def list_alerts(request: Request, db: DB, actor: Read, incident_id: uuid.UUID) -> list[AlertRead]:
    """The incident's published CAP messages, newest first."""
    return [alert_read(request, a) for a in queries.list_alerts(db, actor, incident_id)]


@router.get("/api/v1/incidents/{incident_id}/alerts/draft", response_model=AlertCompose)
def draft_alert(db: DB, actor: Publish, incident_id: uuid.UUID) -> AlertCompose:
    """A public alert prefilled from the incident, to edit and publish."""
    return service.draft_for(db, actor=actor, incident_id=incident_id)


@router.post("/api/v1/incidents/{incident_id}/alerts/preview", response_model=AlertPreview)
def preview_alert(request: Request, db: DB, actor: Publish, incident_id: uuid.UUID, data: AlertCompose) -> AlertPreview:
    """The CAP 1.2 XML publishing would serve; nothing is stored."""
    alert, xml = service.preview_alert(
        db, actor=actor, incident_id=incident_id, data=data, sender_domain=sender_domain(request)
    )
    return AlertPreview(xml=xml.decode(), identifier=alert.identifier, sender=alert.sender, msg_type=alert.msg_type)


@router.post("/api/v1/incidents/{incident_id}/alerts", response_model=AlertRead, status_code=201)
def publish_alert(request: Request, db: DB, actor: Publish, incident_id: uuid.UUID, data: AlertCompose) -> AlertRead:
    """Publish a public alert (CAP msgType Alert) for an incident your agency leads."""
    alert = service.publish_alert(
        db, actor=actor, incident_id=incident_id, data=data, sender_domain=sender_domain(request)
    )
    db.commit()
    return alert_read(request, alert)


@router.get("/api/v1/incidents/{incident_id}/alert-sources", response_model=list[SourceRead])
def alert_sources(db: DB, actor: Read, incident_id: uuid.UUID) -> list[SourceRead]:
    """The outside CAP messages an imported incident report came from."""
    return [SourceRead.model_validate(s) for s in queries.sources_of(db, actor, incident_id)]


@router.get("/api/v1/alerts/{alert_id}", response_model=AlertRead)
def get_alert(request: Request, db: DB, actor: Read, alert_id: uuid.UUID) -> AlertRead:
    return alert_read(request, queries.get_alert(db, actor, alert_id))


@router.post("/api/v1/alerts/{alert_id}/update", response_model=AlertRead, status_code=201)
def update_alert(request: Request, db: DB, actor: Publish, alert_id: uuid.UUID, data: AlertCompose) -> AlertRead:
    """Publish an Update; its ``references`` name every earlier message of the alert."""
    alert = service.update_alert(db, actor=actor, alert_id=alert_id, data=data, sender_domain=sender_domain(request))
    db.commit()
    return alert_read(request, alert)


@router.post("/api/v1/alerts/{alert_id}/cancel", response_model=AlertRead, status_code=201)
def cancel_alert(request: Request, db: DB, actor: Publish, alert_id: uuid.UUID, data: AlertCancel) -> AlertRead:
    """Publish a Cancel of the alert."""
    alert = service.cancel_alert(
        db, actor=actor, alert_id=alert_id, note=data.note, sender_domain=sender_domain(request)
    )
    db.commit()
    return alert_read(request, alert)


# --- import ---------------------------------------------------------------------------

IMPORT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": ImportUrl.model_json_schema()},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "url": {"type": "string", "maxLength": 2000},
                        "agency_id": {"type": "string", "format": "uuid"},
                    },
                }
            },
            "application/xml": {"schema": {"type": "string", "description": "a CAP 1.2 alert or an Atom/RSS feed"}},
        },
    }
}


class ImportPayload:
    def __init__(self, *, data: bytes | None, url: str | None, agency_id: uuid.UUID | None) -> None:
        self.data, self.url, self.agency_id = data, url, agency_id


def _agency(value: object) -> uuid.UUID | None:
    if value in (None, ""):
        return None
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise InvalidInput("agency_id", "not an agency id (a UUID)") from None


async def import_payload(request: Request) -> ImportPayload:
    """The document or URL to import, whichever way it was sent."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    query_agency = _agency(request.query_params.get("agency_id"))
    if media == "application/json":
        try:
            body = ImportUrl.model_validate(json.loads(await request.body()))
        except (ValueError, UnicodeDecodeError) as exc:
            if isinstance(exc, ValidationError):
                raise InvalidInputs(
                    [
                        FieldProblem(".".join(str(p) for p in e["loc"]) or "body", str(e["msg"]))
                        for e in exc.errors(include_url=False)
                    ]
                ) from None
            raise InvalidInput("body", "not valid JSON") from None
        return ImportPayload(data=None, url=body.url, agency_id=body.agency_id or query_agency)
    if media == "multipart/form-data":
        form = await request.form(max_files=1, max_fields=10)
        upload, url = form.get("file"), str(form.get("url") or "").strip()
        agency = _agency(form.get("agency_id")) or query_agency
        if isinstance(upload, UploadFile) and (upload.filename or upload.size):
            return ImportPayload(data=await upload.read(MAX_DOCUMENT_BYTES + 1), url=None, agency_id=agency)
        if url:
            return ImportPayload(data=None, url=url, agency_id=agency)
        raise InvalidInput("file", "choose a CAP file or feed to upload, or give a URL")
    if media in XML_TYPES:
        return ImportPayload(data=await request.body(), url=None, agency_id=query_agency)
    raise AccordError(
        message="send a CAP alert or feed as XML (application/xml), a file upload (multipart/form-data) "
        'or {"url": ...} (application/json)',
        problems=[FieldProblem("content-type", f"'{media or 'none'}' is not accepted")],
        status_code=415,
        code="unsupported_media_type",
    )


@router.post("/api/v1/alerts/import", response_model=ImportReport, openapi_extra=IMPORT_BODY)
def import_alerts(db: DB, actor: Import, payload: Annotated[ImportPayload, Depends(import_payload)]) -> ImportReport:
    """Import a CAP 1.2 alert, or an Atom/RSS feed of them, as incident reports of your agency
    (``agency_id`` in the body, form or query; optional if you import for one agency only).
    One alert refused: 422 naming the CAP element and the reason. A feed: 200 with one
    result per entry (imported, updated, cancelled, duplicate or refused)."""
    report = service.import_alerts(db, actor=actor, agency_id=payload.agency_id, data=payload.data, url=payload.url)
    db.commit()  # refusals are audited too
    if report.kind == "alert" and report.results[0].outcome == "refused":
        raise InvalidInputs([FieldProblem(p.path, p.reason) for p in report.results[0].problems])
    return report


# --- public ---------------------------------------------------------------------------


def _limited(request: Request) -> None:
    limiter = getattr(request.app.state, "public_alerts_limiter", None)
    if limiter is None:
        limiter = SlidingWindowLimiter(request.app.state.settings.public_rate_per_minute, 60)
        request.app.state.public_alerts_limiter = limiter
    if not limiter.allow(request.client.host if request.client else "-"):
        raise RateLimited()


PublicRead = Annotated[Actor, Depends(Public("public alerts, as CAP 1.2 and Atom"))]
Limited = Depends(_limited)


@public_router.get(
    "/public/alerts.atom",
    dependencies=[Limited],
    response_class=Response,
    responses={200: {"content": {"application/atom+xml": {}}}},
)
def public_feed(request: Request, db: DB, _: PublicRead) -> Response:
    """Public alerts in force (and cancellations of the last day), newest first."""
    now = utcnow()
    body = atom_feed(
        queries.public_feed(db, now), base_url=str(request.base_url), title="Accord public alerts", now=now
    )
    return Response(body, media_type="application/atom+xml", headers={"Cache-Control": "public, max-age=60"})


@public_router.get(
    "/public/alerts/{alert_id}.xml",
    dependencies=[Limited],
    response_class=Response,
    responses={200: {"content": {CAP_MEDIA_TYPE: {}}}},
)
def public_alert(db: DB, _: PublicRead, alert_id: uuid.UUID) -> Response:
    """One published CAP 1.2 message, byte for byte as first served (SHA-256 in the ETag)."""
    alert = queries.public_alert(db, alert_id)
    return Response(
        alert.xml,
        media_type=CAP_MEDIA_TYPE,
        headers={"Cache-Control": "public, max-age=300", "ETag": f'"{alert.xml_sha256}"'},
    )
