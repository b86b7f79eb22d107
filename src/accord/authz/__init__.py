"""Who may do what: actors, named permissions, roles as data, and the one door
(``scope`` for reads, ``require`` for commands)."""

from accord.authz.actor import ALL_AGENCIES, ANONYMOUS, Actor, MembershipGrant, RolesKey, roles_by_agency, roles_key
from accord.authz.scope import policy_predicate, register_policy, require, scope

__all__ = [
    "ALL_AGENCIES",
    "ANONYMOUS",
    "Actor",
    "MembershipGrant",
    "RolesKey",
    "policy_predicate",
    "register_policy",
    "require",
    "roles_by_agency",
    "roles_key",
    "scope",
]
