"""Record versions and attachments through the one door: updates keep every version,
history applies the rules to each version as it was shared, attachments are checked by
content and masked by label, and "not allowed" looks (and costs) like "not there"."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import event, select

from accord.audit.models import AuditEvent
from tests.conftest import assert_error, refresh
from tests.sharing_world import EVENT, build_sharing_world

PNG = b"\x89PNG\r\n\x1a\n" + bytes(200)
PDF = b"%PDF-1.7\n" + b"1 0 obj << >> endobj\n" * 10


@pytest.fixture(scope="module")
def world(app, session_factory) -> dict[str, Any]:
    return build_sharing_world(app, session_factory)


def _new_record(client, world, **fields: Any) -> dict[str, Any]:
    body = {
        "owner_agency_id": str(world["ids"]["HPD"]),
        "category": "incident_report",
        "tier": "AMBER",
        "purpose": "investigation",
        "title": "Break-in at the boathouse",
        "event_at": EVENT,
        "body": {"summary": "Door forced overnight", "persons_involved": "Ada Moss", "arrest_details": "none yet"},
        **fields,
    }
    response = client.post("/api/v1/records", json=body, headers=world["headers"]["hpd_analyst"])
    assert response.status_code == 201, response.text
    return dict(response.json())


def _patch(client, world, record, who="hpd_analyst", **changes: Any):
    return client.patch(
        f"/api/v1/records/{record['id']}",
        json={"revision": record["revision"], **changes},
        headers=world["headers"][who],
    )


def _history(client, world, record_id, who):
    return client.get(f"/api/v1/records/{record_id}/history", headers=world["headers"][who])


def test_an_update_is_a_new_version_and_the_old_one_stays(client, world, db):
    record = _new_record(client, world)
    assert record["revision"] == 1
    changed = _patch(
        client,
        world,
        record,
        title="Break-in at the boathouse (two suspects)",
        body={**record["body"], "summary": "Door forced; two people seen leaving"},
        note="witness statement",
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["revision"] == 2
    versions = _history(client, world, record["id"], "hpd_analyst").json()
    assert [v["number"] for v in versions] == [1, 2]
    assert versions[0]["title"] == "Break-in at the boathouse"
    assert versions[1]["note"] == "witness statement"
    assert versions[1]["body"]["summary"] == "Door forced; two people seen leaving"
    refresh(db)
    audit = db.scalar(
        select(AuditEvent).where(AuditEvent.action == "sharing.record.update", AuditEvent.object_id == record["id"])
    )
    assert audit is not None and audit.details["changed"] == ["body", "title"]
    # Search finds the new words, not only the old ones.
    found = client.get("/api/v1/records?q=leaving", headers=world["headers"]["kpd_analyst"]).json()
    assert record["id"] in {r["id"] for r in found["items"]}


def test_a_stale_edit_is_a_conflict_not_a_lost_update(client, world):
    record = _new_record(client, world)
    assert _patch(client, world, record, title="First edit wins").status_code == 200
    error = assert_error(_patch(client, world, record, title="Second edit from version 1"), 409, "conflict")
    assert error["fields"][0]["field"] == "revision"


def test_only_the_owner_changes_a_record(client, world):
    record = _new_record(client, world)
    # KPD sees it (under the agreement) but may not change it; CCSO does not even see it.
    assert_error(_patch(client, world, record, who="kpd_analyst", title="Partner edit"), 403, "forbidden")
    assert_error(_patch(client, world, record, who="ccso_viewer", title="Stranger edit"), 403, "forbidden")
    absent = {**record, "id": str(uuid.uuid4())}
    assert_error(_patch(client, world, absent, title="Nothing there"), 404, "not_found")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"category": "bolo"}, "category"),
        ({"body": {"summary": ""}}, "body.summary"),
        ({"body": {"summary": "x", "shoe_size": "9"}}, "body.shoe_size"),
        ({"tier": "PURPLE"}, "tier"),
        ({"tier": "RED"}, "red_recipients"),
        ({"red_recipients": [str(uuid.UUID(int=7))]}, "red_recipients"),
        ({"event_at": "2026-11-20T14:30:00"}, "event_at"),
        ({"geometry": {"type": "Point", "coordinates": [-88.0, 41.0]}, "clear_geometry": True}, "clear_geometry"),
        ({"geometry": {"type": "Point", "coordinates": [200, 41]}}, "geometry.coordinates"),
        ({}, "body"),
    ],
)
def test_bad_updates_name_the_field(client, world, changes, field):
    record = _new_record(client, world)
    error = assert_error(_patch(client, world, record, **changes), 422, "invalid")
    assert field in {f["field"] for f in error["fields"]}, error


def test_a_version_stays_as_restricted_as_it_was_shared(client, world):
    """A RED record later downgraded to GREEN: the partnership partner sees the record and
    its GREEN version, never the RED one (nor its named recipients)."""
    red = _new_record(
        client,
        world,
        tier="RED",
        category="bolo",
        red_recipients=[str(world["user_ids"]["kpd_named"])],
        body={"subject_description": "Tall, red jacket", "subject_name": "Kim Vale"},
        title="Person of interest near the fair",
    )
    assert _history(client, world, red["id"], "wfpd_viewer").status_code == 404
    public = _patch(
        client,
        world,
        red,
        tier="GREEN",
        purpose="situational_awareness",
        body={"subject_description": "Tall, jacket"},
        title="Person of interest (description only)",
    )
    assert public.status_code == 200, public.text
    assert public.json()["tier"] == "GREEN"
    partner = _history(client, world, red["id"], "wfpd_viewer")
    assert partner.status_code == 200
    assert [(v["number"], v["tier"]) for v in partner.json()] == [(2, "GREEN")]
    assert "Kim Vale" not in partner.text and "red jacket" not in partner.text
    owner = _history(client, world, red["id"], "hpd_analyst").json()
    assert [v["tier"] for v in owner] == ["RED", "GREEN"]
    # The person named while it was RED keeps that version only while still named: the
    # downgrade dropped the named people, so the RED version is now the owner's alone.
    named = _history(client, world, red["id"], "kpd_named")
    assert named.status_code == 404  # GREEN, and KPD is not a partnership member


def test_history_is_gone_when_access_is(client, world):
    """An AMBER record visible to KPD, raised to AMBER+STRICT (not covered for KPD viewers):
    the record and its whole history answer 404, though version 1 once was shared."""
    record = _new_record(client, world)
    assert _history(client, world, record["id"], "kpd_viewer").status_code == 200
    assert _patch(client, world, record, tier="AMBER+STRICT").status_code == 200
    hidden = _history(client, world, record["id"], "kpd_viewer")
    absent = _history(client, world, uuid.uuid4(), "kpd_viewer")
    assert hidden.status_code == absent.status_code == 404
    assert hidden.json()["error"] | {"request_id": ""} == absent.json()["error"] | {"request_id": ""}


def test_history_masks_each_version_by_the_grant(client, world, db):
    record = _new_record(client, world)
    _patch(client, world, record, body={**record["body"], "arrest_details": "Warrant 26-200 served"})
    versions = _history(client, world, record["id"], "kpd_viewer").json()
    assert len(versions) == 2
    for version in versions:
        assert version["body"]["persons_involved"] == "Ada Moss"  # PII is granted to KPD
        assert version["body"]["arrest_details"] is None  # CJI is not
        assert version["masked_fields"] == {"arrest_details": "CJI"}
    refresh(db)
    reads = db.scalars(
        select(AuditEvent).where(AuditEvent.action == "sharing.record.read", AuditEvent.object_id == record["id"])
    ).all()
    assert any(e.details["surface"] == "history" and e.clause_id is not None for e in reads)


# --- attachments -------------------------------------------------------------------------


def _attach(client, world, record_id, content, *, name="photo.png", type_="image/png", who="hpd_analyst", **form):
    return client.post(
        f"/api/v1/records/{record_id}/attachments",
        files={"file": (name, content, type_)},
        data=form,
        headers=world["headers"][who],
    )


def test_attachments_are_stored_checked_and_shared_with_the_record(client, world, db):
    record = _new_record(client, world)
    uploaded = _attach(client, world, record["id"], PNG, name="../../scene photo.png")
    assert uploaded.status_code == 201, uploaded.text
    attachment = uploaded.json()
    assert attachment["content_type"] == "image/png"
    assert attachment["filename"] == "scene photo.png"
    assert attachment["size"] == len(PNG)
    detail = client.get(f"/api/v1/records/{record['id']}", headers=world["headers"]["kpd_viewer"]).json()
    assert [a["id"] for a in detail["attachments"]] == [attachment["id"]]
    download = client.get(
        f"/api/v1/records/{record['id']}/attachments/{attachment['id']}", headers=world["headers"]["kpd_viewer"]
    )
    assert download.status_code == 200
    assert download.content == PNG
    assert download.headers["content-type"] == "image/png"
    assert download.headers["content-disposition"].startswith("attachment;")
    assert download.headers["x-content-type-options"] == "nosniff"
    refresh(db)
    read = db.scalar(
        select(AuditEvent)
        .where(AuditEvent.action == "sharing.record.read", AuditEvent.object_id == record["id"])
        .order_by(AuditEvent.seq.desc())
    )
    assert read is not None and read.details["surface"] == "attachment" and read.clause_id is not None
    # Partners outside the agreement see neither the record nor its files.
    for path in (f"/api/v1/records/{record['id']}/attachments/{attachment['id']}",):
        hidden = client.get(path, headers=world["headers"]["wfpd_viewer"])
        absent = client.get(
            f"/api/v1/records/{uuid.uuid4()}/attachments/{attachment['id']}", headers=world["headers"]["wfpd_viewer"]
        )
        assert hidden.status_code == absent.status_code == 404
    # The owner removes it; it is gone for everyone.
    removed = client.delete(
        f"/api/v1/records/{record['id']}/attachments/{attachment['id']}", headers=world["headers"]["hpd_analyst"]
    )
    assert removed.status_code == 204
    gone = client.get(
        f"/api/v1/records/{record['id']}/attachments/{attachment['id']}", headers=world["headers"]["hpd_analyst"]
    )
    assert_error(gone, 404, "not_found")


def test_a_labelled_attachment_is_masked_without_the_label(client, world):
    record = _new_record(client, world)
    pii = _attach(client, world, record["id"], PDF, name="witnesses.pdf", type_="application/pdf", label="PII").json()
    cji = _attach(client, world, record["id"], PDF, name="warrant.pdf", type_="application/pdf", label="CJI").json()
    listed = client.get(f"/api/v1/records/{record['id']}", headers=world["headers"]["kpd_viewer"]).json()
    masks = {a["filename"]: a["masked"] for a in listed["attachments"]}
    assert masks == {"witnesses.pdf": False, "warrant.pdf": True}
    base = f"/api/v1/records/{record['id']}/attachments/"
    assert client.get(base + pii["id"], headers=world["headers"]["kpd_viewer"]).status_code == 200
    assert_error(client.get(base + cji["id"], headers=world["headers"]["kpd_viewer"]), 403, "forbidden")
    assert client.get(base + cji["id"], headers=world["headers"]["hpd_analyst"]).status_code == 200


@pytest.mark.parametrize(
    ("content", "type_", "label", "reason"),
    [
        (PNG, "application/pdf", None, "not the declared application/pdf"),
        (b"MZ\x90\x00" + bytes(300), "application/octet-stream", None, "not accepted"),
        (b"<html><script>alert(1)</script></html>", "text/html", None, "not accepted"),
        (b"plain\x00binary", "text/plain", None, "not UTF-8 text"),
        (b"", "text/plain", None, "empty"),
        (b"just words", "application/octet-stream", None, "could not tell"),
        (PNG, "image/png", "SECRET", "one of"),
    ],
)
def test_bad_attachments_are_refused_with_the_reason(client, world, content, type_, label, reason):
    record = _new_record(client, world)
    form = {"label": label} if label else {}
    error = assert_error(_attach(client, world, record["id"], content, type_=type_, **form), 422, "invalid")
    assert reason in error["message"], error
    assert error["fields"][0]["field"] in {"file", "label"}


def test_text_files_are_accepted_when_they_are_text(client, world):
    record = _new_record(client, world)
    uploaded = _attach(client, world, record["id"], b"name,phone\nAda,555\n", name="list.csv", type_="text/csv")
    assert uploaded.status_code == 201, uploaded.text
    assert uploaded.json()["content_type"] == "text/csv"


def test_attachment_size_limits(client, world, settings):
    record = _new_record(client, world)
    limit = settings.max_attachment_bytes
    over = _attach(client, world, record["id"], PNG + bytes(limit - len(PNG) + 1))
    error = assert_error(over, 422, "invalid")
    assert error["fields"][0]["field"] == "file" and "limit" in error["message"]
    assert _attach(client, world, record["id"], PNG + bytes(limit - len(PNG))).status_code == 201
    assert_error(_attach(client, world, record["id"], bytes(limit + 200 * 1024)), 413, "too_large")


def test_only_the_owner_attaches(client, world):
    record = _new_record(client, world)
    assert_error(_attach(client, world, record["id"], PNG, who="kpd_analyst"), 403, "forbidden")
    assert_error(_attach(client, world, uuid.uuid4(), PNG), 404, "not_found")


# --- "not allowed" costs what "not there" costs ----------------------------------------------


@pytest.fixture
def count_statements(session_factory):
    engine = session_factory.kw["bind"]
    seen: list[str] = []

    def _count(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", _count)
    yield seen
    event.remove(engine, "before_cursor_execute", _count)


@pytest.mark.parametrize("suffix", ["", "/explain", "/history"])
def test_invisible_and_absent_run_the_same_queries(client, world, count_statements, suffix):
    """Same status and body, and the same statements in the same order: the answer for a
    hidden record does no extra work that a clock could tell apart (the timing class;
    benchmarks/not_found_timing.py measures it)."""
    headers = world["headers"]["ccso_viewer"]
    hidden_id, absent_id = world["records"]["amber"], str(uuid.uuid4())
    client.get(f"/api/v1/records/{absent_id}{suffix}", headers=headers)  # warm caches alike
    runs = {}
    for name, rid in (("hidden", hidden_id), ("absent", absent_id)):
        count_statements.clear()
        response = client.get(f"/api/v1/records/{rid}{suffix}", headers=headers)
        assert response.status_code == 404
        runs[name] = (list(count_statements), response.json()["error"] | {"request_id": ""})
    assert runs["hidden"] == runs["absent"]
