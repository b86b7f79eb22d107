"""Agreements as executable objects: drafting, proposing, signing over the content hash,
amending, suspending, terminating, opting out — and the grants each step compiles."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from accord.agreements.models import Grant
from accord.audit.models import AuditEvent
from accord.core.time import utcnow
from accord.directory.models import Agency
from tests.conftest import assert_error, refresh, unique


@pytest.fixture
def ids(db) -> dict[str, uuid.UUID]:
    found = {a.short_name: a.id for a in db.scalars(select(Agency)).unique()}
    db.rollback()
    return found


@pytest.fixture
def team(as_user) -> dict[str, dict[str, str]]:
    """A coordinator at MCEMA and signatories (agency admins) at MCEMA and TCEMA."""
    return {
        "coordinator": as_user("coordinator", "MCEMA")[0],
        "mcema": as_user("agency_admin", "MCEMA")[0],
        "tcema": as_user("agency_admin", "TCEMA")[0],
    }


def sharing(ids, **overrides: Any) -> dict[str, Any]:
    clause = {
        "kind": "sharing",
        "providers": [str(ids["MCEMA"])],
        "recipients": [str(ids["TCEMA"])],
        "categories": ["incident_report", "bolo"],
        "max_tier": "AMBER",
        "purposes": ["emergency_response"],
        "labels": ["PII"],
        "retention_days": 90,
    }
    clause.update(overrides)
    return clause


def draft_body(ids, *, effective=None, clauses=None, **extra: Any) -> dict[str, Any]:
    return {
        "kind": "data_use",
        "title": f"Flood information sharing {unique('')}",
        "text": "The parties share incident reports during river flooding.",
        "parties": [str(ids["MCEMA"]), str(ids["TCEMA"])],
        "effective_at": (effective or utcnow() - timedelta(minutes=1)).isoformat(),
        "clauses": clauses if clauses is not None else [sharing(ids), {"kind": "opt_out", "notice_days": 30}],
        **extra,
    }


def signed_agreement(client, team, ids, **kwargs: Any) -> dict[str, Any]:
    created = client.post("/api/v1/agreements", json=draft_body(ids, **kwargs), headers=team["coordinator"])
    assert created.status_code == 201, created.text
    agreement_id = created.json()["id"]
    proposed = client.post(f"/api/v1/agreements/{agreement_id}/propose", headers=team["coordinator"]).json()
    digest = proposed["versions"][-1]["content_hash"]
    for who, short in (("mcema", "MCEMA"), ("tcema", "TCEMA")):
        response = client.post(
            f"/api/v1/agreements/{agreement_id}/sign",
            json={"agency_id": str(ids[short]), "content_hash": digest},
            headers=team[who],
        )
        assert response.status_code == 200, response.text
    return response.json()


def current_grants(client, headers, agreement_id) -> list[dict[str, Any]]:
    response = client.get(f"/api/v1/agreements/{agreement_id}/grants?current=true", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_draft_propose_sign_compiles_grants(client, team, ids, db):
    agreement = signed_agreement(client, team, ids)
    version = agreement["versions"][0]
    assert agreement["state"] == "active" and version["status"] == "signed"
    assert {s["agency_id"] for s in version["signatures"]} == {str(ids["MCEMA"]), str(ids["TCEMA"])}
    assert all(s["content_hash"] == version["content_hash"] for s in version["signatures"])
    grants = current_grants(client, team["tcema"], agreement["id"])
    assert {(g["category"], g["purpose"]) for g in grants} == {
        ("incident_report", "emergency_response"),
        ("bolo", "emergency_response"),
    }
    assert all(
        g["provider_agency_id"] == str(ids["MCEMA"]) and g["recipient_agency_id"] == str(ids["TCEMA"]) for g in grants
    )
    assert all(g["max_tier"] == 2 and g["grants_pii"] and not g["grants_phi"] for g in grants)
    refresh(db)
    actions = {e.action for e in db.scalars(select(AuditEvent).where(AuditEvent.object_id == agreement["id"]))}
    assert {"agreements.agreement.draft", "agreements.agreement.propose", "agreements.agreement.sign"} <= actions


def test_partly_signed_agreement_grants_nothing(client, team, ids):
    created = client.post("/api/v1/agreements", json=draft_body(ids), headers=team["coordinator"]).json()
    digest = client.post(f"/api/v1/agreements/{created['id']}/propose", headers=team["coordinator"]).json()["versions"][
        0
    ]["content_hash"]
    signed = client.post(
        f"/api/v1/agreements/{created['id']}/sign",
        json={"agency_id": str(ids["MCEMA"]), "content_hash": digest},
        headers=team["mcema"],
    ).json()
    assert signed["versions"][0]["status"] == "proposed"
    assert signed["versions"][0]["awaiting"] == [str(ids["TCEMA"])]
    assert client.get(f"/api/v1/agreements/{created['id']}/grants", headers=team["mcema"]).json() == []


def test_future_effective_date_takes_effect_on_time_without_a_job(client, team, ids, db):
    start = utcnow() + timedelta(days=3)
    agreement = signed_agreement(client, team, ids, effective=start)
    assert agreement["state"] == "signed"
    assert current_grants(client, team["tcema"], agreement["id"]) == []
    refresh(db)
    rows = db.scalars(select(Grant).where(Grant.agreement_id == uuid.UUID(agreement["id"]))).all()
    assert rows and all(r.valid_from == start for r in rows)


def test_signing_rules(client, team, ids, as_user):
    created = client.post("/api/v1/agreements", json=draft_body(ids), headers=team["coordinator"]).json()
    url = f"/api/v1/agreements/{created['id']}"
    early = client.post(
        f"{url}/sign", json={"agency_id": str(ids["MCEMA"]), "content_hash": "0" * 64}, headers=team["mcema"]
    )
    assert_error(early, 409, "conflict")
    digest = client.post(f"{url}/propose", headers=team["coordinator"]).json()["versions"][0]["content_hash"]
    wrong_hash = client.post(
        f"{url}/sign", json={"agency_id": str(ids["MCEMA"]), "content_hash": "f" * 64}, headers=team["mcema"]
    )
    assert assert_error(wrong_hash, 422, "invalid")["fields"][0]["field"] == "content_hash"
    not_party = client.post(
        f"{url}/sign", json={"agency_id": str(ids["HPD"]), "content_hash": digest}, headers=team["mcema"]
    )
    assert assert_error(not_party, 422, "invalid")["fields"][0]["field"] == "agency_id"
    not_mine = client.post(
        f"{url}/sign", json={"agency_id": str(ids["TCEMA"]), "content_hash": digest}, headers=team["mcema"]
    )
    assert_error(not_mine, 403, "forbidden")
    ok = client.post(
        f"{url}/sign", json={"agency_id": str(ids["MCEMA"]), "content_hash": digest}, headers=team["mcema"]
    )
    assert ok.status_code == 200
    twice = client.post(
        f"{url}/sign", json={"agency_id": str(ids["MCEMA"]), "content_hash": digest}, headers=team["mcema"]
    )
    assert_error(twice, 409, "conflict")
    coordinator_signs = client.post(
        f"{url}/sign", json={"agency_id": str(ids["TCEMA"]), "content_hash": digest}, headers=team["coordinator"]
    )
    assert_error(coordinator_signs, 403, "forbidden")  # signing needs the signatory permission


def test_proposed_text_is_frozen(client, team, ids):
    created = client.post("/api/v1/agreements", json=draft_body(ids), headers=team["coordinator"]).json()
    client.post(f"/api/v1/agreements/{created['id']}/propose", headers=team["coordinator"])
    edit = client.patch(
        f"/api/v1/agreements/{created['id']}/draft",
        json={"title": "Changed after proposal"},
        headers=team["coordinator"],
    )
    assert_error(edit, 409, "conflict")


@pytest.mark.parametrize(
    ("clause_change", "field"),
    [
        ({"providers": ["HPD"]}, "clauses[0].providers[0]"),
        ({"recipients": ["MCEMA", "HPD"]}, "clauses[0].recipients[1]"),
        ({"categories": ["gossip"]}, "clauses.0.sharing.categories.0"),
        ({"max_tier": "RED"}, "clauses.0.sharing.max_tier"),
        ({"max_tier": "PURPLE"}, "clauses.0.sharing.max_tier"),
        ({"labels": ["SSN"]}, "clauses.0.sharing.labels.0"),
        ({"purposes": []}, "clauses.0.sharing.purposes"),
        ({"recipient_roles": ["wizard"]}, "clauses[0].recipient_roles[0]"),
        ({"max_tier": "AMBER+STRICT", "reshare_allowed": True}, "clauses.0.sharing"),
        ({"retention_days": 0}, "clauses.0.sharing.retention_days"),
        ({"surprise": 1}, "clauses.0.sharing.surprise"),
    ],
)
def test_bad_clauses_are_refused_with_the_field(client, team, ids, clause_change, field):
    names = {k: [str(ids[s]) for s in v] for k, v in clause_change.items() if k in ("providers", "recipients")}
    clause = sharing(ids, **{**clause_change, **names})
    response = client.post("/api/v1/agreements", json=draft_body(ids, clauses=[clause]), headers=team["coordinator"])
    error = assert_error(response, 422, "invalid")
    assert any(f["field"] == field for f in error["fields"]), error["fields"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"kind": "treaty"}, "kind"),
        ({"parties": []}, "parties"),
        ({"effective_at": "2026-01-01T00:00:00"}, "effective_at"),
        ({"expires_at": "2020-01-01T00:00:00Z"}, "expires_at"),
        ({"clauses": [{"kind": "opt_out", "notice_days": -1}]}, "clauses.0.opt_out.notice_days"),
        ({"clauses": [{"kind": "telepathy"}]}, "clauses.0"),
        ({"partnership_id": "00000000-0000-0000-0000-000000000000"}, "partnership_id"),
    ],
)
def test_bad_agreements_are_refused_with_the_field(client, team, ids, change, field):
    response = client.post("/api/v1/agreements", json={**draft_body(ids), **change}, headers=team["coordinator"])
    error = assert_error(response, 422, "invalid")
    assert any(f["field"] == field for f in error["fields"]), error["fields"]


def test_unknown_party_and_drafting_for_others(client, team, ids, as_user):
    bogus = {**draft_body(ids), "parties": [str(ids["MCEMA"]), str(uuid.uuid4())]}
    assert (
        assert_error(client.post("/api/v1/agreements", json=bogus, headers=team["coordinator"]), 422, "invalid")[
            "fields"
        ][0]["field"]
        == "parties[1]"
    )
    elsewhere = {**draft_body(ids), "parties": [str(ids["HPD"]), str(ids["KPD"])], "clauses": []}
    response = client.post("/api/v1/agreements", json=elsewhere, headers=team["coordinator"])
    assert assert_error(response, 422, "invalid")["fields"][0]["field"] == "parties"


def test_non_parties_cannot_see_an_agreement(client, team, ids, as_user):
    agreement = signed_agreement(client, team, ids)
    outsider, _ = as_user("analyst", "HPD")
    missing = client.get(f"/api/v1/agreements/{uuid.uuid4()}", headers=outsider)
    hidden = client.get(f"/api/v1/agreements/{agreement['id']}", headers=outsider)
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["error"]["message"] == missing.json()["error"]["message"]
    assert agreement["id"] not in {
        a["id"] for a in client.get("/api/v1/agreements?limit=500", headers=outsider).json()["items"]
    }
    assert client.get(f"/api/v1/agreements/{agreement['id']}/grants", headers=outsider).status_code == 404
    party, _ = as_user("viewer", "TCEMA")
    assert client.get(f"/api/v1/agreements/{agreement['id']}", headers=party).status_code == 200


def test_amendment_keeps_the_old_version_in_force_until_the_new_one_is(client, team, ids, db):
    agreement = signed_agreement(client, team, ids)
    url = f"/api/v1/agreements/{agreement['id']}"
    amended = client.post(f"{url}/amend", headers=team["coordinator"])
    assert amended.status_code == 201 and amended.json()["versions"][1]["status"] == "draft"
    start = utcnow() + timedelta(days=1)
    edit = client.patch(
        f"{url}/draft",
        json={"effective_at": start.isoformat(), "clauses": [sharing(ids, labels=["PII", "PHI"], categories=["bolo"])]},
        headers=team["coordinator"],
    )
    assert edit.status_code == 200, edit.text
    assert {g["category"] for g in current_grants(client, team["tcema"], agreement["id"])} == {
        "incident_report",
        "bolo",
    }
    digest = client.post(f"{url}/propose", headers=team["coordinator"]).json()["versions"][1]["content_hash"]
    assert digest != agreement["versions"][0]["content_hash"]
    for who, short in (("mcema", "MCEMA"), ("tcema", "TCEMA")):
        client.post(f"{url}/sign", json={"agency_id": str(ids[short]), "content_hash": digest}, headers=team[who])
    final = client.get(url, headers=team["mcema"]).json()
    assert [v["state"] for v in final["versions"]] == ["active", "signed"]
    # v1 still grants today and stops exactly when v2 starts; v2 grants from then on.
    assert {g["category"] for g in current_grants(client, team["tcema"], agreement["id"])} == {
        "incident_report",
        "bolo",
    }
    refresh(db)
    rows = db.scalars(select(Grant).where(Grant.agreement_id == uuid.UUID(agreement["id"]))).all()
    v1 = [r for r in rows if str(r.version_id) == agreement["versions"][0]["id"]]
    v2 = [r for r in rows if str(r.version_id) != agreement["versions"][0]["id"]]
    assert v1 and all(r.valid_until == start for r in v1)
    assert v2 and all(r.valid_from == start and r.grants_phi and r.category == "bolo" for r in v2)


def test_suspend_resume_terminate_take_effect_at_once(client, team, ids):
    agreement = signed_agreement(client, team, ids)
    url = f"/api/v1/agreements/{agreement['id']}"
    assert current_grants(client, team["tcema"], agreement["id"])
    suspended = client.post(f"{url}/suspend", headers=team["tcema"])
    assert suspended.status_code == 200 and suspended.json()["state"] == "suspended"
    assert current_grants(client, team["tcema"], agreement["id"]) == []
    assert_error(client.post(f"{url}/suspend", headers=team["tcema"]), 409, "conflict")
    resumed = client.post(f"{url}/resume", headers=team["mcema"])
    assert resumed.json()["state"] == "active"
    assert current_grants(client, team["tcema"], agreement["id"])
    terminated = client.post(
        f"{url}/terminate", json={"reason": "Superseded by the regional compact"}, headers=team["mcema"]
    )
    assert terminated.json()["state"] == "terminated"
    assert current_grants(client, team["tcema"], agreement["id"]) == []
    assert_error(client.post(f"{url}/amend", headers=team["coordinator"]), 409, "conflict")
    assert_error(client.post(f"{url}/terminate", json={"reason": "again"}, headers=team["mcema"]), 409, "conflict")


def test_opt_out_ends_grants_when_the_notice_period_ends(client, team, ids, db):
    agreement = signed_agreement(client, team, ids)
    url = f"/api/v1/agreements/{agreement['id']}"
    response = client.post(f"{url}/opt-out", json={"agency_id": str(ids["TCEMA"])}, headers=team["tcema"])
    assert response.status_code == 200, response.text
    notice_end = response.json()["opt_outs"][0]["effective_at"]
    assert current_grants(client, team["tcema"], agreement["id"])  # 30 days' notice: still in force
    refresh(db)
    rows = db.scalars(select(Grant).where(Grant.agreement_id == uuid.UUID(agreement["id"]))).all()
    assert rows and all(
        r.valid_until is not None and r.valid_until.isoformat() == notice_end.replace("Z", "+00:00") for r in rows
    )
    assert_error(
        client.post(f"{url}/opt-out", json={"agency_id": str(ids["TCEMA"])}, headers=team["tcema"]), 409, "conflict"
    )
    assert_error(
        client.post(f"{url}/opt-out", json={"agency_id": str(ids["MCEMA"])}, headers=team["tcema"]), 403, "forbidden"
    )


def test_opt_out_without_notice_is_immediate(client, team, ids):
    agreement = signed_agreement(client, team, ids, clauses=[sharing(ids)])
    client.post(
        f"/api/v1/agreements/{agreement['id']}/opt-out", json={"agency_id": str(ids["MCEMA"])}, headers=team["mcema"]
    )
    assert current_grants(client, team["mcema"], agreement["id"]) == []


def test_partnerships_governance_and_disputes(client, team, ids, as_user):
    members = [str(ids["MCEMA"]), str(ids["TCEMA"]), str(ids["CCEMA"])]
    body = {
        "name": f"Harrow River Flood Compact {unique('')}",
        "kind": "mutual_aid_compact",
        "purpose": "Flood response",
        "starts_on": "2026-01-01",
        "members": members,
    }
    created = client.post("/api/v1/partnerships", json=body, headers=team["coordinator"])
    assert created.status_code == 201, created.text
    pid = created.json()["id"]
    outsider, _ = as_user("coordinator", "HPD")
    assert client.get(f"/api/v1/partnerships/{pid}", headers=outsider).status_code == 404
    assert pid not in {p["id"] for p in client.get("/api/v1/partnerships", headers=outsider).json()}
    assert_error(
        client.post(f"/api/v1/partnerships/{pid}/members", json={"agency_id": str(ids["HPD"])}, headers=outsider),
        404,
        "not_found",
    )
    added = client.post(
        f"/api/v1/partnerships/{pid}/members", json={"agency_id": str(ids["HPD"])}, headers=team["coordinator"]
    )
    assert added.status_code == 201
    assert client.get(f"/api/v1/partnerships/{pid}", headers=outsider).status_code == 200
    again = client.post(
        f"/api/v1/partnerships/{pid}/members", json={"agency_id": str(ids["HPD"])}, headers=team["coordinator"]
    )
    assert_error(again, 409, "conflict")
    steering = client.post(
        f"/api/v1/partnerships/{pid}/bodies",
        json={"kind": "steering_committee", "name": "Steering committee"},
        headers=team["coordinator"],
    )
    body_id = steering.json()["bodies"][0]["id"]
    decision = client.post(
        f"/api/v1/governance-bodies/{body_id}/decisions",
        json={
            "decided_on": "2026-03-02",
            "text": "Adopt the flood data-use agreement",
            "outcome": "adopted",
            "votes_for": 4,
        },
        headers=team["coordinator"],
    )
    assert decision.status_code == 201
    bad_vote = client.post(
        f"/api/v1/governance-bodies/{body_id}/decisions",
        json={"decided_on": "2026-03-02", "text": "x" * 5, "outcome": "vetoed"},
        headers=team["coordinator"],
    )
    assert assert_error(bad_vote, 422, "invalid")["fields"][0]["field"] == "outcome"
    dispute = client.post(
        f"/api/v1/partnerships/{pid}/disputes",
        json={"raised_by_agency_id": str(ids["MCEMA"]), "subject": "Late reimbursement"},
        headers=team["coordinator"],
    )
    assert dispute.status_code == 201
    resolved = client.post(
        f"/api/v1/disputes/{dispute.json()['id']}/resolve",
        json={"resolution": "Paid in full"},
        headers=team["coordinator"],
    )
    assert resolved.json()["resolved_at"] is not None
    view = client.get(f"/api/v1/partnerships/{pid}", headers=team["mcema"]).json()
    assert (
        view["bodies"][0]["decisions"][0]["outcome"] == "adopted"
        and view["disputes"][0]["resolution"] == "Paid in full"
    )
    # an agreement within the partnership must have member parties only
    inside = draft_body(ids, partnership_id=pid)
    assert client.post("/api/v1/agreements", json=inside, headers=team["coordinator"]).status_code == 201
    stranger = {**inside, "parties": [str(ids["MCEMA"]), str(ids["WFPD"])], "clauses": []}
    assert (
        assert_error(client.post("/api/v1/agreements", json=stranger, headers=team["coordinator"]), 422, "invalid")[
            "fields"
        ][0]["field"]
        == "parties"
    )


def test_version_diff_reads_like_a_review(client, team, ids):
    agreement = signed_agreement(client, team, ids)
    url = f"/api/v1/agreements/{agreement['id']}"
    client.post(f"{url}/amend", headers=team["coordinator"])
    client.patch(
        f"{url}/draft",
        json={"clauses": [sharing(ids, labels=["PII", "PHI"])], "text": "Amended text."},
        headers=team["coordinator"],
    )
    diff = client.get(f"{url}/diff", params={"from": 1, "to": 2}, headers=team["mcema"])
    assert diff.status_code == 200, diff.text
    lines = [(d["op"], d["line"]) for d in diff.json()["lines"]]
    assert ("-", "  labels: PII") in lines and ("+", "  labels: PII, PHI") in lines
    assert ("+", "Amended text.") in lines
    assert any(op == " " and line.startswith("Party: Marrow County Emergency Management Agency") for op, line in lines)
    assert not any(op == "+" and line.startswith("Clause 2") for op, line in lines)
    page = client.get(f"/agreements/{agreement['id']}", headers=team["mcema"])
    assert page.status_code == 200 and "Changes from version 1" in page.text and "labels: PII, PHI" in page.text
    missing = client.get(f"{url}/diff", params={"from": 1, "to": 9}, headers=team["mcema"])
    assert assert_error(missing, 422, "invalid")["fields"][0]["field"] == "to"
