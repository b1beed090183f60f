"""End to end: the installed `fcaudit` executable against the sandbox, over HTTP on 127.0.0.1.

The shared data set is served by `fcaudit sandbox serve` in its own process. The fault tests
use small in-process sandboxes (`running_sandbox`) with scripted faults (cues), so every fault
happens exactly where the test wants it and costs the client exactly one retry: no random
latency, no long timeouts, no fixed sleeps. Categories are checked against the data set's own
truth.

Runs that don't depend on each other are started together by module fixtures (`shared_runs`,
`fault_runs`, on one `pool`), so their start-up and retry back-off overlap; each test asserts on
its own run.
"""

from __future__ import annotations

import array
import fcntl
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import termios
import urllib.request
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import pytest

from fcaudit.sandbox import RunningSandbox, running_sandbox
from fcaudit.sandbox.data import HOSTILE_DISPLAY_NAMES, HOSTILE_INSTITUTIONS
from tests.conftest import validate_finding, validate_report, wait_until

FCAUDIT = str(Path(sys.executable).parent / "fcaudit")
KEY = "sk_test_e2e"
NOW = "2026-11-20T12:00:00Z"
NOW_DT = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
GA = "2026-10-28.endive"
BIG_CUSTOMER = "cus_2RKds488vyy24M"  # the one customer with more than 100 accounts
ACCOUNTS = "/v1/financial_connections/accounts"
CUSTOMERS = "/v1/customers"
ENV = {"STRIPE_API_KEY": KEY, "PATH": "/usr/bin:/bin"}

Proc = subprocess.CompletedProcess[str]


class Server:
    """`fcaudit sandbox serve` in its own process; its stderr goes to `log`."""

    def __init__(self, *flags: str, log: TextIO) -> None:
        self.log = log
        self.proc = subprocess.Popen(
            [FCAUDIT, "sandbox", "serve", "--port", "0", "--now", NOW, *flags],
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:\d+", line)
        assert match, line
        self.url = match.group(0)
        with urllib.request.urlopen(self.url + "/__sandbox/truth") as resp:
            self.truth: dict[str, Any] = json.load(resp)

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=10)
        assert self.proc.stdout is not None
        self.proc.stdout.close()


class Sandbox:
    """An in-process sandbox, seen like the served one (url + truth)."""

    def __init__(self, running: RunningSandbox) -> None:
        self.running = running
        self.url = running.base_url
        self.truth = running.dataset.truth()


def control(sandbox: Sandbox, body: dict[str, Any]) -> dict[str, Any]:
    """POST to the sandbox's control endpoint; its answer, with `sandbox.truth` refreshed."""
    request = urllib.request.Request(
        sandbox.url + "/__sandbox/control",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request) as resp:
        answer: dict[str, Any] = json.load(resp)
    with urllib.request.urlopen(sandbox.url + "/__sandbox/truth") as resp:
        sandbox.truth = json.load(resp)
    return answer


def fcaudit(srv: Server | Sandbox, *args: str, key: str = KEY, timeout: float = 60) -> Proc:
    cmd = [FCAUDIT, *args, "--api-base", srv.url, "--as-of", NOW]
    cmd += ["--max-rps", "0", "--max-endpoint-rps", "0"]
    env = {**ENV, "STRIPE_API_KEY": key, "NO_COLOR": "1"}
    return subprocess.run(
        cmd, capture_output=True, text=True, env=env, timeout=timeout, check=False
    )


def report(proc: Proc) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(proc.stdout)
    validate_report(doc)
    return doc


def assert_matches_truth(doc: dict[str, Any], truth: Mapping[str, Any]) -> None:
    found = {f["id"]: f["category"] for f in doc["findings"] if f["object"].endswith("account")}
    assert found == {i: truth["accounts"][i] for i in found}


def what_fcaudit_said(doc: dict[str, Any]) -> dict[str, tuple[str, list[str], str | None]]:
    """Per finding: (category, signal codes sorted, expected_deactivation_source)."""
    return {
        f["id"]: (
            f["category"],
            sorted({s["code"] for s in f["signals"]}),
            f["expected_deactivation_source"],
        )
        for f in doc["findings"]
    }


def what_truth_says(truth: Mapping[str, Any], ids: Any) -> dict[str, tuple[str, list[str], Any]]:
    categories = {**truth["accounts"], **truth["authorizations"]}
    return {
        i: (categories[i], truth["signals"][i], truth["expected_deactivation_source"][i])
        for i in ids
    }


# -- the shared data set, served by `fcaudit sandbox serve` ---------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    log_path = tmp_path_factory.mktemp("sandbox") / "sandbox.err"
    with log_path.open("w+") as log:
        srv = Server("--customers", "60", log=log)
        yield srv
        srv.stop()
        log.seek(0)
        assert "Traceback" not in log.read()


def sandbox_get(srv: Server, path: str) -> Any:
    request = urllib.request.Request(
        srv.url + path,
        headers={"Authorization": f"Bearer {KEY}", "Stripe-Version": "2026-09-30.preview"},
    )
    with urllib.request.urlopen(request) as resp:
        return json.load(resp)


def _scan_popen(url: str, *args: str) -> subprocess.Popen[bytes]:
    cmd = [FCAUDIT, "scan", "--api-base", url, "--max-rps", "0", "--max-endpoint-rps", "0"]
    return subprocess.Popen([*cmd, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV)


def jq_pipeline(srv: Server, jq: str) -> str:
    """`fcaudit scan -f ndjson | jq -r 'select(...) | .id'`, as in the README."""
    scan = _scan_popen(srv.url, "-f", "ndjson")
    out = subprocess.run(
        [jq, "-r", 'select(.category=="relink_required") | .id'],
        stdin=scan.stdout,
        capture_output=True,
        text=True,
        check=True,
    )
    assert scan.stdout is not None and scan.stderr is not None
    scan.stdout.close()
    scan.wait(timeout=60)
    scan.stderr.close()
    return out.stdout


def closed_stdout(srv: Server, fmt: str) -> tuple[int, str]:
    """`fcaudit scan -f FMT | head -1`: (exit code, stderr)."""
    scan = _scan_popen(srv.url, "-f", fmt, "--fail-on", "none")
    assert scan.stdout is not None and scan.stderr is not None
    scan.stdout.readline()
    scan.stdout.close()  # what `| head -1` does
    err = scan.stderr.read().decode()
    scan.stderr.close()
    return scan.wait(timeout=60), err


def repeat(flag: str, values: list[str]) -> tuple[str, ...]:
    """`--flag a --flag b ...`"""
    return tuple(x for value in values for x in (flag, value))


def classify_event_history(srv: Server, path: Path) -> Proc:
    """Every event of `GET /v1/events` (all pages), saved as NDJSON, then `fcaudit classify`."""
    after = ""
    with path.open("w") as out:
        while True:
            page = sandbox_get(srv, f"/v1/events?limit=100{after}")
            for event in page["data"]:
                out.write(json.dumps(event) + "\n")  # NaN stays NaN, as the server sent it
            if not page["has_more"]:
                break
            after = f"&starting_after={page['data'][-1]['id']}"
    cmd = [FCAUDIT, "classify", str(path), "-f", "json", "--as-of", NOW, "--fail-on", "none"]
    return subprocess.run(cmd, capture_output=True, text=True, env=ENV, timeout=60, check=False)


FORMATS = ("ndjson", "table", "json", "csv", "markdown", "html")


@pytest.fixture(scope="module")
def pool() -> Iterator[ThreadPoolExecutor]:
    """Runs independent fcaudit processes side by side. About four per core: enough to
    overlap start-up and retry back-off, not so many that they thrash."""
    with ThreadPoolExecutor(8) as executor:
        yield executor


@pytest.fixture(scope="module")
def shared_runs(
    server: Server,
    tmp_path_factory: pytest.TempPathFactory,
    pool: ThreadPoolExecutor,
    fault_runs: dict[str, Future[Run]],  # queued first: their back-off overlaps with these
) -> dict[str, Future[Any]]:
    """Independent runs against the shared server, started together."""
    out = tmp_path_factory.mktemp("reports")
    jq = shutil.which("jq")
    assert jq, "the e2e tests need jq (Debian package jq), as the README's examples do"
    relink = min(a for a, c in server.truth["accounts"].items() if c == "relink_required")
    fcauth = sandbox_get(server, f"{ACCOUNTS}/{relink}")["authorization"]
    runs: dict[str, tuple[tuple[str, ...], str]] = {
        "json": (("scan", "-f", "json"), KEY),
        "authorizations": (("scan", "-f", "json", "--authorizations"), KEY),
        "ndjson": (("scan", "-f", "ndjson"), KEY),
        "ga": (("scan", "-f", "json", "--stripe-version", GA), KEY),
        "big": (("scan", "-f", "json", "--customer", BIG_CUSTOMER), KEY),
        "fail_on_none": (("scan", "--fail-on", "none"), KEY),
        "not_an_account_id": (("account", "cus_1"), KEY),
        "live_key": (("scan",), "sk_live_Qx9"),
        "missing_customer": (
            ("scan", "--customer", "cus_doesnotexist", "-o", str(out / "r.json")),
            KEY,
        ),
    }
    # Every holder the customer scan leaves out, by kind: together with "authorizations" these
    # cover every account and authorization of the data set.
    holders = server.truth["holders"]
    runs["account_holders"] = (
        ("scan", "-f", "json", "--authorizations", *repeat("--account-holder", holders["account"])),
        KEY,
    )
    runs["customer_accounts"] = (
        (
            *("scan", "-f", "json", "--authorizations"),
            *repeat("--customer-account", holders["customer_account"]),
        ),
        KEY,
    )
    runs["account"] = (("account", relink, "-f", "table"), KEY)
    runs["authorization"] = (("authorization", fcauth, "-f", "json"), KEY)
    futures: dict[str, Future[Any]] = {
        name: pool.submit(fcaudit, server, *args, key=key) for name, (args, key) in runs.items()
    }
    futures["jq"] = pool.submit(jq_pipeline, server, jq)
    futures["events"] = pool.submit(classify_event_history, server, out / "events.ndjson")
    for fmt in FORMATS:
        futures[f"closed_{fmt}"] = pool.submit(closed_stdout, server, fmt)
    return futures


def test_every_account_found_with_the_designed_category(
    server: Server, shared_runs: dict[str, Future[Any]]
) -> None:
    proc = shared_runs["json"].result()
    doc = report(proc)
    assert proc.returncode == 1  # the data set has relink_required accounts
    truth = server.truth
    found = {f["id"]: f["category"] for f in doc["findings"]}
    # The default discovery (auto) reads the unfiltered list: every holder type.
    assert len(found) == doc["summary"]["accounts"] == len(truth["accounts"])
    assert doc["scope"]["discovery"]["mode"] == "accounts"
    assert_matches_truth(doc, truth)
    assert set(found.values()) == {
        "relink_required",
        "inactive_unrepairable",
        "inactive_unknown",
        "account_number_unusable",
        "expiring",
        "disconnected",
        "unknown",
        "active",
    }
    assert doc["complete"] is True and doc["errors"] == []


def test_categories_signals_and_sources_match_the_truth_for_every_object(
    server: Server, shared_runs: dict[str, Future[Any]]
) -> None:
    """Customers, connected-account holders and Accounts-v2 customers, with authorizations:
    every account and authorization of the data set, each as the truth says."""
    truth = server.truth
    said: dict[str, tuple[str, list[str], str | None]] = {}
    for run in ("authorizations", "account_holders", "customer_accounts"):
        doc = report(shared_runs[run].result())
        assert doc["complete"] is True and doc["errors"] == [], run
        said |= what_fcaudit_said(doc)
    assert set(said) == set(truth["accounts"]) | set(truth["authorizations"])
    expected = what_truth_says(truth, said)
    wrong = {i: (said[i], expected[i]) for i in said if said[i] != expected[i]}
    assert wrong == {}
    # The data set holds every signal and every source.
    assert {code for _, codes, _ in said.values() for code in codes} == {
        "account_number_expiring",
        "account_number_unusable",
        "account_number_pending",
        "balance_refresh_failed",
        "ownership_refresh_failed",
        "transaction_refresh_failed",
        "inferred_balances_refresh_failed",
        "predicted_deactivation",
        "predicted_date_passed",
    }
    assert {source for _, _, source in said.values()} == {None, "stripe", "rule:boa-auth-1y"}


def test_accounts_v2_customer(server: Server, shared_runs: dict[str, Future[Any]]) -> None:
    doc = report(shared_runs["customer_accounts"].result())
    holders = server.truth["holders"]["customer_account"]
    accounts = [f for f in doc["findings"] if f["object"] == "financial_connections.account"]
    assert accounts and doc["summary"]["accounts"] == len(accounts)
    assert {f["account_holder"]["id"] for f in accounts} == {holders[0]}  # the second has none
    assert all(f["account_holder"]["type"] == "customer" for f in accounts)
    assert doc["scope"]["ids"] == holders
    requests = doc["stats"]["by_endpoint"]["GET /v1/financial_connections/accounts"]
    assert requests == len(holders)


def test_classify_of_the_event_history_reports_each_object_once(
    server: Server, shared_runs: dict[str, Future[Any]]
) -> None:
    proc = shared_runs["events"].result()
    doc = report(proc)
    truth = server.truth["events"]
    latest = {f["id"]: f["category"] for f in doc["findings"]}
    assert len(latest) == len(doc["findings"])  # one finding per object
    assert latest == truth["latest"]
    assert doc["summary"]["events_skipped"] == truth["skipped"] > 0
    assert all(f["event_type"] and f["event_created"] for f in doc["findings"])
    assert proc.returncode == 0


def test_ndjson_matches_json(shared_runs: dict[str, Future[Any]]) -> None:
    proc = shared_runs["ndjson"].result()
    records = [json.loads(line) for line in proc.stdout.splitlines()]
    for r in records:
        validate_finding(r)
    doc = report(shared_runs["json"].result())
    assert sorted(r["id"] for r in records) == sorted(f["id"] for f in doc["findings"])
    assert proc.stderr.startswith("fcaudit: ")


def test_authorizations_match_truth_and_are_fetched_once(
    server: Server, shared_runs: dict[str, Future[Any]]
) -> None:
    doc = report(shared_runs["authorizations"].result())
    auths = [f for f in doc["findings"] if f["object"] == "financial_connections.authorization"]
    assert auths
    assert all(server.truth["authorizations"][a["id"]] == a["category"] for a in auths)
    referenced = {f["authorization"] for f in doc["findings"] if f["authorization"]}
    assert {a["id"] for a in auths} == referenced
    by_endpoint = doc["stats"]["by_endpoint"]
    assert by_endpoint["GET /v1/financial_connections/authorizations/{id}"] == len(referenced)
    for a in auths:
        covered = [f for f in doc["findings"] if f.get("authorization") == a["id"]]
        assert a["accounts"] == sorted(f["id"] for f in covered)


def test_ga_version_makes_inactive_accounts_unknown(
    server: Server, shared_runs: dict[str, Future[Any]]
) -> None:
    proc = shared_runs["ga"].result()
    doc = report(proc)
    inactive = {"relink_required", "inactive_unrepairable", "inactive_unknown"}
    cats = {f["category"] for f in doc["findings"]}
    assert "inactive_unknown" in cats and not cats & {"relink_required", "inactive_unrepairable"}
    n_inactive_truth = sum(
        1 for f in doc["findings"] if server.truth["accounts"][f["id"]] in inactive
    )
    assert doc["summary"]["by_category"]["inactive_unknown"] == n_inactive_truth
    assert GA in proc.stderr and "not a preview version" in proc.stderr
    assert all(f["authorization"] is None for f in doc["findings"])


def test_customer_with_more_than_100_accounts(shared_runs: dict[str, Future[Any]]) -> None:
    doc = report(shared_runs["big"].result())
    assert doc["summary"]["accounts"] == 130
    assert doc["stats"]["by_endpoint"]["GET /v1/financial_connections/accounts"] == 2


def test_retrieve_commands(server: Server, shared_runs: dict[str, Future[Any]]) -> None:
    account = shared_runs["account"].result()
    relink, fcauth = account.args[2], shared_runs["authorization"].result().args[2]
    assert account.returncode == 1 and server.truth["accounts"][relink] == "relink_required"
    assert "status_details.inactive.action" in account.stdout and relink in account.stdout
    one = report(shared_runs["authorization"].result())
    assert [f["id"] for f in one["findings"]] == [fcauth]
    assert one["findings"][0]["category"] == server.truth["authorizations"][fcauth]


def test_exit_codes(shared_runs: dict[str, Future[Any]], tmp_path_factory: Any) -> None:
    # Exit 1 (findings) is asserted on the plain scan in the first test.
    assert shared_runs["fail_on_none"].result().returncode == 0
    assert shared_runs["not_an_account_id"].result().returncode == 2
    live_key = shared_runs["live_key"].result()
    assert live_key.returncode == 3
    assert "Qx9" not in live_key.stdout + live_key.stderr
    missing = shared_runs["missing_customer"].result()
    assert missing.returncode == 5
    path = next(a for a in missing.args if str(a).endswith("r.json"))
    doc = json.loads(Path(path).read_text())
    assert doc["complete"] is False and doc["errors"][0]["request_id"].startswith("req_")


def test_jq_pipeline_from_the_readme(server: Server, shared_runs: dict[str, Future[Any]]) -> None:
    ids = shared_runs["jq"].result().split()
    assert ids and all(server.truth["accounts"][i] == "relink_required" for i in ids)


@pytest.mark.parametrize("fmt", FORMATS)
def test_closed_stdout_exits_141_and_the_sandbox_stays_quiet(
    server: Server, shared_runs: dict[str, Future[Any]], fmt: str
) -> None:
    # Every format writes more than a pipe buffer for this data set, so a write fails.
    code, err = shared_runs[f"closed_{fmt}"].result()
    assert code == 141, err
    assert "Traceback" not in err
    server.log.flush()
    assert "Traceback" not in Path(server.log.name).read_text()


# -- small in-process sandboxes: hostile names and scripted faults -------------------------


@dataclass(frozen=True)
class Case:
    """One scan against its own sandbox: running_sandbox(**sandbox), then fcaudit *args."""

    sandbox: Mapping[str, Any]
    args: tuple[str, ...]


SCAN_JSON = ("scan", "-f", "json")
# The fault cases script the fan-out's requests (customer pages, one account list each).
FANOUT_JSON = (*SCAN_JSON, "--discovery", "customers")
CASES: dict[str, Case] = {
    "hostile_json": Case({"customers": 4, "scenario": "adversarial"}, SCAN_JSON),
    "hostile_table": Case(
        {"customers": 4, "scenario": "adversarial"}, ("scan", "-f", "table", "--show-active")
    ),
    # Each cued fault costs exactly one retry, so the counts below are exact.
    "5xx_and_drops": Case(
        {
            "cues": [
                f"503:1@{CUSTOMERS}",
                f"503:2@{ACCOUNTS}",
                f"500:2@{ACCOUNTS}",
                f"drop:2@{ACCOUNTS}",
            ]
        },
        FANOUT_JSON,
    ),
    # Fewer 429s than the first wave of account lists (8 customers): one round of retries.
    "429_storm": Case({"cues": [f"429:6@{ACCOUNTS}"]}, FANOUT_JSON),
    # A third of first attempts answered with a lock timeout: a 429 that is not a rate limit.
    "lock_timeouts": Case({"customers": 40, "lock_timeout_rate": 0.34}, FANOUT_JSON),
    # Two requests in flight per endpoint, each held 20 ms: concurrency 429s until fcaudit
    # lowers what it has in flight.
    "max_in_flight": Case({"customers": 200, "max_in_flight": 2, "latency_ms": 20}, FANOUT_JSON),
    "stalls": Case(
        {"cues": [f"stall:3@{ACCOUNTS}"]}, (*FANOUT_JSON, "--timeout", "0.6", "--max-retries", "3")
    ),
    "always_5xx": Case(
        {"customers": 2, "error_rate": 1},
        ("scan", "--max-retries", "1", "--discovery", "customers"),
    ),
    "always_5xx_named": Case(
        {"customers": 2, "error_rate": 1},
        (*SCAN_JSON, "--max-retries", "1", "--customer", "cus_a1", "--customer", "cus_b2"),
    ),
}


@dataclass(frozen=True)
class Run:
    box: Sandbox
    proc: Proc


@pytest.fixture(scope="module")
def fault_runs(pool: ThreadPoolExecutor) -> Iterator[dict[str, Future[Run]]]:
    """Every case of CASES, started together; each test reads its own."""

    def run(box: Sandbox, args: tuple[str, ...]) -> Run:
        return Run(box, fcaudit(box, *args))

    with ExitStack() as stack:
        futures = {}
        for name, case in CASES.items():
            kw = {"customers": 8, "now": NOW_DT, **case.sandbox}
            box = Sandbox(stack.enter_context(running_sandbox(**kw)))
            futures[name] = pool.submit(run, box, case.args)
        yield futures
        for future in futures.values():
            future.exception()  # the sandboxes close only after their runs are over


def test_hostile_names_are_shown_literally(fault_runs: dict[str, Future[Run]]) -> None:
    run = fault_runs["hostile_json"].result()
    doc = report(run.proc)
    assert run.proc.returncode == 1
    assert doc["summary"]["accounts"] == len(run.box.truth["accounts"])
    assert_matches_truth(doc, run.box.truth)
    # JSON carries the names unchanged: nothing stripped, nothing interpreted.
    names = {f["display_name"] for f in doc["findings"]}
    names |= {f["institution_name"] for f in doc["findings"]}
    assert set(HOSTILE_DISPLAY_NAMES) <= names
    assert set(HOSTILE_INSTITUTIONS) <= names
    table = fault_runs["hostile_table"].result().proc
    assert table.returncode == 1
    # No control or bidi character reaches the terminal; markup is printed, not applied.
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", table.stdout)
    for literal in ("[bold red]FREE[/]", "<script>", "=HYPERLINK("):
        assert literal in table.stdout, literal


def assert_nothing_lost(run: Run) -> dict[str, Any]:
    doc = report(run.proc)
    assert run.box.running.server.faults.cues_left() == []  # every scripted fault happened
    assert doc["errors"] == [] and doc["complete"] is True
    assert doc["summary"]["accounts"] == run.box.truth["customer_accounts"]
    assert_matches_truth(doc, run.box.truth)
    return doc


def test_5xx_bursts_and_dropped_connections_lose_nothing(
    fault_runs: dict[str, Future[Run]],
) -> None:
    run = fault_runs["5xx_and_drops"].result()
    doc = assert_nothing_lost(run)
    assert doc["stats"]["retries"] == 7 and doc["stats"]["rate_limited"] == 0
    assert run.box.running.stats.dropped == 2
    assert run.proc.returncode == 1


def test_429_storm_loses_nothing(fault_runs: dict[str, Future[Run]]) -> None:
    run = fault_runs["429_storm"].result()
    doc = assert_nothing_lost(run)
    assert doc["stats"]["rate_limited"] == doc["stats"]["retries"] == 6
    assert run.box.running.stats.by_status["429"] == 6
    assert run.proc.returncode == 1


def test_lock_timeouts_are_retried_and_lose_nothing(fault_runs: dict[str, Future[Run]]) -> None:
    run = fault_runs["lock_timeouts"].result()
    doc = assert_nothing_lost(run)
    by_reason = doc["stats"]["rate_limited_by_reason"]
    assert by_reason["none"] == doc["stats"]["rate_limited"] == doc["stats"]["retries"] > 0
    assert by_reason["none"] == run.box.running.stats.by_status["429"]


def test_concurrency_429s_lower_the_requests_in_flight_and_lose_nothing(
    fault_runs: dict[str, Future[Run]],
) -> None:
    run = fault_runs["max_in_flight"].result()
    doc = assert_nothing_lost(run)
    by_reason = doc["stats"]["rate_limited_by_reason"]
    assert by_reason["endpoint-concurrency"] == doc["stats"]["rate_limited"] > 0
    # Far fewer 429s than requests: fcaudit kept what it had in flight near the server's 2.
    assert doc["stats"]["rate_limited"] < doc["stats"]["requests"] / 4


def test_slow_answers_past_the_timeout_are_retried(fault_runs: dict[str, Future[Run]]) -> None:
    run = fault_runs["stalls"].result()
    doc = assert_nothing_lost(run)
    # Each stalled answer was retried (nothing is lost); on a loaded machine an answer that
    # was merely slow may pass the 0.6 s timeout too, and is retried as well.
    assert doc["stats"]["retries"] >= run.box.running.stats.stalled == 3
    assert doc["stats"]["rate_limited"] == 0


def test_exit_4_when_the_api_keeps_failing(fault_runs: dict[str, Future[Run]]) -> None:
    run = fault_runs["always_5xx"].result()
    assert run.proc.returncode == 4
    assert run.proc.stderr.startswith("Error: listing customers failed")
    assert run.box.running.stats.by_endpoint == {"GET /v1/customers": 2}


def test_exhausted_retries_list_every_scope_in_errors(
    fault_runs: dict[str, Future[Run]],
) -> None:
    run = fault_runs["always_5xx_named"].result()
    assert run.proc.returncode == 5
    doc = report(run.proc)
    assert sorted(e["scope"]["id"] for e in doc["errors"]) == ["cus_a1", "cus_b2"]
    assert all(e["attempts"] == 2 and e["request_id"] for e in doc["errors"])
    assert doc["complete"] is False


# -- interrupts: signalled when the child is known to be mid-run, not after a sleep --------


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_writes_a_partial_report(tmp_path: Path, sig: signal.Signals) -> None:
    # Five account lists are answered and every later one stalls. Once all workers are
    # held, the five answers have been classified (a worker only asks again when done) and
    # the scan cannot finish before the signal lands.
    workers = 4
    cues = [f"ok:5@{ACCOUNTS}", f"stall:100@{ACCOUNTS}"]
    out = tmp_path / "report.json"
    out.write_text("previous")
    with running_sandbox(customers=40, now=NOW_DT, cues=cues) as running:
        box = Sandbox(running)
        proc = subprocess.Popen(
            [
                *(FCAUDIT, "scan", "--api-base", box.url, "--max-rps", "0"),
                *("--concurrency", str(workers), "-o", str(out), "--discovery", "customers"),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=ENV,
        )
        try:
            wait_until(lambda: running.stats.stalled >= workers, "every worker held by a stall")
            proc.send_signal(sig)
            proc.send_signal(sig)  # a second signal (impatient user, `timeout`) loses nothing
            _, err = proc.communicate(timeout=20)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    assert proc.returncode == 130, err
    doc = json.loads(out.read_text())
    validate_report(doc)
    assert doc["complete"] is False
    assert 0 < doc["summary"]["accounts"] < box.truth["customer_accounts"]
    assert_matches_truth(doc, box.truth)
    assert "interrupted" in err
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


def _waiting_on_an_empty_pipe(pid: int, writer: int) -> bool:
    """The child is blocked reading the FIFO and has read all that was written (Linux)."""
    pending = array.array("i", [0])
    fcntl.ioctl(writer, termios.FIONREAD, pending)
    if pending[0]:
        return False
    return "pipe" in Path(f"/proc/{pid}/wchan").read_text()


@pytest.mark.skipif(not Path("/proc/self/wchan").exists(), reason="needs Linux /proc")
def test_classify_interrupted_writes_what_it_classified(tmp_path: Path) -> None:
    line = json.dumps(
        {"id": "fca_1", "object": "financial_connections.account", "status": "active"}
    )
    fifo = tmp_path / "in.fifo"
    os.mkfifo(fifo)
    out = tmp_path / "out" / "r.json"
    out.parent.mkdir()
    proc = subprocess.Popen(
        [FCAUDIT, "classify", str(fifo), "-f", "json", "-o", str(out)],
        stderr=subprocess.PIPE,
        text=True,
        env={"PATH": "/usr/bin:/bin"},
    )
    with fifo.open("w") as writer:  # keep the input open: classify waits for more
        writer.write((line + "\n") * 50)
        writer.flush()
        # classify reads and classifies line by line in one thread: once it blocks on an
        # empty pipe, all 50 objects are classified.
        wait_until(lambda: _waiting_on_an_empty_pipe(proc.pid, writer.fileno()), "classify idle")
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=10)
    assert proc.returncode == 130, err
    doc = json.loads(out.read_text())
    validate_report(doc)
    assert doc["complete"] is False and doc["summary"]["accounts"] == 50
    assert [p.name for p in out.parent.iterdir()] == ["r.json"]


@pytest.mark.skipif(not Path("/proc/self/wchan").exists(), reason="needs Linux /proc")
@pytest.mark.parametrize("unbuffered", [False, True])
def test_interrupted_while_stdout_is_full_ndjson_ends_on_a_whole_line(
    tmp_path: Path, unbuffered: bool
) -> None:
    # Offline NDJSON is buffered: a stop signal arriving while a write is blocked on a full
    # pipe must not leave half a line (what the interrupted write did not get out is kept
    # and written with the partial report).
    source = tmp_path / "in.ndjson"
    obj = {"id": "fca_0", "object": "financial_connections.account", "status": "active"}
    obj["display_name"] = "x" * 300
    source.write_text("".join(json.dumps({**obj, "id": f"fca_{i}"}) + "\n" for i in range(3000)))
    env = {"PATH": "/usr/bin:/bin", **({"PYTHONUNBUFFERED": "1"} if unbuffered else {})}
    reader, writer = os.pipe()
    proc = subprocess.Popen(
        [FCAUDIT, "classify", str(source), "-f", "ndjson", "-q", "--fail-on", "none"],
        stdout=writer,
        stderr=subprocess.PIPE,
        env=env,
    )
    os.close(writer)
    try:
        wait_until(lambda: "pipe" in Path(f"/proc/{proc.pid}/wchan").read_text(), "stdout full")
        proc.send_signal(signal.SIGTERM)
        with os.fdopen(reader, "rb") as out:
            data = out.read()
        _, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, err
    assert data.endswith(b"\n")
    ids = [json.loads(line)["id"] for line in data.splitlines()]
    assert 0 < len(ids) < 3000 and ids == [f"fca_{i}" for i in range(len(ids))]
