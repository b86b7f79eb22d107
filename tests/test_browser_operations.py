"""Two people of different agencies, two browsers: the Marrow County EMA coordinator has
the operating picture open; the Lower Harrow fire commander assigns a task with a place
on the flood's page; the marker appears on the coordinator's map without a reload, and
the commander's own task board shows it. Screenshots in test-artifacts/."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from playwright.sync_api import expect

from accord.seed import DEMO_PASSWORD
from tests.conftest import ARTIFACTS, BACKEND
from tests.test_browser import browser, live_server  # noqa: F401  (module fixtures)

pytestmark = pytest.mark.browser


def _sign_in(chromium: Any, base: str, username: str) -> tuple[Any, Any, list[str]]:
    context = chromium.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(base + "/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(base + "/")
    return context, page, errors


def test_a_task_with_a_place_appears_on_a_partners_open_map_without_reloading(live_server, browser):  # noqa: F811
    server, chromium = live_server, browser
    coordinator_context, watcher, watcher_errors = _sign_in(chromium, server, "coordinator")
    commander_context, commander, commander_errors = _sign_in(chromium, server, "commander")
    try:
        watcher.goto(server + "/cop")
        cop = watcher.locator("#cop-map")
        expect(cop).to_have_attribute("data-loaded", "true", timeout=15_000)
        expect(watcher.locator("[data-live-status]")).to_have_attribute("data-state", "live", timeout=10_000)
        before = int(cop.get_attribute("data-tasks") or 0)
        assert before >= 10  # the demo flood's tasks
        watcher.screenshot(path=str(ARTIFACTS / f"operations-cop-before-{BACKEND}.png"))

        commander.goto(server + "/incidents")
        commander.get_by_role("link", name=re.compile("Harrow River flood")).first.click()
        commander.wait_for_url(re.compile(r".*/incidents/[0-9a-f-]{36}$"))
        expect(commander.locator("[data-live-status]")).to_have_attribute("data-state", "live", timeout=10_000)
        title = f"Check culvert {uuid.uuid4().hex[:4]} on Mill Road"
        commander.get_by_text("Assign a task").click()
        commander.get_by_label("Task").fill(title)
        commander.locator("#assigned_agency_id").select_option(label="Lower Harrow Fire District (LHFD)")
        commander.get_by_label("Unit").first.fill("Engine 4")
        commander.get_by_label("Longitude").fill("-76.7552")
        commander.get_by_label("Latitude").fill("40.8921")
        commander.get_by_role("button", name="Assign task").click()
        commander.wait_for_load_state()
        expect(commander.locator("#part-board")).to_contain_text(title)

        # The coordinator's map shows it without a reload: one more marker, titled like it.
        expect(cop).to_have_attribute("data-tasks", str(before + 1), timeout=10_000)
        marker = watcher.locator(f'.cop-marker[title*="{title}"]')
        expect(marker).to_have_count(1, timeout=5_000)
        marker.click()
        expect(watcher.locator(".leaflet-popup-content")).to_contain_text(title)
        watcher.screenshot(path=str(ARTIFACTS / f"operations-cop-after-{BACKEND}.png"))
        commander.screenshot(path=str(ARTIFACTS / f"operations-incident-{BACKEND}.png"), full_page=True)
        assert watcher.url.endswith("/cop")  # never reloaded
        assert not watcher_errors and not commander_errors, watcher_errors + commander_errors
    finally:
        coordinator_context.close()
        commander_context.close()
