"""Who sees an incident's alerts and imported sources: whoever may see the incident
(``operations.policy.incident_policy``), through the same set-based predicate. Published
alerts are public as well, by publication: the public feed reads them without a caller."""

from __future__ import annotations

from sqlalchemy import ColumnElement, select

from accord.authz import Actor, register_policy
from accord.operations.alerts.models import ImportedAlert, IncidentAlert
from accord.operations.live import register_live
from accord.operations.models import Incident
from accord.operations.policy import incident_policy

READ = "operations:incident:read"


@register_policy(IncidentAlert)
def alert_policy(actor: Actor, action: str) -> ColumnElement[bool]:
    return IncidentAlert.incident_id.in_(select(Incident.id).where(incident_policy(actor, action)))


@register_policy(ImportedAlert)
def imported_alert_policy(actor: Actor, action: str) -> ColumnElement[bool]:
    return ImportedAlert.incident_id.in_(select(Incident.id).where(incident_policy(actor, action)))


register_live("incident_alert", IncidentAlert, READ)
register_live("incident_alert_import", ImportedAlert, READ)
