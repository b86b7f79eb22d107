"""Commands on a planned event's command board. The lead agency's commanders set up its
shifts and posts; each agency's commanders assign their own units (the lead's assign
anyone's); everyone on the command staff writes on the message board; every member
marks what they read. Every change writes its audit event and its live event (ids and
states only) in the same transaction; nothing here commits."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from accord.audit.service import record_event
from accord.authz import Actor, roles_key, scope
from accord.core import events
from accord.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from accord.core.time import utcnow
from accord.directory import queries as directory
from accord.geo.overlap import point_coordinates
from accord.operations.eventboard import queries
from accord.operations.eventboard.models import BoardAssignment, BoardMessage, BoardPost, BoardReceipt, BoardShift
from accord.operations.eventboard.schemas import (
    AssignmentCreate,
    AssignmentUpdate,
    MessageCreate,
    PostCreate,
    ShiftCreate,
)
from accord.operations.models import Incident
from accord.operations.policy import takes_part

READ, MANAGE, POST = queries.READ, queries.MANAGE, queries.POST
# "Within reason of the event": set-up and staging may start a few days ahead; a board is
# for an event of days or weeks, not a standing roster; a shift is a working period.
SETUP_BEFORE = timedelta(days=3)
EVENT_SPAN = timedelta(days=60)
SHORTEST_SHIFT = timedelta(minutes=15)
LONGEST_SHIFT = timedelta(hours=24)


# -- shared checks --------------------------------------------------------------------------
def _board(db: Session, actor: Actor, incident_id: uuid.UUID, permission: str) -> Incident:
    """The board's event, if the caller may ``permission`` on it and it is still open."""
    incident = queries.get_board(db, actor, incident_id)
    if not takes_part(actor, permission, incident):
        raise PermissionDenied(permission, incident.lead_agency_id)
    if incident.status == "closed":
        raise Conflict("status", "the event is closed; its board is kept as it was")
    return incident


def _set_up_by_lead(actor: Actor, incident: Incident) -> None:
    if not queries.can_set_up(actor, incident):
        raise PermissionDenied(
            MANAGE, incident.lead_agency_id, reason="only the lead agency's commanders set up shifts and posts"
        )


def _may_assign(actor: Actor, incident: Incident, agency_id: uuid.UUID) -> None:
    if agency_id not in queries.assignable_agencies(actor, incident):
        raise PermissionDenied(
            MANAGE,
            agency_id,
            reason="commanders assign their own agency's units; the lead agency's commanders assign anyone's",
        )


def _acting_agency(actor: Actor, permission: str, incident: Incident) -> uuid.UUID:
    """The caller's agency on this board (the lead first, then in the order they joined)."""
    mine = {agency for agency, _ in roles_key(actor, permission)}
    return next(agency for agency in queries.involved_agencies(incident) if agency in mine)


def _audit(db: Session, actor: Actor, action: str, agency_id: uuid.UUID, incident: Incident, **details: Any) -> None:
    record_event(
        db,
        actor=actor,
        action=action,
        agency_id=agency_id,
        object_type="incident",
        object_id=incident.id,
        details={key: str(value) if isinstance(value, uuid.UUID) else value for key, value in details.items()},
    )


def _announce(
    db: Session,
    kind: str,
    object_type: str,
    object_id: uuid.UUID,
    agency_id: uuid.UUID,
    incident: Incident,
    **payload: Any,
) -> None:
    """A live event: the board page refreshes the part it names; recipients re-read the
    object through ``authz.scope`` (ids and states only, never content)."""
    body = {"incident_id": str(incident.id)}
    body.update({key: str(value) if isinstance(value, uuid.UUID) else value for key, value in payload.items()})
    events.emit(db, kind=kind, object_type=object_type, object_id=object_id, agency_id=agency_id, payload=body)


def _active_shift(db: Session, actor: Actor, incident: Incident, shift_id: uuid.UUID, field: str) -> BoardShift:
    stmt = select(BoardShift).where(
        BoardShift.id == shift_id, BoardShift.incident_id == incident.id, BoardShift.removed_at.is_(None)
    )
    shift = db.scalar(scope(actor, READ, stmt))
    if shift is None:
        raise InvalidInput(field, "no such shift on this board")
    return shift


def _active_post(db: Session, actor: Actor, incident: Incident, post_id: uuid.UUID, field: str) -> BoardPost:
    stmt = select(BoardPost).where(
        BoardPost.id == post_id, BoardPost.incident_id == incident.id, BoardPost.removed_at.is_(None)
    )
    post = db.scalar(scope(actor, READ, stmt))
    if post is None:
        raise InvalidInput(field, "no such post on this board")
    return post


def _fmt(moment: datetime) -> str:
    return moment.strftime("%d %b %Y %H:%M UTC")


# -- shifts -------------------------------------------------------------------------------
def add_shift(db: Session, *, actor: Actor, incident_id: uuid.UUID, data: ShiftCreate) -> BoardShift:
    incident = _board(db, actor, incident_id, MANAGE)
    _set_up_by_lead(actor, incident)
    starts_at, ends_at = data.starts_at, data.ends_at
    if ends_at <= starts_at:
        raise InvalidInput("ends_at", "must be after starts_at")
    if ends_at - starts_at < SHORTEST_SHIFT:
        raise InvalidInput("ends_at", "a shift lasts at least 15 minutes")
    if ends_at - starts_at > LONGEST_SHIFT:
        raise InvalidInput("ends_at", "a shift lasts at most 24 hours; cover a longer period with several shifts")
    if starts_at < incident.started_at - SETUP_BEFORE:
        raise InvalidInput(
            "starts_at", f"more than 3 days before the event starts ({_fmt(incident.started_at)}); set-up included"
        )
    if starts_at > incident.started_at + EVENT_SPAN:
        raise InvalidInput("starts_at", f"more than 60 days after the event starts ({_fmt(incident.started_at)})")
    for other in queries._rows(db, actor, BoardShift, incident.id, False):
        if other.name.casefold() == data.name.casefold():
            raise Conflict("name", f"the board already has a shift named {other.name!r}")
        if other.starts_at == starts_at and other.ends_at == ends_at:
            raise Conflict("starts_at", f"shift {other.name!r} already covers exactly this time")
    shift = BoardShift(
        incident_id=incident.id, name=data.name, starts_at=starts_at, ends_at=ends_at, created_by_user_id=actor.user_id
    )
    db.add(shift)
    db.flush()
    _audit(db, actor, "operations.board.shift.add", incident.lead_agency_id, incident, shift=shift.id)
    _announce(db, "board.shift.added", "board_shift", shift.id, incident.lead_agency_id, incident)
    return shift


def remove_shift(db: Session, *, actor: Actor, incident_id: uuid.UUID, shift_id: uuid.UUID) -> BoardShift:
    """Take an empty shift off the board (it stays in the board's history)."""
    incident = _board(db, actor, incident_id, MANAGE)
    shift = queries.get_shift(db, actor, incident.id, shift_id)
    _set_up_by_lead(actor, incident)
    if shift.removed_at is not None:
        raise Conflict("shift_id", "this shift was removed already")
    busy = [a for a in queries._rows(db, actor, BoardAssignment, incident.id, False) if a.shift_id == shift.id]
    if busy:
        raise Conflict("shift_id", f"{len(busy)} unit(s) are assigned in this shift; move or remove them first")
    shift.removed_at, shift.removed_by_user_id = utcnow(), actor.user_id
    db.flush()
    _audit(db, actor, "operations.board.shift.remove", incident.lead_agency_id, incident, shift=shift.id)
    _announce(db, "board.shift.removed", "board_shift", shift.id, incident.lead_agency_id, incident)
    return shift


# -- posts ----------------------------------------------------------------------------------
def add_post(db: Session, *, actor: Actor, incident_id: uuid.UUID, data: PostCreate) -> BoardPost:
    incident = _board(db, actor, incident_id, MANAGE)
    _set_up_by_lead(actor, incident)
    lon, lat = point_coordinates(data.location, "location")
    for other in queries._rows(db, actor, BoardPost, incident.id, False):
        if other.name.casefold() == data.name.casefold():
            raise Conflict("name", f"the board already has a post named {other.name!r}")
    post = BoardPost(
        incident_id=incident.id,
        name=data.name,
        description=data.description,
        location={"type": "Point", "coordinates": [lon, lat]},
        radius_m=data.radius_m,
        created_by_user_id=actor.user_id,
    )
    db.add(post)
    db.flush()
    _audit(db, actor, "operations.board.post.add", incident.lead_agency_id, incident, post=post.id)
    _announce(db, "board.post.added", "board_post", post.id, incident.lead_agency_id, incident)
    return post


def remove_post(db: Session, *, actor: Actor, incident_id: uuid.UUID, post_id: uuid.UUID) -> BoardPost:
    """Take a post without units off the board (it stays in the board's history and in
    the messages that name it)."""
    incident = _board(db, actor, incident_id, MANAGE)
    post = queries.get_post(db, actor, incident.id, post_id)
    _set_up_by_lead(actor, incident)
    if post.removed_at is not None:
        raise Conflict("post_id", "this post was removed already")
    busy = [a for a in queries._rows(db, actor, BoardAssignment, incident.id, False) if a.post_id == post.id]
    if busy:
        raise Conflict("post_id", f"{len(busy)} unit(s) are assigned to this post; move or remove them first")
    post.removed_at, post.removed_by_user_id = utcnow(), actor.user_id
    db.flush()
    _audit(db, actor, "operations.board.post.remove", incident.lead_agency_id, incident, post=post.id)
    _announce(db, "board.post.removed", "board_post", post.id, incident.lead_agency_id, incident)
    return post


# -- assignments --------------------------------------------------------------------------
def unit_key(unit: str) -> str:
    """A call sign compared as people say it: case and spacing do not make another unit."""
    return " ".join(unit.split()).casefold()


def _serialize_bookings(db: Session, agency_id: uuid.UUID) -> None:
    """One agency's bookings are checked and written one transaction at a time. On
    PostgreSQL a transaction-level advisory lock per agency; SQLite has one writer."""
    if db.get_bind().dialect.name == "postgresql":
        digest = hashlib.sha256(b"accord.eventboard.bookings\x00" + agency_id.bytes).digest()
        db.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": int.from_bytes(digest[:8], "big", signed=True)})


def _no_double_booking(
    db: Session,
    incident: Incident,
    shift: BoardShift,
    *,
    agency_id: uuid.UUID,
    key: str,
    person_id: uuid.UUID | None,
    exclude: uuid.UUID | None,
) -> None:
    """A unit (or a named person) is at one post at a time: refuse a booking whose shift
    overlaps another of the same unit, on this board or on any open event's board. This
    rule check looks past the caller's scope on purpose (the unit's agency takes part in
    every board that books it); about another event it says nothing but that it exists."""
    overlapping = (
        select(BoardAssignment, BoardShift.name, BoardPost.name)
        .join(BoardShift, BoardShift.id == BoardAssignment.shift_id)
        .join(BoardPost, BoardPost.id == BoardAssignment.post_id)
        .join(Incident, Incident.id == BoardAssignment.incident_id)
        .where(
            BoardAssignment.agency_id == agency_id,
            BoardAssignment.removed_at.is_(None),
            Incident.status != "closed",
            BoardShift.starts_at < shift.ends_at,
            BoardShift.ends_at > shift.starts_at,
        )
    )
    if exclude is not None:
        overlapping = overlapping.where(BoardAssignment.id != exclude)
    checks: list[tuple[str, Any]] = [("unit", BoardAssignment.unit_key == key)]
    if person_id is not None:
        checks.append(("person_id", BoardAssignment.person_id == person_id))
    for field, condition in checks:
        clash = db.execute(overlapping.where(condition).limit(1)).first()
        if clash is None:
            continue
        other, shift_name, post_name = clash
        who = other.unit if field == "unit" else (other.person_name or "this person")
        if other.incident_id == incident.id:
            where = f"at {post_name} in shift {shift_name!r}"
        else:
            where = "on another event's board"
        raise Conflict(field, f"{who} is already booked {where}, which overlaps this shift")


def _person_name(db: Session, actor: Actor, person_id: uuid.UUID | None, agency_id: uuid.UUID) -> str:
    if person_id is None:
        return ""
    try:
        person = directory.get_person(db, actor, person_id)
    except NotFound:
        raise InvalidInput("person_id", "no such person in the directory") from None
    if person.agency_id != agency_id:
        raise InvalidInput("person_id", "this person is not a member of the unit's agency")
    return person.full_name


def assign_unit(db: Session, *, actor: Actor, incident_id: uuid.UUID, data: AssignmentCreate) -> BoardAssignment:
    incident = _board(db, actor, incident_id, MANAGE)
    if data.agency_id not in queries.involved_agencies(incident):
        raise InvalidInput("agency_id", "this agency does not take part in the event")
    _may_assign(actor, incident, data.agency_id)
    shift = _active_shift(db, actor, incident, data.shift_id, "shift_id")
    post = _active_post(db, actor, incident, data.post_id, "post_id")
    person_name = _person_name(db, actor, data.person_id, data.agency_id)
    unit = " ".join(data.unit.split())
    _serialize_bookings(db, data.agency_id)
    _no_double_booking(
        db, incident, shift, agency_id=data.agency_id, key=unit_key(unit), person_id=data.person_id, exclude=None
    )
    now = utcnow()
    assignment = BoardAssignment(
        incident_id=incident.id,
        shift_id=shift.id,
        post_id=post.id,
        agency_id=data.agency_id,
        unit=unit,
        unit_key=unit_key(unit),
        people=data.people,
        person_id=data.person_id,
        person_name=person_name,
        notes=data.notes,
        created_at=now,
        updated_at=now,
        created_by_user_id=actor.user_id,
    )
    db.add(assignment)
    db.flush()
    _audit(
        db,
        actor,
        "operations.board.assignment.add",
        data.agency_id,
        incident,
        assignment=assignment.id,
        shift=shift.id,
        post=post.id,
        people=data.people,
    )
    _announce(
        db,
        "board.assignment.added",
        "board_assignment",
        assignment.id,
        data.agency_id,
        incident,
        shift_id=shift.id,
        post_id=post.id,
    )
    return assignment


def _live_assignment(db: Session, actor: Actor, incident: Incident, assignment_id: uuid.UUID) -> BoardAssignment:
    assignment = queries.get_assignment(db, actor, incident.id, assignment_id)
    _may_assign(actor, incident, assignment.agency_id)
    if assignment.removed_at is not None:
        raise Conflict("assignment_id", "this unit was removed from the board already")
    return assignment


def update_assignment(
    db: Session, *, actor: Actor, incident_id: uuid.UUID, assignment_id: uuid.UUID, data: AssignmentUpdate
) -> BoardAssignment:
    """Move a unit to another post or shift, or change its strength, person or notes."""
    incident = _board(db, actor, incident_id, MANAGE)
    assignment = _live_assignment(db, actor, incident, assignment_id)
    changed: dict[str, Any] = {}
    shift = _active_shift(db, actor, incident, data.shift_id or assignment.shift_id, "shift_id")
    if data.post_id is not None and data.post_id != assignment.post_id:
        changed["post"] = [assignment.post_id, _active_post(db, actor, incident, data.post_id, "post_id").id]
    if data.shift_id is not None and data.shift_id != assignment.shift_id:
        changed["shift"] = [assignment.shift_id, shift.id]
    person_id = assignment.person_id
    if "person_id" in data.model_fields_set and data.person_id != assignment.person_id:
        person_id = data.person_id
        changed["person"] = True
    if data.people is not None and data.people != assignment.people:
        changed["people"] = [assignment.people, data.people]
    if data.notes is not None and data.notes != assignment.notes:
        changed["notes"] = True
    if not changed:
        return assignment
    person_name = _person_name(db, actor, person_id, assignment.agency_id) if "person" in changed else None
    if "shift" in changed or "person" in changed:
        _serialize_bookings(db, assignment.agency_id)
        _no_double_booking(
            db,
            incident,
            shift,
            agency_id=assignment.agency_id,
            key=assignment.unit_key,
            person_id=person_id,
            exclude=assignment.id,
        )
    if "post" in changed:
        assignment.post_id = changed["post"][1]
    if "shift" in changed:
        assignment.shift_id = shift.id
    if person_name is not None:
        assignment.person_id, assignment.person_name = person_id, person_name
    if "people" in changed:
        assignment.people = changed["people"][1]
    if "notes" in changed:
        assignment.notes = data.notes or ""
    assignment.updated_at = utcnow()
    db.flush()
    _audit(
        db,
        actor,
        "operations.board.assignment.update",
        assignment.agency_id,
        incident,
        assignment=assignment.id,
        changed={key: [str(v) for v in value] if isinstance(value, list) else value for key, value in changed.items()},
    )
    _announce(
        db,
        "board.assignment.changed",
        "board_assignment",
        assignment.id,
        assignment.agency_id,
        incident,
        shift_id=assignment.shift_id,
        post_id=assignment.post_id,
    )
    return assignment


def remove_assignment(
    db: Session, *, actor: Actor, incident_id: uuid.UUID, assignment_id: uuid.UUID
) -> BoardAssignment:
    incident = _board(db, actor, incident_id, MANAGE)
    assignment = _live_assignment(db, actor, incident, assignment_id)
    assignment.removed_at, assignment.removed_by_user_id = utcnow(), actor.user_id
    assignment.updated_at = assignment.removed_at
    db.flush()
    _audit(db, actor, "operations.board.assignment.remove", assignment.agency_id, incident, assignment=assignment.id)
    _announce(
        db,
        "board.assignment.removed",
        "board_assignment",
        assignment.id,
        assignment.agency_id,
        incident,
        shift_id=assignment.shift_id,
        post_id=assignment.post_id,
    )
    return assignment


# -- messages and read receipts -----------------------------------------------------------
def post_message(
    db: Session, *, actor: Actor, incident_id: uuid.UUID, data: MessageCreate, at: datetime | None = None
) -> BoardMessage:
    """Append a message; a correction is a new message naming the one it corrects. The
    author has read their own message. ``at`` (imports and the demo only) is when it was
    posted, if not now."""
    incident = _board(db, actor, incident_id, POST)
    author_agency = _acting_agency(actor, POST, incident)
    if data.post_id is not None:
        _active_post(db, actor, incident, data.post_id, "post_id")
    if data.corrects_id is not None:
        stmt = select(BoardMessage.id).where(
            BoardMessage.id == data.corrects_id, BoardMessage.incident_id == incident.id
        )
        if db.scalar(scope(actor, READ, stmt)) is None:
            raise InvalidInput("corrects_id", "no such message on this board")
    now = at or utcnow()
    message = BoardMessage(
        incident_id=incident.id,
        posted_at=now,
        author_user_id=actor.user_id,
        author_name=actor.display_name or actor.username,
        author_agency_id=author_agency,
        text=data.text,
        priority=data.priority,
        post_id=data.post_id,
        corrects_id=data.corrects_id,
    )
    db.add(message)
    db.flush()
    if actor.user_id is not None:
        db.add(
            BoardReceipt(
                message_id=message.id,
                user_id=actor.user_id,
                incident_id=incident.id,
                read_at=now,
                reader_name=message.author_name,
                reader_agency_id=author_agency,
            )
        )
        db.flush()
    details: dict[str, Any] = {"message": message.id, "priority": message.priority}
    if data.corrects_id is not None:
        details["corrects"] = data.corrects_id
    _audit(db, actor, "operations.board.message.post", author_agency, incident, **details)
    _announce(
        db, "board.message.posted", "board_message", message.id, author_agency, incident, priority=message.priority
    )
    return message


def _reader(actor: Actor, incident: Incident) -> tuple[uuid.UUID, uuid.UUID]:
    if actor.user_id is None:
        raise PermissionDenied(READ, reason="read receipts are kept for people; sign in as one")
    return actor.user_id, _acting_agency(actor, READ, incident)


def mark_read(
    db: Session, *, actor: Actor, incident_id: uuid.UUID, message_id: uuid.UUID, at: datetime | None = None
) -> BoardReceipt:
    """Record that the caller read the message; the first time counts, later ones change
    nothing. Allowed on a closed event's board too (reading is not changing the board).
    ``at`` (imports and the demo only) is when it was read, if not now."""
    incident = queries.get_board(db, actor, incident_id)
    stmt = select(BoardMessage).where(BoardMessage.id == message_id, BoardMessage.incident_id == incident.id)
    message = db.scalar(scope(actor, READ, stmt))
    if message is None:
        raise NotFound("message")
    user_id, agency_id = _reader(actor, incident)
    existing = db.get(BoardReceipt, (message.id, user_id))
    if existing is not None:
        return existing
    receipt = BoardReceipt(
        message_id=message.id,
        user_id=user_id,
        incident_id=incident.id,
        read_at=at or utcnow(),
        reader_name=actor.display_name or actor.username,
        reader_agency_id=agency_id,
    )
    try:
        with db.begin_nested():
            db.add(receipt)
            db.flush()
    except IntegrityError:  # the same person marked it read in another tab a moment ago
        found = db.get(BoardReceipt, (message.id, user_id))
        if found is None:
            raise
        return found
    _audit(db, actor, "operations.board.message.read", agency_id, incident, message=message.id)
    _announce(db, "board.message.read", "board_receipt", message.id, agency_id, incident)
    return receipt


def mark_all_read(db: Session, *, actor: Actor, incident_id: uuid.UUID) -> int:
    """Mark every message of the board the caller has not read yet; returns how many."""
    incident = queries.get_board(db, actor, incident_id)
    user_id, agency_id = _reader(actor, incident)
    mine = select(BoardReceipt.message_id).where(
        BoardReceipt.incident_id == incident.id, BoardReceipt.user_id == user_id
    )
    stmt = scope(
        actor,
        READ,
        select(BoardMessage).where(BoardMessage.incident_id == incident.id, BoardMessage.id.not_in(mine)),
    )
    unread = list(db.scalars(stmt.order_by(BoardMessage.posted_at, BoardMessage.id)))
    if not unread:
        return 0
    now = utcnow()
    name = actor.display_name or actor.username

    def receipt(message: BoardMessage) -> BoardReceipt:
        return BoardReceipt(
            message_id=message.id,
            user_id=user_id,
            incident_id=incident.id,
            read_at=now,
            reader_name=name,
            reader_agency_id=agency_id,
        )

    try:
        with db.begin_nested():
            db.add_all(receipt(m) for m in unread)
            db.flush()
    except IntegrityError:  # some were marked read in another tab meanwhile: one at a time
        marked = []
        for message in unread:
            try:
                with db.begin_nested():
                    db.add(receipt(message))
                    db.flush()
                marked.append(message)
            except IntegrityError:
                continue
        unread = marked
        if not unread:
            return 0
    _audit(db, actor, "operations.board.message.read", agency_id, incident, messages=len(unread))
    _announce(db, "board.message.read", "board_receipt", unread[-1].id, agency_id, incident, count=len(unread))
    return len(unread)
