"""JSON API of deconfliction under ``/api/v1/planned-operations``: register, list one's
own, read, change, conflicts, "is anything planned here?" (``check``), notices."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from sqlalchemy.orm import Session

from accord.authz import Actor
from accord.authz.deps import Permission
from accord.core.deps import DB
from accord.core.schemas import Page
from accord.operations.deconfliction import queries, service
from accord.operations.deconfliction.models import PlannedOperation
from accord.operations.deconfliction.schemas import (
    ConflictCheck,
    ConflictRead,
    ConflictsRead,
    NoticeFilter,
    PlannedOperationCreate,
    PlannedOperationFilter,
    PlannedOperationRead,
    PlannedOperationUpdate,
)

router = APIRouter(prefix="/api/v1/planned-operations", tags=["deconfliction"])
Read = Annotated[Actor, Depends(Permission("operations:planned:read"))]
Manage = Annotated[Actor, Depends(Permission("operations:planned:manage"))]


def operation_reads(db: Session, actor: Actor, operations: list[PlannedOperation]) -> list[PlannedOperationRead]:
    counts = queries.open_conflict_counts(db, actor, [op.id for op in operations])
    reads = []
    for operation in operations:
        read = PlannedOperationRead.model_validate(operation)
        read.open_conflicts = counts.get(operation.id, 0)
        reads.append(read)
    return reads


@router.get("", response_model=Page[PlannedOperationRead])
def list_operations(
    db: DB, actor: Read, filters: Annotated[PlannedOperationFilter, Query()]
) -> Page[PlannedOperationRead]:
    """Your agency's planned operations (never another agency's)."""
    items, total = queries.list_operations(db, actor, filters)
    return Page(items=operation_reads(db, actor, items), total=total, limit=filters.limit, offset=filters.offset)


@router.post("", response_model=PlannedOperationRead, status_code=201)
def register_operation(db: DB, actor: Manage, data: PlannedOperationCreate) -> PlannedOperationRead:
    """Register a planned operation; both sides of every conflict are told at once."""
    operation = service.register_operation(db, actor=actor, data=data)
    db.commit()
    return operation_reads(db, actor, [operation])[0]


@router.post(
    "/check",
    response_model=ConflictsRead,
    responses={201: {"model": ConflictsRead, "description": "The enquiry was registered (Location names it)"}},
)
def check(db: DB, actor: Manage, data: ConflictCheck, response: Response) -> ConflictsRead:
    """ "Is anything planned here?" Answered only with conflicts, and only for a
    registration: your operation (``operation_id``, checked again now) or an ``enquiry``
    registered now as an operation of kind ``enquiry`` (201, ``Location``), so the other
    side of any conflict is told who asked. Nothing that does not conflict is revealed:
    no conflict is ``{"conflicts": []}``, whatever is planned nearby."""
    operation, created, conflicts = service.check_conflicts(db, actor=actor, data=data)
    db.commit()
    if created:
        response.status_code = 201
        response.headers["Location"] = f"/api/v1/planned-operations/{operation.id}"
    return ConflictsRead(conflicts=queries.conflict_views(db, actor, conflicts))


@router.get("/notices", response_model=Page[ConflictRead])
def list_notices(db: DB, actor: Read, filters: Annotated[NoticeFilter, Query()]) -> Page[ConflictRead]:
    """Notices addressed to your agency, newest first (resolved ones on request)."""
    items, total = queries.list_notices(db, actor, filters)
    return Page(items=queries.conflict_views(db, actor, items), total=total, limit=filters.limit, offset=filters.offset)


@router.post("/notices/{notice_id}/acknowledge", response_model=ConflictRead)
def acknowledge_notice(db: DB, actor: Manage, notice_id: uuid.UUID) -> ConflictRead:
    notice = service.acknowledge_notice(db, actor=actor, notice_id=notice_id)
    db.commit()
    return queries.conflict_views(db, actor, [notice])[0]


@router.get("/{operation_id}", response_model=PlannedOperationRead)
def get_operation(db: DB, actor: Read, operation_id: uuid.UUID) -> PlannedOperationRead:
    return operation_reads(db, actor, [queries.get_operation(db, actor, operation_id)])[0]


@router.patch("/{operation_id}", response_model=PlannedOperationRead)
def update_operation(
    db: DB, actor: Manage, operation_id: uuid.UUID, data: PlannedOperationUpdate
) -> PlannedOperationRead:
    """Change the place, the window, the contact or the status (cancelled, completed)."""
    operation = service.update_operation(db, actor=actor, operation_id=operation_id, data=data)
    db.commit()
    return operation_reads(db, actor, [operation])[0]


@router.get("/{operation_id}/conflicts", response_model=ConflictsRead)
def operation_conflicts(db: DB, actor: Read, operation_id: uuid.UUID) -> ConflictsRead:
    """Your operation's current conflicts: the other agency, contact and overlap window."""
    notices = queries.operation_conflicts(db, actor, operation_id)
    return ConflictsRead(conflicts=queries.conflict_views(db, actor, notices))
