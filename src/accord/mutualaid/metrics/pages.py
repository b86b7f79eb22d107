"""The mutual-aid metrics page (``/mutual-aid/metrics``): choose one of your agencies or
partnerships and a period; a small table of the figures and a chart of requests opened
and filled per month (Chart.js, served from our own origin)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from accord.authz import Actor
from accord.authz.deps import Permission
from accord.core.deps import DB
from accord.core.errors import InvalidInput
from accord.mutualaid.metrics import queries
from accord.web.forms import errors_of
from accord.web.templating import render

router = APIRouter(include_in_schema=False)
Read = Annotated[Actor, Depends(Permission("mutualaid:request:read"))]


def _day(name: str, raw: str) -> date | None:
    if not raw.strip():
        return None
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        raise InvalidInput(name, "must be a date (YYYY-MM-DD)") from None


@router.get("/mutual-aid/metrics")
def metrics_page(request: Request, db: DB, actor: Read, of: str = "", since: str = "", until: str = "") -> Response:
    """``of`` is ``agency:<id>`` or ``partnership:<id>`` (by default the caller's first agency)."""
    choices = queries.subjects(db, actor)
    options = [
        (f"{kind}:{sid}", ("Partnership: " if kind == "partnership" else "") + name) for kind, sid, name in choices
    ]
    chosen = of or (options[0][0] if options else "")
    context: dict[str, Any] = {"options": options, "chosen": chosen, "form": {"since": since, "until": until}}
    context |= {"figures": None, "errors": {}, "message": ""}
    status = 200
    if chosen:
        kind, _, raw_id = chosen.partition(":")
        try:
            try:
                subject_id = uuid.UUID(raw_id)
            except ValueError:
                raise InvalidInput("of", "choose an agency or a partnership") from None
            if kind not in ("agency", "partnership"):
                raise InvalidInput("of", "choose an agency or a partnership")
            context["figures"] = queries.metrics(
                db,
                actor,
                agency_id=subject_id if kind == "agency" else None,
                partnership_id=subject_id if kind == "partnership" else None,
                since=_day("since", since),
                until=_day("until", until),
                claims=queries.CLAIMS,
            )
        except InvalidInput as exc:
            context["errors"], context["message"] = errors_of(exc)
            status = 422
    return render(request, "mutualaid/metrics.html", context, status)
