"""Pydantic I/O of the mutual-aid metrics."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel


class MonthCount(BaseModel):
    month: str  # 2026-11
    opened: int
    filled: int


class CostRead(BaseModel):
    recovered: Decimal
    outstanding: Decimal
    owed: Decimal


class MetricsRead(BaseModel):
    subject: Literal["agency", "partnership"]
    subject_id: uuid.UUID
    subject_name: str
    agencies: list[uuid.UUID]  # whose requests and offers are counted
    since: date
    until: date  # included
    requests_opened: int
    requests_cancelled: int
    requests_filled: int
    percent_filled: float | None  # filled / (opened - cancelled), 0..100; None when nothing counts
    fill_hours_median: float | None
    fill_hours_p90: float | None
    offers_made: int
    offers_committed: int
    cost: CostRead | None  # None until cost recovery is wired (see metrics.queries.CLAIMS)
    cost_note: str
    by_month: list[MonthCount]
