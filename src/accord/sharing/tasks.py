"""Scheduled jobs of the sharing module, each its own unit of work."""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session, sessionmaker

from accord.sharing.retention import purge_expired
from accord.vault import service as vault

log = logging.getLogger("accord.sharing.tasks")


def purge_task(session_factory: sessionmaker[Session]) -> int:
    """Purge every record past its agency's retention period, in batches of one
    transaction each; returns how many were purged."""
    total = 0
    while True:
        with session_factory() as db:
            result = purge_expired(db, actor=None, username="scheduler")
            db.commit()
            if result.keys_destroyed:
                vault.scrub(db)
        total += result.purged
        if result.purged == 0:
            break
    if total:
        log.info("retention purge removed %d records", total)
    return total
