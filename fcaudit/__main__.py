"""The console entry point (`fcaudit`, `python -m fcaudit`): signal set-up, gc tuning, then cli.

Nothing slow runs before the stop handlers are in place, so Ctrl-C while Python is still
importing the CLI exits 130 quietly instead of printing a traceback.
"""

from __future__ import annotations

import gc
import signal
import threading

from fcaudit.signals import stop_before_start


def main() -> None:
    """Console-script entry point: Ctrl-C from the first moment on exits 130, no traceback."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, stop_before_start)
        signal.signal(signal.SIGTERM, stop_before_start)
    from fcaudit.cli import main as cli_main

    # A run creates many short-lived objects (a dict per account, a finding, a record): the
    # default collector threshold (700) made it scan young objects thousands of times.
    gc.freeze()  # what start-up imported is never garbage
    gc.set_threshold(20_000, 20, 20)
    cli_main()


if __name__ == "__main__":
    main()
