"""De-identified aggregates: counts of records by category x ISO week x area (ADR 0010).

Who counts what. An agency counts its own records, CLEAR records of anyone, and records of
other agencies that a grant in force to it (and a role holding the aggregate permission)
covers by provider, category, purpose and tier — aggregates-only grants and full grants
alike, a grant with ``retention_days`` only while the record was last saved within that. RED
records never count. The rule is one set-based predicate over ``CountableRecord`` (the
records table mapped with only the columns the rule and the counts need), registered with
``authz`` for ``sharing:aggregate:read``: the only way to count is ``scope``.

What contributes. Only category, event time (ISO week, Monday start, UTC) and place
(the point, or the representative point of an area). Titles, bodies and labelled fields
are not mapped on ``CountableRecord``, so no statement here can read them.

What is published. Atomic cells only: no totals, no coarser weeks or areas, no provider
filter. A cell under ``THRESHOLD`` is suppressed (zero included: a reader cannot tell an
empty cell from a small one); where jurisdictions nest, further cells are suppressed until
no difference of published nested cells falls in 1..10 (``suppress``; ``audit`` checks a
table). Suppression is decided per (category, week) over every area, whatever the query
selects, so two overlapping queries always show a cell the same way and cannot be
subtracted.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import uuid
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from itertools import combinations
from typing import Any, Literal

import h3
import numpy as np
import shapely
from pydantic import BaseModel, Field, field_validator
from shapely.geometry import shape as to_shape
from sqlalchemy import ColumnElement, and_, case, false, null, or_, select
from sqlalchemy.orm import Mapped, Session

from accord.agreements import queries as agreements
from accord.agreements.models import Grant
from accord.agreements.schemas import Category
from accord.agreements.vocab import RECORD_CATEGORIES, TIERS
from accord.audit.service import record_event
from accord.authz import Actor, RolesKey, register_policy, roles_by_agency, roles_key, scope
from accord.core.db import Base
from accord.core.errors import InvalidInput, PermissionDenied
from accord.core.schemas import Strict
from accord.core.time import utcnow
from accord.directory import queries as directory
from accord.directory.schemas import AgencyFilter
from accord.geo.geojson import centroid_of
from accord.sharing.access_report import csv_safe
from accord.sharing.models import Record
from accord.sharing.policy import CLEAR, NOW, RED

AGGREGATE = "sharing:aggregate:read"
THRESHOLD = 11  # a published count is never below this
H3_RESOLUTION = 6  # ~36 km² hexagons: town scale (ADR 0010)
MAX_WEEKS = 53  # one query spans at most a year of weeks
DEFAULT_WEEKS = 12
MAX_CELLS = 50_000
MIN_YEAR, MAX_YEAR = 1900, 2999
UNKNOWN = "unknown"  # records without a place
OUTSIDE = "outside"  # records whose place lies in no jurisdiction
AreaKind = Literal["jurisdiction", "h3"]
Cell = tuple[str, str, str]  # category, week ("2026-W47"), area id

# Containment and disjointness of jurisdictions are decided with this tolerance (share of
# the smaller area): borders digitised by different agencies never match exactly. Both
# errors are on the safe side: near-nested areas are audited as nested, and near-disjoint
# ones as disjoint, so more differences are checked, never fewer.
TOLERANCE = 0.01
SEARCH_BUDGET = 20_000  # nodes of one parent's difference search before it is suppressed


# --- the population: who may count which records --------------------------------------


class CountableRecord(Base):
    """The records table as aggregates see it: the columns that decide whether the caller
    may count a record, and the three that contribute. Nothing else is mapped, so a title,
    a body or a labelled field cannot be selected through this class."""

    __table__ = Record.__table__
    __mapper_args__ = {
        "include_properties": [
            "id",
            "owner_agency_id",
            "category",
            "tier_rank",
            "purpose",
            "updated_at",
            "event_at",
            "geometry",
            "min_lon",
            "min_lat",
            "max_lon",
            "max_lat",
        ]
    }

    id: Mapped[uuid.UUID]
    owner_agency_id: Mapped[uuid.UUID]
    category: Mapped[str]
    tier_rank: Mapped[int]
    purpose: Mapped[str]
    updated_at: Mapped[datetime]  # last saved: a clause's retention period runs from here (ADR 11)
    event_at: Mapped[datetime]
    geometry: Mapped[dict[str, Any] | None]
    min_lon: Mapped[float | None]
    min_lat: Mapped[float | None]
    max_lon: Mapped[float | None]
    max_lat: Mapped[float | None]


@lru_cache(maxsize=1024)
def _countable(roles_key: RolesKey) -> ColumnElement[bool]:
    if not roles_key:
        return false()
    rec = CountableRecord
    # Aggregates-only grants and full grants alike: the right to read implies the right to count.
    covered = agreements.covering_grant_exists(
        provider=rec.owner_agency_id,
        category=rec.category,
        purpose=rec.purpose,
        tier=rec.tier_rank,
        shared_at=rec.updated_at,
        roles={agency: set(roles) for agency, roles in roles_key},
        at=NOW,
        counting=True,
    )
    return and_(
        rec.tier_rank != RED,
        or_(rec.owner_agency_id.in_([agency for agency, _ in roles_key]), rec.tier_rank == CLEAR, covered),
    )


@register_policy(CountableRecord)
def countable_policy(actor: Actor, action: str) -> ColumnElement[bool]:
    """Records the caller's agencies may count (never read: that is ``record_policy``)."""
    if action != AGGREGATE:
        return false()
    return _countable(roles_key(actor, action))


def forget_predicates() -> None:
    _countable.cache_clear()


# --- input ------------------------------------------------------------------------------

WEEK = re.compile(r"([0-9]{4})-W([0-9]{2})")


def parse_week(text: str) -> date:
    """The Monday of an ISO week written ``YYYY-Www``."""
    match = WEEK.fullmatch(text)
    if match is None:
        raise ValueError("write a week as YYYY-Www, e.g. 2026-W47")
    year, week = int(match[1]), int(match[2])
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ValueError(f"year must be between {MIN_YEAR} and {MAX_YEAR}")
    try:
        return date.fromisocalendar(year, week, 1)
    except ValueError:
        raise ValueError(f"{year} has no ISO week {week}") from None


def week_label(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def week_of(moment: datetime) -> str:
    return week_label(moment.astimezone(UTC).date())


class AggregateFilter(Strict):
    """Which cells to show. Suppression never depends on it (module docstring)."""

    area: AreaKind = "jurisdiction"
    category: list[Category] = Field(default_factory=list, max_length=len(RECORD_CATEGORIES))
    from_week: str | None = Field(default=None, max_length=8, description="ISO week, e.g. 2026-W40")
    to_week: str | None = Field(default=None, max_length=8, description="ISO week, e.g. 2026-W47 (included)")
    area_id: str | None = Field(default=None, max_length=40, pattern=r"^[A-Za-z0-9-]+$")
    agency_id: uuid.UUID | None = Field(default=None, description="Count as this agency (default: your first)")

    @field_validator("from_week", "to_week")
    @classmethod
    def _week(cls, value: str | None) -> str | None:
        if value:
            parse_week(value)
        return value or None


def week_range(filters: AggregateFilter, today: date | None = None) -> tuple[date, date]:
    """First and last Monday of the selection: by default the last twelve weeks."""
    first = parse_week(filters.from_week) if filters.from_week else None
    last = parse_week(filters.to_week) if filters.to_week else None
    if last is None:
        if first is not None:
            last = first + timedelta(weeks=DEFAULT_WEEKS - 1)
        else:
            now = today or utcnow().date()
            last = now - timedelta(days=now.weekday())
    if first is None:
        first = last - timedelta(weeks=DEFAULT_WEEKS - 1)
    if first > last:
        raise InvalidInput("from_week", f"must not be after to_week ({week_label(last)})")
    if (last - first).days // 7 + 1 > MAX_WEEKS:
        raise InvalidInput("to_week", f"a query spans at most {MAX_WEEKS} weeks")
    return first, last


# --- output -----------------------------------------------------------------------------


class AggregateCell(BaseModel):
    category: str
    week: str
    area_id: str
    area_name: str
    count: int | None
    suppressed: bool


class AggregateArea(BaseModel):
    id: str
    name: str
    within: list[str] = Field(description="Areas that contain this one (a record counts in each)")


class PopulationClause(BaseModel):
    """An agreement clause whose grants let the caller's agency count a provider's records."""

    agreement_id: uuid.UUID
    agreement_title: str
    version: int
    clause_id: uuid.UUID
    clause_position: int
    providers: list[str]
    categories: list[str]
    purposes: list[str]
    max_tier: str
    aggregates_only: bool
    retention_days: int | None


class Population(BaseModel):
    agency_id: uuid.UUID | None
    agency_name: str
    counts: list[str] = Field(description="What the counts are made of")
    clauses: list[PopulationClause]


class AggregateTable(BaseModel):
    area: AreaKind
    h3_resolution: int | None
    threshold: int
    from_week: str
    to_week: str
    categories: list[str]
    area_id: str | None
    cells: list[AggregateCell]
    areas: list[AggregateArea]
    population: Population
    note: str


NOTE = (
    f"Counts of records by category, ISO week (UTC, Monday start) and area. A cell with fewer than {THRESHOLD} "
    "records (zero included) is suppressed, and so are further cells where a difference of nested areas would "
    "reveal fewer; cells not listed are suppressed too. Nothing but category, event time and place contributes."
)


# --- areas ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Area:
    id: str
    name: str
    shape: Any = field(default=None, compare=False, hash=False)  # shapely geometry; None for pseudo-areas


def jurisdiction_id(geometry: dict[str, Any]) -> str:
    """Agencies that share a jurisdiction (a county's sheriff and its emergency management)
    share one area: it is named by its geometry."""
    canonical = json.dumps(geometry, sort_keys=True, separators=(",", ":"))
    return "j-" + hashlib.sha256(canonical.encode()).hexdigest()[:12]


def jurisdictions(db: Session, actor: Actor) -> list[Area]:
    """Every jurisdiction in the directory (the directory is shared by every member)."""
    collection = directory.agencies_feature_collection(db, actor, AgencyFilter())
    names: dict[str, set[str]] = {}
    geometries: dict[str, dict[str, Any]] = {}
    for feature in collection["features"]:
        geometry = feature.get("geometry")
        if not geometry:
            continue
        key = jurisdiction_id(geometry)
        geometries[key] = geometry
        names.setdefault(key, set()).add(str(feature["properties"]["jurisdiction_name"]))
    areas = []
    for key in sorted(geometries):
        geom = to_shape(geometries[key])
        shapely.prepare(geom)
        areas.append(Area(key, " / ".join(sorted(names[key])), geom))
    return areas


@dataclass(frozen=True)
class Nesting:
    """How areas nest: ``inside[a]`` are the areas within ``a``; ``disjoint`` the pairs
    (sorted) whose interiors do not meet; ``tilings[a]`` the families of disjoint areas
    within ``a`` that together cover it."""

    inside: Mapping[str, frozenset[str]] = field(default_factory=dict)
    disjoint: frozenset[tuple[str, str]] = frozenset()
    tilings: Mapping[str, tuple[frozenset[str], ...]] = field(default_factory=dict)

    def apart(self, a: str, b: str) -> bool:
        return (min(a, b), max(a, b)) in self.disjoint

    def containers(self, area: str) -> list[str]:
        return sorted(parent for parent, inner in self.inside.items() if area in inner)


FLAT = Nesting()  # H3 cells of one resolution partition the plane: nothing nests


@lru_cache(maxsize=16)
def nesting_of(areas: tuple[Area, ...]) -> Nesting:
    shapes = {a.id: a.shape for a in areas if a.shape is not None and not a.shape.is_empty}
    size = {key: float(geom.area) for key, geom in shapes.items()}
    inside: dict[str, set[str]] = {key: set() for key in shapes}
    disjoint: set[tuple[str, str]] = set()
    for a, b in combinations(sorted(shapes), 2):
        common = float(shapes[a].intersection(shapes[b]).area) if shapes[a].intersects(shapes[b]) else 0.0
        if common <= TOLERANCE * min(size[a], size[b]):
            disjoint.add((a, b))
            continue
        if size[b] - common <= TOLERANCE * size[b]:
            inside[a].add(b)
        if size[a] - common <= TOLERANCE * size[a]:
            inside[b].add(a)
    pairs = frozenset(disjoint)
    tilings = {
        key: _tilings(key, sorted(inner, key=lambda k: (-size[k], k)), size, pairs) for key, inner in inside.items()
    }
    return Nesting(
        inside={k: frozenset(v) for k, v in inside.items() if v},
        disjoint=pairs,
        tilings={k: v for k, v in tilings.items() if v},
    )


def _tilings(
    parent: str, inner: list[str], size: Mapping[str, float], disjoint: frozenset[tuple[str, str]]
) -> tuple[frozenset[str], ...]:
    """Families of pairwise disjoint areas inside ``parent`` whose areas add up to it."""
    found: list[frozenset[str]] = []
    budget = [SEARCH_BUDGET]
    whole = size[parent]

    def walk(start: int, chosen: list[str], total: float) -> None:
        if budget[0] <= 0 or len(found) >= 256:
            return
        budget[0] -= 1
        if chosen and total >= (1 - TOLERANCE) * whole:
            found.append(frozenset(chosen))
            return
        for i in range(start, len(inner)):
            key = inner[i]
            if total + size[key] > (1 + TOLERANCE) * whole:
                continue
            if all((min(key, c), max(key, c)) in disjoint for c in chosen):
                walk(i + 1, [*chosen, key], total + size[key])

    walk(0, [], 0.0)
    return tuple(found)


# --- suppression and its audit ------------------------------------------------------------


@dataclass(frozen=True)
class Violation:
    reason: str
    candidates: tuple[str, ...]  # published areas of the group; suppressing one resolves it


@dataclass
class _Search:
    """One parent's search for a set of disjoint published areas inside it that leaves a
    remainder in 1..THRESHOLD-1; ``left`` counts the nodes it may still visit (None: no limit)."""

    shown: Mapping[str, int]
    nesting: Nesting
    inner: list[str]
    left: int | None

    def find(self, start: int, chosen: list[str], rest: int) -> tuple[list[str], int] | None:
        if self.left is not None:
            if self.left <= 0:
                return None
            self.left -= 1
        if chosen and 0 < rest < THRESHOLD:
            return chosen, rest
        for i in range(start, len(self.inner)):
            key = self.inner[i]
            below = rest - self.shown[key]
            if below >= 1 and all(self.nesting.apart(key, c) for c in chosen):
                found = self.find(i + 1, [*chosen, key], below)
                if found is not None:
                    return found
        return None


def _difference_violations(shown: Mapping[str, int], nesting: Nesting, budget: int | None) -> Iterator[Violation]:
    """Every published parent minus any set of disjoint published areas inside it (one
    area: a pairwise difference) must not fall in 1..THRESHOLD-1."""
    for parent in sorted(shown):
        inner = sorted(a for a in nesting.inside.get(parent, ()) if shown.get(a, 0) > 0)
        if not inner:
            continue
        search = _Search(shown, nesting, inner, budget)
        found = search.find(0, [], shown[parent])
        if found is not None:
            chosen, rest = found
            yield Violation(f"{parent} - {' - '.join(chosen)} = {rest}", (parent, *chosen))
        elif search.left is not None and search.left <= 0:  # too many to be sure: withhold the parent
            yield Violation(f"{parent}: too many nested areas to audit", (parent,))


def _tiling_violations(shown: Mapping[str, int], nesting: Nesting) -> Iterator[Violation]:
    """A published parent covered by disjoint areas of which exactly one is not published
    would give that one away as parent minus the others (zero included)."""
    for parent in sorted(shown):
        for family in nesting.tilings.get(parent, ()):
            hidden = [a for a in family if a not in shown]
            if len(hidden) == 1:
                others = sorted(family - {hidden[0]})
                yield Violation(
                    f"{hidden[0]} = {parent} - {' - '.join(others) or '0'}",
                    (parent, *others),
                )


def _group_violations(shown: Mapping[str, int], nesting: Nesting, budget: int | None) -> Iterator[Violation]:
    for area, count in sorted(shown.items()):
        if 0 < count < THRESHOLD:
            yield Violation(f"{area} = {count}", (area,))
    yield from _difference_violations(shown, nesting, budget)
    yield from _tiling_violations(shown, nesting)


def _groups(table: Mapping[Cell, int | None]) -> dict[tuple[str, str], dict[str, int | None]]:
    groups: dict[tuple[str, str], dict[str, int | None]] = {}
    for (category, week, area), value in table.items():
        groups.setdefault((category, week), {})[area] = value
    return groups


def suppress(
    counts: Mapping[Cell, int], nesting: Nesting, budget: int | None = SEARCH_BUDGET
) -> dict[Cell, int | None]:
    """Counts with suppressed cells as None. Cells of zero stay absent. Each (category,
    week) is decided over all of its areas; the smallest published cell of a disclosing
    difference is withheld next (ties: area id), until ``audit`` finds nothing."""
    result: dict[Cell, int | None] = {}
    for (category, week), group in sorted(_groups(dict(counts)).items()):
        values = {area: int(n or 0) for area, n in group.items() if n}
        shown = {area: n for area, n in values.items() if n >= THRESHOLD}  # primary suppression
        while True:
            violation = next(_group_violations(shown, nesting, budget), None)
            if violation is None:
                break
            withheld = min((a for a in violation.candidates if a in shown), key=lambda a: (shown[a], a))
            del shown[withheld]
        for area, n in values.items():
            result[(category, week, area)] = n if area in shown else None
    return result


def audit(published: Mapping[Cell, int | None], nesting: Nesting) -> list[str]:
    """Every disclosure a reader could compute from ``published`` (None: suppressed; an
    absent cell is not published either): a published count in 1..10, a published parent
    minus disjoint published areas within it in 1..10, a parent covered by disjoint areas
    of which only one is withheld. Exhaustive (no search budget): for tests and audits."""
    problems = []
    for (category, week), group in sorted(_groups(published).items()):
        shown = {area: n for area, n in group.items() if n is not None}
        for violation in _group_violations(shown, nesting, None):
            problems.append(f"{category} {week}: {violation.reason}")
    return problems


# --- counting ---------------------------------------------------------------------------


def _as_agency(actor: Actor, agency_id: uuid.UUID) -> Actor:
    """The caller acting for one agency: counts are always one agency's, so no caller can
    subtract the lattice of one of their agencies from that of two."""
    return replace(actor, memberships=tuple(m for m in actor.memberships if m.agency_id == agency_id))


def counting_agency(actor: Actor, requested: uuid.UUID | None) -> uuid.UUID | None:
    holding = [m.agency_id for m in actor.memberships if m.agency_id is not None and AGGREGATE in m.permissions]
    if requested is not None:
        if requested not in holding:
            raise PermissionDenied(AGGREGATE, requested, "you count records only for agencies you belong to")
        return requested
    return holding[0] if holding else None


def _places(
    db: Session, counter: Actor, first: date, last: date, categories: list[str]
) -> Iterator[tuple[str, str, tuple[float, float] | None]]:
    """(category, week, point) of every record the caller may count in the weeks."""
    rec = CountableRecord
    is_point = and_(rec.min_lon == rec.max_lon, rec.min_lat == rec.max_lat)
    stmt = scope(
        counter,
        AGGREGATE,
        select(
            rec.category,
            rec.event_at,
            rec.min_lon,
            rec.min_lat,
            case((is_point, null()), else_=rec.geometry),  # an area's outline is read only when it is one
        ),
    ).where(
        rec.event_at >= datetime.combine(first, datetime.min.time(), UTC),
        rec.event_at < datetime.combine(last + timedelta(weeks=1), datetime.min.time(), UTC),
        rec.category.in_(categories),
    )
    for category, event_at, lon, lat, outline in db.execute(stmt):
        point: tuple[float, float] | None = None
        if outline:
            point = centroid_of(outline)
        elif lon is not None and lat is not None:
            point = (float(lon), float(lat))
        yield str(category), week_of(event_at), point


def count_cells(
    rows: Sequence[tuple[str, str, tuple[float, float] | None]], kind: AreaKind, areas: Sequence[Area]
) -> Counter[Cell]:
    """Count each record in every area containing its place (jurisdictions may nest or
    overlap: a city's record counts in the city and in its county), in its H3 cell, in
    ``outside`` when no jurisdiction holds it, or in ``unknown`` when it has no place."""
    homes: list[list[str]] = [[UNKNOWN] if place is None else [] for _, _, place in rows]
    placed = [(i, place) for i, (_, _, place) in enumerate(rows) if place is not None]
    if kind == "h3":
        for i, (lon, lat) in placed:
            homes[i].append(h3.latlng_to_cell(lat, lon, H3_RESOLUTION))
    elif placed:
        xs = np.array([place[0] for _, place in placed])
        ys = np.array([place[1] for _, place in placed])
        for area in areas:
            for j in np.flatnonzero(shapely.intersects_xy(area.shape, xs, ys)):
                homes[placed[int(j)][0]].append(area.id)
        for i, _ in placed:
            homes[i] = homes[i] or [OUTSIDE]
    counts: Counter[Cell] = Counter()
    for (category, week, _), home in zip(rows, homes, strict=True):
        for area_id in home:
            counts[(category, week, area_id)] += 1
    return counts


def _h3_name(cell: str, areas: Sequence[Area]) -> str:
    lat, lon = h3.cell_to_latlng(cell)
    holding = [a for a in areas if a.shape is not None and a.shape.intersects(shapely.Point(lon, lat))]
    return f"H3 {cell} (near {min(holding, key=lambda a: a.shape.area).name})" if holding else f"H3 {cell}"


def _clauses(db: Session, counter: Actor, agency: uuid.UUID, categories: list[str]) -> list[PopulationClause]:
    """The clauses in force whose grants let ``agency`` count others' records (whatever
    records exist: nothing here depends on them)."""
    roles = roles_by_agency(counter, AGGREGATE).get(agency, set())
    grants = [
        g
        for g in agreements.active_grants(db, [agency], utcnow())
        if (g.recipient_role is None or g.recipient_role in roles)
        and g.category in categories
        and g.provider_agency_id != agency
    ]
    context = agreements.clause_context(db, sorted({g.clause_id for g in grants}))
    names = dict(directory.agency_options(db, counter))
    by_clause: dict[uuid.UUID, list[Grant]] = {}
    for g in grants:
        by_clause.setdefault(g.clause_id, []).append(g)
    found = []
    for clause_id, held in by_clause.items():
        agreement, version, clause = context[clause_id]
        found.append(
            PopulationClause(
                agreement_id=agreement.id,
                agreement_title=version.title,
                version=version.number,
                clause_id=clause.id,
                clause_position=clause.position + 1,
                providers=sorted({names.get(g.provider_agency_id, str(g.provider_agency_id)) for g in held}),
                categories=sorted({g.category for g in held}),
                purposes=sorted({g.purpose for g in held}),
                max_tier=TIERS[max(g.max_tier for g in held)],
                aggregates_only=all(g.aggregates_only for g in held),
                retention_days=max((g.retention_days for g in held if g.retention_days), default=None),
            )
        )
    return sorted(found, key=lambda c: (c.agreement_title, c.version, c.clause_position))


def _listed(
    table: Mapping[Cell, int | None], names: Mapping[str, str], area_id: str | None, order: list[str]
) -> list[AggregateCell]:
    """The cells to show: every area that has a published cell somewhere in the selection,
    in every (category, week) that has one. Which cells are listed depends on published
    cells only, and a listed cell under the threshold looks like a suppressed one."""
    published = [cell for cell, n in table.items() if n is not None]
    rows = sorted({(c, w) for c, w, _ in published}, key=lambda r: (order.index(r[0]), r[1]))
    areas = sorted({a for _, _, a in published}, key=lambda a: (names.get(a, a), a))
    if area_id is not None:
        areas = [a for a in areas if a == area_id]
    if len(rows) * len(areas) > MAX_CELLS:
        raise InvalidInput("to_week", f"more than {MAX_CELLS} cells: choose fewer weeks or categories")
    cells = []
    for category, week in rows:
        for area in areas:
            n = table.get((category, week, area))
            cells.append(
                AggregateCell(
                    category=category,
                    week=week,
                    area_id=area,
                    area_name=names.get(area, area),
                    count=n,
                    suppressed=n is None,
                )
            )
    return cells


def aggregate_table(db: Session, actor: Actor, filters: AggregateFilter, *, surface: str) -> AggregateTable:
    """The caller's de-identified counts for ``filters``, with the audit event of the query."""
    agency = counting_agency(actor, filters.agency_id)
    first, last = week_range(filters)
    order = list(RECORD_CATEGORIES)
    categories = sorted(set(filters.category or order), key=order.index)
    places = jurisdictions(db, actor)
    names = {a.id: a.name for a in places} | {UNKNOWN: "Unknown place", OUTSIDE: "Outside every jurisdiction"}
    if filters.area_id is not None:
        _check_area(filters.area, filters.area_id, names)
    counter = _as_agency(actor, agency) if agency is not None else replace(actor, memberships=())
    rows = list(_places(db, counter, first, last, categories))
    counts = count_cells(rows, filters.area, places)
    nesting = nesting_of(tuple(places)) if filters.area == "jurisdiction" else FLAT
    table = suppress(counts, nesting)
    if filters.area == "h3":
        names |= {a: _h3_name(a, places) for (_, _, a), n in table.items() if n is not None and a != UNKNOWN}
    cells = _listed(table, names, filters.area_id, order)
    shown_areas = sorted({c.area_id for c in cells}, key=lambda a: (names.get(a, a), a))
    agency_name = dict(directory.agency_options(db, actor)).get(agency, "") if agency else ""
    population = Population(
        agency_id=agency,
        agency_name=agency_name,
        counts=[
            "records of your agency (except RED)",
            "CLEAR records of every agency",
            "records of other agencies covered by a clause below (except RED; a retention period limits which)",
        ]
        if agency
        else [],
        clauses=_clauses(db, counter, agency, categories) if agency else [],
    )
    published = sum(1 for c in cells if not c.suppressed)
    record_event(
        db,
        actor=actor,
        action="sharing.aggregate.read",
        agency_id=agency,
        object_type="aggregate",
        details={
            "surface": surface,
            "area": filters.area,
            "categories": categories,
            "from_week": week_label(first),
            "to_week": week_label(last),
            "area_id": filters.area_id,
            "cells": len(cells),
            "published": published,
            "suppressed": len(cells) - published,
        },
    )
    return AggregateTable(
        area=filters.area,
        h3_resolution=H3_RESOLUTION if filters.area == "h3" else None,
        threshold=THRESHOLD,
        from_week=week_label(first),
        to_week=week_label(last),
        categories=categories,
        area_id=filters.area_id,
        cells=cells,
        areas=[
            AggregateArea(id=a, name=names.get(a, a), within=[p for p in nesting.containers(a) if p in shown_areas])
            for a in shown_areas
        ],
        population=population,
        note=NOTE,
    )


def _check_area(kind: AreaKind, area_id: str, names: Mapping[str, str]) -> None:
    if area_id == UNKNOWN:
        return
    if kind == "h3":
        if not h3.is_valid_cell(area_id) or h3.get_resolution(area_id) != H3_RESOLUTION:
            raise InvalidInput("area_id", f"not an H3 cell of resolution {H3_RESOLUTION} (or 'unknown')")
    elif area_id not in names:
        raise InvalidInput("area_id", "no such jurisdiction (ids are listed under 'areas'; or 'unknown', 'outside')")


def as_csv(table: AggregateTable) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["category", "week", "area_id", "area_name", "count", "suppressed"])
    for c in table.cells:
        writer.writerow(
            [c.category, c.week, c.area_id, csv_safe(c.area_name), "" if c.count is None else c.count, c.suppressed]
        )
    return buffer.getvalue()


# --- the page's chart -------------------------------------------------------------------


def chart_of(table: AggregateTable, area_id: str | None) -> dict[str, Any]:
    """Weekly counts per category of one area, for Chart.js (stacked bars), and per week
    the categories whose cell there is suppressed: those published somewhere in the
    selection (the others have nothing to show anywhere), listed or not."""
    weeks = []
    day = parse_week(table.from_week)
    while day <= parse_week(table.to_week):
        weeks.append(week_label(day))
        day += timedelta(weeks=1)
    counts = {(c.category, c.week): c.count for c in table.cells if c.area_id == area_id}
    present = [category for category in table.categories if any(c.category == category for c in table.cells)]
    datasets = []
    for category in present:
        values = [counts.get((category, w)) for w in weeks]
        if any(v is not None for v in values):
            datasets.append({"key": category, "label": RECORD_CATEGORIES[category], "data": values})
    suppressed = [[RECORD_CATEGORIES[c] for c in present if counts.get((c, w)) is None] for w in weeks]
    return {"weeks": weeks, "datasets": datasets, "suppressed": suppressed, "threshold": THRESHOLD}


def default_area(table: AggregateTable) -> str | None:
    """The area with the most published records (a function of published cells only)."""
    totals: Counter[str] = Counter()
    for c in table.cells:
        totals[c.area_id] += c.count or 0
    return min(totals, key=lambda a: (-totals[a], a)) if totals else None
