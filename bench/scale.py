"""Part `scale` of the benchmark: every run a large fleet meets, at 10,000, 100,000 and
1,000,000 accounts: peak RSS and time per account.

Served runs go through the sandbox (`--customers` chosen for the size, unthrottled), in the
order a day of cron meets them: `scan -f ndjson`, `scan -f json` (grouped by customer), `scan
--state F` (a full run), then 100 accounts deactivated and 10 linked, and `scan --state F`
again (incremental). Offline `classify` reads an NDJSON file of the same number of accounts,
made from the sandbox's data set with ids made unique, to NDJSON and to JSON.

Targets (README Performance): each run's peak RSS grows at most 1.3x per tenfold fleet and
stays under 256 MiB at 1,000,000 accounts; time per account within 20% from 100,000 to
1,000,000 (the 10,000 runs are shown too). Offline runs' time per account leaves out their
start-up (the same command on a one-account file, measured beside each): at 100,000 accounts
it is a sixth of the run, and counting it would make the larger fleet look cheaper per
account. A served run's start-up is under 2% of it at 100,000 and is left in.
"""

from __future__ import annotations

import itertools
import json
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


def _scan(url: str, *extra: str) -> tuple[float, int, int]:
    cmd = [FCAUDIT, "scan", "--api-base", url, "--api-key", KEY, "-q", "--fail-on", "none"]
    return run_measured([*cmd, *UNTHROTTLED, *extra])


def served(target: int) -> dict[str, Any]:
    """The four scans of a fleet of about `target` accounts."""
    customers = round(target / ACCOUNTS_PER_CUSTOMER)
    out: dict[str, Any] = {"customers": customers}
    started = time.perf_counter()
    with sandbox(customers=customers) as box, tempfile.TemporaryDirectory() as tmp:
        out["sandbox_start_s"] = round(time.perf_counter() - started, 1)
        out["served_accounts"] = len(box.get("/__sandbox/truth")["accounts"])
        state = str(Path(tmp) / "fc.sqlite")
        plan = (
            ("scan -f ndjson", ("-f", "ndjson")),
            ("scan -f json", ("-f", "json")),
            ("scan --state (full)", ("-f", "json", "--state", state)),
        )
        for name, extra in plan:
            out[name] = _result(*_scan(box.url, *extra), out["served_accounts"])
            print(f"  {target:,} {name}: {out[name]}", file=sys.stderr, flush=True)
        _control(box, {"deactivate": 100, "link_new": 10})
        name = "scan --state (incremental)"
        out[name] = _result(*_scan(box.url, "-f", "json", "--state", state), out["served_accounts"])
        out["store_mib"] = round(Path(state).stat().st_size / 2**20, 1)
        print(f"  {target:,} {name}: {out[name]}", file=sys.stderr, flush=True)
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


def offline(target: int) -> dict[str, Any]:
    """Offline classify of `target` accounts, to NDJSON and to JSON."""
    out: dict[str, Any] = {"accounts": target}
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "accounts.ndjson"
        offline_file(src, target)
        one = Path(tmp) / "one.ndjson"
        offline_file(one, 1)
        out["file_mib"] = round(src.stat().st_size / 2**20, 1)
        for name in OFFLINE:
            fmt = name.rsplit(" ", 1)[1]
            cmd = [FCAUDIT, "classify", "-f", fmt, "-q", "--fail-on", "none"]
            # The same command on one account: the start-up every run pays whatever its size
            # (about half a second, a sixth of a 100,000-account run), taken out of the time
            # per account so the figure compares the work per account.
            fixed, _, _ = run_measured([*cmd, str(one)])
            out[name] = _result(*run_measured([*cmd, str(src)]), target, fixed=fixed)
            print(f"  {target:,} {name}: {out[name]}", file=sys.stderr, flush=True)
    return out


def _result(
    wall: float, rss: int, code: int, accounts: int, *, fixed: float = 0.0
) -> dict[str, Any]:
    """One run's figures; `fixed`: its start-up, measured apart, not counted per account."""
    return {
        "wall_s": round(wall, 2),
        "rss_mib": rss,
        "exit": code,
        "startup_s": round(fixed, 2),
        "us_per_account": round(max(wall - fixed, 0.0) / max(accounts, 1) * 1e6, 1),
    }


def scale(sizes: tuple[int, ...]) -> dict[str, Any]:
    """Every run at every size, and the targets' verdicts."""
    rows = []
    for target in sizes:
        print(f"scale: {target:,} accounts", file=sys.stderr, flush=True)
        rows.append({"target": target, **served(target), **offline(target)})
    verdicts = {}
    for name in (*RUNS, *OFFLINE):
        rss = [r[name]["rss_mib"] for r in rows]
        per = [r[name]["us_per_account"] for r in rows]
        growth = [round(b / a, 2) for a, b in itertools.pairwise(rss)]
        spread = round(per[-1] / per[-2], 2) if len(per) > 1 else 1.0
        verdicts[name] = {
            "rss_growth_per_10x": growth,
            "largest_rss_mib": rss[-1],
            "time_per_account_largest_vs_previous": spread,
            "ok": all(g <= 1.3 for g in growth) and rss[-1] < 256 and 0.8 <= spread <= 1.2,
            "exits": sorted({r[name]["exit"] for r in rows}),
        }
    return {"rows": rows, "verdicts": verdicts}


def markdown(res: dict[str, Any]) -> list[str]:
    """The part's results as Markdown lines."""
    rows = res["rows"]
    head = " | ".join(
        f"{r['accounts'] if 'accounts' in r else r['target']:,} accounts" for r in rows
    )
    out = [
        "### Scale: peak RSS (MiB) and time per account (µs)",
        "",
        f"| run | {head} | RSS growth per 10x | time/account, largest vs previous |",
        "|---|" + "---|" * len(rows) + "---|---|",
    ]
    for name in (*RUNS, *OFFLINE):
        cells = " | ".join(
            f"{r[name]['rss_mib']} MiB, {r[name]['us_per_account']} µs" for r in rows
        )
        v = res["verdicts"][name]
        growth = ", ".join(f"{g}x" for g in v["rss_growth_per_10x"])
        out.append(
            f"| `{name}` | {cells} | {growth} | {v['time_per_account_largest_vs_previous']}x |"
        )
    out += [
        "",
        "Store after the full run: "
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
