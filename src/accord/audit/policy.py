"""Audit visibility: auditors and administrators see the events concerning their agencies."""

from __future__ import annotations

from sqlalchemy import ColumnElement, true

from accord.audit.models import AuditEvent
from accord.authz import ALL_AGENCIES, Actor, register_policy


@register_policy(AuditEvent)
def audit_policy(actor: Actor, action: str) -> ColumnElement[bool]:
    agencies = actor.agencies_with(action)
    if agencies is ALL_AGENCIES:
        return true()
    assert isinstance(agencies, frozenset)
    return AuditEvent.agency_id.in_(agencies)
