"""The console entry point (`fcaudit`, `python -m fcaudit`): signal set-up, gc tuning, then cli.

The stop handlers are the first thing fcaudit's code does, with nothing imported before them
but what the interpreter has already loaded (os, sys) and `signal`: Ctrl-C while Python is
still importing the CLI exits 130 quietly instead of printing a traceback. (A signal during
the interpreter's own start-up, or in the `import re, sys` of the console script pip writes,
before this module runs, is Python's to handle.) `bench/startup_sigint.py` sends SIGINT at
random moments of the first 200 ms of real runs; tests/test_console_entry.py sends it at
chosen points of the start-up.
"""

from __future__ import annotations

import os
import signal
import sys


def _stop_before_start(signum: int, frame: object) -> None:
    """The stop handler until a run installs its own: nothing has started, so nothing is to
    be written; leave at once with 130 and one line."""
    try:  # noqa: SIM105 - contextlib is one import more before the handler is in place
        os.write(2, b"Error: interrupted (before the run started).\n")
    except OSError:
        pass
    os._exit(130)


def _handle_stops_from_now_on() -> None:
    try:
        signal.signal(signal.SIGINT, _stop_before_start)
        signal.signal(signal.SIGTERM, _stop_before_start)
    except ValueError:
        pass  # not the main thread (main() called by a test): the caller's handlers stay


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
    _handle_stops_from_now_on()
    _reopen_closed_standard_streams()
    import gc  # built in: nothing is loaded from disk before the handlers

    from fcaudit.cli import main as cli_main

    # A run creates many short-lived objects (a dict per account, a finding, a record): the
    # default collector threshold (700) made it scan young objects thousands of times.
    gc.freeze()  # what start-up imported is never garbage
    gc.set_threshold(20_000, 20, 20)
    cli_main()


if __name__ == "__main__":
    main()
