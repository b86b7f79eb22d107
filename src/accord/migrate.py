"""Schema upgrades with Alembic, callable from the CLI and the tests."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import select
from sqlalchemy.orm import Session

from accord.authz.service import sync_builtin_roles
from accord.core.db import make_engine, make_session_factory

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str) -> None:
    """Bring the schema to the newest revision and the shipped roles up to date."""
    if database_url.startswith("sqlite:///"):
        path = Path(database_url.removeprefix("sqlite:///"))
        if str(path) != ":memory:":
            path.parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(database_url), "head")
    engine = make_engine(database_url)
    try:
        with make_session_factory(engine)() as db:
            sync_roles(db)
            db.commit()
    finally:
        engine.dispose()


def sync_roles(db: Session) -> None:
    """The shipped roles and reference data, and what older databases lack: mutual-aid
    bindings of agreements signed before they existed."""
    from accord.mutualaid.models import MutualAidBinding
    from accord.mutualaid.reference import sync_reference_types
    from accord.mutualaid.service import rebuild_bindings

    sync_builtin_roles(db)
    sync_reference_types(db)
    if db.scalar(select(MutualAidBinding.id).limit(1)) is None:
        rebuild_bindings(db)


FULLTEXT_OBJECTS = ("records_fts", "ix_records_fts")


def include_object(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    """Leave the database-specific full-text objects (FTS5 tables, GIN index), which
    migration 0004 manages by hand, out of autogenerate and drift checks."""
    return not (name or "").startswith(FULLTEXT_OBJECTS)
