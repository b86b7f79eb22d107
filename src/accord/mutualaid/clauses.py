"""The mutual-aid clause of agreements, seen from mutual aid: how signed clauses compile
into ``mutual_aid_bindings`` (the windows every clause gets: ``agreements.clause_kinds``)
and how a clause reads in an agreement's document. The terms themselves are checked by
the agreements module (``MutualAidTerms``: text, plus structured thresholds and
reimbursement terms)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import Session

from accord.agreements.clause_kinds import ClauseInForce, register_clause_kind
from accord.authz import Actor
from accord.mutualaid.models import MutualAidBinding

KIND = "mutual_aid"
PAYERS = {"requester": "the requesting agency pays", "provider": "the providing agency bears its costs"}


def validate(db: Session, actor: Actor, terms: Mapping[str, Any]) -> list[tuple[str, str]]:
    return []  # the agreements module checks mutual-aid terms itself (a built-in kind)


def describe(db: Session, terms: Mapping[str, Any]) -> str:
    """The structured terms in one sentence, under the clause's own text."""
    parts = []
    thresholds = terms.get("thresholds") or {}
    if thresholds.get("min_severity"):
        parts.append(f"incidents of severity {thresholds['min_severity']} or worse")
    if thresholds.get("incident_types"):
        parts.append("of type " + ", ".join(str(t).replace("_", " ") for t in thresholds["incident_types"]))
    if thresholds.get("declared_emergency"):
        parts.append("a declared emergency")
    if thresholds.get("own_resources_exhausted"):
        parts.append("the requester's own resources of the type committed")
    joiner = " or " if thresholds.get("require") == "any" else "; "
    activation = "Activated for " + joiner.join(parts) if parts else "Activated by any request of a party"
    money = terms.get("reimbursement") or {}
    payer = money.get("payer", "requester")
    paying = PAYERS.get(payer) or f"the requester pays {money.get('requester_share_percent', 100)} %"
    extras = []
    for key, label in (
        ("labor_rate_cap", "labour at most {} an hour"),
        ("equipment_rate_cap", "equipment at most {} an hour"),
        ("mileage_rate", "{} per km"),
        ("cap_per_deployment", "at most {} per deployment"),
    ):
        if money.get(key) not in (None, ""):
            extras.append(label.format(money[key]))
    if money.get("waived_hours"):
        extras.append(f"the first {money['waived_hours']} hours free")
    return f"{activation}. Costs: {paying}" + (f" ({'; '.join(extras)})" if extras else "") + "."


def compile_bindings(db: Session, agreement_id: uuid.UUID, in_force: list[ClauseInForce]) -> None:
    """Rebuild the agreement's bindings from its signed mutual-aid clauses."""
    db.execute(delete(MutualAidBinding).where(MutualAidBinding.agreement_id == agreement_id))
    db.add_all(
        MutualAidBinding(
            agreement_id=bound.agreement_id,
            agreement_version_id=bound.version_id,
            clause_id=bound.clause_id,
            agency_id=bound.agency_id,
            terms=dict(bound.terms),
            valid_from=bound.valid_from,
            valid_until=bound.valid_until,
        )
        for bound in in_force
    )
    db.flush()


register_clause_kind(KIND, validate=validate, compile=compile_bindings, describe=describe)
