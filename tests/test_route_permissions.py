"""Every route declares its permission; every HTML form POST checks CSRF."""

from __future__ import annotations

from typing import Any

from fastapi.dependencies.models import Dependant
from starlette.routing import Mount

from accord.app import iter_api_routes
from accord.authz.deps import Permission, Public, SignedIn
from accord.authz.permissions import PERMISSIONS
from accord.web.templating import verify_csrf

GUARDS = (Permission, Public, SignedIn)


def _calls(dependant: Dependant) -> list[Any]:
    found = []
    for dep in dependant.dependencies:
        found.append(dep.call)
        found.extend(_calls(dep))
    return found


def test_every_route_declares_a_permission_or_is_public_by_name(app):
    missing = []
    declared = {}
    for route in iter_api_routes(app):
        guards = [c for c in _calls(route.dependant) if isinstance(c, GUARDS)]
        if not guards:
            missing.append(f"{sorted(route.methods)} {route.path}")
        for guard in guards:
            declared[(route.path, tuple(sorted(route.methods)))] = guard
            if isinstance(guard, Permission | SignedIn):
                assert guard.permission in PERMISSIONS
            else:
                assert guard.reason, f"public route {route.path} must say why"
    assert not missing, f"routes without a declared permission: {missing}"
    assert len(declared) >= 40


def test_only_static_assets_are_mounted_outside_routes(app):
    mounts = [r for r in app.router.routes if isinstance(r, Mount)]
    assert [m.path for m in mounts] == ["/static"]


def test_public_routes_are_the_expected_few(app):
    public = sorted(
        route.path for route in iter_api_routes(app) if any(isinstance(c, Public) for c in _calls(route.dependant))
    )
    assert set(public) == {
        "/healthz",
        "/openapi.json",
        "/docs",
        "/api/v1/auth/token",
        "/login",
        "/login/mfa",
        "/login/enrol",
        "/public/alerts.atom",
        "/public/alerts/{alert_id}.xml",
    }


def test_every_html_form_post_checks_csrf(app):
    unprotected = [
        route.path
        for route in iter_api_routes(app)
        if "POST" in route.methods and not route.path.startswith("/api/") and verify_csrf not in _calls(route.dependant)
    ]
    assert not unprotected, f"form posts without CSRF check: {unprotected}"


def test_unknown_permission_names_fail_fast():
    import pytest

    with pytest.raises(LookupError):
        Permission("directory:agency:teleport")
