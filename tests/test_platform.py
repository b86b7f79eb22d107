"""Health, API description, request ids, security headers, structured logs."""

from __future__ import annotations

import json
import logging

from accord.core.logging import JsonFormatter, request_id_var


def test_healthz_checks_the_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["database"] == "ok"


def test_healthz_reports_an_unreachable_database(settings):
    from fastapi.testclient import TestClient

    from accord.app import create_app
    from accord.core.db import make_engine, make_session_factory

    broken = make_session_factory(make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=1"))
    with TestClient(create_app(settings, broken)) as client:
        response = client.get("/healthz")
    assert response.status_code == 503 and response.json()["database"] == "unreachable"


def test_openapi_and_docs(client):
    spec = client.get("/openapi.json").json()
    assert spec["info"]["title"] == "Accord API"
    assert "/api/v1/auth/token" in spec["paths"] and "/api/v1/agencies" in spec["paths"]
    assert not any(p.startswith("/directory") for p in spec["paths"])  # HTML pages stay out
    docs = client.get("/docs")
    assert docs.status_code == 200 and "/static/vendor/swagger-ui/swagger-ui-bundle.js" in docs.text


def test_every_answer_has_a_request_id_and_security_headers(client):
    response = client.get("/login")
    assert len(response.headers["x-request-id"]) == 32
    assert "script-src 'self';" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"
    assert (
        client.get("/healthz", headers={"X-Request-ID": "abc12345-trace"}).headers["x-request-id"] == "abc12345-trace"
    )


def test_errors_carry_the_request_id(client):
    response = client.get("/api/v1/agencies")
    assert response.status_code == 401
    assert response.json()["error"]["request_id"] == response.headers["x-request-id"]


def test_unknown_api_path_is_json_404(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_logs_are_json_lines_with_the_request_id():
    token = request_id_var.set("req-123")
    try:
        record = logging.LogRecord("accord.http", logging.INFO, __file__, 1, "request", None, None)
        record.status = 200
        line = json.loads(JsonFormatter().format(record))
    finally:
        request_id_var.reset(token)
    assert line["request_id"] == "req-123" and line["status"] == 200 and line["level"] == "info"
    assert line["time"].endswith("Z")


def test_production_refuses_demo_secrets():
    from accord.config import DEMO_SECRET_KEY, Settings

    assert Settings(env="production", secret_key=DEMO_SECRET_KEY).production_problems()
    assert Settings(env="production", secret_key="short").production_problems()
    assert not Settings(env="production", secret_key="x" * 40, password_hashing="standard").production_problems()
    fast = Settings(env="production", secret_key="x" * 40, password_hashing="fast").production_problems()
    assert fast == ["ACCORD_PASSWORD_HASHING=fast weakens stored passwords; it is for test suites only"]
    assert Settings(env="production").mfa_enforced and Settings(env="production").secure_cookies
    assert not Settings(env="demo").mfa_enforced


def test_paging_beyond_the_database_integer_range_is_422(client, as_user):
    headers, _ = as_user("platform_admin", None)
    for path in ("/api/v1/people", "/api/v1/users", "/api/v1/agencies", "/api/v1/audit/events"):
        response = client.get(f"{path}?offset=9223372036854775808", headers=headers)
        assert response.status_code == 422, path
        assert response.json()["error"]["fields"][0]["field"] == "offset"


def test_the_ci_entry_point_is_a_valid_shell_script():
    """CI runs `.ci/run`; a syntax error there fails every run before a test starts."""
    import pathlib
    import subprocess

    script = pathlib.Path(__file__).resolve().parents[1] / ".ci" / "run"
    checked = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stderr
    assert script.read_text().rstrip().splitlines()[-1] == "make test"
