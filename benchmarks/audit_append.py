"""Benchmark: appending to the audit hash chain, and verifying it.

Issue 4: appends per second with a durable commit each and with group commit, and how
fast the chain verifies, on SQLite and PostgreSQL. Goals: at least 5,000 appends/s
durable, 20,000/s grouped, and verification at least 100,000 events/s.

Everything goes through the real code: ``audit.service.record_event`` queues the events
on the session and its ``before_commit`` hook chains them (head row locked by
``UPDATE ... RETURNING``, hashes, Merkle frontier, a signed checkpoint every 1,000 events
or 60 s); ``audit.verify.verify_chain`` walks the log. The schema comes from the
project's migrations; the engines from ``core.db.make_engine`` (SQLite in WAL with its
default ``synchronous``, PostgreSQL with ``synchronous_commit`` on, as the server runs).

Baselines, measured in the same run and interleaved with the real path:
- appends: the same rows INSERTed into the same ``audit_events`` table without chaining
  (no hash, no head row), with the same sessions and the same commit pattern;
- verification: the same rows read back (every column, same streaming, same order).

Scenarios: ``durable`` is one event per transaction, each committed, by one writer and by
N writer processes at once; ``grouped`` is one writer committing 100 (and 1,000) events
per transaction (group commit by batching, not by writers sharing a commit). Each
repetition runs every scenario on both paths, alternating which goes first; the figures
are medians. Two probes explain them: the latency of fdatasync on this file system (a
durable commit costs at least one), and how long an append holds the chain head
(appenders queue on it, so N writers cannot beat one append per that time).

Run:   .venv/bin/python benchmarks/audit_append.py [--db sqlite|postgresql|both] [--reps 5]
       [--writers 4] [--durable-txns 500] [--group 100,1000] [--grouped-events 10000]
       [--verify-events 200000] [--verify-reps 3]
Each database is fresh (a temporary SQLite file; a PostgreSQL schema of its own at
ACCORD_BENCH_PG_URL), and dropped at the end. Progress goes to stderr, a table and one
JSON object (its last line) to stdout.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import multiprocessing
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))  # measure the code of this tree

from sqlalchemy import Engine, create_engine, event, func, insert, select, text  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402

from accord.accounts.models import User  # noqa: E402
from accord.audit import service as audit  # noqa: E402
from accord.audit.models import AuditChainHead, AuditEvent  # noqa: E402
from accord.audit.verify import BATCH, verify_chain  # noqa: E402
from accord.authz.actor import Actor, MembershipGrant  # noqa: E402
from accord.config import Settings  # noqa: E402
from accord.core.db import make_engine, make_session_factory, new_id  # noqa: E402
from accord.core.logging import request_id_var  # noqa: E402
from accord.core.time import utcnow  # noqa: E402
from accord.directory.schemas import AgencyCreate  # noqa: E402
from accord.directory.service import create_agency  # noqa: E402
from accord.migrate import upgrade  # noqa: E402
from accord.seed import system_actor  # noqa: E402

PG_URL = os.environ.get("ACCORD_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SECRET = "benchmark-audit-append-secret-0123456789abcdef"
SCHEMA = "bench_audit_append"
GOAL = {"durable": 5_000, "grouped": 20_000, "verify": 100_000}  # events per second
EVENTS = AuditEvent.__table__


def log(message: str) -> None:
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


def settings_for(url: str) -> Settings:
    return Settings(env="test", database_url=url, secret_key=SECRET)


# --- the events ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Writer:
    """Who writes the events: an analyst reading other agencies' records under clauses,
    the most frequent kind of event (one per cross-agency read)."""

    actor: Actor
    owners: tuple[uuid.UUID, ...]
    clauses: tuple[uuid.UUID, ...]

    def event(self, i: int) -> dict[str, Any]:
        """``record_event``'s keyword arguments for the i-th event."""
        return {
            "actor": self.actor,
            "action": "sharing.record.read",
            "agency_id": self.owners[i % len(self.owners)],
            "object_type": "record",
            "object_id": uuid.uuid4(),
            "clause_id": self.clauses[i % len(self.clauses)],
            "details": {"basis": "grant", "tier": "AMBER", "masked": ["PII", "CJI"][: i % 3]},
        }

    def row(self, i: int) -> dict[str, Any]:
        """The same event as ``record_event`` would fill it in, as a plain row (no chain)."""
        e = self.event(i)
        actor = self.actor
        return {
            "id": new_id(),
            "occurred_at": utcnow(),
            "actor_user_id": actor.user_id,
            "actor_username": actor.username,
            "actor_agency_id": actor.primary_agency_id,
            "agency_id": e["agency_id"],
            "action": e["action"],
            "outcome": "success",
            "object_type": e["object_type"],
            "object_id": str(e["object_id"]),
            "clause_id": e["clause_id"],
            "client_addr": actor.client_addr,
            "request_id": request_id_var.get(),
            "details": e["details"],
        }


def make_writer(factory: sessionmaker[Session]) -> Writer:
    """An agency and a user of it (a real foreign key for ``actor_user_id``)."""
    with factory() as db:
        agency = create_agency(
            db,
            actor=system_actor("bench"),
            data=AgencyCreate(
                name="Bench County Fusion Center",
                short_name="BENCHFC",
                kind="state",
                level="state",
                jurisdiction_name="Bench County",
            ),
        )
        user = User(username="bench.analyst", display_name="Bench Analyst", password_hash="-")
        db.add(user)
        db.commit()
        grant = MembershipGrant(agency_id=agency.id, role="analyst", permissions=frozenset())
        actor = Actor(
            user_id=user.id,
            username=user.username,
            display_name=user.display_name,
            memberships=(grant,),
            auth_method="token",
            client_addr="10.20.30.40",
        )
    owners = tuple(uuid.UUID(int=0x5EED0000 + n) for n in range(12))
    clauses = tuple(uuid.UUID(int=0xC1A05E00 + n) for n in range(40))
    return Writer(actor, owners, clauses)


def append_chained(factory: sessionmaker[Session], writer: Writer, transactions: int, per_txn: int) -> None:
    """The real path: ``record_event`` per event, the chain written at commit."""
    i = 0
    for _ in range(transactions):
        request_id_var.set(uuid.uuid4().hex[:16])
        with factory() as db:
            for _ in range(per_txn):
                audit.record_event(db, **writer.event(i))
                i += 1
            db.commit()


def append_plain(factory: sessionmaker[Session], writer: Writer, transactions: int, per_txn: int) -> None:
    """The baseline: the same rows by a plain INSERT, no chain, same sessions and commits."""
    statement = insert(EVENTS)
    i = 0
    for _ in range(transactions):
        request_id_var.set(uuid.uuid4().hex[:16])
        with factory() as db:
            if per_txn == 1:
                db.execute(statement, writer.row(i))
            else:
                db.execute(statement, [writer.row(i + k) for k in range(per_txn)])
            i += per_txn
            db.commit()


PATHS: dict[str, Callable[[sessionmaker[Session], Writer, int, int], None]] = {
    "chained": append_chained,
    "plain": append_plain,
}


# --- concurrent writers (processes, as the server's workers are) -------------------------------


def _writer_process(url: str, writer: Writer, conn: Connection, barrier: Any) -> None:
    audit.configure(settings_for(url))  # same key as the parent, as every worker must have
    engine = make_engine(url)
    factory = make_session_factory(engine)
    try:
        while (job := conn.recv()) is not None:
            path, transactions, per_txn = job
            barrier.wait()
            started = time.perf_counter()  # CLOCK_MONOTONIC: comparable across processes
            PATHS[path](factory, writer, transactions, per_txn)
            conn.send((started, time.perf_counter()))
    except Exception as exc:
        conn.send(("error", f"{exc.__class__.__name__}: {exc}"))
        raise
    finally:
        engine.dispose()


class WriterPool:
    """N processes that start each job together (a barrier) and report when they finished."""

    def __init__(self, url: str, writer: Writer, n: int) -> None:
        context = multiprocessing.get_context("spawn")
        self.barrier = context.Barrier(n)  # kept: the children open it by name after start()
        self.conns: list[Connection] = []
        self.processes = []
        for _ in range(n):
            parent, child = context.Pipe()
            process = context.Process(target=_writer_process, args=(url, writer, child, self.barrier), daemon=True)
            process.start()
            self.conns.append(parent)
            self.processes.append(process)

    def run(self, path: str, transactions: int, per_txn: int) -> float:
        """Seconds from the first writer's start to the last one's end."""
        share = max(1, transactions // len(self.conns))
        for conn in self.conns:
            conn.send((path, share, per_txn))
        spans = [conn.recv() for conn in self.conns]
        for span in spans:
            if span[0] == "error":
                raise RuntimeError(f"a writer process failed: {span[1]}")
        return float(max(end for _, end in spans) - min(start for start, _ in spans))

    def close(self) -> None:
        for conn in self.conns:
            with contextlib.suppress(OSError):
                conn.send(None)
        for process in self.processes:
            process.join(30)
            if process.is_alive():
                process.kill()


# --- scenarios ------------------------------------------------------------------------------


@dataclass
class Scenario:
    name: str
    what: str
    writers: int
    per_txn: int
    transactions: int  # per repetition, all writers together
    goal: str  # key of GOAL
    real: list[float] = field(default_factory=list)
    base: list[float] = field(default_factory=list)

    @property
    def events(self) -> int:
        return (self.transactions // self.writers) * self.writers * self.per_txn

    def figures(self) -> dict[str, Any]:
        real, base = statistics.median(self.real), statistics.median(self.base)
        goal = GOAL[self.goal]
        return {
            "what": self.what,
            "writers": self.writers,
            "events_per_commit": self.per_txn,
            "events_per_rep": self.events,
            "per_s": round(real),
            "baseline_per_s": round(base),
            "ratio": round(real / base, 3),
            # What chaining adds to each event, from the two medians.
            "chain_cost_us_per_event": round(1e6 / real - 1e6 / base, 1),
            "per_s_reps": [round(r) for r in self.real],
            "baseline_per_s_reps": [round(b) for b in self.base],
            "goal_per_s": goal,
            "met": real >= goal,
            "baseline_met": base >= goal,
        }


def scenarios_for(args: argparse.Namespace) -> list[Scenario]:
    found = [Scenario("durable_1", "1 writer, 1 event per committed transaction", 1, 1, args.durable_txns, "durable")]
    if args.writers > 1:
        what = f"{args.writers} writer processes at once, 1 event per committed transaction each"
        found.append(Scenario(f"durable_{args.writers}", what, args.writers, 1, args.durable_txns, "durable"))
    for size in args.group:
        what = f"1 writer, {size} events per committed transaction (batching; no commit shared between writers)"
        found.append(Scenario(f"grouped_{size}", what, 1, size, max(1, args.grouped_events // size), "grouped"))
    return found


def measure_appends(engine: Engine, writer: Writer, url: str, args: argparse.Namespace) -> dict[str, Any]:
    """Each repetition runs every scenario on both paths, alternating which path goes
    first, so the machine's drift and the table's growth hit both alike."""
    factory = make_session_factory(engine)
    scenarios = scenarios_for(args)
    pool = WriterPool(url, writer, args.writers) if args.writers > 1 else None
    try:
        log("  warm-up")
        for path, run in PATHS.items():
            run(factory, writer, 20, 1)
            run(factory, writer, 2, 100)
            if pool is not None:
                pool.run(path, 20 * args.writers, 1)
        for rep in range(args.reps):
            for position, s in enumerate(scenarios):
                order = ["chained", "plain"] if (rep + position) % 2 == 0 else ["plain", "chained"]
                for path in order:
                    gc.collect()
                    if s.writers > 1:
                        assert pool is not None
                        seconds = pool.run(path, s.transactions, s.per_txn)
                    else:
                        started = time.perf_counter()
                        PATHS[path](factory, writer, s.transactions, s.per_txn)
                        seconds = time.perf_counter() - started
                    (s.real if path == "chained" else s.base).append(s.events / seconds)
            log(
                f"  rep {rep + 1}/{args.reps}: "
                + ", ".join(f"{s.name} {s.real[-1]:,.0f}/s (plain {s.base[-1]:,.0f}/s)" for s in scenarios)
            )
    finally:
        if pool is not None:
            pool.close()
    return {s.name: s.figures() for s in scenarios}


def check_chain(engine: Engine) -> dict[str, int]:
    """After the appends: the chained events hold the positions 0..size-1 (unique by index)
    and the head row counts them; the plain rows are apart (no position)."""
    with engine.connect() as conn:
        chained, top = conn.execute(select(func.count(EVENTS.c.chain_index), func.max(EVENTS.c.chain_index))).one()
        plain = conn.scalar(select(func.count()).select_from(EVENTS).where(EVENTS.c.chain_index.is_(None)))
        size = conn.scalar(select(AuditChainHead.__table__.c.size))
    if not chained == size == top + 1:
        raise AssertionError(f"chain check failed: {chained} chained events, top position {top}, head size {size}")
    return {"chained_events": int(chained), "plain_rows": int(plain or 0)}


def lock_hold(engine: Engine, writer: Writer, transactions: int = 300) -> dict[str, float]:
    """How long one durable append holds the chain head (PostgreSQL: its row lock; SQLite:
    the database's write lock), from the ``UPDATE audit_chain_head`` that takes it until
    the commit returned. Appends by any number of writers cannot beat one per this time.
    Measured apart from the timed runs (the hooks cost a little)."""
    factory = make_session_factory(engine)
    locked: list[float] = []
    held: list[float] = []

    def on_execute(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.startswith("UPDATE audit_chain_head SET updated_at"):
            locked.append(time.perf_counter())

    def on_commit(_db: Session) -> None:
        if locked:
            held.append(time.perf_counter() - locked.pop())

    event.listen(engine, "before_cursor_execute", on_execute)
    event.listen(factory, "after_commit", on_commit)
    try:
        append_chained(factory, writer, transactions, 1)
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)
        event.remove(factory, "after_commit", on_commit)
    median = statistics.median(held)
    return {"head_lock_held_median_us": round(median * 1e6, 1), "serialized_max_per_s": round(1 / median)}


# --- verification ----------------------------------------------------------------------------


def read_plain(factory: sessionmaker[Session]) -> int:
    """The baseline: every column of every event, streamed in ``seq`` order as verify does."""
    count = 0
    with factory() as db:
        rows = db.execute(select(EVENTS).order_by(EVENTS.c.seq).execution_options(yield_per=BATCH))
        for row in rows:
            count += len(row) > 0
    return count


def read_raw(engine: Engine) -> int:
    """For reference: the same rows through the DB-API cursor, converted only by the driver."""
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("SELECT * FROM audit_events ORDER BY seq")
        count = 0
        while chunk := cursor.fetchmany(BATCH):
            count += len(chunk)
        cursor.close()
    finally:
        raw.close()
    return count


def measure_verify(engine: Engine, writer: Writer, args: argparse.Namespace) -> dict[str, Any]:
    factory = make_session_factory(engine)
    with factory() as db:
        already = db.scalar(select(func.count()).select_from(EVENTS)) or 0
    wanted = max(0, args.verify_events - already)
    started = time.perf_counter()
    for done in range(0, wanted, 1000):
        append_chained(factory, writer, 1, min(1000, wanted - done))
    total = already + wanted
    built = time.perf_counter() - started
    log(f"  built a log of {total:,} events through the real path (1,000 per commit) in {built:.1f}s")
    jobs = args.verify_jobs
    rates: dict[str, list[float]] = {"verify": [], "verify_jobs": [], "read": [], "raw": []}
    checkpoints = 0
    for rep in range(args.verify_reps):
        order = list(rates)[rep % 4 :] + list(rates)[: rep % 4]
        for what in order:
            gc.collect()
            t0 = time.perf_counter()
            if what.startswith("verify"):
                with factory() as db:
                    verdict = verify_chain(db, audit.current_signer(), jobs=jobs if what == "verify_jobs" else 1)
                if not verdict.ok or verdict.events != total:
                    raise AssertionError(f"verify failed: {verdict}")
                checkpoints = verdict.checkpoints
            elif (read_plain(factory) if what == "read" else read_raw(engine)) != total:
                raise AssertionError(f"the {what} read did not see every event")
            rates[what].append(total / (time.perf_counter() - t0))
        log(
            f"  verify rep {rep + 1}/{args.verify_reps}: {rates['verify'][-1]:,.0f} events/s, "
            f"{jobs} processes {rates['verify_jobs'][-1]:,.0f}/s "
            f"(read {rates['read'][-1]:,.0f}/s, DB-API read {rates['raw'][-1]:,.0f}/s)"
        )
    real, parallel, base, raw = (statistics.median(rates[k]) for k in ("verify", "verify_jobs", "read", "raw"))
    return {
        "what": "verify_chain over the whole log (hashes, links, Merkle roots, every checkpoint's signature)",
        "events": total,
        "checkpoints": checkpoints,
        "per_s": round(real),
        "baseline_per_s": round(base),
        "ratio": round(real / base, 3),
        "chain_cost_us_per_event": round(1e6 / real - 1e6 / base, 1),
        "dbapi_read_per_s": round(raw),
        "ratio_to_dbapi_read": round(real / raw, 3),
        "jobs": jobs,
        "jobs_per_s": round(parallel),
        "jobs_ratio": round(parallel / base, 3),
        "per_s_reps": [round(x) for x in rates["verify"]],
        "jobs_per_s_reps": [round(x) for x in rates["verify_jobs"]],
        "baseline_per_s_reps": [round(x) for x in rates["read"]],
        "goal_per_s": GOAL["verify"],
        # `accord audit verify` walks in one process per CPU: its figure is the one the goal judges.
        "met": parallel >= GOAL["verify"],
        "single_process_met": real >= GOAL["verify"],
        "baseline_met": base >= GOAL["verify"],
    }


# --- the machine -------------------------------------------------------------------------------


def fsync_latency(folder: Path, n: int = 300) -> dict[str, float]:
    """What one durable commit costs at least here: an 8 KiB write and fdatasync, as a WAL
    flush does, on the file system both databases live on."""
    path = folder / "fsync-probe"
    samples = []
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        block = b"\0" * 8192
        for i in range(n):
            os.pwrite(fd, block, (i % 16) * 8192)
            t0 = time.perf_counter()
            os.fdatasync(fd)
            samples.append(time.perf_counter() - t0)
    finally:
        os.close(fd)
        path.unlink(missing_ok=True)
    median = statistics.median(samples)
    return {"fdatasync_median_us": round(median * 1e6, 1), "serial_commits_max_per_s": round(1 / median)}


def database_settings(engine: Engine) -> dict[str, str]:
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            levels = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}
            return {
                "version": str(conn.scalar(text("SELECT sqlite_version()"))),
                "journal_mode": str(conn.scalar(text("PRAGMA journal_mode"))),
                "synchronous": levels.get(int(conn.scalar(text("PRAGMA synchronous")) or 0), "?"),
            }
        found = {"version": str(conn.scalar(text("SHOW server_version")))}
        for name in ("synchronous_commit", "fsync", "wal_sync_method", "commit_delay"):
            found[name] = str(conn.scalar(text(f"SHOW {name}")))
        return found


# --- databases ---------------------------------------------------------------------------------


def postgres_admin(statement: str) -> None:
    engine = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(statement))
    finally:
        engine.dispose()


def provision(backend: str, name: str, folder: Path) -> tuple[str, Callable[[], None]]:
    """A fresh, empty database for this run and how to remove it."""
    if backend == "sqlite":
        path = folder / f"{name}.db"

        def drop_file() -> None:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)

        return f"sqlite:///{path}", drop_file
    schema = f"{SCHEMA}_{name}_{os.getpid()}"
    postgres_admin(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    postgres_admin(f'CREATE SCHEMA "{schema}"')
    separator = "&" if "?" in PG_URL else "?"

    def drop_schema() -> None:
        postgres_admin(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')

    return f"{PG_URL}{separator}options=-csearch_path%3D{schema}", drop_schema


def fresh(backend: str, name: str, folder: Path) -> tuple[str, Engine, Writer, Callable[[], None]]:
    url, cleanup = provision(backend, name, folder)
    try:
        upgrade(url)
        audit.configure(settings_for(url))
        engine = make_engine(url)
        writer = make_writer(make_session_factory(engine))
    except BaseException:
        cleanup()
        raise
    return url, engine, writer, cleanup


def run_backend(backend: str, args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    log(f"== {backend}")
    result: dict[str, Any] = {}
    url, engine, writer, cleanup = fresh(backend, "append", folder)
    try:
        result["settings"] = database_settings(engine)
        log(f"  {result['settings']}")
        result |= measure_appends(engine, writer, url, args)
        result["lock"] = lock_hold(engine, writer)
        log(f"  {result['lock']}")
        result["chain_check"] = check_chain(engine)
    finally:
        engine.dispose()
        cleanup()
    if args.verify_events > 0:
        url, engine, writer, cleanup = fresh(backend, "verify", folder)
        try:
            result["verify"] = measure_verify(engine, writer, args)
        finally:
            engine.dispose()
            cleanup()
    result["met"] = all(v["met"] for v in result.values() if isinstance(v, dict) and "met" in v)
    return result


def print_table(results: dict[str, Any]) -> None:
    print(
        f"{'database':10} {'scenario':14} {'writers':>7} {'ev/commit':>9} {'median/s':>10} {'plain/s':>10} "
        f"{'ratio':>6} {'+us/ev':>7} {'goal/s':>8} met"
    )
    for backend, result in results.items():
        for name, f in result.items():
            if not isinstance(f, dict) or "per_s" not in f:
                continue
            print(
                f"{backend:10} {name:14} {f.get('writers', 1):>7} {f.get('events_per_commit', '-'):>9} "
                f"{f['per_s']:>10,} {f['baseline_per_s']:>10,} {f['ratio']:>6.2f} "
                f"{f['chain_cost_us_per_event']:>7.1f} {f['goal_per_s']:>8,} "
                f"{'yes' if f.get('single_process_met', f['met']) else 'no'}"
            )
            if "jobs_per_s" in f:
                print(
                    f"{backend:10} {'verify, ' + str(f['jobs']) + ' proc':14} {'-':>7} {'-':>9} "
                    f"{f['jobs_per_s']:>10,} {f['baseline_per_s']:>10,} {f['jobs_ratio']:>6.2f} {'':>7} "
                    f"{f['goal_per_s']:>8,} {'yes' if f['met'] else 'no'}"
                )


def commit() -> str:
    """The commit measured, with ``+`` when the working tree has changes."""

    def git(*words: str) -> str:
        return subprocess.run(["git", *words], cwd=ROOT, capture_output=True, text=True, check=False).stdout.strip()

    try:
        return git("rev-parse", "--short", "HEAD") + ("+" if git("status", "--porcelain", "src") else "")
    except OSError:
        return "?"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--reps", type=int, default=5, help="interleaved repetitions of every append scenario")
    parser.add_argument("--durable-txns", type=int, default=500, help="transactions per repetition (durable)")
    parser.add_argument("--writers", type=int, default=4, help="concurrent writer processes (durable_N)")
    parser.add_argument(
        "--group", type=lambda s: [int(x) for x in s.split(",")], default=[100, 1000], help="events per commit"
    )
    parser.add_argument("--grouped-events", type=int, default=10_000, help="events per repetition (grouped)")
    parser.add_argument("--verify-events", type=int, default=200_000, help="log size to verify (0: skip)")
    parser.add_argument("--verify-reps", type=int, default=3)
    parser.add_argument(
        "--verify-jobs", type=int, default=os.cpu_count() or 1, help="processes for the parallel verify (as the CLI)"
    )
    parser.add_argument("--sqlite-dir", default=None, help="where the SQLite files go (default: a temp dir)")
    args = parser.parse_args(argv)
    # A stopped run still drops its schemas and files (the cleanups run in `finally`).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = time.perf_counter()
    folder = Path(tempfile.mkdtemp(prefix="accord-bench-audit-", dir=args.sqlite_dir))
    results: dict[str, Any] = {}
    try:
        machine = {"cpus": os.cpu_count(), "load_at_start": os.getloadavg()[0], **fsync_latency(folder)}
        log(f"  fsync: {machine}")
        for backend in ["sqlite", "postgresql"] if args.db == "both" else [args.db]:
            try:
                results[backend] = run_backend(backend, args, folder)
            except Exception as exc:
                if backend == "postgresql" and "connection" in str(exc).lower():
                    log(f"  PostgreSQL unreachable: {exc.__class__.__name__}: {exc}")
                    results[backend] = {"error": f"{exc.__class__.__name__}: unreachable", "met": False}
                    continue
                raise
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    machine["load_at_end"] = os.getloadavg()[0]
    print_table(results)
    measured = [r for r in results.values() if "error" not in r]
    summary: dict[str, Any] = {
        "benchmark": "audit_append",
        "commit": commit(),
        "goal": GOAL,
        "reps": args.reps,
        "verify_reps": args.verify_reps,
        "machine": machine,
        **results,
        "met_by_goal": {
            goal: bool(measured)
            and all(f["met"] for r in measured for f in r.values() if isinstance(f, dict) and f.get("goal_per_s") == n)
            for goal, n in GOAL.items()
        },
        "met": bool(results) and all(r["met"] for r in results.values()),
        "wall_s": round(time.perf_counter() - started, 1),
    }
    print(json.dumps(summary, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
