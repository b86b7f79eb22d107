"""Who sees partnerships and agreements: current members of a partnership see it and its
governance; the parties to any version of an agreement see that agreement."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, select, true

from accord.agreements.models import (
    Agreement,
    AgreementVersion,
    Dispute,
    GovernanceBody,
    Partnership,
    PartnershipMember,
    VersionParty,
)
from accord.authz import ALL_AGENCIES, Actor, register_policy


def _agencies(actor: Actor, action: str) -> frozenset[object] | None:
    agencies = actor.agencies_with(action)
    if agencies is ALL_AGENCIES:
        return None
    assert isinstance(agencies, frozenset)
    return agencies


def _member_of(actor: Actor, action: str, partnership_column: Any) -> ColumnElement[bool]:
    """``partnership_column`` names a partnership the caller's agency currently belongs to."""
    agencies = _agencies(actor, action)
    if agencies is None:
        return true()
    members = select(PartnershipMember.partnership_id).where(
        PartnershipMember.agency_id.in_(agencies), PartnershipMember.left_at.is_(None)
    )
    return partnership_column.in_(members)  # type: ignore[no-any-return]


@register_policy(Partnership)
def partnership_policy(actor: Actor, action: str) -> ColumnElement[bool]:
    return _member_of(actor, action, Partnership.id)


@register_policy(GovernanceBody)
def body_policy(actor: Actor, action: str) -> ColumnElement[bool]:
    return _member_of(actor, action, GovernanceBody.partnership_id)


@register_policy(Dispute)
def dispute_policy(actor: Actor, action: str) -> ColumnElement[bool]:
    return _member_of(actor, action, Dispute.partnership_id)


@register_policy(Agreement)
def agreement_policy(actor: Actor, action: str) -> ColumnElement[bool]:
    agencies = _agencies(actor, action)
    if agencies is None:
        return true()
    party_of = (
        select(AgreementVersion.agreement_id)
        .join(VersionParty, VersionParty.version_id == AgreementVersion.id)
        .where(VersionParty.agency_id.in_(agencies))
    )
    return Agreement.id.in_(party_of)
