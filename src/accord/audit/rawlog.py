"""Reading the audit log's stored text quickly, for verification.

Through SQLAlchemy every row costs its UUID, datetime and JSON conversions, and then
``chain.canonical`` turns them back into text: about two thirds of verify's time. Here the
driver's cursor reads the stored text and each event's canonical JSON is assembled from it
directly. A quick body equal to the canonical JSON the event was written with can only come
from the same stored values: every value is either JSON-delimited (strings through the same
escaper as the encoder, ``details`` through the encoder itself) or of a fixed, checked
length, so no value can borrow characters from its neighbour. Anything else (another type,
another shape) gets no quick body, and ``typed_hash`` reads the row the way it was written.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from json.encoder import encode_basestring
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from accord.audit import chain
from accord.audit.models import AuditEvent

BATCH = 5000


def typed_hash(db: Session, seq: int, prev_hash: str) -> str:
    """The event's hash from its row as SQLAlchemy reads it (UUIDs, aware times, JSON):
    the definition ``audit.service`` hashed at write time."""
    columns = AuditEvent.__table__.c
    statement = select(*(columns[name] for name in chain.FIELDS)).where(columns.seq == seq)
    try:
        row = db.execute(statement).one()
        return chain.event_hash(prev_hash, dict(zip(chain.FIELDS, row, strict=True)))
    except (ValueError, TypeError):  # a value its column's type cannot read was not written by us
        return ""


# The canonical JSON's keys, sorted, with the SELECT expression for each on each database.
_KEYS = (
    "action",
    "actor_agency_id",
    "actor_user_id",
    "actor_username",
    "agency_id",
    "chain_index",
    "clause_id",
    "client_addr",
    "details",
    "id",
    "object_id",
    "object_type",
    "occurred_at",
    "outcome",
    "request_id",
)
if list(_KEYS) != sorted(chain.FIELDS):  # the bodies below are written out in this order
    raise RuntimeError("audit.verify's quick canonical JSON no longer matches audit.chain.FIELDS")
_PG_EXPRESSIONS = {
    "actor_agency_id": "actor_agency_id::text",
    "actor_user_id": "actor_user_id::text",
    "agency_id": "agency_id::text",
    "clause_id": "clause_id::text",
    "id": "id::text",
    "details": "details::text",
    "occurred_at": """to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')""",
}
_SQLITE_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}")
_loads, _encode = json.loads, chain._ENCODER.encode


def _s(value: str | None) -> str:
    return "null" if value is None else encode_basestring(value)


def _hex_uuid(value: str | None) -> str:
    """SQLite keeps a UUID as 32 hex digits; the canonical JSON has it dashed."""
    if value is None:
        return "null"
    if len(value) != 32:
        raise ValueError("not a stored UUID")
    return f'"{value[:8]}-{value[8:12]}-{value[12:16]}-{value[16:20]}-{value[20:]}"'


def _text_uuid(value: str | None) -> str:
    return "null" if value is None else f'"{value}"'  # uuid::text: always the 36-character form


# One function per database, written out key by key (sorted, as the encoder sorts them):
# at a few microseconds per event, a call per field was a third of verify's time.


def _sqlite_body(values: tuple[Any, ...]) -> bytes | None:
    action, actor_agency, actor_user, username, agency, index, clause, client, details = values[:9]
    event_id, object_id, object_type, occurred, outcome, request = values[9:]
    try:
        if not _SQLITE_TIME.fullmatch(occurred):
            return None
        return (
            f'{{"action":{encode_basestring(action)},"actor_agency_id":{_hex_uuid(actor_agency)},'
            f'"actor_user_id":{_hex_uuid(actor_user)},"actor_username":{encode_basestring(username)},'
            f'"agency_id":{_hex_uuid(agency)},"chain_index":{index},"clause_id":{_hex_uuid(clause)},'
            f'"client_addr":{_s(client)},"details":{_encode(_loads(details))},"id":{_hex_uuid(event_id)},'
            f'"object_id":{_s(object_id)},"object_type":{_s(object_type)},'
            f'"occurred_at":"{occurred[:10]}T{occurred[11:23]}Z","outcome":{encode_basestring(outcome)},'
            f'"request_id":{_s(request)}}}'
        ).encode()
    except (TypeError, ValueError):
        return None


def _postgresql_body(values: tuple[Any, ...]) -> bytes | None:
    action, actor_agency, actor_user, username, agency, index, clause, client, details = values[:9]
    event_id, object_id, object_type, occurred, outcome, request = values[9:]
    try:
        return (
            f'{{"action":{encode_basestring(action)},"actor_agency_id":{_text_uuid(actor_agency)},'
            f'"actor_user_id":{_text_uuid(actor_user)},"actor_username":{encode_basestring(username)},'
            f'"agency_id":{_text_uuid(agency)},"chain_index":{index},"clause_id":{_text_uuid(clause)},'
            f'"client_addr":{_s(client)},"details":{_encode(_loads(details))},"id":"{event_id}",'
            f'"object_id":{_s(object_id)},"object_type":{_s(object_type)},'
            f'"occurred_at":"{occurred}","outcome":{encode_basestring(outcome)},'
            f'"request_id":{_s(request)}}}'
        ).encode()
    except (TypeError, ValueError):
        return None


def read(
    db: Session, first_seq: int | None = None, last_seq: int | None = None
) -> Iterator[tuple[Any, Any, Any, Any, bytes | None]]:
    """(seq, chain_index, prev_hash, hash, quick canonical body) per event in ``seq``
    order (between ``first_seq`` and ``last_seq`` when given), streamed by the driver's
    cursor inside the session's transaction."""
    connection = db.connection()
    dialect = connection.dialect.name
    expressions = [_PG_EXPRESSIONS.get(key, key) if dialect == "postgresql" else key for key in _KEYS]
    bounds = [f"seq >= {int(first_seq)}"] if first_seq is not None else []
    bounds += [f"seq <= {int(last_seq)}"] if last_seq is not None else []
    sql = (
        f"SELECT seq, chain_index, prev_hash, hash, {', '.join(expressions)} "  # noqa: S608 - fixed names, ints
        f"FROM {AuditEvent.__tablename__} {'WHERE ' + ' AND '.join(bounds) if bounds else ''} ORDER BY seq"
    )
    body = _sqlite_body if dialect == "sqlite" else _postgresql_body
    driver = connection.connection.driver_connection
    assert driver is not None
    cursor = driver.cursor("accord_audit_verify") if dialect == "postgresql" else driver.cursor()
    try:
        cursor.execute(sql)
        while rows := cursor.fetchmany(BATCH):
            for row in rows:
                yield row[0], row[1], row[2], row[3], body(row[4:])
    finally:
        cursor.close()
