"""Reads of partnerships and agreements, through ``authz.scope``."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import date, datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    ColumnExpressionArgument,
    Date,
    Integer,
    Select,
    and_,
    bindparam,
    func,
    literal_column,
    or_,
    select,
    true,
    tuple_,
    union_all,
)
from sqlalchemy.orm import Session, aliased

from accord.agreements import policy as _policy  # noqa: F401  (registers the policies)
from accord.agreements.models import (
    Agreement,
    AgreementVersion,
    Clause,
    Decision,
    Dispute,
    GovernanceBody,
    Grant,
    Partnership,
    PartnershipMember,
)
from accord.agreements.schemas import AgreementFilter
from accord.agreements.vocab import CLAUSE_TIERS, TIER_RANK
from accord.authz import Actor, scope
from accord.core.db import UTCDateTime, contains, days_before
from accord.core.errors import NotFound

READ_PARTNERSHIP = "agreements:partnership:read"
READ_AGREEMENT = "agreements:agreement:read"


def list_partnerships(db: Session, actor: Actor) -> list[Partnership]:
    return list(db.scalars(scope(actor, READ_PARTNERSHIP, select(Partnership)).order_by(Partnership.name)))


def get_partnership(db: Session, actor: Actor, partnership_id: uuid.UUID) -> Partnership:
    row = db.scalar(scope(actor, READ_PARTNERSHIP, select(Partnership).where(Partnership.id == partnership_id)))
    if row is None:
        raise NotFound("partnership")
    return row


def bodies_of(db: Session, actor: Actor, partnership_id: uuid.UUID) -> list[GovernanceBody]:
    stmt = scope(actor, READ_PARTNERSHIP, select(GovernanceBody)).where(GovernanceBody.partnership_id == partnership_id)
    return list(db.scalars(stmt.order_by(GovernanceBody.name)))


def get_body(db: Session, actor: Actor, body_id: uuid.UUID) -> GovernanceBody:
    row = db.scalar(scope(actor, READ_PARTNERSHIP, select(GovernanceBody).where(GovernanceBody.id == body_id)))
    if row is None:
        raise NotFound("governance body")
    return row


def decisions_of(db: Session, body_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[Decision]]:
    """Decisions of bodies the caller already reached through ``get_body``/``bodies_of``."""
    found: dict[uuid.UUID, list[Decision]] = {b: [] for b in body_ids}
    stmt = select(Decision).where(Decision.body_id.in_(body_ids)).order_by(Decision.decided_on, Decision.recorded_at)
    for decision in db.scalars(stmt):
        found[decision.body_id].append(decision)
    return found


def disputes_of(db: Session, actor: Actor, partnership_id: uuid.UUID) -> list[Dispute]:
    stmt = scope(actor, READ_PARTNERSHIP, select(Dispute)).where(Dispute.partnership_id == partnership_id)
    return list(db.scalars(stmt.order_by(Dispute.created_at)))


def get_dispute(db: Session, actor: Actor, dispute_id: uuid.UUID) -> Dispute:
    row = db.scalar(scope(actor, READ_PARTNERSHIP, select(Dispute).where(Dispute.id == dispute_id)))
    if row is None:
        raise NotFound("dispute")
    return row


def list_agreements(db: Session, actor: Actor, filters: AgreementFilter) -> tuple[list[Agreement], int]:
    stmt = scope(actor, READ_AGREEMENT, select(Agreement))
    if filters.kind:
        stmt = stmt.where(Agreement.kind == filters.kind)
    if filters.partnership_id:
        stmt = stmt.where(Agreement.partnership_id == filters.partnership_id)
    if filters.q:
        titled = select(AgreementVersion.agreement_id).where(contains(AgreementVersion.title, filters.q))
        stmt = stmt.where(Agreement.id.in_(titled))
    total = db.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = db.scalars(stmt.order_by(Agreement.created_at.desc()).limit(filters.limit).offset(filters.offset))
    return list(rows), total


def get_agreement(db: Session, actor: Actor, agreement_id: uuid.UUID) -> Agreement:
    row = db.scalar(scope(actor, READ_AGREEMENT, select(Agreement).where(Agreement.id == agreement_id)))
    if row is None:
        raise NotFound("agreement")
    return row


def grants_of(db: Session, agreement: Agreement, at: datetime | None = None) -> list[Grant]:
    """The compiled grants of an agreement the caller already reached (optionally those valid at ``at``)."""
    stmt = select(Grant).where(Grant.agreement_id == agreement.id)
    if at is not None:
        stmt = stmt.where(Grant.valid_from <= at, (Grant.valid_until.is_(None)) | (Grant.valid_until > at))
    return list(db.scalars(stmt.order_by(Grant.provider_agency_id, Grant.recipient_agency_id, Grant.category)))


def active_grants(
    db: Session,
    recipients: list[uuid.UUID],
    at: datetime,
    *,
    covering: Collection[tuple[uuid.UUID, str, str]] | None = None,
) -> list[Grant]:
    """Grants in force at ``at`` whose recipient is one of ``recipients`` (the caller's own
    agencies: a grant is the recipient's own access right, so no further scope applies).
    ``covering`` (provider, category, purpose) keeps only the grants that can cover those
    rows: a page of records needs a few, where an agency may hold thousands."""
    if covering is not None and not covering:
        return []
    params: dict[str, object] = {"recipients": recipients, "at": at}
    if covering is None:
        return list(db.scalars(_grants_in_force(), params))
    # Three short lists rather than one list of triples, whose plan PostgreSQL takes several
    # times longer to make; the few extra rows this reads are dropped here.
    wanted = set(covering)
    params |= {key: sorted({c[i] for c in wanted}) for i, key in enumerate(("providers", "categories", "purposes"))}
    return [
        g for g in db.scalars(_grants_covering(), params) if (g.provider_agency_id, g.category, g.purpose) in wanted
    ]


# The statements behind every request are built once, with their values as parameters:
# building and fingerprinting a statement costs more than running these small ones.


@cache
def _grants_in_force() -> Select[Grant]:
    at = bindparam("at", type_=UTCDateTime())
    return select(Grant).where(
        Grant.recipient_agency_id.in_(bindparam("recipients", expanding=True)),
        Grant.valid_from <= at,
        (Grant.valid_until.is_(None)) | (Grant.valid_until > at),
    )


@cache
def _grants_covering() -> Select[Grant]:
    return _grants_in_force().where(
        Grant.provider_agency_id.in_(bindparam("providers", expanding=True)),
        Grant.category.in_(bindparam("categories", expanding=True)),
        Grant.purpose.in_(bindparam("purposes", expanding=True)),
    )


def grants_from(db: Session, provider: uuid.UUID, at: datetime) -> list[Grant]:
    """Grants in force at ``at`` from ``provider`` (the caller's own agency) to others."""
    stmt = select(Grant).where(
        Grant.provider_agency_id == provider,
        Grant.valid_from <= at,
        (Grant.valid_until.is_(None)) | (Grant.valid_until > at),
    )
    return list(db.scalars(stmt))


# Built once: constructing an alias costs more than the rest of the predicate.
_MINE, _THEIRS = aliased(PartnershipMember, name="member_mine"), aliased(PartnershipMember, name="member_theirs")


def partner_agencies_select(
    agencies: Collection[uuid.UUID] | ColumnElement[Any], today: date | ColumnElement[date]
) -> Select[uuid.UUID]:
    """SELECT of the agencies sharing a current, active partnership with any of
    ``agencies`` on ``today`` (values, or parameters bound when the statement runs)."""
    mine, theirs = _MINE, _THEIRS
    return (
        select(theirs.agency_id)
        .join(mine, mine.partnership_id == theirs.partnership_id)
        .join(Partnership, Partnership.id == theirs.partnership_id)
        .where(
            mine.agency_id.in_(agencies),
            mine.left_at.is_(None),
            theirs.left_at.is_(None),
            Partnership.starts_on <= today,
            or_(Partnership.ends_on.is_(None), Partnership.ends_on >= today),
        )
    )


@cache
def _partners() -> Select[uuid.UUID]:
    return partner_agencies_select(bindparam("agencies", expanding=True), bindparam("today", type_=Date()))


def partners_of(db: Session, agencies: list[uuid.UUID], at: datetime) -> set[uuid.UUID]:
    return set(db.scalars(_partners(), {"agencies": agencies, "today": at.date()}))


# The tiers a clause may grant (GREEN, AMBER, AMBER+STRICT), as the ranks records carry.
GRANTABLE_RANKS: tuple[int, ...] = tuple(TIER_RANK[t] for t in CLAUSE_TIERS)


def covering_grant_exists(
    *,
    provider: ColumnExpressionArgument[uuid.UUID],
    category: ColumnExpressionArgument[str],
    purpose: ColumnExpressionArgument[str],
    tier: ColumnExpressionArgument[int],
    shared_at: ColumnExpressionArgument[datetime],
    roles: dict[uuid.UUID, set[str]],
    at: datetime | ColumnElement[datetime],
    counting: bool = False,
) -> ColumnElement[bool]:
    """Whether a grant in force at ``at`` from ``provider`` to one of the caller's agencies
    (and a role it holds there) covers ``category``, ``purpose`` and ``tier``, and, when its
    clause sets a retention period, whether the row was shared (``shared_at``) within it; the
    arguments are columns of the caller's table, ``at`` a time or a parameter bound when
    the statement runs. ``counting``: the grant need only allow de-identified counts, so
    aggregates-only grants cover too (ADR 10).

    Written as ``(provider, category, purpose, tier) IN (SELECT ...)`` over the caller's
    grants (one row per tier each grant reaches), not as a correlated EXISTS: the set does
    not depend on the row, so both databases build it once per statement (a hashed SubPlan
    on PostgreSQL, an ephemeral index on SQLite) and probe it per row, where EXISTS runs an
    index search per row. benchmarks/sharing_search.py measures the difference. Grants with
    a retention period need the row's age, so they are tested by a correlated EXISTS, but
    only for rows whose key a retention grant covers (the same kind of set, probed first)."""
    recipient = or_(
        *(
            and_(
                Grant.recipient_agency_id == agency_id,
                or_(Grant.recipient_role.is_(None), Grant.recipient_role.in_(sorted(agency_roles))),
            )
            for agency_id, agency_roles in roles.items()
        )
    )
    in_force = (
        true() if counting else Grant.aggregates_only.is_(False),
        Grant.valid_from <= at,
        or_(Grant.valid_until.is_(None), Grant.valid_until > at),
        recipient,
    )

    def covered(*kept: ColumnElement[bool]) -> Any:
        return union_all(
            *(
                select(
                    Grant.provider_agency_id, Grant.category, Grant.purpose, literal_column(str(rank), Integer)
                ).where(*in_force, *kept, Grant.max_tier >= rank)
                for rank in GRANTABLE_RANKS
            )
        )

    key = tuple_(provider, category, purpose, tier)
    within_retention = (
        select(Grant.id)
        .where(
            Grant.provider_agency_id == provider,
            Grant.category == category,
            Grant.purpose == purpose,
            Grant.max_tier >= tier,
            *in_force,
            Grant.retention_days.is_not(None),
            shared_at >= days_before(at, Grant.retention_days),
        )
        .exists()
    )
    return or_(
        key.in_(covered(Grant.retention_days.is_(None))),
        and_(key.in_(covered(Grant.retention_days.is_not(None))), within_retention),
    )


def clause_context(
    db: Session, clause_ids: list[uuid.UUID]
) -> dict[uuid.UUID, tuple[Agreement, AgreementVersion, Clause]]:
    """Agreement, version and clause behind grants the caller already holds (for "why")."""
    stmt = (
        select(Clause, AgreementVersion, Agreement)
        .join(AgreementVersion, AgreementVersion.id == Clause.version_id)
        .join(Agreement, Agreement.id == AgreementVersion.agreement_id)
        .where(Clause.id.in_(clause_ids))
    )
    return {clause.id: (agreement, version, clause) for clause, version, agreement in db.execute(stmt)}
