"""Who sees what of mutual aid. Resource types are reference data: every holder of the
read permission. A resource: its own agency's members, and members of agencies bound with
the owner now by a mutual-aid clause of the same agreement (that is what offers it to
partners), unless the owner keeps it to itself (``shareable`` false)."""

from __future__ import annotations

import uuid
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, false, or_, select, true
from sqlalchemy.orm import aliased

from accord.authz import Actor, RolesKey, register_policy, roles_key
from accord.core.db import UTCDateTime
from accord.core.time import utcnow
from accord.mutualaid.models import MutualAidBinding, Resource, ResourceType
from accord.operations.live import register_live

READ = "mutualaid:resource:read"
NOW = bindparam("mutualaid_now", callable_=utcnow, type_=UTCDateTime())
_MINE, _THEIRS = aliased(MutualAidBinding, name="binding_mine"), aliased(MutualAidBinding, name="binding_theirs")


def in_force(binding: Any, at: Any = NOW) -> ColumnElement[bool]:
    """``binding`` (MutualAidBinding or an alias of it) binds its agency at ``at``."""
    return and_(binding.valid_from <= at, or_(binding.valid_until.is_(None), binding.valid_until > at))


def bound_agencies(agencies: list[uuid.UUID]) -> Any:
    """SELECT of the agencies bound now with any of ``agencies`` by a mutual-aid clause
    both are parties to."""
    return (
        select(_THEIRS.agency_id)
        .join(_MINE, _MINE.clause_id == _THEIRS.clause_id)
        .where(_MINE.agency_id.in_(agencies), in_force(_MINE), in_force(_THEIRS))
    )


@lru_cache(maxsize=1024)
def _resource_predicate(key: RolesKey) -> ColumnElement[bool]:
    if not key:
        return false()
    agencies = [agency for agency, _ in key]
    return or_(
        Resource.owner_agency_id.in_(agencies),
        and_(Resource.shareable.is_(True), Resource.owner_agency_id.in_(bound_agencies(agencies))),
    )


@register_policy(Resource)
def resource_policy(actor: Actor, action: str) -> ColumnElement[bool]:
    return _resource_predicate(roles_key(actor, action))


@register_policy(ResourceType)
def type_policy(actor: Actor, action: str) -> ColumnElement[bool]:
    return true()  # reference data: anyone holding the permission (scope checks that)


register_live("resource", Resource, READ)
