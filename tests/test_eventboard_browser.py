"""The festival's command board in Debian's Chromium at a command-post laptop's size
(1366x768): quick-add with htmx, messages and receipts, a live event that refreshes the
grid, and screenshots of the board and of its printout."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from accord.operations.models import Incident
from accord.seed import DEMO_PASSWORD
from accord.seed_eventboard import NAME
from tests.conftest import ARTIFACTS, BACKEND
from tests.test_browser import browser, live_server  # noqa: F401  (module fixtures)

pytestmark = pytest.mark.browser


def test_a_commander_runs_the_festival_board(live_server, browser, db):  # noqa: F811
    db.rollback()
    festival = str(db.scalar(select(Incident.id).where(Incident.name == NAME)))
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)

    # The board is served as the lead will serve it once the live stream exists, and the
    # stream is played by the test: quiet until there is something to say.
    stream: dict[str, Any] = {"body": "retry: 200\n\n"}
    grid_fetches: list[str] = []
    page.on("request", lambda r: grid_fetches.append(r.url) if r.url.endswith("/board/grid") else None)

    def board_with_live(route: Any) -> None:
        response = route.fetch()
        route.fulfill(
            response=response, body=response.text().replace('data-live-url=""', 'data-live-url="/api/v1/live"')
        )

    page.route(f"**/incidents/{festival}/board", board_with_live)
    page.route(
        "**/api/v1/live", lambda route: route.fulfill(status=200, content_type="text/event-stream", body=stream["body"])
    )

    page.goto(live_server + "/login")
    page.get_by_label("Username").fill("commander")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(live_server + "/")
    page.goto(f"{live_server}/boards")
    page.screenshot(path=str(ARTIFACTS / f"eventboard-list-{BACKEND}.png"))
    page.get_by_role("link", name=NAME).click()
    page.wait_for_url(f"**/incidents/{festival}/board")
    expect(page.locator("#board-map")).to_have_attribute("data-loaded", "6", timeout=10_000)
    expect(page.get_by_role("heading", name=NAME)).to_be_visible()
    assert page.locator("#board-grid .chip").count() >= 20
    assert page.locator("#board-messages .message.unread").count() >= 1
    page.screenshot(path=str(ARTIFACTS / f"eventboard-{BACKEND}.png"))

    # "+ unit" in an empty cell prefills the assign form; the unit appears without a reload.
    cell = page.locator("td.cell-empty").first
    cell.locator(".cell-add").click()
    unit = page.get_by_label("Unit", exact=True)
    expect(unit).to_be_focused()
    unit.fill("Engine 99")
    page.get_by_label("People", exact=True).fill("3")
    page.get_by_role("button", name="Assign", exact=True).click()
    expect(page.locator("#board-forms .board-notice")).to_have_text("Engine 99 assigned.")
    expect(page.locator("#board-grid .chip", has_text="Engine 99")).to_have_count(1)
    cell.locator(".cell-add").click()  # the same unit in the same shift again: refused beside the field
    page.get_by_label("Unit", exact=True).fill("engine 99")
    page.get_by_role("button", name="Assign", exact=True).click()
    expect(page.locator("#assign-unit-error")).to_contain_text("already booked")

    # A message, then reading the others.
    page.get_by_label("Message", exact=True).fill("Engine 99 staged at the main stage")
    page.locator("#message-form").get_by_role("button", name="Post").click()
    expect(page.locator(".message", has_text="Engine 99 staged")).to_have_count(1)
    unread = page.locator("#board-messages .message.unread").count()
    page.locator("#board-messages .message.unread").first.get_by_role("button", name="Mark read").click()
    expect(page.locator("#board-messages .message.unread")).to_have_count(unread - 1)
    page.locator("#board-messages .message").first.locator("summary").click()
    expect(page.locator("#board-messages .message").first.locator(".receipts li").first).to_contain_text("Frank DeLuca")

    # Live: another commander's change reaches this board through the stream.
    token = httpx.post(
        live_server + "/api/v1/auth/token", json={"username": "commander", "password": DEMO_PASSWORD}
    ).json()["access_token"]
    api = f"{live_server}/api/v1/incidents/{festival}/board"
    board = httpx.get(api, headers={"Authorization": f"Bearer {token}"}).json()
    overnight, stage = board["shifts"][2]["id"], board["rows"][1]["post"]["id"]
    made = httpx.post(
        f"{api}/assignments",
        json={"shift_id": overnight, "post_id": stage, "agency_id": board["can_assign_for"][0], "unit": "Tanker 31"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert made.status_code == 201, made.text
    before = len(grid_fetches)
    other = {
        "id": 1,
        "kind": "board.assignment.added",
        "object_type": "board_assignment",
        "object_id": "x",
        "payload": {"incident_id": "elsewhere"},
    }
    ours = {
        "id": 2,
        "kind": "board.assignment.added",
        "object_type": "board_assignment",
        "object_id": made.json()["id"],
        "payload": {"incident_id": festival},
    }
    stream["body"] = (
        "".join(f"id: {e['id']}\nevent: {e['kind']}\ndata: {json.dumps(e)}\n\n" for e in (other, ours))
        + "retry: 60000\n\n"
    )
    expect(page.locator("#board-grid .chip", has_text="Tanker 31")).to_have_count(1, timeout=8_000)
    assert len(grid_fetches) > before
    # Connected to the stream (which the test ends after each reply), not polling.
    assert page.locator("#live-status").inner_text() in ("Live", "Reconnecting…")

    page.screenshot(path=str(ARTIFACTS / f"eventboard-after-{BACKEND}.png"))
    page.emulate_media(media="print")
    page.screenshot(path=str(ARTIFACTS / f"eventboard-print-{BACKEND}.png"), full_page=True)
    refused = "status of 409"  # the double booking above, answered as it should be
    assert not [e for e in errors if refused not in e], errors
    context.close()
