"""Engine, sessions and column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
import weakref
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ColumnElement, DateTime, MetaData, create_engine, event, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator, Uuid

from accord.core.time import as_utc, utcnow

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in, aware UTC out, on both databases."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; Accord stores aware UTC only")
        return as_utc(value)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else as_utc(value)


# none_as_null: Python None is SQL NULL (not the JSON value null), so IS NULL filters work.
JSONType = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSONType, list[Any]: JSONType}


def contains(column: Any, term: str) -> ColumnElement[bool]:
    """Case-insensitive substring match with LIKE wildcards in ``term`` taken literally."""
    escaped = term.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return func.lower(column).like(f"%{escaped}%", escape="\\")


def new_id() -> uuid.UUID:
    return uuid.uuid4()


class IdMixin:
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite's own transaction handling breaks SAVEPOINT; let SQLAlchemy emit BEGIN.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    # Deleted content is overwritten, not left in free pages: a purged record's data key
    # must not survive in the file (crypto-shredding, docs/adr/0011).
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


# SQLite in WAL mode lets one transaction write at a time. A transaction that read first
# and writes later fails at once ("database is locked", SQLITE_BUSY_SNAPSHOT, no busy
# wait) when another one committed in between — so concurrent requests that read, then
# write would fail. Transactions opened for writing take the write lock at BEGIN
# (IMMEDIATE) and queue on busy_timeout instead; read transactions stay concurrent.
IMMEDIATE = "accord_sqlite_immediate"


def _sqlite_begin(conn: Any) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(IMMEDIATE) else "BEGIN")


_writer_binds: weakref.WeakKeyDictionary[Engine, Engine] = weakref.WeakKeyDictionary()


def is_write_conflict(exc: Exception) -> bool:
    """SQLite's "database is locked" (or busy): a write met another writer's lock."""
    text = str(getattr(exc, "orig", exc)).lower()
    return "database is locked" in text or "database is busy" in text


def writer_session(factory: sessionmaker[Session]) -> Session:
    """A session for a unit of work that writes: on SQLite its transactions begin
    IMMEDIATE (see above); elsewhere an ordinary session."""
    bind = factory.kw.get("bind")
    if not isinstance(bind, Engine) or bind.dialect.name != "sqlite":
        return factory()
    writer = _writer_binds.get(bind)
    if writer is None:
        writer = _writer_binds[bind] = bind.execution_options(**{IMMEDIATE: True})
    return factory(bind=writer)


def make_engine(url: str) -> Engine:
    """Create an engine; SQLite gets WAL, foreign keys and real transactions."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)


def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """Yield a session and always close it; the caller decides when to commit."""
    db = factory()
    try:
        yield db
    finally:
        db.close()


class days_before(FunctionElement[datetime]):
    """``at`` minus ``days`` (an integer column or value), computed by the database: the
    cut-off of a retention period. PostgreSQL subtracts an interval; SQLite, which stores
    times as ISO text, shifts the text with its date functions (millisecond precision)."""

    type = UTCDateTime()
    inherit_cache = True
    name = "days_before"


@compiles(days_before, "postgresql")
def _days_before_postgresql(element: days_before, compiler: Any, **kw: Any) -> str:
    at, days = list(element.clauses)
    return f"({compiler.process(at, **kw)} - make_interval(days => {compiler.process(days, **kw)}))"


@compiles(days_before, "sqlite")
def _days_before_sqlite(element: days_before, compiler: Any, **kw: Any) -> str:
    at, days = list(element.clauses)
    return (
        f"strftime('%Y-%m-%d %H:%M:%f', {compiler.process(at, **kw)}, '-' || {compiler.process(days, **kw)} || ' days')"
    )


@compiles(days_before)
def _days_before_generic(element: days_before, compiler: Any, **kw: Any) -> str:
    """Any other dialect, and ``str()`` of a statement (debugging, SQLAlchemy's own
    analysis of a statement's FROM list): the function call as written."""
    at, days = list(element.clauses)
    return f"days_before({compiler.process(at, **kw)}, {compiler.process(days, **kw)})"
