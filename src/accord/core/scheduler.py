"""Periodic jobs inside the server process: a daemon thread per job that runs it every
``interval`` seconds (first run after one interval), logs failures and keeps going. Jobs
must be safe to run in several processes at once (each worker of `accord serve` runs
them): they take their own unit of work and skip rows another process handled."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger("accord.scheduler")


class Periodic:
    def __init__(self, name: str, interval: float, job: Callable[[], object]) -> None:
        self.name, self.interval, self.job = name, interval, job
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"accord-{name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.job()
            except Exception:  # a failed run is logged and retried at the next interval
                log.exception("scheduled job %s failed", self.name)
