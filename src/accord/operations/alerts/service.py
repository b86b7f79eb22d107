"""Commands on CAP alerts: publish an incident's public alert (and its updates and
cancellation), and import outside alerts as incident reports. Every change writes its
audit event and its live event in the same transaction; nothing here commits."""

from __future__ import annotations

import hashlib
import uuid
from collections import Counter
from dataclasses import replace
from datetime import UTC, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from accord.audit.service import record_event
from accord.authz import Actor, MembershipGrant, roles_by_agency
from accord.core import events
from accord.core.errors import (
    AccordError,
    Conflict,
    FieldProblem,
    InvalidInput,
    InvalidInputs,
    NotFound,
    PermissionDenied,
)
from accord.core.time import utcnow
from accord.directory import queries as directory
from accord.formats.cap import CapAlert, CapInfo, CapInvalid, CapProblem, CapReference, build_cap, parse_cap
from accord.operations import queries as operations
from accord.operations import service as incidents
from accord.operations.alerts import queries
from accord.operations.alerts.mapping import cap_area_of, choose_info, report_of, shorten
from accord.operations.alerts.models import ImportedAlert, IncidentAlert
from accord.operations.alerts.schemas import AlertCompose, ImportReport, ImportResult, ProblemRead
from accord.operations.alerts.sources import Document, Fetcher, fetch, gather
from accord.operations.alerts.vocab import (
    CAP_SEVERITY_OF,
    CATEGORY_OF_TYPE,
    IMPORTED_STATUSES,
    INSTRUCTION_OF_TYPE,
    RESPONSE_OF_TYPE,
)
from accord.operations.models import Incident
from accord.operations.schemas import IncidentCreate, IncidentUpdate
from accord.operations.vocab import INCIDENT_TYPES

PUBLISH, IMPORT = "operations:alert:publish", "operations:alert:import"
READ = "operations:incident:read"
DEFAULT_LIFETIME = timedelta(hours=24)
OUTCOMES = ("imported", "updated", "cancelled", "duplicate", "refused")
MAX_TOKEN = 300  # longest sender or identifier kept
# Which field of the compose form a CAP element comes from, to name it in a refusal.
_FIELD_OF_ELEMENT = {
    "event": "event",
    "headline": "headline",
    "description": "description",
    "instruction": "instruction",
    "areaDesc": "area_desc",
    "polygon": "area",
    "circle": "area",
    "effective": "effective",
    "expires": "expires",
    "note": "note",
}


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- out: publishing ------------------------------------------------------------------


def draft_for(db: Session, *, actor: Actor, incident_id: uuid.UUID) -> AlertCompose:
    """A public alert prefilled from the incident: its type's event and category, its
    severity, name, summary and area; urgent and observed once the incident is active."""
    incident = operations.get_incident(db, actor, incident_id)
    active = incident.status in ("active", "contained")
    return AlertCompose(
        category=CATEGORY_OF_TYPE.get(incident.type, "Other"),
        event=INCIDENT_TYPES.get(incident.type, "Incident"),
        response_type=RESPONSE_OF_TYPE.get(incident.type),
        urgency="Immediate" if active else "Expected",
        severity=CAP_SEVERITY_OF.get(incident.severity, "Unknown"),
        certainty="Observed" if active else "Likely",
        headline=shorten(incident.name, 160),
        description=incident.summary[:4000],
        instruction=INSTRUCTION_OF_TYPE.get(incident.type, ""),
        area_desc=shorten(incident.name, 200),
    )


def _lead_publisher(db: Session, actor: Actor, incident: Incident) -> Any:
    if incident.lead_agency_id not in roles_by_agency(actor, PUBLISH):
        raise PermissionDenied(PUBLISH, incident.lead_agency_id, "only the lead agency's commanders publish its alerts")
    return directory.get_agency(db, actor, incident.lead_agency_id)


def _info_of(incident: Incident, agency: Any, data: AlertCompose, sent: Any) -> CapInfo:
    effective = (data.effective or sent).replace(microsecond=0)
    expires = (data.expires or effective + DEFAULT_LIFETIME).replace(microsecond=0)
    if expires <= sent:
        raise InvalidInput("expires", "must be in the future")
    area = cap_area_of(
        area_desc=data.area_desc, area=incident.area, location=incident.location, radius_km=data.radius_km
    )
    if area is None:
        raise InvalidInput("area_desc", "the incident has no area or location; give it one before alerting the public")
    return CapInfo(
        language="en-US",
        categories=(data.category,),
        event=data.event,
        response_types=(data.response_type,) if data.response_type else (),
        urgency=data.urgency,
        severity=data.severity,
        certainty=data.certainty,
        effective=effective,
        expires=expires,
        sender_name=agency.name[:200],
        headline=data.headline,
        description=data.description or None,
        instruction=data.instruction or None,
        contact=agency.duty_phone or None,
        areas=(area,),
    )


def _cancel_info(previous: IncidentAlert, sent: Any, note: str) -> CapInfo:
    """A cancellation repeats the last message's event and area, says "all clear"."""
    last = parse_cap(previous.xml).infos[0]
    expires = last.expires if last.expires is not None and last.expires > sent else None
    return replace(
        last,
        response_types=("AllClear",),
        urgency="Past",
        effective=sent,
        onset=None,
        expires=expires,
        headline=shorten(f"Cancelled: {last.headline or last.event}", 160),
        description=note,
        instruction=None,
    )


def _build(alert: CapAlert) -> bytes:
    try:
        return build_cap(alert)
    except CapInvalid as exc:
        problems = []
        for problem in exc.problems:
            element = problem.path.rsplit("/", 1)[-1].split("[")[0]
            problems.append(FieldProblem(_FIELD_OF_ELEMENT.get(element, problem.path), problem.reason))
        raise InvalidInputs(problems) from None


def _compose(
    db: Session,
    *,
    actor: Actor,
    incident: Incident,
    msg_type: str,
    data: AlertCompose | None,
    thread: list[IncidentAlert],
    note: str,
    sender_domain: str,
) -> tuple[CapAlert, bytes]:
    agency = _lead_publisher(db, actor, incident)
    if incident.status == "closed" and msg_type != "Cancel":
        raise Conflict("status", "the incident is closed; only a cancellation of its alerts may still be published")
    if thread and thread[-1].msg_type == "Cancel":
        raise Conflict("alert_id", "this alert was cancelled; publish a new alert instead")
    sent = utcnow().replace(microsecond=0)
    number = queries.count_for_incident(db, actor, incident.id) + 1
    if data is not None:
        info = _info_of(incident, agency, data, sent)
        status = data.status
    else:
        info = _cancel_info(thread[-1], sent, note)
        status = thread[-1].status  # type: ignore[assignment]
    alert = CapAlert(
        identifier=f"ACCORD-{incident.number}-{number:03d}",
        sender=f"{agency.short_name.lower()}@{sender_domain}",
        sent=sent,
        status=status,
        msg_type=msg_type,  # type: ignore[arg-type]
        scope="Public",
        note=note or None,
        references=tuple(CapReference(m.sender, m.identifier, m.sent_at) for m in thread),
        infos=(info,),
    )
    return alert, _build(alert)


def preview_alert(
    db: Session,
    *,
    actor: Actor,
    incident_id: uuid.UUID,
    data: AlertCompose,
    sender_domain: str,
    replaces_id: uuid.UUID | None = None,
) -> tuple[CapAlert, bytes]:
    """The CAP 1.2 XML that publishing would serve now; nothing is stored."""
    incident = operations.get_incident(db, actor, incident_id)
    thread = _thread(db, actor, incident, replaces_id)
    msg_type = "Update" if thread else "Alert"
    return _compose(
        db,
        actor=actor,
        incident=incident,
        msg_type=msg_type,
        data=data,
        thread=thread,
        note="",
        sender_domain=sender_domain,
    )


def _thread(db: Session, actor: Actor, incident: Incident, alert_id: uuid.UUID | None) -> list[IncidentAlert]:
    if alert_id is None:
        return []
    alert = queries.get_alert(db, actor, alert_id)
    if alert.incident_id != incident.id:
        raise NotFound("alert")
    return queries.thread_of(db, actor, alert)


def _store(
    db: Session, *, actor: Actor, incident: Incident, alert: CapAlert, xml: bytes, thread: list[IncidentAlert]
) -> IncidentAlert:
    info = alert.infos[0]
    row_id = uuid.uuid4()
    row = IncidentAlert(
        id=row_id,
        incident_id=incident.id,
        agency_id=incident.lead_agency_id,
        thread_id=thread[0].thread_id if thread else row_id,
        sequence=thread[-1].sequence + 1 if thread else 1,
        msg_type=alert.msg_type,
        status=alert.status,
        identifier=alert.identifier,
        sender=alert.sender,
        sent_at=alert.sent,
        effective_at=info.effective,
        expires_at=info.expires,
        event=info.event[:200],
        headline=(info.headline or info.event)[:200],
        urgency=info.urgency,
        severity=info.severity,
        certainty=info.certainty,
        note=alert.note or "",
        xml=xml,
        xml_sha256=sha256_of(xml),
        published_by_user_id=actor.user_id,
    )
    try:
        with db.begin_nested():
            db.add(row)
            db.flush()
    except IntegrityError:
        raise Conflict("alert_id", "another message of this alert was published at the same moment; reload") from None
    record_event(
        db,
        actor=actor,
        action="operations.alert.publish",
        agency_id=incident.lead_agency_id,
        object_type="incident_alert",
        object_id=row.id,
        details={
            "incident_id": str(incident.id),
            "msg_type": row.msg_type,
            "identifier": row.identifier,
            "sha256": row.xml_sha256,
            "thread_id": str(row.thread_id),
        },
    )
    kind = {"Alert": "published", "Update": "updated", "Cancel": "cancelled"}[row.msg_type]
    events.emit(
        db,
        kind=f"incident_alert.{kind}",
        object_type="incident_alert",
        object_id=row.id,
        agency_id=incident.lead_agency_id,
        payload={"incident_id": str(incident.id), "thread_id": str(row.thread_id), "msg_type": row.msg_type},
    )
    return row


def publish_alert(
    db: Session, *, actor: Actor, incident_id: uuid.UUID, data: AlertCompose, sender_domain: str
) -> IncidentAlert:
    """Publish a new public alert (msgType Alert) for an incident the caller's agency leads."""
    incident = operations.get_incident(db, actor, incident_id)
    alert, xml = _compose(
        db, actor=actor, incident=incident, msg_type="Alert", data=data, thread=[], note="", sender_domain=sender_domain
    )
    return _store(db, actor=actor, incident=incident, alert=alert, xml=xml, thread=[])


def update_alert(
    db: Session, *, actor: Actor, alert_id: uuid.UUID, data: AlertCompose, sender_domain: str
) -> IncidentAlert:
    """Publish an Update of an alert; its ``references`` name every earlier message."""
    previous = queries.get_alert(db, actor, alert_id)
    incident = operations.get_incident(db, actor, previous.incident_id)
    thread = queries.thread_of(db, actor, previous)
    alert, xml = _compose(
        db,
        actor=actor,
        incident=incident,
        msg_type="Update",
        data=data,
        thread=thread,
        note="",
        sender_domain=sender_domain,
    )
    return _store(db, actor=actor, incident=incident, alert=alert, xml=xml, thread=thread)


def cancel_alert(db: Session, *, actor: Actor, alert_id: uuid.UUID, note: str, sender_domain: str) -> IncidentAlert:
    """Publish a Cancel of an alert (allowed after the incident closed, too)."""
    previous = queries.get_alert(db, actor, alert_id)
    incident = operations.get_incident(db, actor, previous.incident_id)
    thread = queries.thread_of(db, actor, previous)
    alert, xml = _compose(
        db,
        actor=actor,
        incident=incident,
        msg_type="Cancel",
        data=None,
        thread=thread,
        note=note,
        sender_domain=sender_domain,
    )
    return _store(db, actor=actor, incident=incident, alert=alert, xml=xml, thread=thread)


# --- in: importing --------------------------------------------------------------------


def importing_agencies(actor: Actor) -> list[uuid.UUID]:
    return list(roles_by_agency(actor, IMPORT))


def _on_behalf(actor: Actor, agency_id: uuid.UUID) -> Actor:
    """The importer acting for its agency: exactly the rights needed to open, change and
    read the reports the agency leads (``operations.service`` checks them), and nothing
    else. Audit events still name the importing user."""
    grant = MembershipGrant(agency_id, "cap_import", frozenset({incidents.CREATE, incidents.UPDATE, READ}))
    return replace(actor, memberships=(grant,))


def import_alerts(
    db: Session,
    *,
    actor: Actor,
    agency_id: uuid.UUID | None,
    data: bytes | None = None,
    url: str | None = None,
    fetcher: Fetcher = fetch,
) -> ImportReport:
    """Import one CAP alert or a feed of them (uploaded, or fetched from ``url``) as incident
    reports led by ``agency_id``; one result, and one audit event, per alert."""
    allowed = importing_agencies(actor)
    if agency_id is None:
        if len(allowed) != 1:
            reason = "name the importing agency: you import for several" if allowed else "you import for no agency"
            raise InvalidInput("agency_id", reason)
        agency_id = allowed[0]
    if agency_id not in allowed:
        raise PermissionDenied(IMPORT, agency_id)
    if (data is None) == (url is None):
        raise InvalidInput("body", "give a CAP alert or feed document, or a URL to fetch one from")
    gathered = gather(data=data, url=url, fetcher=fetcher)  # network first, then the database
    agent = _on_behalf(actor, agency_id)
    results = [_import_one(db, actor=actor, agent=agent, agency_id=agency_id, document=d) for d in gathered.documents]
    counts: Counter[str] = Counter(r.outcome for r in results)
    return ImportReport(
        kind="feed" if gathered.kind == "feed" else "alert",
        agency_id=agency_id,
        results=results,
        counts={outcome: counts[outcome] for outcome in OUTCOMES},
    )


def _refuse(
    db: Session,
    *,
    actor: Actor,
    agency_id: uuid.UUID,
    document: Document,
    problems: list[CapProblem],
    alert: CapAlert | None = None,
    digest: str | None = None,
) -> ImportResult:
    record_event(
        db,
        actor=actor,
        action="operations.alert.import",
        outcome="failure",
        agency_id=agency_id,
        object_type="incident_alert_import",
        details={
            "entry": document.label,
            "source_url": document.source_url,
            "sha256": digest,
            "sender": alert.sender if alert else None,
            "identifier": alert.identifier if alert else None,
            "problems": [[p.path, p.reason[:300]] for p in problems[:5]],
        },
    )
    return ImportResult(
        entry=document.label,
        source_url=document.source_url,
        outcome="refused",
        sender=alert.sender if alert else None,
        identifier=alert.identifier if alert else None,
        msg_type=alert.msg_type if alert else None,
        problems=[ProblemRead(path=p.path, reason=p.reason) for p in problems],
    )


def _import_rules(alert: CapAlert) -> list[CapProblem]:
    """What keeps a valid CAP alert from becoming an incident report."""
    problems = []
    if alert.status not in IMPORTED_STATUSES:
        problems.append(
            CapProblem("/alert/status", f"'{alert.status}' messages are not incident reports; only Actual and Exercise")
        )
    if alert.msg_type in ("Ack", "Error"):
        problems.append(
            CapProblem("/alert/msgType", f"an {alert.msg_type} message answers another sender; it reports nothing")
        )
    for name, value in (("sender", alert.sender), ("identifier", alert.identifier)):
        if len(value) > MAX_TOKEN:
            problems.append(CapProblem(f"/alert/{name}", f"is longer than {MAX_TOKEN} characters"))
    return problems


def _import_one(db: Session, *, actor: Actor, agent: Actor, agency_id: uuid.UUID, document: Document) -> ImportResult:
    if document.data is None:
        return _refuse(db, actor=actor, agency_id=agency_id, document=document, problems=list(document.problems))
    digest = sha256_of(document.data)
    try:
        alert = parse_cap(document.data)
    except CapInvalid as exc:
        return _refuse(
            db, actor=actor, agency_id=agency_id, document=document, problems=list(exc.problems), digest=digest
        )
    refused = _import_rules(alert)
    if refused:
        return _refuse(
            db, actor=actor, agency_id=agency_id, document=document, problems=refused, alert=alert, digest=digest
        )
    result = ImportResult(
        entry=document.label,
        source_url=document.source_url,
        outcome="duplicate",
        sender=alert.sender,
        identifier=alert.identifier,
        msg_type=alert.msg_type,
    )
    existing = queries.find_import(db, agent, agency_id, alert.sender, alert.identifier)
    if existing is None:
        try:
            with db.begin_nested():
                existing = _apply(db, actor=actor, agent=agent, agency_id=agency_id, alert=alert, result=result)
                existing.xml_sha256, existing.source_url = digest, document.source_url
                db.add(existing)
                db.flush()
        except _Refused as exc:
            problems = exc.problems
            return _refuse(
                db, actor=actor, agency_id=agency_id, document=document, problems=problems, alert=alert, digest=digest
            )
        except AccordError as exc:
            problems = [CapProblem(_cap_path(p.field), p.reason) for p in exc.problems] or [
                CapProblem("/alert", exc.message)
            ]
            return _refuse(
                db, actor=actor, agency_id=agency_id, document=document, problems=problems, alert=alert, digest=digest
            )
        except ValidationError as exc:
            problems = [CapProblem("/alert/info", str(e["msg"])) for e in exc.errors(include_url=False)]
            return _refuse(
                db, actor=actor, agency_id=agency_id, document=document, problems=problems, alert=alert, digest=digest
            )
        except IntegrityError:  # the same alert imported by a concurrent request
            existing = queries.find_import(db, agent, agency_id, alert.sender, alert.identifier)
            result.outcome = "duplicate"
        else:
            events.emit(
                db,
                kind="incident_alert.imported",
                object_type="incident_alert_import",
                object_id=existing.id,
                agency_id=agency_id,
                payload={"incident_id": str(existing.incident_id), "outcome": result.outcome},
            )
    if existing is not None:
        result.incident_id = existing.incident_id
        incident = db.get(Incident, existing.incident_id)
        result.incident_number = incident.number if incident is not None else None
    record_event(
        db,
        actor=actor,
        action="operations.alert.import",
        agency_id=agency_id,
        object_type="incident",
        object_id=result.incident_id,
        details={
            "outcome": result.outcome,
            "entry": document.label,
            "source_url": document.source_url,
            "sender": alert.sender,
            "identifier": alert.identifier,
            "msg_type": alert.msg_type,
            "sha256": digest,
        },
    )
    return result


class _Refused(Exception):
    def __init__(self, path: str, reason: str) -> None:
        super().__init__(reason)
        self.problems = [CapProblem(path, reason)]


_CAP_PATH_OF_FIELD = {"area": "/alert/info/area", "location": "/alert/info/area", "name": "/alert/info/headline"}


def _cap_path(field: str) -> str:
    head = field.split(".", 1)[0].split("[", 1)[0]
    return _CAP_PATH_OF_FIELD.get(head, f"/alert ({field})")


def _apply(
    db: Session, *, actor: Actor, agent: Actor, agency_id: uuid.UUID, alert: CapAlert, result: ImportResult
) -> ImportedAlert:
    """Open, change or close the report; the source row is returned unsaved."""
    target = queries.referenced_import(db, agent, agency_id, ((r.sender, r.identifier) for r in alert.references))
    info = choose_info(alert)
    if alert.msg_type == "Cancel":
        if target is None:
            raise _Refused("/alert/references", "names no alert this agency imported; there is nothing to cancel")
        incident = operations.get_incident(db, agent, target.incident_id)
        if incident.status == "closed":
            result.notes.append(f"report {incident.number} was already closed")
        else:
            incidents.update_incident(db, actor=agent, incident_id=incident.id, data=IncidentUpdate(status="closed"))
        result.outcome = "cancelled"
    elif info is None:
        raise _Refused("/alert/info", "the alert has no <info>, so there is nothing to report")
    elif target is not None:
        incident = operations.get_incident(db, agent, target.incident_id)
        if incident.status == "closed":
            raise _Refused("/alert/references", f"updates report {incident.number}, which is closed")
        report = report_of(alert, info, now=utcnow())
        incidents.update_incident(
            db,
            actor=agent,
            incident_id=incident.id,
            data=IncidentUpdate(
                name=report.name,
                severity=report.severity,
                summary=report.summary,
                area=report.place.area,
                location=report.place.location,
            ),
        )
        result.notes.extend(report.place.notes)
        result.outcome = "updated"
    else:
        report = report_of(alert, info, now=utcnow())
        if alert.msg_type == "Update":
            result.notes.append("it updates no alert imported before, so it opens a new report")
        incident = incidents.create_incident(
            db,
            actor=agent,
            data=IncidentCreate(
                lead_agency_id=agency_id,
                name=report.name,
                type=report.type,
                severity=report.severity,
                tier=report.tier,
                summary=report.summary,
                area=report.place.area,
                location=report.place.location,
                started_at=report.started_at,
            ),
        )
        result.notes.extend(report.place.notes)
        result.outcome = "imported"
    return ImportedAlert(
        agency_id=agency_id,
        incident_id=incident.id,
        sender=alert.sender,
        identifier=alert.identifier,
        sent_at=alert.sent,
        msg_type=alert.msg_type,
        status=alert.status,
        scope=alert.scope,
        event=(info.event if info else "")[:200],
        outcome=result.outcome,
        xml_sha256="",
        imported_by_user_id=actor.user_id,
    )


def draft_from_message(message: IncidentAlert) -> dict[str, Any]:
    """The compose form's values taken from a published message (to write its Update)."""
    info = parse_cap(message.xml).infos[0]
    area = info.areas[0] if info.areas else None
    return {
        "status": message.status,
        "category": info.categories[0],
        "event": info.event,
        "response_type": info.response_types[0] if info.response_types else "",
        "urgency": info.urgency,
        "severity": info.severity,
        "certainty": info.certainty,
        "headline": info.headline or "",
        "description": info.description or "",
        "instruction": info.instruction or "",
        "area_desc": area.area_desc if area else "",
        "radius_km": str(area.circles[0].radius_km) if area and area.circles else "1",
        "expires": info.expires.astimezone(UTC).strftime("%Y-%m-%dT%H:%M") if info.expires else "",
    }
