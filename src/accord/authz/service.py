"""Role catalogue upkeep and actor loading."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from accord.authz.actor import Actor, MembershipGrant
from accord.authz.models import Membership, Role, RolePermission
from accord.authz.roles import BUILTIN_ROLES


def sync_builtin_roles(db: Session) -> None:
    """Create or update the shipped roles so their permission sets match the code."""
    existing = {r.name: r for r in db.scalars(select(Role))}
    for definition in BUILTIN_ROLES:
        role = existing.get(definition.name)
        if role is None:
            role = Role(name=definition.name)
            db.add(role)
        role.label = definition.label
        role.description = definition.description
        role.platform = definition.platform
        role.builtin = True
        current = {p.permission for p in role.permissions}
        if current != set(definition.permissions):
            role.permissions.clear()
            db.flush()
            role.permissions.extend(RolePermission(permission=p) for p in sorted(definition.permissions))
    db.flush()


def role_by_name(db: Session, name: str) -> Role | None:
    return db.scalar(select(Role).where(Role.name == name))


def load_grants(db: Session, user_id: uuid.UUID, only_agency: uuid.UUID | None = None) -> tuple[MembershipGrant, ...]:
    """One query: every membership of the user with its role's permissions."""
    rows = db.execute(
        select(Membership.agency_id, Role.name, RolePermission.permission)
        .join(Role, Role.id == Membership.role_id)
        .join(RolePermission, RolePermission.role_id == Role.id)
        .where(Membership.user_id == user_id)
        .order_by(Membership.created_at, Role.name)
    ).all()
    grouped: dict[tuple[uuid.UUID | None, str], set[str]] = {}
    for agency_id, role, permission in rows:
        grouped.setdefault((agency_id, role), set()).add(permission)
    grants = tuple(MembershipGrant(a, r, frozenset(p)) for (a, r), p in grouped.items())
    if only_agency is not None:
        grants = tuple(g for g in grants if g.agency_id in (None, only_agency))
        # A token scoped to one agency carries platform roles only as that agency.
        grants = tuple(MembershipGrant(only_agency, g.role, g.permissions) for g in grants)
    return grants


def actor_for(
    db: Session,
    *,
    user_id: uuid.UUID,
    username: str,
    display_name: str,
    auth_method: str,
    session_id: uuid.UUID | None = None,
    token_id: uuid.UUID | None = None,
    client_addr: str | None = None,
    only_agency: uuid.UUID | None = None,
) -> Actor:
    return Actor(
        user_id=user_id,
        username=username,
        display_name=display_name,
        memberships=load_grants(db, user_id, only_agency),
        auth_method=auth_method,
        session_id=session_id,
        token_id=token_id,
        client_addr=client_addr,
    )
