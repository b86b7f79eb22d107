"""The one door. ``scope`` narrows a SELECT to what the actor may see with a set-based SQL
predicate registered by the owning module; ``require`` guards commands.

Unregistered entities fail closed: a read with no policy is a programming error, not an
open door.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, TypeVarTuple

from sqlalchemy import ColumnElement, Select, false

from accord.authz.actor import Actor
from accord.authz.permissions import is_known
from accord.core.errors import PermissionDenied

Policy = Callable[[Actor, str], ColumnElement[bool]]
_POLICIES: dict[type[Any], Policy] = {}
Ts = TypeVarTuple("Ts")


def register_policy(entity: type[Any]) -> Callable[[Policy], Policy]:
    """Register the visibility predicate of ``entity`` (used by each module's policy.py)."""

    def decorator(fn: Policy) -> Policy:
        _POLICIES[entity] = fn
        return fn

    return decorator


def has_policy(entity: type[Any]) -> bool:
    return entity in _POLICIES


def scope(actor: Actor, action: str, stmt: Select[*Ts]) -> Select[*Ts]:
    """Restrict ``stmt`` (whose first entity is a protected model) to rows ``actor`` may ``action``."""
    if not is_known(action):
        raise LookupError(f"unknown permission {action!r}")
    entity = stmt.column_descriptions[0].get("entity")
    policy = _POLICIES.get(entity) if isinstance(entity, type) else None
    if policy is None:
        raise LookupError(f"no authz policy registered for {entity!r}")
    if not actor.has(action):
        return stmt.where(false())
    return stmt.where(policy(actor, action))


def policy_predicate(actor: Actor, action: str, entity: type[Any]) -> ColumnElement[bool]:
    """The predicate ``scope`` would add for ``entity`` (for callers that evaluate it for
    many actors at once, as the live stream does); unregistered entities fail closed."""
    if not is_known(action):
        raise LookupError(f"unknown permission {action!r}")
    policy = _POLICIES.get(entity)
    if policy is None:
        raise LookupError(f"no authz policy registered for {entity!r}")
    if not actor.has(action):
        return false()
    return policy(actor, action)


def require(actor: Actor, permission: str, agency_id: uuid.UUID | None = None) -> None:
    """Raise PermissionDenied unless ``actor`` holds ``permission`` (in ``agency_id`` if given)."""
    if not is_known(permission):
        raise LookupError(f"unknown permission {permission!r}")
    if not actor.has(permission, agency_id):
        raise PermissionDenied(permission, agency_id)
