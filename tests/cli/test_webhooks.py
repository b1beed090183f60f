"""`fcaudit webhooks` against Stripe faked at the HTTP layer: every page of endpoints, the v2
list or its refusal, each of the four findings from its misconfiguration, every format, the
exit codes, and never a secret or a whole URL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import responses

from fcaudit.stripe.facts import FC_EVENT_TYPES, FC_THIN_EVENT_TYPES
from tests.conftest import API, run

SCHEMA = json.loads(
    (Path(__file__).parent.parent.parent / "fcaudit/schema/webhooks.schema.json").read_text()
)
PREVIEW = "2026-09-30.preview"
GA = "2026-10-28.endive"
LEAK = "whsec_LEAKED0123456789"
ALL_FC = ["financial_connections.account.*", "financial_connections.authorization.*"]


def endpoint(
    eid: str, events: list[str], *, version: str | None = PREVIEW, **extra: Any
) -> dict[str, Any]:
    return {"id": eid, "object": "webhook_endpoint", "api_version": version, "application": None,
            "enabled_events": events, "status": "enabled", "livemode": False,
            "url": "https://user:pw@hooks.example.com:8443/stripe?token=abc", "secret": LEAK,
            **extra}  # fmt: skip


def destination(did: str, events: list[str], **extra: Any) -> dict[str, Any]:
    return {"id": did, "object": "v2.core.event_destination", "enabled_events": events,
            "event_payload": "thin", "events_from": ["@self"], "snapshot_api_version": None,
            "status": "enabled", "type": "webhook_endpoint",
            "webhook_endpoint": {"signing_secret": LEAK, "url": "https://thin.example.com/x"},
            **extra}  # fmt: skip


THIN = destination("ed_thin", ["v1.financial_connections.account.*"])


def fake(
    rsps: responses.RequestsMock,
    pages: list[list[dict[str, Any]]],
    v2: list[dict[str, Any]] | int = (THIN,),  # type: ignore[assignment]
    *,
    default_version: str | None = PREVIEW,
    platform_accounts: bool = True,
) -> None:
    for i, page in enumerate(pages):
        body = {"object": "list", "data": page, "has_more": i < len(pages) - 1, "url": "/v1/x"}
        matcher = (
            [responses.matchers.query_param_matcher({"limit": "100"}, strict_match=False)]
            if i == 0
            else [
                responses.matchers.query_param_matcher(
                    {"starting_after": pages[i - 1][-1]["id"]}, strict_match=False
                )
            ]
        )
        rsps.get(f"{API}/v1/webhook_endpoints", json=body, match=matcher)
    if isinstance(v2, int):
        error = {"error": {"type": "invalid_request_error", "message": "v2 is not available"}}
        rsps.get(f"{API}/v2/core/event_destinations", status=v2, json=error)
    else:
        rsps.get(
            f"{API}/v2/core/event_destinations", json={"data": list(v2), "next_page_url": None}
        )
    event = {"id": "evt_1", "object": "event", "api_version": default_version}
    rsps.get(
        f"{API}/v1/events",
        json={"object": "list", "data": [event] if default_version else [], "has_more": False},
    )
    accounts = (
        [{"id": "fca_1", "object": "financial_connections.account"}] if platform_accounts else []
    )
    listing = {"object": "list", "data": accounts, "has_more": False}
    rsps.get(f"{API}/v1/financial_connections/accounts", json=listing)


def audit(*args: str) -> tuple[int, dict[str, Any], str]:
    result = run("webhooks", "-f", "json", *args)
    doc = json.loads(result.stdout)
    jsonschema.validate(doc, SCHEMA)
    return result.exit_code, doc, result.stdout + result.stderr


def codes(doc: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [(f["code"], f["destination"]) for f in doc["findings"]]


def test_a_healthy_setup_has_no_findings(stripe_api: responses.RequestsMock) -> None:
    fake(stripe_api, [[endpoint("we_1", ALL_FC)]])
    code, doc, _ = audit()
    assert (code, doc["findings"]) == (0, [])
    assert all(doc["coverage"][t] == ["we_1"] for t in FC_EVENT_TYPES)
    assert all(doc["coverage"][t] == ["ed_thin"] for t in FC_THIN_EVENT_TYPES)


def test_every_page_of_endpoints_is_read(stripe_api: responses.RequestsMock) -> None:
    first = [endpoint(f"we_{i}", ["charge.failed"]) for i in range(100)]
    fake(stripe_api, [first, [endpoint("we_last", ALL_FC)]])
    code, doc, _ = audit()
    assert len(doc["destinations"]) == 102  # 101 endpoints and the v2 destination
    assert code == 0 and doc["coverage"][FC_EVENT_TYPES[0]] == ["we_last"]


def test_an_fc_type_no_enabled_destination_receives_is_not_subscribed(
    stripe_api: responses.RequestsMock,
) -> None:
    fake(stripe_api, [[endpoint("we_1", ["financial_connections.account.deactivated"])]])
    code, doc, _ = audit()
    missing = {f["event_types"][0] for f in doc["findings"] if f["code"] == "not_subscribed"}
    assert code == 1
    assert missing == set(FC_EVENT_TYPES) - {"financial_connections.account.deactivated"}
    assert all(f["fix"] and f["destination"] is None for f in doc["findings"])


def test_a_wildcard_and_star_count_as_receiving(stripe_api: responses.RequestsMock) -> None:
    fake(stripe_api, [[endpoint("we_1", ["*"])]])
    code, doc, _ = audit()
    assert code == 0 and doc["findings"] == []


def test_a_disabled_destination_listing_fc_types_is_a_finding(
    stripe_api: responses.RequestsMock,
) -> None:
    fake(stripe_api, [[endpoint("we_1", ALL_FC), endpoint("we_old", ALL_FC, status="disabled")]])
    code, doc, _ = audit()
    assert (code, codes(doc)) == (1, [("destination_disabled", "we_old")])
    assert doc["coverage"][FC_EVENT_TYPES[0]] == ["we_1"]  # a disabled one receives nothing


def test_an_endpoint_at_a_ga_version_lacks_status_details(
    stripe_api: responses.RequestsMock,
) -> None:
    fake(stripe_api, [[endpoint("we_ga", ALL_FC, version=GA)]])
    code, doc, _ = audit()
    assert (code, codes(doc)) == (1, [("payload_lacks_status_details", "we_ga")])
    assert GA in doc["findings"][0]["detail"] and "preview" in doc["findings"][0]["fix"]


def test_an_endpoint_without_a_version_takes_the_accounts_default(
    stripe_api: responses.RequestsMock,
) -> None:
    fake(stripe_api, [[endpoint("we_1", ALL_FC, version=None)]], default_version=GA)
    code, doc, _ = audit()
    assert (code, codes(doc)) == (1, [("payload_lacks_status_details", "we_1")])
    assert "the account's default API version " + GA in doc["findings"][0]["detail"]


def test_an_unknown_default_version_is_a_note_not_a_guess(
    stripe_api: responses.RequestsMock,
) -> None:
    fake(stripe_api, [[endpoint("we_1", ALL_FC, version=None)]], default_version=None)
    code, doc, _ = audit()
    assert (code, doc["findings"]) == (0, [])
    assert any("cannot be told" in n for n in doc["notes"])


def test_platform_accounts_with_only_connected_destinations_is_wrong_audience(
    stripe_api: responses.RequestsMock,
) -> None:
    connect_only = destination(
        "ed_connect", ALL_FC, event_payload="snapshot", snapshot_api_version=PREVIEW,
        events_from=["other_accounts"],
    )  # fmt: skip
    thin = destination(
        "ed_thin2", ["v1.financial_connections.account.*"], events_from=["other_accounts"]
    )
    fake(stripe_api, [[]], v2=[connect_only, thin])
    code, doc, _ = audit()
    assert code == 1
    assert codes(doc) == [("wrong_audience", "ed_connect"), ("wrong_audience", "ed_thin2")]
    assert "self" in doc["findings"][0]["fix"]


def test_connected_accounts_with_only_self_destinations_is_wrong_audience(
    stripe_api: responses.RequestsMock,
) -> None:
    own = destination("ed_own", [*ALL_FC], event_payload="snapshot", snapshot_api_version=PREVIEW)
    fake(stripe_api, [[]], v2=[own, THIN], platform_accounts=False)
    code, doc, _ = audit("--owner", "connected")
    assert code == 1 and ("wrong_audience", "ed_own") in codes(doc)
    assert "other_accounts" in doc["findings"][0]["fix"]


def test_a_v1_endpoints_audience_is_unknown_and_said_so(stripe_api: responses.RequestsMock) -> None:
    fake(stripe_api, [[endpoint("we_1", ALL_FC)]], v2=[])
    code, doc, _ = audit("--owner", "connected", "--fail-on", "wrong_audience")
    assert code == 0 and not any(f["code"] == "wrong_audience" for f in doc["findings"])
    assert any("cannot be known" in n and "connect=true" in n for n in doc["notes"])


def test_a_refused_v2_list_is_a_note_not_a_failure(stripe_api: responses.RequestsMock) -> None:
    fake(stripe_api, [[endpoint("we_1", ALL_FC)]], v2=400)
    code, doc, _ = audit("--fail-on", "payload_lacks_status_details")
    assert code == 0
    assert any("/v2/core/event_destinations was refused" in n for n in doc["notes"])
    assert all(d["kind"] == "webhook_endpoint" for d in doc["destinations"])


@pytest.mark.parametrize(
    "fmt", ["json", "ndjson", "table", "csv", "markdown", "html", "prometheus"]
)
def test_no_format_shows_a_secret_or_a_whole_url(
    stripe_api: responses.RequestsMock, fmt: str
) -> None:
    fake(stripe_api, [[endpoint("we_1", ALL_FC, version=GA)]])
    result = run("webhooks", "-f", fmt)
    shown = result.stdout + result.stderr
    assert result.exit_code == 1, shown
    assert LEAK not in shown and "whsec_" not in shown
    assert "user" not in shown and "token=abc" not in shown and "/stripe" not in shown
    if fmt not in ("ndjson", "csv", "prometheus"):
        assert "hooks.example.com:8443" in shown
    if fmt == "prometheus":
        assert 'fcaudit_webhook_findings{code="payload_lacks_status_details"' in shown


def test_show_urls_shows_the_url_without_its_credentials(
    stripe_api: responses.RequestsMock,
) -> None:
    fake(stripe_api, [[endpoint("we_1", ALL_FC)]])
    _, doc, shown = audit("--show-urls")
    assert doc["destinations"][0]["url"] == "https://hooks.example.com:8443/stripe?token=abc"
    assert "user" not in shown and "pw@" not in shown and LEAK not in shown


def test_fail_on_chooses_which_findings_exit_1(stripe_api: responses.RequestsMock) -> None:
    fake(stripe_api, [[endpoint("we_1", ALL_FC), endpoint("we_old", ALL_FC, status="disabled")]])
    assert run("webhooks", "-f", "json", "--fail-on", "none").exit_code == 0
    assert run("webhooks", "-f", "json", "--fail-on", "not_subscribed").exit_code == 0
    assert run("webhooks", "-f", "json", "--fail-on", "destination_disabled").exit_code == 1
    bad = run("webhooks", "--fail-on", "bogus")
    assert bad.exit_code == 2 and "unknown finding 'bogus'" in bad.stderr


def test_a_rejected_key_is_exit_3(stripe_api: responses.RequestsMock) -> None:
    error = {"error": {"type": "invalid_request_error", "message": "Invalid API Key provided"}}
    stripe_api.get(f"{API}/v1/webhook_endpoints", status=401, json=error)
    result = run("webhooks", "-f", "json")
    assert result.exit_code == 3 and "Traceback" not in result.stderr


def test_the_report_is_written_atomically_to_a_file(
    stripe_api: responses.RequestsMock, tmp_path: Path
) -> None:
    fake(stripe_api, [[endpoint("we_1", ALL_FC)]])
    out = tmp_path / "webhooks.json"
    result = run("webhooks", "-q", "-o", str(out))
    assert result.exit_code == 0 and result.stdout == ""
    jsonschema.validate(json.loads(out.read_text()), SCHEMA)


def test_a_state_store_of_a_connected_account_makes_self_only_destinations_wrong_audience(
    stripe_api: responses.RequestsMock, tmp_path: Path
) -> None:
    import sqlite3

    store = tmp_path / "fc.sqlite"
    with sqlite3.connect(store) as db:
        db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
        db.execute("CREATE TABLE objects (id TEXT PRIMARY KEY, body TEXT)")
        db.execute("INSERT INTO meta VALUES ('account', 'acct_shop')")
        db.execute("INSERT INTO objects VALUES ('fca_1', '{}')")
    own = destination("ed_own", [*ALL_FC], event_payload="snapshot", snapshot_api_version=PREVIEW)
    fake(stripe_api, [[]], v2=[own, THIN], platform_accounts=False)
    stripe_api.get(f"{API}/v1/account", json={"id": "acct_platform", "object": "account"})
    code, doc, _ = audit("--state", str(store))
    assert code == 1 and ("wrong_audience", "ed_own") in codes(doc)
    assert "connected accounts" in doc["findings"][0]["detail"]


def test_a_request_budget_spent_before_the_end_is_one_line_and_no_report(
    stripe_api: responses.RequestsMock, tmp_path: Path
) -> None:
    fake(stripe_api, [[endpoint("we_1", ALL_FC)]])
    out = tmp_path / "webhooks.json"
    result = run("webhooks", "--max-requests", "1", "-o", str(out))
    assert result.exit_code == 4 and "--max-requests 1 was spent" in result.stderr
    assert "Traceback" not in result.stderr and not out.exists()
