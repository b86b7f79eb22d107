"""The record form with its "who will receive this?" preview, editing as new versions,
the history page and attachments, from demo seats (the health district shares outbreak
cases with the three county emergency management agencies under the outbreak MOU)."""

from __future__ import annotations

import re
import uuid

from sqlalchemy import select

from accord.directory.models import Agency
from accord.sharing.models import Record
from tests.conftest import browser_login, csrf_from, refresh, unique

PNG = b"\x89PNG\r\n\x1a\n" + bytes(64)


def _signed_in(client, make_user, role, agency):
    user = make_user(role, agency)
    assert browser_login(client, user["username"]).status_code == 200
    return user


def _agency_id(db, short_name: str) -> str:
    return str(db.scalar(select(Agency.id).where(Agency.short_name == short_name)))


def _case_form(client, db, record_title: str, **changes: str) -> dict[str, str]:
    token = csrf_from(client.get("/records/new?category=public_health_case").text)
    return {
        "csrf_token": token,
        "category": "public_health_case",
        "owner_agency_id": _agency_id(db, "HVHD"),
        "tier": "AMBER",
        "purpose": "public_health_response",
        "title": record_title,
        "event_at": "2026-11-21T09:15",
        "body.condition": "Salmonella",
        "body.case_count": "4",
        "body.patient_name": "R. Okafor",
        "body.diagnosis_details": "S. enteritidis confirmed",
        "latitude": "41.52",
        "longitude": "-88.08",
        **changes,
    }


def test_the_form_shows_the_category_fields_with_their_labels(client, make_user):
    _signed_in(client, make_user, "analyst", "HVHD")
    html = client.get("/records/new?category=public_health_case").text
    for name in ("body.condition", "body.case_count", "body.onset_date", "body.patient_name", "body.lab_results"):
        assert f'name="{name}"' in html
    assert '<span class="label-tag" title="' in html and ">PHI</span>" in html
    assert 'type="number"' in html and 'type="date"' in html
    assert 'name="body.facility"' in client.get("/records/new?category=inspection_finding").text


def test_preview_names_the_recipients_before_saving(client, make_user, db):
    _signed_in(client, make_user, "analyst", "HVHD")
    title = unique("Salmonella at the county fair ")
    preview = client.post("/records/new", data={**_case_form(client, db, title), "action": "preview"})
    assert preview.status_code == 200
    assert "Who will receive this?" in preview.text
    for county in ("(CCEMA)", "(MCEMA)", "(TCEMA)"):
        assert county in preview.text
    assert "PII" in preview.text  # the MOU grants PII, not PHI
    refresh(db)
    assert db.scalar(select(Record).where(Record.title == title)) is None  # a preview saves nothing
    # Purpose not covered by any clause: nobody outside the agency.
    lonely = client.post(
        "/records/new", data={**_case_form(client, db, title, purpose="planning"), "action": "preview"}
    )
    assert "Nobody outside your agency" in lonely.text


def test_saving_creates_the_record_and_partners_see_it_masked(client, make_user, db):
    _signed_in(client, make_user, "analyst", "HVHD")
    title = unique("Salmonella at the fairground ")
    saved = client.post("/records/new", data={**_case_form(client, db, title), "action": "save"})
    assert saved.status_code == 200 and title in saved.text
    refresh(db)
    record = db.scalar(select(Record).where(Record.title == title))
    assert record is not None and record.body["case_count"] == 4 and record.geometry["type"] == "Point"
    assert record.event_at.isoformat().startswith("2026-11-21T09:15")
    client.cookies.clear()
    _signed_in(client, make_user, "coordinator", "MCEMA")
    html = client.get(f"/records/{record.id}").text
    assert "R. Okafor" in html and "S. enteritidis" not in html and "Masked — PHI not granted" in html


def test_bad_input_is_shown_next_to_the_field(client, make_user, db):
    _signed_in(client, make_user, "analyst", "HVHD")
    cases = [
        ({"body.condition": ""}, "body.condition"),
        ({"body.case_count": "many"}, "body.case_count"),
        ({"tier": "PURPLE"}, "tier"),
        ({"latitude": ""}, "latitude"),
        ({"longitude": "east"}, "longitude"),
        ({"event_at": ""}, "event_at"),
        ({"tier": "RED"}, "red_recipients"),
        ({"tier": "RED", "red_recipients": "nobody-by-this-name"}, "red_recipients"),
        ({"title": "x"}, "title"),
    ]
    for changes, field in cases:
        response = client.post(
            "/records/new", data={**_case_form(client, db, "Bad input case", **changes), "action": "save"}
        )
        assert response.status_code == 422, (changes, response.text[:300])
        assert f'id="{field}-error"' in response.text, (changes, field)
    # Another agency is not yours to write for.
    other = client.post(
        "/records/new",
        data={**_case_form(client, db, "Not mine", owner_agency_id=_agency_id(db, "HVWA")), "action": "save"},
    )
    assert other.status_code == 403


def test_the_form_needs_its_csrf_token(client, make_user, db):
    _signed_in(client, make_user, "analyst", "HVHD")
    form = {**_case_form(client, db, "No token"), "action": "save"}
    del form["csrf_token"]
    assert client.post("/records/new", data=form).status_code == 403


def test_edit_makes_a_version_and_history_shows_both(client, make_user, db):
    _signed_in(client, make_user, "analyst", "HVHD")
    title = unique("Campylobacter at a restaurant ")
    client.post("/records/new", data={**_case_form(client, db, title), "action": "save"})
    refresh(db)
    record = db.scalar(select(Record).where(Record.title == title))
    edit = client.get(f"/records/{record.id}/edit")
    assert edit.status_code == 200 and 'name="revision" value="1"' in edit.text
    form = {
        "csrf_token": csrf_from(edit.text),
        "revision": "1",
        "tier": "AMBER",
        "purpose": "public_health_response",
        "title": title,
        "event_at": "2026-11-21T09:15",
        "body.condition": "Campylobacter",
        "body.case_count": "7",
        "note": "three more cases",
        "latitude": "41.52",
        "longitude": "-88.08",
    }
    saved = client.post(f"/records/{record.id}/edit", data=form)
    assert saved.status_code == 200 and "version 2" in saved.text
    stale = client.post(f"/records/{record.id}/edit", data={**form, "body.case_count": "9"})
    assert stale.status_code == 409 and "changed meanwhile" in stale.text
    history = client.get(f"/records/{record.id}/history").text
    assert "Version 2" in history and "Version 1" in history and "three more cases" in history
    assert re.search(r"Changed:.*case count", history, re.S)
    # A partner may read but not edit.
    client.cookies.clear()
    _signed_in(client, make_user, "coordinator", "MCEMA")
    assert client.get(f"/records/{record.id}/edit").status_code == 403
    assert "Version 2" in client.get(f"/records/{record.id}/history").text
    client.cookies.clear()
    _signed_in(client, make_user, "analyst", "HVWA")
    assert client.get(f"/records/{record.id}/history").status_code == 404
    assert client.get(f"/records/{uuid.uuid4()}/history").status_code == 404


def test_attach_and_remove_a_file_from_the_record_page(client, make_user, db):
    _signed_in(client, make_user, "analyst", "HVHD")
    title = unique("Norovirus at a care home ")
    client.post("/records/new", data={**_case_form(client, db, title), "action": "save"})
    refresh(db)
    record = db.scalar(select(Record).where(Record.title == title))
    page = client.get(f"/records/{record.id}").text
    token = csrf_from(page)
    attached = client.post(
        f"/records/{record.id}/attachments",
        data={"csrf_token": token, "label": "PHI"},
        files={"file": ("lab-sheet.png", PNG, "image/png")},
    )
    assert attached.status_code == 200 and "Attached." in attached.text and "lab-sheet.png" in attached.text
    refused = client.post(
        f"/records/{record.id}/attachments",
        data={"csrf_token": token},
        files={"file": ("notes.pdf", PNG, "application/pdf")},
    )
    assert "Not attached" in refused.text and "not the declared application/pdf" in refused.text
    # The partner sees the file listed as masked (PHI is not granted to emergency management).
    client.cookies.clear()
    _signed_in(client, make_user, "coordinator", "MCEMA")
    partner = client.get(f"/records/{record.id}").text
    assert "lab-sheet.png — masked, PHI not granted" in partner
    client.cookies.clear()
    _signed_in(client, make_user, "analyst", "HVHD")
    page = client.get(f"/records/{record.id}").text
    attachment_id = re.search(r"/attachments/([0-9a-f-]{36})/delete", page).group(1)
    removed = client.post(
        f"/records/{record.id}/attachments/{attachment_id}/delete", data={"csrf_token": csrf_from(page)}
    )
    assert removed.status_code == 200 and "lab-sheet.png" not in removed.text


def test_editing_keeps_what_the_form_does_not_show(client, make_user, db):
    """A RED record's named people come back in the form, and an area (not a point) drawn
    through the API survives an edit of the text."""
    analyst = _signed_in(client, make_user, "analyst", "HVHD")
    title = unique("Measles exposure at the clinic ")
    client.post(
        "/records/new",
        data={**_case_form(client, db, title, tier="RED", red_recipients=analyst["username"]), "action": "save"},
    )
    refresh(db)
    record = db.scalar(select(Record).where(Record.title == title))
    assert record is not None and record.tier == "RED"
    edit = client.get(f"/records/{record.id}/edit").text
    assert f'value="{analyst["username"]}"' in edit
    area = {"type": "Polygon", "coordinates": [[[-88.1, 41.5], [-88.0, 41.5], [-88.0, 41.6], [-88.1, 41.5]]]}
    record.geometry = area  # as if drawn through the API
    db.commit()
    form = {
        "csrf_token": csrf_from(edit),
        "revision": "1",
        "tier": "RED",
        "purpose": "public_health_response",
        "title": title,
        "event_at": "2026-11-21T09:15",
        "body.condition": "Measles",
        "red_recipients": analyst["username"],
        "note": "condition confirmed",
    }
    saved = client.post(f"/records/{record.id}/edit", data=form)
    assert saved.status_code == 200, saved.text[:500]
    refresh(db)
    record = db.get(Record, record.id)
    assert record.revision == 2 and record.geometry == area and len(record.red_recipients) == 1
