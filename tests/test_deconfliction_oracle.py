"""Deconfliction against a small pure-Python oracle (``geo.overlap`` on the footprints
and windows, other agencies only), and two registrations at the same moment that must
still see each other — on both databases."""

from __future__ import annotations

import random
import threading
import uuid
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest

from accord.geo.overlap import footprint_of, overlaps, time_overlap
from accord.operations.deconfliction.schemas import PlannedOperationCreate
from tests import test_deconfliction as base
from tests.conftest import BACKEND
from tests.test_deconfliction import BASE, conflicts, iso, moved, point, spot, square

world = base.world  # the same three agencies and people, made once for this module


def _random_operation(rng: random.Random, centre: tuple[float, float]) -> dict[str, Any]:
    at = moved(centre, rng.uniform(0, 360), rng.uniform(0, 1500))
    start = BASE + timedelta(minutes=30 * rng.randint(0, 16))
    end = start + timedelta(minutes=30 * rng.randint(1, 10))
    body: dict[str, Any] = {
        "kind": rng.choice(["search_warrant", "surveillance", "drone_flight", "controlled_burn"]),
        "title": "Oracle operation",
        "contact_name": "Oracle contact",
        "contact_phone": f"+1-555-01{rng.randint(10, 99)}-000",
        "starts_at": iso(start),
        "ends_at": iso(end),
    }
    if rng.random() < 0.7:
        body |= {"location": point(at), "radius_m": rng.choice([50, 150, 400, 800])}
    else:
        body |= {"area": square(at, rng.choice([100, 300, 700]))}
    return body


def _oracle(operations: list[dict[str, Any]]) -> dict[str, Counter[tuple[str, str, str]]]:
    """For each operation: (other agency, overlap start, overlap end) of every conflict."""
    from datetime import datetime

    expected: dict[str, Counter[tuple[str, str, str]]] = {op["id"]: Counter() for op in operations}
    shapes = {op["id"]: footprint_of(op["location"], op["radius_m"], op["area"]) for op in operations}
    for i, a in enumerate(operations):
        for b in operations[i + 1 :]:
            if a["owner_agency_id"] == b["owner_agency_id"] or "cancelled" in (a["status"], b["status"]):
                continue
            times = [datetime.fromisoformat(op[k]) for op in (a, b) for k in ("starts_at", "ends_at")]
            window = time_overlap(*times)
            if window is None or not overlaps(shapes[a["id"]], shapes[b["id"]]):
                continue
            span = (iso(window[0]), iso(window[1]))
            expected[a["id"]][(b["owner_agency_id"], *span)] += 1
            expected[b["id"]][(a["owner_agency_id"], *span)] += 1
    return expected


def _actual(client: Any, world: dict, operations: list[dict[str, Any]], owners: dict[str, str]) -> dict:
    found: dict[str, Counter[tuple[str, str, str]]] = {}
    for op in operations:
        items = conflicts(client, world["h"][owners[op["id"]]], op)
        found[op["id"]] = Counter(
            (c["other_agency"]["id"], iso(_parse(c["overlap"]["starts_at"])), iso(_parse(c["overlap"]["ends_at"])))
            for c in items
        )
    return found


def _parse(value: str) -> Any:
    from datetime import datetime

    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@pytest.mark.parametrize("seed", [1, 2])
def test_conflicts_match_the_oracle_after_registrations_and_cancellations(client, world, seed):
    rng = random.Random(seed)
    centre = spot()
    operations, owners = [], {}
    for _ in range(14):
        who = rng.choice(["a", "b", "c"])
        response = client.post(
            "/api/v1/planned-operations", json=_random_operation(rng, centre), headers=world["h"][who]
        )
        assert response.status_code == 201, response.text
        operations.append(response.json())
        owners[operations[-1]["id"]] = who
    expected = _oracle(operations)
    assert sum(sum(c.values()) for c in expected.values()) > 0, "the draw should hold some conflicts"
    assert _actual(client, world, operations, owners) == expected
    for op in rng.sample(operations, 3):
        response = client.patch(
            f"/api/v1/planned-operations/{op['id']}", json={"status": "cancelled"}, headers=world["h"][owners[op["id"]]]
        )
        assert response.status_code == 200
        op["status"] = "cancelled"
    moved_op = rng.choice([op for op in operations if op["status"] == "planned"])
    shifted = {"starts_at": iso(_parse(moved_op["starts_at"]) + timedelta(hours=2)),
               "ends_at": iso(_parse(moved_op["ends_at"]) + timedelta(hours=2))}  # fmt: skip
    response = client.patch(
        f"/api/v1/planned-operations/{moved_op['id']}", json=shifted, headers=world["h"][owners[moved_op["id"]]]
    )
    assert response.status_code == 200, response.text
    moved_op |= {k: response.json()[k] for k in shifted}
    expected = _oracle(operations)
    actual = _actual(client, world, operations, owners)
    assert {k: v for k, v in actual.items()} == {
        k: (v if next(o for o in operations if o["id"] == k)["status"] == "planned" else Counter())
        for k, v in expected.items()
    }


@pytest.mark.skipif(BACKEND != "postgresql", reason="SQLite has one writer at a time: a second write waits or fails")
def test_two_registrations_at_the_same_moment_still_see_each_other(world, session_factory):
    """Each registration searches for candidates under a lock held until its commit, so
    of two concurrent ones the later always finds the earlier."""
    from accord.authz import Actor, MembershipGrant
    from accord.authz.roles import BUILTIN_ROLES
    from accord.operations.deconfliction import queries, service

    commander = next(r for r in BUILTIN_ROLES if r.name == "commander").permissions

    def actor(agency: str) -> Actor:
        grant = MembershipGrant(world["ids"][agency], "commander", commander)
        return Actor(user_id=None, username=f"racer-{agency}", memberships=(grant,), auth_method="system")

    for _ in range(4):
        at = spot()
        barrier = threading.Barrier(2)
        made: dict[str, uuid.UUID] = {}
        errors: list[BaseException] = []

        def run(agency: str, at: tuple[float, float] = at, barrier: threading.Barrier = barrier) -> None:
            data = PlannedOperationCreate(
                kind="surveillance",
                title="Race",
                location=point(at),
                radius_m=300,
                contact_name="Racer",
                contact_phone="+1-555-0100-000",
                starts_at=BASE,
                ends_at=BASE + timedelta(hours=2),
            )
            try:
                with session_factory() as db:
                    barrier.wait(timeout=10)
                    operation = service.register_operation(db, actor=actor(agency), data=data)
                    made[agency] = operation.id
                    db.commit()
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=run, args=(agency,)) for agency in ("A", "B")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert not errors, errors
        with session_factory() as db:
            rows = queries.notices_of_operation(db, made["A"])
            assert {row.agency_id for row in rows} == {world["ids"]["A"], world["ids"]["B"]}
