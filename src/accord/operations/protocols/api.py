"""JSON API of protocols (``/api/v1/protocols``) and of the protocols attached to an
incident (``/api/v1/incidents/{id}/protocols``)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from sqlalchemy.orm import Session

from accord.authz import Actor
from accord.authz.deps import Permission
from accord.core.deps import DB
from accord.core.schemas import Page
from accord.directory import queries as directory
from accord.operations.protocols import content, queries, service
from accord.operations.protocols.models import Protocol, ProtocolVersion
from accord.operations.protocols.schemas import (
    AdoptionRead,
    AttachedProtocol,
    DiffLine,
    ProtocolCreate,
    ProtocolDiff,
    ProtocolEdit,
    ProtocolFilter,
    ProtocolRead,
    ProtocolSummary,
    ProtocolVersionRead,
    PublishRequest,
)

router = APIRouter(prefix="/api/v1", tags=["protocols"])
Read = Annotated[Actor, Depends(Permission("operations:protocol:read"))]
Write = Annotated[Actor, Depends(Permission("operations:protocol:write"))]


def version_read(version: ProtocolVersion) -> ProtocolVersionRead:
    return ProtocolVersionRead.model_validate(version)


def _numbers(versions: list[ProtocolVersion]) -> tuple[int | None, int | None, str]:
    published = [v for v in versions if v.status == "published"]
    draft = versions[-1] if versions and versions[-1].status == "draft" else None
    shown = published[-1] if published else (versions[-1] if versions else None)
    return (
        published[-1].number if published else None,
        draft.number if draft else None,
        shown.title if shown else "",
    )


def protocol_read(db: Session, actor: Actor, protocol: Protocol) -> ProtocolRead:
    versions = queries.visible_versions(db, actor, [protocol.id])[protocol.id]
    current, draft, title = _numbers(versions)
    return ProtocolRead(
        id=protocol.id,
        partnership_id=protocol.partnership_id,
        created_by_agency_id=protocol.created_by_agency_id,
        created_at=protocol.created_at,
        updated_at=protocol.updated_at,
        title=title,
        current_version=current,
        draft_version=draft,
        versions=[version_read(v) for v in versions],
        adoptions=[AdoptionRead.model_validate(a) for a in queries.adoptions_of(db, actor, protocol.id)],
    )


@router.get("/protocols", response_model=Page[ProtocolSummary])
def list_protocols(db: DB, actor: Read, filters: Annotated[ProtocolFilter, Query()]) -> Page[ProtocolSummary]:
    rows, total = queries.list_protocols(db, actor, filters)
    versions = queries.visible_versions(db, actor, [p.id for p in rows])
    items = []
    for protocol in rows:
        current, draft, title = _numbers(versions[protocol.id])
        newest = versions[protocol.id][-1] if versions[protocol.id] else None
        items.append(
            ProtocolSummary(
                id=protocol.id,
                partnership_id=protocol.partnership_id,
                title=title,
                incident_types=newest.incident_types if newest else [],
                current_version=current,
                draft_version=draft,
                updated_at=protocol.updated_at,
            )
        )
    return Page(items=items, total=total, limit=filters.limit, offset=filters.offset)


@router.post("/protocols", response_model=ProtocolRead, status_code=201)
def create_protocol(db: DB, actor: Write, data: ProtocolCreate) -> ProtocolRead:
    protocol = service.create_protocol(db, actor=actor, data=data)
    db.commit()
    return protocol_read(db, actor, protocol)


@router.get("/protocols/{protocol_id}", response_model=ProtocolRead)
def get_protocol(db: DB, actor: Read, protocol_id: uuid.UUID) -> ProtocolRead:
    return protocol_read(db, actor, queries.get_protocol(db, actor, protocol_id))


@router.patch("/protocols/{protocol_id}", response_model=ProtocolRead)
def edit_protocol(db: DB, actor: Write, protocol_id: uuid.UUID, data: ProtocolEdit) -> ProtocolRead:
    protocol = service.edit_protocol(db, actor=actor, protocol_id=protocol_id, data=data)
    db.commit()
    return protocol_read(db, actor, protocol)


@router.post("/protocols/{protocol_id}/publish", response_model=ProtocolRead)
def publish_protocol(db: DB, actor: Write, protocol_id: uuid.UUID, data: PublishRequest) -> ProtocolRead:
    protocol = service.publish_protocol(db, actor=actor, protocol_id=protocol_id, data=data)
    db.commit()
    return protocol_read(db, actor, protocol)


@router.get("/protocols/{protocol_id}/versions/{number}", response_model=ProtocolVersionRead)
def get_version(
    db: DB, actor: Read, protocol_id: uuid.UUID, number: Annotated[int, Path(ge=1, le=100_000)]
) -> ProtocolVersionRead:
    return version_read(queries.get_version(db, actor, protocol_id, number))


@router.get("/protocols/{protocol_id}/diff", response_model=ProtocolDiff)
def diff_versions(
    db: DB,
    actor: Read,
    protocol_id: uuid.UUID,
    from_version: Annotated[int, Query(alias="from", ge=1, le=100_000)],
    to_version: Annotated[int, Query(alias="to", ge=1, le=100_000)],
) -> ProtocolDiff:
    queries.get_protocol(db, actor, protocol_id)
    old = queries.get_version(db, actor, protocol_id, from_version)
    new = queries.get_version(db, actor, protocol_id, to_version)
    names = {str(a): n for a, n in directory.agency_options(db, actor)}
    lines = [DiffLine(op=op, line=line) for op, line in content.diff(old, new, names)]
    return ProtocolDiff(from_version=old.number, to_version=new.number, lines=lines)


@router.get("/incidents/{incident_id}/protocols", response_model=list[AttachedProtocol], tags=["incidents"])
def incident_protocols(db: DB, actor: Read, incident_id: uuid.UUID) -> list[AttachedProtocol]:
    """The protocols in force for the incident (for the agencies taking part in it)."""
    attached = queries.protocols_for_incident(db, actor, incident_id)
    return [
        AttachedProtocol(
            protocol_id=a.protocol_id,
            version=version_read(a.version),
            adopted_through=[AdoptionRead.model_validate(x) for x in a.adopted_through],
        )
        for a in attached
    ]
