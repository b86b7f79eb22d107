"""The audit viewer (read-only) with filters."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import ValidationError

from accord.audit import alerts, queries
from accord.audit.schemas import AuditFilter
from accord.audit.verify import verify_and_report
from accord.authz import Actor
from accord.authz.deps import Permission
from accord.core.deps import DB
from accord.web.forms import errors_of
from accord.web.templating import flash, redirect, render, verify_csrf

router = APIRouter(include_in_schema=False)


@router.get("/audit")
def audit_page(
    request: Request,
    db: DB,
    actor: Annotated[Actor, Depends(Permission("audit:event:read"))],
    action: str = "",
    outcome: str = "",
    user: str = "",
    since: str = "",
    until: str = "",
    offset: int = 0,
) -> Response:
    """The audit viewer: filter by action, outcome, user and UTC day range (``until`` inclusive)."""
    errors: dict[str, str] = {}
    days: dict[str, datetime | None] = {}
    for name, value in (("since", since), ("until", until)):
        try:
            day = date.fromisoformat(value) if value else None
        except ValueError:
            errors[name], day = "a day as YYYY-MM-DD", None
        days[name] = None if day is None else datetime.combine(day, time.min, tzinfo=UTC)
    if days["until"] is not None:
        days["until"] += timedelta(days=1)
    try:
        filters = AuditFilter(
            action=action or None,
            outcome=outcome or None,
            actor=user or None,
            since=days["since"],
            until=days["until"],
            offset=max(0, offset),
        )
    except ValidationError as exc:
        errors, _ = errors_of(exc)
        filters = AuditFilter()
    rows, total = queries.list_events(db, actor, filters)
    shown = (("action", action), ("outcome", outcome), ("user", user), ("since", since), ("until", until))
    query = urlencode([(k, v) for k, v in shown if v])
    context = {
        "since": since,
        "until": until,
        "events": rows,
        "total": total,
        "filters": filters,
        "errors": errors,
        "base": f"/audit?{query}&" if query else "/audit?",
    }
    return render(request, "audit/events.html", context)


@router.get("/audit/verify")
def verify_page(
    request: Request, db: DB, actor: Annotated[Actor, Depends(Permission("audit:chain:verify"))]
) -> Response:
    """Recompute the chain now and show the verdict (the check is itself logged)."""
    verdict = verify_and_report(db, actor=actor)
    db.commit()
    return render(request, "audit/verify.html", {"verdict": verdict})


@router.get("/audit/alerts")
def alerts_page(request: Request, db: DB, actor: Annotated[Actor, Depends(Permission("audit:alert:read"))]) -> Response:
    return render(request, "audit/alerts.html", {"alerts": alerts.list_alerts(db, actor)})


@router.post("/audit/alerts/{alert_id}/acknowledge", dependencies=[Depends(verify_csrf)])
def acknowledge_alert(
    request: Request,
    alert_id: uuid.UUID,
    db: DB,
    actor: Annotated[Actor, Depends(Permission("audit:alert:acknowledge"))],
) -> Response:
    alerts.acknowledge(db, actor=actor, alert_id=alert_id)
    db.commit()
    flash(request, "success", "Alert acknowledged.")
    return redirect(request, "/audit/alerts")
