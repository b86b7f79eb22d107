"""The cost calculator of mutual-aid deployments (pure, no database): hand-computed
examples of every rule, and properties that hold for any time sheet."""

from __future__ import annotations

import random
import uuid
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from accord.agreements.schemas import ReimbursementTerms
from accord.mutualaid.recovery.costs import CENT, Entry, Rates, compute

D = Decimal
DAY = date(2026, 12, 1)
RATES = Rates(hourly=D("95.00"), daily=D("0"), mileage=D("2.10"))


def entry(kind: str, day: int = 0, seq: int = 0, **values: object) -> Entry:
    return Entry(id=uuid.uuid4(), kind=kind, work_date=DAY + timedelta(days=day), sequence=seq, **values)  # type: ignore[arg-type]


def test_labour_at_the_resource_rate_or_the_entered_rate_capped_by_the_clause():
    terms = ReimbursementTerms(labor_rate_cap=D("85.00"))
    costs = compute(
        RATES, terms, [entry("labor", hours=D("10"), seq=1), entry("labor", hours=D("2"), rate=D("60"), seq=2)]
    )
    first, second = costs.lines
    assert first.rate == D("85.00") and first.amount == D("850.00")
    assert "capped at 85.00/h by the clause" in first.rules[0]
    assert second.rate == D("60") and second.amount == D("120.00") and "entered rate" in second.rules[0]
    assert costs.total == costs.claimable == D("970.00") and costs.borne_by_provider == 0


def test_the_first_hours_are_waived_in_date_order_across_labour_and_equipment():
    terms = ReimbursementTerms(waived_hours=12)
    entries = [
        entry("equipment", day=1, seq=1, hours=D("8")),  # later date: waived last
        entry("labor", day=0, seq=2, hours=D("10")),  # first: fully waived
        entry("labor", day=0, seq=3, hours=D("5")),  # 2 h waived, 3 h billed
        entry("mileage", day=0, seq=4, km=D("100")),  # never waived
    ]
    costs = compute(RATES, terms, entries)
    by_seq = {line.entry_id: line for line in costs.lines}
    lines = [by_seq[e.id] for e in entries]
    assert [line.waived_hours for line in lines] == [D("0"), D("10"), D("2"), D("0")]
    assert lines[1].amount == D("0.00") and "10 h waived" in lines[1].rules[-1]
    assert lines[2].amount == D("285.00") and "2 h waived" in lines[2].rules[-1]
    assert lines[0].amount == D("760.00")
    assert lines[3].amount == D("210.00") and "2.10/km" in lines[3].rules[0]
    assert costs.waived_hours == D("12") and costs.total == D("1255.00")


def test_equipment_is_capped_per_hour_then_per_day_at_the_daily_rate():
    rates = Rates(hourly=D("200"), daily=D("1000"), mileage=D("1"))
    terms = ReimbursementTerms(equipment_rate_cap=D("150.00"), mileage_rate=D("0.65"))
    entries = [
        entry("equipment", day=0, seq=1, hours=D("6")),  # 6 x 150 = 900
        entry("equipment", day=0, seq=2, hours=D("2")),  # 300, but only 100 left of the day
        entry("equipment", day=1, seq=3, hours=D("4")),  # 600, another day
        entry("mileage", day=1, seq=4, km=D("33.3")),  # the clause's rate: 21.645 -> 21.65
    ]
    lines = compute(rates, terms, entries).lines
    assert [line.amount for line in lines] == [D("900.00"), D("100.00"), D("600.00"), D("21.65")]
    assert "capped at 150.00/h by the clause" in lines[0].rules[0]
    assert any("limited to the daily rate 1000.00 for 2026-12-01" in rule for rule in lines[1].rules)
    assert "0.65/km by the clause" in lines[3].rules[0]


def test_consumables_the_cap_per_deployment_and_who_pays():
    entries = [
        entry("consumable", seq=1, quantity=D("3"), unit_cost=D("19.995"), label="sandbags"),
        entry("labor", seq=2, hours=D("20")),
    ]
    requester = compute(RATES, ReimbursementTerms(cap_per_deployment=D("1000")), entries)
    assert requester.lines[0].amount == D("59.99")  # 59.985 rounds up
    assert requester.subtotal == D("1959.99") and requester.total == D("1000.00")
    assert requester.rules == ["capped at 1000.00 per deployment by the clause"]
    provider = compute(RATES, ReimbursementTerms(payer="provider"), entries)
    assert provider.claimable == 0 and provider.borne_by_provider == provider.total == D("1959.99")
    shared = compute(RATES, ReimbursementTerms(payer="shared", requester_share_percent=25), entries)
    assert shared.claimable == D("490.00") and shared.borne_by_provider == D("1469.99")  # 489.9975 rounds up
    assert "the requesting agency pays 25 %" in shared.rules[-1]


def test_cents_round_half_up():
    costs = compute(Rates(hourly=D("10.01")), ReimbursementTerms(), [entry("labor", hours=D("0.50"))])
    assert costs.lines[0].amount == D("5.01")  # 5.005


# -- properties --------------------------------------------------------------------------------
money = st.decimals(min_value=0, max_value=500, places=2)
hours = st.decimals(min_value=D("0.25"), max_value=24, places=2)


@st.composite
def sheets(draw: st.DrawFn) -> list[Entry]:
    found = []
    for seq in range(draw(st.integers(0, 12))):
        kind = draw(st.sampled_from(["labor", "equipment", "mileage", "consumable"]))
        day = draw(st.integers(0, 5))
        if kind in ("labor", "equipment"):
            rate = draw(st.none() | money) if kind == "labor" else None
            found.append(entry(kind, day=day, seq=seq, hours=draw(hours), rate=rate))
        elif kind == "mileage":
            found.append(entry(kind, day=day, seq=seq, km=draw(st.decimals(min_value=1, max_value=900, places=2))))
        else:
            found.append(entry(kind, day=day, seq=seq, quantity=D(draw(st.integers(1, 50))), unit_cost=draw(money)))
    return found


@st.composite
def all_terms(draw: st.DrawFn) -> ReimbursementTerms:
    payer = draw(st.sampled_from(["requester", "provider", "shared"]))
    return ReimbursementTerms(
        payer=payer,
        requester_share_percent=draw(st.integers(0, 100)) if payer == "shared" else 100,
        labor_rate_cap=draw(st.none() | money),
        equipment_rate_cap=draw(st.none() | money),
        mileage_rate=draw(st.none() | st.decimals(min_value=0, max_value=5, places=2)),
        waived_hours=draw(st.integers(0, 40)),
        cap_per_deployment=draw(st.none() | st.decimals(min_value=0, max_value=20000, places=2)),
    )


rates_st = st.builds(Rates, hourly=money, daily=st.sampled_from([D(0), D("400"), D("1200")]), mileage=money)


@settings(max_examples=200, deadline=None)
@given(rates_st, all_terms(), sheets())
def test_totals_are_cents_capped_split_and_never_negative(rates, terms, entries):
    costs = compute(rates, terms, entries)
    for line in costs.lines:
        assert line.amount == line.amount.quantize(CENT) and 0 <= line.amount <= line.gross
        assert line.rules or line.kind == "consumable"
    assert costs.subtotal == sum((line.amount for line in costs.lines), D(0))
    assert 0 <= costs.total <= costs.subtotal
    if terms.cap_per_deployment is not None:
        assert costs.total <= terms.cap_per_deployment
    assert costs.claimable + costs.borne_by_provider == costs.total
    assert 0 <= costs.claimable <= costs.total
    if terms.payer == "provider":
        assert costs.claimable == 0
    if terms.payer == "requester":
        assert costs.claimable == costs.total
    assert costs.waived_hours <= terms.waived_hours


@settings(max_examples=100, deadline=None)
@given(rates_st, all_terms(), sheets(), st.randoms())
def test_the_order_entries_are_given_in_does_not_matter(rates, terms, entries, rnd: random.Random):
    shuffled = list(entries)
    rnd.shuffle(shuffled)
    assert compute(rates, terms, entries).total == compute(rates, terms, shuffled).total


@settings(max_examples=100, deadline=None)
@given(rates_st, all_terms(), sheets(), st.integers(0, 30))
def test_waiving_more_hours_never_costs_more(rates, terms, entries, more):
    fewer = compute(rates, terms, entries).total
    waived = terms.model_copy(update={"waived_hours": terms.waived_hours + more})
    assert compute(rates, waived, entries).total <= fewer
