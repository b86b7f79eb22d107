"""JSON API of the audit trail."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from accord.audit import alerts, queries
from accord.audit.schemas import (
    AuditAlertRead,
    AuditEventRead,
    AuditFilter,
    AuditVerifyRead,
    CheckpointList,
    CheckpointRead,
    ConsistencyProof,
)
from accord.audit.service import checkpoint_statement, current_signer
from accord.audit.signing import message, public_b64
from accord.audit.verify import verify_and_report
from accord.authz import Actor
from accord.authz.deps import Permission
from accord.core.deps import DB
from accord.core.schemas import Page

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


@router.get("/events", response_model=Page[AuditEventRead])
def list_events(
    filters: Annotated[AuditFilter, Query()], actor: Annotated[Actor, Depends(Permission("audit:event:read"))], db: DB
) -> Page[AuditEventRead]:
    """Events concerning the agencies where the caller is an auditor or administrator, newest first."""
    rows, total = queries.list_events(db, actor, filters)
    return Page(
        items=[AuditEventRead.model_validate(e) for e in rows], total=total, limit=filters.limit, offset=filters.offset
    )


@router.get("/verify", response_model=AuditVerifyRead)
def verify(actor: Annotated[Actor, Depends(Permission("audit:chain:verify"))], db: DB) -> AuditVerifyRead:
    """Recompute the whole hash chain and every signed checkpoint; name the first bad entry
    (a broken chain also alerts the platform administrators)."""
    verdict = verify_and_report(db, actor=actor)
    db.commit()
    return AuditVerifyRead.of(verdict)


@router.get("/alerts", response_model=list[AuditAlertRead])
def list_alerts(
    actor: Annotated[Actor, Depends(Permission("audit:alert:read"))], db: DB, open_only: bool = False
) -> list[AuditAlertRead]:
    """Audit-write failures and broken-chain findings, newest first (platform administrators)."""
    return [AuditAlertRead.model_validate(a) for a in alerts.list_alerts(db, actor, open_only=open_only)]


@router.post("/alerts/{alert_id}/acknowledge", response_model=AuditAlertRead)
def acknowledge_alert(
    alert_id: uuid.UUID, actor: Annotated[Actor, Depends(Permission("audit:alert:acknowledge"))], db: DB
) -> AuditAlertRead:
    alert = alerts.acknowledge(db, actor=actor, alert_id=alert_id)
    db.commit()
    return AuditAlertRead.model_validate(alert)


@router.get("/checkpoints", response_model=CheckpointList)
def list_checkpoints(
    actor: Annotated[Actor, Depends(Permission("audit:chain:verify"))],
    db: DB,
    since_size: Annotated[int, Query(ge=0, le=2**62)] = 0,
) -> CheckpointList:
    """Signed checkpoints for a partner agency to fetch and keep, with the public keys."""
    signer = current_signer()
    return CheckpointList(
        checkpoints=[
            CheckpointRead(
                tree_size=c.tree_size,
                root_hash=c.root_hash,
                head_hash=c.head_hash,
                signed_at=c.signed_at,
                key_id=c.key_id,
                signature=c.signature,
                signed_statement=message(
                    checkpoint_statement(c.tree_size, c.root_hash, c.head_hash, c.signed_at)
                ).decode(),
            )
            for c in queries.checkpoints(db, since_size)
        ],
        public_keys={key: public_b64(public) for key, public in signer.trusted.items()},
    )


@router.get("/consistency", response_model=ConsistencyProof)
def consistency(
    actor: Annotated[Actor, Depends(Permission("audit:chain:verify"))],
    db: DB,
    first: Annotated[int, Query(ge=0, le=2**62)],
    second: Annotated[int, Query(ge=0, le=2**62)],
) -> ConsistencyProof:
    """Proof that the log at ``second`` events extends the log at ``first`` (RFC 9162),
    to check two kept checkpoints without fetching the log."""
    first_root, second_root, proof = queries.consistency(db, first, second)
    return ConsistencyProof(
        first=first,
        second=second,
        first_root=first_root.hex(),
        second_root=second_root.hex(),
        proof=[p.hex() for p in proof],
    )
