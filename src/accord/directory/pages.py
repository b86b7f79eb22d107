"""HTML pages of the directory: overview, list with search and filters, agency page,
edit forms, and the region map."""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import ValidationError

from accord.authz import Actor, require
from accord.authz.deps import Permission, SignedIn
from accord.core.deps import DB
from accord.core.errors import AccordError, FieldProblem, InvalidInputs
from accord.directory import queries, service
from accord.directory.schemas import AgencyCreate, AgencyFilter, AgencyUpdate, PersonCreate, PersonFilter, PersonUpdate
from accord.directory.vocab import AGENCY_KINDS, AGENCY_LEVELS, CAPABILITIES, CONTACT_KINDS
from accord.web.forms import errors_of
from accord.web.templating import flash, redirect, render, verify_csrf

router = APIRouter(include_in_schema=False)
ReadAgencies = Annotated[Actor, Depends(Permission("directory:agency:read"))]
Csrf = Depends(verify_csrf)
VOCAB = {"kinds": AGENCY_KINDS, "levels": AGENCY_LEVELS, "capabilities": CAPABILITIES, "contact_kinds": CONTACT_KINDS}


@router.get("/")
def overview(request: Request, db: DB, actor: Annotated[Actor, Depends(SignedIn())]) -> Response:
    """The first page after sign-in: the region at a glance and the caller's own agency."""
    person = queries.person_for_user(db, actor.user_id) if actor.user_id else None
    counts = queries.count_by_kind(db, actor) if actor.has("directory:agency:read") else {}
    liaisons, _ = (
        queries.list_people(db, actor, PersonFilter(liaison=True, limit=6))
        if actor.has("directory:person:read")
        else ([], 0)
    )
    context = {"person": person, "counts": counts, "total": sum(counts.values()), "liaisons": liaisons, **VOCAB}
    return render(request, "directory/overview.html", context)


@router.get("/directory")
def directory_list(
    request: Request,
    db: DB,
    actor: ReadAgencies,
    q: str = "",
    kind: str = "",
    level: str = "",
    capability: str = "",
    offset: int = 0,
) -> Response:
    errors: dict[str, str] = {}
    try:
        filters = AgencyFilter(
            q=q or None, kind=kind or None, level=level or None, capability=capability or None, offset=max(0, offset)
        )
    except ValidationError as exc:
        errors, _ = errors_of(exc)
        filters = AgencyFilter()
    rows, total = queries.list_agencies(db, actor, filters)
    query = "&".join(
        f"{k}={v}" for k, v in (("q", q), ("kind", kind), ("level", level), ("capability", capability)) if v
    )
    context = {
        "agencies": rows,
        "total": total,
        "filters": filters,
        "errors": errors,
        "base": f"/directory?{query}&" if query else "/directory?",
        "can_create": actor.has("directory:agency:create"),
        **VOCAB,
    }
    if request.headers.get("hx-request"):
        return render(request, "directory/_agency_rows.html", context)
    return render(request, "directory/list.html", context)


@router.get("/map")
def region_map(request: Request, actor: ReadAgencies) -> Response:
    return render(request, "directory/map.html", VOCAB)


@router.get("/directory/agencies/new")
def agency_new(
    request: Request, db: DB, actor: Annotated[Actor, Depends(Permission("directory:agency:create"))]
) -> Response:
    return render(request, "directory/agency_form.html", _form_context(db, actor, None, {}))


@router.post("/directory/agencies/new", dependencies=[Csrf])
async def agency_create(
    request: Request, db: DB, actor: Annotated[Actor, Depends(Permission("directory:agency:create"))]
) -> Response:
    form = await request.form()
    try:
        agency = service.create_agency(db, actor=actor, data=AgencyCreate(**_agency_payload(form)))
    except (ValidationError, AccordError) as exc:
        db.rollback()
        return _form_error(request, db, actor, None, form, exc)
    db.commit()
    flash(request, "success", f"{agency.name} is registered.")
    return redirect(request, f"/directory/agencies/{agency.id}")


@router.get("/directory/agencies/{agency_id}")
def agency_page(request: Request, agency_id: uuid.UUID, db: DB, actor: ReadAgencies) -> Response:
    agency = queries.get_agency(db, actor, agency_id)
    people: list[Any] = []
    if actor.has("directory:person:read"):
        people, _ = queries.list_people(db, actor, PersonFilter(agency_id=agency.id, limit=200))
    children, _ = queries.list_agencies(db, actor, AgencyFilter(limit=500))
    context = {
        "agency": agency,
        "people": people,
        "children": [c for c in children if c.parent_id == agency.id],
        "can_edit": actor.has("directory:agency:update", agency.id),
        "can_add_person": actor.has("directory:person:create", agency.id),
        "can_edit_people": actor.has("directory:person:update", agency.id),
        "geometry_json": json.dumps(agency.jurisdiction) if agency.jurisdiction else "",
        **VOCAB,
    }
    return render(request, "directory/agency.html", context)


@router.get("/directory/agencies/{agency_id}/edit")
def agency_edit(
    request: Request,
    agency_id: uuid.UUID,
    db: DB,
    actor: Annotated[Actor, Depends(Permission("directory:agency:update"))],
) -> Response:
    agency = queries.get_agency(db, actor, agency_id)
    if not actor.has("directory:agency:update", agency.id):
        flash(request, "error", "You can edit your own agency only.")
        return redirect(request, f"/directory/agencies/{agency.id}")
    return render(request, "directory/agency_form.html", _form_context(db, actor, agency, {}))


@router.post("/directory/agencies/{agency_id}/edit", dependencies=[Csrf])
async def agency_update(
    request: Request,
    agency_id: uuid.UUID,
    db: DB,
    actor: Annotated[Actor, Depends(Permission("directory:agency:update"))],
) -> Response:
    form = await request.form()
    agency = queries.get_agency(db, actor, agency_id)
    require(actor, "directory:agency:update", agency.id)  # refuse before reading the form
    try:
        service.update_agency(db, actor=actor, agency_id=agency.id, data=AgencyUpdate(**_agency_payload(form)))
    except (ValidationError, AccordError) as exc:
        db.rollback()
        return _form_error(request, db, actor, queries.get_agency(db, actor, agency_id), form, exc)
    db.commit()
    flash(request, "success", "Agency profile saved.")
    return redirect(request, f"/directory/agencies/{agency_id}")


@router.post("/directory/agencies/{agency_id}/people", dependencies=[Csrf])
async def person_add(
    request: Request,
    agency_id: uuid.UUID,
    db: DB,
    actor: Annotated[Actor, Depends(Permission("directory:person:create"))],
) -> Response:
    form = await request.form()
    payload = _person_payload(form)
    try:
        person = service.create_person(db, actor=actor, data=PersonCreate(agency_id=agency_id, **payload))
    except (ValidationError, AccordError) as exc:
        db.rollback()
        _, message = errors_of(exc)
        flash(request, "error", f"Person not added: {message}")
        return redirect(request, f"/directory/agencies/{agency_id}#people")
    db.commit()
    flash(request, "success", f"{person.full_name} added.")
    return redirect(request, f"/directory/agencies/{agency_id}#people")


@router.get("/directory/people/{person_id}/edit")
def person_edit(
    request: Request,
    person_id: uuid.UUID,
    db: DB,
    actor: Annotated[Actor, Depends(Permission("directory:person:update"))],
) -> Response:
    person = queries.get_person(db, actor, person_id)
    fields = ("full_name", "title", "email", "phone", "is_liaison", "is_duty_contact")
    form = {name: getattr(person, name) for name in fields}
    return render(request, "directory/person_form.html", {"person": person, "form": form, "errors": {}})


@router.post("/directory/people/{person_id}/edit", dependencies=[Csrf])
async def person_update(
    request: Request,
    person_id: uuid.UUID,
    db: DB,
    actor: Annotated[Actor, Depends(Permission("directory:person:update"))],
) -> Response:
    form = await request.form()
    person = queries.get_person(db, actor, person_id)
    try:
        service.update_person(db, actor=actor, person_id=person.id, data=PersonUpdate(**_person_payload(form)))
    except (ValidationError, AccordError) as exc:
        db.rollback()
        errors, message = errors_of(exc)
        person = queries.get_person(db, actor, person_id)
        context = {"person": person, "form": dict(form), "errors": errors, "message": message}
        return render(request, "directory/person_form.html", context, 422)
    db.commit()
    flash(request, "success", "Contact saved.")
    return redirect(request, f"/directory/agencies/{person.agency_id}#people")


@router.post("/directory/people/{person_id}/delete", dependencies=[Csrf])
def person_delete(
    request: Request,
    person_id: uuid.UUID,
    db: DB,
    actor: Annotated[Actor, Depends(Permission("directory:person:delete"))],
) -> Response:
    person = queries.get_person(db, actor, person_id)
    agency_id = person.agency_id
    service.delete_person(db, actor=actor, person_id=person_id)
    db.commit()
    flash(request, "success", "Person removed from the directory.")
    return redirect(request, f"/directory/agencies/{agency_id}#people")


# --- form helpers -----------------------------------------------------------------------


def _person_payload(form: Any) -> dict[str, Any]:
    return {
        "full_name": str(form.get("full_name", "")),
        "title": str(form.get("title", "")),
        "email": str(form.get("email", "")),
        "phone": str(form.get("phone", "")),
        "is_liaison": form.get("is_liaison") == "on",
        "is_duty_contact": form.get("is_duty_contact") == "on",
    }


def _agency_payload(form: Any) -> dict[str, Any]:
    """Map the agency form to the API model; the jurisdiction arrives as GeoJSON text."""
    contacts = []
    for i in range(12):
        kind, value = str(form.get(f"contact_kind_{i}", "")), str(form.get(f"contact_value_{i}", "")).strip()
        if value:
            contacts.append({"kind": kind, "value": value, "label": str(form.get(f"contact_label_{i}", ""))})
    geometry_text = str(form.get("jurisdiction", "")).strip()
    geometry: Any = None
    if geometry_text:
        try:
            geometry = json.loads(geometry_text)
        except json.JSONDecodeError as exc:
            raise InvalidInputs(
                [FieldProblem("jurisdiction", f"not valid JSON ({exc.msg} at line {exc.lineno})")]
            ) from None
        if isinstance(geometry, dict) and geometry.get("type") == "Feature":
            geometry = geometry.get("geometry")
    return {
        "name": str(form.get("name", "")),
        "short_name": str(form.get("short_name", "")).upper(),
        "kind": str(form.get("kind", "")),
        "level": str(form.get("level", "")),
        "jurisdiction_name": str(form.get("jurisdiction_name", "")),
        "jurisdiction": geometry,
        "address": str(form.get("address", "")),
        "duty_phone": str(form.get("duty_phone", "")),
        "contacts": contacts,
        "capabilities": [str(c) for c in form.getlist("capabilities")],
        "parent_id": str(form.get("parent_id")) if form.get("parent_id") else None,
    }


def _form_context(db: DB, actor: Actor, agency: Any, form: dict[str, Any]) -> dict[str, Any]:
    if agency is not None and not form:
        form = {
            **{
                k: getattr(agency, k)
                for k in ("name", "short_name", "kind", "level", "jurisdiction_name", "address", "duty_phone")
            },
            "parent_id": str(agency.parent_id) if agency.parent_id else "",
            "jurisdiction": json.dumps(agency.jurisdiction) if agency.jurisdiction else "",
            "capabilities": agency.capability_keys,
            "contacts": agency.contacts,
        }
    form.setdefault("contacts", [])
    form.setdefault("capabilities", [])
    parents = [(str(a), n) for a, n in queries.agency_options(db, actor) if agency is None or a != agency.id]
    return {"agency": agency, "form": form, "errors": {}, "parents": parents, **VOCAB}


def _form_error(request: Request, db: DB, actor: Actor, agency: Any, raw: Any, exc: Exception) -> Response:
    errors, message = errors_of(exc)
    form: dict[str, Any] = {
        k: raw.get(k, "")
        for k in (
            "name",
            "short_name",
            "kind",
            "level",
            "jurisdiction_name",
            "address",
            "duty_phone",
            "parent_id",
            "jurisdiction",
        )
    }
    form["capabilities"] = raw.getlist("capabilities")
    form["contacts"] = [
        {
            "kind": raw.get(f"contact_kind_{i}", ""),
            "value": raw.get(f"contact_value_{i}", ""),
            "label": raw.get(f"contact_label_{i}", ""),
        }
        for i in range(12)
        if raw.get(f"contact_value_{i}")
    ]
    context = {**_form_context(db, actor, agency, form), "errors": errors, "message": message}
    return render(request, "directory/agency_form.html", context, 422)
