"""Mutual aid: typed resources, requests driven by mutual-aid clauses, ranked offers,
deployments and cost recovery (docs/adr/0021)."""

from accord.mutualaid import clauses as _clauses  # noqa: F401  (registers the clause's compiler)
