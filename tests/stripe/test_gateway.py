"""The gateway under the real stripe SDK, with Stripe faked at the HTTP layer."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import responses
from responses import matchers

from fcaudit.errors import AuthError
from fcaudit.stripe.failures import RequestFailed
from fcaudit.stripe.gateway import ClientSettings, StripeGateway
from fcaudit.stripe.ratelimit import RateLimiter
from tests.conftest import API, SLEPT, TEST_KEY
from tests.factories import account, authorization
from tests.stripe_fake import ACCOUNTS, add_accounts, add_customers, add_error


def gateway(**kw: Any) -> StripeGateway:
    settings = ClientSettings(api_key=TEST_KEY, stripe_version="2026-09-30.preview", **kw)
    return StripeGateway(settings, rng=lambda: 0.0, sleep=SLEPT.append)


def test_customer_pagination_follows_has_more(stripe_api: responses.RequestsMock) -> None:
    ids = [f"cus_{i:04d}" for i in range(250)]
    pages = add_customers(stripe_api, ids)
    got = [c for p in gateway().iter_customer_pages() for c in p]
    assert got == ids
    assert pages == 3 and len(stripe_api.calls) == 3
    assert all("limit=100" in str(c.request.url) for c in stripe_api.calls)


def test_account_pagination_for_a_customer(stripe_api: responses.RequestsMock) -> None:
    accts = [account(f"fca_{i:03d}") for i in range(205)]
    add_accounts(stripe_api, "cus_1", accts)
    got = list(gateway().iter_accounts({"account_holder": {"customer": "cus_1"}}))
    assert [a["id"] for a in got] == [a["id"] for a in accts]
    assert len(stripe_api.calls) == 3


def test_headers_sent(stripe_api: responses.RequestsMock) -> None:
    stripe_api.get(API + ACCOUNTS + "/fca_1", json=account())
    gateway(stripe_account="acct_123").retrieve_account("fca_1")
    req = stripe_api.calls[0].request
    assert req.method == "GET"
    assert req.headers["Stripe-Version"] == "2026-09-30.preview"
    assert req.headers["Stripe-Account"] == "acct_123"
    assert req.headers["Authorization"] == f"Bearer {TEST_KEY}"


def test_no_stripe_account_header_by_default(stripe_api: responses.RequestsMock) -> None:
    stripe_api.get(API + ACCOUNTS + "/fca_1", json=account())
    gateway().retrieve_account("fca_1")
    assert "Stripe-Account" not in stripe_api.calls[0].request.headers


def test_authorization_uses_raw_request(stripe_api: responses.RequestsMock) -> None:
    stripe_api.get(API + "/v1/financial_connections/authorizations/fcauth_1", json=authorization())
    obj = gateway().retrieve_authorization("fcauth_1")
    assert obj["object"] == "financial_connections.authorization"
    assert isinstance(obj, dict)


def test_5xx_is_retried_then_succeeds(stripe_api: responses.RequestsMock) -> None:
    add_error(stripe_api, ACCOUNTS + "/fca_1", 500, type="api_error", code="")
    add_error(stripe_api, ACCOUNTS + "/fca_1", 503, type="api_error", code="")
    stripe_api.get(API + ACCOUNTS + "/fca_1", json=account())
    gw = gateway()
    assert gw.retrieve_account("fca_1")["id"] == "fca_1"
    assert gw.stats.retries == 2


@pytest.mark.parametrize(
    ("reason", "slowed"),
    [
        ("endpoint-rate", "endpoint"),
        ("global-rate", "global"),
        (None, None),
        ("resource-specific", None),
        ("endpoint-concurrency", None),
    ],
)
def test_a_429_is_retried_and_slows_only_the_rate_its_reason_names(
    stripe_api: responses.RequestsMock, reason: str | None, slowed: str | None
) -> None:
    headers = {"Stripe-Rate-Limited-Reason": reason} if reason else {}
    add_error(
        stripe_api, ACCOUNTS + "/fca_1", 429, code="rate_limit", message="Too many", headers=headers
    )
    stripe_api.get(API + ACCOUNTS + "/fca_1", json=account())
    gw = gateway()
    gw.limiter = RateLimiter(20, 10, clock=lambda: 0.0)
    gw.retrieve_account("fca_1")
    stats = gw.stats.snapshot()
    assert stats["rate_limited"] == 1 and stats["retries"] == 1 and stats["requests"] == 2
    assert stats["rate_limited_by_reason"][reason or "none"] == 1
    assert sum(stats["rate_limited_by_reason"].values()) == 1
    endpoint = gw.limiter.current_rps("GET /v1/financial_connections/accounts/{id}")
    everything = gw.limiter.current_rps()
    assert endpoint is not None and everything is not None
    assert (endpoint < 10, everything < 20) == (slowed == "endpoint", slowed == "global")


def test_a_lock_timeout_is_retried_without_slowing_anything(
    stripe_api: responses.RequestsMock,
) -> None:
    add_error(stripe_api, ACCOUNTS + "/fca_1", 429, code="lock_timeout", message="Lock timeout")
    stripe_api.get(API + ACCOUNTS + "/fca_1", json=account())
    gw = gateway()
    gw.limiter = RateLimiter(20, 10, clock=lambda: 0.0)
    gw.retrieve_account("fca_1")
    assert gw.stats.snapshot()["rate_limited_by_reason"]["none"] == 1
    assert gw.limiter.current_rps() == 20
    assert gw.limiter.current_rps("GET /v1/financial_connections/accounts/{id}") == 10
    assert gw.in_flight.allowed() == gw.in_flight.allowed("GET /a")


def test_an_endpoint_concurrency_429_lowers_that_endpoints_requests_in_flight(
    stripe_api: responses.RequestsMock,
) -> None:
    headers = {"Stripe-Rate-Limited-Reason": "endpoint-concurrency"}
    add_error(stripe_api, ACCOUNTS + "/fca_1", 429, code="rate_limit", headers=headers)
    stripe_api.get(API + ACCOUNTS + "/fca_1", json=account())
    gw = gateway()
    before = gw.in_flight.allowed("GET /v1/financial_connections/accounts/{id}")
    gw.retrieve_account("fca_1")
    assert gw.in_flight.allowed("GET /v1/financial_connections/accounts/{id}") < before
    assert gw.in_flight.allowed() == before  # the global limit is not the one Stripe named


def test_requests_are_counted_by_the_stripe_account_they_were_sent_for(
    stripe_api: responses.RequestsMock,
) -> None:
    stripe_api.get(API + ACCOUNTS + "/fca_1", json=account())
    gw = gateway()
    gw.retrieve_account("fca_1")
    gw.fetch_account("fca_1", stripe_account="acct_2")
    gw.fetch_account("fca_1", stripe_account="acct_2")
    assert gw.stats.snapshot()["by_stripe_account"] == {"acct_2": 2, "platform": 1}


def test_should_retry_false_is_honoured(stripe_api: responses.RequestsMock) -> None:
    add_error(
        stripe_api,
        ACCOUNTS + "/fca_1",
        500,
        type="api_error",
        headers={"Stripe-Should-Retry": "false"},
    )
    with pytest.raises(RequestFailed):
        gateway().retrieve_account("fca_1")
    assert len(stripe_api.calls) == 1


def test_should_retry_true_retries_a_4xx(stripe_api: responses.RequestsMock) -> None:
    add_error(stripe_api, ACCOUNTS + "/fca_1", 400, headers={"Stripe-Should-Retry": "true"})
    stripe_api.get(API + ACCOUNTS + "/fca_1", json=account())
    assert gateway().retrieve_account("fca_1")["id"] == "fca_1"


def test_404_is_not_retried_and_keeps_request_id(stripe_api: responses.RequestsMock) -> None:
    add_error(
        stripe_api,
        ACCOUNTS + "/fca_x",
        404,
        message="No such financial_connections.account: 'fca_x'",
    )
    with pytest.raises(RequestFailed) as info:
        gateway().retrieve_account("fca_x")
    assert len(stripe_api.calls) == 1
    err = info.value
    assert (err.http_status, err.code, err.request_id) == (404, "resource_missing", "req_err_404")
    assert "No such financial_connections.account" in err.message


def test_retries_are_bounded(stripe_api: responses.RequestsMock) -> None:
    for _ in range(10):
        add_error(stripe_api, ACCOUNTS + "/fca_1", 500, type="api_error")
    with pytest.raises(RequestFailed) as info:
        gateway(max_retries=3).retrieve_account("fca_1")
    assert len(stripe_api.calls) == 4
    assert info.value.attempts == 4


def test_malformed_body_is_retried(stripe_api: responses.RequestsMock) -> None:
    stripe_api.get(API + ACCOUNTS + "/fca_1", body="<html>gateway timeout", status=200)
    stripe_api.get(API + ACCOUNTS + "/fca_1", json=account())
    assert gateway().retrieve_account("fca_1")["id"] == "fca_1"


@pytest.mark.parametrize("status", [401, 403])
def test_auth_errors_raise_auth_error_without_the_key(
    stripe_api: responses.RequestsMock, status: int
) -> None:
    add_error(
        stripe_api,
        ACCOUNTS + "/fca_1",
        status,
        type="invalid_request_error",
        message=f"Invalid API Key provided: {TEST_KEY}",
    )
    with pytest.raises(AuthError) as info:
        gateway().retrieve_account("fca_1")
    assert TEST_KEY not in str(info.value)
    assert str(status) in str(info.value)
    assert len(stripe_api.calls) == 1


def test_connection_errors_are_retried(stripe_api: responses.RequestsMock) -> None:
    import requests

    stripe_api.get(API + ACCOUNTS + "/fca_1", body=requests.ConnectionError("reset"))
    stripe_api.get(API + ACCOUNTS + "/fca_1", json=account())
    assert gateway().retrieve_account("fca_1")["id"] == "fca_1"


def test_only_get_is_ever_sent(stripe_api: responses.RequestsMock) -> None:
    add_customers(stripe_api, ["cus_1"])
    add_accounts(stripe_api, "cus_1", [account()])
    stripe_api.get(API + "/v1/financial_connections/authorizations/fcauth_1", json=authorization())
    gw = gateway()
    list(gw.iter_customer_pages())
    list(gw.iter_accounts({"account_holder": {"customer": "cus_1"}}))
    gw.retrieve_authorization("fcauth_1")
    assert {c.request.method for c in stripe_api.calls} == {"GET"}
    assert not [name for name in dir(gw) if name.startswith(("post", "create", "update", "delete"))]


def test_cancelled_gateway_sends_nothing(stripe_api: responses.RequestsMock) -> None:
    from fcaudit.stripe.failures import Cancelled

    gw = gateway()
    gw.cancelled = threading.Event()
    gw.cancelled.set()
    with pytest.raises(Cancelled):
        gw.retrieve_account("fca_1")
    assert not stripe_api.calls


def test_query_params_for_filters(stripe_api: responses.RequestsMock) -> None:
    stripe_api.get(
        API + ACCOUNTS,
        json={"object": "list", "data": [], "has_more": False, "url": ACCOUNTS},
        match=[matchers.query_param_matcher({"session": "fcsess_1", "limit": "100"})],
    )
    assert list(gateway().iter_accounts({"session": "fcsess_1"})) == []
