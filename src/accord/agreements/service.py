"""Partnership and agreement commands. Every lifecycle change recompiles the agreement's
grants in the same transaction and writes its audit event; nothing here commits."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from itertools import product
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from accord.agreements import clause_kinds, lifecycle, queries
from accord.agreements.models import (
    Agreement,
    AgreementVersion,
    Clause,
    Decision,
    Dispute,
    GovernanceBody,
    Grant,
    OptOut,
    Partnership,
    PartnershipMember,
    Signature,
    VersionParty,
)
from accord.agreements.schemas import (
    AgreementDraft,
    AgreementEdit,
    BodyCreate,
    DecisionCreate,
    DisputeCreate,
    DisputeResolve,
    MemberAdd,
    MemberUpdate,
    MutualAidTerms,
    OptOutTerms,
    PartnershipCreate,
    ProtocolTerms,
    SharingTerms,
    SignRequest,
)
from accord.agreements.vocab import TIER_RANK
from accord.audit.service import record_event
from accord.authz import Actor, require
from accord.authz.roles import ROLE_NAMES
from accord.core.errors import Conflict, FieldProblem, InvalidInput, InvalidInputs, NotFound
from accord.core.time import utcnow
from accord.directory import queries as directory

DRAFT = "agreements:agreement:draft"
SIGN = "agreements:agreement:sign"
MANAGE = "agreements:agreement:manage"
MANAGE_PARTNERSHIP = "agreements:partnership:manage"


def _acting_agency(actor: Actor, permission: str, agencies: list[uuid.UUID], field: str) -> uuid.UUID:
    """The first of ``agencies`` in which the actor holds ``permission`` (else 403/422)."""
    for agency_id in agencies:
        if actor.has(permission, agency_id):
            return agency_id
    if actor.has(permission):
        raise InvalidInput(field, "must include an agency you act for")
    require(actor, permission)  # raises PermissionDenied
    raise AssertionError("unreachable")


def _check_agencies(db: Session, agencies: list[uuid.UUID], field: str) -> None:
    if len(set(agencies)) != len(agencies):
        raise InvalidInput(field, "names an agency twice")
    for index, agency_id in enumerate(agencies):
        if not directory.agency_exists(db, agency_id):
            raise InvalidInput(f"{field}[{index}]", "no such agency")


# --- partnerships ------------------------------------------------------------------------


def create_partnership(db: Session, *, actor: Actor, data: PartnershipCreate) -> Partnership:
    _check_agencies(db, data.members, "members")
    acting = _acting_agency(actor, MANAGE_PARTNERSHIP, data.members, "members")
    if db.scalar(select(Partnership.id).where(Partnership.name == data.name)) is not None:
        raise Conflict("name", f"a partnership named {data.name!r} exists")
    partnership = Partnership(
        name=data.name, kind=data.kind, purpose=data.purpose, starts_on=data.starts_on, ends_on=data.ends_on
    )
    partnership.members = [PartnershipMember(agency_id=a) for a in data.members]
    db.add(partnership)
    db.flush()
    record_event(
        db,
        actor=actor,
        action="agreements.partnership.create",
        agency_id=acting,
        object_type="partnership",
        object_id=partnership.id,
        details={"name": data.name, "members": len(data.members)},
    )
    return partnership


def _managed_partnership(db: Session, actor: Actor, partnership_id: uuid.UUID) -> tuple[Partnership, uuid.UUID]:
    partnership = queries.get_partnership(db, actor, partnership_id)
    current = [m.agency_id for m in partnership.members if m.left_at is None]
    return partnership, _acting_agency(actor, MANAGE_PARTNERSHIP, current, "partnership")


def add_member(db: Session, *, actor: Actor, partnership_id: uuid.UUID, data: MemberAdd) -> Partnership:
    partnership, acting = _managed_partnership(db, actor, partnership_id)
    _check_agencies(db, [data.agency_id], "agency_id")
    existing = next((m for m in partnership.members if m.agency_id == data.agency_id), None)
    if existing is not None and existing.left_at is None:
        raise Conflict("agency_id", "already a member")
    if data.liaison_person_id is not None:
        person = directory.person_in_agency(db, data.liaison_person_id, data.agency_id)
        if person is None:
            raise InvalidInput("liaison_person_id", "no such person in that agency")
    if existing is not None:
        existing.left_at = None
        existing.joined_at = utcnow()
        existing.liaison_person_id = data.liaison_person_id
    else:
        partnership.members.append(
            PartnershipMember(agency_id=data.agency_id, liaison_person_id=data.liaison_person_id)
        )
    db.flush()
    record_event(
        db,
        actor=actor,
        action="agreements.partnership.member_add",
        agency_id=acting,
        object_type="partnership",
        object_id=partnership.id,
        details={"agency_id": str(data.agency_id)},
    )
    return partnership


def leave_partnership(db: Session, *, actor: Actor, partnership_id: uuid.UUID, agency_id: uuid.UUID) -> Partnership:
    partnership = queries.get_partnership(db, actor, partnership_id)
    member = next((m for m in partnership.members if m.agency_id == agency_id and m.left_at is None), None)
    if member is None:
        raise InvalidInput("agency_id", "not a current member")
    require(actor, MANAGE_PARTNERSHIP, agency_id)
    member.left_at = utcnow()
    db.flush()
    record_event(
        db,
        actor=actor,
        action="agreements.partnership.member_leave",
        agency_id=agency_id,
        object_type="partnership",
        object_id=partnership.id,
    )
    return partnership


def set_liaison(
    db: Session, *, actor: Actor, partnership_id: uuid.UUID, agency_id: uuid.UUID, data: MemberUpdate
) -> Partnership:
    """A member agency names (or clears) its own liaison officer to the partnership."""
    partnership = queries.get_partnership(db, actor, partnership_id)
    member = next((m for m in partnership.members if m.agency_id == agency_id and m.left_at is None), None)
    if member is None:
        raise InvalidInput("agency_id", "not a current member")
    require(actor, MANAGE_PARTNERSHIP, agency_id)
    if data.liaison_person_id is not None and directory.person_in_agency(db, data.liaison_person_id, agency_id) is None:
        raise InvalidInput("liaison_person_id", "no such person in that agency")
    member.liaison_person_id = data.liaison_person_id
    db.flush()
    record_event(
        db,
        actor=actor,
        action="agreements.partnership.liaison_set",
        agency_id=agency_id,
        object_type="partnership",
        object_id=partnership.id,
        details={
            "agency_id": str(agency_id),
            "liaison_person_id": str(data.liaison_person_id) if data.liaison_person_id else None,
        },
    )
    return partnership


def create_body(db: Session, *, actor: Actor, partnership_id: uuid.UUID, data: BodyCreate) -> GovernanceBody:
    partnership, acting = _managed_partnership(db, actor, partnership_id)
    for index, person_id in enumerate(data.member_person_ids):
        if not directory.person_exists(db, person_id):
            raise InvalidInput(f"member_person_ids[{index}]", "no such person")
    body = GovernanceBody(
        partnership_id=partnership.id,
        kind=data.kind,
        name=data.name,
        member_person_ids=[str(p) for p in data.member_person_ids],
    )
    db.add(body)
    db.flush()
    record_event(
        db,
        actor=actor,
        action="agreements.body.create",
        agency_id=acting,
        object_type="governance_body",
        object_id=body.id,
        details={"partnership_id": str(partnership.id), "name": data.name},
    )
    return body


def record_decision(db: Session, *, actor: Actor, body_id: uuid.UUID, data: DecisionCreate) -> Decision:
    body = queries.get_body(db, actor, body_id)
    _, acting = _managed_partnership(db, actor, body.partnership_id)
    decision = Decision(body_id=body.id, **data.model_dump())
    db.add(decision)
    db.flush()
    record_event(
        db,
        actor=actor,
        action="agreements.decision.record",
        agency_id=acting,
        object_type="decision",
        object_id=decision.id,
        details={"body_id": str(body.id), "outcome": data.outcome},
    )
    return decision


def raise_dispute(db: Session, *, actor: Actor, partnership_id: uuid.UUID, data: DisputeCreate) -> Dispute:
    partnership = queries.get_partnership(db, actor, partnership_id)
    current = {m.agency_id for m in partnership.members if m.left_at is None}
    if data.raised_by_agency_id not in current:
        raise InvalidInput("raised_by_agency_id", "not a current member of the partnership")
    require(actor, MANAGE_PARTNERSHIP, data.raised_by_agency_id)
    dispute = Dispute(partnership_id=partnership.id, **data.model_dump())
    db.add(dispute)
    db.flush()
    record_event(
        db,
        actor=actor,
        action="agreements.dispute.raise",
        agency_id=data.raised_by_agency_id,
        object_type="dispute",
        object_id=dispute.id,
        details={"subject": data.subject},
    )
    return dispute


def resolve_dispute(db: Session, *, actor: Actor, dispute_id: uuid.UUID, data: DisputeResolve) -> Dispute:
    dispute = queries.get_dispute(db, actor, dispute_id)
    _, acting = _managed_partnership(db, actor, dispute.partnership_id)
    if dispute.resolved_at is not None:
        raise Conflict("dispute", "already resolved")
    dispute.resolution = data.resolution
    dispute.resolved_at = utcnow()
    db.flush()
    record_event(
        db,
        actor=actor,
        action="agreements.dispute.resolve",
        agency_id=acting,
        object_type="dispute",
        object_id=dispute.id,
    )
    return dispute


# --- agreements ----------------------------------------------------------------------------


def _check_content(
    db: Session,
    *,
    parties: list[uuid.UUID],
    clauses: list[Any],
    effective_at: datetime,
    expires_at: datetime | None,
    partnership_id: uuid.UUID | None,
    actor: Actor,
) -> None:
    _check_agencies(db, parties, "parties")
    if expires_at is not None and expires_at <= effective_at:
        raise InvalidInput("expires_at", "must be after effective_at")
    problems: list[FieldProblem] = []
    party_set = set(parties)
    opt_out_clauses = 0
    for index, clause in enumerate(clauses):
        if clause.kind == "sharing":
            for field in ("providers", "recipients"):
                for position, agency_id in enumerate(getattr(clause, field)):
                    if agency_id not in party_set:
                        problems.append(
                            FieldProblem(f"clauses[{index}].{field}[{position}]", "names an agency that is not a party")
                        )
            for position, role in enumerate(clause.recipient_roles):
                if role not in ROLE_NAMES or role == "platform_admin":
                    problems.append(
                        FieldProblem(f"clauses[{index}].recipient_roles[{position}]", f"unknown agency role {role!r}")
                    )
        if clause.kind == "opt_out":
            opt_out_clauses += 1
            if opt_out_clauses > 1:
                problems.append(FieldProblem(f"clauses[{index}]", "an agreement has at most one opt-out clause"))
        if clause.kind not in BUILTIN_CLAUSE_KINDS:
            problems.extend(_registered_problems(db, actor, index, clause))
    if problems:
        raise InvalidInputs(problems)
    if partnership_id is not None:
        try:
            partnership = queries.get_partnership(db, actor, partnership_id)
        except NotFound:
            raise InvalidInput("partnership_id", "no such partnership") from None
        members = {m.agency_id for m in partnership.members if m.left_at is None}
        outsiders = [str(p) for p in parties if p not in members]
        if outsiders:
            raise InvalidInput("parties", f"{len(outsiders)} part(y/ies) are not members of the partnership")


BUILTIN_CLAUSE_KINDS = frozenset({"sharing", "opt_out", "mutual_aid"})


def _registered_problems(db: Session, actor: Actor, index: int, clause: Any) -> list[FieldProblem]:
    """A clause of a kind another module defines is checked by that module's validator
    (``clause_kinds``); without one registered, the kind is not available (fail closed)."""
    hooks = clause_kinds.clause_kind(clause.kind)
    if hooks is None:
        return [FieldProblem(f"clauses[{index}].kind", f"clause kind {clause.kind!r} is not available here")]
    terms = clause.model_dump(mode="json", exclude={"kind"})
    return [FieldProblem(f"clauses[{index}].{field}", reason) for field, reason in hooks.validate(db, actor, terms)]


def _clause_rows(clauses: list[Any]) -> list[Clause]:
    return [
        Clause(position=i, kind=c.kind, terms=c.model_dump(mode="json", exclude={"kind"}))
        for i, c in enumerate(clauses)
    ]


def draft_agreement(db: Session, *, actor: Actor, data: AgreementDraft) -> Agreement:
    _check_agencies(db, data.parties, "parties")
    acting = _acting_agency(actor, DRAFT, data.parties, "parties")
    _check_content(
        db,
        parties=data.parties,
        clauses=data.clauses,
        effective_at=data.effective_at,
        expires_at=data.expires_at,
        partnership_id=data.partnership_id,
        actor=actor,
    )
    agreement = Agreement(kind=data.kind, partnership_id=data.partnership_id, drafted_by_agency_id=acting)
    version = AgreementVersion(
        number=1,
        status="draft",
        title=data.title,
        text=data.text,
        effective_at=data.effective_at,
        expires_at=data.expires_at,
    )
    version.parties = [VersionParty(agency_id=a) for a in data.parties]
    version.clauses = _clause_rows(data.clauses)
    agreement.versions = [version]
    db.add(agreement)
    db.flush()
    record_event(
        db,
        actor=actor,
        action="agreements.agreement.draft",
        agency_id=acting,
        object_type="agreement",
        object_id=agreement.id,
        details={"title": data.title, "kind": data.kind},
    )
    return agreement


def _latest(agreement: Agreement) -> AgreementVersion:
    return agreement.versions[-1]


def _party_agency(actor: Actor, permission: str, version: AgreementVersion) -> uuid.UUID:
    return _acting_agency(actor, permission, version.party_ids, "agreement")


def edit_draft(db: Session, *, actor: Actor, agreement_id: uuid.UUID, data: AgreementEdit) -> Agreement:
    agreement = queries.get_agreement(db, actor, agreement_id)
    version = _latest(agreement)
    if version.status != "draft":
        raise Conflict("agreement", f"version {version.number} is {version.status}; amend to change it")
    acting = _party_agency(actor, DRAFT, version)
    changes = data.model_dump(exclude_unset=True)
    for field in ("title", "parties", "effective_at"):
        if field in changes and changes[field] is None:
            raise InvalidInput(field, "may not be null")
    parties = data.parties if data.parties is not None else version.party_ids
    clauses = data.clauses if data.clauses is not None else None
    _check_content(
        db,
        parties=parties,
        clauses=clauses if clauses is not None else _stored_clauses(version),
        effective_at=data.effective_at or version.effective_at,
        expires_at=data.expires_at if "expires_at" in changes else version.expires_at,
        partnership_id=agreement.partnership_id,
        actor=actor,
    )
    for field in ("title", "text", "effective_at"):
        if changes.get(field) is not None:
            setattr(version, field, changes[field])
    if "expires_at" in changes:
        version.expires_at = data.expires_at
    if data.parties is not None:
        version.parties = [VersionParty(agency_id=a) for a in data.parties]
    if clauses is not None:
        version.clauses = _clause_rows(clauses)
    db.flush()
    record_event(
        db,
        actor=actor,
        action="agreements.agreement.edit",
        agency_id=acting,
        object_type="agreement",
        object_id=agreement.id,
        details={"version": version.number, "fields": sorted(changes)},
    )
    return agreement


AnyTerms = SharingTerms | OptOutTerms | MutualAidTerms | ProtocolTerms


def _open_draft(db: Session, actor: Actor, agreement_id: uuid.UUID) -> tuple[Agreement, AgreementVersion, uuid.UUID]:
    agreement = queries.get_agreement(db, actor, agreement_id)
    version = _latest(agreement)
    if version.status != "draft":
        raise Conflict("agreement", f"version {version.number} is {version.status}; amend to change it")
    return agreement, version, _party_agency(actor, DRAFT, version)


def _check_clauses(
    db: Session, actor: Actor, agreement: Agreement, version: AgreementVersion, clauses: list[Any]
) -> None:
    _check_content(
        db,
        parties=version.party_ids,
        clauses=clauses,
        effective_at=version.effective_at,
        expires_at=version.expires_at,
        partnership_id=agreement.partnership_id,
        actor=actor,
    )


def _draft_clause(version: AgreementVersion, clause_id: uuid.UUID) -> Clause:
    clause = next((c for c in version.clauses if c.id == clause_id), None)
    if clause is None:
        raise NotFound("clause")
    return clause


def _clause_event(
    db: Session,
    actor: Actor,
    agreement: Agreement,
    version: AgreementVersion,
    acting: uuid.UUID,
    action: str,
    clause: Clause,
) -> None:
    record_event(
        db,
        actor=actor,
        action=action,
        agency_id=acting,
        object_type="agreement",
        object_id=agreement.id,
        details={
            "version": version.number,
            "clause_id": str(clause.id),
            "kind": clause.kind,
            "position": clause.position,
        },
    )


def add_clause(db: Session, *, actor: Actor, agreement_id: uuid.UUID, terms: AnyTerms) -> Clause:
    """Append one typed clause to the open draft (checked with the clauses already there)."""
    agreement, version, acting = _open_draft(db, actor, agreement_id)
    _check_clauses(db, actor, agreement, version, [*_stored_clauses(version), terms])
    position = max((c.position for c in version.clauses), default=-1) + 1
    clause = Clause(position=position, kind=terms.kind, terms=terms.model_dump(mode="json", exclude={"kind"}))
    version.clauses.append(clause)
    db.flush()
    _clause_event(db, actor, agreement, version, acting, "agreements.clause.add", clause)
    return clause


def update_clause(
    db: Session, *, actor: Actor, agreement_id: uuid.UUID, clause_id: uuid.UUID, terms: AnyTerms
) -> Clause:
    """Replace the terms of one clause of the open draft; it keeps its place."""
    agreement, version, acting = _open_draft(db, actor, agreement_id)
    clause = _draft_clause(version, clause_id)
    stored = _stored_clauses(version)
    index = version.clauses.index(clause)
    _check_clauses(db, actor, agreement, version, [*stored[:index], terms, *stored[index + 1 :]])
    clause.kind = terms.kind
    clause.terms = terms.model_dump(mode="json", exclude={"kind"})
    db.flush()
    _clause_event(db, actor, agreement, version, acting, "agreements.clause.edit", clause)
    return clause


def remove_clause(db: Session, *, actor: Actor, agreement_id: uuid.UUID, clause_id: uuid.UUID) -> Agreement:
    """Take one clause out of the open draft; the clauses after it move up."""
    agreement, version, acting = _open_draft(db, actor, agreement_id)
    clause = _draft_clause(version, clause_id)
    _clause_event(db, actor, agreement, version, acting, "agreements.clause.remove", clause)
    version.clauses.remove(clause)
    for position, rest in enumerate(version.clauses):
        rest.position = position
    db.flush()
    return agreement


def _stored_clauses(version: AgreementVersion) -> list[Any]:
    from pydantic import TypeAdapter

    from accord.agreements.schemas import ClauseTerms

    adapter: TypeAdapter[Any] = TypeAdapter(ClauseTerms)
    return [adapter.validate_python({"kind": c.kind, **c.terms}) for c in version.clauses]


def propose(db: Session, *, actor: Actor, agreement_id: uuid.UUID) -> Agreement:
    """Freeze the draft: from now on parties sign the SHA-256 of its canonical content."""
    agreement = queries.get_agreement(db, actor, agreement_id)
    version = _latest(agreement)
    if version.status != "draft":
        raise Conflict("agreement", f"version {version.number} is {version.status}, not a draft")
    acting = _party_agency(actor, DRAFT, version)
    version.status = "proposed"
    version.proposed_at = utcnow()
    version.content_hash = lifecycle.content_hash(agreement, version)
    db.flush()
    record_event(
        db,
        actor=actor,
        action="agreements.agreement.propose",
        agency_id=acting,
        object_type="agreement",
        object_id=agreement.id,
        details={"version": version.number, "content_hash": version.content_hash},
    )
    return agreement


def sign(db: Session, *, actor: Actor, agreement_id: uuid.UUID, data: SignRequest) -> Agreement:
    agreement = queries.get_agreement(db, actor, agreement_id)
    version = _latest(agreement)
    if version.status != "proposed":
        raise Conflict("agreement", f"version {version.number} is {version.status}; only a proposed version is signed")
    if data.agency_id not in version.party_ids:
        raise InvalidInput("agency_id", "that agency is not a party to this agreement")
    require(actor, SIGN, data.agency_id)
    if any(s.agency_id == data.agency_id for s in version.signatures):
        raise Conflict("agency_id", "this agency has already signed this version")
    current = lifecycle.content_hash(agreement, version)
    if data.content_hash != version.content_hash or current != version.content_hash:
        raise InvalidInput("content_hash", "does not match the proposed text; reload the agreement and read it again")
    assert actor.user_id is not None
    version.signatures.append(
        Signature(
            agency_id=data.agency_id,
            signer_user_id=actor.user_id,
            signer_name=actor.display_name or actor.username,
            content_hash=current,
            signed_at=utcnow(),
        )
    )
    complete = {s.agency_id for s in version.signatures} == set(version.party_ids)
    if complete:
        version.status = "signed"
        version.signed_at = utcnow()
    db.flush()
    compile_grants(db, agreement)
    record_event(
        db,
        actor=actor,
        action="agreements.agreement.sign",
        agency_id=data.agency_id,
        object_type="agreement",
        object_id=agreement.id,
        details={"version": version.number, "content_hash": current, "complete": complete},
    )
    return agreement


def amend(db: Session, *, actor: Actor, agreement_id: uuid.UUID) -> Agreement:
    """Open version n+1 as a draft copy of the newest signed version; the old one stays in
    force until the new one is signed by every party and becomes effective."""
    agreement = queries.get_agreement(db, actor, agreement_id)
    version = _latest(agreement)
    if version.status != "signed":
        raise Conflict("agreement", f"version {version.number} is still {version.status}; finish or edit it first")
    if agreement.terminated_at is not None:
        raise Conflict("agreement", "a terminated agreement cannot be amended")
    acting = _party_agency(actor, DRAFT, version)
    draft = AgreementVersion(
        number=version.number + 1,
        status="draft",
        title=version.title,
        text=version.text,
        effective_at=max(version.effective_at, utcnow()),
        expires_at=version.expires_at,
    )
    draft.parties = [VersionParty(agency_id=a) for a in version.party_ids]
    draft.clauses = [Clause(position=c.position, kind=c.kind, terms=dict(c.terms)) for c in version.clauses]
    agreement.versions.append(draft)
    db.flush()
    record_event(
        db,
        actor=actor,
        action="agreements.agreement.amend",
        agency_id=acting,
        object_type="agreement",
        object_id=agreement.id,
        details={"version": draft.number},
    )
    return agreement


def _in_force(agreement: Agreement) -> AgreementVersion:
    now = utcnow()
    for version in reversed(agreement.versions):
        if lifecycle.version_state(agreement, version, now) in ("active", "signed", "suspended"):
            return version
    raise Conflict("agreement", "no signed version of this agreement is in force")


def suspend(db: Session, *, actor: Actor, agreement_id: uuid.UUID) -> Agreement:
    agreement = queries.get_agreement(db, actor, agreement_id)
    if agreement.terminated_at is not None or agreement.suspended_at is not None:
        raise Conflict("agreement", "already suspended or terminated")
    acting = _party_agency(actor, MANAGE, _in_force(agreement))
    agreement.suspended_at = utcnow()
    return _changed(db, actor, agreement, acting, "agreements.agreement.suspend")


def resume(db: Session, *, actor: Actor, agreement_id: uuid.UUID) -> Agreement:
    agreement = queries.get_agreement(db, actor, agreement_id)
    if agreement.suspended_at is None or agreement.terminated_at is not None:
        raise Conflict("agreement", "only a suspended agreement can be resumed")
    acting = _party_agency(actor, MANAGE, _latest_signed(agreement))
    agreement.suspended_at = None
    return _changed(db, actor, agreement, acting, "agreements.agreement.resume")


def _latest_signed(agreement: Agreement) -> AgreementVersion:
    signed = [v for v in agreement.versions if v.status == "signed"]
    if not signed:
        raise Conflict("agreement", "no version of this agreement was signed")
    return signed[-1]


def terminate(db: Session, *, actor: Actor, agreement_id: uuid.UUID, reason: str) -> Agreement:
    agreement = queries.get_agreement(db, actor, agreement_id)
    if agreement.terminated_at is not None:
        raise Conflict("agreement", "already terminated")
    acting = _party_agency(actor, MANAGE, _latest(agreement))
    agreement.terminated_at = utcnow()
    for version in agreement.versions:
        if version.status in ("draft", "proposed"):
            version.status = "withdrawn"
    return _changed(db, actor, agreement, acting, "agreements.agreement.terminate", {"reason": reason})


def opt_out(db: Session, *, actor: Actor, agreement_id: uuid.UUID, agency_id: uuid.UUID) -> Agreement:
    """A party leaves; the clause's notice period decides when its grants end."""
    agreement = queries.get_agreement(db, actor, agreement_id)
    version = _in_force(agreement)
    if agency_id not in version.party_ids:
        raise InvalidInput("agency_id", "that agency is not a party to this agreement")
    require(actor, MANAGE, agency_id)
    if any(o.agency_id == agency_id for o in agreement.opt_outs):
        raise Conflict("agency_id", "this agency has already opted out")
    notice = next((int(c.terms["notice_days"]) for c in version.clauses if c.kind == "opt_out"), 0)
    now = utcnow()
    agreement.opt_outs.append(OptOut(agency_id=agency_id, notified_at=now, effective_at=now + timedelta(days=notice)))
    return _changed(db, actor, agreement, agency_id, "agreements.agreement.opt_out", {"notice_days": notice})


def _changed(
    db: Session,
    actor: Actor,
    agreement: Agreement,
    agency_id: uuid.UUID,
    action: str,
    details: dict[str, Any] | None = None,
) -> Agreement:
    db.flush()
    compile_grants(db, agreement)
    record_event(
        db,
        actor=actor,
        action=action,
        agency_id=agency_id,
        object_type="agreement",
        object_id=agreement.id,
        details=details or {},
    )
    return agreement


def compile_grants(db: Session, agreement: Agreement) -> int:
    """Rebuild the agreement's rows in ``grants`` from its signed versions: one row per
    provider, recipient, category, purpose and role, each with its validity window
    (effective date, expiry, supersession, suspension, termination, opt-outs)."""
    db.execute(delete(Grant).where(Grant.agreement_id == agreement.id))
    leaving = {str(o.agency_id): o.effective_at for o in agreement.opt_outs}
    rows: list[Grant] = []
    compiled = {hooks.kind: hooks for hooks in clause_kinds.compiled_kinds()}
    in_force: dict[str, list[clause_kinds.ClauseInForce]] = {kind: [] for kind in compiled}
    for version in agreement.versions:
        window = lifecycle.in_force_window(agreement, version)
        if window is None:
            continue
        for clause in version.clauses:
            if clause.kind == "sharing":
                rows.extend(_clause_grants(agreement, version, clause, window, leaving))
            elif clause.kind in in_force:
                in_force[clause.kind].extend(_parties_bound(agreement, version, clause, window, leaving))
    db.add_all(rows)
    db.flush()
    # Other modules' clause kinds rebuild their own rows from the same windows (clause_kinds).
    for kind, hooks in compiled.items():
        assert hooks.compile is not None
        hooks.compile(db, agreement.id, in_force[kind])
    return len(rows)


def _parties_bound(
    agreement: Agreement,
    version: AgreementVersion,
    clause: Clause,
    window: tuple[datetime, datetime | None],
    leaving: dict[str, datetime],
) -> list[clause_kinds.ClauseInForce]:
    """Each party of ``version`` and when ``clause`` binds it: the version's window, cut
    short by the party's own opt-out (as a grant is by its provider's or recipient's)."""
    start, end = window
    bound = []
    for party in version.party_ids:
        until = lifecycle.earliest(end, leaving.get(str(party)))
        if until is not None and until <= start:
            continue
        bound.append(
            clause_kinds.ClauseInForce(
                agreement_id=agreement.id,
                version_id=version.id,
                clause_id=clause.id,
                agency_id=party,
                terms=dict(clause.terms),
                valid_from=start,
                valid_until=until,
            )
        )
    return bound


def _clause_grants(
    agreement: Agreement,
    version: AgreementVersion,
    clause: Clause,
    window: tuple[datetime, datetime | None],
    leaving: dict[str, datetime],
) -> list[Grant]:
    terms = clause.terms
    start, end = window
    labels = set(terms.get("labels", []))
    grants: list[Grant] = []
    pairs = product(terms["providers"], terms["recipients"])
    for provider, recipient in ((p, r) for p, r in pairs if p != r):
        until = lifecycle.earliest(end, leaving.get(provider), leaving.get(recipient))
        if until is not None and until <= start:
            continue
        roles: list[str | None] = list(terms.get("recipient_roles") or [None])
        for category, purpose, role in product(terms["categories"], terms["purposes"], roles):
            grants.append(
                Grant(
                    agreement_id=agreement.id,
                    version_id=version.id,
                    clause_id=clause.id,
                    provider_agency_id=uuid.UUID(provider),
                    recipient_agency_id=uuid.UUID(recipient),
                    recipient_role=role,
                    category=category,
                    purpose=purpose,
                    max_tier=TIER_RANK[terms["max_tier"]],
                    grants_pii="PII" in labels,
                    grants_phi="PHI" in labels,
                    grants_cji="CJI" in labels,
                    aggregates_only=bool(terms.get("aggregates_only")),
                    reshare_allowed=bool(terms.get("reshare_allowed")),
                    retention_days=terms.get("retention_days"),
                    valid_from=start,
                    valid_until=until,
                )
            )
    return grants
