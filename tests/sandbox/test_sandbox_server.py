"""The sandbox server driven through the real stripe SDK (and plain HTTP where the SDK can't go)."""

from __future__ import annotations

import base64
import http.client
import threading
import time
from urllib.parse import urlsplit

import pytest
import stripe

from fcaudit.sandbox import SANDBOX_API_KEY, RunningSandbox, running_sandbox
from tests.conftest import wait_until
from tests.sandbox.sandbox_support import GA, NOW, PREVIEW, MakeClient, RawGet

AUTH = {"Authorization": f"Bearer {SANDBOX_API_KEY}", "Stripe-Version": PREVIEW}


def test_customers_and_their_accounts_page_through_like_the_dataset(
    make_client: MakeClient,
) -> None:
    # Every customer is listed one by one: a data set of 140 (two pages of customers, the
    # big customer, two connected-account holders) keeps that quick.
    with running_sandbox(customers=140, now=NOW) as sandbox:
        _page_through(sandbox, make_client(sandbox.base_url))


def _page_through(sandbox: RunningSandbox, client: stripe.StripeClient) -> None:
    ds = sandbox.dataset
    customers = [c.id for c in client.v1.customers.list({"limit": 100}).auto_paging_iter()]
    assert customers == ds.customer_ids
    total = 0
    for cus in customers:
        page = client.v1.financial_connections.accounts.list(
            {"account_holder": {"customer": cus}, "limit": 100}
        )
        ids = [a.id for a in page.auto_paging_iter()]
        assert ids == ds.accounts_for_customer(cus)
        total += len(ids)
    big = [c for c in customers if len(ds.accounts_for_customer(c)) > 100]
    assert len(big) == 1
    held = sum(len(ds.accounts_for_holder_account(a)) for a in ds.holder_account_ids)
    held_v2 = sum(len(ds.accounts_for_customer_account(a)) for a in ds.customer_account_ids)
    assert total + held + held_v2 == len(ds.accounts)


def test_unfiltered_account_list_and_other_filters(
    sandbox: RunningSandbox, client: stripe.StripeClient
) -> None:
    ds = sandbox.dataset
    every = client.v1.financial_connections.accounts.list({"limit": 100}).auto_paging_iter()
    assert [a.id for a in every] == ds.account_ids
    acct = ds.holder_account_ids[0]
    by_holder = client.v1.financial_connections.accounts.list({"account_holder": {"account": acct}})
    assert [a.id for a in by_holder.data] == ds.accounts_for_holder_account(acct)[:10]
    assert all(a.to_dict()["account_holder"]["account"] == acct for a in by_holder.data)
    session = ds.session_ids[0]
    in_session = client.v1.financial_connections.accounts.list({"session": session})
    assert [a.id for a in in_session.data] == ds.accounts_for_session(session)
    assert in_session.data


def test_ending_before_pages_backwards(
    sandbox: RunningSandbox, client: stripe.StripeClient
) -> None:
    ids = sandbox.dataset.customer_ids
    page = client.v1.customers.list({"ending_before": ids[25], "limit": 10})
    assert [c.id for c in page.data] == ids[15:25]
    assert page.has_more is True
    first = client.v1.customers.list({"ending_before": ids[5], "limit": 10})
    assert [c.id for c in first.data] == ids[0:5]
    assert first.has_more is False


def test_preview_account_and_authorization(
    sandbox: RunningSandbox, client: stripe.StripeClient
) -> None:
    ds = sandbox.dataset
    fca = next(a for a, c in ds.expected_category.items() if c == "relink_required")
    account = client.v1.financial_connections.accounts.retrieve(fca)
    # Preview-only fields: the GA-typed SDK object has them as data, not as typed attributes.
    fields = account.to_dict()
    assert fields == ds.accounts[fca]
    assert fields["status_details"]["inactive"]["action"] == "relink_required"
    resp = client.raw_request(
        "get", f"/v1/financial_connections/authorizations/{fields['authorization']}"
    )
    auth = client.deserialize(resp, api_mode="V1")
    assert isinstance(auth, stripe.financial_connections.Authorization)
    assert auth.to_dict() == ds.authorizations[fields["authorization"]]
    assert resp.headers["Request-Id"].startswith("req_")


def test_ga_version_hides_preview_fields_and_the_authorization_endpoint(
    sandbox: RunningSandbox, ga_client: stripe.StripeClient
) -> None:
    ds = sandbox.dataset
    fca = next(a for a, c in ds.expected_category.items() if c == "relink_required")
    account = ga_client.v1.financial_connections.accounts.retrieve(fca).to_dict()
    assert account["status"] == "inactive"
    assert "inactive" not in account["status_details"]
    assert "authorization" not in account
    assert "institution" not in account
    expiring = next(a for a, c in ds.expected_category.items() if c == "expiring")
    shown = ga_client.v1.financial_connections.accounts.retrieve(expiring).to_dict()
    assert "expected_deactivation_date" in shown["status_details"]["active"]
    fcauth = ds.accounts[fca]["authorization"]
    with pytest.raises(stripe.InvalidRequestError) as info:
        ga_client.raw_request("get", f"/v1/financial_connections/authorizations/{fcauth}")
    assert info.value.http_status == 404
    assert "preview API version" in str(info.value.user_message)


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"limit": 101}, "limit"),
        ({"limit": 0}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"foo": "bar"}, "foo"),
        ({"account_holder": {"customer": "cus_a"}, "session": "fcsess_b"}, "session"),
        ({"account_holder": {"nickname": "x"}}, "account_holder[nickname]"),
        ({"starting_after": "fca_nope"}, "starting_after"),
    ],
)
def test_invalid_requests_are_400(
    client: stripe.StripeClient, params: dict[str, object], param: str
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.financial_connections.accounts.list(params)  # type: ignore[arg-type]
    assert info.value.http_status == 400
    assert info.value.param == param
    assert info.value.request_id and info.value.request_id.startswith("req_")


def test_unknown_parameter_message_is_stripes(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.customers.list({"foo": "1"})  # type: ignore[arg-type]
    assert info.value.code == "parameter_unknown"
    assert info.value.user_message == "Received unknown parameter: foo"


def test_starting_after_and_ending_before_together(
    sandbox: RunningSandbox, client: stripe.StripeClient
) -> None:
    ids = sandbox.dataset.customer_ids
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.customers.list({"starting_after": ids[1], "ending_before": ids[0]})


@pytest.mark.parametrize(
    ("params", "code", "message"),
    [
        ({"account_holder": {"customer": "cus_missing"}}, "resource_missing", "No such customer"),
        ({"account_holder": {"account": "acct_missing"}}, "resource_missing", "No such account"),
        ({"session": "fcsess_missing"}, "resource_missing", "No such financial connections"),
    ],
)
def test_missing_filter_targets_are_404(
    client: stripe.StripeClient, params: dict[str, object], code: str, message: str
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.financial_connections.accounts.list(params)  # type: ignore[arg-type]
    assert info.value.http_status == 404
    assert info.value.code == code
    assert message in str(info.value.user_message)
    assert info.value.param


def test_missing_objects_and_urls_are_404(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.financial_connections.accounts.retrieve("fca_missing")
    assert (info.value.http_status, info.value.code) == (404, "resource_missing")
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.raw_request("get", "/v1/financial_connections/authorizations/fcauth_missing")
    assert (info.value.http_status, info.value.code) == (404, "resource_missing")
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.raw_request("get", "/v1/nothing_here")
    assert info.value.http_status == 404


@pytest.mark.parametrize("key", ["sk_live_Zq7wX", "pk_test_publishable9", "sktest_typo987"])
def test_non_test_keys_are_401_without_echoing_the_key(
    sandbox: RunningSandbox, make_client: MakeClient, key: str
) -> None:
    client = make_client(sandbox.base_url, key=key)
    with pytest.raises(stripe.AuthenticationError) as info:
        client.v1.customers.list()
    assert info.value.http_status == 401
    assert key not in str(info.value.http_body)
    assert "Zq7wX" not in str(info.value.http_body)


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"Authorization": "Bearer sk_live_abc"}, 401),
        ({"Authorization": "Bearer sk_test_"}, 401),
        ({"Authorization": "Basic " + base64.b64encode(b"sk_test_abc:").decode()}, 200),
        ({"Authorization": "Basic " + base64.b64encode(b"rk_test_abc:").decode()}, 200),
        ({"Authorization": "Basic " + base64.b64encode(b"sk_live_abc:").decode()}, 401),
        ({"Authorization": "Basic !!!"}, 401),
        # A connected account the platform does not have: Stripe's 403 account_invalid.
        ({"Authorization": "Bearer rk_test_abc", "Stripe-Account": "acct_123"}, 403),
    ],
)
def test_authentication_schemes(
    sandbox: RunningSandbox, raw: RawGet, headers: dict[str, str], status: int
) -> None:
    got, resp_headers, body = raw(sandbox.base_url, "/v1/customers?limit=1", headers=headers)
    assert got == status
    assert resp_headers["Request-Id"].startswith("req_")
    assert resp_headers["Content-Type"] == "application/json"
    if status == 401:
        assert body["error"]["type"] == "invalid_request_error"
        assert "sk_live_abc" not in str(body)


def test_non_get_methods_are_405(sandbox: RunningSandbox, raw: RawGet) -> None:
    status, headers, body = raw(
        sandbox.base_url, "/v1/customers", method="POST", headers=AUTH, body="email=a%40b.c"
    )
    assert status == 405
    assert headers["Request-Id"].startswith("req_")
    assert body["error"]["type"] == "invalid_request_error"
    status, _, _ = raw(
        sandbox.base_url, "/v1/financial_connections/accounts/x", method="DELETE", headers=AUTH
    )
    assert status == 405


def test_list_envelope_and_keep_alive(sandbox: RunningSandbox) -> None:
    parts = urlsplit(sandbox.base_url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=5)
    try:
        for _ in range(3):  # three requests on one connection
            conn.request("GET", "/v1/financial_connections/accounts?limit=2", headers=AUTH)
            resp = conn.getresponse()
            body = resp.read()
            assert resp.status == 200
            assert resp.getheader("Content-Length") == str(len(body))
        assert b'"object":"list"' in body
        assert b'"url":"/v1/financial_connections/accounts"' in body
    finally:
        conn.close()


def test_events_filters(sandbox: RunningSandbox, client: stripe.StripeClient) -> None:
    events = sandbox.dataset.events
    window_start = int(NOW.timestamp()) - 30 * 86400
    assert all(window_start < e["created"] <= NOW.timestamp() for e in events)
    everything = [e.id for e in client.v1.events.list({"limit": 100}).auto_paging_iter()]
    assert everything == [e["id"] for e in events]

    account_events = client.v1.events.list(
        {"type": "financial_connections.account.*", "limit": 100}
    ).auto_paging_iter()
    types = {e.type for e in account_events}
    assert "financial_connections.account.deactivated" in types
    assert not any(t.startswith("financial_connections.authorization") for t in types)

    wanted = [
        "financial_connections.account.reactivated",
        "financial_connections.authorization.upcoming_deactivation",
    ]
    chosen = list(client.v1.events.list({"types": wanted, "limit": 100}).auto_paging_iter())
    assert {e.type for e in chosen} == set(wanted)
    assert len(chosen) == sum(1 for e in events if e["type"] in wanted)

    mid = int(NOW.timestamp()) - 10 * 86400
    recent = list(client.v1.events.list({"created": {"gte": mid}, "limit": 100}).auto_paging_iter())
    assert recent and all(e.created >= mid for e in recent)
    assert len(recent) == sum(1 for e in events if e["created"] >= mid)
    exact = events[0]["created"]
    assert all(e.created == exact for e in client.v1.events.list({"created": exact}).data)
    old = client.v1.events.list({"created": {"lt": window_start}})
    assert old.data == [] and old.has_more is False

    with pytest.raises(stripe.InvalidRequestError):
        client.v1.events.list({"type": "x", "types": ["y"]})
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.events.list({"created": {"gt": "yesterday"}})  # type: ignore[arg-type]
    assert info.value.param == "created[gt]"


def test_events_carry_frozen_versions(sandbox: RunningSandbox, client: stripe.StripeClient) -> None:
    events = sandbox.dataset.events
    versions = {e["api_version"] for e in events}
    assert versions == {PREVIEW, "2026-07-29.dahlia"}
    ga_account_events = [
        e
        for e in events
        if e["api_version"] != PREVIEW and e["data"]["object"]["object"].endswith("account")
    ]
    assert ga_account_events
    for event in ga_account_events:
        assert "authorization" not in event["data"]["object"]
        assert "inactive" not in event["data"]["object"].get("status_details", {})
    one = client.v1.events.retrieve(events[0]["id"])
    assert one.to_dict() == events[0]
    assert {"id", "object", "api_version", "created", "type", "data", "livemode"} <= set(events[0])


def test_helper_endpoints(sandbox: RunningSandbox, raw: RawGet) -> None:
    status, _, truth = raw(sandbox.base_url, "/__sandbox/truth")
    assert status == 200
    assert truth["accounts"] == sandbox.dataset.expected_category
    assert truth["authorizations"] == sandbox.dataset.expected_authorization_category
    assert truth["customers"] == 300
    assert truth["now"] == NOW.isoformat()
    status, _, stats = raw(sandbox.base_url, "/__sandbox/stats")
    assert status == 200
    assert set(stats) == {"requests", "by_endpoint", "by_status", "dropped", "stalled", "cues_left"}
    assert stats["cues_left"] == []


def test_stats_count_by_endpoint_and_status(make_client: MakeClient) -> None:
    with running_sandbox(customers=5, now=NOW) as sb:
        client = make_client(sb.base_url)
        accounts = sb.dataset.account_ids[:3]
        for fca in accounts:
            client.v1.financial_connections.accounts.retrieve(fca)
        with pytest.raises(stripe.InvalidRequestError):
            client.v1.customers.list({"limit": 0})
        snap = sb.stats.snapshot()
    assert snap["requests"] == 4
    assert snap["by_endpoint"] == {
        "GET /v1/financial_connections/accounts/{id}": 3,
        "GET /v1/customers": 1,
    }
    assert snap["by_status"] == {"200": 3, "400": 1}
    assert snap["dropped"] == 0


def test_rate_limit_is_a_stripe_429(make_client: MakeClient, raw: RawGet) -> None:
    with running_sandbox(customers=5, rate_limit=1, now=NOW) as sb:
        client = make_client(sb.base_url)
        with pytest.raises(stripe.RateLimitError) as info:
            for _ in range(5):
                client.v1.customers.list()
        assert info.value.http_status == 429
        assert info.value.error is not None and info.value.error.code == "rate_limit"
        assert "Retry-After" not in (info.value.headers or {})
        assert str(info.value.user_message).startswith("Request rate limit exceeded.")
        # The helper endpoints are never limited.
        assert all(raw(sb.base_url, "/__sandbox/stats")[0] == 200 for _ in range(5))
        assert sb.stats.by_status.get("429", 0) >= 1


def test_endpoint_rate_limit_is_per_endpoint(raw: RawGet) -> None:
    with running_sandbox(customers=5, endpoint_rate_limit=2, now=NOW) as sb:
        first = [raw(sb.base_url, "/v1/customers", headers=AUTH)[0] for _ in range(4)]
        other = raw(sb.base_url, "/v1/events", headers=AUTH)[0]
    assert first[:2] == [200, 200] and 429 in first
    assert other == 200


def test_error_rate_one_answers_5xx(make_client: MakeClient, raw: RawGet) -> None:
    with running_sandbox(customers=5, error_rate=1, now=NOW) as sb:
        statuses = {raw(sb.base_url, "/v1/customers", headers=AUTH)[0] for _ in range(20)}
        assert statuses == {500, 503}
        _, _, body = raw(sb.base_url, "/v1/customers", headers=AUTH)
        assert body["error"]["type"] == "api_error"
        with pytest.raises(stripe.APIError):
            make_client(sb.base_url).v1.customers.list()
        assert raw(sb.base_url, "/__sandbox/truth")[0] == 200


def test_drop_rate_one_closes_without_an_answer(raw: RawGet) -> None:
    with running_sandbox(customers=5, drop_rate=1, now=NOW) as sb:
        with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
            raw(sb.base_url, "/v1/customers", headers=AUTH)
        assert raw(sb.base_url, "/__sandbox/stats")[2]["dropped"] == 1


def test_latency_is_applied_to_v1_requests_only(raw: RawGet) -> None:
    waits: list[float | None] = []

    class RecordingEvent(threading.Event):
        def wait(self, timeout: float | None = None) -> bool:
            waits.append(timeout)
            return super().wait(timeout)

    with running_sandbox(customers=5, latency_ms=60, jitter_ms=20, now=NOW) as sb:
        sb.server.closing = RecordingEvent()
        start = time.perf_counter()
        raw(sb.base_url, "/v1/customers", headers=AUTH)
        took = time.perf_counter() - start
        raw(sb.base_url, "/__sandbox/stats")
        raw(sb.base_url, "/__sandbox/truth")
    assert took >= 0.06  # really waited (a lower bound: never flaky)
    assert len(waits) == 1  # the helper endpoints did not wait
    assert 0.06 <= (waits[0] or 0) <= 0.08


def test_cues_script_faults_in_order(raw: RawGet) -> None:
    cues = ["503:1@/v1/customers", "429:1", "500:1", "drop:1", "ok:1@/v1/customers", "503:1"]
    with running_sandbox(customers=5, now=NOW, cues=cues) as sb:
        statuses: list[int | None] = []
        for _ in range(7):
            try:
                statuses.append(raw(sb.base_url, "/v1/customers", headers=AUTH)[0])
            except (http.client.RemoteDisconnected, ConnectionError):
                statuses.append(None)
        _, _, stats = raw(sb.base_url, "/__sandbox/stats")
        status, _, body = raw(sb.base_url, "/v1/events", headers=AUTH)
    assert statuses == [503, 429, 500, None, 200, 503, 200]
    assert stats["cues_left"] == [] and stats["dropped"] == 1
    assert status == 200 and body["object"] == "list"


def test_cued_errors_look_like_stripes(raw: RawGet) -> None:
    with running_sandbox(customers=5, now=NOW, cues=["429:1", "503:1"]) as sb:
        _, _, limited = raw(sb.base_url, "/v1/customers", headers=AUTH)
        _, _, unavailable = raw(sb.base_url, "/v1/customers", headers=AUTH)
    assert limited["error"]["code"] == "rate_limit"
    assert limited["error"]["type"] == "invalid_request_error"
    assert unavailable["error"]["type"] == "api_error"


def test_a_cue_can_target_one_object(raw: RawGet) -> None:
    with running_sandbox(customers=5, now=NOW) as probe:
        fca, other = probe.dataset.account_ids[:2]
    path = "/v1/financial_connections/accounts/"
    with running_sandbox(customers=5, now=NOW, cues=[f"503:2@{path}{fca}"]) as sb:
        assert raw(sb.base_url, path + other, headers=AUTH)[0] == 200
        assert raw(sb.base_url, "/v1/customers", headers=AUTH)[0] == 200
        assert [raw(sb.base_url, path + fca, headers=AUTH)[0] for _ in range(3)] == [503, 503, 200]


def test_a_stall_holds_until_the_client_gives_up(raw: RawGet) -> None:
    with running_sandbox(customers=5, now=NOW, cues=["stall:1@/v1/customers"]) as sb:
        parts = urlsplit(sb.base_url)
        conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=0.05)
        conn.request("GET", "/v1/customers", headers=AUTH)
        with pytest.raises(TimeoutError):
            conn.getresponse()
        assert sb.stats.stalled == 1 and sb.stats.requests == 0  # still held
        conn.close()  # the client gives up: the sandbox lets go without an answer
        wait_until(lambda: sb.stats.dropped == 1, "a dropped connection", seconds=5)
        assert raw(sb.base_url, "/v1/customers", headers=AUTH)[0] == 200  # cue used up
        assert sb.stats.snapshot()["by_status"] == {"200": 1}


def test_a_stall_ends_when_the_sandbox_stops() -> None:
    outcome: list[BaseException] = []

    def call(base_url: str) -> None:
        parts = urlsplit(base_url)
        conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
        try:
            conn.request("GET", "/v1/customers", headers=AUTH)
            conn.getresponse()
        except (http.client.HTTPException, OSError) as err:
            outcome.append(err)
        finally:
            conn.close()

    with running_sandbox(customers=5, now=NOW, cues=["stall:1"]) as sb:
        caller = threading.Thread(target=call, args=(sb.base_url,))
        caller.start()
        wait_until(lambda: sb.stats.stalled == 1, "a stalled request", seconds=5)
    caller.join(timeout=10)
    assert not caller.is_alive()
    assert len(outcome) == 1  # closed without an answer, long before the client's timeout
    assert not isinstance(outcome[0], TimeoutError)


def test_shutdown_closes_idle_keep_alive_connections() -> None:
    with running_sandbox(customers=5, now=NOW) as sb:
        parts = urlsplit(sb.base_url)
        conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=5)
        conn.request("GET", "/v1/customers", headers=AUTH)
        conn.getresponse().read()
    # The context exited promptly although a keep-alive connection was still open.
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError, OSError)):
        conn.request("GET", "/v1/customers", headers=AUTH)
        conn.getresponse().read()
    conn.close()


def test_ga_and_preview_use_the_same_data(
    sandbox: RunningSandbox, client: stripe.StripeClient, ga_client: stripe.StripeClient
) -> None:
    preview = client.v1.financial_connections.accounts.list({"limit": 20}).data
    ga = ga_client.v1.financial_connections.accounts.list({"limit": 20}).data
    assert [a.id for a in preview] == [a.id for a in ga]
    assert GA != PREVIEW


def test_start_sandbox_refuses_non_loopback_hosts() -> None:
    from fcaudit.sandbox import start_sandbox

    for host in ("0.0.0.0", "10.1.2.3", "::"):
        with pytest.raises(ValueError, match="loopback"):
            start_sandbox(host=host, customers=1)


# -- Accounts-v2 holders ------------------------------------------------------------------


def test_customer_account_filter(sandbox: RunningSandbox, client: stripe.StripeClient) -> None:
    ds = sandbox.dataset
    v2, empty = ds.customer_account_ids[:2]
    listing = client.v1.financial_connections.accounts.list(
        {"account_holder": {"customer_account": v2}, "limit": 100}
    )
    assert [a.id for a in listing.data] == ds.accounts_for_customer_account(v2)
    holder = listing.data[0].to_dict()["account_holder"]
    assert holder == {"type": "customer", "customer": None, "customer_account": v2}
    none = client.v1.financial_connections.accounts.list(
        {"account_holder": {"customer_account": empty}}
    )
    assert none.data == []


@pytest.mark.parametrize(
    ("param", "holder"),
    [
        ("account_holder[customer_account]", "customer"),  # a cus_ id
        ("account_holder[customer_account]", "account"),  # a connected account
        ("account_holder[account]", "customer_account"),  # an Accounts-v2 customer
        ("account_holder[customer]", "customer_account"),
    ],
)
def test_holder_filters_take_only_their_own_kind(
    sandbox: RunningSandbox, raw: RawGet, param: str, holder: str
) -> None:
    ds = sandbox.dataset
    ids = {
        "customer": ds.customer_ids[0],
        "account": ds.holder_account_ids[0],
        "customer_account": ds.customer_account_ids[0],
    }
    status, _, body = raw(
        sandbox.base_url,
        f"/v1/financial_connections/accounts?{param}={ids[holder]}",
        headers={"Authorization": "Bearer sk_test_x"},
    )
    assert status == 404 and body["error"]["code"] == "resource_missing"
    assert body["error"]["param"] == param


def test_one_holder_filter_at_a_time(sandbox: RunningSandbox, raw: RawGet) -> None:
    ds = sandbox.dataset
    query = (
        f"account_holder[customer]={ds.customer_ids[0]}"
        f"&account_holder[customer_account]={ds.customer_account_ids[0]}"
    )
    status, _, body = raw(
        sandbox.base_url,
        f"/v1/financial_connections/accounts?{query}",
        headers={"Authorization": "Bearer sk_test_x"},
    )
    assert status == 400
    assert "account_holder[customer_account]" in body["error"]["message"]
