"""Own password changes and administrators ending a user's sessions."""

from __future__ import annotations

from sqlalchemy import select

from accord.accounts.models import UserSession
from accord.audit.models import AuditEvent
from tests.conftest import api_token, bearer, browser_login, csrf_from


def _live_sessions(db, user_id):
    db.rollback()  # end the read transaction: SQLite keeps a snapshot until then
    return db.scalars(select(UserSession).where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))).all()


def test_password_change_keeps_this_session_and_ends_the_others(app, client, make_user, db):
    from fastapi.testclient import TestClient

    user = make_user("analyst", "HVFC")
    with TestClient(app) as other:
        browser_login(other, user["username"])
    browser_login(client, user["username"])
    assert len(_live_sessions(db, user["id"])) == 2
    page = client.get("/account")
    wrong = client.post(
        "/account/password",
        data={
            "csrf_token": csrf_from(page.text),
            "current_password": "nope",
            "new_password": "a-much-longer-passphrase",
        },
    )
    assert wrong.status_code == 422 and "is not your current password" in wrong.text
    short = client.post(
        "/account/password",
        data={"csrf_token": csrf_from(page.text), "current_password": user["password"], "new_password": "short"},
    )
    assert short.status_code == 422 and "at least 12 characters" in short.text
    done = client.post(
        "/account/password",
        data={
            "csrf_token": csrf_from(page.text),
            "current_password": user["password"],
            "new_password": "river-bend-levee-2026",
        },
    )
    assert done.status_code == 200 and "1 other session(s) signed out" in done.text
    assert len(_live_sessions(db, user["id"])) == 1
    assert (
        client.post("/api/v1/auth/token", json={"username": user["username"], "password": user["password"]}).status_code
        == 401
    )
    api_token(client, user["username"], "river-bend-levee-2026")
    actions = [
        (e.action, e.outcome)
        for e in db.scalars(select(AuditEvent).where(AuditEvent.object_id == str(user["id"]))).all()
        if e.action == "auth.password.change"
    ]
    assert ("auth.password.change", "failure") in actions and ("auth.password.change", "success") in actions


def test_password_change_by_api_names_the_field(client, as_user):
    headers, _ = as_user("viewer", "HVRA")
    response = client.post(
        "/api/v1/auth/password", headers=headers, json={"current_password": "x", "new_password": "y" * 20}
    )
    assert response.status_code == 422
    assert response.json()["error"]["fields"] == [
        {"field": "current_password", "reason": "is not your current password"}
    ]
    extra = client.post(
        "/api/v1/auth/password", headers=headers, json={"current_password": "x", "new_password": "y", "otp": "1"}
    )
    assert extra.status_code == 422 and extra.json()["error"]["fields"][0] == {
        "field": "otp",
        "reason": "unknown field",
    }


def test_administrator_ends_all_sessions_of_a_user_of_their_agency(client, make_user, as_user, db):
    user = make_user("commander", "LHFD")
    browser_login(client, user["username"])
    assert _live_sessions(db, user["id"])
    outsider, _ = as_user("agency_admin", "HPD")
    assert client.post(f"/api/v1/users/{user['id']}/end-sessions", headers=outsider).status_code == 404
    admin, _ = as_user("agency_admin", "LHFD")
    response = client.post(f"/api/v1/users/{user['id']}/end-sessions", headers=admin)
    assert response.status_code == 200 and response.json()["sessions_ended"] >= 1
    assert not _live_sessions(db, user["id"])
    assert client.get("/", follow_redirects=False).status_code == 303  # the browser is signed out
    assert db.scalars(
        select(AuditEvent).where(
            AuditEvent.object_id == str(user["id"]), AuditEvent.action == "accounts.user.sessions_end"
        )
    ).first()
    assert client.get("/api/v1/auth/me", headers=bearer(api_token(client, user["username"]))).status_code == 200
