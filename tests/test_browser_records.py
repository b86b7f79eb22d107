"""An analyst of the health district files an outbreak case in Chromium: picks the
category, fills the form, asks who will receive it, saves, attaches a file, edits it and
reads the history. Screenshots go to test-artifacts/ for a person to look at."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from accord.seed import DEMO_PASSWORD
from tests.conftest import ARTIFACTS, BACKEND, unique
from tests.test_browser import browser, live_server  # noqa: F401  (module fixtures)

pytestmark = pytest.mark.browser
PNG = b"\x89PNG\r\n\x1a\n" + bytes(64)


def test_file_preview_save_attach_and_edit_a_record(live_server, browser, make_user):  # noqa: F811
    user = make_user("analyst", "HVHD")
    context = browser.new_context(viewport={"width": 1300, "height": 1000})
    page = context.new_page()
    page.goto(live_server + "/login")
    page.get_by_label("Username").fill(user["username"])
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(live_server + "/")

    page.goto(live_server + "/records")
    page.get_by_role("link", name="New record").click()
    page.get_by_label("Category", exact=False).and_(page.locator("select")).select_option("public_health_case")
    page.get_by_role("button", name="Use this category").click()
    expect(page.get_by_role("heading", name="Public-health case")).to_be_visible()
    title = unique("Listeria at a deli counter ")
    page.get_by_label("Title").fill(title)
    page.get_by_label("Condition").fill("Listeriosis")
    page.get_by_label("Case count").fill("3")
    page.get_by_label(re.compile(r"^Patient name")).fill("M. Duarte")
    page.get_by_label("TLP tier").select_option("AMBER")
    page.get_by_label("Purpose of sharing").select_option("public_health_response")
    page.get_by_label("Event time (UTC)").fill("2026-11-21T08:30")
    page.get_by_role("button", name="Who will receive this?").click()
    preview = page.locator("#preview")
    expect(preview).to_contain_text("(MCEMA)")
    expect(preview).to_contain_text("PII")
    page.screenshot(path=str(ARTIFACTS / f"record-preview-{BACKEND}.png"), full_page=True)

    page.get_by_role("button", name="Save record").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(title)
    page.get_by_label("Attach a file").set_input_files(
        files=[{"name": "line-list.png", "mimeType": "image/png", "buffer": PNG}]
    )
    page.get_by_label("Sensitive label").select_option("PHI")
    page.get_by_role("button", name="Attach", exact=True).click()
    expect(page.get_by_role("link", name="line-list.png")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / f"record-detail-{BACKEND}.png"), full_page=True)

    page.get_by_role("link", name="Edit", exact=True).click()
    page.get_by_label("Case count").fill("5")
    page.get_by_label("What changed (for the history)").fill("two more cases")
    page.get_by_role("button", name="Save new version").click()
    expect(page.locator(".flash, .alert").first).to_contain_text("new version")
    page.get_by_role("link", name="History", exact=True).click()
    expect(page.locator(".version")).to_have_count(2)
    expect(page.locator(".version").first).to_contain_text("two more cases")
    page.screenshot(path=str(ARTIFACTS / f"record-history-{BACKEND}.png"), full_page=True)
    context.close()
