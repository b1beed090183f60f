"""The scan's worker pool: daemon threads around one queue, and the failure that stops it."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any


class WorkPool:
    """Daemon worker threads around one queue; `join` waits for everything submitted.

    Daemon threads (not ThreadPoolExecutor, whose atexit hook joins its workers) let an
    interrupted run exit at once even while a request is still in flight.
    """

    def __init__(self, workers: int) -> None:
        self._queue: queue.SimpleQueue[tuple[Callable[..., None], tuple[Any, ...]]] = (
            queue.SimpleQueue()
        )
        self._cv = threading.Condition()
        self._pending = 0
        for n in range(max(1, workers)):
            threading.Thread(target=self._work, name=f"fcaudit-{n}", daemon=True).start()

    def submit(self, fn: Callable[..., None], *args: Any) -> None:
        """Queue `fn(*args)` for a worker; never waits."""
        with self._cv:
            self._pending += 1
        self._queue.put((fn, args))

    def _work(self) -> None:
        while True:
            fn, args = self._queue.get()
            try:
                fn(*args)
            finally:
                with self._cv:
                    self._pending -= 1
                    self._cv.notify_all()

    def wait_below(self, limit: int) -> None:
        """Block while `limit` or more tasks are pending (backpressure for huge scopes)."""
        with self._cv:
            while self._pending >= limit:
                self._cv.wait(0.2)

    def join(self) -> None:
        """Wait until every task submitted so far has finished."""
        self.wait_below(1)


class OutputFailed(Exception):
    """Writing a finding failed (closed pipe, full disk): the whole run must stop."""

    def __init__(self, error: OSError) -> None:
        super().__init__(str(error))
        self.error = error
