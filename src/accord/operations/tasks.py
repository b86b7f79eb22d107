"""Scheduled jobs of joint operations, each its own unit of work."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from accord.core import events
from accord.core.db import writer_session
from accord.core.time import utcnow

log = logging.getLogger("accord.operations.tasks")


def live_history_task(session_factory: sessionmaker[Session], *, keep_hours: int) -> int:
    """Write the outbox's pending ``published_at`` marks and drop live events older than
    ``keep_hours`` (a browser away longer reloads its page instead of replaying)."""
    with writer_session(session_factory) as db:  # it reads, then writes: a writer on SQLite
        events.flush_published_marks(db)
        pruned = events.prune(db, before=utcnow() - timedelta(hours=keep_hours))
        db.commit()
    if pruned:
        log.info("live history: %d old events pruned", pruned)
    return pruned
