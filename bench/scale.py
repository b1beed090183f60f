"""Part `scale` of the benchmark: every run a large fleet meets, at 10,000, 100,000 and
1,000,000 accounts: peak RSS and time per account.

Served runs go through the sandbox (`--customers` chosen for the size, unthrottled), in the
order a day of cron meets them: `scan -f ndjson`, `scan -f json` (grouped by customer), `scan
--state F` (a full run), then 100 accounts deactivated and 10 linked, and `scan --state F`
again (incremental). Offline `classify` reads an NDJSON file of the same number of accounts,
made from the sandbox's data set with ids made unique, to NDJSON and to JSON.

Targets (README Performance): each run's peak RSS grows at most 1.3x per tenfold fleet and
stays under 256 MiB at 1,000,000 accounts; time per account within 20% from 100,000 to
1,000,000 (the 10,000 runs are shown too). On a shared 2-core machine one run's time varies
by about as much as the target allows, and the machine's speed drifts: the sizes are
interleaved (a sandbox of each size is up at once, and each command runs at every size
before the next command), and `--scale-repeat N` runs the whole sequence N times (each
--state pair on a new store). The figures are the median time per account and the largest
peak RSS; every run's time is kept. Offline runs' time per account leaves out their
start-up (the same command on a one-account file, measured beside each): at 100,000 accounts
it is a sixth of the run, and counting it would make the larger fleet look cheaper per
account. A served run's start-up is under 2% of it at 100,000 and is left in.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from run import FCAUDIT, KEY, _control, run_measured, sandbox  # bench/run.py, beside this

ACCOUNTS_PER_CUSTOMER = 3.13  # the sandbox's data set, measured at 30,000 customers
UNTHROTTLED = ("--max-rps", "0", "--max-endpoint-rps", "0")
RUNS = ("scan -f ndjson", "scan -f json", "scan --state (full)", "scan --state (incremental)")
OFFLINE = ("classify -f ndjson", "classify -f json")


def _measured(cmd: list[str]) -> tuple[float, int, int, float]:
    """run_measured's wall time, peak RSS and exit code, and the CPU time (user and system)
    of that child alone: the children reaped meanwhile are that one only (the sandbox is
    reaped when it is closed)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall, rss, code = run_measured(cmd)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return wall, rss, code, cpu


def _scan(url: str, *extra: str) -> tuple[float, int, int, float]:
    cmd = [FCAUDIT, "scan", "--api-base", url, "--api-key", KEY, "-q", "--fail-on", "none"]
    return _measured([*cmd, *UNTHROTTLED, *extra])


def served(sizes: tuple[int, ...], repeat: int = 1) -> dict[int, dict[str, Any]]:
    """The four scans at every size, by size, each `repeat` times.

    Interleaved: a sandbox of each size is up at once, and each command runs at every size
    before the next command. A slower spell of a shared machine (one here was 10 to 25%
    slower for a quarter of an hour) then falls on the sizes alike, not on one of them."""
    out: dict[int, dict[str, Any]] = {}
    runs: dict[int, dict[str, list[dict[str, Any]]]] = {t: {n: [] for n in RUNS} for t in sizes}
    with contextlib.ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        boxes = {}
        for target in sizes:
            customers = round(target / ACCOUNTS_PER_CUSTOMER)
            started = time.perf_counter()
            boxes[target] = box = stack.enter_context(sandbox(customers=customers))
            out[target] = {
                "customers": customers,
                "sandbox_start_s": round(time.perf_counter() - started, 1),
                "served_accounts": len(box.get("/__sandbox/truth")["accounts"]),
            }

        def measure(name: str, extra: dict[int, tuple[str, ...]]) -> None:
            for target in sizes:
                found = _scan(boxes[target].url, *extra[target])
                runs[target][name].append(_result(*found, out[target]["served_accounts"]))
                print(f"  {target:,} {name}: {runs[target][name][-1]}", file=sys.stderr, flush=True)

        for rep in range(repeat):
            measure("scan -f ndjson", dict.fromkeys(sizes, ("-f", "ndjson")))
            measure("scan -f json", dict.fromkeys(sizes, ("-f", "json")))
            # Each full run on a new store.
            states = {t: str(Path(tmp) / f"fc-{t}-{rep}.sqlite") for t in sizes}
            with_state = {t: ("-f", "json", "--state", states[t]) for t in sizes}
            measure("scan --state (full)", with_state)
            for target in sizes:
                # 100 deactivated and 10 linked: a repeat meets a few dozen accounts more.
                _control(boxes[target], {"deactivate": 100, "link_new": 10})
            measure("scan --state (incremental)", with_state)
            for target in sizes:
                out[target]["store_mib"] = round(Path(states[target]).stat().st_size / 2**20, 1)
    for target in sizes:
        out[target].update({name: _median(results) for name, results in runs[target].items()})
    return out


def offline_file(path: Path, target: int) -> None:
    """`target` accounts as NDJSON: the data set of a small sandbox, repeated with each copy's
    ids made unique (a suffix on the id, which keeps its prefix and shape)."""
    from datetime import UTC, datetime

    from fcaudit.sandbox.data import build_dataset

    ds = build_dataset(7, 3_300, datetime.now(UTC))
    base = [ds.accounts[i] for i in ds.account_ids]
    written, copy = 0, 0
    with path.open("w") as fh:
        while written < target:
            for acct in base:
                fh.write(json.dumps({**acct, "id": f"{acct['id']}{copy:x}"}) + "\n")
                written += 1
                if written == target:
                    break
            copy += 1


def offline(sizes: tuple[int, ...], repeat: int = 1) -> dict[int, dict[str, Any]]:
    """Offline classify at every size, to NDJSON and to JSON, each `repeat` times; interleaved
    as the served runs are."""
    out: dict[int, dict[str, Any]] = {t: {"accounts": t} for t in sizes}
    runs: dict[int, dict[str, list[dict[str, Any]]]] = {t: {n: [] for n in OFFLINE} for t in sizes}
    with tempfile.TemporaryDirectory() as tmp:
        one = Path(tmp) / "one.ndjson"
        offline_file(one, 1)
        files = {t: Path(tmp) / f"accounts-{t}.ndjson" for t in sizes}
        for target, src in files.items():
            offline_file(src, target)
            out[target]["file_mib"] = round(src.stat().st_size / 2**20, 1)
        for _ in range(repeat):
            for name in OFFLINE:
                cmd = [FCAUDIT, "classify", "-f", name.rsplit(" ", 1)[1], "-q", "--fail-on", "none"]
                for target in sizes:
                    # The same command on one account: the start-up every run pays whatever
                    # its size (about half a second, a sixth of a 100,000-account run), taken
                    # out of the time per account so the figure compares the work per account.
                    fixed, _, _, fixed_cpu = _measured([*cmd, str(one)])
                    done = _measured([*cmd, str(files[target])])
                    runs[target][name].append(
                        _result(*done, target, fixed=fixed, fixed_cpu=fixed_cpu)
                    )
                    print(f"  {target:,} {name}: {runs[target][name][-1]}", file=sys.stderr)
    for target in sizes:
        out[target].update({name: _median(results) for name, results in runs[target].items()})
    return out


def _result(
    wall: float,
    rss: int,
    code: int,
    cpu: float,
    accounts: int,
    *,
    fixed: float = 0.0,
    fixed_cpu: float = 0.0,
) -> dict[str, Any]:
    """One run's figures; `fixed`: its start-up, measured apart, not counted per account.
    Time per account is wall time; fcaudit's own CPU time per account is beside it: what
    fcaudit spends, whatever the sandbox on the same two cores does meanwhile."""
    return {
        "wall_s": round(wall, 2),
        "rss_mib": rss,
        "exit": code,
        "startup_s": round(fixed, 2),
        "us_per_account": round(max(wall - fixed, 0.0) / max(accounts, 1) * 1e6, 1),
        "cpu_us_per_account": round(max(cpu - fixed_cpu, 0.0) / max(accounts, 1) * 1e6, 1),
    }


def _median(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Repeated runs of one command: the median time per account (and wall time, start-up),
    the largest peak RSS, the worst exit; every run's time per account is kept."""
    return {
        "wall_s": round(statistics.median(r["wall_s"] for r in results), 2),
        "rss_mib": max(r["rss_mib"] for r in results),
        "exit": max(r["exit"] for r in results),
        "startup_s": round(statistics.median(r["startup_s"] for r in results), 2),
        "us_per_account": round(statistics.median(r["us_per_account"] for r in results), 1),
        "cpu_us_per_account": round(statistics.median(r["cpu_us_per_account"] for r in results), 1),
        "runs_us_per_account": [r["us_per_account"] for r in results],
    }


def scale(sizes: tuple[int, ...], repeat: int = 1) -> dict[str, Any]:
    """Every run at every size (each `repeat` times), and the targets' verdicts."""
    print(f"scale: {', '.join(f'{t:,}' for t in sizes)} accounts", file=sys.stderr, flush=True)
    by_size, classified = served(sizes, repeat), offline(sizes, repeat)
    rows = [{"target": t, **by_size[t], **classified[t]} for t in sizes]
    verdicts = {}
    for name in (*RUNS, *OFFLINE):
        rss = [r[name]["rss_mib"] for r in rows]
        per = [r[name]["us_per_account"] for r in rows]
        growth = [round(b / a, 2) for a, b in itertools.pairwise(rss)]
        spread = round(per[-1] / per[-2], 2) if len(per) > 1 else 1.0
        cpu = [max(r[name]["cpu_us_per_account"], 0.1) for r in rows]
        verdicts[name] = {
            "rss_growth_per_10x": growth,
            "largest_rss_mib": rss[-1],
            "time_per_account_largest_vs_previous": spread,
            "cpu_per_account_largest_vs_previous": (
                round(cpu[-1] / cpu[-2], 2) if len(cpu) > 1 else 1.0
            ),
            "ok": all(g <= 1.3 for g in growth) and rss[-1] < 256 and 0.8 <= spread <= 1.2,
            "exits": sorted({r[name]["exit"] for r in rows}),
        }
    return {"rows": rows, "verdicts": verdicts, "repeat": repeat}


def _cell(run: dict[str, Any]) -> str:
    """A run's RSS and time per account (and the range of its repeats)."""
    times = run.get("runs_us_per_account", [])
    spread = f" ({min(times)}-{max(times)})" if len(times) > 1 else ""
    return (
        f"{run['rss_mib']} MiB, {run['us_per_account']} µs{spread}, CPU {run['cpu_us_per_account']}"
    )


def markdown(res: dict[str, Any]) -> list[str]:
    """The part's results as Markdown lines."""
    rows = res["rows"]
    head = " | ".join(
        f"{r['accounts'] if 'accounts' in r else r['target']:,} accounts" for r in rows
    )
    out = [
        "### Scale: peak RSS (MiB), wall and fcaudit's CPU time per account (µs)",
        "",
        f"| run | {head} | RSS growth per 10x | time/account, largest vs previous | CPU |",
        "|---|" + "---|" * len(rows) + "---|---|---|",
    ]
    for name in (*RUNS, *OFFLINE):
        cells = " | ".join(_cell(r[name]) for r in rows)
        v = res["verdicts"][name]
        growth = ", ".join(f"{g}x" for g in v["rss_growth_per_10x"])
        out.append(
            f"| `{name}` | {cells} | {growth} | {v['time_per_account_largest_vs_previous']}x"
            f" | {v['cpu_per_account_largest_vs_previous']}x |"
        )
    repeat = res.get("repeat", 1)
    out += [
        "",
        (
            f"Each time per account is the median of {repeat} runs (their range in brackets), "
            "each RSS the largest of them. "
            if repeat > 1
            else "One run of each (`--scale-repeat N` for the median of N). "
        )
        + "Store after the full run: "
        + ", ".join(f"{r['store_mib']} MiB at {r['served_accounts']:,}" for r in rows)
        + ". Sandbox start-up: "
        + ", ".join(f"{r['sandbox_start_s']} s" for r in rows)
        + ". Start-up left out of the offline runs' time per account (the command on one "
        "account): " + ", ".join(f"`{n}` {rows[-1][n]['startup_s']} s" for n in OFFLINE) + ".",
        "",
        "Targets (growth <= 1.3x per 10x, < 256 MiB at the largest, time per account within "
        "20%): "
        + ", ".join(f"{n} {'met' if v['ok'] else 'MISSED'}" for n, v in res["verdicts"].items()),
        "",
    ]
    return out
