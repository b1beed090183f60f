"""`fcaudit scan` through the CLI, with Stripe faked at the HTTP layer under the real SDK: scopes,
pagination, failed scopes and exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import responses

from fcaudit.errors import ExitCode
from tests.conftest import API, SLEPT, TEST_KEY, run, validate_report
from tests.conftest import report_of as json_out
from tests.factories import AS_OF, account, authorization, expiring, inactive
from tests.stripe_fake import ACCOUNTS, add_accounts, add_customers, add_error, add_pages


def fleet(rsps: responses.RequestsMock) -> dict[str, list[dict[str, Any]]]:
    """Three customers over two customer pages, one with 150 accounts over two pages."""
    by_customer = {
        "cus_a": [
            account(
                "fca_a1",
                customer="cus_a",
                status="inactive",
                status_details=inactive(),
                authorization="fcauth_a",
            ),
            account(
                "fca_a2",
                customer="cus_a",
                status="active",
                status_details=expiring(5),
                authorization="fcauth_a",
            ),
        ],
        "cus_b": [
            account(
                f"fca_b{i:03d}", customer="cus_b", authorization="fcauth_b", institution="Chase"
            )
            for i in range(150)
        ],
        "cus_c": [],
    }
    add_customers(rsps, list(by_customer), per_page=2)
    for cus, accts in by_customer.items():
        add_accounts(rsps, cus, accts)
    return by_customer


def test_scan_every_customer(stripe_api: responses.RequestsMock) -> None:
    fleet(stripe_api)
    result = run("scan", *AS_OF, "--format", "json", "--discovery", "customers")
    doc = json_out(result)
    assert result.exit_code == ExitCode.FINDINGS
    assert doc["summary"]["accounts"] == 152
    assert doc["summary"]["by_category"]["relink_required"] == 1
    assert doc["summary"]["by_category"]["expiring"] == 1
    assert doc["summary"]["by_category"]["active"] == 150
    assert [f["category"] for f in doc["findings"][:2]] == ["relink_required", "expiring"]
    assert doc["complete"] is True and doc["errors"] == []
    assert doc["scope"]["type"] == "all_customers" and doc["scope"]["ids"] is None
    assert doc["scope"]["discovery"]["mode"] == "customers"
    assert doc["stripe_version"] == "2026-09-30.preview"
    assert doc["mode"] == "test"
    assert doc["as_of"] == "2026-11-26T12:00:00Z"
    # every customer page and every account page was requested, nothing else
    assert doc["stats"]["requests"] == len(stripe_api.calls) == 2 + 1 + 2 + 1
    assert "fcaudit: 152 accounts: " in result.stderr


def test_scan_authorizations_retrieves_each_once(stripe_api: responses.RequestsMock) -> None:
    fleet(stripe_api)
    stripe_api.get(
        API + "/v1/financial_connections/authorizations/fcauth_a",
        json=authorization(
            "fcauth_a",
            status="inactive",
            status_details={"inactive": {"action": "relink_required"}},
        ),
    )
    stripe_api.get(
        API + "/v1/financial_connections/authorizations/fcauth_b", json=authorization("fcauth_b")
    )
    doc = json_out(
        run("scan", *AS_OF, "--authorizations", "-f", "json", "--discovery", "customers")
    )
    auth_calls = [c for c in stripe_api.calls if "/authorizations/" in str(c.request.url)]
    assert len(auth_calls) == 2
    auths = {f["id"]: f for f in doc["findings"] if f["object"].endswith("authorization")}
    assert auths["fcauth_a"]["accounts"] == ["fca_a1", "fca_a2"]
    assert auths["fcauth_a"]["category"] == "relink_required"
    assert len(auths["fcauth_b"]["accounts"]) == 150
    assert doc["summary"]["authorizations"] == 2


def test_scope_flags(stripe_api: responses.RequestsMock) -> None:
    fleet(stripe_api)
    doc = json_out(run("scan", *AS_OF, "--customer", "cus_a", "--customer", "cus_a", "-f", "json"))
    assert doc["summary"]["accounts"] == 2
    assert doc["scope"] == {"type": "customers", "ids": ["cus_a"]}
    assert not [c for c in stripe_api.calls if "/v1/customers" in str(c.request.url)]


def test_account_holder_and_session_scopes(stripe_api: responses.RequestsMock) -> None:
    from tests.stripe_fake import add_pages

    add_pages(
        stripe_api,
        ACCOUNTS,
        [account("fca_h", customer=None)],
        query={"account_holder[account]": "acct_1"},
    )
    add_pages(stripe_api, ACCOUNTS, [account("fca_s")], query={"session": "fcsess_1"})
    assert json_out(run("scan", "--account-holder", "acct_1"))["findings"][0]["id"] == "fca_h"
    assert json_out(run("scan", "--session", "fcsess_1"))["findings"][0]["id"] == "fca_s"


def test_customer_account_scope(stripe_api: responses.RequestsMock) -> None:
    obj = account("fca_v2", customer=None, status_details=expiring(3))
    obj["account_holder"] = {"type": "customer", "customer": None, "customer_account": "acct_v2"}
    add_pages(
        stripe_api,
        "/v1/financial_connections/accounts",
        [obj],
        query={"account_holder[customer_account]": "acct_v2"},
    )
    result = run("scan", "--customer-account", "acct_v2", "-f", "json", *AS_OF)
    assert result.exit_code == ExitCode.FINDINGS, result.stderr
    doc = json.loads(result.stdout)
    assert doc["scope"] == {"type": "customer_accounts", "ids": ["acct_v2"]}
    assert doc["findings"][0]["account_holder"] == {"type": "customer", "id": "acct_v2"}
    assert "account_holder%5Bcustomer_account%5D=acct_v2" in str(stripe_api.calls[0].request.url)
    assert API in str(stripe_api.calls[0].request.url)


# -- exit codes ---------------------------------------------------------------------------


def test_exit_0_when_nothing_matches(stripe_api: responses.RequestsMock) -> None:
    add_accounts(stripe_api, "cus_a", [account(), account("fca_2", status="disconnected")])
    assert run("scan", "--customer", "cus_a").exit_code == ExitCode.OK


@pytest.mark.parametrize(
    ("fail_on", "code"),
    [
        ("none", 0),
        ("any", 1),
        ("disconnected", 1),
        ("expiring", 0),
        ("relink_required,expiring", 0),
    ],
)
def test_fail_on(stripe_api: responses.RequestsMock, fail_on: str, code: int) -> None:
    add_accounts(stripe_api, "cus_a", [account(), account("fca_2", status="disconnected")])
    assert run("scan", "--customer", "cus_a", "--fail-on", fail_on).exit_code == code


def test_exit_3_on_bad_key_and_key_never_printed(
    stripe_api: responses.RequestsMock, tmp_path: Path
) -> None:
    add_error(stripe_api, "/v1/customers", 401, message=f"Invalid API Key provided: {TEST_KEY}")
    report = tmp_path / "report.json"
    report.write_text("previous report")
    result = run("scan", "-o", str(report), "--discovery", "customers")
    assert result.exit_code == ExitCode.AUTH
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1
    assert TEST_KEY not in result.stdout + result.stderr
    assert report.read_text() == "previous report"
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


def test_exit_3_on_permission_error_mid_scan(stripe_api: responses.RequestsMock) -> None:
    add_customers(stripe_api, ["cus_a", "cus_b"])
    add_error(stripe_api, ACCOUNTS, 403, message="restricted key lacks financial_connections read")
    result = run("scan")
    assert result.exit_code == ExitCode.AUTH
    assert "403" in result.stderr and "Tip:" in result.stderr


def test_exit_4_when_customer_listing_fails(stripe_api: responses.RequestsMock) -> None:
    for _ in range(10):
        add_error(stripe_api, "/v1/customers", 500, type="api_error", message="boom")
    result = run("scan", "--max-retries", "2", "--discovery", "customers")
    assert result.exit_code == ExitCode.API
    assert "listing customers failed" in result.stderr
    assert len(stripe_api.calls) == 3
    assert "req_err_500" in result.stderr
    # Two jittered exponential backoff waits (recorded by the injected sleep, not slept).
    assert len(SLEPT) == 2
    assert 0.25 <= SLEPT[0] <= 0.5 <= SLEPT[1] <= 1.0


def test_exit_5_when_a_scope_fails(stripe_api: responses.RequestsMock, tmp_path: Path) -> None:
    add_customers(stripe_api, ["cus_a", "cus_gone"])
    add_accounts(stripe_api, "cus_a", [account()])
    add_error(
        stripe_api,
        ACCOUNTS,
        404,
        message="No such customer: 'cus_gone'",
        query={"account_holder[customer]": "cus_gone"},
    )
    out = tmp_path / "r.json"
    result = run("scan", "-o", str(out), "--discovery", "customers")
    assert result.exit_code == ExitCode.INCOMPLETE
    doc = json.loads(out.read_text())
    validate_report(doc)
    assert doc["complete"] is False
    assert doc["errors"] == [
        {
            "scope": {"type": "customer", "id": "cus_gone"},
            "message": "No such customer: 'cus_gone' (HTTP 404)",
            "request_id": "req_err_404",
            "http_status": 404,
            "code": "resource_missing",
            "attempts": 1,
        }
    ]
    assert doc["summary"]["accounts"] == 1
    assert result.stdout == ""
    assert "cus_gone" in result.stderr and "report written to" in result.stderr


# -- what a scope's failure or an odd answer leaves ---------------------------------------


def test_malformed_bodies_mid_scan_lose_nothing(stripe_api: responses.RequestsMock) -> None:
    from responses import matchers

    add_customers(stripe_api, ["cus_a", "cus_b"])
    query = {"account_holder[customer]": "cus_a", "limit": "100"}
    stripe_api.get(
        API + ACCOUNTS,
        body='{"object": "list", "data": [{"id": "fca_',  # a truncated body, as from a proxy
        match=[matchers.query_param_matcher(query)],
    )
    add_accounts(stripe_api, "cus_a", [account("fca_a", customer="cus_a")])
    add_accounts(stripe_api, "cus_b", [account("fca_b", customer="cus_b")])
    result = run("scan", "-f", "json", "--discovery", "customers")
    doc = json_out(result)
    assert result.exit_code == 0, result.stderr
    assert sorted(f["id"] for f in doc["findings"]) == ["fca_a", "fca_b"]
    assert doc["stats"]["retries"] == 1 and doc["complete"] is True


def test_quiet_still_reports_failed_scopes(stripe_api: responses.RequestsMock) -> None:
    add_error(stripe_api, ACCOUNTS, 404, message="No such customer: 'cus_zz'")
    result = run("scan", "--customer", "cus_zz", "-q")
    assert result.exit_code == ExitCode.INCOMPLETE
    assert "cus_zz" in result.stderr and "fcaudit:" not in result.stderr


def test_errors_are_sorted(stripe_api: responses.RequestsMock) -> None:
    add_error(stripe_api, ACCOUNTS, 404, message="gone")
    result = run("scan", "--customer", "cus_b", "--customer", "cus_c", "--customer", "cus_a")
    ids = [e["scope"]["id"] for e in json.loads(result.stdout)["errors"]]
    assert ids == ["cus_a", "cus_b", "cus_c"]


def test_one_odd_object_does_not_stop_its_scope(stripe_api: responses.RequestsMock) -> None:
    odd = {"id": "cus_weird", "object": "customer"}
    add_accounts(stripe_api, "cus_a", [account("fca_1"), odd, account("fca_2")], per_page=2)
    result = run("scan", "--customer", "cus_a")
    doc = json_out(result)
    assert sorted(f["id"] for f in doc["findings"]) == ["fca_1", "fca_2"]
    assert doc["errors"][0]["scope"] == {"type": "account", "id": "cus_weird"}
    assert result.exit_code == ExitCode.INCOMPLETE


def test_the_discovery_choices_are_the_sources_modes() -> None:
    from fcaudit.cli.scan import DISCOVERY_MODES
    from fcaudit.sources.listing import Discovery

    assert tuple(Discovery) == DISCOVERY_MODES


def test_a_state_flag_without_state_names_itself() -> None:
    result = run("scan", "--sandbox", "--state-wait", "5m", key=None)
    assert result.exit_code == 2
    assert (
        result.stderr
        == "Error: --state-wait goes with --state FILE. Tip: add --state FILE, or drop it.\n"
    )
    empty = run("scan", "--sandbox", "--state", " ", key=None)
    assert empty.exit_code == 2 and empty.stderr.startswith("Error: --state needs a file path.")
