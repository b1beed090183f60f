"""End to end: the installed `fcaudit` executable against `fcaudit sandbox serve`, both real
processes talking HTTP on 127.0.0.1. Categories are checked against the data set's own truth.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import validate_finding, validate_report

FCAUDIT = str(Path(sys.executable).parent / "fcaudit")
KEY = "sk_test_e2e"
NOW = "2026-11-20T12:00:00Z"
GA = "2026-10-28.endive"


class Server:
    def __init__(self, *flags: str, stderr: Any = None) -> None:
        self.proc = subprocess.Popen(
            [FCAUDIT, "sandbox", "serve", "--port", "0", "--now", NOW, *flags],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:\d+", line)
        assert match, line
        self.url = match.group(0)
        self._truth: dict[str, Any] | None = None

    @property
    def truth(self) -> dict[str, Any]:
        if self._truth is None:
            import urllib.request

            with urllib.request.urlopen(self.url + "/__sandbox/truth") as resp:
                self._truth = json.load(resp)
        return self._truth

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=10)
        assert self.proc.stdout is not None
        self.proc.stdout.close()


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    srv = Server("--customers", "120")
    yield srv
    srv.stop()


def fcaudit(
    srv: Server, *args: str, key: str = KEY, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    cmd = [FCAUDIT, *args, "--api-base", srv.url, "--as-of", NOW]
    cmd += ["--max-rps", "0", "--max-endpoint-rps", "0"]
    env = {"STRIPE_API_KEY": key, "NO_COLOR": "1", "PATH": "/usr/bin:/bin"}
    return subprocess.run(
        cmd, capture_output=True, text=True, env=env, timeout=timeout, check=False
    )


def scan_json(srv: Server, *args: str) -> tuple[dict[str, Any], subprocess.CompletedProcess[str]]:
    proc = fcaudit(srv, "scan", "-f", "json", *args)
    doc = json.loads(proc.stdout)
    validate_report(doc)
    return doc, proc


def test_every_account_found_with_the_designed_category(server: Server) -> None:
    doc, proc = scan_json(server)
    assert proc.returncode == 1  # the data set has relink_required accounts
    truth = server.truth
    found = {f["id"]: f["category"] for f in doc["findings"]}
    assert len(found) == doc["summary"]["accounts"] == truth["customer_accounts"]
    assert found == {i: truth["accounts"][i] for i in found}
    assert set(found.values()) == {
        "relink_required",
        "inactive_unrepairable",
        "inactive_unknown",
        "expiring",
        "disconnected",
        "unknown",
        "active",
    }
    assert doc["complete"] is True and doc["errors"] == []


def test_ndjson_matches_json(server: Server) -> None:
    proc = fcaudit(server, "scan", "-f", "ndjson")
    records = [json.loads(line) for line in proc.stdout.splitlines()]
    for r in records:
        validate_finding(r)
    doc, _ = scan_json(server)
    assert sorted(r["id"] for r in records) == sorted(f["id"] for f in doc["findings"])
    assert proc.stderr.startswith("fcaudit: ")


def test_authorizations_match_truth_and_are_fetched_once(server: Server) -> None:
    doc, _ = scan_json(server, "--authorizations")
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


def test_ga_version_makes_inactive_accounts_unknown(server: Server) -> None:
    doc, proc = scan_json(server, "--stripe-version", GA)
    inactive = {"relink_required", "inactive_unrepairable", "inactive_unknown"}
    cats = {f["category"] for f in doc["findings"]}
    assert "inactive_unknown" in cats and not cats & {"relink_required", "inactive_unrepairable"}
    n_inactive_truth = sum(
        1 for f in doc["findings"] if server.truth["accounts"][f["id"]] in inactive
    )
    assert doc["summary"]["by_category"]["inactive_unknown"] == n_inactive_truth
    assert GA in proc.stderr and "not a preview version" in proc.stderr
    assert all(f["authorization"] is None for f in doc["findings"])


def test_customer_with_more_than_100_accounts(server: Server) -> None:
    big = "cus_2RKds488vyy24M"
    doc, _ = scan_json(server, "--customer", big)
    assert doc["summary"]["accounts"] == 130
    assert doc["stats"]["by_endpoint"]["GET /v1/financial_connections/accounts"] == 2


def test_retrieve_commands(server: Server) -> None:
    doc, _ = scan_json(server, "--authorizations")
    acct = next(
        f for f in doc["findings"] if f["category"] == "relink_required" and f["authorization"]
    )
    proc = fcaudit(server, "account", acct["id"], "-f", "table")
    assert "status_details.inactive.action" in proc.stdout and acct["id"] in proc.stdout
    proc = fcaudit(server, "authorization", acct["authorization"], "-f", "json")
    one = json.loads(proc.stdout)
    validate_report(one)
    assert one["findings"][0]["id"] == acct["authorization"]


def test_exit_codes(server: Server, tmp_path: Path) -> None:
    assert fcaudit(server, "scan", "--fail-on", "none").returncode == 0
    assert fcaudit(server, "scan").returncode == 1
    assert fcaudit(server, "account", "cus_1").returncode == 2
    bad_key = fcaudit(server, "scan", key="sk_live_Qx9")
    assert bad_key.returncode == 3
    assert "Qx9" not in bad_key.stdout + bad_key.stderr
    missing = fcaudit(
        server, "scan", "--customer", "cus_doesnotexist", "-o", str(tmp_path / "r.json")
    )
    assert missing.returncode == 5
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["complete"] is False and report["errors"][0]["request_id"].startswith("req_")


def test_exit_4_when_the_api_keeps_failing() -> None:
    srv = Server("--customers", "5", "--error-rate", "1")
    try:
        proc = fcaudit(srv, "scan", "--max-retries", "1")
    finally:
        srv.stop()
    assert proc.returncode == 4
    assert proc.stderr.startswith("Error: listing customers failed")


def test_jq_pipeline_from_the_readme(server: Server) -> None:
    import shutil

    jq = shutil.which("jq")
    assert jq, "this test needs jq (Debian package jq), as the README's examples do"
    scan = subprocess.Popen(
        [
            FCAUDIT,
            "scan",
            "--api-base",
            server.url,
            "--max-rps",
            "0",
            "--max-endpoint-rps",
            "0",
            "-f",
            "ndjson",
        ],
        stdout=subprocess.PIPE,
        env={"STRIPE_API_KEY": KEY, "PATH": "/usr/bin:/bin"},
    )
    out = subprocess.run(
        [jq, "-r", 'select(.category=="relink_required") | .id'],
        stdin=scan.stdout,
        capture_output=True,
        text=True,
        check=True,
    )
    assert scan.stdout is not None
    scan.stdout.close()
    scan.wait(timeout=60)
    ids = out.stdout.split()
    assert ids and all(server.truth["accounts"][i] == "relink_required" for i in ids)


# -- faults (bounded in time: small data sets, short timeouts) ----------------------------


def fault_scan(*flags: str, client: tuple[str, ...] = ()) -> tuple[dict[str, Any], int, Server]:
    srv = Server("--customers", "25", *flags)
    try:
        proc = fcaudit(srv, "scan", "-f", "json", *client, timeout=170)
        doc = json.loads(proc.stdout)
        validate_report(doc)
        srv.truth  # noqa: B018 - fetched while the server runs
    finally:
        srv.stop()
    return doc, proc.returncode, srv


def assert_nothing_lost(doc: dict[str, Any], srv: Server) -> None:
    assert doc["errors"] == [] and doc["complete"] is True
    assert doc["summary"]["accounts"] == srv.truth["customer_accounts"]


def test_5xx_bursts_and_dropped_connections_lose_nothing() -> None:
    doc, code, srv = fault_scan("--error-rate", "0.25", "--drop-rate", "0.1")
    assert_nothing_lost(doc, srv)
    assert doc["stats"]["retries"] > 0
    assert code == 1


def test_429_storm_loses_nothing() -> None:
    doc, code, srv = fault_scan("--rate-limit", "8", "--endpoint-rate-limit", "4")
    assert_nothing_lost(doc, srv)
    assert doc["stats"]["rate_limited"] > 0
    assert code == 1


def test_slow_answers_past_the_timeout_are_retried() -> None:
    doc, _, srv = fault_scan(
        "--latency-ms",
        "0",
        "--jitter-ms",
        "1500",
        client=("--timeout", "0.8", "--max-retries", "10"),
    )
    assert_nothing_lost(doc, srv)
    assert doc["stats"]["retries"] > 0


def test_exhausted_retries_list_every_scope_in_errors() -> None:
    srv = Server("--customers", "25", "--error-rate", "1")
    try:
        ids = ["cus_a1", "cus_b2"]
        proc = fcaudit(
            srv,
            "scan",
            "-f",
            "json",
            "--max-retries",
            "1",
            "--customer",
            ids[0],
            "--customer",
            ids[1],
        )
    finally:
        srv.stop()
    assert proc.returncode == 5
    doc = json.loads(proc.stdout)
    validate_report(doc)
    assert sorted(e["scope"]["id"] for e in doc["errors"]) == ids
    assert all(e["attempts"] == 2 and e["request_id"] for e in doc["errors"])
    assert doc["complete"] is False


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_writes_a_partial_report(tmp_path: Path, sig: signal.Signals) -> None:
    srv = Server("--customers", "300", "--latency-ms", "100")
    expected = srv.truth["customer_accounts"]
    out = tmp_path / "report.json"
    out.write_text("previous")
    try:
        proc = subprocess.Popen(
            [FCAUDIT, "scan", "--api-base", srv.url, "--max-rps", "20", "-o", str(out)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={"STRIPE_API_KEY": KEY, "PATH": "/usr/bin:/bin"},
        )
        time.sleep(2.5)
        sent = time.monotonic()
        proc.send_signal(sig)
        time.sleep(0.01)
        proc.send_signal(sig)  # a second signal (impatient user, `timeout`) loses nothing
        _, err = proc.communicate(timeout=20)
        stopped_in = time.monotonic() - sent
    finally:
        srv.stop()
    assert proc.returncode == 130, err
    assert stopped_in < 5
    doc = json.loads(out.read_text())
    validate_report(doc)
    assert doc["complete"] is False
    assert 0 < doc["summary"]["accounts"] < expected
    assert "interrupted" in err
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


def test_classify_interrupted_writes_what_it_classified(tmp_path: Path) -> None:
    line = json.dumps(
        {"id": "fca_1", "object": "financial_connections.account", "status": "active"}
    )
    src = tmp_path / "big.ndjson"
    src.write_text((line + "\n") * 50)
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
        writer.write(src.read_text())
        writer.flush()
        time.sleep(1.5)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=10)
    assert proc.returncode == 130, err
    doc = json.loads(out.read_text())
    validate_report(doc)
    assert doc["complete"] is False and doc["summary"]["accounts"] == 50
    assert [p.name for p in out.parent.iterdir()] == ["r.json"]


@pytest.mark.parametrize("fmt", ["ndjson", "table", "json"])
def test_closed_stdout_exits_141_and_the_sandbox_stays_quiet(tmp_path: Path, fmt: str) -> None:
    with (tmp_path / "sandbox.err").open("w+") as log:
        srv = Server("--customers", "300", stderr=log)
        try:
            scan = subprocess.Popen(
                [
                    FCAUDIT,
                    "scan",
                    "--api-base",
                    srv.url,
                    "--max-rps",
                    "0",
                    "--max-endpoint-rps",
                    "0",
                    "-f",
                    fmt,
                    "--fail-on",
                    "none",
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env={"STRIPE_API_KEY": KEY, "PATH": "/usr/bin:/bin"},
            )
            assert scan.stdout is not None and scan.stderr is not None
            scan.stdout.readline()
            scan.stdout.close()  # what `| head -1` does
            err = scan.stderr.read().decode()
            scan.stderr.close()
            code = scan.wait(timeout=60)
        finally:
            srv.stop()
        log.seek(0)
        server_log = log.read()
    assert code == 141, err
    assert "Traceback" not in err
    assert "Traceback" not in server_log
