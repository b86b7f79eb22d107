"""The collaboration-fund page of a partnership (``/partnerships/{id}/fund``): balance,
members' standing, calls with each member's share and what it paid, the history, and the
coordinators' forms (formula, call, contribution, spending) — same calls as the API."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import ValidationError

from accord.authz import Actor
from accord.authz.deps import Permission
from accord.core.deps import DB
from accord.core.errors import AccordError
from accord.mutualaid.fund import queries, service
from accord.mutualaid.fund.schemas import CallCreate, ContributionCreate, FormulaSet, SpendingCreate
from accord.web.forms import errors_of, form_dict
from accord.web.templating import flash, redirect, render, verify_csrf

router = APIRouter(include_in_schema=False)
Read = Annotated[Actor, Depends(Permission("mutualaid:request:read"))]
Manage = Annotated[Actor, Depends(Permission("mutualaid:fund:manage"))]
Csrf = Depends(verify_csrf)
BASES = [("equal", "Equal shares"), ("population", "By population"), ("custom", "By agreed figures")]


def _url(partnership_id: uuid.UUID) -> str:
    return f"/partnerships/{partnership_id}/fund"


def _context(db: DB, actor: Actor, partnership_id: uuid.UUID) -> dict[str, Any]:
    fund = queries.fund_view(db, actor, partnership_id)
    partnership = queries.get_partnership(db, actor, partnership_id)
    members = queries.current_members(partnership)
    names = dict(zip(members, queries.agency_names(db, actor, members), strict=True))
    figures = {f.agency_id: format(f.figure.normalize(), "f") for f in fund.formula.figures} if fund.formula else {}
    return {
        "fund": fund,
        "member_rows": [(a, names[a], figures.get(a, "")) for a in members],
        "contributors": [(m.agency_id, m.agency_name) for m in fund.members],
        "bases": BASES,
        "basis_names": dict(BASES),
        "errors": {},
        "form": {},
        "open_form": "",
        "message": "",
    }


def _optional(form: dict[str, str], name: str) -> str | None:
    return form.get(name, "").strip() or None


def _change(
    request: Request,
    db: DB,
    actor: Actor,
    partnership_id: uuid.UUID,
    which: str,
    form: dict[str, str],
    change: Callable[[], str],
) -> Response:
    """Run ``change``; on a refusal show the page again with the form open and its errors."""
    try:
        notice = change()
    except (ValidationError, AccordError) as exc:
        db.rollback()
        errors, message = errors_of(exc)
        context = _context(db, actor, partnership_id) | {
            "errors": errors,
            "form": form,
            "open_form": which,
            "message": message,
        }
        status = exc.status_code if isinstance(exc, AccordError) else 422
        return render(request, "mutualaid/fund.html", context, status)
    db.commit()
    flash(request, "success", notice)
    return redirect(request, _url(partnership_id))


@router.get("/partnerships/{partnership_id}/fund")
def fund_page(request: Request, db: DB, actor: Read, partnership_id: uuid.UUID) -> Response:
    return render(request, "mutualaid/fund.html", _context(db, actor, partnership_id))


@router.post("/partnerships/{partnership_id}/fund/formula", dependencies=[Csrf])
async def set_formula(request: Request, db: DB, actor: Manage, partnership_id: uuid.UUID) -> Response:
    form = await form_dict(request)

    def change() -> str:
        basis = form.get("basis", "")
        figures = []
        if basis != "equal":
            for key, value in form.items():
                if key.startswith("figure-") and value.strip():
                    figures.append({"agency_id": key.removeprefix("figure-"), "figure": value.strip().replace(",", "")})
        data = FormulaSet.model_validate({"basis": basis, "figures": figures, "note": form.get("note", "")})
        service.set_formula(db, actor=actor, partnership_id=partnership_id, data=data)
        return "Contribution formula saved. Calls already issued keep their shares."

    return _change(request, db, actor, partnership_id, "formula", form, change)


@router.post("/partnerships/{partnership_id}/fund/calls", dependencies=[Csrf])
async def issue_call(request: Request, db: DB, actor: Manage, partnership_id: uuid.UUID) -> Response:
    form = await form_dict(request)

    def change() -> str:
        data = CallCreate.model_validate(
            {
                "period": form.get("period", ""),
                "amount": form.get("amount", "").strip().replace(",", ""),
                "due_on": _optional(form, "due_on"),
            }
        )
        call = service.issue_call(db, actor=actor, partnership_id=partnership_id, data=data)
        return f"Call for {call.period} issued: {service.money(call.amount)} shared among {len(call.shares)} members."

    return _change(request, db, actor, partnership_id, "call", form, change)


@router.post("/partnerships/{partnership_id}/fund/contributions", dependencies=[Csrf])
async def record_contribution(request: Request, db: DB, actor: Manage, partnership_id: uuid.UUID) -> Response:
    form = await form_dict(request)

    def change() -> str:
        data = ContributionCreate.model_validate(
            {
                "agency_id": form.get("agency_id", ""),
                "amount": form.get("amount", "").strip().replace(",", ""),
                "received_on": form.get("received_on", ""),
                "reference": form.get("reference", ""),
                "call_id": _optional(form, "call_id"),
            }
        )
        made = service.record_contribution(db, actor=actor, partnership_id=partnership_id, data=data)
        return f"Contribution of {service.money(made.amount)} recorded."

    return _change(request, db, actor, partnership_id, "contribution", form, change)


@router.post("/partnerships/{partnership_id}/fund/spending", dependencies=[Csrf])
async def record_spending(request: Request, db: DB, actor: Manage, partnership_id: uuid.UUID) -> Response:
    form = await form_dict(request)

    def change() -> str:
        data = SpendingCreate.model_validate(
            {
                "amount": form.get("amount", "").strip().replace(",", ""),
                "spent_on": form.get("spent_on", ""),
                "purpose": form.get("purpose", ""),
                "request_id": _optional(form, "request_id"),
                "incident_id": _optional(form, "incident_id"),
            }
        )
        spent = service.record_spending(db, actor=actor, partnership_id=partnership_id, data=data)
        return f"Spending of {service.money(spent.amount)} recorded."

    return _change(request, db, actor, partnership_id, "spending", form, change)
