"""Who may do what: actors, named permissions, roles as data, and the one door
(``scope`` for reads, ``require`` for commands)."""

from accord.authz.actor import ALL_AGENCIES, ANONYMOUS, Actor, MembershipGrant
from accord.authz.scope import register_policy, require, scope

__all__ = ["ALL_AGENCIES", "ANONYMOUS", "Actor", "MembershipGrant", "register_policy", "require", "scope"]
