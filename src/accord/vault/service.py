"""Data keys: issue, unwrap, destroy, rewrap under a new master key; and the AES-256-GCM
seal every protected value goes through. Callers own the transaction (DESIGN.md)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Select, delete, func, select, text
from sqlalchemy.orm import Session

from accord.audit.service import record_event
from accord.authz import Actor
from accord.config import Settings, get_settings
from accord.core.errors import AccordError
from accord.core.time import utcnow
from accord.vault.keyring import Keyring, KeyUnavailable, keyring_for
from accord.vault.models import DataKey

VERSION = b"\x01"  # leading byte of every sealed value, so the format can change later

_configured: list[Keyring] = []


def configure(settings: Settings) -> None:
    """Use the master keys of ``settings`` in this process (the app and CLI call it at start)."""
    _configured[:] = [keyring_for(settings)]


def keyring() -> Keyring:
    if not _configured:
        configure(get_settings())
    return _configured[0]


class SealBroken(AccordError):
    """A sealed value that does not open under its key (altered, moved to another row, or
    its key destroyed). 503: nothing is shown rather than something wrong."""

    def __init__(self, message: str) -> None:
        super().__init__(message=message, status_code=503, code="sealed_value_unreadable")


def _context(key: DataKey) -> bytes:
    return b"data-key:" + key.id.bytes + key.agency_id.bytes


def issue_key(db: Session, *, agency_id: uuid.UUID) -> tuple[uuid.UUID, bytes]:
    """A new data key for ``agency_id``: its id, to store with what it seals, and the key."""
    material = os.urandom(32)
    key = DataKey(id=uuid.uuid4(), agency_id=agency_id, master_key_id="", wrapped=b"")
    key.master_key_id, key.wrapped = keyring().wrap(material, _context(key))
    db.add(key)
    db.flush()  # written before any row that references it
    return key.id, material


def unwrap(db: Session, key_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, bytes]:
    """The data keys behind ``key_ids`` in one query. A destroyed key is simply absent."""
    wanted = sorted(set(key_ids))
    if not wanted:
        return {}
    ring = keyring()
    return {k.id: ring.unwrap(k.master_key_id, k.wrapped, _context(k)) for k in db.scalars(_keys(wanted))}


def _keys(ids: list[uuid.UUID]) -> Select[DataKey]:
    return select(DataKey).where(DataKey.id.in_(ids))


def seal(material: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """AES-256-GCM with a random nonce; ``aad`` binds the value to its row."""
    nonce = os.urandom(12)
    return VERSION + nonce + AESGCM(material).encrypt(nonce, plaintext, aad)


def open_sealed(material: bytes, sealed: bytes, aad: bytes) -> bytes:
    if sealed[:1] != VERSION:
        raise SealBroken("unknown sealed format")
    try:
        return AESGCM(material).decrypt(sealed[1:13], sealed[13:], aad)
    except InvalidTag as exc:
        raise SealBroken("sealed value altered or moved to another row") from exc


def destroy(db: Session, key_ids: Iterable[uuid.UUID]) -> int:
    """Crypto-shred: delete the keys. Whatever they sealed can no longer be read by anyone,
    from this database or any copy made after (docs/adr/0011 says how old backups are kept
    unreadable too: rotate the master key and destroy the old one)."""
    ids = sorted(set(key_ids))
    if not ids:
        return 0
    return int(db.execute(delete(DataKey).where(DataKey.id.in_(ids))).rowcount or 0)  # type: ignore[attr-defined]


def scrub(db: Session) -> None:
    """After a commit that destroyed keys, leave no copy of them behind in the database's
    own files where we can: SQLite overwrites deleted content (secure_delete) but older
    page images stay in its write-ahead log until a checkpoint, so the log is checkpointed
    and truncated (best effort: a long reader can postpone it to the next purge).
    PostgreSQL: dead row versions go at the next VACUUM; against copies made before, the
    master-key rotation of docs/adr/0011 is the remedy."""
    if db.get_bind().dialect.name == "sqlite":
        db.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        db.commit()


@dataclass(frozen=True)
class Rewrapped:
    count: int
    done: bool  # no data key is left under an older master key


def rewrap_batch(db: Session, *, actor: Actor | None, username: str, limit: int = 500) -> Rewrapped:
    """Rewrap up to ``limit`` data keys still under an older master key with the current one.
    Each batch is its own short transaction (the caller commits), taking row locks on
    PostgreSQL with SKIP LOCKED, so servers keep reading and writing during a rotation and
    two rotations running at once share the work instead of waiting for each other."""
    ring = keyring()
    stale = select(DataKey).where(DataKey.master_key_id != ring.current_id).order_by(DataKey.id).limit(limit)
    if db.get_bind().dialect.name == "postgresql":
        stale = stale.with_for_update(skip_locked=True)
    keys = list(db.scalars(stale))
    missing = sorted({k.master_key_id for k in keys if not ring.holds(k.master_key_id)})
    if missing:
        raise KeyUnavailable(
            f"{sum(1 for k in keys if not ring.holds(k.master_key_id))} data keys are wrapped under master key(s) "
            f"{', '.join(missing)}, which this server does not hold: list the old key in ACCORD_PREVIOUS_MASTER_KEYS"
        )
    now = utcnow()
    for key in keys:
        material = ring.unwrap(key.master_key_id, key.wrapped, _context(key))
        key.master_key_id, key.wrapped = ring.wrap(material, _context(key))
        key.rewrapped_at = now
    if keys:
        db.flush()
        record_event(
            db,
            actor=actor,
            username=username,
            action="vault.master.rewrap",
            object_type="master_key",
            object_id=ring.current_id,
            details={"data_keys": len(keys)},
        )
    left = db.scalar(select(DataKey.id).where(DataKey.master_key_id != ring.current_id).limit(1))
    return Rewrapped(count=len(keys), done=left is None)


def census(db: Session) -> dict[str, int]:
    """How many data keys each master key (by id) wraps: what a rotation has left to do."""
    rows = db.execute(select(DataKey.master_key_id, func.count()).group_by(DataKey.master_key_id)).all()
    return {str(k): int(n) for k, n in rows}


__all__ = ["KeyUnavailable", "SealBroken", "configure", "destroy", "issue_key", "keyring", "open_sealed", "seal"]
