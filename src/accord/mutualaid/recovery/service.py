"""Commands of cost recovery: time-sheet entries (added, voided) by the providing agency,
and claims: drafted and submitted by the provider (``mutualaid:cost:manage``), approved,
rejected and paid by the requester (``mutualaid:claim:approve``). Every change writes
its audit event in the same transaction; nothing here commits.

Rules chosen (docs/adr/0022): entries are append-only — a mistake is voided with a reason
and entered again; negative values are never accepted. An entry a submitted, approved or
paid claim used cannot be voided. Claims are cumulative: one open claim (draft or
submitted) per deployment at a time; submitting freezes the computation and asks for the
claimable total now less what earlier live claims asked for, so time entered after a
submission goes into a new (supplementary) claim."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from accord.audit.service import record_event
from accord.authz import Actor
from accord.core.errors import Conflict, InvalidInput, PermissionDenied
from accord.core.time import utcnow
from accord.directory import queries as directory
from accord.mutualaid.recovery import costs as calc
from accord.mutualaid.recovery import queries
from accord.mutualaid.recovery.models import CostClaim, TimeEntry
from accord.mutualaid.recovery.policy import APPROVE, MANAGE
from accord.mutualaid.recovery.schemas import ClaimCreate, ClaimPay, ClaimReject, TimeEntryCreate, VoidEntry

SLACK = timedelta(days=1)  # an entry may be dated the day after the deployment returned
MAX_DAY_HOURS = Decimal(24)
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "draft": ("submit",),
    "submitted": ("approve", "reject"),
    "approved": ("pay",),
    "rejected": (),
    "paid": (),
}
DONE = {"submit": "submitted", "approve": "approved", "reject": "rejected", "pay": "paid"}
LIVE_CLAIMS = ("submitted", "approved", "paid")  # claims that count against the deployment


def _audit(db: Session, actor: Actor, action: str, agency_id: uuid.UUID, what: str, oid: uuid.UUID, **d: Any) -> None:
    details = {k: str(v) if isinstance(v, uuid.UUID | Decimal | date) else v for k, v in d.items()}
    record_event(db, actor=actor, action=action, agency_id=agency_id, object_type=what, object_id=oid, details=details)


def _provider(actor: Actor, deployment: queries.Deployment) -> None:
    if not queries.may(actor, MANAGE, deployment.offer.providing_agency_id):
        raise PermissionDenied(
            MANAGE, deployment.offer.providing_agency_id, reason="the providing agency keeps the time sheet and claims"
        )


# -- time sheets ---------------------------------------------------------------------------------
def _check_dates(deployment: queries.Deployment, work_date: date) -> None:
    offer = deployment.offer
    if offer.mobilized_at is None:
        raise InvalidInput("work_date", "the deployment has not mobilized yet; time is kept from mobilization")
    start = offer.mobilized_at.date()
    if work_date < start:
        raise InvalidInput("work_date", f"before the deployment mobilized ({start.isoformat()})")
    end = (offer.returned_at + SLACK).date() if offer.returned_at is not None else utcnow().date() + SLACK
    if work_date > end:
        why = "after the deployment returned" if offer.returned_at is not None else "in the future"
        raise InvalidInput("work_date", f"{why} (latest allowed {end.isoformat()})")


def _forbid(data: TimeEntryCreate, fields: tuple[str, ...]) -> None:
    for name in fields:
        if getattr(data, name) not in (None, ""):
            raise InvalidInput(name, f"does not apply to a {data.kind} entry")


def _need(data: TimeEntryCreate, fields: tuple[str, ...]) -> None:
    for name in fields:
        if getattr(data, name) in (None, ""):
            raise InvalidInput(name, f"required for a {data.kind} entry")


SHAPES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {  # kind: (required, not allowed)
    "labor": (("hours",), ("km", "quantity", "unit_cost")),
    "equipment": (("hours",), ("km", "quantity", "unit_cost", "rate", "person_id", "person_name")),
    "mileage": (("km",), ("hours", "quantity", "unit_cost", "rate", "person_id", "person_name")),
    "consumable": (("description", "quantity", "unit_cost"), ("hours", "km", "rate", "person_id", "person_name")),
}


def _person(db: Session, deployment: queries.Deployment, data: TimeEntryCreate) -> str:
    if data.kind != "labor":
        return ""
    if data.person_id is not None:
        person = directory.person_in_agency(db, data.person_id, deployment.offer.providing_agency_id)
        if person is None:
            raise InvalidInput("person_id", "no such person in the providing agency")
        return data.person_name or person.full_name
    if not data.person_name:
        raise InvalidInput("person_name", "name the person (or give person_id)")
    return data.person_name


def _day_hours(db: Session, entry: TimeEntry) -> Decimal:
    """Hours already on the sheet for the same person (labour) or the equipment that day."""
    stmt = select(func.coalesce(func.sum(TimeEntry.hours), 0)).where(
        TimeEntry.offer_id == entry.offer_id,
        TimeEntry.kind == entry.kind,
        TimeEntry.work_date == entry.work_date,
        TimeEntry.voided_at.is_(None),
    )
    if entry.kind == "labor":
        stmt = stmt.where(func.lower(TimeEntry.person_name) == entry.person_name.lower())
    return Decimal(db.scalar(stmt) or 0)


def add_entry(db: Session, *, actor: Actor, offer_id: uuid.UUID, data: TimeEntryCreate) -> TimeEntry:
    deployment = queries.get_deployment(db, actor, offer_id)
    _provider(actor, deployment)
    required, forbidden = SHAPES[data.kind]
    _need(data, required)
    _forbid(data, forbidden)
    _check_dates(deployment, data.work_date)
    offer = deployment.offer
    sequence = db.scalar(select(func.coalesce(func.max(TimeEntry.sequence), 0)).where(TimeEntry.offer_id == offer.id))
    entry = TimeEntry(
        offer_id=offer.id,
        incident_id=deployment.request.incident_id,
        providing_agency_id=offer.providing_agency_id,
        requesting_agency_id=deployment.request.requesting_agency_id,
        sequence=int(sequence or 0) + 1,
        kind=data.kind,
        work_date=data.work_date,
        person_id=data.person_id if data.kind == "labor" else None,
        person_name=_person(db, deployment, data),
        description=data.description,
        hours=data.hours,
        km=data.km,
        quantity=data.quantity,
        unit_cost=data.unit_cost,
        rate=data.rate,
        note=data.note,
        created_by_user_id=actor.user_id,
    )
    if entry.hours is not None:
        already = _day_hours(db, entry)
        limit = MAX_DAY_HOURS * (offer.quantity if data.kind == "equipment" else 1)
        if already + entry.hours > limit:
            who = entry.person_name if data.kind == "labor" else "this equipment"
            raise InvalidInput(
                "hours", f"{who} would have more than {limit} h on {data.work_date} ({already} h already)"
            )
    db.add(entry)
    db.flush()
    _audit(
        db,
        actor,
        "mutualaid.time.add",
        offer.providing_agency_id,
        "deployment",
        offer.id,
        entry_id=entry.id,
        kind=entry.kind,
        work_date=entry.work_date,
    )
    return entry


def _claimed_entries(db: Session, actor: Actor, offer_id: uuid.UUID) -> dict[str, str]:
    """Entry id -> number of the live claim that used it."""
    used: dict[str, str] = {}
    for claim in queries.list_claims(db, actor, offer_id):
        if claim.status in LIVE_CLAIMS:
            used.update({str(entry_id): claim.number for entry_id in claim.entry_ids or []})
    return used


def void_entry(db: Session, *, actor: Actor, offer_id: uuid.UUID, entry_id: uuid.UUID, data: VoidEntry) -> TimeEntry:
    deployment = queries.get_deployment(db, actor, offer_id)
    _provider(actor, deployment)
    entry = queries.get_entry(db, actor, offer_id, entry_id)
    if entry.voided_at is not None:
        raise Conflict("status", "the entry is already void")
    claim = _claimed_entries(db, actor, offer_id).get(str(entry.id))
    if claim is not None:
        raise Conflict("entry_id", f"claim {claim} used this entry; it can be voided only if that claim is rejected")
    entry.voided_at, entry.voided_by_user_id, entry.void_reason = utcnow(), actor.user_id, data.reason
    db.flush()
    _audit(
        db,
        actor,
        "mutualaid.time.void",
        entry.providing_agency_id,
        "deployment",
        offer_id,
        entry_id=entry.id,
        reason=data.reason,
    )
    return entry


# -- claims ---------------------------------------------------------------------------------------
def _next_number(db: Session) -> str:
    year = utcnow().year
    prefix = f"CLM-{year}-"
    count = db.scalar(select(func.count()).select_from(CostClaim).where(CostClaim.number.like(f"{prefix}%"))) or 0
    return f"{prefix}{int(count) + 1:04d}"


def create_claim(db: Session, *, actor: Actor, offer_id: uuid.UUID, data: ClaimCreate) -> CostClaim:
    deployment = queries.get_deployment(db, actor, offer_id)
    _provider(actor, deployment)
    open_claims = [c for c in queries.list_claims(db, actor, offer_id) if c.status in ("draft", "submitted")]
    if open_claims:
        raise Conflict("offer_id", f"claim {open_claims[0].number} is still {open_claims[0].status}; settle it first")
    offer = deployment.offer
    claim = CostClaim(
        number=_next_number(db),
        offer_id=offer.id,
        incident_id=deployment.request.incident_id,
        providing_agency_id=offer.providing_agency_id,
        requesting_agency_id=deployment.request.requesting_agency_id,
        clause_id=offer.clause_id,
        agreement_version_id=offer.agreement_version_id,
        status="draft",
        note=data.note,
        created_by_user_id=actor.user_id,
    )
    db.add(claim)
    db.flush()
    _audit(db, actor, "mutualaid.claim.create", offer.providing_agency_id, "claim", claim.id, number=claim.number)
    return claim


def allowed_steps(claim: CostClaim) -> tuple[str, ...]:
    return TRANSITIONS.get(claim.status, ())


def _step(claim: CostClaim, step: str) -> None:
    allowed = allowed_steps(claim)
    if step not in allowed:
        then = ", ".join(allowed) if allowed else "none (the claim is settled)"
        raise Conflict("status", f"a {claim.status} claim cannot be {DONE[step]}; allowed: {then}")


def frozen(costs: calc.Costs, terms: dict[str, Any]) -> dict[str, Any]:
    """The computation as JSON (decimals as strings), as a claim keeps it."""

    def text(value: Any) -> Any:
        return str(value) if isinstance(value, Decimal | uuid.UUID | date) else value

    return {
        "lines": [{k: text(v) for k, v in vars(line).items()} for line in costs.lines],
        "gross": str(costs.gross),
        "subtotal": str(costs.subtotal),
        "total": str(costs.total),
        "claimable": str(costs.claimable),
        "borne_by_provider": str(costs.borne_by_provider),
        "waived_hours": str(costs.waived_hours),
        "payer": costs.payer,
        "rules": costs.rules,
        "terms": terms,
    }


def submit_claim(db: Session, *, actor: Actor, claim_id: uuid.UUID) -> CostClaim:
    claim = queries.get_claim(db, actor, claim_id)
    if not queries.may(actor, MANAGE, claim.providing_agency_id):
        raise PermissionDenied(MANAGE, claim.providing_agency_id, reason="the providing agency submits its claims")
    _step(claim, "submit")
    deployment = queries.get_deployment(db, actor, claim.offer_id)
    entries = queries.list_entries(db, actor, claim.offer_id, include_voided=False)
    costs = queries.compute_costs(deployment, entries)
    earlier = sum(
        (c.amount or Decimal(0) for c in queries.list_claims(db, actor, claim.offer_id) if c.status in LIVE_CLAIMS),
        Decimal(0),
    )
    amount = costs.claimable - earlier
    if amount <= 0:
        why = (
            "under the clause the providing agency bears its costs"
            if costs.payer == "provider"
            else f"the claimable cost ({costs.claimable}) is already claimed ({earlier})"
        )
        raise Conflict("amount", f"nothing to claim: {why}")
    claim.computation = frozen(costs, deployment.terms.model_dump(mode="json"))
    claim.entry_ids = [str(e.id) for e in entries]
    claim.total, claim.claimable, claim.previously_claimed, claim.amount = (
        costs.total,
        costs.claimable,
        earlier,
        amount,
    )
    claim.status, claim.submitted_at, claim.submitted_by_user_id = "submitted", utcnow(), actor.user_id
    db.flush()
    _audit(
        db,
        actor,
        "mutualaid.claim.submit",
        claim.providing_agency_id,
        "claim",
        claim.id,
        number=claim.number,
        amount=amount,
    )
    return claim


def _requester_step(db: Session, actor: Actor, claim_id: uuid.UUID, step: str) -> CostClaim:
    claim = queries.get_claim(db, actor, claim_id)
    if not queries.may(actor, APPROVE, claim.requesting_agency_id):
        raise PermissionDenied(APPROVE, claim.requesting_agency_id, reason="the requesting agency decides its claims")
    _step(claim, step)
    return claim


def approve_claim(db: Session, *, actor: Actor, claim_id: uuid.UUID) -> CostClaim:
    claim = _requester_step(db, actor, claim_id, "approve")
    claim.status, claim.decided_at, claim.decided_by_user_id = "approved", utcnow(), actor.user_id
    db.flush()
    _audit(db, actor, "mutualaid.claim.approve", claim.requesting_agency_id, "claim", claim.id, amount=claim.amount)
    return claim


def reject_claim(db: Session, *, actor: Actor, claim_id: uuid.UUID, data: ClaimReject) -> CostClaim:
    claim = _requester_step(db, actor, claim_id, "reject")
    claim.status, claim.decided_at, claim.decided_by_user_id = "rejected", utcnow(), actor.user_id
    claim.rejection_reason = data.reason
    db.flush()
    _audit(db, actor, "mutualaid.claim.reject", claim.requesting_agency_id, "claim", claim.id, reason=data.reason)
    return claim


def pay_claim(db: Session, *, actor: Actor, claim_id: uuid.UUID, data: ClaimPay) -> CostClaim:
    claim = _requester_step(db, actor, claim_id, "pay")
    if claim.amount is not None and data.amount > claim.amount:
        raise InvalidInput("amount", f"more than the approved amount ({claim.amount})")
    claim.status, claim.paid_at, claim.paid_by_user_id = "paid", utcnow(), actor.user_id
    claim.paid_amount, claim.payment_reference = data.amount, data.reference
    db.flush()
    _audit(
        db,
        actor,
        "mutualaid.claim.pay",
        claim.requesting_agency_id,
        "claim",
        claim.id,
        amount=data.amount,
        reference=data.reference,
    )
    return claim
