"""The demo's fire commander in Chromium: the planned-operations page with its notice,
the burn's detail with its map, and a new registration placed by clicking the map.
Screenshots go to test-artifacts/ for a person to look at."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from accord.seed import DEMO_PASSWORD
from tests.conftest import ARTIFACTS, BACKEND
from tests.test_browser import browser, live_server  # noqa: F401  (module fixtures)
from tests.test_deconfliction import window

pytestmark = pytest.mark.browser


def test_commander_reads_the_notice_and_registers_by_clicking_the_map(live_server, browser):  # noqa: F811
    context = browser.new_context(viewport={"width": 1300, "height": 1000})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(live_server + "/login")
    page.get_by_label("Username").fill("commander")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(live_server + "/")

    page.goto(live_server + "/operations/planned")
    expect(page.get_by_role("heading", name="Planned operations")).to_be_visible()
    expect(page.locator(".notice").first).to_contain_text("Tpr. Sean Gallagher")
    page.screenshot(path=str(ARTIFACTS / f"deconfliction-list-{BACKEND}.png"), full_page=True)

    page.get_by_role("table").get_by_role("link", name="Spring Run field burn").click()
    footprint = page.locator("#footprintmap")
    expect(footprint).to_have_attribute("data-loaded", "1")
    assert page.locator("#footprintmap path.leaflet-interactive").count() >= 1
    page.wait_for_timeout(300)  # the jurisdictions drawn for context
    page.screenshot(path=str(ARTIFACTS / f"deconfliction-detail-{BACKEND}.png"), full_page=True)

    page.goto(live_server + "/operations/planned/new")
    picker = page.locator("#pickmap")
    expect(picker).to_have_attribute("data-loaded", "1")
    box = picker.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.4)
    expect(picker).to_have_attribute("data-drawn", "1")
    assert re.fullmatch(r"-7\d\.\d{6}", page.locator("#lon").input_value())
    page.locator("#kind").select_option("drone_flight")
    page.locator("#title").fill("Ridge survey flight")
    when = window(200, 2)
    page.locator("#starts_at").fill(when["starts_at"][:16])
    page.locator("#ends_at").fill(when["ends_at"][:16])
    page.locator("#radius_m").fill("400")
    page.screenshot(path=str(ARTIFACTS / f"deconfliction-form-{BACKEND}.png"), full_page=True)
    page.get_by_role("button", name="Register and check").click()
    page.wait_for_url(re.compile(r".*/operations/planned/[0-9a-f-]{36}$"))
    expect(page.get_by_role("heading", name=re.compile("Ridge survey flight"))).to_be_visible()
    assert not errors, errors
    context.close()
