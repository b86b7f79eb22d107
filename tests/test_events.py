"""Live-event backbone (core.events): outbox written at commit and published after it,
savepoints, replay for Last-Event-ID, the merge of replay and live without gap or
duplicate, slow consumers cut off without slowing anyone, ordering across threads and
processes, and NATS JetStream between two processes."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from urllib.parse import urlparse

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from accord.core.events import (
    GAP,
    OVERFLOW,
    Event,
    InProcessBroker,
    NatsBroker,
    OutboxEvent,
    Reorderer,
    Subscription,
    SubscriptionClosed,
    broker_for,
    emit,
    flush_published_marks,
    merge_replay_and_live,
    nats_url,
    replay,
    set_broker,
)
from accord.core.events.outbox import Sequencer

NATS_URL = os.environ.get("ACCORD_TEST_NATS_URL", "nats://127.0.0.1:4222")


@pytest.fixture
def broker() -> Iterator[InProcessBroker]:
    """A fresh in-process broker for this process's events during the test."""
    fresh = InProcessBroker()
    previous = set_broker(fresh)
    yield fresh
    set_broker(previous)
    fresh.close()


@pytest.fixture
def marker() -> str:
    """An object_type of this test's own, so its events are told apart."""
    return f"t{uuid.uuid4().hex[:12]}"


def drain(subscription: Subscription, object_type: str | None = None) -> list[Event]:
    events = []
    while (event := subscription.get_nowait()) is not None:
        if object_type is None or event.object_type == object_type:
            events.append(event)
    return events


def emit_some(db: Session, marker: str, *names: str) -> None:
    for name in names:
        emit(db, kind="test.happened", object_type=marker, object_id=name, payload={"name": name})


def stored(db: Session, marker: str) -> list[OutboxEvent]:
    db.rollback()
    db.expire_all()
    return list(db.scalars(select(OutboxEvent).where(OutboxEvent.object_type == marker).order_by(OutboxEvent.id)))


def make_event(event_id: int, prev_id: int | None = None) -> Event:
    return Event(
        id=event_id,
        prev_id=prev_id,
        kind="test.happened",
        object_type="thing",
        object_id=str(event_id),
        occurred_at=datetime.now(UTC),
    )


# -- outbox and commit ---------------------------------------------------------------------
def test_commit_publishes_each_event_once_in_id_order(session_factory: sessionmaker[Session], broker, marker):
    subscription = broker.subscribe()
    agency = uuid.uuid4()
    with session_factory() as db:
        emit_some(db, marker, "a", "b")
        emit(db, kind="test.changed", object_type=marker, object_id=uuid.uuid4(), agency_id=agency)
        db.flush()
        assert drain(subscription) == [], "nothing may be published before the commit"
        db.commit()
        published = drain(subscription, marker)
        assert [e.object_id for e in published[:2]] == ["a", "b"]
        assert published[2].kind == "test.changed" and published[2].agency_id == agency
        ids = [e.id for e in published]
        assert ids == sorted(ids) and len(set(ids)) == 3
        assert [e.prev_id for e in published[1:]] == ids[:-1]
        rows = stored(db, marker)
        assert [r.id for r in rows] == ids
        assert rows[0].payload == {"name": "a"} and rows[0].occurred_at.tzinfo is not None
        # A later commit without events publishes nothing more; nothing comes twice.
        db.commit()
        assert drain(subscription) == []


def test_rollback_publishes_nothing(session_factory: sessionmaker[Session], broker, marker):
    subscription = broker.subscribe()
    with session_factory() as db:
        emit_some(db, marker, "gone")
        db.rollback()
        db.commit()
        emit_some(db, marker, "also-gone")
        db.close()  # closing rolls back too
    with session_factory() as db:
        assert stored(db, marker) == []
    assert drain(subscription) == []


def test_rolled_back_savepoint_drops_only_its_events(session_factory: sessionmaker[Session], broker, marker):
    subscription = broker.subscribe()
    with session_factory() as db:
        emit_some(db, marker, "outer-1")
        savepoint = db.begin_nested()
        emit_some(db, marker, "inner-dropped")
        savepoint.rollback()
        with pytest.raises(RuntimeError):
            with db.begin_nested():
                emit_some(db, marker, "inner-failed")
                raise RuntimeError("the savepoint fails")
        with db.begin_nested():
            emit_some(db, marker, "inner-kept")
        emit_some(db, marker, "outer-2")
        db.commit()
        assert [e.object_id for e in drain(subscription, marker)] == ["outer-1", "inner-kept", "outer-2"]
        assert [r.object_id for r in stored(db, marker)] == ["outer-1", "inner-kept", "outer-2"]

        # A released savepoint still goes when its outer transaction rolls back.
        with db.begin_nested():
            emit_some(db, marker, "released-then-rolled-back")
        db.rollback()
        db.commit()
        assert drain(subscription) == []


def test_emit_refuses_malformed_events(session_factory: sessionmaker[Session]):
    with session_factory() as db:
        for kwargs in (
            {"kind": "Incident Updated"},
            {"kind": "incident"},
            {"kind": "incident.updated\nevent: forged"},
            {"object_type": "Incident"},
            {"object_id": ""},
            {"object_id": "x" * 65},
            {"payload": {"at": datetime.now(UTC)}},
            {"payload": {"n": float("nan")}},
            {"payload": {"blob": "x" * 5000}},
        ):
            arguments = {"kind": "incident.updated", "object_type": "incident", "object_id": "1", **kwargs}
            with pytest.raises(ValueError):
                emit(db, **arguments)
        db.rollback()


def test_published_at_is_written_by_the_next_commit(session_factory: sessionmaker[Session], broker, marker):
    with session_factory() as db:
        emit_some(db, marker, "first")
        db.commit()
        assert [r.published_at for r in stored(db, marker)] == [None]
        emit_some(db, marker, "second")
        db.commit()
        first, second = stored(db, marker)
        assert first.published_at is not None and second.published_at is None
        assert flush_published_marks(db) >= 1
        db.commit()
        assert all(r.published_at is not None for r in stored(db, marker))


def test_concurrent_commits_reach_a_subscriber_in_id_order_without_gap(
    session_factory: sessionmaker[Session], broker, marker
):
    """Ids are handed out at commit under the database's write lock, and each process
    publishes batches in the order they were written: a subscriber sees exactly the
    committed rows, in id order, whatever order the threads finish their commits in."""
    subscription = broker.subscribe(maxsize=10_000)
    errors: list[BaseException] = []

    def writer(number: int) -> None:
        try:
            for round_ in range(8):
                with session_factory() as db:
                    emit_some(db, marker, f"{number}-{round_}-a", f"{number}-{round_}-b")
                    db.commit()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    received = [e.id for e in drain(subscription, marker)]
    with session_factory() as db:
        assert received == [r.id for r in stored(db, marker)]
    assert len(received) == 4 * 8 * 2


# -- replay and merge -------------------------------------------------------------------------
def test_replay_returns_exactly_the_later_events(session_factory: sessionmaker[Session], broker, marker):
    with session_factory() as db:
        emit_some(db, marker, "1", "2", "3", "4", "5")
        db.commit()
        ids = [r.id for r in stored(db, marker)]
        later = replay(db, ids[1], 100)
        assert [e.id for e in later] == ids[2:]
        assert [e.object_id for e in later] == ["3", "4", "5"]
        assert later[0].prev_id == ids[1] and later[0].payload == {"name": "3"}
        assert [e.id for e in replay(db, ids[0], 2)] == ids[1:3]
        assert replay(db, ids[-1], 100) == []
        assert [e.id for e in replay(db, 0, 10_000) if e.object_type == marker] == ids
        with pytest.raises(ValueError):
            replay(db, 0, 0)
        with pytest.raises(ValueError):
            replay(db, -1, 10)


def test_merge_of_replay_and_live_has_no_gap_and_no_duplicate(session_factory: sessionmaker[Session], broker, marker):
    """A client saw up to event 2 and reconnects: it subscribes, then reads the replay,
    while more events commit. Events 1-5 are in its queue and (3-5) in the replay."""
    with session_factory() as db:
        subscription = broker.subscribe()
        emit_some(db, marker, "1", "2", "3", "4", "5")
        db.commit()
        ids = [r.id for r in stored(db, marker)]
        replayed = replay(db, ids[1], 100)
        emit_some(db, marker, "6", "7")
        db.commit()
        all_ids = [r.id for r in stored(db, marker)]

    async def collect() -> list[int]:
        merged = merge_replay_and_live(replayed, subscription)
        return [(await asyncio.wait_for(anext(merged), 5)).id for _ in range(5)]

    assert asyncio.run(collect()) == all_ids[2:]
    assert subscription.get_nowait() is None
    assert subscription.last_id == all_ids[-1]


def test_merge_when_the_replay_is_ahead_of_the_queue():
    subscription = Subscription(10)
    for event_id in (11, 12):
        subscription.offer(make_event(event_id))

    async def collect() -> list[int]:
        merged = merge_replay_and_live([make_event(i) for i in (10, 11, 12, 13)], subscription)
        first = [(await anext(merged)).id for _ in range(4)]
        for event_id in (12, 13, 14, 15):  # late duplicates, then new events
            subscription.offer(make_event(event_id))
        return first + [(await asyncio.wait_for(anext(merged), 5)).id for _ in range(2)]

    assert asyncio.run(collect()) == [10, 11, 12, 13, 14, 15]


# -- subscriptions and the hub ------------------------------------------------------------
def test_slow_consumer_is_cut_off_without_blocking_anyone():
    broker = InProcessBroker()
    slow = broker.subscribe(maxsize=5)
    fast = broker.subscribe()
    durations = []
    for event_id in range(1, 7):
        started = time.perf_counter()
        broker.publish(make_event(event_id))
        durations.append(time.perf_counter() - started)
        assert slow.closed is (event_id == 6), f"after {event_id} publishes"
    assert slow.reason == OVERFLOW
    assert max(durations) < 0.5, durations  # never waits for a consumer
    assert [e.id for e in drain(fast)] == [1, 2, 3, 4, 5, 6]
    with pytest.raises(SubscriptionClosed) as closed:
        slow.get_nowait()
    assert closed.value.reason == OVERFLOW
    with pytest.raises(SubscriptionClosed):
        asyncio.run(slow.get(timeout=1))
    assert broker.hub.subscriber_count() == 1
    broker.publish(make_event(7))  # the hub forgot the slow one; the fast one goes on
    assert [e.id for e in drain(fast)] == [7]
    broker.close()
    with pytest.raises(SubscriptionClosed):
        fast.get_nowait()


def test_a_consumer_waiting_on_its_loop_is_woken_from_another_thread():
    broker = InProcessBroker()
    subscription = broker.subscribe()
    received: list[int] = []
    waiting = threading.Event()

    def consume() -> None:
        async def run() -> None:
            waiting.set()
            async for event in subscription:
                received.append(event.id)
                if len(received) == 3:
                    return

        asyncio.run(run())

    consumer = threading.Thread(target=consume)
    consumer.start()
    assert waiting.wait(5)
    time.sleep(0.05)  # let it block in get()
    for event_id in (1, 2, 2, 1, 3):  # duplicates and a step back are dropped
        broker.publish(make_event(event_id))
    consumer.join(5)
    assert received == [1, 2, 3]
    with pytest.raises(TimeoutError):
        asyncio.run(broker.subscribe().get(timeout=0.05))
    broker.close()


def test_sequencer_publishes_batches_in_the_order_they_were_written():
    published: list[int] = []
    sequencer = Sequencer(lambda _key, event: published.append(event.id), stall_seconds=60)
    first = sequencer.register("db", [make_event(1), make_event(2)])
    second = sequencer.register("db", [make_event(3)])
    third = sequencer.register("db", [make_event(4)])
    sequencer.resolve(second, committed=True)  # finished its commit first: waits
    assert published == []
    sequencer.resolve(first, committed=True)
    assert published == [1, 2, 3]
    other = sequencer.register("other-db", [make_event(1)])  # another database: independent
    sequencer.resolve(other, committed=True)
    assert published == [1, 2, 3, 1]
    sequencer.resolve(third, committed=False)  # rolled back: nothing
    assert published == [1, 2, 3, 1] and sequencer.pending("db") == 0

    stalled = Sequencer(lambda _key, event: published.append(event.id), stall_seconds=0)
    stuck = stalled.register("db", [make_event(10)])
    later = stalled.register("db", [make_event(11)])
    stalled.resolve(later, committed=True)  # the stuck transaction no longer holds it back
    assert published[-1] == 11
    stalled.resolve(stuck, committed=True)
    assert published[-1] == 10


def test_reorderer_restores_id_order_across_publishers():
    reorderer = Reorderer(window=1.0)
    assert [e.id for e in reorderer.push(make_event(5, prev_id=4), now=0)] == [5]
    assert reorderer.push(make_event(7, prev_id=6), now=0.1) == []  # 6 is on its way
    assert reorderer.push(make_event(8, prev_id=7), now=0.2) == []
    assert [e.id for e in reorderer.push(make_event(6, prev_id=5), now=0.3)] == [6, 7, 8]
    assert reorderer.push(make_event(6, prev_id=5), now=0.4) == []  # duplicate
    assert [e.id for e in reorderer.push(make_event(10, prev_id=8), now=0.5)] == [10]  # 9 was a hole
    assert reorderer.push(make_event(12, prev_id=11), now=1.0) == []
    assert reorderer.expire(now=1.5) is None
    dropped = reorderer.expire(now=2.1)  # 11 never came: a gap
    assert dropped is not None and [e.id for e in dropped] == [12]
    assert reorderer.last_id == 12 and reorderer.holding() == 0
    assert [e.id for e in reorderer.push(make_event(13, prev_id=12), now=2.2)] == [13]


def test_event_travels_as_json():
    event = Event(
        id=42,
        prev_id=41,
        kind="incident.updated",
        object_type="incident",
        object_id="abc",
        agency_id=uuid.uuid4(),
        occurred_at=datetime.now(UTC),
        payload={"status": "active", "n": [1, 2]},
    )
    assert Event.from_json(event.to_json()) == event


def test_broker_for_picks_nats_only_when_a_url_is_set(monkeypatch, settings):
    monkeypatch.delenv("ACCORD_NATS_URL", raising=False)
    assert nats_url(settings) is None
    assert isinstance(broker_for(settings), InProcessBroker)
    monkeypatch.setenv("ACCORD_NATS_URL", "nats://nats.example:4222")
    chosen = broker_for(settings)
    assert isinstance(chosen, NatsBroker) and chosen.url == "nats://nats.example:4222"
    assert chosen.stream == "ACCORD_EVENTS" and chosen.subject == "accord.events"
    chosen.close()  # never started: nothing to stop


# -- NATS JetStream, two processes --------------------------------------------------------
SUBSCRIBER = """
import asyncio, json, sys
from accord.core.events import NatsBroker

url, stream, subject, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
broker = NatsBroker(url, stream=stream, subject=subject)
broker.start(timeout=10)
subscription = broker.subscribe()
print("READY", flush=True)

async def collect():
    received = []
    while len(received) < count:
        event = await subscription.get(timeout=10)
        received.append([event.id, event.prev_id, event.kind, event.object_id, event.payload])
    return received

print(json.dumps(asyncio.run(collect())), flush=True)
broker.close()
"""


def require_nats() -> None:
    address = urlparse(NATS_URL)
    try:
        socket.create_connection((address.hostname or "127.0.0.1", address.port or 4222), timeout=2).close()
    except OSError as exc:
        message = f"NATS at {NATS_URL} is unreachable ({exc.__class__.__name__})"
        if os.environ.get("CI") == "true":
            pytest.fail(message + " and CI=true: a missing NATS is a failure")
        pytest.skip(message)


def delete_stream(stream: str) -> None:
    import nats

    async def run() -> None:
        client = await nats.connect(NATS_URL, connect_timeout=2, max_reconnect_attempts=0)
        try:
            await client.jetstream().delete_stream(stream)
        finally:
            await client.close()

    asyncio.run(run())


def test_nats_carries_events_to_another_process_with_the_same_ids(session_factory: sessionmaker[Session], marker):
    require_nats()
    suffix = uuid.uuid4().hex[:12]
    stream, subject = f"ACCORD_TEST_{suffix}", f"accord.test.{suffix}"
    publisher = NatsBroker(NATS_URL, stream=stream, subject=subject)
    publisher.start(timeout=5, receive=False)  # this process only publishes
    subscriber = subprocess.Popen(
        [sys.executable, "-c", SUBSCRIBER, NATS_URL, stream, subject, "6"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    previous = set_broker(publisher)
    try:
        assert subscriber.stdout is not None
        assert subscriber.stdout.readline().strip() == "READY", subscriber.stderr.read() if subscriber.stderr else ""
        with session_factory() as db:
            for names in (("1", "2"), ("3", "4", "5"), ("6",)):
                emit_some(db, marker, *names)
                db.commit()
            rows = stored(db, marker)
        out, err = subscriber.communicate(timeout=20)
        assert subscriber.returncode == 0, err
        received = json.loads(out.strip().splitlines()[-1])
        assert [r[0] for r in received] == [row.id for row in rows]  # same ids, in order
        assert [r[3] for r in received] == ["1", "2", "3", "4", "5", "6"]
        assert received[0][2] == "test.happened" and received[0][4] == {"name": "1"}
        assert [r[1] for r in received[1:]] == [row.id for row in rows[:-1]]
        # JetStream acknowledged them: later commits of this process record that.
        deadline = time.monotonic() + 5
        with session_factory() as db:
            while any(row.published_at is None for row in stored(db, marker)) and time.monotonic() < deadline:
                flush_published_marks(db)
                db.commit()
                time.sleep(0.02)
            assert all(row.published_at is not None for row in stored(db, marker))
    finally:
        set_broker(previous)
        if subscriber.poll() is None:
            subscriber.kill()
            subscriber.communicate()
        publisher.close()
        delete_stream(stream)


def test_nats_gap_cuts_local_subscribers_off(marker):
    """An event that never reaches the stream (its publisher died after the commit) cannot
    be delivered live: the receivers' subscribers are cut off, so their clients replay."""
    require_nats()
    suffix = uuid.uuid4().hex[:12]
    stream, subject = f"ACCORD_TEST_{suffix}", f"accord.test.{suffix}"
    broker = NatsBroker(NATS_URL, stream=stream, subject=subject, reorder_window=0.3)
    try:
        subscription = broker.subscribe()
        broker.publish(make_event(100, prev_id=99))
        broker.publish(make_event(102, prev_id=101))  # 101 is lost

        async def run() -> list[int]:
            received = [(await subscription.get(timeout=5)).id]
            with pytest.raises(SubscriptionClosed) as closed:
                await subscription.get(timeout=5)
            assert closed.value.reason == GAP
            return received

        assert asyncio.run(run()) == [100]
    finally:
        broker.close()
        delete_stream(stream)
