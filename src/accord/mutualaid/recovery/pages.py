"""Pages of cost recovery: a deployment's costs (its time sheet with the entry form, the
live computation line by line with the rules that applied, and its claims with the steps
the caller may take), and the settlement statement of two agencies for an incident, with
links to its PDF and CSV."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError

from accord.authz import Actor
from accord.authz.deps import Permission
from accord.core.deps import DB
from accord.core.errors import AccordError
from accord.directory import queries as directory
from accord.directory.schemas import PersonFilter
from accord.mutualaid.recovery import queries, service, statement
from accord.mutualaid.recovery.policy import APPROVE, MANAGE
from accord.mutualaid.recovery.schemas import (
    ClaimCreate,
    ClaimPay,
    ClaimReject,
    StatementFilter,
    TimeEntryCreate,
    VoidEntry,
)
from accord.web.forms import errors_of, form_dict
from accord.web.templating import flash, redirect, render, verify_csrf

router = APIRouter(include_in_schema=False)
Read = Annotated[Actor, Depends(Permission("mutualaid:request:read"))]
Manage = Annotated[Actor, Depends(Permission("mutualaid:cost:manage"))]
Approve = Annotated[Actor, Depends(Permission("mutualaid:claim:approve"))]
Csrf = Depends(verify_csrf)
ENTRY_FIELDS = ("person_id", "hours", "km", "quantity", "unit_cost", "rate")
KINDS = (("labor", "Labour"), ("equipment", "Equipment"), ("mileage", "Mileage"), ("consumable", "Consumable"))


def _url(offer_id: uuid.UUID) -> str:
    return f"/deployments/{offer_id}/costs"


def _context(db: DB, actor: Actor, offer_id: uuid.UUID) -> dict[str, Any]:
    deployment, costs = queries.deployment_costs(db, actor, offer_id)
    offer, request = deployment.offer, deployment.request
    names = directory.agency_short_names(db, actor)
    provider = queries.may(actor, MANAGE, offer.providing_agency_id)
    people: list[tuple[str, str]] = []
    if provider:
        found, _ = directory.list_people(db, actor, PersonFilter(agency_id=offer.providing_agency_id, limit=500))
        people = [(str(p.id), p.full_name) for p in found]
    return {
        "d": deployment,
        "costs": costs,
        "entries": queries.list_entries(db, actor, offer_id),
        "claims": queries.list_claims(db, actor, offer_id),
        "names": names,
        "can_manage": provider,
        "can_approve": queries.may(actor, APPROVE, request.requesting_agency_id),
        "allowed": service.allowed_steps,
        "people": people,
        "kinds": KINDS,
        "statement_url": (
            f"/statements?incident_id={request.incident_id}&agency_a={offer.providing_agency_id}"
            f"&agency_b={request.requesting_agency_id}"
        ),
        "form": {},
        "errors": {},
    }


@router.get("/deployments/{offer_id}/costs")
def costs_page(request: Request, db: DB, actor: Read, offer_id: uuid.UUID) -> Response:
    return render(request, "mutualaid/costs.html", _context(db, actor, offer_id))


def _entry_data(form: dict[str, str]) -> TimeEntryCreate:
    values: dict[str, Any] = {k: v.strip() for k, v in form.items() if k != "tz"}
    for name in ENTRY_FIELDS:
        if not values.get(name):
            values.pop(name, None)
    return TimeEntryCreate.model_validate(values)


def _change(
    request: Request, db: DB, actor: Actor, offer_id: uuid.UUID, change: Callable[[], str], form: dict[str, str]
) -> Response:
    """Run ``change``; on success a flash and the deployment's page again; on a refusal the
    page with the reason beside the field (entry form) or at the top (claim steps)."""
    try:
        notice = change()
    except (ValidationError, AccordError) as exc:
        db.rollback()
        errors, message = errors_of(exc)
        if "kind" not in form:
            flash(request, "error", message if not isinstance(exc, ValidationError) else _summary(errors))
            return redirect(request, _url(offer_id))
        context = _context(db, actor, offer_id) | {"form": form, "errors": errors, "problem": message}
        return render(
            request, "mutualaid/costs.html", context, exc.status_code if isinstance(exc, AccordError) else 422
        )
    db.commit()
    flash(request, "success", notice)
    return redirect(request, _url(offer_id))


def _summary(errors: dict[str, str]) -> str:
    return "; ".join(f"{name}: {reason}" for name, reason in errors.items())


@router.post("/deployments/{offer_id}/time-entries", dependencies=[Csrf])
async def add_entry(request: Request, db: DB, actor: Manage, offer_id: uuid.UUID) -> Response:
    form = await form_dict(request)
    form.setdefault("kind", "")

    def change() -> str:
        entry = service.add_entry(db, actor=actor, offer_id=offer_id, data=_entry_data(form))
        return f"Entry {entry.sequence} added to the time sheet."

    return _change(request, db, actor, offer_id, change, form)


@router.post("/deployments/{offer_id}/time-entries/{entry_id}/void", dependencies=[Csrf])
async def void_entry(request: Request, db: DB, actor: Manage, offer_id: uuid.UUID, entry_id: uuid.UUID) -> Response:
    form = await form_dict(request)

    def change() -> str:
        data = VoidEntry.model_validate({"reason": form.get("reason", "")})
        entry = service.void_entry(db, actor=actor, offer_id=offer_id, entry_id=entry_id, data=data)
        return f"Entry {entry.sequence} voided."

    return _change(request, db, actor, offer_id, change, {})


@router.post("/deployments/{offer_id}/claims", dependencies=[Csrf])
async def create_claim(request: Request, db: DB, actor: Manage, offer_id: uuid.UUID) -> Response:
    form = await form_dict(request)

    def change() -> str:
        data = ClaimCreate.model_validate({"note": form.get("note", "")})
        return f"Claim {service.create_claim(db, actor=actor, offer_id=offer_id, data=data).number} drafted."

    return _change(request, db, actor, offer_id, change, {})


async def _claim_step(request: Request, db: DB, actor: Actor, claim_id: uuid.UUID, step: str) -> Response:
    claim = queries.get_claim(db, actor, claim_id)
    form = await form_dict(request)

    def change() -> str:
        if step == "submit":
            done = service.submit_claim(db, actor=actor, claim_id=claim_id)
        elif step == "approve":
            done = service.approve_claim(db, actor=actor, claim_id=claim_id)
        elif step == "reject":
            data = ClaimReject.model_validate({"reason": form.get("reason", "")})
            done = service.reject_claim(db, actor=actor, claim_id=claim_id, data=data)
        else:
            pay = ClaimPay.model_validate({"amount": form.get("amount", ""), "reference": form.get("reference", "")})
            done = service.pay_claim(db, actor=actor, claim_id=claim_id, data=pay)
        return f"Claim {done.number} {service.DONE[step]}."

    return _change(request, db, actor, claim.offer_id, change, {})


@router.post("/claims/{claim_id}/submit", dependencies=[Csrf])
async def submit_claim(request: Request, db: DB, actor: Manage, claim_id: uuid.UUID) -> Response:
    return await _claim_step(request, db, actor, claim_id, "submit")


@router.post("/claims/{claim_id}/approve", dependencies=[Csrf])
async def approve_claim(request: Request, db: DB, actor: Approve, claim_id: uuid.UUID) -> Response:
    return await _claim_step(request, db, actor, claim_id, "approve")


@router.post("/claims/{claim_id}/reject", dependencies=[Csrf])
async def reject_claim(request: Request, db: DB, actor: Approve, claim_id: uuid.UUID) -> Response:
    return await _claim_step(request, db, actor, claim_id, "reject")


@router.post("/claims/{claim_id}/pay", dependencies=[Csrf])
async def pay_claim(request: Request, db: DB, actor: Approve, claim_id: uuid.UUID) -> Response:
    return await _claim_step(request, db, actor, claim_id, "pay")


@router.get("/statements")
def statement_page(request: Request, db: DB, actor: Read, filters: Annotated[StatementFilter, Query()]) -> Response:
    document = statement.build_statement(db, actor, filters)
    query = f"incident_id={filters.incident_id}&agency_a={filters.agency_a}&agency_b={filters.agency_b}"
    return render(request, "mutualaid/statement.html", {"s": document, "pdf": False, "query": query})
