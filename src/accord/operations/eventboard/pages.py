"""The command board page of a planned event (``/incidents/{id}/board``): the grid of
posts by shifts with each agency's units, quick-add forms (htmx), the message board with
unread highlighting and read receipts, and a small map of the posts. The parts refresh
themselves (htmx fragments) when live events about this board arrive."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from functools import lru_cache
from typing import Annotated, Any
from zoneinfo import ZoneInfo, available_timezones

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import ValidationError

from accord.authz import Actor
from accord.authz.deps import Permission
from accord.core.deps import DB
from accord.core.errors import AccordError, InvalidInput
from accord.directory import queries as directory
from accord.directory.schemas import PersonFilter
from accord.operations.eventboard import queries, service
from accord.operations.eventboard.schemas import (
    AssignmentCreate,
    AssignmentUpdate,
    BoardRead,
    MessageCreate,
    PostCreate,
    ShiftCreate,
)
from accord.web.forms import errors_of, form_dict
from accord.web.templating import flash, redirect, render, verify_csrf

router = APIRouter(include_in_schema=False)
Read = Annotated[Actor, Depends(Permission("operations:board:read"))]
Manage = Annotated[Actor, Depends(Permission("operations:board:manage"))]
Post = Annotated[Actor, Depends(Permission("operations:board:post"))]
Csrf = Depends(verify_csrf)
LIVE_PATH = "/api/v1/live"
FORMS = ("assign", "post", "shift")


def _url(incident_id: uuid.UUID, part: str = "") -> str:
    return f"/incidents/{incident_id}/board{part}"


def _htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


# -- form values -----------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(available_timezones()) | {"UTC"}


def _moment(form: dict[str, str], name: str) -> datetime | str | None:
    """A datetime-local value in the form's time zone (``tz``, set by the page's script to
    the browser's zone; UTC without script), or ISO 8601 with an offset as given."""
    raw = form.get(name, "").strip()
    if not raw:
        return None
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        return raw  # the schema says what a date and time look like
    zone = form.get("tz", "").strip() or "UTC"
    if parsed.tzinfo is None:
        if zone not in _zones():
            raise InvalidInput("tz", "unknown time zone")
        parsed = parsed.replace(tzinfo=ZoneInfo(zone))
    return parsed


def _number(form: dict[str, str], name: str) -> float | str | None:
    raw = form.get(name, "").strip()
    if not raw:
        return None
    try:
        return float(raw)
    except ValueError:
        raise InvalidInput(name, "must be a number") from None


def _optional(form: dict[str, str], name: str) -> str | None:
    return form.get(name, "").strip() or None


def _shift_data(form: dict[str, str]) -> ShiftCreate:
    return ShiftCreate.model_validate(
        {"name": form.get("name", ""), "starts_at": _moment(form, "starts_at"), "ends_at": _moment(form, "ends_at")}
    )


def _post_data(form: dict[str, str]) -> PostCreate:
    lat, lon = _number(form, "lat"), _number(form, "lon")
    if lat is None or lon is None:
        raise InvalidInput("location", "give the latitude and longitude (or click the map)")
    return PostCreate.model_validate(
        {
            "name": form.get("name", ""),
            "description": form.get("description", ""),
            "location": {"type": "Point", "coordinates": [lon, lat]},
            "radius_m": _number(form, "radius_m"),
        }
    )


def _assignment_data(form: dict[str, str]) -> AssignmentCreate:
    return AssignmentCreate.model_validate(
        {
            "shift_id": form.get("shift_id", ""),
            "post_id": form.get("post_id", ""),
            "agency_id": form.get("agency_id", ""),
            "unit": form.get("unit", ""),
            "people": form.get("people", "").strip() or 1,
            "person_id": _optional(form, "person_id"),
            "notes": form.get("notes", ""),
        }
    )


def _message_data(form: dict[str, str]) -> MessageCreate:
    return MessageCreate.model_validate(
        {
            "text": form.get("text", ""),
            "priority": form.get("priority", "") or "normal",
            "post_id": _optional(form, "post_id"),
            "corrects_id": _optional(form, "corrects_id"),
        }
    )


# -- context ---------------------------------------------------------------------------------
def _grid_context(db: DB, actor: Actor, incident_id: uuid.UUID) -> dict[str, Any]:
    board = queries.board(db, actor, incident_id)
    return {"board": board, "agencies": {a.id: a for a in board.agencies}, "base": _url(incident_id)}


def _people(db: DB, actor: Actor, board: BoardRead) -> list[tuple[Any, list[tuple[uuid.UUID, str]]]]:
    """The directory's people of the agencies whose units the caller assigns."""
    names = {a.id: a for a in board.agencies}
    found = []
    for agency_id in board.can_assign_for:
        people, _ = directory.list_people(db, actor, PersonFilter(agency_id=agency_id, limit=500))
        found.append(
            (names[agency_id], [(p.id, f"{p.full_name} — {p.title}" if p.title else p.full_name) for p in people])
        )
    return found


def _forms_context(db: DB, actor: Actor, incident_id: uuid.UUID, board: BoardRead | None = None) -> dict[str, Any]:
    board = board or queries.board(db, actor, incident_id)
    return {
        "board": board,
        "agencies": {a.id: a for a in board.agencies},
        "people": _people(db, actor, board) if board.can_assign_for else [],
        "post_list": [row.post for row in board.rows],
        "base": _url(incident_id),
        "form": {},
        "errors": {},
        "open_form": "",
        "notice": "",
    }


def _messages_context(db: DB, actor: Actor, incident_id: uuid.UUID, board: BoardRead | None = None) -> dict[str, Any]:
    board = board or queries.board(db, actor, incident_id)
    messages = queries.list_messages(db, actor, incident_id)
    return {
        "board": board,
        "agencies": {a.id: a for a in board.agencies},
        "posts_by_id": {row.post.id: row.post for row in board.rows},
        "messages": messages,
        "by_id": {m.id: m for m in messages},
        "base": _url(incident_id),
        "message_form": {},
        "message_errors": {},
    }


# -- pages -------------------------------------------------------------------------------------
@router.get("/boards")
def boards_page(request: Request, db: DB, actor: Read) -> Response:
    """The command boards of the planned events the caller's agencies lead or take part in."""
    rows = []
    for incident in queries.list_boards(db, actor):
        lead = directory.get_agency(db, actor, incident.lead_agency_id)
        unread, urgent = queries.unread(db, actor, incident.id)
        rows.append({"incident": incident, "lead": lead, "unread": unread, "urgent": urgent})
    return render(request, "eventboard/list.html", {"rows": rows})


@router.get("/incidents/{incident_id}/board")
def board_page(request: Request, db: DB, actor: Read, incident_id: uuid.UUID) -> Response:
    incident = queries.get_board(db, actor, incident_id)
    board = queries.board(db, actor, incident_id)
    paths: object = getattr(request.app.state, "page_paths", frozenset())
    context = {
        **_forms_context(db, actor, incident_id, board),
        **_messages_context(db, actor, incident_id, board),
        "incident": incident,
        "live_url": LIVE_PATH if isinstance(paths, frozenset) and LIVE_PATH in paths else "",
    }
    return render(request, "eventboard/board.html", context)


@router.get("/incidents/{incident_id}/board/grid")
def grid_part(request: Request, db: DB, actor: Read, incident_id: uuid.UUID) -> Response:
    return render(request, "eventboard/_grid.html", _grid_context(db, actor, incident_id))


@router.get("/incidents/{incident_id}/board/forms")
def forms_part(request: Request, db: DB, actor: Read, incident_id: uuid.UUID) -> Response:
    return render(request, "eventboard/_forms.html", _forms_context(db, actor, incident_id))


@router.get("/incidents/{incident_id}/board/messages")
def messages_part(request: Request, db: DB, actor: Read, incident_id: uuid.UUID) -> Response:
    return render(request, "eventboard/_messages.html", _messages_context(db, actor, incident_id))


# -- quick-add forms -------------------------------------------------------------------------
def _form_change(
    request: Request,
    db: DB,
    actor: Actor,
    incident_id: uuid.UUID,
    which: str,
    form: dict[str, str],
    change: Callable[[], str],
) -> Response:
    """Run a quick-add ``change``; htmx gets the forms panel back (reset, or with the
    errors beside the fields) and, after a change, the grid out of band; a plain form post
    gets a flash message and the board again."""
    try:
        notice = change()
    except (ValidationError, AccordError) as exc:
        db.rollback()
        errors, message = errors_of(exc)
        if not _htmx(request):
            flash(request, "error", message)
            return redirect(request, _url(incident_id))
        context = _forms_context(db, actor, incident_id) | {
            "form": form,
            "errors": errors,
            "open_form": which,
            "notice": message,
        }
        status = exc.status_code if isinstance(exc, AccordError) else 422
        return render(request, "eventboard/_forms.html", context, status)
    db.commit()
    if not _htmx(request):
        flash(request, "success", notice)
        return redirect(request, _url(incident_id))
    context = _forms_context(db, actor, incident_id) | {"open_form": which, "notice": notice, "oob_grid": True}
    context["form"] = {k: form[k] for k in ("shift_id", "post_id", "agency_id", "tz") if k in form}
    return render(request, "eventboard/_forms.html", context)


@router.post("/incidents/{incident_id}/board/shifts", dependencies=[Csrf])
async def add_shift(request: Request, db: DB, actor: Manage, incident_id: uuid.UUID) -> Response:
    form = await form_dict(request)

    def change() -> str:
        shift = service.add_shift(db, actor=actor, incident_id=incident_id, data=_shift_data(form))
        return f"Shift {shift.name} added."

    return _form_change(request, db, actor, incident_id, "shift", form, change)


@router.post("/incidents/{incident_id}/board/posts", dependencies=[Csrf])
async def add_post(request: Request, db: DB, actor: Manage, incident_id: uuid.UUID) -> Response:
    form = await form_dict(request)

    def change() -> str:
        post = service.add_post(db, actor=actor, incident_id=incident_id, data=_post_data(form))
        return f"Post {post.name} added."

    return _form_change(request, db, actor, incident_id, "post", form, change)


@router.post("/incidents/{incident_id}/board/assignments", dependencies=[Csrf])
async def assign_unit(request: Request, db: DB, actor: Manage, incident_id: uuid.UUID) -> Response:
    form = await form_dict(request)

    def change() -> str:
        assignment = service.assign_unit(db, actor=actor, incident_id=incident_id, data=_assignment_data(form))
        return f"{assignment.unit} assigned."

    return _form_change(request, db, actor, incident_id, "assign", form, change)


# -- grid actions ----------------------------------------------------------------------------
def _grid_change(request: Request, db: DB, actor: Actor, incident_id: uuid.UUID, change: Callable[[], str]) -> Response:
    """A change made from the grid itself (remove, move): htmx gets the grid back, with
    the refusal shown above it if there was one."""
    problem, status = "", 200
    try:
        notice = change()
    except (ValidationError, AccordError) as exc:
        db.rollback()
        fields, problem = errors_of(exc)
        if isinstance(exc, ValidationError):
            problem = "; ".join(f"{name}: {reason}" for name, reason in fields.items())
        status, notice = (exc.status_code if isinstance(exc, AccordError) else 422), ""
    else:
        db.commit()
    if not _htmx(request):
        flash(request, "error" if problem else "success", problem or notice)
        return redirect(request, _url(incident_id))
    context = _grid_context(db, actor, incident_id) | {"grid_problem": problem, "grid_notice": notice}
    return render(request, "eventboard/_grid.html", context, status)


@router.post("/incidents/{incident_id}/board/assignments/{assignment_id}/remove", dependencies=[Csrf])
def remove_assignment(
    request: Request, db: DB, actor: Manage, incident_id: uuid.UUID, assignment_id: uuid.UUID
) -> Response:
    def change() -> str:
        removed = service.remove_assignment(db, actor=actor, incident_id=incident_id, assignment_id=assignment_id)
        return f"{removed.unit} taken off the board."

    return _grid_change(request, db, actor, incident_id, change)


@router.post("/incidents/{incident_id}/board/assignments/{assignment_id}/move", dependencies=[Csrf])
async def move_assignment(
    request: Request, db: DB, actor: Manage, incident_id: uuid.UUID, assignment_id: uuid.UUID
) -> Response:
    form = await form_dict(request)

    def change() -> str:
        data = AssignmentUpdate.model_validate(
            {"shift_id": _optional(form, "shift_id"), "post_id": _optional(form, "post_id")}
        )
        moved = service.update_assignment(
            db, actor=actor, incident_id=incident_id, assignment_id=assignment_id, data=data
        )
        return f"{moved.unit} moved."

    return _grid_change(request, db, actor, incident_id, change)


@router.post("/incidents/{incident_id}/board/shifts/{shift_id}/remove", dependencies=[Csrf])
def remove_shift(request: Request, db: DB, actor: Manage, incident_id: uuid.UUID, shift_id: uuid.UUID) -> Response:
    def change() -> str:
        return (
            f"Shift {service.remove_shift(db, actor=actor, incident_id=incident_id, shift_id=shift_id).name} removed."
        )

    return _grid_change(request, db, actor, incident_id, change)


@router.post("/incidents/{incident_id}/board/posts/{post_id}/remove", dependencies=[Csrf])
def remove_post(request: Request, db: DB, actor: Manage, incident_id: uuid.UUID, post_id: uuid.UUID) -> Response:
    def change() -> str:
        return f"Post {service.remove_post(db, actor=actor, incident_id=incident_id, post_id=post_id).name} removed."

    return _grid_change(request, db, actor, incident_id, change)


# -- messages ----------------------------------------------------------------------------------
def _messages_change(
    request: Request,
    db: DB,
    actor: Actor,
    incident_id: uuid.UUID,
    change: Callable[[], str],
    form: dict[str, str] | None = None,
) -> Response:
    errors: dict[str, str] = {}
    try:
        notice = change()
    except (ValidationError, AccordError) as exc:
        db.rollback()
        errors, notice = errors_of(exc)
        errors = errors or {"text": notice}
    else:
        db.commit()
    if not _htmx(request):
        flash(request, "error" if errors else "success", notice)
        return redirect(request, _url(incident_id))
    context = _messages_context(db, actor, incident_id)
    if errors:
        context |= {"message_form": form or {}, "message_errors": errors}
    status = 422 if errors else 200
    return render(request, "eventboard/_messages.html", context, status)


@router.post("/incidents/{incident_id}/board/messages", dependencies=[Csrf])
async def post_message(request: Request, db: DB, actor: Post, incident_id: uuid.UUID) -> Response:
    form = await form_dict(request)

    def change() -> str:
        service.post_message(db, actor=actor, incident_id=incident_id, data=_message_data(form))
        return "Message posted."

    return _messages_change(request, db, actor, incident_id, change, form)


@router.post("/incidents/{incident_id}/board/messages/read", dependencies=[Csrf])
def mark_all_read(request: Request, db: DB, actor: Read, incident_id: uuid.UUID) -> Response:
    def change() -> str:
        marked = service.mark_all_read(db, actor=actor, incident_id=incident_id)
        return f"{marked} message{'' if marked == 1 else 's'} marked read."

    return _messages_change(request, db, actor, incident_id, change)


@router.post("/incidents/{incident_id}/board/messages/{message_id}/read", dependencies=[Csrf])
def mark_read(request: Request, db: DB, actor: Read, incident_id: uuid.UUID, message_id: uuid.UUID) -> Response:
    def change() -> str:
        service.mark_read(db, actor=actor, incident_id=incident_id, message_id=message_id)
        return "Marked read."

    return _messages_change(request, db, actor, incident_id, change)
