"""Two logistics officers of different agencies, two browsers: Marrow County EMA writes an
ICS-213 request for the flood in the form (the place picked on the map) and approves it;
Lower Harrow Fire District opens the same request and offers a boat team through the page;
the request page open at MCEMA shows the offer, ranked and explained, without a reload.
MCEMA commits it; the deployment board, the inventory map and the operating picture's
resources layer show it. Screenshots of every mutual-aid page in test-artifacts/."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from accord.seed import DEMO_PASSWORD, system_actor
from tests.conftest import ARTIFACTS, BACKEND, unique
from tests.test_browser import browser, live_server  # noqa: F401  (module fixtures)

pytestmark = pytest.mark.browser


def _people(session_factory: Any) -> dict[str, Any]:
    """A logistics user at MCEMA and one at LHFD, and an LHFD boat team of the test's own."""
    from accord.accounts.service import create_user_unchecked
    from accord.authz.actor import Actor, MembershipGrant
    from accord.authz.roles import BUILTIN_ROLES
    from accord.directory.models import Agency
    from accord.mutualaid import service
    from accord.mutualaid.schemas import ResourceCreate

    logistics = next(role.permissions for role in BUILTIN_ROLES if role.name == "logistics")
    with session_factory() as db:
        ids = {a.short_name: a.id for a in db.scalars(select(Agency))}
        users = {}
        for agency in ("MCEMA", "LHFD"):
            users[agency] = unique(f"ma-{agency.lower()}-")
            create_user_unchecked(
                db,
                actor=system_actor("test"),
                username=users[agency],
                display_name=f"{agency} logistics officer",
                email="",
                password=DEMO_PASSWORD,
                agency_id=ids[agency],
                role="logistics",
                check_password_policy=False,
            )
        lhfd = Actor(
            user_id=None,
            username="test",
            display_name="LHFD logistics",
            memberships=(MembershipGrant(ids["LHFD"], "logistics", frozenset(logistics)),),
            auth_method="system",
        )
        boat = f"Boat Team {uuid.uuid4().hex[:4].upper()}"
        service.create_resource(
            db,
            actor=lhfd,
            data=ResourceCreate(
                owner_agency_id=ids["LHFD"],
                type_key="swift_water_rescue_team",
                level=2,
                name=boat,
                quantity=1,
                home_name="Lower Harrow Station 2",
                home={"type": "Point", "coordinates": [-76.77, 40.89]},
                hourly_rate="95.00",
            ),
        )
        db.commit()
    return {"users": users, "boat": boat}


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


def _choose_flood(page: Any) -> None:
    option = page.locator("#incident_id option", has_text="Harrow River flood").first
    page.locator("#incident_id").select_option(option.get_attribute("value"))


def _shot(page: Any, name: str, full: bool = True) -> None:
    page.screenshot(path=str(ARTIFACTS / f"mutualaid-{name}-{BACKEND}.png"), full_page=full)


def test_an_offer_appears_on_the_requesters_open_page_without_reloading(live_server, browser, session_factory):  # noqa: F811
    server, chromium = live_server, browser
    world = _people(session_factory)
    mcema_context, mcema, mcema_errors = _sign_in(chromium, server, world["users"]["MCEMA"])
    lhfd_context, lhfd, lhfd_errors = _sign_in(chromium, server, world["users"]["LHFD"])
    try:
        # MCEMA writes the request in the form.
        mcema.get_by_role("navigation", name="Main").get_by_role("link", name="Mutual aid").click()
        mcema.wait_for_url(server + "/mutual-aid")
        _shot(mcema, "requests")
        mcema.get_by_role("link", name="New request").click()
        mcema.wait_for_url(server + "/mutual-aid/requests/new")
        _choose_flood(mcema)
        mcema.get_by_label("Quantity").fill("1")
        mcema.locator("#type_key").select_option("swift_water_rescue_team")
        mcema.locator("#level").select_option("2")
        mcema.get_by_label("Substitutes acceptable").check()
        mcema.get_by_label("Deliver to / reporting location").fill("Staging, Harrowgate fairgrounds")
        pick = mcema.locator("#ma-pick-map")
        expect(pick).to_have_attribute("data-loaded", "true", timeout=10_000)
        pick.scroll_into_view_if_needed()
        pick.click()  # the middle of the map
        expect(mcema.get_by_label("Longitude")).not_to_have_value("")
        needed = (datetime.now(UTC) + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M")
        mcema.get_by_label("Needed at (UTC)").fill(needed)
        mcema.get_by_label("Priority").select_option("urgent")
        mcema.get_by_label("Special instructions").fill("Report to the staging officer at gate B.")
        mcema.get_by_label("Position").fill("Logistics section chief")
        _shot(mcema, "new-request")
        mcema.get_by_role("button", name="Write the request").click()
        mcema.wait_for_url(re.compile(r".*/mutual-aid/requests/[0-9a-f-]{36}$"))
        request_url = mcema.url
        expect(mcema.locator("h1")).to_contain_text("Waiting for approval")
        mcema.get_by_role("button", name="Approve for logistics").click()
        mcema.wait_for_url(request_url)
        mcema.get_by_role("button", name="Approve for finance").click()
        mcema.wait_for_url(request_url)
        expect(mcema.locator("h1")).to_contain_text("Open")
        expect(mcema.locator("#part-offers")).to_contain_text("No offers yet")
        expect(mcema.locator("[data-live-status]")).to_have_attribute("data-state", "live", timeout=10_000)
        mcema.evaluate("window.__sameDocument = true")

        # LHFD opens the same request and offers its boat team.
        lhfd.goto(request_url)
        expect(lhfd.locator("#candidates")).to_contain_text(world["boat"])
        candidate = lhfd.locator("li.candidate", has_text=world["boat"])
        candidate.get_by_label("Note").fill("Crew of 4 with a 5 m inflatable; leaves in 20 minutes")
        _shot(lhfd, "partner-request")
        candidate.get_by_role("button", name="Offer").click()
        lhfd.wait_for_url(re.compile(r".*#offers$"))
        expect(lhfd.locator("#part-offers")).to_contain_text(world["boat"])
        expect(lhfd.locator(".flash-success")).to_contain_text("Offer sent")

        # The requester's open page shows it, ranked and explained, without a reload.
        offers = mcema.locator("#part-offers")
        expect(offers).to_contain_text(world["boat"], timeout=5_000)
        offer = offers.locator("li.offer", has_text=world["boat"])
        expect(offer).to_contain_text("exact type (level 2)")
        expect(offer).to_contain_text("Crew of 4")
        expect(offer.get_by_role("button", name="Commit")).to_be_visible()
        assert mcema.evaluate("window.__sameDocument") is True  # never reloaded
        assert mcema.url == request_url
        _shot(mcema, "request")

        # MCEMA commits it; LHFD's open page shows the commitment live, and the board lists it.
        offer.get_by_role("button", name="Commit").click()
        mcema.wait_for_url(re.compile(r".*#offers$"))
        expect(mcema.locator("#part-offers")).to_contain_text("1 of 1")
        expect(lhfd.locator("#part-offers")).to_contain_text("Committed", timeout=5_000)
        mcema.goto(server + "/mutual-aid/deployments")
        column = mcema.locator('.board-col[data-status="committed"]')
        expect(column).to_contain_text(world["boat"])
        expect(mcema.locator("[data-live-status]")).to_have_attribute("data-state", "live", timeout=10_000)
        lhfd.goto(request_url)
        lhfd.locator("li.offer", has_text=world["boat"]).get_by_role("button", name="Mobilized").click()
        expect(mcema.locator('.board-col[data-status="mobilized"]')).to_contain_text(world["boat"], timeout=5_000)
        _shot(mcema, "deployments")

        # The inventory: the boat on the map, assigned now.
        lhfd.goto(server + "/mutual-aid/inventory")
        inventory_map = lhfd.locator("#ma-map")
        expect(inventory_map).to_have_attribute("data-loaded", "true", timeout=10_000)
        assert int(inventory_map.get_attribute("data-resources") or 0) >= 10
        assert lhfd.locator("#ma-map path.leaflet-interactive").count() >= 10
        lhfd.get_by_text("Add a resource").click()
        _shot(lhfd, "inventory")

        # The operating picture: the resources layer, and the boat moves on scene live.
        mcema.goto(server + "/cop")
        cop = mcema.locator("#cop-map")
        expect(cop).to_have_attribute("data-loaded", "true", timeout=15_000)
        mcema.locator('[data-layer="resources"]').check()
        expect(cop).to_have_attribute("data-resources-loaded", "true", timeout=10_000)
        marker = mcema.locator(f'.cop-resource[title="{world["boat"]}"]')
        expect(marker).to_have_count(1)
        before = marker.bounding_box()
        expect(mcema.locator("[data-live-status]")).to_have_attribute("data-state", "live", timeout=10_000)
        lhfd.goto(request_url)
        lhfd.locator("li.offer", has_text=world["boat"]).get_by_role("button", name="On scene").click()
        lhfd.wait_for_url(re.compile(r".*#offers$"))
        mcema.wait_for_timeout(1_500)
        after = marker.bounding_box()
        assert before is not None and after is not None
        assert (round(before["x"]), round(before["y"])) != (round(after["x"]), round(after["y"]))
        _shot(mcema, "cop", full=False)
        assert not mcema_errors and not lhfd_errors, mcema_errors + lhfd_errors
    finally:
        mcema_context.close()
        lhfd_context.close()


def _quiet_incident(session_factory: Any) -> str:
    """An incident of MCEMA with no emergency declared (the demo flood has one)."""
    from accord.authz.actor import Actor, MembershipGrant
    from accord.authz.roles import BUILTIN_ROLES
    from accord.directory.models import Agency
    from accord.operations import service as operations
    from accord.operations.schemas import IncidentCreate

    commander = next(role.permissions for role in BUILTIN_ROLES if role.name == "commander")
    name = unique("Ice jam ")
    with session_factory() as db:
        mcema = db.scalar(select(Agency.id).where(Agency.short_name == "MCEMA"))
        actor = Actor(
            user_id=None,
            username="test",
            memberships=(MembershipGrant(mcema, "commander", frozenset(commander)),),
            auth_method="system",
        )
        data = IncidentCreate(lead_agency_id=mcema, name=name, type="flood", severity="moderate")
        operations.create_incident(db, actor=actor, data=data)
        db.commit()
    return name


def test_a_threshold_refusal_is_shown_in_the_form(live_server, browser, session_factory):  # noqa: F811
    world = _people(session_factory)
    quiet = _quiet_incident(session_factory)
    context, page, errors = _sign_in(browser, live_server, world["users"]["MCEMA"])
    try:
        page.goto(live_server + "/mutual-aid/requests/new")
        option = page.locator("#incident_id option", has_text=quiet).first
        page.locator("#incident_id").select_option(option.get_attribute("value"))
        page.locator("#type_key").select_option("sandbagging_machine")
        page.get_by_label("Deliver to / reporting location").fill("Harrowgate public works yard")
        page.get_by_label("Longitude").fill("-76.74")
        page.get_by_label("Latitude").fill("40.90")
        page.get_by_role("button", name="Write the request").click()
        alert = page.locator("#thresholds")
        expect(alert).to_be_visible()
        expect(alert).to_contain_text("Harrow Valley Mutual Aid Agreement")
        _shot(page, "refused")
        assert not [e for e in errors if "422" not in e], errors
    finally:
        context.close()
