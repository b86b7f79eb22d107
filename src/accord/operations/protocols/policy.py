"""Who sees a protocol: the current members of the partnership that owns it (every version,
drafts included), and agencies that adopted one of its versions under an agreement in
force (its published versions). Anyone else gets 404. An incident's attached protocols
are a separate door: ``queries.protocols_for_incident`` lets the agencies taking part in
an incident read what the lead or a participant adopted."""

from __future__ import annotations

import uuid
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, bindparam, false, or_, select

from accord.agreements.models import PartnershipMember
from accord.authz import Actor, RolesKey, register_policy, roles_key
from accord.core.db import UTCDateTime
from accord.core.time import utcnow
from accord.operations.live import register_live
from accord.operations.protocols.models import Protocol, ProtocolAdoption, ProtocolVersion

READ = "operations:protocol:read"
WRITE = "operations:protocol:write"
NOW = bindparam("protocols_now", callable_=utcnow, type_=UTCDateTime())


def adoption_in_force(at: Any = NOW) -> ColumnElement[bool]:
    """The adoption binds its agency at ``at`` (a parameter bound when the statement runs)."""
    return and_(
        ProtocolAdoption.valid_from <= at,
        or_(ProtocolAdoption.valid_until.is_(None), ProtocolAdoption.valid_until > at),
    )


def member_partnerships(agencies: list[uuid.UUID]) -> Select[uuid.UUID]:
    return select(PartnershipMember.partnership_id).where(
        PartnershipMember.agency_id.in_(agencies), PartnershipMember.left_at.is_(None)
    )


def adopted_protocols(agencies: list[uuid.UUID]) -> Select[uuid.UUID]:
    return (
        select(ProtocolVersion.protocol_id)
        .join(ProtocolAdoption, ProtocolAdoption.protocol_version_id == ProtocolVersion.id)
        .where(ProtocolAdoption.agency_id.in_(agencies), adoption_in_force())
    )


def _agencies(key: RolesKey) -> list[uuid.UUID]:
    return [agency for agency, _ in key]


@lru_cache(maxsize=1024)
def _protocol_predicate(key: RolesKey) -> ColumnElement[bool]:
    if not key:
        return false()
    agencies = _agencies(key)
    return or_(Protocol.partnership_id.in_(member_partnerships(agencies)), Protocol.id.in_(adopted_protocols(agencies)))


@lru_cache(maxsize=1024)
def _version_predicate(key: RolesKey) -> ColumnElement[bool]:
    if not key:
        return false()
    agencies = _agencies(key)
    owned = select(Protocol.id).where(Protocol.partnership_id.in_(member_partnerships(agencies)))
    return or_(
        ProtocolVersion.protocol_id.in_(owned),
        and_(ProtocolVersion.status == "published", ProtocolVersion.protocol_id.in_(adopted_protocols(agencies))),
    )


@register_policy(Protocol)
def protocol_policy(actor: Actor, action: str) -> ColumnElement[bool]:
    # Only agency memberships count: a platform-wide role runs the platform, not operations.
    return _protocol_predicate(roles_key(actor, action))


@register_policy(ProtocolVersion)
def version_policy(actor: Actor, action: str) -> ColumnElement[bool]:
    return _version_predicate(roles_key(actor, action))


@register_policy(ProtocolAdoption)
def adoption_policy(actor: Actor, action: str) -> ColumnElement[bool]:
    """Adoptions of a protocol are read with the protocol (who follows it, under what)."""
    key = roles_key(actor, action)
    visible = select(ProtocolVersion.id).join(Protocol, Protocol.id == ProtocolVersion.protocol_id)
    return ProtocolAdoption.protocol_version_id.in_(visible.where(_protocol_predicate(key)))


register_live("protocol", Protocol, READ)
