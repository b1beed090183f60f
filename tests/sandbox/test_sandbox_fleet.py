"""The sandbox's fleets (#12): --fc-share, connected accounts with their own data sets, and
--require-account-filter."""

from __future__ import annotations

from typing import Any

import pytest
import stripe
from click.testing import CliRunner

from fcaudit.sandbox import RunningSandbox, build_dataset, running_sandbox
from fcaudit.sandbox.cli import sandbox as sandbox_cli
from fcaudit.sandbox.data import connected_seed
from tests.sandbox.sandbox_support import NOW, PREVIEW, MakeClient, RawGet

AUTH = {"Authorization": "Bearer sk_test_fleet", "Stripe-Version": PREVIEW}


def test_fc_share_sets_the_share_of_customers_with_accounts() -> None:
    ds = build_dataset(7, 2000, NOW, fc_share=0.05)
    linked = [c for c in ds.customer_ids if ds.accounts_for_customer(c)]
    assert 0.03 < len(linked) / 2000 < 0.07
    assert ds.truth()["fc_share"] == 0.05


def test_a_customer_keeps_its_data_whatever_the_share_and_the_fleet_size() -> None:
    small = build_dataset(7, 100, NOW, fc_share=0.2)
    big = build_dataset(7, 300, NOW, fc_share=0.2)
    everyone = build_dataset(7, 100, NOW, fc_share=1.0)
    for cid in small.customer_ids:
        assert small.accounts_for_customer(cid) == big.accounts_for_customer(cid)
        mine = small.accounts_for_customer(cid)
        if mine:  # linked at 20%: linked, with the same accounts, at 100%
            assert everyone.accounts_for_customer(cid) == mine
    assert build_dataset(7, 100, NOW).truth() == build_dataset(7, 100, NOW).truth()


def test_fc_share_zero_leaves_only_the_scripted_customers_linked() -> None:
    """Customers 0-3 (the showcase, the big one, odd names, rules) always have accounts."""
    ds = build_dataset(7, 200, NOW, fc_share=0.0)
    assert sum(1 for c in ds.customer_ids if ds.accounts_for_customer(c)) == 4


@pytest.mark.parametrize("share", [-0.1, 1.5])
def test_fc_share_out_of_range_is_refused(share: float) -> None:
    with pytest.raises(ValueError, match="fc_share"):
        build_dataset(7, 10, NOW, fc_share=share)


def test_serve_flags_are_checked() -> None:
    result = CliRunner().invoke(sandbox_cli, ["serve", "--fc-share", "2"])
    assert result.exit_code == 2 and "--fc-share" in result.output


# -- connected accounts -------------------------------------------------------------------


def test_connected_accounts_are_listed_newest_first_and_paginated(
    sandbox: RunningSandbox, make_client: MakeClient
) -> None:
    client = make_client(sandbox.base_url)
    truth = sandbox.dataset.truth()
    ids = truth["connected_accounts"]
    assert ids and set(ids) == set(truth["holders"]["account"])
    first = client.v1.accounts.list({"limit": 2})
    assert [a.id for a in first.data] == ids[:2] and first.has_more
    everything = [a.id for a in first.auto_paging_iter()]
    assert everything == ids
    created = [a.created or 0 for a in client.v1.accounts.list({"limit": 100}).data]
    assert created == sorted(created, reverse=True)


def test_each_connected_account_reads_its_own_data_set(
    sandbox: RunningSandbox, raw: RawGet
) -> None:
    acct = sandbox.dataset.truth()["connected_accounts"][0]
    headers = {**AUTH, "Stripe-Account": acct}
    path = "/v1/financial_connections/accounts?limit=100"
    status, _, own = raw(sandbox.base_url, path, headers=headers)
    assert status == 200
    status, _, truth = raw(sandbox.base_url, "/__sandbox/truth", headers=headers)
    assert status == 200 and truth["customers"] == 20 and truth["connected_accounts"] == []
    mine = {a["id"] for a in own["data"]}
    assert mine <= set(truth["accounts"]) and mine.isdisjoint(sandbox.dataset.truth()["accounts"])
    expected = build_dataset(connected_seed(42, acct), 20, NOW, platform=False)
    assert truth == expected.truth()
    # Its customers and their accounts are there too, and nothing of the platform's.
    status, _, customers = raw(sandbox.base_url, "/v1/customers?limit=3", headers=headers)
    assert status == 200
    assert {c["id"] for c in customers["data"]} <= set(expected.customer_specs)
    platform_customer = sandbox.dataset.customer_ids[0]
    status, _, body = raw(sandbox.base_url, f"/v1/customers/{platform_customer}", headers=headers)
    assert status == 404 and body["error"]["code"] == "resource_missing"
    # A connected account is no platform: it has no connected accounts of its own.
    status, _, listed = raw(sandbox.base_url, "/v1/accounts", headers=headers)
    assert status == 200 and listed["data"] == []


def test_an_unknown_stripe_account_gets_stripes_403(
    sandbox: RunningSandbox, make_client: MakeClient, raw: RawGet
) -> None:
    client = make_client(sandbox.base_url)
    with pytest.raises(stripe.PermissionError) as info:
        client.v1.financial_connections.accounts.list({"limit": 1}, {"stripe_account": "acct_nope"})
    error: Any = info.value.error
    assert info.value.http_status == 403
    assert error.type == "invalid_request_error" and error.code == "account_invalid"
    assert "does not have access to account 'acct_nope'" in error.message
    headers = {**AUTH, "Stripe-Account": "acct_nope"}
    status, _, body = raw(sandbox.base_url, "/__sandbox/truth", headers=headers)
    assert status == 403 and body["error"]["code"] == "account_invalid"


def test_connected_customers_sizes_each_connected_data_set() -> None:
    with running_sandbox(customers=60, now=NOW, connected_customers=3) as box:
        acct = box.dataset.connected_ids[0]
        own = box.dataset.connected(acct)
        assert own is not None and len(own.customer_ids) == 3
        assert own is box.dataset.connected(acct)  # built once
        assert box.dataset.connected("acct_unknown") is None
        assert box.dataset.truth()["connected_customers"] == 3


# -- refusing the unfiltered list ---------------------------------------------------------


def test_require_account_filter_refuses_only_the_unfiltered_list(raw: RawGet) -> None:
    with running_sandbox(customers=8, now=NOW, require_account_filter=True) as box:
        path = "/v1/financial_connections/accounts?limit=100"
        status, _, body = raw(box.base_url, path, headers=AUTH)
        assert status == 400
        assert body["error"]["type"] == "invalid_request_error"
        assert body["error"]["code"] == "parameter_missing"
        customer = box.dataset.customer_ids[0]
        filtered = f"{path}&account_holder[customer]={customer}"
        status, _, body = raw(box.base_url, filtered, headers=AUTH)
        assert status == 200 and body["data"]
        # A connected account's own list is refused the same way.
        acct = box.dataset.connected_ids[0]
        status, _, _ = raw(box.base_url, path, headers={**AUTH, "Stripe-Account": acct})
        assert status == 400
