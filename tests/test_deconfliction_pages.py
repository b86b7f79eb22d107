"""Deconfliction pages: the list with its notices and count badge, the registration form
(CSRF, errors beside their fields), the detail with its conflicts; others' operations are
not found. Rendered through the app, checked for what they show and what they must not."""

from __future__ import annotations

import re
from typing import Any

from tests.conftest import browser_login, csrf_from
from tests.test_deconfliction import moved, spot, window


def _form(at: tuple[float, float], **fields: str) -> dict[str, str]:
    starts = window(0, 3)
    return {
        "kind": "search_warrant",
        "title": "Page warrant",
        "case_reference": "PG-1",
        "starts_at": starts["starts_at"][:16],
        "ends_at": starts["ends_at"][:16],
        "lon": f"{at[0]:.6f}",
        "lat": f"{at[1]:.6f}",
        "radius_m": "250",
        "contact_name": "Det. Page",
        "contact_phone": "+1-555-0100-444",
        "area": "",
    } | fields


def _register(client: Any, form: dict[str, str]) -> Any:
    page = client.get("/operations/planned/new")
    assert page.status_code == 200
    return client.post(
        "/operations/planned/new", data=form | {"csrf_token": csrf_from(page.text)}, follow_redirects=False
    )


def test_the_demo_commander_sees_own_operations_and_the_notice_but_not_the_other_case(client):
    browser_login(client, "commander")
    page = client.get("/operations/planned")
    assert page.status_code == 200
    html = page.text
    assert "Spring Run field burn" in html and "Chlorine leak drill" in html
    assert "Tpr. Sean Gallagher" in html and "+1-814-555-0146" in html
    assert "Allegheny Commonwealth State Police" in html and "areas overlap" in html
    assert re.search(r'class="badge badge-(danger|muted) count-badge"[^>]*>\d+<', html)
    # (Not the word "Drone flight": other tests may register drone flights for this agency.)
    for secret in ("UAS pilot proficiency", "H-AVN-26-031", "Operation Ridgeback", "Mill Street"):
        assert secret not in html
    burn = re.search(r'href="/operations/planned/([0-9a-f-]{36})">Spring Run field burn', html)
    assert burn
    detail = client.get(f"/operations/planned/{burn.group(1)}").text
    assert "Conflicts" in detail and "Tpr. Sean Gallagher" in detail and "data-footprint" in detail
    assert "UAS pilot" not in detail


def test_registering_through_the_form_checks_and_shows_conflicts(client, make_user):
    first, second = make_user("commander", "CCSO"), make_user("analyst", "HVFC")
    at = spot()
    browser_login(client, first["username"])
    made = _register(client, _form(at))
    assert made.status_code == 303, made.text
    assert re.fullmatch(r"/operations/planned/[0-9a-f-]{36}", made.headers["location"])
    client.cookies.clear()
    browser_login(client, second["username"])
    made = _register(
        client,
        _form(moved(at, 90, 300), title="Fusion center enquiry", case_reference="FC-9", contact_name="Analyst Two"),
    )
    assert made.status_code == 303
    detail = client.get(made.headers["location"])
    assert "Det. Page" in detail.text and "Calder County Sheriff" in detail.text
    assert "Page warrant" not in detail.text and "PG-1" not in detail.text
    assert "conflicts with 1 other operation" in detail.text  # the flash
    listed = client.get("/operations/planned").text
    assert "Fusion center enquiry" in listed and "Page warrant" not in listed
    notice = re.search(r'action="(/operations/planned/notices/[0-9a-f-]{36}/acknowledge)"', listed)
    assert notice
    token = csrf_from(listed)
    refused = client.post(notice.group(1), data={}, follow_redirects=False)
    assert refused.status_code == 403  # no CSRF token
    done = client.post(notice.group(1), data={"csrf_token": token}, follow_redirects=True)
    assert done.status_code == 200 and "Acknowledged" in done.text


def test_form_errors_are_shown_beside_their_fields(client, make_user):
    user = make_user("commander", "CCSO")
    browser_login(client, user["username"])
    bad = _register(client, _form(spot(), radius_m="0", title="x", contact_phone="nope"))
    assert bad.status_code == 422
    assert 'id="title-error"' in bad.text
    bad = _register(client, _form(spot(), radius_m="0"))
    assert bad.status_code == 422 and 'id="radius_m-error"' in bad.text
    bad = _register(client, _form(spot(), lon="", lat="", area='{"type": "Polygon"}'))
    assert bad.status_code == 422 and 'id="area-error"' in bad.text
    bad = _register(client, _form(spot(), ends_at="2020-01-01T00:00"))
    assert bad.status_code == 422 and 'id="ends_at-error"' in bad.text


def test_pages_of_other_agencies_operations_are_not_found_and_viewers_are_refused(client, make_user):
    owner, other, viewer = make_user("commander", "CCSO"), make_user("commander", "LHFD"), make_user("viewer", "CCSO")
    browser_login(client, owner["username"])
    made = _register(client, _form(spot()))
    url = made.headers["location"]
    client.cookies.clear()
    browser_login(client, other["username"])
    assert client.get(url).status_code == 404
    page = client.get("/operations/planned")
    token = csrf_from(page.text)
    assert client.post(f"{url}/status", data={"status": "cancelled", "csrf_token": token}).status_code == 404
    client.cookies.clear()
    browser_login(client, viewer["username"])
    assert client.get("/operations/planned").status_code == 403


def test_an_owner_cancels_from_the_detail_page(client, make_user):
    owner = make_user("commander", "CCSO")
    browser_login(client, owner["username"])
    url = _register(client, _form(spot())).headers["location"]
    detail = client.get(url)
    done = client.post(
        f"{url}/status", data={"status": "cancelled", "csrf_token": csrf_from(detail.text)}, follow_redirects=True
    )
    assert done.status_code == 200 and "The operation is cancelled" in done.text
    again = client.post(f"{url}/check", data={"csrf_token": csrf_from(done.text)}, follow_redirects=True)
    assert again.status_code == 200 and "0 conflict(s) now" in again.text
