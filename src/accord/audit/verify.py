"""Recompute the audit chain and check every checkpoint against it.

Names the first bad entry: an edited event (its hash no longer matches its content), a
deleted or reordered one (a link or position breaks), a truncated log (shorter than a
checkpoint says), a checkpoint whose root or head does not match the events, or one whose
signature does not verify with a trusted key.

With ``jobs`` above one (the CLI), ranges of the log are walked by that many processes at
once: each event's hash needs only its own row and the ``prev_hash`` stored with it, so
the ranges are independent; this process checks the seams between them and folds the
hashes into the Merkle tree, in order, and the verdict is the one a single walk gives.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from accord.audit import chain, rawlog
from accord.audit.alerts import alert_in
from accord.audit.models import AuditChainHead, AuditCheckpoint, AuditEvent
from accord.audit.service import HEAD_ID, checkpoint_statement, current_signer, record_event
from accord.audit.signing import Signer
from accord.authz.actor import Actor
from accord.core.db import make_engine

BATCH = rawlog.BATCH
RANGE = 25_000  # events (by seq) per task when walking in parallel


@dataclass
class Problem:
    kind: str  # edited | broken_link | out_of_order | truncated | checkpoint_mismatch | bad_signature | head_mismatch
    message: str
    seq: int | None = None
    chain_index: int | None = None
    checkpoint_size: int | None = None


@dataclass
class Verdict:
    ok: bool
    events: int
    checkpoints: int
    root_hash: str
    first_problem: Problem | None = None
    details: dict[str, Any] = field(default_factory=dict)


class _Tree:
    """The Merkle tree folded from the event hashes in order; remembers (root, last hash)
    at the sizes asked for (the checkpoints' and the head row's)."""

    def __init__(self, sizes: Iterable[int]) -> None:
        self.sizes = set(sizes)
        self.frontier: list[tuple[int, bytes]] = []
        self.count = 0
        self.head = chain.GENESIS
        self.at: dict[int, tuple[str, str]] = {0: (chain.EMPTY_ROOT.hex(), chain.GENESIS)}

    def push(self, _position: int, event_hash: str) -> None:
        chain.push_leaf(self.frontier, chain.leaf_hash(event_hash))
        self.count += 1
        self.head = event_hash
        if self.count in self.sizes:
            self.at[self.count] = (chain.frontier_root(self.frontier).hex(), event_hash)

    def join(self, stretch: _Stretch) -> None:
        """Add a stretch of events hashed elsewhere (it starts where the tree ends)."""
        for size, (subtrees, event_hash) in stretch.snapshots.items():
            frontier = list(self.frontier)
            for subtree in subtrees:
                chain.push_subtree(frontier, *subtree)
            self.at[size] = (chain.frontier_root(frontier).hex(), event_hash)
        for subtree in stretch.subtrees:
            chain.push_subtree(self.frontier, *subtree)
        if stretch.events:
            self.count += stretch.events
            self.head = stretch.last_hash


@dataclass
class _Stretch:
    """What a worker found in its range of the log: its first row (for the seam), how
    many events were good, the last one's hash, the aligned subtrees covering them, the
    same at each size the tree must know, and the first problem."""

    first: tuple[Any, Any, Any] | None = None
    events: int = 0
    last_hash: str = chain.GENESIS
    subtrees: list[tuple[int, bytes]] = field(default_factory=list)
    snapshots: dict[int, tuple[list[tuple[int, bytes]], str]] = field(default_factory=dict)
    problem: Problem | None = None


def verify_chain(db: Session, signer: Signer, *, jobs: int = 1) -> Verdict:
    """Walk every event in order (streamed: the log may be long), in ``jobs`` processes."""
    head_before = _head(db)
    checkpoints = list(db.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.tree_size)))
    tree = _Tree([c.tree_size for c in checkpoints] + [head_before[0]])
    if jobs > 1 and _parallel_possible(db):
        problem = _walk_in_parallel(db, tree, jobs)
    else:
        problem = _walk(rawlog.read(db), lambda seq, prev: rawlog.typed_hash(db, seq, prev), tree.push, tree)[1]
    root = chain.frontier_root(tree.frontier).hex()
    if problem is None:
        problem = _check_checkpoints(checkpoints, tree, signer)
    if problem is None:
        hash_at_head_before = tree.at.get(head_before[0], ("", None))[1]
        problem = _check_head(head_before, hash_at_head_before, _head(db), tree.head, tree.count)
    return Verdict(problem is None, tree.count, len(checkpoints), root, problem)


def _walk(
    rows: Iterable[tuple[Any, Any, Any, Any, bytes | None]],
    typed_hash: Callable[[int, str], str],
    on_event: Callable[[int, str], None],
    start: _Tree | None = None,
) -> tuple[tuple[Any, Any, Any] | None, Problem | None]:
    """Check each row's position, link and hash; hand each good hash to ``on_event``.
    Without ``start`` (a range of the log) the first row's position and link are taken
    as they are: the caller checks that seam. ``on_event`` gets each good event's position
    and hash. Returns the first row and the first problem."""
    first: tuple[Any, Any, Any] | None = None
    count, head = (start.count, start.head) if start is not None else (0, chain.GENESIS)
    sha256, fromhex = hashlib.sha256, bytes.fromhex
    for seq, chain_index, prev_hash, stored_hash, body in rows:
        if first is None:
            first = (seq, chain_index, prev_hash)
            if start is None:
                if not _can_start_at(chain_index, prev_hash):
                    return first, None  # the caller walks this range after the seam
                count, head = chain_index, prev_hash
        link = _link_problem(seq, chain_index, prev_hash, count, head)
        if link is not None:
            return first, link
        # The quick body is built from the stored text; where it does not give the stored
        # hash (or could not be built), the row is read again through the mapped types,
        # whose answer is the one that counts.
        if (body is None or sha256(fromhex(head) + body).hexdigest() != stored_hash) and typed_hash(
            seq, head
        ) != stored_hash:
            message = f"event seq {seq} (position {count}) was changed after it was written"
            return first, Problem("edited", message, seq, count)
        head = stored_hash
        on_event(count, stored_hash)
        count += 1
    return first, None


def _link_problem(seq: int, chain_index: Any, prev_hash: Any, count: int, head: str) -> Problem | None:
    if chain_index != count:
        kind = "out_of_order" if isinstance(chain_index, int) and chain_index > count else "broken_link"
        message = (
            f"event seq {seq} holds position {chain_index} where {count} was expected: "
            "an event before it was deleted or the order was changed"
        )
        return Problem(kind, message, seq, chain_index)
    if prev_hash != head:
        message = (
            f"event seq {seq} (position {count}) does not follow the event before it: "
            "an event was deleted, inserted or moved"
        )
        return Problem("broken_link", message, seq, count)
    return None


# --- walking ranges in parallel (fork: the CLI and benchmarks, never a server worker) ---------


def _parallel_possible(db: Session) -> bool:
    url = db.connection().engine.url
    return url.get_backend_name() == "postgresql" or url.database not in (None, "", ":memory:")


def _walk_in_parallel(db: Session, tree: _Tree, jobs: int) -> Problem | None:
    seq = AuditEvent.__table__.c.seq
    low, high = db.execute(select(func.min(seq), func.max(seq))).one()
    if low is None:
        return None
    ranges = [(start, min(start + RANGE - 1, high)) for start in range(low, high + 1, RANGE)]
    url = db.connection().engine.url.render_as_string(hide_password=False)
    context = multiprocessing.get_context("fork")
    with context.Pool(min(jobs, len(ranges)), _start_worker, (url, frozenset(tree.sizes))) as pool:
        for bounds, stretch in zip(ranges, pool.imap(_walk_range, ranges), strict=True):
            if stretch.first is None:
                continue  # no events in this range
            if not _can_start_at(*stretch.first[1:]):
                # A range whose first row has no usable position or link: walk it here,
                # after the events before it, as the single walk does.
                problem = _walk(rawlog.read(db, *bounds), lambda s, p: rawlog.typed_hash(db, s, p), tree.push, tree)[1]
                if problem is not None:
                    return problem
                continue
            seam = _link_problem(*stretch.first, tree.count, tree.head)
            if seam is not None:
                return seam
            tree.join(stretch)
            if stretch.problem is not None:
                return stretch.problem
    return None


_HASH = re.compile(r"[0-9a-f]{64}")


def _can_start_at(chain_index: Any, prev_hash: Any) -> bool:
    """Can a range be walked from this first row without the events before it?"""
    return chain_index.__class__ is int and isinstance(prev_hash, str) and _HASH.fullmatch(prev_hash) is not None


_worker: dict[str, Any] = {}


def _start_worker(url: str, sizes: frozenset[int]) -> None:
    _worker["engine"], _worker["sizes"] = make_engine(url), sizes


def _walk_range(bounds: tuple[int, int]) -> _Stretch:
    stretch, sizes = _Stretch(), _worker["sizes"]
    edge: list[tuple[int, int, bytes]] = []

    def keep(position: int, event_hash: str) -> None:
        chain.push_aligned(edge, position, chain.leaf_hash(event_hash))
        stretch.events += 1
        stretch.last_hash = event_hash
        if position + 1 in sizes:
            stretch.snapshots[position + 1] = ([(size, node) for _, size, node in edge], event_hash)

    with Session(_worker["engine"]) as db:
        rows = rawlog.read(db, *bounds)
        stretch.first, stretch.problem = _walk(rows, lambda seq, prev: rawlog.typed_hash(db, seq, prev), keep)
    stretch.subtrees = [(size, node) for _, size, node in edge]
    return stretch


def _head(db: Session) -> tuple[int, str | None]:
    """The head row's size and last hash, as a fresh statement sees it."""
    columns = AuditChainHead.__table__.c
    row = db.execute(select(columns.size, columns.head_hash).where(columns.id == HEAD_ID)).one_or_none()
    return (-1, None) if row is None else (int(row.size), row.head_hash)


def _check_head(
    before: tuple[int, str | None], hash_at_before: str | None, after: tuple[int, str | None], last: str, count: int
) -> Problem | None:
    """The head row, read before and after the walk, must name a point of the log.

    On PostgreSQL each statement sees the commits made before it began, so appends that
    land while the log is walked are legitimate: the head read before the walk must name
    an event the walk saw, and the one read after must count at least every event the walk
    saw (events the head never counted were not written by an append). On SQLite the
    transaction's snapshot makes both reads the same."""
    (size_before, hash_before), (size_after, hash_after) = before, after
    if size_before < 0 or size_after < 0:
        return Problem("head_mismatch", "the chain head row is missing", chain_index=count)
    if size_before > count:
        message = f"the chain head says {size_before} events; the log holds {count}"
    elif hash_at_before != hash_before:
        message = f"the chain head's last hash is not the hash of the event at position {size_before - 1}"
    elif size_after < count:
        message = f"the log holds {count} events; the chain head counts {size_after}"
    elif size_after == count and hash_after != (last if count else chain.GENESIS):
        message = f"the chain head's last hash is not the hash of the event at position {count - 1}"
    else:
        return None
    return Problem("head_mismatch", message, chain_index=count)


def _check_checkpoints(checkpoints: list[AuditCheckpoint], tree: _Tree, signer: Signer) -> Problem | None:
    count = tree.count
    for c in checkpoints:
        statement = checkpoint_statement(c.tree_size, c.root_hash, c.head_hash, c.signed_at)
        if not signer.verify(statement, c.key_id, c.signature):
            return Problem(
                "bad_signature",
                f"the checkpoint at {c.tree_size} events is not signed by a trusted key (key {c.key_id})",
                checkpoint_size=c.tree_size,
            )
        if c.tree_size > count:
            return Problem(
                "truncated",
                f"a checkpoint signed for {c.tree_size} events, but the log holds {count}: "
                f"the log was cut after position {count - 1}",
                chain_index=count,
                checkpoint_size=c.tree_size,
            )
        if tree.at.get(c.tree_size) != (c.root_hash, c.head_hash):
            return Problem(
                "checkpoint_mismatch",
                f"the events do not give the root signed at {c.tree_size} events",
                checkpoint_size=c.tree_size,
            )
    return None


def verify_and_report(db: Session, *, actor: Actor | None, username: str | None = None, jobs: int = 1) -> Verdict:
    """Verify, write the check into the log itself, and alert the platform administrators
    when the chain is broken (the route or command commits)."""
    verdict = verify_chain(db, current_signer(), jobs=jobs)
    problem = verdict.first_problem
    record_event(
        db,
        actor=actor,
        username=username,
        action="audit.verify",
        outcome="success" if verdict.ok else "failure",
        details={"events": verdict.events, "checkpoints": verdict.checkpoints}
        | ({"problem": problem.kind, "seq": problem.seq, "chain_index": problem.chain_index} if problem else {}),
    )
    if problem is not None:  # stored with the check's own event, in the caller's transaction
        alert_in(db, kind="verify_failed", message=f"audit chain broken ({problem.kind}): {problem.message}")
    return verdict
