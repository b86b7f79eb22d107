"""HTML pages of partnerships and agreements: lists, the agreement as a document with its
versions, clauses and signatures, and the signing flow."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import ValidationError

from accord.agreements import lifecycle, queries, service
from accord.agreements.models import Clause
from accord.agreements.schemas import AgreementFilter, SignRequest
from accord.agreements.vocab import AGREEMENT_KINDS, BODY_KINDS, LABELS, PARTNERSHIP_KINDS, PURPOSES, RECORD_CATEGORIES
from accord.authz import Actor
from accord.authz.deps import Permission
from accord.core.deps import DB
from accord.core.errors import AccordError
from accord.core.time import utcnow
from accord.directory import queries as directory
from accord.web.forms import errors_of, form_dict
from accord.web.templating import flash, redirect, render, verify_csrf

router = APIRouter(include_in_schema=False)
ReadPartnerships = Annotated[Actor, Depends(Permission("agreements:partnership:read"))]
ReadAgreements = Annotated[Actor, Depends(Permission("agreements:agreement:read"))]
Csrf = Depends(verify_csrf)
VOCAB = {
    "partnership_kinds": PARTNERSHIP_KINDS,
    "agreement_kinds": AGREEMENT_KINDS,
    "body_kinds": BODY_KINDS,
    "categories": RECORD_CATEGORIES,
    "purposes": PURPOSES,
    "labels": LABELS,
}


@router.get("/partnerships")
def partnerships_page(request: Request, db: DB, actor: ReadPartnerships) -> Response:
    items = queries.list_partnerships(db, actor)
    context = {"partnerships": items, "agency_names": dict(directory.agency_options(db, actor)), **VOCAB}
    return render(request, "agreements/partnerships.html", context)


@router.get("/partnerships/{partnership_id}")
def partnership_page(request: Request, partnership_id: uuid.UUID, db: DB, actor: ReadPartnerships) -> Response:
    partnership = queries.get_partnership(db, actor, partnership_id)
    bodies = queries.bodies_of(db, actor, partnership.id)
    agreements, _ = queries.list_agreements(db, actor, AgreementFilter(partnership_id=partnership.id, limit=100))
    context = {
        "partnership": partnership,
        "bodies": bodies,
        "decisions": queries.decisions_of(db, [b.id for b in bodies]),
        "disputes": queries.disputes_of(db, actor, partnership.id),
        "agreements": [(a, lifecycle.agreement_state(a, utcnow())) for a in agreements],
        "agency_names": dict(directory.agency_options(db, actor)),
        **VOCAB,
    }
    return render(request, "agreements/partnership.html", context)


@router.get("/agreements")
def agreements_page(request: Request, db: DB, actor: ReadAgreements) -> Response:
    rows, total = queries.list_agreements(db, actor, AgreementFilter(limit=200))
    now = utcnow()
    context = {
        "agreements": [(a, lifecycle.agreement_state(a, now)) for a in rows],
        "total": total,
        "agency_names": dict(directory.agency_options(db, actor)),
        **VOCAB,
    }
    return render(request, "agreements/list.html", context)


def _agreement_context(db: DB, actor: Actor, agreement_id: uuid.UUID) -> dict[str, object]:
    agreement = queries.get_agreement(db, actor, agreement_id)
    now = utcnow()
    latest = agreement.versions[-1]
    signed_by = {s.agency_id for s in latest.signatures}
    can_sign = (
        [a for a in latest.party_ids if a not in signed_by and actor.has("agreements:agreement:sign", a)]
        if latest.status == "proposed"
        else []
    )
    names = dict(directory.agency_options(db, actor))
    changes: list[tuple[str, str]] = []
    if len(agreement.versions) > 1:
        by_str = {str(a): n for a, n in names.items()}
        changes = [c for c in lifecycle.diff(agreement.versions[-2], latest, by_str) if c[0] != " "]
    return {
        "changes": changes,
        "agreement": agreement,
        "clauses": [_clause_view(c, names) for c in latest.clauses],
        "sign_options": [(a, names.get(a, str(a))) for a in can_sign],
        "state": lifecycle.agreement_state(agreement, now),
        "versions": [(v, lifecycle.version_state(agreement, v, now)) for v in reversed(agreement.versions)],
        "latest": latest,
        "can_sign": can_sign,
        "can_propose": latest.status == "draft"
        and any(actor.has("agreements:agreement:draft", a) for a in latest.party_ids),
        "agency_names": names,
        **VOCAB,
    }


def _clause_view(clause: Clause, names: dict[uuid.UUID, str]) -> dict[str, object]:
    """A clause with agency names and vocabulary labels, for reading as a document."""
    terms = dict(clause.terms)
    if clause.kind == "sharing":
        terms["provider_names"] = [names.get(uuid.UUID(p), p) for p in terms["providers"]]
        terms["recipient_names"] = [names.get(uuid.UUID(r), r) for r in terms["recipients"]]
        terms["category_labels"] = [RECORD_CATEGORIES.get(c, c) for c in terms["categories"]]
        terms["purpose_labels"] = [PURPOSES.get(p, p) for p in terms["purposes"]]
    return {"kind": clause.kind, "terms": terms}


@router.get("/agreements/{agreement_id}")
def agreement_page(request: Request, agreement_id: uuid.UUID, db: DB, actor: ReadAgreements) -> Response:
    return render(request, "agreements/detail.html", _agreement_context(db, actor, agreement_id))


@router.post("/agreements/{agreement_id}/sign", dependencies=[Csrf])
async def agreement_sign(
    request: Request,
    agreement_id: uuid.UUID,
    db: DB,
    actor: Annotated[Actor, Depends(Permission("agreements:agreement:sign"))],
) -> Response:
    form = await form_dict(request)
    try:
        service.sign(db, actor=actor, agreement_id=agreement_id, data=SignRequest(**form))
    except (ValidationError, AccordError) as exc:
        db.rollback()
        _, message = errors_of(exc)
        context = {**_agreement_context(db, actor, agreement_id), "message": message}
        return render(request, "agreements/detail.html", context, 422)
    db.commit()
    flash(request, "success", "Signed. The signature covers the text and clauses shown here, by their SHA-256.")
    return redirect(request, f"/agreements/{agreement_id}")


@router.post("/agreements/{agreement_id}/propose", dependencies=[Csrf])
def agreement_propose(
    request: Request,
    agreement_id: uuid.UUID,
    db: DB,
    actor: Annotated[Actor, Depends(Permission("agreements:agreement:draft"))],
) -> Response:
    service.propose(db, actor=actor, agreement_id=agreement_id)
    db.commit()
    flash(request, "success", "Proposed for signature: the text is now frozen.")
    return redirect(request, f"/agreements/{agreement_id}")
