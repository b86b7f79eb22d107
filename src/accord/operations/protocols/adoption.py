"""The protocol clause of agreements (``{"kind": "protocol", "protocol_version_id": ...}``):
its validator, how it is described and offered in the clause editor, and how signed
clauses compile into ``protocol_adoptions`` with the windows the agreements module gives
every clause (``agreements.clause_kinds``, docs/adr/0017)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from accord.agreements.clause_kinds import ClauseInForce, register_clause_kind
from accord.authz import Actor, scope
from accord.core import events
from accord.operations.protocols import queries
from accord.operations.protocols.models import Protocol, ProtocolAdoption, ProtocolVersion
from accord.operations.protocols.policy import READ

KIND = "protocol"


def _version_id(terms: Mapping[str, Any]) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(terms.get("protocol_version_id")))
    except ValueError:
        return None


def validate(db: Session, actor: Actor, terms: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The clause must name a published protocol version the drafter may read (one that
    is missing or hidden from them reads the same)."""
    version_id = _version_id(terms)
    version = None
    if version_id is not None:
        version = db.scalar(scope(actor, READ, select(ProtocolVersion).where(ProtocolVersion.id == version_id)))
    if version is None:
        return [("protocol_version_id", "no such protocol version")]
    if version.status != "published":
        return [("protocol_version_id", "only a published protocol version can be adopted; publish the draft first")]
    return []


def describe(db: Session, terms: Mapping[str, Any]) -> str:
    """The adopted version by title, number and hash: part of the agreement's document,
    so every party reads what it signs (the version is frozen)."""
    version_id = _version_id(terms)
    version = db.get(ProtocolVersion, version_id) if version_id is not None else None
    if version is None:
        return f"protocol version {terms.get('protocol_version_id')}"
    return f"the protocol “{version.title}”, version {version.number} (SHA-256 {version.content_hash})"


def choices(db: Session, actor: Actor) -> list[tuple[str, str]]:
    return queries.published_choices(db, actor)


def compile_adoptions(db: Session, agreement_id: uuid.UUID, in_force: list[ClauseInForce]) -> None:
    """Rebuild the agreement's adoptions from its signed protocol clauses; announce a live
    event for every protocol whose adoptions changed (ids only)."""
    key = (
        ProtocolAdoption.clause_id,
        ProtocolAdoption.agency_id,
        ProtocolAdoption.protocol_version_id,
        ProtocolAdoption.valid_from,
        ProtocolAdoption.valid_until,
    )
    before = {tuple(row) for row in db.execute(select(*key).where(ProtocolAdoption.agreement_id == agreement_id))}
    db.execute(delete(ProtocolAdoption).where(ProtocolAdoption.agreement_id == agreement_id))
    rows = []
    for bound in in_force:
        version_id = _version_id(bound.terms)
        if version_id is None:
            continue
        rows.append(
            ProtocolAdoption(
                agreement_id=bound.agreement_id,
                agreement_version_id=bound.version_id,
                clause_id=bound.clause_id,
                agency_id=bound.agency_id,
                protocol_version_id=version_id,
                valid_from=bound.valid_from,
                valid_until=bound.valid_until,
            )
        )
    db.add_all(rows)
    db.flush()
    after = {(r.clause_id, r.agency_id, r.protocol_version_id, r.valid_from, r.valid_until) for r in rows}
    changed_versions = {row[2] for row in before ^ after}
    if not changed_versions:
        return
    protocols = db.execute(
        select(ProtocolVersion.protocol_id, Protocol.partnership_id)
        .join(Protocol, Protocol.id == ProtocolVersion.protocol_id)
        .where(ProtocolVersion.id.in_(changed_versions))
        .distinct()
    )
    for protocol_id, _partnership in sorted(protocols, key=lambda r: str(r[0])):
        events.emit(
            db,
            kind="protocol.adoptions.changed",
            object_type="protocol",
            object_id=protocol_id,
            payload={"agreement_id": str(agreement_id)},
        )


register_clause_kind(KIND, validate=validate, compile=compile_adoptions, describe=describe, choices=choices)
