"""Who sees partnerships and agreements: current members of a partnership see it and its
governance; the parties to any version of an agreement see that agreement."""

from __future__ import annotations

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


def member_partnerships(actor: Actor, action: str) -> ColumnElement[bool]:
    agencies = _agencies(actor, action)
    if agencies is None:
        return true()
    members = select(PartnershipMember.partnership_id).where(
        PartnershipMember.agency_id.in_(agencies), PartnershipMember.left_at.is_(None)
    )
    return Partnership.id.in_(members)


@register_policy(Partnership)
def partnership_policy(actor: Actor, action: str) -> ColumnElement[bool]:
    return member_partnerships(actor, action)


@register_policy(GovernanceBody)
def body_policy(actor: Actor, action: str) -> ColumnElement[bool]:
    agencies = _agencies(actor, action)
    if agencies is None:
        return true()
    members = select(PartnershipMember.partnership_id).where(
        PartnershipMember.agency_id.in_(agencies), PartnershipMember.left_at.is_(None)
    )
    return GovernanceBody.partnership_id.in_(members)


@register_policy(Dispute)
def dispute_policy(actor: Actor, action: str) -> ColumnElement[bool]:
    agencies = _agencies(actor, action)
    if agencies is None:
        return true()
    members = select(PartnershipMember.partnership_id).where(
        PartnershipMember.agency_id.in_(agencies), PartnershipMember.left_at.is_(None)
    )
    return Dispute.partnership_id.in_(members)


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
