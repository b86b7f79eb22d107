"""Audit I/O models."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from accord.core.schemas import MAX_OFFSET, ReadModel, Strict


class AuditEventRead(ReadModel):
    seq: int
    id: uuid.UUID
    occurred_at: datetime
    actor_username: str
    actor_user_id: uuid.UUID | None
    agency_id: uuid.UUID | None
    action: str
    outcome: str
    object_type: str | None
    object_id: str | None
    client_addr: str | None
    request_id: str | None
    details: dict[str, Any]


class AuditFilter(Strict):
    action: str | None = Field(default=None, max_length=100)
    outcome: Literal["success", "failure", "denied"] | None = None
    actor: str | None = Field(default=None, max_length=150)
    agency_id: uuid.UUID | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = Field(default=50, ge=1, le=500)
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET)


class ProblemRead(BaseModel):
    kind: str
    message: str
    seq: int | None = None
    chain_index: int | None = None
    checkpoint_size: int | None = None


class AuditVerifyRead(BaseModel):
    ok: bool
    events: int
    checkpoints: int
    root_hash: str
    first_problem: ProblemRead | None = None

    @classmethod
    def of(cls, verdict: Any) -> AuditVerifyRead:
        problem = verdict.first_problem
        return cls(
            ok=verdict.ok,
            events=verdict.events,
            checkpoints=verdict.checkpoints,
            root_hash=verdict.root_hash,
            first_problem=None if problem is None else ProblemRead(**vars(problem)),
        )


class CheckpointRead(BaseModel):
    tree_size: int
    root_hash: str
    head_hash: str
    signed_at: datetime
    key_id: str
    signature: str
    # The exact bytes the signature covers (canonical JSON): verify the signature over
    # these, then read the size and root from them.
    signed_statement: str


class CheckpointList(BaseModel):
    """Signed checkpoints and the public keys (by key id) that verify them."""

    checkpoints: list[CheckpointRead]
    public_keys: dict[str, str]


class ConsistencyProof(BaseModel):
    """RFC 9162 consistency proof: the tree of ``second`` events extends that of ``first``."""

    first: int
    second: int
    first_root: str
    second_root: str
    proof: list[str]


class AuditAlertRead(ReadModel):
    id: uuid.UUID
    kind: str
    message: str
    raised_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
