"""Drafting an agreement like a coordinator in Debian's Chromium: the new-agreement form,
two clauses through the clause editor, proposing; then each party's administrator signs
on the agreement page, and the version opens as a printable document and a PDF.
Screenshots go to test-artifacts/."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from accord.core.time import utcnow
from accord.directory.models import Agency
from tests.conftest import ARTIFACTS, BACKEND, unique
from tests.test_browser import browser, live_server  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser


def _sign_in(browser, base: str, username: str, password: str):  # noqa: F811
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # A form answered 422 on purpose logs "Failed to load resource"; anything else is a fault.
    page.on(
        "console",
        lambda msg: errors.append(msg.text) if msg.type == "error" and "status of 422" not in msg.text else None,
    )
    page.goto(base + "/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(base + "/")
    return context, page, errors


def test_coordinator_drafts_with_two_clauses_and_parties_sign(live_server, browser, make_user, db):  # noqa: F811
    ARTIFACTS.mkdir(exist_ok=True)
    ids = {a.short_name: a.id for a in db.scalars(select(Agency)).unique()}
    db.rollback()
    coordinator = make_user("coordinator", "MCEMA")
    signatories = {short: make_user("agency_admin", short) for short in ("MCEMA", "TCEMA")}
    title = f"Harrow River Flood Data-Use Agreement {unique('')}"

    context, page, errors = _sign_in(browser, live_server, coordinator["username"], coordinator["password"])
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Agreements", exact=True).click()
    page.get_by_role("link", name="New agreement").click()
    page.wait_for_url("**/agreements/new")
    page.get_by_label("Kind").select_option("data_use")
    page.get_by_label("Title").fill(title)
    page.get_by_label("Text").fill(
        "The parties share incident reports and BOLOs about river flooding so that each can warn "
        "and evacuate its residents in time.\n\nEach party keeps what it receives no longer than this "
        "agreement allows, and answers for its own staff's use of it."
    )
    for short in ("MCEMA", "TCEMA"):
        page.locator(f'input[name="parties"][value="{ids[short]}"]').check()
    effective = (utcnow() - timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M")
    page.get_by_label("In force from").fill(effective)
    page.get_by_label("Time zone of these times").select_option("UTC")
    page.screenshot(path=str(ARTIFACTS / f"agreement-new-{BACKEND}.png"), full_page=True)
    page.get_by_role("button", name="Save draft and add clauses").click()
    page.wait_for_url("**/draft")
    expect(page.locator(".flash-success")).to_contain_text("Draft saved")
    agreement_url = page.url.removesuffix("/draft")

    # Clause 1: information sharing, MCEMA -> TCEMA
    page.get_by_role("link", name="Information sharing").click()
    page.wait_for_url("**/clauses/new?kind=sharing")
    page.locator("#providers").get_by_label(re.compile(r"\(MCEMA\)")).check()
    page.locator("#recipients").get_by_label(re.compile(r"\(TCEMA\)")).check()
    page.get_by_label("Incident report").check()
    page.get_by_label("BOLO (be on the lookout)").check()
    page.get_by_label("Highest tier shared (TLP 2.0)").select_option("AMBER")
    page.get_by_label("Emergency response").check()
    page.get_by_label("Personally identifiable information").check()
    page.get_by_label("Retention (days)").fill("90")
    page.screenshot(path=str(ARTIFACTS / f"agreement-clause-form-{BACKEND}.png"), full_page=True)
    page.get_by_role("button", name="Add clause").click()
    page.wait_for_url("**/draft#clause-1")

    # Clause 2: opt-out with notice; first a bad value, explained next to the field
    page.get_by_role("link", name="Opt-out", exact=True).click()
    page.get_by_label("Notice period (days)").fill("-5")
    page.get_by_role("button", name="Add clause").click()
    expect(page.locator("#notice_days-error")).to_contain_text("greater than or equal to 0")
    page.screenshot(path=str(ARTIFACTS / f"agreement-clause-error-{BACKEND}.png"), full_page=True)
    page.get_by_label("Notice period (days)").fill("30")
    page.get_by_role("button", name="Add clause").click()
    page.wait_for_url("**/draft#clause-2")
    expect(page.locator(".clause-item")).to_have_count(2)
    expect(page.locator("#clause-1")).to_contain_text("TLP:AMBER")
    expect(page.locator("#clause-2")).to_contain_text("30 days after the notice")
    page.screenshot(path=str(ARTIFACTS / f"agreement-clause-editor-{BACKEND}.png"), full_page=True)

    page.get_by_role("button", name="Propose for signature").click()
    page.wait_for_url(agreement_url)
    expect(page.locator(".flash-success")).to_contain_text("Proposed for signature")
    expect(page.locator(".badge").first).to_have_text("proposed")
    page.screenshot(path=str(ARTIFACTS / f"agreement-proposed-{BACKEND}.png"), full_page=True)
    assert not errors, errors
    context.close()

    for short in ("MCEMA", "TCEMA"):  # the last signatory's window stays open
        user = signatories[short]
        context, page, errors = _sign_in(browser, live_server, user["username"], user["password"])
        page.goto(agreement_url)
        page.get_by_label("Sign on behalf of").select_option(str(ids[short]))
        page.get_by_role("button", name="Sign this version").click()
        expect(page.locator(".flash-success")).to_contain_text("Signed.")
        assert not errors, errors
        if short == "MCEMA":
            context.close()

    expect(page.locator(".page-head .badge")).to_have_text("active")
    expect(page.locator('section[aria-labelledby="sig-title"] .badge-ok')).to_have_count(2)
    page.screenshot(path=str(ARTIFACTS / f"agreement-signed-{BACKEND}.png"), full_page=True)

    page.get_by_role("link", name="Document", exact=True).first.click()
    page.wait_for_url("**/versions/1")
    expect(page.locator("h1")).to_have_text(title)
    expect(page.locator(".signatures tbody tr")).to_have_count(2)
    page.screenshot(path=str(ARTIFACTS / f"agreement-document-{BACKEND}.png"), full_page=True)

    pdf = context.request.get(agreement_url + "/versions/1.pdf")
    assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf"
    body = pdf.body()
    assert body.startswith(b"%PDF")
    (ARTIFACTS / f"agreement-{BACKEND}.pdf").write_bytes(body)
    assert not errors, errors
    context.close()


def test_coordinator_forms_a_partnership_and_runs_its_governance(live_server, browser, make_user, db):  # noqa: F811
    ARTIFACTS.mkdir(exist_ok=True)
    ids = {a.short_name: a.id for a in db.scalars(select(Agency)).unique()}
    db.rollback()
    coordinator = make_user("coordinator", "MCEMA")
    name = f"Harrow Valley Flood Compact {unique('')}"
    context, page, errors = _sign_in(browser, live_server, coordinator["username"], coordinator["password"])
    page.goto(live_server + "/partnerships")
    page.get_by_role("link", name="New partnership").click()
    page.get_by_label("Name").fill(name)
    page.get_by_label("Kind").select_option("mutual_aid_compact")
    page.get_by_label("Purpose").fill("Share crews, pumps and sandbags when the Harrow River floods.")
    page.locator(f'input[name="members"][value="{ids["TCEMA"]}"]').check()
    page.get_by_role("button", name="Form partnership").click()
    expect(page.locator("h1")).to_have_text(name)

    # add a member; htmx lists that agency's people as liaison candidates
    page.get_by_text("Add a member agency").click()
    page.locator("#member-agency_id").select_option(str(ids["CCEMA"]))
    expect(page.locator("#member-liaison_person_id option")).not_to_have_count(1)
    page.locator("#member-liaison_person_id").select_option(index=1)
    page.get_by_role("button", name="Add member").click()
    expect(page.locator(".flash-success")).to_contain_text("joined the partnership")
    expect(page.locator(".member-table tbody tr")).to_have_count(3)

    page.get_by_text("Set up a governance body").click()
    page.locator("#body-kind").select_option("steering_committee")
    page.locator("#body-name").fill("Steering committee")
    page.locator('input[name="member_person_ids"]').first.check()
    page.get_by_role("button", name="Set up body").click()
    expect(page.locator(".body-block h3")).to_contain_text("Steering committee")

    page.get_by_text("Record a decision").click()
    page.locator("#decision-1-text").fill("Pre-position pumps at Kettleburg when the gauge passes 12 ft")
    page.locator("#decision-1-outcome").select_option("adopted")
    page.locator("#decision-1-votes_for").fill("3")
    page.get_by_role("button", name="Record decision").click()
    expect(page.locator(".decisions")).to_contain_text("Pre-position pumps")

    page.get_by_text("Open a dispute").click()
    page.locator("#dispute-subject").fill("x")
    page.get_by_role("button", name="Open dispute").click()
    expect(page.locator("#dispute-subject-error")).to_contain_text("at least 3 characters")
    page.locator("#dispute-subject").fill("Late reimbursement for the March deployment")
    page.get_by_role("button", name="Open dispute").click()
    expect(page.locator(".disputes")).to_contain_text("Late reimbursement")
    page.screenshot(path=str(ARTIFACTS / f"partnership-governance-{BACKEND}.png"), full_page=True)
    assert not errors, errors
    context.close()
