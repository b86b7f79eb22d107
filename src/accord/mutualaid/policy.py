"""Who sees what of mutual aid. Resource types are reference data: every holder of the
read permission. A resource: its own agency's members, and members of agencies bound with
the owner now by a mutual-aid clause of the same agreement (that is what offers it to
partners), unless the owner keeps it to itself (``shareable`` false).

A resource request: the requesting agency's members; once approved and sent, the members
of each agency it went to while the clause it went under still binds that agency (a
terminated agreement hides it at once). An offer: the providing and the requesting
agency's members."""

from __future__ import annotations

import uuid
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, false, or_, select, true
from sqlalchemy.orm import aliased

from accord.authz import Actor, RolesKey, register_policy, roles_key
from accord.core.db import UTCDateTime
from accord.core.time import utcnow
from accord.mutualaid.models import (
    MutualAidBinding,
    RequestRecipient,
    Resource,
    ResourceOffer,
    ResourceRequest,
    ResourceType,
)
from accord.operations.live import register_live

READ = "mutualaid:resource:read"
REQUESTS = "mutualaid:request:read"
NOW = bindparam("mutualaid_now", callable_=utcnow, type_=UTCDateTime())
_MINE, _THEIRS = aliased(MutualAidBinding, name="binding_mine"), aliased(MutualAidBinding, name="binding_theirs")
_RECEIVED = aliased(MutualAidBinding, name="binding_received")


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


def received_requests(agencies: list[uuid.UUID]) -> Any:
    """SELECT of the requests sent to any of ``agencies`` under a clause that binds it now."""
    return (
        select(RequestRecipient.request_id)
        .join(
            _RECEIVED,
            and_(_RECEIVED.clause_id == RequestRecipient.clause_id, _RECEIVED.agency_id == RequestRecipient.agency_id),
        )
        .where(RequestRecipient.agency_id.in_(agencies), in_force(_RECEIVED))
    )


@lru_cache(maxsize=1024)
def _request_predicate(key: RolesKey) -> ColumnElement[bool]:
    if not key:
        return false()
    agencies = [agency for agency, _ in key]
    return or_(
        ResourceRequest.requesting_agency_id.in_(agencies),
        and_(ResourceRequest.status != "pending", ResourceRequest.id.in_(received_requests(agencies))),
    )


@lru_cache(maxsize=1024)
def _offer_predicate(key: RolesKey) -> ColumnElement[bool]:
    if not key:
        return false()
    agencies = [agency for agency, _ in key]
    return or_(
        ResourceOffer.providing_agency_id.in_(agencies),
        ResourceOffer.request_id.in_(
            select(ResourceRequest.id).where(ResourceRequest.requesting_agency_id.in_(agencies))
        ),
    )


@register_policy(ResourceRequest)
def request_policy(actor: Actor, action: str) -> ColumnElement[bool]:
    return _request_predicate(roles_key(actor, action))


@register_policy(ResourceOffer)
def offer_policy(actor: Actor, action: str) -> ColumnElement[bool]:
    return _offer_predicate(roles_key(actor, action))


register_live("resource", Resource, READ)
register_live("resource_request", ResourceRequest, REQUESTS)
register_live("resource_offer", ResourceOffer, REQUESTS)
