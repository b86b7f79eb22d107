"""Encryption at rest for restricted records (AMBER+STRICT and RED): what is sealed, with
which key, and how it is opened again for a caller the sharing rules already let through.

Each restricted record has its own data key (accord.vault), owned by its agency; its body,
every version's body and its attachments are sealed with it, each bound to its own row
(the AAD names the row), so a sealed value moved to another row does not open. Titles and
the sharing columns stay clear: lists, counts and the sharing predicate need them. Purging
a record destroys its key (crypto-shredding), see sharing.retention."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from accord.sharing.models import Attachment, Record, RecordRevision
from accord.sharing.policy import RED, STRICT
from accord.vault import service as vault

PROTECTED_RANKS = frozenset({STRICT, RED})


def is_protected(tier_rank: int) -> bool:
    return tier_rank in PROTECTED_RANKS


def _aad(kind: str, row_id: uuid.UUID) -> bytes:
    return f"accord:{kind}:".encode() + row_id.bytes


def _encode(body: dict[str, Any]) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def _key(db: Session, record: Record) -> bytes:
    """The record's data key, issued on first use."""
    if record.data_key_id is None:
        record.data_key_id, material = vault.issue_key(db, agency_id=record.owner_agency_id)
        return material
    return vault.unwrap(db, [record.data_key_id])[record.data_key_id]


def store_body(db: Session, record: Record, body: dict[str, Any]) -> None:
    """Set the body to be saved: sealed for a protected tier (the column keeps ``{}``),
    clear otherwise. Call ``show`` after the flush to have the plaintext in memory again."""
    if not is_protected(record.tier_rank):
        record.body, record.body_sealed = body, None
        return
    if record.id is None:
        record.id = uuid.uuid4()
    record.body_sealed = vault.seal(_key(db, record), _encode(body), _aad("record", record.id))
    record.body = {}


def store_revision(db: Session, record: Record, revision: RecordRevision) -> None:
    """Seal a version's body when its record is protected now (with the record's key)."""
    if not is_protected(record.tier_rank):
        return
    if revision.id is None:
        revision.id = uuid.uuid4()
    revision.data_key_id = record.data_key_id
    revision.body_sealed = vault.seal(_key(db, record), _encode(revision.body), _aad("revision", revision.id))
    revision.body = {}


def store_attachment(db: Session, record: Record, attachment: Attachment, content: bytes) -> None:
    if not is_protected(record.tier_rank):
        attachment.content = content
        return
    if attachment.id is None:
        attachment.id = uuid.uuid4()
    material = _key(db, record)
    attachment.data_key_id = record.data_key_id
    attachment.content = vault.seal(material, content, _aad("attachment", attachment.id))


def seal_history(db: Session, record: Record) -> None:
    """A record that became protected has its earlier versions and its attachments sealed
    too: raising a record's tier says its content turned out to be sensitive."""
    if not is_protected(record.tier_rank):
        return
    material = _key(db, record)
    clear_versions = select(RecordRevision).where(
        RecordRevision.record_id == record.id, RecordRevision.body_sealed.is_(None)
    )
    for revision in db.scalars(clear_versions):
        revision.data_key_id = record.data_key_id
        revision.body_sealed = vault.seal(material, _encode(revision.body), _aad("revision", revision.id))
        revision.body = {}
    clear_files = select(Attachment).where(Attachment.record_id == record.id, Attachment.data_key_id.is_(None))
    for attachment in db.scalars(clear_files):
        attachment.data_key_id = record.data_key_id
        attachment.content = vault.seal(material, attachment.content, _aad("attachment", attachment.id))


def show(row: Record | RecordRevision, body: dict[str, Any]) -> None:
    """Put the plaintext body on a loaded row without marking it changed (so it is never
    written back)."""
    set_committed_value(row, "body", body)


def reveal(db: Session, rows: Sequence[Record] | Sequence[RecordRevision]) -> None:
    """Open the sealed bodies of rows the caller was already allowed to read: one query for
    their keys, then AES-GCM per row. A row whose key was destroyed keeps ``{}``."""
    sealed = [r for r in rows if r.body_sealed is not None and r.data_key_id is not None]
    if not sealed:
        return
    keys = vault.unwrap(db, (r.data_key_id for r in sealed if r.data_key_id is not None))
    for row in sealed:
        material = keys.get(row.data_key_id) if row.data_key_id else None
        if material is None or row.body_sealed is None:
            continue
        kind = "record" if isinstance(row, Record) else "revision"
        show(row, json.loads(vault.open_sealed(material, row.body_sealed, _aad(kind, row.id))))


def attachment_bytes(db: Session, attachment: Attachment) -> bytes:
    if attachment.data_key_id is None:
        return attachment.content
    material = vault.unwrap(db, [attachment.data_key_id]).get(attachment.data_key_id)
    if material is None:
        raise vault.SealBroken("the attachment's key was destroyed")
    return vault.open_sealed(material, attachment.content, _aad("attachment", attachment.id))
