"""The one door: scope() narrows reads with SQL, fails closed, and "not allowed" is 404."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from accord.accounts.models import User
from accord.audit.models import AuditEvent
from accord.authz import ANONYMOUS, Actor, MembershipGrant, require, scope
from accord.authz.roles import BUILTIN_ROLES
from accord.core.errors import PermissionDenied
from accord.directory.models import Agency, AgencyCapability
from tests.conftest import api_token, bearer


def _actor(perms: set[str], agency_id: uuid.UUID | None) -> Actor:
    return Actor(
        uuid.uuid4(), "t", memberships=(MembershipGrant(agency_id, "custom", frozenset(perms)),), auth_method="token"
    )


def test_scope_refuses_entities_without_a_policy():
    with pytest.raises(LookupError, match="no authz policy"):
        scope(_actor({"directory:agency:read"}, None), "directory:agency:read", select(AgencyCapability))


def test_scope_refuses_unknown_permissions():
    with pytest.raises(LookupError):
        scope(ANONYMOUS, "directory:agency:steal", select(Agency))


def test_actor_without_the_permission_reads_nothing(db):
    stmt = scope(_actor({"accounts:self:manage"}, None), "directory:agency:read", select(Agency))
    assert db.scalars(stmt).all() == []
    assert db.scalars(scope(ANONYMOUS, "audit:event:read", select(AuditEvent))).all() == []


def test_audit_scope_is_the_agencies_where_the_permission_is_held(db):
    ccso = db.scalar(select(Agency.id).where(Agency.short_name == "CCSO"))
    rows = db.scalars(scope(_actor({"audit:event:read"}, ccso), "audit:event:read", select(AuditEvent))).all()
    assert rows and {r.agency_id for r in rows} == {ccso}


def test_require_checks_the_agency(db):
    ccso, hpd = (db.scalar(select(Agency.id).where(Agency.short_name == s)) for s in ("CCSO", "HPD"))
    actor = _actor({"directory:agency:update"}, ccso)
    require(actor, "directory:agency:update", ccso)
    with pytest.raises(PermissionDenied):
        require(actor, "directory:agency:update", hpd)
    platform = _actor({"directory:agency:update"}, None)
    require(platform, "directory:agency:update", hpd)


def test_roles_are_data_in_the_database(client, as_user):
    headers, _ = as_user("viewer", "HPD")
    roles = {r["name"]: r for r in client.get("/api/v1/roles", headers=headers).json()}
    assert set(roles) == {r.name for r in BUILTIN_ROLES}
    assert "directory:agency:update" in roles["agency_admin"]["permissions"]
    assert "directory:agency:update" not in roles["viewer"]["permissions"]
    assert roles["platform_admin"]["platform"] is True


def test_invisible_user_is_404_exactly_like_a_missing_one(client, as_user, db):
    headers, _ = as_user("agency_admin", "CCSO")
    hidden = db.scalar(select(User.id).where(User.username == "auditor"))  # HVHD, not CCSO
    missing = uuid.uuid4()
    a = client.get(f"/api/v1/users/{hidden}", headers=headers)
    b = client.get(f"/api/v1/users/{missing}", headers=headers)
    assert a.status_code == b.status_code == 404
    assert {k: v for k, v in a.json()["error"].items() if k != "request_id"} == {
        k: v for k, v in b.json()["error"].items() if k != "request_id"
    }


def test_agency_admin_lists_only_users_of_their_agency(client, as_user, db):
    headers, _ = as_user("agency_admin", "HPD")
    items = client.get("/api/v1/users?limit=500", headers=headers).json()["items"]
    hpd = str(db.scalar(select(Agency.id).where(Agency.short_name == "HPD")))
    assert items and all(any(m["agency_id"] == hpd for m in u["memberships"]) for u in items)
    assert "agencyadmin" not in {u["username"] for u in items}  # CCSO's administrator


def test_platform_admin_sees_every_user(client, as_user):
    headers, _ = as_user("platform_admin", None)
    names = {u["username"] for u in client.get("/api/v1/users?limit=500", headers=headers).json()["items"]}
    assert {"admin", "agencyadmin", "auditor", "viewer"} <= names


def test_auditor_reads_only_their_agencys_audit_events(client, db):
    token = api_token(client, "auditor")  # HVHD
    hvhd = str(db.scalar(select(Agency.id).where(Agency.short_name == "HVHD")))
    events = client.get("/api/v1/audit/events?limit=200", headers=bearer(token)).json()["items"]
    assert events and {e["agency_id"] for e in events} == {hvhd}
    assert any(e["action"] == "auth.login" and e["actor_username"] == "auditor" for e in events)


def test_viewer_cannot_read_the_audit_trail_and_the_denial_is_audited(client, as_user, db):
    headers, user = as_user("viewer", "TCSO")
    response = client.get("/api/v1/audit/events", headers=headers)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    db.rollback()
    event = db.scalars(
        select(AuditEvent).where(AuditEvent.actor_user_id == user["id"], AuditEvent.action == "authz.denied")
    ).first()
    assert event is not None and event.outcome == "denied"
    assert event.details["permission"] == "audit:event:read"
