"""FastAPI dependencies: every route declares ``Permission(...)`` or ``Public(...)``.

The actor itself is resolved by the accounts module (sessions, bearer tokens); the app
installs that resolver on ``app.state.resolve_actor`` so authz stays below accounts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request

from accord.authz.actor import ANONYMOUS, Actor
from accord.authz.permissions import is_known
from accord.core.crypto import same
from accord.core.errors import AuthenticationFailed, CsrfFailed, PermissionDenied

UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _signed_in(request: Request, actor: Actor, permission: str) -> Actor:
    """Signed in, holding ``permission`` somewhere, and — for API calls that ride on the
    browser's session cookie — echoing the session's CSRF token in ``X-CSRF-Token``."""
    if not actor.authenticated:
        raise AuthenticationFailed()
    if actor.auth_method == "session" and request.method in UNSAFE and request.url.path.startswith("/api/"):
        expected = getattr(request.state, "csrf_token", None)
        sent = request.headers.get("x-csrf-token", "")
        if not isinstance(expected, str) or not sent or not same(sent, expected):
            raise CsrfFailed()
    if not actor.has(permission):
        raise PermissionDenied(permission)
    return actor


def current_actor(request: Request) -> Actor:
    """The caller, or ANONYMOUS; resolved once per request and cached on its state."""
    cached = getattr(request.state, "actor", None)
    if isinstance(cached, Actor):
        return cached
    resolver: Callable[[Request], Actor] | None = getattr(request.app.state, "resolve_actor", None)
    actor = resolver(request) if resolver else ANONYMOUS
    request.state.actor = actor
    return actor


class Permission:
    """Route guard: the caller must be signed in and hold ``name`` in at least one agency.

    Object-level checks (which agency) happen in the service through ``require``/``scope``.
    """

    def __init__(self, name: str) -> None:
        if not is_known(name):
            raise LookupError(f"unknown permission {name!r}")
        self.permission = name

    def __call__(self, request: Request, actor: Annotated[Actor, Depends(current_actor)]) -> Actor:
        return _signed_in(request, actor, self.permission)

    def __repr__(self) -> str:
        return f"Permission({self.permission!r})"


class Public:
    """Route marker for endpoints open to everyone (login, health, public assets); the
    reason is written down so the route-permission test can list it."""

    def __init__(self, reason: str) -> None:
        self.permission = None
        self.reason = reason

    def __call__(self, actor: Annotated[Actor, Depends(current_actor)]) -> Actor:
        return actor

    def __repr__(self) -> str:
        return f"Public({self.reason!r})"


class SignedIn:
    """Route guard for pages every signed-in user may open (home, own account)."""

    def __init__(self) -> None:
        self.permission = "accounts:self:manage"

    def __call__(self, request: Request, actor: Annotated[Actor, Depends(current_actor)]) -> Actor:
        return _signed_in(request, actor, self.permission)
