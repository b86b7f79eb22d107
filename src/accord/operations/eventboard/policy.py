"""Who sees a command board: members of the planned event's lead agency and of every
participating agency, the whole board; everyone else nothing (404). Unlike the incident
itself, no agreement opens a board to an outside agency: it is the command post's own
workspace. One set-based predicate over the board's incident for every board table."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, Select, false, or_, select

from accord.authz import Actor, RolesKey, register_policy, roles_key
from accord.operations.eventboard.models import BoardAssignment, BoardMessage, BoardPost, BoardReceipt, BoardShift
from accord.operations.live import register_live
from accord.operations.models import Incident, IncidentParticipant
from accord.operations.vocab import PLANNED_EVENT

READ = "operations:board:read"
MANAGE = "operations:board:manage"
POST = "operations:board:post"


def board_incidents(key: RolesKey) -> Select[Any]:
    """Ids of the planned events led or joined by the agencies of ``key``."""
    agencies = [agency for agency, _ in key]
    joined = select(IncidentParticipant.incident_id).where(IncidentParticipant.agency_id.in_(agencies))
    return select(Incident.id).where(
        Incident.type == PLANNED_EVENT, or_(Incident.lead_agency_id.in_(agencies), Incident.id.in_(joined))
    )


def _register(model: type[Any]) -> None:
    column: Any = model.incident_id

    @lru_cache(maxsize=1024)
    def predicate(key: RolesKey) -> ColumnElement[bool]:
        if not key:
            return false()
        found: ColumnElement[bool] = column.in_(board_incidents(key))
        return found

    @register_policy(model)
    def policy(actor: Actor, action: str) -> ColumnElement[bool]:
        return predicate(roles_key(actor, action))


for _model in (BoardShift, BoardPost, BoardAssignment, BoardMessage, BoardReceipt):
    _register(_model)

register_live("board_shift", BoardShift, READ)
register_live("board_post", BoardPost, READ)
register_live("board_assignment", BoardAssignment, READ)
register_live("board_message", BoardMessage, READ)
# A read receipt is announced under the message it concerns (receipts have no id of their own).
register_live("board_receipt", BoardMessage, READ)
