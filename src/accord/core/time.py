"""Aware UTC time everywhere (``*_at`` columns), millisecond precision for audit."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    now = datetime.now(UTC)
    return now.replace(microsecond=(now.microsecond // 1000) * 1000)


def as_utc(value: datetime) -> datetime:
    """Naive values read back from SQLite are UTC by construction."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
