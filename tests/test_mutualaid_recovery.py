"""Cost recovery of mutual-aid deployments (issue 6, part 3a): time sheets, the live cost
computation under the signed clause, claims and their steps, the settlement statement —
and that a third agency sees none of it, on both databases.

Deployments are inserted with the ORM (requests and offers are another slice's service):
LHFD provides to MCEMS under the demo's Harrow Valley mutual-aid clause (requester pays,
the first 12 hours free, equipment at most 150.00/h); HPD is the outsider."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from accord.agreements.models import AgreementVersion, Clause
from accord.core.time import utcnow
from accord.directory.models import Agency, Person
from accord.mutualaid.models import Resource, ResourceOffer, ResourceRequest
from accord.operations.models import Incident
from tests.conftest import assert_error, browser_login, csrf_from

POINT = {"type": "Point", "coordinates": [-76.70, 40.86]}
MOBILIZED = utcnow().replace(hour=8, minute=0, second=0, microsecond=0) - timedelta(days=4)
DAY0 = MOBILIZED.date()


@pytest.fixture(scope="module")
def world(app: Any, session_factory: Any) -> dict[str, Any]:
    """Logistics officers of LHFD (provider), MCEMS (requester) and HPD (outsider), an LHFD
    viewer, and the ids a deployment needs."""
    from fastapi.testclient import TestClient

    from accord.accounts.service import create_user_unchecked
    from accord.seed import DEMO_PASSWORD, system_actor
    from tests.conftest import api_token, bearer, unique

    with session_factory() as db:
        ids = {s: db.scalar(select(Agency.id).where(Agency.short_name == s)) for s in ("LHFD", "MCEMS", "HPD")}
        clause = db.scalars(
            select(Clause)
            .join(AgreementVersion, AgreementVersion.id == Clause.version_id)
            .where(Clause.kind == "mutual_aid", AgreementVersion.title == "Harrow Valley Mutual Aid Agreement")
        ).first()
        assert clause is not None
        incident = db.scalars(select(Incident.id).order_by(Incident.number)).first()
        person = db.scalar(select(Person).where(Person.agency_id == ids["LHFD"]))
        other_person = db.scalar(select(Person.id).where(Person.agency_id == ids["HPD"]))
        names = {}
        for key, role, agency in [
            ("lhfd", "logistics", "LHFD"),
            ("lhfd_viewer", "viewer", "LHFD"),
            ("mcems", "logistics", "MCEMS"),
            ("hpd", "logistics", "HPD"),
        ]:
            names[key] = unique(f"rc-{key.replace('_', '')}-")
            create_user_unchecked(
                db,
                actor=system_actor("test"),
                username=names[key],
                display_name=key,
                email="",
                password=DEMO_PASSWORD,
                agency_id=ids[agency],
                role=role,
                check_password_policy=False,
            )
        resource = Resource(
            owner_agency_id=ids["LHFD"],
            type_key="swift_water_rescue_team",
            level=2,
            name="Swift-water team 41",
            home=POINT,
            location=POINT,
            lon=-76.70,
            lat=40.86,
            hourly_rate=Decimal("95.00"),
            daily_rate=Decimal("0"),
            mileage_rate=Decimal("2.10"),
        )
        db.add(resource)
        db.commit()
        world = {
            "ids": ids,
            "names": names,
            "clause": clause.id,
            "version": clause.version_id,
            "incident": incident,
            "resource": resource.id,
            "person": (person.id, person.full_name) if person else None,
            "other_person": other_person,
        }
    with TestClient(app) as client:
        world["h"] = {key: bearer(api_token(client, name)) for key, name in names.items()}
    return world


def deploy(db: Any, world: dict[str, Any], *, status: str = "on_scene", returned: bool = False, **terms: Any) -> str:
    """A deployment of LHFD's team to MCEMS, mobilized four days ago; ``terms`` puts it
    under a clause of its own with those reimbursement terms."""
    clause_id = world["clause"]
    if terms:
        clause = Clause(
            version_id=world["version"],
            position=90 + len(terms),
            kind="mutual_aid",
            terms={"kind": "mutual_aid", "reimbursement": terms},
        )
        db.add(clause)
        db.flush()
        clause_id = clause.id
    request = ResourceRequest(
        number=f"213-T-{uuid.uuid4().hex[:8]}",
        incident_id=world["incident"],
        requesting_agency_id=world["ids"]["MCEMS"],
        requester_name="Test requester",
        type_key="swift_water_rescue_team",
        quantity=1,
        deliver_to="Staging",
        location=POINT,
        lon=-76.70,
        lat=40.86,
        needed_at=MOBILIZED,
        priority="urgent",
        status="filled",
        activation=[],
    )
    db.add(request)
    db.flush()
    moved = status != "committed"
    offer = ResourceOffer(
        request_id=request.id,
        resource_id=world["resource"],
        providing_agency_id=world["ids"]["LHFD"],
        clause_id=clause_id,
        agreement_version_id=world["version"],
        quantity=1,
        status="returned" if returned else status,
        eta_at=MOBILIZED,
        rank={},
        committed_at=MOBILIZED - timedelta(hours=1),
        mobilized_at=MOBILIZED if moved else None,
        returned_at=MOBILIZED + timedelta(days=2) if returned else None,
    )
    db.add(offer)
    db.commit()
    return str(offer.id)


def add(client: Any, world: dict[str, Any], offer: str, who: str = "lhfd", **body: Any) -> Any:
    return client.post(f"/api/v1/deployments/{offer}/time-entries", json=body, headers=world["h"][who])


def labor(day: int = 0, hours: str = "8", **more: Any) -> dict[str, Any]:
    return {
        "kind": "labor",
        "work_date": (DAY0 + timedelta(days=day)).isoformat(),
        "person_name": "A. Diver",
        "hours": hours,
    } | more


def test_the_provider_keeps_the_time_sheet_and_both_agencies_see_the_costs(client, db, world):
    offer = deploy(db, world)
    for body in (
        labor(0, "10"),
        labor(1, "6", rate="120.00"),
        {"kind": "equipment", "work_date": DAY0.isoformat(), "hours": "5"},
        {"kind": "mileage", "work_date": DAY0.isoformat(), "km": "120"},
        {
            "kind": "consumable",
            "work_date": (DAY0 + timedelta(days=1)).isoformat(),
            "description": "Sandbags",
            "quantity": "40",
            "unit_cost": "2.50",
        },
    ):
        made = add(client, world, offer, **body)
        assert made.status_code == 201, made.text
    if world["person"]:
        person_id, full_name = world["person"]
        made = add(client, world, offer, kind="labor", work_date=DAY0.isoformat(), person_id=str(person_id), hours="1")
        assert made.status_code == 201 and made.json()["person_name"] == full_name
    sheet = client.get(f"/api/v1/deployments/{offer}/time-entries", headers=world["h"]["mcems"])
    assert sheet.status_code == 200 and [e["sequence"] for e in sheet.json()][:1] == [1]
    costs = client.get(f"/api/v1/deployments/{offer}/costs", headers=world["h"]["mcems"]).json()
    lines = {(line["kind"], line["work_date"], line["quantity"]): line for line in costs["lines"]}
    day0, day1 = DAY0.isoformat(), (DAY0 + timedelta(days=1)).isoformat()
    # 12 h waived in date order: 10 h labour of day 0, then 2 of the equipment's 5 (recorded after).
    assert lines[("labor", day0, "10.00")]["amount"] == "0.00"
    assert lines[("equipment", day0, "5.00")]["waived_hours"] == "2.00"
    assert lines[("equipment", day0, "5.00")]["amount"] == "285.00"  # 3 h x 95 (under the 150 cap)
    assert lines[("mileage", day0, "120.00")]["amount"] == "252.00"
    assert lines[("labor", day1, "6.00")]["amount"] == "720.00"
    assert lines[("consumable", day1, "40.000")]["amount"] == "100.00"
    assert costs["payer"] == "requester" and costs["claimable"] == costs["total"]
    assert costs["terms"]["waived_hours"] == 12
    assert client.get(f"/api/v1/deployments/{offer}/costs", headers=world["h"]["lhfd_viewer"]).status_code == 200


BAD = [
    (labor(hours="-1"), "hours"),
    (labor(hours="0"), "hours"),
    (labor(hours="24.5"), "hours"),
    (labor(hours="1.234"), "hours"),
    (labor(day=-1), "work_date"),
    (labor(day=30), "work_date"),
    (labor(person_name=""), "person_name"),
    (labor(km="3"), "km"),
    (labor(rate="-5"), "rate"),
    ({"kind": "labor", "work_date": DAY0.isoformat(), "person_name": "X"}, "hours"),
    ({"kind": "equipment", "work_date": DAY0.isoformat(), "hours": "2", "rate": "500"}, "rate"),
    ({"kind": "mileage", "work_date": DAY0.isoformat(), "km": "-10"}, "km"),
    ({"kind": "mileage", "work_date": DAY0.isoformat()}, "km"),
    ({"kind": "consumable", "work_date": DAY0.isoformat(), "quantity": "2", "unit_cost": "1"}, "description"),
    (
        {"kind": "consumable", "work_date": DAY0.isoformat(), "description": "x", "quantity": "2", "unit_cost": "-1"},
        "unit_cost",
    ),
    ({"kind": "teleport", "work_date": DAY0.isoformat()}, "kind"),
    (labor() | {"work_date": "yesterday"}, "work_date"),
    (labor() | {"colour": "red"}, "colour"),
]


@pytest.mark.parametrize(("body", "field"), BAD)
def test_bad_entries_are_refused_naming_the_field(client, db, world, body, field):
    offer = world.setdefault("bad_offer", deploy(db, world, returned=True))
    refused = add(client, world, offer, **body)
    assert refused.status_code == 422, refused.text
    assert any(field in p["field"] for p in refused.json()["error"]["fields"]), refused.json()


def test_dates_hours_per_day_people_and_who_may_enter(client, db, world):
    waiting = deploy(db, world, status="committed")
    refused = assert_error(add(client, world, waiting, **labor()), 422, "invalid")
    assert "not mobilized" in refused["message"]
    returned = deploy(db, world, returned=True)
    assert add(client, world, returned, **labor(day=3)).status_code == 201  # the day after return: slack
    assert (
        "after the deployment returned"
        in assert_error(add(client, world, returned, **labor(day=4)), 422, "invalid")["message"]
    )
    assert add(client, world, returned, **labor(day=1, hours="16")).status_code == 201
    too_many = assert_error(
        add(client, world, returned, **labor(day=1, hours="9", person_name="a. diver")), 422, "invalid"
    )
    assert too_many["fields"][0]["field"] == "hours" and "more than 24" in too_many["message"]
    if world["other_person"]:
        body = labor() | {"person_id": str(world["other_person"]), "person_name": ""}
        assert_error(add(client, world, returned, **body), 422, "invalid")
    assert_error(add(client, world, returned, "mcems", **labor()), 403, "forbidden")
    assert_error(add(client, world, returned, "lhfd_viewer", **labor()), 403, "forbidden")
    assert_error(add(client, world, returned, "hpd", **labor()), 404, "not_found")
    offered = deploy(db, world, status="offered")
    assert_error(add(client, world, offered, **labor()), 404, "not_found")  # an offer is not a deployment


def test_a_wrong_entry_is_voided_with_a_reason_and_stops_counting(client, db, world):
    offer = deploy(db, world)
    entry = add(client, world, offer, **labor(hours="20")).json()
    url = f"/api/v1/deployments/{offer}/time-entries/{entry['id']}/void"
    assert_error(client.post(url, json={}, headers=world["h"]["lhfd"]), 422, "invalid")
    assert_error(client.post(url, json={"reason": "typo"}, headers=world["h"]["mcems"]), 403, "forbidden")
    voided = client.post(url, json={"reason": "typed 20 for 2"}, headers=world["h"]["lhfd"])
    assert voided.status_code == 200 and voided.json()["void_reason"] == "typed 20 for 2"
    assert_error(client.post(url, json={"reason": "again"}, headers=world["h"]["lhfd"]), 409, "conflict")
    assert add(client, world, offer, **labor(hours="2")).status_code == 201  # 20 no longer counts that day
    costs = client.get(f"/api/v1/deployments/{offer}/costs", headers=world["h"]["lhfd"]).json()
    assert [line["quantity"] for line in costs["lines"]] == ["2.00"] and costs["total"] == "0.00"  # waived
    sheet = client.get(f"/api/v1/deployments/{offer}/time-entries", headers=world["h"]["lhfd"]).json()
    assert [e["voided_at"] is not None for e in sheet] == [True, False]


def claim_step(client: Any, world: dict[str, Any], claim: str, step: str, who: str, body: Any = None) -> Any:
    return client.post(f"/api/v1/claims/{claim}/{step}", json=body, headers=world["h"][who])


def test_a_claim_goes_from_draft_to_paid_and_a_later_one_claims_the_rest(client, db, world):
    offer = deploy(db, world)
    first = add(client, world, offer, **labor(hours="14")).json()  # 12 waived, 2 x 95 = 190
    made = client.post(f"/api/v1/deployments/{offer}/claims", json={"note": "first week"}, headers=world["h"]["lhfd"])
    assert made.status_code == 201 and made.json()["status"] == "draft" and made.json()["allowed"] == ["submit"]
    claim = made.json()["id"]
    assert_error(
        client.post(f"/api/v1/deployments/{offer}/claims", json={}, headers=world["h"]["lhfd"]), 409, "conflict"
    )
    assert_error(
        client.post(f"/api/v1/deployments/{offer}/claims", json={}, headers=world["h"]["mcems"]), 403, "forbidden"
    )
    early = assert_error(claim_step(client, world, claim, "approve", "mcems"), 409, "conflict")
    assert "allowed: submit" in early["message"]
    assert_error(claim_step(client, world, claim, "submit", "mcems"), 403, "forbidden")
    submitted = claim_step(client, world, claim, "submit", "lhfd")
    assert submitted.status_code == 200, submitted.text
    assert submitted.json()["amount"] == "190.00" and submitted.json()["entry_ids"] == [first["id"]]
    assert submitted.json()["computation"]["lines"][0]["rules"][-1].startswith("12 h waived")
    void = client.post(
        f"/api/v1/deployments/{offer}/time-entries/{first['id']}/void",
        json={"reason": "oops"},
        headers=world["h"]["lhfd"],
    )
    assert "claim" in assert_error(void, 409, "conflict")["message"]
    late = assert_error(
        claim_step(client, world, claim, "pay", "mcems", {"amount": "1", "reference": "x"}), 409, "conflict"
    )
    assert "allowed: approve, reject" in late["message"]
    assert_error(claim_step(client, world, claim, "approve", "lhfd"), 403, "forbidden")  # not the requester
    assert claim_step(client, world, claim, "approve", "mcems").json()["allowed"] == ["pay"]
    assert_error(
        claim_step(client, world, claim, "pay", "mcems", {"amount": "190.01", "reference": "EFT 1"}), 422, "invalid"
    )
    assert_error(
        claim_step(client, world, claim, "pay", "mcems", {"amount": "0", "reference": "EFT 1"}), 422, "invalid"
    )
    assert_error(claim_step(client, world, claim, "pay", "mcems", {"amount": "190"}), 422, "invalid")
    paid = claim_step(client, world, claim, "pay", "mcems", {"amount": "190.00", "reference": "EFT 1"})
    assert paid.json()["status"] == "paid" and paid.json()["allowed"] == []
    assert "none" in assert_error(claim_step(client, world, claim, "approve", "mcems"), 409, "conflict")["message"]
    # Time entered after the submission goes into a new, supplementary claim.
    add(client, world, offer, **labor(day=1, hours="3"))
    second = client.post(f"/api/v1/deployments/{offer}/claims", json={}, headers=world["h"]["lhfd"]).json()
    again = claim_step(client, world, second["id"], "submit", "lhfd").json()
    assert again["amount"] == "285.00" and again["previously_claimed"] == "190.00" and again["claimable"] == "475.00"
    assert_error(claim_step(client, world, second["id"], "reject", "mcems", {}), 422, "invalid")
    rejected = claim_step(client, world, second["id"], "reject", "mcems", {"reason": "hours not signed off"})
    assert rejected.json()["status"] == "rejected" and rejected.json()["rejection_reason"] == "hours not signed off"
    third = client.post(f"/api/v1/deployments/{offer}/claims", json={}, headers=world["h"]["lhfd"]).json()
    assert claim_step(client, world, third["id"], "submit", "lhfd").json()["amount"] == "285.00"
    nothing = client.post(f"/api/v1/deployments/{offer}/claims", json={}, headers=world["h"]["lhfd"])
    assert nothing.status_code == 409  # the third is still open


def test_when_the_provider_bears_its_costs_there_is_nothing_to_claim(client, db, world):
    offer = deploy(db, world, payer="provider", labor_rate_cap="85.00")
    add(client, world, offer, **labor(hours="4"))
    costs = client.get(f"/api/v1/deployments/{offer}/costs", headers=world["h"]["mcems"]).json()
    assert costs["total"] == "340.00" and costs["claimable"] == "0.00" and costs["borne_by_provider"] == "340.00"
    assert "capped at 85.00/h by the clause" in costs["lines"][0]["rules"][0]
    claim = client.post(f"/api/v1/deployments/{offer}/claims", json={}, headers=world["h"]["lhfd"]).json()
    refused = assert_error(claim_step(client, world, claim["id"], "submit", "lhfd"), 409, "conflict")
    assert "bears its costs" in refused["message"]


def test_the_settlement_statement_of_two_agencies_in_html_pdf_and_csv(client, db, world):
    offer = deploy(db, world, cap_per_deployment="500.00")
    add(client, world, offer, **labor(hours="20"))  # 8 h x 95 = 760, capped at 500
    claim = client.post(f"/api/v1/deployments/{offer}/claims", json={}, headers=world["h"]["lhfd"]).json()
    claim_step(client, world, claim["id"], "submit", "lhfd")
    claim_step(client, world, claim["id"], "approve", "mcems")
    params = {
        "incident_id": str(world["incident"]),
        "agency_a": str(world["ids"]["MCEMS"]),
        "agency_b": str(world["ids"]["LHFD"]),
    }
    body = client.get("/api/v1/statements", params=params, headers=world["h"]["mcems"]).json()
    mine = next(d for d in body["deployments"] if d["offer_id"] == offer)
    assert mine["costs"]["total"] == "500.00" and mine["costs"]["rules"] == [
        "capped at 500.00 per deployment by the clause"
    ]
    assert mine["sums"]["approved"] == "500.00" and mine["sums"]["outstanding"] == "500.00"
    assert mine["agreement"] == "Harrow Valley Mutual Aid Agreement" and mine["agreement_version"] >= 1
    directions = {(d["provider"], d["requester"]) for d in body["by_direction"]}
    assert any("LHFD" in provider and "MCEMS" in requester for provider, requester in directions)
    csv_answer = client.get("/api/v1/statements.csv", params=params, headers=world["h"]["lhfd"])
    assert csv_answer.headers["content-type"].startswith("text/csv")
    header, *rows = csv_answer.text.splitlines()
    assert header.startswith("record,provider,requester,resource,agreement,version,clause,date")
    assert any(row.startswith("claim,") and claim["number"] in row for row in rows)
    pdf = client.get("/api/v1/statements.pdf", params=params, headers=world["h"]["lhfd"])
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    page = client.get("/statements", params=params, headers=world["h"]["mcems"])
    assert page.status_code == 200 and "Settlement statement" in page.text and "statements.pdf" in page.text
    same = params | {"agency_b": params["agency_a"]}
    assert_error(client.get("/api/v1/statements", params=same, headers=world["h"]["mcems"]), 422, "invalid")
    assert_error(
        client.get("/api/v1/statements", params=params | {"incident_id": "nope"}, headers=world["h"]["mcems"]),
        422,
        "invalid",
    )


def test_a_third_agency_sees_nothing_exactly_as_if_it_did_not_exist(client, db, world):
    """The oracle: HPD (a member of the compact, not of this deployment) gets for every
    read the very answer a made-up id gets; the two parties get their rows."""
    offer = deploy(db, world)
    entry = add(client, world, offer, **labor()).json()
    claim = client.post(f"/api/v1/deployments/{offer}/claims", json={}, headers=world["h"]["lhfd"]).json()
    params = {
        "incident_id": str(world["incident"]),
        "agency_a": str(world["ids"]["MCEMS"]),
        "agency_b": str(world["ids"]["LHFD"]),
    }
    ghost = str(uuid.uuid4())
    reads = [
        (f"/api/v1/deployments/{offer}/time-entries", f"/api/v1/deployments/{ghost}/time-entries"),
        (f"/api/v1/deployments/{offer}/costs", f"/api/v1/deployments/{ghost}/costs"),
        (f"/api/v1/deployments/{offer}/claims", f"/api/v1/deployments/{ghost}/claims"),
        (f"/api/v1/claims/{claim['id']}", f"/api/v1/claims/{ghost}"),
    ]
    oracle = {"lhfd": True, "lhfd_viewer": True, "mcems": True, "hpd": False}
    for who, sees in oracle.items():
        for real, made_up in reads:
            answer = client.get(real, headers=world["h"][who])
            if sees:
                assert answer.status_code == 200, (who, real, answer.text)
            else:
                nothing = client.get(made_up, headers=world["h"][who])
                assert answer.status_code == nothing.status_code == 404
                assert answer.json()["error"]["message"] == nothing.json()["error"]["message"]
        statement = client.get("/api/v1/statements", params=params, headers=world["h"][who])
        assert statement.status_code == (200 if sees else 404), (who, statement.text)
    hpd = world["h"]["hpd"]
    assert_error(client.get("/api/v1/statements.csv", params=params, headers=hpd), 404, "not_found")
    assert_error(client.post(f"/api/v1/claims/{claim['id']}/submit", headers=hpd), 404, "not_found")
    void = client.post(
        f"/api/v1/deployments/{offer}/time-entries/{entry['id']}/void", json={"reason": "mine now"}, headers=hpd
    )
    assert_error(void, 404, "not_found")
    from accord.authz import Actor, MembershipGrant, scope
    from accord.mutualaid.recovery.models import CostClaim, TimeEntry

    outsider = Actor(
        user_id=None,
        username="o",
        memberships=(MembershipGrant(world["ids"]["HPD"], "viewer", frozenset({"mutualaid:request:read"})),),
    )
    for model in (TimeEntry, CostClaim):
        assert db.scalars(scope(outsider, "mutualaid:request:read", select(model))).all() == []


def test_the_costs_page_has_the_time_sheet_its_form_and_the_claims(client, db, world):
    offer = deploy(db, world)
    browser_login(client, world["names"]["lhfd"])
    page = client.get(f"/deployments/{offer}/costs")
    assert page.status_code == 200 and "Add to the time sheet" in page.text and "Draft a claim" in page.text
    token = csrf_from(page.text)
    form = {
        "csrf_token": token,
        "kind": "labor",
        "work_date": DAY0.isoformat(),
        "person_name": "B. Pilot",
        "hours": "13",
    }
    done = client.post(f"/deployments/{offer}/time-entries", data=form, follow_redirects=False)
    assert done.status_code == 303, done.text
    page = client.get(f"/deployments/{offer}/costs")
    assert "B. Pilot" in page.text and "12 h waived" in page.text
    bad = client.post(f"/deployments/{offer}/time-entries", data=form | {"hours": "30"}, follow_redirects=False)
    assert bad.status_code == 422 and 'aria-invalid="true" aria-describedby="hours-error"' in bad.text
    no_csrf = client.post(
        f"/deployments/{offer}/time-entries", data={k: v for k, v in form.items() if k != "csrf_token"}
    )
    assert no_csrf.status_code == 403
    drafted = client.post(
        f"/deployments/{offer}/claims", data={"csrf_token": token, "note": "n"}, follow_redirects=False
    )
    assert drafted.status_code == 303
    page = client.get(f"/deployments/{offer}/costs")
    assert ">Submit</button>" in page.text
    claim_id = page.text.split('action="/claims/')[1].split("/")[0]
    submitted = client.post(f"/claims/{claim_id}/submit", data={"csrf_token": token}, follow_redirects=True)
    assert "submitted" in submitted.text
    refused = client.post(f"/claims/{claim_id}/submit", data={"csrf_token": token}, follow_redirects=True)
    assert "allowed: approve, reject" in refused.text


@pytest.mark.browser
def test_the_pages_render_in_a_real_browser(db, world, settings, tmp_path):
    """A time sheet with entries and a submitted claim, and its statement, in Chromium: no
    script errors, the lines, rules and links are there (screenshots under ``tmp_path``)."""
    import os
    import shutil

    from accord.seed import DEMO_PASSWORD
    from tests.servers import running_server
    from tests.test_browser import ARGS, CHROMIUM

    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        pytest.skip(f"Chromium not found at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    offer = deploy(db, world, labor_rate_cap="85.00")
    with running_server(settings.database_url) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1300, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(base + "/login")
        page.get_by_label("Username").fill(world["names"]["lhfd"])
        page.get_by_label("Password").fill(DEMO_PASSWORD)
        page.get_by_role("button", name="Continue").click()
        page.wait_for_url(base + "/")
        page.goto(f"{base}/deployments/{offer}/costs")
        for hours, day in (("14", 0), ("6", 1)):
            page.fill("#work_date", (DAY0 + timedelta(days=day)).isoformat())
            page.fill("#person_name", "C. Boatman")
            page.fill("#hours", hours)
            page.get_by_role("button", name="Add to the time sheet").click()
            page.wait_for_load_state()
        page.get_by_role("button", name="Draft a claim").click()
        page.wait_for_load_state()
        page.get_by_role("button", name="Submit").click()
        page.wait_for_load_state()
        assert page.locator(".cost-lines tbody tr").count() == 2
        assert "capped at 85.00/h by the clause" in page.content()
        page.screenshot(path=str(tmp_path / "costs.png"), full_page=True)
        page.get_by_role("link", name="Settlement statement").click()
        page.wait_for_load_state()
        assert page.get_by_role("link", name="Download PDF").is_visible()
        page.screenshot(path=str(tmp_path / "statement.png"), full_page=True)
        browser.close()
        assert not errors, errors
    shutil.copytree(tmp_path, "/tmp/recovery-shots", dirs_exist_ok=True)
