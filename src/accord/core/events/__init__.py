"""Live events: an outbox written in the caller's transaction, a broker that carries the
committed events (in-process, or NATS JetStream when ``ACCORD_NATS_URL`` is set), and
subscriptions with bounded queues for the SSE handlers (docs/adr/0014).

Services call ``emit(db, kind=..., object_type=..., object_id=..., agency_id=...,
payload=...)``; nothing else. An SSE handler subscribes, replays from the outbox after
``Last-Event-ID`` and merges the two::

    with get_broker().subscribe() as subscription:
        replayed = replay(db, last_event_id, limit)
        async for event in merge_replay_and_live(replayed, subscription):
            ...  # scope check, then send ``id: event.id``
"""

from accord.core.events.broker import (
    DEFAULT_STREAM,
    DEFAULT_SUBJECT,
    Broker,
    InProcessBroker,
    NatsBroker,
    broker_for,
    nats_url,
)
from accord.core.events.hub import (
    CLOSED,
    DEFAULT_MAXSIZE,
    GAP,
    OVERFLOW,
    SHUTDOWN,
    Event,
    Hub,
    Reorderer,
    Subscription,
    SubscriptionClosed,
    merge_replay_and_live,
)
from accord.core.events.models import OutboxEvent
from accord.core.events.outbox import (
    MAX_PAYLOAD_BYTES,
    configure,
    emit,
    flush_published_marks,
    get_broker,
    prune,
    replay,
    set_broker,
)

__all__ = [
    "CLOSED",
    "DEFAULT_MAXSIZE",
    "DEFAULT_STREAM",
    "DEFAULT_SUBJECT",
    "GAP",
    "MAX_PAYLOAD_BYTES",
    "OVERFLOW",
    "SHUTDOWN",
    "Broker",
    "Event",
    "Hub",
    "InProcessBroker",
    "NatsBroker",
    "OutboxEvent",
    "Reorderer",
    "Subscription",
    "SubscriptionClosed",
    "broker_for",
    "configure",
    "emit",
    "flush_published_marks",
    "get_broker",
    "merge_replay_and_live",
    "nats_url",
    "prune",
    "replay",
    "set_broker",
]
