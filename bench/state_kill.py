#!/usr/bin/env python3
"""Kill -9 during a --state commit: the store is always the old one or the new one, complete.

A store of N objects (generation A, cursor 1000) is committed over by a run writing N objects
again (generation B, cursor 2000): the run takes the lock, copies the store, writes the
transaction into the copy, keeps the old store as FILE.prev and renames the copy over FILE.
That run is killed with SIGKILL after 0 ms, 50 ms, 100 ms, ... until it would have finished.
After each kill, the next run's view is checked: `fcaudit state check`'s verification finds
FILE sound and holding A or B with all N objects, FILE.prev (when there) sound, and opening
the store as a run does (lock, clean-up of what the killed run left, copy, integrity check)
raises nothing. Run by `make bench` (part `statekill`), or alone:
`python bench/state_kill.py --objects 100000 --step-ms 50`.
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# The run that gets killed: the store's own commit path, with N synthetic accounts.
VICTIM = r"""
import sys
from datetime import UTC, datetime
from fcaudit.sources.state import Identity, StateStore
from fcaudit.sources.stored import StoredRow

path, n, cursor = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
objects = (
    {
        "id": f"fca_{i:08d}",
        "object": "financial_connections.account",
        "status": "active",
        "account_holder": {"type": "customer", "customer": f"cus_{i // 3:08d}"},
        "institution_name": "Bench Bank",
        "last4": f"{i % 10000:04d}",
        "created": cursor,
    }
    for i in range(n)
)
store = StateStore(path)
store.commit_run(
    identity=Identity("test", "acct_bench"),
    seen=(StoredRow.of(o) for o in objects),
    cursor=cursor,
    when=datetime.fromtimestamp(cursor, UTC),
    full=True,
)
store.publish()
"""

OLD, NEW = 1000, 2000


def write(path: Path, n: int, cursor: int) -> float:
    """One unkilled run; its wall time."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", VICTIM, str(path), str(n), str(cursor)], check=True)
    return time.perf_counter() - started


def verdict(path: Path, n: int) -> str:
    """`old`, `new`, or what is wrong with the store after a kill."""
    from fcaudit.errors import FcauditError
    from fcaudit.sources.state import StateStore
    from fcaudit.sources.state_check import check_file

    found = check_file(str(path))
    if found.problem is not None or found.header is None:
        return f"store: {found.problem}"
    if found.header.objects != n:
        return f"store: {found.header.objects} objects, not {n}"
    cursor = found.header.cursor
    prev = Path(f"{path}.prev")
    if prev.exists() and (problem := check_file(str(prev)).problem):
        return f"prev: {problem}"
    try:
        StateStore(str(path)).close()  # what the next run does first
    except FcauditError as err:
        return f"next run: {err}"
    return {OLD: "old", NEW: "new"}.get(cursor or 0, f"cursor {cursor}")


def kill_test(n: int, step_ms: int) -> dict[str, Any]:
    """Kill the commit at every `step_ms` across its length; count what the next run found."""
    with tempfile.TemporaryDirectory(prefix="fcaudit-kill-") as tmp:
        base = Path(tmp) / "base.sqlite"
        write(base, n, OLD)
        Path(f"{base}.lock").unlink()
        probe = Path(tmp) / "probe" / "fc.sqlite"
        probe.parent.mkdir()
        shutil.copyfile(base, probe)
        length = write(probe, n, NEW)
        outcomes: dict[str, int] = {}
        problems: list[str] = []
        delay = 0.0
        while delay <= length + 0.2:
            run = Path(tmp) / f"run-{int(delay * 1000)}"
            run.mkdir()
            path = run / "fc.sqlite"
            shutil.copyfile(base, path)
            victim = subprocess.Popen(
                [sys.executable, "-c", VICTIM, str(path), str(n), str(NEW)],
                stderr=subprocess.DEVNULL,
            )
            time.sleep(delay)
            victim.send_signal(signal.SIGKILL)
            victim.wait()
            found = verdict(path, n)
            outcomes[found if found in ("old", "new") else "error"] = (
                outcomes.get(found if found in ("old", "new") else "error", 0) + 1
            )
            if found not in ("old", "new"):
                problems.append(f"killed after {delay * 1000:.0f} ms: {found}")
            shutil.rmtree(run)
            delay += step_ms / 1000
        size_mib = base.stat().st_size / 2**20
    return {
        "objects": n,
        "store_mib": round(size_mib, 1),
        "commit_s": round(length, 2),
        "step_ms": step_ms,
        "kills": sum(outcomes.values()),
        "old": outcomes.get("old", 0),
        "new": outcomes.get("new", 0),
        "errors": outcomes.get("error", 0),
        "problems": problems[:10],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--objects", type=int, default=100_000)
    parser.add_argument("--step-ms", type=int, default=50)
    args = parser.parse_args()
    result = kill_test(args.objects, args.step_ms)
    print(json.dumps(result, indent=2))
    return 1 if result["errors"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
