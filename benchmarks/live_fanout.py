"""Benchmark: live updates fanned out to 1,000 concurrent SSE subscribers on one worker.

Issue 5: each subscriber with its own visibility; an event published -> received latency
p50 / p99 and deliveries per second; server memory per subscriber. Goals: p99 <= 100 ms
at 1,000 subscribers, <= 64 KiB of server memory per subscriber.

The real path: ``accord serve``'s app under uvicorn (one worker, in-process broker) on a
fresh database built by the migrations. 1,000 agencies, one viewer each with an API
token, so 1,000 different visibilities (no two subscribers share memberships). Changes go
through the JSON API as a commander makes them:
- ``public``: a CLEAR incident's summary changes — every subscriber may see it;
- ``task``: a task added to one of 20 AMBER incidents, each with 50 of the agencies taking
  part — 50 subscribers may see it, 950 must not receive it.
Every received frame is checked against that rule (a delivery to a subscriber who may not
see the object fails the run).

Latency is measured from the event's ``published_at`` (stamped when the committing request
hands it to the broker, right after its commit) to the moment the subscriber's socket read
returns: the dispatch, the per-recipient check, the queues and the transport. Events are
published one at a time (the next once every recipient has the previous) for latency,
then as a burst for deliveries per second. Memory: the server's resident set size with
all subscribers connected minus before any connected, divided by their number.

Baseline, same run, same client, same machine: a bare SSE server (Starlette under
uvicorn, Accord's own in-process broker and bounded subscriptions) that publishes an
event per POST and streams every event to every subscriber — no authentication, no
database, no per-recipient check. Ratios are Accord / baseline.

Run:   .venv/bin/python benchmarks/live_fanout.py [--subscribers 1000] [--events 100]
       [--burst 200] [--db sqlite|postgresql]
Progress on stderr; a table and one JSON object (its last line) on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))  # measure the code of this tree

import httpx  # noqa: E402

PUBLIC_ROUTE = "/api/v1/live"
GROUPS = 20
BROWSER_PASSWORD = "bench-browser-password-2026"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


# -- the world ------------------------------------------------------------------------------
@dataclass
class World:
    database_url: str
    commander_token: str
    tokens: list[str]  # one per subscriber
    group_of: list[int]  # the AMBER incident (0..GROUPS-1) each subscriber takes part in
    public_incident: str
    group_incidents: list[str]
    group_agency: list[str]  # an agency of each group, to assign its tasks to
    browser_user: str = "bench-browser"
    cleanup: list[Any] = field(default_factory=list)


def build_world(db_kind: str, subscribers: int) -> World:
    from sqlalchemy import create_engine, select, text

    from accord.accounts.models import ApiToken, User
    from accord.authz.models import Membership, Role
    from accord.authz.service import sync_builtin_roles
    from accord.core import crypto
    from accord.core.db import make_engine, make_session_factory
    from accord.core.time import utcnow
    from accord.directory.models import Agency
    from accord.migrate import upgrade
    from accord.operations.models import Incident, IncidentParticipant

    cleanup: list[Any] = []
    if db_kind == "sqlite":
        folder = tempfile.mkdtemp(prefix="accord-bench-live-")
        url = f"sqlite:///{folder}/live.db"
        cleanup.append(lambda: subprocess.call(["rm", "-rf", folder]))
    else:
        base = os.environ.get("ACCORD_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
        schema = f"bench_live_{os.getpid()}"
        admin = create_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))

        def drop() -> None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            admin.dispose()

        cleanup.append(drop)
        url = f"{base}?options=-csearch_path%3D{schema}"
    upgrade(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    now = utcnow()
    tokens: list[str] = []
    group_of: list[int] = []
    with factory() as db:
        sync_builtin_roles(db)
        roles = {r.name: r.id for r in db.scalars(select(Role))}

        def person(agency_id: uuid.UUID, role: str, name: str) -> str:
            user = User(username=name, display_name=name, email="", password_hash="!")
            db.add(user)
            db.flush()
            db.add(Membership(user_id=user.id, agency_id=agency_id, role_id=roles[role]))
            plaintext = f"acc_{uuid.uuid4().hex[:8]}.{uuid.uuid4().hex}{uuid.uuid4().hex}"
            db.add(
                ApiToken(
                    user_id=user.id,
                    agency_id=agency_id,
                    name="bench",
                    kind="api",
                    prefix=plaintext.split(".", maxsplit=1)[0],
                    token_hash=crypto.token_hash(plaintext),
                    created_at=now,
                    expires_at=now.replace(year=now.year + 1),
                )
            )
            return plaintext

        lead = Agency(name="Bench lead", short_name="BLEAD", kind="fire", level="county", jurisdiction_name="Bench")
        db.add(lead)
        db.flush()
        commander = person(lead.id, "commander", "bench-commander")
        agencies = []
        for i in range(subscribers):
            agency = Agency(
                name=f"Bench agency {i}",
                short_name=f"B{i:05d}",
                kind="police",
                level="local",
                jurisdiction_name="Bench",
            )
            db.add(agency)
            agencies.append(agency)
        db.flush()
        for i, agency in enumerate(agencies):
            tokens.append(person(agency.id, "viewer", f"bench-viewer-{i}"))
            group_of.append(i % GROUPS)
        # Someone who signs in with a browser (the page path): a viewer of group 0.
        from accord.accounts.passwords import hash_password

        person(agencies[0].id, "viewer", "bench-browser")
        browser = db.scalar(select(User).where(User.username == "bench-browser"))
        assert browser is not None
        browser.password_hash = hash_password(BROWSER_PASSWORD)
        point = {"type": "Point", "coordinates": [-77.0, 41.0]}

        def incident(name: str, tier: str, number: str) -> Incident:
            row = Incident(
                number=number,
                name=name,
                type="flood",
                severity="severe",
                status="active",
                lead_agency_id=lead.id,
                tier=tier,
                tier_rank={"CLEAR": 0, "AMBER": 2}[tier],
                summary="",
                location=point,
                min_lon=-77.0,
                min_lat=41.0,
                max_lon=-77.0,
                max_lat=41.0,
                started_at=now,
            )
            db.add(row)
            db.flush()
            return row

        public = incident("Bench public incident", "CLEAR", "BENCH-0000")
        groups = [incident(f"Bench incident {g}", "AMBER", f"BENCH-{g + 1:04d}") for g in range(GROUPS)]
        for i, agency in enumerate(agencies):
            db.add(IncidentParticipant(incident_id=groups[group_of[i]].id, agency_id=agency.id))
        group_agency = [str(agencies[g].id) for g in range(GROUPS)]
        db.commit()
        world = World(
            database_url=url,
            commander_token=commander,
            tokens=tokens,
            group_of=group_of,
            public_incident=str(public.id),
            group_incidents=[str(g.id) for g in groups],
            group_agency=group_agency,
            cleanup=cleanup,
        )
    engine.dispose()
    return world


# -- servers --------------------------------------------------------------------------------
@contextlib.contextmanager
def server(cmd: list[str], env: dict[str, str], port: int) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT)
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"server died: {proc.stderr.read().decode() if proc.stderr else ''}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            raise RuntimeError("server did not start")
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def accord_server(
    world: World, port: int, profile: str | None = None
) -> contextlib.AbstractContextManager[subprocess.Popen[bytes]]:
    env = {
        **os.environ,
        "ACCORD_DATABASE_URL": world.database_url,
        "ACCORD_SECRET_KEY": "bench-secret-key-0123456789abcdef0123456789",
        "ACCORD_ENV": "test",
        "ACCORD_LOG_LEVEL": "WARNING",
        "ACCORD_NATS_URL": "",
    }
    cmd = [sys.executable, "-m", "uvicorn", "accord.asgi:app", "--host", "127.0.0.1", "--port", str(port)]
    cmd += ["--log-level", "warning", "--no-access-log"]
    if profile:  # where the server's time goes (py-spy, installed by hand; not a dependency)
        cmd = ["py-spy", "record", "--nonblocking", "-d", "45", "-r", "100", "-f", "raw", "-o", profile, "--", *cmd]
    return server(cmd, env, port)


def baseline_server(port: int) -> contextlib.AbstractContextManager[subprocess.Popen[bytes]]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--serve-baseline", str(port)]
    return server(cmd, dict(os.environ), port)


def serve_baseline(port: int) -> None:
    """A bare SSE fan-out: the same broker and bounded subscriptions, nothing else."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, StreamingResponse
    from starlette.routing import Route

    from accord.core.events import Event, InProcessBroker, SubscriptionClosed
    from accord.core.time import utcnow

    broker = InProcessBroker()
    counter = {"id": 0}

    async def live(request: Request) -> StreamingResponse:
        subscription = broker.subscribe(256)

        async def body() -> Any:
            try:
                yield b"retry: 2000\n\n"
                while True:
                    try:
                        event = await subscription.get(timeout=15)
                    except TimeoutError:
                        yield b": keep-alive\n\n"
                        continue
                    except SubscriptionClosed:
                        return
                    yield b"id: %d\nevent: %s\ndata: %s\n\n" % (event.id, event.kind.encode(), event.to_json())
            finally:
                subscription.close()

        return StreamingResponse(body(), media_type="text/event-stream")

    async def publish(request: Request) -> JSONResponse:
        counter["id"] += 1
        event = Event(
            id=counter["id"],
            kind="bench.event",
            object_type="bench",
            object_id=str(counter["id"]),
            occurred_at=utcnow(),
            published_at=utcnow(),
        )
        broker.publish(event)
        return JSONResponse({"id": event.id})

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    app = Starlette(
        routes=[Route(PUBLIC_ROUTE, live), Route("/publish", publish, methods=["POST"]), Route("/healthz", healthz)]
    )
    # The same collector settings as accord.asgi: the comparison is about what Accord does
    # per event, not about garbage collection.
    import gc

    from accord.app import GC_THRESHOLDS

    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


# -- subscribers ----------------------------------------------------------------------------
def parse(raw: list[tuple[int, bytes, float]]) -> list[tuple[int, int, str, float, float]]:
    """(subscriber, event id, object id, occurred_at, received at) of each data frame."""
    frames = []
    for index, frame, at in raw:
        lines = frame.split(b"\n")
        event_id = int(lines[0][4:])
        payload = json.loads(next(line[6:] for line in lines if line.startswith(b"data: ")))
        # Published -> received: from the moment the committing request handed the event
        # to the broker (after its commit).
        occurred = datetime.fromisoformat(payload["published_at"] or payload["occurred_at"]).timestamp()
        frames.append((index, event_id, str(payload["object_id"]), occurred, at))
    return frames


@dataclass
class Received:
    """What every subscriber got: (subscriber, event id, object id, occurred_at, t_recv)."""

    frames: list[tuple[int, int, str, float, float]] = field(default_factory=list)
    raw: list[tuple[int, bytes, float]] = field(default_factory=list)
    ready: int = 0
    failures: list[str] = field(default_factory=list)


async def subscriber(index: int, port: int, token: str | None, received: Received, stop: asyncio.Event) -> None:
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError as exc:
        received.failures.append(f"{index}: connect {exc}")
        return
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    writer.write(f"GET {PUBLIC_ROUTE} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}Accept: text/event-stream\r\n\r\n".encode())
    await writer.drain()
    status = await reader.readline()
    if b" 200 " not in status:
        received.failures.append(f"{index}: {status!r}")
        writer.close()
        return
    while (await reader.readline()) not in (b"\r\n", b""):
        pass
    raw = b""  # the chunked transfer encoding, as read
    body = b""  # the event stream inside it
    counted = False
    try:
        while not stop.is_set():
            data = await reader.read(65536)  # whatever has arrived: one read per wake-up
            if not data:
                break
            now = time.time()
            raw += data
            while True:  # unwrap complete chunks
                end = raw.find(b"\r\n")
                if end < 0:
                    break
                size = int(raw[:end] or b"0", 16)
                if len(raw) < end + 2 + size + 2:
                    break
                body += raw[end + 2 : end + 2 + size]
                raw = raw[end + 2 + size + 2 :]
            while b"\n\n" in body:
                frame, body = body.split(b"\n\n", 1)
                if frame.startswith(b"retry:") and not counted:
                    counted = True
                    received.ready += 1
                    continue
                if frame.startswith(b"id: "):  # parsed after the run: the client does as little as it can
                    received.raw.append((index, frame, now))
    except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
        if not stop.is_set():
            received.failures.append(f"{index}: {exc.__class__.__name__} {exc}")
    finally:
        writer.close()


# -- one scenario -----------------------------------------------------------------------------
@dataclass
class Result:
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    deliveries: int
    deliveries_per_s: float
    kib_per_subscriber: float
    subscribers: int
    wrong_deliveries: int = 0
    missing_deliveries: int = 0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def run_scenario(
    name: str,
    port: int,
    pid: int,
    tokens: list[str | None],
    publish: Any,
    expected: Any,
    events: int,
    burst: int,
    browser_phase: Any = None,
) -> Result:
    """Connect every subscriber, publish ``events`` one at a time (latency), then ``burst``
    back to back (throughput); then, with the subscribers still connected, the browser
    phase if any."""
    received = Received()
    stop = asyncio.Event()
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
        await publish(http, 0)  # warm the server up before measuring its memory
        await asyncio.sleep(0.5)
        before = rss_kib(pid)
        tasks = []
        for index, token in enumerate(tokens):
            tasks.append(asyncio.create_task(subscriber(index, port, token, received, stop)))
            if index % 100 == 99:
                await asyncio.sleep(0.05)
        deadline = time.monotonic() + 60
        while received.ready < len(tokens) and time.monotonic() < deadline and not received.failures:
            await asyncio.sleep(0.1)
        if received.ready < len(tokens):
            raise RuntimeError(
                f"{name}: only {received.ready} of {len(tokens)} subscribers connected: {received.failures[:3]}"
            )
        await asyncio.sleep(1.0)
        after = rss_kib(pid)
        # Steady state: the first events after the subscribers arrived build and compile
        # the per-type statements once per process; they are not measured.
        for n in range(-3, 0):
            await publish(http, n)
        await asyncio.sleep(1.0)
        log(f"{name}: {len(tokens)} subscribers connected; server RSS {before} -> {after} KiB")
        # The client must not measure its own pauses: its collector (a thousand connections
        # and a growing list of frames) stopped it for 50-100 ms at the same event of every
        # run. Nothing it allocates from here on is garbage before the run ends.
        gc.collect()
        gc.freeze()
        gc.disable()
        received.raw.clear()

        async def settle(count: int, timeout: float = 10.0) -> None:
            limit = time.monotonic() + timeout
            while len(received.raw) < count and time.monotonic() < limit:
                await asyncio.sleep(0.002)

        want: dict[str, set[int]] = {}
        for n in range(1, events + 1):
            object_id, recipients = await publish(http, n)
            want[object_id] = recipients
            await settle(sum(len(r) for r in want.values()))
        latency_count = len(received.raw)
        started = time.time()
        burst_want = 0
        for n in range(events + 1, events + burst + 1):
            object_id, recipients = await publish(http, n)
            want[object_id] = recipients
            burst_want += len(recipients)
        await settle(sum(len(r) for r in want.values()), timeout=60)
        measured = len(received.raw)  # the browser phase's own deliveries are not counted here
        if browser_phase is not None:
            await browser_phase(http)
        stop.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        gc.enable()
        gc.unfreeze()
    received.frames = parse(received.raw[:measured])
    latency_frames = received.frames[:latency_count]
    burst_frames = received.frames[latency_count:]
    finished = max((f[4] for f in burst_frames), default=time.time())
    got: dict[str, set[int]] = {}
    for index, _event_id, object_id, _occurred, _at in received.frames:
        got.setdefault(object_id, set()).add(index)
    wrong = sum(len(got.get(o, set()) - r) for o, r in want.items()) + sum(
        len(indices) for o, indices in got.items() if o not in want
    )
    missing = sum(len(r - got.get(o, set())) for o, r in want.items())
    latencies = [(at - occurred) * 1000 for _, _, _, occurred, at in latency_frames]
    worst: dict[int, float] = {}
    for _, event_id, _, occurred, at in latency_frames:
        worst[event_id] = max(worst.get(event_id, 0.0), (at - occurred) * 1000)
    slowest = sorted(worst.values())
    top = [round(v) for v in slowest[-5:]]
    log(f"{name}: slowest recipient per event, ms: median {statistics.median(slowest):.1f}, top {top}")
    first = min((f[3] for f in latency_frames), default=0.0)
    for event_id, ms in sorted(worst.items(), key=lambda item: -item[1])[:3]:
        published = next(f[3] for f in latency_frames if f[1] == event_id)
        count = sum(1 for f in latency_frames if f[1] == event_id)
        log(f"{name}:   event {event_id}: {ms:.0f} ms to its last of {count} recipients, {published - first:.1f} s in")
    return Result(
        p50_ms=round(percentile(latencies, 0.50), 2),
        p95_ms=round(percentile(latencies, 0.95), 2),
        p99_ms=round(percentile(latencies, 0.99), 2),
        max_ms=round(max(latencies), 2),
        deliveries=len(received.frames),
        deliveries_per_s=round(len(burst_frames) / max(1e-6, finished - started), 1),
        kib_per_subscriber=round((after - before) / len(tokens), 2),
        subscribers=len(tokens),
        wrong_deliveries=wrong,
        missing_deliveries=missing,
    )


def accord_publisher(world: World) -> Any:
    headers = {"Authorization": f"Bearer {world.commander_token}"}
    everyone = set(range(len(world.tokens)))
    members = [{i for i, g in enumerate(world.group_of) if g == group} for group in range(GROUPS)]

    async def publish(http: httpx.AsyncClient, n: int) -> tuple[str, set[int]]:
        if n % 2 == 0:  # every other event is public
            response = await http.patch(
                f"/api/v1/incidents/{world.public_incident}", json={"summary": f"update {n}"}, headers=headers
            )
            response.raise_for_status()
            return world.public_incident, everyone
        group = n % GROUPS
        body = {"title": f"Bench task {n}", "assigned_agency_id": world.group_agency[group]}
        response = await http.post(
            f"/api/v1/incidents/{world.group_incidents[group]}/tasks", json=body, headers=headers
        )
        response.raise_for_status()
        return str(response.json()["id"]), members[group]

    return publish


def baseline_publisher(subscribers: int) -> Any:
    everyone = set(range(subscribers))

    async def publish(http: httpx.AsyncClient, n: int) -> tuple[str, set[int]]:
        response = await http.post("/publish")
        response.raise_for_status()
        return str(response.json()["id"]), everyone

    return publish


async def browser_visibility(
    world: World, port: int, changes: int, results: list[float], http: httpx.AsyncClient
) -> None:
    """Change committed -> visible in a second browser: a viewer has the operating picture
    open in Chromium; the commander adds a task with a place through the API; the time from
    the API's answer (the change committed) to the marker in the page's DOM (a
    MutationObserver stamps it) is one sample."""
    from playwright.async_api import async_playwright

    base = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {world.commander_token}"}
    incident = world.group_incidents[0]
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = await browser.new_page(viewport={"width": 1280, "height": 800})
        await page.goto(base + "/login")
        await page.get_by_label("Username").fill(world.browser_user)
        await page.get_by_label("Password").fill(BROWSER_PASSWORD)
        await page.get_by_role("button", name="Continue").click()
        await page.wait_for_url(base + "/")
        await page.goto(f"{base}/cop?incident={incident}")
        await page.wait_for_selector('#cop-map[data-loaded="true"]', timeout=30_000)
        await page.wait_for_selector('[data-live-status][data-state="live"]', timeout=30_000)
        await page.evaluate(
            """() => {
              window.__seen = {};
              new MutationObserver((records) => {
                for (const r of records) for (const n of r.addedNodes) {
                  if (n.classList && n.classList.contains("cop-marker") && n.title) {
                    window.__seen[n.title] = window.__seen[n.title] || Date.now();
                  }
                }
              }).observe(document.getElementById("cop-map"), { childList: true, subtree: true });
            }"""
        )
        for n in range(changes):
            title = f"Bench marker {n} {uuid.uuid4().hex[:6]}"
            body = {
                "title": title,
                "assigned_agency_id": world.group_agency[0],
                "location": {"type": "Point", "coordinates": [-77.0 + 0.001 * n, 41.0]},
            }
            response = await http.post(f"/api/v1/incidents/{incident}/tasks", json=body, headers=headers)
            response.raise_for_status()
            committed = time.time() * 1000
            number = response.json()["number"]
            key = f"T{number} {title}"
            await page.wait_for_function("k => window.__seen[k] !== undefined", arg=key, timeout=10_000)
            seen = await page.evaluate("k => window.__seen[k]", key)
            results.append(seen - committed)
            await asyncio.sleep(0.3)
        await browser.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--events", type=int, default=100, help="events published one at a time (latency)")
    parser.add_argument("--burst", type=int, default=200, help="events published back to back (throughput)")
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--serve-baseline", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--profile-server", help="record the Accord server with py-spy into this file")
    parser.add_argument(
        "--browser-changes", type=int, default=20, help="changes watched in Chromium (0: skip the browser phase)"
    )
    args = parser.parse_args()
    if args.serve_baseline:
        serve_baseline(args.serve_baseline)
        return 0
    if not 1 <= args.subscribers <= 5000 or args.events < 2 or args.burst < 1:
        parser.error("--subscribers 1..5000, --events >= 2, --burst >= 1")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 4 * args.subscribers + 256)), hard))
    log(f"building the world: {args.subscribers} agencies and viewers on {args.db}")
    world = build_world(args.db, args.subscribers)
    try:
        port = free_port()
        browser_ms: list[float] = []
        phase = None
        if args.browser_changes and Path(CHROMIUM).exists():

            async def phase(http: httpx.AsyncClient) -> None:
                log(f"browser phase: {args.browser_changes} changes seen in Chromium")
                await browser_visibility(world, port, args.browser_changes, browser_ms, http)

        with accord_server(world, port, args.profile_server) as proc:
            accord = asyncio.run(
                run_scenario(
                    "accord",
                    port,
                    proc.pid,
                    list(world.tokens),
                    accord_publisher(world),
                    None,
                    args.events,
                    args.burst,
                    phase,
                )
            )
        port = free_port()
        with baseline_server(port) as proc:
            baseline = asyncio.run(
                run_scenario(
                    "baseline",
                    port,
                    proc.pid,
                    [None] * args.subscribers,
                    baseline_publisher(args.subscribers),
                    None,
                    args.events,
                    args.burst,
                )
            )
    finally:
        for step in world.cleanup:
            step()
    rows = [("accord", accord), ("baseline", baseline)]
    print(
        f"{'':10} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8} {'deliv/s':>10} {'KiB/sub':>8}"
        f" {'wrong':>6} {'missing':>8}"
    )
    for label, r in rows:
        print(
            f"{label:10} {r.p50_ms:8.1f} {r.p95_ms:8.1f} {r.p99_ms:8.1f} {r.max_ms:8.1f} {r.deliveries_per_s:10.0f} "
            f"{r.kib_per_subscriber:8.1f} {r.wrong_deliveries:6d} {r.missing_deliveries:8d}"
        )
    goals = {"p99_ms": 100.0, "kib_per_subscriber": 64.0, "browser_visible_ms": 1000.0}
    browser = (
        {
            "changes": len(browser_ms),
            "median_ms": round(statistics.median(browser_ms), 1),
            "p95_ms": round(percentile(browser_ms, 0.95), 1),
            "max_ms": round(max(browser_ms), 1),
        }
        if browser_ms
        else None
    )
    if browser:
        print(
            f"committed -> visible in a second browser (Chromium, {browser['changes']} changes): "
            f"median {browser['median_ms']} ms, p95 {browser['p95_ms']} ms, max {browser['max_ms']} ms"
        )
    met = (
        accord.p99_ms <= goals["p99_ms"]
        and accord.kib_per_subscriber <= goals["kib_per_subscriber"]
        and (browser is None or browser["max_ms"] <= goals["browser_visible_ms"])
    )
    correct = accord.wrong_deliveries == 0 and accord.missing_deliveries == 0
    summary = {
        "benchmark": "live_fanout",
        "db": args.db,
        "subscribers": args.subscribers,
        "distinct_visibilities": args.subscribers,
        "events_latency": args.events,
        "events_burst": args.burst,
        "accord": accord.__dict__,
        "baseline": baseline.__dict__,
        "ratio_p50": round(accord.p50_ms / max(baseline.p50_ms, 1e-6), 2),
        "ratio_p99": round(accord.p99_ms / max(baseline.p99_ms, 1e-6), 2),
        "ratio_deliveries_per_s": round(accord.deliveries_per_s / max(baseline.deliveries_per_s, 1e-6), 3),
        "ratio_kib_per_subscriber": round(accord.kib_per_subscriber / max(baseline.kib_per_subscriber, 1e-6), 2),
        "browser": browser,
        "goals": goals,
        "met": met,
        "correct": correct,
    }
    print(json.dumps(summary))
    return 0 if correct else 1


if __name__ == "__main__":
    sys.exit(main())
