"""Live updates over Server-Sent Events (issue 5, part 2), against real servers: delivery,
per-recipient filtering, an agreement revoked mid-stream, resuming with Last-Event-ID
without gap or duplicate, a slow consumer cut off without slowing others, and two server
processes sharing one NATS JetStream stream — on both databases."""

from __future__ import annotations

import asyncio
import json
import queue
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from accord.authz.service import actor_for
from accord.core import events
from accord.core.time import utcnow
from accord.directory.models import Agency
from accord.operations.stream import Dispatcher, LiveClient
from tests.conftest import bearer
from tests.servers import running_server
from tests.test_events import NATS_URL, delete_stream, require_nats

POINT = {"type": "Point", "coordinates": [-77.05, 40.95]}


class Listener:
    """An SSE client in a thread: collects ``{"id", "event", "data"}`` frames."""

    def __init__(self, base: str, headers: dict[str, str], *, last_event_id: int | None = None) -> None:
        self.frames: queue.Queue[dict[str, Any]] = queue.Queue()
        self.seen: list[dict[str, Any]] = []
        self.status: int | None = None
        self._client = httpx.Client(timeout=httpx.Timeout(5, read=None))
        extra = {"Last-Event-ID": str(last_event_id)} if last_event_id is not None else {}
        self._request = self._client.build_request("GET", base + "/api/v1/live", headers=headers | extra)
        self._connected = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        assert self._connected.wait(10), "stream did not open"

    def _run(self) -> None:
        try:
            response = self._client.send(self._request, stream=True)
            self.status = response.status_code
            self._connected.set()
            frame: dict[str, Any] = {}
            for line in response.iter_lines():
                if not line:
                    if "data" in frame:
                        self.frames.put(frame)
                    frame = {}
                elif line.startswith("id: "):
                    frame["id"] = int(line[4:])
                elif line.startswith("event: "):
                    frame["event"] = line[7:]
                elif line.startswith("data: "):
                    frame["data"] = json.loads(line[6:])
                    frame.setdefault("event", frame["data"].get("kind", "message"))
        except (httpx.HTTPError, RuntimeError, ValueError):
            pass
        finally:
            self._connected.set()

    def wait_for(self, match: Callable[[dict[str, Any]], bool], timeout: float = 10) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                frame = self.frames.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            self.seen.append(frame)
            if match(frame):
                return frame
        raise AssertionError(f"no matching event within {timeout}s; saw {[f.get('event') for f in self.seen]}")

    def close(self) -> None:
        self._client.close()


def _about(object_id: str) -> Callable[[dict[str, Any]], bool]:
    return lambda frame: frame.get("data", {}).get("object_id") == object_id


@pytest.fixture(scope="module")
def server(settings: Any, session_factory: Any) -> Iterator[str]:
    with running_server(settings.database_url) as base:
        yield base


@pytest.fixture
def world(db: Any, make_user: Any, server: str) -> dict[str, Any]:
    """A lead agency, a participant and a stranger, with people signed in on the server."""
    tag = uuid.uuid4().hex[:5].upper()
    ids = {}
    for name in ("LEAD", "HELP", "FAR"):
        agency = Agency(
            name=f"Live test {name} {tag}",
            short_name=f"L{name}{tag}",
            kind="police",
            level="local",
            jurisdiction_name="Test",
        )
        db.add(agency)
        db.flush()
        ids[name] = agency.id
    db.commit()
    shorts = {k: db.get(Agency, v).short_name for k, v in ids.items()}
    people = {}
    for key, role, agency in [
        ("commander", "commander", "LEAD"),
        ("lead_viewer", "viewer", "LEAD"),
        ("lead_admin", "agency_admin", "LEAD"),
        ("lead_coordinator", "coordinator", "LEAD"),
        ("helper", "commander", "HELP"),
        ("helper_viewer", "viewer", "HELP"),
        ("stranger", "viewer", "FAR"),
        ("far_admin", "agency_admin", "FAR"),
    ]:
        user = make_user(role, shorts[agency])
        token = httpx.post(
            server + "/api/v1/auth/token", json={"username": user["username"], "password": user["password"]}
        )
        assert token.status_code == 200, token.text
        people[key] = bearer(token.json()["access_token"])
    return {"ids": ids, "people": people, "server": server}


def _incident(world: dict[str, Any], **fields: Any) -> dict[str, Any]:
    body = {
        "lead_agency_id": str(world["ids"]["LEAD"]),
        "name": "Live test flood",
        "type": "flood",
        "severity": "severe",
        "tier": "AMBER",
        "location": POINT,
        "participants": [str(world["ids"]["HELP"])],
    } | fields
    response = httpx.post(world["server"] + "/api/v1/incidents", json=body, headers=world["people"]["commander"])
    assert response.status_code == 201, response.text
    return dict(response.json())


def _task(world: dict[str, Any], incident: dict[str, Any], title: str, base: str | None = None) -> dict[str, Any]:
    body = {"title": title, "assigned_agency_id": str(world["ids"]["HELP"]), "location": POINT}
    url = f"{base or world['server']}/api/v1/incidents/{incident['id']}/tasks"
    response = httpx.post(url, json=body, headers=world["people"]["commander"])
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_each_recipient_receives_only_what_it_may_see(world):
    incident = _incident(world)
    helper = Listener(world["server"], world["people"]["helper_viewer"])
    stranger = Listener(world["server"], world["people"]["stranger"])
    try:
        task = _task(world, incident, "Sandbag the pump station")
        received = helper.wait_for(_about(task["id"]))
        assert received["event"] == "task.created" and received["data"]["object_type"] == "task"
        assert received["data"]["payload"]["incident_id"] == incident["id"]
        # A CLEAR incident everyone may see, opened after the task: once the stranger has
        # it, the task event (earlier) would have come first had it been delivered.
        sentinel = _incident(world, tier="CLEAR", name="Public road closure", participants=[])
        stranger.wait_for(_about(sentinel["id"]))
        helper.wait_for(_about(sentinel["id"]))
        assert not [f for f in stranger.seen if f["data"]["object_id"] in (task["id"], incident["id"])]
        ids = [f["id"] for f in helper.seen]
        assert ids == sorted(ids) and len(ids) == len(set(ids))
    finally:
        helper.close()
        stranger.close()


def test_a_record_reaches_its_own_agency_and_not_a_stranger(world):
    """Records travel on the same stream, checked by the sharing module's own rule."""
    lead, stranger = (
        Listener(world["server"], world["people"]["lead_viewer"]),
        Listener(world["server"], world["people"]["stranger"]),
    )
    try:
        body = {
            "owner_agency_id": str(world["ids"]["LEAD"]),
            "category": "incident_report",
            "tier": "AMBER",
            "purpose": "situational_awareness",
            "title": "Levee seepage at Mill Road",
            "event_at": "2026-12-05T14:30:00Z",
            "body": {"summary": "Seepage on the landward side", "persons_involved": "Jonah Reyes, 555-0177"},
        }
        made = httpx.post(world["server"] + "/api/v1/records", json=body, headers=world["people"]["commander"])
        assert made.status_code == 201, made.text
        record = made.json()["id"]
        frame = lead.wait_for(_about(record))
        assert frame["event"] == "record.created" and "Seepage" not in json.dumps(frame)  # ids, never content
        sentinel = _incident(world, tier="CLEAR", name="After the record", participants=[])
        stranger.wait_for(_about(sentinel["id"]))
        assert not [f for f in stranger.seen if f["data"]["object_id"] == record]
    finally:
        lead.close()
        stranger.close()


def test_a_terminated_agreement_stops_delivery_at_once(world):
    """FAR sees LEAD's AMBER incidents under a data-use agreement; once LEAD terminates it,
    the next change of the incident no longer reaches FAR's open stream."""
    base, h, ids = world["server"], world["people"], world["ids"]
    draft = {
        "kind": "data_use",
        "title": "Live test situational awareness",
        "parties": [str(ids["LEAD"]), str(ids["FAR"])],
        "effective_at": (utcnow() - timedelta(minutes=5)).isoformat(),
        "clauses": [
            {
                "kind": "sharing",
                "providers": [str(ids["LEAD"])],
                "recipients": [str(ids["FAR"])],
                "categories": ["incident_report"],
                "max_tier": "AMBER",
                "purposes": ["situational_awareness"],
            }
        ],
    }
    agreement = httpx.post(base + "/api/v1/agreements", json=draft, headers=h["lead_coordinator"])
    assert agreement.status_code == 201, agreement.text
    agreement_id = agreement.json()["id"]
    proposed = httpx.post(f"{base}/api/v1/agreements/{agreement_id}/propose", headers=h["lead_coordinator"])
    digest = proposed.json()["versions"][0]["content_hash"]
    for who, short in (("lead_admin", "LEAD"), ("far_admin", "FAR")):
        signed = httpx.post(
            f"{base}/api/v1/agreements/{agreement_id}/sign",
            json={"agency_id": str(ids[short]), "content_hash": digest},
            headers=h[who],
        )
        assert signed.status_code == 200, signed.text
    incident = _incident(world, participants=[])
    url = f"{base}/api/v1/incidents/{incident['id']}"
    assert httpx.get(url, headers=h["stranger"]).status_code == 200  # seen under the agreement
    stranger = Listener(base, h["stranger"])
    try:
        assert httpx.patch(url, json={"status": "active"}, headers=h["commander"]).status_code == 200
        stranger.wait_for(lambda f: _about(incident["id"])(f) and f["event"] == "incident.updated")
        ended = httpx.post(
            f"{base}/api/v1/agreements/{agreement_id}/terminate", json={"reason": "test"}, headers=h["lead_admin"]
        )
        assert ended.status_code == 200, ended.text
        assert httpx.patch(url, json={"severity": "extreme"}, headers=h["commander"]).status_code == 200
        sentinel = _incident(world, tier="CLEAR", name="After the termination", participants=[])
        stranger.wait_for(_about(sentinel["id"]))
        late = [f for f in stranger.seen if _about(incident["id"])(f)]
        assert [f["data"]["payload"]["status"] for f in late] == ["active"], late
        assert httpx.get(url, headers=h["stranger"]).status_code == 404
    finally:
        stranger.close()


def test_reconnecting_with_last_event_id_resumes_without_gap_or_duplicate(world):
    incident = _incident(world)
    first = Listener(world["server"], world["people"]["helper_viewer"])
    try:
        task = _task(world, incident, "Task one")
        last = first.wait_for(_about(task["id"]))["id"]
    finally:
        first.close()
    missed = [_task(world, incident, f"Task while away {n}") for n in range(3)]
    _incident(world, participants=[], name="Not for the helper")  # AMBER, helper not taking part
    again = Listener(world["server"], world["people"]["helper_viewer"], last_event_id=last)
    try:
        for task in missed:
            again.wait_for(_about(task["id"]))
        live = _task(world, incident, "Task after reconnecting")
        again.wait_for(_about(live["id"]))
        ids = [f["id"] for f in again.seen]
        assert last not in ids and ids == sorted(ids) and len(ids) == len(set(ids))
        assert [f["data"]["object_id"] for f in again.seen if f["event"] == "task.created"] == [
            t["id"] for t in [*missed, live]
        ]
    finally:
        again.close()


def test_a_bad_last_event_id_is_refused_naming_it(world):
    for headers, field, query in [
        ({"Last-Event-ID": "ten"}, "Last-Event-ID", ""),
        ({}, "after", "?after=-4"),
        ({}, "after", "?after=%C2%B2"),  # a superscript two is a digit to str.isdigit, not to int()
    ]:
        url = world["server"] + "/api/v1/live" + query
        response = httpx.get(url, headers=world["people"]["helper_viewer"] | headers)
        assert response.status_code == 422, response.text
        assert response.json()["error"]["fields"][0]["field"] == field
    assert httpx.get(world["server"] + "/api/v1/live").status_code == 401


def test_a_slow_consumer_is_cut_off_without_slowing_the_others(session_factory, db, make_user, settings):
    """The dispatcher offers to each client's bounded queue and never waits: the client
    that reads nothing is cut off (reason overflow) while the other gets every event."""
    from accord.operations import service
    from accord.operations.schemas import IncidentCreate

    user = make_user("viewer", "CCSO")
    commander = make_user("commander", "CCSO")
    with session_factory() as session:
        actor = actor_for(session, user_id=user["id"], username=user["username"], display_name="", auth_method="token")
        lead = session.query(Agency.id).filter(Agency.short_name == "CCSO").scalar()
        boss = actor_for(session, user_id=commander["id"], username="c", display_name="", auth_method="token")
        incident = service.create_incident(
            session,
            actor=boss,
            data=IncidentCreate(
                lead_agency_id=lead, name="Slow consumer test", type="other", severity="minor", tier="CLEAR"
            ),
        )
        session.commit()
        incident_id = str(incident.id)

    async def scenario() -> tuple[LiveClient, list[int], LiveClient]:
        broker = events.InProcessBroker()
        previous = events.set_broker(broker)
        dispatcher = Dispatcher(session_factory, client_queue=5)
        try:
            dispatcher.start()
            slow, fast = dispatcher.connect(actor), dispatcher.connect(actor)
            got: list[int] = []
            base = 10**12  # ids above anything the outbox holds
            for n in range(1, 21):
                broker.publish(
                    events.Event(
                        id=base + n,
                        kind="incident.updated",
                        object_type="incident",
                        object_id=incident_id,
                        occurred_at=utcnow(),
                        payload={},
                    )
                )
                got.append((await fast.subscription.get(timeout=5)).id - base)
            return slow, got, fast
        finally:
            await dispatcher.stop()
            events.set_broker(previous)

    slow, got, _ = asyncio.run(scenario())
    assert got == list(range(1, 21))
    assert slow.subscription.reason == events.OVERFLOW


def test_two_server_processes_share_one_nats_stream(settings, world):
    """A change committed through one worker reaches a stream opened on another, and a
    client may resume on either: ids are the outbox's, the same everywhere."""
    require_nats()
    suffix = uuid.uuid4().hex[:8]
    nats = {
        "ACCORD_NATS_URL": NATS_URL,
        "ACCORD_NATS_STREAM": f"ACCORD_LIVE_TEST_{suffix}",
        "ACCORD_NATS_SUBJECT": f"accord.livetest.{suffix}",
    }
    try:
        with running_server(settings.database_url, **nats) as one, running_server(settings.database_url, **nats) as two:
            incident = _incident(world)
            on_two = Listener(two, world["people"]["helper_viewer"])
            try:
                task = _task(world, incident, "Through worker one", base=one)
                last = on_two.wait_for(_about(task["id"]))["id"]
            finally:
                on_two.close()
            missed = _task(world, incident, "While away, through worker two", base=two)
            on_one = Listener(one, world["people"]["helper_viewer"], last_event_id=last)
            try:
                on_one.wait_for(_about(missed["id"]))
                live = _task(world, incident, "Live, through worker two", base=two)
                on_one.wait_for(_about(live["id"]))
                ids = [f["id"] for f in on_one.seen]
                assert ids == sorted(ids) and len(ids) == len(set(ids)) and last not in ids
            finally:
                on_one.close()
    finally:
        delete_stream(nats["ACCORD_NATS_STREAM"])


def test_a_stream_opened_with_an_agency_token_stands_until_the_token_is_revoked(app, session_factory, make_user):
    """The 30-second re-check compares the memberships the stream was opened with — those
    of the token's agency for a client token — and ends the stream once the token is
    revoked."""
    from starlette.requests import Request

    from accord.accounts import service as accounts
    from accord.accounts.schemas import ApiTokenCreate, MembershipCreate
    from accord.operations.api import _still_signed_in
    from accord.seed import system_actor

    user = make_user("viewer", "CCSO")
    with session_factory() as db:
        hpd = db.query(Agency.id).filter(Agency.short_name == "HPD").scalar()
        accounts.add_membership(
            db, actor=system_actor("test"), user_id=user["id"], data=MembershipCreate(agency_id=hpd, role="viewer")
        )
        db.commit()
        owner = actor_for(db, user_id=user["id"], username=user["username"], display_name="", auth_method="session")
        issued = accounts.issue_api_token(
            db, actor=owner, data=ApiTokenCreate(name="wall display", agency_id=user["agency_id"])
        )
        db.commit()
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/api/v1/live",
        "query_string": b"",
        "headers": [(b"authorization", f"Bearer {issued.token}".encode())],
        "client": ("127.0.0.1", 50000),
        "app": app,
    }
    request = Request(scope)
    actor = app.state.resolve_actor(request)
    assert {m.agency_id for m in actor.memberships} == {user["agency_id"]}  # the token's agency only
    still = _still_signed_in(request, actor)
    assert still() is True
    with session_factory() as db:
        accounts.revoke_api_token(db, actor=owner, token_id=issued.id)
        db.commit()
    assert still() is False
