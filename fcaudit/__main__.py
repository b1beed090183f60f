"""The console entry point (`fcaudit`, `python -m fcaudit`): signal set-up, gc tuning, then cli.

Nothing slow runs before the stop handlers are in place, so Ctrl-C while Python is still
importing the CLI exits 130 quietly instead of printing a traceback.
"""

from __future__ import annotations

import gc
import os
import signal
import sys
import threading

from fcaudit.signals import stop_before_start


def _reopen_closed_standard_streams() -> None:
    """Run with stdin, stdout or stderr closed (`<&-`, `>&-`, `2>&-`, as some cron and
    service managers start programs), Python leaves sys.stdin/stdout/stderr None and the first
    message would crash the run: point each closed descriptor at /dev/null instead, so the
    report (-o) and the store are still written and the exit code is the usual one."""
    for fd, name, mode in ((0, "stdin", "r"), (1, "stdout", "w"), (2, "stderr", "w")):
        try:
            os.fstat(fd)
        except OSError:
            null = os.open(os.devnull, os.O_RDWR)  # the lowest free descriptor: this one
            if null != fd:
                os.dup2(null, fd)
                os.close(null)
        if getattr(sys, name) is None:
            setattr(sys, name, open(fd, mode, encoding="utf-8", closefd=False))  # noqa: SIM115


def main() -> None:
    """Console-script entry point: Ctrl-C from the first moment on exits 130, no traceback."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, stop_before_start)
        signal.signal(signal.SIGTERM, stop_before_start)
    _reopen_closed_standard_streams()
    from fcaudit.cli import main as cli_main

    # A run creates many short-lived objects (a dict per account, a finding, a record): the
    # default collector threshold (700) made it scan young objects thousands of times.
    gc.freeze()  # what start-up imported is never garbage
    gc.set_threshold(20_000, 20, 20)
    cli_main()


if __name__ == "__main__":
    main()
