"""The sharing rules as one set-based SQL predicate (DESIGN.md, "Sharing model").

A caller's agency sees a record when it owns it; when the record is CLEAR; when it is
GREEN and the two agencies are current members of an active partnership; when an active
grant from the owner to the caller's agency (and role) covers the record's category,
purpose and tier; or, for RED, when the caller is named. Only agency memberships count:
a platform administrator operates the platform and reads no agency's data through it.
"""

from __future__ import annotations

import uuid

from sqlalchemy import ColumnElement, and_, false, or_, select

from accord.agreements import queries as agreements
from accord.agreements.vocab import TIER_RANK
from accord.authz import Actor, register_policy
from accord.core.time import utcnow
from accord.sharing.models import Record, RecordRecipient

CLEAR, GREEN, AMBER, STRICT, RED = (TIER_RANK[t] for t in ("CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED"))


def roles_by_agency(actor: Actor, action: str) -> dict[uuid.UUID, set[str]]:
    """The caller's agencies (holding ``action``) and its roles in each."""
    found: dict[uuid.UUID, set[str]] = {}
    for membership in actor.memberships:
        if membership.agency_id is not None and action in membership.permissions:
            found.setdefault(membership.agency_id, set()).add(membership.role)
    return found


@register_policy(Record)
def record_policy(actor: Actor, action: str) -> ColumnElement[bool]:
    roles = roles_by_agency(actor, action)
    if not roles:
        return false()
    now = utcnow()
    agencies = sorted(roles)
    visible = [
        Record.owner_agency_id.in_(agencies),
        Record.tier_rank == CLEAR,
        and_(Record.tier_rank == GREEN, Record.owner_agency_id.in_(agreements.partner_agencies_select(agencies, now))),
        and_(
            Record.tier_rank.in_((GREEN, AMBER, STRICT)),
            agreements.covering_grant_exists(
                provider=Record.owner_agency_id,
                category=Record.category,
                purpose=Record.purpose,
                tier=Record.tier_rank,
                roles=roles,
                at=now,
            ),
        ),
    ]
    if actor.user_id is not None:
        named = select(RecordRecipient.record_id).where(RecordRecipient.user_id == actor.user_id)
        visible.append(and_(Record.tier_rank == RED, Record.id.in_(named)))
    return or_(*visible)
