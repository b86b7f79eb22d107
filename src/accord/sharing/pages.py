"""HTML pages of records: list and search with tier badges, detail with masked fields
shown as masked and the "why can I see this?" panel, the record form with its "who will
receive this?" preview, editing (new versions), history and attachments."""

from __future__ import annotations

import uuid
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.datastructures import FormData, UploadFile

from accord.accounts import queries as accounts
from accord.agreements import queries as agreements
from accord.agreements.vocab import LABELS, PURPOSES, RECORD_CATEGORIES, TIERS
from accord.authz import Actor, roles_by_agency
from accord.authz.deps import Permission
from accord.core.deps import DB
from accord.core.errors import AccordError, InvalidInput, PermissionDenied
from accord.core.time import utcnow
from accord.directory import queries as directory
from accord.sharing import access_report, aggregates, protect, queries, retention, service
from accord.sharing.access import Access, masked_body
from accord.sharing.categories import SPECS
from accord.sharing.schemas import (
    AccessReportFilter,
    AccessRowRead,
    LegalHoldSet,
    RecordCreate,
    RecordFilter,
    RecordUpdate,
    RetentionSet,
)
from accord.web.forms import errors_of
from accord.web.pdf import render_pdf
from accord.web.templating import flash, redirect, render, templates, verify_csrf

router = APIRouter(include_in_schema=False)
Read = Annotated[Actor, Depends(Permission("sharing:record:read"))]
Create = Annotated[Actor, Depends(Permission("sharing:record:create"))]
Update = Annotated[Actor, Depends(Permission("sharing:record:update"))]
Retention = Annotated[Actor, Depends(Permission("sharing:retention:manage"))]
Hold = Annotated[Actor, Depends(Permission("sharing:record:hold"))]
Aggregate = Annotated[Actor, Depends(Permission("sharing:aggregate:read"))]
Csrf = Depends(verify_csrf)
VOCAB = {
    "categories": RECORD_CATEGORIES,
    "tiers": TIERS,
    "tier_options": [(t, t) for t in TIERS],
    "purposes": PURPOSES,
    "labels": LABELS,
    "specs": SPECS,
}


@router.get("/records")
def records_page(
    request: Request, db: DB, actor: Read, q: str = "", category: str = "", tier: str = "", offset: int = 0
) -> Response:
    errors: dict[str, str] = {}
    try:
        filters = RecordFilter(q=q or None, category=category or None, tier=tier or None, offset=max(0, offset))
    except ValidationError as exc:
        errors, _ = errors_of(exc)
        filters = RecordFilter()
    rows, total = queries.list_records(db, actor, filters)
    service.log_reads(db, actor=actor, reads=rows, surface="list")
    db.commit()
    query = "&".join(f"{k}={v}" for k, v in (("q", q), ("category", category), ("tier", tier)) if v)
    context = {
        "rows": rows,
        "total": total,
        "filters": filters,
        "errors": errors,
        "agency_names": dict(directory.agency_options(db, actor)),
        "base": f"/records?{query}&" if query else "/records?",
        **VOCAB,
    }
    return render(request, "records/list.html", context)


AuditRead = Annotated[Actor, Depends(Permission("audit:event:read"))]


def _report_context(
    db: DB, actor: Actor, agency_id: str, since: str, until: str
) -> tuple[dict[str, Any], list[AccessRowRead]]:
    """The report's filters (from the query string) and its rows, or the errors to show."""
    errors: dict[str, str] = {}
    audited = [(a, n) for a, n in directory.agency_options(db, actor) if actor.has("audit:event:read", a)]
    rows: list[AccessRowRead] = []
    try:
        filters = AccessReportFilter(
            agency_id=agency_id or (audited[0][0] if audited else None),
            since=f"{since}T00:00:00Z" if since else None,
            until=f"{until}T00:00:00Z" if until else None,
        )
        if filters.agency_id is None:
            raise InvalidInput("agency_id", "you audit no agency")
        rows = access_report.access_report(
            db, actor, agency_id=filters.agency_id, since=filters.since, until=filters.until
        )
    except ValidationError as exc:
        errors, _ = errors_of(exc)
    except AccordError as exc:
        errors = {p.field: p.reason for p in exc.problems} or {"agency_id": exc.message}
    names = dict(audited)
    chosen = agency_id or (str(audited[0][0]) if audited else "")
    query = "&".join(f"{k}={v}" for k, v in (("agency_id", agency_id), ("since", since), ("until", until)) if v)
    context = {
        "rows": rows,
        "errors": errors,
        "audited": audited,
        "agency_id": chosen,
        "agency_name": next((n for a, n in names.items() if str(a) == chosen), ""),
        "since": since,
        "until": until,
        "query": query,
    }
    return context, rows


@router.get("/records/access-report")
def access_report_page(
    request: Request, db: DB, actor: AuditRead, agency_id: str = "", since: str = "", until: str = ""
) -> Response:
    """Who read our agency's records, when and under which clause; CSV and PDF alongside."""
    context, _ = _report_context(db, actor, agency_id, since, until)
    return render(request, "records/access_report.html", context, 422 if context["errors"] else 200)


@router.get("/records/access-report.pdf")
def access_report_pdf(
    request: Request, db: DB, actor: AuditRead, agency_id: str = "", since: str = "", until: str = ""
) -> Response:
    context, _ = _report_context(db, actor, agency_id, since, until)
    if context["errors"]:
        return render(request, "records/access_report.html", context, 422)
    html = templates.get_template("records/access_report_pdf.html").render({**context, "generated_at": utcnow()})
    return Response(
        render_pdf(html),
        media_type="application/pdf",
        headers={
            "Content-Disposition": 'inline; filename="accord-access-report.pdf"',
            "Cache-Control": "private, no-store",
        },
    )


@router.get("/records/new")
def record_new(request: Request, db: DB, actor: Create, category: str = "incident_report") -> Response:
    return render(request, "records/form.html", _form_context(db, actor, {"category": category, "tier": "AMBER"}))


@router.post("/records/new", dependencies=[Csrf])
async def record_create(request: Request, db: DB, actor: Create) -> Response:
    form = await request.form()
    raw = {k: v for k, v in form.items() if isinstance(v, str)}
    try:
        data = _create_payload(db, form)
        if raw.get("action") != "save":
            service.check_owner(db, actor=actor, owner_agency_id=data.owner_agency_id)
            preview = queries.recipients_preview(db, data)
            return render(request, "records/form.html", _form_context(db, actor, raw, preview=preview))
        record = service.create_record(db, actor=actor, data=data)
    except (ValidationError, AccordError) as exc:
        db.rollback()
        errors, message = _form_errors(exc)
        context = _form_context(db, actor, raw, errors=errors, message=message)
        return render(request, "records/form.html", context, 422)
    db.commit()
    flash(request, "success", f"Saved as TLP:{record.tier}. It is shared as the preview showed.")
    return redirect(request, f"/records/{record.id}")


# --- De-identified aggregates (ADR 0010) ------------------------------------------------
def _aggregates_context(db: DB, actor: Actor, params: list[tuple[str, str]]) -> tuple[dict[str, Any], int]:
    """The filters from the query string, the table of every area (the chart shows one)."""
    raw: dict[str, Any] = {k: v for k, v in params if k != "category"}
    chosen = [v for k, v in params if k == "category" and v]
    errors: dict[str, str] = {}
    table = None
    try:
        filters = aggregates.AggregateFilter(
            area=raw.get("area") or "jurisdiction",
            category=chosen,
            from_week=raw.get("from_week") or None,
            to_week=raw.get("to_week") or None,
            agency_id=raw.get("agency_id") or None,
        )
        table = aggregates.aggregate_table(db, actor, filters, surface="page")
    except ValidationError as exc:
        errors, _ = errors_of(exc)
    except AccordError as exc:
        if exc.status_code == 403:
            raise
        errors = {p.field: p.reason for p in exc.problems} or {"area": exc.message}
    area_id = None
    if table is not None:
        listed = {a.id for a in table.areas}
        area_id = raw.get("area_id") if raw.get("area_id") in listed else aggregates.default_area(table)
    mine = {m.agency_id for m in actor.memberships if aggregates.AGGREGATE in m.permissions}
    counting = [(a, n) for a, n in directory.agency_options(db, actor) if a in mine]
    kept = [("category", c) for c in chosen] + [(k, raw.get(k)) for k in ("area", "from_week", "to_week", "agency_id")]
    query = urlencode([(k, v) for k, v in kept if v])
    context = {
        "table": table,
        "chart": aggregates.chart_of(table, area_id) if table is not None else None,
        "area_id": area_id,
        "grid": {(c.category, c.week): c for c in table.cells if c.area_id == area_id} if table is not None else {},
        "area_names": {a.id: a.name for a in table.areas} if table is not None else {},
        "form": raw,
        "chosen": chosen,
        "errors": errors,
        "counting": counting,
        "query": query,
        "threshold": aggregates.THRESHOLD,
        "h3_resolution": aggregates.H3_RESOLUTION,
        **VOCAB,
    }
    return context, 422 if errors else 200


@router.get("/records/aggregates")
def aggregates_page(request: Request, db: DB, actor: Aggregate) -> Response:
    """De-identified trends: weekly counts per category of one area as a chart, the table
    under it, and the whole selection as CSV."""
    context, status = _aggregates_context(db, actor, request.query_params.multi_items())
    db.commit()
    return render(request, "records/aggregates.html", context, status)


def _retention_context(db: DB, actor: Actor, agency_id: uuid.UUID | None) -> dict[str, Any]:
    agencies = [(a, n) for a, n in directory.agency_options(db, actor) if a in roles_by_agency(actor, retention.MANAGE)]
    if not agencies:
        raise PermissionDenied(retention.MANAGE)
    chosen = agency_id if agency_id in {a for a, _ in agencies} else agencies[0][0]
    return {
        "agencies": agencies,
        "agency_id": chosen,
        "rows": retention.retention_of(db, actor, chosen),
        "errors": {},
        **VOCAB,
    }


@router.get("/records/retention")
def retention_page(request: Request, db: DB, actor: Retention, agency_id: uuid.UUID | None = None) -> Response:
    return render(request, "records/retention.html", _retention_context(db, actor, agency_id))


@router.post("/records/retention", dependencies=[Csrf])
async def retention_save(request: Request, db: DB, actor: Retention) -> Response:
    form = await request.form()
    try:
        agency_id = uuid.UUID(str(form.get("agency_id") or ""))
    except ValueError:
        raise InvalidInput("agency_id", "choose an agency") from None
    current = {r.category: r.retention_days for r in retention.retention_of(db, actor, agency_id)}
    errors: dict[str, str] = {}
    changes: dict[str, int | None] = {}
    for category in RECORD_CATEGORIES:
        raw = str(form.get(f"days_{category}") or "").strip()
        try:
            days = RetentionSet(retention_days=int(raw) if raw else None).retention_days
        except (ValueError, ValidationError):
            errors[category] = "a whole number of days from 1 to 36500, or empty to keep records until deleted"
            continue
        if days != current.get(category):
            changes[category] = days
    if errors:
        context = _retention_context(db, actor, agency_id) | {"errors": errors}
        return render(request, "records/retention.html", context, 422)
    for category, days in changes.items():
        retention.set_retention(db, actor=actor, agency_id=agency_id, category=category, retention_days=days)
    db.commit()
    flash(request, "success", f"Retention saved ({len(changes)} categor{'y' if len(changes) == 1 else 'ies'} changed).")
    return redirect(request, f"/records/retention?agency_id={agency_id}")


@router.post("/records/{record_id}/legal-hold", dependencies=[Csrf])
async def legal_hold(request: Request, record_id: uuid.UUID, db: DB, actor: Hold) -> Response:
    form = await request.form()
    place = form.get("action") == "place"
    try:
        reason = LegalHoldSet(reason=str(form.get("reason") or "")).reason if place else None
        retention.set_legal_hold(db, actor=actor, record_id=record_id, reason=reason)
    except ValidationError:
        flash(request, "error", "Not placed on hold: give the reason (3 to 500 characters).")
        return redirect(request, f"/records/{record_id}")
    except InvalidInput as exc:
        db.rollback()
        _, message = errors_of(exc)
        flash(request, "error", message)
        return redirect(request, f"/records/{record_id}")
    db.commit()
    flash(request, "success", "Legal hold placed: this record will not be purged." if place else "Legal hold released.")
    return redirect(request, f"/records/{record_id}")


@router.get("/records/{record_id}")
def record_page(request: Request, record_id: uuid.UUID, db: DB, actor: Read) -> Response:
    record, access = queries.get_record(db, actor, record_id)
    service.log_reads(db, actor=actor, reads=[(record, access)], surface="detail")
    db.commit()
    context = agreements.clause_context(db, [g.clause_id for g in access.grants])
    why: list[dict[str, Any]] = []
    for grant in access.grants:
        agreement, version, clause = context[grant.clause_id]
        why.append({"agreement": agreement, "version": version, "clause": clause, "grant": grant})
    context_vars = {
        "record": record,
        "access": access,
        "why": why,
        "fields": _fields(record.category, masked_body(record, access), access),
        "attachments": queries.attachments_of(db, actor, [record.id])[record.id],
        "can_update": record.owner_agency_id in roles_by_agency(actor, service.UPDATE),
        "can_hold": record.owner_agency_id in roles_by_agency(actor, retention.HOLD),
        "sealed": record.data_key_id is not None and protect.is_protected(record.tier_rank),
        "agency_names": dict(directory.agency_options(db, actor)),
        **VOCAB,
    }
    return render(request, "records/detail.html", context_vars)


def _fields(category: str, body: dict[str, Any], access: Access) -> list[tuple[Any, Any]]:
    specs = {s.name: s for s in SPECS[category]}
    return [(specs[name], body.get(name)) for name in specs if name in body or name in access.masked]


@router.get("/records/{record_id}/history")
def history_page(request: Request, record_id: uuid.UUID, db: DB, actor: Read) -> Response:
    record, revisions = queries.history(db, actor, record_id)
    service.log_reads(db, actor=actor, reads=[(record, a) for _, a in revisions[-1:]], surface="history")
    db.commit()
    context = {
        "record": record,
        "versions": _versions(revisions),
        "agency_names": dict(directory.agency_options(db, actor)),
        **VOCAB,
    }
    return render(request, "records/history.html", context)


def _versions(revisions: list[tuple[Any, Access]]) -> list[dict[str, Any]]:
    """Newest first, each with what changed since the version before it (as shown)."""
    versions: list[dict[str, Any]] = []
    previous: dict[str, Any] | None = None
    for revision, access in revisions:
        shown = masked_body(revision, access)
        state = {"tier": revision.tier, "purpose": revision.purpose, "title": revision.title, **shown}
        changed = [] if previous is None else sorted(k for k in state | previous if state.get(k) != previous.get(k))
        fields = _fields(revision.category, shown, access)
        versions.append({"revision": revision, "access": access, "fields": fields, "changed": changed})
        previous = state
    return list(reversed(versions))


# --- the record form ------------------------------------------------------------------


def _when(value: str) -> str:
    """The form's date and time are UTC (the label says so): mark them as such."""
    value = value.strip()
    return value + "Z" if value and "Z" not in value and "+" not in value[10:] else value


def _geometry(form: FormData) -> dict[str, Any] | None:
    lon, lat = str(form.get("longitude") or "").strip(), str(form.get("latitude") or "").strip()
    if not lon and not lat:
        return None
    if not lon or not lat:
        raise InvalidInput("longitude" if not lon else "latitude", "give both latitude and longitude, or neither")
    try:
        return {"type": "Point", "coordinates": [float(lon), float(lat)]}
    except ValueError:
        raise InvalidInput("longitude", "latitude and longitude are decimal degrees, e.g. 41.52 and -88.08") from None


def _recipients(db: DB, form: FormData) -> list[uuid.UUID]:
    found = []
    for name in str(form.get("red_recipients") or "").replace(",", " ").split():
        user_id = accounts.user_id_by_username(db, name)
        if user_id is None:
            raise InvalidInput("red_recipients", f"no such user: {name}")
        found.append(user_id)
    return found


def _body(form: FormData, category: str) -> dict[str, Any]:
    names = {s.name for s in SPECS.get(category, ())}
    return {n: v for n in names if (v := str(form.get(f"body.{n}") or "").strip())}


def _create_payload(db: DB, form: FormData) -> RecordCreate:
    category = str(form.get("category") or "")
    return RecordCreate(
        owner_agency_id=form.get("owner_agency_id") or None,
        category=category,
        tier=form.get("tier") or None,
        purpose=form.get("purpose") or None,
        title=str(form.get("title") or ""),
        body=_body(form, category),
        geometry=_geometry(form),
        event_at=_when(str(form.get("event_at") or "")),
        red_recipients=_recipients(db, form),
    )


def _form_errors(exc: Exception) -> tuple[dict[str, str], str]:
    """Per-field messages; body fields keep their full name (``body.summary``)."""
    errors, message = errors_of(exc)
    if isinstance(exc, AccordError):
        errors.update({p.field: p.reason for p in exc.problems if p.field.startswith("body.")})
    return errors, message


def _form_context(db: DB, actor: Actor, form: dict[str, Any], **extra: Any) -> dict[str, Any]:
    owners = [(a, n) for a, n in directory.agency_options(db, actor) if a in roles_by_agency(actor, service.CREATE)]
    category = form.get("category") or "incident_report"
    return {
        "form": form,
        "category": category if category in SPECS else "incident_report",
        "owners": owners,
        "errors": {},
        "preview": None,
        "names_by_id": {str(a): n for a, n in directory.agency_options(db, actor)},
        **VOCAB,
        **extra,
    }


def _edit_form(db: DB, record: Any) -> dict[str, Any]:
    form: dict[str, Any] = {
        "red_recipients": " ".join(accounts.usernames_of(db, [r.user_id for r in record.red_recipients])),
        "tier": record.tier,
        "purpose": record.purpose,
        "title": record.title,
        "event_at": record.event_at.strftime("%Y-%m-%dT%H:%M"),
        "revision": record.revision,
        **{f"body.{k}": v for k, v in record.body.items() if v is not None},
    }
    if record.geometry and record.geometry.get("type") == "Point":
        form["longitude"], form["latitude"] = record.geometry["coordinates"]
    return form


@router.get("/records/{record_id}/edit")
def record_edit(request: Request, record_id: uuid.UUID, db: DB, actor: Update) -> Response:
    record, _ = queries.get_record(db, actor, record_id)
    context = _form_context(db, actor, _edit_form(db, record), record=record)
    return render(request, "records/form.html", context)


@router.post("/records/{record_id}/edit", dependencies=[Csrf])
async def record_update(request: Request, record_id: uuid.UUID, db: DB, actor: Update) -> Response:
    form = await request.form()
    raw = {k: v for k, v in form.items() if isinstance(v, str)}
    record, _ = queries.get_record(db, actor, record_id)
    try:
        geometry = _geometry(form)
        data = RecordUpdate(
            revision=form.get("revision") or 0,
            tier=form.get("tier") or None,
            purpose=form.get("purpose") or None,
            title=str(form.get("title") or ""),
            body=_body(form, record.category),
            geometry=geometry,
            # Only a point is edited here: an area drawn elsewhere is kept as it is.
            clear_geometry=geometry is None and (record.geometry or {}).get("type") == "Point",
            event_at=_when(str(form.get("event_at") or "")),
            red_recipients=_recipients(db, form),
            note=str(form.get("note") or ""),
        )
        service.update_record(db, actor=actor, record_id=record_id, data=data)
    except (ValidationError, AccordError) as exc:
        db.rollback()
        errors, message = _form_errors(exc)
        record, _ = queries.get_record(db, actor, record_id)
        context = _form_context(db, actor, raw, record=record, errors=errors, message=message)
        return render(request, "records/form.html", context, 409 if getattr(exc, "status_code", 0) == 409 else 422)
    db.commit()
    flash(request, "success", "Saved as a new version; the earlier one stays in the history.")
    return redirect(request, f"/records/{record_id}")


@router.post("/records/{record_id}/attachments", dependencies=[Csrf])
async def attachment_upload(request: Request, record_id: uuid.UUID, db: DB, actor: Update) -> Response:
    form = await request.form()
    upload = form.get("file")
    limit = request.app.state.settings.max_attachment_bytes
    try:
        if not isinstance(upload, UploadFile):
            raise InvalidInput("file", "choose a file to attach")
        service.add_attachment(
            db,
            actor=actor,
            record_id=record_id,
            filename=upload.filename or "",
            declared_type=upload.content_type,
            content=await upload.read(limit + 1),
            label=str(form.get("label") or "") or None,
            max_bytes=limit,
        )
    except AccordError as exc:
        db.rollback()
        _, message = errors_of(exc)
        flash(request, "error", f"Not attached: {message}")
        return redirect(request, f"/records/{record_id}")
    db.commit()
    flash(request, "success", "Attached.")
    return redirect(request, f"/records/{record_id}")


@router.post("/records/{record_id}/attachments/{attachment_id}/delete", dependencies=[Csrf])
def attachment_delete(
    request: Request, record_id: uuid.UUID, attachment_id: uuid.UUID, db: DB, actor: Update
) -> Response:
    service.remove_attachment(db, actor=actor, record_id=record_id, attachment_id=attachment_id)
    db.commit()
    flash(request, "success", "Attachment removed.")
    return redirect(request, f"/records/{record_id}")
