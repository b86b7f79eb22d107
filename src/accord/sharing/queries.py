"""Reads of records, all through ``authz.scope``; access and masks per caller."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Integer, Select, bindparam, false, func, select
from sqlalchemy.orm import Session, lazyload

from accord.agreements import queries as agreements
from accord.agreements.vocab import TIER_RANK
from accord.authz import Actor, roles_by_agency, roles_key, scope
from accord.core.errors import NotFound, PermissionDenied
from accord.core.time import utcnow
from accord.sharing import policy, protect, search
from accord.sharing.access import Access, Shared, Viewer, access_to, covering_grants, granted_labels
from accord.sharing.models import Attachment, Record, RecordRevision
from accord.sharing.schemas import RecipientPreview, RecordCreate, RecordFilter

READ = "sharing:record:read"
MAX_COVERING = 200


def viewer_for(db: Session, actor: Actor, rows: Sequence[Shared], at: datetime | None = None) -> Viewer:
    """What the caller's agencies hold that bears on ``rows``: only the grants that could
    cover one of them are loaded (an agency may receive thousands; a page needs a few),
    and its partners only when a GREEN row of another agency is covered by no grant."""
    roles = roles_by_agency(actor, READ)
    now = at or utcnow()
    agencies = sorted(roles)
    foreign = [r for r in rows if r.owner_agency_id not in roles]
    # A clause's labels apply to CLEAR and GREEN records too: only RED is never granted.
    covering = {(r.owner_agency_id, r.category, r.purpose) for r in foreign if r.tier_rank != policy.RED}
    if not agencies:
        grants = []
    elif len(covering) > MAX_COVERING:  # a long export: one plain read of the caller's grants
        grants = agreements.active_grants(db, agencies, now)
    else:
        grants = agreements.active_grants(db, agencies, now, covering=covering)
    viewer = Viewer(user_id=actor.user_id, roles=roles, grants=grants, partners=set(), at=now)
    # A partnership is the basis of a GREEN row only where no grant covers it.
    if any(r.tier_rank == policy.GREEN and not covering_grants(viewer, r) for r in foreign):
        viewer = replace(viewer, partners=agreements.partners_of(db, agencies, now))
    return viewer


@dataclass(frozen=True, eq=False)
class _Caller:
    """A caller as far as the sharing predicate reads it, so statements built for one
    request serve the next request of the same caller."""

    key: tuple[object, ...]
    actor: Actor

    def __hash__(self) -> int:
        return hash(self.key)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Caller) and other.key == self.key


def _caller(actor: Actor) -> _Caller:
    return _Caller((actor.has(READ), roles_key(actor, READ), actor.user_id), actor)


@dataclass(frozen=True)
class _Listing:
    """The statements behind a list of records, with the filter values as parameters."""

    filtered: Select[Record]
    count: Select[int]
    page: Select[Record]


@lru_cache(maxsize=1024)
def _listing(caller: _Caller, dialect: str, shape: frozenset[str]) -> _Listing:
    # The caller's filters come first and the sharing predicate last: SQLite tests WHERE
    # terms in the order written, so the cheap filters spare it the predicate on most rows.
    stmt = select(Record)
    if "nothing" in shape:  # a search without a single word matches nothing
        stmt = stmt.where(false())
    if "search_terms" in shape:
        stmt = stmt.where(search.condition(dialect))
    if "category" in shape:
        stmt = stmt.where(Record.category == bindparam("filter_category"))
    if "tier" in shape:
        stmt = stmt.where(Record.tier == bindparam("filter_tier"))
    if "owner_agency_id" in shape:
        stmt = stmt.where(Record.owner_agency_id == bindparam("filter_owner_agency_id"))
    filtered = scope(caller.actor, READ, stmt)
    page = (
        filtered.order_by(Record.event_at.desc(), Record.id)
        .limit(bindparam("page_limit", type_=Integer()))
        .offset(bindparam("page_offset", type_=Integer()))
        .options(lazyload(Record.red_recipients))  # a list never shows the named people
    )
    return _Listing(filtered, select(func.count()).select_from(filtered.subquery()), page)


def _filtered(db: Session, actor: Actor, filters: RecordFilter) -> tuple[_Listing, dict[str, Any]]:
    """The statements for ``filters`` (built once per caller and set of filters used:
    building and fingerprinting one costs as much as running a selective search) and the
    values to run them with."""
    dialect = db.get_bind().dialect.name
    shape: set[str] = set()
    values: dict[str, Any] = {}
    if filters.q:
        terms = search.bound_terms(dialect, filters.q)
        shape.add("nothing" if terms is None else "search_terms")
        if terms is not None:
            values["search_terms"] = terms
    for name in ("category", "tier", "owner_agency_id"):
        if value := getattr(filters, name):
            shape.add(name)
            values[f"filter_{name}"] = value
    return _listing(_caller(actor), dialect, frozenset(shape)), values


def list_records(db: Session, actor: Actor, filters: RecordFilter) -> tuple[list[tuple[Record, Access]], int]:
    listing, values = _filtered(db, actor, filters)
    total = db.scalar(listing.count, values) or 0
    rows = list(db.scalars(listing.page, values | {"page_limit": filters.limit, "page_offset": filters.offset}))
    protect.reveal(db, rows)
    viewer = viewer_for(db, actor, rows)
    return [(r, access_to(viewer, r)) for r in rows], total


def _visible_record(db: Session, actor: Actor, record_id: uuid.UUID) -> Record:
    record = db.scalar(scope(actor, READ, select(Record).where(Record.id == record_id)))
    if record is None:
        raise NotFound("record")
    protect.reveal(db, [record])
    return record


def get_record(db: Session, actor: Actor, record_id: uuid.UUID) -> tuple[Record, Access]:
    record = _visible_record(db, actor, record_id)
    return record, access_to(viewer_for(db, actor, [record]), record)


def attachments_of(db: Session, actor: Actor, record_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[Attachment]]:
    """Attachments (without their content) of visible records, one query for a page."""
    found: dict[uuid.UUID, list[Attachment]] = {r: [] for r in record_ids}
    if record_ids:
        stmt = scope(actor, READ, select(Attachment).where(Attachment.record_id.in_(record_ids)))
        for attachment in db.scalars(stmt.order_by(Attachment.uploaded_at, Attachment.id)):
            found[attachment.record_id].append(attachment)
    return found


def get_attachment(db: Session, actor: Actor, record_id: uuid.UUID, attachment_id: uuid.UUID) -> Attachment:
    stmt = select(Attachment).where(Attachment.id == attachment_id, Attachment.record_id == record_id)
    attachment = db.scalar(scope(actor, READ, stmt))
    if attachment is None:
        raise NotFound("attachment")
    return attachment


def attachment_content(
    db: Session, actor: Actor, record_id: uuid.UUID, attachment_id: uuid.UUID
) -> tuple[Attachment, bytes, Record, Access]:
    """An attachment to download: its record visible, and its label granted (a masked file
    is listed as masked, so refusing it reveals nothing new)."""
    record, access = get_record(db, actor, record_id)
    attachment = get_attachment(db, actor, record_id, attachment_id)
    if not access.shows(attachment.label):
        raise PermissionDenied(READ, record.owner_agency_id, f"no clause in force grants {attachment.label}")
    return attachment, protect.attachment_bytes(db, attachment), record, access


def history(db: Session, actor: Actor, record_id: uuid.UUID) -> tuple[Record, list[tuple[RecordRevision, Access]]]:
    """The versions of a visible record the caller may see, oldest first, each masked under
    the rules as that version was shared. An invisible record is 404, like an absent one."""
    record = _visible_record(db, actor, record_id)
    stmt = scope(actor, READ, select(RecordRevision).where(RecordRevision.record_id == record_id))
    revisions = list(db.scalars(stmt.order_by(RecordRevision.number)))
    protect.reveal(db, revisions)
    viewer = viewer_for(db, actor, revisions)
    return record, [(rev, access_to(viewer, rev)) for rev in revisions]


EXPORT_LIMIT = 10_000


def facets(db: Session, actor: Actor, filters: RecordFilter) -> dict[str, dict[str, int]]:
    """Counts by category and by tier over exactly the records the caller may see."""
    listing, values = _filtered(db, actor, filters)
    base = listing.filtered.subquery()
    result: dict[str, dict[str, int]] = {}
    for name in ("category", "tier"):
        column = base.c[name]
        rows = db.execute(select(column, func.count()).group_by(column).order_by(column), values).all()
        result[name] = {str(value): int(count) for value, count in rows}
    return result


def export_records(db: Session, actor: Actor, filters: RecordFilter) -> list[tuple[Record, Access]]:
    """Up to EXPORT_LIMIT visible records (newest event first), with their masks."""
    listing, values = _filtered(db, actor, filters)
    stmt = listing.filtered.order_by(Record.event_at.desc(), Record.id).limit(EXPORT_LIMIT)
    rows = list(db.scalars(stmt, values))
    protect.reveal(db, rows)
    viewer = viewer_for(db, actor, rows)
    return [(r, access_to(viewer, r)) for r in rows]


def map_layer(db: Session, actor: Actor, filters: RecordFilter) -> list[tuple[Record, Access]]:
    """Visible records that have a geometry, for the map."""
    listing, values = _filtered(db, actor, filters)
    stmt = listing.filtered.where(Record.geometry.is_not(None)).order_by(Record.event_at.desc()).limit(EXPORT_LIMIT)
    rows = list(db.scalars(stmt, values))
    protect.reveal(db, rows)
    viewer = viewer_for(db, actor, rows)
    return [(r, access_to(viewer, r)) for r in rows]


def recipients_preview(db: Session, draft: RecordCreate) -> RecipientPreview:
    """Who would receive a record before it is saved: grants in force from the owner that
    cover its category, purpose and tier, plus partners for GREEN. The caller acts for the
    owner (checked by the service), so the owner's outgoing grants are theirs to see."""
    rank = TIER_RANK[draft.tier]
    if rank == policy.CLEAR:
        return RecipientPreview(audience="everyone, including the public", agencies=[], people=[])
    if rank == policy.RED:
        return RecipientPreview(audience="the named people only", agencies=[], people=draft.red_recipients)
    now = utcnow()
    found: dict[tuple[str, str | None], dict[str, Any]] = {}
    for g in agreements.grants_from(db, draft.owner_agency_id, now):
        if g.category == draft.category and g.purpose == draft.purpose and g.max_tier >= rank and not g.aggregates_only:
            key = (str(g.recipient_agency_id), g.recipient_role)
            found.setdefault(
                key,
                {
                    "agency_id": key[0],
                    "role": g.recipient_role,
                    "basis": "grant",
                    "clause_id": str(g.clause_id),
                    "labels": sorted(granted_labels([g])),
                },
            )
    if rank == policy.GREEN:
        for partner in agreements.partners_of(db, [draft.owner_agency_id], now) - {draft.owner_agency_id}:
            found.setdefault((str(partner), None), {"agency_id": str(partner), "role": None, "basis": "partnership"})
    return RecipientPreview(audience="the agencies listed", agencies=list(found.values()), people=[])
