"""Sign-in through the HTML pages: MFA enrolment and use, enforced MFA, form CSRF,
open redirects and the demo banner."""

from __future__ import annotations

import html
import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from accord.accounts.models import ApiToken, RecoveryCode, User, UserSession
from accord.app import create_app
from accord.audit.models import AuditEvent
from accord.core import crypto
from accord.core.time import utcnow
from tests.conftest import DEMO_PASSWORD, assert_error, browser_login, csrf_from, refresh

TOKEN_URL = "/api/v1/auth/token"
SECRET_RE = re.compile(r'data-testid="totp-secret">([A-Z2-7]+)<')
RECOVERY_RE = re.compile(r'<ul class="codes" data-testid="recovery-codes">(.*?)</ul>', re.S)
CODE_RE = re.compile(r"<code>([^<]+)</code>")
NEXT_RE = re.compile(r'name="next" value="([^"]*)"')


# --- helpers ------------------------------------------------------------------------------


def audit_events(db: Session, *, object_id: Any, action: str) -> list[AuditEvent]:
    refresh(db)
    stmt = select(AuditEvent).where(AuditEvent.object_id == str(object_id), AuditEvent.action == action)
    return list(db.scalars(stmt.order_by(AuditEvent.seq)))


def fresh_user(db: Session, user_id: uuid.UUID) -> User:
    refresh(db)
    user = db.get(User, user_id)
    assert user is not None
    return user


def stable_totp_step() -> int:
    """The current TOTP time-step, after waiting out its last seconds, so codes computed
    for steps around it stay acceptable for the rest of a short test."""
    remaining = 30 - time.time() % 30
    if remaining < 8:
        time.sleep(remaining + 0.05)
    return int(time.time() // 30)


def code_at(secret: str, step: int) -> str:
    return pyotp.TOTP(secret).at(step * 30)


def recovery_codes_of(html: str) -> list[str]:
    block = RECOVERY_RE.search(html)
    assert block, "page shows no recovery codes"
    return CODE_RE.findall(block.group(1))


def post_login(client: TestClient, username: str, password: str = DEMO_PASSWORD, next_url: str = "/") -> Any:
    page = client.get("/login")
    assert page.status_code == 200
    data = {"username": username, "password": password, "csrf_token": csrf_from(page.text), "next": next_url}
    return client.post("/login", data=data, follow_redirects=False)


def signed_in_username(client: TestClient) -> str | None:
    response = client.get("/api/v1/auth/me")
    return str(response.json()["username"]) if response.status_code == 200 else None


@pytest.fixture
def browser(app: Any) -> Iterator[TestClient]:
    """A second, independent browser on the normal app."""
    with TestClient(app, base_url="http://testserver") as c:
        yield c


@pytest.fixture
def api(app: Any) -> Iterator[TestClient]:
    """A machine client without cookies (a browser's session cookie would make the
    token request a cookie-authenticated API call that needs a CSRF header)."""
    with TestClient(app, base_url="http://testserver") as c:
        yield c


@pytest.fixture(scope="module")
def mfa_app(settings: Any, session_factory: Any) -> Any:
    return create_app(settings.model_copy(update={"mfa_required": True}), session_factory)


@pytest.fixture
def mfa_client(mfa_app: Any) -> Iterator[TestClient]:
    mfa_app.state.login_limiter.reset()
    with TestClient(mfa_app, base_url="http://testserver") as c:
        yield c


# --- 3. MFA enrolment from the account page and its use -----------------------------------------


def test_mfa_enrolment_then_totp_and_recovery_codes(
    client: TestClient, browser: TestClient, api: TestClient, make_user: Any, db: Session
) -> None:
    user = make_user("analyst", "CCSO")
    signed_in = browser_login(client, user["username"])
    assert signed_in.status_code == 200
    assert signed_in_username(client) == user["username"]

    page = client.get("/account/mfa")
    assert page.status_code == 200, page.text[:500]
    assert "<svg" in page.text
    match = SECRET_RE.search(page.text)
    assert match, "enrolment page shows no key"
    secret = match.group(1)
    # Reloading the page keeps the same pending secret (the QR code stays valid).
    again = client.get("/account/mfa")
    assert SECRET_RE.search(again.text).group(1) == secret  # type: ignore[union-attr]
    assert fresh_user(db, user["id"]).mfa_enabled_at is None

    step = stable_totp_step()
    wrong = client.post("/account/mfa", data={"csrf_token": csrf_from(again.text), "code": "000000"})
    assert wrong.status_code == 422
    assert fresh_user(db, user["id"]).mfa_enabled_at is None

    done = client.post("/account/mfa", data={"csrf_token": csrf_from(again.text), "code": code_at(secret, step - 1)})
    assert done.status_code == 200, done.text[:500]
    assert done.headers["cache-control"] == "no-store"
    codes = recovery_codes_of(done.text)
    assert len(codes) == 10 and len(set(codes)) == 10

    row = fresh_user(db, user["id"])
    assert row.mfa_enabled_at is not None
    assert row.mfa_pending_sealed is None
    assert row.mfa_secret_sealed and secret not in row.mfa_secret_sealed
    stored = list(db.scalars(select(RecoveryCode.code_hash).where(RecoveryCode.user_id == user["id"])))
    assert len(stored) == 10 and not set(stored) & set(codes)
    enrolled = audit_events(db, object_id=user["id"], action="auth.mfa.enrol")
    assert [e.outcome for e in enrolled] == ["failure", "success"]
    assert enrolled[-1].actor_user_id == user["id"]

    # API: the password alone is no longer enough.
    no_otp = api.post(TOKEN_URL, json={"username": user["username"], "password": DEMO_PASSWORD})
    assert_error(no_otp, 401, "otp_required")
    body = {"username": user["username"], "password": DEMO_PASSWORD}
    assert_error(api.post(TOKEN_URL, json={**body, "otp": code_at(secret, step - 40)}), 401, "unauthenticated")
    current = code_at(secret, step)
    ok = api.post(TOKEN_URL, json={**body, "otp": current})
    assert ok.status_code == 200, ok.text
    assert ok.json()["access_token"].startswith("acc_")
    replay = api.post(TOKEN_URL, json={**body, "otp": current})
    assert_error(replay, 401, "unauthenticated")
    # The code used at enrolment cannot be replayed either.
    assert_error(api.post(TOKEN_URL, json={**body, "otp": code_at(secret, step - 1)}), 401, "unauthenticated")

    recovery = codes[3]
    first = api.post(TOKEN_URL, json={**body, "otp": recovery.upper()})
    assert first.status_code == 200, first.text
    assert_error(api.post(TOKEN_URL, json={**body, "otp": recovery}), 401, "unauthenticated")
    refresh(db)
    used = db.scalar(select(func.count()).where(RecoveryCode.user_id == user["id"], RecoveryCode.used_at.is_not(None)))
    assert used == 1

    # HTML sign-in in another browser: password, then the code, then the requested page.
    start = post_login(browser, user["username"], next_url="/account")
    assert start.status_code == 303
    assert start.headers["location"] == "/login/mfa?next=%2Faccount"
    pending_cookie = browser.cookies.get("accord_session")
    assert pending_cookie
    assert browser.get("/", follow_redirects=False).status_code == 303  # not signed in yet
    assert signed_in_username(browser) is None
    form = browser.get(start.headers["location"])
    assert form.status_code == 200
    assert user["username"] in form.text
    finish = browser.post(
        "/login/mfa",
        data={"csrf_token": csrf_from(form.text), "code": code_at(secret, step + 1), "next": "/account"},
        follow_redirects=False,
    )
    assert finish.status_code == 303, finish.text[:500]
    assert finish.headers["location"] == "/account"
    assert browser.cookies.get("accord_session") not in (None, pending_cookie)  # a new session, no fixation
    final = browser.get("/account")
    assert final.status_code == 200
    assert user["username"] in final.text
    assert signed_in_username(browser) == user["username"]

    refresh(db)
    states = {
        s.state: s.revoked_reason
        for s in db.scalars(select(UserSession).where(UserSession.user_id == user["id"]))
        if s.state == "pending_mfa"
    }
    assert states == {"pending_mfa": "promoted"}
    methods = [e.details.get("method") for e in audit_events(db, object_id=user["id"], action="auth.login")]
    assert {"password+totp", "password+recovery-code"} <= set(methods)


def _enable_mfa_directly(db: Session, secret_key: str, user_id: uuid.UUID) -> str:
    secret = pyotp.random_base32()
    user = fresh_user(db, user_id)
    user.mfa_secret_sealed = crypto.seal(secret_key, secret)
    user.mfa_enabled_at = utcnow()
    db.commit()
    return secret


def test_wrong_code_on_the_mfa_page_keeps_the_user_signed_out(
    client: TestClient, make_user: Any, db: Session, settings: Any
) -> None:
    user = make_user("viewer", "CCSO")
    _enable_mfa_directly(db, settings.secret_key, user["id"])
    start = post_login(client, user["username"])
    assert start.headers["location"] == "/login/mfa?next=%2F"
    form = client.get("/login/mfa")
    response = client.post("/login/mfa", data={"csrf_token": csrf_from(form.text), "code": "12345x", "next": "/"})
    assert response.status_code == 401
    assert "Invalid authentication code." in response.text
    assert signed_in_username(client) is None
    failures = audit_events(db, object_id=user["id"], action="auth.login")
    assert [e.details.get("reason") for e in failures] == ["second factor"]


def test_mfa_page_without_pending_sign_in_goes_back_to_login(client: TestClient) -> None:
    response = client.get("/login/mfa", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login"


def test_mfa_sign_in_keeps_a_next_target_with_a_query_string(
    client: TestClient, make_user: Any, db: Session, settings: Any
) -> None:
    user = make_user("viewer", "CCSO")
    secret = _enable_mfa_directly(db, settings.secret_key, user["id"])
    step = stable_totp_step()
    target = "/directory?kind=fire&county=ccc"
    start = post_login(client, user["username"], next_url=target)
    assert start.status_code == 303
    form = client.get(start.headers["location"])
    assert form.status_code == 200
    hidden = NEXT_RE.search(form.text)
    assert hidden, "MFA page has no next field"
    carried = html.unescape(hidden.group(1))
    finish = client.post(
        "/login/mfa",
        data={"csrf_token": csrf_from(form.text), "code": code_at(secret, step), "next": carried},
        follow_redirects=False,
    )
    assert finish.status_code == 303
    assert finish.headers["location"] == target


# --- 4. MFA enforced -------------------------------------------------------------------------


def test_enforced_mfa_sends_a_user_without_mfa_to_enrolment(
    mfa_client: TestClient, make_user: Any, db: Session
) -> None:
    user = make_user("coordinator", "CCSO")
    start = post_login(mfa_client, user["username"])
    assert start.status_code == 303
    assert start.headers["location"] == "/login/enrol?next=%2F"
    assert mfa_client.cookies.get("accord_session")

    # Half signed in is not signed in.
    home = mfa_client.get("/", follow_redirects=False)
    assert home.status_code == 303
    assert home.headers["location"].startswith("/login")
    assert signed_in_username(mfa_client) is None

    page = mfa_client.get("/login/enrol")
    assert page.status_code == 200, page.text[:500]
    assert "<svg" in page.text
    secret = SECRET_RE.search(page.text)
    assert secret, "enrolment page shows no key"
    assert mfa_client.get("/", follow_redirects=False).status_code == 303

    step = stable_totp_step()
    done = mfa_client.post(
        "/login/enrol", data={"csrf_token": csrf_from(page.text), "code": code_at(secret.group(1), step)}
    )
    assert done.status_code == 200, done.text[:500]
    assert done.headers["cache-control"] == "no-store"
    assert len(recovery_codes_of(done.text)) == 10

    home = mfa_client.get("/", follow_redirects=False)
    assert home.status_code == 200
    assert signed_in_username(mfa_client) == user["username"]
    row = fresh_user(db, user["id"])
    assert row.mfa_enabled_at is not None
    assert row.last_login_at is not None
    assert [e.outcome for e in audit_events(db, object_id=user["id"], action="auth.mfa.enrol")] == ["success"]


def test_enforced_mfa_enrolment_keeps_the_next_target(mfa_client: TestClient, make_user: Any) -> None:
    user = make_user("viewer", "CCSO")
    start = post_login(mfa_client, user["username"], next_url="/account")
    assert start.headers["location"] == "/login/enrol?next=%2Faccount"
    page = mfa_client.get(start.headers["location"])
    assert page.status_code == 200, page.text[:500]
    secret = SECRET_RE.search(page.text)
    assert secret
    action = re.search(r'<form method="post" action="([^"]+)"', page.text.split('id="enrol-title"', 1)[1])
    assert action and action.group(1).startswith("/login/enrol")  # the form carries the target
    done = mfa_client.post(
        html.unescape(action.group(1)),
        data={"csrf_token": csrf_from(page.text), "code": code_at(secret.group(1), stable_totp_step())},
    )
    assert done.status_code == 200, done.text[:500]
    assert 'href="/account"' in done.text.split('data-testid="recovery-codes"', 1)[1]


def test_enforced_mfa_token_endpoint_demands_enrolment(mfa_client: TestClient, make_user: Any) -> None:
    user = make_user("viewer", "CCSO")
    response = mfa_client.post(TOKEN_URL, json={"username": user["username"], "password": DEMO_PASSWORD})
    error = assert_error(response, 401, "mfa_enrolment_required")
    assert "enrol" in error["message"]


def test_demo_banner_only_where_mfa_is_relaxed(client: TestClient, mfa_client: TestClient) -> None:
    normal = client.get("/login")
    assert normal.status_code == 200
    assert "Demo installation" in normal.text
    enforced = mfa_client.get("/login")
    assert enforced.status_code == 200
    assert "Demo installation" not in enforced.text


# --- 7. CSRF on forms --------------------------------------------------------------------------


def test_login_without_csrf_token_is_refused(client: TestClient, make_user: Any) -> None:
    user = make_user("viewer", "CCSO")
    client.get("/login")
    response = client.post(
        "/login", data={"username": user["username"], "password": DEMO_PASSWORD, "next": "/"}, follow_redirects=False
    )
    assert response.status_code == 403
    assert "CSRF" in response.text
    assert "accord_session" not in response.headers.get("set-cookie", "")


def test_login_with_a_forged_csrf_token_is_refused(client: TestClient, make_user: Any) -> None:
    user = make_user("viewer", "CCSO")
    client.get("/login")
    data = {"username": user["username"], "password": DEMO_PASSWORD, "next": "/", "csrf_token": "0" * 64}
    response = client.post("/login", data=data, follow_redirects=False)
    assert response.status_code == 403
    # A token from another browser does not fit this browser's cookie either.
    with TestClient(client.app, base_url="http://testserver") as other:
        foreign = csrf_from(other.get("/login").text)
    response = client.post("/login", data={**data, "csrf_token": foreign}, follow_redirects=False)
    assert response.status_code == 403


def test_account_token_form_with_wrong_csrf_token_is_refused(client: TestClient, make_user: Any, db: Session) -> None:
    user = make_user("viewer", "CCSO")
    browser_login(client, user["username"])
    account = client.get("/account")
    assert account.status_code == 200
    data = {"name": "cad bridge", "agency_id": str(user["agency_id"]), "expires_in_days": "30"}
    refused = client.post("/account/tokens", data={**data, "csrf_token": "not-the-token"})
    assert refused.status_code == 403
    refresh(db)
    assert db.scalar(select(func.count()).where(ApiToken.user_id == user["id"], ApiToken.kind == "client")) == 0

    accepted = client.post("/account/tokens", data={**data, "csrf_token": csrf_from(account.text)})
    assert accepted.status_code == 200
    assert 'data-testid="issued-token"' in accepted.text
    refresh(db)
    assert db.scalar(select(func.count()).where(ApiToken.user_id == user["id"], ApiToken.kind == "client")) == 1


# --- 11. open redirects ----------------------------------------------------------------------


OFF_SITE = ["https://evil.example/", "//evil.example", "/\\evil.example", "evil.example/path", "javascript:alert(1)"]


def test_login_never_redirects_off_site(client: TestClient, make_user: Any) -> None:
    user = make_user("viewer", "CCSO")
    for target in OFF_SITE:
        client.cookies.clear()
        response = post_login(client, user["username"], next_url=target)
        assert response.status_code == 303, target
        assert response.headers["location"] == "/", target
    # Already signed in: GET /login?next=... must not bounce off-site either.
    for target in OFF_SITE:
        response = client.get("/login", params={"next": target}, follow_redirects=False)
        assert response.status_code == 303, target
        assert response.headers["location"] == "/", target


def test_login_follows_a_local_next(client: TestClient, make_user: Any) -> None:
    user = make_user("viewer", "CCSO")
    response = post_login(client, user["username"], next_url="/account")
    assert response.status_code == 303
    assert response.headers["location"] == "/account"


def test_login_page_failure_messages(client: TestClient, make_user: Any) -> None:
    user = make_user("viewer", "CCSO")
    wrong = post_login(client, user["username"], password="not-the-password")
    assert wrong.status_code == 401
    assert "Invalid username or password." in wrong.text
    assert "accord_session" not in wrong.headers.get("set-cookie", "")
    unknown = post_login(client, f"nobody-{uuid.uuid4().hex[:8]}", password="not-the-password")
    assert unknown.status_code == 401
    assert "Invalid username or password." in unknown.text
