"""Brokers carry committed events to subscribers: in this process (``InProcessBroker``,
the default) or across processes and nodes through NATS JetStream (``NatsBroker``,
when ``ACCORD_NATS_URL`` is set). ``publish`` never blocks the caller, which is a
request's worker thread right after its commit."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, Protocol

from accord.core.events.hub import DEFAULT_MAXSIZE, GAP, SHUTDOWN, Event, Hub, Reorderer, Subscription

log = logging.getLogger("accord.events")

DEFAULT_STREAM = "ACCORD_EVENTS"
DEFAULT_SUBJECT = "accord.events"

Accepted = Callable[[Event], None]


class Broker(Protocol):
    def publish(self, event: Event, *, on_accepted: Accepted | None = None) -> None:
        """Hand ``event`` over without blocking; call ``on_accepted(event)`` (from any
        thread) once the broker has it for good."""

    def subscribe(self, maxsize: int = DEFAULT_MAXSIZE) -> Subscription:
        """A new subscription that receives events published from now on."""

    def close(self) -> None:
        """Stop delivering; open subscriptions end with reason ``shutdown``."""


class InProcessBroker:
    """Subscribers in this process only. Events reach subscriptions in the publisher's
    thread; ``outbox`` publishes each process's events in id order."""

    def __init__(self) -> None:
        self.hub = Hub()

    def publish(self, event: Event, *, on_accepted: Accepted | None = None) -> None:
        self.hub.publish(event)
        if on_accepted is not None:
            on_accepted(event)

    def subscribe(self, maxsize: int = DEFAULT_MAXSIZE) -> Subscription:
        return self.hub.subscribe(maxsize)

    def close(self) -> None:
        self.hub.cut_off_all(SHUTDOWN)


class NatsBroker:
    """Events through a NATS JetStream stream, so every process sees every event.

    - Publishing: one message per event on ``subject``, body ``Event.to_json()`` (with
      the outbox id and the previous id), header ``Nats-Msg-Id`` = the outbox id, so
      JetStream drops a re-sent event within its duplicate window. Messages go out one at
      a time, in the order given, each awaiting JetStream's acknowledgement (retried while
      NATS reconnects, for up to ``publish_retry_seconds``).
    - Receiving: one ephemeral *ordered* push consumer per process (ack policy none,
      flow control, heartbeats; the client recreates it after a reconnect from the next
      stream sequence), delivering only messages stored after it was created. History is
      the outbox's job (``replay``), not the stream's. Events of several processes reach
      the stream interleaved: a ``Reorderer`` puts them back in id order, and cuts the
      local subscribers off (reason ``gap``) when an event never arrives.
    - The client runs its own asyncio loop in a daemon thread; ``publish`` only enqueues.
    """

    def __init__(
        self,
        url: str,
        *,
        stream: str = DEFAULT_STREAM,
        subject: str = DEFAULT_SUBJECT,
        connect_timeout: float = 5.0,
        reorder_window: float = 2.0,
        max_age_seconds: float = 24 * 3600,
        outbound_limit: int = 100_000,
        publish_retry_seconds: float = 30.0,
    ) -> None:
        self.url, self.stream, self.subject = url, stream, subject
        self.connect_timeout = connect_timeout
        self.max_age_seconds = max_age_seconds
        self.outbound_limit = outbound_limit
        self.publish_retry_seconds = publish_retry_seconds
        self.hub = Hub()
        self._reorderer = Reorderer(reorder_window)
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._outbound: asyncio.Queue[tuple[Event, Accepted | None] | None] | None = None
        self._ready: Future[None] = Future()
        self._main: Future[None] | None = None
        self._receiving: Future[None] | None = None
        self._js: Any = None
        self._gap_timer: asyncio.TimerHandle | None = None
        self._client: Any = None
        self._closed = False

    # -- life cycle ------------------------------------------------------------------
    def start(self, timeout: float | None = None, *, receive: bool = True) -> None:
        """Connect, create the stream if missing and (``receive``) start this process's
        consumer; returns when that is done (at once if it already is). Raises
        TimeoutError if NATS cannot be reached within ``timeout`` (default
        ``connect_timeout``); the broker keeps trying in the background. A server calls
        it at start-up (``subscribe`` does too, the first time); a process that only
        publishes (the CLI) never needs it: ``publish`` connects in the background."""
        self._ensure_running()
        wait = self.connect_timeout if timeout is None else timeout
        try:
            self._ready.result(wait)
            if receive:
                with self._lock:
                    assert self._loop is not None
                    if self._receiving is None or (self._receiving.done() and self._receiving.exception()):
                        self._receiving = asyncio.run_coroutine_threadsafe(self._receive(), self._loop)
                    receiving = self._receiving
                receiving.result(wait)
        except TimeoutError:
            raise TimeoutError(f"NATS at {self.url} is not reachable") from None

    @property
    def ready(self) -> bool:
        return self._ready.done() and self._ready.exception() is None

    def _ensure_running(self) -> None:
        with self._lock:
            if self._closed:
                raise RuntimeError("this NatsBroker is closed")
            if self._thread is not None:
                return
            loop = asyncio.new_event_loop()
            self._loop, self._outbound = loop, asyncio.Queue()
            self._thread = threading.Thread(target=loop.run_forever, name="accord-nats", daemon=True)
            self._thread.start()
            self._main = asyncio.run_coroutine_threadsafe(self._run(), loop)

    def close(self, timeout: float = 5.0) -> None:
        """Send what is queued (up to ``timeout`` seconds), disconnect, end subscriptions."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            loop, thread, main = self._loop, self._thread, self._main
        self.hub.cut_off_all(SHUTDOWN)
        if loop is None or thread is None or main is None:
            return
        loop.call_soon_threadsafe(self._enqueue, None, None)  # the sender stops there
        try:
            main.result(timeout)
        except Exception:  # a timeout (NATS unreachable), or the connection failed for good
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(self._abort(), loop).result(timeout)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)
        if not thread.is_alive():
            loop.close()

    async def _abort(self) -> None:
        await _cancel_other_tasks()
        if self._client is not None:
            with contextlib.suppress(Exception):
                await self._client.close()

    # -- publishing ------------------------------------------------------------------
    def publish(self, event: Event, *, on_accepted: Accepted | None = None) -> None:
        self._ensure_running()
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self._enqueue, event, on_accepted)

    def _enqueue(self, event: Event | None, on_accepted: Accepted | None) -> None:
        assert self._outbound is not None
        if event is not None and self._outbound.qsize() >= self.outbound_limit:
            # Receivers will see the gap and make their clients replay from the outbox.
            log.error("NATS outbound queue full (%d events): event %d dropped", self.outbound_limit, event.id)
            return
        self._outbound.put_nowait(None if event is None else (event, on_accepted))

    # -- the client's loop -----------------------------------------------------------
    async def _run(self) -> None:
        import nats
        from nats.js import api

        async def error_cb(exc: Exception) -> None:
            log.warning("NATS at %s: %s: %s", self.url, exc.__class__.__name__, exc)

        try:
            self._client = client = await nats.connect(
                self.url,
                connect_timeout=max(1, int(self.connect_timeout)),
                reconnect_time_wait=2,
                max_reconnect_attempts=-1,  # keep trying, also for the first connection
                error_cb=error_cb,
                name="accord",
            )
            self._js = js = client.jetstream()
            await self._ensure_stream(js, api)
        except BaseException as exc:
            if not self._ready.done():
                self._ready.set_exception(exc if isinstance(exc, Exception) else RuntimeError("cancelled"))
            raise
        self._ready.set_result(None)
        try:
            await self._send_all(js)
        finally:
            with contextlib.suppress(Exception):
                await client.drain()
            await _cancel_other_tasks()  # the ordered consumer's heartbeat checks

    async def _receive(self) -> None:
        """This process's consumer: ephemeral, ordered, new messages only."""
        from nats.js import api

        await self._js.subscribe(
            self.subject,
            stream=self.stream,
            cb=self._on_message,
            ordered_consumer=True,
            deliver_policy=api.DeliverPolicy.NEW,
        )

    async def _ensure_stream(self, js: Any, api: Any) -> None:
        from nats.js.errors import NotFoundError

        try:
            await js.stream_info(self.stream)
            return
        except NotFoundError:
            pass
        try:
            await js.add_stream(
                name=self.stream,
                subjects=[self.subject],
                retention=api.RetentionPolicy.LIMITS,
                storage=api.StorageType.FILE,
                max_age=self.max_age_seconds,
                duplicate_window=120.0,
            )
        except Exception as exc:
            try:
                await js.stream_info(self.stream)  # another process created it first: fine
            except NotFoundError:
                raise exc from None

    async def _send_all(self, js: Any) -> None:
        assert self._outbound is not None
        loop = asyncio.get_running_loop()
        while (item := await self._outbound.get()) is not None:
            event, on_accepted = item
            body, headers = event.to_json(), {"Nats-Msg-Id": str(event.id)}
            give_up_at, wait = loop.time() + self.publish_retry_seconds, 0.1
            while True:
                try:
                    await js.publish(self.subject, body, stream=self.stream, headers=headers, timeout=5.0)
                except Exception as exc:
                    if loop.time() + wait > give_up_at:
                        log.error("event %d not published to NATS: %s", event.id, exc.__class__.__name__)
                        break
                    await asyncio.sleep(wait)
                    wait = min(wait * 2, 2.0)
                    continue
                if on_accepted is not None:
                    try:
                        on_accepted(event)
                    except Exception:
                        log.exception("on_accepted failed for event %d", event.id)
                break

    async def _on_message(self, message: Any) -> None:
        try:
            event = Event.from_json(message.data)
        except Exception:
            log.warning("a message on %s is not an Accord event; ignored", self.subject)
            return
        loop = asyncio.get_running_loop()
        for ready in self._reorderer.push(event, loop.time()):
            self.hub.publish(ready)
        if self._reorderer.holding() and self._gap_timer is None:
            self._gap_timer = loop.call_later(self._reorderer.window, self._check_gap)

    def _check_gap(self) -> None:
        assert self._loop is not None
        self._gap_timer = None
        dropped = self._reorderer.expire(self._loop.time())
        if dropped is not None:
            count = self.hub.cut_off_all(GAP)
            log.warning(
                "events before id %d never arrived from NATS: %d live subscriber(s) cut off to replay",
                dropped[0].id,
                count,
            )
        if self._reorderer.holding():
            self._gap_timer = self._loop.call_later(self._reorderer.window / 4, self._check_gap)

    # -- subscribing -----------------------------------------------------------------
    def subscribe(self, maxsize: int = DEFAULT_MAXSIZE) -> Subscription:
        self.start()
        return self.hub.subscribe(maxsize)


async def _cancel_other_tasks() -> None:
    current = asyncio.current_task()
    tasks = [task for task in asyncio.all_tasks() if task is not current]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def nats_url(settings: object | None = None) -> str | None:
    """``ACCORD_NATS_URL``: from ``settings.nats_url`` once Settings has that field, else
    from the environment. Empty means: no NATS, in-process broker."""
    value = getattr(settings, "nats_url", None) or os.environ.get("ACCORD_NATS_URL")
    return (value.strip() or None) if isinstance(value, str) else None


def broker_for(settings: object | None = None) -> Broker:
    """NATS JetStream when ``ACCORD_NATS_URL`` is set, else the in-process broker."""
    url = nats_url(settings)
    if not url:
        return InProcessBroker()
    stream = getattr(settings, "nats_stream", None) or DEFAULT_STREAM
    subject = getattr(settings, "nats_subject", None) or DEFAULT_SUBJECT
    return NatsBroker(url, stream=stream, subject=subject)
