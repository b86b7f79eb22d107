"""Audit I/O models."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import Field

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
