"""The fund's arithmetic, pure and exact: sharing a call among members in proportion to
their figures (largest remainder on cents, so the shares add up to the call exactly), and
which call each contribution pays."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeVar

CENT = Decimal("0.01")
K = TypeVar("K", bound=Hashable)


def _as_integers(figures: Sequence[Decimal]) -> list[int]:
    """The figures as integers of the same proportions (scaled by a power of ten)."""
    places = max((-int(f.as_tuple().exponent) for f in figures if f.is_finite()), default=0)
    scale = Decimal(10) ** max(places, 0)
    return [int(f * scale) for f in figures]


def split(amount: Decimal, figures: Sequence[tuple[K, Decimal]]) -> list[tuple[K, Decimal]]:
    """Share ``amount`` (whole cents, > 0) among the keys in proportion to their figures
    (>= 0, at least one > 0). Each key first gets the cents its exact share rounds down
    to; the cents left over go one each to the largest remainders, ties to the key listed
    first. The shares add up to ``amount`` exactly, and no share is a cent or more away
    from its exact proportion."""
    if amount <= 0 or amount != amount.quantize(CENT):
        raise ValueError("amount must be a positive number of whole cents")
    if any(f < 0 for _, f in figures) or not any(f > 0 for _, f in figures):
        raise ValueError("figures must be >= 0 and not all zero")
    cents = int(amount / CENT)
    weights = _as_integers([f for _, f in figures])
    total = sum(weights)
    floors = [cents * w // total for w in weights]
    remainders = [cents * w % total for w in weights]
    left = cents - sum(floors)
    order = sorted(range(len(weights)), key=lambda i: (-remainders[i], i))
    for i in order[:left]:
        floors[i] += 1
    return [(key, Decimal(c) * CENT) for (key, _), c in zip(figures, floors, strict=True)]


@dataclass(frozen=True)
class Paid:
    """What one member paid towards one call, and what is still due on it."""

    share: Decimal
    paid: Decimal

    @property
    def due(self) -> Decimal:
        return max(self.share - self.paid, Decimal("0"))


def paid_per_call(shares: Sequence[tuple[K, Decimal]], towards: dict[K, Decimal], unassigned: Decimal) -> dict[K, Paid]:
    """One member's payments per call: those naming a call (``towards``) count for it;
    the rest (``unassigned``) pays the member's calls oldest first (``shares`` in the order
    the calls were issued). Money beyond every share is a credit, not shown per call."""
    pool = unassigned
    found: dict[K, Paid] = {}
    for call, share in shares:
        named = towards.get(call, Decimal("0"))
        take = min(max(share - named, Decimal("0")), pool)
        pool -= take
        found[call] = Paid(share=share, paid=named + take)
    return found
