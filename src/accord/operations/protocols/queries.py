"""Reads of protocols, always through ``authz.scope``; and the protocols attached to an
incident, computed at read time by one statement from the adoptions in force."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select, union
from sqlalchemy.orm import Session

from accord.agreements.models import AgreementVersion, Clause, Partnership
from accord.authz import Actor, scope
from accord.core.db import contains
from accord.core.errors import NotFound
from accord.operations import queries as incidents
from accord.operations.models import Incident, IncidentParticipant
from accord.operations.policy import takes_part
from accord.operations.protocols import policy as _policy
from accord.operations.protocols.models import Protocol, ProtocolAdoption, ProtocolVersion, ProtocolVersionType
from accord.operations.protocols.policy import READ, adoption_in_force
from accord.operations.protocols.schemas import ProtocolFilter

__all__ = ["READ", "_policy"]


@dataclass(frozen=True)
class Adoption:
    agency_id: uuid.UUID
    agreement_id: uuid.UUID
    agreement_title: str
    agreement_version_id: uuid.UUID
    agreement_version_number: int
    clause_id: uuid.UUID
    clause_number: int
    protocol_version_id: uuid.UUID
    protocol_version_number: int
    valid_from: datetime
    valid_until: datetime | None


@dataclass
class Attached:
    version: ProtocolVersion
    adopted_through: list[Adoption] = field(default_factory=list)

    @property
    def protocol_id(self) -> uuid.UUID:
        return self.version.protocol_id


def get_protocol(db: Session, actor: Actor, protocol_id: uuid.UUID) -> Protocol:
    protocol = db.scalar(scope(actor, READ, select(Protocol).where(Protocol.id == protocol_id)))
    if protocol is None:
        raise NotFound("protocol")
    return protocol


def visible_versions(
    db: Session, actor: Actor, protocol_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[ProtocolVersion]]:
    """The versions of ``protocol_ids`` the caller may read (drafts for the owning
    partnership's members, published ones for adopters), oldest first."""
    found: dict[uuid.UUID, list[ProtocolVersion]] = {p: [] for p in protocol_ids}
    if not protocol_ids:
        return found
    stmt = scope(actor, READ, select(ProtocolVersion).where(ProtocolVersion.protocol_id.in_(protocol_ids)))
    for version in db.scalars(stmt.order_by(ProtocolVersion.protocol_id, ProtocolVersion.number)):
        found[version.protocol_id].append(version)
    return found


def get_version(db: Session, actor: Actor, protocol_id: uuid.UUID, number: int) -> ProtocolVersion:
    stmt = select(ProtocolVersion).where(ProtocolVersion.protocol_id == protocol_id, ProtocolVersion.number == number)
    version = db.scalar(scope(actor, READ, stmt))
    if version is None:
        raise NotFound("protocol version")
    return version


def list_protocols(db: Session, actor: Actor, filters: ProtocolFilter) -> tuple[list[Protocol], int]:
    stmt = scope(actor, READ, select(Protocol))
    if filters.partnership_id is not None:
        stmt = stmt.where(Protocol.partnership_id == filters.partnership_id)
    if filters.incident_type is not None:
        typed = (
            select(ProtocolVersion.protocol_id)
            .join(ProtocolVersionType, ProtocolVersionType.version_id == ProtocolVersion.id)
            .where(ProtocolVersionType.incident_type == filters.incident_type)
        )
        stmt = stmt.where(Protocol.id.in_(typed))
    if filters.q:
        titled = select(ProtocolVersion.protocol_id).where(contains(ProtocolVersion.title, filters.q))
        stmt = stmt.where(Protocol.id.in_(titled))
    total = db.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    rows = db.scalars(
        stmt.order_by(Protocol.updated_at.desc(), Protocol.id).limit(filters.limit).offset(filters.offset)
    )
    return list(rows), int(total)


def partnership_names(db: Session, partnership_ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Names of the partnerships owning protocols the caller already reached (an adopter
    may not be a member: it still reads whose protocol it follows)."""
    if not partnership_ids:
        return {}
    rows = db.execute(select(Partnership.id, Partnership.name).where(Partnership.id.in_(partnership_ids)))
    return {pid: name for pid, name in rows}


def _adoption_select() -> Select[*tuple[Any, ...]]:
    return (
        select(
            ProtocolAdoption.agency_id,
            ProtocolAdoption.agreement_id,
            AgreementVersion.title,
            ProtocolAdoption.agreement_version_id,
            AgreementVersion.number,
            ProtocolAdoption.clause_id,
            Clause.position,
            ProtocolAdoption.protocol_version_id,
            ProtocolVersion.number,
            ProtocolAdoption.valid_from,
            ProtocolAdoption.valid_until,
        )
        .select_from(ProtocolAdoption)
        .join(AgreementVersion, AgreementVersion.id == ProtocolAdoption.agreement_version_id)
        .join(Clause, Clause.id == ProtocolAdoption.clause_id)
        .join(ProtocolVersion, ProtocolVersion.id == ProtocolAdoption.protocol_version_id)
    )


def _adoption(row: Any) -> Adoption:
    return Adoption(
        agency_id=row[0],
        agreement_id=row[1],
        agreement_title=row[2],
        agreement_version_id=row[3],
        agreement_version_number=row[4],
        clause_id=row[5],
        clause_number=row[6] + 1,
        protocol_version_id=row[7],
        protocol_version_number=row[8],
        valid_from=row[9],
        valid_until=row[10],
    )


def adoptions_of(db: Session, actor: Actor, protocol_id: uuid.UUID) -> list[Adoption]:
    """Who follows which version of the protocol now, under which agreement and clause."""
    ids = scope(actor, READ, select(ProtocolAdoption.id))
    stmt = _adoption_select().where(
        ProtocolVersion.protocol_id == protocol_id, adoption_in_force(), ProtocolAdoption.id.in_(ids)
    )
    rows = db.execute(stmt.order_by(ProtocolVersion.number.desc(), AgreementVersion.title, ProtocolAdoption.agency_id))
    return [_adoption(r) for r in rows]


def protocols_for_incident(db: Session, actor: Actor, incident_id: uuid.UUID) -> list[Attached]:
    """The protocol versions in force for an incident: adopted (now) by its lead agency or
    a participating agency, applying to the incident's type; per protocol the newest
    version so adopted, with every adoption of it among those agencies. For callers who
    may read the incident (``authz.scope``) and take part in it; to anyone else the
    incident does not exist (404)."""
    incident = incidents.get_incident(db, actor, incident_id)
    if not takes_part(actor, READ, incident):
        raise NotFound("incident")
    involved = union(
        select(Incident.lead_agency_id).where(Incident.id == incident_id),
        select(IncidentParticipant.agency_id).where(IncidentParticipant.incident_id == incident_id),
    )
    incident_type = select(Incident.type).where(Incident.id == incident_id).scalar_subquery()
    newest = func.dense_rank().over(partition_by=ProtocolVersion.protocol_id, order_by=ProtocolVersion.number.desc())
    ranked = (
        select(ProtocolAdoption.id.label("adoption_id"), newest.label("rank"))
        .join(ProtocolVersion, ProtocolVersion.id == ProtocolAdoption.protocol_version_id)
        .join(ProtocolVersionType, ProtocolVersionType.version_id == ProtocolVersion.id)
        .where(
            ProtocolVersionType.incident_type == incident_type,
            ProtocolVersion.status == "published",
            ProtocolAdoption.agency_id.in_(involved),
            adoption_in_force(),
        )
        .subquery()
    )
    stmt = (
        _adoption_select()
        .add_columns(ProtocolVersion)
        .join(ranked, ranked.c.adoption_id == ProtocolAdoption.id)
        .where(ranked.c.rank == 1)
        .order_by(ProtocolVersion.title, ProtocolVersion.id, AgreementVersion.title, ProtocolAdoption.agency_id)
    )
    attached: dict[uuid.UUID, Attached] = {}
    for row in db.execute(stmt):
        version: ProtocolVersion = row[-1]
        attached.setdefault(version.id, Attached(version)).adopted_through.append(_adoption(row))
    return list(attached.values())


def published_choices(db: Session, actor: Actor) -> list[tuple[str, str]]:
    """Published versions the caller may read, as clause-editor options (newest first)."""
    stmt = scope(actor, READ, select(ProtocolVersion).where(ProtocolVersion.status == "published"))
    versions = list(db.scalars(stmt.order_by(ProtocolVersion.title, ProtocolVersion.number.desc())))
    return [(str(v.id), f"{v.title} — version {v.number} (SHA-256 {(v.content_hash or '')[:12]}…)") for v in versions]
