"""JSON API of cost recovery: a deployment's time sheet and live costs, its claims and
their steps, and the settlement statement of two agencies for an incident (JSON, CSV,
PDF)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response, StreamingResponse

from accord.authz import Actor
from accord.authz.deps import Permission
from accord.core.deps import DB
from accord.mutualaid.recovery import queries, render, service, statement
from accord.mutualaid.recovery.costs import Costs
from accord.mutualaid.recovery.models import CostClaim
from accord.mutualaid.recovery.schemas import (
    ClaimCreate,
    ClaimPay,
    ClaimRead,
    ClaimReject,
    CostsRead,
    LineRead,
    StatementFilter,
    TimeEntryCreate,
    TimeEntryRead,
    VoidEntry,
)

router = APIRouter(prefix="/api/v1", tags=["mutual aid: cost recovery"])
Read = Annotated[Actor, Depends(Permission("mutualaid:request:read"))]
Manage = Annotated[Actor, Depends(Permission("mutualaid:cost:manage"))]
Approve = Annotated[Actor, Depends(Permission("mutualaid:claim:approve"))]
Filters = Annotated[StatementFilter, Query()]


def costs_read(deployment: queries.Deployment, costs: Costs) -> CostsRead:
    return CostsRead(
        offer_id=deployment.offer.id,
        clause_id=deployment.clause.id,
        payer=costs.payer,
        lines=[LineRead.model_validate(line) for line in costs.lines],
        gross=costs.gross,
        subtotal=costs.subtotal,
        total=costs.total,
        claimable=costs.claimable,
        borne_by_provider=costs.borne_by_provider,
        waived_hours=costs.waived_hours,
        rules=costs.rules,
        terms=deployment.terms.model_dump(mode="json"),
    )


def claim_read(claim: CostClaim) -> ClaimRead:
    read = ClaimRead.model_validate(claim)
    read.allowed = list(service.allowed_steps(claim))
    return read


@router.get("/deployments/{offer_id}/time-entries", response_model=list[TimeEntryRead])
def list_entries(db: DB, actor: Read, offer_id: uuid.UUID) -> list[TimeEntryRead]:
    """The deployment's time sheet, voided entries included (they no longer count)."""
    queries.get_deployment(db, actor, offer_id)
    return [TimeEntryRead.model_validate(e) for e in queries.list_entries(db, actor, offer_id)]


@router.post("/deployments/{offer_id}/time-entries", response_model=TimeEntryRead, status_code=201)
def add_entry(db: DB, actor: Manage, offer_id: uuid.UUID, data: TimeEntryCreate) -> TimeEntryRead:
    entry = service.add_entry(db, actor=actor, offer_id=offer_id, data=data)
    db.commit()
    return TimeEntryRead.model_validate(entry)


@router.post("/deployments/{offer_id}/time-entries/{entry_id}/void", response_model=TimeEntryRead)
def void_entry(db: DB, actor: Manage, offer_id: uuid.UUID, entry_id: uuid.UUID, data: VoidEntry) -> TimeEntryRead:
    """Entries are never edited or deleted: a mistake is voided with a reason and entered again."""
    entry = service.void_entry(db, actor=actor, offer_id=offer_id, entry_id=entry_id, data=data)
    db.commit()
    return TimeEntryRead.model_validate(entry)


@router.get("/deployments/{offer_id}/costs", response_model=CostsRead)
def get_costs(db: DB, actor: Read, offer_id: uuid.UUID) -> CostsRead:
    """The live computation of the deployment's costs under its clause's reimbursement terms."""
    return costs_read(*queries.deployment_costs(db, actor, offer_id))


@router.get("/deployments/{offer_id}/claims", response_model=list[ClaimRead])
def list_claims(db: DB, actor: Read, offer_id: uuid.UUID) -> list[ClaimRead]:
    queries.get_deployment(db, actor, offer_id)
    return [claim_read(c) for c in queries.list_claims(db, actor, offer_id)]


@router.post("/deployments/{offer_id}/claims", response_model=ClaimRead, status_code=201)
def create_claim(db: DB, actor: Manage, offer_id: uuid.UUID, data: ClaimCreate) -> ClaimRead:
    claim = service.create_claim(db, actor=actor, offer_id=offer_id, data=data)
    db.commit()
    return claim_read(claim)


@router.get("/claims/{claim_id}", response_model=ClaimRead)
def get_claim(db: DB, actor: Read, claim_id: uuid.UUID) -> ClaimRead:
    return claim_read(queries.get_claim(db, actor, claim_id))


@router.post("/claims/{claim_id}/submit", response_model=ClaimRead)
def submit_claim(db: DB, actor: Manage, claim_id: uuid.UUID) -> ClaimRead:
    """Freeze the computed lines and ask the requesting agency for what is not yet claimed."""
    claim = service.submit_claim(db, actor=actor, claim_id=claim_id)
    db.commit()
    return claim_read(claim)


@router.post("/claims/{claim_id}/approve", response_model=ClaimRead)
def approve_claim(db: DB, actor: Approve, claim_id: uuid.UUID) -> ClaimRead:
    claim = service.approve_claim(db, actor=actor, claim_id=claim_id)
    db.commit()
    return claim_read(claim)


@router.post("/claims/{claim_id}/reject", response_model=ClaimRead)
def reject_claim(db: DB, actor: Approve, claim_id: uuid.UUID, data: ClaimReject) -> ClaimRead:
    claim = service.reject_claim(db, actor=actor, claim_id=claim_id, data=data)
    db.commit()
    return claim_read(claim)


@router.post("/claims/{claim_id}/pay", response_model=ClaimRead)
def pay_claim(db: DB, actor: Approve, claim_id: uuid.UUID, data: ClaimPay) -> ClaimRead:
    claim = service.pay_claim(db, actor=actor, claim_id=claim_id, data=data)
    db.commit()
    return claim_read(claim)


def _statement_json(document: statement.Statement) -> dict[str, Any]:
    def sums(s: statement.Sums) -> dict[str, str]:
        names = ("cost", "borne_by_provider", "claimable", "claimed", "approved", "paid", "unclaimed", "outstanding")
        return {name: str(getattr(s, name)) for name in names}

    return {
        "incident_id": str(document.filters.incident_id),
        "incident": document.incident,
        "agency_a": document.agency_a,
        "agency_b": document.agency_b,
        "prepared_at": document.prepared_at.isoformat(),
        "deployments": [
            {
                "offer_id": str(part.deployment.offer.id),
                "resource": part.deployment.resource.name,
                "provider": part.provider,
                "requester": part.requester,
                "agreement": part.deployment.version.title,
                "agreement_version": part.deployment.version.number,
                "clause_id": str(part.deployment.clause.id),
                "costs": costs_read(part.deployment, part.costs).model_dump(mode="json"),
                "claims": [claim_read(c).model_dump(mode="json") for c in part.claims],
                "sums": sums(part.sums),
            }
            for part in document.parts
        ],
        "by_direction": [{"provider": p, "requester": r, "sums": sums(s)} for p, r, s in document.by_direction],
    }


@router.get("/statements")
def get_statement(db: DB, actor: Read, filters: Filters) -> dict[str, Any]:
    """The settlement statement of two agencies for one incident (members of either only)."""
    return _statement_json(statement.build_statement(db, actor, filters))


def _filename(filters: StatementFilter, ext: str) -> dict[str, str]:
    name = f"settlement-{str(filters.incident_id)[:8]}-{str(filters.agency_a)[:8]}-{str(filters.agency_b)[:8]}.{ext}"
    return {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"}


@router.get("/statements.csv", response_class=StreamingResponse)
def statement_csv(db: DB, actor: Read, filters: Filters) -> StreamingResponse:
    body = statement.as_csv(statement.build_statement(db, actor, filters))
    return StreamingResponse(iter([body]), media_type="text/csv; charset=utf-8", headers=_filename(filters, "csv"))


@router.get("/statements.pdf", response_class=Response)
def statement_pdf(db: DB, actor: Read, filters: Filters) -> Response:
    pdf = render.statement_pdf(statement.build_statement(db, actor, filters))
    return Response(pdf, media_type="application/pdf", headers=_filename(filters, "pdf"))
