"""The audit viewer (read-only) with filters."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import ValidationError

from accord.audit import queries
from accord.audit.schemas import AuditFilter
from accord.authz import Actor
from accord.authz.deps import Permission
from accord.core.deps import DB
from accord.web.forms import errors_of
from accord.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/audit")
def audit_page(
    request: Request,
    db: DB,
    actor: Annotated[Actor, Depends(Permission("audit:event:read"))],
    action: str = "",
    outcome: str = "",
    user: str = "",
    offset: int = 0,
) -> Response:
    errors: dict[str, str] = {}
    try:
        filters = AuditFilter(action=action or None, outcome=outcome or None, actor=user or None, offset=max(0, offset))
    except ValidationError as exc:
        errors, _ = errors_of(exc)
        filters = AuditFilter()
    rows, total = queries.list_events(db, actor, filters)
    query = "&".join(f"{k}={v}" for k, v in (("action", action), ("outcome", outcome), ("user", user)) if v)
    context = {
        "events": rows,
        "total": total,
        "filters": filters,
        "errors": errors,
        "base": f"/audit?{query}&" if query else "/audit?",
    }
    return render(request, "audit/events.html", context)
