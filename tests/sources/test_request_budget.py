"""--max-requests: a run sends at most N requests in all, then stops; the report says it is
incomplete (exit 5) and errors[] names the budget and what was not read."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from fcaudit.stripe.failures import BudgetSpent
from fcaudit.stripe.gateway import ClientSettings, StripeGateway
from tests.conftest import report_of, run

SCAN = ("scan", "--sandbox", "-f", "json", "-q", "--fail-on", "none")


def budget_entry(doc: dict[str, Any]) -> dict[str, Any]:
    entries = [e for e in doc["errors"] if e["code"] == "request_budget"]
    assert len(entries) == 1, doc["errors"]
    entry: dict[str, Any] = entries[0]
    return entry


def test_the_fan_out_stops_at_the_budget_and_names_what_it_did_not_read() -> None:
    result = run(*SCAN, "--discovery", "customers", "--max-requests", "5", key=None)
    assert result.exit_code == 5, result.stderr
    doc = report_of(result)
    assert doc["complete"] is False and doc["stats"]["requests"] == 5
    message = budget_entry(doc)["message"]
    assert message.startswith("the request budget of 5 requests (--max-requests) was spent")
    assert "not read: customer cus_" in message and "more" in message
    assert "the rest of the listing" in message  # the customer list was cut short too


def test_the_account_list_stops_at_the_budget() -> None:
    result = run(*SCAN, "--max-requests", "2", key=None)
    assert result.exit_code == 5, result.stderr
    doc = report_of(result)
    assert doc["stats"]["requests"] == 2
    assert "not read: the rest of the account list" in budget_entry(doc)["message"]


def test_a_budget_large_enough_changes_nothing() -> None:
    result = run(*SCAN, "--max-requests", "100000", key=None)
    assert result.exit_code == 0, result.stderr
    doc = report_of(result)
    assert doc["complete"] is True and doc["errors"] == []


def test_an_incremental_run_over_budget_leaves_the_store_as_it_was(tmp_path: Path) -> None:
    state = tmp_path / "fc.sqlite"
    assert run(*SCAN, "--state", str(state), key=None).exit_code == 0
    before = state.read_bytes()
    # One request reads the Stripe account; the events since the last run are not read.
    result = run(*SCAN, "--state", str(state), "--max-requests", "1", key=None)
    assert result.exit_code == 5, result.stderr
    message = budget_entry(json.loads(result.stdout))["message"]
    assert "the events since the last run" in message
    assert state.read_bytes() == before


@pytest.mark.parametrize(("flag", "env"), [("0", None), ("-3", None), (None, "abc")])
def test_a_budget_that_is_not_a_positive_number_is_refused_in_one_line(
    flag: str | None, env: str | None
) -> None:
    if flag is not None:
        result = run(*SCAN, "--max-requests", flag, key=None)
    else:
        result = run(*SCAN, key=None, FCAUDIT_MAX_REQUESTS=str(env))
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: Invalid value for '--max-requests'")
    assert len(result.stderr.strip().splitlines()) == 1


def test_the_environment_variable_sets_the_budget() -> None:
    result = run(*SCAN, "--discovery", "customers", key=None, FCAUDIT_MAX_REQUESTS="3")
    assert result.exit_code == 5
    assert report_of(result)["stats"]["requests"] == 3


def test_the_gateway_sends_no_request_past_the_budget() -> None:
    settings = ClientSettings(api_key="sk_test_x", stripe_version="v", max_requests=0)
    gateway = StripeGateway(settings)
    with pytest.raises(BudgetSpent):
        gateway.get("/v1/customers", endpoint="GET /v1/customers")
    assert gateway.budget_spent and gateway.cancelled.is_set()
    assert gateway.stats.snapshot()["requests"] == 0
