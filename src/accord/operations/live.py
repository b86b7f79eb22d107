"""Which live events a signed-in user receives (ADR 14, ADR 18).

Every module that emits live events registers, per ``object_type``, the model whose
registered ``authz`` policy decides who sees the object and the permission to read it.
At delivery the SSE stream asks which of a batch's objects each recipient may read *now*,
so a revoked agreement or a removed participant stops delivery at once. An object type
nobody registered is never delivered (fail closed).

Two ways to ask, one rule:
- ``visible_events``: for one actor, the registered predicate through ``authz.scope`` (a
  reconnecting client's replay; object types whose rule names people).
- ``visible_to_pairs``: for many recipients at once. A policy built from the caller's
  (agency, role) memberships — the house style: ``roles_key`` lists, ``IN`` and ``OR`` —
  admits a row for an actor exactly when it admits it for one of the actor's memberships
  alone. So the policy's predicate is built once for a *template* membership (a sentinel
  agency and role), the sentinels are replaced by the columns of a table of (agency,
  role) pairs passed as one JSON parameter, and one statement answers, for every pair,
  which objects it may see. The predicate is the policy's own SQL, evaluated set-based for
  every recipient in one go; a 1,000-subscriber fan-out costs one query, not 1,000. A
  policy whose template keeps a sentinel the rewrite does not understand falls back to the
  per-actor path. tests/test_live_oracle.py checks both paths agree.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

from sqlalchemy import Integer, Select, String, Uuid, bindparam, column, select, text, true
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.sql import operators, visitors
from sqlalchemy.sql.elements import BinaryExpression, BindParameter, ClauseElement
from sqlalchemy.sql.selectable import Alias, Join

from accord.authz import Actor, MembershipGrant, policy_predicate, scope
from accord.core.events import Event

log = logging.getLogger("accord.live")

# Values no real membership has: the template's agency and role.
SENTINEL_AGENCY = uuid.UUID("00000000-0000-4000-8000-0000000acc0d")
SENTINEL_ROLE = "\u241faccord-live-template-role"
MAX_PAIRS = 2_000  # per statement (SQLite's parameters are one JSON text; this bounds its size)


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
    stream then checks each user on their own."""
    column_ = id_column if id_column is not None else model.id
    _TYPES[object_type] = LiveType(model, permission, column_, by_user)
    _template.cache_clear()


def registered(object_type: str) -> LiveType | None:
    return _TYPES.get(object_type)


def registered_types() -> frozenset[str]:
    return frozenset(_TYPES)


def checked_by_user(object_type: str) -> bool:
    live = _TYPES.get(object_type)
    return live.by_user if live is not None else False


def _ids(values: Iterable[str]) -> list[uuid.UUID]:
    found = []
    for value in values:
        try:
            found.append(uuid.UUID(value))
        except ValueError:
            continue  # not an id of ours: never delivered
    return found


# -- one actor ---------------------------------------------------------------------------------
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


# -- many recipients at once ----------------------------------------------------------------------
def _keys_table(dialect: str) -> Any:
    """(idx, agency_id, role) rows from the JSON parameter ``live_pairs``."""
    if dialect == "postgresql":
        sql = (
            "SELECT i AS idx, a AS agency_id, r AS role "
            "FROM jsonb_to_recordset(CAST(:live_pairs AS jsonb)) AS live_pair(i int, a uuid, r text)"
        )
    else:
        sql = (
            "SELECT json_extract(value, '$.i') AS idx, json_extract(value, '$.a') AS agency_id, "
            "json_extract(value, '$.r') AS role FROM json_each(:live_pairs)"
        )
    columns = (column("idx", Integer), column("agency_id", Uuid), column("role", String))
    return text(sql).columns(*columns).cte("live_pairs")


def _single_sentinel(value: Any, sentinel: object) -> bool:
    return isinstance(value, list | tuple) and len(value) == 1 and value[0] == sentinel


def _mentions_sentinel(element: ClauseElement) -> bool:
    for node in visitors.iterate(element):
        if isinstance(node, BindParameter):
            value = node.value
            values = value if isinstance(value, list | tuple) else [value]
            if SENTINEL_AGENCY in values or SENTINEL_ROLE in values:
                return True
    return False


@cache
def _template(object_type: str, dialect: str) -> Select[Any] | None:
    """SELECT (pair idx, object id) of the objects each (agency, role) pair may read, or
    None when this type's policy cannot be evaluated that way."""
    live = _TYPES[object_type]
    if live.by_user:
        return None
    membership = MembershipGrant(SENTINEL_AGENCY, SENTINEL_ROLE, frozenset({live.permission}))
    template = Actor(user_id=None, username="live-template", memberships=(membership,))
    predicate = policy_predicate(template, live.permission, live.model)
    pairs = _keys_table(dialect)

    def replace(element: Any, **_: Any) -> Any:
        if (
            isinstance(element, BinaryExpression)
            and element.operator is operators.in_op
            and isinstance(element.right, BindParameter)
        ):
            if _single_sentinel(element.right.value, SENTINEL_AGENCY):
                return element.left == pairs.c.agency_id
            if _single_sentinel(element.right.value, SENTINEL_ROLE):
                return element.left == pairs.c.role
        if isinstance(element, BindParameter):
            if element.value == SENTINEL_AGENCY:
                return pairs.c.agency_id
            if element.value == SENTINEL_ROLE:
                return pairs.c.role
        return None

    options: dict[str, Any] = {}
    rewritten = visitors.replacement_traverse(predicate, options, replace)

    # A deep copy: the walk below sets correlation on each SELECT in place, and the
    # policy's own (cached) predicate must stay as it is for ``authz.scope``.
    rewritten = visitors.cloned_traverse(rewritten, options, {})
    if not _correlate_explicitly(rewritten, {_from_key(pairs): pairs, **_keyed(live.model.__table__)}):
        log.warning("live type %s: a subquery reselects an enclosing table; checked per recipient", object_type)
        return None
    if _mentions_sentinel(rewritten):
        log.warning("live type %s: its policy cannot be evaluated per pair; checked per recipient", object_type)
        return None
    return (
        select(pairs.c.idx, live.id_column)
        .select_from(pairs)
        .join(live.model, true())
        .where(live.id_column.in_(bindparam("live_ids", expanding=True)), rewritten)
    )


def _from_key(from_: Any) -> tuple[str, str]:
    """Names a FROM object across clones and annotations (tables, aliases, CTEs)."""
    name = getattr(from_, "name", None) or getattr(from_, "description", None) or str(id(from_))
    return (type(getattr(from_, "element", from_)).__name__ if isinstance(from_, Alias) else "table", str(name))


def _flatten(froms: Iterable[Any]) -> list[Any]:
    found: list[Any] = []
    for from_ in froms:
        if isinstance(from_, Join):
            found += _flatten([from_.left, from_.right])
        else:
            found.append(from_)
    return found


def _keyed(*froms: Any) -> dict[tuple[str, str], Any]:
    return {_from_key(f): f for f in _flatten(froms)}


def _own_froms(select_: Select[Any]) -> dict[tuple[str, str], Any]:
    """What a SELECT selects from on purpose: the tables of its columns and of its joins
    (not those its WHERE clause names, which it correlates to an enclosing query)."""
    columns = {_from_key(f) for c in select_.selected_columns for f in _flatten(c._from_objects)}
    own: dict[tuple[str, str], Any] = {}
    for from_ in select_.get_final_froms():
        if isinstance(from_, Join):
            own.update(_keyed(from_))
        elif _from_key(from_) in columns:
            own[_from_key(from_)] = from_
    return own


def _correlate_explicitly(element: Any, enclosing: dict[tuple[str, str], Any]) -> bool:
    """Make every SELECT of the rewritten predicate correlate explicitly to the pairs table
    and to the tables of the SELECTs around it — what automatic correlation meant for the
    policy's own query, which ORM selects stop doing once any correlation is explicit, and
    which never reaches two levels down (there the pairs table would be joined in again
    and every pair would see what any pair sees). False when a SELECT selects from a table
    a SELECT around it has too: explicit correlation would change its meaning."""
    if isinstance(element, Select):
        own = _own_froms(element)
        if set(own) & set(enclosing):
            return False
        element._correlate = tuple(f for key, f in enclosing.items() if key not in own)
        inner = {**enclosing, **own, **_keyed(*element.get_final_froms())}
        return all(_correlate_explicitly(child, inner) for child in element.get_children())
    return all(_correlate_explicitly(child, enclosing) for child in element.get_children())


def can_check_pairs(db: Session, object_type: str) -> bool:
    return can_check_pairs_on(db.get_bind().dialect.name, object_type)


def can_check_pairs_on(dialect: str, object_type: str) -> bool:
    """Whether ``object_type`` is checked for all recipients at once (``visible_to_pairs``)."""
    return object_type in _TYPES and _template(object_type, dialect) is not None


def visible_to_pairs(
    db: Session, object_type: str, pairs: list[tuple[uuid.UUID, str]], object_ids: Iterable[str]
) -> list[set[str]]:
    """For each (agency, role) pair, the ``object_ids`` of ``object_type`` it may read now
    (by position). Requires ``can_check_pairs``."""
    dialect = db.get_bind().dialect.name
    stmt = _template(object_type, dialect)
    if stmt is None:
        raise LookupError(f"live type {object_type!r} is checked per recipient")
    seen: list[set[str]] = [set() for _ in pairs]
    ids = _ids(object_ids)
    if not ids or not pairs:
        return seen
    for payload in _pairs_payloads(dialect, tuple(pairs)):
        for idx, object_id in db.execute(stmt, {"live_pairs": payload, "live_ids": ids}):
            seen[int(idx)].add(str(object_id))
    return seen


@lru_cache(maxsize=16)
def _pairs_payloads(dialect: str, pairs: tuple[tuple[uuid.UUID, str], ...]) -> list[str]:
    """The JSON parameters for ``pairs`` (in chunks of MAX_PAIRS), built once while the
    set of connected recipients stays the same."""
    payloads = []
    for start in range(0, len(pairs), MAX_PAIRS):
        rows = [
            {"i": start + n, "a": agency.hex if dialect != "postgresql" else str(agency), "r": role}
            for n, (agency, role) in enumerate(pairs[start : start + MAX_PAIRS])
        ]
        payloads.append(json.dumps(rows))
    return payloads


def membership_pairs(actor: Actor, permission: str) -> list[tuple[uuid.UUID, str]]:
    """The actor's (agency, role) memberships holding ``permission`` (platform-wide roles
    run the platform, not an agency's data, as ``roles_key`` says)."""
    return sorted(
        {(m.agency_id, m.role) for m in actor.memberships if m.agency_id is not None and permission in m.permissions}
    )
