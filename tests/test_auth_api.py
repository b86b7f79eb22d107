"""The token endpoint, lockout and its release, admin MFA reset, rate limiting and
audited permission denials (JSON API)."""

from __future__ import annotations

import uuid
from typing import Any

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from accord.accounts.models import LoginAttempt, RecoveryCode, User, UserSession
from accord.app import create_app
from accord.audit.models import AuditEvent
from accord.core import crypto
from accord.core.time import utcnow
from tests.conftest import DEMO_PASSWORD, api_token, assert_error, bearer, browser_login, refresh

TOKEN_URL = "/api/v1/auth/token"
BAD_CREDENTIALS = "invalid username or password"


# --- helpers ------------------------------------------------------------------------------


def field_reasons(error: dict[str, Any]) -> dict[str, str]:
    return {f["field"]: f["reason"] for f in error["fields"]}


def audit_events(db: Session, *, object_id: Any = None, action: str | None = None, **where: Any) -> list[AuditEvent]:
    """Committed audit events (a fresh snapshot), oldest first."""
    refresh(db)
    stmt = select(AuditEvent)
    if object_id is not None:
        stmt = stmt.where(AuditEvent.object_id == str(object_id))
    if action is not None:
        stmt = stmt.where(AuditEvent.action == action)
    for column, value in where.items():
        stmt = stmt.where(getattr(AuditEvent, column) == value)
    return list(db.scalars(stmt.order_by(AuditEvent.seq)))


def fresh_user(db: Session, user_id: uuid.UUID) -> User:
    refresh(db)
    user = db.get(User, user_id)
    assert user is not None
    return user


def token_request(client: TestClient, username: str, password: str = DEMO_PASSWORD, **extra: Any) -> Any:
    return client.post(TOKEN_URL, json={"username": username, "password": password, **extra})


# --- 1. POST /api/v1/auth/token ----------------------------------------------------------------


def test_token_grants_bearer_access_to_me(client: TestClient, make_user: Any, db: Session) -> None:
    user = make_user("analyst", "HVFC")
    response = token_request(client, user["username"])
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["access_token"].startswith("acc_")
    assert body["agency_id"] == str(user["agency_id"])

    me = client.get("/api/v1/auth/me", headers=bearer(body["access_token"]))
    assert me.status_code == 200, me.text
    data = me.json()
    assert data["id"] == str(user["id"])
    assert data["username"] == user["username"]
    assert data["mfa_enabled"] is False
    assert data["memberships"] == [{"agency_id": str(user["agency_id"]), "role": "analyst"}]
    assert "accounts:self:manage" in data["permissions"][str(user["agency_id"])]

    success = audit_events(db, object_id=user["id"], action="auth.login", outcome="success")
    assert len(success) == 1
    assert success[0].details == {"method": "password"}
    assert fresh_user(db, user["id"]).last_login_at is not None


def test_token_username_is_case_insensitive(client: TestClient, make_user: Any) -> None:
    user = make_user("viewer", "CCSO")
    assert token_request(client, user["username"].upper()).status_code == 200


def test_token_wrong_password_is_401_and_audited(client: TestClient, make_user: Any, db: Session) -> None:
    user = make_user("viewer", "CCSO")
    response = token_request(client, user["username"], "not-the-password")
    error = assert_error(response, 401, "unauthenticated")
    assert error["message"] == BAD_CREDENTIALS
    assert "access_token" not in response.text

    failures = audit_events(db, object_id=user["id"], action="auth.login")
    assert [(e.outcome, e.details.get("reason")) for e in failures] == [("failure", "wrong password")]
    assert failures[0].agency_id == user["agency_id"]
    attempts = db.scalar(
        select(func.count()).where(LoginAttempt.user_id == user["id"], LoginAttempt.success.is_(False))
    )
    assert attempts == 1


def test_token_unknown_user_gets_the_same_answer_as_a_wrong_password(client: TestClient, make_user: Any) -> None:
    """No account enumeration: same status, code and message either way."""
    user = make_user("viewer", "CCSO")
    wrong_password = assert_error(token_request(client, user["username"], "wrong-password-1"), 401, "unauthenticated")
    unknown = assert_error(
        token_request(client, f"nobody-{uuid.uuid4().hex[:8]}", "wrong-password-1"), 401, "unauthenticated"
    )
    assert unknown["message"] == wrong_password["message"] == BAD_CREDENTIALS
    assert unknown["fields"] == wrong_password["fields"] == []


def test_token_rejects_unknown_field(client: TestClient, make_user: Any) -> None:
    user = make_user("viewer", "CCSO")
    response = token_request(client, user["username"], remember_me=True)
    error = assert_error(response, 422, "invalid")
    assert field_reasons(error) == {"remember_me": "unknown field"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"username": 123, "password": DEMO_PASSWORD}, "username"),
        ({"username": "someone", "password": ["a", "b"]}, "password"),
        ({"username": "someone", "password": DEMO_PASSWORD, "agency_id": "not-a-uuid"}, "agency_id"),
        ({"username": "someone", "password": DEMO_PASSWORD, "otp": 123456}, "otp"),
    ],
)
def test_token_rejects_wrong_types(client: TestClient, body: dict[str, Any], field: str) -> None:
    error = assert_error(client.post(TOKEN_URL, json=body), 422, "invalid")
    assert list(field_reasons(error)) == [field]


def test_token_requires_password(client: TestClient, make_user: Any) -> None:
    user = make_user("viewer", "CCSO")
    error = assert_error(client.post(TOKEN_URL, json={"username": user["username"]}), 422, "invalid")
    assert list(field_reasons(error)) == ["password"]
    error = assert_error(client.post(TOKEN_URL, json={"username": user["username"], "password": ""}), 422, "invalid")
    assert list(field_reasons(error)) == ["password"]


def test_token_for_agency_without_role_is_422(client: TestClient, make_user: Any, db: Session) -> None:
    from accord.directory.models import Agency

    user = make_user("viewer", "CCSO")
    other = db.scalar(select(Agency.id).where(Agency.short_name == "HVFC"))
    error = assert_error(token_request(client, user["username"], agency_id=str(other)), 422, "invalid")
    assert list(field_reasons(error)) == ["agency_id"]


# --- 2. lockout -----------------------------------------------------------------------------


def test_five_failures_lock_the_account_until_an_admin_of_its_agency_unlocks_it(
    client: TestClient, make_user: Any, db: Session
) -> None:
    victim = make_user("viewer", "CCSO")
    admin_headers = bearer(api_token(client, make_user("agency_admin", "CCSO")["username"]))
    stranger_headers = bearer(api_token(client, make_user("agency_admin", "MCSO")["username"]))

    statuses = [token_request(client, victim["username"], f"wrong-password-{i}").status_code for i in range(5)]
    assert statuses[:4] == [401, 401, 401, 401]
    if statuses[4] == 401:  # the lock may be announced on the 5th answer or the next one
        statuses.append(token_request(client, victim["username"], "wrong-password-5").status_code)
    assert statuses[-1] == 423

    error = assert_error(token_request(client, victim["username"]), 423, "locked")
    assert "locked" in error["message"]
    assert fresh_user(db, victim["id"]).locked_at is not None
    listed = client.get(f"/api/v1/users/{victim['id']}", headers=admin_headers)
    assert listed.status_code == 200 and listed.json()["locked_at"] is not None

    # An administrator of another agency cannot even see the account.
    assert_error(client.post(f"/api/v1/users/{victim['id']}/unlock", headers=stranger_headers), 404, "not_found")
    assert fresh_user(db, victim["id"]).locked_at is not None

    unlocked = client.post(f"/api/v1/users/{victim['id']}/unlock", headers=admin_headers)
    assert unlocked.status_code == 200, unlocked.text
    assert unlocked.json()["locked_at"] is None
    assert fresh_user(db, victim["id"]).locked_at is None

    # Failures before the release no longer count: one more mistake does not relock.
    assert_error(token_request(client, victim["username"], "wrong-again"), 401, "unauthenticated")
    assert token_request(client, victim["username"]).status_code == 200

    failures = audit_events(db, object_id=victim["id"], action="auth.login", outcome="failure")
    assert len(failures) >= 6
    assert {"wrong password", "account locked"} <= {e.details.get("reason") for e in failures}
    lockouts = audit_events(db, object_id=victim["id"], action="auth.lockout")
    assert len(lockouts) == 1
    assert lockouts[0].object_type == "user"
    assert lockouts[0].agency_id == victim["agency_id"]
    unlocks = audit_events(db, object_id=victim["id"], action="accounts.user.unlock")
    assert len(unlocks) == 1
    assert unlocks[0].outcome == "success"
    assert unlocks[0].details == {"was_locked": True}

    # The agency administrator reads the same story through the audit API.
    seen = client.get("/api/v1/audit/events?action=auth.lockout&limit=500", headers=admin_headers)
    assert seen.status_code == 200, seen.text
    assert str(victim["id"]) in {e["object_id"] for e in seen.json()["items"]}


def test_locked_account_refuses_its_existing_bearer_token(client: TestClient, make_user: Any) -> None:
    user = make_user("viewer", "CCSO")
    token = api_token(client, user["username"])
    for i in range(6):
        token_request(client, user["username"], f"wrong-{i}")
    assert_error(client.get("/api/v1/auth/me", headers=bearer(token)), 401, "unauthenticated")


def test_admin_cannot_unlock_themselves(client: TestClient, make_user: Any) -> None:
    admin = make_user("agency_admin", "CCSO")
    headers = bearer(api_token(client, admin["username"]))
    error = assert_error(client.post(f"/api/v1/users/{admin['id']}/unlock", headers=headers), 422, "invalid")
    assert list(field_reasons(error)) == ["user"]


# --- 5. admin MFA reset ------------------------------------------------------------------------


def _enable_mfa_directly(db: Session, secret_key: str, user_id: uuid.UUID) -> str:
    secret = pyotp.random_base32()
    user = fresh_user(db, user_id)
    user.mfa_secret_sealed = crypto.seal(secret_key, secret)
    user.mfa_enabled_at = utcnow()
    db.add(RecoveryCode(user_id=user_id, code_hash=crypto.token_hash("aaaaa-bbbbb")))
    db.commit()
    return secret


def test_agency_admin_resets_mfa_and_ends_the_users_sessions(
    app: Any, client: TestClient, make_user: Any, db: Session, settings: Any
) -> None:
    user = make_user("viewer", "CCSO")
    with TestClient(app, base_url="http://testserver") as browser:
        browser_login(browser, user["username"])
        assert browser.get("/", follow_redirects=False).status_code == 200
        _enable_mfa_directly(db, settings.secret_key, user["id"])
        assert_error(token_request(client, user["username"]), 401, "otp_required")

        stranger = bearer(api_token(client, make_user("agency_admin", "TCSO")["username"]))
        assert_error(client.post(f"/api/v1/users/{user['id']}/reset-mfa", headers=stranger), 404, "not_found")
        assert fresh_user(db, user["id"]).mfa_enabled_at is not None

        admin = bearer(api_token(client, make_user("agency_admin", "CCSO")["username"]))
        response = client.post(f"/api/v1/users/{user['id']}/reset-mfa", headers=admin)
        assert response.status_code == 200, response.text
        assert response.json()["mfa_enabled"] is False

        row = fresh_user(db, user["id"])
        assert row.mfa_enabled_at is None
        assert row.mfa_secret_sealed is None and row.mfa_pending_sealed is None and row.mfa_last_counter is None
        assert db.scalar(select(func.count()).where(RecoveryCode.user_id == user["id"])) == 0
        sessions = list(db.scalars(select(UserSession).where(UserSession.user_id == user["id"])))
        assert sessions, "the browser sign-in made a session"
        assert all(s.revoked_at is not None for s in sessions)
        assert {s.revoked_reason for s in sessions} == {"mfa reset"}

        # The old cookie no longer signs anyone in.
        home = browser.get("/", follow_redirects=False)
        assert home.status_code == 303
        assert home.headers["location"].startswith("/login")

    events = audit_events(db, object_id=user["id"], action="auth.mfa.reset")
    assert len(events) == 1
    assert events[0].outcome == "success"
    assert events[0].details == {"sessions_revoked": 1}
    assert events[0].agency_id == user["agency_id"]
    # Password alone works again (the user enrols anew where MFA is required).
    assert token_request(client, user["username"]).status_code == 200


# --- 9. rate limit --------------------------------------------------------------------------


def test_token_endpoint_is_rate_limited(settings: Any, session_factory: Any, make_user: Any) -> None:
    user = make_user("viewer", "CCSO")
    limited = create_app(settings.model_copy(update={"login_rate_per_minute": 3}), session_factory)
    with TestClient(limited, base_url="http://testserver") as c:
        assert [token_request(c, user["username"]).status_code for _ in range(3)] == [200, 200, 200]
        error = assert_error(token_request(c, user["username"]), 429, "rate_limited")
        assert "too many" in error["message"]
        # Wrong credentials are counted as well: the limit is per client, not per outcome.
        assert_error(token_request(c, user["username"], "wrong-password"), 429, "rate_limited")


# --- 10. permission denial -----------------------------------------------------------------------


def test_viewer_creating_a_user_is_forbidden_and_the_denial_is_audited(
    client: TestClient, as_user: Any, db: Session
) -> None:
    headers, viewer = as_user("viewer", "CCSO")
    username = f"new-{uuid.uuid4().hex[:8]}"
    body = {
        "username": username,
        "display_name": "Someone New",
        "email": f"{username}@test.example",
        "password": "a-long-enough-pass-phrase",
        "agency_id": str(viewer["agency_id"]),
        "role": "viewer",
    }
    error = assert_error(client.post("/api/v1/users", json=body, headers=headers), 403, "forbidden")
    assert "accounts:user:create" in error["message"]

    refresh(db)
    assert db.scalar(select(User.id).where(User.username == username)) is None
    denials = audit_events(db, action="authz.denied", actor_user_id=viewer["id"])
    assert len(denials) == 1
    denial = denials[0]
    assert denial.outcome == "denied"
    assert denial.actor_username == viewer["username"]
    assert denial.details["permission"] == "accounts:user:create"
    assert denial.details["method"] == "POST"
    assert denial.details["path"] == "/api/v1/users"
    assert denial.request_id == error["request_id"]


def test_agency_admin_cannot_create_a_user_in_another_agency(client: TestClient, as_user: Any, db: Session) -> None:
    from accord.directory.models import Agency

    headers, admin = as_user("agency_admin", "CCSO")
    other = db.scalar(select(Agency.id).where(Agency.short_name == "MCSO"))
    username = f"new-{uuid.uuid4().hex[:8]}"
    body = {
        "username": username,
        "display_name": "Someone New",
        "password": "a-long-enough-pass-phrase",
        "agency_id": str(other),
        "role": "viewer",
    }
    assert_error(client.post("/api/v1/users", json=body, headers=headers), 403, "forbidden")
    refresh(db)
    assert db.scalar(select(User.id).where(User.username == username)) is None
    denials = audit_events(db, action="authz.denied", actor_user_id=admin["id"])
    assert [d.agency_id for d in denials] == [other]
