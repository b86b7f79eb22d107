"""The outbox table: live events written in the transaction of the change they report."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from accord.core.db import Base
from accord.core.time import utcnow


class OutboxEvent(Base):
    """One live event. ``id`` is the SSE event id: rows get it at commit, in commit order
    (see ``outbox``), so ``id > last seen`` is exactly what a reconnecting client missed.
    The payload is small and holds no secrets: recipients re-read the object through
    ``authz.scope`` before anything of it is shown."""

    __tablename__ = "event_outbox"
    # AUTOINCREMENT on SQLite: ids are never reused, even after old rows are pruned.
    __table_args__ = {"sqlite_autoincrement": True}

    # Integer on SQLite so it is the rowid alias; BIGINT (serial) on PostgreSQL.
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(String(100))  # e.g. incident.updated
    object_type: Mapped[str] = mapped_column(String(60))
    object_id: Mapped[str] = mapped_column(String(64))
    # The agency that owns the object (None: platform-wide).
    agency_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # When the broker accepted the event (in-process: handed to the hub; NATS: acknowledged
    # by JetStream). Written lazily, by the next commit of the process that emits events.
    published_at: Mapped[datetime | None] = mapped_column()
