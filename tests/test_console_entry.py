"""The console entry: a stop signal at any point of fcaudit's start-up exits 130, one line, no
traceback.

The signal is sent at a chosen point, not after a sleep: an import hook sends SIGINT to the
process when fcaudit's start-up imports a given module, so the test does not depend on how
fast the machine is (the random-moment stress run is `bench/startup_sigint.py`).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from fcaudit.errors import ExitCode
from tests.conftest import TEST_KEY

# Runs the console entry as pip's script does, with a hook that signals the process itself
# the moment `TARGET` is imported (before its code runs).
_HARNESS = textwrap.dedent(
    """
    import os, signal, sys

    TARGET, SIGNUM = sys.argv[1], int(sys.argv[2])
    # Python's own SIGINT handling, as a terminal gives it: a job a shell started in the
    # background inherits SIGINT ignored, and Python then leaves it ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)

    class SignalOnImport:
        def find_spec(self, name, path=None, target=None):
            if name == TARGET:
                sys.meta_path.remove(self)
                os.kill(os.getpid(), SIGNUM)
            return None

    sys.meta_path.insert(0, SignalOnImport())
    sys.argv = ["fcaudit", *sys.argv[3:]]
    from fcaudit.__main__ import main
    sys.exit(main())
    """
)


def _start(target: str, signum: int, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "STRIPE_API_KEY": TEST_KEY, "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-c", _HARNESS, target, str(signum), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


SCAN = ("scan", "--api-base", "http://127.0.0.1:9", "--max-retries", "0", "--customer", "cus_a")


@pytest.mark.parametrize(
    "target",
    [
        "gc",  # the first import after the handlers, in fcaudit.__main__
        "fcaudit.cli",  # the CLI package
        "click",  # a dependency, halfway through the CLI's imports
        "fcaudit.cli.scan",  # a command module
        "fcaudit.runner",  # imported when the command runs
    ],
)
@pytest.mark.parametrize("signum", [2, 15], ids=["SIGINT", "SIGTERM"])
def test_a_stop_signal_during_start_up_exits_130_with_one_line(target: str, signum: int) -> None:
    done = _start(target, signum, *SCAN)
    assert done.returncode == ExitCode.INTERRUPTED, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("Error: interrupted")


def test_a_stop_signal_once_the_run_has_started_still_exits_130() -> None:
    # The renderer is imported by the pipeline, under the run's own handler.
    done = _start("fcaudit.render.json", 2, *SCAN, "-f", "json")
    assert done.returncode == ExitCode.INTERRUPTED, done.stderr
    assert done.stderr == "Error: interrupted.\n"


def test_the_harness_can_see_a_signal_before_fcaudits_handlers() -> None:
    # The same signal while fcaudit.__main__ itself is imported, before its handlers: Python's
    # own KeyboardInterrupt. What the tests above pass for is fcaudit's doing.
    done = _start("fcaudit.__main__", 2, *SCAN)
    assert done.returncode != ExitCode.INTERRUPTED
    assert "KeyboardInterrupt" in done.stderr
