"""The audit log is a hash chain and a Merkle tree with signed checkpoints: any edit,
deletion, reorder or truncation, and any forged checkpoint, is found and the first bad
entry named; concurrent writers never fork the chain."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import uuid
from collections.abc import Iterator
from datetime import UTC
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from accord.audit import chain
from accord.audit.service import checkpoint_now, current_signer, record_event
from accord.audit.verify import verify_chain
from accord.core.db import make_engine, make_session_factory
from accord.migrate import upgrade
from tests.conftest import BACKEND, PG_URL, _postgres_schema

# --- the Merkle tree against RFC 9162's recursive definition ----------------------------------


def _mth(leaves: list[bytes]) -> bytes:
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return chain.node_hash(_mth(leaves[:k]), _mth(leaves[k:]))


def _leaves(n: int, salt: int = 0) -> list[bytes]:
    return [chain.leaf_hash(hashlib.sha256(f"{salt}:{i}".encode()).hexdigest()) for i in range(n)]


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 80), st.data())
def test_tree_root_frontier_and_consistency_proofs(n, data):
    leaves = _leaves(n)
    frontier: list[tuple[int, bytes]] = []
    for i, leaf in enumerate(leaves):
        frontier = chain.append_leaf(frontier, leaf)
        assert chain.frontier_root(frontier) == chain.tree_root(leaves[: i + 1]) == _mth(leaves[: i + 1])
    m = data.draw(st.integers(0, n))
    proof = chain.consistency_proof(leaves, m)
    old, new = _mth(leaves[:m]), _mth(leaves)
    assert chain.verify_consistency(m, n, old, new, proof)
    if 0 < m < n:
        rewritten = _mth([*leaves[: m - 1], _leaves(1, salt=99)[0], *leaves[m:]])  # history changed
        assert not chain.verify_consistency(m, n, old, rewritten, proof)
        assert not chain.verify_consistency(m, n, _mth(_leaves(m, salt=7)), new, proof)
        if proof:
            assert not chain.verify_consistency(m, n, old, new, [bytes(32), *proof[1:]])


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 200), st.data())
def test_stretches_hashed_apart_join_into_the_same_tree(n, data):
    """How parallel verify folds the tree: each range's aligned subtrees, joined in order."""
    leaves = _leaves(n)
    cuts = sorted(set(data.draw(st.lists(st.integers(1, n - 1), max_size=6)) if n > 1 else []))
    frontier: list[tuple[int, bytes]] = []
    for start, end in zip([0, *cuts], [*cuts, n], strict=True):
        edge: list[tuple[int, int, bytes]] = []
        for position in range(start, end):
            chain.push_aligned(edge, position, leaves[position])
            partial = list(frontier)
            for _, size, node in edge:
                chain.push_subtree(partial, size, node)
            assert chain.frontier_root(partial) == _mth(leaves[: position + 1])
        for _, size, node in edge:
            chain.push_subtree(frontier, size, node)
    assert chain.frontier_root(frontier) == _mth(leaves)


_TEXT = st.text(st.characters(blacklist_categories=["Cs"]), max_size=10)


@settings(max_examples=300, deadline=None)
@given(
    st.fixed_dictionaries(
        {name: st.none() | st.uuids() for name in ("actor_user_id", "actor_agency_id", "agency_id", "clause_id")}
        | {name: st.none() | _TEXT for name in ("object_type", "object_id", "client_addr", "request_id")}
        | {
            "id": st.uuids(),
            "occurred_at": st.datetimes(timezones=st.just(UTC)),
            "actor_username": _TEXT,
            "action": _TEXT,
            "outcome": _TEXT,
            "chain_index": st.integers(0, 2**62),
            "details": st.dictionaries(_TEXT, st.none() | st.integers() | _TEXT | st.lists(_TEXT, max_size=2)),
        }
    )
)
def test_the_quick_canonical_json_of_a_new_event_is_the_general_one(event):
    try:
        quick = chain._quick_canonical(event)
    except TypeError:  # years before 1000: the general path writes them
        assert event["occurred_at"].year < 1000
        return
    assert quick == chain.canonical(event)


# --- a log of its own per test (tampering must not touch the suite's database) -------------------


@pytest.fixture
def log(tmp_path) -> Iterator[tuple[str, sessionmaker[Session]]]:
    if BACKEND == "sqlite":
        url = f"sqlite:///{tmp_path / 'audit.db'}"
        schema = None
    else:
        schema = f"accord_audit_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        _postgres_schema(PG_URL, schema)
        url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    upgrade(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    for batch in range(5):
        with factory() as db:
            for i in range(6):
                record_event(db, actor=None, action="test.event", username="tester", details={"batch": batch, "i": i})
            db.commit()
    yield url, factory
    engine.dispose()
    if schema:
        _postgres_schema(PG_URL, schema, drop_only=True)


def _tamper(db: Session, *statements: str) -> None:
    """What an operator with database access can do: lift the append-only triggers."""
    if db.get_bind().dialect.name == "postgresql":
        db.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
        for s in statements:
            db.execute(text(s))
        db.execute(text("ALTER TABLE audit_events ENABLE TRIGGER USER"))
    else:
        db.execute(text("DROP TRIGGER audit_events_no_update"))
        db.execute(text("DROP TRIGGER audit_events_no_delete"))
        for s in statements:
            db.execute(text(s))
        db.execute(
            text(
                "CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events BEGIN SELECT RAISE(ABORT, 'x'); END"
            )
        )
        db.execute(
            text(
                "CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events BEGIN SELECT RAISE(ABORT, 'x'); END"
            )
        )
    db.commit()


def _verdict(factory: sessionmaker[Session]) -> Any:
    """The verdict of one walk, checked against a walk by two processes over ranges of
    seven events (so the log's 30 events cross several seams)."""
    from accord.audit import verify

    with factory() as db:
        serial = verify_chain(db, current_signer())
    with factory() as db, pytest.MonkeyPatch.context() as patch:
        patch.setattr(verify, "RANGE", 7)
        parallel = verify_chain(db, current_signer(), jobs=2)
    assert parallel == serial
    return serial


def _seq_at(db: Session, index: int) -> int:
    return int(db.scalar(text("SELECT seq FROM audit_events WHERE chain_index = :i"), {"i": index}))


def test_an_untouched_log_verifies(log):
    _, factory = log
    verdict = _verdict(factory)
    assert verdict.ok and verdict.first_problem is None
    assert verdict.events == 30 and verdict.checkpoints >= 1
    with factory() as db:
        indexes = db.scalars(text("SELECT chain_index FROM audit_events ORDER BY seq")).all()
    assert list(indexes) == list(range(30))


@pytest.mark.parametrize(
    "change",
    [
        'UPDATE audit_events SET details = \'{"batch": 9, "i": 9}\' WHERE chain_index = 7',
        "UPDATE audit_events SET actor_username = 'someone-else' WHERE chain_index = 7",
        "UPDATE audit_events SET action = 'test.harmless' WHERE chain_index = 7",
    ],
)
def test_an_edit_is_found_and_named(log, change):
    _, factory = log
    with factory() as db:
        seq = _seq_at(db, 7)
        _tamper(db, change)
    problem = _verdict(factory).first_problem
    assert problem.kind == "edited" and problem.chain_index == 7 and problem.seq == seq


# Verify builds each event's canonical JSON from the stored text (audit.verify._raw_log);
# only where that does not give the stored hash does it read the row through the mapped
# types. Its verdicts must be exactly those of the typed reading alone.

_AWKWARD_TEXT = st.text(st.characters(blacklist_categories=["Cs"]), max_size=12)
_DETAILS = st.dictionaries(
    _AWKWARD_TEXT,
    st.none()
    | st.booleans()
    | st.integers(-(2**60), 2**60)
    | st.floats(allow_nan=False, allow_infinity=False)
    | _AWKWARD_TEXT
    | st.lists(_AWKWARD_TEXT, max_size=3),
    max_size=4,
)
_EVENTS = st.fixed_dictionaries(
    {
        "action": _AWKWARD_TEXT.filter(bool),
        "username": _AWKWARD_TEXT.filter(bool),
        "outcome": st.sampled_from(["success", "failure", "denied"]),
        "agency_id": st.none() | st.uuids(),
        "clause_id": st.none() | st.uuids(),
        "object_type": st.none() | _AWKWARD_TEXT,
        "object_id": st.none() | _AWKWARD_TEXT,
        "client_addr": st.none() | _AWKWARD_TEXT,
        "details": _DETAILS,
    }
)


def _typed_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make verify read every row through the mapped types (the definition)."""
    from accord.audit import rawlog

    real = rawlog.read
    monkeypatch.setattr(rawlog, "read", lambda db, *bounds: ((*row[:4], None) for row in real(db, *bounds)))


def _no_typed_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    from accord.audit import rawlog

    def refuse(*_: Any) -> str:
        raise AssertionError("the quick canonical JSON did not give the stored hash")

    monkeypatch.setattr(rawlog, "typed_hash", refuse)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=st.lists(_EVENTS, min_size=1, max_size=8))
def test_the_quick_canonical_json_is_the_written_one_for_any_values(log, events):
    _, factory = log
    with factory() as db:
        for event in events:
            # PostgreSQL text and JSON cannot hold NUL; SQLite can, and is tested with it.
            if BACKEND != "sqlite" and "\\u0000" in json.dumps(event, default=str):
                continue
            record_event(db, actor=None, **event)
        db.commit()
    with pytest.MonkeyPatch.context() as patch:
        _no_typed_reads(patch)
        verdict = _verdict(factory)
    assert verdict.ok, verdict.first_problem


def test_numbers_come_back_as_written_so_their_events_verify(log):
    """JSONB would return 1e16 as an integer and -0.0 as 0 (migration 0009)."""
    _, factory = log
    with factory() as db:
        record_event(
            db, actor=None, action="test.numbers", username="tester", details={"a": 1e16, "b": -0.0, "c": 1e-7}
        )
        db.commit()
    verdict = _verdict(factory)
    assert verdict.ok and verdict.events == 31, verdict.first_problem


_SHAPES = {
    "sqlite": [
        "UPDATE audit_events SET id = upper(id) WHERE chain_index = 7",
        "UPDATE audit_events SET id = substr(id, 1, 31) WHERE chain_index = 7",
        "UPDATE audit_events SET occurred_at = substr(occurred_at, 1, 23) || '999' WHERE chain_index = 7",
        "UPDATE audit_events SET occurred_at = substr(occurred_at, 1, 10) || 'T' || substr(occurred_at, 12) "
        "WHERE chain_index = 7",
        "UPDATE audit_events SET occurred_at = substr(occurred_at, 1, 19) WHERE chain_index = 7",
        "UPDATE audit_events SET action = 5 WHERE chain_index = 7",
        'UPDATE audit_events SET details = \'{"i": 0,  "batch": 1}\' WHERE chain_index = 6',
        "UPDATE audit_events SET details = 'null' WHERE chain_index = 7",
        "UPDATE audit_events SET object_type = X'6162' WHERE chain_index = 7",
    ],
    "postgresql": [
        "UPDATE audit_events SET occurred_at = occurred_at + interval '0.0004 seconds' WHERE chain_index = 7",
        "UPDATE audit_events SET occurred_at = occurred_at + interval '1 millisecond' WHERE chain_index = 7",
        'UPDATE audit_events SET details = \'{"i": 0,  "batch": 1}\' WHERE chain_index = 6',
        "UPDATE audit_events SET details = 'null' WHERE chain_index = 7",
        "UPDATE audit_events SET agency_id = gen_random_uuid() WHERE chain_index = 7",
    ],
}


@pytest.mark.parametrize("change", _SHAPES[BACKEND])
def test_stored_values_of_another_shape_get_the_verdict_of_the_typed_reading(log, change, monkeypatch):
    _, factory = log
    with factory() as db:
        _tamper(db, change)
    quick = _verdict(factory)
    _typed_only(monkeypatch)
    typed = _verdict(factory)
    assert (quick.ok, quick.events) == (typed.ok, typed.events)
    if not typed.ok:
        assert (quick.first_problem.kind, quick.first_problem.seq) == (
            typed.first_problem.kind,
            typed.first_problem.seq,
        )


def test_appends_while_the_log_is_walked_leave_it_whole(log, monkeypatch):
    """On PostgreSQL the head row read after the walk already counts them."""
    from accord.audit import rawlog

    _, factory = log
    real = rawlog.read

    def walk_then_append(db: Session) -> Iterator[Any]:
        yield from real(db)
        with factory() as other:
            for i in range(3):
                record_event(other, actor=None, action="test.during-verify", username="tester", details={"i": i})
            other.commit()

    monkeypatch.setattr(rawlog, "read", walk_then_append)
    with factory() as db:
        verdict = verify_chain(db, current_signer())
    assert verdict.ok, verdict.first_problem
    assert verdict.events == 30
    monkeypatch.setattr(rawlog, "read", real)
    assert _verdict(factory).events == 33


def test_events_the_head_never_counted_are_found(log):
    _, factory = log
    with factory() as db:
        before_last = db.scalar(text("SELECT hash FROM audit_events WHERE chain_index = 28"))
        db.execute(text("UPDATE audit_chain_head SET size = 29, head_hash = :h"), {"h": before_last})
        db.commit()
    problem = _verdict(factory).first_problem
    assert problem.kind == "head_mismatch" and "30 events" in problem.message and "counts 29" in problem.message


def test_a_head_pointing_at_no_event_is_found(log):
    _, factory = log
    with factory() as db:
        db.execute(text("UPDATE audit_chain_head SET head_hash = :h"), {"h": "ab" * 32})
        db.commit()
    problem = _verdict(factory).first_problem
    assert problem.kind == "head_mismatch" and "position 29" in problem.message


def test_a_deletion_is_found_and_named(log):
    _, factory = log
    with factory() as db:
        seq = _seq_at(db, 6)
        _tamper(db, "DELETE FROM audit_events WHERE chain_index = 5")
    problem = _verdict(factory).first_problem
    assert problem.kind in ("out_of_order", "broken_link") and problem.seq == seq
    assert "deleted" in problem.message


@pytest.mark.parametrize(
    "change",
    [
        "UPDATE audit_events SET prev_hash = 'not a hash' WHERE seq = 8",
        "UPDATE audit_events SET prev_hash = NULL WHERE seq = 15",
        "UPDATE audit_events SET prev_hash = upper(prev_hash) WHERE seq = 8",
        *(["UPDATE audit_events SET chain_index = '7x' WHERE seq = 8"] if BACKEND == "sqlite" else []),
    ],
)
def test_a_broken_link_where_a_parallel_range_starts_is_named_as_by_one_walk(log, change):
    """Ranges of seven seqs (see _verdict): seq 8 and 15 start one; the worker cannot
    start there, so the range is walked after the events before it."""
    _, factory = log
    with factory() as db:
        _tamper(db, change)
    problem = _verdict(factory).first_problem
    assert problem.kind in ("broken_link", "out_of_order") and problem.seq in (8, 15)


def test_a_reorder_is_found_and_named(log):
    _, factory = log
    with factory() as db:
        a, b = _seq_at(db, 3), _seq_at(db, 4)
        _tamper(
            db,
            f"UPDATE audit_events SET seq = -1 WHERE seq = {a}",
            f"UPDATE audit_events SET seq = {a} WHERE seq = {b}",
            f"UPDATE audit_events SET seq = {b} WHERE seq = -1",
        )
    problem = _verdict(factory).first_problem
    assert problem.kind == "out_of_order" and problem.seq == a and problem.chain_index == 4


def test_a_truncation_is_found_even_with_the_head_rewritten(log):
    _, factory = log
    with factory() as db:
        checkpoint = checkpoint_now(db)
        db.commit()
        assert checkpoint is not None and checkpoint.tree_size == 30
        head = db.scalar(text("SELECT hash FROM audit_events WHERE chain_index = 26"))
        _tamper(db, "DELETE FROM audit_events WHERE chain_index >= 27")
        db.execute(text("UPDATE audit_chain_head SET size = 27, head_hash = :h"), {"h": head})
        db.commit()
    problem = _verdict(factory).first_problem
    assert problem.kind == "truncated" and problem.chain_index == 27 and problem.checkpoint_size == 30


def test_a_forged_checkpoint_is_found(log):
    _, factory = log
    with factory() as db:
        db.execute(text("UPDATE audit_checkpoints SET root_hash = :r"), {"r": "ab" * 32})
        db.commit()
    problem = _verdict(factory).first_problem
    assert problem.kind == "bad_signature"


def test_a_checkpoint_signed_with_another_key_is_found(log):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from accord.audit.service import checkpoint_statement
    from accord.audit.signing import Signer, key_id

    _, factory = log
    forger = Ed25519PrivateKey.generate()
    other = Signer(forger, {key_id(forger.public_key()): forger.public_key()})
    with factory() as db:
        row = db.execute(text("SELECT tree_size, root_hash, head_hash, signed_at FROM audit_checkpoints")).first()
        statement = checkpoint_statement(row.tree_size, row.root_hash, row.head_hash, verify_time(row.signed_at))
        db.execute(
            text("UPDATE audit_checkpoints SET key_id = :k, signature = :s"),
            {"k": other.key_id, "s": other.sign(statement)},
        )
        db.commit()
    problem = _verdict(factory).first_problem
    assert problem.kind == "bad_signature" and other.key_id in problem.message


def verify_time(value: Any) -> Any:
    from accord.core.time import as_utc

    return as_utc(value) if not isinstance(value, str) else value


def test_a_rolled_back_savepoint_takes_its_events_with_it(log):
    _, factory = log
    with factory() as db:
        record_event(db, actor=None, action="test.kept", username="tester")
        with pytest.raises(RuntimeError), db.begin_nested():
            record_event(db, actor=None, action="test.dropped", username="tester")
            raise RuntimeError("the change failed")
        db.commit()
        actions = db.scalars(text("SELECT action FROM audit_events WHERE action LIKE 'test.%' ORDER BY seq")).all()
    assert actions[-1] == "test.kept" and "test.dropped" not in actions
    assert _verdict(factory).ok


def _child_factory(url: str) -> sessionmaker[Session]:
    """A writer process of its own, set up as the server's would be: the same settings, so
    a checkpoint it happens to sign (every 1,000 events or 60 s) uses the same key."""
    from accord.audit.service import configure
    from accord.config import Settings
    from tests.conftest import TEST_SECRET

    configure(Settings(env="test", database_url=url, secret_key=TEST_SECRET))
    return make_session_factory(make_engine(url))


def _write_events(url: str, worker: int, count: int) -> None:
    factory = _child_factory(url)
    for i in range(count):
        with factory() as db:
            record_event(db, actor=None, action="test.concurrent", username=f"worker-{worker}", details={"i": i})
            db.commit()


def test_concurrent_writers_never_fork_the_chain(log):
    """Several processes append at once (on PostgreSQL, row locks on the chain head; on
    SQLite, its one write lock): every event is chained exactly once."""
    url, factory = log
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_write_events, args=(url, w, 40)) for w in range(4)]
    for p in workers:
        p.start()
    for p in workers:
        p.join(120)
        assert p.exitcode == 0
    verdict = _verdict(factory)
    assert verdict.ok, verdict.first_problem
    assert verdict.events == 30 + 4 * 40


def test_the_suites_own_log_verifies_through_the_api_and_the_cli(client, as_user, run_cli):
    """Every event the whole suite wrote so far is chained and every checkpoint verifies."""
    headers, _ = as_user("auditor", "TCEMA")
    verified = client.get("/api/v1/audit/verify", headers=headers)
    assert verified.status_code == 200, verified.text
    body = verified.json()
    assert body["ok"] is True and body["first_problem"] is None and body["events"] > 0
    viewer, _ = as_user("viewer", "TCEMA")
    assert client.get("/api/v1/audit/verify", headers=viewer).status_code == 403
    result = run_cli("audit", "verify")
    assert result.exit_code == 0, result.output
    assert "audit chain intact" in result.output


def test_the_cli_names_the_first_bad_entry_and_exits_non_zero(log, run_cli):
    url, factory = log
    with factory() as db:
        seq = _seq_at(db, 2)
        _tamper(db, "UPDATE audit_events SET client_addr = '10.9.9.9' WHERE chain_index = 2")
    result = run_cli("audit", "verify", env={"ACCORD_DATABASE_URL": url})
    assert result.exit_code == 1, result.exception
    assert f"event seq {seq} (position 2) was changed" in result.output


@pytest.mark.parametrize("jobs", ["0", "65", "many"])
def test_a_bad_number_of_verify_processes_is_named(run_cli, jobs):
    result = run_cli("audit", "verify", "--jobs", jobs)
    assert result.exit_code == 2
    assert "--jobs" in result.output and "Traceback" not in result.output


def test_a_partner_checks_two_kept_checkpoints_with_a_consistency_proof(client, as_user, run_cli, db):
    """What a partner agency does: keep signed checkpoints, later fetch a newer one and a
    proof of a few hashes that the newer log extends the older, and check both itself."""
    import base64

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    headers, _ = as_user("auditor", "TCEMA")
    assert run_cli("audit", "checkpoint").exit_code == 0
    kept = client.get("/api/v1/audit/checkpoints", headers=headers).json()
    older = kept["checkpoints"][-1]
    as_user("viewer", "TCEMA")  # more events: a user is created
    # Signed now by the CLI, or already in that commit if 60 seconds had passed since the last.
    assert run_cli("audit", "checkpoint").exit_code == 0
    fetched = client.get("/api/v1/audit/checkpoints", params={"since_size": older["tree_size"]}, headers=headers)
    newer = fetched.json()["checkpoints"][-1]
    assert newer["tree_size"] > older["tree_size"]
    for checkpoint in (older, newer):
        public = Ed25519PublicKey.from_public_bytes(
            base64.b64decode(fetched.json()["public_keys"][checkpoint["key_id"]])
        )
        signed = checkpoint["signed_statement"].encode()
        public.verify(base64.b64decode(checkpoint["signature"]), signed)  # raises if forged
        assert json.loads(signed)["root_hash"] == checkpoint["root_hash"]
        assert json.loads(signed)["tree_size"] == checkpoint["tree_size"]
    proof = client.get(
        "/api/v1/audit/consistency",
        params={"first": older["tree_size"], "second": newer["tree_size"]},
        headers=headers,
    ).json()
    assert proof["first_root"] == older["root_hash"] and proof["second_root"] == newer["root_hash"]
    assert len(proof["proof"]) <= 2 * newer["tree_size"].bit_length()
    assert chain.verify_consistency(
        older["tree_size"],
        newer["tree_size"],
        bytes.fromhex(older["root_hash"]),
        bytes.fromhex(newer["root_hash"]),
        [bytes.fromhex(h) for h in proof["proof"]],
    )


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"first": 5, "second": 4}, "second"),
        ({"first": 0, "second": 2**60}, "second"),
        ({"first": -1, "second": 1}, "first"),
    ],
)
def test_bad_consistency_requests_name_the_field(client, as_user, params, field):
    from tests.conftest import assert_error

    headers, _ = as_user("auditor", "TCEMA")
    body = assert_error(client.get("/api/v1/audit/consistency", params=params, headers=headers), 422, "invalid")
    assert field in {f["field"] for f in body["fields"]} or field in body["message"]


def test_an_audit_write_failure_refuses_the_change_and_alerts_the_administrators(log, caplog):
    from accord.core.errors import AuditUnavailable
    from accord.directory.models import Agency

    _, factory = log
    with factory() as db:
        db.execute(text("DELETE FROM audit_chain_head"))  # the chain cannot be appended to
        db.commit()
    with factory() as db, caplog.at_level("CRITICAL", logger="accord.audit"):
        db.add(Agency(name="Never saved", short_name="NEVER", kind="police", level="local", jurisdiction_name="x"))
        record_event(db, actor=None, action="directory.agency.create", username="tester")
        with pytest.raises(AuditUnavailable):
            db.commit()
    with factory() as db:
        assert db.scalar(text("SELECT count(*) FROM agencies WHERE short_name = 'NEVER'")) == 0
        alert = db.execute(text("SELECT kind, message FROM audit_alerts")).one()
    assert alert.kind == "audit_write_failed" and "the change they recorded was refused" in alert.message
    assert any("audit_write_failed" in r.getMessage() for r in caplog.records)


def test_a_broken_chain_found_by_verify_alerts_and_is_itself_logged(log):
    from accord.audit.verify import verify_and_report

    _, factory = log
    with factory() as db:
        _tamper(db, "UPDATE audit_events SET action = 'test.rewritten' WHERE chain_index = 4")
    with factory() as db:
        verdict = verify_and_report(db, actor=None, username="tester")
        db.commit()
        assert not verdict.ok
        alert = db.execute(text("SELECT kind, message FROM audit_alerts")).one()
        check = db.execute(text("SELECT outcome FROM audit_events WHERE action = 'audit.verify'")).one()
    assert alert.kind == "verify_failed" and "edited" in alert.message
    assert check.outcome == "failure"


def test_platform_administrators_see_and_acknowledge_alerts(client, as_user, session_factory):
    from accord.audit.alerts import raise_alert
    from tests.conftest import assert_error

    with session_factory() as db:
        raise_alert(db.get_bind(), kind="verify_failed", message="a test alert")
    admin, _ = as_user("platform_admin", None)
    open_alerts = client.get("/api/v1/audit/alerts", params={"open_only": True}, headers=admin).json()
    mine = next(a for a in open_alerts if a["message"] == "a test alert")
    auditor, _ = as_user("auditor", "TCEMA")
    assert client.get("/api/v1/audit/alerts", headers=auditor).status_code == 403
    done = client.post(f"/api/v1/audit/alerts/{mine['id']}/acknowledge", headers=admin)
    assert done.status_code == 200 and done.json()["acknowledged_by"]
    still_open = client.get("/api/v1/audit/alerts", params={"open_only": True}, headers=admin).json()
    assert mine["id"] not in {a["id"] for a in still_open}
    missing = client.post(f"/api/v1/audit/alerts/{uuid.uuid4()}/acknowledge", headers=admin)
    assert_error(missing, 404, "not_found")


def test_the_audit_pages_verify_the_chain_and_list_alerts(client, make_user, session_factory):
    from sqlalchemy import select

    from accord.audit.alerts import raise_alert
    from accord.audit.models import AuditAlert
    from tests.conftest import ARTIFACTS, browser_login, csrf_from

    auditor = make_user("auditor", "TCEMA")
    assert browser_login(client, auditor["username"], auditor["password"]).status_code == 200
    trail = client.get("/audit").text
    assert 'href="/audit/verify"' in trail and 'href="/audit/alerts"' not in trail
    page = client.get("/audit/verify")
    assert page.status_code == 200 and "The audit chain is intact" in page.text
    assert client.get("/audit/alerts").status_code == 403
    (ARTIFACTS / f"audit-verify-{BACKEND}.html").write_text(page.text)

    with session_factory() as db:
        raise_alert(db.get_bind(), kind="audit_write_failed", message="a page alert")
    admin = make_user("platform_admin", None)
    client.cookies.clear()
    assert browser_login(client, admin["username"], admin["password"]).status_code == 200
    alerts = client.get("/audit/alerts")
    assert "a page alert" in alerts.text
    with session_factory() as db:
        alert_id = db.scalar(select(AuditAlert.id).where(AuditAlert.message == "a page alert"))
    refused = client.post(f"/audit/alerts/{alert_id}/acknowledge", data={"csrf_token": "wrong"})
    assert refused.status_code == 403
    done = client.post(
        f"/audit/alerts/{alert_id}/acknowledge", data={"csrf_token": csrf_from(alerts.text)}, follow_redirects=True
    )
    assert done.status_code == 200 and "Alert acknowledged" in done.text


def _write_agencies_until_killed(url: str, worker: int, conn: Any) -> None:
    """Create agencies one transaction at a time and report each id once its commit
    returned (acknowledged); the parent kills this process at a random moment."""
    from accord.directory.schemas import AgencyCreate
    from accord.directory.service import create_agency
    from accord.seed import system_actor

    factory = _child_factory(url)
    actor = system_actor("crash-test")
    for i in range(10_000):
        with factory() as db:
            short = f"K{worker}X{i}"
            agency = create_agency(
                db,
                actor=actor,
                data=AgencyCreate(
                    name=f"Crash {worker}-{i}",
                    short_name=short,
                    kind="police",
                    level="local",
                    jurisdiction_name="Crash",
                ),
            )
            db.commit()
        conn.send(str(agency.id))


def test_a_process_killed_mid_write_leaves_every_acknowledged_write_once_with_its_event(log):
    """SIGKILL at random moments while writing: every acknowledged change is present exactly
    once with its audit event, nothing half-written remains, and the chain verifies."""
    import random
    import signal
    import time

    url, factory = log
    context = multiprocessing.get_context("spawn")
    acknowledged: list[str] = []
    rng = random.Random(20261122)
    for worker in range(4):
        receiver, sender = context.Pipe(duplex=False)
        process = context.Process(target=_write_agencies_until_killed, args=(url, worker, sender))
        process.start()
        # Start-up takes seconds on a loaded machine: the random moment is counted from the
        # writer's first acknowledged write, so every writer is killed mid-stream.
        if receiver.poll(60):
            acknowledged.append(receiver.recv())
        deadline = time.monotonic() + 0.3 + rng.random() * 1.7
        while time.monotonic() < deadline:
            if receiver.poll(0.01):
                acknowledged.append(receiver.recv())
        os.kill(process.pid, signal.SIGKILL)
        process.join(10)
        while receiver.poll(0):
            acknowledged.append(receiver.recv())
    assert len(acknowledged) >= 4, "the writers were killed before writing anything"
    with factory() as db:
        created = db.execute(text("SELECT id, short_name FROM agencies WHERE jurisdiction_name = 'Crash'")).all()
        # This log's own database: every agency-creation event in it is a crash writer's.
        events = db.scalars(text("SELECT object_id FROM audit_events WHERE action = 'directory.agency.create'")).all()
    created_ids = [str(uuid.UUID(str(row.id))) for row in created]
    assert len(set(created_ids)) == len(created_ids)
    assert set(acknowledged) <= set(created_ids)  # no acknowledged write lost
    assert sorted(events) == sorted(created_ids)  # each change has exactly one event, and no event lacks its change
    verdict = _verdict(factory)
    assert verdict.ok, verdict.first_problem
