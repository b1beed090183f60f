"""End to end (#12): each discovery path and the Connect fan-out, the installed `fcaudit`
against in-process sandboxes over HTTP, checked against each data set's own truth.

The runs don't depend on each other, so a module fixture starts them together (each on its
own small sandbox) and each test asserts on its own run.
"""

from __future__ import annotations

import functools
import json
import math
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from fcaudit.sandbox import RunningSandbox, running_sandbox
from tests.conftest import validate_report

FCAUDIT = str(Path(sys.executable).parent / "fcaudit")
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
ENV = {"STRIPE_API_KEY": "sk_test_e2e_discovery", "PATH": "/usr/bin:/bin", "NO_COLOR": "1"}
ACCOUNTS = "GET /v1/financial_connections/accounts"
CUSTOMERS = "GET /v1/customers"
# A sparse fleet: 10% of the random customers link a bank (the four scripted ones always do),
# and its connected accounts, each with a data set of its own.
FLEET = {"customers": 40, "fc_share": 0.1, "now": NOW, "connected_customers": 1}


@dataclass(frozen=True)
class Case:
    sandbox: Mapping[str, Any]
    args: tuple[str, ...] | Callable[[RunningSandbox], tuple[str, ...]]


def accounts_of_every_connected_account_and_an_unknown(box: RunningSandbox) -> tuple[str, ...]:
    first, *others = box.dataset.connected_ids
    connected = ",".join([first, "acct_unknown0000", *others])
    return ("--discovery", "accounts", "--connected-accounts", connected)


# Two runs cover every path: the unfiltered list (the platform's and each connected
# account's, one unknown), and auto against a Stripe that refuses it everywhere, so the
# platform and every connected account (paged from GET /v1/accounts) fall back to the
# fan-out, each on its own.
CASES = {
    "accounts": Case(FLEET, accounts_of_every_connected_account_and_an_unknown),
    "refused": Case({**FLEET, "require_account_filter": True}, ("--connected-accounts", "all")),
}


@dataclass
class Run:
    box: RunningSandbox
    proc: subprocess.CompletedProcess[str]

    @functools.cached_property
    def doc(self) -> dict[str, Any]:
        """The report, validated against the schema once (a quarter of a second)."""
        doc: dict[str, Any] = json.loads(self.proc.stdout)
        validate_report(doc)
        return doc

    def truth(self, stripe_account: str | None = None) -> dict[str, Any]:
        ds = (
            self.box.dataset
            if stripe_account is None
            else self.box.dataset.connected(stripe_account)
        )
        assert ds is not None
        return ds.truth()


def scan(box: RunningSandbox, *args: str) -> Run:
    cmd = [FCAUDIT, "scan", "--api-base", box.base_url, "--as-of", NOW.isoformat()]
    cmd += ["--max-rps", "0", "--max-endpoint-rps", "0", "-f", "json", "--fail-on", "none"]
    proc = subprocess.run(
        [*cmd, *args], capture_output=True, text=True, env=ENV, timeout=60, check=False
    )
    return Run(box, proc)


@pytest.fixture(scope="module")
def runs() -> Iterator[dict[str, Future[Run]]]:
    with ExitStack() as stack, ThreadPoolExecutor(len(CASES)) as pool:
        futures = {}
        for name, case in CASES.items():
            box = stack.enter_context(running_sandbox(**case.sandbox))
            args = case.args(box) if callable(case.args) else case.args
            futures[name] = pool.submit(scan, box, *args)
        yield futures
        for future in futures.values():
            future.exception()  # the sandboxes close only after their runs are over


def categories(doc: Mapping[str, Any], stripe_account: str | None = None) -> dict[str, str]:
    return {
        f["id"]: f["category"]
        for f in doc["findings"]
        if f["object"] == "financial_connections.account" and f["stripe_account"] == stripe_account
    }


def fan_out_requests(ds: Any) -> int:
    """1 page per 100 customers, then one account list per customer (more past 100)."""
    pages = sum(max(1, math.ceil(len(ds.accounts_for_customer(c)) / 100)) for c in ds.customer_ids)
    return math.ceil(len(ds.customer_ids) / 100) + pages


def datasets(run: Run) -> dict[str | None, Any]:
    """The platform's data set (None) and each connected account's."""
    box = run.box.dataset
    return {None: box, **{a: box.connected(a) for a in box.connected_ids}}


def test_discovery_accounts_finds_every_holder_at_one_request_per_100(
    runs: dict[str, Future[Run]],
) -> None:
    run = runs["accounts"].result()
    doc, truth = run.doc, run.truth()
    assert categories(doc) == truth["accounts"]  # customers, connected accounts, v2 holders
    holders = {f["account_holder"]["id"] for f in doc["findings"] if not f["stripe_account"]}
    assert set(truth["holders"]["account"]) <= holders
    assert set(truth["holders"]["customer_account"][:1]) <= holders  # the second has none
    assert doc["scope"]["discovery"]["mode"] == "accounts"
    # One request per page of each Stripe account's list (and the unknown one's 403); no
    # customer is listed.
    pages = sum(math.ceil(len(ds.account_ids) / 100) for ds in datasets(run).values())
    assert run.box.stats.by_endpoint == {ACCOUNTS: pages + 1}


def test_connected_accounts_each_with_its_own_data(runs: dict[str, Future[Run]]) -> None:
    run = runs["accounts"].result()
    doc, platform = run.doc, run.truth()
    connected = platform["connected_accounts"]
    assert len(connected) >= 2
    # The unknown one is an error; every other account is read, each with its own data.
    assert run.proc.returncode == 5
    (error,) = doc["errors"]
    assert error["scope"] == {
        "type": "connected_account",
        "id": "acct_unknown0000",
        "stripe_account": "acct_unknown0000",
    }
    assert error["http_status"] == 403 and error["code"] == "account_invalid"
    for acct in connected:
        assert categories(doc, acct) == run.truth(acct)["accounts"], acct
    summary = {e["stripe_account"]: e for e in doc["summary"]["by_stripe_account"]}
    assert list(summary) == [None, connected[0], "acct_unknown0000", *connected[1:]]
    assert summary["acct_unknown0000"]["accounts"] == 0
    for acct in connected:
        truth = run.truth(acct)
        assert summary[acct]["accounts"] == len(truth["accounts"])
        expected = sum(1 for c in truth["accounts"].values() if c == "relink_required")
        assert summary[acct]["by_category"]["relink_required"] == expected
    # Groups and Dashboard links point into the connected account they belong to.
    for group in doc["groups"]:
        prefix = f"/{group['stripe_account']}/test/" if group["stripe_account"] else "/test/"
        assert group["dashboard_url"].startswith("https://dashboard.stripe.com" + prefix)
    assert {g["stripe_account"] for g in doc["groups"]} == {None, *connected}


def test_auto_falls_back_to_the_fan_out_account_by_account(runs: dict[str, Future[Run]]) -> None:
    run = runs["refused"].result()
    doc, platform = run.doc, run.truth()
    assert run.proc.returncode == 0, run.proc.stderr
    assert doc["complete"] is True and doc["errors"] == []
    connected = platform["connected_accounts"]
    assert doc["scope"]["connected_accounts"] == "all"
    discovery = doc["scope"]["discovery"]
    assert discovery["requested"] == "auto" and discovery["mode"] == "customers"
    assert discovery["refused"] == 1 + len(connected)
    assert "parameter_missing" in discovery["reason"]
    for acct in (None, *connected):
        truth = run.truth(acct)
        found = categories(doc, acct)
        assert len(found) == truth["customer_accounts"], acct
        assert found == {i: truth["accounts"][i] for i in found}
    # The fan-out's cost, exactly: the refusals, GET /v1/accounts, then per Stripe account
    # a page per 100 customers and each customer's list.
    stats = run.box.stats
    assert stats.by_status["400"] == 1 + len(connected)
    assert stats.by_endpoint["GET /v1/accounts"] == 1
    fan_out = sum(fan_out_requests(ds) for ds in datasets(run).values())
    assert stats.requests == 1 + (1 + len(connected)) + fan_out
    assert stats.by_endpoint[CUSTOMERS] == sum(
        math.ceil(len(ds.customer_ids) / 100) for ds in datasets(run).values()
    )
