"""Events in memory: the ``Event`` value, subscriptions with bounded queues, the hub that
fans events out to them, and the reorderer that puts events from several publishers
back in id order.

Threads and loops: events are offered from any thread (the committing request's worker
thread, or the NATS client's thread) and never block there; a subscription is consumed
by one asyncio task (an SSE handler), woken through ``loop.call_soon_threadsafe``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import uuid
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Any

log = logging.getLogger("accord.events")

DEFAULT_MAXSIZE = 1000

# Why a subscription ended (``Subscription.reason`` and ``SubscriptionClosed.reason``).
OVERFLOW = "overflow"  # its consumer fell ``maxsize`` events behind and was cut off
GAP = "gap"  # an event never reached this process: live delivery cannot be gap-free
SHUTDOWN = "shutdown"  # the broker closed
CLOSED = "closed"  # its owner closed it


@dataclass(frozen=True, slots=True)
class Event:
    """A committed outbox row. ``id`` is the SSE event id. ``prev_id`` is the id of the
    event committed just before this one (None when unknown); a receiver uses it to tell
    "a lower id is still on its way" from "there is no lower id". Treat ``payload`` as
    read-only."""

    id: int
    kind: str
    object_type: str
    object_id: str
    occurred_at: datetime
    agency_id: uuid.UUID | None = None
    payload: dict[str, Any] = field(default_factory=dict)
    prev_id: int | None = None
    # When the committing process handed it to the broker (None for events replayed
    # from the outbox): receivers measure delivery from here.
    published_at: datetime | None = None

    def to_json(self) -> bytes:
        return json.dumps(
            {
                "id": self.id,
                "prev_id": self.prev_id,
                "kind": self.kind,
                "object_type": self.object_type,
                "object_id": self.object_id,
                "agency_id": str(self.agency_id) if self.agency_id else None,
                "occurred_at": self.occurred_at.isoformat(),
                "published_at": self.published_at.isoformat() if self.published_at else None,
                "payload": self.payload,
            },
            separators=(",", ":"),
        ).encode()

    @classmethod
    def from_json(cls, data: bytes | str) -> Event:
        raw = json.loads(data)
        return cls(
            id=int(raw["id"]),
            prev_id=None if raw.get("prev_id") is None else int(raw["prev_id"]),
            kind=str(raw["kind"]),
            object_type=str(raw["object_type"]),
            object_id=str(raw["object_id"]),
            agency_id=uuid.UUID(raw["agency_id"]) if raw.get("agency_id") else None,
            occurred_at=datetime.fromisoformat(raw["occurred_at"]),
            payload=dict(raw.get("payload") or {}),
            published_at=datetime.fromisoformat(raw["published_at"]) if raw.get("published_at") else None,
        )


class SubscriptionClosed(Exception):
    """The subscription ended; ``reason`` says why. After ``overflow`` or ``gap`` the
    client reconnects with ``Last-Event-ID`` and the outbox replays what it missed."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"subscription closed: {reason}")
        self.reason = reason


class Subscription:
    """A bounded queue of events for one consumer (one asyncio task at a time).

    ``offer`` (any thread) never blocks: when the queue already holds ``maxsize`` events
    the subscription is cut off instead (``reason == "overflow"``), its queue emptied, and
    its consumer gets ``SubscriptionClosed`` at the next ``get``. Ids only go up: an event
    whose id is not above every id queued or yielded so far is dropped, so a consumer never
    sees an id twice, nor a lower one after a higher one.

    Use it as a context manager (or call ``close``) so the hub forgets it."""

    def __init__(
        self,
        maxsize: int = DEFAULT_MAXSIZE,
        *,
        after_id: int = 0,
        on_close: Callable[[Subscription], None] | None = None,
    ) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        self.maxsize = maxsize
        self._lock = threading.Lock()
        self._items: deque[Event] = deque()
        self._floor = after_id  # the highest id queued, yielded or skipped
        self._last_id = after_id  # the highest id yielded or skipped
        self._reason: str | None = None
        self._waiter: tuple[asyncio.AbstractEventLoop, asyncio.Future[None]] | None = None
        self._on_close = on_close

    # -- state -----------------------------------------------------------------------
    @property
    def closed(self) -> bool:
        return self._reason is not None

    @property
    def reason(self) -> str | None:
        """None while open; else OVERFLOW, GAP, SHUTDOWN or CLOSED."""
        return self._reason

    @property
    def last_id(self) -> int:
        """The highest id this subscription has yielded (or skipped through)."""
        return self._last_id

    def pending(self) -> int:
        return len(self._items)

    # -- producer side ---------------------------------------------------------------
    def offer(self, event: Event) -> bool:
        """Queue ``event`` without blocking. False when the subscription is closed (by
        this offer, if it found the queue full)."""
        with self._lock:
            if self._reason is not None:
                return False
            if event.id <= self._floor:
                return True  # a duplicate, or older than what the consumer already has
            if len(self._items) >= self.maxsize:
                self._end_locked(OVERFLOW)
                return False
            self._items.append(event)
            self._floor = event.id
            self._wake_locked()
            return True

    def skip_through(self, event_id: int) -> None:
        """The consumer already has everything up to ``event_id`` (from a replay): drop
        those from the queue and never yield them."""
        with self._lock:
            self._last_id = max(self._last_id, event_id)
            self._floor = max(self._floor, event_id)
            while self._items and self._items[0].id <= event_id:
                self._items.popleft()

    def close(self, reason: str = CLOSED) -> None:
        """End the subscription (idempotent) and tell its hub."""
        with self._lock:
            if self._reason is None:
                self._end_locked(reason)
        if self._on_close is not None:
            callback, self._on_close = self._on_close, None
            callback(self)

    def _end_locked(self, reason: str) -> None:
        self._reason = reason
        self._items.clear()  # the client replays from the outbox when it reconnects
        self._wake_locked()

    def _wake_locked(self) -> None:
        if self._waiter is None:
            return
        loop, future = self._waiter
        self._waiter = None
        try:
            if asyncio._get_running_loop() is loop:  # offered on the consumer's own loop:
                loop.call_soon(_resolve, future)  # no self-pipe write needed
            else:
                loop.call_soon_threadsafe(_resolve, future)
        except RuntimeError:  # the consumer's loop is gone: nobody reads this any more
            self._reason = self._reason or CLOSED
            self._items.clear()

    # -- consumer side ---------------------------------------------------------------
    def get_nowait(self) -> Event | None:
        """The next event, or None when none is queued; SubscriptionClosed once closed."""
        with self._lock:
            if self._reason is not None:
                raise SubscriptionClosed(self._reason)
            if not self._items:
                return None
            event = self._items.popleft()
            self._last_id = event.id
            return event

    async def get(self, timeout: float | None = None) -> Event:
        """Wait for the next event. Raises SubscriptionClosed when the subscription ends
        and TimeoutError after ``timeout`` seconds without an event (the SSE handler's
        cue to send a keep-alive comment)."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while True:
            with self._lock:
                if self._reason is not None:
                    raise SubscriptionClosed(self._reason)
                if self._items:
                    event = self._items.popleft()
                    self._last_id = event.id
                    return event
                future: asyncio.Future[None] = loop.create_future()
                self._waiter = (loop, future)
            try:
                remaining = None if deadline is None else max(0.0, deadline - loop.time())
                await asyncio.wait_for(future, remaining)
            finally:
                with self._lock:
                    if self._waiter is not None and self._waiter[1] is future:
                        self._waiter = None

    def __aiter__(self) -> AsyncIterator[Event]:
        return self

    async def __anext__(self) -> Event:
        return await self.get()  # SubscriptionClosed ends the iteration, visibly

    def __enter__(self) -> Subscription:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class Hub:
    """The subscriptions of one process. ``publish`` offers an event to each, in the
    caller's thread, under one lock (so every subscription sees events in the order they
    were published) and without waiting on any consumer."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._subscriptions: set[Subscription] = set()

    def subscribe(self, maxsize: int = DEFAULT_MAXSIZE) -> Subscription:
        subscription = Subscription(maxsize, on_close=self._forget)
        with self._lock:
            self._subscriptions.add(subscription)
        return subscription

    def publish(self, event: Event) -> None:
        with self._lock:
            overflowed = [s for s in self._subscriptions if not s.offer(event)]
            self._subscriptions.difference_update(overflowed)
        for subscription in overflowed:
            if subscription.reason == OVERFLOW:
                log.warning("live subscriber cut off: %d events behind", subscription.maxsize)

    def cut_off_all(self, reason: str) -> int:
        """Close every subscription (their clients reconnect and replay); returns how many."""
        with self._lock:
            subscriptions, self._subscriptions = self._subscriptions, set()
        for subscription in subscriptions:
            subscription.close(reason)
        return len(subscriptions)

    def subscriber_count(self) -> int:
        with self._lock:
            return len(self._subscriptions)

    def _forget(self, subscription: Subscription) -> None:
        with self._lock:
            self._subscriptions.discard(subscription)


class Reorderer:
    """Restores id order among events from several publishers (processes), which reach a
    receiver interleaved: an event whose ``prev_id`` has not been seen waits for it, up to
    ``window`` seconds. ``push`` returns the events that may go out now, in order;
    ``expire`` reports a gap when a predecessor never came (its publisher died between
    commit and publish, or the broker lost it): the receiver then cuts its subscribers
    off so they replay from the outbox. Not thread-safe: one receiver thread drives it."""

    def __init__(self, window: float = 2.0) -> None:
        self.window = window
        self._last: int | None = None
        self._held: dict[int, tuple[Event, float]] = {}  # keyed by the event's prev_id

    @property
    def last_id(self) -> int | None:
        return self._last

    def holding(self) -> int:
        return len(self._held)

    def push(self, event: Event, now: float) -> list[Event]:
        last = self._last
        if last is not None and event.id <= last:
            return []  # a duplicate
        if last is None or event.prev_id is None or event.prev_id <= last:
            return self._release(event)
        self._held.setdefault(event.prev_id, (event, now))
        return []

    def _release(self, event: Event) -> list[Event]:
        ready = [event]
        self._last = event.id
        while (following := self._held.pop(self._last, None)) is not None:
            ready.append(following[0])
            self._last = following[0].id
        stale = [prev for prev, (held, _) in self._held.items() if held.id <= self._last]
        for prev in stale:  # duplicates of what just went out
            del self._held[prev]
        return ready

    def expire(self, now: float) -> list[Event] | None:
        """None while nothing has waited ``window`` seconds. Otherwise a gap: everything
        held is given up (returned in id order, for logging) and delivery resumes after
        the highest held id."""
        if not self._held or min(at for _, at in self._held.values()) > now - self.window:
            return None
        dropped = sorted((event for event, _ in self._held.values()), key=lambda e: e.id)
        self._held.clear()
        self._last = max(self._last or 0, dropped[-1].id)
        return dropped


async def merge_replay_and_live(replayed: Iterable[Event], subscription: Subscription) -> AsyncIterator[Event]:
    """What a reconnecting SSE client gets: the outbox rows it missed, then live events,
    with no gap and no duplicate. Subscribe FIRST, then read the replay (``outbox.replay``
    with the client's Last-Event-ID), then iterate this::

        with broker.subscribe() as subscription:
            replayed = await run_in_threadpool(replay, db, last_event_id, limit)
            async for event in merge_replay_and_live(replayed, subscription):
                ...  # check the recipient's scope, send

    Every event committed before the replay query is in the replay; every event committed
    after it is published after the subscription existed, so it is in the queue; events
    in both are yielded once. Ends with SubscriptionClosed (overflow, gap, shutdown)."""
    for event in replayed:
        if event.id > subscription.last_id:
            subscription.skip_through(event.id)
            yield event
    async for event in subscription:
        yield event
