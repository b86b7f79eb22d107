"""HTML pages of deconfliction: one's own planned operations with the notices addressed
to the agency (count badge), the registration form with a small map to click a point
(or a pasted GeoJSON area), and each operation with its conflicts."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import ValidationError

from accord.authz import Actor, roles_by_agency
from accord.authz.deps import Permission
from accord.core.deps import DB
from accord.core.errors import AccordError
from accord.directory import queries as directory
from accord.operations.deconfliction import queries, service
from accord.operations.deconfliction.schemas import (
    ConflictCheck,
    NoticeFilter,
    PlannedOperationCreate,
    PlannedOperationFilter,
    PlannedOperationUpdate,
)
from accord.operations.deconfliction.vocab import KINDS
from accord.web.forms import errors_of, form_dict
from accord.web.templating import flash, redirect, render, verify_csrf

router = APIRouter(include_in_schema=False)
Read = Annotated[Actor, Depends(Permission("operations:planned:read"))]
Manage = Annotated[Actor, Depends(Permission("operations:planned:manage"))]
Csrf = Depends(verify_csrf)
BASE = "/operations/planned"


@router.get(BASE)
def planned_page(request: Request, db: DB, actor: Read, status: str = "planned") -> Response:
    """Your agency's planned operations and the notices addressed to it."""
    chosen = status if status in ("planned", "cancelled", "completed", "all") else "planned"
    filters = PlannedOperationFilter(status=None if chosen == "all" else chosen, limit=200)
    operations, total = queries.list_operations(db, actor, filters)
    counts = queries.open_conflict_counts(db, actor, [op.id for op in operations])
    notices, _ = queries.list_notices(db, actor, NoticeFilter(limit=200))
    titles = queries.operation_titles(db, actor, [n.operation_id for n in notices if n.operation_id is not None])
    context = {
        "titles": titles,
        "operations": operations,
        "total": total,
        "counts": counts,
        "status": chosen,
        "notices": queries.conflict_views(db, actor, notices),
        "unacknowledged": queries.unacknowledged_count(db, actor),
        "kinds": KINDS,
        "can_manage": actor.has(queries.MANAGE),
    }
    return render(request, "deconfliction/list.html", context)


def _owners(db: DB, actor: Actor) -> list[tuple[uuid.UUID, str]]:
    mine = roles_by_agency(actor, queries.MANAGE)
    return [(a, n) for a, n in directory.agency_options(db, actor) if a in mine]


def _form_context(db: DB, actor: Actor, form: dict[str, Any], **extra: Any) -> dict[str, Any]:
    person = directory.person_for_user(db, actor.user_id) if actor.user_id else None
    return {
        "form": form,
        "owners": _owners(db, actor),
        "kinds": {k: v for k, v in KINDS.items() if k != "enquiry"},
        "errors": {},
        "message": "",
        "default_contact": (person.full_name, person.phone) if person is not None and person.phone else None,
        **extra,
    }


def _utc(value: str) -> str | None:
    """A ``datetime-local`` value read as UTC (the form says so); anything else as given."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return value  # the schema names the field and the reason
    return (parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed).isoformat()


def _number(value: str) -> float | str | None:
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        return value


def _payload(form: dict[str, Any]) -> dict[str, Any]:
    """The API's body from the form: a pasted area wins over the clicked point."""
    data: dict[str, Any] = {
        "kind": form.get("kind", ""),
        "title": form.get("title", ""),
        "case_reference": form.get("case_reference", ""),
        "starts_at": _utc(form.get("starts_at", "")),
        "ends_at": _utc(form.get("ends_at", "")),
        "contact_name": form.get("contact_name") or None,
        "contact_phone": form.get("contact_phone") or None,
    }
    if form.get("owner_agency_id"):
        data["owner_agency_id"] = form["owner_agency_id"]
    area = (form.get("area") or "").strip()
    if area:
        try:
            data["area"] = json.loads(area)
        except ValueError:
            data["area"] = area  # refused below, naming "area"
    elif form.get("lon") or form.get("lat"):
        coordinates = [_number(form.get("lon", "")), _number(form.get("lat", ""))]
        data["location"] = {"type": "Point", "coordinates": coordinates}
        data["radius_m"] = _number(form.get("radius_m", ""))
    return data


@router.get(f"{BASE}/new")
def register_form(request: Request, db: DB, actor: Manage) -> Response:
    form = {"kind": "search_warrant", "radius_m": "200"}
    return render(request, "deconfliction/form.html", _form_context(db, actor, form))


@router.post(f"{BASE}/new", dependencies=[Csrf])
async def register_submit(request: Request, db: DB, actor: Manage) -> Response:
    form = await form_dict(request)
    try:
        data = PlannedOperationCreate.model_validate(_payload(form))
        operation = service.register_operation(db, actor=actor, data=data)
    except (ValidationError, AccordError) as exc:
        db.rollback()
        errors, message = errors_of(exc)
        context = _form_context(db, actor, form, errors=errors, message=message)
        return render(request, "deconfliction/form.html", context, 422)
    db.commit()
    found = queries.operation_conflicts(db, actor, operation.id)
    if found:
        told = f"Registered. It conflicts with {len(found)} other operation(s) or incident(s)"
        flash(request, "error", f"{told}: both sides were told whom to call.")
    else:
        told = "Registered. Nothing planned by another agency overlaps it now"
        flash(request, "success", f"{told}; you will be told if that changes.")
    return redirect(request, f"{BASE}/{operation.id}")


@router.post(f"{BASE}/notices/{{notice_id}}/acknowledge", dependencies=[Csrf])
def acknowledge(request: Request, db: DB, actor: Manage, notice_id: uuid.UUID) -> Response:
    notice = service.acknowledge_notice(db, actor=actor, notice_id=notice_id)
    db.commit()
    flash(request, "success", "Acknowledged: the other side's contact is expecting your call.")
    target = f"{BASE}/{notice.operation_id}" if notice.operation_id else BASE
    return redirect(request, target)


@router.get(f"{BASE}/{{operation_id}}")
def operation_page(request: Request, db: DB, actor: Read, operation_id: uuid.UUID) -> Response:
    operation = queries.get_operation(db, actor, operation_id)
    found = queries.operation_conflicts(db, actor, operation.id)
    agency = dict(directory.agency_options(db, actor)).get(operation.owner_agency_id, "")
    context = {
        "op": operation,
        "agency": agency,
        "conflicts": queries.conflict_views(db, actor, found),
        "kinds": KINDS,
        "can_manage": actor.has(queries.MANAGE, operation.owner_agency_id),
    }
    return render(request, "deconfliction/detail.html", context)


@router.post(f"{BASE}/{{operation_id}}/status", dependencies=[Csrf])
async def change_status(request: Request, db: DB, actor: Manage, operation_id: uuid.UUID) -> Response:
    form = await form_dict(request)
    try:
        data = PlannedOperationUpdate.model_validate({"status": form.get("status", "")})
        operation = service.update_operation(db, actor=actor, operation_id=operation_id, data=data)
    except (ValidationError, AccordError) as exc:
        db.rollback()
        _, message = errors_of(exc)
        flash(request, "error", message)
        return redirect(request, f"{BASE}/{operation_id}")
    db.commit()
    flash(request, "success", f"The operation is {operation.status}; its conflicts are resolved for both sides.")
    return redirect(request, f"{BASE}/{operation.id}")


@router.post(f"{BASE}/{{operation_id}}/check", dependencies=[Csrf])
def check_again(request: Request, db: DB, actor: Manage, operation_id: uuid.UUID) -> Response:
    _, _, found = service.check_conflicts(db, actor=actor, data=ConflictCheck(operation_id=operation_id))
    db.commit()
    flash(request, "info", f"Checked again: {len(found)} conflict(s) now.")
    return redirect(request, f"{BASE}/{operation_id}")
