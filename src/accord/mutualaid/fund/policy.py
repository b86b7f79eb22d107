"""Who sees a collaboration fund: members of the partnership's current member agencies
(holding the permission asked for in such an agency), the whole fund; everyone else
nothing (404). One set-based predicate over ``partnership_id`` for every fund table."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, Select, false, select

from accord.agreements.models import PartnershipMember
from accord.authz import Actor, RolesKey, register_policy, roles_key
from accord.mutualaid.fund.models import (
    CollaborationFund,
    FundCall,
    FundCallShare,
    FundContribution,
    FundFigure,
    FundSpending,
)

READ = "mutualaid:request:read"
MANAGE = "mutualaid:fund:manage"


def member_partnerships(key: RolesKey) -> Select[Any]:
    """Ids of the partnerships the agencies of ``key`` currently belong to."""
    agencies = [agency for agency, _ in key]
    return select(PartnershipMember.partnership_id).where(
        PartnershipMember.agency_id.in_(agencies), PartnershipMember.left_at.is_(None)
    )


def _register(model: type[Any]) -> None:
    column: Any = model.partnership_id

    @lru_cache(maxsize=1024)
    def predicate(key: RolesKey) -> ColumnElement[bool]:
        if not key:
            return false()
        found: ColumnElement[bool] = column.in_(member_partnerships(key))
        return found

    @register_policy(model)
    def policy(actor: Actor, action: str) -> ColumnElement[bool]:
        return predicate(roles_key(actor, action))


for _model in (CollaborationFund, FundFigure, FundCall, FundCallShare, FundContribution, FundSpending):
    _register(_model)
