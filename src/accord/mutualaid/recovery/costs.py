"""The cost of a deployment, computed from its time sheet, the resource's rates and the
reimbursement terms of the clause it was committed under. Pure: no database, no clock.

Rules, in the order they apply (each line says which ones touched it):

1. Labour: hours x the entry's rate (the resource's hourly rate when none was entered),
   the rate capped at ``labor_rate_cap``.
2. Equipment: hours x the resource's hourly rate, capped at ``equipment_rate_cap``; per
   calendar day at most the resource's ``daily_rate`` (when it is above zero), applied
   after the waiver, in entry order within the day.
3. Mileage: km x the clause's ``mileage_rate``, or the resource's rate per km.
4. Consumables: quantity x unit cost.
5. The first ``waived_hours`` hours of the deployment are free: labour and equipment hours
   together, in date order (then in the order they were recorded).
6. Every line is rounded half-up to cents; the subtotal is capped at ``cap_per_deployment``.
7. Who pays: ``requester`` the whole total, ``provider`` nothing (claimable 0, the provider
   bears the cost), ``shared`` ``requester_share_percent`` of the total (rounded half-up).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from accord.agreements.schemas import ReimbursementTerms

CENT = Decimal("0.01")
ZERO = Decimal("0")
HOURLY_KINDS = ("labor", "equipment")


def money(value: Decimal) -> Decimal:
    """Rounded half-up to cents."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _fmt(value: Decimal) -> str:
    return f"{money(value):.2f}"


def _hours(value: Decimal) -> str:
    text = f"{value.normalize():f}"
    return text


@dataclass(frozen=True)
class Rates:
    """The resource's own rates (``Resource.hourly_rate``, ``daily_rate``, ``mileage_rate``)."""

    hourly: Decimal = ZERO
    daily: Decimal = ZERO
    mileage: Decimal = ZERO


@dataclass(frozen=True)
class Entry:
    """One live (not voided) time-sheet entry; ``sequence`` is the order it was recorded."""

    id: uuid.UUID
    kind: str  # labor | equipment | mileage | consumable
    work_date: date
    sequence: int
    label: str = ""
    hours: Decimal | None = None
    km: Decimal | None = None
    quantity: Decimal | None = None
    unit_cost: Decimal | None = None
    rate: Decimal | None = None  # labour: the rate entered, if any


@dataclass
class Line:
    entry_id: uuid.UUID
    kind: str
    work_date: date
    label: str
    quantity: Decimal  # hours, km or units as entered
    unit: str  # h | km | each
    rate: Decimal  # the rate applied, after caps
    waived_hours: Decimal
    gross: Decimal  # quantity x rate, before waiver and the daily limit
    amount: Decimal  # what the line costs, in cents
    rules: list[str] = field(default_factory=list)


@dataclass
class Costs:
    lines: list[Line]
    gross: Decimal  # before waiver, daily limits and the cap
    subtotal: Decimal  # sum of the lines
    total: Decimal  # the subtotal, capped per deployment
    payer: str
    claimable: Decimal  # what the requesting agency owes
    borne_by_provider: Decimal
    waived_hours: Decimal
    rules: list[str] = field(default_factory=list)  # rules applied to the whole deployment


def _rate_of(entry: Entry, rates: Rates, terms: ReimbursementTerms) -> tuple[Decimal, list[str]]:
    """The rate a line is charged at and the words saying where it came from."""
    if entry.kind == "labor":
        base, source = (entry.rate, "entered rate") if entry.rate is not None else (rates.hourly, "resource's rate")
        cap, what = terms.labor_rate_cap, "labour"
    elif entry.kind == "equipment":
        base, source, cap, what = rates.hourly, "resource's rate", terms.equipment_rate_cap, "equipment"
    elif entry.kind == "mileage":
        if terms.mileage_rate is not None:
            return terms.mileage_rate, [f"{_fmt(terms.mileage_rate)}/km by the clause"]
        return rates.mileage, [f"{_fmt(rates.mileage)}/km, the resource's rate"]
    else:
        return entry.unit_cost or ZERO, []
    if cap is not None and base > cap:
        return cap, [f"{what} rate {_fmt(base)}/h capped at {_fmt(cap)}/h by the clause"]
    return base, [f"{_fmt(base)}/h, the {source}"]


def _ordered(entries: Iterable[Entry]) -> list[Entry]:
    return sorted(entries, key=lambda e: (e.work_date, e.sequence, str(e.id)))


def compute(rates: Rates, terms: ReimbursementTerms, entries: Iterable[Entry]) -> Costs:
    """The deployment's lines and totals (see the module's rules)."""
    waiver_left = Decimal(terms.waived_hours)
    day_used: dict[date, Decimal] = {}
    lines: list[Line] = []
    for entry in _ordered(entries):
        rate, rules = _rate_of(entry, rates, terms)
        if entry.kind in HOURLY_KINDS:
            quantity, unit = entry.hours or ZERO, "h"
        elif entry.kind == "mileage":
            quantity, unit = entry.km or ZERO, "km"
        else:
            quantity, unit = entry.quantity or ZERO, "each"
        gross = quantity * rate
        waived = ZERO
        if entry.kind in HOURLY_KINDS and waiver_left > 0:
            waived = min(quantity, waiver_left)
            waiver_left -= waived
            rules.append(f"{_hours(waived)} h waived (the first {terms.waived_hours} h of the deployment are free)")
        amount = (quantity - waived) * rate
        if entry.kind == "equipment" and rates.daily > 0:
            used = day_used.get(entry.work_date, ZERO)
            allowed = max(rates.daily - used, ZERO)
            if amount > allowed:
                rules.append(f"limited to the daily rate {_fmt(rates.daily)} for {entry.work_date.isoformat()}")
                amount = allowed
            day_used[entry.work_date] = used + amount
        lines.append(
            Line(
                entry_id=entry.id,
                kind=entry.kind,
                work_date=entry.work_date,
                label=entry.label,
                quantity=quantity,
                unit=unit,
                rate=rate,
                waived_hours=waived,
                gross=money(gross),
                amount=money(amount),
                rules=rules,
            )
        )
    subtotal = sum((line.amount for line in lines), ZERO)
    gross_total = sum((line.gross for line in lines), ZERO)
    deployment_rules: list[str] = []
    total = subtotal
    cap = terms.cap_per_deployment
    if cap is not None and subtotal > cap:
        total = money(cap)
        deployment_rules.append(f"capped at {_fmt(cap)} per deployment by the clause")
    claimable, borne = _split(terms, total, deployment_rules)
    return Costs(
        lines=lines,
        gross=gross_total,
        subtotal=subtotal,
        total=total,
        payer=terms.payer,
        claimable=claimable,
        borne_by_provider=borne,
        waived_hours=Decimal(terms.waived_hours) - waiver_left,
        rules=deployment_rules,
    )


def _split(terms: ReimbursementTerms, total: Decimal, rules: list[str]) -> tuple[Decimal, Decimal]:
    """(claimable from the requester, borne by the provider)."""
    if terms.payer == "provider":
        rules.append("the providing agency bears its costs under the clause: nothing to claim")
        return CENT * 0, total
    if terms.payer == "shared":
        share = money(total * Decimal(terms.requester_share_percent) / Decimal(100))
        rules.append(f"shared: the requesting agency pays {terms.requester_share_percent} %")
        return share, total - share
    return total, CENT * 0
