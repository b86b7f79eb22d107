"""Reads of a collaboration fund, always through ``authz.scope``. A fund is its
partnership's own: to anyone whose agencies are not current members (holding the
permission asked for there), every answer is the same 404 as for a partnership that does
not exist."""

from __future__ import annotations

import uuid
from collections import defaultdict
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from accord.agreements import queries as agreements
from accord.agreements.models import Partnership
from accord.authz import Actor, roles_key, scope
from accord.core.errors import NotFound
from accord.directory import queries as directory
from accord.mutualaid.fund import policy as _policy
from accord.mutualaid.fund.models import CollaborationFund, FundCall, FundContribution, FundSpending
from accord.mutualaid.fund.schemas import (
    CallRead,
    ContributionRead,
    FigureRead,
    FormulaRead,
    FundRead,
    HistoryEntry,
    MemberStanding,
    ShareRead,
    SpendingRead,
)
from accord.mutualaid.fund.shares import paid_per_call

READ, MANAGE = _policy.READ, _policy.MANAGE
ZERO = Decimal("0.00")


def current_members(partnership: Partnership) -> list[uuid.UUID]:
    """The partnership's current member agencies, in the order they joined."""
    rows = sorted((m for m in partnership.members if m.left_at is None), key=lambda m: (m.joined_at, str(m.agency_id)))
    return [m.agency_id for m in rows]


def get_partnership(db: Session, actor: Actor, partnership_id: uuid.UUID, permission: str = READ) -> Partnership:
    """The partnership, if one of the caller's agencies holding ``permission`` is a
    current member of it; otherwise NotFound("partnership")."""
    partnership = agreements.get_partnership(db, actor, partnership_id)
    mine = {agency for agency, _ in roles_key(actor, permission)}
    if not mine.intersection(current_members(partnership)):
        raise NotFound("partnership")
    return partnership


def can_manage(actor: Actor, partnership: Partnership) -> bool:
    mine = {agency for agency, _ in roles_key(actor, MANAGE)}
    return bool(mine.intersection(current_members(partnership)))


def get_fund(db: Session, actor: Actor, partnership_id: uuid.UUID) -> CollaborationFund | None:
    stmt = select(CollaborationFund).where(CollaborationFund.partnership_id == partnership_id)
    return db.scalar(scope(actor, READ, stmt))


def list_calls(db: Session, actor: Actor, partnership_id: uuid.UUID) -> list[FundCall]:
    """Oldest first."""
    stmt = scope(actor, READ, select(FundCall).where(FundCall.partnership_id == partnership_id))
    return list(db.scalars(stmt.order_by(FundCall.issued_at, FundCall.id)))


def list_contributions(db: Session, actor: Actor, partnership_id: uuid.UUID) -> list[FundContribution]:
    """In the order they were received."""
    stmt = scope(actor, READ, select(FundContribution).where(FundContribution.partnership_id == partnership_id))
    order = (FundContribution.received_on, FundContribution.recorded_at, FundContribution.id)
    return list(db.scalars(stmt.order_by(*order)))


def list_spending(db: Session, actor: Actor, partnership_id: uuid.UUID) -> list[FundSpending]:
    stmt = scope(actor, READ, select(FundSpending).where(FundSpending.partnership_id == partnership_id))
    return list(db.scalars(stmt.order_by(FundSpending.spent_on, FundSpending.recorded_at, FundSpending.id)))


def balance(contributions: list[FundContribution], spending: list[FundSpending]) -> Decimal:
    """Received minus spent (summed here, in Decimal: SQLite would sum in floats)."""
    return sum((c.amount for c in contributions), ZERO) - sum((s.amount for s in spending), ZERO)


def fund_view(db: Session, actor: Actor, partnership_id: uuid.UUID) -> FundRead:
    """The fund as members see it: formula, balance, each member's standing, the calls
    with each member's share and what it paid towards it, and the history."""
    partnership = get_partnership(db, actor, partnership_id)
    names = dict(directory.agency_options(db, actor))
    fund = get_fund(db, actor, partnership_id)
    calls = list_calls(db, actor, partnership_id)
    contributions = list_contributions(db, actor, partnership_id)
    spending = list_spending(db, actor, partnership_id)

    def name(agency_id: uuid.UUID) -> str:
        return names.get(agency_id, str(agency_id))

    members = current_members(partnership)
    agencies = list(members)
    for call in calls:
        agencies += [s.agency_id for s in call.shares if s.agency_id not in agencies]
    agencies += [c.agency_id for c in contributions if c.agency_id not in agencies]

    towards: dict[uuid.UUID, dict[uuid.UUID, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
    unassigned: dict[uuid.UUID, Decimal] = defaultdict(lambda: ZERO)
    for c in contributions:
        if c.call_id is None:
            unassigned[c.agency_id] += c.amount
        else:
            towards[c.agency_id][c.call_id] += c.amount
    paid = {
        agency: paid_per_call(
            [(call.id, s.amount) for call in calls for s in call.shares if s.agency_id == agency],
            dict(towards[agency]),
            unassigned[agency],
        )
        for agency in agencies
    }
    standings = []
    for agency in agencies:
        called = sum((s.amount for call in calls for s in call.shares if s.agency_id == agency), ZERO)
        given = sum((c.amount for c in contributions if c.agency_id == agency), ZERO)
        standings.append(
            MemberStanding(
                agency_id=agency,
                agency_name=name(agency),
                current_member=agency in members,
                called=called,
                paid=given,
                owes=max(called - given, ZERO),
                credit=max(given - called, ZERO),
            )
        )
    standings.sort(key=lambda m: (not m.current_member, m.agency_name))
    call_reads = []
    for call in calls:
        shares = []
        for s in call.shares:
            got = paid[s.agency_id][call.id]
            shares.append(
                ShareRead(
                    agency_id=s.agency_id,
                    agency_name=name(s.agency_id),
                    figure=s.figure,
                    share=s.amount,
                    paid=got.paid,
                    due=got.due,
                )
            )
        shares.sort(key=lambda s: s.agency_name)
        call_reads.append(
            CallRead(
                id=call.id,
                period=call.period,
                amount=call.amount,
                basis=call.basis,
                due_on=call.due_on,
                issued_at=call.issued_at,
                paid=sum((s.paid for s in shares), ZERO),
                shares=shares,
            )
        )
    formula = None
    if fund is not None:
        formula = FormulaRead(
            basis=fund.basis,
            note=fund.note,
            figures=[
                FigureRead(agency_id=f.agency_id, agency_name=name(f.agency_id), figure=f.figure) for f in fund.figures
            ],
            updated_at=fund.updated_at,
        )
    received = sum((c.amount for c in contributions), ZERO)
    spent = sum((s.amount for s in spending), ZERO)
    return FundRead(
        partnership_id=partnership.id,
        partnership_name=partnership.name,
        formula=formula,
        received=received,
        spent=spent,
        balance=received - spent,
        members=standings,
        calls=call_reads,
        contributions=[
            ContributionRead(
                id=c.id,
                agency_id=c.agency_id,
                agency_name=name(c.agency_id),
                call_id=c.call_id,
                amount=c.amount,
                received_on=c.received_on,
                reference=c.reference,
                recorded_at=c.recorded_at,
            )
            for c in contributions
        ],
        spending=[SpendingRead.model_validate(s) for s in spending],
        history=_history(calls, contributions, spending, name),
        can_manage=can_manage(actor, partnership),
    )


def _history(
    calls: list[FundCall],
    contributions: list[FundContribution],
    spending: list[FundSpending],
    name: object,
) -> list[HistoryEntry]:
    """Newest first; contributions and spending carry the balance after them (in the
    order of their dates, then of recording)."""
    assert callable(name)
    rows: list[tuple[tuple[object, ...], HistoryEntry]] = []
    for call in calls:
        entry = HistoryEntry(
            on=call.issued_at.date(),
            at=call.issued_at,
            kind="call",
            amount=call.amount,
            text=f"Call for contributions: {call.period} ({call.basis} shares among {len(call.shares)} members)",
            balance=None,
        )
        rows.append(((call.issued_at.date(), call.issued_at), entry))
    for c in contributions:
        text = f"Contribution from {name(c.agency_id)}" + (f" (ref. {c.reference})" if c.reference else "")
        entry = HistoryEntry(
            on=c.received_on, at=c.recorded_at, kind="contribution", amount=c.amount, text=text, balance=None
        )
        rows.append(((c.received_on, c.recorded_at), entry))
    for s in spending:
        entry = HistoryEntry(
            on=s.spent_on, at=s.recorded_at, kind="spending", amount=-s.amount, text=s.purpose, balance=None
        )
        rows.append(((s.spent_on, s.recorded_at), entry))
    rows.sort(key=lambda row: row[0])
    running = ZERO
    for _, entry in rows:
        if entry.kind != "call" and entry.amount is not None:
            running += entry.amount
            entry.balance = running
    return [entry for _, entry in reversed(rows)]


def agency_names(db: Session, actor: Actor, agency_ids: list[uuid.UUID]) -> list[str]:
    names = dict(directory.agency_options(db, actor))
    return [names.get(a, str(a)) for a in agency_ids]


def member_partnerships(db: Session, actor: Actor, permission: str = READ) -> list[Partnership]:
    """The partnerships one of the caller's agencies holding ``permission`` currently belongs to."""
    mine = {agency for agency, _ in roles_key(actor, permission)}
    return [p for p in agreements.list_partnerships(db, actor) if mine.intersection(current_members(p))]
