"""Run the whole suite: lint, then pytest on SQLite and on PostgreSQL.

Under CI=true an unreachable PostgreSQL fails the run. The two database runs go in
parallel (one per core) with their output kept apart and printed in turn.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CI = os.environ.get("CI") == "true"


def run(cmd: list[str]) -> int:
    print("+", " ".join(cmd), flush=True)
    return subprocess.call(cmd, cwd=ROOT)


def postgres_reachable() -> bool:
    import psycopg

    try:
        psycopg.connect("host=127.0.0.1 port=5432 dbname=test user=postgres", connect_timeout=3).close()
        return True
    except Exception:
        return False


def main() -> int:
    started = time.monotonic()
    lint = [
        [str(BIN / "ruff"), "check", "src", "tests", "benchmarks", "migrations", "scripts"],
        [str(BIN / "ruff"), "format", "--check", "src", "tests", "benchmarks", "migrations", "scripts"],
        [str(BIN / "mypy")],
        [str(BIN / "lint-imports")],
    ]
    failures = [c[0] for c in lint if run(c) != 0]
    if not shutil.which("chromium") and not os.environ.get("ACCORD_BROWSER"):
        message = "Chromium not found (/usr/bin/chromium): browser tests need `apt-get install chromium`"
        if CI:
            print("FAIL:", message, flush=True)
            failures.append("chromium")
        else:
            print("NOTE:", message, "- they will be skipped", flush=True)
    backends = ["sqlite", "postgresql"]
    if not postgres_reachable():
        if CI:
            print("FAIL: PostgreSQL at 127.0.0.1:5432 (database test) is unreachable and CI=true", flush=True)
            failures.append("postgresql")
        else:
            print("NOTE: PostgreSQL unreachable; running on SQLite only", flush=True)
        backends = ["sqlite"]
    logs = {b: ROOT / "test-artifacts" / f"pytest-{b}.log" for b in backends}
    (ROOT / "test-artifacts").mkdir(exist_ok=True)
    procs = {}
    for backend in backends:
        env = {**os.environ, "ACCORD_TEST_DB": backend}
        cmd = [str(BIN / "pytest"), "-q", "-p", "no:cacheprovider", *sys.argv[1:]]
        print(f"+ ACCORD_TEST_DB={backend}", " ".join(cmd), flush=True)
        procs[backend] = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=logs[backend].open("w"), stderr=subprocess.STDOUT
        )
    for backend, proc in procs.items():
        code = proc.wait()
        print(f"\n===== pytest on {backend} (exit {code}) =====", flush=True)
        print(logs[backend].read_text(), flush=True)
        if code != 0:
            failures.append(f"pytest[{backend}]")
    print(f"whole suite took {time.monotonic() - started:.0f}s", flush=True)
    if failures:
        print("FAILED:", ", ".join(failures), flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
