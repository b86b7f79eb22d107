"""Encryption at rest (AMBER+STRICT and RED sealed with per-record data keys under the
master key), master-key rotation, crypto-shredding on purge, recipients' retention under
their clause, owners' retention per category, legal holds and the purge (CLI and task)."""

from __future__ import annotations

import base64
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from accord.core.time import utcnow
from accord.sharing.models import Attachment, Record, RecordRevision
from accord.vault import service as vault
from accord.vault.keyring import keyring_for
from accord.vault.models import DataKey
from tests.conftest import BACKEND, assert_error, browser_login, csrf_from, refresh
from tests.sharing_world import EVENT, build_sharing_world, propose_and_sign

SECRET_WORDS = "Quetzalcoatl-7781 informant meets at the grain silo"
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99=\x1d\x00\x00\x00\x00IEND\xaeB`\x82"
)
FILE_MARKER = b"Zanzibar-4417 attachment text"


@pytest.fixture(scope="module")
def world(app, session_factory) -> dict[str, Any]:
    return build_sharing_world(app, session_factory)


def _record(client: Any, world: dict[str, Any], **fields: Any) -> dict[str, Any]:
    body = {
        "owner_agency_id": str(world["ids"]["HPD"]),
        "category": "case_summary",
        "tier": "AMBER+STRICT",
        "purpose": "investigation",
        "title": f"Sealed case {uuid.uuid4().hex[:6]}",
        "event_at": EVENT,
        "body": {"summary": SECRET_WORDS, "suspects": "Dana Fry", "case_number": "HPD-26-0777"},
        **fields,
    }
    response = client.post("/api/v1/records", json=body, headers=world["headers"]["hpd_analyst"])
    assert response.status_code == 201, response.text
    return dict(response.json())


def _attach(client: Any, world: dict[str, Any], record_id: str, content: bytes = FILE_MARKER) -> dict[str, Any]:
    response = client.post(
        f"/api/v1/records/{record_id}/attachments",
        files={"file": ("notes.txt", content, "text/plain")},
        headers=world["headers"]["hpd_analyst"],
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def _age(db: Any, record_id: str, days: float) -> None:
    """Make a record (and its versions) last saved ``days`` ago."""
    when = utcnow() - timedelta(days=days)
    rid = uuid.UUID(record_id)
    db.execute(Record.__table__.update().where(Record.id == rid).values(updated_at=when, created_at=when))
    db.execute(RecordRevision.__table__.update().where(RecordRevision.record_id == rid).values(changed_at=when))
    db.commit()


def _stored_bytes(db: Any, record_id: str) -> bytes:
    """Everything the database holds for a record, its versions and attachments."""
    rid = uuid.UUID(record_id)
    refresh(db)
    param: Any = rid.hex if BACKEND == "sqlite" else rid
    parts: list[bytes] = []
    for table, key in (("records", "id"), ("record_revisions", "record_id"), ("record_attachments", "record_id")):
        for row in db.execute(text(f"SELECT * FROM {table} WHERE {key} = :rid"), {"rid": param}).mappings():
            parts += [v if isinstance(v, bytes | memoryview) else str(v).encode() for v in row.values()]
    return b"\n".join(bytes(p) for p in parts)


def _sqlite_file_bytes(db: Any) -> bytes:
    """The SQLite database file and its write-ahead log, as a backup would copy them."""
    refresh(db)
    path = Path(db.get_bind().url.database)
    return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())


# --- encryption at rest -------------------------------------------------------------------------


def test_restricted_bodies_versions_and_attachments_hold_no_plaintext(client, world, db):
    record = _record(client, world)
    _attach(client, world, record["id"])
    rid = uuid.UUID(record["id"])
    stored = _stored_bytes(db, record["id"])
    assert len(stored) > 0
    for marker in (b"Quetzalcoatl", b"grain silo", b"Dana Fry", b"HPD-26-0777", FILE_MARKER):
        assert marker not in stored, marker
    row = db.get(Record, rid)
    assert row.body == {} and row.body_sealed and row.data_key_id and row.search_text == record["title"]
    assert db.scalar(select(Attachment.data_key_id).where(Attachment.record_id == rid)) == row.data_key_id
    if BACKEND == "sqlite":
        assert b"Quetzalcoatl" not in _sqlite_file_bytes(db)
    # ... and yet the owner and the partner holding the clause read it in full.
    mine = client.get(f"/api/v1/records/{rid}", headers=world["headers"]["hpd_analyst"]).json()
    theirs = client.get(f"/api/v1/records/{rid}", headers=world["headers"]["kpd_analyst"]).json()
    assert mine["body"]["summary"] == SECRET_WORDS and theirs["body"]["summary"] == SECRET_WORDS
    # The clause grants CJI, not PII: the case number shows, the suspects stay masked.
    assert theirs["body"]["case_number"] == "HPD-26-0777" and theirs["masked_fields"] == {"suspects": "PII"}
    files = client.get(f"/api/v1/records/{rid}", headers=world["headers"]["hpd_analyst"]).json()["attachments"]
    download = client.get(
        f"/api/v1/records/{rid}/attachments/{files[0]['id']}", headers=world["headers"]["hpd_analyst"]
    )
    assert download.status_code == 200 and download.content == FILE_MARKER
    history = client.get(f"/api/v1/records/{rid}/history", headers=world["headers"]["hpd_analyst"]).json()
    assert history[0]["body"]["summary"] == SECRET_WORDS


def test_amber_and_below_stay_clear_and_searchable(client, world, db):
    record = _record(client, world, tier="AMBER", category="incident_report", body={"summary": "Vermilion-55 barge"})
    row = db.get(Record, uuid.UUID(record["id"]))
    assert row.body_sealed is None and row.data_key_id is None and "Vermilion-55" in row.search_text
    found = client.get("/api/v1/records", params={"q": "Vermilion"}, headers=world["headers"]["hpd_analyst"])
    assert [r["id"] for r in found.json()["items"]] == [record["id"]]


def test_raising_a_record_to_red_seals_its_earlier_versions_and_files(client, world, db):
    record = _record(client, world, tier="AMBER", category="incident_report", body={"summary": SECRET_WORDS})
    _attach(client, world, record["id"])
    assert b"Quetzalcoatl" in _stored_bytes(db, record["id"])
    raised = client.patch(
        f"/api/v1/records/{record['id']}",
        json={"revision": 1, "tier": "RED", "red_recipients": [str(world["user_ids"]["kpd_named"])]},
        headers=world["headers"]["hpd_analyst"],
    )
    assert raised.status_code == 200, raised.text
    stored = _stored_bytes(db, record["id"])
    assert b"Quetzalcoatl" not in stored and FILE_MARKER not in stored
    versions = client.get(f"/api/v1/records/{record['id']}/history", headers=world["headers"]["hpd_analyst"]).json()
    assert [v["body"]["summary"] for v in versions] == [SECRET_WORDS, SECRET_WORDS]
    named = client.get(f"/api/v1/records/{record['id']}", headers=world["headers"]["kpd_named"])
    assert named.status_code == 200 and named.json()["body"]["summary"] == SECRET_WORDS


def test_a_sealed_value_moved_to_another_row_does_not_open(client, world, db):
    first, second = _record(client, world), _record(client, world)
    refresh(db)
    a, b = db.get(Record, uuid.UUID(first["id"])), db.get(Record, uuid.UUID(second["id"]))
    key = vault.unwrap(db, [a.data_key_id])[a.data_key_id]
    with pytest.raises(vault.SealBroken):
        vault.open_sealed(key, a.body_sealed, b"accord:record:" + b.id.bytes)
    db.rollback()


def test_keys_never_appear_in_logs_or_api_output(client, world, db, caplog):
    caplog.set_level("DEBUG")
    record = _record(client, world)
    refresh(db)
    row = db.get(Record, uuid.UUID(record["id"]))
    material = vault.unwrap(db, [row.data_key_id])[row.data_key_id]
    wrapped = db.get(DataKey, row.data_key_id).wrapped
    db.rollback()
    outputs = [
        client.get(f"/api/v1/records/{record['id']}", headers=world["headers"]["hpd_analyst"]).text,
        client.get(f"/api/v1/records/{record['id']}/explain", headers=world["headers"]["hpd_analyst"]).text,
        client.get("/api/v1/records/export.json", headers=world["headers"]["hpd_analyst"]).text,
        client.get("/api/v1/audit/events", headers=world["headers"]["hpd_admin"]).text,
        caplog.text,
        repr(vault.keyring()),
    ]
    master = vault.keyring().current
    forms = [material, wrapped, master]
    needles = [f(x) for x in forms for f in (base64.b64encode, base64.urlsafe_b64encode, lambda v: v.hex().encode())]
    for output in outputs:
        for needle in needles:
            assert needle.decode() not in output
    assert str(row.data_key_id) not in outputs[0]


# --- master key rotation --------------------------------------------------------------------------


def test_rotation_rewraps_every_key_while_reads_go_on(client, world, db, run_cli, settings, tmp_path):
    records = [_record(client, world) for _ in range(3)]
    old = keyring_for(settings)
    generated = run_cli("keys", "generate", str(tmp_path / "master.key"))
    assert generated.exit_code == 0, generated.output
    new_key = (tmp_path / "master.key").read_text().strip()
    assert new_key not in generated.output and (tmp_path / "master.key").stat().st_mode & 0o077 == 0
    rotated_env = {"ACCORD_MASTER_KEY_FILE": str(tmp_path / "master.key"), "ACCORD_PREVIOUS_MASTER_KEYS": "derived"}
    both = settings.model_copy(update={"master_key": new_key, "previous_master_keys": "derived"})
    try:
        # Servers get the new key first (the old one still listed), then the rewrap runs in
        # batches: in between, keys under both master keys are read side by side.
        vault.configure(both)
        refresh(db)
        assert vault.rewrap_batch(db, actor=None, username="test", limit=1).count == 1
        db.commit()
        for record in records:
            read = client.get(f"/api/v1/records/{record['id']}", headers=world["headers"]["hpd_analyst"])
            assert read.json()["body"]["summary"] == SECRET_WORDS
        status = run_cli("keys", "status", env=rotated_env)
        assert status.exit_code == 0 and old.current_id in status.output
        result = run_cli("keys", "rotate-master", "--batch", "7", env=rotated_env)
        assert result.exit_code == 0, result.output
        assert new_key not in result.output and "data keys rewrapped" in result.output
        refresh(db)
        assert set(vault.census(db)) == {both_id := keyring_for(both).current_id}
        # The old master key is no longer needed ... nor enough.
        vault.configure(settings.model_copy(update={"master_key": new_key}))
        for record in records:
            read = client.get(f"/api/v1/records/{record['id']}", headers=world["headers"]["hpd_analyst"])
            assert read.json()["body"]["summary"] == SECRET_WORDS
        vault.configure(settings)
        lost = client.get(f"/api/v1/records/{records[0]['id']}", headers=world["headers"]["hpd_analyst"])
        assert_error(lost, 503, "key_unavailable")
        events = client.get(
            "/api/v1/audit/events", params={"action": "vault.master.rewrap"}, headers=world["headers"]["hpd_admin"]
        )
        assert events.status_code == 200
    finally:
        back = run_cli("keys", "rotate-master", env={"ACCORD_PREVIOUS_MASTER_KEYS": new_key})
        assert back.exit_code == 0, back.output
        vault.configure(settings)
    refresh(db)
    assert set(vault.census(db)) == {old.current_id} and both_id != old.current_id


def test_rotation_refuses_when_the_old_key_is_missing(run_cli, client, world, tmp_path):
    _record(client, world)
    other = base64.b64encode(b"\x07" * 32).decode()
    result = run_cli("keys", "rotate-master", env={"ACCORD_MASTER_KEY": other})
    assert result.exit_code == 1 and "ACCORD_PREVIOUS_MASTER_KEYS" in result.output


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"ACCORD_MASTER_KEY": "not base64!"}, "ACCORD_MASTER_KEY is not base64"),
        ({"ACCORD_MASTER_KEY": base64.b64encode(b"short").decode()}, "must hold 32 bytes"),
        ({"ACCORD_MASTER_KEY_FILE": "/nonexistent/master.key"}, "ACCORD_MASTER_KEY_FILE cannot be read"),
        ({"ACCORD_PREVIOUS_MASTER_KEYS": "derived,???"}, "ACCORD_PREVIOUS_MASTER_KEYS is not base64"),
        ({"ACCORD_AUDIT_SIGNING_KEY": "c2hvcnQ="}, "ACCORD_AUDIT_SIGNING_KEY must hold 32 bytes"),
    ],
)
def test_a_bad_key_setting_is_named(run_cli, env, message):
    result = run_cli("keys", "status", env=env)
    assert result.exit_code == 1 and message in result.output and "Traceback" not in result.output


def test_generate_refuses_to_overwrite(run_cli, tmp_path):
    target = tmp_path / "exists.key"
    target.write_text("keep me\n")
    result = run_cli("keys", "generate", str(target))
    assert result.exit_code == 1 and "cannot create" in result.output and target.read_text() == "keep me\n"


# --- retention under a clause (recipients) ---------------------------------------------------------


@pytest.fixture(scope="module")
def retained(world, app) -> dict[str, Any]:
    """A second HPD→KPD agreement: threat indicators for 30 days only."""
    from fastapi.testclient import TestClient

    h, ids = world["headers"], world["ids"]
    with TestClient(app) as client:
        draft = {
            "kind": "data_use",
            "title": "Indicators, thirty days",
            "text": "Indicators are kept thirty days after they are shared.",
            "parties": [str(ids["HPD"]), str(ids["KPD"])],
            "effective_at": (utcnow() - timedelta(minutes=5)).isoformat(),
            "clauses": [
                {
                    "kind": "sharing",
                    "providers": [str(ids["HPD"])],
                    "recipients": [str(ids["KPD"])],
                    "categories": ["threat_indicator"],
                    "max_tier": "AMBER",
                    "purposes": ["threat_analysis"],
                    "retention_days": 30,
                }
            ],
        }
        agreement = client.post("/api/v1/agreements", json=draft, headers=h["hpd_coordinator"])
        assert agreement.status_code == 201, agreement.text
        propose_and_sign(client, agreement.json()["id"], h, ids)
    return {"agreement": agreement.json()["id"]}


def _indicator(client: Any, world: dict[str, Any], value: str) -> str:
    record = _record(
        client,
        world,
        category="threat_indicator",
        tier="AMBER",
        purpose="threat_analysis",
        title=f"Indicator {value}",
        body={"indicator_type": "domain", "value": value},
    )
    return str(record["id"])


def test_shared_data_disappears_from_recipients_after_the_clause_retention(client, world, retained, db):
    h = world["headers"]
    fresh, old = _indicator(client, world, "fresh.example"), _indicator(client, world, "stale.example")
    _age(db, old, 31)
    _age(db, fresh, 29)
    # Only the category of these two: public records of other tests and of the demo's
    # weeks of calls for service would otherwise fill the page.
    listed = client.get(
        "/api/v1/records", params={"limit": 200, "category": "threat_indicator"}, headers=h["kpd_analyst"]
    ).json()
    seen = {r["id"] for r in listed["items"]}
    assert fresh in seen and old not in seen
    assert_error(client.get(f"/api/v1/records/{old}", headers=h["kpd_analyst"]), 404, "not_found")
    assert_error(client.get(f"/api/v1/records/{old}/history", headers=h["kpd_analyst"]), 404, "not_found")
    explained = client.get(f"/api/v1/records/{fresh}/explain", headers=h["kpd_analyst"]).json()
    assert explained["access"] == "grant" and explained["grants"][0]["agreement_id"] == retained["agreement"]
    # The owner keeps its own record; an edit shares it again and restarts the period.
    assert client.get(f"/api/v1/records/{old}", headers=h["hpd_analyst"]).status_code == 200
    edited = client.patch(
        f"/api/v1/records/{old}",
        json={
            "revision": 1,
            "body": {"indicator_type": "domain", "value": "stale.example", "description": "still active"},
        },
        headers=h["hpd_analyst"],
    )
    assert edited.status_code == 200, edited.text
    assert client.get(f"/api/v1/records/{old}", headers=h["kpd_analyst"]).status_code == 200
    versions = client.get(f"/api/v1/records/{old}/history", headers=h["kpd_analyst"]).json()
    assert [v["number"] for v in versions] == [2]  # the version shared 31 days ago stays gone


# --- owners' retention, legal hold and purge ---------------------------------------------------------


def test_retention_settings_api_and_bad_input(client, world):
    h, hpd = world["headers"], world["ids"]["HPD"]
    url = f"/api/v1/records/retention/{hpd}"
    rows = client.get(url, headers=h["hpd_admin"]).json()
    assert {r["category"] for r in rows} >= {"bolo", "case_summary"} and all(r["retention_days"] is None for r in rows)
    saved = client.put(f"{url}/bolo", json={"retention_days": 400}, headers=h["hpd_admin"])
    assert saved.status_code == 200 and {r["category"]: r["retention_days"] for r in saved.json()}["bolo"] == 400
    cleared = client.put(f"{url}/bolo", json={"retention_days": None}, headers=h["hpd_admin"])
    assert {r["category"]: r["retention_days"] for r in cleared.json()}["bolo"] is None
    error = assert_error(client.put(f"{url}/bolo", json={"retention_days": 0}, headers=h["hpd_admin"]), 422, "invalid")
    assert error["fields"][0]["field"] == "retention_days"
    assert_error(client.put(f"{url}/bolo", json={"days": 5}, headers=h["hpd_admin"]), 422, "invalid")
    error = assert_error(
        client.put(f"{url}/recipes", json={"retention_days": 5}, headers=h["hpd_admin"]), 422, "invalid"
    )
    assert error["fields"][0]["field"] == "category"
    assert_error(client.put(f"{url}/bolo", json={"retention_days": 5}, headers=h["hpd_analyst"]), 403, "forbidden")
    other = world["ids"]["KPD"]
    assert_error(client.get(f"/api/v1/records/retention/{other}", headers=h["hpd_admin"]), 403, "forbidden")
    assert_error(client.get(f"/api/v1/records/retention/{uuid.uuid4()}", headers=h["hpd_admin"]), 404, "not_found")


def test_legal_hold_api_and_bad_input(client, world):
    h = world["headers"]
    record_id = _record(client, world, tier="AMBER", category="bolo", body={"subject_description": "hold me"})["id"]
    url = f"/api/v1/records/{record_id}/legal-hold"
    assert_error(client.put(url, json={"reason": "x"}, headers=h["hpd_admin"]), 422, "invalid")
    assert_error(client.put(url, json={"reason": "Litigation HPD v. Doe"}, headers=h["hpd_analyst"]), 403, "forbidden")
    assert_error(client.put(url, json={"reason": "Litigation HPD v. Doe"}, headers=h["kpd_admin"]), 403, "forbidden")
    assert_error(client.put(url, json={"reason": "Litigation HPD v. Doe"}, headers=h["ccso_viewer"]), 403, "forbidden")
    held = client.put(url, json={"reason": "Litigation HPD v. Doe"}, headers=h["hpd_admin"])
    assert held.status_code == 200 and held.json()["legal_hold"] is True
    assert held.json()["legal_hold_reason"] == "Litigation HPD v. Doe"
    assert_error(client.put(url, json={"reason": "again"}, headers=h["hpd_admin"]), 422, "invalid")
    partner = client.get(f"/api/v1/records/{record_id}", headers=h["kpd_analyst"]).json()
    assert partner["legal_hold"] is None and partner["legal_hold_reason"] is None
    released = client.delete(url, headers=h["hpd_admin"])
    assert released.status_code == 200 and released.json()["legal_hold"] is False
    assert_error(client.delete(url, headers=h["hpd_admin"]), 422, "invalid")


def test_purge_removes_expired_records_keeps_held_ones_and_shreds_their_keys(client, world, db, run_cli, settings):
    h, hpd = world["headers"], world["ids"]["HPD"]
    expired = _record(client, world, category="case_summary")
    _attach(client, world, expired["id"])
    kept_young = _record(client, world, category="case_summary")
    held = _record(client, world, category="case_summary")
    for record_id in (expired["id"], held["id"]):
        _age(db, record_id, 11)
    _age(db, kept_young["id"], 9)
    hold = client.put(
        f"/api/v1/records/{held['id']}/legal-hold", json={"reason": "Subpoena 26-9"}, headers=h["hpd_admin"]
    )
    assert hold.status_code == 200
    assert (
        client.put(
            f"/api/v1/records/retention/{hpd}/case_summary", json={"retention_days": 10}, headers=h["hpd_admin"]
        ).status_code
        == 200
    )
    due = {r["category"]: r for r in client.get(f"/api/v1/records/retention/{hpd}", headers=h["hpd_admin"]).json()}
    assert due["case_summary"]["held"] >= 1 and due["case_summary"]["due"] >= 1
    # What a backup taken before the purge holds: the sealed body and the wrapped key.
    refresh(db)
    row = db.get(Record, uuid.UUID(expired["id"]))
    sealed, key_id = row.body_sealed, row.data_key_id
    wrapped = db.get(DataKey, key_id).wrapped
    db.rollback()

    result = run_cli("records", "purge")
    assert result.exit_code == 0, result.output
    assert "records purged" in result.output and "kept on legal hold" in result.output
    refresh(db)
    assert db.get(Record, uuid.UUID(expired["id"])) is None
    assert db.scalar(select(RecordRevision.id).where(RecordRevision.record_id == uuid.UUID(expired["id"]))) is None
    assert db.scalar(select(Attachment.id).where(Attachment.record_id == uuid.UUID(expired["id"]))) is None
    assert db.get(Record, uuid.UUID(held["id"])) is not None and db.get(Record, uuid.UUID(kept_young["id"]))
    assert db.get(DataKey, key_id) is None
    # Crypto-shredding: with the master key and every key left, the old ciphertext is noise.
    ring = vault.keyring()
    for key in db.scalars(select(DataKey)):
        material = ring.unwrap(key.master_key_id, key.wrapped, b"data-key:" + key.id.bytes + key.agency_id.bytes)
        with pytest.raises(vault.SealBroken):
            vault.open_sealed(material, sealed, b"accord:record:" + uuid.UUID(expired["id"]).bytes)
    if BACKEND == "sqlite":
        assert wrapped not in _sqlite_file_bytes(db)  # overwritten, not left in a free page
    db.rollback()
    assert_error(client.get(f"/api/v1/records/{expired['id']}", headers=h["hpd_analyst"]), 404, "not_found")
    events = client.get(
        "/api/v1/audit/events", params={"action": "sharing.record.purge", "limit": 200}, headers=h["hpd_admin"]
    ).json()["items"]
    mine = [e for e in events if e["object_id"] == expired["id"]]
    assert len(mine) == 1 and mine[0]["details"]["key_destroyed"] is True
    assert mine[0]["details"]["retention_days"] == 10
    # A second run finds nothing more to do and logs nothing twice.
    again = run_cli("records", "purge")
    assert again.exit_code == 0 and again.output.startswith("0 records purged")
    client.put(f"/api/v1/records/retention/{hpd}/case_summary", json={"retention_days": None}, headers=h["hpd_admin"])


def test_the_scheduled_purge_task_runs_on_its_own(client, world, db, session_factory):
    import threading

    from accord.core.scheduler import Periodic
    from accord.sharing.tasks import purge_task

    h, hpd = world["headers"], world["ids"]["HPD"]
    record_id = _record(client, world, category="bolo", tier="AMBER", body={"subject_description": "old"})["id"]
    _age(db, record_id, 3)
    client.put(f"/api/v1/records/retention/{hpd}/bolo", json={"retention_days": 2}, headers=h["hpd_admin"])
    ran = threading.Event()

    def job() -> None:
        if purge_task(session_factory):
            ran.set()

    periodic = Periodic("test-purge", 0.05, job)
    periodic.start()
    try:
        assert ran.wait(10)
    finally:
        periodic.stop()
        client.put(f"/api/v1/records/retention/{hpd}/bolo", json={"retention_days": None}, headers=h["hpd_admin"])
    refresh(db)
    assert db.get(Record, uuid.UUID(record_id)) is None


def test_retention_page_and_legal_hold_panel(client, world, make_user, db):
    from accord.directory.models import Agency
    from tests.conftest import ARTIFACTS

    short = db.get(Agency, world["ids"]["HPD"]).short_name
    admin = make_user("agency_admin", short)
    assert browser_login(client, admin["username"], admin["password"]).status_code == 200
    page = client.get("/records/retention")
    assert page.status_code == 200 and "Keep for (days after last change)" in page.text
    token = csrf_from(page.text)
    bad = client.post(
        "/records/retention", data={"csrf_token": token, "agency_id": str(world["ids"]["HPD"]), "days_bolo": "-3"}
    )
    assert bad.status_code == 422 and "a whole number of days" in bad.text
    good = client.post(
        "/records/retention",
        data={"csrf_token": token, "agency_id": str(world["ids"]["HPD"]), "days_incident_report": "3650"},
        follow_redirects=True,
    )
    assert good.status_code == 200 and 'value="3650"' in good.text
    (ARTIFACTS / f"retention-{BACKEND}.html").write_text(good.text)
    record_id = _record(
        client,
        world,
        tier="RED",
        category="bolo",
        red_recipients=[str(world["user_ids"]["kpd_named"])],
        body={"subject_description": "red"},
    )["id"]
    detail = client.get(f"/records/{record_id}")
    assert "Encrypted</span> At rest" in detail.text and "Place on legal hold" in detail.text
    placed = client.post(
        f"/records/{record_id}/legal-hold",
        data={"csrf_token": csrf_from(detail.text), "action": "place", "reason": "Pending appeal"},
        follow_redirects=True,
    )
    assert "On legal hold" in placed.text and "Pending appeal" in placed.text
    client.post(
        "/records/retention",
        data={"csrf_token": token, "agency_id": str(world["ids"]["HPD"]), "days_incident_report": ""},
    )
