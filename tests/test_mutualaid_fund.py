"""The collaboration fund of a partnership (issue 6, part 3b): the formula, calls shared
by largest remainder on cents, contributions, spending never beyond the balance, who sees
and who keeps a fund, and every refusal with its field — on both databases."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from accord.agreements.models import Partnership
from accord.audit.models import AuditEvent
from accord.core.time import utcnow
from accord.directory.models import Agency
from accord.mutualaid.fund.shares import paid_per_call, split
from tests.conftest import assert_error

FESTIVAL = "Harrow River Festival Joint Command"  # HPD, LHFD, MCEMS, MCEMA, MCSO
COMPACT = "Harrow Valley Mutual Aid Compact"
OUTBREAK = "Foodborne Outbreak Task Force"  # HVHD, the EMAs, HVWA


# -- the arithmetic -------------------------------------------------------------------------
amounts = st.integers(min_value=1, max_value=10**13).map(lambda c: Decimal(c) / 100)
figures = st.lists(
    st.decimals(min_value=0, max_value=10**9, places=4, allow_nan=False, allow_infinity=False), min_size=1, max_size=40
).filter(lambda fs: any(f > 0 for f in fs))


@settings(max_examples=300, deadline=None)
@given(amount=amounts, weights=figures)
def test_shares_add_up_to_the_call_exactly_and_stay_within_a_cent(amount, weights):
    shares = split(amount, list(enumerate(weights)))
    assert sum(s for _, s in shares) == amount
    total = sum(weights)
    for (i, share), weight in zip(shares, weights, strict=True):
        assert share == share.quantize(Decimal("0.01")) and share >= 0
        assert abs(share - amount * weight / total) < Decimal("0.01")
        if weight == 0:
            assert share == 0
    assert [k for k, _ in shares] == list(range(len(weights)))


@settings(max_examples=100, deadline=None)
@given(amount=amounts, n=st.integers(min_value=1, max_value=60))
def test_equal_shares_differ_by_at_most_a_cent_and_the_first_listed_get_the_extra_cents(amount, n):
    shares = [s for _, s in split(amount, [(i, Decimal(1)) for i in range(n)])]
    assert max(shares) - min(shares) <= Decimal("0.01")
    assert shares == sorted(shares, reverse=True)


def test_a_known_split():
    assert split(Decimal("100.00"), [("a", Decimal(1)), ("b", Decimal(1)), ("c", Decimal(1))]) == [
        ("a", Decimal("33.34")),
        ("b", Decimal("33.33")),
        ("c", Decimal("33.33")),
    ]
    # 0.5 cent remainders each: the largest remainder decides, then the order listed.
    assert split(Decimal("0.05"), [("a", Decimal(1)), ("b", Decimal(3))]) == [
        ("a", Decimal("0.01")),
        ("b", Decimal("0.04")),
    ]
    for bad in (Decimal("0"), Decimal("-1"), Decimal("1.001")):
        with pytest.raises(ValueError):
            split(bad, [("a", Decimal(1))])
    with pytest.raises(ValueError):
        split(Decimal("1"), [("a", Decimal(0))])


def test_unassigned_payments_settle_the_oldest_calls_first():
    paid = paid_per_call(
        [("fy26", Decimal("100")), ("fy27", Decimal("100")), ("fy28", Decimal("100"))],
        {"fy27": Decimal("30")},
        Decimal("150"),
    )
    assert [(p.paid, p.due) for p in paid.values()] == [
        (Decimal("100"), Decimal("0")),
        (Decimal("80"), Decimal("20")),
        (Decimal("0"), Decimal("100")),
    ]


# -- the API --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def people(app: Any, session_factory: Any) -> dict[str, Any]:
    """Coordinators of MCEMA (festival and compact member) and HVHD (outbreak task force
    only), and an LHFD viewer (festival member)."""
    from fastapi.testclient import TestClient

    from accord.accounts.service import create_user_unchecked
    from accord.seed import DEMO_PASSWORD, system_actor
    from tests.conftest import api_token, bearer, unique

    with session_factory() as db:
        ids = {a.short_name: a.id for a in db.scalars(select(Agency))}
        parts = {p.name: p.id for p in db.scalars(select(Partnership))}
        names = {}
        for key, role, agency in [
            ("mcema", "coordinator", "MCEMA"),
            ("hvhd", "coordinator", "HVHD"),
            ("lhfd", "viewer", "LHFD"),
        ]:
            names[key] = unique(f"fund-{key}-")
            create_user_unchecked(
                db,
                actor=system_actor("test"),
                username=names[key],
                display_name=f"{key} {role}",
                email="",
                password=DEMO_PASSWORD,
                agency_id=ids[agency],
                role=role,
                check_password_policy=False,
            )
        db.commit()
    with TestClient(app) as client:
        headers = {key: bearer(api_token(client, name)) for key, name in names.items()}
    return {"ids": ids, "p": parts, "h": headers, "names": names}


def _url(people: dict[str, Any], partnership: str, part: str = "") -> str:
    return f"/api/v1/partnerships/{people['p'][partnership]}/fund{part}"


def _fields(response: Any) -> list[str]:
    return [f["field"] for f in response.json()["error"]["fields"]]


def test_the_demo_compact_has_a_population_fund(client, people):
    fund = client.get(_url(people, COMPACT), headers=people["h"]["mcema"])
    assert fund.status_code == 200, fund.text
    body = fund.json()
    assert body["formula"]["basis"] == "population" and len(body["formula"]["figures"]) == 13
    call = body["calls"][0]
    assert call["period"] == "FY2027 operating" and Decimal(call["amount"]) == Decimal("120000.00")
    assert sum(Decimal(s["share"]) for s in call["shares"]) == Decimal("120000.00")
    assert Decimal(body["balance"]) == Decimal(body["received"]) - Decimal("8450.00") > 0
    owed = sum(Decimal(m["owes"]) for m in body["members"])
    assert owed == Decimal("120000.00") - Decimal(body["received"])
    assert body["can_manage"] is True and body["history"][0]["kind"] == "spending"


def test_a_fund_is_its_partnership_members_only(client, people):
    url = _url(people, FESTIVAL)
    assert client.get(url, headers=people["h"]["lhfd"]).status_code == 200
    assert client.get(url, headers=people["h"]["lhfd"]).json()["can_manage"] is False
    assert_error(client.get(url, headers=people["h"]["hvhd"]), 404, "not_found")
    assert_error(client.put(url + "/formula", json={"basis": "equal"}, headers=people["h"]["hvhd"]), 404, "not_found")
    assert_error(client.put(url + "/formula", json={"basis": "equal"}, headers=people["h"]["lhfd"]), 403, "forbidden")
    assert_error(client.get(url), 401, "unauthenticated")
    unknown = "/api/v1/partnerships/00000000-0000-0000-0000-000000000000/fund"
    assert_error(client.get(unknown, headers=people["h"]["mcema"]), 404, "not_found")


def test_calls_contributions_and_spending_keep_the_balance(client, people, db):
    h, ids = people["h"]["mcema"], people["ids"]
    url = _url(people, FESTIVAL)
    today = utcnow().date().isoformat()
    assert_error(client.post(url + "/calls", json={"period": "FY2027", "amount": "100"}, headers=h), 409, "conflict")
    made = client.put(url + "/formula", json={"basis": "equal"}, headers=h)
    assert made.status_code == 200, made.text
    call = client.post(url + "/calls", json={"period": "Festival 2027 equal", "amount": "1000.01"}, headers=h)
    assert call.status_code == 201, call.text
    shares = [Decimal(s["share"]) for s in call.json()["shares"]]
    assert len(shares) == 5 and sum(shares) == Decimal("1000.01") and max(shares) - min(shares) == Decimal("0.01")
    members = ["HPD", "LHFD", "MCEMS", "MCEMA", "MCSO"]
    figures = [{"agency_id": str(ids[s]), "figure": n} for s, n in zip(members, [3, 1, 1, 0, 1], strict=True)]
    custom = client.put(url + "/formula", json={"basis": "custom", "figures": figures, "note": "by staff"}, headers=h)
    assert custom.status_code == 200, custom.text
    second = client.post(url + "/calls", json={"period": "Festival 2027 custom", "amount": "100.00"}, headers=h).json()
    by_agency = {s["agency_id"]: Decimal(s["share"]) for s in second["shares"]}
    assert by_agency[str(ids["HPD"])] == Decimal("50.00") and by_agency[str(ids["MCEMA"])] == Decimal("0.00")
    assert sum(by_agency.values()) == Decimal("100.00")
    # the first call kept its equal shares
    fund = client.get(url, headers=h).json()
    assert [c["basis"] for c in fund["calls"]] == ["equal", "custom"]
    paid = client.post(
        url + "/contributions",
        json={"agency_id": str(ids["HPD"]), "amount": "250.00", "received_on": today, "reference": "HPD-1"},
        headers=h,
    )
    assert paid.status_code == 201, paid.text
    client.post(
        url + "/contributions",
        json={"agency_id": str(ids["LHFD"]), "amount": "10.00", "received_on": today, "call_id": second["id"]},
        headers=h,
    )
    fund = client.get(url, headers=h).json()
    assert Decimal(fund["balance"]) == Decimal("260.00")
    hpd = next(m for m in fund["members"] if m["agency_id"] == str(ids["HPD"]))
    first_hpd = next(s for s in fund["calls"][0]["shares"] if s["agency_id"] == str(ids["HPD"]))
    assert Decimal(first_hpd["share"]) in (Decimal("200.00"), Decimal("200.01"))
    assert Decimal(hpd["called"]) == Decimal(first_hpd["share"]) + 50
    assert Decimal(hpd["owes"]) == Decimal(hpd["called"]) - 250
    assert Decimal(first_hpd["paid"]) == Decimal(first_hpd["share"])  # oldest call first
    too_much = client.post(
        url + "/spending", json={"amount": "260.01", "spent_on": today, "purpose": "radios"}, headers=h
    )
    error = assert_error(too_much, 409, "conflict")
    assert "260.00" in error["message"] and _fields(too_much) == ["amount"]
    spent = client.post(url + "/spending", json={"amount": "260.00", "spent_on": today, "purpose": "Radios"}, headers=h)
    assert spent.status_code == 201, spent.text
    fund = client.get(url, headers=h).json()
    assert Decimal(fund["balance"]) == Decimal("0.00") and fund["history"][0]["balance"] == "0.00"
    actions = set(db.scalars(select(AuditEvent.action).where(AuditEvent.object_id == str(people["p"][FESTIVAL]))))
    assert {
        "mutualaid.fund.formula.set",
        "mutualaid.fund.call.issue",
        "mutualaid.fund.contribution.record",
        "mutualaid.fund.spending.record",
    } <= actions


def test_every_bad_input_is_refused_with_its_field(client, people):
    h, ids = people["h"]["hvhd"], people["ids"]
    url = _url(people, OUTBREAK)
    today = utcnow().date()
    members = ["HVHD", "CCEMA", "MCEMA", "TCEMA", "HVWA"]
    full = [{"agency_id": str(ids[s]), "figure": 1000 + i} for i, s in enumerate(members)]
    good = {"agency_id": str(ids["HVHD"]), "amount": "5.00", "received_on": today.isoformat()}
    assert_error(client.post(url + "/contributions", json=good, headers=h), 409, "conflict")  # no fund yet
    formula_cases = [
        ({"basis": "population", "figures": full[:-1]}, "figures", 422),
        (
            {"basis": "population", "figures": [*full, {"agency_id": str(ids["HPD"]), "figure": 5}]},
            "figures[5].agency_id",
            422,
        ),
        ({"basis": "population", "figures": [*full, full[0]]}, "figures[5].agency_id", 422),
        ({"basis": "population", "figures": [full[0] | {"figure": "10.5"}, *full[1:]]}, "figures[0].figure", 422),
        ({"basis": "population", "figures": [full[0] | {"figure": 0}, *full[1:]]}, "figures[0].figure", 422),
        ({"basis": "custom", "figures": [f | {"figure": 0} for f in full]}, "figures", 422),
        ({"basis": "custom", "figures": [full[0] | {"figure": -1}, *full[1:]]}, "figures.0.figure", 422),
        ({"basis": "equal", "figures": full}, "figures", 422),
        ({"basis": "weight"}, "basis", 422),
        ({"basis": "equal", "colour": "red"}, "colour", 422),
    ]
    for body, field, status in formula_cases:
        refused = client.put(url + "/formula", json=body, headers=h)
        assert refused.status_code == status, (body, refused.text)
        assert any(field in f for f in _fields(refused)), (body, refused.json())
    assert client.put(url + "/formula", json={"basis": "population", "figures": full}, headers=h).status_code == 200
    for body, field in [
        ({"period": "FY", "amount": "0"}, "amount"),
        ({"period": "FY", "amount": "-5"}, "amount"),
        ({"period": "FY", "amount": "1.005"}, "amount"),
        ({"period": "FY", "amount": "1e12"}, "amount"),
        ({"period": "FY", "amount": "NaN"}, "amount"),
        ({"period": "", "amount": "5"}, "period"),
        ({"period": "FY", "amount": "5", "due_on": "1999-01-01"}, "due_on"),
    ]:
        refused = client.post(url + "/calls", json=body, headers=h)
        assert refused.status_code == 422 and any(field in f for f in _fields(refused)), (body, refused.text)
    call = client.post(url + "/calls", json={"period": "Outbreak reserve", "amount": "900"}, headers=h).json()
    again = client.post(url + "/calls", json={"period": "Outbreak reserve", "amount": "900"}, headers=h)
    assert assert_error(again, 409, "conflict") and _fields(again) == ["period"]
    other_call = client.get(_url(people, COMPACT), headers=people["h"]["mcema"]).json()["calls"][0]["id"]
    for body, field, status in [
        (good | {"amount": "0"}, "amount", 422),
        (good | {"amount": "-1"}, "amount", 422),
        (good | {"agency_id": str(ids["HPD"])}, "agency_id", 422),
        (good | {"agency_id": "not-a-uuid"}, "agency_id", 422),
        (good | {"received_on": (today + timedelta(days=1)).isoformat()}, "received_on", 422),
        (good | {"received_on": "2020-01-01"}, "received_on", 422),
        (good | {"call_id": other_call}, "call_id", 422),
    ]:
        refused = client.post(url + "/contributions", json=body, headers=h)
        assert refused.status_code == status and any(field in f for f in _fields(refused)), (body, refused.text)
    ok = client.post(url + "/contributions", json=good | {"reference": "R-1", "call_id": call["id"]}, headers=h)
    assert ok.status_code == 201, ok.text
    twice = client.post(url + "/contributions", json=good | {"reference": "R-1"}, headers=h)
    assert assert_error(twice, 409, "conflict") and _fields(twice) == ["reference"]
    spend = {"amount": "1.00", "spent_on": today.isoformat(), "purpose": "Test kits"}
    missing = "00000000-0000-0000-0000-000000000001"
    for body, field, status in [
        (spend | {"amount": "0"}, "amount", 422),
        (spend | {"amount": "-3"}, "amount", 422),
        (spend | {"amount": "5.01"}, "amount", 409),
        (spend | {"purpose": ""}, "purpose", 422),
        (spend | {"spent_on": (today + timedelta(days=3)).isoformat()}, "spent_on", 422),
        (spend | {"request_id": missing}, "request_id", 422),
        (spend | {"incident_id": missing}, "incident_id", 422),
    ]:
        refused = client.post(url + "/spending", json=body, headers=h)
        assert refused.status_code == status and any(field in f for f in _fields(refused)), (body, refused.text)
    assert client.get(url, headers=h).json()["balance"] == "5.00"


# -- metrics --------------------------------------------------------------------------------
def test_cost_figures_sum_recovered_outstanding_and_owed():
    from accord.mutualaid.metrics.figures import ClaimRow, cost_figures, percentile

    a, b, c = (uuid.uuid4() for _ in range(3))
    rows = [
        ClaimRow(paying_agency_id=b, providing_agency_id=a, approved_amount=Decimal("100"), paid_amount=Decimal("60")),
        ClaimRow(paying_agency_id=a, providing_agency_id=c, approved_amount=Decimal("50"), paid_amount=Decimal("0")),
        ClaimRow(paying_agency_id=c, providing_agency_id=b, approved_amount=Decimal("70"), paid_amount=Decimal("70")),
    ]
    assert cost_figures(rows, {a}) == (Decimal("60"), Decimal("40"), Decimal("50"))
    assert cost_figures(rows, {a, b}) == (Decimal("130"), Decimal("40"), Decimal("50"))
    assert cost_figures([], {a}) == (Decimal("0"), Decimal("0"), Decimal("0"))
    assert percentile([], 50) is None and percentile([5.0], 90) == 5.0
    assert percentile([2.0, 4.0, 10.0], 50) == 4.0 and percentile([2.0, 4.0, 10.0], 90) == pytest.approx(8.8)


@pytest.fixture(scope="module")
def aid_history(session_factory: Any) -> dict[str, Any]:
    """Requests of LHFD in February and March 2026 (two filled in 2 and 10 hours, one in 4,
    one cancelled, one still open, one never opened) and two offers of MCEMS, one committed.
    The requests slice writes these through its service; here they are plain rows."""
    from accord.mutualaid.models import MutualAidBinding, Resource, ResourceOffer, ResourceRequest
    from accord.operations.models import Incident

    with session_factory() as db:
        ids = {a.short_name: a.id for a in db.scalars(select(Agency))}
        incident = db.scalars(select(Incident.id)).first()
        binding = db.scalars(select(MutualAidBinding).where(MutualAidBinding.agency_id == ids["MCEMS"])).first()
        resource = db.scalars(select(Resource.id).where(Resource.owner_agency_id == ids["MCEMS"])).first()
        assert incident and binding and resource
        point = {"type": "Point", "coordinates": [-76.7, 40.86]}
        day = datetime(2026, 2, 1, 8, tzinfo=UTC)
        made = []
        for n, (opened, filled, status) in enumerate(
            [
                (0, 2, "filled"),
                (9, 10, "closed"),
                (28, 4, "filled"),
                (32, None, "cancelled"),
                (33, None, "open"),
                (None, None, "pending"),
            ]
        ):
            opened_at = None if opened is None else day + timedelta(days=opened)
            request = ResourceRequest(
                number=f"213-T-{uuid.uuid4().hex[:8]}",
                incident_id=incident,
                requesting_agency_id=ids["LHFD"],
                requester_name="Test",
                quantity=1,
                deliver_to="Station 41",
                location=point,
                lon=-76.7,
                lat=40.86,
                needed_at=day,
                priority="high",
                status=status,
                activation=[],
                opened_at=opened_at,
                filled_at=None if filled is None or opened_at is None else opened_at + timedelta(hours=filled),
            )
            db.add(request)
            made.append(request)
        db.flush()
        for committed in (True, False):
            db.add(
                ResourceOffer(
                    request_id=made[0].id,
                    resource_id=resource,
                    providing_agency_id=ids["MCEMS"],
                    clause_id=binding.clause_id,
                    agreement_version_id=binding.agreement_version_id,
                    quantity=1,
                    status="committed" if committed else "offered",
                    eta_at=day,
                    rank={},
                    offered_at=day + timedelta(minutes=30),
                    committed_at=day + timedelta(hours=2) if committed else None,
                )
            )
        db.commit()
        return {"requests": [r.id for r in made]}


PERIOD = {"since": "2026-02-01", "until": "2026-03-31"}


def test_an_agency_sees_its_own_figures(client, people, aid_history):
    ids = people["ids"]
    url = "/api/v1/mutual-aid/metrics"
    got = client.get(url, params={"agency_id": str(ids["LHFD"])} | PERIOD, headers=people["h"]["lhfd"])
    assert got.status_code == 200, got.text
    body = got.json()
    assert (body["requests_opened"], body["requests_cancelled"], body["requests_filled"]) == (5, 1, 3)
    assert body["percent_filled"] == 75.0
    assert (body["fill_hours_median"], body["fill_hours_p90"]) == (4.0, 8.8)
    assert (body["offers_made"], body["offers_committed"]) == (0, 0)
    assert body["cost"] == {"recovered": "0.00", "outstanding": "0.00", "owed": "0.00"} or body["cost"]["recovered"]
    assert body["cost_note"] == "Claims approved in the period."
    assert [m["month"] for m in body["by_month"]] == ["2026-02", "2026-03"]
    assert [(m["opened"], m["filled"]) for m in body["by_month"]] == [(2, 2), (3, 1)]
    for other in ("mcema", "hvhd"):  # not members of LHFD
        refused = client.get(url, params={"agency_id": str(ids["LHFD"])}, headers=people["h"][other])
        assert_error(refused, 404, "not_found")


def test_a_partnership_sees_its_members_totals(client, people, aid_history):
    url = "/api/v1/mutual-aid/metrics"
    festival = {"partnership_id": str(people["p"][FESTIVAL])} | PERIOD
    body = client.get(url, params=festival, headers=people["h"]["mcema"]).json()
    assert body["subject"] == "partnership" and len(body["agencies"]) == 5
    assert (body["requests_opened"], body["offers_made"], body["offers_committed"]) == (5, 2, 1)
    assert client.get(url, params=festival, headers=people["h"]["lhfd"]).status_code == 200
    assert_error(client.get(url, params=festival, headers=people["h"]["hvhd"]), 404, "not_found")
    outbreak = {"partnership_id": str(people["p"][OUTBREAK])} | PERIOD  # the demo's requests are later
    empty = client.get(url, params=outbreak, headers=people["h"]["hvhd"]).json()
    assert empty["requests_opened"] == 0 and empty["percent_filled"] is None and empty["fill_hours_median"] is None
    default = client.get(
        url, params={"partnership_id": str(people["p"][FESTIVAL])}, headers=people["h"]["mcema"]
    ).json()
    assert date.fromisoformat(default["until"]) - date.fromisoformat(default["since"]) == timedelta(days=365)
    h = people["h"]["mcema"]
    for params, field in [
        ({}, "partnership_id"),
        ({"partnership_id": festival["partnership_id"], "agency_id": str(people["ids"]["MCEMA"])}, "partnership_id"),
        ({"partnership_id": festival["partnership_id"], "since": "2026-05-01", "until": "2026-04-01"}, "since"),
        ({"partnership_id": festival["partnership_id"], "since": "1990-01-01", "until": "2026-04-01"}, "since"),
        ({"partnership_id": "nope"}, "partnership_id"),
        ({"partnership_id": festival["partnership_id"], "since": "yesterday"}, "since"),
    ]:
        refused = client.get(url, params=params, headers=h)
        assert refused.status_code == 422 and any(field in f for f in _fields(refused)), (params, refused.text)


def test_costs_come_from_the_claim_source_when_wired(session_factory, people, aid_history):
    from accord.authz.actor import Actor, MembershipGrant
    from accord.authz.roles import BUILTIN_ROLES
    from accord.mutualaid.metrics import queries
    from accord.mutualaid.metrics.figures import ClaimRow

    ids = people["ids"]
    viewer = next(r.permissions for r in BUILTIN_ROLES if r.name == "viewer")
    actor = Actor(
        user_id=None, username="t", memberships=(MembershipGrant(ids["LHFD"], "viewer", viewer),), auth_method="system"
    )
    asked = []

    def claims(db, agencies, since, until):
        asked.append((agencies, since, until))
        return [ClaimRow(ids["MCEMA"], ids["LHFD"], Decimal("900.00"), Decimal("400.00"))]

    with session_factory() as db:
        got = queries.metrics(
            db, actor, agency_id=ids["LHFD"], since=date(2026, 2, 1), until=date(2026, 2, 28), claims=claims
        )
    assert got.cost is not None and (got.cost.recovered, got.cost.outstanding) == (Decimal("400.00"), Decimal("500.00"))
    assert asked == [(frozenset({ids["LHFD"]}), datetime(2026, 2, 1, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC))]


# -- pages ----------------------------------------------------------------------------------
def test_the_fund_and_metrics_pages(client, people, aid_history):
    from tests.conftest import browser_login, csrf_from

    browser_login(client, people["names"]["mcema"])
    url = f"/partnerships/{people['p'][COMPACT]}/fund"
    page = client.get(url)
    assert page.status_code == 200 and "FY2027 operating" in page.text and "120,000.00" in page.text
    assert "Record spending" in page.text and "Swift-water technician refresher" in page.text
    token = csrf_from(page.text)
    balance = Decimal(
        client.get(f"/api/v1/partnerships/{people['p'][COMPACT]}/fund", headers=people["h"]["mcema"]).json()["balance"]
    )
    today = utcnow().date().isoformat()
    refused = client.post(
        url + "/spending",
        data={"csrf_token": token, "amount": str(balance + 1), "spent_on": today, "purpose": "Too much"},
    )
    assert refused.status_code == 409 and f"{balance:,.2f}" in refused.text and 'aria-invalid="true"' in refused.text
    bad = client.post(url + "/calls", data={"csrf_token": token, "period": "X2", "amount": "-4"})
    assert bad.status_code == 422 and "greater than 0" in bad.text
    assert client.post(url + "/calls", data={"period": "X3", "amount": "4"}).status_code == 403  # no CSRF token
    ok = client.post(
        url + "/contributions",
        data={"csrf_token": token, "agency_id": str(people["ids"]["KPD"]), "amount": "1,000.00", "received_on": today},
        follow_redirects=False,
    )
    assert ok.status_code == 303, ok.text
    assert "Contribution of 1,000.00 recorded." in client.get(url).text
    metrics = client.get("/mutual-aid/metrics", params={"of": f"partnership:{people['p'][FESTIVAL]}"} | PERIOD)
    assert metrics.status_code == 200 and "75.0 %" in metrics.text and "aid-chart-data" in metrics.text
    assert client.get("/mutual-aid/metrics", params={"of": "agency:zzz"}).status_code == 422
    hidden = client.get("/mutual-aid/metrics", params={"of": f"agency:{people['ids']['HVHD']}"})
    assert hidden.status_code == 404
    client.cookies.clear()
    browser_login(client, people["names"]["hvhd"])
    assert client.get(url).status_code == 404
