"""Writing audit events into the hash chain. Callers pass the session of the change they
record; the events wait on that session and are chained when it commits, in the same
transaction, so an event commits or rolls back with its change (a rolled-back savepoint
takes its events with it).

Chaining happens at commit on purpose: appenders lock the one chain-head row, and
holding that lock only for the few statements of a commit keeps concurrent writers from
queueing behind each other's whole request, while no two can fork the chain.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Table, insert, select, update
from sqlalchemy import event as sa_event
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, SessionTransaction

from accord.audit import chain
from accord.audit.models import AuditChainHead, AuditCheckpoint, AuditEvent
from accord.audit.signing import Signer, signer_for
from accord.authz.actor import Actor
from accord.config import Settings, get_settings
from accord.core.db import new_id
from accord.core.errors import AuditUnavailable
from accord.core.logging import request_id_var
from accord.core.time import utcnow

OUTCOMES = ("success", "failure", "denied")
CHECKPOINT_EVERY = 1000  # events
CHECKPOINT_SECONDS = 60
HEAD_ID = 1
_PENDING = "accord.audit.pending"
_FAILED = "accord.audit.failed"


def record_event(
    db: Session,
    *,
    actor: Actor | None,
    action: str,
    outcome: str = "success",
    agency_id: uuid.UUID | None = None,
    object_type: str | None = None,
    object_id: uuid.UUID | str | None = None,
    details: dict[str, Any] | None = None,
    username: str | None = None,
    client_addr: str | None = None,
    clause_id: uuid.UUID | None = None,
) -> uuid.UUID:
    """Queue one event on ``db``'s current transaction and return its id. The event is a
    plain row (the columns of ``audit_events``), not an ORM instance: building the
    instance's instrumented attributes cost more than hashing and inserting the row."""
    if outcome not in OUTCOMES:
        raise ValueError(f"audit outcome must be one of {OUTCOMES}")
    event_id = new_id()
    row: dict[str, Any] = {
        "id": event_id,
        "occurred_at": utcnow(),
        "actor_user_id": actor.user_id if actor else None,
        "actor_username": (actor.username if actor and actor.user_id else None) or username or "anonymous",
        "actor_agency_id": actor.primary_agency_id if actor else None,
        "agency_id": agency_id if agency_id is not None else (actor.primary_agency_id if actor else None),
        "action": action,
        "outcome": outcome,
        "object_type": object_type,
        "object_id": str(object_id) if object_id is not None else None,
        "clause_id": clause_id,
        "client_addr": client_addr or (actor.client_addr if actor else None),
        "request_id": request_id_var.get(),
        "details": details or {},
    }
    transaction = db.get_nested_transaction() or db.get_transaction() or db.begin()
    db.info.setdefault(_PENDING, []).append((transaction, row))
    return event_id


_configured: list[Signer] = []


def configure(settings: Settings) -> None:
    """Sign checkpoints with the key of ``settings`` in this process (the app and the CLI
    call it at start; without it the environment's settings are used)."""
    _configured[:] = [signer_for(settings)]


def current_signer() -> Signer:
    if not _configured:
        configure(get_settings())
    return _configured[0]


def _within(transaction: SessionTransaction | None, ancestor: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is ancestor:
            return True
        transaction = transaction.parent
    return False


@sa_event.listens_for(Session, "after_soft_rollback")
def _forget_rolled_back(db: Session, previous_transaction: SessionTransaction) -> None:
    pending = db.info.get(_PENDING)
    if pending:
        db.info[_PENDING] = [(t, e) for t, e in pending if not _within(t, previous_transaction)]


@sa_event.listens_for(Session, "after_transaction_end")
def _alert_after_failed_write(db: Session, transaction: SessionTransaction) -> None:
    """The failed transaction is over and its locks are gone: now the alert can be stored."""
    if transaction.parent is None and _FAILED in db.info:
        from accord.audit.alerts import raise_alert

        raise_alert(db.get_bind(), kind="audit_write_failed", message=db.info.pop(_FAILED))


@sa_event.listens_for(Session, "before_commit")
def _chain_pending(db: Session) -> None:
    pending = db.info.pop(_PENDING, None)
    if not pending:
        return
    try:
        append(db, [e for _, e in pending])
    except Exception as exc:
        # A change whose audit event cannot be written must not commit: refuse it (503),
        # and tell the platform administrators through a channel that does not need the
        # log, once the failed transaction has let go of its locks (after_transaction_end).
        # Database errors carry the statement and its values: name the error class only.
        reason = exc.__class__.__name__ + ("" if isinstance(exc, SQLAlchemyError) else f": {exc}")
        db.info[_FAILED] = (
            f"{len(pending)} audit event(s) could not be written ({reason}); the change they recorded was refused"
        )
        raise AuditUnavailable() from exc


_HEAD = AuditChainHead.__table__
_EVENTS = AuditEvent.__table__
assert isinstance(_HEAD, Table) and isinstance(_EVENTS, Table)
# The statements of every append, built once: building and fingerprinting them for the
# compiled cache on each commit cost more than running them. Their parameters name the
# columns they set.
_LOCK_HEAD = (
    update(_HEAD)
    .where(_HEAD.c.id == HEAD_ID)
    .returning(_HEAD.c.size, _HEAD.c.head_hash, _HEAD.c.frontier, _HEAD.c.checkpointed_at)
)
_STORE_HEAD = update(_HEAD).where(_HEAD.c.id == HEAD_ID)
_INSERT_EVENTS = insert(_EVENTS)


def append(db: Session, events: list[dict[str, Any]]) -> None:
    """Chain ``events`` after the current head and write them (and a checkpoint when one
    is due). The head row's UPDATE takes its lock first: PostgreSQL queues concurrent
    appenders on it, SQLite takes its single write lock.

    The events (rows from ``record_event``) get their position and hashes here and are
    INSERTed in chain order (so ``seq`` follows ``chain_index``) by one executemany.
    The statements run on the session's connection directly: the session's own execute
    path cost more than the statements when each commit records one event."""
    now = utcnow()
    connection = db.connection()
    locked = connection.execute(_LOCK_HEAD, {"updated_at": now}).one_or_none()
    if locked is None:
        raise RuntimeError("the audit chain head is missing: audit events cannot be written")
    size, head, checkpointed_at = int(locked.size), str(locked.head_hash), locked.checkpointed_at
    frontier = [(int(n), bytes.fromhex(h)) for n, h in locked.frontier or []]
    for row in events:
        row["chain_index"], row["prev_hash"] = size, head
        row["hash"] = head = chain.event_hash(head, row)
        chain.push_leaf(frontier, chain.leaf_hash(head))
        size += 1
    connection.execute(_INSERT_EVENTS, events[0] if len(events) == 1 else events)
    values: dict[str, Any] = {"size": size, "head_hash": head, "frontier": [[n, h.hex()] for n, h in frontier]}
    due = size // CHECKPOINT_EVERY > (size - len(events)) // CHECKPOINT_EVERY or (
        checkpointed_at is None or (now - checkpointed_at).total_seconds() >= CHECKPOINT_SECONDS
    )
    if due:
        _checkpoint(db, size, chain.frontier_root(frontier).hex(), head, now)
        values["checkpointed_at"] = now
        db.flush()
    connection.execute(_STORE_HEAD, values)


def _checkpoint(db: Session, size: int, root: str, head: str, now: Any) -> AuditCheckpoint:
    signer = current_signer()
    statement = checkpoint_statement(size, root, head, now)
    checkpoint = AuditCheckpoint(
        tree_size=size,
        root_hash=root,
        head_hash=head,
        signed_at=now,
        key_id=signer.key_id,
        signature=signer.sign(statement),
    )
    db.add(checkpoint)
    return checkpoint


def checkpoint_statement(size: int, root: str, head: str, signed_at: Any) -> dict[str, Any]:
    """What a checkpoint's signature covers."""
    return {"tree_size": size, "root_hash": root, "head_hash": head, "signed_at": chain._plain(signed_at)}


def checkpoint_now(db: Session) -> AuditCheckpoint | None:
    """Sign the chain as it stands, if it grew since the last checkpoint (CLI and tasks)."""
    head = db.execute(select(AuditChainHead).where(AuditChainHead.id == HEAD_ID).with_for_update()).scalar_one()
    last = db.scalar(select(AuditCheckpoint.tree_size).order_by(AuditCheckpoint.tree_size.desc()).limit(1))
    if head.size in (0, last):
        return None
    frontier = [(int(n), bytes.fromhex(h)) for n, h in head.frontier or []]
    now = utcnow()
    checkpoint = _checkpoint(db, head.size, chain.frontier_root(frontier).hex(), head.head_hash, now)
    head.checkpointed_at = now
    db.flush()
    return checkpoint
