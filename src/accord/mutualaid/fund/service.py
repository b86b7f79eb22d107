"""Commands on a partnership's collaboration fund: set the formula, issue a call, record a
contribution, record spending. Only coordinators (``mutualaid:fund:manage``) of current
member agencies change a fund. Every change writes its audit event in the same
transaction; nothing here commits."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from accord.agreements.models import Partnership
from accord.audit.service import record_event
from accord.authz import Actor, roles_key
from accord.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from accord.core.time import utcnow
from accord.mutualaid import queries as requests
from accord.mutualaid.fund import queries
from accord.mutualaid.fund.models import (
    CollaborationFund,
    FundCall,
    FundCallShare,
    FundContribution,
    FundFigure,
    FundSpending,
)
from accord.mutualaid.fund.schemas import CallCreate, ContributionCreate, FormulaSet, SpendingCreate
from accord.mutualaid.fund.shares import split
from accord.operations import queries as operations

MANAGE = queries.MANAGE


# -- shared checks --------------------------------------------------------------------------
def _partnership(db: Session, actor: Actor, partnership_id: uuid.UUID) -> Partnership:
    """The partnership, if the caller's agency is a current member (404 otherwise) and
    keeps the fund there (403 otherwise)."""
    partnership = queries.get_partnership(db, actor, partnership_id)
    if not queries.can_manage(actor, partnership):
        raise PermissionDenied(MANAGE, reason="only coordinators of member agencies keep the partnership's fund")
    return partnership


def _fund(db: Session, actor: Actor, partnership: Partnership, *, lock: bool = False) -> CollaborationFund:
    fund = queries.get_fund(db, actor, partnership.id)
    if fund is None:
        raise Conflict("formula", "the partnership has no fund yet; set its contribution formula first")
    if lock:  # spending is checked against the balance: one writer at a time
        db.execute(select(CollaborationFund.id).where(CollaborationFund.id == fund.id).with_for_update())
    return fund


def _acting_agency(actor: Actor, partnership: Partnership) -> uuid.UUID:
    mine = {agency for agency, _ in roles_key(actor, MANAGE)}
    return next(a for a in queries.current_members(partnership) if a in mine)


def _audit(db: Session, actor: Actor, action: str, partnership: Partnership, **details: Any) -> None:
    record_event(
        db,
        actor=actor,
        action=action,
        agency_id=_acting_agency(actor, partnership),
        object_type="partnership",
        object_id=partnership.id,
        details={k: str(v) if isinstance(v, uuid.UUID | Decimal | date) else v for k, v in details.items()},
    )


def _check_date(field: str, value: date, partnership: Partnership) -> None:
    if value > utcnow().date():
        raise InvalidInput(field, "cannot be in the future")
    if value < partnership.starts_on:
        raise InvalidInput(field, f"is before the partnership started ({partnership.starts_on.isoformat()})")


def money(value: Decimal) -> str:
    return f"{value:,.2f}"


# -- formula ------------------------------------------------------------------------------
def set_formula(db: Session, *, actor: Actor, partnership_id: uuid.UUID, data: FormulaSet) -> CollaborationFund:
    """Set (or replace) the contribution formula. Calls already issued keep their shares."""
    partnership = _partnership(db, actor, partnership_id)
    members = queries.current_members(partnership)
    figures: dict[uuid.UUID, Decimal] = {}
    if data.basis == "equal" and data.figures:
        raise InvalidInput("figures", "equal shares take no figures; leave them out or choose population or custom")
    for i, entry in enumerate(data.figures):
        if entry.agency_id not in members:
            raise InvalidInput(f"figures[{i}].agency_id", "not a current member of this partnership")
        if entry.agency_id in figures:
            raise InvalidInput(f"figures[{i}].agency_id", "this member has a figure already")
        if data.basis == "population" and (entry.figure <= 0 or entry.figure != entry.figure.to_integral_value()):
            raise InvalidInput(f"figures[{i}].figure", "a population is a whole number greater than zero")
        figures[entry.agency_id] = entry.figure
    if data.basis != "equal":
        missing = [a for a in members if a not in figures]
        if missing:
            names = ", ".join(queries.agency_names(db, actor, missing))
            raise InvalidInput("figures", f"a {data.basis} formula needs a figure for every member; missing: {names}")
        if not any(f > 0 for f in figures.values()):
            raise InvalidInput("figures", "at least one figure must be greater than zero")
    fund = queries.get_fund(db, actor, partnership.id)
    if fund is None:
        fund = CollaborationFund(partnership_id=partnership.id, basis=data.basis)
        db.add(fund)
    fund.basis, fund.note = data.basis, data.note
    fund.updated_at, fund.updated_by_user_id = utcnow(), actor.user_id
    fund.figures = [
        FundFigure(agency_id=agency, partnership_id=partnership.id, figure=figure) for agency, figure in figures.items()
    ]
    db.flush()
    _audit(
        db,
        actor,
        "mutualaid.fund.formula.set",
        partnership,
        basis=data.basis,
        figures={str(a): str(f) for a, f in figures.items()},
    )
    return fund


# -- calls --------------------------------------------------------------------------------
def issue_call(db: Session, *, actor: Actor, partnership_id: uuid.UUID, data: CallCreate) -> FundCall:
    """Share ``amount`` among the current members by the formula (largest remainder on
    cents: the shares add up to the amount exactly)."""
    partnership = _partnership(db, actor, partnership_id)
    fund = _fund(db, actor, partnership)
    members = queries.current_members(partnership)
    if fund.basis == "equal":
        weights = [(a, Decimal(1)) for a in members]
    else:
        figures = {f.agency_id: f.figure for f in fund.figures}
        missing = [a for a in members if a not in figures]
        if missing:
            names = ", ".join(queries.agency_names(db, actor, missing))
            raise Conflict("formula", f"no figure for {names} (joined since the formula was set); update the formula")
        weights = [(a, figures[a]) for a in members]
        if not any(f > 0 for _, f in weights):
            raise Conflict("formula", "every current member's figure is zero; update the formula")
    if data.due_on is not None and data.due_on < partnership.starts_on:
        raise InvalidInput("due_on", f"is before the partnership started ({partnership.starts_on.isoformat()})")
    taken = db.scalar(
        select(FundCall.id).where(FundCall.partnership_id == partnership.id, FundCall.period == data.period)
    )
    if taken is not None:
        raise Conflict("period", f"the fund already has a call for {data.period!r}")
    figure_of = dict(weights)
    call = FundCall(
        partnership_id=partnership.id,
        period=data.period,
        amount=data.amount,
        basis=fund.basis,
        due_on=data.due_on,
        issued_by_user_id=actor.user_id,
        shares=[
            FundCallShare(
                agency_id=agency, partnership_id=partnership.id, position=i, figure=figure_of[agency], amount=share
            )
            for i, (agency, share) in enumerate(split(data.amount, weights))
        ],
    )
    db.add(call)
    db.flush()
    _audit(
        db,
        actor,
        "mutualaid.fund.call.issue",
        partnership,
        call=call.id,
        period=call.period,
        amount=call.amount,
        shares={str(s.agency_id): str(s.amount) for s in call.shares},
    )
    return call


# -- contributions ------------------------------------------------------------------------
def record_contribution(
    db: Session, *, actor: Actor, partnership_id: uuid.UUID, data: ContributionCreate
) -> FundContribution:
    """Money a member (or a former member with a share of a call) paid into the fund."""
    partnership = _partnership(db, actor, partnership_id)
    _fund(db, actor, partnership)
    _check_date("received_on", data.received_on, partnership)
    calls = queries.list_calls(db, actor, partnership.id)
    with_shares = {s.agency_id for call in calls for s in call.shares}
    if data.agency_id not in queries.current_members(partnership) and data.agency_id not in with_shares:
        raise InvalidInput("agency_id", "not a member of this partnership")
    if data.call_id is not None:
        call = next((c for c in calls if c.id == data.call_id), None)
        if call is None:
            raise InvalidInput("call_id", "no such call of this fund")
        if data.agency_id not in {s.agency_id for s in call.shares}:
            raise InvalidInput("call_id", f"this member has no share in the call for {call.period!r}")
    if data.reference:
        again = db.scalar(
            select(FundContribution.id).where(
                FundContribution.partnership_id == partnership.id,
                FundContribution.agency_id == data.agency_id,
                FundContribution.reference == data.reference,
            )
        )
        if again is not None:
            raise Conflict("reference", f"a contribution of this member with reference {data.reference!r} is recorded")
    contribution = FundContribution(
        partnership_id=partnership.id,
        agency_id=data.agency_id,
        call_id=data.call_id,
        amount=data.amount,
        received_on=data.received_on,
        reference=data.reference,
        recorded_by_user_id=actor.user_id,
    )
    db.add(contribution)
    db.flush()
    _audit(
        db,
        actor,
        "mutualaid.fund.contribution.record",
        partnership,
        contribution=contribution.id,
        agency=data.agency_id,
        amount=data.amount,
        received_on=data.received_on,
        call=data.call_id,
    )
    return contribution


# -- spending -----------------------------------------------------------------------------
def record_spending(db: Session, *, actor: Actor, partnership_id: uuid.UUID, data: SpendingCreate) -> FundSpending:
    """Money paid out of the fund: never more than its balance."""
    partnership = _partnership(db, actor, partnership_id)
    _fund(db, actor, partnership, lock=True)
    _check_date("spent_on", data.spent_on, partnership)
    if data.request_id is not None:
        # A request the caller may see (authz.scope), made by a member agency.
        try:
            found = requests.get_request(db, actor, data.request_id)
        except NotFound:
            raise InvalidInput("request_id", "no such resource request among those you can see") from None
        if found.requesting_agency_id not in queries.current_members(partnership):
            raise InvalidInput("request_id", "the request was not made by a member agency")
    if data.incident_id is not None:
        try:
            operations.get_incident(db, actor, data.incident_id)
        except NotFound:
            raise InvalidInput("incident_id", "no such incident among those you can see") from None
    available = queries.balance(
        queries.list_contributions(db, actor, partnership.id), queries.list_spending(db, actor, partnership.id)
    )
    if data.amount > available:
        raise Conflict(
            "amount", f"{money(data.amount)} is more than the fund's balance of {money(available)}; nothing was spent"
        )
    spending = FundSpending(
        partnership_id=partnership.id,
        amount=data.amount,
        spent_on=data.spent_on,
        purpose=data.purpose,
        request_id=data.request_id,
        incident_id=data.incident_id,
        recorded_by_user_id=actor.user_id,
    )
    db.add(spending)
    db.flush()
    _audit(
        db,
        actor,
        "mutualaid.fund.spending.record",
        partnership,
        spending=spending.id,
        amount=data.amount,
        spent_on=data.spent_on,
        request=data.request_id,
        incident=data.incident_id,
    )
    return spending
