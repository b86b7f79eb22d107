"""Pages of joint operations (issue 5): the incidents list, opening an incident by form,
the incident page and its live-refreshed sections, the forms on it (each refusal names
the field), the ICS-201 briefing as HTML and PDF, and the operating picture — on both
databases, signed in through the form as a person would."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from sqlalchemy import select

from accord.directory.models import Agency
from accord.operations.models import Incident
from tests.conftest import browser_login, csrf_from


@pytest.fixture
def signed_in(client: Any) -> Any:
    def _as(username: str) -> Any:
        client.cookies.clear()
        response = browser_login(client, username)
        assert response.status_code == 200, response.text[:300]
        return client

    return _as


@pytest.fixture(scope="module")
def flood(session_factory: Any) -> uuid.UUID:
    with session_factory() as db:
        found = db.scalar(select(Incident.id).where(Incident.name == "Harrow River flood"))
    assert found is not None, "the demo flood is seeded"
    return found


def _agency(db: Any, short: str) -> uuid.UUID:
    found = db.scalar(select(Agency.id).where(Agency.short_name == short))
    assert found is not None
    return found


def _open_by_form(client: Any, db: Any, **fields: Any) -> str:
    page = client.get("/incidents/new")
    assert page.status_code == 200
    form = {
        "csrf_token": csrf_from(page.text),
        "name": f"Page test {uuid.uuid4().hex[:6]}",
        "type": "hazmat",
        "severity": "moderate",
        "tier": "AMBER",
        "lead_agency_id": str(_agency(db, "LHFD")),
        "participants": str(_agency(db, "MCEMS")),
        "lon": "-76.70",
        "lat": "40.85",
    } | fields
    response = client.post("/incidents/new", data=form, follow_redirects=False)
    assert response.status_code == 303, response.text[:500]
    return str(response.headers["location"])


def test_the_list_shows_what_the_agency_runs_and_what_partners_share(signed_in, flood):
    client = signed_in("commander")
    html = client.get("/incidents").text
    assert "Harrow River flood" in html and "Harrow Valley Riverfest 2026" in html
    assert "Operating picture (map)" in html and "Planned operations" in html
    assert 'data-last-event-id="' in html and "data-live-status" in html


def test_a_commander_opens_an_incident_by_form_and_refusals_name_the_field(signed_in, db):
    client = signed_in("commander")
    location = _open_by_form(client, db)
    assert re.fullmatch(r"/incidents/[0-9a-f-]{36}", location)
    page = client.get(location).text
    assert "Hazardous-materials release" in page and "Assign a task" in page
    form = client.get("/incidents/new").text
    refused = client.post(
        "/incidents/new",
        data={"csrf_token": csrf_from(form), "name": "x", "type": "hazmat", "severity": "moderate"},
        follow_redirects=False,
    )
    assert refused.status_code == 422
    assert "name" in refused.text and "at least 3 characters" in refused.text
    bad_place = client.post(
        "/incidents/new",
        data={
            "csrf_token": csrf_from(form),
            "name": "Tanker rollover",
            "type": "hazmat",
            "severity": "minor",
            "lon": "east",
        },
        follow_redirects=False,
    )
    assert bad_place.status_code == 422 and "give both longitude and latitude" in bad_place.text
    for area, reason in [("{not json", "not GeoJSON"), ('{"type": "Point", "coordinates": [1, 2]}', "Polygon")]:
        refused_area = client.post(
            "/incidents/new",
            data={
                "csrf_token": csrf_from(form),
                "name": "Tanker rollover",
                "type": "hazmat",
                "severity": "minor",
                "area": area,
            },
            follow_redirects=False,
        )
        assert refused_area.status_code == 422 and reason in refused_area.text, area
    with_area = _open_by_form(
        client,
        db,
        area='{"type": "Polygon", "coordinates": [[[-76.71, 40.84], [-76.69, 40.84], [-76.69, 40.86], [-76.71, 40.84]]]}',
    )
    assert client.get(with_area).status_code == 200
    no_csrf = client.post("/incidents/new", data={"name": "Tanker rollover"}, follow_redirects=False)
    assert no_csrf.status_code == 403


def test_the_incident_page_works_through_its_forms(signed_in, db):
    client = signed_in("commander")
    url = _open_by_form(client, db)
    page = client.get(url)
    token = csrf_from(page.text)
    mcems = str(_agency(db, "MCEMS"))

    def post(path: str, **data: str) -> Any:
        return client.post(url + path, data={"csrf_token": token, **data})

    assert post("/status", status="active").status_code == 200
    assert (
        post(
            "/command", position="incident_commander", agency_id=str(_agency(db, "LHFD")), person_name="Frank DeLuca"
        ).status_code
        == 200
    )
    assert (
        post(
            "/periods",
            starts_at="2026-12-06T06:00",
            ends_at="2026-12-06T18:00",
            objectives="Stop the leak\nProtect the creek",
        ).status_code
        == 200
    )
    added = post(
        "/tasks",
        title="Dike the storm drain",
        assigned_agency_id=mcems,
        assigned_unit="Medic 7",
        priority="urgent",
        lon="-76.701",
        lat="40.851",
    )
    assert added.status_code == 200 and "Task T1 assigned" in added.text
    assert post("/log", text="Hazmat team on scene", unit="Haz 1").status_code == 200
    html = client.get(url).text
    for expected in (
        "Active",
        "Frank DeLuca",
        "Stop the leak",
        "Dike the storm drain",
        "Hazmat team on scene",
        "MCEMS",
    ):
        assert expected in html, expected
    for part in ("header", "board", "command", "period", "log"):
        section = client.get(url + f"/part/{part}")
        assert section.status_code == 200 and f'id="part-{part}"' in section.text and "<html" not in section.text
    assert "Dike the storm drain" in client.get(url + "/part/board").text
    assert client.get(url + "/part/nothing").status_code == 404
    # Each refusal comes back as a message naming the field.
    cases = [
        ("/tasks", {"title": "x", "assigned_agency_id": mcems}, "title"),
        ("/tasks", {"title": "Valid task", "assigned_agency_id": mcems, "lon": "1000", "lat": "40"}, "location"),
        ("/log", {"text": ""}, "text"),
        ("/periods", {"starts_at": "2026-12-07T06:00", "ends_at": "2026-12-07T05:00"}, "ends at"),
        ("/command", {"position": "king", "agency_id": mcems, "person_name": "Someone"}, "position"),
        ("/status", {"status": "reported"}, "status"),
    ]
    for path, data, field in cases:
        refused = post(path, **data)
        assert refused.status_code == 200
        assert "flash-error" in refused.text and field in refused.text.lower(), (path, field)


def test_the_briefing_reads_as_ics_201_in_html_and_pdf(signed_in, flood):
    client = signed_in("commander")
    html = client.get(f"/incidents/{flood}/briefing").text
    for section in ("ICS 201", "Map / sketch", "Current organization", "Resource summary", "Operational period 2"):
        assert section in html, section
    assert "<svg" in html and "Swift-water rescue during a flood" in html
    pdf = client.get(f"/incidents/{flood}/briefing.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF") and len(pdf.content) > 5000


def test_agencies_not_taking_part_see_only_what_is_shared_and_no_briefing(signed_in, flood):
    client = signed_in("viewer")  # the relief alliance takes part in the flood
    assert "Task board" in client.get(f"/incidents/{flood}").text
    client = signed_in("auditor")  # the health district does not take part
    page = client.get(f"/incidents/{flood}")
    assert page.status_code == 200  # GREEN: the lead's partners see the incident itself
    assert "does not take part" in page.text and "Task board" not in page.text
    assert client.get(f"/incidents/{flood}/briefing").status_code == 404
    assert client.get(f"/incidents/{flood}/part/board").status_code == 404
    assert client.get(f"/incidents/{flood}/part/header").status_code == 200


def test_the_operating_picture_lists_layers_and_serves_the_map(signed_in):
    client = signed_in("commander")
    html = client.get("/cop").text
    for expected in ('id="cop-map"', "Shelters and sandbag stations", 'id="cop-slider"', "Our planned operations"):
        assert expected in html, expected
    tasks = client.get("/api/v1/map/tasks.geojson").json()
    assert len([f for f in tasks["features"] if f["properties"]["title"].startswith("Sandbag the Elm Street")]) == 1
