"""The --state store under faults, on a real file system, through the installed executable.

Every fault ends in one line naming the store, what went wrong and what to do, with the exit
code README "Exit codes" gives it (2: a path or file the user must fix; 4: no room, an I/O
error, or the store in use), never a traceback; and the store, its previous generation and an
earlier `-o` report are left byte for byte as they were.

Permissions can't stop root, so as root the runs of a permission test drop the capabilities
that let root ignore them. A full
disk is a file-size limit (RLIMIT_FSIZE) on the run: a write past it fails as it would on a
full disk.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import resource
import signal
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import wait_until

FCAUDIT = str(Path(sys.executable).parent / "fcaudit")
NOW = "2026-11-20T12:00:00Z"
SCAN = ("scan", "--sandbox", "-q", "-f", "json", "--fail-on", "none", "--as-of", NOW)
OLD_REPORT = b'{"an": "earlier report"}\n'

Proc = subprocess.CompletedProcess[str]


def fcaudit(
    *args: str,
    preexec: Callable[[], None] | None = None,
    timeout: float = 60,
    env: dict[str, str] | None = None,
) -> Proc:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("STRIPE_", "FCAUDIT_"))}
    return subprocess.run(
        [FCAUDIT, *args],
        capture_output=True,
        text=True,
        env={**base, "NO_COLOR": "1", **(env or {})},
        preexec_fn=preexec,
        timeout=timeout,
        check=False,
    )


def one_line(proc: Proc) -> str:
    """The run's stderr: exactly one line, an error, no traceback."""
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("Error: --state "), proc.stderr
    return lines[0]


# Linux capabilities that let root ignore file permissions (linux/capability.h), and the
# prctl that drops one from the bounding set: the process exec'd next runs without it.
CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER = 1, 2, 3
PR_CAPBSET_DROP = 24


def as_user() -> Callable[[], None] | None:
    """Runs of a permission test: as root, without the capabilities that ignore permissions
    (the interpreter may live where another user can't run it, so no setuid to nobody)."""
    if os.geteuid() != 0:
        return None

    def drop() -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        for cap in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER):
            if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
                raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")

    return drop


def file_size_limit(limit: int) -> Callable[[], None]:
    def limited() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write fails instead (EFBIG)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return limited


@pytest.fixture
def place() -> Iterator[Path]:
    """A directory every user can write (a permission test may run as `nobody`)."""
    with tempfile.TemporaryDirectory(prefix="fcaudit-state-") as tmp:
        os.chmod(tmp, 0o777)
        yield Path(tmp)


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file in `folder` and its bytes (the lock file's holder line left out)."""
    return {p.name: p.read_bytes() for p in folder.iterdir() if not p.name.endswith(".lock")}


def stored_run(place: Path, preexec: Callable[[], None] | None = None) -> Path:
    """A store written by two complete runs (so FILE.prev exists too), and an -o report."""
    state = place / "fc.sqlite"
    for _ in range(2):
        done = fcaudit(*SCAN, "--state", str(state), preexec=preexec)
        assert done.returncode == 0, done.stderr
    assert (place / "fc.sqlite.prev").is_file()
    (place / "report.json").write_bytes(OLD_REPORT)
    return state


def test_a_missing_directory_is_refused_before_the_scan(place: Path) -> None:
    report = place / "report.json"
    report.write_bytes(OLD_REPORT)
    refused = fcaudit(*SCAN, "--state", str(place / "nodir" / "x.sqlite"), "-o", str(report))
    assert refused.returncode == 2
    assert "does not exist" in one_line(refused) and "Tip:" in refused.stderr
    assert snapshot(place) == {"report.json": OLD_REPORT}


@pytest.mark.parametrize(
    ("mode", "what"), [(0o444, "cannot be opened for writing"), (0o000, "cannot be opened")]
)
def test_a_store_this_user_cannot_write_is_refused_before_the_scan(
    place: Path, mode: int, what: str
) -> None:
    user = as_user()
    state = stored_run(place, user)
    state.chmod(mode)
    before = snapshot(place)
    refused = fcaudit(*SCAN, "--state", str(state), "-o", str(place / "report.json"), preexec=user)
    assert refused.returncode == 2
    line = one_line(refused)
    assert what in line and "chmod" in line and "move" not in line
    assert snapshot(place) == before


def test_a_read_only_directory_is_refused_before_the_scan(place: Path) -> None:
    user = as_user()
    state = stored_run(place, user)
    before = snapshot(place)
    place.chmod(0o555)
    try:
        refused = fcaudit(*SCAN, "--state", str(state), preexec=user)
    finally:
        place.chmod(0o777)
    assert refused.returncode == 2
    assert "is not writable by this user" in one_line(refused)
    assert snapshot(place) == before


def test_a_full_disk_on_the_first_run_leaves_no_store(place: Path) -> None:
    report, tmp = place / "report.json", place / "tmp"
    report.write_bytes(OLD_REPORT)
    tmp.mkdir()
    # The JSON report's findings are spooled to a temporary file as they come (fcaudit/spill.py)
    # to be written in order at the end: that file meets the limit first.
    full = fcaudit(
        *SCAN, "--state", str(place / "fc.sqlite"), "-o", str(report),
        preexec=file_size_limit(64 * 1024), env={"TMPDIR": str(tmp)},
    )  # fmt: skip
    assert full.returncode == 4, full.stderr
    assert "Traceback" not in full.stderr and len(full.stderr.strip().splitlines()) == 1
    line = full.stderr.strip()
    assert line.startswith(f"Error: cannot write the run's temporary data in {tmp} (")
    assert "TMPDIR" in line and "left untouched" in line
    # No store, no leftovers (the temporary file went with the process), the report as it was.
    assert {p.name for p in place.iterdir() if not p.name.endswith(".lock")} == {
        tmp.name,
        report.name,
    }
    assert report.read_bytes() == OLD_REPORT and not list(tmp.iterdir())
    # The next run starts afresh: no half-made file is in its way.
    assert fcaudit(*SCAN, "--state", str(place / "fc.sqlite")).returncode == 0


def test_a_full_disk_on_a_later_run_leaves_the_store_and_the_report(place: Path) -> None:
    state = stored_run(place)
    before = snapshot(place)
    full = fcaudit(
        *SCAN, "--state", str(state), "-o", str(place / "report.json"),
        preexec=file_size_limit(state.stat().st_size // 2),
    )  # fmt: skip
    assert full.returncode == 4
    line = one_line(full)
    assert "left as they were" in line and "Tip:" in line
    assert snapshot(place) == before


HOLD_LOCK = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1] + ".lock", os.O_RDWR | os.O_CREAT, 0o600)
fcntl.flock(fd, fcntl.LOCK_EX)
os.ftruncate(fd, 0)
os.write(fd, f"pid {os.getpid()}, started 2026-12-07T06:00:00Z\\n".encode())
print("held", flush=True)
time.sleep(float(sys.argv[2]))
"""


@contextlib.contextmanager
def another_process(code: str, *args: str, ready: str) -> Iterator[subprocess.Popen[str]]:
    """A Python child running `code`, once it has printed `ready`; killed at the end."""
    child = subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    try:
        assert child.stdout.readline() == ready + "\n"
        yield child
    finally:
        child.kill()
        child.wait()
        child.stdout.close()


def hold_lock(state: Path, seconds: float) -> contextlib.AbstractContextManager[Any]:
    """Another fcaudit run, as far as the store can tell: it holds FILE.lock."""
    return another_process(HOLD_LOCK, str(state), str(seconds), ready="held")


SQLITE_LOCK = """
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
time.sleep(30)
"""


def test_a_store_in_use_by_another_run_is_not_touched_and_the_holder_is_named(
    place: Path,
) -> None:
    state = stored_run(place)
    before = snapshot(place)
    with hold_lock(state, 30) as holder:
        busy = fcaudit(*SCAN, "--state", str(state), "-o", str(place / "report.json"))
    assert busy.returncode == 4
    line = one_line(busy)
    assert f"in use by another fcaudit run (pid {holder.pid}, started" in line
    assert "--state-wait" in line and "move" not in line
    assert snapshot(place) == before


def test_state_wait_waits_for_the_other_run_to_finish(place: Path) -> None:
    state = stored_run(place)
    with hold_lock(state, 1.5) as holder:
        waited = fcaudit(*SCAN, "--state", str(state), "--state-wait", "1m")
        assert holder.poll() is not None  # it got the store only once the holder was done
    assert waited.returncode == 0, waited.stderr


def test_a_store_another_program_has_locked_is_not_called_damaged(place: Path) -> None:
    state = stored_run(place)
    before = snapshot(place)
    with another_process(SQLITE_LOCK, str(state), ready="locked"):
        locked = fcaudit(*SCAN, "--state", str(state))
    assert locked.returncode == 4
    line = one_line(locked)
    assert "locked by another program" in line and "not damaged" in line
    assert "move" not in line and "afresh" not in line
    # The other program's journal may remain until it is rolled back; the store is unchanged.
    assert {k: v for k, v in snapshot(place).items() if not k.endswith("-journal")} == before


def test_a_damaged_store_is_named_and_the_previous_generation_offered(place: Path) -> None:
    state = stored_run(place)
    data = bytearray(state.read_bytes())
    data[4096:8192] = b"\xff" * 4096  # a page of garbage
    state.write_bytes(bytes(data))
    before = snapshot(place)
    refused = fcaudit(*SCAN, "--state", str(state))
    assert refused.returncode == 2
    line = one_line(refused)
    assert "is not a readable fcaudit state file" in line and f"{state}.prev" in line
    assert snapshot(place) == before  # never silently reset
    check = fcaudit("state", "check", str(state))
    assert check.returncode == 2
    assert f"'cp {state}.prev {state}'" in check.stderr
    sound = fcaudit("state", "check", f"{state}.prev")
    assert sound.returncode == 0 and f"{state}.prev: sound." in sound.stdout


def test_a_run_with_its_standard_streams_closed_still_writes_the_report_and_the_store(
    place: Path,
) -> None:
    state, report = place / "fc.sqlite", place / "report.json"
    args = " ".join([*SCAN, "--state", str(state), "-o", str(report)])
    closed = subprocess.run(
        ["sh", "-c", f"exec {FCAUDIT} {args} <&- >&- 2>&-"], capture_output=True, check=False
    )
    assert closed.returncode == 0
    assert report.stat().st_size > 1000 and state.is_file()


def test_a_killed_run_leaves_the_store_as_it_was_and_the_next_run_cleans_up(
    place: Path,
) -> None:
    state = stored_run(place)
    before = snapshot(place)
    victim = subprocess.Popen(
        [FCAUDIT, *SCAN, "--state", str(state), "--full"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_until(lambda: any(".tmp-" in p.name for p in place.iterdir()), "the run's copy")
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    after = snapshot(place)
    assert {k: v for k, v in after.items() if ".tmp-" not in k} == before
    again = fcaudit(*SCAN, "--state", str(state))
    assert again.returncode == 0, again.stderr
    assert not [p.name for p in place.iterdir() if re.search(r"\.tmp-\d+", p.name)]


def test_state_check_of_a_missing_file_says_how_a_store_is_made(place: Path) -> None:
    missing = fcaudit("state", "check", str(place / "fc.sqlite"))
    assert missing.returncode == 2
    assert missing.stderr.startswith(f"Error: {place / 'fc.sqlite'}: no such file. Tip:")
    assert "move" not in missing.stderr


def test_state_check_reports_a_sound_store_and_its_previous_generation(place: Path) -> None:
    state = stored_run(place)
    sound = fcaudit("state", "check", str(state))
    assert sound.returncode == 0, sound.stderr
    lines = sound.stdout.splitlines()
    assert lines[0] == f"{state}: sound."
    assert lines[1] == "  holds: acct_1FcauditSandbox00 in test mode"
    assert lines[-1] == f"  previous generation {state}.prev: sound"


def _edit_store(state: Path, sql: str) -> None:
    with contextlib.closing(sqlite3.connect(state)) as db:
        db.execute(sql)
        db.commit()


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE objects SET body = '{\"id\": ###' WHERE rowid = 7",
        "UPDATE objects SET body = '[]' WHERE rowid = 7",
        "UPDATE meta SET value = 'x' WHERE key = 'cursor'",
        "UPDATE meta SET value = 'yesterday' WHERE key = 'last_full_run'",
    ],
)
def test_a_store_sqlite_reads_but_whose_contents_are_wrong_is_named(place: Path, sql: str) -> None:
    state = stored_run(place)
    _edit_store(state, sql)
    before = snapshot(place)
    refused = fcaudit(*SCAN, "--state", str(state), "-o", str(place / "report.json"))
    assert refused.returncode == 2
    assert "is not a readable fcaudit state file" in one_line(refused)
    assert snapshot(place) == before
    check = fcaudit("state", "check", str(state))
    assert check.returncode == 2 and f"'cp {state}.prev {state}'" in check.stderr


def test_state_check_of_a_locked_store_says_it_is_not_damaged(place: Path) -> None:
    state = stored_run(place)
    with another_process(SQLITE_LOCK, str(state), ready="locked"):
        check = fcaudit("state", "check", str(state))
    assert check.returncode == 4
    assert "it is not damaged" in check.stderr and "cp " not in check.stderr


def test_a_symlinked_store_is_replaced_where_it_lives_with_its_permissions(place: Path) -> None:
    (place / "real").mkdir()
    target = place / "real" / "fc.sqlite"
    link = place / "fc.sqlite"
    link.symlink_to(target)
    for _ in range(2):
        done = fcaudit(*SCAN, "--state", str(link))
        assert done.returncode == 0, done.stderr
    target.chmod(0o600)
    assert fcaudit(*SCAN, "--state", str(link)).returncode == 0
    assert link.is_symlink() and link.resolve() == target
    assert (place / "real" / "fc.sqlite.prev").is_file()
    assert target.stat().st_mode & 0o777 == 0o600
