"""Matching a request with partners' resources, and why each stands where it does.

Ranking is lexicographic, so it can be explained in a sentence per factor:

1. **qualified** — every qualification the resource's type level requires is held by at
   least one of its people, valid at the time needed (a team nobody may lawfully staff
   goes last, whatever its distance);
2. **on time** — its estimated arrival is no later than the time needed;
3. **type fit** — the exact type level before a more capable level standing in (only when
   the request accepts substitutes; a less capable level never fits);
4. **estimated arrival** — great-circle distance from where the resource is now, times a
   road factor, at the type's travel speed (configurable per type:
   ``ACCORD_TRAVEL_SPEEDS``);
5. **reserve** — the owner keeps ``minimum_reserve`` units at home: units above it are
   offerable, and more headroom ranks higher (taking an owner's last spare unit hurts it
   more).

:func:`rank` is pure; :func:`candidates` reads the resources the requester may see
(through ``authz.scope``) from agencies the request went to.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from accord.authz import Actor, scope
from accord.core.time import utcnow
from accord.mutualaid.models import (
    RequestRecipient,
    Resource,
    ResourceOffer,
    ResourceQualification,
    ResourceRequest,
    ResourceType,
)

READ = "mutualaid:resource:read"
EARTH_RADIUS_KM = 6371.0088
DEFAULT_ROAD_FACTOR = 1.3  # roads are longer than the great circle
ACTIVE_OFFERS = ("offered", "committed", "mobilized", "on_scene", "demobilized")


@dataclass(frozen=True)
class Need:
    type_key: str | None
    level: int | None
    substitutes_ok: bool
    lon: float
    lat: float
    needed_at: datetime


# Options and their assessments are plain slotted classes: a ranking makes hundreds, and
# frozen dataclasses cost several times more to build.
@dataclass(slots=True)
class Option:
    resource_id: uuid.UUID
    name: str
    owner_agency_id: uuid.UUID
    type_key: str
    level: int
    quantity: int
    minimum_reserve: int
    lon: float
    lat: float
    travel_speed_kmh: float
    required_qualifications: tuple[str, ...]
    qualifications: tuple[tuple[str, datetime | None], ...]  # (qualification, valid until)
    type_name: str = ""
    already_offered: int = 0  # units of it on other live offers


@dataclass(slots=True)
class Ranked:
    option: Option
    position: int
    on_time: bool
    fit: str
    qualified: bool
    missing_qualifications: tuple[str, ...]
    distance_km: float
    travel_minutes: int
    eta_at: datetime
    offerable: int
    explanation: tuple[str, ...] = field(default=())

    def as_dict(self) -> dict[str, Any]:
        """The factors as stored with an offer (``ResourceOffer.rank``) and as the API reads them."""
        return {
            "on_time": self.on_time,
            "fit": self.fit,
            "qualified": self.qualified,
            "missing_qualifications": list(self.missing_qualifications),
            "distance_km": round(self.distance_km, 1),
            "travel_minutes": self.travel_minutes,
            "eta_at": self.eta_at.isoformat(),
            "offerable": self.offerable,
            "reserve": self.option.minimum_reserve,
            "explanation": list(self.explanation),
        }


def great_circle_km(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def fit_of(need: Need, type_key: str, level: int) -> str | None:
    """``exact``, ``substitute`` or ``described`` (a request by description), or None when
    the resource does not fit at all."""
    if need.type_key is None:
        return "described"
    if type_key != need.type_key:
        return None
    wanted = need.level or level
    if level == wanted:
        return "exact"
    if level < wanted and need.substitutes_ok:
        return "substitute"
    return None


def _minutes(value: timedelta) -> int:
    return max(0, round(value.total_seconds() / 60))


def _assess(need: Need, option: Option, now: datetime, road_factor: float) -> Ranked | None:
    """The ranking's facts for one option (no words yet: most are never shown)."""
    fit = fit_of(need, option.type_key, option.level)
    offerable = option.quantity - option.minimum_reserve - option.already_offered
    if fit is None or offerable <= 0:
        return None
    held = {q for q, until in option.qualifications if until is None or until >= need.needed_at}
    missing = tuple(q for q in option.required_qualifications if q not in held)
    distance = great_circle_km(option.lon, option.lat, need.lon, need.lat) * road_factor
    travel = timedelta(hours=distance / option.travel_speed_kmh)
    eta = now + travel
    return Ranked(
        option=option,
        position=0,
        on_time=eta <= need.needed_at,
        fit=fit,
        qualified=not missing,
        missing_qualifications=missing,
        distance_km=distance,
        travel_minutes=_minutes(travel),
        eta_at=eta,
        offerable=offerable,
    )


def _explain(need: Need, r: Ranked) -> tuple[str, ...]:
    """One line per factor, in the order they count."""
    option = r.option
    if r.missing_qualifications:
        qualified = f"not qualified at the time needed: {', '.join(r.missing_qualifications)}"
    elif option.required_qualifications:
        qualified = f"qualified: {', '.join(option.required_qualifications)} valid on {need.needed_at:%d %b %H:%M} UTC"
    else:
        qualified = "no qualification required"
    slack = _minutes(abs(need.needed_at - r.eta_at))
    timing = f"arrives about {r.eta_at:%H:%M} UTC, {slack} min {'before' if r.on_time else 'after'} it is needed"
    fit = {
        "exact": f"exact type (level {option.level})",
        "substitute": f"level {option.level} stands in for level {need.level} (more capable)",
        "described": "offered against a description",
    }[r.fit]
    road = f"{r.distance_km:.0f} km by road at {option.travel_speed_kmh:.0f} km/h: {r.travel_minutes} min"
    reserve = (
        f"{r.offerable} unit(s) free above the owner's reserve of {option.minimum_reserve}"
        if option.minimum_reserve
        else f"{r.offerable} unit(s) free; no reserve kept"
    )
    return (f"#{r.position}", qualified, timing, fit, road, reserve)


def _key(ranked: Ranked) -> tuple[Any, ...]:
    headroom = ranked.offerable / max(1, ranked.option.quantity)
    return (
        not ranked.qualified,
        not ranked.on_time,
        ranked.fit == "substitute",
        ranked.eta_at,
        -headroom,
        ranked.option.name,
        ranked.option.resource_id,
    )


def rank(
    need: Need,
    options: Iterable[Option],
    *,
    now: datetime | None = None,
    road_factor: float = DEFAULT_ROAD_FACTOR,
    limit: int | None = None,
) -> list[Ranked]:
    """The options that fit ``need``, best first, numbered and explained: all of them are
    ranked; the first ``limit`` (all when None) are returned."""
    at = now or utcnow()
    assessed = [r for r in (_assess(need, o, at, road_factor) for o in options) if r is not None]
    assessed.sort(key=_key)
    shown = []
    for index, found in enumerate(assessed[:limit] if limit is not None else assessed, start=1):
        found.position = index
        found.explanation = _explain(need, found)
        shown.append(found)
    return shown


def need_of(request: ResourceRequest) -> Need:
    return Need(
        type_key=request.type_key,
        level=request.level,
        substitutes_ok=request.substitutes_ok,
        lon=request.lon,
        lat=request.lat,
        needed_at=request.needed_at,
    )


# What ranking reads of a resource: columns, not entities (the JSON of places and the ORM
# bookkeeping of hundreds of candidates would cost more than the ranking).
COLUMNS = (
    Resource.id,
    Resource.name,
    Resource.owner_agency_id,
    Resource.type_key,
    Resource.level,
    Resource.quantity,
    Resource.minimum_reserve,
    Resource.lon,
    Resource.lat,
)
Qualifications = Mapping[uuid.UUID, list[tuple[str, datetime | None]]]


def units_on_offer(db: Session, *where: Any) -> dict[uuid.UUID, int]:
    """Units of the resources matching ``where`` already on live offers, by resource."""
    busy: dict[uuid.UUID, int] = {}
    offers = (
        select(ResourceOffer.resource_id, ResourceOffer.quantity)
        .join(Resource, Resource.id == ResourceOffer.resource_id)
        .where(ResourceOffer.status.in_(ACTIVE_OFFERS), *where)
    )
    for resource_id, quantity in db.execute(offers):
        busy[resource_id] = busy.get(resource_id, 0) + quantity
    return busy


def options_of(
    db: Session,
    resources: Sequence[Any],
    speeds: Mapping[str, float],
    qualifications: Qualifications | None = None,
    busy: Mapping[uuid.UUID, int] | None = None,
) -> list[Option]:
    """Resources (entities, or rows of ``COLUMNS``) as options: their type's speed and
    required qualifications, their people's qualifications (``qualifications`` by resource
    id, else each entity's own) and the units already on live offers (``busy``, else read)."""
    if not resources:
        return []
    keys = {r.type_key for r in resources}
    types = {t.key: t for t in db.scalars(select(ResourceType).where(ResourceType.key.in_(keys)))}
    if busy is None:
        busy = units_on_offer(db, Resource.id.in_([r.id for r in resources]))
    required = {
        (key, lv.get("level")): tuple(lv.get("required_qualifications", ()))
        for key, t in types.items()
        for lv in t.levels
    }
    speed = {key: float(speeds.get(key, t.travel_speed_kmh)) for key, t in types.items()}
    names = {key: t.name for key, t in types.items()}
    options = []
    for r in resources:  # positional: hundreds per ranking, every microsecond counts
        rid, key, level = r.id, r.type_key, r.level
        held = (
            qualifications.get(rid, ())
            if qualifications is not None
            else [(q.qualification, q.valid_until) for q in r.qualified]
        )
        options.append(
            Option(
                rid,
                r.name,
                r.owner_agency_id,
                key,
                level,
                r.quantity,
                r.minimum_reserve,
                r.lon,
                r.lat,
                speed[key],
                required.get((key, level), ()),
                tuple(held),
                names[key],
                busy.get(rid, 0),
            )
        )
    return options


def candidates(
    db: Session,
    actor: Actor,
    request: ResourceRequest,
    *,
    speeds: Mapping[str, float] | None = None,
    road_factor: float = DEFAULT_ROAD_FACTOR,
    agencies: Iterable[uuid.UUID] | None = None,
    now: datetime | None = None,
    limit: int | None = None,
) -> list[Ranked]:
    """Resources of the agencies the request went to (or of ``agencies`` among them), that
    the caller may see, ranked for the request; the best ``limit`` are returned. A request
    by description has no automatic candidates: partners answer it with what they judge fits."""
    if request.type_key is None:
        return []
    # The agencies the request went to (of ``agencies`` among them), in the statement itself.
    owners = select(RequestRecipient.agency_id).where(RequestRecipient.request_id == request.id)
    if agencies is not None:
        wanted = list(agencies)
        if not wanted:
            return []
        owners = owners.where(RequestRecipient.agency_id.in_(wanted))
    fits = [
        Resource.type_key == request.type_key,
        Resource.status == "available",
        Resource.shareable.is_(True),
        Resource.owner_agency_id.in_(owners),
    ]
    if request.level is not None:
        fits.append(Resource.level <= request.level if request.substitutes_ok else Resource.level == request.level)
    # One statement: the candidates, the units of each already on live offers, and their
    # people's qualifications (a row per qualification; none: one row with NULLs).
    busy = (
        select(func.coalesce(func.sum(ResourceOffer.quantity), 0))
        .where(ResourceOffer.resource_id == Resource.id, ResourceOffer.status.in_(ACTIVE_OFFERS))
        .scalar_subquery()
    )
    stmt = (
        select(*COLUMNS, busy, ResourceQualification.qualification, ResourceQualification.valid_until)
        .outerjoin(ResourceQualification, ResourceQualification.resource_id == Resource.id)
        .where(*fits)
    )
    rows: dict[uuid.UUID, Any] = {}
    held: dict[uuid.UUID, list[tuple[str, datetime | None]]] = {}
    offered: dict[uuid.UUID, int] = {}
    width = len(COLUMNS)
    for row in db.execute(scope(actor, READ, stmt)):
        resource_id = row[0]
        if resource_id not in rows:
            rows[resource_id] = row
            offered[resource_id] = int(row[width])
        if row[width + 1] is not None:
            held.setdefault(resource_id, []).append((row[width + 1], row[width + 2]))
    options = options_of(db, list(rows.values()), speeds or {}, held, offered)
    return rank(need_of(request), options, now=now, road_factor=road_factor, limit=limit)
