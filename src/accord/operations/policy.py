"""Who sees an incident (ADR 14). Members of the lead agency and of every participating
agency see the whole incident, its participants and its activity log. Any other agency
sees the incident itself (not its log) as the agreements let it see an incident report
from the lead agency: CLEAR to all, GREEN to the lead agency's partners, AMBER and
AMBER+STRICT under a grant in force for incident reports shared for situational
awareness, within the clause's retention period. The same grant rule as records
(``agreements.queries.covering_grant_exists``), so agreements, opt-outs and retention
apply unchanged."""

from __future__ import annotations

import uuid
from datetime import datetime
from functools import lru_cache

from sqlalchemy import ColumnElement, Date, and_, bindparam, false, literal, or_, select
from sqlalchemy.orm import InstrumentedAttribute

from accord.agreements import queries as agreements
from accord.agreements.vocab import TIER_RANK
from accord.authz import Actor, RolesKey, register_policy, roles_key
from accord.core.db import UTCDateTime
from accord.core.time import utcnow
from accord.operations.live import register_live
from accord.operations.models import (
    ActivityEntry,
    CommandAssignment,
    Incident,
    IncidentParticipant,
    MapLayer,
    Objective,
    OperationalPeriod,
    Task,
    TaskUpdate,
)
from accord.operations.vocab import SHARED_AS_CATEGORY, SHARED_AS_PURPOSE
from accord.sharing.models import Record

CLEAR, GREEN = TIER_RANK["CLEAR"], TIER_RANK["GREEN"]
NOW = bindparam("operations_now", callable_=utcnow, type_=UTCDateTime())
TODAY = bindparam("operations_today", callable_=lambda: utcnow().date(), type_=Date())


def _taking_part(agencies: list[uuid.UUID]) -> ColumnElement[bool]:
    participating = select(IncidentParticipant.incident_id).where(IncidentParticipant.agency_id.in_(agencies))
    return or_(Incident.lead_agency_id.in_(agencies), Incident.id.in_(participating))


def _shared_predicate(
    key: RolesKey,
    provider: InstrumentedAttribute[uuid.UUID],
    tier: InstrumentedAttribute[int],
    shared_at: InstrumentedAttribute[datetime],
) -> ColumnElement[bool]:
    """Seen by anyone when CLEAR, by the provider's partners when GREEN, and as a grant for
    incident reports shared for situational awareness allows when AMBER or AMBER+STRICT."""
    agencies = [agency for agency, _ in key]
    roles = {agency: set(agency_roles) for agency, agency_roles in key}
    return or_(
        tier == CLEAR,
        and_(tier == GREEN, provider.in_(agreements.partner_agencies_select(agencies, TODAY))),
        agreements.covering_grant_exists(
            provider=provider,
            category=literal(SHARED_AS_CATEGORY),
            purpose=literal(SHARED_AS_PURPOSE),
            tier=tier,
            shared_at=shared_at,
            roles=roles,
            at=NOW,
        ),
    )


@lru_cache(maxsize=1024)
def _incident_predicate(key: RolesKey) -> ColumnElement[bool]:
    if not key:
        return false()
    return or_(
        _taking_part([agency for agency, _ in key]),
        _shared_predicate(key, Incident.lead_agency_id, Incident.tier_rank, Incident.updated_at),
    )


@lru_cache(maxsize=1024)
def _layer_predicate(key: RolesKey) -> ColumnElement[bool]:
    if not key:
        return false()
    return or_(
        MapLayer.agency_id.in_([agency for agency, _ in key]),
        _shared_predicate(key, MapLayer.agency_id, MapLayer.tier_rank, MapLayer.updated_at),
    )


@lru_cache(maxsize=1024)
def _participant_only(key: RolesKey) -> ColumnElement[bool]:
    if not key:
        return false()
    return _taking_part([agency for agency, _ in key])


@register_policy(Incident)
def incident_policy(actor: Actor, action: str) -> ColumnElement[bool]:
    return _incident_predicate(roles_key(actor, action))


# The log, the command staff, periods, objectives and tasks are "the whole incident":
# participating agencies only.
@register_policy(ActivityEntry)
def activity_policy(actor: Actor, action: str) -> ColumnElement[bool]:
    return ActivityEntry.incident_id.in_(select(Incident.id).where(_participant_only(roles_key(actor, action))))


@register_policy(CommandAssignment)
def command_policy(actor: Actor, action: str) -> ColumnElement[bool]:
    return CommandAssignment.incident_id.in_(select(Incident.id).where(_participant_only(roles_key(actor, action))))


@register_policy(OperationalPeriod)
def period_policy(actor: Actor, action: str) -> ColumnElement[bool]:
    return OperationalPeriod.incident_id.in_(select(Incident.id).where(_participant_only(roles_key(actor, action))))


@register_policy(Objective)
def objective_policy(actor: Actor, action: str) -> ColumnElement[bool]:
    return Objective.incident_id.in_(select(Incident.id).where(_participant_only(roles_key(actor, action))))


@register_policy(Task)
def task_policy(actor: Actor, action: str) -> ColumnElement[bool]:
    return Task.incident_id.in_(select(Incident.id).where(_participant_only(roles_key(actor, action))))


@register_policy(TaskUpdate)
def task_update_policy(actor: Actor, action: str) -> ColumnElement[bool]:
    tasks = select(Task.id).where(
        Task.incident_id.in_(select(Incident.id).where(_participant_only(roles_key(actor, action))))
    )
    return TaskUpdate.task_id.in_(tasks)


@register_policy(MapLayer)
def layer_policy(actor: Actor, action: str) -> ColumnElement[bool]:
    return _layer_predicate(roles_key(actor, action))


@register_policy(IncidentParticipant)
def participant_policy(actor: Actor, action: str) -> ColumnElement[bool]:
    return IncidentParticipant.incident_id.in_(select(Incident.id).where(_incident_predicate(roles_key(actor, action))))


register_live("incident", Incident, "operations:incident:read")
register_live("activity", ActivityEntry, "operations:incident:read")
register_live("task", Task, "operations:incident:read")
register_live("command", CommandAssignment, "operations:incident:read")
register_live("period", OperationalPeriod, "operations:incident:read")
register_live("map_layer", MapLayer, "operations:incident:read")
# Records are shared by the sharing module's own rule; RED records name people, so each
# recipient is checked on their own (ADR 18).
register_live("record", Record, "sharing:record:read", by_user=True)


def takes_part(actor: Actor, action: str, incident: Incident) -> bool:
    """Whether the caller's agency (holding ``action``) leads or takes part in ``incident``."""
    agencies = {agency for agency, _ in roles_key(actor, action)}
    return incident.lead_agency_id in agencies or any(p.agency_id in agencies for p in incident.participants)
