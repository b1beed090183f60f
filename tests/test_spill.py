"""Spills (fcaudit/spill.py): read back exactly as Python would sort or look up in memory,
whether they stayed in memory or went to disk in many runs; a full disk is one error."""

from __future__ import annotations

import errno
import json
import random
import re
import tempfile
from pathlib import Path
from typing import Any

import pytest

from fcaudit import spill
from fcaudit.errors import ExitCode
from fcaudit.sandbox import running_sandbox
from fcaudit.spill import DiskMap, Distinct, PairCount, SortedSpill, SpillError, Spool
from tests.conftest import run
from tests.e2e.test_scan import KEY, NOW, NOW_DT, Sandbox, control
from tests.factories import AS_OF
from tests.test_golden import INPUT


def keyed(n: int, seed: int) -> list[tuple[tuple[int, float, str], int]]:
    """n (key, value) pairs with many equal keys (ties must keep the order added)."""
    rng = random.Random(seed)
    days = [float("inf"), float("-inf"), 0.0, 1.5e9, 1.7e9]
    return [
        ((rng.randrange(4), rng.choice(days), rng.choice(["fca_a", "fca_b", "é", "\ud800x"])), i)
        for i in range(n)
    ]


@pytest.mark.parametrize("budget", [10**9, 2_000, 600])
def test_a_spill_reads_back_in_key_order_with_ties_in_the_order_added(budget: int) -> None:
    pairs = keyed(3_000, seed=budget)
    out: SortedSpill[int] = SortedSpill(item_bytes=100, budget_bytes=budget)
    for key, value in pairs:
        out.add(key, value)
    expected = [v for _, v in sorted(pairs, key=lambda p: p[0])]  # Python's stable sort
    assert list(out) == expected
    assert list(out) == expected  # read again: the same
    assert len(out) == len(pairs)
    out.close()


def test_more_runs_than_are_merged_at_once_are_merged_in_passes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(spill, "FAN_IN", 3)
    pairs = keyed(2_000, seed=7)
    out: SortedSpill[int] = SortedSpill(item_bytes=250, budget_bytes=5_000)  # 20 items a run
    for key, value in pairs:
        out.add(key, value)
    assert len(out._runs) > 3
    assert list(out) == [v for _, v in sorted(pairs, key=lambda p: p[0])]
    assert len(out._runs) <= 3


def test_a_spill_keeps_whole_values_larger_than_a_read() -> None:
    big = [("k", bytes([i]) * (spill.READ_CHUNK * 3 + i)) for i in range(5)]
    out: SortedSpill[bytes] = SortedSpill(item_bytes=1, budget_bytes=1)  # every item its own run
    for key, value in reversed(big):
        out.add(key, value)
    assert list(out) == [v for _, v in reversed(big)]


def test_a_spool_gives_back_each_piece_by_its_place() -> None:
    spool = Spool()
    places = [spool.put(bytes([i]) * i) for i in range(1, 50)]
    assert [spool.get(*p) for p in reversed(places)] == [bytes([i]) * i for i in range(49, 0, -1)]
    spool.close()


def test_a_disk_map_stores_looks_up_and_lists_in_pythons_order() -> None:
    m: DiskMap[Any] = DiskMap()
    keys = ["fca_b", "fca_a", "é", "\ud800", "z", "", "fca_a\x00"]
    for i, k in enumerate(keys):
        assert m.insert(k, i)
    assert not m.insert("fca_a", 99)  # there already: kept
    assert m.setdefault("fca_a", 42) == 1
    assert m.setdefault("new", 42) is None and m.get("new") == 42
    m["z"] = "replaced"
    assert m.get("missing") is None
    m.update([("u1", 1), ("u2", 2), ("u1", 3)])
    assert len(m) == len(keys) + 3
    assert [k for k, _ in m.items()] == sorted([*keys, "new", "u1", "u2"])
    assert dict(m.items())["z"] == "replaced" and dict(m.items())["u1"] == 3
    m.close()


@pytest.mark.parametrize(("limit", "batch"), [(10_000, 4096), (10, 4096), (10, 3), (0, 1)])
def test_a_distinct_count_stays_exact_when_it_moves_to_disk(
    monkeypatch: pytest.MonkeyPatch, limit: int, batch: int
) -> None:
    monkeypatch.setattr(DiskMap, "LIMIT", limit)
    monkeypatch.setattr(spill, "BATCH", batch)
    seen = Distinct()
    values = [f"cus_{i % 37}" for i in range(500)]
    for i, v in enumerate(values):
        seen.add(v)
        if i == 100:  # counting midway does not lose what is pending
            assert len(seen) == 37
    seen.add("\ud800")  # a lone surrogate (a hostile JSON escape) is a value like any other
    assert len(seen) == len(set(values)) + 1 == 38
    seen.close()


@pytest.mark.parametrize(("limit", "batch"), [(10_000, 4096), (10, 4096), (10, 3), (0, 1)])
def test_a_pair_count_counts_each_groups_distinct_members_wherever_they_are_kept(
    monkeypatch: pytest.MonkeyPatch, limit: int, batch: int
) -> None:
    monkeypatch.setattr(DiskMap, "LIMIT", limit)
    monkeypatch.setattr(spill, "BATCH", batch)
    pairs = PairCount()
    added = [(f"fcauth_{i % 7}", f"fca_{i % 23}") for i in range(300)]
    for group, member in [*added, *added]:  # every pair twice: counted once
        pairs.add(group, member)
    expected = {g: len({m for gg, m in added if gg == g}) for g, _ in added}
    assert {g: pairs.count(g) for g in expected} == expected
    assert pairs.count("fcauth_never") == 0
    monkeypatch.setattr(spill, "_IN_CHUNK", 2)  # several lookups, a name given twice
    assert pairs.counts(["fcauth_never", *expected, "fcauth_1"]) == expected
    # A group whose name is another's prefix is not counted with it.
    pairs.add("fcauth_1", "x")
    pairs.add("fcauth_", "fca_1x")
    assert pairs.count("fcauth_1") == expected["fcauth_1"] + 1 and pairs.count("fcauth_") == 1
    pairs.close()


class FullFile:
    """A temporary file on a full disk: every write fails."""

    def write(self, data: bytes) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    def seek(self, offset: int, whence: int = 0) -> int:
        return 0

    def tell(self) -> int:
        return 0

    def close(self) -> None:
        pass


def test_a_full_temporary_directory_is_one_error_naming_it_and_the_fix(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    monkeypatch.setattr(tempfile, "TemporaryFile", lambda: FullFile())
    monkeypatch.setattr(tempfile, "gettempdir", lambda: str(tmp_path))
    out: SortedSpill[int] = SortedSpill(item_bytes=1, budget_bytes=1)
    with pytest.raises(SpillError) as caught:
        out.add("k", 1)
    message = str(caught.value)
    assert str(tmp_path) in message and "No space left on device" in message
    assert "TMPDIR" in message and "\n" not in message
    assert caught.value.exit_code is ExitCode.API
    with pytest.raises(SpillError):
        Spool().put(b"x")


# -- whole runs, everything spilled --------------------------------------------------------


def spill_everything(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every spill writes a run per item and merges three at a time; every distinct count is
    on disk: the paths a fleet of a million takes, on a fleet of a few dozen."""
    monkeypatch.setattr(spill, "BUDGET_BYTES", 1)
    monkeypatch.setattr(spill, "FAN_IN", 3)
    monkeypatch.setattr(DiskMap, "LIMIT", 0)
    monkeypatch.setattr(spill, "BATCH", 2)


def _no_timing(text: str) -> str:
    text = re.sub(r'"(generated_at|duration_seconds)": ?[^,\n]+', r'"\1": 0', text)
    return re.sub(r"req_[0-9a-f]+", "req_ID", text)


@pytest.mark.parametrize(("fmt", "group_by"), [("json", "customer"), ("json", "authorization"),
                                               ("json", "institution"), ("ndjson", "customer"),
                                               ("csv", "customer")])  # fmt: skip
def test_a_report_spilled_to_disk_is_the_report_held_in_memory(
    monkeypatch: pytest.MonkeyPatch, fmt: str, group_by: str
) -> None:
    args = ("classify", "-", "-f", fmt, "--group-by", group_by, *AS_OF, "--fail-on", "none")
    held = run(*args, key=None, input=INPUT)
    with monkeypatch.context() as patch:
        spill_everything(patch)
        spilled = run(*args, key=None, input=INPUT)
    assert held.exit_code == spilled.exit_code == 0, spilled.stderr
    assert len(held.stdout) > 1000
    assert _no_timing(spilled.stdout) == _no_timing(held.stdout)


def test_state_runs_spilled_to_disk_compare_with_the_previous_run_as_in_memory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Two --state runs (a full one, then an incremental one after changes), once held in
    memory and once spilled: the same reports, changes and resolved[] included."""

    def day(folder: Path) -> list[str]:
        folder.mkdir()
        state, reports = folder / "fc.sqlite", []
        with running_sandbox(customers=40, now=NOW_DT) as running:
            box = Sandbox(running)
            scan = ["scan", "--api-base", box.url, "--state", str(state), "-f", "json"]
            scan += ["--fail-on", "none", "-q", "--as-of", NOW, "--max-rps", "0"]
            for _ in range(2):
                done = run(*scan, key=KEY)
                assert done.exit_code == 0, done.stderr
                reports.append(_no_timing(done.stdout.replace(box.url, "URL")))
                reports[-1] = reports[-1].replace(str(folder), "DIR")
                control(box, {"deactivate": 5, "reactivate": 3, "disconnect": 2, "link_new": 2})
        return reports

    held = day(tmp_path / "held")
    with monkeypatch.context() as patch:
        spill_everything(patch)
        spilled = day(tmp_path / "spilled")
    assert json.loads(held[1])["resolved"], "the second run resolves something"
    assert spilled == held


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_a_scan_with_contacts_spilled_to_disk_is_the_scan_held_in_memory(
    monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    def scan() -> str:
        with running_sandbox(customers=30, now=NOW_DT) as running:
            box = Sandbox(running)
            done = run(
                "scan", "--api-base", box.url, "--contact", "-f", fmt, "--fail-on", "none",
                "-q", "--as-of", NOW, "--max-rps", "0", "--concurrency", "1", key=KEY,
            )  # fmt: skip
            assert done.exit_code == 0, done.stderr
            return _no_timing(done.stdout.replace(box.url, "URL"))

    held = scan()
    with monkeypatch.context() as patch:
        spill_everything(patch)
        spilled = scan()
    assert "@example.com" in held
    assert spilled == held
