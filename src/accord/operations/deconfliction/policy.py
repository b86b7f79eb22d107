"""Who sees planned operations and deconfliction notices: an agency sees only its own
operations and the notices addressed to it (members holding the permission asked for).
Nobody lists other agencies' operations, not even the platform administrator: only
agency memberships count (``authz.roles_key``)."""

from __future__ import annotations

from sqlalchemy import ColumnElement, false

from accord.authz import Actor, register_policy, roles_key
from accord.operations.deconfliction.models import DeconflictionNotice, PlannedOperation
from accord.operations.live import register_live

READ = "operations:planned:read"
MANAGE = "operations:planned:manage"


def _agencies(actor: Actor, action: str) -> list[object]:
    return [agency for agency, _ in roles_key(actor, action)]


@register_policy(PlannedOperation)
def planned_operation_policy(actor: Actor, action: str) -> ColumnElement[bool]:
    agencies = _agencies(actor, action)
    return PlannedOperation.owner_agency_id.in_(agencies) if agencies else false()


@register_policy(DeconflictionNotice)
def notice_policy(actor: Actor, action: str) -> ColumnElement[bool]:
    agencies = _agencies(actor, action)
    return DeconflictionNotice.agency_id.in_(agencies) if agencies else false()


register_live("planned_operation", PlannedOperation, READ)
register_live("deconfliction_notice", DeconflictionNotice, READ)
