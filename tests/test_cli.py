"""The `accord` command (Typer, through CliRunner): users, serve's production guard, db
upgrade failures, the demo TOTP helper. Every user created here has a unique name."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from sqlalchemy import select

from accord.accounts.models import User
from accord.directory.models import Agency
from tests.conftest import api_token, bearer

STRONG = "correct-horse-battery-staple-42"


def no_traceback(result: Any) -> None:
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output


def flat(text: str) -> str:
    return " ".join(text.split())


def new_name(prefix: str = "cli") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def user_row(db: Any, username: str) -> User | None:
    db.rollback()  # a fresh transaction sees what the command committed
    db.expire_all()
    return db.scalar(select(User).where(User.username == username))


def create(
    run_cli: Any,
    username: str,
    *extra: str,
    password: str | None = STRONG,
    role: str = "analyst",
    agency: str | None = "CCSO",
) -> Any:
    args = ["users", "create", username, "--name", "Casey Operator", "--role", role]
    if agency is not None:
        args += ["--agency", agency]
    args += ["--password-env", "ACCORD_TEST_NEW_PASSWORD", *extra]
    return run_cli(*args, env={"ACCORD_TEST_NEW_PASSWORD": password})


# --- users create ----------------------------------------------------------------------------


def test_users_create_makes_a_user_who_can_get_a_token(run_cli, client, db):
    username = new_name()
    result = create(run_cli, username, "--email", f"{username}@example.com")
    no_traceback(result)
    assert result.exit_code == 0, result.output
    assert "Created" in result.stdout and username in result.stdout
    assert STRONG not in result.output

    user = user_row(db, username)
    assert user is not None
    assert user.display_name == "Casey Operator"
    assert user.email == f"{username}@example.com"
    assert user.password_hash != STRONG and STRONG not in user.password_hash
    ccso = db.scalar(select(Agency.id).where(Agency.short_name == "CCSO"))

    token = api_token(client, username, STRONG)
    me = client.get("/api/v1/auth/me", headers=bearer(token))
    assert me.status_code == 200, me.text
    body = me.json()
    assert body["username"] == username
    assert [(m["agency_id"], m["role"]) for m in body["memberships"]] == [(str(ccso), "analyst")]
    # the role's permissions are effective
    assert client.get("/api/v1/agencies", headers=bearer(token)).status_code == 200


def test_users_create_agency_short_name_is_case_insensitive(run_cli, db):
    username = new_name()
    result = create(run_cli, username, agency="hpd")
    assert result.exit_code == 0, result.output
    user = user_row(db, username)
    hpd = db.scalar(select(Agency.id).where(Agency.short_name == "HPD"))
    assert [m.agency_id for m in user.memberships] == [hpd]


def test_users_create_platform_admin_without_agency(run_cli, client, db):
    username = new_name("cliadmin")
    result = create(run_cli, username, role="platform_admin", agency=None)
    assert result.exit_code == 0, result.output
    token = api_token(client, username, STRONG)
    me = client.get("/api/v1/auth/me", headers=bearer(token)).json()
    assert [(m["agency_id"], m["role"]) for m in me["memberships"]] == [(None, "platform_admin")]


def test_users_create_unknown_agency_names_the_option(run_cli, db):
    username = new_name()
    result = create(run_cli, username, agency="NOSUCH")
    no_traceback(result)
    assert result.exit_code == 1
    assert "--agency" in result.stderr
    assert "NOSUCH" in result.stderr
    assert user_row(db, username) is None


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short-pw1", "at least 12 characters"),
        ("aaaaaaaaaaaaaaaa", "too repetitive"),
    ],
    ids=["short", "repetitive"],
)
def test_users_create_weak_password_says_why(run_cli, db, password, reason):
    username = new_name()
    result = create(run_cli, username, password=password)
    no_traceback(result)
    assert result.exit_code == 1
    assert reason in flat(result.stderr)
    assert "password" in result.stderr
    assert password not in result.output
    assert user_row(db, username) is None


def test_users_create_password_containing_username_is_refused(run_cli, db):
    username = new_name()
    result = create(run_cli, username, password=f"my-{username}-password")
    no_traceback(result)
    assert result.exit_code == 1
    assert "must not contain the username" in flat(result.stderr)
    assert user_row(db, username) is None


def test_users_create_password_env_not_set(run_cli, db):
    username = new_name()
    result = create(run_cli, username, password=None)
    no_traceback(result)
    assert result.exit_code == 1
    assert "ACCORD_TEST_NEW_PASSWORD" in result.stderr
    assert "empty or not set" in flat(result.stderr)
    assert user_row(db, username) is None


def test_users_create_duplicate_username(run_cli, db):
    username = new_name()
    assert create(run_cli, username).exit_code == 0
    again = create(run_cli, username, agency="HPD")
    no_traceback(again)
    assert again.exit_code == 1
    assert "is taken" in again.stderr and username in again.stderr
    upper = create(run_cli, username.upper(), agency="HPD")
    assert upper.exit_code == 1
    assert "is taken" in upper.stderr
    user = user_row(db, username)
    assert len(user.memberships) == 1  # unchanged


@pytest.mark.parametrize(
    ("role", "agency", "message"),
    [
        ("wizard", "CCSO", "unknown role 'wizard'"),
        ("platform_admin", "CCSO", "platform roles take no agency"),
        ("analyst", None, "agency roles need one"),
    ],
    ids=["unknown-role", "platform-role-with-agency", "agency-role-without-agency"],
)
def test_users_create_role_and_agency_mismatch(run_cli, db, role, agency, message):
    username = new_name()
    result = create(run_cli, username, role=role, agency=agency)
    no_traceback(result)
    assert result.exit_code == 1
    assert message in flat(result.stderr)
    assert user_row(db, username) is None


@pytest.mark.parametrize("pattern", ["Bad User {}", "_u{}", "x!{}"], ids=["space", "underscore-first", "punctuation"])
def test_users_create_refuses_usernames_the_api_would_refuse(run_cli, db, pattern):
    """The CLI applies the same username rule as the API (lower-case letters, digits and
    `._@-`, starting with a letter or digit, at least 3 characters)."""
    username = pattern.format(uuid.uuid4().hex[:6])
    result = create(run_cli, username)
    no_traceback(result)
    assert result.exit_code == 1, result.output
    assert "username" in result.stderr
    assert user_row(db, username.lower()) is None


# --- users reset-mfa / unlock --------------------------------------------------------------------


def test_users_reset_mfa_unknown_user(run_cli):
    name = new_name("ghost")
    result = run_cli("users", "reset-mfa", name)
    no_traceback(result)
    assert result.exit_code == 1
    assert f"no user named '{name}'" in result.stderr


def test_users_reset_mfa_clears_the_authenticator(run_cli, make_user, db, settings):
    from accord.accounts.models import RecoveryCode
    from accord.core import crypto
    from accord.core.time import utcnow

    user = make_user("analyst", "CCSO")
    row = db.get(User, user["id"])
    row.mfa_secret_sealed = crypto.seal(settings.secret_key, "JBSWY3DPEHPK3PXP")
    row.mfa_enabled_at = utcnow()
    db.add(RecoveryCode(user_id=row.id, code_hash=crypto.token_hash("recovery-code")))
    db.commit()

    result = run_cli("users", "reset-mfa", user["username"])
    no_traceback(result)
    assert result.exit_code == 0, result.output
    assert "reset" in result.stdout
    after = user_row(db, user["username"])
    assert after.mfa_secret_sealed is None and after.mfa_enabled_at is None
    assert db.scalar(select(RecoveryCode.id).where(RecoveryCode.user_id == after.id)) is None


def test_users_unlock_releases_a_lockout(run_cli, make_user, client, db, settings):
    user = make_user("viewer", "HPD")
    for _ in range(settings.lockout_threshold):
        bad = client.post("/api/v1/auth/token", json={"username": user["username"], "password": "wrong-password!"})
        assert bad.status_code in (401, 423)
    locked = client.post("/api/v1/auth/token", json={"username": user["username"], "password": user["password"]})
    assert locked.status_code == 423, locked.text
    assert user_row(db, user["username"]).locked_at is not None

    result = run_cli("users", "unlock", user["username"])
    no_traceback(result)
    assert result.exit_code == 0, result.output
    assert "Unlocked" in result.stdout
    assert user_row(db, user["username"]).locked_at is None
    assert api_token(client, user["username"], user["password"])


def test_users_unlock_unknown_user(run_cli):
    result = run_cli("users", "unlock", new_name("ghost"))
    no_traceback(result)
    assert result.exit_code == 1
    assert "no user named" in result.stderr


# --- serve -----------------------------------------------------------------------------------


@pytest.fixture
def preserve_logging():
    """`serve` routes the root logger to (CliRunner's) stderr; put logging back afterwards."""
    import logging

    names = ("", "uvicorn", "uvicorn.error", "uvicorn.access")
    saved = {
        n: (logging.getLogger(n).handlers[:], logging.getLogger(n).level, logging.getLogger(n).propagate) for n in names
    }
    yield
    for n, (handlers, level, propagate) in saved.items():
        lg = logging.getLogger(n)
        lg.handlers[:] = handlers
        lg.setLevel(level)
        lg.propagate = propagate


@pytest.fixture
def uvicorn_calls(monkeypatch, preserve_logging):
    """Record uvicorn.run instead of serving (the tests must never bind a port)."""
    import uvicorn

    calls: list[tuple[Any, ...]] = []
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: calls.append((a, k)))
    return calls


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"ACCORD_SECRET_KEY": None}, "ACCORD_SECRET_KEY is the demo key"),
        ({"ACCORD_SECRET_KEY": "too-short-secret"}, "ACCORD_SECRET_KEY is shorter than 32"),
        ({"ACCORD_COOKIE_SECURE": "false"}, "ACCORD_COOKIE_SECURE=false"),
        (
            {"ACCORD_SECRET_KEY": "a-real-production-secret-" + "x" * 20, "ACCORD_PASSWORD_HASHING": "fast"},
            "ACCORD_PASSWORD_HASHING=fast weakens stored passwords",
        ),
    ],
    ids=["demo-secret", "short-secret", "insecure-cookies", "fast-password-hashing"],
)
def test_serve_refuses_production_with_demo_configuration(run_cli, uvicorn_calls, env, named):
    started = time.monotonic()
    result = run_cli("serve", "--port", "8765", env={"ACCORD_ENV": "production", **env})
    elapsed = time.monotonic() - started
    no_traceback(result)
    assert result.exit_code == 2, result.output
    assert "refusing to start in production" in result.stderr
    assert named in flat(result.stderr)
    assert uvicorn_calls == []
    assert "serving" not in result.stdout
    assert elapsed < 5


def test_serve_starts_in_production_with_a_real_secret(run_cli, uvicorn_calls):
    result = run_cli(
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        "8765",
        env={
            "ACCORD_ENV": "production",
            "ACCORD_SECRET_KEY": "a-real-production-secret-" + "x" * 20,
            "ACCORD_PASSWORD_HASHING": "standard",  # the suite's own setting is for tests only
        },
    )
    no_traceback(result)
    assert result.exit_code == 0, result.output
    assert len(uvicorn_calls) == 1
    args, kwargs = uvicorn_calls[0]
    assert args == ("accord.asgi:app",)
    assert kwargs["host"] == "127.0.0.1" and kwargs["port"] == 8765 and kwargs["workers"] == 1
    assert "http://127.0.0.1:8765" in result.stdout


# --- db upgrade --------------------------------------------------------------------------------


def test_db_upgrade_unreachable_database_fails_plainly(run_cli):
    started = time.monotonic()
    result = run_cli(
        "db", "upgrade", env={"ACCORD_DATABASE_URL": "postgresql+psycopg://nobody:s3cret-pw@127.0.0.1:1/none"}
    )
    no_traceback(result)
    assert result.exit_code != 0
    assert result.exit_code == 1
    assert "could not upgrade" in result.stderr
    assert "127.0.0.1:1/none" in result.stderr
    assert "s3cret-pw" not in result.output  # the password never reaches the terminal
    assert "Database is up to date" not in result.stdout
    assert time.monotonic() - started < 15


def test_db_upgrade_without_password_in_url(run_cli):
    result = run_cli("db", "upgrade", env={"ACCORD_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none"})
    no_traceback(result)
    assert result.exit_code != 0
    assert "could not upgrade" in result.stderr


def test_db_upgrade_of_the_current_database_is_a_no_op(run_cli):
    result = run_cli("db", "upgrade")
    no_traceback(result)
    assert result.exit_code == 0, result.output
    assert "Database is up to date." in result.stdout


# --- seed ----------------------------------------------------------------------------------------


def test_seed_totp_refuses_other_users(run_cli):
    result = run_cli("seed", "totp", "--username", "analyst")
    no_traceback(result)
    assert result.exit_code == 1
    assert "only the demo administrator" in flat(result.stderr)
    assert result.stdout.strip() == ""


def test_seed_totp_refuses_in_production(run_cli):
    result = run_cli("seed", "totp", env={"ACCORD_ENV": "production"})
    no_traceback(result)
    assert result.exit_code == 1
    assert "never in production" in flat(result.stderr)


def test_seed_totp_prints_the_demo_admins_code(run_cli):
    import pyotp

    from accord.seed import DEMO_TOTP_SECRET

    result = run_cli("seed", "totp")
    no_traceback(result)
    assert result.exit_code == 0, result.output
    code = result.stdout.strip()
    assert code.isdigit() and len(code) == 6
    assert pyotp.TOTP(DEMO_TOTP_SECRET).verify(code, valid_window=1)


def test_seed_demo_refuses_production(run_cli):
    result = run_cli("seed", "demo", env={"ACCORD_ENV": "production"})
    no_traceback(result)
    assert result.exit_code == 1
    assert "refusing to load demo accounts" in flat(result.stderr)
