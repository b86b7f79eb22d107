"""Live updates for signed-in users (Server-Sent Events), filtered per recipient at
delivery (ADR 14, ADR 18).

One ``Dispatcher`` per server process holds the only subscription to the broker. For each
batch of committed events it asks which of the batch's objects each client may read now:
for every (agency, role) membership of every client at once, in one statement per object
type built from the type's own ``authz`` policy (``live.visible_to_pairs``); for object
types whose rule names people, once per distinct visibility through ``authz.scope``. It
offers the admitted events to each client's own bounded queue. So the rules are the
policies' own, a revoked agreement stops delivery with the next event, and one slow
client never slows another: its queue fills and it alone is cut
off; its browser reconnects with ``Last-Event-ID`` and replays from the outbox, with the
same check, without gap or duplicate.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Hashable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from accord.authz import Actor
from accord.core import events
from accord.core.db import make_engine, make_session_factory
from accord.core.events import Event, Subscription, SubscriptionClosed
from accord.operations import live

log = logging.getLogger("accord.live")

CLIENT_QUEUE = 256  # events a client may fall behind before it is cut off
DISPATCH_QUEUE = 100_000
BATCH = 500
REPLAY_PAGE = 1_000
KEEPALIVE_SECONDS = 15.0
RECHECK_SECONDS = 30.0  # how often a stream re-checks that its session still stands


def visibility_key(actor: Actor, by_user: bool) -> Hashable:
    """Users with the same memberships (agency, role, permissions) see the same rows under
    every policy that does not name people; those that do are checked per user."""
    memberships = tuple(sorted((str(m.agency_id), m.role, tuple(sorted(m.permissions))) for m in actor.memberships))
    return (memberships, actor.user_id if by_user else None)


@dataclass(eq=False)
class LiveClient:
    actor: Actor
    subscription: Subscription
    keys: dict[bool, Hashable] = field(default_factory=dict)
    _pairs: dict[str, list[tuple[Any, str]]] = field(default_factory=dict)

    def key(self, by_user: bool) -> Hashable:
        if by_user not in self.keys:
            self.keys[by_user] = visibility_key(self.actor, by_user)
        return self.keys[by_user]

    def pairs(self, permission: str) -> list[tuple[Any, str]]:
        if permission not in self._pairs:
            self._pairs[permission] = live.membership_pairs(self.actor, permission)
        return self._pairs[permission]


class Dispatcher:
    """Fans committed events out to this process's live clients, each getting only what it
    may see. Runs as one asyncio task; the set-based check runs on the loop, per-recipient
    checks in a worker thread."""

    def __init__(self, session_factory: sessionmaker[Session], *, client_queue: int = CLIENT_QUEUE) -> None:
        self.session_factory = session_factory
        self.client_queue = client_queue
        bind = session_factory.kw.get("bind")
        self.dialect = bind.dialect.name if bind is not None else "sqlite"
        # The checks that run on the event loop use an engine of their own: waiting there
        # for a connection of the requests' pool (busy under load) would stall every stream.
        self._own_engine = make_engine(bind.url.render_as_string(hide_password=False)) if bind is not None else None
        self.check_factory = make_session_factory(self._own_engine) if self._own_engine is not None else session_factory
        self._clients: set[LiveClient] = set()
        self._task: asyncio.Task[None] | None = None
        self._source: Subscription | None = None
        self.delivered = 0
        self.checks = 0

    # -- clients -------------------------------------------------------------------------
    def connect(self, actor: Actor) -> LiveClient:
        client = LiveClient(actor, Subscription(self.client_queue, on_close=lambda _: None))
        self._clients.add(client)
        return client

    def disconnect(self, client: LiveClient) -> None:
        self._clients.discard(client)
        client.subscription.close()

    def client_count(self) -> int:
        return len(self._clients)

    # -- running -------------------------------------------------------------------------
    def start(self) -> None:
        if self._task is None:
            self._source = events.get_broker().subscribe(DISPATCH_QUEUE)
            self._task = asyncio.get_running_loop().create_task(self._run(), name="accord-live-dispatcher")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._source is not None:
            self._source.close()
        for client in list(self._clients):
            client.subscription.close(events.SHUTDOWN)
        self._clients.clear()
        if self._own_engine is not None:
            self._own_engine.dispose()

    async def _run(self) -> None:
        while True:
            source = self._source
            assert source is not None
            try:
                first = await source.get()
            except SubscriptionClosed as closed:
                # The dispatcher itself fell behind or the broker lost an event: every
                # client replays from the outbox (that is where no event is ever lost).
                log.warning("live dispatcher cut off (%s): %d clients reconnect", closed.reason, len(self._clients))
                for client in list(self._clients):
                    client.subscription.close(closed.reason)
                if closed.reason == events.SHUTDOWN:
                    return
                self._source = events.get_broker().subscribe(DISPATCH_QUEUE)
                continue
            batch = [first]
            while len(batch) < BATCH and (more := source.get_nowait()) is not None:
                batch.append(more)
            clients = [c for c in self._clients if not c.subscription.closed]
            if not clients:
                continue
            try:
                if all(live.can_check_pairs_on(self.dialect, e.object_type) for e in batch):
                    # One short indexed query: on the loop itself. A worker thread would
                    # wait for the GIL behind the loop writing the previous event to a
                    # thousand sockets (benchmarks/live_fanout.py measured both).
                    deliveries = self.admitted(batch, clients)
                else:  # per-recipient checks may take a while: off the loop
                    deliveries = await run_in_threadpool(self.admitted, batch, clients)
            except Exception:
                log.exception("live delivery check failed: clients reconnect and replay")
                for client in clients:
                    client.subscription.close(events.GAP)
                continue
            for client, admitted in deliveries:
                for event in admitted:
                    if not client.subscription.offer(event):
                        break
                self.delivered += len(admitted)

    def admitted(self, batch: list[Event], clients: list[LiveClient]) -> list[tuple[LiveClient, list[Event]]]:
        """For each client, the events of ``batch`` it may see now. Object types whose rule
        is a union over memberships: one statement for every (agency, role) pair of every
        client (``live.visible_to_pairs``). Others: one check per distinct visibility."""
        by_type: dict[str, list[Event]] = {}
        for event in batch:
            by_type.setdefault(event.object_type, []).append(event)
        allowed: dict[LiveClient, set[int]] = {client: set() for client in clients}
        with self.check_factory() as db:
            for object_type, typed in by_type.items():
                registered = live.registered(object_type)
                if registered is None:
                    continue  # nobody registered it: never delivered
                if live.can_check_pairs(db, object_type):
                    self._by_pairs(db, object_type, registered.permission, typed, clients, allowed)
                else:
                    self._by_visibility(db, typed, clients, allowed, by_user=registered.by_user)
            db.rollback()
        return [(client, [e for e in batch if e.id in allowed[client]]) for client in clients]

    def _by_pairs(
        self,
        db: Session,
        object_type: str,
        permission: str,
        typed: list[Event],
        clients: list[LiveClient],
        allowed: dict[LiveClient, set[int]],
    ) -> None:
        index: dict[tuple[Any, str], int] = {}
        wanted = []
        for client in clients:
            wanted.append([index.setdefault(pair, len(index)) for pair in client.pairs(permission)])
        if not index:
            return
        seen = live.visible_to_pairs(db, object_type, list(index), {e.object_id for e in typed})
        self.checks += 1
        for client, positions in zip(clients, wanted, strict=True):
            objects: set[str] = set()
            for position in positions:
                objects |= seen[position]
            if objects:
                allowed[client].update(e.id for e in typed if e.object_id in objects)

    def _by_visibility(
        self,
        db: Session,
        typed: list[Event],
        clients: list[LiveClient],
        allowed: dict[LiveClient, set[int]],
        *,
        by_user: bool,
    ) -> None:
        cache: dict[Hashable, set[int]] = {}
        for client in clients:
            key = client.key(by_user)
            if key not in cache:
                cache[key] = {e.id for e in live.visible_events(db, client.actor, typed)}
                self.checks += 1
            allowed[client] |= cache[key]


# -- one client's stream -----------------------------------------------------------------------
_FRAMES: OrderedDict[tuple[int, datetime], bytes] = OrderedDict()
FRAME_CACHE = 4096


def _frame(event: Event) -> bytes:
    """A data event: SSE's default type ("message"), so a browser's ``onmessage`` gets every
    kind; the kind is in the data. Named events are the stream's own controls
    (``reconnect``, ``reset``, ``signed-out``). Encoded once for all its recipients (the
    streams run on one event loop, so the cache needs no lock)."""
    key = (event.id, event.occurred_at)  # not the id alone: one process, one database, but be sure
    frame = _FRAMES.get(key)
    if frame is None:
        frame = _FRAMES[key] = b"id: %d\ndata: %s\n\n" % (event.id, event.to_json())
        if len(_FRAMES) > FRAME_CACHE:
            _FRAMES.popitem(last=False)
    return frame


def newest_id(db: Session) -> int:
    return int(db.scalar(select(func.max(events.OutboxEvent.id))) or 0)


def oldest_id(db: Session) -> int:
    return int(db.scalar(select(func.min(events.OutboxEvent.id))) or 0)


def _replay_visible(session_factory: sessionmaker[Session], actor: Actor, after_id: int) -> tuple[list[Event], bool]:
    """What ``actor`` missed after ``after_id`` and may see (all pages of it), and whether
    the outbox still reaches back that far (False: pruned; the page must reload)."""
    with session_factory() as db:
        first = oldest_id(db)
        if first and after_id < first - 1:
            return [], False
        found: list[Event] = []
        cursor = after_id
        while True:
            page = events.replay(db, cursor, REPLAY_PAGE)
            found.extend(live.visible_events(db, actor, page))
            if len(page) < REPLAY_PAGE:
                return found, True
            cursor = page[-1].id


async def stream(
    dispatcher: Dispatcher,
    actor: Actor,
    after_id: int | None,
    still_signed_in: Callable[[], bool],
) -> AsyncIterator[bytes]:
    """The bytes of one SSE response: a retry hint, what was missed since ``after_id``
    (None: from now), then live events; keep-alive comments while quiet. Ends when the
    client is cut off (it reconnects and replays), when its session ends, or at shutdown."""
    client = dispatcher.connect(actor)  # subscribe first, then replay: no gap
    try:
        yield b"retry: 2000\n\n"
        if after_id is None:
            start = await run_in_threadpool(_newest, dispatcher.session_factory)
            client.subscription.skip_through(start)
            replayed: list[Event] = []
        else:
            replayed, complete = await run_in_threadpool(_replay_visible, dispatcher.session_factory, actor, after_id)
            if not complete:
                yield b'event: reset\ndata: {"reason":"history pruned"}\n\n'
                return
        async for chunk in _live(client, replayed, still_signed_in):
            yield chunk
    finally:
        dispatcher.disconnect(client)


def _newest(session_factory: sessionmaker[Session]) -> int:
    with session_factory() as db:
        return newest_id(db)


async def _live(client: LiveClient, replayed: list[Event], still_signed_in: Callable[[], bool]) -> AsyncIterator[bytes]:
    subscription = client.subscription
    for event in replayed:
        if event.id > subscription.last_id:
            subscription.skip_through(event.id)
            yield _frame(event)
    # Spread over the interval: streams opened together (a reconnect storm after a restart)
    # must not all query at the same moment, every 30 seconds, holding up deliveries.
    recheck_at = time.monotonic() + RECHECK_SECONDS * random.uniform(0.5, 1.0)  # noqa: S311 (not a secret)
    while True:
        try:
            event = await subscription.get(timeout=KEEPALIVE_SECONDS)
        except TimeoutError:
            yield b": keep-alive\n\n"
        except SubscriptionClosed as closed:
            # Overflow, gap or shutdown: the browser reconnects with Last-Event-ID.
            yield b'event: reconnect\ndata: {"reason":"%s"}\n\n' % closed.reason.encode()
            return
        else:
            yield _frame(event)
        if time.monotonic() >= recheck_at:
            recheck_at = time.monotonic() + RECHECK_SECONDS
            if not await run_in_threadpool(still_signed_in):
                yield b"event: signed-out\ndata: {}\n\n"
                return


def parse_last_event_id(header: str | None, query: Any) -> int | None:
    """The id to resume after: the ``Last-Event-ID`` header (the browser's reconnect) wins
    over ``?after=`` (the page's first connect); None when neither is given. Raises
    ValueError naming the bad one."""
    for name, value in (("Last-Event-ID", header), ("after", query)):
        if value is None or value == "":
            continue
        text = str(value).strip()
        if not (text.isascii() and text.isdigit()) or len(text) > 18:
            raise ValueError(name)
        return int(text)
    return None
