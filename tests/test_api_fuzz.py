"""Schemathesis generates requests from our own OpenAPI description: whatever it sends,
valid or not, the API must never answer 5xx, and its answers must match the schema."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis import checks

from tests.conftest import api_token, bearer

schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.fixture(scope="module")
def api_schema(app):
    return schemathesis.openapi.from_asgi("/openapi.json", app)


@pytest.fixture(scope="module")
def admin_headers(app, make_module_user):
    from fastapi.testclient import TestClient

    user = make_module_user("platform_admin", None)
    with TestClient(app) as client:
        return bearer(api_token(client, user["username"]))


@pytest.fixture(scope="module")
def make_module_user(session_factory):
    from accord.accounts.service import create_user_unchecked
    from accord.seed import DEMO_PASSWORD, system_actor
    from tests.conftest import unique

    def _make(role, agency):
        with session_factory() as db:
            username = unique("fuzz-")
            create_user_unchecked(
                db,
                actor=system_actor("test"),
                username=username,
                display_name="Fuzz",
                email="",
                password=DEMO_PASSWORD,
                agency_id=None,
                role=role,
                check_password_policy=False,
            )
            db.commit()
        return {"username": username}

    return _make


# The live stream (Server-Sent Events) holds its answer open: each generated request waited
# for the client's timeout (50 s of the run); tests/test_live.py covers its inputs.
@schema.exclude(path="/api/v1/live").parametrize()
# No shrinking: a failure prints its reproducing curl command, and the run stays short. Six
# generated cases per operation (plus the explicit examples) on each database: with 200
# operations, twelve took a quarter of the suite's 15-minute budget.
@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
)
def test_api_never_answers_5xx(case, admin_headers, app):
    app.state.login_limiter.reset()
    headers = {} if case.operation.path == "/api/v1/auth/token" else admin_headers
    response = case.call(headers=headers)
    case.validate_response(response, checks=[checks.not_a_server_error])
