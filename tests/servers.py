"""Real servers for tests that need them (browsers, live streams, several workers):
uvicorn in its own process on the database under test."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from tests.conftest import TEST_SECRET


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running_server(database_url: str, **env: str) -> Iterator[str]:
    """``accord.asgi:app`` served by uvicorn on a free port; yields its base URL."""
    port = free_port()
    environment = {
        **os.environ,
        "ACCORD_DATABASE_URL": database_url,
        "ACCORD_SECRET_KEY": TEST_SECRET,
        "ACCORD_ENV": "test",
        "ACCORD_LOG_LEVEL": "WARNING",
        "ACCORD_LOGIN_RATE_PER_MINUTE": "10000",
        **env,
    }
    cmd = [sys.executable, "-m", "uvicorn", "accord.asgi:app", "--host", "127.0.0.1", "--port", str(port)]
    proc = subprocess.Popen(cmd, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    try:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                break
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            proc.kill()
        if proc.poll() is not None:
            pytest.fail(f"server did not start: {proc.stderr.read().decode() if proc.stderr else ''}")
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
