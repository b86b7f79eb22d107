"""HTML pages of CAP alerts: an incident's public alerts (compose prefilled from the
incident, preview the XML, publish, update, cancel) and the import of outside alerts."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.datastructures import FormData, UploadFile

from accord.authz import Actor, roles_by_agency
from accord.authz.deps import Permission
from accord.core.deps import DB
from accord.core.errors import AccordError, InvalidInput
from accord.core.time import utcnow
from accord.directory import queries as directory
from accord.formats.cap import CATEGORIES, CERTAINTIES, RESPONSE_TYPES, SEVERITIES, URGENCIES
from accord.operations import queries as operations
from accord.operations.alerts import queries, service
from accord.operations.alerts.atom import alert_url
from accord.operations.alerts.models import IncidentAlert
from accord.operations.alerts.schemas import AlertCompose
from accord.operations.alerts.vocab import MAX_DOCUMENT_BYTES
from accord.web.forms import errors_of
from accord.web.templating import flash, redirect, render, verify_csrf

router = APIRouter(include_in_schema=False)
Read = Annotated[Actor, Depends(Permission("operations:incident:read"))]
Publish = Annotated[Actor, Depends(Permission("operations:alert:publish"))]
Import = Annotated[Actor, Depends(Permission("operations:alert:import"))]
Csrf = Depends(verify_csrf)
FIELDS = (
    "status",
    "category",
    "event",
    "response_type",
    "urgency",
    "severity",
    "certainty",
    "headline",
    "description",
    "instruction",
    "area_desc",
    "radius_km",
    "effective",
    "expires",
)
VOCAB = {
    "statuses": [("Actual", "Actual"), ("Exercise", "Exercise"), ("Test", "Test")],
    "categories": [(c, c) for c in CATEGORIES],
    "responses": [(r, r) for r in RESPONSE_TYPES],
    "urgencies": [(u, u) for u in URGENCIES],
    "severities": [(s, s) for s in SEVERITIES],
    "certainties": [(c, c) for c in CERTAINTIES],
}


def _threads(messages: list[IncidentAlert]) -> list[dict[str, Any]]:
    """Alerts with their messages (first to last), newest alert first."""
    by_thread: dict[uuid.UUID, list[IncidentAlert]] = {}
    for message in sorted(messages, key=lambda m: m.sequence):
        by_thread.setdefault(message.thread_id, []).append(message)
    threads = []
    for thread in by_thread.values():
        last = thread[-1]
        if last.msg_type == "Cancel":
            state = "cancelled"
        elif last.expires_at is not None and last.expires_at <= utcnow():
            state = "expired"
        else:
            state = "in force"
        threads.append({"messages": thread, "last": last, "state": state})
    return sorted(threads, key=lambda t: t["last"].sent_at, reverse=True)


def _when(value: str) -> str | None:
    """The form's times are UTC (the labels say so)."""
    value = value.strip()
    if not value:
        return None
    return value + "Z" if "Z" not in value and "+" not in value[10:] else value


def _compose(form: FormData) -> AlertCompose:
    raw = {k: str(form.get(k) or "").strip() for k in FIELDS}
    return AlertCompose.model_validate(
        {
            **{k: v for k, v in raw.items() if k not in ("response_type", "radius_km", "effective", "expires")},
            "response_type": raw["response_type"] or None,
            "radius_km": raw["radius_km"] or 1.0,
            "effective": _when(raw["effective"]),
            "expires": _when(raw["expires"]),
        }
    )


def _context(db: DB, actor: Actor, request: Request, incident_id: uuid.UUID, **extra: Any) -> dict[str, Any]:
    incident = operations.get_incident(db, actor, incident_id)
    messages = queries.list_alerts(db, actor, incident_id)
    can_publish = incident.lead_agency_id in roles_by_agency(actor, service.PUBLISH)
    context: dict[str, Any] = {
        "incident": incident,
        "threads": _threads(messages),
        "can_publish": can_publish,
        "sources": queries.sources_of(db, actor, incident_id),
        "base_url": str(request.base_url).rstrip("/"),
        "alert_url": lambda a: alert_url(str(request.base_url), a.id),
        "form": {},
        "errors": {},
        "message": None,
        "preview": None,
        "replaces": None,
        **VOCAB,
    }
    if can_publish and incident.status != "closed":
        context["form"] = service.draft_for(db, actor=actor, incident_id=incident_id).model_dump(mode="json")
    context.update(extra)
    return context


@router.get("/incidents/{incident_id}/alerts")
def alerts_page(
    request: Request, db: DB, actor: Read, incident_id: uuid.UUID, update: uuid.UUID | None = None
) -> Response:
    """The incident's public alerts; its lead agency's commanders compose, preview and publish."""
    extra: dict[str, Any] = {}
    if update is not None:
        previous = queries.get_alert(db, actor, update)
        if previous.incident_id != incident_id:
            raise InvalidInput("update", "this alert belongs to another incident")
        last = queries.thread_of(db, actor, previous)[-1]
        extra = {"replaces": last, "form": service.draft_from_message(last)}
    return render(request, "alerts/incident.html", _context(db, actor, request, incident_id, **extra))


@router.post("/incidents/{incident_id}/alerts", dependencies=[Csrf])
async def alerts_publish(request: Request, db: DB, actor: Publish, incident_id: uuid.UUID) -> Response:
    form = await request.form()
    raw = {k: v for k, v in form.items() if isinstance(v, str)}
    replaces_id: uuid.UUID | None = None
    replaces = None
    if raw.get("replaces"):
        try:
            replaces_id = uuid.UUID(raw["replaces"])
        except ValueError:
            raise InvalidInput("replaces", "not an alert id") from None
        replaces = queries.get_alert(db, actor, replaces_id)
    try:
        data = _compose(form)
        domain = str(request.app.state.settings.cap_sender)
        if raw.get("action") != "publish":
            _, xml = service.preview_alert(
                db, actor=actor, incident_id=incident_id, data=data, sender_domain=domain, replaces_id=replaces_id
            )
            context = _context(db, actor, request, incident_id, form=raw, replaces=replaces, preview=xml.decode())
            return render(request, "alerts/incident.html", context)
        if replaces_id is not None:
            if replaces is None or replaces.incident_id != incident_id:
                raise InvalidInput("replaces", "this alert belongs to another incident")
            published = service.update_alert(db, actor=actor, alert_id=replaces_id, data=data, sender_domain=domain)
        else:
            published = service.publish_alert(db, actor=actor, incident_id=incident_id, data=data, sender_domain=domain)
    except (ValidationError, AccordError) as exc:
        db.rollback()
        errors, message = errors_of(exc)
        context = _context(db, actor, request, incident_id, form=raw, replaces=replaces, errors=errors, message=message)
        return render(request, "alerts/incident.html", context, 409 if getattr(exc, "status_code", 0) == 409 else 422)
    db.commit()
    flash(request, "success", f"Published {published.identifier} ({published.msg_type}) as CAP 1.2.")
    return redirect(request, f"/incidents/{incident_id}/alerts")


@router.post("/incidents/{incident_id}/alerts/{alert_id}/cancel", dependencies=[Csrf])
async def alerts_cancel(
    request: Request, db: DB, actor: Publish, incident_id: uuid.UUID, alert_id: uuid.UUID
) -> Response:
    form = await request.form()
    note = str(form.get("note") or "").strip()
    try:
        if queries.get_alert(db, actor, alert_id).incident_id != incident_id:
            raise InvalidInput("alert_id", "this alert belongs to another incident")
        if len(note) < 3:
            raise InvalidInput("note", "say why the alert is cancelled (3 to 1000 characters)")
        cancelled = service.cancel_alert(
            db,
            actor=actor,
            alert_id=alert_id,
            note=note[:1000],
            sender_domain=str(request.app.state.settings.cap_sender),
        )
    except AccordError as exc:
        db.rollback()
        _, message = errors_of(exc)
        flash(request, "error", f"Not cancelled: {message}")
        return redirect(request, f"/incidents/{incident_id}/alerts")
    db.commit()
    flash(request, "success", f"Published the cancellation {cancelled.identifier}.")
    return redirect(request, f"/incidents/{incident_id}/alerts")


# --- import ---------------------------------------------------------------------------


def _import_context(db: DB, actor: Actor, **extra: Any) -> dict[str, Any]:
    mine = set(service.importing_agencies(actor))
    agencies = [(a, n) for a, n in directory.agency_options(db, actor) if a in mine]
    return {"agencies": agencies, "form": {}, "errors": {}, "message": None, "report": None, **extra}


@router.get("/alerts/import")
def import_page(request: Request, db: DB, actor: Import) -> Response:
    return render(request, "alerts/import.html", _import_context(db, actor))


@router.post("/alerts/import", dependencies=[Csrf])
async def import_submit(request: Request, db: DB, actor: Import) -> Response:
    form = await request.form(max_files=1, max_fields=10)
    raw = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}
    upload = form.get("file")
    url = str(form.get("url") or "").strip()
    try:
        agency = uuid.UUID(raw["agency_id"]) if raw.get("agency_id") else None
    except ValueError:
        agency = None
    try:
        if isinstance(upload, UploadFile) and upload.filename:
            data: bytes | None = await upload.read(MAX_DOCUMENT_BYTES + 1)
            url = ""
        elif url:
            data = None
        else:
            raise InvalidInput("file", "choose a CAP file or feed to upload, or give a URL")
        report = service.import_alerts(db, actor=actor, agency_id=agency, data=data, url=url or None)
    except AccordError as exc:
        db.rollback()
        errors, message = errors_of(exc)
        context = _import_context(db, actor, form=raw, errors=errors, message=message)
        return render(request, "alerts/import.html", context, 422)
    db.commit()
    refused = report.kind == "alert" and report.results[0].outcome == "refused"
    context = _import_context(db, actor, form=raw, report=report)
    return render(request, "alerts/import.html", context, 422 if refused else 200)
