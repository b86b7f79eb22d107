"""Audit visibility: auditors and administrators see the events concerning their agencies."""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, true

from accord.audit.models import AuditAlert, AuditEvent
from accord.authz import ALL_AGENCIES, Actor, register_policy


@register_policy(AuditEvent)
def audit_policy(actor: Actor, action: str) -> ColumnElement[bool]:
    agencies = actor.agencies_with(action)
    if agencies is ALL_AGENCIES:
        return true()
    assert isinstance(agencies, frozenset)
    return AuditEvent.agency_id.in_(agencies)


@register_policy(AuditAlert)
def alert_policy(actor: Actor, action: str) -> ColumnElement[bool]:
    """Alerts concern the platform: only holders of the permission platform-wide see them."""
    return true() if actor.agencies_with(action) is ALL_AGENCIES else false()
