"""Is "not allowed" told apart from "not there" by the clock?

A record the caller may not see must answer exactly like one that does not exist: same
status, same body and the same timing class. This benchmark seeds the demo region, signs
in as a county emergency-management viewer, and times GET on a record they may not see
(the water authority's AMBER+STRICT indicator) against a random id that does not exist,
on the detail, history and explain surfaces, interleaved request by request, through the
real application (FastAPI + SQL). It reports medians, p95 and the hidden/absent ratio per
surface on SQLite and, when reachable, PostgreSQL.

    .venv/bin/python benchmarks/not_found_timing.py [--requests 400] [--sqlite-only]

The last line is one JSON object; "same_class" is true when every median ratio lies in
[0.9, 1.1] (the tests also check that both answers run the very same SQL statements).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select, text

from accord.accounts.service import create_user_unchecked
from accord.app import create_app
from accord.config import Settings
from accord.core.db import make_engine, make_session_factory
from accord.directory.models import Agency
from accord.migrate import upgrade
from accord.seed import DEMO_PASSWORD, seed_demo, system_actor
from accord.sharing.models import Record

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SURFACES = ("", "/history", "/explain")
SECRET = "benchmark-secret-0123456789abcdef0123456789"


def _pg_schema(schema: str, *, drop_only: bool = False) -> None:
    engine = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        if not drop_only:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure(database_url: str, requests: int) -> dict[str, Any]:
    settings = Settings(env="test", database_url=database_url, secret_key=SECRET, login_rate_per_minute=10_000)
    upgrade(database_url)
    engine = make_engine(database_url)
    factory = make_session_factory(engine)
    with factory() as db:
        seed_demo(db, settings)
        mcema = db.scalar(select(Agency.id).where(Agency.short_name == "MCEMA"))
        username = f"bench-viewer-{uuid.uuid4().hex[:6]}"
        create_user_unchecked(
            db,
            actor=system_actor("benchmark"),
            username=username,
            display_name="Benchmark viewer",
            email="",
            password=DEMO_PASSWORD,
            agency_id=mcema,
            role="viewer",
            check_password_policy=False,
        )
        hidden = db.scalar(select(Record.id).where(Record.tier == "AMBER+STRICT").order_by(Record.created_at))
        db.commit()
    app = create_app(settings, factory)
    result: dict[str, Any] = {}
    with TestClient(app) as client:
        token = client.post("/api/v1/auth/token", json={"username": username, "password": DEMO_PASSWORD})
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        for suffix in SURFACES:
            times: dict[str, list[float]] = {"hidden": [], "absent": []}
            bodies: dict[str, set[str]] = {"hidden": set(), "absent": set()}
            for n in range(requests + 20):
                order = ("hidden", "absent") if n % 2 == 0 else ("absent", "hidden")
                for kind in order:
                    target = hidden if kind == "hidden" else uuid.uuid4()
                    started = time.perf_counter()
                    response = client.get(f"/api/v1/records/{target}{suffix}", headers=headers)
                    elapsed = (time.perf_counter() - started) * 1000
                    if response.status_code != 404:
                        raise SystemExit(f"{kind} answered {response.status_code}, not 404")
                    body = response.json()["error"]
                    bodies[kind].add(json.dumps(body | {"request_id": ""}, sort_keys=True))
                    if n >= 20:  # warm-up
                        times[kind].append(elapsed)
            medians = {k: statistics.median(v) for k, v in times.items()}
            result[suffix.strip("/") or "detail"] = {
                "hidden_median_ms": round(medians["hidden"], 3),
                "absent_median_ms": round(medians["absent"], 3),
                "hidden_p95_ms": round(_percentile(times["hidden"], 0.95), 3),
                "absent_p95_ms": round(_percentile(times["absent"], 0.95), 3),
                "median_ratio": round(medians["hidden"] / medians["absent"], 3),
                "same_body": bodies["hidden"] == bodies["absent"] and len(bodies["hidden"]) == 1,
            }
            print(
                f"{database_url.split(':', maxsplit=1)[0]} {suffix or '/'}: {result[suffix.strip('/') or 'detail']}",
                file=sys.stderr,
            )
    engine.dispose()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=400, help="timed requests per kind and surface")
    parser.add_argument("--sqlite-only", action="store_true")
    args = parser.parse_args()
    figures: dict[str, Any] = {"requests_per_kind": args.requests}
    with tempfile.TemporaryDirectory() as tmp:
        figures["sqlite"] = measure(f"sqlite:///{Path(tmp) / 'bench.db'}", args.requests)
    if not args.sqlite_only:
        schema = f"bench_not_found_{uuid.uuid4().hex[:8]}"
        try:
            _pg_schema(schema)
        except Exception as exc:  # unreachable: report it and keep SQLite's figures
            figures["postgresql"] = {"skipped": f"unreachable: {exc.__class__.__name__}"}
        else:
            try:
                figures["postgresql"] = measure(f"{PG_URL}?options=-csearch_path%3D{schema}", args.requests)
            finally:
                _pg_schema(schema, drop_only=True)
    ratios = [
        s["median_ratio"]
        for db in ("sqlite", "postgresql")
        for s in figures.get(db, {}).values()
        if isinstance(s, dict)
    ]
    same_bodies = all(
        s["same_body"] for db in ("sqlite", "postgresql") for s in figures.get(db, {}).values() if isinstance(s, dict)
    )
    figures["same_class"] = bool(ratios) and all(0.9 <= r <= 1.1 for r in ratios) and same_bodies
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
