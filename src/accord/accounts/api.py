"""JSON API: tokens, the caller, sessions, users, roles."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from accord.accounts import queries, service
from accord.accounts.auth import client_addr
from accord.accounts.models import User
from accord.accounts.schemas import (
    ApiTokenCreate,
    ApiTokenIssued,
    ApiTokenRead,
    MembershipCreate,
    MeRead,
    PasswordChange,
    RoleRead,
    SessionRead,
    SessionsEnded,
    TokenRequest,
    TokenResponse,
    UserCreate,
    UserFilter,
    UserRead,
)
from accord.authz import Actor
from accord.authz.deps import Permission, Public, SignedIn
from accord.core.deps import DB
from accord.core.errors import AccordError, AuthenticationFailed, RateLimited
from accord.core.schemas import Page
from accord.web.templating import settings_of

router = APIRouter(prefix="/api/v1", tags=["accounts"])
Self = Annotated[Actor, Depends(SignedIn())]


def user_read(user: User) -> UserRead:
    return UserRead.model_validate(
        {
            **{
                k: getattr(user, k)
                for k in (
                    "id",
                    "username",
                    "display_name",
                    "email",
                    "is_active",
                    "mfa_enabled",
                    "locked_at",
                    "last_login_at",
                )
            },
            "memberships": [{"agency_id": m.agency_id, "role": m.role.name} for m in user.memberships],
        }
    )


@router.post("/auth/token", response_model=TokenResponse)
def create_token(
    body: TokenRequest, request: Request, db: DB, _: Annotated[Actor, Depends(Public("sign-in"))]
) -> TokenResponse:
    """Exchange username, password and (when enrolled or required) a TOTP code for a bearer token."""
    settings = settings_of(request)
    addr = client_addr(request)
    if not request.app.state.login_limiter.allow(addr or "-"):
        raise RateLimited()
    result = service.check_password(db, settings, username=body.username, password=body.password, client_addr=addr)
    if result.error is None and result.user is not None and result.next_step == "enrol":
        db.commit()
        raise AuthenticationFailed(
            "this account must enrol an authenticator first: sign in to the web UI", "mfa_enrolment_required"
        )
    if result.error is None and result.user is not None and result.next_step == "mfa":
        if not body.otp:
            db.commit()
            raise AuthenticationFailed("this account uses MFA: send the 'otp' field", "otp_required")
        result.error = service.check_second_factor(db, settings, user=result.user, code=body.otp, client_addr=addr)
    if result.error is not None or result.user is None:
        db.commit()
        raise result.error or AuthenticationFailed()
    token, row = service.issue_login_token(db, settings, user=result.user, agency_id=body.agency_id, client_addr=addr)
    db.commit()
    return TokenResponse(access_token=token, expires_at=row.expires_at, agency_id=row.agency_id)


@router.get("/auth/me", response_model=MeRead)
def me(actor: Self, db: DB) -> MeRead:
    user = queries.own_user(db, actor)
    perms = {str(m.agency_id) if m.agency_id else "platform": sorted(m.permissions) for m in actor.memberships}
    return MeRead(**user_read(user).model_dump(), permissions=perms)


@router.post("/auth/password", response_model=SessionsEnded)
def change_password(body: PasswordChange, actor: Self, db: DB) -> SessionsEnded:
    """Change your own password; every other session of yours ends."""
    user = queries.own_user(db, actor)
    try:
        ended = service.change_password(
            db,
            actor=actor,
            user=user,
            current=body.current_password,
            new=body.new_password,
            keep_session_id=actor.session_id,
        )
    except AccordError:
        db.commit()  # keep the audit event of a failed attempt
        raise
    db.commit()
    return SessionsEnded(sessions_ended=ended)


@router.get("/tokens", response_model=list[ApiTokenRead])
def list_tokens(actor: Self, db: DB) -> list[ApiTokenRead]:
    return [ApiTokenRead.model_validate(t) for t in queries.list_tokens(db, actor)]


@router.post("/tokens", response_model=ApiTokenIssued, status_code=201)
def create_api_token(body: ApiTokenCreate, actor: Self, db: DB) -> ApiTokenIssued:
    """Issue a machine-client token for one of your agencies. The token is shown only in this answer."""
    issued = service.issue_api_token(db, actor=actor, data=body)
    db.commit()
    return issued


@router.delete("/tokens/{token_id}", status_code=204)
def revoke_token(token_id: uuid.UUID, actor: Self, db: DB) -> Response:
    service.revoke_api_token(db, actor=actor, token_id=token_id)
    db.commit()
    return Response(status_code=204)


@router.get("/sessions", response_model=list[SessionRead])
def list_sessions(actor: Self, db: DB) -> list[SessionRead]:
    return [
        SessionRead.model_validate(s).model_copy(update={"current": s.id == actor.session_id})
        for s in queries.list_sessions(db, actor)
    ]


@router.delete("/sessions/{session_id}", status_code=204)
def revoke_session(session_id: uuid.UUID, actor: Self, db: DB) -> Response:
    service.end_session(db, actor=actor, session_id=session_id, reason="revoked by user")
    db.commit()
    return Response(status_code=204)


@router.get("/users", response_model=Page[UserRead])
def list_users(
    filters: Annotated[UserFilter, Query()], actor: Annotated[Actor, Depends(Permission("accounts:user:read"))], db: DB
) -> Page[UserRead]:
    rows, total = queries.list_users(db, actor, filters)
    return Page(items=[user_read(u) for u in rows], total=total, limit=filters.limit, offset=filters.offset)


@router.post("/users", response_model=UserRead, status_code=201)
def create_user(
    body: UserCreate, actor: Annotated[Actor, Depends(Permission("accounts:user:create"))], db: DB
) -> UserRead:
    user = service.create_user(db, actor=actor, data=body)
    db.commit()
    return user_read(user)


@router.get("/users/{user_id}", response_model=UserRead)
def get_user(
    user_id: uuid.UUID, actor: Annotated[Actor, Depends(Permission("accounts:user:read"))], db: DB
) -> UserRead:
    return user_read(queries.get_user(db, actor, user_id))


@router.post("/users/{user_id}/unlock", response_model=UserRead)
def unlock_user(
    user_id: uuid.UUID, actor: Annotated[Actor, Depends(Permission("accounts:user:update"))], db: DB
) -> UserRead:
    """Release a lockout after repeated failed sign-ins."""
    user = service.unlock_user(db, actor=actor, user_id=user_id)
    db.commit()
    return user_read(user)


@router.post("/users/{user_id}/reset-mfa", response_model=UserRead)
def reset_mfa(
    user_id: uuid.UUID, actor: Annotated[Actor, Depends(Permission("accounts:user:update"))], db: DB
) -> UserRead:
    """Remove the user's authenticator (lost phone); they enrol again at next sign-in."""
    user = service.reset_mfa(db, actor=actor, user_id=user_id)
    db.commit()
    return user_read(user)


@router.post("/users/{user_id}/end-sessions", response_model=SessionsEnded)
def end_sessions(
    user_id: uuid.UUID, actor: Annotated[Actor, Depends(Permission("accounts:user:update"))], db: DB
) -> SessionsEnded:
    """Sign the user out of every web session."""
    ended = service.end_user_sessions(db, actor=actor, user_id=user_id)
    db.commit()
    return SessionsEnded(sessions_ended=ended)


@router.post("/users/{user_id}/memberships", response_model=UserRead, status_code=201)
def add_membership(
    user_id: uuid.UUID,
    body: MembershipCreate,
    actor: Annotated[Actor, Depends(Permission("accounts:user:create"))],
    db: DB,
) -> UserRead:
    user = service.add_membership(db, actor=actor, user_id=user_id, data=body)
    db.commit()
    return user_read(user)


@router.get("/roles", response_model=list[RoleRead])
def list_roles(_: Annotated[Actor, Depends(Permission("authz:role:read"))], db: DB) -> list[RoleRead]:
    return [
        RoleRead(
            name=r.name,
            label=r.label,
            description=r.description,
            platform=r.platform,
            permissions=sorted(p.permission for p in r.permissions),
        )
        for r in queries.list_roles(db)
    ]
