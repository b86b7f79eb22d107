"""Mutual-aid pages (issue 6, part 5): the requests list, the inventory with its add form,
the ICS-213 request form with its refusals, a request's sheet with approvals, ranked
offers and the steps each side may take, the deployment board, and the operating picture's
resources toggle — for the right people, 404 / 403 for the others, CSRF on every form."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import browser_login, csrf_from, users_with_tokens

FLOOD_POINT = {"type": "Point", "coordinates": [-76.74, 40.90]}
ROLES = [
    ("mcema_cmd", "commander", "MCEMA"),
    ("mcema", "logistics", "MCEMA"),
    ("lhfd", "logistics", "LHFD"),
    ("crfd", "logistics", "CRFD"),
    ("hpd", "logistics", "HPD"),
    ("viewer", "viewer", "LHFD"),
]


@pytest.fixture(scope="module")
def world(app: Any, session_factory: Any) -> dict[str, Any]:
    people = users_with_tokens(app, session_factory, ROLES)
    h, ids = people["h"], people["ids"]
    with TestClient(app) as client:
        incident = client.post(
            "/api/v1/incidents",
            json={
                "lead_agency_id": str(ids["MCEMA"]),
                "name": f"Pages flood {uuid.uuid4().hex[:4]}",
                "type": "flood",
                "severity": "severe",
                "location": FLOOD_POINT,
                "participants": [str(ids["HPD"])],
            },
            headers=h["mcema_cmd"],
        )
        assert incident.status_code == 201, incident.text
        boat = client.post(
            "/api/v1/resources",
            json={
                "owner_agency_id": str(ids["LHFD"]),
                "type_key": "swift_water_rescue_team",
                "level": 2,
                "name": f"Pages boat {uuid.uuid4().hex[:4]}",
                "quantity": 2,
                "home": {"type": "Point", "coordinates": [-76.75, 40.90]},
            },
            headers=h["lhfd"],
        )
        assert boat.status_code == 201, boat.text
    return {**people, "incident": incident.json(), "boat": boat.json()}


def _signed_in(client: TestClient, world: dict[str, Any], key: str) -> TestClient:
    response = browser_login(client, world["users"][key])
    assert response.status_code == 200, response.text[:300]
    return client


def _needed(hours: float = 3) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M")


def _form(world: dict[str, Any], **fields: str) -> dict[str, str]:
    return {
        "incident_id": world["incident"]["id"],
        "type_key": "swift_water_rescue_team",
        "level": "2",
        "quantity": "2",
        "deliver_to": "Staging, Harrowgate fairgrounds",
        "lon": "-76.74",
        "lat": "40.90",
        "needed_at": _needed(),
        "priority": "urgent",
        "substitutes_ok": "on",
        "requester_name": "Dana Whitfield",
        "requester_position": "Logistics section chief",
    } | fields


def _post(client: TestClient, page: str, url: str, data: dict[str, str]) -> Any:
    token = csrf_from(client.get(page).text)
    return client.post(url, data={**data, "csrf_token": token}, follow_redirects=False)


def _new_request(client: TestClient, world: dict[str, Any], **fields: str) -> str:
    made = _post(client, "/mutual-aid/requests/new", "/mutual-aid/requests/new", _form(world, **fields))
    assert made.status_code == 303, made.text[:2000]
    match = re.match(r"^/mutual-aid/requests/([0-9a-f-]{36})$", made.headers["location"])
    assert match, made.headers["location"]
    return match.group(1)


def _approve(client: TestClient, request_id: str) -> None:
    page = f"/mutual-aid/requests/{request_id}"
    for section in ("logistics", "finance"):
        done = _post(client, page, f"{page}/approve/{section}", {"name": f"{section.title()} Chief"})
        assert done.status_code == 303


# -- the requests list --------------------------------------------------------------------------------
def test_the_requests_page_is_for_signed_in_holders_of_the_permission(client, world):
    anonymous = client.get("/mutual-aid", follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
    _signed_in(client, world, "viewer")
    page = client.get("/mutual-aid")
    assert page.status_code == 200 and "Our requests" in page.text
    assert "New request" not in page.text  # a viewer reads, never asks
    assert 'href="/mutual-aid" aria-current="page">Mutual aid</a>' in page.text


def test_a_request_written_in_the_form_is_listed_and_reaches_partners_once_approved(app, world):
    with TestClient(app) as mcema, TestClient(app) as lhfd, TestClient(app) as hpd:
        _signed_in(mcema, world, "mcema")
        _signed_in(lhfd, world, "lhfd")
        _signed_in(hpd, world, "hpd")
        form = mcema.get(f"/mutual-aid/requests/new?incident={world['incident']['id']}").text
        assert world["incident"]["number"] in form and 'name="needed_at"' in form and "data-ma-map" in form
        request_id = _new_request(mcema, world)
        sheet = mcema.get(f"/mutual-aid/requests/{request_id}").text
        assert "Waiting for approval" in sheet and "Approve for logistics" in sheet and "Approve for finance" in sheet
        assert "Harrow Valley Mutual Aid Agreement" in sheet and "✓ Met" in sheet
        listed = mcema.get("/mutual-aid").text
        number = re.search(r"213-\d{4}-\d{4}", sheet)
        assert number and number.group(0) in listed.split("Sent to us")[0]
        assert "New request" in listed
        # Pending: the partners do not see it yet (404 like a request that does not exist).
        assert lhfd.get(f"/mutual-aid/requests/{request_id}").status_code == 404
        _approve(mcema, request_id)
        opened = mcema.get(f"/mutual-aid/requests/{request_id}").text
        assert "Approve for" not in opened and ">Open<" in opened and "Who could be asked" in opened
        received = lhfd.get("/mutual-aid").text
        assert number.group(0) in received.split("Sent to us")[1]
        # HPD takes part in the incident but is no party to the agreement.
        assert hpd.get(f"/mutual-aid/requests/{request_id}").status_code == 404
        assert hpd.get(f"/mutual-aid/requests/{request_id}/part/offers").status_code == 404
        assert number.group(0) not in hpd.get("/mutual-aid").text


def test_the_partner_offers_and_both_sides_take_their_steps(app, world):
    with TestClient(app) as mcema, TestClient(app) as lhfd:
        _signed_in(mcema, world, "mcema")
        _signed_in(lhfd, world, "lhfd")
        request_id = _new_request(mcema, world, quantity="1")
        _approve(mcema, request_id)
        page = f"/mutual-aid/requests/{request_id}"
        theirs = lhfd.get(page).text
        assert "What we could offer" in theirs and world["boat"]["name"] in theirs
        assert "Approve for" not in theirs and "Cancel the request" not in theirs
        # A bad quantity is refused naming the field.
        refused = _post(lhfd, page, f"{page}/offers", {"resource_id": world["boat"]["id"], "quantity": "9"})
        assert refused.status_code == 303
        assert "at most 2 unit(s) of this resource are free" in lhfd.get(page).text
        offered = _post(lhfd, page, f"{page}/offers", {"resource_id": world["boat"]["id"], "quantity": "1"})
        assert offered.status_code == 303 and offered.headers["location"].endswith("#offers")
        part = mcema.get(f"{page}/part/offers").text
        assert "<html" not in part and world["boat"]["name"] in part and "#1" in part
        assert "exact type (level 2)" in part and ">Commit</button>" in part and ">Decline</button>" in part
        assert ">Withdraw</button>" in lhfd.get(f"{page}/part/offers").text
        assert ">Commit</button>" not in lhfd.get(f"{page}/part/offers").text
        offer_id = re.search(r'data-offer="([0-9a-f-]{36})"', part)
        assert offer_id
        # The provider may not commit its own offer: refused with the reason, never a 500.
        wrong = _post(lhfd, page, f"/mutual-aid/offers/{offer_id.group(1)}/status", {"status": "committed"})
        assert wrong.status_code == 403
        done = _post(mcema, page, f"/mutual-aid/offers/{offer_id.group(1)}/status", {"status": "committed"})
        assert done.status_code == 303
        assert "1 of 1" in mcema.get(f"{page}/part/offers").text
        board = lhfd.get(f"/mutual-aid/deployments?incident={world['incident']['id']}").text
        assert world["boat"]["name"] in board and ">Mobilized</button>" in board
        moved = _post(
            lhfd,
            "/mutual-aid/deployments",
            f"/mutual-aid/offers/{offer_id.group(1)}/status",
            {"status": "mobilized", "back": "board"},
        )
        assert moved.status_code == 303 and moved.headers["location"] == "/mutual-aid/deployments"
        # An illegal step comes back as a message naming the steps allowed.
        illegal = _post(mcema, page, f"/mutual-aid/offers/{offer_id.group(1)}/status", {"status": "demobilized"})
        assert illegal.status_code == 303
        assert "it can become: on_scene" in mcema.get(page).text


def test_form_refusals_name_the_field_and_the_reason(client, world):
    _signed_in(client, world, "mcema")
    no_place = _post(client, "/mutual-aid/requests/new", "/mutual-aid/requests/new", _form(world, lon="", lat=""))
    assert no_place.status_code == 422
    assert "Place:" in no_place.text and "longitude" in no_place.text
    past = _post(
        client, "/mutual-aid/requests/new", "/mutual-aid/requests/new", _form(world, needed_at="2020-01-01T10:00")
    )
    assert past.status_code == 422 and "needed at" in past.text and "is in the past" in past.text
    nothing = _post(client, "/mutual-aid/requests/new", "/mutual-aid/requests/new", _form(world, type_key="", level=""))
    assert nothing.status_code == 422 and "name a type_key or describe what is needed" in nothing.text
    assert 'value="Dana Whitfield"' in nothing.text  # what was typed stays
    # MCEMA keeps its own sandbagging machine and no emergency is declared: each clause and why.
    refused = _post(
        client, "/mutual-aid/requests/new", "/mutual-aid/requests/new", _form(world, type_key="sandbagging_machine")
    )
    assert refused.status_code == 422
    assert 'id="thresholds"' in refused.text and "No mutual-aid clause is activated" in refused.text
    assert "Harrow Valley Mutual Aid Agreement" in refused.text and "no emergency is declared" in refused.text


def test_an_agency_no_clause_binds_is_told_why(client, world):
    _signed_in(client, world, "hpd")
    refused = _post(client, "/mutual-aid/requests/new", "/mutual-aid/requests/new", _form(world))
    assert refused.status_code == 422 and "no mutual-aid clause in force binds your agency" in refused.text


def test_forms_need_their_csrf_token(client, world):
    _signed_in(client, world, "mcema")
    for url in ("/mutual-aid/requests/new", "/mutual-aid/inventory"):
        response = client.post(url, data=_form(world), follow_redirects=False)
        assert response.status_code == 403 and "CSRF" in response.text


def test_the_form_and_approvals_are_for_those_who_may(client, world, make_user):
    user = make_user("viewer", "MCEMA")
    browser_login(client, user["username"])
    assert client.get("/mutual-aid/requests/new").status_code == 403
    assert client.get("/mutual-aid/deployments").status_code == 200
    token = csrf_from(client.get("/mutual-aid").text)
    assert client.post("/mutual-aid/requests/new", data={"csrf_token": token}).status_code == 403
    fake = uuid.uuid4()
    assert client.get(f"/mutual-aid/requests/{fake}").status_code == 404
    assert client.post(f"/mutual-aid/requests/{fake}/approve/logistics", data={"csrf_token": token}).status_code == 403


# -- the inventory --------------------------------------------------------------------------------------
def test_the_inventory_lists_ours_and_partners_and_adds_a_resource(client, world):
    _signed_in(client, world, "lhfd")
    page = client.get("/mutual-aid/inventory")
    assert page.status_code == 200
    assert world["boat"]["name"] in page.text.split("Partners'")[0]
    assert 'data-ma-map="inventory"' in page.text and "Add a resource" in page.text
    filtered = client.get("/mutual-aid/inventory?type_key=generator_large").text
    assert world["boat"]["name"] not in filtered
    bad = client.get("/mutual-aid/inventory?status=lost")
    assert bad.status_code == 200 and "field-error" in bad.text
    body = {
        "type_key": "generator_large",
        "level": "2",
        "name": f"Pages generator {uuid.uuid4().hex[:4]}",
        "quantity": "2",
        "home_name": "Station 4",
        "hourly_rate": "40",
        "minimum_reserve": "1",
        "shareable": "on",
    }
    no_home = _post(client, "/mutual-aid/inventory", "/mutual-aid/inventory", body)
    assert no_home.status_code == 422 and "home" in no_home.text and "longitude" in no_home.text
    wrong_level = _post(
        client, "/mutual-aid/inventory", "/mutual-aid/inventory", body | {"lon": "-76.8", "lat": "40.9", "level": "x"}
    )
    assert wrong_level.status_code == 422 and "level" in wrong_level.text
    added = _post(client, "/mutual-aid/inventory", "/mutual-aid/inventory", body | {"lon": "-76.8", "lat": "40.9"})
    assert added.status_code == 303
    assert body["name"] in client.get("/mutual-aid/inventory").text


def test_partners_see_the_inventory_but_only_managers_get_the_form(client, world):
    _signed_in(client, world, "viewer")
    page = client.get("/mutual-aid/inventory")
    assert page.status_code == 200 and "Add a resource" not in page.text
    token = csrf_from(page.text)
    refused = client.post("/mutual-aid/inventory", data={"csrf_token": token, "name": "x"}, follow_redirects=False)
    assert refused.status_code == 403


def test_the_operating_picture_has_a_resources_toggle(client, world):
    _signed_in(client, world, "lhfd")
    assert 'data-layer="resources"' in client.get("/cop").text
