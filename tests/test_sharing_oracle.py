"""Property-based leak test. Hypothesis builds small worlds — agencies, partnerships,
agreements with random sharing clauses and lifecycles (effective in the past or future,
expiring, suspended, terminated, opted out) and retention periods, records of every tier
and age, and readers of several roles — and a small, independent pure-Python oracle of
the sharing rules says what each reader may see and which fields are masked. Every
surface (list, search, detail, counts, facets, export, map layer, history, attachments,
and the records the de-identified aggregates count) is compared with it; some records
change tier after they are filed, so history must apply the rules to each version as it
was shared. A second test plants a bug in the SQL predicate and shows the comparison
catches it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy import update as sql_update

from accord.accounts.models import User
from accord.agreements import service as agreements
from accord.agreements.schemas import AgreementDraft, PartnershipCreate, SignRequest
from accord.authz import Actor, MembershipGrant, scope
from accord.authz.roles import BUILTIN_ROLES
from accord.core.errors import NotFound, PermissionDenied
from accord.core.time import utcnow
from accord.directory.models import Agency
from accord.sharing import queries, service
from accord.sharing.aggregates import AGGREGATE, CountableRecord
from accord.sharing.categories import SPECS, labelled_fields
from accord.sharing.models import Record, RecordRevision
from accord.sharing.schemas import RecordCreate, RecordFilter, RecordUpdate

TIERS = ["CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED"]
RANK = {t: i for i, t in enumerate(TIERS)}
CATEGORIES = ["incident_report", "bolo", "public_health_case"]
PURPOSES = ["investigation", "emergency_response"]
ROLES = ["analyst", "viewer"]
PERMS = {r.name: r.permissions for r in BUILTIN_ROLES}

# --- the world, as plain data ---------------------------------------------------------------


@dataclass
class ClauseSpec:
    providers: list[int]
    recipients: list[int]
    categories: list[str]
    purposes: list[str]
    max_tier: str
    labels: list[str]
    roles: list[str]
    aggregates_only: bool
    retention_days: int | None = None  # recipients see a record only this long after it was saved


@dataclass
class AgreementSpec:
    parties: list[int]
    clauses: list[ClauseSpec]
    fully_signed: bool
    effective_hours: int
    expires_hours: int | None
    ending: str  # none | suspended | terminated | opt_out_now | opt_out_later
    opting_party: int


@dataclass
class RecordSpec:
    owner: int
    category: str
    tier: str
    purpose: str
    named: list[int]
    first_tier: str | None = None  # filed at this tier, then changed to ``tier``
    age_days: int = 0  # last saved (every version) this many days ago


@dataclass
class World:
    partnerships: list[tuple[list[int], int]]  # members, start offset in days
    agreements: list[AgreementSpec]
    records: list[RecordSpec]
    ids: dict[str, Any] = field(default_factory=dict)


N_AGENCIES = 4
# Each record carries one file labelled like its most sensitive field.
ATTACHMENT_LABEL = {"incident_report": "CJI", "bolo": "PII", "public_health_case": "PHI"}


def subsets(items: list[Any], min_size: int = 1) -> st.SearchStrategy[list[Any]]:
    return st.lists(st.sampled_from(items), min_size=min_size, max_size=len(items), unique=True)


@st.composite
def clause_specs(draw: Any, parties: list[int]) -> ClauseSpec:
    return ClauseSpec(
        providers=draw(subsets(parties)),
        recipients=draw(subsets(parties)),
        categories=draw(subsets(CATEGORIES)),
        purposes=draw(st.one_of(subsets(PURPOSES, 1).map(lambda p: p[:1]), subsets(PURPOSES))),
        max_tier=draw(st.sampled_from(["GREEN", "AMBER", "AMBER+STRICT"])),
        labels=draw(subsets(["PII", "PHI", "CJI"], 0)),
        roles=draw(subsets(ROLES, 0)),
        aggregates_only=draw(st.integers(0, 4)) == 0,
        retention_days=draw(st.sampled_from([None, None, 10, 40])),
    )


@st.composite
def agreement_specs(draw: Any) -> AgreementSpec:
    parties = draw(subsets(list(range(N_AGENCIES)), 2))
    expires = draw(st.one_of(st.none(), st.sampled_from([-2, 30])))
    return AgreementSpec(
        parties=parties,
        clauses=draw(st.lists(clause_specs(parties), min_size=1, max_size=2)),
        fully_signed=draw(st.integers(0, 5)) > 0,
        effective_hours=draw(st.sampled_from([-48, -1, 5])),
        expires_hours=None if expires is None else expires,
        ending=draw(st.sampled_from(["none", "none", "suspended", "terminated", "opt_out_now", "opt_out_later"])),
        opting_party=draw(st.sampled_from(parties)),
    )


@st.composite
def worlds(draw: Any) -> World:
    partnerships = draw(st.lists(st.tuples(subsets(list(range(N_AGENCIES)), 2), st.sampled_from([-10, 3])), max_size=2))
    records = draw(
        st.lists(
            st.builds(
                RecordSpec,
                owner=st.integers(0, N_AGENCIES - 1),
                category=st.sampled_from(CATEGORIES),
                tier=st.sampled_from(TIERS),
                purpose=st.sampled_from(PURPOSES),
                named=subsets([0, 1], 0),
                first_tier=st.one_of(st.none(), st.none(), st.sampled_from(TIERS)),
                age_days=st.sampled_from([0, 0, 20, 60]),
            ),
            min_size=4,
            max_size=9,
        )
    )
    agreements = draw(st.lists(agreement_specs(), min_size=1, max_size=3))
    return World(partnerships=partnerships, agreements=agreements, records=records)


# --- the oracle: the rules of DESIGN.md, read from the world, not from the database ---------


def _reader_of(reader: tuple[int, str] | int) -> tuple[int, str, int | None]:
    return (reader[0], reader[1], None) if isinstance(reader, tuple) else (1, "viewer", reader)


def _masks(world: World, rec: RecordSpec, tier: str, reader: tuple[int, str] | int) -> set[str] | None:
    """The labels masked for the reader on ``rec`` shared at ``tier``, or None if not visible.
    A RED version is visible to the people the record names now (only a RED record names)."""
    agency, role, person = _reader_of(reader)
    partners = {other for members, start in world.partnerships if start <= 0 and agency in members for other in members}
    labels_all = set(labelled_fields(rec.category).values())
    if rec.owner == agency:
        return set()
    if tier == "RED":
        return set() if person is not None and rec.tier == "RED" and person in rec.named else None
    granted: set[str] | None = None
    for clause in _clauses_covering(world, rec, tier, agency, role):
        if not clause.aggregates_only:
            granted = (granted or set()) | set(clause.labels)
    visible = (
        tier == "CLEAR"
        or (tier == "GREEN" and rec.owner in partners)
        or (tier in ("GREEN", "AMBER", "AMBER+STRICT") and granted is not None)
    )
    return labels_all - (granted or set()) if visible else None


def _clauses_covering(world: World, rec: RecordSpec, tier: str, agency: int, role: str) -> Iterator[ClauseSpec]:
    """The clauses in force that cover ``rec`` at ``tier`` for ``agency`` and ``role``
    (aggregates-only ones included), within their retention period."""
    for agreement in world.agreements:
        if not agreement.fully_signed or agreement.effective_hours > 0:
            continue
        if agreement.expires_hours is not None and agreement.expires_hours <= 0:
            continue
        if agreement.ending in ("suspended", "terminated"):
            continue
        if agreement.ending == "opt_out_now" and agreement.opting_party in (rec.owner, agency):
            continue
        for clause in agreement.clauses:
            if (
                rec.owner in clause.providers
                and agency in clause.recipients
                and rec.category in clause.categories
                and rec.purpose in clause.purposes
                and RANK[tier] <= RANK[clause.max_tier]
                and (not clause.roles or role in clause.roles)
                and (clause.retention_days is None or rec.age_days <= clause.retention_days)
            ):
                yield clause


def oracle_countable(world: World, reader: tuple[int, str] | int) -> set[int]:
    """The records the reader's agency may count in de-identified aggregates: its own,
    CLEAR ones, and those a clause in force covers (aggregates-only or not) — never RED,
    and only for a role holding the aggregate permission."""
    agency, role, _ = _reader_of(reader)
    if AGGREGATE not in PERMS[role]:
        return set()
    return {
        index
        for index, rec in enumerate(world.records)
        if rec.tier != "RED"
        and (
            rec.owner == agency
            or rec.tier == "CLEAR"
            or next(_clauses_covering(world, rec, rec.tier, agency, role), None) is not None
        )
    }


def oracle(world: World, reader: tuple[int, str] | int) -> dict[int, set[str]]:
    """Record index -> masked labels, for each record the reader may see. ``reader`` is
    (agency, role) for an agency member, or the index of a named person (a viewer of agency 1)."""
    seen: dict[int, set[str]] = {}
    for index, rec in enumerate(world.records):
        masks = _masks(world, rec, rec.tier, reader)
        if masks is not None:
            seen[index] = masks
    return seen


def oracle_history(world: World, reader: tuple[int, str] | int) -> dict[int, list[tuple[str, set[str]]]]:
    """Record index -> the versions (tier, masked labels) the reader may see, oldest first,
    for each record the reader may see now."""
    found: dict[int, list[tuple[str, set[str]]]] = {}
    for index, masks in oracle(world, reader).items():
        rec = world.records[index]
        versions = []
        if rec.first_tier is not None:
            first = _masks(world, rec, rec.first_tier, reader)
            if first is not None:
                versions.append((rec.first_tier, first))
        found[index] = [*versions, (rec.tier, masks)]
    return found


# --- building the world through the real services ------------------------------------------


def _builder(user_id: uuid.UUID, agencies: list[uuid.UUID]) -> Actor:
    perms = PERMS["coordinator"] | PERMS["agency_admin"] | PERMS["analyst"]
    grants = tuple(MembershipGrant(a, "builder", frozenset(perms)) for a in agencies)
    return Actor(user_id=user_id, username="oracle-builder", memberships=grants, auth_method="token")


def _reader(agency_id: uuid.UUID, role: str, user_id: uuid.UUID | None = None) -> Actor:
    grant = MembershipGrant(agency_id, role, frozenset(PERMS[role]))
    return Actor(user_id=user_id or uuid.uuid4(), username=f"oracle-{role}", memberships=(grant,), auth_method="token")


def build(db: Any, world: World, people: list[uuid.UUID]) -> None:
    tag = uuid.uuid4().hex[:6].upper()
    agencies = []
    for i in range(N_AGENCIES):
        agency = Agency(
            name=f"Oracle {tag} {i}", short_name=f"O{tag}{i}", kind="police", level="local", jurisdiction_name="x"
        )
        db.add(agency)
        agencies.append(agency)
    db.flush()
    ids = [a.id for a in agencies]
    builder = _builder(people[0], ids)
    now = utcnow()
    for n, (members, start) in enumerate(world.partnerships):
        data = PartnershipCreate(
            name=f"Oracle {tag} partnership {n}",
            kind="task_force",
            starts_on=(now + timedelta(days=start)).date(),
            members=[ids[m] for m in members],
        )
        agreements.create_partnership(db, actor=builder, data=data)
    for spec in world.agreements:
        clauses = [
            {
                "kind": "sharing",
                "providers": [ids[p] for p in c.providers],
                "recipients": [ids[r] for r in c.recipients],
                "categories": c.categories,
                "purposes": c.purposes,
                "max_tier": c.max_tier,
                "labels": c.labels,
                "recipient_roles": c.roles,
                "aggregates_only": c.aggregates_only,
                "retention_days": c.retention_days,
            }
            for c in spec.clauses
        ] + [{"kind": "opt_out", "notice_days": 0 if spec.ending == "opt_out_now" else 30}]
        effective = now + timedelta(hours=spec.effective_hours)
        expires = None if spec.expires_hours is None else now + timedelta(hours=spec.expires_hours)
        if expires is not None and expires <= effective:
            expires = effective + timedelta(minutes=1) if spec.expires_hours and spec.expires_hours > 0 else None
            spec.expires_hours = None if expires is None else spec.expires_hours
        draft = AgreementDraft(
            kind="data_use",
            title=f"Oracle {tag}",
            parties=[ids[p] for p in spec.parties],
            effective_at=effective,
            expires_at=expires,
            clauses=clauses,
        )
        agreement = agreements.draft_agreement(db, actor=builder, data=draft)
        agreements.propose(db, actor=builder, agreement_id=agreement.id)
        signers = spec.parties if spec.fully_signed else spec.parties[:-1]
        for party in signers:
            digest = agreement.versions[-1].content_hash or ""
            agreements.sign(
                db,
                actor=builder,
                agreement_id=agreement.id,
                data=SignRequest(agency_id=ids[party], content_hash=digest),
            )
        if spec.fully_signed and spec.ending != "none" and spec.effective_hours <= 0 and (spec.expires_hours or 1) > 0:
            if spec.ending == "suspended":
                agreements.suspend(db, actor=builder, agreement_id=agreement.id)
            elif spec.ending == "terminated":
                agreements.terminate(db, actor=builder, agreement_id=agreement.id, reason="oracle")
            else:
                agreements.opt_out(db, actor=builder, agreement_id=agreement.id, agency_id=ids[spec.opting_party])
        elif spec.ending != "none":
            spec.ending = "none"  # nothing in force to end: the oracle must not assume an ending
    record_ids = []
    for spec in world.records:
        required = next(s.name for s in SPECS[spec.category] if s.required)
        body = {required: "oracle"} | {
            name: f"secret {label}" for name, label in labelled_fields(spec.category).items()
        }
        if spec.first_tier == spec.tier:
            spec.first_tier = None
        if (spec.tier == "RED" or spec.first_tier == "RED") and not spec.named:
            spec.named = [0]
        filed_at = spec.first_tier or spec.tier
        data = RecordCreate(
            owner_agency_id=ids[spec.owner],
            category=spec.category,
            tier=filed_at,
            purpose=spec.purpose,
            title=f"Oracle {tag} record",
            body=body,
            event_at=now,
            geometry={"type": "Point", "coordinates": [-88.0, 41.5]},
            red_recipients=[people[n] for n in spec.named] if filed_at == "RED" else [],
        )
        record = service.create_record(db, actor=builder, data=data)
        if spec.first_tier is not None:
            update = RecordUpdate(
                revision=1,
                tier=spec.tier,  # type: ignore[arg-type]
                red_recipients=[people[n] for n in spec.named] if spec.tier == "RED" else None,
            )
            service.update_record(db, actor=builder, record_id=record.id, data=update)
        if spec.tier != "RED":
            spec.named = []  # a record that is not RED names nobody (any more)
        service.add_attachment(
            db,
            actor=builder,
            record_id=record.id,
            filename="scan.pdf",
            declared_type="application/pdf",
            content=b"%PDF-1.7 oracle",
            label=ATTACHMENT_LABEL[spec.category],
            max_bytes=1024,
        )
        record_ids.append(record.id)
        if spec.age_days:
            saved = now - timedelta(days=spec.age_days)
            db.flush()
            db.execute(sql_update(Record).where(Record.id == record.id).values(updated_at=saved))
            db.execute(sql_update(RecordRevision).where(RecordRevision.record_id == record.id).values(changed_at=saved))
    db.commit()
    world.ids = {"agencies": ids, "records": record_ids, "tag": tag}


def mismatches(db: Any, world: World, people: list[uuid.UUID]) -> Iterator[str]:
    """Every difference between the surfaces and the oracle, for every reader (lazily: the
    planted-bug search stops at the first)."""
    ids, record_ids = world.ids["agencies"], world.ids["records"]
    readers: list[tuple[Any, Actor]] = [((a, r), _reader(ids[a], r)) for a in range(N_AGENCIES) for r in ROLES]
    readers += [(n, _reader(ids[1], "viewer", people[n])) for n in range(2)]
    for key, actor in readers:
        expected = oracle(world, key)
        expected_ids = {record_ids[i]: masks for i, masks in expected.items()}
        listed, _ = queries.list_records(db, actor, RecordFilter(q=f"Oracle {world.ids['tag']}", limit=500))
        got = {r.id: set(a.masked.values()) for r, a in listed if r.id in set(record_ids)}
        if got != expected_ids:
            yield (
                f"search/list for reader {key}: expected {_names(expected_ids, record_ids)}, got {_names(got, record_ids)}"
            )
        for index, record_id in enumerate(record_ids):
            try:
                _, access = queries.get_record(db, actor, record_id)
                detail: set[str] | None = set(access.masked.values())
            except NotFound:
                detail = None
            if detail != expected_ids.get(record_id):
                yield (
                    f"detail of record {index} for reader {key}: expected {expected_ids.get(record_id)}, got {detail}"
                )
        tiers = queries.facets(db, actor, RecordFilter(q=f"Oracle {world.ids['tag']}"))["tier"]
        expected_tiers: dict[str, int] = {}
        for i in expected:
            expected_tiers[world.records[i].tier] = expected_tiers.get(world.records[i].tier, 0) + 1
        if tiers != expected_tiers:
            yield (f"facets for reader {key}: expected {expected_tiers}, got {tiers}")
        exported = queries.export_records(db, actor, RecordFilter(q=f"Oracle {world.ids['tag']}"))
        if {r.id: set(a.masked.values()) for r, a in exported} != expected_ids:
            yield (f"export for reader {key} differs")
        mapped = queries.map_layer(db, actor, RecordFilter(q=f"Oracle {world.ids['tag']}"))
        if {r.id for r, _ in mapped} != set(expected_ids):
            yield (f"map layer for reader {key} differs")
        yield from _history_and_files(db, world, key, actor)
        counted = queries.list_records(db, actor, RecordFilter(owner_agency_id=ids[0], limit=1))[1]
        if counted != sum(1 for i in expected if world.records[i].owner == 0):
            yield (f"count of agency 0's records for reader {key}: got {counted}")
        countable = select(CountableRecord.id).where(CountableRecord.id.in_(record_ids))
        population = set(db.scalars(scope(actor, AGGREGATE, countable)))
        if population != {record_ids[i] for i in oracle_countable(world, key)}:
            yield (f"aggregate population for reader {key}: expected {sorted(oracle_countable(world, key))}")


def _history_and_files(db: Any, world: World, key: Any, actor: Actor) -> Iterator[str]:
    """History (each version under its own rules) and attachments (hidden with the record,
    masked by label) for one reader."""
    expected = oracle_history(world, key)
    visible = oracle(world, key)
    for index, record_id in enumerate(world.ids["records"]):
        try:
            _, versions = queries.history(db, actor, record_id)
            got: list[tuple[str, set[str]]] | None = [(v.tier, set(a.masked.values())) for v, a in versions]
        except NotFound:
            got = None
        if got != expected.get(index):
            yield (f"history of record {index} for reader {key}: expected {expected.get(index)}, got {got}")
        files = queries.attachments_of(db, actor, [record_id])[record_id]
        if len(files) != (1 if index in visible else 0):
            yield (f"attachments of record {index} for reader {key}: got {len(files)}")
        for attachment in files:
            label = ATTACHMENT_LABEL[world.records[index].category]
            try:
                queries.attachment_content(db, actor, record_id, attachment.id)
                downloadable = True
            except PermissionDenied:
                downloadable = False
            if index in visible and downloadable != (label not in visible[index]):
                yield (f"attachment of record {index} for reader {key}: downloadable={downloadable}")


def _names(found: dict[uuid.UUID, set[str]], record_ids: list[uuid.UUID]) -> list[int]:
    return sorted(record_ids.index(r) for r in found)


@pytest.fixture(scope="module")
def people(session_factory) -> list[uuid.UUID]:
    with session_factory() as db:
        users = db.scalars(
            select(User.id).where(User.username.in_(["analyst", "viewer"])).order_by(User.username)
        ).all()
    assert len(users) == 2
    return list(users)


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(world=worlds())
def test_every_surface_matches_the_oracle(session_factory, people, world):
    with session_factory() as db:
        build(db, world, people)
        assert list(mismatches(db, world, people)) == []


def _aged(world: World) -> World:
    """Every clause keeps data 10 days, every record was saved 20 days ago: only a predicate
    that ignores retention shows a partner anything but CLEAR, GREEN-by-partnership or RED."""
    for agreement in world.agreements:
        for clause in agreement.clauses:
            clause.retention_days = 10
    for record in world.records:
        record.age_days = 20
    return world


@pytest.mark.parametrize("bug", ["tier ignored", "retention ignored"])
def test_the_comparison_catches_a_planted_bug(session_factory, people, monkeypatch, bug):
    """Plant a bug — grants ignore the record's tier (as if every record were GREEN), or
    their clause's retention period (as if every record had just been saved) — and the same
    comparison must find a leak."""
    from datetime import datetime

    from hypothesis import find
    from sqlalchemy import literal

    from accord.agreements import queries as agreement_queries
    from accord.core.db import UTCDateTime
    from accord.sharing.policy import forget_predicates

    original = agreement_queries.covering_grant_exists
    planted = (
        {"tier": literal(RANK["GREEN"])}
        if bug == "tier ignored"
        else {"shared_at": literal(datetime(2100, 1, 1, tzinfo=UTC), UTCDateTime())}
    )

    def leaky(**kwargs: Any) -> Any:
        return original(**{**kwargs, **planted})

    monkeypatch.setattr(agreement_queries, "covering_grant_exists", leaky)
    forget_predicates()  # predicates are cached per caller: build them again with the bug

    def leaks(world: World) -> bool:
        with session_factory() as db:
            build(db, world, people)
            return next(mismatches(db, world, people), None) is not None

    no_shrinking = settings(
        max_examples=150,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
        phases=[Phase.generate],
        derandomize=True,  # the same worlds every run: the test cannot pass or fail by luck
    )
    try:
        found = find(worlds() if bug == "tier ignored" else worlds().map(_aged), leaks, settings=no_shrinking)
    finally:
        monkeypatch.undo()
        forget_predicates()  # and without it for the tests that follow
    assert found.records
