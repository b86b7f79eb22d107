"""A commander reads the demo protocols in Debian's Chromium: the list, a protocol as a
document, the editor, and the panel of a flood incident where the swift-water protocol is
attached and a step can be ticked. Screenshots go to test-artifacts/."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import expect

from accord.seed import DEMO_PASSWORD
from tests.conftest import ARTIFACTS, BACKEND
from tests.test_browser import browser, live_server  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser


def test_commander_reads_protocols_and_the_incident_panel(live_server, browser):  # noqa: F811
    ARTIFACTS.mkdir(exist_ok=True)
    token = httpx.post(
        f"{live_server}/api/v1/auth/token", json={"username": "commander", "password": DEMO_PASSWORD}
    ).json()["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    agencies = httpx.get(f"{live_server}/api/v1/agencies", params={"limit": 100}, headers=auth).json()["items"]
    ids = {a["short_name"]: a["id"] for a in agencies}
    incident = httpx.post(
        f"{live_server}/api/v1/incidents",
        json={
            "lead_agency_id": ids["LHFD"],
            "name": "Harrow River flood at Millbrook",
            "type": "flood",
            "severity": "severe",
            "participants": [ids["HPD"], ids["MCEMS"]],
        },
        headers=auth,
    ).json()

    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(live_server + "/login")
    page.get_by_label("Username").fill("commander")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(live_server + "/")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Protocols", exact=True).click()
    page.wait_for_url("**/protocols")
    expect(page.locator(".proto-card").first).to_be_visible()
    assert page.locator(".proto-card").count() >= 4
    page.screenshot(path=str(ARTIFACTS / f"protocols-list-{BACKEND}.png"), full_page=True)

    page.get_by_role("link", name="Fire at a crime scene").click()
    expect(page.get_by_role("heading", name="Fire at a crime scene", level=1)).to_be_visible()
    expect(page.locator(".proto-step")).to_have_count(8)
    expect(page.locator(".who-decides")).to_have_count(2)
    page.screenshot(path=str(ARTIFACTS / f"protocol-document-{BACKEND}.png"), full_page=True)
    page.emulate_media(media="print")
    expect(page.locator(".topbar")).to_be_hidden()
    page.screenshot(path=str(ARTIFACTS / f"protocol-document-print-{BACKEND}.png"), full_page=True)
    page.emulate_media(media="screen")

    page.get_by_role("link", name="Edit (opens version 3)").click()
    expect(page.get_by_role("heading", name="Edit — opens version 3")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / f"protocol-editor-{BACKEND}.png"))

    page.goto(f"{live_server}/incidents/{incident['id']}/protocols")
    expect(page.get_by_role("heading", name="Swift-water rescue during a flood")).to_be_visible()
    first = page.get_by_role("checkbox", name="Step 1 done")
    first.check()
    expect(first).to_be_checked()
    page.screenshot(path=str(ARTIFACTS / f"protocol-incident-panel-{BACKEND}.png"), full_page=True)
    context.close()
    assert not errors, errors
