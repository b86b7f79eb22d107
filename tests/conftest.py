"""Test fixtures. The whole suite runs once per database backend, chosen by
ACCORD_TEST_DB=sqlite|postgresql (scripts/run_tests.py runs both). The schema is built
by the real migrations and the demo region is seeded once per run; tests commit for real
and create their own users and agencies (unique names) when they change things."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from accord.app import create_app
from accord.config import Settings
from accord.core.db import make_engine, make_session_factory
from accord.migrate import upgrade
from accord.seed import DEMO_PASSWORD, seed_demo, system_actor
from accord.vault import service as vault

BACKEND = os.environ.get("ACCORD_TEST_DB", "sqlite")
PG_URL = os.environ.get("ACCORD_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
TEST_SECRET = "test-secret-key-0123456789abcdef0123456789"
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
ARTIFACTS.mkdir(exist_ok=True)


def _postgres_schema(url: str, schema: str, *, drop_only: bool = False) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            if not drop_only:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """SQLite: a fresh file. PostgreSQL: database ``test``, in a schema of this run's own
    (so concurrent runs on one server never see each other)."""
    if BACKEND == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'accord-test.db'}"
        return
    if BACKEND != "postgresql":
        raise pytest.UsageError(f"ACCORD_TEST_DB must be sqlite or postgresql, not {BACKEND!r}")
    schema = f"accord_test_{os.getpid()}"
    try:
        _postgres_schema(PG_URL, schema)
    except Exception as exc:  # unreachable server
        message = f"PostgreSQL at {PG_URL.split('@')[-1]} is unreachable: {exc.__class__.__name__}"
        if os.environ.get("CI") == "true":
            pytest.exit(message + " (CI=true: a missing PostgreSQL is a failure)", returncode=3)
        pytest.skip(message)
    separator = "&" if "?" in PG_URL else "?"
    yield f"{PG_URL}{separator}options=-csearch_path%3D{schema}"
    _postgres_schema(PG_URL, schema, drop_only=True)


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    from accord.audit.service import configure

    configured = Settings(env="test", database_url=database_url, secret_key=TEST_SECRET, login_rate_per_minute=10_000)
    configure(configured)  # checkpoints written while seeding are signed with the test key
    vault.configure(configured)
    return configured


@pytest.fixture(scope="session")
def session_factory(settings: Settings) -> Iterator[sessionmaker[Session]]:
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    factory = make_session_factory(engine)
    with factory() as db:
        seed_demo(db, settings)
        db.commit()
    yield factory
    engine.dispose()


@pytest.fixture(scope="session")
def app(settings: Settings, session_factory: sessionmaker[Session]) -> Any:
    return create_app(settings, session_factory)


@pytest.fixture
def client(app: Any) -> Iterator[TestClient]:
    app.state.login_limiter.reset()
    with TestClient(app, base_url="http://testserver") as c:
        yield c


@pytest.fixture
def db(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    with session_factory() as session:
        yield session


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


@pytest.fixture
def make_user(db: Session) -> Any:
    """Create a fresh user (so tests that lock or change accounts stay independent)."""
    from sqlalchemy import select

    from accord.accounts.service import create_user_unchecked
    from accord.directory.models import Agency

    def _make(role: str = "viewer", agency: str | None = "CCSO", password: str = DEMO_PASSWORD) -> dict[str, Any]:
        db.rollback()  # a write from an old SQLite snapshot would fail as "database is locked"
        agency_id = db.scalar(select(Agency.id).where(Agency.short_name == agency)) if agency else None
        username = unique(f"{role.replace('_', '')}-")
        user = create_user_unchecked(
            db,
            actor=system_actor("test"),
            username=username,
            display_name=f"Test {role.title()}",
            email=f"{username}@test.example",
            password=password,
            agency_id=None if role == "platform_admin" else agency_id,
            role=role,
            check_password_policy=False,
        )
        db.commit()
        return {"username": username, "password": password, "id": user.id, "agency_id": agency_id}

    return _make


def api_token(client: TestClient, username: str, password: str = DEMO_PASSWORD, otp: str | None = None) -> str:
    body: dict[str, Any] = {"username": username, "password": password}
    if otp:
        body["otp"] = otp
    response = client.post("/api/v1/auth/token", json=body)
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def as_user(client: TestClient, make_user: Any) -> Any:
    """Headers of a fresh user with ``role`` in ``agency``: ``headers, user = as_user('analyst', 'HVFC')``."""

    def _as(role: str = "viewer", agency: str | None = "CCSO") -> tuple[dict[str, str], dict[str, Any]]:
        user = make_user(role, agency)
        return bearer(api_token(client, user["username"], user["password"])), user

    return _as


CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "page has no CSRF token"
    return match.group(1)


def browser_login(client: TestClient, username: str, password: str = DEMO_PASSWORD) -> Any:
    """Sign in through the HTML form like a person; returns the final response."""
    page = client.get("/login")
    token = csrf_from(page.text)
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token, "next": "/"})


def totp_now(secret: str, offset_steps: int = 0) -> str:
    import time

    return pyotp.TOTP(secret).at(time.time() + 30 * offset_steps)


def refresh(db: Session) -> None:
    """End the test session's read transaction (SQLite keeps a snapshot until then) and
    forget loaded rows, so the next read sees what the application committed."""
    db.rollback()
    db.expire_all()


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    """The response is the documented error body with this status and code."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == {"code", "message", "fields", "request_id"}, error
    assert error["code"] == code, error
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["fields"], list)
    assert error["request_id"] == response.headers["x-request-id"]
    return dict(error)


@pytest.fixture
def run_cli(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Invoke `accord ...` against the test database; get_settings' cache is cleared around
    each call so the environment given here is what the command reads."""
    from typer.testing import CliRunner

    from accord import cli
    from accord.audit.service import configure
    from accord.config import get_settings

    monkeypatch.setattr(cli.console, "_width", 400)  # Rich must not wrap report cells
    monkeypatch.setattr(cli.err, "_width", 400)

    def _run(*args: str, env: dict[str, str | None] | None = None) -> Any:
        environ: dict[str, str | None] = {
            "ACCORD_DATABASE_URL": settings.database_url,
            "ACCORD_SECRET_KEY": settings.secret_key,
            "ACCORD_ENV": "test",
            "ACCORD_COOKIE_SECURE": None,
            **(env or {}),
        }
        get_settings.cache_clear()
        try:
            return CliRunner().invoke(cli.app, list(args), env=environ)
        finally:
            get_settings.cache_clear()
            configure(settings)  # a command may have set another checkpoint key in this process
            vault.configure(settings)

    return _run


def users_with_tokens(app: Any, session_factory: Any, specs: list[tuple[str, str, str]]) -> dict[str, Any]:
    """For module-scoped fixtures (argon2 is slow): create one user per (key, role, agency
    short name) and sign each in. Returns ``{"ids": {short name: agency id}, "h": {key:
    bearer headers}, "users": {key: username}}``."""
    from sqlalchemy import select

    from accord.accounts.service import create_user_unchecked
    from accord.directory.models import Agency
    from accord.seed import system_actor

    names: dict[str, str] = {}
    with session_factory() as db:
        ids = {a.short_name: a.id for a in db.scalars(select(Agency))}
        for key, role, agency in specs:
            names[key] = unique(f"u-{key.replace('_', '')}-")
            create_user_unchecked(
                db,
                actor=system_actor("test"),
                username=names[key],
                display_name=key,
                email="",
                password=DEMO_PASSWORD,
                agency_id=ids[agency],
                role=role,
                check_password_policy=False,
            )
        db.commit()
    with TestClient(app) as client:
        headers = {key: bearer(api_token(client, name)) for key, name in names.items()}
    return {"ids": ids, "h": headers, "users": names}
