"""Recompute the audit chain and check every checkpoint against it.

Names the first bad entry: an edited event (its hash no longer matches its content), a
deleted or reordered one (a link or position breaks), a truncated log (shorter than a
checkpoint says), a checkpoint whose root or head does not match the events, or one whose
signature does not verify with a trusted key.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from json.encoder import encode_basestring
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
    head_before = _head(db)
    checkpoints = list(db.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.tree_size)))
    by_size = {c.tree_size: c for c in checkpoints}
    hash_at_head_before = chain.GENESIS if head_before[0] == 0 else None
    roots: dict[int, tuple[str, str]] = {}  # tree size -> (root, head) as recomputed
    head, count = chain.GENESIS, 0
    frontier: list[tuple[int, bytes]] = []
    problem: Problem | None = None
    push_leaf, leaf_hash, sha256, fromhex = chain.push_leaf, chain.leaf_hash, hashlib.sha256, bytes.fromhex
    for seq, chain_index, prev_hash, stored_hash, body in _raw_log(db):
        if chain_index != count:
            kind = "out_of_order" if isinstance(chain_index, int) and chain_index > count else "broken_link"
            problem = Problem(
                kind,
                f"event seq {seq} holds position {chain_index} where {count} was expected: "
                "an event before it was deleted or the order was changed",
                seq,
                chain_index,
            )
            break
        if prev_hash != head:
            problem = Problem(
                "broken_link",
                f"event seq {seq} (position {count}) does not follow the event before it: "
                "an event was deleted, inserted or moved",
                seq,
                count,
            )
            break
        # The quick body is built from the stored text; where it does not give the stored
        # hash (or could not be built), the row is read again through the mapped types,
        # whose answer is the one that counts.
        if (body is None or sha256(fromhex(head) + body).hexdigest() != stored_hash) and _typed_hash(
            db, seq, head
        ) != stored_hash:
            problem = Problem(
                "edited", f"event seq {seq} (position {count}) was changed after it was written", seq, count
            )
            break
        head = stored_hash
        push_leaf(frontier, leaf_hash(head))
        count += 1
        if count == head_before[0]:
            hash_at_head_before = head
        if count in by_size:
            roots[count] = (chain.frontier_root(frontier).hex(), head)
    root = chain.frontier_root(frontier).hex()
    if problem is None:
        problem = _check_checkpoints(checkpoints, roots, count, signer)
    if problem is None:
        problem = _check_head(head_before, hash_at_head_before, _head(db), head, count)
    return Verdict(problem is None, count, len(checkpoints), root, problem)


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


def _typed_hash(db: Session, seq: int, prev_hash: str) -> str:
    """The event's hash from its row as SQLAlchemy reads it (UUIDs, aware times, JSON):
    the definition ``audit.service`` hashed at write time."""
    columns = AuditEvent.__table__.c
    statement = select(*(columns[name] for name in chain.FIELDS)).where(columns.seq == seq)
    try:
        row = db.execute(statement).one()
        return chain.event_hash(prev_hash, dict(zip(chain.FIELDS, row, strict=True)))
    except (ValueError, TypeError):  # a value its column's type cannot read was not written by us
        return ""


# --- reading the log quickly ---------------------------------------------------------------------
#
# Through SQLAlchemy every row costs its UUID, datetime and JSON conversions and then
# ``chain.canonical`` turns them back into text: about two thirds of verify's time. Here the
# driver's cursor reads the stored text and each event's canonical JSON is assembled from
# it directly. A quick body equal to the canonical JSON the event was written with can only
# come from the same stored values: every value is either JSON-delimited (strings through
# the same escaper as the encoder, ``details`` through the encoder itself) or of a fixed,
# checked length, so no value can borrow characters from its neighbour. Anything else
# (another type, another shape) leaves the body to ``_typed_hash``.

# The canonical JSON's keys, sorted, with the SELECT expression for each on each database.
_KEYS = (
    "action",
    "actor_agency_id",
    "actor_user_id",
    "actor_username",
    "agency_id",
    "chain_index",
    "clause_id",
    "client_addr",
    "details",
    "id",
    "object_id",
    "object_type",
    "occurred_at",
    "outcome",
    "request_id",
)
if list(_KEYS) != sorted(chain.FIELDS):  # the bodies below are written out in this order
    raise RuntimeError("audit.verify's quick canonical JSON no longer matches audit.chain.FIELDS")
_PG_EXPRESSIONS = {
    "actor_agency_id": "actor_agency_id::text",
    "actor_user_id": "actor_user_id::text",
    "agency_id": "agency_id::text",
    "clause_id": "clause_id::text",
    "id": "id::text",
    "details": "details::text",
    "occurred_at": """to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')""",
}
_SQLITE_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}")
_loads, _encode = json.loads, chain._ENCODER.encode


def _s(value: str | None) -> str:
    return "null" if value is None else encode_basestring(value)


def _hex_uuid(value: str | None) -> str:
    """SQLite keeps a UUID as 32 hex digits; the canonical JSON has it dashed."""
    if value is None:
        return "null"
    if len(value) != 32:
        raise ValueError("not a stored UUID")
    return f'"{value[:8]}-{value[8:12]}-{value[12:16]}-{value[16:20]}-{value[20:]}"'


def _text_uuid(value: str | None) -> str:
    return "null" if value is None else f'"{value}"'  # uuid::text: always the 36-character form


# One function per database, written out key by key (sorted, as the encoder sorts them):
# at a few microseconds per event, a call per field was a third of verify's time.


def _sqlite_body(values: tuple[Any, ...]) -> bytes | None:
    action, actor_agency, actor_user, username, agency, index, clause, client, details = values[:9]
    event_id, object_id, object_type, occurred, outcome, request = values[9:]
    try:
        if not _SQLITE_TIME.fullmatch(occurred):
            return None
        return (
            f'{{"action":{encode_basestring(action)},"actor_agency_id":{_hex_uuid(actor_agency)},'
            f'"actor_user_id":{_hex_uuid(actor_user)},"actor_username":{encode_basestring(username)},'
            f'"agency_id":{_hex_uuid(agency)},"chain_index":{index},"clause_id":{_hex_uuid(clause)},'
            f'"client_addr":{_s(client)},"details":{_encode(_loads(details))},"id":{_hex_uuid(event_id)},'
            f'"object_id":{_s(object_id)},"object_type":{_s(object_type)},'
            f'"occurred_at":"{occurred[:10]}T{occurred[11:23]}Z","outcome":{encode_basestring(outcome)},'
            f'"request_id":{_s(request)}}}'
        ).encode()
    except (TypeError, ValueError):
        return None


def _postgresql_body(values: tuple[Any, ...]) -> bytes | None:
    action, actor_agency, actor_user, username, agency, index, clause, client, details = values[:9]
    event_id, object_id, object_type, occurred, outcome, request = values[9:]
    try:
        return (
            f'{{"action":{encode_basestring(action)},"actor_agency_id":{_text_uuid(actor_agency)},'
            f'"actor_user_id":{_text_uuid(actor_user)},"actor_username":{encode_basestring(username)},'
            f'"agency_id":{_text_uuid(agency)},"chain_index":{index},"clause_id":{_text_uuid(clause)},'
            f'"client_addr":{_s(client)},"details":{_encode(_loads(details))},"id":"{event_id}",'
            f'"object_id":{_s(object_id)},"object_type":{_s(object_type)},'
            f'"occurred_at":"{occurred}","outcome":{encode_basestring(outcome)},'
            f'"request_id":{_s(request)}}}'
        ).encode()
    except (TypeError, ValueError):
        return None


def _raw_log(db: Session) -> Iterator[tuple[Any, Any, Any, Any, bytes | None]]:
    """(seq, chain_index, prev_hash, hash, quick canonical body) per event in ``seq``
    order, streamed by the driver's cursor inside the session's transaction."""
    connection = db.connection()
    dialect = connection.dialect.name
    expressions = [_PG_EXPRESSIONS.get(key, key) if dialect == "postgresql" else key for key in _KEYS]
    sql = (
        f"SELECT seq, chain_index, prev_hash, hash, {', '.join(expressions)} "  # noqa: S608 - fixed column names
        f"FROM {AuditEvent.__tablename__} ORDER BY seq"
    )
    body = _sqlite_body if dialect == "sqlite" else _postgresql_body
    driver = connection.connection.driver_connection
    assert driver is not None
    cursor = driver.cursor("accord_audit_verify") if dialect == "postgresql" else driver.cursor()
    try:
        cursor.execute(sql)
        while rows := cursor.fetchmany(BATCH):
            for row in rows:
                yield row[0], row[1], row[2], row[3], body(row[4:])
    finally:
        cursor.close()


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
