"""Signals: the console-script entry point, and a bound on how long a stopped run may take.

A stop signal (Ctrl-C, SIGTERM) makes fcaudit write what it has and exit 130. Two things could
keep it from ever exiting: Ctrl-C while Python is still importing (a traceback, not 130), and
a reader of stdout that stopped reading (every write blocks for ever, and so would the partial
report). `main` covers the first; `arm_watchdog` the second: once a stop signal has arrived,
the process ends with 130 when stdout has accepted nothing for `STALL_SECONDS`, or at the
latest `GRACE_SECONDS` after the signal.
"""

from __future__ import annotations

import contextlib
import gc
import os
import select
import signal
import sys
import threading
import time
from typing import Any

STALL_SECONDS = 1.0  # stdout blocked this long after a stop signal: exit 130 at once
GRACE_SECONDS = 10.0  # the most a stopped run may take to write its partial report
_POLL = 0.1

_lock = threading.Lock()
_armed: threading.Event | None = None


def _stdout_fd() -> int | None:
    try:
        return sys.__stdout__.fileno() if sys.__stdout__ is not None else None
    except (OSError, ValueError):
        return None


def _blocked(fd: int | None) -> bool:
    """True when a write to `fd` would block (a full pipe whose reader stopped reading)."""
    if fd is None:
        return False
    try:
        return not select.select([], [fd], [], 0)[1]
    except (OSError, ValueError):
        return False


def _hard_exit(reason: str) -> None:
    fd = 2
    if not _blocked(fd):
        with contextlib.suppress(OSError):
            os.write(fd, f"Error: interrupted ({reason}).\n".encode())
    os._exit(130)


def _watch(stop: threading.Event, started: float) -> None:
    fd = _stdout_fd()
    stalled_since: float | None = None
    while not stop.wait(_POLL):
        now = time.monotonic()
        if now - started >= GRACE_SECONDS:
            _hard_exit(f"the report was not written within {GRACE_SECONDS:g} s")
        if _blocked(fd):
            stalled_since = stalled_since if stalled_since is not None else now
            if now - stalled_since >= STALL_SECONDS:
                _hard_exit("stdout is not being read")
        else:
            stalled_since = None


def arm_watchdog() -> None:
    """Start the watchdog (once): called by the handlers when a stop signal arrives."""
    global _armed
    with _lock:
        if _armed is not None:
            return
        _armed = threading.Event()
        threading.Thread(
            target=_watch, args=(_armed, time.monotonic()), name="fcaudit-stop", daemon=True
        ).start()


def disarm_watchdog() -> None:
    """The run reached its end by itself: nothing left to bound."""
    global _armed
    with _lock:
        if _armed is not None:
            _armed.set()
        _armed = None


def _interrupted_at_start(signum: int, frame: Any) -> None:
    # Nothing has started yet, so there is nothing to write: leave at once, quietly.
    _hard_exit("before the run started")


def main() -> None:
    """Console-script entry point: Ctrl-C from the first moment on exits 130, no traceback."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, _interrupted_at_start)
        signal.signal(signal.SIGTERM, _interrupted_at_start)
    from fcaudit.cli import main as cli_main

    # A run creates many short-lived objects (a dict per account, a finding, a record): the
    # default collector threshold (700) made it scan young objects thousands of times.
    gc.freeze()  # what start-up imported is never garbage
    gc.set_threshold(20_000, 20, 20)
    cli_main()
