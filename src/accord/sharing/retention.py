"""Retention and purge of an agency's own records, and legal holds.

Each agency sets, per category, how many days it keeps a record after its last change.
The purge (``accord records purge`` and the scheduled task in ``accord serve``) deletes
older records with every version and attachment, destroys their data keys (so nothing of
a sealed record can be read again, even with the master key), and writes one audit event
per record in the same transaction. A record on legal hold is never purged. Partners'
views follow their clause's own retention period (sharing.policy), not this one."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, delete, func, or_, select, update
from sqlalchemy.orm import Session

from accord.agreements.vocab import RECORD_CATEGORIES
from accord.audit.service import record_event
from accord.authz import Actor, roles_by_agency, scope
from accord.core.errors import InvalidInput, NotFound, PermissionDenied
from accord.core.time import utcnow
from accord.directory import queries as directory
from accord.sharing import queries
from accord.sharing.models import Record, RetentionPolicy
from accord.sharing.schemas import RetentionRead
from accord.vault import service as vault

MANAGE = "sharing:retention:manage"
HOLD = "sharing:record:hold"
BATCH = 200


def _managed(actor: Actor, agency_id: uuid.UUID) -> None:
    if agency_id not in roles_by_agency(actor, MANAGE):
        raise PermissionDenied(MANAGE, agency_id)


def _expired(policy_days: int, now: datetime) -> ColumnElement[bool]:
    return Record.updated_at < now - timedelta(days=policy_days)


def retention_of(db: Session, actor: Actor, agency_id: uuid.UUID) -> list[RetentionRead]:
    """Every category with the agency's retention period and what the next purge would do."""
    if not directory.agency_exists(db, agency_id):
        raise NotFound("agency")
    _managed(actor, agency_id)
    policies = {
        p.category: p.retention_days
        for p in db.scalars(scope(actor, MANAGE, select(RetentionPolicy).where(RetentionPolicy.agency_id == agency_id)))
    }
    now = utcnow()
    own = select(Record.category, func.count()).where(Record.owner_agency_id == agency_id)
    totals = dict(db.execute(scope(actor, queries.READ, own).group_by(Record.category)).all())
    rows: list[RetentionRead] = []
    for category in RECORD_CATEGORIES:
        days = policies.get(category)
        due = held = 0
        if days is not None:
            old = select(Record.legal_hold, func.count()).where(
                Record.owner_agency_id == agency_id, Record.category == category, _expired(days, now)
            )
            counts = dict(db.execute(scope(actor, queries.READ, old).group_by(Record.legal_hold)).all())
            due, held = int(counts.get(False, 0)), int(counts.get(True, 0))
        rows.append(
            RetentionRead(
                agency_id=agency_id,
                category=category,
                retention_days=days,
                records=int(totals.get(category, 0)),
                due=due,
                held=held,
            )
        )
    return rows


def set_retention(
    db: Session, *, actor: Actor, agency_id: uuid.UUID, category: str, retention_days: int | None
) -> None:
    if not directory.agency_exists(db, agency_id):
        raise NotFound("agency")
    if category not in RECORD_CATEGORIES:
        raise InvalidInput("category", f"one of {', '.join(RECORD_CATEGORIES)}")
    _managed(actor, agency_id)
    policy = db.get(RetentionPolicy, (agency_id, category))
    before = policy.retention_days if policy else None
    if retention_days is None:
        if policy is not None:
            db.delete(policy)
    elif policy is None:
        db.add(
            RetentionPolicy(
                agency_id=agency_id,
                category=category,
                retention_days=retention_days,
                updated_at=utcnow(),
                updated_by_user_id=actor.user_id,
            )
        )
    else:
        policy.retention_days, policy.updated_at, policy.updated_by_user_id = retention_days, utcnow(), actor.user_id
    db.flush()
    record_event(
        db,
        actor=actor,
        action="sharing.retention.set",
        agency_id=agency_id,
        object_type="retention_policy",
        object_id=f"{agency_id}:{category}",
        details={"category": category, "retention_days": retention_days, "before": before},
    )


def set_legal_hold(db: Session, *, actor: Actor, record_id: uuid.UUID, reason: str | None) -> Record:
    """Place (``reason`` given) or release (``None``) a legal hold on a record the caller's
    agency owns. The record's last change is left as it was: a hold is not an edit, and
    must not extend what partners may see under their clause's retention."""
    record, _ = queries.get_record(db, actor, record_id)
    if record.owner_agency_id not in roles_by_agency(actor, HOLD):
        raise PermissionDenied(HOLD, record.owner_agency_id)
    if (reason is not None) == record.legal_hold:
        raise InvalidInput("legal_hold", "the record is already on hold" if record.legal_hold else "no hold to release")
    now = utcnow()
    values = {
        "legal_hold": reason is not None,
        "legal_hold_reason": reason or "",
        "legal_hold_at": now if reason is not None else None,
        "legal_hold_by_user_id": actor.user_id if reason is not None else None,
        "updated_at": Record.updated_at,  # not a change of the record's content
    }
    db.execute(update(Record).where(Record.id == record.id).values(**values))
    db.refresh(record, ["legal_hold", "legal_hold_reason", "legal_hold_at", "legal_hold_by_user_id"])
    record_event(
        db,
        actor=actor,
        action="sharing.record.hold" if reason is not None else "sharing.record.release",
        agency_id=record.owner_agency_id,
        object_type="record",
        object_id=record.id,
        details={"reason": reason} if reason is not None else {},
    )
    return record


@dataclass(frozen=True)
class PurgeResult:
    purged: int
    held: int
    keys_destroyed: int


def purge_expired(
    db: Session, *, actor: Actor | None, username: str, now: datetime | None = None, limit: int = BATCH
) -> PurgeResult:
    """Delete up to ``limit`` records past their agency's retention period (not on hold),
    with their versions, attachments and data keys, one audit event each. The caller
    commits; calling again until ``purged`` is 0 empties the backlog in short transactions.
    Two purges running at once (several servers) do not both delete or both log a record:
    PostgreSQL hands each its own rows (SKIP LOCKED), SQLite runs one writer at a time, and
    a row another purge deleted first is skipped by its delete count."""
    now = now or utcnow()
    policies = list(db.scalars(select(RetentionPolicy)))
    if not policies:
        return PurgeResult(0, 0, 0)
    expired = [
        and_(
            Record.owner_agency_id == p.agency_id,
            Record.category == p.category,
            _expired(p.retention_days, now),
        )
        for p in policies
    ]
    due = or_(*expired)
    held = int(db.scalar(select(func.count()).select_from(Record).where(due, Record.legal_hold.is_(True))) or 0)
    days = {(p.agency_id, p.category): p.retention_days for p in policies}
    stmt = (
        select(Record.id, Record.owner_agency_id, Record.category, Record.updated_at, Record.data_key_id, Record.tier)
        .where(due, Record.legal_hold.is_(False))
        .order_by(Record.updated_at)
        .limit(limit)
    )
    if db.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    purged = 0
    keys: list[uuid.UUID] = []
    for record_id, owner, category, last_saved, key_id, tier in db.execute(stmt).all():
        gone = db.execute(delete(Record).where(Record.id == record_id, Record.legal_hold.is_(False)))
        if not gone.rowcount:  # type: ignore[attr-defined]
            continue
        purged += 1
        if key_id is not None:
            keys.append(key_id)
        record_event(
            db,
            actor=actor,
            username=username,
            action="sharing.record.purge",
            agency_id=owner,
            object_type="record",
            object_id=record_id,
            details={
                "category": category,
                "tier": tier,
                "retention_days": days[(owner, category)],
                "last_saved_at": last_saved.isoformat(),
                "key_destroyed": key_id is not None,
            },
        )
    destroyed = vault.destroy(db, keys)
    return PurgeResult(purged, held, destroyed)
