"""Recompute the audit chain and check every checkpoint against it.

Names the first bad entry: an edited event (its hash no longer matches its content), a
deleted or reordered one (a link or position breaks), a truncated log (shorter than a
checkpoint says), a checkpoint whose root or head does not match the events, or one whose
signature does not verify with a trusted key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from accord.audit import chain
from accord.audit.alerts import alert_in
from accord.audit.models import AuditChainHead, AuditCheckpoint, AuditEvent
from accord.audit.service import HEAD_ID, checkpoint_statement, current_signer, record_event
from accord.audit.signing import Signer
from accord.authz.actor import Actor

BATCH = 5000


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


def verify_chain(db: Session, signer: Signer) -> Verdict:
    """Walk every event in order (a streaming read: the log may be long)."""
    checkpoints = list(db.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.tree_size)))
    by_size = {c.tree_size: c for c in checkpoints}
    roots: dict[int, tuple[str, str]] = {}  # tree size -> (root, head) as recomputed
    head, count = chain.GENESIS, 0
    frontier: list[tuple[int, bytes]] = []
    problem: Problem | None = None
    # The table's columns, not the entity's: plain rows, without the ORM's loading step.
    events = AuditEvent.__table__.c
    columns = [events[name] for name in ("seq", "prev_hash", "hash", *chain.FIELDS)]
    rows = db.execute(select(*columns).order_by(events.seq).execution_options(yield_per=BATCH))
    for row in rows:
        fields = dict(zip(chain.FIELDS, row[3:], strict=True))  # the columns after seq, prev_hash, hash
        if row.chain_index != count:
            kind = "out_of_order" if row.chain_index is not None and row.chain_index > count else "broken_link"
            problem = Problem(
                kind,
                f"event seq {row.seq} holds position {row.chain_index} where {count} was expected: "
                "an event before it was deleted or the order was changed",
                row.seq,
                row.chain_index,
            )
            break
        if row.prev_hash != head:
            problem = Problem(
                "broken_link",
                f"event seq {row.seq} (position {count}) does not follow the event before it: "
                "an event was deleted, inserted or moved",
                row.seq,
                count,
            )
            break
        if chain.event_hash(head, fields) != row.hash:
            problem = Problem(
                "edited", f"event seq {row.seq} (position {count}) was changed after it was written", row.seq, count
            )
            break
        head = row.hash
        chain.push_leaf(frontier, chain.leaf_hash(head))
        count += 1
        if count in by_size:
            roots[count] = (chain.frontier_root(frontier).hex(), head)
    root = chain.frontier_root(frontier).hex()
    if problem is None:
        problem = _check_checkpoints(checkpoints, roots, count, signer)
    if problem is None:
        stored = db.get(AuditChainHead, HEAD_ID)
        if stored is None or stored.size != count or stored.head_hash != head:
            problem = Problem(
                "head_mismatch",
                f"the chain head says {stored.size if stored else 'nothing'} events; the log holds {count}",
                chain_index=count,
            )
    return Verdict(problem is None, count, len(checkpoints), root, problem)


def _check_checkpoints(
    checkpoints: list[AuditCheckpoint], roots: dict[int, tuple[str, str]], count: int, signer: Signer
) -> Problem | None:
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
        if roots.get(c.tree_size) != (c.root_hash, c.head_hash):
            return Problem(
                "checkpoint_mismatch",
                f"the events do not give the root signed at {c.tree_size} events",
                checkpoint_size=c.tree_size,
            )
    return None


def verify_and_report(db: Session, *, actor: Actor | None, username: str | None = None) -> Verdict:
    """Verify, write the check into the log itself, and alert the platform administrators
    when the chain is broken (the route or command commits)."""
    verdict = verify_chain(db, current_signer())
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
