"""--discovery and --connected-accounts (#12) against Stripe faked at the HTTP layer.

The unfiltered account list, the fan-out and auto's fallback; connected accounts read with
their own Stripe-Account header (never another's), one failing without stopping the others;
--contact without the customer list. End-to-end runs against the sandbox are in
tests/e2e/test_discovery.py.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from requests import PreparedRequest

from fcaudit.errors import ExitCode
from tests.conftest import API, report_of, run
from tests.factories import account, authorization, expiring, inactive
from tests.stripe_fake import ACCOUNTS, add_accounts, add_customers, add_error, add_pages

Callback = Callable[[PreparedRequest], tuple[int, dict[str, str], str]]


def held(id: str, kind: str, holder: str, **kw: Any) -> dict[str, Any]:
    """An account whose holder is a customer, a connected account or an Accounts-v2 customer."""
    obj = account(id, customer=None, **kw)
    obj["account_holder"] = {
        "customer": {"type": "customer", "customer": holder},
        "account": {"type": "account", "account": holder},
        "customer_account": {"type": "customer", "customer": None, "customer_account": holder},
    }[kind]
    return obj


def calls_to(rsps: responses.RequestsMock, path: str) -> list[str]:
    return [str(c.request.url) for c in rsps.calls if urlsplit(str(c.request.url)).path == path]


# -- the unfiltered list -------------------------------------------------------------------


def test_accounts_mode_reads_every_holder_one_request_per_100(
    stripe_api: responses.RequestsMock,
) -> None:
    accounts = [held(f"fca_c{i:03d}", "customer", f"cus_{i % 7}") for i in range(110)]
    accounts += [
        held("fca_h1", "account", "acct_holder1", status="inactive", status_details=inactive()),
        held("fca_v1", "customer_account", "acct_v2cust", status_details=expiring(3)),
    ]
    assert add_pages(stripe_api, ACCOUNTS, accounts) == 2
    result = run("scan", "--discovery", "accounts", "-f", "json")
    doc = report_of(result)
    assert result.exit_code == ExitCode.FINDINGS
    assert doc["summary"]["accounts"] == 112 and doc["complete"] is True
    assert doc["stats"]["requests"] == len(stripe_api.calls) == 2
    assert calls_to(stripe_api, "/v1/customers") == []  # no customer is ever listed
    assert doc["scope"]["discovery"] == {
        "requested": "accounts",
        "mode": "accounts",
        "reason": "--discovery accounts: the unfiltered account list, every holder type",
        "refused": 0,
    }
    # Holders, groups and Dashboard links come from each account's account_holder.
    assert doc["summary"]["customers_affected"] == 2
    urls = {g["key"]: g["dashboard_url"] for g in doc["groups"]}
    assert urls == {
        "acct_holder1": "https://dashboard.stripe.com/test/connect/accounts/acct_holder1",
        "acct_v2cust": "https://dashboard.stripe.com/test/customers/acct_v2cust",
    }
    assert all(f["stripe_account"] is None for f in doc["findings"])


def test_an_account_on_two_pages_is_reported_once_with_the_first_holder(
    stripe_api: responses.RequestsMock,
) -> None:
    """Pages are classified while the next one is fetched, but in order: the first copy
    of a duplicated account is always the one reported, whatever the thread timing."""
    accounts = [held(f"fca_{i:03d}", "customer", "cus_first") for i in range(100)]
    accounts += [held("fca_000", "customer", "cus_second"), held("fca_x", "customer", "cus_x")]
    add_pages(stripe_api, ACCOUNTS, accounts)
    doc = report_of(run("scan", "--discovery", "accounts", "-f", "json"))
    assert doc["summary"]["accounts"] == 101
    (dup,) = [f for f in doc["findings"] if f["id"] == "fca_000"]
    assert dup["account_holder"]["id"] == "cus_first"
    (error,) = doc["errors"]
    assert "listed again under the account list with a conflicting holder" in error["message"]
    assert error["scope"] == {"type": "account", "id": "fca_000"}


def test_auto_uses_the_unfiltered_list_when_stripe_accepts_it(
    stripe_api: responses.RequestsMock,
) -> None:
    add_pages(stripe_api, ACCOUNTS, [account("fca_1", customer="cus_a")])
    doc = report_of(run("scan", "-f", "json"))
    assert doc["scope"]["discovery"]["mode"] == "accounts"
    assert doc["scope"]["discovery"]["reason"] == (
        "auto: Stripe accepted the unfiltered account list"
    )
    assert len(stripe_api.calls) == 1


REFUSAL = "You must provide one of these parameters: account_holder[customer], session."


def _refuse_unfiltered(rsps: responses.RequestsMock) -> None:
    """A Stripe that wants a filter: the list without one is a 400 invalid_request_error."""
    from responses import matchers

    rsps.get(
        API + ACCOUNTS,
        status=400,
        json={
            "error": {
                "type": "invalid_request_error",
                "code": "parameter_missing",
                "message": REFUSAL,
            }
        },
        headers={"Request-Id": "req_refused"},
        match=[matchers.query_param_matcher({"limit": "100"})],
    )


def test_auto_falls_back_to_the_fan_out_when_stripe_refuses(
    stripe_api: responses.RequestsMock,
) -> None:
    _refuse_unfiltered(stripe_api)
    add_customers(stripe_api, ["cus_a", "cus_b"])
    add_accounts(stripe_api, "cus_a", [account("fca_a", customer="cus_a")])
    add_accounts(stripe_api, "cus_b", [])
    result = run("scan", "-f", "json")
    doc = report_of(result)
    assert result.exit_code == ExitCode.OK and doc["complete"] is True and doc["errors"] == []
    assert [f["id"] for f in doc["findings"]] == ["fca_a"]
    discovery = doc["scope"]["discovery"]
    assert discovery["requested"] == "auto" and discovery["mode"] == "customers"
    assert discovery["refused"] == 1
    assert (
        "request req_refused" in discovery["reason"] and REFUSAL.rstrip(".") in discovery["reason"]
    )
    assert doc["stats"]["requests"] == 1 + 1 + 2  # the refusal, customers, two account lists


@pytest.mark.parametrize(
    ("status", "error_type", "code"),
    [
        (401, "invalid_request_error", ExitCode.AUTH),
        (403, "invalid_request_error", ExitCode.AUTH),
        (500, "api_error", ExitCode.API),
        (400, "api_error", ExitCode.API),  # a 400 that is not Stripe refusing the request
    ],
)
def test_auto_falls_back_only_on_a_refusal(
    stripe_api: responses.RequestsMock, status: int, error_type: str, code: ExitCode
) -> None:
    for _ in range(3):
        add_error(stripe_api, ACCOUNTS, status, type=error_type, message="no")
    result = run("scan", "--max-retries", "1", "-f", "json")
    assert result.exit_code == code, result.stderr
    assert calls_to(stripe_api, "/v1/customers") == []
    if code is ExitCode.API:
        assert result.stderr.startswith("Error: listing accounts failed after 0 pages")


def _refuse(rsps: responses.RequestsMock, message: str, param: str | None = None) -> None:
    error = {"type": "invalid_request_error", "message": message}
    if param is not None:
        error["param"] = param
    rsps.get(API + ACCOUNTS, status=400, json={"error": error}, headers={"Request-Id": "req_400"})


@pytest.mark.parametrize(
    ("message", "param"),
    [
        ("You must filter this list.", "account_holder"),  # the param names the filter
        ("A session or an account holder is required.", None),  # the message does
        ("Missing required param: account_holder[customer].", None),
    ],
)
def test_auto_falls_back_for_a_400_that_names_the_missing_filter(
    stripe_api: responses.RequestsMock, message: str, param: str | None
) -> None:
    _refuse(stripe_api, message, param)
    add_customers(stripe_api, ["cus_a"])
    add_accounts(stripe_api, "cus_a", [account("fca_a", customer="cus_a")])
    doc = report_of(run("scan", "-f", "json"))
    assert doc["scope"]["discovery"]["mode"] == "customers"
    assert message.rstrip(".") in doc["scope"]["discovery"]["reason"]


def test_another_400_reaches_the_user_in_stripes_words_and_nothing_falls_back(
    stripe_api: responses.RequestsMock,
) -> None:
    _refuse(stripe_api, "Received unknown parameter: limit", "limit")
    result = run("scan", "-f", "json")
    assert result.exit_code == ExitCode.API
    assert result.stdout == ""
    assert result.stderr == (
        "Error: listing accounts failed after 0 pages: Received unknown parameter: limit "
        "(HTTP 400), request req_400. Tip: Stripe's message says what it refused.\n"
    )
    assert calls_to(stripe_api, "/v1/customers") == []


@pytest.mark.parametrize("scope", [(), ("--customer", "cus_a"), ("--discovery", "customers")])
def test_a_refused_stripe_version_is_one_line_with_stripes_words_and_exit_2(
    stripe_api: responses.RequestsMock, scope: tuple[str, ...]
) -> None:
    words = "Invalid Stripe API version: 2026-13-45.dahlia"
    for path in (ACCOUNTS, "/v1/customers"):
        stripe_api.get(
            API + path,
            status=400,
            json={"error": {"type": "invalid_request_error", "message": words}},
            headers={"Request-Id": "req_version"},
        )
    result = run("scan", *scope, "--stripe-version", "2026-13-45.dahlia", "-f", "json")
    assert result.exit_code == ExitCode.USAGE
    assert result.stdout == ""  # nothing listed after it
    assert result.stderr == (
        "Error: Stripe refused Stripe-Version 2026-13-45.dahlia (HTTP 400, request "
        f"req_version): {words}. Tip: drop --stripe-version (and FCAUDIT_STRIPE_VERSION) for "
        "the default 2026-09-30.preview, or give a version Stripe lists.\n"
    )
    assert len(stripe_api.calls) == 1


def test_auto_retries_a_429_and_keeps_the_unfiltered_list(
    stripe_api: responses.RequestsMock,
) -> None:
    add_error(stripe_api, ACCOUNTS, 429, code="rate_limit", message="slow down")
    add_pages(stripe_api, ACCOUNTS, [account("fca_1", customer="cus_a")])
    doc = report_of(run("scan", "-f", "json"))
    assert doc["scope"]["discovery"]["mode"] == "accounts"
    assert doc["stats"]["rate_limited"] == 1 and doc["summary"]["accounts"] == 1


def test_discovery_accounts_does_not_fall_back(stripe_api: responses.RequestsMock) -> None:
    _refuse_unfiltered(stripe_api)
    result = run("scan", "--discovery", "accounts")
    assert result.exit_code == ExitCode.API
    assert "use --discovery auto or customers" in result.stderr
    assert len(stripe_api.calls) == 1


def test_contact_with_the_unfiltered_list_retrieves_each_customer_once(
    stripe_api: responses.RequestsMock,
) -> None:
    broken = {"status": "inactive", "status_details": inactive()}
    add_pages(
        stripe_api,
        ACCOUNTS,
        [
            held("fca_a1", "customer", "cus_a", **broken),
            held("fca_a2", "customer", "cus_a"),
            held("fca_b1", "customer", "cus_b", status_details=expiring(4)),
            held("fca_h1", "account", "acct_holder1", **broken),
        ],
    )
    for cid, name in (("cus_a", "Ada"), ("cus_b", "Bo")):
        stripe_api.get(
            f"{API}/v1/customers/{cid}",
            json={"id": cid, "object": "customer", "name": name, "email": f"{name}@example.com"},
        )
    doc = report_of(run("scan", "--discovery", "accounts", "--contact", "-f", "json"))
    fetched = sorted(
        u for u in (str(c.request.url) for c in stripe_api.calls) if "/customers/" in u
    )
    assert fetched == [f"{API}/v1/customers/cus_a", f"{API}/v1/customers/cus_b"]
    contacts = {g["key"]: g.get("contact") for g in doc["groups"]}
    assert contacts["cus_a"] == {"name": "Ada", "email": "Ada@example.com"}
    assert contacts["cus_b"] == {"name": "Bo", "email": "Bo@example.com"}
    assert contacts["acct_holder1"] is None  # not a customer: nothing to retrieve


# -- usage --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--discovery", "accounts", "--customer", "cus_1"], "--discovery and --customer"),
        (["--discovery", "customers", "--session", "fcsess_1"], "--discovery and --session"),
        (
            ["--connected-accounts", "all", "--stripe-account", "acct_1"],
            "--stripe-account conflict",
        ),
        (["--connected-accounts", "acct_1", "--account-holder", "acct_2"], "conflict"),
        (["--connected-accounts", "acct_1,cus_2"], "not a connected account id"),
        (["--connected-accounts", ","], "needs 'all' or acct_ ids"),
        (["--discovery", "everything"], "'everything' is not one of"),
    ],
)
def test_discovery_usage_errors(
    stripe_api: responses.RequestsMock, args: list[str], needle: str
) -> None:
    result = run("scan", *args)
    assert result.exit_code == ExitCode.USAGE
    assert needle in result.stderr
    assert not stripe_api.calls


# -- connected accounts -------------------------------------------------------------------


def _pages_by_account(
    data: dict[str | None, list[dict[str, Any]]], seen: list[tuple[str | None, str]]
) -> Callback:
    """The unfiltered list of whichever Stripe account the request's header names."""

    def answer(request: PreparedRequest) -> tuple[int, dict[str, str], str]:
        acct = request.headers.get("Stripe-Account")
        seen.append((acct, str(request.url)))
        if acct is not None and acct not in data:
            body = {
                "error": {
                    "type": "invalid_request_error",
                    "code": "account_invalid",
                    "message": f"The provided key 'sk_test_***' does not have access to account "
                    f"'{acct}' (or that account does not exist). Application access may have "
                    "been revoked.",
                }
            }
            return 403, {"Request-Id": "req_403"}, json.dumps(body)
        items = data[acct]
        after = parse_qs(urlsplit(str(request.url)).query).get("starting_after", [None])[0]
        start = next(i + 1 for i, a in enumerate(items) if a["id"] == after) if after else 0
        chunk = items[start : start + 100]
        more = start + 100 < len(items)
        return 200, {}, json.dumps({"object": "list", "data": chunk, "has_more": more, "url": ""})

    return answer


def test_connected_accounts_each_read_with_its_own_header(
    stripe_api: responses.RequestsMock,
) -> None:
    """Three Stripe accounts on one pool of 8 workers, with their authorizations: every
    request carries the header of the account its objects belong to, and no other."""
    data: dict[str | None, list[dict[str, Any]]] = {}
    for acct, n in ((None, 105), ("acct_a", 110), ("acct_b", 40)):
        tag = acct[-1] if acct else "p"
        data[acct] = [
            held(
                f"fca_{tag}{i:03d}",
                "customer",
                f"cus_{tag}{i % 9}",
                authorization=f"fcauth_{tag}{i % 5}",
                **({"status": "inactive", "status_details": inactive()} if i % 10 == 0 else {}),
            )
            for i in range(n)
        ]
    seen: list[tuple[str | None, str]] = []
    stripe_api.add_callback(responses.GET, API + ACCOUNTS, callback=_pages_by_account(data, seen))
    add_pages(
        stripe_api, "/v1/accounts", [{"id": a, "object": "account"} for a in ("acct_a", "acct_b")]
    )

    def auth(request: PreparedRequest) -> tuple[int, dict[str, str], str]:
        auth_id = str(request.url).rsplit("/", 1)[-1]
        acct = request.headers.get("Stripe-Account")
        seen.append((acct, str(request.url)))
        return 200, {}, json.dumps(authorization(auth_id))

    stripe_api.add_callback(
        responses.GET, re.compile(API + r"/v1/financial_connections/authorizations/.*"), auth
    )
    args = ("--connected-accounts", "all", "--authorizations", "--concurrency", "8")
    result = run("scan", *args, "-f", "json")
    doc = report_of(result)
    assert result.exit_code == ExitCode.FINDINGS and doc["complete"] is True
    # Each object was read under the header of its own account (the tag in its id).
    tags = {None: "p", "acct_a": "a", "acct_b": "b"}
    for acct, url in seen:
        if "/authorizations/" in url:
            assert url.rsplit("/", 1)[-1].startswith(f"fcauth_{tags[acct]}"), (acct, url)
    for f in doc["findings"]:
        assert f["id"].split("_")[1][0] == tags[f["stripe_account"]], f
    assert sum(1 for acct, url in seen if ACCOUNTS in url) == 2 + 2 + 1
    summary = {e["stripe_account"]: e for e in doc["summary"]["by_stripe_account"]}
    assert list(summary) == [None, "acct_a", "acct_b"]
    assert [summary[a]["accounts"] for a in summary] == [105, 110, 40]
    assert [summary[a]["authorizations"] for a in summary] == [5, 5, 5]
    assert summary["acct_a"]["by_category"]["relink_required"] == 11
    for acct, entry in summary.items():  # each account's customers counted apart
        affected = {(f["account_holder"] or {}).get("id") for f in doc["findings"]
                    if f["stripe_account"] == acct and f["category"] != "active"}  # fmt: skip
        assert entry["customers_affected"] == len(affected - {None}) > 0, acct
    assert doc["scope"]["connected_accounts"] == "all"
    # Groups and Dashboard links point into the connected account.
    group = next(g for g in doc["groups"] if g["key"] == "cus_a0")
    assert group["stripe_account"] == "acct_a"
    assert group["dashboard_url"] == "https://dashboard.stripe.com/acct_a/test/customers/cus_a0"


def test_a_connected_account_that_fails_does_not_stop_the_others(
    stripe_api: responses.RequestsMock,
) -> None:
    data: dict[str | None, list[dict[str, Any]]] = {
        None: [held("fca_p1", "customer", "cus_p1")],
        "acct_ok": [held("fca_k1", "customer", "cus_k1")],
    }
    seen: list[tuple[str | None, str]] = []
    stripe_api.add_callback(responses.GET, API + ACCOUNTS, callback=_pages_by_account(data, seen))
    result = run("scan", "--connected-accounts", "acct_gone,acct_ok,acct_gone", "-f", "json")
    doc = report_of(result)
    assert result.exit_code == ExitCode.INCOMPLETE
    assert sorted(f["id"] for f in doc["findings"]) == ["fca_k1", "fca_p1"]
    (error,) = doc["errors"]
    assert error["scope"] == {
        "type": "connected_account",
        "id": "acct_gone",
        "stripe_account": "acct_gone",
    }
    assert error["http_status"] == 403 and error["code"] == "account_invalid"
    assert "key 'sk_test_[redacted]' does not have access" in error["message"]
    assert [e["stripe_account"] for e in doc["summary"]["by_stripe_account"]] == [
        None,
        "acct_gone",
        "acct_ok",
    ]
    assert doc["scope"]["connected_accounts"] == ["acct_gone", "acct_ok"]
    assert "connected_account acct_gone" in result.stderr


def test_connected_accounts_with_the_fan_out(stripe_api: responses.RequestsMock) -> None:
    """--discovery customers: each connected account's customers, under its header."""
    from responses import matchers

    for acct, cid in ((None, "cus_p"), ("acct_a", "cus_a")):
        header = [matchers.header_matcher({"Stripe-Account": acct})] if acct else []
        stripe_api.get(
            API + "/v1/customers",
            json={"object": "list", "data": [{"id": cid}], "has_more": False, "url": ""},
            match=[matchers.query_param_matcher({"limit": "100"}), *header],
        )
        stripe_api.get(
            API + ACCOUNTS,
            json={
                "object": "list",
                "data": [held(f"fca_{cid}", "customer", cid)],
                "has_more": False,
                "url": "",
            },
            match=[
                matchers.query_param_matcher({"account_holder[customer]": cid, "limit": "100"}),
                *header,
            ],
        )
    args = ("--discovery", "customers", "--connected-accounts", "acct_a", "-f", "json")
    doc = report_of(run("scan", *args))
    assert {f["id"]: f["stripe_account"] for f in doc["findings"]} == {
        "fca_cus_p": None,
        "fca_cus_a": "acct_a",
    }
    assert doc["scope"]["discovery"]["mode"] == "customers"
    platform = [c for c in stripe_api.calls if "Stripe-Account" not in c.request.headers]
    assert len(platform) == 2 and len(stripe_api.calls) == 4


# -- baselines ----------------------------------------------------------------------------


def test_a_baseline_is_comparable_only_with_the_same_discovery_mode(
    stripe_api: responses.RequestsMock, tmp_path: Any
) -> None:
    """The reason (with its request ids) differs every run and never matters; the mode does:
    the unfiltered list covers every holder, the fan-out customers only, so an account
    missing after a change of mode is not gone."""
    holder_account = held(
        "fca_h1", "account", "acct_h", status="inactive", status_details=inactive()
    )
    customer_account = held("fca_c1", "customer", "cus_a", status_details=expiring(3))
    add_pages(stripe_api, ACCOUNTS, [holder_account, customer_account])
    add_customers(stripe_api, ["cus_a"])
    add_accounts(stripe_api, "cus_a", [customer_account])
    baseline = tmp_path / "baseline.json"
    baseline.write_text(run("scan", "--discovery", "accounts", "-f", "json").stdout)

    same = report_of(
        run("scan", "--discovery", "accounts", "-f", "json", "--baseline", str(baseline))
    )
    assert same["baseline"]["comparable"] is True and same["baseline"]["warnings"] == []

    other = report_of(
        run("scan", "--discovery", "customers", "-f", "json", "--baseline", str(baseline))
    )
    assert other["baseline"]["comparable"] is False
    assert any(
        "--discovery accounts, this run with customers" in w for w in other["baseline"]["warnings"]
    )
    assert [r["id"] for r in other["resolved"]] == []  # fca_h1 was not read, not gone
