"""The metrics' arithmetic, pure: percentiles of fill times and the cost-recovery sums
over claim rows. The claims come from the recovery package (``ClaimSource``, wired in
``queries.CLAIMS``)."""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Collection, Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

from sqlalchemy.orm import Session

ZERO = Decimal("0.00")


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile (0..100) by linear interpolation between the closest
    ranks (as ``numpy.percentile`` and spreadsheets' PERCENTILE.INC); None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


class ClaimRow(NamedTuple):
    """One reimbursement claim, as the recovery package will give it: who pays, who
    provided the resources, what was approved and what is paid of it."""

    paying_agency_id: uuid.UUID
    providing_agency_id: uuid.UUID
    approved_amount: Decimal
    paid_amount: Decimal


# (db, agencies, since, until) -> the claims those agencies provided or pay, in the period.
ClaimSource = Callable[[Session, frozenset[uuid.UUID], datetime, datetime], Iterable[ClaimRow]]


class CostFigures(NamedTuple):
    recovered: Decimal  # paid to the agencies for the resources they provided
    outstanding: Decimal  # approved for them and not paid yet
    owed: Decimal  # approved claims they pay and have not paid yet (to agencies outside the set)


def cost_figures(rows: Iterable[ClaimRow], agencies: Collection[uuid.UUID]) -> CostFigures:
    """Cost recovery of ``agencies`` (one agency, or a partnership's members). A claim
    between two agencies of the set is counted as recovered / outstanding, not as owed:
    the set pays itself."""
    recovered = outstanding = owed = ZERO
    for row in rows:
        due = max(row.approved_amount - row.paid_amount, ZERO)
        if row.providing_agency_id in agencies:
            recovered += min(row.paid_amount, row.approved_amount)
            outstanding += due
        elif row.paying_agency_id in agencies:
            owed += due
    return CostFigures(recovered, outstanding, owed)
