"""JSON API of partnerships, governance and agreements."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Depends, Path, Query
from fastapi.responses import Response

from accord.agreements import lifecycle, queries, service
from accord.agreements.models import Agreement, AgreementVersion, Partnership
from accord.agreements.pages import document_pdf, pdf_response
from accord.agreements.schemas import (
    AgreementDraft,
    AgreementEdit,
    AgreementFilter,
    AgreementRead,
    BodyCreate,
    BodyRead,
    ClauseRead,
    DecisionCreate,
    DecisionRead,
    DiffLine,
    DisputeCreate,
    DisputeRead,
    DisputeResolve,
    GrantRead,
    MemberAdd,
    MemberRead,
    MemberUpdate,
    MutualAidTerms,
    OptOutRead,
    OptOutRequest,
    OptOutTerms,
    PartnershipCreate,
    PartnershipRead,
    ProtocolTerms,
    SharingTerms,
    SignatureRead,
    SignRequest,
    TerminateRequest,
    VersionDiff,
    VersionRead,
)
from accord.authz import Actor
from accord.authz.deps import Permission
from accord.core.deps import DB
from accord.core.errors import InvalidInput
from accord.core.schemas import Page
from accord.core.time import utcnow
from accord.directory import queries as directory

router = APIRouter(prefix="/api/v1", tags=["agreements"])
ReadPartnerships = Annotated[Actor, Depends(Permission("agreements:partnership:read"))]
ManagePartnerships = Annotated[Actor, Depends(Permission("agreements:partnership:manage"))]
ReadAgreements = Annotated[Actor, Depends(Permission("agreements:agreement:read"))]
DraftAgreements = Annotated[Actor, Depends(Permission("agreements:agreement:draft"))]
SignAgreements = Annotated[Actor, Depends(Permission("agreements:agreement:sign"))]
ManageAgreements = Annotated[Actor, Depends(Permission("agreements:agreement:manage"))]
ClauseBody = Annotated[SharingTerms | OptOutTerms | MutualAidTerms | ProtocolTerms, Body(discriminator="kind")]


def partnership_read(db: DB, actor: Actor, partnership: Partnership) -> PartnershipRead:
    bodies = queries.bodies_of(db, actor, partnership.id)
    decisions = queries.decisions_of(db, [b.id for b in bodies])
    return PartnershipRead(
        id=partnership.id,
        name=partnership.name,
        kind=partnership.kind,
        purpose=partnership.purpose,
        starts_on=partnership.starts_on,
        ends_on=partnership.ends_on,
        members=[MemberRead.model_validate(m) for m in partnership.members],
        bodies=[
            BodyRead(
                id=b.id,
                kind=b.kind,
                name=b.name,
                member_person_ids=[uuid.UUID(p) for p in b.member_person_ids],
                decisions=[DecisionRead.model_validate(d) for d in decisions[b.id]],
            )
            for b in bodies
        ],
        disputes=[DisputeRead.model_validate(d) for d in queries.disputes_of(db, actor, partnership.id)],
    )


def version_read(agreement: Agreement, version: AgreementVersion) -> VersionRead:
    signed_by = {s.agency_id for s in version.signatures}
    return VersionRead(
        id=version.id,
        number=version.number,
        status=version.status,
        state=lifecycle.version_state(agreement, version, utcnow()),
        title=version.title,
        text=version.text,
        effective_at=version.effective_at,
        expires_at=version.expires_at,
        content_hash=version.content_hash,
        proposed_at=version.proposed_at,
        signed_at=version.signed_at,
        parties=version.party_ids,
        clauses=[ClauseRead.model_validate(c) for c in version.clauses],
        signatures=[SignatureRead.model_validate(s) for s in version.signatures],
        awaiting=[p for p in version.party_ids if p not in signed_by] if version.status == "proposed" else [],
    )


def agreement_read(agreement: Agreement) -> AgreementRead:
    return AgreementRead(
        id=agreement.id,
        kind=agreement.kind,
        title=agreement.versions[-1].title,
        state=lifecycle.agreement_state(agreement, utcnow()),
        partnership_id=agreement.partnership_id,
        drafted_by_agency_id=agreement.drafted_by_agency_id,
        suspended_at=agreement.suspended_at,
        terminated_at=agreement.terminated_at,
        versions=[version_read(agreement, v) for v in agreement.versions],
        opt_outs=[OptOutRead.model_validate(o) for o in agreement.opt_outs],
    )


@router.get("/partnerships", response_model=list[PartnershipRead])
def list_partnerships(actor: ReadPartnerships, db: DB) -> list[PartnershipRead]:
    """Partnerships your agencies belong to."""
    return [partnership_read(db, actor, p) for p in queries.list_partnerships(db, actor)]


@router.post("/partnerships", response_model=PartnershipRead, status_code=201)
def create_partnership(body: PartnershipCreate, actor: ManagePartnerships, db: DB) -> PartnershipRead:
    partnership = service.create_partnership(db, actor=actor, data=body)
    db.commit()
    return partnership_read(db, actor, partnership)


@router.get("/partnerships/{partnership_id}", response_model=PartnershipRead)
def get_partnership(partnership_id: uuid.UUID, actor: ReadPartnerships, db: DB) -> PartnershipRead:
    return partnership_read(db, actor, queries.get_partnership(db, actor, partnership_id))


@router.post("/partnerships/{partnership_id}/members", response_model=PartnershipRead, status_code=201)
def add_member(partnership_id: uuid.UUID, body: MemberAdd, actor: ManagePartnerships, db: DB) -> PartnershipRead:
    partnership = service.add_member(db, actor=actor, partnership_id=partnership_id, data=body)
    db.commit()
    return partnership_read(db, actor, partnership)


@router.delete("/partnerships/{partnership_id}/members/{agency_id}", response_model=PartnershipRead)
def leave(partnership_id: uuid.UUID, agency_id: uuid.UUID, actor: ManagePartnerships, db: DB) -> PartnershipRead:
    """An agency leaves the partnership (membership history is kept)."""
    partnership = service.leave_partnership(db, actor=actor, partnership_id=partnership_id, agency_id=agency_id)
    db.commit()
    return partnership_read(db, actor, partnership)


@router.patch("/partnerships/{partnership_id}/members/{agency_id}", response_model=PartnershipRead)
def update_member(
    partnership_id: uuid.UUID, agency_id: uuid.UUID, body: MemberUpdate, actor: ManagePartnerships, db: DB
) -> PartnershipRead:
    """A member agency names (or, with null, clears) its liaison officer to the partnership."""
    partnership = service.set_liaison(db, actor=actor, partnership_id=partnership_id, agency_id=agency_id, data=body)
    db.commit()
    return partnership_read(db, actor, partnership)


@router.post("/partnerships/{partnership_id}/bodies", response_model=PartnershipRead, status_code=201)
def create_body(partnership_id: uuid.UUID, body: BodyCreate, actor: ManagePartnerships, db: DB) -> PartnershipRead:
    service.create_body(db, actor=actor, partnership_id=partnership_id, data=body)
    db.commit()
    return partnership_read(db, actor, queries.get_partnership(db, actor, partnership_id))


@router.post("/governance-bodies/{body_id}/decisions", response_model=DecisionRead, status_code=201)
def record_decision(body_id: uuid.UUID, body: DecisionCreate, actor: ManagePartnerships, db: DB) -> DecisionRead:
    decision = service.record_decision(db, actor=actor, body_id=body_id, data=body)
    db.commit()
    return DecisionRead.model_validate(decision)


@router.post("/partnerships/{partnership_id}/disputes", response_model=DisputeRead, status_code=201)
def raise_dispute(partnership_id: uuid.UUID, body: DisputeCreate, actor: ManagePartnerships, db: DB) -> DisputeRead:
    dispute = service.raise_dispute(db, actor=actor, partnership_id=partnership_id, data=body)
    db.commit()
    return DisputeRead.model_validate(dispute)


@router.post("/disputes/{dispute_id}/resolve", response_model=DisputeRead)
def resolve_dispute(dispute_id: uuid.UUID, body: DisputeResolve, actor: ManagePartnerships, db: DB) -> DisputeRead:
    dispute = service.resolve_dispute(db, actor=actor, dispute_id=dispute_id, data=body)
    db.commit()
    return DisputeRead.model_validate(dispute)


@router.get("/agreements", response_model=Page[AgreementRead])
def list_agreements(filters: Annotated[AgreementFilter, Query()], actor: ReadAgreements, db: DB) -> Page[AgreementRead]:
    """Agreements your agencies are party to."""
    rows, total = queries.list_agreements(db, actor, filters)
    return Page(items=[agreement_read(a) for a in rows], total=total, limit=filters.limit, offset=filters.offset)


@router.post("/agreements", response_model=AgreementRead, status_code=201)
def draft_agreement(body: AgreementDraft, actor: DraftAgreements, db: DB) -> AgreementRead:
    """Start an agreement as a draft (version 1) with its parties and typed clauses."""
    agreement = service.draft_agreement(db, actor=actor, data=body)
    db.commit()
    return agreement_read(agreement)


@router.get("/agreements/{agreement_id}", response_model=AgreementRead)
def get_agreement(agreement_id: uuid.UUID, actor: ReadAgreements, db: DB) -> AgreementRead:
    return agreement_read(queries.get_agreement(db, actor, agreement_id))


@router.patch("/agreements/{agreement_id}/draft", response_model=AgreementRead)
def edit_draft(agreement_id: uuid.UUID, body: AgreementEdit, actor: DraftAgreements, db: DB) -> AgreementRead:
    agreement = service.edit_draft(db, actor=actor, agreement_id=agreement_id, data=body)
    db.commit()
    return agreement_read(agreement)


@router.post("/agreements/{agreement_id}/draft/clauses", response_model=AgreementRead, status_code=201)
def add_clause(agreement_id: uuid.UUID, body: ClauseBody, actor: DraftAgreements, db: DB) -> AgreementRead:
    """Append one typed clause to the open draft."""
    service.add_clause(db, actor=actor, agreement_id=agreement_id, terms=body)
    db.commit()
    return agreement_read(queries.get_agreement(db, actor, agreement_id))


@router.put("/agreements/{agreement_id}/draft/clauses/{clause_id}", response_model=AgreementRead)
def update_clause(
    agreement_id: uuid.UUID, clause_id: uuid.UUID, body: ClauseBody, actor: DraftAgreements, db: DB
) -> AgreementRead:
    """Replace the terms of one clause of the open draft (it keeps its place)."""
    service.update_clause(db, actor=actor, agreement_id=agreement_id, clause_id=clause_id, terms=body)
    db.commit()
    return agreement_read(queries.get_agreement(db, actor, agreement_id))


@router.delete("/agreements/{agreement_id}/draft/clauses/{clause_id}", response_model=AgreementRead)
def remove_clause(agreement_id: uuid.UUID, clause_id: uuid.UUID, actor: DraftAgreements, db: DB) -> AgreementRead:
    """Take one clause out of the open draft; later clauses move up."""
    agreement = service.remove_clause(db, actor=actor, agreement_id=agreement_id, clause_id=clause_id)
    db.commit()
    return agreement_read(agreement)


@router.post("/agreements/{agreement_id}/propose", response_model=AgreementRead)
def propose(agreement_id: uuid.UUID, actor: DraftAgreements, db: DB) -> AgreementRead:
    """Freeze the draft for signature; the answer carries the content hash parties sign."""
    agreement = service.propose(db, actor=actor, agreement_id=agreement_id)
    db.commit()
    return agreement_read(agreement)


@router.post("/agreements/{agreement_id}/sign", response_model=AgreementRead)
def sign(agreement_id: uuid.UUID, body: SignRequest, actor: SignAgreements, db: DB) -> AgreementRead:
    """Sign the proposed version for one party, over the content hash you read."""
    agreement = service.sign(db, actor=actor, agreement_id=agreement_id, data=body)
    db.commit()
    return agreement_read(agreement)


@router.post("/agreements/{agreement_id}/amend", response_model=AgreementRead, status_code=201)
def amend(agreement_id: uuid.UUID, actor: DraftAgreements, db: DB) -> AgreementRead:
    agreement = service.amend(db, actor=actor, agreement_id=agreement_id)
    db.commit()
    return agreement_read(agreement)


@router.post("/agreements/{agreement_id}/suspend", response_model=AgreementRead)
def suspend(agreement_id: uuid.UUID, actor: ManageAgreements, db: DB) -> AgreementRead:
    agreement = service.suspend(db, actor=actor, agreement_id=agreement_id)
    db.commit()
    return agreement_read(agreement)


@router.post("/agreements/{agreement_id}/resume", response_model=AgreementRead)
def resume(agreement_id: uuid.UUID, actor: ManageAgreements, db: DB) -> AgreementRead:
    agreement = service.resume(db, actor=actor, agreement_id=agreement_id)
    db.commit()
    return agreement_read(agreement)


@router.post("/agreements/{agreement_id}/terminate", response_model=AgreementRead)
def terminate(agreement_id: uuid.UUID, body: TerminateRequest, actor: ManageAgreements, db: DB) -> AgreementRead:
    agreement = service.terminate(db, actor=actor, agreement_id=agreement_id, reason=body.reason)
    db.commit()
    return agreement_read(agreement)


@router.post("/agreements/{agreement_id}/opt-out", response_model=AgreementRead)
def opt_out(agreement_id: uuid.UUID, body: OptOutRequest, actor: ManageAgreements, db: DB) -> AgreementRead:
    """Your agency leaves the agreement; its grants end when the notice period does."""
    agreement = service.opt_out(db, actor=actor, agreement_id=agreement_id, agency_id=body.agency_id)
    db.commit()
    return agreement_read(agreement)


@router.get("/agreements/{agreement_id}/diff", response_model=VersionDiff)
def version_diff(
    agreement_id: uuid.UUID,
    actor: ReadAgreements,
    db: DB,
    from_version: Annotated[int, Query(alias="from", ge=1)],
    to_version: Annotated[int, Query(alias="to", ge=1)],
) -> VersionDiff:
    """What changed between two versions, line by line, with agency names."""
    agreement = queries.get_agreement(db, actor, agreement_id)
    versions = {v.number: v for v in agreement.versions}
    for field, number in (("from", from_version), ("to", to_version)):
        if number not in versions:
            raise InvalidInput(field, f"this agreement has no version {number}")
    names = {str(a): n for a, n in directory.agency_options(db, actor)}
    lines = lifecycle.diff(versions[from_version], versions[to_version], names)
    return VersionDiff(
        from_version=from_version, to_version=to_version, lines=[DiffLine(op=op, line=text) for op, text in lines]
    )


@router.get("/agreements/{agreement_id}/grants", response_model=list[GrantRead])
def grants(agreement_id: uuid.UUID, actor: ReadAgreements, db: DB, current: bool = False) -> list[GrantRead]:
    """The access grants this agreement compiles to (all windows, or only those valid now)."""
    agreement = queries.get_agreement(db, actor, agreement_id)
    return [GrantRead.model_validate(g) for g in queries.grants_of(db, agreement, utcnow() if current else None)]


@router.get(
    "/agreements/{agreement_id}/versions/{number}/document.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}, "description": "The version as a PDF document"}},
)
def version_document_pdf(
    agreement_id: uuid.UUID, number: Annotated[int, Path(ge=1, le=1_000_000)], actor: ReadAgreements, db: DB
) -> Response:
    """One version of the agreement as a printable PDF: parties, dates, text, clauses in
    prose, content SHA-256 and signatures (404 for an agreement you may not see)."""
    return pdf_response(*document_pdf(db, actor, agreement_id, number))
