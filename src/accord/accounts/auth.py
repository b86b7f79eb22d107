"""Resolving the caller of a request from a bearer token or a session cookie.

Installed by the app on ``app.state.resolve_actor``. Runs in its own short transaction so
session bookkeeping (last seen, idle expiry) is kept even when the request fails.
"""

from __future__ import annotations

from fastapi import Request
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from accord.accounts import service
from accord.accounts.models import User, UserSession
from accord.authz.actor import ANONYMOUS, Actor
from accord.authz.service import actor_for
from accord.config import Settings
from accord.core.db import is_write_conflict, writer_session
from accord.core.errors import AuthenticationFailed

SESSION_COOKIE = "accord_session"


def client_addr(request: Request) -> str | None:
    return request.client.host if request.client else None


def make_resolver(settings: Settings, factory: sessionmaker[Session]):  # type: ignore[no-untyped-def]
    def resolve(request: Request) -> Actor:
        header = request.headers.get("authorization", "")
        cookie = request.cookies.get(SESSION_COOKIE)
        if not header and not cookie:
            return ANONYMOUS

        def attempt(db: Session) -> Actor:
            with db:
                if header:
                    actor = _from_bearer(db, header, client_addr(request))
                else:
                    actor = _from_cookie(db, settings, request, cookie or "")
                db.commit()
            return actor

        # Usually a read, and now and then a last-seen mark or the end of an idle session.
        # On SQLite a transaction that read and then writes fails at once when another
        # committed in between: then again, as a writer that takes the lock at BEGIN.
        try:
            return attempt(factory())
        except OperationalError as exc:
            if not is_write_conflict(exc):
                raise
        return attempt(writer_session(factory))

    return resolve


def _from_bearer(db: Session, header: str, addr: str | None) -> Actor:
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationFailed("Authorization header must be 'Bearer <token>'")
    row = service.resolve_api_token(db, token=token.strip())
    user = db.get(User, row.user_id) if row else None
    if row is None or user is None or not user.is_active or user.locked_at is not None:
        raise AuthenticationFailed("invalid, expired or revoked token")
    return actor_for(
        db,
        user_id=user.id,
        username=user.username,
        display_name=user.display_name,
        auth_method="token",
        token_id=row.id,
        client_addr=addr,
        only_agency=row.agency_id,
    )


def _from_cookie(db: Session, settings: Settings, request: Request, cookie: str) -> Actor:
    session, ended = service.resolve_session(db, settings, token=cookie)
    if session is None:
        request.state.session_expired = ended
        return ANONYMOUS
    user = db.get(User, session.user_id)
    if user is None or not user.is_active or user.locked_at is not None:
        return ANONYMOUS
    if session.state != "active":
        request.state.pending_session = session
        request.state.pending_user = user
        return ANONYMOUS
    request.state.session = session
    request.state.csrf_token = session.csrf_token
    return actor_for(
        db,
        user_id=user.id,
        username=user.username,
        display_name=user.display_name,
        auth_method="session",
        session_id=session.id,
        client_addr=client_addr(request),
    )


def current_session(request: Request) -> UserSession | None:
    value = getattr(request.state, "session", None)
    return value if isinstance(value, UserSession) else None
