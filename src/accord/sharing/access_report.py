"""The access report: who read our agency's records, when, and under which clause.

Built from the audit events of reads (`sharing.record.read`, written in the same
transaction as each read), through ``authz.scope`` on the audit log: only auditors and
administrators of the owner agency see them. Lives in ``sharing`` because it joins the
audit trail with records, agreements and the directory, which the audit module sits below.
"""

from __future__ import annotations

import csv
import io
import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from accord.agreements import queries as agreements
from accord.audit.models import AuditEvent
from accord.authz import Actor, scope
from accord.core.errors import InvalidInput, PermissionDenied
from accord.directory import queries as directory
from accord.sharing.models import Record
from accord.sharing.schemas import AccessRowRead

AUDIT_READ = "audit:event:read"
RECORD_READ = "sharing:record:read"
MAX_ROWS = 10_000


def access_report(
    db: Session,
    actor: Actor,
    *,
    agency_id: uuid.UUID,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = MAX_ROWS,
) -> list[AccessRowRead]:
    """Reads of ``agency_id``'s records by other agencies, newest first."""
    allowed = actor.agencies_with(AUDIT_READ)
    if isinstance(allowed, frozenset) and agency_id not in allowed:
        raise PermissionDenied(AUDIT_READ, agency_id, "you audit other agencies")
    for name, bound in (("since", since), ("until", until)):
        if bound is not None and bound.tzinfo is None:
            raise InvalidInput(name, "give a time zone (e.g. 2026-01-01T00:00:00Z)")
    if since and until and until <= since:
        raise InvalidInput("until", "must be after since")
    stmt = select(AuditEvent).where(AuditEvent.action == "sharing.record.read", AuditEvent.agency_id == agency_id)
    if since:
        stmt = stmt.where(AuditEvent.occurred_at >= since)
    if until:
        stmt = stmt.where(AuditEvent.occurred_at < until)
    events = list(db.scalars(scope(actor, AUDIT_READ, stmt).order_by(AuditEvent.seq.desc()).limit(limit)))
    names = dict(directory.agency_options(db, actor))
    record_ids = {uuid.UUID(e.object_id) for e in events if e.object_id}
    titles: dict[uuid.UUID, str] = {}
    if record_ids:
        by_id = scope(actor, RECORD_READ, select(Record).where(Record.id.in_(record_ids)))
        titles = {row.id: row.title for row in db.execute(by_id.with_only_columns(Record.id, Record.title))}
    clauses = agreements.clause_context(db, sorted({e.clause_id for e in events if e.clause_id}))
    rows = []
    for e in events:
        details = e.details or {}
        basis = str(details.get("basis", ""))
        if e.clause_id in clauses:
            _agreement, version, clause = clauses[e.clause_id]
            allowed_by = f"{version.title}, version {version.number}, clause {clause.position + 1}"
        else:
            allowed_by = {"partnership": "a shared partnership (GREEN)", "public": "public (CLEAR)"}.get(basis, basis)
        rows.append(
            AccessRowRead(
                read_at=e.occurred_at,
                reader=e.actor_username,
                reader_agency_id=e.actor_agency_id,
                reader_agency=names.get(e.actor_agency_id, str(e.actor_agency_id or "")) if e.actor_agency_id else "",
                record_id=e.object_id or "",
                record_title=titles.get(uuid.UUID(e.object_id), "(no longer held)") if e.object_id else "",
                surface=str(details.get("surface", "")),
                basis=basis,
                clause_id=e.clause_id,
                clause=allowed_by,
                masked=list(details.get("masked") or ()),
                client_addr=e.client_addr or "",
            )
        )
    return rows


def csv_safe(text: str) -> str:
    """Spreadsheets run cells starting with = + - @ as formulas: defuse them."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def as_csv(rows: list[AccessRowRead]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        [
            "read_at",
            "reader",
            "reader_agency",
            "record_id",
            "record_title",
            "surface",
            "basis",
            "clause",
            "masked",
            "from",
        ]
    )
    for r in rows:
        writer.writerow(
            [
                r.read_at.isoformat(),
                csv_safe(r.reader),
                csv_safe(r.reader_agency),
                r.record_id,
                csv_safe(r.record_title),
                r.surface,
                r.basis,
                csv_safe(r.clause),
                " ".join(r.masked),
                r.client_addr,
            ]
        )
    return buffer.getvalue()
