"""JSON API of a planned event's command board, under
``/api/v1/incidents/{incident_id}/board``: the grid, shifts, posts, unit assignments,
messages and read receipts."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from accord.authz import Actor
from accord.authz.deps import Permission
from accord.core.deps import DB
from accord.operations.eventboard import queries, service
from accord.operations.eventboard.schemas import (
    AssignmentCreate,
    AssignmentRead,
    AssignmentUpdate,
    BoardRead,
    MessageCreate,
    MessageRead,
    PostCreate,
    PostRead,
    ReadAllResult,
    ReceiptRead,
    ShiftCreate,
    ShiftRead,
)

router = APIRouter(prefix="/api/v1/incidents/{incident_id}/board", tags=["command board"])
Read = Annotated[Actor, Depends(Permission("operations:board:read"))]
Manage = Annotated[Actor, Depends(Permission("operations:board:manage"))]
Post = Annotated[Actor, Depends(Permission("operations:board:post"))]
Removed = Annotated[bool, Query(description="include what was taken off the board")]


@router.get("", response_model=BoardRead)
def get_board(db: DB, actor: Read, incident_id: uuid.UUID) -> BoardRead:
    """The grid: posts (rows) by shifts (columns), with the units in each cell."""
    return queries.board(db, actor, incident_id)


@router.get("/shifts", response_model=list[ShiftRead])
def list_shifts(db: DB, actor: Read, incident_id: uuid.UUID, include_removed: Removed = False) -> list[ShiftRead]:
    shifts = queries.list_shifts(db, actor, incident_id, include_removed=include_removed)
    return [ShiftRead.model_validate(s) for s in shifts]


@router.post("/shifts", response_model=ShiftRead, status_code=201)
def add_shift(db: DB, actor: Manage, incident_id: uuid.UUID, data: ShiftCreate) -> ShiftRead:
    shift = service.add_shift(db, actor=actor, incident_id=incident_id, data=data)
    db.commit()
    return ShiftRead.model_validate(shift)


@router.delete("/shifts/{shift_id}", response_model=ShiftRead)
def remove_shift(db: DB, actor: Manage, incident_id: uuid.UUID, shift_id: uuid.UUID) -> ShiftRead:
    """Take a shift without units off the board (kept in its history)."""
    shift = service.remove_shift(db, actor=actor, incident_id=incident_id, shift_id=shift_id)
    db.commit()
    return ShiftRead.model_validate(shift)


@router.get("/posts", response_model=list[PostRead])
def list_posts(db: DB, actor: Read, incident_id: uuid.UUID, include_removed: Removed = False) -> list[PostRead]:
    return [
        PostRead.model_validate(p) for p in queries.list_posts(db, actor, incident_id, include_removed=include_removed)
    ]


@router.post("/posts", response_model=PostRead, status_code=201)
def add_post(db: DB, actor: Manage, incident_id: uuid.UUID, data: PostCreate) -> PostRead:
    post = service.add_post(db, actor=actor, incident_id=incident_id, data=data)
    db.commit()
    return PostRead.model_validate(post)


@router.delete("/posts/{post_id}", response_model=PostRead)
def remove_post(db: DB, actor: Manage, incident_id: uuid.UUID, post_id: uuid.UUID) -> PostRead:
    """Take a post without units off the board (kept in its history)."""
    post = service.remove_post(db, actor=actor, incident_id=incident_id, post_id=post_id)
    db.commit()
    return PostRead.model_validate(post)


@router.get("/assignments", response_model=list[AssignmentRead])
def list_assignments(
    db: DB, actor: Read, incident_id: uuid.UUID, include_removed: Removed = False
) -> list[AssignmentRead]:
    rows = queries.list_assignments(db, actor, incident_id, include_removed=include_removed)
    return [AssignmentRead.model_validate(a) for a in rows]


@router.post("/assignments", response_model=AssignmentRead, status_code=201)
def assign_unit(db: DB, actor: Manage, incident_id: uuid.UUID, data: AssignmentCreate) -> AssignmentRead:
    """Assign a unit of an agency taking part to a post for a shift (409 if the unit or
    the named person is already booked in an overlapping shift)."""
    assignment = service.assign_unit(db, actor=actor, incident_id=incident_id, data=data)
    db.commit()
    return AssignmentRead.model_validate(assignment)


@router.patch("/assignments/{assignment_id}", response_model=AssignmentRead)
def update_assignment(
    db: DB, actor: Manage, incident_id: uuid.UUID, assignment_id: uuid.UUID, data: AssignmentUpdate
) -> AssignmentRead:
    assignment = service.update_assignment(
        db, actor=actor, incident_id=incident_id, assignment_id=assignment_id, data=data
    )
    db.commit()
    return AssignmentRead.model_validate(assignment)


@router.delete("/assignments/{assignment_id}", response_model=AssignmentRead)
def remove_assignment(db: DB, actor: Manage, incident_id: uuid.UUID, assignment_id: uuid.UUID) -> AssignmentRead:
    assignment = service.remove_assignment(db, actor=actor, incident_id=incident_id, assignment_id=assignment_id)
    db.commit()
    return AssignmentRead.model_validate(assignment)


@router.get("/messages", response_model=list[MessageRead])
def list_messages(db: DB, actor: Read, incident_id: uuid.UUID) -> list[MessageRead]:
    """Newest first, each with "read by N of M" and who read it when."""
    return queries.list_messages(db, actor, incident_id)


@router.post("/messages", response_model=MessageRead, status_code=201)
def post_message(db: DB, actor: Post, incident_id: uuid.UUID, data: MessageCreate) -> MessageRead:
    message = service.post_message(db, actor=actor, incident_id=incident_id, data=data)
    db.commit()
    return queries.get_message(db, actor, incident_id, message.id)


@router.post("/messages/read", response_model=ReadAllResult)
def mark_all_read(db: DB, actor: Read, incident_id: uuid.UUID) -> ReadAllResult:
    """Mark every message the caller has not read yet."""
    marked = service.mark_all_read(db, actor=actor, incident_id=incident_id)
    db.commit()
    return ReadAllResult(marked=marked)


@router.get("/messages/{message_id}", response_model=MessageRead)
def get_message(db: DB, actor: Read, incident_id: uuid.UUID, message_id: uuid.UUID) -> MessageRead:
    return queries.get_message(db, actor, incident_id, message_id)


@router.post("/messages/{message_id}/read", response_model=ReceiptRead)
def mark_read(db: DB, actor: Read, incident_id: uuid.UUID, message_id: uuid.UUID) -> ReceiptRead:
    """Record that the caller read the message (the first time counts)."""
    receipt = service.mark_read(db, actor=actor, incident_id=incident_id, message_id=message_id)
    db.commit()
    return ReceiptRead.model_validate(receipt)
