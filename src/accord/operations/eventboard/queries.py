"""Reads of a command board, always through ``authz.scope``. A board is the planned
event's own: to anyone whose agency neither leads nor takes part in the event, and for
any incident that is not a planned event, every answer is the same 404 as for a board
that does not exist."""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from accord.accounts import queries as accounts
from accord.authz import Actor, roles_key, scope
from accord.core.errors import NotFound
from accord.directory import queries as directory
from accord.operations import queries as operations
from accord.operations.eventboard import policy as _policy
from accord.operations.eventboard.models import BoardAssignment, BoardMessage, BoardPost, BoardReceipt, BoardShift
from accord.operations.eventboard.schemas import (
    AssignmentRead,
    BoardAgency,
    BoardCell,
    BoardRead,
    BoardRow,
    MessageRead,
    PostRead,
    ReceiptRead,
    ShiftRead,
    ShiftTotal,
)
from accord.operations.models import Incident
from accord.operations.policy import takes_part
from accord.operations.vocab import PLANNED_EVENT

READ, MANAGE, POST = _policy.READ, _policy.MANAGE, _policy.POST
_Row = TypeVar("_Row", BoardShift, BoardPost, BoardAssignment)
MAX_MESSAGES = 500


def get_board(db: Session, actor: Actor, incident_id: uuid.UUID) -> Incident:
    """The planned event whose board the caller may read, or NotFound("board")."""
    try:
        incident = operations.get_incident(db, actor, incident_id)
    except NotFound:
        raise NotFound("board") from None
    if incident.type != PLANNED_EVENT or not takes_part(actor, READ, incident):
        raise NotFound("board")
    return incident


def list_boards(db: Session, actor: Actor) -> list[Incident]:
    """The planned events whose boards the caller may read, the latest start first."""
    key = roles_key(actor, READ)
    if not key:
        return []
    stmt = select(Incident).where(Incident.id.in_(_policy.board_incidents(key)))
    return list(db.scalars(scope(actor, operations.READ, stmt).order_by(Incident.started_at.desc(), Incident.id)))


def involved_agencies(incident: Incident) -> list[uuid.UUID]:
    """The lead agency first, then the participants in the order they joined."""
    return [incident.lead_agency_id, *(p.agency_id for p in incident.participants)]


def _rows(db: Session, actor: Actor, model: type[_Row], incident_id: uuid.UUID, include_removed: bool) -> list[_Row]:
    column: Any = model
    stmt = scope(actor, READ, select(model).where(column.incident_id == incident_id))
    if not include_removed:
        stmt = stmt.where(column.removed_at.is_(None))
    order = {
        BoardShift: (BoardShift.starts_at, BoardShift.name, BoardShift.id),
        BoardPost: (BoardPost.created_at, BoardPost.name, BoardPost.id),
        BoardAssignment: (BoardAssignment.created_at, BoardAssignment.id),
    }[model]
    return list(db.scalars(stmt.order_by(*order)))


def list_shifts(
    db: Session, actor: Actor, incident_id: uuid.UUID, *, include_removed: bool = False
) -> list[BoardShift]:
    """Oldest first by start time."""
    get_board(db, actor, incident_id)
    return _rows(db, actor, BoardShift, incident_id, include_removed)


def list_posts(db: Session, actor: Actor, incident_id: uuid.UUID, *, include_removed: bool = False) -> list[BoardPost]:
    """In the order they were set up."""
    get_board(db, actor, incident_id)
    return _rows(db, actor, BoardPost, incident_id, include_removed)


def list_assignments(
    db: Session, actor: Actor, incident_id: uuid.UUID, *, include_removed: bool = False
) -> list[BoardAssignment]:
    get_board(db, actor, incident_id)
    return _rows(db, actor, BoardAssignment, incident_id, include_removed)


def get_assignment(db: Session, actor: Actor, incident_id: uuid.UUID, assignment_id: uuid.UUID) -> BoardAssignment:
    get_board(db, actor, incident_id)
    stmt = select(BoardAssignment).where(
        BoardAssignment.id == assignment_id, BoardAssignment.incident_id == incident_id
    )
    found = db.scalar(scope(actor, READ, stmt))
    if found is None:
        raise NotFound("assignment")
    return found


def get_shift(db: Session, actor: Actor, incident_id: uuid.UUID, shift_id: uuid.UUID) -> BoardShift:
    get_board(db, actor, incident_id)
    stmt = select(BoardShift).where(BoardShift.id == shift_id, BoardShift.incident_id == incident_id)
    found = db.scalar(scope(actor, READ, stmt))
    if found is None:
        raise NotFound("shift")
    return found


def get_post(db: Session, actor: Actor, incident_id: uuid.UUID, post_id: uuid.UUID) -> BoardPost:
    get_board(db, actor, incident_id)
    stmt = select(BoardPost).where(BoardPost.id == post_id, BoardPost.incident_id == incident_id)
    found = db.scalar(scope(actor, READ, stmt))
    if found is None:
        raise NotFound("post")
    return found


def audience(db: Session, incident: Incident) -> int:
    """How many people may read the board: active users holding the read permission in
    the lead or a participating agency."""
    return accounts.count_active_holders(db, involved_agencies(incident), READ)


def _message_reads(db: Session, actor: Actor, incident: Incident, messages: list[BoardMessage]) -> list[MessageRead]:
    ids = [m.id for m in messages]
    receipts: dict[uuid.UUID, list[BoardReceipt]] = defaultdict(list)
    if ids:
        stmt = scope(actor, READ, select(BoardReceipt).where(BoardReceipt.message_id.in_(ids)))
        for receipt in db.scalars(stmt.order_by(BoardReceipt.read_at, BoardReceipt.reader_name)):
            receipts[receipt.message_id].append(receipt)
    everyone = audience(db, incident)
    reads = []
    for message in messages:
        read_by = [ReceiptRead.model_validate(r) for r in receipts[message.id]]
        read = MessageRead.model_validate(message)
        read.read_by = read_by
        read.read_count = len(read_by)
        read.audience = max(everyone, len(read_by))
        read.read_by_me = any(r.user_id == actor.user_id for r in receipts[message.id])
        reads.append(read)
    return reads


def list_messages(db: Session, actor: Actor, incident_id: uuid.UUID, *, limit: int = MAX_MESSAGES) -> list[MessageRead]:
    """The newest messages first, each with who read it and when."""
    incident = get_board(db, actor, incident_id)
    stmt = scope(actor, READ, select(BoardMessage).where(BoardMessage.incident_id == incident_id))
    messages = list(db.scalars(stmt.order_by(BoardMessage.posted_at.desc(), BoardMessage.id).limit(limit)))
    return _message_reads(db, actor, incident, messages)


def get_message(db: Session, actor: Actor, incident_id: uuid.UUID, message_id: uuid.UUID) -> MessageRead:
    incident = get_board(db, actor, incident_id)
    stmt = select(BoardMessage).where(BoardMessage.id == message_id, BoardMessage.incident_id == incident_id)
    message = db.scalar(scope(actor, READ, stmt))
    if message is None:
        raise NotFound("message")
    return _message_reads(db, actor, incident, [message])[0]


def unread(db: Session, actor: Actor, incident_id: uuid.UUID) -> tuple[int, int]:
    """(unread messages, of which urgent) for the caller."""
    mine = select(BoardReceipt.message_id).where(
        BoardReceipt.incident_id == incident_id, BoardReceipt.user_id == actor.user_id
    )
    stmt = scope(
        actor,
        READ,
        select(BoardMessage.priority, func.count())
        .select_from(BoardMessage)
        .where(BoardMessage.incident_id == incident_id, BoardMessage.id.not_in(mine))
        .group_by(BoardMessage.priority),
    )
    counts = {priority: int(n) for priority, n in db.execute(stmt).all()}
    return sum(counts.values()), counts.get("urgent", 0)


def assignable_agencies(actor: Actor, incident: Incident) -> list[uuid.UUID]:
    """Agencies whose units the caller may assign: its own (taking part), or every
    agency taking part when it manages the board for the lead agency."""
    mine = {agency for agency, _ in roles_key(actor, MANAGE)}
    involved = involved_agencies(incident)
    if incident.lead_agency_id in mine:
        return involved
    return [agency for agency in involved if agency in mine]


def can_set_up(actor: Actor, incident: Incident) -> bool:
    """Shifts and posts are the lead agency's to set up."""
    return incident.lead_agency_id in {agency for agency, _ in roles_key(actor, MANAGE)}


def board_agencies(db: Session, actor: Actor, incident: Incident) -> list[BoardAgency]:
    """The lead agency, then the participants by short name."""
    found = []
    for agency_id in involved_agencies(incident):
        agency = directory.get_agency(db, actor, agency_id)
        found.append(
            BoardAgency(
                id=agency.id,
                short_name=agency.short_name,
                name=agency.name,
                kind=agency.kind,
                lead=agency.id == incident.lead_agency_id,
            )
        )
    return found[:1] + sorted(found[1:], key=lambda a: a.short_name)


def board(db: Session, actor: Actor, incident_id: uuid.UUID) -> BoardRead:
    """The grid of the board: posts (rows) by shifts (columns), with units and totals."""
    incident = get_board(db, actor, incident_id)
    shifts = _rows(db, actor, BoardShift, incident_id, False)
    posts = _rows(db, actor, BoardPost, incident_id, False)
    assignments = _rows(db, actor, BoardAssignment, incident_id, False)
    by_cell: dict[tuple[uuid.UUID, uuid.UUID], list[AssignmentRead]] = defaultdict(list)
    for assignment in assignments:
        by_cell[(assignment.post_id, assignment.shift_id)].append(AssignmentRead.model_validate(assignment))
    rows = []
    for post in posts:
        cells = []
        for shift in shifts:
            units = by_cell[(post.id, shift.id)]
            cells.append(BoardCell(shift_id=shift.id, people=sum(a.people for a in units), assignments=units))
        rows.append(BoardRow(post=PostRead.model_validate(post), cells=cells))
    totals = []
    live_posts = {post.id for post in posts}
    for shift in shifts:
        staffed = [a for a in assignments if a.shift_id == shift.id and a.post_id in live_posts]
        totals.append(ShiftTotal(shift_id=shift.id, units=len(staffed), people=sum(a.people for a in staffed)))
    unread_count, urgent = unread(db, actor, incident_id)
    return BoardRead(
        incident_id=incident.id,
        number=incident.number,
        name=incident.name,
        status=incident.status,
        started_at=incident.started_at,
        lead_agency_id=incident.lead_agency_id,
        agencies=board_agencies(db, actor, incident),
        shifts=[ShiftRead.model_validate(s) for s in shifts],
        rows=rows,
        totals=totals,
        unread=unread_count,
        urgent_unread=urgent,
        can_set_up=can_set_up(actor, incident),
        can_assign_for=assignable_agencies(actor, incident),
        can_post=takes_part(actor, POST, incident),
    )
