"""Account reads, through ``authz.scope``."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from accord.accounts import policy as _policy  # noqa: F401  (registers the policies)
from accord.accounts.models import ApiToken, User, UserSession
from accord.accounts.schemas import UserFilter
from accord.authz import Actor, scope
from accord.authz.models import Membership, Role, RolePermission
from accord.core.db import contains
from accord.core.errors import NotFound
from accord.core.time import utcnow

SELF = "accounts:self:manage"


def get_user(db: Session, actor: Actor, user_id: uuid.UUID, *, action: str = "accounts:user:read") -> User:
    user = db.scalar(scope(actor, action, select(User).where(User.id == user_id)))
    if user is None:
        raise NotFound("user")
    return user


def list_users(db: Session, actor: Actor, filters: UserFilter) -> tuple[list[User], int]:
    stmt = scope(actor, "accounts:user:read", select(User))
    if filters.q:
        stmt = stmt.where(or_(contains(User.username, filters.q), contains(User.display_name, filters.q)))
    if filters.agency_id:
        stmt = stmt.where(User.id.in_(select(Membership.user_id).where(Membership.agency_id == filters.agency_id)))
    if filters.locked is not None:
        stmt = stmt.where(User.locked_at.is_not(None) if filters.locked else User.locked_at.is_(None))
    total = db.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = db.scalars(stmt.order_by(User.username).limit(filters.limit).offset(filters.offset)).all()
    return list(rows), total


def own_user(db: Session, actor: Actor) -> User:
    if actor.user_id is None:
        raise NotFound("user")
    return get_user(db, actor, actor.user_id, action=SELF)


def list_sessions(db: Session, actor: Actor) -> list[UserSession]:
    stmt = scope(actor, SELF, select(UserSession)).where(
        UserSession.revoked_at.is_(None), UserSession.state == "active"
    )
    return list(db.scalars(stmt.order_by(UserSession.last_seen_at.desc())))


def get_session(db: Session, actor: Actor, session_id: uuid.UUID) -> UserSession:
    row = db.scalar(scope(actor, SELF, select(UserSession).where(UserSession.id == session_id)))
    if row is None:
        raise NotFound("session")
    return row


def list_tokens(db: Session, actor: Actor) -> list[ApiToken]:
    stmt = scope(actor, SELF, select(ApiToken)).order_by(ApiToken.created_at.desc())
    return list(db.scalars(stmt))


def get_token(db: Session, actor: Actor, token_id: uuid.UUID) -> ApiToken:
    row = db.scalar(scope(actor, SELF, select(ApiToken).where(ApiToken.id == token_id)))
    if row is None:
        raise NotFound("API token")
    return row


def list_roles(db: Session) -> list[Role]:
    """Roles are reference data: readable by every signed-in user (route requires authz:role:read)."""
    return list(db.scalars(select(Role).order_by(Role.platform.desc(), Role.name)))


def user_exists(db: Session, user_id: uuid.UUID) -> bool:
    """Existence only, for validating references (e.g. the named recipients of a RED record)."""
    return db.scalar(select(User.id).where(User.id == user_id, User.is_active.is_(True))) is not None


def user_id_by_username(db: Session, username: str) -> uuid.UUID | None:
    """Resolve a username typed into a form (e.g. the people a RED record names)."""
    return db.scalar(select(User.id).where(User.username == username.strip().lower(), User.is_active.is_(True)))


def usernames_of(db: Session, user_ids: list[uuid.UUID]) -> list[str]:
    """Usernames for ids (to show a RED record's named people back in its edit form)."""
    if not user_ids:
        return []
    return list(db.scalars(select(User.username).where(User.id.in_(user_ids)).order_by(User.username)))


def credential_stands(
    db: Session, *, user_id: uuid.UUID, session_id: uuid.UUID | None, token_id: uuid.UUID | None, idle_minutes: int
) -> bool:
    """Whether the session or API token a long-lived request (a live stream) was opened
    with still stands: not revoked, not expired, not idle past the limit, its user active
    and not locked. Reads only: a stream keeps nobody's session alive by itself."""
    user = db.get(User, user_id)
    if user is None or not user.is_active or user.locked_at is not None:
        return False
    now = utcnow()
    if session_id is not None:
        session = db.get(UserSession, session_id)
        return (
            session is not None
            and session.user_id == user_id
            and session.revoked_at is None
            and session.state == "active"
            and now < session.expires_at
            and now - session.last_seen_at <= timedelta(minutes=idle_minutes)
        )
    if token_id is not None:
        token = db.get(ApiToken, token_id)
        return token is not None and token.user_id == user_id and token.revoked_at is None and now < token.expires_at
    return False


def count_active_holders(db: Session, agency_ids: Collection[uuid.UUID], permission: str) -> int:
    """How many active users hold ``permission`` through a membership of one of
    ``agency_ids`` (platform-wide memberships do not count). A number only, for audiences
    such as "read by N of M"; who they are stays behind ``accounts:user:read``."""
    if not agency_ids:
        return 0
    holders = (
        select(func.count(func.distinct(Membership.user_id)))
        .join(RolePermission, RolePermission.role_id == Membership.role_id)
        .join(User, User.id == Membership.user_id)
        .where(
            Membership.agency_id.in_(list(agency_ids)),
            RolePermission.permission == permission,
            User.is_active.is_(True),
        )
    )
    return int(db.scalar(holders) or 0)


def token_agency(db: Session, token_id: uuid.UUID) -> uuid.UUID | None:
    """The agency an API token is limited to (None: all of its user's agencies)."""
    return db.scalar(select(ApiToken.agency_id).where(ApiToken.id == token_id))
