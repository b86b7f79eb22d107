"""Mutual-aid metrics of one agency or one partnership over a period.

Who sees which figures: an agency's to the members of that agency; a partnership's to the
members of its current member agencies (holding ``mutualaid:request:read`` there); anyone
else gets the same 404 as for an agency or partnership that does not exist. The subject is
reached through ``authz.scope`` (directory and agreements queries); the figures are counts
over the subject's own requests and offers, never rows, so a partnership's members see its
totals without seeing each other's requests.

Requests are counted by when they were opened (sent to partners), offers by when they were
made. A request is filled when ``filled_at`` is set; cancelled ones count in neither side of
the percentage filled. Fill time runs from ``opened_at`` to ``filled_at`` for the filled
requests opened in the period."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from accord.authz import Actor, roles_key
from accord.core.errors import InvalidInput, NotFound
from accord.core.time import utcnow
from accord.directory import queries as directory
from accord.mutualaid.fund import queries as fund
from accord.mutualaid.metrics.figures import ClaimSource, cost_figures, percentile
from accord.mutualaid.metrics.schemas import CostRead, MetricsRead, MonthCount
from accord.mutualaid.models import ResourceOffer, ResourceRequest
from accord.mutualaid.recovery.queries import claim_rows

READ = "mutualaid:request:read"
DEFAULT_DAYS = 365
LONGEST = timedelta(days=3660)
# Cost figures come from the claims of ``accord.mutualaid.recovery`` (approved or paid).
CLAIMS: ClaimSource | None = claim_rows
NOT_WIRED = "Cost recovery figures appear once reimbursement claims are recorded in Accord (not wired yet)."


def period(since: date | None, until: date | None) -> tuple[date, date]:
    """The period asked for (both days included); by default the last 365 days."""
    until = until or utcnow().date()
    since = since or until - timedelta(days=DEFAULT_DAYS)
    if since > until:
        raise InvalidInput("since", "must be on or before until")
    if until - since > LONGEST:
        raise InvalidInput("since", "a period covers at most ten years")
    return since, until


def _mine(actor: Actor) -> set[uuid.UUID]:
    return {agency for agency, _ in roles_key(actor, READ)}


def subject(
    db: Session, actor: Actor, *, partnership_id: uuid.UUID | None, agency_id: uuid.UUID | None
) -> tuple[str, uuid.UUID, str, list[uuid.UUID]]:
    """(kind, id, name, agencies counted) of the subject the caller may see, or 404."""
    if (partnership_id is None) == (agency_id is None):
        raise InvalidInput("partnership_id", "give either partnership_id or agency_id")
    if agency_id is not None:
        if agency_id not in _mine(actor):
            raise NotFound("agency")
        agency = directory.get_agency(db, actor, agency_id)
        return "agency", agency.id, agency.name, [agency.id]
    assert partnership_id is not None
    partnership = fund.get_partnership(db, actor, partnership_id, READ)
    return "partnership", partnership.id, partnership.name, fund.current_members(partnership)


def subjects(db: Session, actor: Actor) -> list[tuple[str, uuid.UUID, str]]:
    """What the caller may see metrics of: its agencies, then its partnerships."""
    mine = _mine(actor)
    found: list[tuple[str, uuid.UUID, str]] = [
        ("agency", agency_id, name) for agency_id, name in directory.agency_options(db, actor) if agency_id in mine
    ]
    for partnership in fund.member_partnerships(db, actor, READ):
        found.append(("partnership", partnership.id, partnership.name))
    return found


def _bounds(since: date, until: date) -> tuple[datetime, datetime]:
    return datetime.combine(since, time(), UTC), datetime.combine(until + timedelta(days=1), time(), UTC)


def metrics(
    db: Session,
    actor: Actor,
    *,
    partnership_id: uuid.UUID | None = None,
    agency_id: uuid.UUID | None = None,
    since: date | None = None,
    until: date | None = None,
    claims: ClaimSource | None = None,
) -> MetricsRead:
    kind, subject_id, name, agencies = subject(db, actor, partnership_id=partnership_id, agency_id=agency_id)
    first, last = period(since, until)
    start, end = _bounds(first, last)
    requests = db.execute(
        select(ResourceRequest.opened_at, ResourceRequest.filled_at, ResourceRequest.status).where(
            ResourceRequest.requesting_agency_id.in_(agencies),
            ResourceRequest.opened_at >= start,
            ResourceRequest.opened_at < end,
        )
    ).all()
    offers = db.execute(
        select(ResourceOffer.committed_at).where(
            ResourceOffer.providing_agency_id.in_(agencies),
            ResourceOffer.offered_at >= start,
            ResourceOffer.offered_at < end,
        )
    ).all()
    cancelled = sum(1 for r in requests if r.status == "cancelled")
    filled = [r for r in requests if r.filled_at is not None and r.status != "cancelled"]
    hours = [(r.filled_at - r.opened_at).total_seconds() / 3600 for r in filled]
    counted = len(requests) - cancelled
    opened_by_month = Counter(r.opened_at.strftime("%Y-%m") for r in requests)
    filled_by_month = Counter(r.opened_at.strftime("%Y-%m") for r in filled)
    cost, note = None, NOT_WIRED
    if claims is not None:
        figures = cost_figures(claims(db, frozenset(agencies), start, end), set(agencies))
        cost, note = CostRead(**figures._asdict()), "Claims approved in the period."
    return MetricsRead(
        subject=kind,
        subject_id=subject_id,
        subject_name=name,
        agencies=agencies,
        since=first,
        until=last,
        requests_opened=len(requests),
        requests_cancelled=cancelled,
        requests_filled=len(filled),
        percent_filled=round(100 * len(filled) / counted, 1) if counted else None,
        fill_hours_median=_hours(percentile(hours, 50)),
        fill_hours_p90=_hours(percentile(hours, 90)),
        offers_made=len(offers),
        offers_committed=sum(1 for o in offers if o.committed_at is not None),
        cost=cost,
        cost_note=note,
        by_month=[
            MonthCount(month=m, opened=opened_by_month[m], filled=filled_by_month[m]) for m in _months(first, last)
        ],
    )


def _hours(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _months(first: date, last: date) -> list[str]:
    found, month = [], date(first.year, first.month, 1)
    while month <= last:
        found.append(month.strftime("%Y-%m"))
        month = date(month.year + (month.month == 12), month.month % 12 + 1, 1)
    return found
