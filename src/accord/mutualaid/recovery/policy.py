"""Who sees a deployment's time sheet, claims and settlement statement: members of its
providing and of its requesting agency holding ``mutualaid:request:read``; nobody else
(404, the same as for a row that does not exist). One set-based predicate over the two
agency columns every recovery row carries.

The deployment itself (a committed ``ResourceOffer``) is read here with the same rule,
over the offer's provider and its request's requester (``deployment_predicate``)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, false, or_, select

from accord.authz import Actor, RolesKey, register_policy, roles_key
from accord.mutualaid.models import ResourceOffer, ResourceRequest
from accord.mutualaid.recovery.models import CostClaim, TimeEntry

READ = "mutualaid:request:read"
MANAGE = "mutualaid:cost:manage"
APPROVE = "mutualaid:claim:approve"


def agencies_of(key: RolesKey) -> list[Any]:
    return [agency for agency, _ in key]


@lru_cache(maxsize=1024)
def deployment_predicate(key: RolesKey) -> ColumnElement[bool]:
    """Offers whose providing agency or whose request's agency is one of ``key``'s."""
    if not key:
        return false()
    agencies = agencies_of(key)
    requested = select(ResourceRequest.id).where(ResourceRequest.requesting_agency_id.in_(agencies))
    return or_(ResourceOffer.providing_agency_id.in_(agencies), ResourceOffer.request_id.in_(requested))


def _register(model: type[Any]) -> None:
    provider: Any = model.providing_agency_id
    requester: Any = model.requesting_agency_id

    @lru_cache(maxsize=1024)
    def predicate(key: RolesKey) -> ColumnElement[bool]:
        if not key:
            return false()
        agencies = agencies_of(key)
        return or_(provider.in_(agencies), requester.in_(agencies))

    @register_policy(model)
    def policy(actor: Actor, action: str) -> ColumnElement[bool]:
        return predicate(roles_key(actor, action))


for _model in (TimeEntry, CostClaim):
    _register(_model)
