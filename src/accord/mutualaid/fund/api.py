"""JSON API of a partnership's collaboration fund, under
``/api/v1/partnerships/{partnership_id}/fund``: the fund (formula, balance, members'
standing, calls, history), the formula, calls, contributions and spending."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends

from accord.authz import Actor
from accord.authz.deps import Permission
from accord.core.deps import DB
from accord.mutualaid.fund import queries, service
from accord.mutualaid.fund.schemas import (
    CallCreate,
    CallRead,
    ContributionCreate,
    ContributionRead,
    FormulaSet,
    FundRead,
    SpendingCreate,
    SpendingRead,
)

router = APIRouter(prefix="/api/v1/partnerships/{partnership_id}/fund", tags=["collaboration fund"])
Read = Annotated[Actor, Depends(Permission("mutualaid:request:read"))]
Manage = Annotated[Actor, Depends(Permission("mutualaid:fund:manage"))]


def _fund(db: DB, actor: Actor, partnership_id: uuid.UUID) -> FundRead:
    return queries.fund_view(db, actor, partnership_id)


@router.get("", response_model=FundRead)
def get_fund(db: DB, actor: Read, partnership_id: uuid.UUID) -> FundRead:
    """The fund: formula, balance (received minus spent), what each member was asked for,
    paid and still owes, the calls with each member's share, and the history."""
    return _fund(db, actor, partnership_id)


@router.put("/formula", response_model=FundRead)
def set_formula(db: DB, actor: Manage, partnership_id: uuid.UUID, data: FormulaSet) -> FundRead:
    """Set the contribution formula (calls already issued keep their shares)."""
    service.set_formula(db, actor=actor, partnership_id=partnership_id, data=data)
    db.commit()
    return _fund(db, actor, partnership_id)


@router.post("/calls", response_model=CallRead, status_code=201)
def issue_call(db: DB, actor: Manage, partnership_id: uuid.UUID, data: CallCreate) -> CallRead:
    """Call for contributions: the amount is shared among the current members by the formula."""
    call = service.issue_call(db, actor=actor, partnership_id=partnership_id, data=data)
    db.commit()
    return next(c for c in _fund(db, actor, partnership_id).calls if c.id == call.id)


@router.post("/contributions", response_model=ContributionRead, status_code=201)
def record_contribution(db: DB, actor: Manage, partnership_id: uuid.UUID, data: ContributionCreate) -> ContributionRead:
    contribution = service.record_contribution(db, actor=actor, partnership_id=partnership_id, data=data)
    db.commit()
    return next(c for c in _fund(db, actor, partnership_id).contributions if c.id == contribution.id)


@router.post("/spending", response_model=SpendingRead, status_code=201)
def record_spending(db: DB, actor: Manage, partnership_id: uuid.UUID, data: SpendingCreate) -> SpendingRead:
    """Spend from the fund (409 beyond its balance)."""
    spending = service.record_spending(db, actor=actor, partnership_id=partnership_id, data=data)
    db.commit()
    return SpendingRead.model_validate(spending)
