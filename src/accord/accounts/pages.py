"""HTML pages: sign-in with MFA, enrolment, own account, user administration."""

from __future__ import annotations

import uuid
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import ValidationError

from accord.accounts import queries, service
from accord.accounts.auth import SESSION_COOKIE, client_addr, current_session
from accord.accounts.models import User, UserSession
from accord.accounts.schemas import ApiTokenCreate, PasswordChange, UserCreate, UserFilter
from accord.authz import Actor
from accord.authz.deps import Permission, Public, SignedIn
from accord.core.deps import DB
from accord.core.errors import AccordError, RateLimited
from accord.core.time import utcnow
from accord.directory import queries as directory
from accord.web.forms import errors_of, form_dict, safe_next
from accord.web.templating import flash, redirect, render, settings_of, verify_csrf

router = APIRouter(include_in_schema=False)
Anyone = Annotated[Actor, Depends(Public("sign-in pages"))]
Self = Annotated[Actor, Depends(SignedIn())]
Csrf = Depends(verify_csrf)


def _set_session_cookie(request: Request, response: Response, token: str) -> Response:
    settings = settings_of(request)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        secure=settings.secure_cookies,
        samesite="lax",
        path="/",
        max_age=settings.session_absolute_hours * 3600,
    )
    return response


def _pending(request: Request, state: str) -> tuple[UserSession, User] | None:
    session = getattr(request.state, "pending_session", None)
    user = getattr(request.state, "pending_user", None)
    if isinstance(session, UserSession) and isinstance(user, User) and session.state == state:
        return session, user
    return None


@router.get("/login")
def login_form(request: Request, actor: Anyone, next: str = "/") -> Response:
    if actor.authenticated:
        return redirect(request, safe_next(next))
    expired = getattr(request.state, "session_expired", None)
    minutes = settings_of(request).session_idle_minutes
    message = {
        "idle timeout": f"Your session ended after {minutes} minutes without activity. Sign in again.",
        "expired": "Your session reached its maximum length. Sign in again.",
    }.get(expired or "")
    return render(
        request, "accounts/login.html", {"next": safe_next(next), "message": message, "message_level": "info"}
    )


@router.post("/login", dependencies=[Csrf])
async def login(request: Request, db: DB, _: Anyone) -> Response:
    form = await form_dict(request)
    username, password = form.get("username", "").strip(), form.get("password", "")
    next_url = safe_next(form.get("next"))
    context: dict[str, Any] = {"username": username, "next": next_url}
    if not username or not password:
        errors = {k: "Required" for k in ("username", "password") if not form.get(k)}
        return render(request, "accounts/login.html", {**context, "errors": errors}, 422)
    addr = client_addr(request)
    if not request.app.state.login_limiter.allow(addr or "-"):
        return render(request, "accounts/login.html", {**context, "message": RateLimited().message}, 429)
    settings = settings_of(request)
    result = service.check_password(db, settings, username=username, password=password, client_addr=addr)
    if result.error is not None or result.user is None:
        db.commit()
        error = result.error or AccordError("sign-in failed")
        return render(
            request, "accounts/login.html", {**context, "message": _sentence(error.message)}, error.status_code
        )
    state = {"mfa": "pending_mfa", "enrol": "pending_enrol"}.get(result.next_step or "", "active")
    token, _session = service.start_session(
        db, settings, user=result.user, state=state, client_addr=addr, user_agent=request.headers.get("user-agent", "")
    )
    db.commit()
    target = {"pending_mfa": "/login/mfa", "pending_enrol": "/login/enrol"}.get(state, next_url)
    if state != "active":
        target += "?" + urlencode({"next": next_url})
    return _set_session_cookie(request, redirect(request, target), token)


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


@router.get("/login/mfa")
def mfa_form(request: Request, _: Anyone, next: str = "/") -> Response:
    if _pending(request, "pending_mfa") is None:
        return redirect(request, "/login")
    pending = _pending(request, "pending_mfa")
    assert pending is not None
    return render(request, "accounts/mfa.html", {"next": safe_next(next), "username": pending[1].username})


@router.post("/login/mfa", dependencies=[Csrf])
async def mfa_submit(request: Request, db: DB, _: Anyone) -> Response:
    pending = _pending(request, "pending_mfa")
    if pending is None:
        return redirect(request, "/login")
    form = await form_dict(request)
    next_url = safe_next(form.get("next"))
    settings = settings_of(request)
    session, user = db.merge(pending[0]), db.merge(pending[1])
    error = service.check_second_factor(
        db, settings, user=user, code=form.get("code", ""), client_addr=client_addr(request)
    )
    if error is not None:
        db.commit()
        if user.locked_at is not None:
            return render(
                request,
                "accounts/login.html",
                {"message": _sentence(error.message), "next": next_url},
                error.status_code,
            )
        context = {"next": next_url, "username": user.username, "message": _sentence(error.message)}
        return render(request, "accounts/mfa.html", context, error.status_code)
    token, _new = service.promote_session(db, settings, session=session, user=user)
    db.commit()
    return _set_session_cookie(request, redirect(request, next_url), token)


def _enrol_action(next_url: str) -> str:
    return "/login/enrol?" + urlencode({"next": safe_next(next_url)})


@router.get("/login/enrol")
def enrol_form(request: Request, db: DB, _: Anyone, next: str = "/") -> Response:
    pending = _pending(request, "pending_enrol")
    if pending is None:
        return redirect(request, "/login")
    user = db.merge(pending[1])
    enrolment = service.begin_enrolment(db, settings_of(request), user=user)
    db.commit()
    context = {"enrolment": enrolment, "pending": True, "action": _enrol_action(next)}
    return render(request, "accounts/enrol.html", context)


@router.post("/login/enrol", dependencies=[Csrf])
async def enrol_submit(request: Request, db: DB, _: Anyone, next: str = "/") -> Response:
    pending = _pending(request, "pending_enrol")
    if pending is None:
        return redirect(request, "/login")
    settings = settings_of(request)
    session, user = db.merge(pending[0]), db.merge(pending[1])
    form = await form_dict(request)
    try:
        codes = service.confirm_enrolment(db, settings, user=user, code=form.get("code", ""), actor=None)
    except AccordError as exc:
        db.commit()
        enrolment = service.begin_enrolment(db, settings, user=user)
        context = {"enrolment": enrolment, "pending": True, "action": _enrol_action(next), "message": exc.message}
        return render(request, "accounts/enrol.html", context, 422)
    service.record_login_success(db, user=user, client_addr=client_addr(request), method="password+totp-enrolment")
    token, _new = service.promote_session(db, settings, session=session, user=user)
    db.commit()
    response = render(request, "accounts/recovery_codes.html", {"codes": codes, "next": safe_next(next)})
    response.headers["Cache-Control"] = "no-store"
    return _set_session_cookie(request, response, token)


@router.post("/logout", dependencies=[Csrf])
def logout(request: Request, db: DB, actor: Self) -> Response:
    session = current_session(request)
    if session is not None:
        service.end_session(db, actor=actor, session_id=session.id, reason="signed out")
        db.commit()
    request.state.csrf_token = None
    flash(request, "info", "You are signed out.")
    response = redirect(request, "/login")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# --- own account -------------------------------------------------------------------


def _account_context(db: DB, actor: Actor) -> dict[str, Any]:
    user = queries.own_user(db, actor)
    names = dict(directory.agency_options(db, actor))
    return {
        "user": user,
        "person": directory.person_for_user(db, user.id),
        "agency_names": names,
        "recovery_left": service.remaining_recovery_codes(db, user_id=user.id),
        "sessions": queries.list_sessions(db, actor),
        "tokens": queries.list_tokens(db, actor),
        "token_agencies": [(a, names.get(a, str(a))) for a in sorted(actor.agency_ids, key=lambda x: names.get(x, ""))]
        or list(names.items()),
        "now": utcnow(),
    }


@router.get("/account")
def account(request: Request, db: DB, actor: Self) -> Response:
    return render(request, "accounts/account.html", _account_context(db, actor))


@router.get("/account/mfa")
def account_mfa(request: Request, db: DB, actor: Self) -> Response:
    user = queries.own_user(db, actor)
    if user.mfa_enabled:
        flash(request, "info", "Two-step verification is already on.")
        return redirect(request, "/account")
    enrolment = service.begin_enrolment(db, settings_of(request), user=user)
    db.commit()
    return render(request, "accounts/enrol.html", {"enrolment": enrolment, "pending": False, "action": "/account/mfa"})


@router.post("/account/mfa", dependencies=[Csrf])
async def account_mfa_confirm(request: Request, db: DB, actor: Self) -> Response:
    user = queries.own_user(db, actor)
    settings = settings_of(request)
    form = await form_dict(request)
    try:
        codes = service.confirm_enrolment(db, settings, user=user, code=form.get("code", ""), actor=actor)
    except AccordError as exc:
        db.commit()
        enrolment = service.begin_enrolment(db, settings, user=user)
        context = {"enrolment": enrolment, "pending": False, "action": "/account/mfa", "message": exc.message}
        return render(request, "accounts/enrol.html", context, 422)
    db.commit()
    response = render(request, "accounts/recovery_codes.html", {"codes": codes, "next": "/account"})
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/account/mfa/recovery-codes", dependencies=[Csrf])
def account_recovery_codes(request: Request, db: DB, actor: Self) -> Response:
    user = queries.own_user(db, actor)
    codes = service.regenerate_recovery_codes(db, actor=actor, user=user)
    db.commit()
    response = render(request, "accounts/recovery_codes.html", {"codes": codes, "next": "/account"})
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/account/password", dependencies=[Csrf])
async def account_password(request: Request, db: DB, actor: Self) -> Response:
    form = await form_dict(request)
    user = queries.own_user(db, actor)
    try:
        data = PasswordChange(**form)
        ended = service.change_password(
            db,
            actor=actor,
            user=user,
            current=data.current_password,
            new=data.new_password,
            keep_session_id=actor.session_id,
        )
    except (ValidationError, AccordError) as exc:
        db.commit()  # keep the audit event of a failed attempt
        errors, message = errors_of(exc)
        context = {**_account_context(db, actor), "errors": errors, "password_message": message}
        return render(request, "accounts/account.html", context, 422)
    db.commit()
    flash(request, "success", f"Password changed. {ended} other session(s) signed out.")
    return redirect(request, "/account")


@router.post("/account/tokens", dependencies=[Csrf])
async def account_token_create(request: Request, db: DB, actor: Self) -> Response:
    form = await form_dict(request)
    try:
        issued = service.issue_api_token(db, actor=actor, data=ApiTokenCreate(**form))
    except (ValidationError, AccordError) as exc:
        errors, message = errors_of(exc)
        context = {**_account_context(db, actor), "errors": errors, "token_message": message}
        return render(request, "accounts/account.html", context, 422)
    db.commit()
    response = render(request, "accounts/account.html", {**_account_context(db, actor), "issued": issued})
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/account/tokens/{token_id}/revoke", dependencies=[Csrf])
def account_token_revoke(request: Request, token_id: uuid.UUID, db: DB, actor: Self) -> Response:
    row = service.revoke_api_token(db, actor=actor, token_id=token_id)
    db.commit()
    flash(request, "success", f"Token {row.prefix} revoked.")
    return redirect(request, "/account")


@router.post("/account/sessions/{session_id}/revoke", dependencies=[Csrf])
def account_session_revoke(request: Request, session_id: uuid.UUID, db: DB, actor: Self) -> Response:
    service.end_session(db, actor=actor, session_id=session_id, reason="revoked by user")
    db.commit()
    flash(request, "success", "That session is signed out.")
    return redirect(request, "/account")


# --- administration ------------------------------------------------------------------

ReadUsers = Annotated[Actor, Depends(Permission("accounts:user:read"))]
CreateUsers = Annotated[Actor, Depends(Permission("accounts:user:create"))]
UpdateUsers = Annotated[Actor, Depends(Permission("accounts:user:update"))]


@router.get("/admin/users")
def users_page(
    request: Request, db: DB, actor: ReadUsers, q: str | None = None, locked: str | None = None, offset: int = 0
) -> Response:
    try:
        filters = UserFilter(
            q=q or None, locked={"true": True, "false": False}.get(locked or ""), offset=max(offset, 0)
        )
    except ValidationError:
        filters = UserFilter()
    rows, total = queries.list_users(db, actor, filters)
    context = {
        "users": rows,
        "total": total,
        "filters": filters,
        "agency_names": dict(directory.agency_options(db, actor)),
        "can_create": actor.has("accounts:user:create"),
    }
    return render(request, "accounts/users.html", context)


def _new_user_context(db: DB, actor: Actor) -> dict[str, Any]:
    agencies = directory.agency_options(db, actor)
    if not actor.is_platform_admin:
        agencies = [(a, n) for a, n in agencies if actor.has("accounts:user:create", a)]
    roles = [(r.name, r.label) for r in queries.list_roles(db) if not r.platform]
    return {"agencies": agencies, "roles": roles}


@router.get("/admin/users/new")
def new_user_form(request: Request, db: DB, actor: CreateUsers) -> Response:
    form = {"username": "", "display_name": "", "email": "", "agency_id": "", "role": "viewer"}
    return render(request, "accounts/user_new.html", {**_new_user_context(db, actor), "form": form})


@router.post("/admin/users/new", dependencies=[Csrf])
async def new_user_submit(request: Request, db: DB, actor: CreateUsers) -> Response:
    form = await form_dict(request)
    try:
        user = service.create_user(db, actor=actor, data=UserCreate(**form))
    except (ValidationError, AccordError) as exc:
        db.rollback()
        errors, message = errors_of(exc)
        context = {**_new_user_context(db, actor), "form": form, "errors": errors, "message": message}
        return render(request, "accounts/user_new.html", context, 422)
    db.commit()
    flash(
        request,
        "success",
        f"User {user.username} created. They must set up two-step verification at first sign-in where required.",
    )
    return redirect(request, f"/admin/users/{user.id}")


@router.get("/admin/users/{user_id}")
def user_page(request: Request, user_id: uuid.UUID, db: DB, actor: ReadUsers) -> Response:
    user = queries.get_user(db, actor, user_id)
    can_update = (
        any(actor.has("accounts:user:update", m.agency_id) for m in user.memberships if m.agency_id)
        or actor.is_platform_admin
    )
    context = {"user": user, "agency_names": dict(directory.agency_options(db, actor)), "can_update": can_update}
    return render(request, "accounts/user_detail.html", context)


@router.post("/admin/users/{user_id}/unlock", dependencies=[Csrf])
def user_unlock(request: Request, user_id: uuid.UUID, db: DB, actor: UpdateUsers) -> Response:
    user = service.unlock_user(db, actor=actor, user_id=user_id)
    db.commit()
    flash(request, "success", f"{user.display_name} can sign in again.")
    return redirect(request, f"/admin/users/{user.id}")


@router.post("/admin/users/{user_id}/end-sessions", dependencies=[Csrf])
def user_end_sessions(request: Request, user_id: uuid.UUID, db: DB, actor: UpdateUsers) -> Response:
    ended = service.end_user_sessions(db, actor=actor, user_id=user_id)
    db.commit()
    flash(request, "success", f"{ended} session(s) ended.")
    return redirect(request, f"/admin/users/{user_id}")


@router.post("/admin/users/{user_id}/reset-mfa", dependencies=[Csrf])
def user_reset_mfa(request: Request, user_id: uuid.UUID, db: DB, actor: UpdateUsers) -> Response:
    user = service.reset_mfa(db, actor=actor, user_id=user_id)
    db.commit()
    flash(request, "success", f"Two-step verification of {user.display_name} was reset and their sessions ended.")
    return redirect(request, f"/admin/users/{user.id}")
