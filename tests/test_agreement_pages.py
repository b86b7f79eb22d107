"""The agreements UI as people use it: forming partnerships and running their governance,
drafting agreements in the clause editor, the lifecycle buttons, and every version as a
printable document and PDF. Each form is tried with the right seat, without CSRF,
without the permission, from outside, and with bad input (422 and the field's message)."""

from __future__ import annotations

import html as htmlmod
import re
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from accord.agreements.models import Agreement, Clause, PartnershipMember
from accord.audit.models import AuditEvent
from accord.core.time import utcnow
from accord.directory.models import Agency, Person
from tests.conftest import assert_error, browser_login, csrf_from, refresh, unique

UTC_FORMAT = "%Y-%m-%dT%H:%M"


@pytest.fixture
def ids(db) -> dict[str, uuid.UUID]:
    found = {a.short_name: a.id for a in db.scalars(select(Agency)).unique()}
    db.rollback()
    return found


@pytest.fixture
def seat(app, make_user) -> Iterator[Any]:
    """``seat(role, agency)``: a browser-like client signed in as a fresh user there."""
    clients: list[TestClient] = []

    def _seat(role: str, agency: str | None) -> TestClient:
        user = make_user(role, agency)
        client = TestClient(app, base_url="http://testserver")
        client.__enter__()
        clients.append(client)
        app.state.login_limiter.reset()
        assert browser_login(client, user["username"], user["password"]).status_code == 200
        return client

    yield _seat
    for client in clients:
        client.__exit__(None, None, None)


def post(client: TestClient, url: str, data: dict[str, Any], page: str | None = None) -> Any:
    """Submit a form like the browser: with the CSRF token of a page the user opened."""
    token = csrf_from(client.get(page or "/agreements").text)
    return client.post(url, data={**data, "csrf_token": token}, follow_redirects=False)


def text_of(response: Any) -> str:
    return htmlmod.unescape(response.text)


def field_error(response: Any, fid: str) -> str:
    """The message shown under the field with this id."""
    match = re.search(rf'<p class="field-error" id="{re.escape(fid)}-error">([^<]*)</p>', response.text)
    assert match, f"no error shown for {fid}: {response.text[:3000]}"
    return htmlmod.unescape(match.group(1))


def events(db, object_id: uuid.UUID | str) -> list[str]:
    refresh(db)
    stmt = select(AuditEvent.action).where(AuditEvent.object_id == str(object_id)).order_by(AuditEvent.seq)
    return list(db.scalars(stmt))


# --- partnerships ------------------------------------------------------------------------


def partnership_form(ids, **overrides: Any) -> dict[str, Any]:
    return {
        "name": f"Harrow Valley Flood Compact {unique('')}",
        "kind": "mutual_aid_compact",
        "purpose": "Flood response across the valley",
        "starts_on": "2026-01-01",
        "ends_on": "",
        "members": [str(ids["MCEMA"]), str(ids["TCEMA"])],
        **overrides,
    }


def new_partnership(client, ids, **overrides: Any) -> uuid.UUID:
    response = post(client, "/partnerships/new", partnership_form(ids, **overrides), "/partnerships/new")
    assert response.status_code == 303, text_of(response)[:3000]
    return uuid.UUID(response.headers["location"].rsplit("/", 1)[1])


def test_lists_offer_the_new_forms_only_to_those_who_may(seat):
    coordinator = seat("coordinator", "MCEMA")
    assert 'href="/agreements/new"' in coordinator.get("/agreements").text
    assert 'href="/partnerships/new"' in coordinator.get("/partnerships").text
    viewer = seat("viewer", "MCEMA")
    assert 'href="/agreements/new"' not in viewer.get("/agreements").text
    assert 'href="/partnerships/new"' not in viewer.get("/partnerships").text
    assert viewer.get("/agreements/new").status_code == 403
    assert viewer.get("/partnerships/new").status_code == 403


def test_forming_a_partnership(seat, ids, db):
    coordinator = seat("coordinator", "MCEMA")
    form = coordinator.get("/partnerships/new")
    assert form.status_code == 200 and 'name="members"' in form.text
    pid = new_partnership(coordinator, ids)
    page = coordinator.get(f"/partnerships/{pid}")
    assert page.status_code == 200 and "is formed" in page.text
    assert "Add a member agency" in page.text and "Set up a governance body" in page.text
    assert "agreements.partnership.create" in events(db, pid)


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"ends_on": "2025-06-01"}, "ends_on", "ends_on must not be before starts_on"),
        ({"members": []}, "members", "choose at least one"),
        ({"kind": "secret_society"}, "kind", "choose one of the options offered"),
        ({"name": "X"}, "name", "at least 3 characters"),
        ({"starts_on": "someday"}, "starts_on", "enter a date"),
        ({"members": ["HPD"]}, "members", "include an agency you act for"),
    ],
)
def test_bad_partnership_input_is_shown_next_to_the_field(seat, ids, change, field, message):
    coordinator = seat("coordinator", "MCEMA")
    if change.get("members") == ["HPD"]:
        change = {"members": [str(ids["HPD"]), str(ids["KPD"])]}
    response = post(coordinator, "/partnerships/new", partnership_form(ids, **change), "/partnerships/new")
    assert response.status_code == 422
    assert message in field_error(response, field)
    assert 'value="Flood response across the valley"' not in response.text  # textarea keeps it as text
    assert "Flood response across the valley" in response.text


def test_partnership_forms_refuse_without_csrf_or_permission(seat, ids):
    coordinator = seat("coordinator", "MCEMA")
    no_csrf = coordinator.post("/partnerships/new", data=partnership_form(ids), follow_redirects=False)
    assert no_csrf.status_code == 403 and "CSRF" in no_csrf.text
    viewer = seat("viewer", "MCEMA")
    denied = post(viewer, "/partnerships/new", partnership_form(ids))
    assert denied.status_code == 403


def test_members_and_liaisons(seat, ids, db):
    coordinator = seat("coordinator", "MCEMA")
    pid = new_partnership(coordinator, ids)
    url = f"/partnerships/{pid}"
    hvhd_person = db.scalars(select(Person).where(Person.agency_id == ids["HVHD"])).first()
    mcema_person = db.scalars(select(Person).where(Person.agency_id == ids["MCEMA"])).first()
    db.rollback()

    # htmx fills the liaison list with the chosen agency's people
    options = coordinator.get(f"{url}/people", params={"agency_id": str(ids["HVHD"])}, headers={"HX-Request": "true"})
    assert options.status_code == 200 and hvhd_person.full_name in text_of(options) and "<html" not in options.text

    wrong_liaison = post(
        coordinator, f"{url}/members", {"agency_id": str(ids["HVHD"]), "liaison_person_id": str(mcema_person.id)}, url
    )
    assert wrong_liaison.status_code == 422
    assert field_error(wrong_liaison, "member-liaison_person_id") == "no such person in that agency"
    added = post(
        coordinator, f"{url}/members", {"agency_id": str(ids["HVHD"]), "liaison_person_id": str(hvhd_person.id)}, url
    )
    assert added.status_code == 303
    page = text_of(coordinator.get(url))
    assert "(HVHD)" in page
    assert hvhd_person.full_name in page
    again = post(coordinator, f"{url}/members", {"agency_id": str(ids["HVHD"])}, url)
    assert again.status_code == 409 and field_error(again, "member-agency_id") == "already a member"
    bad_agency = post(coordinator, f"{url}/members", {"agency_id": "not-an-id"}, url)
    assert (
        bad_agency.status_code == 422
        and field_error(bad_agency, "member-agency_id") == "choose one of the options offered"
    )

    # MCEMA names its own liaison; it may not name TCEMA's
    liaison = post(
        coordinator, f"{url}/members/{ids['MCEMA']}/liaison", {"liaison_person_id": str(mcema_person.id)}, url
    )
    assert liaison.status_code == 303
    refresh(db)
    member = db.get(PartnershipMember, (pid, ids["MCEMA"]))
    assert member is not None and member.liaison_person_id == mcema_person.id
    db.rollback()
    foreign = post(
        coordinator, f"{url}/members/{ids['MCEMA']}/liaison", {"liaison_person_id": str(hvhd_person.id)}, url
    )
    assert foreign.status_code == 422 and "no such person in that agency" in text_of(foreign)
    others = post(coordinator, f"{url}/members/{ids['TCEMA']}/liaison", {"liaison_person_id": ""}, url)
    assert others.status_code == 403
    assert "agreements.partnership.liaison_set" in events(db, pid)

    # a member leaves on its own; history is kept
    tcema = seat("coordinator", "TCEMA")
    left = post(tcema, f"{url}/members/{ids['TCEMA']}/leave", {}, url)
    assert left.status_code == 303 and left.headers["location"] == "/partnerships"
    assert tcema.get(url).status_code == 404  # no longer a member: no longer visible
    assert "left " in coordinator.get(url).text
    not_mine = post(coordinator, f"{url}/members/{ids['HVHD']}/leave", {}, url)
    assert not_mine.status_code == 403


def test_outsiders_and_viewers_cannot_use_the_partnership_forms(seat, ids):
    coordinator = seat("coordinator", "MCEMA")
    pid = new_partnership(coordinator, ids)
    url = f"/partnerships/{pid}"
    outsider = seat("coordinator", "HPD")
    missing = post(outsider, f"/partnerships/{uuid.uuid4()}/members", {"agency_id": str(ids["HPD"])})
    hidden = post(outsider, f"{url}/members", {"agency_id": str(ids["HPD"])})
    assert hidden.status_code == missing.status_code == 404
    assert outsider.get(url).status_code == 404
    viewer = seat("viewer", "MCEMA")
    page = viewer.get(url)
    assert page.status_code == 200
    assert "Add a member agency" not in page.text and "Open a dispute" not in page.text
    assert post(viewer, f"{url}/bodies", {"kind": "working_group", "name": "Sneaky group"}, url).status_code == 403
    no_csrf = coordinator.post(f"{url}/bodies", data={"kind": "working_group", "name": "Data group"})
    assert no_csrf.status_code == 403


def test_governance_bodies_decisions_and_disputes(seat, ids, db):
    coordinator = seat("coordinator", "MCEMA")
    pid = new_partnership(coordinator, ids)
    url = f"/partnerships/{pid}"
    people = db.scalars(select(Person).where(Person.agency_id.in_([ids["MCEMA"], ids["TCEMA"]]))).all()[:2]
    db.rollback()

    bad_body = post(coordinator, f"{url}/bodies", {"kind": "politburo", "name": "Steering committee"}, url)
    assert bad_body.status_code == 422 and "choose one of" in field_error(bad_body, "body-kind")
    assert 'value="Steering committee"' in bad_body.text  # what was typed stays
    made = post(
        coordinator,
        f"{url}/bodies",
        {"kind": "steering_committee", "name": "Steering committee", "member_person_ids": [str(p.id) for p in people]},
        url,
    )
    assert made.status_code == 303
    page = text_of(coordinator.get(url))
    assert "Steering committee" in page and all(p.full_name in page for p in people)
    body_id = re.search(r'action="/governance-bodies/([0-9a-f-]+)/decisions"', page).group(1)

    decision = {
        "decided_on": "2026-03-02",
        "text": "Adopt the flood data-use agreement",
        "outcome": "adopted",
        "votes_for": "4",
    }
    bad_vote = post(coordinator, f"/governance-bodies/{body_id}/decisions", {**decision, "outcome": "vetoed"}, url)
    assert bad_vote.status_code == 422 and "choose one of" in field_error(bad_vote, "decision-1-outcome")
    bad_date = post(
        coordinator, f"/governance-bodies/{body_id}/decisions", {**decision, "decided_on": "2026-13-40"}, url
    )
    assert bad_date.status_code == 422 and "date" in field_error(bad_date, "decision-1-decided_on")
    negative = post(coordinator, f"/governance-bodies/{body_id}/decisions", {**decision, "votes_against": "-1"}, url)
    assert negative.status_code == 422 and "greater than or equal to 0" in field_error(
        negative, "decision-1-votes_against"
    )
    ok = post(coordinator, f"/governance-bodies/{body_id}/decisions", decision, url)
    assert ok.status_code == 303
    page = text_of(coordinator.get(url))
    assert "Adopt the flood data-use agreement" in page and "4–0–0" in page

    no_subject = post(coordinator, f"{url}/disputes", {"raised_by_agency_id": str(ids["MCEMA"]), "subject": ""}, url)
    assert no_subject.status_code == 422 and "at least 3 characters" in field_error(no_subject, "dispute-subject")
    for_others = post(
        coordinator, f"{url}/disputes", {"raised_by_agency_id": str(ids["TCEMA"]), "subject": "Late pay"}, url
    )
    assert for_others.status_code == 403
    raised = post(
        coordinator,
        f"{url}/disputes",
        {"raised_by_agency_id": str(ids["MCEMA"]), "subject": "Late reimbursement", "description": "Invoice 12 unpaid"},
        url,
    )
    assert raised.status_code == 303
    page = text_of(coordinator.get(url))
    dispute_id = re.search(r'action="/disputes/([0-9a-f-]+)/resolve"', page).group(1)
    short = post(coordinator, f"/disputes/{dispute_id}/resolve", {"resolution": "ok"}, url)
    assert short.status_code == 422 and "at least 3 characters" in field_error(short, "resolve-1-resolution")
    assert post(coordinator, f"/disputes/{dispute_id}/resolve", {"resolution": "Paid in full"}, url).status_code == 303
    page = text_of(coordinator.get(url))
    assert "Paid in full" in page and "Record the resolution" not in page
    twice = post(coordinator, f"/disputes/{dispute_id}/resolve", {"resolution": "Paid twice"}, url)
    assert twice.status_code == 409
    outsider = seat("coordinator", "HPD")
    assert post(outsider, f"/disputes/{dispute_id}/resolve", {"resolution": "Meddling"}).status_code == 404
    assert post(outsider, f"/governance-bodies/{body_id}/decisions", decision).status_code == 404


# --- agreements: drafting ------------------------------------------------------------------


def agreement_form(ids, **overrides: Any) -> dict[str, Any]:
    return {
        "kind": "data_use",
        "title": f"Flood information sharing {unique('')}",
        "text": "The parties share incident reports during river flooding.\r\n\r\nSecond paragraph.",
        "partnership_id": "",
        "parties": [str(ids["MCEMA"]), str(ids["TCEMA"])],
        "effective_at": (utcnow() - timedelta(minutes=5)).strftime(UTC_FORMAT),
        "expires_at": "",
        "tz": "UTC",
        **overrides,
    }


def sharing_form(ids, **overrides: Any) -> dict[str, Any]:
    return {
        "kind": "sharing",
        "providers": [str(ids["MCEMA"])],
        "recipients": [str(ids["TCEMA"])],
        "categories": ["incident_report", "bolo"],
        "max_tier": "AMBER",
        "purposes": ["emergency_response"],
        "labels": ["PII"],
        "retention_days": "90",
        **overrides,
    }


def new_draft(client, ids, **overrides: Any) -> uuid.UUID:
    response = post(client, "/agreements/new", agreement_form(ids, **overrides), "/agreements/new")
    assert response.status_code == 303, text_of(response)[:3000]
    location = response.headers["location"]
    assert location.endswith("/draft")
    return uuid.UUID(location.split("/")[2])


def add_clause(client, agreement_id, data: dict[str, Any]) -> Any:
    return post(client, f"/agreements/{agreement_id}/clauses", data, f"/agreements/{agreement_id}/draft")


def test_new_agreement_form_creates_a_draft_in_the_chosen_time_zone(seat, ids, db):
    coordinator = seat("coordinator", "MCEMA")
    form = coordinator.get("/agreements/new")
    assert form.status_code == 200 and 'name="tz"' in form.text and "America/New_York" in form.text
    agreement_id = new_draft(coordinator, ids, effective_at="2030-07-01T09:00", tz="America/New_York")
    refresh(db)
    version = db.get(Agreement, agreement_id).versions[0]
    assert version.effective_at.isoformat() == "2030-07-01T13:00:00+00:00"  # 09:00 EDT
    assert version.text == "The parties share incident reports during river flooding.\n\nSecond paragraph."
    db.rollback()
    editor = coordinator.get(f"/agreements/{agreement_id}/draft")
    assert editor.status_code == 200 and "No clauses yet" in editor.text and "Propose for signature" in editor.text
    assert 'value="2030-07-01T13:00"' in editor.text  # shown back in UTC
    with_offset = new_draft(coordinator, ids, effective_at="2030-07-01T09:00:00+02:00", tz="")
    refresh(db)
    assert db.get(Agreement, with_offset).versions[0].effective_at.isoformat() == "2030-07-01T07:00:00+00:00"
    db.rollback()


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"expires_at": "2020-01-01T00:00"}, "expires_at", "must be after effective_at"),
        ({"tz": ""}, "effective_at", "needs a time zone"),
        ({"tz": "Mars/Olympus_Mons"}, "tz", "unknown time zone"),
        ({"effective_at": "next tuesday"}, "effective_at", "enter a date and time"),
        ({"effective_at": ""}, "effective_at", "enter a date and time"),
        ({"kind": "treaty"}, "kind", "choose one of the options offered"),
        ({"title": ""}, "title", "at least 3 characters"),
        ({"parties": ["MCEMA"]}, "parties", "choose at least 2"),
        ({"parties": ["HPD", "KPD"]}, "parties", "include an agency you act for"),
        ({"parties": ["MCEMA", "bogus"]}, "parties", "no such agency"),
        ({"partnership_id": "00000000-0000-0000-0000-000000000000"}, "partnership_id", "no such partnership"),
    ],
)
def test_bad_agreement_input_is_shown_next_to_the_field(seat, ids, change, field, message):
    coordinator = seat("coordinator", "MCEMA")
    if "parties" in change:
        change = {"parties": [str(ids[p]) if p in ids else str(uuid.uuid4()) for p in change["parties"]]}
    response = post(coordinator, "/agreements/new", agreement_form(ids, **change), "/agreements/new")
    assert response.status_code == 422, response.text[:2000]
    assert message in field_error(response, field)
    assert "The parties share incident reports" in response.text  # nothing typed is lost


def test_agreement_forms_refuse_without_csrf_or_permission(seat, ids):
    coordinator = seat("coordinator", "MCEMA")
    no_csrf = coordinator.post("/agreements/new", data=agreement_form(ids), follow_redirects=False)
    assert no_csrf.status_code == 403 and "CSRF" in no_csrf.text
    admin = seat("agency_admin", "MCEMA")  # signs and manages, does not draft
    assert post(admin, "/agreements/new", agreement_form(ids)).status_code == 403
    agreement_id = new_draft(coordinator, ids)
    assert admin.get(f"/agreements/{agreement_id}/draft").status_code == 403
    assert add_clause(admin, agreement_id, sharing_form(ids)).status_code == 403
    assert post(admin, f"/agreements/{agreement_id}/propose", {}).status_code == 403
    no_csrf_clause = coordinator.post(f"/agreements/{agreement_id}/clauses", data=sharing_form(ids))
    assert no_csrf_clause.status_code == 403
    outsider = seat("coordinator", "HPD")
    hidden = add_clause(outsider, agreement_id, sharing_form(ids))
    missing = add_clause(outsider, uuid.uuid4(), sharing_form(ids))
    assert hidden.status_code == missing.status_code == 404
    assert outsider.get(f"/agreements/{agreement_id}/draft").status_code == 404


def test_clause_editor_adds_edits_and_removes_clauses(seat, ids, db):
    coordinator = seat("coordinator", "MCEMA")
    agreement_id = new_draft(coordinator, ids)
    draft = f"/agreements/{agreement_id}/draft"
    for kind in ("sharing", "opt_out", "mutual_aid"):
        form = coordinator.get(f"/agreements/{agreement_id}/clauses/new", params={"kind": kind})
        assert form.status_code == 200 and f'name="kind" value="{kind}"' in form.text
    assert coordinator.get(f"/agreements/{agreement_id}/clauses/new", params={"kind": "telepathy"}).status_code == 422

    added = add_clause(coordinator, agreement_id, sharing_form(ids, recipient_roles=["analyst"]))
    assert added.status_code == 303 and added.headers["location"] == f"{draft}#clause-1"
    assert add_clause(coordinator, agreement_id, {"kind": "opt_out", "notice_days": "30"}).status_code == 303
    mutual = {
        "kind": "mutual_aid",
        "activation_threshold": "A declared local emergency in a party's county",
        "reimbursement_terms": "Requesting party pays FEMA rates within 60 days",
        "liability": "Each party answers for its own personnel",
        "insurance": "",
    }
    assert add_clause(coordinator, agreement_id, mutual).status_code == 303
    page = text_of(coordinator.get(draft))
    assert "Clause 1 · Information sharing" in page and "Clause 2 · Opt-out" in page and "Clause 3 · Mutual aid" in page
    assert "TLP:AMBER" in page and "Analyst staff only" in page and "30 days after the notice" in page
    assert "A declared local emergency" in page

    refresh(db)
    clauses = db.get(Agreement, agreement_id).versions[0].clauses
    sharing_id, opt_out_id = clauses[0].id, clauses[1].id
    db.rollback()
    edit_form = coordinator.get(f"/agreements/{agreement_id}/clauses/{sharing_id}")
    assert edit_form.status_code == 200 and "Edit clause 1" in edit_form.text
    assert re.search(r'value="bolo" checked', edit_form.text) and 'value="90"' in edit_form.text
    saved = post(
        coordinator,
        f"/agreements/{agreement_id}/clauses/{sharing_id}",
        sharing_form(ids, categories=["bolo"], labels=["PII", "PHI"], max_tier="AMBER+STRICT", retention_days=""),
        draft,
    )
    assert saved.status_code == 303
    refresh(db)
    terms = db.get(Clause, sharing_id).terms
    assert terms["categories"] == ["bolo"] and terms["labels"] == ["PII", "PHI"] and terms["retention_days"] is None
    db.rollback()

    removed = post(coordinator, f"/agreements/{agreement_id}/clauses/{opt_out_id}/delete", {}, draft)
    assert removed.status_code == 303
    refresh(db)
    left = db.get(Agreement, agreement_id).versions[0].clauses
    assert [(c.kind, c.position) for c in left] == [("sharing", 0), ("mutual_aid", 1)]
    db.rollback()
    assert post(coordinator, f"/agreements/{agreement_id}/clauses/{opt_out_id}/delete", {}, draft).status_code == 404
    actions = events(db, agreement_id)
    assert {"agreements.clause.add", "agreements.clause.edit", "agreements.clause.remove"} <= set(actions)


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"providers": ["HPD"]}, "providers", "names an agency that is not a party"),
        ({"recipients": ["TCEMA", "KPD"]}, "recipients", "names an agency that is not a party"),
        ({"categories": ["gossip"]}, "categories", "choose one of the options offered"),
        ({"categories": []}, "categories", "choose at least one"),
        ({"purposes": []}, "purposes", "choose at least one"),
        ({"max_tier": "RED"}, "max_tier", "choose one of the options offered"),
        ({"labels": ["SSN"]}, "labels", "choose one of the options offered"),
        ({"recipient_roles": ["wizard"]}, "recipient_roles", "unknown agency role"),
        ({"retention_days": "0"}, "retention_days", "greater than or equal to 1"),
        ({"retention_days": "forever"}, "retention_days", "whole number"),
        ({"max_tier": "AMBER+STRICT", "reshare_allowed": "on"}, "reshare_allowed", "never re-shared"),
    ],
)
def test_bad_sharing_clause_is_shown_next_to_the_field(seat, ids, change, field, message):
    coordinator = seat("coordinator", "MCEMA")
    agreement_id = new_draft(coordinator, ids)
    for key in ("providers", "recipients"):
        if key in change:
            change = {**change, key: [str(ids[a]) for a in change[key]]}
    response = add_clause(coordinator, agreement_id, sharing_form(ids, **change))
    assert response.status_code == 422, response.text[:2000]
    assert message in field_error(response, field)


def test_other_clause_kinds_explain_bad_input(seat, ids):
    coordinator = seat("coordinator", "MCEMA")
    agreement_id = new_draft(coordinator, ids)
    negative = add_clause(coordinator, agreement_id, {"kind": "opt_out", "notice_days": "-3"})
    assert negative.status_code == 422 and "greater than or equal to 0" in field_error(negative, "notice_days")
    assert add_clause(coordinator, agreement_id, {"kind": "opt_out", "notice_days": "10"}).status_code == 303
    second = add_clause(coordinator, agreement_id, {"kind": "opt_out", "notice_days": "20"})
    assert second.status_code == 422 and "at most one opt-out clause" in field_error(second, "kind")
    vague = add_clause(
        coordinator, agreement_id, {"kind": "mutual_aid", "activation_threshold": "?", "reimbursement_terms": "Paid"}
    )
    assert vague.status_code == 422 and "at least 3 characters" in field_error(vague, "activation_threshold")
    unknown = add_clause(coordinator, agreement_id, {"kind": "telepathy"})
    assert unknown.status_code == 422


def test_editing_the_draft(seat, ids, db):
    coordinator = seat("coordinator", "MCEMA")
    agreement_id = new_draft(coordinator, ids)
    draft = f"/agreements/{agreement_id}/draft"
    add_clause(coordinator, agreement_id, sharing_form(ids))
    edit = {
        "title": "Renamed flood agreement",
        "text": "New text.",
        "parties": [str(ids["MCEMA"]), str(ids["TCEMA"]), str(ids["CCEMA"])],
        "effective_at": "2031-01-01T00:00",
        "expires_at": "2032-01-01T00:00",
        "tz": "UTC",
    }
    assert post(coordinator, draft, edit, draft).status_code == 303
    refresh(db)
    version = db.get(Agreement, agreement_id).versions[0]
    assert version.title == "Renamed flood agreement" and len(version.party_ids) == 3
    assert version.expires_at is not None and version.expires_at.year == 2032
    db.rollback()
    backwards = post(coordinator, draft, {**edit, "expires_at": "2030-01-01T00:00"}, draft)
    assert backwards.status_code == 422 and field_error(backwards, "expires_at") == "must be after effective_at"
    naive = post(coordinator, draft, {**edit, "tz": ""}, draft)
    assert naive.status_code == 422 and "needs a time zone" in field_error(naive, "effective_at")
    # a party named by a clause cannot be dropped
    dropped = post(coordinator, draft, {**edit, "parties": [str(ids["MCEMA"]), str(ids["CCEMA"])]}, draft)
    assert dropped.status_code == 422 and "not a party" in text_of(dropped)
    # cleared expiry
    assert post(coordinator, draft, {**edit, "expires_at": ""}, draft).status_code == 303
    refresh(db)
    assert db.get(Agreement, agreement_id).versions[0].expires_at is None
    db.rollback()


# --- agreements: lifecycle through the pages -----------------------------------------------


def drafted_and_signed(
    seat, ids, *, clauses: list[dict[str, Any]] | None = None
) -> tuple[uuid.UUID, dict[str, TestClient]]:
    team = {
        "coordinator": seat("coordinator", "MCEMA"),
        "mcema": seat("agency_admin", "MCEMA"),
        "tcema": seat("agency_admin", "TCEMA"),
    }
    agreement_id = new_draft(team["coordinator"], ids)
    for clause in clauses if clauses is not None else [sharing_form(ids), {"kind": "opt_out", "notice_days": "30"}]:
        assert add_clause(team["coordinator"], agreement_id, clause).status_code == 303
    url = f"/agreements/{agreement_id}"
    assert post(team["coordinator"], f"{url}/propose", {}, url).status_code == 303
    for who, short in (("mcema", "MCEMA"), ("tcema", "TCEMA")):
        page = team[who].get(url)
        digest = re.search(r'name="content_hash" value="([0-9a-f]{64})"', page.text).group(1)
        signed = team[who].post(
            f"{url}/sign",
            data={"csrf_token": csrf_from(page.text), "agency_id": str(ids[short]), "content_hash": digest},
            follow_redirects=False,
        )
        assert signed.status_code == 303
    return agreement_id, team


def test_propose_sign_and_the_lifecycle_buttons(seat, ids, db):
    agreement_id, team = drafted_and_signed(seat, ids)
    url = f"/agreements/{agreement_id}"
    page = text_of(team["mcema"].get(url))
    assert "active" in page and "Suspend" in page and "Terminate" in page and "Opt out" in page
    assert "Amend" not in page  # agency administrators sign and manage; coordinators draft
    assert "Amend (new version)" in team["coordinator"].get(url).text
    viewer = seat("viewer", "TCEMA")
    seen = viewer.get(url).text
    assert "Suspend" not in seen and "Terminate" not in seen and "Amend" not in seen
    assert post(viewer, f"{url}/suspend", {}, url).status_code == 403

    assert post(team["tcema"], f"{url}/suspend", {}, url).status_code == 303
    page = text_of(team["mcema"].get(url))
    assert "suspended" in page and "Resume" in page
    assert post(team["tcema"], f"{url}/suspend", {}, url).status_code == 409
    assert post(team["mcema"], f"{url}/resume", {}, url).status_code == 303

    short = post(team["mcema"], f"{url}/opt-out", {"agency_id": "nope"}, url)
    assert short.status_code == 422 and "choose one of" in field_error(short, "optout-agency_id")
    for_other = post(team["mcema"], f"{url}/opt-out", {"agency_id": str(ids["TCEMA"])}, url)
    assert for_other.status_code == 403
    opted = post(team["tcema"], f"{url}/opt-out", {"agency_id": str(ids["TCEMA"])}, url)
    assert opted.status_code == 303
    assert "leaves" in team["tcema"].get(url).text

    amended = post(team["coordinator"], f"{url}/amend", {}, url)
    assert amended.status_code == 303 and amended.headers["location"] == f"{url}/draft"
    assert "version 2" in team["coordinator"].get(f"{url}/draft").text

    no_reason = post(team["mcema"], f"{url}/terminate", {"reason": ""}, url)
    assert no_reason.status_code == 422 and "at least 3 characters" in field_error(no_reason, "terminate-reason")
    assert post(team["mcema"], f"{url}/terminate", {"reason": "Replaced by the compact"}, url).status_code == 303
    page = text_of(team["mcema"].get(url))
    assert "terminated" in page and "Terminate agreement" not in page
    assert post(team["mcema"], f"{url}/terminate", {"reason": "Again"}, url).status_code == 409
    actions = events(db, agreement_id)
    for action in ("propose", "sign", "suspend", "resume", "opt_out", "amend", "terminate"):
        assert f"agreements.agreement.{action}" in actions


def test_proposing_twice_and_editing_a_proposal_are_refused(seat, ids):
    coordinator = seat("coordinator", "MCEMA")
    agreement_id = new_draft(coordinator, ids)
    url = f"/agreements/{agreement_id}"
    assert post(coordinator, f"{url}/propose", {}, url).status_code == 303
    again = post(coordinator, f"{url}/propose", {}, url)
    assert again.status_code == 409 and "not a draft" in text_of(again)
    assert coordinator.get(f"{url}/draft", follow_redirects=False).status_code == 303
    refused = add_clause(coordinator, agreement_id, sharing_form(ids))
    assert refused.status_code == 409


# --- documents -----------------------------------------------------------------------------


def test_version_document_and_pdf(seat, ids, client, as_user):
    agreement_id, team = drafted_and_signed(seat, ids)
    url = f"/agreements/{agreement_id}"
    detail = team["tcema"].get(url).text
    assert f'href="{url}/versions/1"' in detail and f'href="{url}/versions/1.pdf"' in detail
    document = team["tcema"].get(f"{url}/versions/1")
    assert document.status_code == 200
    body = text_of(document)
    assert "Flood information sharing" in body and "Data-use agreement" in body
    assert "Second paragraph." in body and "TLP:AMBER" in body and "90 days" in body
    assert re.search(r"<code>[0-9a-f]{64}</code>", body)
    assert "Test Agency_Admin" in body and "active" in body and "Awaiting" not in body
    assert '<nav class="mainnav"' not in body  # a document, not the app shell

    pdf = team["tcema"].get(f"{url}/versions/1.pdf")
    assert pdf.status_code == 200, pdf.text[:500]
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF") and len(pdf.content) > 5000
    assert 'filename="flood-information-sharing-' in pdf.headers["content-disposition"]

    headers, _ = as_user("viewer", "MCEMA")
    api = client.get(f"/api/v1/agreements/{agreement_id}/versions/1/document.pdf", headers=headers)
    assert api.status_code == 200 and api.headers["content-type"] == "application/pdf"
    assert api.content.startswith(b"%PDF")


def test_documents_of_drafts_and_missing_versions(seat, ids, client, as_user):
    coordinator = seat("coordinator", "MCEMA")
    agreement_id = new_draft(coordinator, ids)
    url = f"/agreements/{agreement_id}"
    draft_doc = text_of(coordinator.get(f"{url}/versions/1"))
    assert "Draft — not proposed, not in force" in draft_doc and "no content hash" in draft_doc
    assert coordinator.get(f"{url}/versions/1.pdf").content.startswith(b"%PDF")
    assert coordinator.get(f"{url}/versions/2").status_code == 404
    assert coordinator.get(f"{url}/versions/2.pdf").status_code == 404
    assert coordinator.get(f"{url}/versions/0.pdf").status_code == 404
    headers, _ = as_user("coordinator", "MCEMA")
    absent_version = client.get(f"/api/v1/agreements/{agreement_id}/versions/7/document.pdf", headers=headers)
    assert_error(absent_version, 404, "not_found")


def test_invisible_agreement_documents_answer_like_absent_ones(seat, ids, client, as_user):
    coordinator = seat("coordinator", "MCEMA")
    agreement_id = new_draft(coordinator, ids)
    outsider = seat("coordinator", "HPD")
    for suffix in ("", ".pdf"):
        hidden = outsider.get(f"/agreements/{agreement_id}/versions/1{suffix}")
        missing = outsider.get(f"/agreements/{uuid.uuid4()}/versions/1{suffix}")
        assert hidden.status_code == missing.status_code == 404
        assert hidden.text == missing.text
    headers, _ = as_user("analyst", "HPD")
    hidden = client.get(f"/api/v1/agreements/{agreement_id}/versions/1/document.pdf", headers=headers)
    missing = client.get(f"/api/v1/agreements/{uuid.uuid4()}/versions/1/document.pdf", headers=headers)
    assert assert_error(hidden, 404, "not_found")["message"] == assert_error(missing, 404, "not_found")["message"]
    anonymous = client.get(f"/api/v1/agreements/{agreement_id}/versions/1/document.pdf")
    assert anonymous.status_code == 401


def test_diff_page_compares_versions(seat, ids):
    agreement_id, team = drafted_and_signed(seat, ids)
    url = f"/agreements/{agreement_id}"
    post(team["coordinator"], f"{url}/amend", {}, url)
    draft = f"{url}/draft"
    edit = {
        "title": "Flood sharing, amended",
        "text": "Amended text.",
        "parties": [str(ids["MCEMA"]), str(ids["TCEMA"])],
        "effective_at": (utcnow() + timedelta(days=1)).strftime(UTC_FORMAT),
        "tz": "UTC",
    }
    assert post(team["coordinator"], draft, edit, draft).status_code == 303
    diff = team["mcema"].get(f"{url}/diff", params={"from": 1, "to": 2})
    assert diff.status_code == 200
    body = text_of(diff)
    assert '<span class="diff-add">+ Title: Flood sharing, amended</span>' in body
    assert '<span class="diff-del">- Text:' not in body and "diff-del" in body
    assert "Changes from 1" in team["mcema"].get(url).text
    assert team["mcema"].get(f"{url}/diff", params={"from": 9, "to": "x"}).status_code == 422


# --- JSON API for the editor's commands ----------------------------------------------------


def test_api_clause_commands_and_liaison(client, as_user, ids, db):
    coordinator, _ = as_user("coordinator", "MCEMA")
    body = {
        "kind": "mou",
        "title": f"Clause API {unique('')}",
        "parties": [str(ids["MCEMA"]), str(ids["TCEMA"])],
        "effective_at": utcnow().isoformat(),
    }
    created = client.post("/api/v1/agreements", json=body, headers=coordinator).json()
    url = f"/api/v1/agreements/{created['id']}/draft/clauses"
    clause = {"kind": "opt_out", "notice_days": 14}
    added = client.post(url, json=clause, headers=coordinator)
    assert added.status_code == 201 and added.json()["versions"][0]["clauses"][0]["terms"] == {"notice_days": 14}
    clause_id = added.json()["versions"][0]["clauses"][0]["id"]
    outsider_party = client.post(
        url,
        json={**sharing_form(ids), "providers": [str(ids["HPD"])], "retention_days": 30, "labels": []},
        headers=coordinator,
    )
    assert assert_error(outsider_party, 422, "invalid")["fields"][0]["field"] == "clauses[1].providers[0]"
    replaced = client.put(f"{url}/{clause_id}", json={"kind": "opt_out", "notice_days": 60}, headers=coordinator)
    assert replaced.status_code == 200 and replaced.json()["versions"][0]["clauses"][0]["terms"]["notice_days"] == 60
    assert_error(client.put(f"{url}/{uuid.uuid4()}", json=clause, headers=coordinator), 404, "not_found")
    removed = client.delete(f"{url}/{clause_id}", headers=coordinator)
    assert removed.status_code == 200 and removed.json()["versions"][0]["clauses"] == []

    partnership = client.post(
        "/api/v1/partnerships",
        json={
            "name": f"Liaison API {unique('')}",
            "kind": "task_force",
            "starts_on": "2026-01-01",
            "members": [str(ids["MCEMA"])],
        },
        headers=coordinator,
    ).json()
    person = db.scalars(select(Person).where(Person.agency_id == ids["MCEMA"])).first()
    db.rollback()
    member_url = f"/api/v1/partnerships/{partnership['id']}/members/{ids['MCEMA']}"
    named = client.patch(member_url, json={"liaison_person_id": str(person.id)}, headers=coordinator)
    assert named.status_code == 200 and named.json()["members"][0]["liaison_person_id"] == str(person.id)
    cleared = client.patch(member_url, json={"liaison_person_id": None}, headers=coordinator)
    assert cleared.json()["members"][0]["liaison_person_id"] is None
    stranger = client.patch(member_url, json={"liaison_person_id": str(uuid.uuid4())}, headers=coordinator)
    assert assert_error(stranger, 422, "invalid")["fields"][0]["field"] == "liaison_person_id"


# --- the PDF renderer itself -----------------------------------------------------------


def test_pdf_renderer_never_fetches_from_the_network():
    from accord.web.pdf import BASE_URL, _fetcher, render_pdf, static_file

    fetcher = _fetcher()
    for url in (
        "http://127.0.0.1:9/x.png",
        "https://example.org/font.woff",
        "file:///etc/passwd",
        f"{BASE_URL}static/../../pdf.py",
    ):
        with pytest.raises(ValueError):
            fetcher.fetch(url)
    assert static_file(f"{BASE_URL}static/favicon.svg") is not None
    served = fetcher.fetch(f"{BASE_URL}static/favicon.svg")
    assert served.read().startswith(b"<svg") and served.content_type == "image/svg+xml"
    pdf = render_pdf(
        '<html><body><img src="http://127.0.0.1:9/x.png"><img src="/static/favicon.svg"><p>Hi</p></body></html>'
    )
    assert pdf.startswith(b"%PDF")
