"""Signals: how a stop (Ctrl-C, SIGTERM) ends a run, and a bound on how long that may take.

A stop signal (Ctrl-C, SIGTERM) makes fcaudit write what it has and exit 130. Two things could
keep it from ever exiting: Ctrl-C while Python is still importing (a traceback, not 130), and
a reader of stdout that stopped reading (every write blocks for ever, and so would the partial
report). fcaudit.__main__ covers the first (its handler is in place before the CLI is
imported); `arm_watchdog` the second: once a stop signal has arrived, the process ends with
130 when stdout has accepted nothing for `STALL_SECONDS`, or at the latest `GRACE_SECONDS`
after the signal.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import sys
import threading
import time
from collections.abc import Iterator
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


# -- stopping a run once, and not while its report is written ----------------------------

_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _interrupt_once(signum: int, frame: Any) -> None:
    # The first signal stops the run; later ones (a second Ctrl-C, `timeout` signalling the
    # whole process group) are ignored until exit, so the partial report is still written
    # and the exit code stays 130. The watchdog bounds how long that may take.
    for s in _STOP_SIGNALS:
        signal.signal(s, signal.SIG_IGN)
    arm_watchdog()
    raise KeyboardInterrupt


@contextlib.contextmanager
def interruptible() -> Iterator[None]:
    """SIGINT and SIGTERM (cron timeouts, systemd) stop a run the same way, once."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread (tests run elsewhere)
        return
    previous = {s: signal.signal(s, _interrupt_once) for s in _STOP_SIGNALS}
    try:
        yield
    finally:
        disarm_watchdog()
        for s, h in previous.items():
            if signal.getsignal(s) is _interrupt_once:  # not after an interrupt: see above
                signal.signal(s, h)


@contextlib.contextmanager
def deferred_signals() -> Iterator[None]:
    """While the report is written, a second Ctrl-C or SIGTERM must not throw it away.

    A first one is not lost either: it arms the watchdog (a blocked stdout can't hold the
    process) and is raised as KeyboardInterrupt (exit 130) once the report is written.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    arrived: list[int] = []

    def later(signum: int, frame: Any) -> None:
        arrived.append(signum)
        arm_watchdog()

    previous = {s: signal.signal(s, later) for s in _STOP_SIGNALS}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
    if arrived and any(h is _interrupt_once for h in previous.values()):
        _interrupt_once(arrived[0], None)
