"""JSON API of the mutual-aid metrics: ``/api/v1/mutual-aid/metrics?partnership_id=`` or
``?agency_id=``, over ``since``..``until`` (days included; by default the last 365 days)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends

from accord.authz import Actor
from accord.authz.deps import Permission
from accord.core.deps import DB
from accord.mutualaid.metrics import queries
from accord.mutualaid.metrics.schemas import MetricsRead

router = APIRouter(prefix="/api/v1/mutual-aid", tags=["mutual aid"])
Read = Annotated[Actor, Depends(Permission("mutualaid:request:read"))]


@router.get("/metrics", response_model=MetricsRead)
def get_metrics(
    db: DB,
    actor: Read,
    partnership_id: uuid.UUID | None = None,
    agency_id: uuid.UUID | None = None,
    since: date | None = None,
    until: date | None = None,
) -> MetricsRead:
    """Requests opened, fill time (median and 90th percentile, hours), percentage filled
    (cancelled requests excluded), offers made and committed, and cost recovery, of one of
    the caller's agencies or of a partnership it belongs to."""
    return queries.metrics(
        db,
        actor,
        partnership_id=partnership_id,
        agency_id=agency_id,
        since=since,
        until=until,
        claims=queries.CLAIMS,
    )
