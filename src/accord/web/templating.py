"""Rendering pages: one Jinja environment, the shell context (actor, nav, CSRF token,
flash messages, demo banner) added to every page."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from itsdangerous import BadSignature, URLSafeSerializer

from accord.authz.actor import ANONYMOUS, Actor
from accord.authz.deps import current_actor
from accord.config import Settings
from accord.core.crypto import random_token, same, sign
from accord.core.errors import AccordError
from accord.web.nav import visible_nav

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.globals["json"] = json
templates.env.globals["timedelta"] = timedelta
PRE_COOKIE = "accord_pre"
FLASH_COOKIE = "accord_flash"


def settings_of(request: Request) -> Settings:
    settings = request.app.state.settings
    assert isinstance(settings, Settings)
    return settings


def _available_paths(request: Request) -> frozenset[str]:
    paths: object = getattr(request.app.state, "page_paths", frozenset())
    return paths if isinstance(paths, frozenset) else frozenset()


def csrf_token(request: Request) -> str:
    """The token forms must echo: the session's own, or before sign-in one bound to a
    random cookie (double submit, signed with the server secret)."""
    value = getattr(request.state, "csrf_token", None)
    if isinstance(value, str):
        return value
    pending = getattr(request.state, "pending_session", None)
    if pending is not None:
        return str(pending.csrf_token)
    nonce = request.cookies.get(PRE_COOKIE) or getattr(request.state, "new_pre_cookie", None)
    if not nonce:
        nonce = random_token(18)
        request.state.new_pre_cookie = nonce
    return sign(settings_of(request).secret_key, nonce)


async def verify_csrf(request: Request, _actor: Annotated[Actor, Depends(current_actor)]) -> None:
    """Dependency for every HTML form POST (after the caller is resolved: the expected
    token belongs to their session)."""
    form = await request.form()
    sent = str(form.get("csrf_token") or request.headers.get("x-csrf-token") or "")
    expected = csrf_token(request)
    if getattr(request.state, "new_pre_cookie", None) or not sent or not same(sent, expected):
        raise AccordError(
            message="Your form expired or was sent from elsewhere (CSRF check failed). Reload the page and try again.",
            status_code=403,
            code="csrf",
        )


def _serializer(request: Request) -> URLSafeSerializer:
    return URLSafeSerializer(settings_of(request).secret_key, salt="accord-flash")


def flash(request: Request, level: str, text: str) -> None:
    pending: list[list[str]] = getattr(request.state, "flash_out", [])
    pending.append([level, text])
    request.state.flash_out = pending


def _read_flashes(request: Request) -> list[list[str]]:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return []
    try:
        value = _serializer(request).loads(raw)
    except BadSignature:
        return []
    return [m for m in value if isinstance(m, list) and len(m) == 2] if isinstance(value, list) else []


def finish(request: Request, response: Response) -> Response:
    """Attach cookies the page set up: flash messages for the next page, the pre-sign-in nonce."""
    settings = settings_of(request)
    pending = getattr(request.state, "flash_out", None)
    if pending:
        response.set_cookie(
            FLASH_COOKIE,
            _serializer(request).dumps(pending),
            httponly=True,
            samesite="lax",
            secure=settings.secure_cookies,
            max_age=120,
        )
    elif getattr(request.state, "flashes_read", False):
        response.delete_cookie(FLASH_COOKIE)
    nonce = getattr(request.state, "new_pre_cookie", None)
    if nonce:
        response.set_cookie(
            PRE_COOKIE, nonce, httponly=True, samesite="lax", secure=settings.secure_cookies, max_age=3600
        )
    return response


def render(request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200) -> Response:
    actor = getattr(request.state, "actor", None)
    actor = actor if isinstance(actor, Actor) else ANONYMOUS
    settings = settings_of(request)
    flashes = _read_flashes(request)
    request.state.flashes_read = bool(flashes)
    paths = _available_paths(request)
    full = {
        "request": request,
        "actor": actor,
        "nav": visible_nav(actor, paths, "main"),
        "admin_nav": visible_nav(actor, paths, "admin"),
        "csrf_token": csrf_token(request),
        "flashes": flashes,
        "settings": settings,
        "demo_mfa_relaxed": not settings.mfa_enforced,
        "path": request.url.path,
    }
    full.update(context or {})
    response: Response = templates.TemplateResponse(request, name, full, status_code=status_code)
    return finish(request, response)


def redirect(request: Request, url: str) -> Response:
    return finish(request, RedirectResponse(url, status_code=303))


def html_error(request: Request, status_code: int, title: str, message: str) -> HTMLResponse:
    response = render(request, "error.html", {"title": title, "message": message}, status_code=status_code)
    assert isinstance(response, HTMLResponse)
    return response
