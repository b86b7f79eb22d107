"""JSON API of records: create, update, list/search, detail, history, attachments,
explain, recipients preview."""

from __future__ import annotations

import csv
import io
import json
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import Response, StreamingResponse

from accord.agreements import queries as agreements
from accord.authz import Actor
from accord.authz.deps import Permission
from accord.core.deps import DB
from accord.core.errors import InvalidInput
from accord.core.schemas import Page
from accord.sharing import access_report, aggregates, queries, retention, service
from accord.sharing.access import Access, granted_labels, masked_body
from accord.sharing.access_report import csv_safe
from accord.sharing.categories import json_schema
from accord.sharing.models import Attachment, Record, RecordRevision
from accord.sharing.schemas import (
    AccessReportFilter,
    AccessRowRead,
    AttachmentRead,
    Explanation,
    GrantBasis,
    LegalHoldSet,
    RecipientPreview,
    RecordCreate,
    RecordFilter,
    RecordRead,
    RecordUpdate,
    RetentionRead,
    RetentionSet,
    RevisionRead,
)

router = APIRouter(prefix="/api/v1/records", tags=["records"])
Read = Annotated[Actor, Depends(Permission("sharing:record:read"))]
Create = Annotated[Actor, Depends(Permission("sharing:record:create"))]
Update = Annotated[Actor, Depends(Permission("sharing:record:update"))]
AuditRead = Annotated[Actor, Depends(Permission("audit:event:read"))]
Retention = Annotated[Actor, Depends(Permission("sharing:retention:manage"))]
Hold = Annotated[Actor, Depends(Permission("sharing:record:hold"))]
Aggregate = Annotated[Actor, Depends(Permission("sharing:aggregate:read"))]


def attachment_read(attachment: Attachment, access: Access) -> AttachmentRead:
    return AttachmentRead(
        id=attachment.id,
        filename=attachment.filename,
        content_type=attachment.content_type,
        size=attachment.size,
        sha256=attachment.sha256,
        label=attachment.label,
        masked=not access.shows(attachment.label),
        uploaded_at=attachment.uploaded_at,
    )


def record_read(record: Record, access: Access, attachments: list[Attachment] | None = None) -> RecordRead:
    return RecordRead(
        id=record.id,
        owner_agency_id=record.owner_agency_id,
        category=record.category,
        tier=record.tier,
        purpose=record.purpose,
        title=record.title,
        body=masked_body(record, access),
        masked_fields=access.masked,
        geometry=record.geometry,
        event_at=record.event_at,
        created_at=record.created_at,
        access=access.basis,
        revision=record.revision,
        attachments=[attachment_read(a, access) for a in attachments or []],
        legal_hold=record.legal_hold if access.basis == "owner" else None,
        legal_hold_reason=record.legal_hold_reason if access.basis == "owner" and record.legal_hold else None,
    )


def revision_read(revision: RecordRevision, access: Access) -> RevisionRead:
    return RevisionRead(
        number=revision.number,
        tier=revision.tier,
        purpose=revision.purpose,
        title=revision.title,
        body=masked_body(revision, access),
        masked_fields=access.masked,
        geometry=revision.geometry,
        event_at=revision.event_at,
        changed_at=revision.changed_at,
        changed_by_user_id=revision.changed_by_user_id,
        note=revision.note,
    )


@router.get("/categories")
def categories(_: Read) -> dict[str, Any]:
    """The JSON Schema of each category's body; labelled fields carry `x-accord-label`."""
    from accord.sharing.categories import SPECS

    return {category: json_schema(category) for category in SPECS}


def _access_rows(db: DB, actor: Actor, filters: AccessReportFilter) -> list[AccessRowRead]:
    agency_id = filters.agency_id or actor.primary_agency_id
    if agency_id is None:
        raise InvalidInput("agency_id", "name the agency whose records the report is about")
    return access_report.access_report(db, actor, agency_id=agency_id, since=filters.since, until=filters.until)


@router.get("/access-report", response_model=list[AccessRowRead])
def access_report_json(
    filters: Annotated[AccessReportFilter, Query()], actor: AuditRead, db: DB
) -> list[AccessRowRead]:
    """Who read the agency's records, when, and under which clause (auditors and
    administrators of that agency), newest first, up to 10,000 reads."""
    return _access_rows(db, actor, filters)


@router.get("/access-report.csv", response_class=StreamingResponse)
def access_report_csv(filters: Annotated[AccessReportFilter, Query()], actor: AuditRead, db: DB) -> StreamingResponse:
    body = access_report.as_csv(_access_rows(db, actor, filters))
    headers = {"Content-Disposition": 'attachment; filename="accord-access-report.csv"'}
    return StreamingResponse(iter([body]), media_type="text/csv; charset=utf-8", headers=headers)


@router.post("", response_model=RecordRead, status_code=201)
def create(body: RecordCreate, actor: Create, db: DB) -> RecordRead:
    record = service.create_record(db, actor=actor, data=body)
    db.commit()
    return record_read(record, Access("owner"))


@router.post("/preview-recipients", response_model=RecipientPreview)
def preview_recipients(body: RecordCreate, actor: Create, db: DB) -> RecipientPreview:
    """Before saving: which agencies (and roles) would receive this record, under which clause."""
    service.check_owner(db, actor=actor, owner_agency_id=body.owner_agency_id)
    return queries.recipients_preview(db, body)


@router.get("", response_model=Page[RecordRead])
def list_records(filters: Annotated[RecordFilter, Query()], actor: Read, db: DB) -> Page[RecordRead]:
    """Records you may see (yours, and partners' under active agreements), newest event first."""
    rows, total = queries.list_records(db, actor, filters)
    attachments = queries.attachments_of(db, actor, [r.id for r, _ in rows])
    service.log_reads(db, actor=actor, reads=rows, surface="list")
    db.commit()
    items = [record_read(r, a, attachments[r.id]) for r, a in rows]
    return Page(items=items, total=total, limit=filters.limit, offset=filters.offset)


@router.get("/facets")
def facets(filters: Annotated[RecordFilter, Query()], actor: Read, db: DB) -> dict[str, dict[str, int]]:
    """Counts by category and tier of the records you may see (same filters as the list)."""
    return queries.facets(db, actor, filters)


@router.get("/export.json", response_model=list[RecordRead])
def export_json(filters: Annotated[RecordFilter, Query()], actor: Read, db: DB) -> list[RecordRead]:
    """Every record you may see (up to 10,000), masked as on screen."""
    rows = queries.export_records(db, actor, filters)
    service.log_reads(db, actor=actor, reads=rows, surface="export")
    db.commit()
    return [record_read(r, a) for r, a in rows]


@router.get("/export.csv", response_class=StreamingResponse)
def export_csv(filters: Annotated[RecordFilter, Query()], actor: Read, db: DB) -> StreamingResponse:
    """The same export as CSV: one row per record, the body as masked JSON."""
    rows = queries.export_records(db, actor, filters)
    service.log_reads(db, actor=actor, reads=rows, surface="export")
    db.commit()
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        ["id", "owner_agency_id", "category", "tier", "purpose", "title", "event_at", "access", "masked_fields", "body"]
    )
    for record, access in rows:
        writer.writerow(
            [
                record.id,
                record.owner_agency_id,
                record.category,
                record.tier,
                record.purpose,
                csv_safe(record.title),
                record.event_at.isoformat(),
                access.basis,
                " ".join(sorted(access.masked)),
                csv_safe(json.dumps(masked_body(record, access), sort_keys=True)),
            ]
        )
    headers = {"Content-Disposition": 'attachment; filename="accord-records.csv"'}
    return StreamingResponse(iter([buffer.getvalue()]), media_type="text/csv; charset=utf-8", headers=headers)


@router.get(".geojson", include_in_schema=True)
def map_layer(filters: Annotated[RecordFilter, Query()], actor: Read, db: DB) -> dict[str, Any]:
    """Visible records with a location, as a GeoJSON FeatureCollection (the map layer)."""
    rows = queries.map_layer(db, actor, filters)
    service.log_reads(db, actor=actor, reads=rows, surface="map")
    db.commit()
    features = [
        {
            "type": "Feature",
            "id": str(record.id),
            "geometry": record.geometry,
            "properties": {
                "id": str(record.id),
                "title": record.title,
                "category": record.category,
                "tier": record.tier,
                "owner_agency_id": str(record.owner_agency_id),
                "event_at": record.event_at.isoformat(),
                "access": access.basis,
            },
        }
        for record, access in rows
    ]
    return {"type": "FeatureCollection", "features": features}


# --- De-identified aggregates (ADR 0010) ------------------------------------------------
@router.get("/aggregates", response_model=aggregates.AggregateTable)
def aggregates_json(
    filters: Annotated[aggregates.AggregateFilter, Query()], actor: Aggregate, db: DB
) -> aggregates.AggregateTable:
    """Counts by category, ISO week and area (`area=jurisdiction` or `h3`) of the records your
    agency may count: its own, CLEAR ones, and other agencies' under clauses in force
    (aggregates-only clauses too); never RED, never a title, body or labelled field. Cells
    under 11, and cells a difference of nested areas would give away, are `suppressed`; there
    are no totals. Repeat `category` to choose several; weeks are `YYYY-Www` (UTC)."""
    table = aggregates.aggregate_table(db, actor, filters, surface="api")
    db.commit()
    return table


@router.get("/aggregates.csv", response_class=StreamingResponse)
def aggregates_csv(
    filters: Annotated[aggregates.AggregateFilter, Query()], actor: Aggregate, db: DB
) -> StreamingResponse:
    """The same cells as CSV (a suppressed cell has an empty count)."""
    table = aggregates.aggregate_table(db, actor, filters, surface="csv")
    db.commit()
    headers = {"Content-Disposition": 'attachment; filename="accord-aggregates.csv"'}
    return StreamingResponse(iter([aggregates.as_csv(table)]), media_type="text/csv; charset=utf-8", headers=headers)


@router.get("/retention/{agency_id}", response_model=list[RetentionRead])
def retention_of(agency_id: uuid.UUID, actor: Retention, db: DB) -> list[RetentionRead]:
    """The agency's retention period per category, with what the next purge would remove."""
    return retention.retention_of(db, actor, agency_id)


@router.put("/retention/{agency_id}/{category}", response_model=list[RetentionRead])
def set_retention(
    agency_id: uuid.UUID, category: str, body: RetentionSet, actor: Retention, db: DB
) -> list[RetentionRead]:
    """Keep the agency's records of ``category`` this many days after their last change
    (null: no automatic purge)."""
    retention.set_retention(db, actor=actor, agency_id=agency_id, category=category, retention_days=body.retention_days)
    db.commit()
    return retention.retention_of(db, actor, agency_id)


@router.get("/{record_id}", response_model=RecordRead)
def get_record(record_id: uuid.UUID, actor: Read, db: DB) -> RecordRead:
    record, access = queries.get_record(db, actor, record_id)
    attachments = queries.attachments_of(db, actor, [record.id])[record.id]
    service.log_reads(db, actor=actor, reads=[(record, access)], surface="detail")
    db.commit()
    return record_read(record, access, attachments)


@router.patch("/{record_id}", response_model=RecordRead)
def update(record_id: uuid.UUID, body: RecordUpdate, actor: Update, db: DB) -> RecordRead:
    """Save a new version (send the `revision` you edited: a stale one answers 409). Every
    version stays in the history."""
    record = service.update_record(db, actor=actor, record_id=record_id, data=body)
    db.commit()
    return record_read(record, Access("owner"), queries.attachments_of(db, actor, [record.id])[record.id])


@router.put("/{record_id}/legal-hold", response_model=RecordRead)
def place_hold(record_id: uuid.UUID, body: LegalHoldSet, actor: Hold, db: DB) -> RecordRead:
    """Put the record on legal hold: it is never purged until the hold is released."""
    record = retention.set_legal_hold(db, actor=actor, record_id=record_id, reason=body.reason)
    db.commit()
    return record_read(record, Access("owner"))


@router.delete("/{record_id}/legal-hold", response_model=RecordRead)
def release_hold(record_id: uuid.UUID, actor: Hold, db: DB) -> RecordRead:
    record = retention.set_legal_hold(db, actor=actor, record_id=record_id, reason=None)
    db.commit()
    return record_read(record, Access("owner"))


@router.get("/{record_id}/history", response_model=list[RevisionRead])
def history(record_id: uuid.UUID, actor: Read, db: DB) -> list[RevisionRead]:
    """Every version you may see, oldest first, masked as each version was shared: a version
    that was more restricted than the record is now stays hidden."""
    record, revisions = queries.history(db, actor, record_id)
    service.log_reads(db, actor=actor, reads=[(record, a) for _, a in revisions[-1:]], surface="history")
    db.commit()
    return [revision_read(r, a) for r, a in revisions]


@router.post("/{record_id}/attachments", response_model=AttachmentRead, status_code=201)
def attach(
    request: Request,
    record_id: uuid.UUID,
    actor: Update,
    db: DB,
    file: Annotated[UploadFile, File(description="PDF, image, Word/Excel, text, CSV or JSON")],
    label: Annotated[str | None, Form(description="PII, PHI or CJI if the file carries that data")] = None,
) -> AttachmentRead:
    """Attach a file to a record of your agency. Its type is checked against its content."""
    limit = request.app.state.settings.max_attachment_bytes
    attachment = service.add_attachment(
        db,
        actor=actor,
        record_id=record_id,
        filename=file.filename or "",
        declared_type=file.content_type,
        content=file.file.read(limit + 1),
        label=label or None,
        max_bytes=limit,
    )
    db.commit()
    return attachment_read(attachment, Access("owner"))


@router.get("/{record_id}/attachments/{attachment_id}", response_class=Response)
def download(record_id: uuid.UUID, attachment_id: uuid.UUID, actor: Read, db: DB) -> Response:
    """The file, if you may see the record and the file's label."""
    attachment, content, record, access = queries.attachment_content(db, actor, record_id, attachment_id)
    service.log_reads(db, actor=actor, reads=[(record, access)], surface="attachment")
    db.commit()
    headers = {
        "Content-Disposition": f'attachment; filename="{attachment.filename}"',
        "Cache-Control": "private, no-store",
    }
    return Response(content, media_type=attachment.content_type, headers=headers)


@router.delete("/{record_id}/attachments/{attachment_id}", status_code=204, response_class=Response)
def detach(record_id: uuid.UUID, attachment_id: uuid.UUID, actor: Update, db: DB) -> Response:
    service.remove_attachment(db, actor=actor, record_id=record_id, attachment_id=attachment_id)
    db.commit()
    return Response(status_code=204)


@router.get("/{record_id}/explain", response_model=Explanation)
def explain(record_id: uuid.UUID, actor: Read, db: DB) -> Explanation:
    """Why you can see this record: the agreement, version, clause and signatures, and which
    fields are masked because no clause grants their label."""
    record, access = queries.get_record(db, actor, record_id)
    context = agreements.clause_context(db, [g.clause_id for g in access.grants])
    bases = []
    for grant in access.grants:
        agreement, version, clause = context[grant.clause_id]
        bases.append(
            GrantBasis(
                agreement_id=agreement.id,
                agreement_title=version.title,
                version=version.number,
                clause_position=clause.position + 1,
                clause_id=clause.id,
                labels=sorted(granted_labels([grant])),
                signatures=[
                    {"agency_id": str(s.agency_id), "signer": s.signer_name, "signed_at": s.signed_at.isoformat()}
                    for s in version.signatures
                ],
            )
        )
    reasons = {
        "owner": "your agency owns this record",
        "named": "you are named as a recipient of this RED record",
        "grant": "a signed agreement in force shares it with your agency",
        "partnership": "GREEN: your agency and the owner are members of an active partnership",
        "public": "CLEAR: public information",
    }
    masked = {k: f"no clause in force grants {v} to your agency" for k, v in access.masked.items()}
    service.log_reads(db, actor=actor, reads=[(record, access)], surface="explain")
    db.commit()
    return Explanation(
        record_id=record.id, access=access.basis, reason=reasons[access.basis], grants=bases, masked_fields=masked
    )
