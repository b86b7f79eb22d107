"""Browser sessions (cookie flags, idle timeout, sign-out, revocation), CSRF on
cookie-authenticated API calls, and personal API tokens."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from accord.accounts.models import ApiToken, UserSession
from accord.app import create_app
from accord.audit.models import AuditEvent
from accord.core import crypto
from accord.core.time import utcnow
from accord.directory.models import Agency
from tests.conftest import DEMO_PASSWORD, api_token, assert_error, bearer, browser_login, csrf_from, refresh

TOKEN_URL = "/api/v1/auth/token"


# --- helpers ------------------------------------------------------------------------------


def audit_events(db: Session, *, object_id: Any, action: str) -> list[AuditEvent]:
    refresh(db)
    stmt = select(AuditEvent).where(AuditEvent.object_id == str(object_id), AuditEvent.action == action)
    return list(db.scalars(stmt.order_by(AuditEvent.seq)))


def agency_id(db: Session, short_name: str) -> uuid.UUID:
    value = db.scalar(select(Agency.id).where(Agency.short_name == short_name))
    assert value is not None
    return value


def active_sessions(db: Session, user_id: uuid.UUID) -> list[UserSession]:
    refresh(db)
    stmt = select(UserSession).where(
        UserSession.user_id == user_id, UserSession.state == "active", UserSession.revoked_at.is_(None)
    )
    return list(db.scalars(stmt))


def only_session(db: Session, user_id: uuid.UUID) -> UserSession:
    refresh(db)
    rows = list(db.scalars(select(UserSession).where(UserSession.user_id == user_id)))
    assert len(rows) == 1, rows
    return rows[0]


def session_cookie_header(response: Any) -> str:
    headers = [h for h in response.headers.get_list("set-cookie") if h.startswith("accord_session=")]
    assert len(headers) == 1, response.headers.get_list("set-cookie")
    return str(headers[0])


def cookie_attributes(header: str) -> dict[str, str]:
    attrs: dict[str, str] = {}
    for part in header.split(";")[1:]:
        name, _, value = part.strip().partition("=")
        attrs[name.lower()] = value
    return attrs


def post_login(client: TestClient, username: str, password: str = DEMO_PASSWORD) -> Any:
    page = client.get("/login")
    data = {"username": username, "password": password, "csrf_token": csrf_from(page.text), "next": "/"}
    return client.post("/login", data=data, follow_redirects=False)


@pytest.fixture
def new_client(app: Any) -> Iterator[Any]:
    """Independent browsers/clients on the normal app (each with its own cookie jar)."""
    opened: list[TestClient] = []

    def _new() -> TestClient:
        c = TestClient(app, base_url="http://testserver")
        c.__enter__()
        opened.append(c)
        return c

    yield _new
    for c in opened:
        c.__exit__(None, None, None)


# --- 6. sessions -----------------------------------------------------------------------------


def test_session_cookie_is_httponly_and_samesite_lax(client: TestClient, make_user: Any) -> None:
    user = make_user("viewer", "CCSO")
    response = post_login(client, user["username"])
    assert response.status_code == 303
    header = session_cookie_header(response)
    attrs = cookie_attributes(header)
    assert "httponly" in attrs
    assert attrs.get("samesite", "").lower() == "lax"
    assert attrs.get("path") == "/"
    assert "secure" not in attrs  # plain-HTTP test installation
    token = header.split(";", 1)[0].split("=", 1)[1]
    assert len(token) >= 32


def test_session_cookie_is_secure_when_configured(
    settings: Any, session_factory: Any, make_user: Any, db: Session
) -> None:
    user = make_user("viewer", "CCSO")
    secure_app = create_app(settings.model_copy(update={"cookie_secure": True}), session_factory)
    with TestClient(secure_app, base_url="https://testserver") as c:
        response = post_login(c, user["username"])
        assert response.status_code == 303, response.text[:300]
        attrs = cookie_attributes(session_cookie_header(response))
        assert "secure" in attrs and "httponly" in attrs
        assert attrs.get("samesite", "").lower() == "lax"
        assert response.headers.get("strict-transport-security", "").startswith("max-age=")


def test_session_row_stores_only_a_hash_of_the_cookie(client: TestClient, make_user: Any, db: Session) -> None:
    user = make_user("viewer", "CCSO")
    response = post_login(client, user["username"])
    token = session_cookie_header(response).split(";", 1)[0].split("=", 1)[1]
    row = only_session(db, user["id"])
    assert row.state == "active"
    assert row.token_hash == crypto.token_hash(token) != token
    assert token not in row.csrf_token


def test_idle_session_ends_after_30_minutes(client: TestClient, make_user: Any, db: Session) -> None:
    user = make_user("viewer", "CCSO")
    browser_login(client, user["username"])
    assert client.get("/", follow_redirects=False).status_code == 200
    session = only_session(db, user["id"])
    db.execute(
        update(UserSession).where(UserSession.id == session.id).values(last_seen_at=utcnow() - timedelta(minutes=31))
    )
    db.commit()

    home = client.get("/", follow_redirects=False)
    assert home.status_code == 303
    assert home.headers["location"].startswith("/login")
    login_page = client.get(home.headers["location"])
    assert login_page.status_code == 200
    assert "Your session ended after 30 minutes without activity" in login_page.text

    row = only_session(db, user["id"])
    assert row.revoked_at is not None
    assert row.revoked_reason == "idle timeout"
    assert [e.details for e in audit_events(db, object_id=session.id, action="auth.session.expire")] == [
        {"reason": "idle timeout"}
    ]
    # Activity within the limit keeps a session alive: a fresh sign-in works normally.
    browser_login(client, user["username"])
    assert client.get("/", follow_redirects=False).status_code == 200


def test_session_active_29_minutes_ago_is_still_valid(client: TestClient, make_user: Any, db: Session) -> None:
    user = make_user("viewer", "CCSO")
    browser_login(client, user["username"])
    session = only_session(db, user["id"])
    db.execute(
        update(UserSession).where(UserSession.id == session.id).values(last_seen_at=utcnow() - timedelta(minutes=29))
    )
    db.commit()
    assert client.get("/", follow_redirects=False).status_code == 200
    row = only_session(db, user["id"])
    assert row.revoked_at is None
    assert utcnow() - row.last_seen_at < timedelta(minutes=1)  # the request counted as activity


def test_logout_revokes_the_session(client: TestClient, make_user: Any, db: Session) -> None:
    user = make_user("viewer", "CCSO")
    browser_login(client, user["username"])
    cookie = client.cookies.get("accord_session")
    assert cookie
    page = client.get("/account")
    session = only_session(db, user["id"])

    refused = client.post("/logout", data={}, follow_redirects=False)
    assert refused.status_code == 403
    assert only_session(db, user["id"]).revoked_at is None

    response = client.post("/logout", data={"csrf_token": csrf_from(page.text)}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    cleared = cookie_attributes(session_cookie_header(response))
    assert cleared.get("max-age") == "0"

    row = only_session(db, user["id"])
    assert row.revoked_at is not None
    assert row.revoked_reason == "signed out"
    assert len(audit_events(db, object_id=session.id, action="auth.session.revoke")) == 1

    # A copy of the old cookie is worthless.
    client.cookies.set("accord_session", cookie)
    home = client.get("/", follow_redirects=False)
    assert home.status_code == 303
    assert home.headers["location"].startswith("/login")
    assert client.get("/api/v1/auth/me").status_code == 401


def test_sessions_of_someone_else_cannot_be_revoked(
    client: TestClient, new_client: Any, make_user: Any, db: Session
) -> None:
    owner = make_user("viewer", "CCSO")
    owner_browser = new_client()
    browser_login(owner_browser, owner["username"])
    session = only_session(db, owner["id"])

    other_headers = bearer(api_token(client, make_user("agency_admin", "CCSO")["username"]))
    assert_error(client.delete(f"/api/v1/sessions/{session.id}", headers=other_headers), 404, "not_found")
    listed = client.get("/api/v1/sessions", headers=other_headers)
    assert listed.status_code == 200
    assert str(session.id) not in {s["id"] for s in listed.json()}
    assert only_session(db, owner["id"]).revoked_at is None
    assert owner_browser.get("/", follow_redirects=False).status_code == 200


def test_user_lists_and_revokes_own_session_through_the_api(
    client: TestClient, new_client: Any, make_user: Any, db: Session
) -> None:
    user = make_user("viewer", "CCSO")
    laptop = new_client()
    browser_login(laptop, user["username"])
    session = only_session(db, user["id"])
    headers = bearer(api_token(client, user["username"]))

    listed = client.get("/api/v1/sessions", headers=headers)
    assert listed.status_code == 200
    assert [s["id"] for s in listed.json()] == [str(session.id)]
    assert listed.json()[0]["current"] is False

    assert client.delete(f"/api/v1/sessions/{session.id}", headers=headers).status_code == 204
    row = only_session(db, user["id"])
    assert row.revoked_at is not None and row.revoked_reason == "revoked by user"
    assert laptop.get("/", follow_redirects=False).status_code == 303


# --- 7. CSRF on cookie-authenticated API calls ----------------------------------------------------


def test_cookie_authenticated_api_call_needs_the_csrf_header(client: TestClient, make_user: Any, db: Session) -> None:
    user = make_user("viewer", "CCSO")
    browser_login(client, user["username"])
    csrf = csrf_from(client.get("/account").text)
    body = {"name": "script", "agency_id": str(user["agency_id"]), "expires_in_days": 7}

    # Reads need no header.
    assert client.get("/api/v1/tokens").status_code == 200
    error = assert_error(client.post("/api/v1/tokens", json=body), 403, "csrf")
    assert "CSRF" in error["message"]
    assert_error(client.post("/api/v1/tokens", json=body, headers={"X-CSRF-Token": "wrong"}), 403, "csrf")
    refresh(db)
    assert db.scalars(select(ApiToken).where(ApiToken.user_id == user["id"])).all() == []

    created = client.post("/api/v1/tokens", json=body, headers={"X-CSRF-Token": csrf})
    assert created.status_code == 201, created.text
    assert created.json()["agency_id"] == str(user["agency_id"])
    # The session's token is not usable by another session of the same user.
    other = TestClient(client.app, base_url="http://testserver")
    with other:
        browser_login(other, user["username"])
        assert_error(other.post("/api/v1/tokens", json=body, headers={"X-CSRF-Token": csrf}), 403, "csrf")


# --- 8. API tokens ---------------------------------------------------------------------------


def test_api_token_lifecycle(client: TestClient, make_user: Any, db: Session) -> None:
    user = make_user("coordinator", "CCSO")
    headers = bearer(api_token(client, user["username"]))
    body = {"name": "CAD bridge", "agency_id": str(user["agency_id"]), "expires_in_days": 30}
    response = client.post("/api/v1/tokens", json=body, headers=headers)
    assert response.status_code == 201, response.text
    issued = response.json()
    plaintext = issued["token"]
    assert plaintext.startswith(issued["prefix"] + ".")
    assert issued["name"] == "CAD bridge" and issued["kind"] == "client"
    assert issued["agency_id"] == str(user["agency_id"])
    assert issued["revoked_at"] is None
    refresh(db)
    row = db.get(ApiToken, uuid.UUID(issued["id"]))
    assert row is not None
    lifetime = row.expires_at - row.created_at
    assert timedelta(days=30) - timedelta(seconds=5) <= lifetime <= timedelta(days=30)

    # Shown once: listings never carry it.
    listed = client.get("/api/v1/tokens", headers=headers)
    assert listed.status_code == 200
    assert issued["id"] in {t["id"] for t in listed.json()}
    assert all("token" not in t for t in listed.json())
    secret_part = plaintext.split(".", 1)[1]
    assert plaintext not in listed.text and secret_part not in listed.text

    # At rest only a hash.
    assert row.token_hash == crypto.token_hash(plaintext)
    assert row.token_hash != plaintext
    raw = db.execute(select(ApiToken.__table__).where(ApiToken.id == row.id)).one()
    for value in raw:
        assert secret_part not in str(value)
        assert plaintext not in str(value)

    # Works as a bearer token, for the issuing user.
    me = client.get("/api/v1/auth/me", headers=bearer(plaintext))
    assert me.status_code == 200, me.text
    assert me.json()["username"] == user["username"]
    refresh(db)
    assert db.get(ApiToken, row.id).last_used_at is not None  # type: ignore[union-attr]

    issue_events = audit_events(db, object_id=row.id, action="auth.token.issue")
    assert len(issue_events) == 1
    assert issue_events[0].actor_user_id == user["id"]
    assert issue_events[0].details["kind"] == "client"
    assert plaintext not in str(issue_events[0].details) and secret_part not in str(issue_events[0].details)

    # Someone else cannot revoke it.
    stranger = bearer(api_token(client, make_user("agency_admin", "CCSO")["username"]))
    assert_error(client.delete(f"/api/v1/tokens/{row.id}", headers=stranger), 404, "not_found")
    assert client.get("/api/v1/auth/me", headers=bearer(plaintext)).status_code == 200

    revoked = client.delete(f"/api/v1/tokens/{row.id}", headers=headers)
    assert revoked.status_code == 204
    error = assert_error(client.get("/api/v1/auth/me", headers=bearer(plaintext)), 401, "unauthenticated")
    assert "revoked" in error["message"]
    refresh(db)
    assert db.get(ApiToken, row.id).revoked_at is not None  # type: ignore[union-attr]
    revoke_events = audit_events(db, object_id=row.id, action="auth.token.revoke")
    assert len(revoke_events) == 1 and revoke_events[0].actor_user_id == user["id"]
    # The listing shows it as revoked (still without the secret).
    again = {t["id"]: t for t in client.get("/api/v1/tokens", headers=headers).json()}
    assert again[str(row.id)]["revoked_at"] is not None


def test_expired_api_token_is_refused(client: TestClient, make_user: Any, db: Session) -> None:
    user = make_user("viewer", "CCSO")
    headers = bearer(api_token(client, user["username"]))
    body = {"name": "short", "agency_id": str(user["agency_id"]), "expires_in_days": 1}
    issued = client.post("/api/v1/tokens", json=body, headers=headers).json()
    assert client.get("/api/v1/auth/me", headers=bearer(issued["token"])).status_code == 200
    refresh(db)
    db.execute(
        update(ApiToken)
        .where(ApiToken.id == uuid.UUID(issued["id"]))
        .values(expires_at=utcnow() - timedelta(seconds=1))
    )
    db.commit()
    assert_error(client.get("/api/v1/auth/me", headers=bearer(issued["token"])), 401, "unauthenticated")


@pytest.mark.parametrize("days", [0, 366, "soon"])
def test_api_token_lifetime_is_validated(client: TestClient, as_user: Any, days: Any) -> None:
    headers, user = as_user("viewer", "CCSO")
    body = {"name": "x", "agency_id": str(user["agency_id"]), "expires_in_days": days}
    error = assert_error(client.post("/api/v1/tokens", json=body, headers=headers), 422, "invalid")
    assert [f["field"] for f in error["fields"]] == ["expires_in_days"]


def test_api_token_for_an_agency_without_a_role_is_422(client: TestClient, make_user: Any, db: Session) -> None:
    user = make_user("viewer", "CCSO")
    browser_login(client, user["username"])  # a session actor is not narrowed to one agency
    csrf = csrf_from(client.get("/account").text)
    other = agency_id(db, "HVFC")
    body = {"name": "elsewhere", "agency_id": str(other), "expires_in_days": 7}
    response = client.post("/api/v1/tokens", json=body, headers={"X-CSRF-Token": csrf})
    error = assert_error(response, 422, "invalid")
    assert [f["field"] for f in error["fields"]] == ["agency_id"]
    refresh(db)
    assert db.scalars(select(ApiToken).where(ApiToken.user_id == user["id"], ApiToken.kind == "client")).all() == []


def test_api_token_is_scoped_to_its_agency(client: TestClient, make_user: Any, db: Session) -> None:
    """A token for agency A carries none of the user's permissions in agency B."""
    ccso, hvfc = agency_id(db, "CCSO"), agency_id(db, "HVFC")
    user = make_user("agency_admin", "CCSO")
    platform = bearer(api_token(client, make_user("platform_admin", None)["username"]))
    added = client.post(
        f"/api/v1/users/{user['id']}/memberships", json={"agency_id": str(hvfc), "role": "viewer"}, headers=platform
    )
    assert added.status_code == 201, added.text
    assert {(m["agency_id"], m["role"]) for m in added.json()["memberships"]} == {
        (str(ccso), "agency_admin"),
        (str(hvfc), "viewer"),
    }

    # A sign-in token defaults to the first agency and is narrowed to it.
    login_a = api_token(client, user["username"])
    me_a = client.get("/api/v1/auth/me", headers=bearer(login_a)).json()
    assert set(me_a["permissions"]) == {str(ccso)}
    assert "accounts:user:update" in me_a["permissions"][str(ccso)]

    # A client token issued for A is narrowed to A as well.
    issued = client.post("/api/v1/tokens", json={"name": "A only", "agency_id": str(ccso)}, headers=bearer(login_a))
    assert issued.status_code == 201, issued.text
    me_client = client.get("/api/v1/auth/me", headers=bearer(issued.json()["token"])).json()
    assert set(me_client["permissions"]) == {str(ccso)}

    # Signed in for B: the viewer role only; administration of A is out of reach.
    body = {"username": user["username"], "password": DEMO_PASSWORD, "agency_id": str(hvfc)}
    login_b = client.post(TOKEN_URL, json=body)
    assert login_b.status_code == 200, login_b.text
    assert login_b.json()["agency_id"] == str(hvfc)
    headers_b = bearer(login_b.json()["access_token"])
    me_b = client.get("/api/v1/auth/me", headers=headers_b).json()
    assert set(me_b["permissions"]) == {str(hvfc)}
    assert "accounts:user:update" not in me_b["permissions"][str(hvfc)]
    victim = make_user("viewer", "CCSO")
    assert_error(client.post(f"/api/v1/users/{victim['id']}/unlock", headers=headers_b), 403, "forbidden")


@pytest.mark.parametrize(
    "value",
    ["Basic x", "Bearer ", "Bearer", "Token acc_abc.def", "Bearer acc_nothing.real", "Bearer not-a-token", "bearer  "],
)
def test_malformed_or_unknown_authorization_is_401(client: TestClient, value: str) -> None:
    response = client.get("/api/v1/auth/me", headers={"Authorization": value})
    assert_error(response, 401, "unauthenticated")
