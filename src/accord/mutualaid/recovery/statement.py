"""The settlement statement of two agencies for one incident: every deployment between
them (either way round), its cost lines with the waivers and caps that applied, its claims
and what is claimed, approved, paid and outstanding, and the clause and agreement version
it is paid under. Read through the same doors as the time sheets: only members of the two
agencies get one. Rendered as HTML, PDF and CSV from the same object."""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy.orm import Session

from accord.authz import Actor, roles_key
from accord.core.errors import InvalidInput, NotFound
from accord.core.time import utcnow
from accord.directory import queries as directory
from accord.mutualaid.recovery import costs as calc
from accord.mutualaid.recovery import queries
from accord.mutualaid.recovery.models import CostClaim
from accord.mutualaid.recovery.schemas import StatementFilter
from accord.mutualaid.recovery.service import LIVE_CLAIMS
from accord.operations import queries as operations

ZERO = Decimal("0.00")


@dataclass
class Sums:
    cost: Decimal = ZERO  # the deployments' cost under their clauses
    borne_by_provider: Decimal = ZERO
    claimable: Decimal = ZERO
    claimed: Decimal = ZERO  # submitted, approved or paid
    approved: Decimal = ZERO  # approved or paid
    paid: Decimal = ZERO
    unclaimed: Decimal = ZERO  # claimable, not yet claimed

    @property
    def outstanding(self) -> Decimal:
        """Approved, not yet paid."""
        return self.approved - self.paid

    def add(self, other: Sums) -> None:
        for name in ("cost", "borne_by_provider", "claimable", "claimed", "approved", "paid", "unclaimed"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class DeploymentPart:
    deployment: queries.Deployment
    provider: str
    requester: str
    costs: calc.Costs
    claims: list[CostClaim]
    sums: Sums


@dataclass
class Statement:
    filters: StatementFilter
    incident: str
    agency_a: str
    agency_b: str
    prepared_at: datetime
    prepared_by: str
    parts: list[DeploymentPart]
    by_direction: list[tuple[str, str, Sums]] = field(default_factory=list)  # provider, requester, sums


def _sums(costs: calc.Costs, claims: list[CostClaim]) -> Sums:
    live = [c for c in claims if c.status in LIVE_CLAIMS]
    claimed = sum((c.amount or ZERO for c in live), ZERO)
    return Sums(
        cost=costs.total,
        borne_by_provider=costs.borne_by_provider,
        claimable=costs.claimable,
        claimed=claimed,
        approved=sum((c.amount or ZERO for c in live if c.status in ("approved", "paid")), ZERO),
        paid=sum((c.paid_amount or ZERO for c in live if c.status == "paid"), ZERO),
        unclaimed=max(costs.claimable - claimed, ZERO),
    )


def _name(db: Session, actor: Actor, agency_id: uuid.UUID) -> str:
    try:
        agency = directory.get_agency(db, actor, agency_id)
    except NotFound:
        return str(agency_id)
    return f"{agency.name} ({agency.short_name})"


def _incident(db: Session, actor: Actor, incident_id: uuid.UUID) -> str:
    try:
        incident = operations.get_incident(db, actor, incident_id)
    except NotFound:
        return f"incident {incident_id}"
    return f"{incident.number} · {incident.name}"


def build_statement(db: Session, actor: Actor, filters: StatementFilter) -> Statement:
    if filters.agency_a == filters.agency_b:
        raise InvalidInput("agency_b", "name two different agencies")
    mine = {agency for agency, _ in roles_key(actor, queries.READ)}
    if not mine & {filters.agency_a, filters.agency_b}:
        raise NotFound("statement")
    names = {a: _name(db, actor, a) for a in (filters.agency_a, filters.agency_b)}
    parts = []
    totals: dict[tuple[uuid.UUID, uuid.UUID], Sums] = {}
    offers = queries.list_deployments(
        db, actor, incident_id=filters.incident_id, agencies=(filters.agency_a, filters.agency_b)
    )
    for offer in offers:
        deployment, costs = queries.deployment_costs(db, actor, offer.id)
        claims = queries.list_claims(db, actor, offer.id)
        sums = _sums(costs, claims)
        direction = (offer.providing_agency_id, deployment.request.requesting_agency_id)
        totals.setdefault(direction, Sums()).add(sums)
        parts.append(DeploymentPart(deployment, names[direction[0]], names[direction[1]], costs, claims, sums))
    return Statement(
        filters=filters,
        incident=_incident(db, actor, filters.incident_id),
        agency_a=names[filters.agency_a],
        agency_b=names[filters.agency_b],
        prepared_at=utcnow(),
        prepared_by=actor.display_name or actor.username,
        parts=parts,
        by_direction=sorted(((names[p], names[r], s) for (p, r), s in totals.items()), key=lambda d: d[:2]),
    )


COLUMNS = (
    "record",
    "provider",
    "requester",
    "resource",
    "agreement",
    "version",
    "clause",
    "date",
    "kind",
    "description",
    "quantity",
    "unit",
    "rate",
    "waived_hours",
    "amount",
    "claim",
    "claim_status",
    "claimed",
    "approved",
    "paid",
    "outstanding",
    "rules",
)


def as_csv(statement: Statement) -> str:
    """One row per cost line, per claim and per deployment (its totals)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, extrasaction="raise")
    writer.writeheader()
    for part in statement.parts:
        d = part.deployment
        common = {
            "provider": part.provider,
            "requester": part.requester,
            "resource": d.resource.name,
            "agreement": d.version.title,
            "version": d.version.number,
            "clause": d.clause.position,
        }
        for line in part.costs.lines:
            writer.writerow(
                common
                | {
                    "record": "line",
                    "date": line.work_date.isoformat(),
                    "kind": line.kind,
                    "description": line.label,
                    "quantity": line.quantity,
                    "unit": line.unit,
                    "rate": line.rate,
                    "waived_hours": line.waived_hours,
                    "amount": line.amount,
                    "rules": "; ".join(line.rules),
                }
            )
        for claim in part.claims:
            writer.writerow(
                common
                | {
                    "record": "claim",
                    "date": (claim.submitted_at or claim.created_at).date().isoformat(),
                    "claim": claim.number,
                    "claim_status": claim.status,
                    "amount": claim.amount if claim.amount is not None else "",
                    "paid": claim.paid_amount if claim.paid_amount is not None else "",
                    "description": claim.payment_reference or claim.rejection_reason,
                }
            )
        s = part.sums
        writer.writerow(
            common
            | {
                "record": "deployment",
                "amount": s.cost,
                "claimed": s.claimed,
                "approved": s.approved,
                "paid": s.paid,
                "outstanding": s.outstanding,
                "rules": "; ".join(part.costs.rules),
            }
        )
    return buffer.getvalue()
