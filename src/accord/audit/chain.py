"""The audit log as a hash chain and a Merkle tree (pure functions, no database).

Each event's hash covers the previous event's hash and the event's canonical JSON, so an
edit, deletion or reorder breaks every later link. The same hashes are the leaves of an
RFC 9162 Merkle tree: a signed checkpoint names a tree size and root, and a consistency
proof of a few hashes shows that a later checkpoint extends an earlier one, without
shipping the log. The tree's right edge (the "frontier": one root per perfect subtree) is
kept with the chain head, so appending and checkpointing cost O(log n).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from json.encoder import encode_basestring
from typing import Any

GENESIS = "0" * 64

# The fields a hash covers, in the canonical JSON (sorted keys).
FIELDS = (
    "chain_index",
    "id",
    "occurred_at",
    "actor_user_id",
    "actor_username",
    "actor_agency_id",
    "agency_id",
    "action",
    "outcome",
    "object_type",
    "object_id",
    "clause_id",
    "client_addr",
    "request_id",
    "details",
)


def _plain(value: Any) -> Any:
    cls = value.__class__
    if cls is str or cls is int or value is None:  # most fields: as they are (checked first, for speed)
        return value
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        # Millisecond UTC, the precision events are written with.
        if cls is datetime and value.year >= 1000:
            # The same text as strftime below (which does not pad years before 1000), faster.
            return value.isoformat(timespec="milliseconds")[:23] + "Z"
        return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    return value


# What json.dumps(..., sort_keys=True, separators=(",", ":"), ensure_ascii=False) builds
# on every call, built once (the verifier encodes every event of the log).
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical(event: Mapping[str, Any]) -> bytes:
    """The event as canonical JSON: the covered fields, sorted keys, no spaces, UTF-8."""
    body = {name: _plain(event[name]) for name in FIELDS}
    return _ENCODER.encode(body).encode()


def _quick_uuid(value: Any) -> str:
    if value is None:
        return "null"
    if value.__class__ is not uuid.UUID:
        raise TypeError
    return f'"{value}"'


def _quick_string(value: Any) -> str:
    if value is None:
        return "null"
    if value.__class__ is not str:
        raise TypeError
    return encode_basestring(value)


def _quick_canonical(event: Mapping[str, Any]) -> bytes:
    """``canonical`` written out key by key for the types ``audit.service`` writes (the
    encoder's own escaper for strings, the encoder for ``details``): the same bytes at a
    third of the cost. Any other type raises TypeError and takes the general path."""
    occurred, index = event["occurred_at"], event["chain_index"]
    if occurred.__class__ is not datetime or occurred.year < 1000 or index.__class__ is not int:
        raise TypeError
    return (
        f'{{"action":{_quick_string(event["action"])},"actor_agency_id":{_quick_uuid(event["actor_agency_id"])},'
        f'"actor_user_id":{_quick_uuid(event["actor_user_id"])},'
        f'"actor_username":{_quick_string(event["actor_username"])},"agency_id":{_quick_uuid(event["agency_id"])},'
        f'"chain_index":{index},"clause_id":{_quick_uuid(event["clause_id"])},'
        f'"client_addr":{_quick_string(event["client_addr"])},"details":{_ENCODER.encode(event["details"])},'
        f'"id":{_quick_uuid(event["id"])},"object_id":{_quick_string(event["object_id"])},'
        f'"object_type":{_quick_string(event["object_type"])},'
        f'"occurred_at":"{occurred.isoformat(timespec="milliseconds")[:23]}Z",'
        f'"outcome":{_quick_string(event["outcome"])},"request_id":{_quick_string(event["request_id"])}}}'
    ).encode()


def event_hash(prev_hash: str, event: Mapping[str, Any]) -> str:
    try:
        body = _quick_canonical(event)
    except TypeError:
        body = canonical(event)
    return hashlib.sha256(bytes.fromhex(prev_hash) + body).hexdigest()


# --- Merkle tree (RFC 9162, section 2.1) ------------------------------------------------------


def leaf_hash(event_hash_hex: str) -> bytes:
    return hashlib.sha256(b"\x00" + bytes.fromhex(event_hash_hex)).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


EMPTY_ROOT = hashlib.sha256(b"").digest()


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (n > 1)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def tree_root(leaves: Sequence[bytes]) -> bytes:
    """MTH over leaf hashes (already ``leaf_hash``-ed)."""
    if not leaves:
        return EMPTY_ROOT
    level = list(leaves)
    # Bottom-up pairing gives RFC 9162's tree: a left subtree is always a perfect power of two.
    while len(level) > 1:
        paired = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


def append_leaf(frontier: list[tuple[int, bytes]], leaf: bytes) -> list[tuple[int, bytes]]:
    """Add a leaf to the right edge: (subtree size, subtree root) pairs, largest first."""
    merged = list(frontier)
    push_leaf(merged, leaf)
    return merged


def push_leaf(frontier: list[tuple[int, bytes]], leaf: bytes) -> None:
    """``append_leaf`` in place (no copy of the edge per leaf, for long runs of appends)."""
    push_subtree(frontier, 1, leaf)


def push_subtree(frontier: list[tuple[int, bytes]], size: int, node: bytes) -> None:
    """Add the root of a perfect subtree of ``size`` leaves to the right edge; the tree's
    size must be a multiple of ``size`` (the subtree is aligned, as in RFC 9162's tree)."""
    while frontier and frontier[-1][0] == size:
        node = node_hash(frontier.pop()[1], node)
        size *= 2
    frontier.append((size, node))


def push_aligned(edge: list[tuple[int, int, bytes]], position: int, leaf: bytes) -> None:
    """Extend the edge of a stretch of the tree that starts at any position: (start, size,
    root) of the aligned perfect subtrees covering it. Pushing them, in order, with
    ``push_subtree`` onto the frontier at the stretch's start gives the frontier at its
    end, so stretches can be hashed apart and joined in order."""
    start, size, node = position, 1, leaf
    while edge and edge[-1][1] == size and edge[-1][0] % (2 * size) == 0:
        start = edge[-1][0]
        node = node_hash(edge.pop()[2], node)
        size *= 2
    edge.append((start, size, node))


def frontier_root(frontier: Sequence[tuple[int, bytes]]) -> bytes:
    if not frontier:
        return EMPTY_ROOT
    root = frontier[-1][1]
    for _, subtree in reversed(frontier[:-1]):
        root = node_hash(subtree, root)
    return root


def consistency_proof(leaves: Sequence[bytes], first: int) -> list[bytes]:
    """PROOF(first, D[n]) of RFC 9162 2.1.4.1 for n = len(leaves)."""
    n = len(leaves)
    if not 0 <= first <= n:
        raise ValueError("first must lie between 0 and the tree size")
    if first in (0, n):
        return []
    return _subproof(first, leaves, True)


def _subproof(m: int, leaves: Sequence[bytes], complete: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if complete else [tree_root(leaves)]
    k = _split(n)
    if m <= k:
        return [*_subproof(m, leaves[:k], complete), tree_root(leaves[k:])]
    return [*_subproof(m - k, leaves[k:], False), tree_root(leaves[:k])]


def verify_consistency(first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]) -> bool:
    """RFC 9162 2.1.4.2: does the tree of size ``second`` extend the one of size ``first``?"""
    if first < 0 or second < first:
        return False
    if first == second:
        return not proof and first_root == second_root
    if first == 0:
        return not proof
    path = list(proof)
    if first & (first - 1) == 0:  # an exact power of two: its root starts the path
        path.insert(0, first_root)
    if not path:
        return False
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while True:
                    fn >>= 1
                    sn >>= 1
                    if fn & 1 or fn == 0:
                        break
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first_root and sr == second_root and sn == 0
