"""Record commands (create, update, attach) and the audit of cross-agency reads."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from accord.accounts import queries as accounts
from accord.agreements.vocab import LABELS, TIER_RANK
from accord.audit.service import record_event
from accord.authz import Actor, roles_by_agency
from accord.core import events
from accord.core.errors import Conflict, FieldProblem, InvalidInput, InvalidInputs, PermissionDenied
from accord.core.time import utcnow
from accord.directory import queries as directory
from accord.geo.geojson import bbox_of, validate_area
from accord.sharing import files, protect, queries
from accord.sharing.access import Access
from accord.sharing.categories import BODY_MODELS, labelled_fields
from accord.sharing.models import Attachment, Record, RecordRecipient, RecordRevision
from accord.sharing.schemas import RecordCreate, RecordUpdate

CREATE = "sharing:record:create"
UPDATE = "sharing:record:update"


def _valid_body(category: str, body: dict[str, Any]) -> dict[str, Any]:
    try:
        model = BODY_MODELS[category].model_validate(body)
    except ValidationError as exc:
        problems = [
            FieldProblem(
                "body." + ".".join(str(p) for p in err["loc"]) if err["loc"] else "body",
                "unknown field for this category" if err["type"] == "extra_forbidden" else str(err["msg"]),
            )
            for err in exc.errors(include_url=False)
        ]
        raise InvalidInputs(problems) from None
    return model.model_dump(mode="json", exclude_none=True)


def _valid_point(coords: Any) -> list[float]:
    if not isinstance(coords, list) or len(coords) != 2:
        raise InvalidInput("geometry.coordinates", "a Point is [longitude, latitude]")
    if not all(isinstance(c, int | float) and not isinstance(c, bool) for c in coords):
        raise InvalidInput("geometry.coordinates", "coordinates must be numbers")
    lon, lat = float(coords[0]), float(coords[1])
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise InvalidInput("geometry.coordinates", "outside WGS 84 ranges ([longitude, latitude])")
    return [lon, lat]


def _valid_geometry(
    value: dict[str, Any] | None,
) -> tuple[dict[str, Any] | None, tuple[float, float, float, float] | None]:
    """A Point, or a Polygon/MultiPolygon area, in WGS 84."""
    if value is None:
        return None, None
    if value.get("type") == "Point":
        lon, lat = _valid_point(value.get("coordinates"))
        return {"type": "Point", "coordinates": [lon, lat]}, (lon, lat, lon, lat)
    area = validate_area(value, field="geometry")
    return area, bbox_of(area)


def search_text(title: str, category: str, body: dict[str, Any], *, protected: bool = False) -> str:
    """Only unlabelled content is searchable: a search must never reveal a masked field.
    A protected record (sealed at rest) is found by its title only: an index of its body
    would store the body in the clear."""
    if protected:
        return title
    hidden = labelled_fields(category)
    parts = [title] + [str(v) for k, v in body.items() if k not in hidden and v is not None]
    return "\n".join(parts)


def check_owner(db: Session, *, actor: Actor, owner_agency_id: uuid.UUID) -> None:
    """Records are written by members of the owning agency; a platform-wide role (the
    operator) neither reads nor writes agency data."""
    if not directory.agency_exists(db, owner_agency_id):
        raise InvalidInput("owner_agency_id", "no such agency")
    if owner_agency_id not in roles_by_agency(actor, CREATE):
        raise PermissionDenied(CREATE, owner_agency_id)


def _check_recipients(db: Session, tier: str, recipients: list[uuid.UUID]) -> None:
    if tier == "RED" and not recipients:
        raise InvalidInput("red_recipients", "a RED record names at least one recipient person")
    if tier != "RED" and recipients:
        raise InvalidInput("red_recipients", "only RED records name recipient people")
    for index, user_id in enumerate(recipients):
        if not accounts.user_exists(db, user_id):
            raise InvalidInput(f"red_recipients[{index}]", "no such user")


def _snapshot(db: Session, record: Record, body: dict[str, Any], *, actor: Actor, note: str) -> RecordRevision:
    """The record as just saved, kept as its next version (sealed when it is protected)."""
    revision = RecordRevision(
        record_id=record.id,
        number=record.revision,
        owner_agency_id=record.owner_agency_id,
        category=record.category,
        tier=record.tier,
        tier_rank=record.tier_rank,
        purpose=record.purpose,
        title=record.title,
        body=dict(body),
        geometry=record.geometry,
        red_recipients=[str(r.user_id) for r in record.red_recipients],
        event_at=record.event_at,
        changed_at=utcnow(),
        changed_by_user_id=actor.user_id,
        note=note,
    )
    protect.store_revision(db, record, revision)
    return revision


def create_record(db: Session, *, actor: Actor, data: RecordCreate) -> Record:
    check_owner(db, actor=actor, owner_agency_id=data.owner_agency_id)
    body = _valid_body(data.category, data.body)
    geometry, bbox = _valid_geometry(data.geometry)
    _check_recipients(db, data.tier, data.red_recipients)
    record = Record(
        owner_agency_id=data.owner_agency_id,
        category=data.category,
        tier=data.tier,
        tier_rank=TIER_RANK[data.tier],
        purpose=data.purpose,
        title=data.title,
        geometry=geometry,
        event_at=data.event_at,
        created_by_user_id=actor.user_id,
        search_text=search_text(data.title, data.category, body, protected=protect.is_protected(TIER_RANK[data.tier])),
        revision=1,
    )
    protect.store_body(db, record, body)
    if bbox is not None:
        record.min_lon, record.min_lat, record.max_lon, record.max_lat = bbox
    record.red_recipients = [RecordRecipient(user_id=u) for u in dict.fromkeys(data.red_recipients)]
    db.add(record)
    db.flush()
    protect.show(record, body)
    db.add(_snapshot(db, record, body, actor=actor, note="created"))
    record_event(
        db,
        actor=actor,
        action="sharing.record.create",
        agency_id=record.owner_agency_id,
        object_type="record",
        object_id=record.id,
        details={"category": record.category, "tier": record.tier},
    )
    _announce(db, "record.created", record)
    return record


def _announce(db: Session, kind: str, record: Record) -> None:
    """A live event (ids and states, never content): recipients who may read the record
    now re-read it through ``authz.scope``."""
    events.emit(
        db,
        kind=kind,
        object_type="record",
        object_id=record.id,
        agency_id=record.owner_agency_id,
        payload={"category": record.category, "revision": record.revision},
    )


def _owned(db: Session, *, actor: Actor, record: Record) -> None:
    """Only members of the owning agency holding ``sharing:record:update`` change a record
    (a partner who can see it may not)."""
    if record.owner_agency_id not in roles_by_agency(actor, UPDATE):
        raise PermissionDenied(UPDATE, record.owner_agency_id)


def update_record(db: Session, *, actor: Actor, record_id: uuid.UUID, data: RecordUpdate) -> Record:
    """Save a new version of a record the caller's agency owns."""
    record, _ = queries.get_record(db, actor, record_id)
    _owned(db, actor=actor, record=record)
    if data.revision != record.revision:
        raise Conflict(
            "revision",
            f"the record was changed meanwhile (now version {record.revision}, you edited version "
            f"{data.revision}): reload it and apply your change again",
        )
    tier = data.tier or record.tier
    recipients = data.red_recipients if data.red_recipients is not None else [r.user_id for r in record.red_recipients]
    if data.tier is not None and data.tier != "RED" and data.red_recipients is None:
        recipients = []  # leaving RED drops the named people
    _check_recipients(db, tier, recipients)
    if data.geometry is not None and data.clear_geometry:
        raise InvalidInput("clear_geometry", "send either a new geometry or clear_geometry, not both")
    changed: list[str] = []
    body = dict(record.body)
    if data.body is not None:
        body = _valid_body(record.category, data.body)
        if body != record.body:
            changed.append("body")
    if data.geometry is not None or data.clear_geometry:
        geometry, bbox = _valid_geometry(data.geometry)
        if geometry != record.geometry:
            record.geometry = geometry
            record.min_lon, record.min_lat, record.max_lon, record.max_lat = bbox or (None, None, None, None)
            changed.append("geometry")
    for name in ("tier", "purpose", "title", "event_at"):
        value = getattr(data, name)
        if value is not None and value != getattr(record, name):
            setattr(record, name, value)
            changed.append(name)
    if {u for u in recipients} != {r.user_id for r in record.red_recipients}:
        record.red_recipients = [RecordRecipient(user_id=u) for u in dict.fromkeys(recipients)]
        changed.append("red_recipients")
    if not changed:
        raise InvalidInput("body", "nothing to change: this is the record as it stands")
    record.tier_rank = TIER_RANK[record.tier]
    protected = protect.is_protected(record.tier_rank)
    record.search_text = search_text(record.title, record.category, body, protected=protected)
    record.revision += 1
    protect.store_body(db, record, body)
    protect.seal_history(db, record)
    db.flush()
    protect.show(record, body)
    db.add(_snapshot(db, record, body, actor=actor, note=data.note))
    record_event(
        db,
        actor=actor,
        action="sharing.record.update",
        agency_id=record.owner_agency_id,
        object_type="record",
        object_id=record.id,
        details={"revision": record.revision, "changed": changed, "tier": record.tier},
    )
    _announce(db, "record.updated", record)
    return record


def add_attachment(
    db: Session,
    *,
    actor: Actor,
    record_id: uuid.UUID,
    filename: str,
    declared_type: str | None,
    content: bytes,
    label: str | None,
    max_bytes: int,
) -> Attachment:
    record, _ = queries.get_record(db, actor, record_id)
    _owned(db, actor=actor, record=record)
    if label is not None and label not in LABELS:
        raise InvalidInput("label", f"one of {', '.join(LABELS)}, or none")
    if not content:
        raise InvalidInput("file", "the file is empty")
    if len(content) > max_bytes:
        raise InvalidInput("file", f"larger than the limit of {max_bytes} bytes")
    content_type = files.checked_type(content, declared_type)
    attachment = Attachment(
        record_id=record.id,
        filename=files.safe_filename(filename),
        content_type=content_type,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        label=label,
        uploaded_at=utcnow(),
        uploaded_by_user_id=actor.user_id,
    )
    protect.store_attachment(db, record, attachment, content)
    db.add(attachment)
    db.flush()
    record_event(
        db,
        actor=actor,
        action="sharing.record.attach",
        agency_id=record.owner_agency_id,
        object_type="record",
        object_id=record.id,
        details={"attachment_id": str(attachment.id), "content_type": content_type, "size": len(content)},
    )
    return attachment


def remove_attachment(db: Session, *, actor: Actor, record_id: uuid.UUID, attachment_id: uuid.UUID) -> None:
    record, _ = queries.get_record(db, actor, record_id)
    _owned(db, actor=actor, record=record)
    attachment = queries.get_attachment(db, actor, record_id, attachment_id)
    db.delete(attachment)
    record_event(
        db,
        actor=actor,
        action="sharing.record.detach",
        agency_id=record.owner_agency_id,
        object_type="record",
        object_id=record.id,
        details={"attachment_id": str(attachment.id), "filename": attachment.filename},
    )


def log_reads(db: Session, *, actor: Actor, reads: list[tuple[Record, Access]], surface: str) -> int:
    """One audit event per record of another agency that was read, naming its basis and
    the clause that allowed it. Owners reading their own records are not logged here."""
    count = 0
    for record, access in reads:
        if access.basis == "owner":
            continue
        record_event(
            db,
            actor=actor,
            action="sharing.record.read",
            agency_id=record.owner_agency_id,
            object_type="record",
            object_id=record.id,
            clause_id=access.clause_id,
            details={"surface": surface, "basis": access.basis, "masked": sorted(access.masked)},
        )
        count += 1
    return count
