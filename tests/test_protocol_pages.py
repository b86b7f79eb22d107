"""Protocol pages through the HTML routes like a person: the list and the printable
document of the demo protocols, the editor (CSRF, field errors next to the fields, more
rows without saving, publishing), version history with its diff, the incident panel, and
the agreements clause editor offering published protocol versions."""

from __future__ import annotations

import html as htmlmod
import re
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from accord.agreements.models import Partnership
from accord.core.time import utcnow
from accord.directory.models import Agency
from accord.seed_protocols import COMPACT, MOU_TITLE
from tests.conftest import api_token, bearer, browser_login, csrf_from


@pytest.fixture
def ids(db) -> dict[str, uuid.UUID]:
    found = {a.short_name: a.id for a in db.scalars(select(Agency)).unique()}
    found["COMPACT"] = db.scalar(select(Partnership.id).where(Partnership.name == COMPACT))
    db.rollback()
    return found


@pytest.fixture
def seat(app, make_user) -> Iterator[Any]:
    """``seat(role, agency)``: a browser-like client signed in as a fresh user, and the user."""
    clients: list[TestClient] = []

    def _seat(role: str, agency: str | None) -> tuple[TestClient, dict[str, Any]]:
        user = make_user(role, agency)
        client = TestClient(app, base_url="http://testserver")
        client.__enter__()
        clients.append(client)
        app.state.login_limiter.reset()
        assert browser_login(client, user["username"], user["password"]).status_code == 200
        return client, user

    yield _seat
    for client in clients:
        client.__exit__(None, None, None)


def text_of(response: Any) -> str:
    """The page's text as a person reads it: tags dropped, white space collapsed."""
    return re.sub(r"\s+", " ", htmlmod.unescape(re.sub(r"<[^>]+>", " ", response.text)))


def post(client: TestClient, url: str, data: dict[str, Any], page: str) -> Any:
    token = csrf_from(client.get(page).text)
    return client.post(url, data={**data, "csrf_token": token}, follow_redirects=False)


def field_error(response: Any, fid: str) -> str:
    match = re.search(rf'<p class="field-error" id="{re.escape(fid)}-error">([^<]*)</p>', response.text)
    assert match, f"no error shown for {fid}"
    return htmlmod.unescape(match.group(1))


def protocol_id(client: TestClient, title: str) -> str:
    page = client.get("/protocols").text
    match = re.search(r'<a href="/protocols/([0-9a-f-]{36})">' + re.escape(title) + "</a>", page)
    assert match, f"{title} not listed"
    return match.group(1)


def test_demo_protocols_read_as_documents_for_members_and_not_at_all_for_others(seat):
    member, _ = seat("viewer", "LHFD")
    listed = text_of(member.get("/protocols"))
    for title in ("Fire at a crime scene", "Impaired driver needing medical care", "Active threat at a school"):
        assert title in listed
    assert "v2 draft" in listed and "v2 published" in listed
    pid = protocol_id(member, "Fire at a crime scene")
    page = member.get(f"/protocols/{pid}")
    assert page.status_code == 200
    body = text_of(page)
    assert "Version 2" in body and "published" in body and "8 steps, 2 decision points" in body
    assert "Decides Incident commander" in body and "Decides Safety officer" in body
    assert "Is there a known or possible life hazard inside?" in body and "Yes Offensive entry" in body
    assert "Role of each agency kind" in body and "Perimeter, scene log, evidence" in body
    assert 'href="tel:+1-570-555-0127"' in page.text
    assert MOU_TITLE in body and "by 12 agencies" in body
    assert "SHA-256 of this version's canonical content" in body
    assert "/edit" not in page.text  # a viewer does not write
    assert 'class="btn btn-ghost" type="button" data-print' in page.text
    filtered = text_of(member.get("/protocols", params={"incident_type": "flood"}))
    assert "Swift-water rescue during a flood" in filtered and "Fire at a crime scene" not in filtered
    assert member.get("/protocols", params={"incident_type": "volcano"}).status_code == 200

    outsider, _ = seat("viewer", "HVFC")  # neither a member of the compact nor an adopter
    assert "Fire at a crime scene" not in text_of(outsider.get("/protocols"))
    assert outsider.get(f"/protocols/{pid}").status_code == 404
    assert outsider.get(f"/protocols/{pid}/history").status_code == 404


def test_the_editor_shows_errors_by_field_adds_rows_and_saves_then_publishes(seat, ids, db):
    coordinator, _ = seat("coordinator", "MCEMA")
    form = coordinator.get("/protocols/new")
    assert form.status_code == 200 and COMPACT in text_of(form)
    assert 'name="step-4-text"' in form.text and 'name="step-5-text"' not in form.text
    blank = {"partnership_id": str(ids["COMPACT"]), "title": "Hazmat spill on the river", "step_rows": "5"}
    no_csrf = coordinator.post("/protocols/new", data=blank, follow_redirects=False)
    assert no_csrf.status_code == 403
    more = post(coordinator, "/protocols/new", blank | {"more": "steps"}, "/protocols/new")
    assert more.status_code == 200 and 'name="step-7-text"' in more.text
    refused = post(
        coordinator,
        "/protocols/new",
        blank | {"step-1-text": "Isolate the spill", "step-1-question": "Is it reaching the intake?"},
        "/protocols/new",
    )
    assert refused.status_code == 422
    assert field_error(refused, "incident_types") == "add at least one"
    assert field_error(refused, "step-1-actor") == "choose who acts"
    assert field_error(refused, "step-1-decided_by") == "choose who decides"
    assert (
        'value="Isolate the spill"' not in refused.text and "Isolate the spill" in refused.text
    )  # kept in its textarea
    bad_phone = post(
        coordinator,
        "/protocols/new",
        blank
        | {
            "incident_types": "hazmat",
            "step-0-text": "Isolate the spill",
            "step-0-actor": "agency_kind:fire",
            "contact_rows": "1",
            "contact-0-name": "Renee Thibodeaux",
            "contact-0-role": "Water authority",
            "contact-0-agency_id": str(ids["HVWA"]),
            "contact-0-phone": "call the plant",
        },
        "/protocols/new",
    )
    assert bad_phone.status_code == 422 and "7 to 15 digits" in field_error(bad_phone, "contact-0-phone")
    saved = post(
        coordinator,
        "/protocols/new",
        blank
        | {
            "incident_types": ["hazmat", "flood"],
            "step-0-text": "Isolate the spill and deny entry",
            "step-0-actor": "role:first_arriving_unit",
            "step-2-text": "Decide on the water intake",
            "step-2-actor": "agency_kind:utility",
            "step-2-question": "Is the spill upstream of the intake?",
            "step-2-decided_by": "agency_kind:utility",
            "step-2-if_yes": "Close the intake",
            "role-fire": "Hazmat team, containment",
        },
        "/protocols/new",
    )
    assert saved.status_code == 303, text_of(saved)[:2000]
    url = saved.headers["location"]
    page = text_of(coordinator.get(url))
    assert "Draft version 1" in page and "Publish version 1" in page and "2 steps, 1 decision point" in page
    published = post(coordinator, f"{url}/publish", {"version": "1"}, url)
    assert published.status_code == 303
    page = text_of(coordinator.get(url))
    assert "Draft version" not in page and "SHA-256 of this version" in page
    stale = post(coordinator, f"{url}/publish", {"version": "1"}, url)
    assert stale.status_code == 303 and "already published" in text_of(coordinator.get(url))

    edit = coordinator.get(f"{url}/edit")
    assert "Edit — opens version 2" in text_of(edit) and 'value="Hazmat spill on the river"' in edit.text
    token = csrf_from(edit.text)
    fields = dict(re.findall(r'<input id="[^"]+" name="([^"]+)" type="(?:text|tel)" value="([^"]*)"', edit.text))
    data = {k: htmlmod.unescape(v) for k, v in fields.items()} | {
        "title": "Hazmat spill on the river (rev. 2)",
        "incident_types": ["hazmat", "flood"],
        "step_rows": "5",
        "contact_rows": "2",
        "step-0-text": "Isolate the spill and deny entry",
        "step-0-actor": "role:first_arriving_unit",
        "step-1-text": "Decide on the water intake",
        "step-1-actor": "agency_kind:utility",
        "step-1-decided_by": "agency_kind:utility",
        "role-fire": "Hazmat team, containment",
        "csrf_token": token,
    }
    opened = coordinator.post(f"{url}/edit", data=data, follow_redirects=False)
    assert opened.status_code == 303 and opened.headers["location"].endswith("/versions/2")
    history = text_of(coordinator.get(f"{url}/history"))
    assert "Version 2" in history and "Version 1" in history
    assert "- Title: Hazmat spill on the river + Title: Hazmat spill on the river (rev. 2)" in history


def test_only_member_writers_open_the_editor(seat):
    viewer, _ = seat("viewer", "MCEMA")
    assert viewer.get("/protocols/new").status_code == 403
    commander, _ = seat("commander", "HVFC")  # may write protocols, but not the compact's
    pid = protocol_id(seat("viewer", "LHFD")[0], "Fire at a crime scene")
    assert commander.get(f"/protocols/{pid}/edit").status_code == 404
    adopter, _ = seat("commander", "MCEMA")  # a member: it may
    assert adopter.get(f"/protocols/{pid}/edit").status_code == 200


def test_the_incident_panel_shows_the_attached_protocols_to_those_taking_part(seat, client, ids, make_user):
    user = make_user("commander", "LHFD")
    headers = bearer(api_token(client, user["username"]))
    body = {
        "lead_agency_id": str(ids["LHFD"]),
        "name": "Kettle Creek flash flood",
        "type": "flood",
        "severity": "severe",
        "participants": [str(ids["HPD"])],
    }
    incident = client.post("/api/v1/incidents", json=body, headers=headers).json()
    responder, _ = seat("viewer", "HPD")
    page = responder.get(f"/incidents/{incident['id']}/protocols")
    assert page.status_code == 200
    text = text_of(page)
    assert "Protocols for Kettle Creek flash flood" in text and "Swift-water rescue during a flood" in text
    assert "Fire at a crime scene" not in text  # a structure-fire protocol, not a flood one
    assert 'type="checkbox" id="p1-done-1"' in page.text and "Decides Incident commander" in text
    assert MOU_TITLE in text
    assert "you" in text  # the responder's own agency kind is marked in the roles table
    stranger, _ = seat("viewer", "HVFC")
    assert stranger.get(f"/incidents/{incident['id']}/protocols").status_code == 404
    assert stranger.get(f"/incidents/{uuid.uuid4()}/protocols").status_code == 404


def test_the_clause_editor_adopts_a_published_protocol_version(seat, client, ids, make_user):
    coordinator, user = seat("coordinator", "MCEMA")
    headers = bearer(api_token(client, user["username"]))
    draft = client.post(
        "/api/v1/agreements",
        json={
            "kind": "mou",
            "title": "Swift-water protocols for the spring floods",
            "parties": [str(ids["MCEMA"]), str(ids["TCEMA"])],
            "partnership_id": str(ids["COMPACT"]),
            "effective_at": (utcnow() + timedelta(days=1)).isoformat(),
        },
        headers=headers,
    ).json()
    url = f"/agreements/{draft['id']}"
    form = coordinator.get(f"{url}/clauses/new", params={"kind": "protocol"})
    assert form.status_code == 200 and 'name="kind" value="protocol"' in form.text
    options = dict(
        (label, value) for value, label in re.findall(r'<option value="([0-9a-f-]{36})" >([^<]+)</option>', form.text)
    )
    label = next(k for k in options if k.startswith("Swift-water rescue during a flood — version 1"))
    draft_only = next((k for k in options if "version 2" in k and "Active threat" in k), None)
    assert draft_only is None  # a draft version is never offered
    added = post(
        coordinator, f"{url}/clauses", {"kind": "protocol", "protocol_version_id": options[label]}, f"{url}/draft"
    )
    assert added.status_code == 303
    page = text_of(coordinator.get(f"{url}/draft"))
    assert "Clause 1 · Protocol adoption" in page
    assert "follows the protocol “Swift-water rescue during a flood”, version 1 (SHA-256" in page
    refused = post(
        coordinator, f"{url}/clauses", {"kind": "protocol", "protocol_version_id": str(uuid.uuid4())}, f"{url}/draft"
    )
    assert refused.status_code == 422 and "no such protocol version" in text_of(refused)
    document = text_of(coordinator.get(f"{url}/versions/1"))
    assert "Swift-water rescue during a flood" in document
