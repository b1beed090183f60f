"""A live progress line on stderr, shown only when stderr is a terminal."""

from __future__ import annotations

import threading
import time
from collections import deque
from types import TracebackType

from rich.console import Console
from rich.live import Live
from rich.text import Text

from fcaudit.model.report import ScanResult
from fcaudit.sources.scan import Scanner
from fcaudit.stripe.stats import Stats


class ProgressDisplay:
    """Redraws `customers done/total, accounts, requests, rate, retries` 4 times a second."""

    def __init__(
        self, console: Console, scanner: Scanner, result: ScanResult, stats: Stats
    ) -> None:
        self._console = console
        self._scanner = scanner
        self._result = result
        self._stats = stats
        self._stop = threading.Event()
        self._window: deque[tuple[float, int]] = deque()
        self._live = Live(self._render(), console=console, transient=True, auto_refresh=False)
        self._thread = threading.Thread(target=self._loop, name="fcaudit-progress", daemon=True)

    def _render(self) -> Text:
        s = self._scanner
        r = self._result
        snap = self._stats.snapshot()
        now = time.monotonic()
        # The current rate: requests over the last ~2 seconds, not the run's average.
        self._window.append((now, snap["requests"]))
        while len(self._window) > 2 and now - self._window[0][0] > 2.0:
            self._window.popleft()
        t0, n0 = self._window[0]
        rate = (snap["requests"] - n0) / (now - t0) if now > t0 else 0.0
        total = s.scopes_total if s.scopes_total is not None else f"{s.scopes_listed}+"
        return Text(
            f"{s.scope_label} {s.scopes_done}/{total}  accounts {r.accounts}  "
            f"requests {snap['requests']}  {rate:.1f} req/s  "
            f"retries {snap['retries']} (429: {snap['rate_limited']})  "
            f"errors {s.failed}"
        )

    def _loop(self) -> None:
        while not self._stop.wait(0.25):
            self._live.update(self._render(), refresh=True)

    def __enter__(self) -> ProgressDisplay:
        self._live.start()
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=1)
        self._live.stop()
