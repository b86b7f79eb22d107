"""Record commands and the audit of cross-agency reads."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from accord.accounts import queries as accounts
from accord.agreements.vocab import TIER_RANK
from accord.audit.service import record_event
from accord.authz import Actor
from accord.core.errors import FieldProblem, InvalidInput, InvalidInputs, PermissionDenied
from accord.directory import queries as directory
from accord.geo.geojson import bbox_of, validate_area
from accord.sharing.access import Access
from accord.sharing.categories import BODY_MODELS, labelled_fields
from accord.sharing.models import Record, RecordRecipient
from accord.sharing.policy import roles_by_agency
from accord.sharing.schemas import RecordCreate

CREATE = "sharing:record:create"


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


def search_text(title: str, category: str, body: dict[str, Any]) -> str:
    """Only unlabelled content is searchable: a search must never reveal a masked field."""
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


def create_record(db: Session, *, actor: Actor, data: RecordCreate) -> Record:
    check_owner(db, actor=actor, owner_agency_id=data.owner_agency_id)
    body = _valid_body(data.category, data.body)
    geometry, bbox = _valid_geometry(data.geometry)
    if data.tier == "RED" and not data.red_recipients:
        raise InvalidInput("red_recipients", "a RED record names at least one recipient person")
    if data.tier != "RED" and data.red_recipients:
        raise InvalidInput("red_recipients", "only RED records name recipient people")
    for index, user_id in enumerate(data.red_recipients):
        if not accounts.user_exists(db, user_id):
            raise InvalidInput(f"red_recipients[{index}]", "no such user")
    record = Record(
        owner_agency_id=data.owner_agency_id,
        category=data.category,
        tier=data.tier,
        tier_rank=TIER_RANK[data.tier],
        purpose=data.purpose,
        title=data.title,
        body=body,
        geometry=geometry,
        event_at=data.event_at,
        created_by_user_id=actor.user_id,
        search_text=search_text(data.title, data.category, body),
    )
    if bbox is not None:
        record.min_lon, record.min_lat, record.max_lon, record.max_lat = bbox
    record.red_recipients = [RecordRecipient(user_id=u) for u in dict.fromkeys(data.red_recipients)]
    db.add(record)
    db.flush()
    record_event(
        db,
        actor=actor,
        action="sharing.record.create",
        agency_id=record.owner_agency_id,
        object_type="record",
        object_id=record.id,
        details={"category": record.category, "tier": record.tier},
    )
    return record


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
