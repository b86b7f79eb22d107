"""The caller of a request: who they are and, per agency, which permissions they hold."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Final


class _AllAgencies:
    """Sentinel: a platform-wide membership covers every agency."""

    def __repr__(self) -> str:
        return "ALL_AGENCIES"


ALL_AGENCIES: Final = _AllAgencies()


@dataclass(frozen=True)
class MembershipGrant:
    agency_id: uuid.UUID | None  # None: platform-wide
    role: str
    permissions: frozenset[str]


@dataclass(frozen=True)
class Actor:
    user_id: uuid.UUID | None
    username: str
    display_name: str = ""
    memberships: tuple[MembershipGrant, ...] = ()
    auth_method: str = "anonymous"  # session | token | anonymous | system
    session_id: uuid.UUID | None = None
    token_id: uuid.UUID | None = None
    client_addr: str | None = None

    @property
    def authenticated(self) -> bool:
        return self.user_id is not None or self.auth_method == "system"

    @property
    def is_platform_admin(self) -> bool:
        return any(m.agency_id is None and m.role == "platform_admin" for m in self.memberships)

    @property
    def agency_ids(self) -> frozenset[uuid.UUID]:
        return frozenset(m.agency_id for m in self.memberships if m.agency_id is not None)

    @property
    def primary_agency_id(self) -> uuid.UUID | None:
        ids = [m.agency_id for m in self.memberships if m.agency_id is not None]
        return ids[0] if ids else None

    def has(self, permission: str, agency_id: uuid.UUID | None = None) -> bool:
        """Holds ``permission`` in ``agency_id`` (or anywhere, when no agency is named)."""
        for m in self.memberships:
            if permission in m.permissions and (agency_id is None or m.agency_id in (None, agency_id)):
                return True
        return False

    def agencies_with(self, permission: str) -> frozenset[uuid.UUID] | _AllAgencies:
        """The agencies where ``permission`` is held; ALL_AGENCIES for platform-wide holders."""
        ids: set[uuid.UUID] = set()
        for m in self.memberships:
            if permission in m.permissions:
                if m.agency_id is None:
                    return ALL_AGENCIES
                ids.add(m.agency_id)
        return frozenset(ids)


ANONYMOUS: Final = Actor(user_id=None, username="anonymous")


RolesKey = tuple[tuple[uuid.UUID, tuple[str, ...]], ...]


def roles_by_agency(actor: Actor, action: str) -> dict[uuid.UUID, set[str]]:
    """The caller's agencies holding ``action`` and its roles in each. Only agency
    memberships count: a platform-wide role runs the platform, not an agency's data."""
    found: dict[uuid.UUID, set[str]] = {}
    for membership in actor.memberships:
        if membership.agency_id is not None and action in membership.permissions:
            found.setdefault(membership.agency_id, set()).add(membership.role)
    return found


def roles_key(actor: Actor, action: str) -> RolesKey:
    """``roles_by_agency`` as a hashable key (the modules cache their predicates by it)."""
    return tuple(sorted((agency, tuple(sorted(roles))) for agency, roles in roles_by_agency(actor, action).items()))
