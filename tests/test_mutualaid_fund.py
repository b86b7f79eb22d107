"""The collaboration fund of a partnership (issue 6, part 3b): the formula, calls shared
by largest remainder on cents, contributions, spending never beyond the balance, who sees
and who keeps a fund, and every refusal with its field — on both databases."""

from __future__ import annotations

from datetime import timedelta
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
