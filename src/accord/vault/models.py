"""Data keys. Each protected record has its own AES-256 key, owned by the record's agency
and stored only wrapped (AES-256-GCM) under the master key, whose id is kept with it so a
rotation knows what is left to rewrap. Deleting the row is crypto-shredding: without it,
the record's ciphertext (in this database, a copy of it or its free pages) is noise."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from accord.core.db import Base, IdMixin
from accord.core.time import utcnow


class DataKey(IdMixin, Base):
    __tablename__ = "data_keys"
    __table_args__ = (Index("ix_data_keys_master", "master_key_id"),)

    agency_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("agencies.id"))
    master_key_id: Mapped[str] = mapped_column(String(16))
    wrapped: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    rewrapped_at: Mapped[datetime | None] = mapped_column()
