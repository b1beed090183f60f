"""Exact output where output is a contract: JSON, NDJSON and the table, byte for byte.

The input (tests/golden/input.ndjson) holds one object per classification case, hostile names
included. Only what differs by run is normalised: the generation time, the tool version and the
run's duration. `UPDATE_GOLDEN=1 make test` rewrites the files; do that only when the contract
changes on purpose, and say so in the CHANGELOG.
"""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import responses

from fcaudit.sandbox import SANDBOX_API_KEY, running_sandbox
from tests.conftest import run, validate_report
from tests.factories import AS_OF, account, authorization, expiring, inactive
from tests.stripe_fake import add_accounts, add_customers

GOLDEN = Path(__file__).parent / "golden"
INPUT = (GOLDEN / "input.ndjson").read_text(encoding="utf-8")


def _normalise(text: str) -> str:
    text = re.sub(r'"generated_at": ?"[^"]+"', '"generated_at": "GENERATED_AT"', text)
    text = re.sub(r'"duration_seconds": ?[0-9.]+', '"duration_seconds": 0', text)
    return re.sub(r'("name": ?"fcaudit",\s*"version": ?)"[^"]+"', r'\1"VERSION"', text)


def _check(name: str, output: str) -> None:
    path = GOLDEN / name
    output = _normalise(output)
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(output, encoding="utf-8")
    assert output == path.read_text(encoding="utf-8"), f"{name} differs from the golden file"


@pytest.mark.parametrize(
    ("fmt", "columns"),
    [("json", 200), ("ndjson", 200), ("table", 80), ("table", 120), ("table", 200)],
)
def test_classify_output_is_exactly_the_golden_file(fmt: str, columns: int) -> None:
    result = run(
        "classify", "-", "-f", fmt, *AS_OF, "--fail-on", "none", "-q",
        key=None, input=INPUT, COLUMNS=str(columns),
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    if fmt == "json":
        validate_report(json.loads(result.stdout))
    _check(f"classify.{fmt}.{columns}", result.stdout)


def _fleet(rsps: responses.RequestsMock) -> None:
    by_customer: dict[str, list[dict[str, Any]]] = {
        "cus_a": [
            account("fca_a1", customer="cus_a", status="inactive", status_details=inactive()),
            account("fca_a2", customer="cus_a", status_details=expiring(5)),
        ],
        "cus_b": [account("fca_b1", customer="cus_b", authorization="fcauth_b")],
    }
    add_customers(rsps, list(by_customer))
    for cus, accts in by_customer.items():
        add_accounts(rsps, cus, accts)
    for auth in (authorization("fcauth_1"), authorization("fcauth_b", status="disconnected")):
        rsps.get(
            f"https://api.stripe.com/v1/financial_connections/authorizations/{auth['id']}",
            json=auth,
        )


@pytest.mark.parametrize("fmt", ["json", "ndjson"])
def test_scan_output_is_exactly_the_golden_file(
    stripe_api: responses.RequestsMock, fmt: str
) -> None:
    _fleet(stripe_api)
    # One worker: NDJSON streams in completion order, which is the order of the requests here.
    args = ("--authorizations", "--concurrency", "1", "-f", fmt, "--fail-on", "none", "-q")
    fanout = ("--discovery", "customers")  # the fleet is served customer by customer
    result = run("scan", *args, *fanout, *AS_OF)
    assert result.exit_code == 0, result.stderr
    _check(f"scan.{fmt}", result.stdout)


# The sandbox scan's report as today's layout wrote it: a restructuring must not move a byte.
SANDBOX_NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize("fmt", ["json", "ndjson"])
def test_sandbox_scan_output_is_exactly_the_golden_file(fmt: str) -> None:
    with running_sandbox(customers=12, now=SANDBOX_NOW) as sandbox:
        result = run(
            "scan", "--api-base", sandbox.base_url, "--authorizations", "--concurrency", "1",
            "--max-rps", "0", "--max-endpoint-rps", "0", "-f", fmt, "--fail-on", "none", "-q",
            "--as-of", "2026-11-20T12:00:00Z",
            key=SANDBOX_API_KEY,
        )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    # The sandbox draws a fresh request id per answer (error findings quote it).
    output = re.sub(r"req_[0-9a-f]+", "req_ID", result.stdout.replace(sandbox.base_url, "URL"))
    if fmt == "json":
        validate_report(json.loads(output))
    _check(f"sandbox-scan.{fmt}", output)
