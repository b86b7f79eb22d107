"""Which live events a signed-in user receives (ADR 14).

Every module that emits live events registers, per ``object_type``, the model whose
registered ``authz`` policy decides who sees the object and the permission to read it.
At delivery the SSE stream asks, for a batch of events, which of their objects the
recipient may read *now*: one indexed query per object type through ``authz.scope``, so a
revoked agreement or a removed participant stops delivery at once. An object type nobody
registered is never delivered (fail closed)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import InstrumentedAttribute, Session

from accord.authz import Actor, scope
from accord.core.events import Event


@dataclass(frozen=True)
class LiveType:
    model: type[Any]
    permission: str
    id_column: InstrumentedAttribute[Any]
    by_user: bool


_TYPES: dict[str, LiveType] = {}


def register_live(
    object_type: str, model: type[Any], permission: str, id_column: Any = None, *, by_user: bool = False
) -> None:
    """Events with ``object_type`` reach those who may ``permission`` the ``model`` row
    whose ``id_column`` (default ``model.id``) equals the event's ``object_id``.

    ``by_user``: the model's policy names people (not only agencies, roles and
    permissions), so users with the same memberships may still see different rows; the
    stream then checks each user on their own instead of once per shared visibility."""
    column = id_column if id_column is not None else model.id
    _TYPES[object_type] = LiveType(model, permission, column, by_user)


def checked_by_user(object_type: str) -> bool:
    live = _TYPES.get(object_type)
    return live.by_user if live is not None else False


def registered_types() -> frozenset[str]:
    return frozenset(_TYPES)


def _ids(values: Iterable[str]) -> list[uuid.UUID]:
    found = []
    for value in values:
        try:
            found.append(uuid.UUID(value))
        except ValueError:
            continue  # not an id of ours: never delivered
    return found


def visible_events(db: Session, actor: Actor, batch: list[Event]) -> list[Event]:
    """The events of ``batch`` whose objects ``actor`` may read now, in their order."""
    by_type: dict[str, set[str]] = {}
    for event in batch:
        by_type.setdefault(event.object_type, set()).add(event.object_id)
    allowed: set[tuple[str, str]] = set()
    for object_type, object_ids in by_type.items():
        live = _TYPES.get(object_type)
        if live is None:
            continue
        ids = _ids(object_ids)
        if not ids:
            continue
        stmt = scope(actor, live.permission, select(live.model).where(live.id_column.in_(ids)))
        visible = db.scalars(stmt.with_only_columns(live.id_column)).all()
        allowed.update((object_type, str(value)) for value in visible)
    return [event for event in batch if (event.object_type, event.object_id) in allowed]
