"""Reads of deployments' time sheets, costs and claims, always through ``authz.scope``
(the deployment itself through the recovery policy's predicate over the offer). Anyone
outside the providing and the requesting agency gets the same 404 as for nothing."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import ValidationError
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from accord.agreements.models import Agreement, AgreementVersion, Clause
from accord.agreements.schemas import ReimbursementTerms
from accord.authz import Actor, roles_key, scope
from accord.core.errors import NotFound
from accord.mutualaid.metrics.figures import ClaimRow
from accord.mutualaid.models import Resource, ResourceOffer, ResourceRequest
from accord.mutualaid.recovery import costs as calc
from accord.mutualaid.recovery import policy
from accord.mutualaid.recovery.models import CostClaim, TimeEntry

READ = policy.READ
ZERO = Decimal("0.00")
# A committed offer is a deployment; these are its statuses.
DEPLOYED = ("committed", "mobilized", "on_scene", "demobilized", "returned")


@dataclass
class Deployment:
    offer: ResourceOffer
    request: ResourceRequest
    resource: Resource
    clause: Clause
    version: AgreementVersion
    agreement: Agreement
    terms: ReimbursementTerms

    @property
    def rates(self) -> calc.Rates:
        r = self.resource
        return calc.Rates(hourly=r.hourly_rate, daily=r.daily_rate, mileage=r.mileage_rate)


def reimbursement_terms(clause_terms: dict[str, Any]) -> ReimbursementTerms:
    """The clause's structured reimbursement terms; a clause signed without them (or with
    terms no longer valid) reads as the defaults: the requester pays the owner's rates."""
    try:
        return ReimbursementTerms.model_validate(clause_terms.get("reimbursement") or {})
    except ValidationError:
        return ReimbursementTerms()


def get_deployment(db: Session, actor: Actor, offer_id: uuid.UUID) -> Deployment:
    """The deployment (a committed offer) if the caller's agency provides or requested it
    (the offer's own policy, through ``authz.scope``)."""
    stmt = select(ResourceOffer).where(ResourceOffer.id == offer_id, ResourceOffer.status.in_(DEPLOYED))
    offer = db.scalar(scope(actor, READ, stmt))
    if offer is None:
        raise NotFound("deployment")
    request = db.get(ResourceRequest, offer.request_id)
    resource = db.get(Resource, offer.resource_id)
    clause = db.get(Clause, offer.clause_id)
    version = db.get(AgreementVersion, offer.agreement_version_id)
    agreement = db.get(Agreement, version.agreement_id) if version is not None else None
    if request is None or resource is None or clause is None or version is None or agreement is None:
        raise NotFound("deployment")
    return Deployment(offer, request, resource, clause, version, agreement, reimbursement_terms(clause.terms))


def list_deployments(
    db: Session, actor: Actor, *, incident_id: uuid.UUID, agencies: tuple[uuid.UUID, uuid.UUID]
) -> list[ResourceOffer]:
    """The incident's deployments between the two agencies, either way round."""
    a, b = agencies
    stmt = (
        select(ResourceOffer)
        .join(ResourceRequest, ResourceRequest.id == ResourceOffer.request_id)
        .where(
            ResourceRequest.incident_id == incident_id,
            ResourceOffer.status.in_(DEPLOYED),
            ResourceOffer.providing_agency_id.in_((a, b)),
            ResourceRequest.requesting_agency_id.in_((a, b)),
            ResourceOffer.providing_agency_id != ResourceRequest.requesting_agency_id,
        )
        .order_by(ResourceOffer.committed_at, ResourceOffer.id)
    )
    return list(db.scalars(scope(actor, READ, stmt)))


def list_entries(db: Session, actor: Actor, offer_id: uuid.UUID, *, include_voided: bool = True) -> list[TimeEntry]:
    stmt = scope(actor, READ, select(TimeEntry).where(TimeEntry.offer_id == offer_id))
    if not include_voided:
        stmt = stmt.where(TimeEntry.voided_at.is_(None))
    return list(db.scalars(stmt.order_by(TimeEntry.work_date, TimeEntry.sequence)))


def get_entry(db: Session, actor: Actor, offer_id: uuid.UUID, entry_id: uuid.UUID) -> TimeEntry:
    stmt = select(TimeEntry).where(TimeEntry.id == entry_id, TimeEntry.offer_id == offer_id)
    found = db.scalar(scope(actor, READ, stmt))
    if found is None:
        raise NotFound("time entry")
    return found


def entry_label(entry: TimeEntry) -> str:
    if entry.kind == "labor":
        return entry.person_name
    return entry.description or {"equipment": "equipment", "mileage": "mileage"}.get(entry.kind, entry.kind)


def calc_entry(entry: TimeEntry) -> calc.Entry:
    return calc.Entry(
        id=entry.id,
        kind=entry.kind,
        work_date=entry.work_date,
        sequence=entry.sequence,
        label=entry_label(entry),
        hours=entry.hours,
        km=entry.km,
        quantity=entry.quantity,
        unit_cost=entry.unit_cost,
        rate=entry.rate,
    )


def compute_costs(deployment: Deployment, entries: list[TimeEntry]) -> calc.Costs:
    live = [calc_entry(e) for e in entries if e.voided_at is None]
    return calc.compute(deployment.rates, deployment.terms, live)


def deployment_costs(db: Session, actor: Actor, offer_id: uuid.UUID) -> tuple[Deployment, calc.Costs]:
    """The live computation: the deployment's entries now, under its clause's terms."""
    deployment = get_deployment(db, actor, offer_id)
    return deployment, compute_costs(deployment, list_entries(db, actor, offer_id, include_voided=False))


def list_claims(db: Session, actor: Actor, offer_id: uuid.UUID) -> list[CostClaim]:
    stmt = scope(actor, READ, select(CostClaim).where(CostClaim.offer_id == offer_id))
    return list(db.scalars(stmt.order_by(CostClaim.created_at, CostClaim.number)))


def get_claim(db: Session, actor: Actor, claim_id: uuid.UUID) -> CostClaim:
    found = db.scalar(scope(actor, READ, select(CostClaim).where(CostClaim.id == claim_id)))
    if found is None:
        raise NotFound("claim")
    return found


def may(actor: Actor, permission: str, agency_id: uuid.UUID) -> bool:
    """Holds ``permission`` as a member of ``agency_id`` (platform roles do not count)."""
    return agency_id in {agency for agency, _ in roles_key(actor, permission)}


def claim_rows(db: Session, agencies: frozenset[uuid.UUID], since: datetime, until: datetime) -> list[ClaimRow]:
    """Approved (or paid) claims decided in [since, until) that ``agencies`` provided or
    pay, as (paying agency, providing agency, approved, paid): the metrics' cost figures.
    Amounts only, for the agencies' own metrics (``mutualaid.metrics``)."""
    rows = db.execute(
        select(
            CostClaim.requesting_agency_id, CostClaim.providing_agency_id, CostClaim.amount, CostClaim.paid_amount
        ).where(
            CostClaim.status.in_(("approved", "paid")),
            CostClaim.decided_at >= since,
            CostClaim.decided_at < until,
            or_(CostClaim.providing_agency_id.in_(agencies), CostClaim.requesting_agency_id.in_(agencies)),
        )
    )
    return [ClaimRow(payer, provider, amount or ZERO, paid or ZERO) for payer, provider, amount, paid in rows]
