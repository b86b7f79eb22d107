"""CAP alert pages: the incident's public alerts (compose prefilled, preview, publish,
update, cancel) and the import page, through the HTML forms with CSRF, and once in
Debian's Chromium with screenshots."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ARTIFACTS, BACKEND, browser_login, csrf_from
from tests.test_browser import browser, live_server  # noqa: F401  (module fixtures)
from tests.test_cap_alerts import make_world, open_incident
from tests.test_cap_alerts_import import variant

DATA = Path(__file__).resolve().parents[1] / "src" / "accord" / "operations" / "alerts" / "data"


@pytest.fixture(scope="module")
def world(app: Any, session_factory: Any) -> dict[str, Any]:
    return make_world(app, session_factory)


def signed_in(client: Any, world: dict[str, Any], who: str) -> Any:
    response = browser_login(client, world["people"][who][1]["username"])
    assert response.status_code in (200, 303), response.text
    return client


def _form(page: str) -> dict[str, str]:
    """The compose form's fields as the page prefilled them."""
    fields: dict[str, str] = {}
    form = page[page.index('id="compose"') :]
    for name, value in re.findall(r'<input id="[^"]+" name="([^"]+)" type="[^"]+" value="([^"]*)"', form):
        fields[name] = value
    for name, body in re.findall(r'<textarea id="[^"]+" name="([^"]+)"[^>]*>([^<]*)</textarea>', form):
        fields[name] = body
    for name, body in re.findall(r'<select id="[^"]+" name="([^"]+)"[^>]*>(.*?)</select>', form, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected', body)
        fields[name] = chosen.group(1) if chosen else ""
    hidden = re.search(r'name="replaces" value="([^"]+)"', form)
    if hidden:
        fields["replaces"] = hidden.group(1)
    return {k: v.replace("&#39;", "'").replace("&amp;", "&") for k, v in fields.items()}


def test_a_commander_previews_publishes_updates_and_cancels_from_the_page(client, world):
    incident = open_incident(client, world)
    signed_in(client, world, "commander")
    url = f"/incidents/{incident['id']}/alerts"
    page = client.get(url)
    assert page.status_code == 200 and "New public alert" in page.text
    form = _form(page.text)
    assert form["headline"] == incident["name"] and form["event"] == "Flood" and form["severity"] == "Severe"
    token = csrf_from(page.text)
    preview = client.post(url, data=form | {"csrf_token": token, "action": "preview"})
    assert preview.status_code == 200 and "Preview: the CAP 1.2 document" in preview.text
    assert "&lt;alert xmlns=&#34;urn:oasis:names:tc:emergency:cap:1.2&#34;&gt;" in preview.text
    published = client.post(url, data=form | {"csrf_token": token, "action": "publish"}, follow_redirects=False)
    assert published.status_code == 303
    page = client.get(url)
    assert f"ACCORD-{incident['number']}-001" in page.text and "In force" in page.text
    assert "Published ACCORD-" in page.text  # the flash message
    alert_id = re.search(r"alerts\?update=([0-9a-f-]+)", page.text).group(1)
    update_page = client.get(f"{url}?update={alert_id}")
    form = _form(update_page.text)
    assert form["replaces"] == alert_id and "Update “" in update_page.text
    form["headline"] = "River Road and Ferry Lane now closed"
    updated = client.post(url, data=form | {"csrf_token": token, "action": "publish"}, follow_redirects=False)
    assert updated.status_code == 303
    page = client.get(url)
    assert "River Road and Ferry Lane now closed" in page.text and f"ACCORD-{incident['number']}-002" in page.text
    last = re.search(r"alerts/([0-9a-f-]+)/cancel", page.text).group(1)
    cancelled = client.post(f"{url}/{last}/cancel", data={"csrf_token": token, "note": "River back below flood stage"})
    assert cancelled.status_code == 200 and "Cancelled" in cancelled.text
    assert "Published the cancellation" in cancelled.text


def test_forms_refuse_bad_input_and_missing_csrf(client, world):
    incident = open_incident(client, world)
    signed_in(client, world, "commander")
    url = f"/incidents/{incident['id']}/alerts"
    page = client.get(url)
    form = _form(page.text) | {"csrf_token": csrf_from(page.text), "action": "publish"}
    bad = client.post(url, data=form | {"headline": "", "expires": "2020-01-01T00:00"})
    assert bad.status_code == 422 and 'aria-invalid="true"' in bad.text and "at least 3 characters" in bad.text
    assert client.post(url, data={k: v for k, v in form.items() if k != "csrf_token"}).status_code == 403
    cancel = client.post(f"{url}/{uuid.uuid4()}/cancel", data={"csrf_token": form["csrf_token"], "note": "why"})
    assert cancel.status_code == 404


def test_viewers_read_the_list_and_strangers_see_nothing(client, world):
    incident = open_incident(client, world)
    signed_in(client, world, "viewer")
    page = client.get(f"/incidents/{incident['id']}/alerts")
    assert page.status_code == 200 and "Only commanders of the incident's lead agency publish" in page.text
    assert 'id="compose"' not in page.text
    client.cookies.clear()
    signed_in(client, world, "stranger")
    assert client.get(f"/incidents/{incident['id']}/alerts").status_code == 404


def test_the_import_page_shows_each_alert_and_names_refusals(client, world):
    signed_in(client, world, "analyst")
    page = client.get("/alerts/import")
    assert page.status_code == 200 and "Import CAP alerts" in page.text
    token = csrf_from(page.text)
    good = client.post(
        "/alerts/import",
        data={"csrf_token": token, "agency_id": str(world["ids"]["LEAD"])},
        files={"file": ("alert.xml", variant(), "application/xml")},
    )
    assert good.status_code == 200 and "1 imported" in good.text and "Flood Warning" not in good.text
    bad = client.post(
        "/alerts/import",
        data={"csrf_token": token, "agency_id": str(world["ids"]["LEAD"])},
        files={"file": ("alert.xml", variant(event=""), "application/xml")},
    )
    assert bad.status_code == 422 and "/alert/info[1]/event" in bad.text and "must not be empty" in bad.text
    nothing = client.post("/alerts/import", data={"csrf_token": token, "agency_id": str(world["ids"]["LEAD"])})
    assert nothing.status_code == 422 and "choose a CAP file" in nothing.text
    assert client.post("/alerts/import", data={"agency_id": str(world["ids"]["LEAD"])}).status_code == 403


# --- in the browser -------------------------------------------------------------------


@pytest.mark.browser
def test_a_commander_publishes_and_imports_alerts_in_the_browser(client, world, live_server, browser, tmp_path):  # noqa: F811
    incident = open_incident(client, world)
    page = browser.new_page(viewport={"width": 1300, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(live_server + "/login")
    page.get_by_label("Username").fill(world["people"]["commander"][1]["username"])
    page.get_by_label("Password").fill(world["people"]["commander"][1]["password"])
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(live_server + "/")
    page.goto(f"{live_server}/incidents/{incident['id']}/alerts")
    page.get_by_label("Instruction to the public").fill("Avoid River Road. Never drive through flood water.")
    page.screenshot(path=str(ARTIFACTS / f"cap-alert-compose-{BACKEND}.png"), full_page=True)
    page.get_by_role("button", name="Preview XML").click()
    page.locator("#preview pre").wait_for()
    assert "urn:oasis:names:tc:emergency:cap:1.2" in page.locator("#preview pre").inner_text()
    page.screenshot(path=str(ARTIFACTS / f"cap-alert-preview-{BACKEND}.png"), full_page=True)
    page.get_by_role("button", name="Publish alert").click()
    page.get_by_text("In force").wait_for()
    page.screenshot(path=str(ARTIFACTS / f"cap-alert-published-{BACKEND}.png"), full_page=True)

    feed = tmp_path / "feed.atom"
    entries = "".join(
        f"<entry><id>{i}</id><title>t</title><updated>2026-12-05T00:00:00Z</updated>"
        f'<content type="application/cap+xml">{doc.decode().split("?>", 1)[1]}</content></entry>'
        for i, doc in enumerate(
            [variant(), variant((DATA / "river-gauge-advisory.xml").read_bytes()), variant(urgency="Soon")]
        )
    )
    feed.write_text(f'<feed xmlns="http://www.w3.org/2005/Atom"><id>f</id><title>t</title>{entries}</feed>')
    page.goto(live_server + "/alerts/import")
    page.get_by_label("CAP file or feed").set_input_files(str(feed))
    page.get_by_role("button", name="Import").click()
    page.locator("#results").wait_for()
    assert page.locator("tr.cap-imported").count() == 2 and page.locator("tr.cap-refused").count() == 1
    page.screenshot(path=str(ARTIFACTS / f"cap-alert-import-{BACKEND}.png"), full_page=True)
    assert not errors, errors
    page.close()
