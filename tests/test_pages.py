"""HTML pages: the shell, the directory, forms with their errors, the audit viewer."""

from __future__ import annotations

import json

from sqlalchemy import select

from accord.directory.models import Agency, Person
from tests.conftest import browser_login, csrf_from, unique


def _signed_in(client, make_user, role="viewer", agency="CCSO"):
    user = make_user(role, agency)
    response = browser_login(client, user["username"], user["password"])
    assert response.status_code == 200, response.text[:500]
    return user


def test_anonymous_pages_redirect_to_sign_in(client):
    response = client.get("/directory?q=x", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/directory?q=x"


def test_navigation_shows_built_modules_the_user_may_use(client, make_user):
    _signed_in(client, make_user, "viewer")
    html = client.get("/").text
    for label in ("Overview", "Directory", "Region map", "Partnerships", "Agreements", "Records", "Operations"):
        assert f">{label}</a>" in html
    assert ">Mutual aid</a>" in html  # everyone reads requests; only commanders and logistics ask
    for hidden in ("Users", "Audit", "Alerts", "Training"):
        assert f">{hidden}</a>" not in html
    assert "Demo installation" in html


def test_administrators_see_admin_navigation(client, make_user):
    _signed_in(client, make_user, "agency_admin")
    html = client.get("/").text
    assert ">Users</a>" in html and ">Audit</a>" in html


def test_directory_search_and_filters(client, make_user):
    _signed_in(client, make_user)
    html = client.get("/directory?q=sheriff").text
    assert "3 agencies" in html and "Tenney County Sheriff" in html and "Harrowgate Police" not in html
    fire = client.get("/directory?kind=fire").text
    assert "Lower Harrow Fire District" in fire and "Sheriff" not in fire.split("result-count")[1]
    partial = client.get("/directory?capability=swift-water-rescue", headers={"HX-Request": "true"}).text
    assert "<html" not in partial and "Lower Harrow Fire District" in partial


def test_bad_filter_values_are_explained_not_500(client, make_user):
    _signed_in(client, make_user)
    response = client.get("/directory?kind=spaceport")
    assert response.status_code == 200
    assert "field-error" in response.text


def test_agency_page_shows_jurisdiction_people_and_duty_line(client, make_user, db):
    _signed_in(client, make_user)
    ccso = db.scalars(select(Agency).where(Agency.short_name == "CCSO")).unique().one()
    html = client.get(f"/directory/agencies/{ccso.id}").text
    assert "Calder County Sheriff" in html and ccso.duty_phone in html
    assert "Liaison officer" in html and "24/7 duty" in html
    assert 'data-geometry="' in html
    assert "Edit profile" not in html  # a viewer may not edit


def test_unknown_agency_page_is_a_404_page(client, make_user):
    _signed_in(client, make_user)
    response = client.get("/directory/agencies/00000000-0000-0000-0000-000000000000")
    assert response.status_code == 404
    assert "Not found" in response.text and "<html" in response.text


def _new_agency(client, make_user):
    """A platform admin registers an agency through the form; returns its id."""
    _signed_in(client, make_user, "platform_admin", None)
    form = client.get("/directory/agencies/new").text
    short = unique("T").upper()[:9]
    area = {"type": "Polygon", "coordinates": [[[-77.0, 40.8], [-76.9, 40.8], [-76.9, 40.9], [-77.0, 40.8]]]}
    response = client.post(
        "/directory/agencies/new",
        data={
            "csrf_token": csrf_from(form),
            "name": f"Test Agency {short}",
            "short_name": short,
            "kind": "fire",
            "level": "local",
            "jurisdiction_name": "Test District",
            "jurisdiction": json.dumps(area),
            "capabilities": ["hazmat", "structural-firefighting"],
            "contact_kind_0": "phone",
            "contact_value_0": "+1-717-555-0199",
            "contact_label_0": "Station",
        },
    )
    assert response.status_code == 200, response.text[:400]
    assert f"Test Agency {short} is registered" in response.text
    return short


def test_agency_form_registers_and_edits_with_clear_errors(client, make_user, db):
    short = _new_agency(client, make_user)
    agency = db.scalars(select(Agency).where(Agency.short_name == short)).unique().one()
    assert agency.jurisdiction["type"] == "MultiPolygon"
    assert agency.capability_keys == ["hazmat", "structural-firefighting"]
    edit = client.get(f"/directory/agencies/{agency.id}/edit").text
    bad = client.post(
        f"/directory/agencies/{agency.id}/edit",
        data={
            "csrf_token": csrf_from(edit),
            "name": agency.name,
            "short_name": short,
            "kind": "fire",
            "level": "local",
            "jurisdiction_name": "Test District",
            "jurisdiction": '{"type": "Polygon", "coordinates": [[[-77, 40.8], [-76.9, 40.8], [-76.9, 40.9], [-76.95, 40.95]]]}',
        },
    )
    assert bad.status_code == 422
    assert "ring is not closed" in bad.text and 'aria-invalid="true"' in bad.text
    not_json = client.post(
        f"/directory/agencies/{agency.id}/edit",
        data={
            "csrf_token": csrf_from(edit),
            "name": agency.name,
            "short_name": short,
            "kind": "fire",
            "level": "local",
            "jurisdiction_name": "X",
            "jurisdiction": "{not json",
        },
    )
    assert not_json.status_code == 422 and "not valid JSON" in not_json.text


def test_agency_admin_edits_own_agency_only(client, make_user, db):
    user = _signed_in(client, make_user, "agency_admin", "HPD")
    hpd = db.scalars(select(Agency).where(Agency.id == user["agency_id"])).unique().one()
    other = db.scalars(select(Agency).where(Agency.short_name == "KPD")).unique().one()
    assert "Edit profile" in client.get(f"/directory/agencies/{hpd.id}").text
    assert "Edit profile" not in client.get(f"/directory/agencies/{other.id}").text
    page = client.get(f"/directory/agencies/{other.id}/edit")
    assert "You can edit your own agency only" in page.text
    token = csrf_from(page.text)
    response = client.post(
        f"/directory/agencies/{other.id}/edit",
        data={
            "csrf_token": token,
            "name": "Hijacked",
            "short_name": "KPD",
            "kind": "police",
            "level": "local",
            "jurisdiction_name": "x",
        },
    )
    assert response.status_code == 403
    db.rollback()
    assert db.get(Agency, other.id).name != "Hijacked"


def test_people_are_added_and_edited_by_their_agency(client, make_user, db):
    user = _signed_in(client, make_user, "agency_admin", "TCSO")
    page = client.get(f"/directory/agencies/{user['agency_id']}")
    name = f"Pat {unique('Q')}"
    added = client.post(
        f"/directory/agencies/{user['agency_id']}/people",
        data={
            "csrf_token": csrf_from(page.text),
            "full_name": name,
            "title": "Sergeant",
            "phone": "+1-717-555-0190",
            "email": "pat@tenney-sheriff.example",
            "is_liaison": "on",
        },
    )
    assert added.status_code == 200 and f"{name} added" in added.text
    person = db.scalars(select(Person).where(Person.full_name == name)).unique().one()
    assert person.is_liaison and not person.is_duty_contact
    edit = client.get(f"/directory/people/{person.id}/edit")
    bad = client.post(
        f"/directory/people/{person.id}/edit",
        data={"csrf_token": csrf_from(edit.text), "full_name": name, "email": "not-an-email"},
    )
    assert bad.status_code == 422 and "email" in bad.text


def test_region_map_page_and_layer(client, make_user):
    _signed_in(client, make_user)
    html = client.get("/map").text
    assert 'id="regionmap"' in html and "/static/vendor/leaflet/leaflet.js" in html
    layer = client.get("/api/v1/agencies.geojson").json()
    assert layer["type"] == "FeatureCollection" and len(layer["features"]) >= 12


def test_users_and_audit_pages_for_administrators(client, make_user):
    _signed_in(client, make_user, "agency_admin", "CCSO")
    users = client.get("/admin/users").text
    assert "agencyadmin" in users and "auditor" not in users
    audit = client.get("/audit?action=auth.login").text
    assert "auth.login" in audit
    assert client.get("/audit?outcome=bogus").status_code == 200


def test_the_audit_viewer_filters_by_day(client, make_user):
    from datetime import timedelta

    from accord.core.time import utcnow

    _signed_in(client, make_user, "agency_admin", "CCSO")
    today = utcnow().date()
    todays = client.get(f"/audit?action=auth.login&since={today}&until={today}").text
    assert "auth.login" in todays and f'value="{today}"' in todays
    tomorrow = today + timedelta(days=1)
    assert "No events match." in client.get(f"/audit?action=auth.login&since={tomorrow}").text
    assert "No events match." in client.get(f"/audit?until={today - timedelta(days=3650)}").text
    bad = client.get("/audit?since=22-11-2026")
    assert bad.status_code == 200 and "a day as YYYY-MM-DD" in bad.text


def test_static_assets_are_served_locally(client):
    for path in (
        "/static/vendor/htmx.min.js",
        "/static/vendor/leaflet/leaflet.js",
        "/static/accord.css",
        "/static/js/map.js",
    ):
        assert client.get(path).status_code == 200, path
