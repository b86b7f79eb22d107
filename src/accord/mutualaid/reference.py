"""The resource types Accord ships (``data/resource_types.json``): loaded into the
database at ``accord db upgrade`` and by the demo seed, kept in step with the file's
``version`` (a newer file updates the shipped types; agencies' own types are left alone)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from accord.core.time import utcnow
from accord.mutualaid.models import ResourceType
from accord.mutualaid.schemas import ResourceTypeIn

REFERENCE_FILE = Path(__file__).parent / "data" / "resource_types.json"


@cache
def reference() -> tuple[str, tuple[ResourceTypeIn, ...]]:
    """The file's version and its types, validated like any import."""
    raw: dict[str, Any] = json.loads(REFERENCE_FILE.read_text())
    return str(raw["version"]), tuple(ResourceTypeIn.model_validate(t) for t in raw["types"])


def sync_reference_types(db: Session) -> int:
    """Insert or update the shipped types; returns how many rows changed."""
    version, types = reference()
    existing = {t.key: t for t in db.scalars(select(ResourceType).where(ResourceType.owner_agency_id.is_(None)))}
    changed = 0
    for spec in types:
        row = existing.get(spec.key)
        if row is not None and row.version == version:
            continue
        if row is None:
            row = ResourceType(key=spec.key, owner_agency_id=None)
            db.add(row)
        row.name, row.category, row.kind, row.unit = spec.name, spec.category, spec.kind, spec.unit
        row.travel_speed_kmh = spec.travel_speed_kmh
        row.levels = [level.model_dump() for level in spec.levels]
        row.version, row.updated_at = version, utcnow()
        changed += 1
    db.flush()
    return changed
