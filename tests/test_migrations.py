"""The migrations build exactly the models' schema, and the audit table is append-only."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from accord.core.db import make_engine
from accord.migrate import include_object
from accord.models import metadata


def test_fresh_upgrade_matches_models_without_drift(session_factory, settings):
    engine = make_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True, "include_object": include_object})
            diff = compare_metadata(context, metadata)
    finally:
        engine.dispose()
    assert diff == []


def test_upgrade_is_idempotent(session_factory, settings):
    from accord.migrate import upgrade

    upgrade(settings.database_url)
    upgrade(settings.database_url)


@pytest.mark.parametrize("statement", ["UPDATE audit_events SET action = 'forged'", "DELETE FROM audit_events"])
def test_audit_events_refuse_update_and_delete(db, statement):
    assert db.scalar(text("SELECT count(*) FROM audit_events")) > 0
    with pytest.raises(DBAPIError, match="append-only"):
        db.execute(text(statement))
    db.rollback()
