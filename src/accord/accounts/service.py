"""Account commands: sign-in, MFA, lockout, sessions, API tokens, user administration.

Sign-in functions return their failure instead of raising it, so the route can commit
the failure's audit event and lockout counter before answering 401.
"""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from accord.accounts import mfa, passwords, queries
from accord.accounts.models import ApiToken, LoginAttempt, RecoveryCode, User, UserSession
from accord.accounts.schemas import (
    USERNAME_PATTERN,
    ApiTokenCreate,
    ApiTokenIssued,
    ApiTokenRead,
    MembershipCreate,
    MfaEnrolment,
    UserCreate,
)
from accord.audit.service import record_event
from accord.authz import Actor, require
from accord.authz.models import Membership
from accord.authz.service import role_by_name
from accord.config import Settings
from accord.core import crypto
from accord.core.errors import (
    AccordError,
    AccountLocked,
    AuthenticationFailed,
    Conflict,
    InvalidInput,
    NotFound,
)
from accord.core.logging import get_logger
from accord.core.time import utcnow
from accord.directory import queries as directory

log = get_logger(__name__)

PENDING_SESSION_MINUTES = 10
BAD_CREDENTIALS = "invalid username or password"


@dataclass
class LoginResult:
    user: User | None = None
    error: AccordError | None = None
    next_step: str | None = None  # "mfa" | "enrol" | None (fully signed in)


def _find_user(db: Session, username: str) -> User | None:
    return db.scalar(select(User).where(User.username == username.strip().lower()))


def _failures_in_window(db: Session, settings: Settings, user: User) -> int:
    since = utcnow() - timedelta(minutes=settings.lockout_window_minutes)
    if user.failures_reset_at is not None and user.failures_reset_at > since:
        since = user.failures_reset_at
    stmt = select(func.count()).where(
        LoginAttempt.user_id == user.id, LoginAttempt.success.is_(False), LoginAttempt.at >= since
    )
    return db.scalar(stmt) or 0


def _record_failure(
    db: Session, settings: Settings, *, user: User | None, username: str, reason: str, client_addr: str | None
) -> AccordError:
    db.add(
        LoginAttempt(username=username[:150], user_id=user.id if user else None, success=False, client_addr=client_addr)
    )
    db.flush()
    record_event(
        db,
        actor=None,
        username=username[:150],
        action="auth.login",
        outcome="failure",
        agency_id=_primary_agency(user),
        object_type="user",
        object_id=user.id if user else None,
        details={"reason": reason},
        client_addr=client_addr,
    )
    if (
        user is not None
        and user.locked_at is None
        and _failures_in_window(db, settings, user) >= settings.lockout_threshold
    ):
        user.locked_at = utcnow()
        record_event(
            db,
            actor=None,
            username=user.username,
            action="auth.lockout",
            outcome="success",
            agency_id=_primary_agency(user),
            object_type="user",
            object_id=user.id,
            details={"failures": settings.lockout_threshold, "window_minutes": settings.lockout_window_minutes},
            client_addr=client_addr,
        )
        return AccountLocked()
    return AuthenticationFailed(BAD_CREDENTIALS if reason != "second factor" else "invalid authentication code")


def _primary_agency(user: User | None) -> uuid.UUID | None:
    if user is None:
        return None
    return next((m.agency_id for m in user.memberships if m.agency_id is not None), None)


def record_login_success(db: Session, *, user: User, client_addr: str | None, method: str) -> None:
    now = utcnow()
    user.last_login_at = now
    user.failures_reset_at = now
    db.add(LoginAttempt(username=user.username, user_id=user.id, success=True, client_addr=client_addr))
    record_event(
        db,
        actor=None,
        username=user.username,
        action="auth.login",
        outcome="success",
        agency_id=_primary_agency(user),
        object_type="user",
        object_id=user.id,
        details={"method": method},
        client_addr=client_addr,
    )
    db.flush()


def check_password(
    db: Session, settings: Settings, *, username: str, password: str, client_addr: str | None
) -> LoginResult:
    """First factor. On success says which step comes next (MFA, enrolment, or none)."""
    user = _find_user(db, username)
    if user is None or not user.is_active:
        passwords.verify_password(password, None)
        reason = "unknown user" if user is None else "inactive account"
        return LoginResult(
            error=_record_failure(db, settings, user=None, username=username, reason=reason, client_addr=client_addr)
        )
    if user.locked_at is not None:
        record_event(
            db,
            actor=None,
            username=user.username,
            action="auth.login",
            outcome="failure",
            agency_id=_primary_agency(user),
            object_type="user",
            object_id=user.id,
            details={"reason": "account locked"},
            client_addr=client_addr,
        )
        return LoginResult(error=AccountLocked())
    if not passwords.verify_password(password, user.password_hash):
        error = _record_failure(
            db, settings, user=user, username=username, reason="wrong password", client_addr=client_addr
        )
        return LoginResult(error=error)
    if user.mfa_enabled:
        return LoginResult(user=user, next_step="mfa")
    if settings.mfa_enforced:
        return LoginResult(user=user, next_step="enrol")
    record_login_success(db, user=user, client_addr=client_addr, method="password")
    return LoginResult(user=user)


def check_second_factor(
    db: Session, settings: Settings, *, user: User, code: str, client_addr: str | None
) -> AccordError | None:
    """TOTP code (once only) or an unused recovery code. Failures count toward lockout."""
    if user.locked_at is not None:
        return AccountLocked()
    if user.mfa_secret_sealed:
        try:
            secret = crypto.unseal(settings.secret_key, user.mfa_secret_sealed)
        except crypto.SealBroken:
            log.error("TOTP seed of user %s cannot be opened: was ACCORD_SECRET_KEY changed?", user.username)
            secret = ""
        counter = mfa.matching_counter(secret, code, time.time(), user.mfa_last_counter) if secret else None
        if counter is not None:
            user.mfa_last_counter = counter
            record_login_success(db, user=user, client_addr=client_addr, method="password+totp")
            return None
        recovery = _consume_recovery_code(db, user=user, code=code)
        if recovery:
            record_login_success(db, user=user, client_addr=client_addr, method="password+recovery-code")
            return None
    return _record_failure(
        db, settings, user=user, username=user.username, reason="second factor", client_addr=client_addr
    )


def _consume_recovery_code(db: Session, *, user: User, code: str) -> bool:
    digest = crypto.token_hash(mfa.normalise_recovery_code(code))
    row = db.scalar(
        select(RecoveryCode).where(
            RecoveryCode.user_id == user.id, RecoveryCode.code_hash == digest, RecoveryCode.used_at.is_(None)
        )
    )
    if row is None:
        return False
    row.used_at = utcnow()
    return True


# --- sessions -------------------------------------------------------------------------


def start_session(
    db: Session, settings: Settings, *, user: User, state: str, client_addr: str | None, user_agent: str
) -> tuple[str, UserSession]:
    token = crypto.random_token()
    now = utcnow()
    lifetime = timedelta(hours=settings.session_absolute_hours)
    if state != "active":
        lifetime = timedelta(minutes=PENDING_SESSION_MINUTES)
    session = UserSession(
        token_hash=crypto.token_hash(token),
        user_id=user.id,
        state=state,
        csrf_token=crypto.random_token(24),
        created_at=now,
        last_seen_at=now,
        expires_at=now + lifetime,
        client_addr=client_addr,
        user_agent=user_agent[:300],
    )
    db.add(session)
    db.flush()
    return token, session


def promote_session(db: Session, settings: Settings, *, session: UserSession, user: User) -> tuple[str, UserSession]:
    """Replace a pending session with a fully signed-in one (a new token: no fixation)."""
    session.revoked_at = utcnow()
    session.revoked_reason = "promoted"
    return start_session(
        db, settings, user=user, state="active", client_addr=session.client_addr, user_agent=session.user_agent
    )


def resolve_session(db: Session, settings: Settings, *, token: str) -> tuple[UserSession | None, str | None]:
    """The live session for a cookie value, or None and why (idle or expired sessions are ended here)."""
    session = db.scalar(select(UserSession).where(UserSession.token_hash == crypto.token_hash(token)))
    if session is None:
        return None, None
    if session.revoked_at is not None:
        return None, session.revoked_reason
    now = utcnow()
    idle_limit = timedelta(minutes=settings.session_idle_minutes)
    if now >= session.expires_at or now - session.last_seen_at > idle_limit:
        session.revoked_at = now
        session.revoked_reason = "idle timeout" if now < session.expires_at else "expired"
        user = db.get(User, session.user_id)
        record_event(
            db,
            actor=None,
            username=user.username if user else str(session.user_id),
            agency_id=_primary_agency(user),
            action="auth.session.expire",
            object_type="session",
            object_id=session.id,
            details={"reason": session.revoked_reason},
        )
        return None, session.revoked_reason
    if (now - session.last_seen_at).total_seconds() > 15:
        session.last_seen_at = now
    return session, None


def end_session(db: Session, *, actor: Actor, session_id: uuid.UUID, reason: str = "signed out") -> None:
    session = queries.get_session(db, actor, session_id)
    if session.revoked_at is None:
        session.revoked_at = utcnow()
        session.revoked_reason = reason
    record_event(
        db,
        actor=actor,
        action="auth.session.revoke",
        object_type="session",
        object_id=session.id,
        details={"reason": reason},
    )


def revoke_all_sessions(db: Session, *, user_id: uuid.UUID, reason: str) -> int:
    result = db.execute(
        update(UserSession)
        .where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
        .values(revoked_at=utcnow(), revoked_reason=reason)
    )
    return int(getattr(result, "rowcount", 0) or 0)


# --- MFA enrolment ----------------------------------------------------------------------


def begin_enrolment(db: Session, settings: Settings, *, user: User) -> MfaEnrolment:
    """Keep a pending secret (sealed) until the user proves their authenticator works."""
    secret = None
    if user.mfa_pending_sealed:
        try:
            secret = crypto.unseal(settings.secret_key, user.mfa_pending_sealed)
        except crypto.SealBroken:
            secret = None
    if secret is None:
        secret = mfa.new_secret()
        user.mfa_pending_sealed = crypto.seal(settings.secret_key, secret)
        db.flush()
    uri = mfa.provisioning_uri(secret, user.username)
    return MfaEnrolment(secret=secret, provisioning_uri=uri, qr_svg=mfa.qr_svg(uri))


def confirm_enrolment(db: Session, settings: Settings, *, user: User, code: str, actor: Actor | None) -> list[str]:
    if not user.mfa_pending_sealed:
        raise InvalidInput("code", "start enrolment first")
    try:
        secret = crypto.unseal(settings.secret_key, user.mfa_pending_sealed)
    except crypto.SealBroken:
        raise InvalidInput("code", "the enrolment expired; reload the page to get a new key") from None
    counter = mfa.matching_counter(secret, code, time.time(), None)
    if counter is None:
        record_event(
            db,
            actor=actor,
            username=user.username,
            action="auth.mfa.enrol",
            outcome="failure",
            agency_id=_primary_agency(user),
            object_type="user",
            object_id=user.id,
            details={"reason": "wrong code"},
        )
        raise InvalidInput("code", "that code does not match; check the time on your device and try the next code")
    user.mfa_secret_sealed = user.mfa_pending_sealed
    user.mfa_pending_sealed = None
    user.mfa_enabled_at = utcnow()
    user.mfa_last_counter = counter
    codes = _replace_recovery_codes(db, user=user)
    record_event(
        db,
        actor=actor,
        username=user.username,
        action="auth.mfa.enrol",
        agency_id=_primary_agency(user),
        object_type="user",
        object_id=user.id,
    )
    return codes


def _replace_recovery_codes(db: Session, *, user: User) -> list[str]:
    db.query(RecoveryCode).filter(RecoveryCode.user_id == user.id).delete()
    codes = mfa.new_recovery_codes()
    db.add_all(
        RecoveryCode(user_id=user.id, code_hash=crypto.token_hash(mfa.normalise_recovery_code(c))) for c in codes
    )
    db.flush()
    return codes


def regenerate_recovery_codes(db: Session, *, actor: Actor, user: User) -> list[str]:
    if not user.mfa_enabled:
        raise InvalidInput("mfa", "enrol an authenticator first")
    codes = _replace_recovery_codes(db, user=user)
    record_event(db, actor=actor, action="auth.mfa.recovery_codes", object_type="user", object_id=user.id)
    return codes


def remaining_recovery_codes(db: Session, *, user_id: uuid.UUID) -> int:
    stmt = select(func.count()).where(RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None))
    return db.scalar(stmt) or 0


# --- API tokens ---------------------------------------------------------------------------


def _mint(
    db: Session, *, user_id: uuid.UUID, agency_id: uuid.UUID | None, name: str, kind: str, lifetime: timedelta
) -> tuple[str, ApiToken]:
    prefix = "acc_" + crypto.random_token(6)[:8]
    secret = crypto.random_token(32)
    plaintext = f"{prefix}.{secret}"
    now = utcnow()
    row = ApiToken(
        user_id=user_id,
        agency_id=agency_id,
        name=name,
        kind=kind,
        prefix=prefix,
        token_hash=crypto.token_hash(plaintext),
        created_at=now,
        expires_at=now + lifetime,
    )
    db.add(row)
    db.flush()
    return plaintext, row


def _existing_agency(db: Session, agency_id: uuid.UUID, field: str = "agency_id") -> uuid.UUID:
    if not directory.agency_exists(db, agency_id):
        raise InvalidInput(field, "no such agency")
    return agency_id


def _token_agency(db: Session, user: User, requested: uuid.UUID | None) -> uuid.UUID | None:
    member_of = [m.agency_id for m in user.memberships]
    if requested is None:
        return next((a for a in member_of if a is not None), None)
    if requested in member_of or None in member_of:
        return _existing_agency(db, requested)
    raise InvalidInput("agency_id", "you hold no role in that agency")


def issue_login_token(
    db: Session, settings: Settings, *, user: User, agency_id: uuid.UUID | None, client_addr: str | None
) -> tuple[str, ApiToken]:
    agency = _token_agency(db, user, agency_id)
    plaintext, row = _mint(
        db,
        user_id=user.id,
        agency_id=agency,
        name="sign-in token",
        kind="login",
        lifetime=timedelta(hours=settings.api_token_hours),
    )
    record_event(
        db,
        actor=None,
        username=user.username,
        action="auth.token.issue",
        agency_id=agency,
        object_type="api_token",
        object_id=row.id,
        details={"kind": "login", "prefix": row.prefix},
        client_addr=client_addr,
    )
    return plaintext, row


def issue_api_token(db: Session, *, actor: Actor, data: ApiTokenCreate) -> ApiTokenIssued:
    """A machine-client token for one of the actor's agencies, shown once."""
    if data.agency_id not in actor.agency_ids and not actor.is_platform_admin:
        raise InvalidInput("agency_id", "you hold no role in that agency")
    _existing_agency(db, data.agency_id)
    require(actor, "accounts:self:manage", data.agency_id)
    assert actor.user_id is not None
    plaintext, row = _mint(
        db,
        user_id=actor.user_id,
        agency_id=data.agency_id,
        name=data.name,
        kind="client",
        lifetime=timedelta(days=data.expires_in_days),
    )
    record_event(
        db,
        actor=actor,
        action="auth.token.issue",
        agency_id=data.agency_id,
        object_type="api_token",
        object_id=row.id,
        details={"kind": "client", "prefix": row.prefix, "name": row.name},
    )
    return ApiTokenIssued(token=plaintext, **ApiTokenRead.model_validate(row).model_dump())


def revoke_api_token(db: Session, *, actor: Actor, token_id: uuid.UUID) -> ApiToken:
    row = queries.get_token(db, actor, token_id)
    if row.revoked_at is None:
        row.revoked_at = utcnow()
    record_event(
        db,
        actor=actor,
        action="auth.token.revoke",
        agency_id=row.agency_id,
        object_type="api_token",
        object_id=row.id,
        details={"prefix": row.prefix},
    )
    return row


def resolve_api_token(db: Session, *, token: str) -> ApiToken | None:
    prefix = token.split(".", 1)[0]
    if not prefix.startswith("acc_") or len(prefix) > 16:
        return None
    row = db.scalar(select(ApiToken).where(ApiToken.prefix == prefix))
    if row is None or not crypto.same(row.token_hash, crypto.token_hash(token)):
        return None
    now = utcnow()
    if row.revoked_at is not None or now >= row.expires_at:
        return None
    if row.last_used_at is None or (now - row.last_used_at).total_seconds() > 60:
        row.last_used_at = now
    return row


# --- user administration ------------------------------------------------------------------


def _check_role_grant(db: Session, *, actor: Actor, agency_id: uuid.UUID | None, role_name: str) -> uuid.UUID:
    role = role_by_name(db, role_name)
    if role is None:
        raise InvalidInput("role", f"unknown role {role_name!r}")
    if agency_id is not None:
        _existing_agency(db, agency_id)
    if role.platform and agency_id is not None:
        raise InvalidInput("agency_id", "a platform role is held platform-wide; leave the agency empty")
    if not role.platform and agency_id is None:
        raise InvalidInput("agency_id", "an agency role needs an agency")
    require(actor, "accounts:user:create" if agency_id else "accounts:user:update", agency_id)
    if agency_id is None and not actor.is_platform_admin:
        raise InvalidInput("role", "only a platform administrator can grant a platform role")
    return role.id


def create_user(db: Session, *, actor: Actor, data: UserCreate) -> User:
    require(actor, "accounts:user:create", data.agency_id)
    if _find_user(db, data.username) is not None:
        raise Conflict("username", f"{data.username!r} is taken")
    passwords.check_policy(data.password, username=data.username)
    role_id = _check_role_grant(db, actor=actor, agency_id=data.agency_id, role_name=data.role)
    user = User(
        username=data.username.lower(),
        display_name=data.display_name,
        email=data.email,
        password_hash=passwords.hash_password(data.password),
    )
    db.add(user)
    db.flush()
    db.add(Membership(user_id=user.id, agency_id=data.agency_id, role_id=role_id))
    db.flush()
    db.refresh(user, ["memberships"])
    record_event(
        db,
        actor=actor,
        action="accounts.user.create",
        agency_id=data.agency_id,
        object_type="user",
        object_id=user.id,
        details={"username": user.username, "role": data.role},
    )
    return user


def add_membership(db: Session, *, actor: Actor, user_id: uuid.UUID, data: MembershipCreate) -> User:
    user = queries.get_user(db, actor, user_id, action="accounts:user:read")
    role_id = _check_role_grant(db, actor=actor, agency_id=data.agency_id, role_name=data.role)
    duplicate = db.scalar(
        select(Membership.id).where(
            Membership.user_id == user.id,
            Membership.agency_id.is_(None) if data.agency_id is None else Membership.agency_id == data.agency_id,
            Membership.role_id == role_id,
        )
    )
    if duplicate is not None:
        raise Conflict("role", "the user already holds that role there")
    db.add(Membership(user_id=user.id, agency_id=data.agency_id, role_id=role_id))
    db.flush()
    db.refresh(user, ["memberships"])
    record_event(
        db,
        actor=actor,
        action="accounts.membership.add",
        agency_id=data.agency_id,
        object_type="user",
        object_id=user.id,
        details={"role": data.role},
    )
    return user


def _admin_target(db: Session, actor: Actor, user_id: uuid.UUID) -> User:
    """A user the actor may administer: visible to them and in an agency where they hold
    ``accounts:user:update`` (platform admins: anyone)."""
    user = queries.get_user(db, actor, user_id, action="accounts:user:update")
    if user.id == actor.user_id and not actor.is_platform_admin:
        raise InvalidInput("user", "ask another administrator to change your own account")
    agencies = {m.agency_id for m in user.memberships}
    if not actor.is_platform_admin and not any(
        a is not None and actor.has("accounts:user:update", a) for a in agencies
    ):
        raise NotFound("user")
    return user


def unlock_user(db: Session, *, actor: Actor, user_id: uuid.UUID) -> User:
    user = _admin_target(db, actor, user_id)
    was_locked = user.locked_at is not None
    user.locked_at = None
    user.failures_reset_at = utcnow()
    record_event(
        db,
        actor=actor,
        action="accounts.user.unlock",
        agency_id=_primary_agency(user),
        object_type="user",
        object_id=user.id,
        details={"was_locked": was_locked},
    )
    return user


def reset_mfa(db: Session, *, actor: Actor, user_id: uuid.UUID) -> User:
    """Clear the authenticator and recovery codes and sign the user out everywhere."""
    user = _admin_target(db, actor, user_id) if actor.auth_method != "system" else _user_or_404(db, user_id)
    user.mfa_secret_sealed = None
    user.mfa_pending_sealed = None
    user.mfa_enabled_at = None
    user.mfa_last_counter = None
    db.query(RecoveryCode).filter(RecoveryCode.user_id == user.id).delete()
    revoked = revoke_all_sessions(db, user_id=user.id, reason="mfa reset")
    record_event(
        db,
        actor=actor,
        action="auth.mfa.reset",
        agency_id=_primary_agency(user),
        object_type="user",
        object_id=user.id,
        details={"sessions_revoked": revoked},
    )
    return user


def _user_or_404(db: Session, user_id: uuid.UUID) -> User:
    user = db.get(User, user_id)
    if user is None:
        raise NotFound("user")
    return user


def create_user_unchecked(
    db: Session,
    *,
    actor: Actor,
    username: str,
    display_name: str,
    email: str,
    password: str,
    agency_id: uuid.UUID | None,
    role: str,
    check_password_policy: bool = True,
) -> User:
    """For the operator's CLI and seeding (run with shell access to the server): no
    permission check, but the same rules for names and passwords as the API."""
    username = username.strip().lower()
    if not re.fullmatch(USERNAME_PATTERN, username):
        raise InvalidInput(
            "username", "use 3-150 lower-case letters, digits and . _ @ -, starting with a letter or digit"
        )
    if _find_user(db, username) is not None:
        raise Conflict("username", f"{username!r} is taken")
    if check_password_policy:
        passwords.check_policy(password, username=username)
    role_row = role_by_name(db, role)
    if role_row is None:
        raise InvalidInput("role", f"unknown role {role!r}")
    if role_row.platform != (agency_id is None):
        raise InvalidInput("agency", "platform roles take no agency; agency roles need one")
    user = User(
        username=username.lower(),
        display_name=display_name,
        email=email,
        password_hash=passwords.hash_password(password),
    )
    db.add(user)
    db.flush()
    db.add(Membership(user_id=user.id, agency_id=agency_id, role_id=role_row.id))
    db.flush()
    db.refresh(user, ["memberships"])
    record_event(
        db,
        actor=actor,
        action="accounts.user.create",
        agency_id=agency_id,
        object_type="user",
        object_id=user.id,
        details={"username": user.username, "role": role, "via": "cli"},
    )
    return user


def change_password(
    db: Session, *, actor: Actor, user: User, current: str, new: str, keep_session_id: uuid.UUID | None
) -> int:
    """Own password change: proves the current one, applies the policy, ends other sessions."""
    if not passwords.verify_password(current, user.password_hash):
        record_event(
            db,
            actor=actor,
            action="auth.password.change",
            outcome="failure",
            object_type="user",
            object_id=user.id,
            details={"reason": "wrong current password"},
        )
        raise InvalidInput("current_password", "is not your current password")
    passwords.check_policy(new, username=user.username, field="new_password")
    if passwords.verify_password(new, user.password_hash):
        raise InvalidInput("new_password", "must differ from the current password")
    user.password_hash = passwords.hash_password(new)
    user.password_changed_at = utcnow()
    ended = db.execute(
        update(UserSession)
        .where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None), UserSession.id != keep_session_id)
        .values(revoked_at=utcnow(), revoked_reason="password changed")
    )
    count = int(getattr(ended, "rowcount", 0) or 0)
    record_event(
        db,
        actor=actor,
        action="auth.password.change",
        object_type="user",
        object_id=user.id,
        details={"other_sessions_ended": count},
    )
    return count


def end_user_sessions(db: Session, *, actor: Actor, user_id: uuid.UUID) -> int:
    """An administrator signs a user out everywhere (suspected compromise, departure)."""
    user = _admin_target(db, actor, user_id)
    count = revoke_all_sessions(db, user_id=user.id, reason="ended by administrator")
    record_event(
        db,
        actor=actor,
        action="accounts.user.sessions_end",
        agency_id=_primary_agency(user),
        object_type="user",
        object_id=user.id,
        details={"sessions_ended": count},
    )
    return count


def find_user(db: Session, username: str) -> User | None:
    return _find_user(db, username)
