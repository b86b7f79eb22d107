"""Activation thresholds of mutual-aid clauses: does a request meet what the signed clause
asks before it obliges the partners to answer? Pure: the caller gathers the facts.

A clause's ``thresholds`` (``agreements.schemas.ActivationThresholds``) may ask for a
minimum incident severity, certain incident types, a declared emergency and the requester's
own resources of the type being exhausted; ``require`` says whether every condition set must
hold (``all``, the default) or one is enough (``any``). A clause that sets none is met by
any request of a party. Every condition that fails says why, in words a logistics chief
can act on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

SEVERITY_ORDER = ("minor", "moderate", "severe", "extreme")


@dataclass(frozen=True)
class RequestFacts:
    """What the thresholds are checked against, at the moment of the request."""

    incident_type: str
    incident_severity: str
    emergency_declared: bool
    own_available: int  # the requester's own units of the type it could still send
    type_name: str


@dataclass(frozen=True)
class Activation:
    met: bool
    reasons: tuple[str, ...]  # why it failed (empty when met)
    conditions: tuple[str, ...]  # what the clause asks, in words


def _severity_rank(value: str) -> int:
    return SEVERITY_ORDER.index(value) if value in SEVERITY_ORDER else -1


def check(thresholds: Mapping[str, Any] | None, facts: RequestFacts) -> Activation:
    """Check ``facts`` against one clause's thresholds."""
    thresholds = thresholds or {}
    checks: list[tuple[str, str | None]] = []  # (condition, failure or None)
    minimum = thresholds.get("min_severity")
    if minimum:
        ok = _severity_rank(facts.incident_severity) >= _severity_rank(minimum)
        checks.append(
            (
                f"severity {minimum} or worse",
                None
                if ok
                else f"the incident's severity is {facts.incident_severity}; the clause needs {minimum} or worse",
            )
        )
    types = list(thresholds.get("incident_types") or [])
    if types:
        words = ", ".join(t.replace("_", " ") for t in types)
        ok = facts.incident_type in types
        checks.append(
            (
                f"an incident of type {words}",
                None
                if ok
                else f"the incident is a {facts.incident_type.replace('_', ' ')}; the clause covers {words} only",
            )
        )
    if thresholds.get("declared_emergency"):
        checks.append(
            (
                "a declared emergency",
                None if facts.emergency_declared else "no emergency is declared for the incident",
            )
        )
    if thresholds.get("own_resources_exhausted"):
        checks.append(
            (
                "the requester's own resources of the type committed",
                None
                if facts.own_available <= 0
                else f"your agency still has {facts.own_available} {facts.type_name} available at home; "
                "the clause applies once your own are committed",
            )
        )
    conditions = tuple(condition for condition, _ in checks)
    failures = tuple(failure for _, failure in checks if failure is not None)
    if not checks:
        return Activation(True, (), ())
    if thresholds.get("require") == "any":
        met = len(failures) < len(checks)
        return Activation(met, () if met else failures, conditions)
    return Activation(not failures, failures, conditions)
