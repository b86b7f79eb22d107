"""Commands on protocols: write one for a partnership, edit its draft (a published version
is never changed: editing opens the next version), publish the draft. Every change writes
its audit event and a live event in the same transaction; nothing here commits."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from accord.agreements import queries as agreements
from accord.audit.service import record_event
from accord.authz import Actor, roles_by_agency
from accord.core import events
from accord.core.errors import Conflict, FieldProblem, InvalidInput, InvalidInputs, NotFound, PermissionDenied
from accord.core.time import utcnow
from accord.directory import queries as directory
from accord.operations.protocols import content, queries
from accord.operations.protocols.models import Protocol, ProtocolVersion, ProtocolVersionType
from accord.operations.protocols.policy import WRITE
from accord.operations.protocols.schemas import Contact, ProtocolCreate, ProtocolEdit, PublishRequest


def _writer(actor: Actor, member_agencies: set[uuid.UUID]) -> uuid.UUID:
    """The caller's agency that writes for the partnership: a current member in which it
    holds ``operations:protocol:write`` (the first, in a stable order)."""
    mine = sorted(a for a in roles_by_agency(actor, WRITE) if a in member_agencies)
    if not mine:
        raise PermissionDenied(
            WRITE, reason="only coordinators and commanders of the partnership's members write its protocols"
        )
    return mine[0]


def _members(db: Session, actor: Actor, partnership_id: uuid.UUID) -> set[uuid.UUID]:
    """The partnership's current members (none if the caller's agencies are not among
    them: an adopting agency reads the protocol, it does not write it)."""
    try:
        partnership = agreements.get_partnership(db, actor, partnership_id)
    except NotFound:
        return set()
    return {m.agency_id for m in partnership.members if m.left_at is None}


def writer_agency(db: Session, *, actor: Actor, partnership_id: uuid.UUID) -> uuid.UUID | None:
    """The caller's agency that may write the partnership's protocols, if any (for pages)."""
    mine = sorted(a for a in roles_by_agency(actor, WRITE) if a in _members(db, actor, partnership_id))
    return mine[0] if mine else None


def _check_contacts(db: Session, contacts: list[Contact]) -> None:
    problems = [
        FieldProblem(f"contacts[{i}].agency_id", "no such agency")
        for i, contact in enumerate(contacts)
        if not directory.agency_exists(db, contact.agency_id)
    ]
    if problems:
        raise InvalidInputs(problems)


def _dump(items: list[Any]) -> list[dict[str, Any]]:
    return [item.model_dump(mode="json") for item in items]


def _announce(db: Session, kind: str, protocol: Protocol, version: ProtocolVersion, agency_id: uuid.UUID) -> None:
    events.emit(
        db,
        kind=kind,
        object_type="protocol",
        object_id=protocol.id,
        agency_id=agency_id,
        payload={"version": version.number, "status": version.status},
    )


def create_protocol(db: Session, *, actor: Actor, data: ProtocolCreate) -> Protocol:
    members = _members(db, actor, data.partnership_id)
    if not members:
        raise InvalidInput("partnership_id", "no such partnership")
    acting = _writer(actor, members)
    _check_contacts(db, data.contacts)
    protocol = Protocol(
        partnership_id=data.partnership_id, created_by_agency_id=acting, created_by_user_id=actor.user_id
    )
    version = ProtocolVersion(
        number=1,
        status="draft",
        title=data.title,
        summary=data.summary,
        steps=_dump(data.steps),
        roles=_dump(data.roles),
        contacts=_dump(data.contacts),
        edited_by_agency_id=acting,
    )
    version.types = [ProtocolVersionType(incident_type=t) for t in data.incident_types]
    protocol.versions = [version]
    db.add(protocol)
    db.flush()
    record_event(
        db,
        actor=actor,
        action="operations.protocol.create",
        agency_id=acting,
        object_type="protocol",
        object_id=protocol.id,
        details={"partnership_id": str(data.partnership_id), "version": 1, "steps": len(data.steps)},
    )
    _announce(db, "protocol.created", protocol, version, acting)
    return protocol


def edit_protocol(db: Session, *, actor: Actor, protocol_id: uuid.UUID, data: ProtocolEdit) -> Protocol:
    """Change what is given in the draft; if the newest version is published, the next
    version starts as a draft copy of it with these changes."""
    protocol = queries.get_protocol(db, actor, protocol_id)
    acting = _writer(actor, _members(db, actor, protocol.partnership_id))
    changes = data.model_dump(exclude_unset=True)
    for name, value in changes.items():
        if value is None:
            raise InvalidInput(name, "may not be null; leave the field out to keep it")
    if data.contacts is not None:
        _check_contacts(db, data.contacts)
    latest = protocol.latest
    opened = latest.status == "published"
    if opened:
        draft = ProtocolVersion(
            number=latest.number + 1,
            status="draft",
            title=latest.title,
            summary=latest.summary,
            steps=list(latest.steps),
            roles=list(latest.roles),
            contacts=list(latest.contacts),
            edited_by_agency_id=acting,
        )
        draft.types = [ProtocolVersionType(incident_type=t.incident_type) for t in latest.types]
        protocol.versions.append(draft)
    else:
        draft = latest
        draft.edited_by_agency_id = acting
    if data.title is not None:
        draft.title = data.title
    if data.summary is not None:
        draft.summary = data.summary
    for name in ("steps", "roles", "contacts"):
        given = getattr(data, name)
        if given is not None:
            setattr(draft, name, _dump(given))
    if data.incident_types is not None and data.incident_types != draft.incident_types:
        kept = {t.incident_type: t for t in draft.types}
        draft.types = [kept.get(t) or ProtocolVersionType(incident_type=t) for t in data.incident_types]
    draft.updated_at = protocol.updated_at = utcnow()
    db.flush()
    record_event(
        db,
        actor=actor,
        action="operations.protocol.edit",
        agency_id=acting,
        object_type="protocol",
        object_id=protocol.id,
        details={"version": draft.number, "opened": opened, "fields": sorted(changes)},
    )
    _announce(db, "protocol.draft.opened" if opened else "protocol.draft.saved", protocol, draft, acting)
    return protocol


def publish_protocol(db: Session, *, actor: Actor, protocol_id: uuid.UUID, data: PublishRequest) -> Protocol:
    """Freeze the draft the caller reviewed: its canonical content gets a SHA-256, and the
    version can then be adopted through an agreement; it never changes again."""
    protocol = queries.get_protocol(db, actor, protocol_id)
    acting = _writer(actor, _members(db, actor, protocol.partnership_id))
    latest = protocol.latest
    if latest.status != "draft":
        raise Conflict("version", f"version {latest.number} is already published; edit the protocol to open a draft")
    if data.version != latest.number:
        raise Conflict("version", f"the draft is version {latest.number}, not {data.version}; reload and review it")
    latest.status = "published"
    latest.published_at = utcnow()
    latest.published_by_user_id = actor.user_id
    latest.published_by_agency_id = acting
    latest.content_hash = content.content_hash(latest)
    protocol.updated_at = utcnow()
    db.flush()
    record_event(
        db,
        actor=actor,
        action="operations.protocol.publish",
        agency_id=acting,
        object_type="protocol",
        object_id=protocol.id,
        details={"version": latest.number, "content_hash": latest.content_hash},
    )
    _announce(db, "protocol.published", protocol, latest, acting)
    return protocol
