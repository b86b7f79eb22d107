"""Built-in roles shipped with Accord. They are synced into the ``roles`` tables; agencies
may add their own roles as data. Each later module adds its permissions here."""

from __future__ import annotations

from dataclasses import dataclass

from accord.authz.permissions import PERMISSIONS


@dataclass(frozen=True)
class RoleDefinition:
    name: str
    label: str
    description: str
    platform: bool
    permissions: frozenset[str]


_BASE = frozenset(
    {
        "directory:agency:read",
        "directory:person:read",
        "accounts:self:manage",
        "authz:role:read",
        "agreements:partnership:read",
        "agreements:agreement:read",
        "sharing:record:read",
        "operations:incident:read",
        "operations:live:read",
        "mutualaid:resource:read",
        "mutualaid:request:read",
        "operations:protocol:read",
        "operations:board:read",
    }
)
_WRITE_RECORDS = frozenset({"sharing:record:create", "sharing:record:update"})
# De-identified trends (ADR 0010): analysts produce them, administrators answer for their
# agency's use of them, auditors and privacy officers review what is published.
_AGGREGATES = frozenset({"sharing:aggregate:read"})
# Running an incident: commanders open and steer it; anyone on the command staff logs.
_COMMAND = frozenset(
    {
        "operations:incident:create",
        "operations:incident:update",
        "operations:log:write",
        "operations:task:write",
        "operations:layer:publish",
    }
)
# CAP alerts (issue 5): commanders publish for the incidents they lead; commanders and
# analysts bring outside alerts in as incident reports of their agency.
_ALERT_IMPORT = frozenset({"operations:alert:import"})
_ALERT_PUBLISH = frozenset({"operations:alert:publish"})
# Pre-agreed protocols are written jointly by the partners' coordinators and commanders.
_PROTOCOLS = frozenset({"operations:protocol:write"})
# Deconfliction of planned operations: commanders and analysts register and are told.
_PLANNED = frozenset({"operations:planned:read", "operations:planned:manage"})
# The command board of a planned event: commanders set it up and assign units; commanders,
# logistics and analysts write on its message board.
_BOARD_MANAGE = frozenset({"operations:board:manage"})
_BOARD_POST = frozenset({"operations:board:post"})
# The inventory of mutual aid: logistics keeps it, agency administrators answer for it.
_INVENTORY = frozenset({"mutualaid:resource:manage", "mutualaid:type:manage"})
# Mutual aid (ICS-213): commanders and logistics ask for resources and take offers; logistics /
# finance approve requests, answer partners' requests, keep time sheets and settle claims;
# agency administrators approve spending (finance) and claims; coordinators keep the
# partnership's collaboration fund.
_REQUEST = frozenset({"mutualaid:request:create", "mutualaid:offer:manage"})
_LOGISTICS_FINANCE = frozenset(
    {
        "mutualaid:request:approve_logistics",
        "mutualaid:request:approve_finance",
        "mutualaid:cost:manage",
        "mutualaid:claim:approve",
    }
)
_FINANCE_APPROVAL = frozenset({"mutualaid:request:approve_finance", "mutualaid:claim:approve"})
_FUND = frozenset({"mutualaid:fund:manage"})

BUILTIN_ROLES: tuple[RoleDefinition, ...] = (
    RoleDefinition(
        "platform_admin",
        "Platform administrator",
        "Operates the Accord installation: registers agencies, manages every account.",
        True,
        frozenset(PERMISSIONS),
    ),
    RoleDefinition(
        "agency_admin",
        "Agency administrator",
        "Keeps the agency's profile, people and user accounts current.",
        False,
        _BASE
        | {
            "directory:agency:update",
            "directory:person:create",
            "directory:person:update",
            "directory:person:delete",
            "accounts:user:read",
            "accounts:user:create",
            "accounts:user:update",
            "audit:event:read",
            "audit:chain:verify",
            "agreements:agreement:sign",
            "agreements:agreement:manage",
            "sharing:record:hold",
            "sharing:retention:manage",
            "operations:layer:publish",
        }
        | _INVENTORY
        | _FINANCE_APPROVAL
        | _AGGREGATES,
    ),
    RoleDefinition(
        "coordinator",
        "Partnership coordinator",
        "Forms partnerships, drafts agreements and collects signatures.",
        False,
        _BASE
        | {
            "agreements:partnership:manage",
            "agreements:agreement:draft",
            "agreements:agreement:manage",
        }
        | _PROTOCOLS
        | _FUND,
    ),
    RoleDefinition(
        "analyst",
        "Analyst",
        "Shares and searches records across partners.",
        False,
        _BASE | _WRITE_RECORDS | _AGGREGATES | _ALERT_IMPORT | _PLANNED | _BOARD_POST,
    ),
    RoleDefinition(
        "commander",
        "Incident commander",
        "Runs joint incidents and the operating picture.",
        False,
        _BASE
        | _WRITE_RECORDS
        | _COMMAND
        | _ALERT_PUBLISH
        | _ALERT_IMPORT
        | _PROTOCOLS
        | _PLANNED
        | _BOARD_MANAGE
        | _BOARD_POST
        | _REQUEST,
    ),
    RoleDefinition(
        "logistics",
        "Logistics / finance",
        "Keeps resources, deployments and costs.",
        False,
        _BASE
        | {"operations:log:write", "operations:task:write"}
        | _BOARD_POST
        | _INVENTORY
        | _REQUEST
        | _LOGISTICS_FINANCE,
    ),
    RoleDefinition("trainer", "Training officer", "Runs trainings, exercises and after-action reviews.", False, _BASE),
    RoleDefinition(
        "auditor",
        "Auditor / privacy officer",
        "Reviews who did and read what in the agency's audit trail.",
        False,
        _BASE | {"audit:event:read", "audit:chain:verify", "accounts:user:read", "sharing:record:hold"} | _AGGREGATES,
    ),
    RoleDefinition("viewer", "Viewer", "Reads the directory and what partners share.", False, _BASE),
)

ROLE_NAMES = tuple(r.name for r in BUILTIN_ROLES)


def _check() -> None:
    for role in BUILTIN_ROLES:
        unknown = role.permissions - set(PERMISSIONS)
        if unknown:
            raise RuntimeError(f"role {role.name} names unknown permissions: {sorted(unknown)}")


_check()
