"""JSON API of the audit trail."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from accord.audit import queries
from accord.audit.schemas import AuditEventRead, AuditFilter
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
