"""Why one caller sees one record, and which of its fields are masked for them.

The SQL predicate (policy.py) decides *whether*; this module, given the grants and
partners the caller's agencies hold (two queries per request, not per row), says *how*:
the basis of access (owner, named, grant, partnership, public) and the masked fields.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from accord.agreements.models import Grant
from accord.agreements.vocab import LABELS
from accord.core.time import utcnow
from accord.sharing.categories import labelled_fields
from accord.sharing.policy import GREEN, RED


class Shared(Protocol):
    """What the rules look at: a record, or one of its past versions."""

    owner_agency_id: uuid.UUID
    category: str
    purpose: str
    tier_rank: int
    body: dict[str, Any]

    @property
    def shared_at(self) -> datetime: ...


@dataclass(frozen=True)
class Viewer:
    """What the caller's agencies hold right now."""

    user_id: uuid.UUID | None
    roles: dict[uuid.UUID, set[str]]
    grants: list[Grant]
    partners: set[uuid.UUID]
    at: datetime = field(default_factory=utcnow)  # the time the rules are applied at
    by_key: dict[tuple[uuid.UUID, str, str], list[Grant]] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        for g in self.grants:  # indexed once, so each row looks up its few candidate grants
            self.by_key.setdefault((g.provider_agency_id, g.category, g.purpose), []).append(g)


@dataclass(frozen=True)
class Access:
    basis: str  # owner | named | grant | partnership | public
    grants: tuple[Grant, ...] = ()
    masked: dict[str, str] = field(default_factory=dict)
    labels: frozenset[str] = frozenset(LABELS)  # the sensitive labels this caller may see

    def shows(self, label: str | None) -> bool:
        """Whether content carrying ``label`` (an attachment, say) is shown unmasked."""
        return label is None or label in self.labels

    @property
    def clause_id(self) -> uuid.UUID | None:
        return self.grants[0].clause_id if self.grants else None


def covering_grants(viewer: Viewer, record: Shared) -> list[Grant]:
    return [
        g
        for g in viewer.by_key.get((record.owner_agency_id, record.category, record.purpose), ())
        if g.max_tier >= record.tier_rank
        and not g.aggregates_only
        and g.recipient_agency_id in viewer.roles
        and (g.recipient_role is None or g.recipient_role in viewer.roles[g.recipient_agency_id])
        and (g.retention_days is None or record.shared_at >= viewer.at - timedelta(days=g.retention_days))
    ]


def granted_labels(grants: list[Grant]) -> set[str]:
    labels: set[str] = set()
    for g in grants:
        labels |= {label for label, on in (("PII", g.grants_pii), ("PHI", g.grants_phi), ("CJI", g.grants_cji)) if on}
    return labels


def access_to(viewer: Viewer, record: Shared) -> Access:
    """Basis and masks for a record the predicate already let through."""
    if record.owner_agency_id in viewer.roles:
        return Access("owner")
    if record.tier_rank == RED:
        return Access("named")
    grants = covering_grants(viewer, record)
    labels = granted_labels(grants)
    # Every ungranted labelled field is masked, filled or not, so masks reveal nothing.
    masked = {name: label for name, label in labelled_fields(record.category).items() if label not in labels}
    if grants:
        return Access("grant", tuple(grants), masked, frozenset(labels))
    if record.tier_rank == GREEN and record.owner_agency_id in viewer.partners:
        return Access("partnership", (), masked, frozenset())
    return Access("public", (), masked, frozenset())


def masked_body(record: Shared, access: Access) -> dict[str, object]:
    shown: dict[str, object] = {k: v for k, v in record.body.items() if k not in access.masked}
    shown.update(dict.fromkeys(access.masked))
    return shown
