"""Records through the one door: tiers, grants, partnerships, roles, labels and masks,
RED recipients, revocation, explain, recipients preview, audit of reads, bad input."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from accord.audit.models import AuditEvent
from accord.core.time import utcnow
from tests.conftest import assert_error, refresh
from tests.sharing_world import EVENT, build_sharing_world, propose_and_sign


@pytest.fixture(scope="module")
def world(app, session_factory) -> dict[str, Any]:
    return build_sharing_world(app, session_factory)


EXPECTED = {
    "hpd_analyst": {"clear", "green", "amber", "amber_planning", "strict_incident", "strict_case", "red", "threat"},
    "kpd_analyst": {"clear", "amber", "strict_case"},
    "kpd_viewer": {"clear", "amber"},
    "kpd_named": {"clear", "amber", "red"},
    "wfpd_viewer": {"clear", "green"},
    "ccso_viewer": {"clear"},
}


def _mine(client, world, who) -> dict[str, dict[str, Any]]:
    response = client.get("/api/v1/records?limit=500", headers=world["headers"][who])
    assert response.status_code == 200, response.text
    by_id = {r["id"]: r for r in response.json()["items"]}
    return {name: by_id[rid] for name, rid in world["records"].items() if rid in by_id}


@pytest.mark.parametrize("who", sorted(EXPECTED))
def test_list_and_detail_follow_the_rules(client, world, who):
    seen = _mine(client, world, who)
    assert set(seen) == EXPECTED[who]
    for name, rid in world["records"].items():
        response = client.get(f"/api/v1/records/{rid}", headers=world["headers"][who])
        assert response.status_code == (200 if name in EXPECTED[who] else 404), (who, name)


def test_invisible_is_indistinguishable_from_absent(client, world):
    h = world["headers"]["ccso_viewer"]
    hidden = client.get(f"/api/v1/records/{world['records']['amber']}", headers=h)
    absent = client.get(f"/api/v1/records/{uuid.uuid4()}", headers=h)
    assert hidden.status_code == absent.status_code == 404
    assert hidden.json()["error"] | {"request_id": ""} == absent.json()["error"] | {"request_id": ""}
    assert client.get(f"/api/v1/records/{world['records']['amber']}/explain", headers=h).status_code == 404


def test_labelled_fields_are_masked_unless_a_clause_grants_the_label(client, world):
    kpd = _mine(client, world, "kpd_analyst")
    amber = kpd["amber"]
    assert amber["access"] == "grant"
    assert amber["body"]["persons_involved"] == "Jonah Reyes, 555-0177"  # PII granted
    assert amber["body"]["arrest_details"] is None and amber["masked_fields"] == {"arrest_details": "CJI"}
    case = kpd["strict_case"]
    assert case["body"]["case_number"] == "HPD-26-0042" and case["masked_fields"] == {"suspects": "PII"}
    assert kpd["clear"]["access"] == "grant"  # a CLEAR record is public, and KPD's clause also grants its PII
    assert kpd["clear"]["body"]["persons_involved"] == "Jonah Reyes, 555-0177"
    public = _mine(client, world, "ccso_viewer")["clear"]
    assert public["access"] == "public" and set(public["masked_fields"]) == {"persons_involved", "arrest_details"}
    assert public["body"]["persons_involved"] is None
    green = _mine(client, world, "wfpd_viewer")["green"]
    assert green["access"] == "partnership" and green["body"]["persons_involved"] is None
    owner = _mine(client, world, "hpd_analyst")["amber"]
    assert owner["masked_fields"] == {} and owner["body"]["arrest_details"] == "Warrant 26-118 served"
    red = _mine(client, world, "kpd_named")["red"]
    assert red["access"] == "named" and red["body"]["subject_name"] == "Lee Park"


def test_search_never_matches_masked_content(client, world):
    h = world["headers"]["kpd_viewer"]
    mine = {"q": "shots fired", "owner_agency_id": str(world["ids"]["HPD"])}  # other tests' worlds aside
    found = client.get("/api/v1/records", params=mine, headers=h).json()["items"]
    assert {r["id"] for r in found} == {world["records"]["clear"], world["records"]["amber"]}
    assert client.get("/api/v1/records", params={"q": "Warrant 26-118"}, headers=h).json()["total"] == 0
    assert (
        client.get("/api/v1/records", params={"q": "Jonah"}, headers=world["headers"]["wfpd_viewer"]).json()["total"]
        == 0
    )


def test_counts_and_filters_go_through_the_same_door(client, world):
    h = world["headers"]["kpd_analyst"]
    owner = str(world["ids"]["HPD"])
    assert client.get("/api/v1/records", params={"owner_agency_id": owner}, headers=h).json()["total"] == 3
    assert client.get("/api/v1/records", params={"tier": "RED"}, headers=h).json()["total"] == 0
    assert client.get("/api/v1/records", params={"category": "case_summary"}, headers=h).json()["total"] == 1


def test_explain_names_agreement_version_clause_and_signatures(client, world):
    h = world["headers"]["kpd_analyst"]
    why = client.get(f"/api/v1/records/{world['records']['amber']}/explain", headers=h).json()
    assert why["access"] == "grant" and len(why["grants"]) == 1
    basis = why["grants"][0]
    assert basis["agreement_id"] == world["agreement"] and basis["version"] == 1 and basis["clause_position"] == 1
    assert basis["labels"] == ["PII"] and len(basis["signatures"]) == 2
    assert why["masked_fields"] == {"arrest_details": "no clause in force grants CJI to your agency"}
    own = client.get(
        f"/api/v1/records/{world['records']['amber']}/explain", headers=world["headers"]["hpd_analyst"]
    ).json()
    assert own["access"] == "owner" and own["grants"] == []


def test_reads_of_partner_records_are_audited_with_their_clause(client, world, db):
    h = world["headers"]["kpd_analyst"]
    client.get(f"/api/v1/records/{world['records']['strict_case']}", headers=h)
    refresh(db)
    event = db.scalars(
        select(AuditEvent)
        .where(AuditEvent.object_id == world["records"]["strict_case"], AuditEvent.action == "sharing.record.read")
        .order_by(AuditEvent.seq.desc())
    ).first()
    assert event is not None and event.clause_id is not None
    assert event.agency_id == world["ids"]["HPD"] and event.details["basis"] == "grant"


def test_recipients_preview(client, world):
    h = world["headers"]["hpd_analyst"]
    base = {
        "owner_agency_id": str(world["ids"]["HPD"]),
        "category": "case_summary",
        "tier": "AMBER+STRICT",
        "purpose": "investigation",
        "title": "Preview",
        "body": {"summary": "x"},
        "event_at": EVENT,
    }
    strict = client.post("/api/v1/records/preview-recipients", json=base, headers=h).json()
    assert strict["agencies"] == [
        {
            "agency_id": str(world["ids"]["KPD"]),
            "role": "analyst",
            "basis": "grant",
            "clause_id": strict["agencies"][0]["clause_id"],
            "labels": ["CJI"],
        }
    ]
    green = client.post(
        "/api/v1/records/preview-recipients",
        json={**base, "tier": "GREEN", "category": "bolo", "body": {"subject_description": "x"}},
        headers=h,
    ).json()
    assert {a["agency_id"] for a in green["agencies"]} >= {str(world["ids"]["KPD"]), str(world["ids"]["WFPD"])}
    assert (
        client.post("/api/v1/records/preview-recipients", json={**base, "tier": "CLEAR"}, headers=h)
        .json()["audience"]
        .startswith("everyone")
    )


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"category": "rumour"}, "category"),
        ({"tier": "PURPLE"}, "tier"),
        ({"tier": 3}, "tier"),
        ({"purpose": "curiosity"}, "purpose"),
        ({"body": {}}, "body.summary"),
        ({"body": {"summary": "x", "shoe_size": 11}}, "body.shoe_size"),
        ({"body": {"summary": 5}}, "body.summary"),
        ({"tier": "RED"}, "red_recipients"),
        ({"red_recipients": ["00000000-0000-0000-0000-000000000000"]}, "red_recipients"),
        ({"event_at": "2026-11-20T14:30:00"}, "event_at"),
        ({"geometry": {"type": "Point", "coordinates": [200, 40]}}, "geometry.coordinates"),
        ({"geometry": {"type": "LineString", "coordinates": [[0, 0], [1, 1]]}}, "geometry.type"),
        ({"owner_agency_id": "00000000-0000-0000-0000-000000000000"}, "owner_agency_id"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_bad_records_are_refused_with_the_field(client, world, change, field):
    body = {
        "owner_agency_id": str(world["ids"]["HPD"]),
        "category": "incident_report",
        "tier": "AMBER",
        "purpose": "investigation",
        "title": "Bad input",
        "body": {"summary": "x"},
        "event_at": EVENT,
        **change,
    }
    error = assert_error(
        client.post("/api/v1/records", json=body, headers=world["headers"]["hpd_analyst"]), 422, "invalid"
    )
    assert any(f["field"] == field for f in error["fields"]), error["fields"]


def test_records_only_for_agencies_you_act_for(client, world):
    body = {
        "owner_agency_id": str(world["ids"]["KPD"]),
        "category": "incident_report",
        "tier": "CLEAR",
        "purpose": "investigation",
        "title": "Not mine",
        "body": {"summary": "x"},
        "event_at": EVENT,
    }
    assert_error(client.post("/api/v1/records", json=body, headers=world["headers"]["hpd_analyst"]), 403, "forbidden")
    assert_error(client.post("/api/v1/records", json=body, headers=world["headers"]["kpd_viewer"]), 403, "forbidden")


def test_facets_export_and_map_layer_go_through_the_same_door(client, world):
    h = world["headers"]["kpd_viewer"]
    owner = str(world["ids"]["HPD"])
    assert client.get("/api/v1/records/facets", params={"owner_agency_id": owner}, headers=h).json() == {
        "category": {"incident_report": 2},
        "tier": {"AMBER": 1, "CLEAR": 1},
    }
    exported = client.get("/api/v1/records/export.json", params={"owner_agency_id": owner}, headers=h).json()
    assert {r["id"] for r in exported} == {world["records"]["clear"], world["records"]["amber"]}
    assert all(r["body"]["arrest_details"] is None for r in exported)
    csv_text = client.get("/api/v1/records/export.csv", params={"owner_agency_id": owner}, headers=h)
    assert csv_text.headers["content-type"].startswith("text/csv")
    assert "Warrant 26-118" not in csv_text.text and "Jonah Reyes" in csv_text.text
    assert len(csv_text.text.strip().splitlines()) == 3
    outsider = client.get(
        "/api/v1/records/export.csv", params={"owner_agency_id": owner}, headers=world["headers"]["ccso_viewer"]
    )
    assert "Jonah Reyes" not in outsider.text


def test_map_layer_shows_only_visible_located_records(client, world):
    h = world["headers"]["hpd_analyst"]
    located = {
        "owner_agency_id": str(world["ids"]["HPD"]),
        "category": "bolo",
        "tier": "AMBER",
        "purpose": "investigation",
        "title": "Located BOLO",
        "event_at": EVENT,
        "body": {"subject_description": "Red pickup"},
        "geometry": {"type": "Point", "coordinates": [-76.88, 40.86]},
    }
    rid = client.post("/api/v1/records", json=located, headers=h).json()["id"]
    layer = client.get("/api/v1/records.geojson", headers=world["headers"]["kpd_viewer"]).json()
    assert rid in {f["id"] for f in layer["features"]}
    assert rid not in {
        f["id"]
        for f in client.get("/api/v1/records.geojson", headers=world["headers"]["ccso_viewer"]).json()["features"]
    }


def test_the_access_report_shows_who_read_our_records_under_which_clause(client, world, as_user, db):
    """Before the agreement ends (below): KPD reads an HPD record; HPD's administrator sees the read, its clause
    and its masks, as JSON and CSV; KPD's administrator may not see HPD's report."""
    h, ids = world["headers"], world["ids"]
    assert client.get(f"/api/v1/records/{world['records']['amber']}", headers=h["kpd_viewer"]).status_code == 200
    report = client.get("/api/v1/records/access-report", headers=h["hpd_admin"])
    assert report.status_code == 200, report.text
    read = next(r for r in report.json() if r["record_id"] == world["records"]["amber"] and r["surface"] == "detail")
    assert read["reader_agency_id"] == str(ids["KPD"]) and read["basis"] == "grant"
    assert "HPD-KPD investigations data-use agreement, version 1, clause" in read["clause"]
    assert "arrest_details" in read["masked"] and read["record_title"] == "Amber on Market Street"
    csv_text = client.get("/api/v1/records/access-report.csv", headers=h["hpd_admin"]).text
    assert csv_text.startswith("read_at,reader,reader_agency,") and "Amber on Market Street" in csv_text
    other = client.get("/api/v1/records/access-report", params={"agency_id": str(ids["HPD"])}, headers=h["kpd_admin"])
    assert_error(other, 403, "forbidden")
    bad = client.get(
        "/api/v1/records/access-report",
        params={"since": "2026-11-02T00:00:00Z", "until": "2026-11-01T00:00:00Z"},
        headers=h["hpd_admin"],
    )
    assert assert_error(bad, 422, "invalid")["fields"][0]["field"] == "until"


def test_the_access_report_page_and_pdf(client, world, make_user, db):
    from accord.directory.models import Agency
    from tests.conftest import ARTIFACTS, BACKEND, browser_login

    short_name = db.get(Agency, world["ids"]["HPD"]).short_name
    auditor = make_user("auditor", short_name)
    assert browser_login(client, auditor["username"], auditor["password"]).status_code == 200
    page = client.get("/records/access-report")
    assert page.status_code == 200 and "Amber on Market Street" in page.text
    assert "HPD-KPD investigations data-use agreement, version 1, clause" in page.text
    assert 'href="/records/access-report.pdf"' in page.text
    pdf = client.get("/records/access-report.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    (ARTIFACTS / f"access-report-{BACKEND}.pdf").write_bytes(pdf.content)
    bad = client.get("/records/access-report", params={"since": "not-a-day"})
    assert bad.status_code == 422 and "since" in bad.text
    elsewhere = client.get("/records/access-report", params={"agency_id": str(world["ids"]["KPD"])})
    assert elsewhere.status_code == 422 and "Amber on Market Street" not in elsewhere.text


def test_an_agreement_that_expires_between_two_requests_stops_the_second(client, world):
    """The statements behind a list are built once per caller and reused; the clock they
    hold grants against is read each time one runs, so an agreement's expiry stops the
    caller's next request with nothing else happening in between."""
    h, ids = world["headers"], world["ids"]
    expires_at = utcnow() + timedelta(seconds=4)
    draft = {
        "kind": "data_use",
        "title": "HPD-KPD threat indicators, a short pilot",
        "parties": [str(ids["HPD"]), str(ids["KPD"])],
        "effective_at": (utcnow() - timedelta(minutes=1)).isoformat(),
        "expires_at": expires_at.isoformat(),
        "clauses": [
            {
                "kind": "sharing",
                "providers": [str(ids["HPD"])],
                "recipients": [str(ids["KPD"])],
                "categories": ["threat_indicator"],
                "max_tier": "AMBER",
                "purposes": ["investigation"],
            }
        ],
    }
    agreement = client.post("/api/v1/agreements", json=draft, headers=h["hpd_coordinator"]).json()
    propose_and_sign(client, agreement["id"], h, ids)
    threat = f"/api/v1/records/{world['records']['threat']}"
    assert set(_mine(client, world, "kpd_analyst")) == EXPECTED["kpd_analyst"] | {"threat"}
    assert client.get(threat, headers=h["kpd_analyst"]).status_code == 200
    assert utcnow() < expires_at, "the machine was too slow to see the agreement in force"
    time.sleep((expires_at - utcnow()).total_seconds() + 0.2)
    assert set(_mine(client, world, "kpd_analyst")) == EXPECTED["kpd_analyst"]
    assert client.get(threat, headers=h["kpd_analyst"]).status_code == 404


def test_revocation_reaches_the_next_request(client, world):
    """Last in this module: terminating the agreement removes KPD's access at once."""
    assert set(_mine(client, world, "kpd_analyst")) == EXPECTED["kpd_analyst"]
    terminated = client.post(
        f"/api/v1/agreements/{world['agreement']}/terminate",
        json={"reason": "End of pilot"},
        headers=world["headers"]["kpd_admin"],
    )
    assert terminated.status_code == 200
    assert set(_mine(client, world, "kpd_analyst")) == {"clear"}
    assert (
        client.get(f"/api/v1/records/{world['records']['amber']}", headers=world["headers"]["kpd_analyst"]).status_code
        == 404
    )
    assert set(_mine(client, world, "kpd_named")) == {"clear", "red"}


def test_the_platform_operator_reads_and_writes_no_agency_data(client, world, as_user):
    headers, _ = as_user("platform_admin", None)
    assert client.get("/api/v1/records?limit=500", headers=headers).json()["total"] == 0
    assert client.get(f"/api/v1/records/{world['records']['red']}", headers=headers).status_code == 404
    body = {
        "owner_agency_id": str(world["ids"]["HPD"]),
        "category": "incident_report",
        "tier": "CLEAR",
        "purpose": "investigation",
        "title": "Operator",
        "body": {"summary": "x"},
        "event_at": EVENT,
    }
    assert_error(client.post("/api/v1/records", json=body, headers=headers), 403, "forbidden")


def test_full_text_search_matches_words_and_ignores_query_syntax(client, world):
    h = world["headers"]["hpd_analyst"]
    words = client.get("/api/v1/records", params={"q": "RIVER shots"}, headers=h).json()
    assert words["total"] >= 4 and all(
        "river" in r["body"]["summary"].lower() for r in words["items"] if r["category"] == "incident_report"
    )
    # A body sealed at rest is not indexed (the index would hold it in the clear): an
    # AMBER+STRICT record is found by its title, not by the words of its body.
    found = {r["id"] for r in words["items"]}
    assert world["records"]["strict_incident"] not in found and world["records"]["amber"] in found
    by_title = client.get("/api/v1/records", params={"q": "strict incident"}, headers=h).json()
    assert world["records"]["strict_incident"] in {r["id"] for r in by_title["items"]}
    for hostile in ('" OR 1=1 --', "NEAR(shots river)", "shots*", "'; DROP TABLE records; --", "\\u0000", "%"):
        response = client.get("/api/v1/records", params={"q": hostile}, headers=h)
        assert response.status_code == 200, hostile
    assert client.get("/api/v1/records", params={"q": "zzqqnotaword"}, headers=h).json()["total"] == 0
