"""The sharing rules as one set-based SQL predicate (DESIGN.md, "Sharing model").

A caller's agency sees a record when it owns it; when the record is CLEAR; when it is
GREEN and the two agencies are current members of an active partnership; when an active
grant from the owner to the caller's agency (and role) covers the record's category,
purpose and tier (and, if its clause sets a retention period, the record was last saved
within it: shared data disappears from recipients' views when the period ends); or, for
RED, when the caller is named. Only agency memberships count:
a platform administrator operates the platform and reads no agency's data through it.
"""

from __future__ import annotations

import uuid
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, Date, and_, bindparam, false, or_, select

from accord.agreements import queries as agreements
from accord.agreements.vocab import TIER_RANK
from accord.authz import Actor, RolesKey, register_policy, roles_by_agency, roles_key
from accord.core.db import UTCDateTime
from accord.core.time import utcnow
from accord.sharing.models import Attachment, Record, RecordRecipient, RecordRevision, RetentionPolicy

CLEAR, GREEN, AMBER, STRICT, RED = (TIER_RANK[t] for t in ("CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED"))

# The clock is read when a statement runs, not when its predicate is built: predicates are
# built once per caller and reused (building one costs about as much as running a small
# query), so an agreement that expires between two requests still stops the second.
NOW = bindparam("sharing_now", callable_=utcnow, type_=UTCDateTime())
TODAY = bindparam("sharing_today", callable_=lambda: utcnow().date(), type_=Date())


def _visible(
    roles_key: RolesKey,
    user_id: uuid.UUID | None,
    *,
    record_id: Any,
    owner: Any,
    category: Any,
    purpose: Any,
    tier_rank: Any,
    shared_at: Any,
) -> ColumnElement[bool]:
    """The sharing rules over any row that carries a record's sharing columns."""
    if not roles_key:
        return false()
    roles = {agency: set(agency_roles) for agency, agency_roles in roles_key}
    agencies = [agency for agency, _ in roles_key]
    visible = [
        owner.in_(agencies),
        tier_rank == CLEAR,
        and_(tier_rank == GREEN, owner.in_(agreements.partner_agencies_select(agencies, TODAY))),
        # Only GREEN, AMBER and AMBER+STRICT are ever granted: the covering set holds no other tier.
        agreements.covering_grant_exists(
            provider=owner,
            category=category,
            purpose=purpose,
            tier=tier_rank,
            shared_at=shared_at,
            roles=roles,
            at=NOW,
        ),
    ]
    if user_id is not None:
        named = select(RecordRecipient.record_id).where(RecordRecipient.user_id == user_id)
        visible.append(and_(tier_rank == RED, record_id.in_(named)))
    return or_(*visible)


@lru_cache(maxsize=1024)
def _record_predicate(roles_key: RolesKey, user_id: uuid.UUID | None) -> ColumnElement[bool]:
    return _visible(
        roles_key,
        user_id,
        record_id=Record.id,
        owner=Record.owner_agency_id,
        category=Record.category,
        purpose=Record.purpose,
        tier_rank=Record.tier_rank,
        shared_at=Record.updated_at,
    )


@lru_cache(maxsize=1024)
def _revision_predicate(roles_key: RolesKey, user_id: uuid.UUID | None) -> ColumnElement[bool]:
    return and_(
        _visible(
            roles_key,
            user_id,
            record_id=RecordRevision.record_id,
            owner=RecordRevision.owner_agency_id,
            category=RecordRevision.category,
            purpose=RecordRevision.purpose,
            tier_rank=RecordRevision.tier_rank,
            shared_at=RecordRevision.changed_at,
        ),
        RecordRevision.record_id.in_(select(Record.id).where(_record_predicate(roles_key, user_id))),
    )


@lru_cache(maxsize=1024)
def _attachment_predicate(roles_key: RolesKey, user_id: uuid.UUID | None) -> ColumnElement[bool]:
    return Attachment.record_id.in_(select(Record.id).where(_record_predicate(roles_key, user_id)))


def forget_predicates() -> None:
    """Drop the cached predicates (tests that swap a rule's implementation call this)."""
    for cached in (_record_predicate, _revision_predicate, _attachment_predicate):
        cached.cache_clear()


@register_policy(Record)
def record_policy(actor: Actor, action: str) -> ColumnElement[bool]:
    return _record_predicate(roles_key(actor, action), actor.user_id)


@register_policy(RecordRevision)
def revision_policy(actor: Actor, action: str) -> ColumnElement[bool]:
    """Each past version under the rules as it was saved (its own tier, category and
    purpose), and only while the record itself is visible: history never outlives access.
    A RED version is shown to the people named on the record now."""
    return _revision_predicate(roles_key(actor, action), actor.user_id)


@register_policy(Attachment)
def attachment_policy(actor: Actor, action: str) -> ColumnElement[bool]:
    """An attachment is visible with its record (its label is masked separately)."""
    return _attachment_predicate(roles_key(actor, action), actor.user_id)


@register_policy(RetentionPolicy)
def retention_policy(actor: Actor, action: str) -> ColumnElement[bool]:
    """An agency's retention settings are its own business."""
    agencies = sorted(roles_by_agency(actor, action))
    return RetentionPolicy.agency_id.in_(agencies) if agencies else false()
