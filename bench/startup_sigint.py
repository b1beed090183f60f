#!/usr/bin/env python3
"""Ctrl-C at random moments of start-up: every run exits 130, with no traceback from fcaudit.

Starts the installed console script (`.venv/bin/fcaudit scan` against a closed port, so a run
that gets past start-up ends at once) N times and sends SIGINT to each at a uniformly random
moment of its first `--window-ms` milliseconds. A run passes when it exits 130 with one
`Error: interrupted` line and no traceback. A signal that lands before fcaudit's first
statement (the interpreter's own start-up, or the `import re, sys` pip writes into the console
script) is Python's to handle: such runs are counted apart, as `before fcaudit`, and are
recognised by a traceback or exit status with no frame of fcaudit's own code. Any traceback
through fcaudit's code, or another exit status, fails the bench.

A stress run, not a unit test: it depends on the machine's speed by design. Run alone:
`python bench/startup_sigint.py --runs 100 --window-ms 200` (exit 0 when every run passes).
The deterministic test of the same property is tests/test_console_entry.py.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FCAUDIT_FRAME = re.compile(r'File "[^"]*/fcaudit/[^"]*"')


def one_run(executable: str, delay: float) -> str:
    """Start fcaudit, send SIGINT after `delay` seconds: 'ok', 'before fcaudit' or a failure."""
    env = {**os.environ, "STRIPE_API_KEY": "sk_test_startupbench0123456789", "NO_COLOR": "1"}
    args = [executable, "scan", "--api-base", "http://127.0.0.1:9", "--max-retries", "0"]
    proc = subprocess.Popen(
        [*args, "--customer", "cus_a", "-f", "json"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    time.sleep(delay)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    code = proc.returncode
    if code == 130 and "Traceback" not in err and err.startswith("Error: interrupted"):
        return "ok"
    if FCAUDIT_FRAME.search(err):
        return f"traceback through fcaudit (exit {code}): {err.strip().splitlines()[-1]}"
    if code in (-signal.SIGINT, 1) and ("KeyboardInterrupt" in err or not err):
        return "before fcaudit"
    if code == 5 or code == 4:
        return "finished before the signal"
    return f"exit {code}: {err.strip()[-200:]!r}"


def main() -> int:
    """Run the bench; print the outcome of each kind; exit 1 on any failure."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--window-ms", type=float, default=200.0)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument(
        "--executable", default=str(ROOT / ".venv" / "bin" / "fcaudit"), help="console script"
    )
    opts = parser.parse_args()
    rng = random.Random(opts.seed)
    outcomes: Counter[str] = Counter()
    for _ in range(opts.runs):
        outcomes[one_run(opts.executable, rng.uniform(0, opts.window_ms / 1000))] += 1
    for outcome, count in outcomes.most_common():
        print(f"{count:4d}  {outcome}")
    allowed = {"ok", "before fcaudit", "finished before the signal"}
    failed = sum(n for o, n in outcomes.items() if o not in allowed)
    print(f"{opts.runs} SIGINTs in the first {opts.window_ms:g} ms: {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
