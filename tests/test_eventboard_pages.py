"""The command board page: the demo festival as each seat sees it, the htmx parts and
quick-add forms (CSRF on every form), errors beside the fields, and plain form posts
that work without script."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from accord.core.time import utcnow
from accord.directory.models import Agency
from accord.operations.models import Incident
from accord.seed_eventboard import NAME
from tests.conftest import api_token, bearer, browser_login, csrf_from

HX = {"HX-Request": "true"}


@pytest.fixture
def festival(db: Any) -> str:
    db.rollback()
    found = db.scalar(select(Incident.id).where(Incident.name == NAME))
    assert found is not None, "the demo seeds the festival"
    return str(found)


def test_a_participating_commander_sees_the_whole_festival_board(client, festival):
    browser_login(client, "commander")
    page = client.get(f"/incidents/{festival}/board")
    assert page.status_code == 200, page.text
    html = page.text
    assert NAME in html and "MCEMA" in html and "lead" in html
    for post in ("Command post", "Main stage", "First-aid tent", "River landing", "North gate", "Parking"):
        assert post in html
    for shift in ("Day", "Evening", "Overnight"):
        assert f'<span class="shift-name">{shift}</span>' in html
    assert "Rescue 2" in html and "Nathan Greer" in html and "kind-fire" in html and "kind-ems" in html
    # Read receipts: who read, and unread highlighting for this commander.
    assert re.search(r"Read by \d+ of \d+", html)
    assert 'class="message unread urgent"' in html and "Fireworks shoot moved" in html
    # Frank DeLuca commands LHFD: he assigns LHFD units only, and writes messages.
    assigned = re.search(r'<select id="assign-agency_id".*?</select>', html, re.S)
    assert assigned is not None and "LHFD" in assigned.group(0) and "HPD" not in assigned.group(0)
    assert 'id="message-form"' in html and 'id="post-form"' not in html and 'id="shift-form"' not in html
    # Every form carries the CSRF token; scripts come from our own origin only.
    assert html.count('name="csrf_token"') == html.count("<form")
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert '<script src="/static/js/eventboard.js"></script>' in html
    assert 'data-live-url="/api/v1/live"' in html  # the page listens to the live stream


def test_a_reader_sees_the_board_without_the_forms(client, festival):
    browser_login(client, "coordinator")  # MCEMA, the lead agency; reads, does not command
    html = client.get(f"/incidents/{festival}/board").text
    assert "Mobile Command 1" in html and "Read by" in html
    assert 'id="assign-form"' not in html and 'id="message-form"' not in html and "cell-add" not in html
    assert "Mark all read" in html or "all read" in html


def test_the_list_of_boards_shows_the_events_ones_agency_takes_part_in(client, festival):
    browser_login(client, "commander")
    page = client.get("/boards")
    assert page.status_code == 200 and f'href="/incidents/{festival}/board"' in page.text
    assert "MCEMA" in page.text and "unread" in page.text
    browser_login(client, "viewer")
    assert "takes part in no planned event" in client.get("/boards").text


def test_agencies_not_taking_part_get_not_found(client, festival):
    browser_login(client, "viewer")  # the relief NGO
    for path in ("", "/grid", "/messages", "/forms"):
        response = client.get(f"/incidents/{festival}/board{path}")
        assert response.status_code == 404 and "Not found" in response.text
    assert client.get(f"/incidents/{uuid.uuid4()}/board").status_code == 404


@pytest.fixture
def own(client: Any, db: Any, make_user: Any) -> dict[str, Any]:
    """An event of this test's own: an EMA lead whose commander uses the page, and fire."""
    tag = uuid.uuid4().hex[:5].upper()
    ids = {}
    for name, kind in (("LEAD", "emergency_management"), ("FIRE", "fire")):
        agency = Agency(
            name=f"Page test {name} {tag}", short_name=f"P{name}{tag}", kind=kind, level="local", jurisdiction_name="T"
        )
        db.add(agency)
        db.flush()
        ids[name] = agency.id
    db.commit()
    lead = make_user("commander", f"PLEAD{tag}")
    headers = bearer(api_token(client, lead["username"]))
    start = (utcnow() + timedelta(days=40)).replace(hour=11, minute=0, second=0, microsecond=0)
    event = client.post(
        "/api/v1/incidents",
        json={
            "lead_agency_id": str(ids["LEAD"]),
            "name": f"Parade {tag}",
            "type": "planned_event",
            "severity": "minor",
            "started_at": start.isoformat(),
            "participants": [str(ids["FIRE"])],
        },
        headers=headers,
    ).json()
    browser_login(client, lead["username"])
    base = f"/incidents/{event['id']}/board"
    token = csrf_from(client.get(base).text)
    return {"ids": ids, "base": base, "token": token, "start": start, "headers": headers, "api": f"/api/v1{base}"}


def _post(client: Any, own: dict[str, Any], path: str, data: dict[str, Any], htmx: bool = True) -> Any:
    return client.post(
        own["base"] + path,
        data={"csrf_token": own["token"], **data},
        headers=HX if htmx else {},
        follow_redirects=False,
    )


def test_quick_add_builds_the_board_with_htmx(client, own):
    empty = client.get(own["base"]).text
    assert "No shifts or posts yet" in empty and 'id="shift-form"' in empty
    local = own["start"].astimezone(ZoneInfo("America/New_York"))
    added = _post(
        client,
        own,
        "/shifts",
        {
            "name": "Parade route",
            "starts_at": local.strftime("%Y-%m-%dT%H:%M"),
            "ends_at": (local + timedelta(hours=6)).strftime("%Y-%m-%dT%H:%M"),
            "tz": "America/New_York",
        },
    )
    assert added.status_code == 200, added.text
    assert "Shift Parade route added." in added.text
    assert 'id="board-grid"' in added.text and 'hx-swap-oob="true"' in added.text  # the grid comes along
    shift = client.get(own["api"] + "/shifts", headers=own["headers"]).json()[0]
    assert shift["starts_at"] == own["start"].isoformat().replace("+00:00", "Z")  # the local time, stored as UTC
    post = _post(
        client, own, "/posts", {"name": "Reviewing stand", "lat": "40.9001", "lon": "-76.7788", "radius_m": "50"}
    )
    assert post.status_code == 200 and "Reviewing stand" in post.text
    unit = _post(
        client,
        own,
        "/assignments",
        {
            "shift_id": shift["id"],
            "post_id": client.get(own["api"] + "/posts", headers=own["headers"]).json()[0]["id"],
            "agency_id": str(own["ids"]["FIRE"]),
            "unit": "Ladder 7",
            "people": "5",
            "person_id": "",
            "notes": "north end",
        },
    )
    assert unit.status_code == 200, unit.text
    assert "Ladder 7 assigned." in unit.text and 'class="chip kind-fire"' in unit.text
    grid = client.get(own["base"] + "/grid").text
    assert "Ladder 7" in grid and "north end" in grid and "1 unit · 5" in grid


def test_refused_quick_adds_come_back_with_the_reason_beside_the_field(client, own):
    bad_time = _post(client, own, "/shifts", {"name": "X", "starts_at": "tomorrow", "ends_at": "", "tz": "UTC"})
    assert bad_time.status_code == 422
    assert 'id="shift-starts_at-error"' in bad_time.text and 'aria-invalid="true"' in bad_time.text
    backwards = _post(
        client,
        own,
        "/shifts",
        {"name": "X", "starts_at": "2030-01-01T10:00", "ends_at": "2030-01-01T09:00", "tz": "Mars/Olympus"},
    )
    assert backwards.status_code == 422 and "unknown time zone" in backwards.text
    no_place = _post(client, own, "/posts", {"name": "Nowhere", "lat": "", "lon": ""})
    assert no_place.status_code == 422 and "latitude and longitude" in no_place.text
    off_earth = _post(client, own, "/posts", {"name": "Far", "lat": "95", "lon": "10"})
    assert off_earth.status_code == 422 and "latitude 95" in off_earth.text
    assert 'value="Far"' in off_earth.text  # what was typed is kept
    bad_number = _post(client, own, "/posts", {"name": "Far", "lat": "north", "lon": "10"})
    assert bad_number.status_code == 422 and "must be a number" in bad_number.text


def test_plain_form_posts_work_without_script_and_every_form_checks_csrf(client, own):
    plain = _post(client, own, "/posts", {"name": "Band shell", "lat": "40.9", "lon": "-76.78"}, htmx=False)
    assert plain.status_code == 303 and plain.headers["location"] == own["base"]
    assert "Post Band shell added." in client.get(own["base"]).text
    refused = _post(client, own, "/posts", {"name": "Band shell", "lat": "40.9", "lon": "-76.78"}, htmx=False)
    assert refused.status_code == 303
    assert "already has a post named" in client.get(own["base"]).text
    for path in ("/posts", "/shifts", "/assignments", "/messages", "/messages/read"):
        forged = client.post(own["base"] + path, data={"csrf_token": "forged", "name": "x"}, headers=HX)
        assert forged.status_code == 403, path


def test_messages_post_read_and_correct_from_the_page(client, own):
    posted = _post(
        client,
        own,
        "/messages",
        {"text": "Road closures from 09:00", "priority": "urgent", "post_id": "", "corrects_id": ""},
    )
    assert posted.status_code == 200 and "Road closures from 09:00" in posted.text and "Urgent" in posted.text
    assert "Read by 1 of" in posted.text  # the author has read it
    message_id = client.get(own["api"] + "/messages", headers=own["headers"]).json()[0]["id"]
    fix = _post(client, own, "/messages", {"text": "Road closures from 08:30", "corrects_id": message_id})
    assert "Correction of" in fix.text
    too_long = _post(client, own, "/messages", {"text": "x" * 2001})
    assert too_long.status_code == 422 and 'id="message-text-error"' in too_long.text
    assert _post(client, own, f"/messages/{message_id}/read", {}).status_code == 200
    assert _post(client, own, "/messages/read", {}).status_code == 200


def test_units_move_and_leave_from_the_grid(client, own):
    api, headers = own["api"], own["headers"]
    start = own["start"]
    shifts = [
        client.post(
            f"{api}/shifts",
            json={
                "name": n,
                "starts_at": (start + timedelta(hours=h)).isoformat(),
                "ends_at": (start + timedelta(hours=h + 4)).isoformat(),
            },
            headers=headers,
        ).json()
        for n, h in (("AM", 0), ("PM", 4))
    ]
    post = client.post(
        f"{api}/posts",
        json={"name": "Stage", "location": {"type": "Point", "coordinates": [-76.78, 40.9]}},
        headers=headers,
    ).json()
    unit = client.post(
        f"{api}/assignments",
        json={
            "shift_id": shifts[0]["id"],
            "post_id": post["id"],
            "agency_id": str(own["ids"]["FIRE"]),
            "unit": "Engine 1",
        },
        headers=headers,
    ).json()
    moved = _post(client, own, f"/assignments/{unit['id']}/move", {"shift_id": shifts[1]["id"], "post_id": post["id"]})
    assert moved.status_code == 200 and "Engine 1 moved." in moved.text
    again = client.post(
        f"{api}/assignments",
        json={
            "shift_id": shifts[1]["id"],
            "post_id": post["id"],
            "agency_id": str(own["ids"]["FIRE"]),
            "unit": "Engine 2",
        },
        headers=headers,
    ).json()
    free = client.patch(f"{api}/assignments/{again['id']}", json={"shift_id": shifts[0]["id"]}, headers=headers)
    assert free.status_code == 200  # Engine 2 is free in the morning
    refused = _post(
        client, own, f"/assignments/{unit['id']}/move", {"shift_id": shifts[0]["id"], "post_id": "nonsense"}
    )
    assert refused.status_code == 422 and 'role="alert"' in refused.text and "post_id" in refused.text
    # Engine 1 is in the afternoon: a second Engine 1, booked for the morning, cannot move there.
    twin = client.post(
        f"{api}/assignments",
        json={
            "shift_id": shifts[0]["id"],
            "post_id": post["id"],
            "agency_id": str(own["ids"]["FIRE"]),
            "unit": "Engine 1",
        },
        headers=headers,
    ).json()
    clash = _post(client, own, f"/assignments/{twin['id']}/move", {"shift_id": shifts[1]["id"], "post_id": post["id"]})
    assert clash.status_code == 409 and "already booked" in clash.text
    client.delete(f"{api}/assignments/{twin['id']}", headers=headers)
    removed = _post(client, own, f"/assignments/{unit['id']}/remove", {})
    assert removed.status_code == 200 and "Engine 1 taken off the board." in removed.text
    assert "Engine 1" not in client.get(own["base"] + "/grid").text.replace("Engine 1 taken off the board.", "")
    empty_shift = _post(client, own, f"/shifts/{shifts[1]['id']}/remove", {})
    assert empty_shift.status_code == 200 and "Shift PM removed." in empty_shift.text
