"""The outbox: ``emit`` records a live event in the caller's transaction; the event is
written when that transaction commits and handed to the broker after the commit.

Ids in commit order. An SSE client resumes with ``Last-Event-ID`` and replays ``id > N``
from this table, so an id must never become visible after a higher one: a row inserted
early by a transaction that commits late would be skipped for good. So the rows are
inserted at commit (``before_commit``), under a lock that the commit releases: SQLite's
single write lock, or on PostgreSQL a transaction-level advisory lock on the table. Ids
therefore follow commit order, and the committed ids form a prefix (PostgreSQL may leave
a hole where a commit failed; holes are never filled). Each event also carries the id
committed just before it (``prev_id``), read under the same lock, so a receiver fed by
several processes can tell a late event from a hole. This needs READ COMMITTED, the
PostgreSQL default.

The lock is held from the insert to the end of the commit, like the audit chain's head
row; this listener runs first at every commit (``insert=True``), so any process takes the
two locks in the same order.

Publication. After the root transaction commits (``after_commit``), its events go to the
broker; nothing is published for a rolled-back transaction, and a rolled-back SAVEPOINT
drops the events emitted inside it (``after_soft_rollback``, as ``audit.service`` does).
Transactions of one process may finish their commits in another order than they wrote
their rows: a ``Sequencer`` releases batches in the order they were written, so each
process publishes its events in id order.

``published_at`` is set once the broker has accepted the event. It is written lazily, in
the next commit of this process that writes events (or by ``flush_published_marks``), so
publishing never costs a write transaction of its own.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, delete, func, insert, select, text, update
from sqlalchemy import event as sa_event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, SessionTransaction

from accord.core.events.broker import Broker, broker_for
from accord.core.events.hub import Event
from accord.core.events.models import OutboxEvent
from accord.core.time import utcnow

log = logging.getLogger("accord.events")

MAX_PAYLOAD_BYTES = 4096
MAX_REPLAY = 10_000
KIND_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")  # incident.updated
OBJECT_TYPE_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_PENDING = "accord.events.pending"  # [(transaction, row)] emitted, not yet written
_BATCH = "accord.events.batch"  # written at this commit, published after it
_MARKS = "accord.events.marks"  # published_at marks written in this transaction

_TABLE = OutboxEvent.__table__
assert isinstance(_TABLE, Table)
_COLUMNS = (
    _TABLE.c.id,
    _TABLE.c.kind,
    _TABLE.c.object_type,
    _TABLE.c.object_id,
    _TABLE.c.occurred_at,
    _TABLE.c.agency_id,
    _TABLE.c.payload,
)
_INSERT = insert(_TABLE).returning(_TABLE.c.id, sort_by_parameter_order=True)
_PREVIOUS = select(func.max(_TABLE.c.id)).where(_TABLE.c.id < bindparam("first_id"))
_MARK = update(_TABLE).where(_TABLE.c.id == bindparam("mark_id")).values(published_at=bindparam("mark_at"))
_PG_LOCK = text("SELECT pg_advisory_xact_lock(CAST(CAST(CAST('event_outbox' AS regclass) AS oid) AS bigint))")


# -- emitting -----------------------------------------------------------------------------
def emit(
    db: Session,
    *,
    kind: str,
    object_type: str,
    object_id: str | uuid.UUID,
    agency_id: uuid.UUID | None = None,
    payload: dict[str, Any] | None = None,
) -> int | None:
    """Record a live event in ``db``'s current transaction (or SAVEPOINT). Nothing is
    written or published now: the row is inserted when the transaction commits, which
    gives it its id (in commit order), and published after the commit. So it returns
    None: no id exists yet (the ``int | None`` type is the one callers were promised).
    ``payload`` is small JSON (at most ``MAX_PAYLOAD_BYTES``) without secrets; recipients
    re-read the object through ``authz.scope``. Raises ValueError on a malformed event."""
    if not KIND_RE.match(kind) or len(kind) > 100:
        raise ValueError(f"event kind must look like 'incident.updated' (at most 100 characters), not {kind!r}")
    if not OBJECT_TYPE_RE.match(object_type) or len(object_type) > 60:
        raise ValueError(f"object_type must be a lower-case identifier (at most 60 characters), not {object_type!r}")
    object_key = str(object_id)
    if not object_key or len(object_key) > 64:
        raise ValueError("object_id must have 1 to 64 characters")
    body = dict(payload or {})
    try:
        encoded = json.dumps(body, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"event payload must be plain JSON: {exc}") from None
    if len(encoded.encode()) > MAX_PAYLOAD_BYTES:
        raise ValueError(f"event payload is larger than {MAX_PAYLOAD_BYTES} bytes: send ids, not content")
    row: dict[str, Any] = {
        "occurred_at": utcnow(),
        "kind": kind,
        "object_type": object_type,
        "object_id": object_key,
        "agency_id": agency_id,
        "payload": json.loads(encoded),  # a copy the caller cannot change any more
    }
    transaction = db.get_nested_transaction() or db.get_transaction() or db.begin()
    db.info.setdefault(_PENDING, []).append((transaction, row))
    return None


def replay(db: Session, after_id: int, limit: int) -> list[Event]:
    """Committed events with ``id > after_id``, in id order, at most ``limit`` (for a
    client resuming from ``Last-Event-ID``). If ``limit`` rows come back there may be more:
    ask again after the last one."""
    if after_id < 0:
        raise ValueError("after_id must not be negative")
    if not 1 <= limit <= MAX_REPLAY:
        raise ValueError(f"limit must be between 1 and {MAX_REPLAY}")
    rows = db.execute(select(*_COLUMNS).where(_TABLE.c.id > after_id).order_by(_TABLE.c.id).limit(limit)).all()
    if not rows:
        return []
    prev: int | None = db.scalar(_PREVIOUS, {"first_id": rows[0].id})
    events = []
    for row in rows:
        events.append(
            Event(
                id=row.id,
                prev_id=prev,
                kind=row.kind,
                object_type=row.object_type,
                object_id=row.object_id,
                occurred_at=row.occurred_at,
                agency_id=row.agency_id,
                payload=dict(row.payload or {}),
            )
        )
        prev = row.id
    return events


def flush_published_marks(db: Session) -> int:
    """Write the ``published_at`` marks this process still holds for ``db``'s database in
    ``db``'s transaction (the caller commits); returns how many. Commits that write
    events do this on their own; a periodic task may call it when events are rare."""
    key = _database_key(db)
    taken = _marks.take(key)
    if taken:
        _write_marks(db, key, taken)
    return len(taken)


# -- the process's broker -------------------------------------------------------------------
_broker: Broker | None = None
_broker_lock = threading.Lock()


def set_broker(broker: Broker | None) -> Broker | None:
    """Publish this process's events through ``broker`` (None: back to the default, built
    from the settings on first use). Returns the broker used before, for the caller to
    close or restore."""
    global _broker
    with _broker_lock:
        previous, _broker = _broker, broker
    return previous


def get_broker() -> Broker:
    """The process's broker: NATS JetStream when ``ACCORD_NATS_URL`` is set, else in-process."""
    global _broker
    with _broker_lock:
        if _broker is None:
            from accord.config import get_settings

            _broker = broker_for(get_settings())
        return _broker


def configure(settings: object) -> Broker:
    """At start-up: the broker for ``settings``, installed for this process (the previous
    one, if any, is closed)."""
    broker = broker_for(settings)
    previous = set_broker(broker)
    if previous is not None and previous is not broker:
        previous.close()
    return broker


# -- publishing in id order -------------------------------------------------------------------
@dataclass(eq=False)
class Batch:
    """The events one transaction wrote at its commit."""

    key: str
    events: list[Event]
    registered_at: float = field(default_factory=time.monotonic)
    committed: bool | None = None  # None until the transaction ends
    abandoned: bool = False


class Sequencer:
    """Releases committed batches of one database in the order they were written.

    Batches are registered under the database's write lock, so in id order; a batch
    waits for the batches registered before it to end (commit or roll back). A batch
    whose transaction never ends (its commit failed and the session was left without a
    rollback or close) stops holding the others back after ``stall_seconds``."""

    def __init__(self, publish: Callable[[str, Event], None], stall_seconds: float = 5.0) -> None:
        self._publish = publish
        self.stall_seconds = stall_seconds
        self._lock = threading.Lock()
        self._queues: dict[str, deque[Batch]] = {}

    def register(self, key: str, events: list[Event]) -> Batch:
        batch = Batch(key, events)
        with self._lock:
            self._queues.setdefault(key, deque()).append(batch)
        return batch

    def resolve(self, batch: Batch, *, committed: bool) -> None:
        with self._lock:
            batch.committed = committed
            if batch.abandoned:
                if committed:
                    log.warning("events %d-%d committed late: published out of order", *_span(batch))
                    self._send(batch)
                return
            queue = self._queues.get(batch.key)
            now = time.monotonic()
            while queue:
                head = queue[0]
                if head.committed is None:
                    if len(queue) == 1 or now - head.registered_at < self.stall_seconds:
                        break
                    head.abandoned = True
                    log.warning("events %d-%d: their transaction did not end; later events go first", *_span(head))
                queue.popleft()
                if head.committed:
                    self._send(head)
            if not queue:
                self._queues.pop(batch.key, None)

    def pending(self, key: str) -> int:
        with self._lock:
            return len(self._queues.get(key, ()))

    def _send(self, batch: Batch) -> None:
        for event in batch.events:
            try:
                self._publish(batch.key, event)
            except Exception:  # the change is committed; the client will replay
                log.exception("event %d could not be handed to the broker", event.id)


def _span(batch: Batch) -> tuple[int, int]:
    return batch.events[0].id, batch.events[-1].id


class _Marks:
    """Ids the broker accepted and their time, per database, until a commit writes them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: dict[str, list[tuple[int, datetime]]] = {}

    def add(self, key: str, event: Event) -> None:
        with self._lock:
            self._pending.setdefault(key, []).append((event.id, utcnow()))

    def take(self, key: str, limit: int = 1000) -> list[tuple[int, datetime]]:
        with self._lock:
            pending = self._pending.get(key)
            if not pending:
                return []
            taken, self._pending[key] = pending[:limit], pending[limit:]
            return taken

    def give_back(self, key: str, marks: list[tuple[int, datetime]]) -> None:
        with self._lock:
            self._pending[key] = marks + self._pending.get(key, [])


_marks = _Marks()


def _publish(key: str, event: Event) -> None:
    stamped = dataclasses.replace(event, published_at=utcnow())
    get_broker().publish(stamped, on_accepted=functools.partial(_marks.add, key))


sequencer = Sequencer(_publish)


# -- the session's transaction -------------------------------------------------------------
def _database_key(db: Session) -> str:
    bind = db.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    return engine.url.render_as_string(hide_password=True)


def _within(transaction: SessionTransaction | None, ancestor: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is ancestor:
            return True
        transaction = transaction.parent
    return False


def _write_marks(db: Session, key: str, marks: list[tuple[int, datetime]]) -> None:
    db.connection().execute(_MARK, [{"mark_id": event_id, "mark_at": at} for event_id, at in marks])
    db.info.setdefault(_MARKS, []).append((key, marks))


@sa_event.listens_for(Session, "after_soft_rollback")
def _forget_rolled_back(db: Session, previous_transaction: SessionTransaction) -> None:
    pending = db.info.get(_PENDING)
    if pending:
        db.info[_PENDING] = [(t, row) for t, row in pending if not _within(t, previous_transaction)]


@sa_event.listens_for(Session, "before_commit", insert=True)
def _write_pending(db: Session) -> None:
    if db.in_nested_transaction():
        return  # a SAVEPOINT released: its events wait for the outer transaction
    pending = db.info.pop(_PENDING, None)
    if not pending:
        return
    db.flush()  # the change itself first, so the lock below is held for as short as can be
    key = _database_key(db)
    connection = db.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(_PG_LOCK)  # until the commit: ids in commit order
    rows = [row for _, row in pending]
    ids = list(connection.execute(_INSERT, rows).scalars())
    first = min(ids)
    prev: int | None = connection.scalar(_PREVIOUS, {"first_id": first})
    events = []
    for event_id, row in sorted(zip(ids, rows, strict=True), key=lambda pair: pair[0]):
        events.append(Event(id=event_id, prev_id=prev, **row))
        prev = event_id
    db.info[_BATCH] = sequencer.register(key, events)
    marks = _marks.take(key)
    if marks:
        _write_marks(db, key, marks)


@sa_event.listens_for(Session, "after_commit")
def _publish_committed(db: Session) -> None:
    if db.in_nested_transaction():
        return
    db.info.pop(_MARKS, None)
    if db.info.pop(_PENDING, None):  # emitted after this commit's before_commit ran
        log.error("events emitted during a commit were not written (emit them before committing)")
    batch = db.info.pop(_BATCH, None)
    if batch is not None:
        sequencer.resolve(batch, committed=True)


@sa_event.listens_for(Session, "after_transaction_end")
def _forget_failed_commit(db: Session, transaction: SessionTransaction) -> None:
    """The root transaction ended without ``after_commit``: its commit failed."""
    if transaction.parent is not None:
        return
    batch = db.info.pop(_BATCH, None)
    if batch is not None:
        sequencer.resolve(batch, committed=False)
    for key, marks in db.info.pop(_MARKS, []):
        _marks.give_back(key, marks)


def prune(db: Session, *, before: datetime) -> int:
    """Delete events that occurred before ``before`` (in ``db``'s transaction; the caller
    commits), always keeping the newest, so a reconnecting client can tell "nothing new"
    from "your history is gone". Returns how many rows went."""
    newest = db.scalar(select(func.max(_TABLE.c.id)))
    if newest is None:
        return 0
    result = db.execute(delete(OutboxEvent).where(_TABLE.c.occurred_at < before, _TABLE.c.id < newest))
    return int(getattr(result, "rowcount", 0) or 0)
