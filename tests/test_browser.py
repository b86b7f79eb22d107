"""A person's first minutes, in Debian's Chromium driven by Playwright: sign in as a demo
user with two-step verification, open the region map, see the jurisdictions."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator

import pyotp
import pytest
from playwright.sync_api import expect

from accord.seed import DEMO_PASSWORD, DEMO_TOTP_SECRET
from tests.conftest import ARTIFACTS, BACKEND
from tests.servers import running_server

CHROMIUM = os.environ.get("ACCORD_BROWSER", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def live_server(session_factory, settings) -> Iterator[str]:
    """The real server (uvicorn) in its own process, on the database under test."""
    with running_server(settings.database_url) as base:
        yield base


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        if os.environ.get("CI") == "true":
            pytest.fail(f"Chromium not found at {CHROMIUM}; install Debian's chromium")
        pytest.skip(f"Chromium not found at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield instance
        instance.close()


def test_demo_admin_signs_in_with_mfa_and_sees_the_region_map(live_server, browser):
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)

    page.goto(live_server + "/map")
    assert "/login" in page.url
    assert page.get_by_text("Demo installation").is_visible()
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Continue").click()

    page.wait_for_url("**/login/mfa**")
    page.get_by_label("Authentication code").fill(pyotp.TOTP(DEMO_TOTP_SECRET).now())
    page.get_by_role("button", name="Verify and sign in").click()

    page.wait_for_url("**/map")
    region = page.locator("#regionmap")
    region.wait_for(state="visible")
    expect(region).to_have_attribute("data-loaded", re.compile(r"^\d+$"), timeout=15_000)
    drawn = int(region.get_attribute("data-loaded") or 0)
    assert drawn >= 12
    assert page.locator("#regionmap path.leaflet-interactive").count() >= 12
    for place in ("Calder County", "Marrow County", "Tenney County"):
        assert page.locator(".leaflet-tooltip", has_text=place).count() == 1

    # Selecting a place lists the agencies whose jurisdiction covers it.
    box = region.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.locator("#map-selection h2").wait_for()
    assert "agenc" in page.locator("#map-selection h2").inner_text()
    page.screenshot(path=str(ARTIFACTS / f"region-map-{BACKEND}.png"))
    assert page.get_by_role("link", name="Region map").get_attribute("aria-current") == "page"
    assert not errors, errors
    page.close()


def test_directory_search_updates_results_without_reload(live_server, browser):
    context = browser.new_context(viewport={"width": 1300, "height": 900})
    page = context.new_page()
    page.goto(live_server + "/login")
    page.get_by_label("Username").fill("analyst")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(live_server + "/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Directory", exact=True).click()
    page.get_by_label("Search").fill("sheriff")
    expect(page.locator(".result-count")).to_have_text(re.compile(r"^\s*3 agencies"))
    names = page.locator(".agency-card h2").all_inner_texts()
    assert len(names) == 3 and all("Sheriff" in n for n in names)
    assert "q=sheriff" in page.url
    page.screenshot(path=str(ARTIFACTS / f"directory-search-{BACKEND}.png"), full_page=True)
    context.close()
