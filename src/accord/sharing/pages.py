"""HTML pages of records: list and search with tier badges, detail with masked fields
shown as masked, and the "why can I see this?" panel."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import ValidationError

from accord.agreements import queries as agreements
from accord.agreements.vocab import PURPOSES, RECORD_CATEGORIES, TIERS
from accord.authz import Actor
from accord.authz.deps import Permission
from accord.core.deps import DB
from accord.directory import queries as directory
from accord.sharing import queries, service
from accord.sharing.access import masked_body
from accord.sharing.categories import SPECS
from accord.sharing.schemas import RecordFilter
from accord.web.forms import errors_of
from accord.web.templating import render

router = APIRouter(include_in_schema=False)
Read = Annotated[Actor, Depends(Permission("sharing:record:read"))]
VOCAB = {"categories": RECORD_CATEGORIES, "tiers": TIERS, "tier_options": [(t, t) for t in TIERS], "purposes": PURPOSES}


@router.get("/records")
def records_page(
    request: Request, db: DB, actor: Read, q: str = "", category: str = "", tier: str = "", offset: int = 0
) -> Response:
    errors: dict[str, str] = {}
    try:
        filters = RecordFilter(q=q or None, category=category or None, tier=tier or None, offset=max(0, offset))
    except ValidationError as exc:
        errors, _ = errors_of(exc)
        filters = RecordFilter()
    rows, total = queries.list_records(db, actor, filters)
    service.log_reads(db, actor=actor, reads=rows, surface="list")
    db.commit()
    query = "&".join(f"{k}={v}" for k, v in (("q", q), ("category", category), ("tier", tier)) if v)
    context = {
        "rows": rows,
        "total": total,
        "filters": filters,
        "errors": errors,
        "agency_names": dict(directory.agency_options(db, actor)),
        "base": f"/records?{query}&" if query else "/records?",
        **VOCAB,
    }
    return render(request, "records/list.html", context)


@router.get("/records/{record_id}")
def record_page(request: Request, record_id: uuid.UUID, db: DB, actor: Read) -> Response:
    record, access = queries.get_record(db, actor, record_id)
    service.log_reads(db, actor=actor, reads=[(record, access)], surface="detail")
    db.commit()
    context = agreements.clause_context(db, [g.clause_id for g in access.grants])
    why: list[dict[str, Any]] = []
    for grant in access.grants:
        agreement, version, clause = context[grant.clause_id]
        why.append({"agreement": agreement, "version": version, "clause": clause, "grant": grant})
    specs = {s.name: s for s in SPECS[record.category]}
    body = masked_body(record, access)
    context_vars = {
        "record": record,
        "access": access,
        "why": why,
        "fields": [(specs[name], body.get(name)) for name in specs if name in body or name in access.masked],
        "agency_names": dict(directory.agency_options(db, actor)),
        **VOCAB,
    }
    return render(request, "records/detail.html", context_vars)
