"""`fcaudit doctor`: each check passes against a healthy account and fails, with its fix and
exit code, when Stripe says no (faked at the HTTP layer; the sandbox for the happy path)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
import responses

from fcaudit.stripe.failures import TIPS, Failure
from tests.conftest import API, run
from tests.factories import account
from tests.stripe_fake import add_error

FC = "/v1/financial_connections/accounts"
PATHS = ("/v1/account", FC, "/v1/customers", "/v1/events", "/v1/accounts")
DOCTOR = ("doctor", "-f", "json", "--max-retries", "0")


def healthy(rsps: responses.RequestsMock, *, skip: str | None = None) -> None:
    """Every endpoint doctor reads answers, except `skip` (its test adds the failure)."""
    bodies: dict[str, Any] = {
        "/v1/account": {"id": "acct_1", "object": "account"},
        FC: {"object": "list", "data": [account("fca_1", authorization="fcauth_1")]},
        "/v1/customers": {"object": "list", "data": [{"id": "cus_1", "object": "customer"}]},
        "/v1/events": {"object": "list", "data": []},
        "/v1/accounts": {"object": "list", "data": []},
    }
    for path, body in bodies.items():
        if path != skip:
            rsps.get(API + path, json={"has_more": False, **body})


def checks(result: Any) -> dict[str, dict[str, Any]]:
    doc = json.loads(result.stdout)
    assert doc["exit_code"] == result.exit_code
    return {c["name"]: c for c in doc["checks"]}


def test_every_check_passes_against_the_sandbox() -> None:
    result = run("doctor", "--sandbox", key=None)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.count("✓") == 8 and "✗" not in result.stdout
    assert "Reads of a daily run, per 10,000 accounts" in result.stdout
    # The sandbox's disabled legacy endpoint, in one line (informational: exit 0 above).
    webhooks = next(line for line in result.stdout.splitlines() if "webhooks" in line)
    assert "3 destinations (2 enabled); 25 of 25 FC event types received" in webhooks
    assert "1 destination_disabled; details: fcaudit webhooks" in webhooks


def test_every_check_passes_against_a_healthy_account(
    stripe_api: responses.RequestsMock,
) -> None:
    healthy(stripe_api)
    result = run(*DOCTOR)
    assert result.exit_code == 0, result.stderr
    found = checks(result)
    assert all(c["ok"] for c in found.values())
    assert found["key"]["detail"] == "a secret key, test mode"
    assert "accepts the unfiltered account list" in found["fc_accounts"]["detail"]
    assert "carry its fields" in found["api_version"]["detail"]


def test_no_key_is_exit_3_and_says_a_stripe_cli_login_holds_none(tmp_path: Path) -> None:
    (tmp_path / ".config" / "stripe").mkdir(parents=True)
    (tmp_path / ".config" / "stripe" / "config.toml").write_text("[default]\n")
    result = run(*DOCTOR, key=None, HOME=str(tmp_path))
    assert result.exit_code == 3
    key = checks(result)["key"]
    assert not key["ok"] and "Stripe CLI login" in key["fix"]


def test_a_publishable_key_is_exit_3() -> None:
    result = run(*DOCTOR, key="pk_test_abcdef")
    assert result.exit_code == 3
    assert "not a secret (sk_...) or restricted (rk_...) key" in checks(result)["key"]["detail"]


def test_a_rejected_key_stops_the_checks(stripe_api: responses.RequestsMock) -> None:
    add_error(
        stripe_api, "/v1/account", 401, type="invalid_request_error", message="Invalid API Key"
    )
    result = run(*DOCTOR)
    assert result.exit_code == 3
    assert list(checks(result)) == ["key", "account"]
    assert len(stripe_api.calls) == 1  # nothing else was asked


PERMISSION = (
    "The provided key 'rk_test_***' does not have the required permissions for this endpoint. "
    "Having the '{name}' permission would allow this request to continue."
)


@pytest.mark.parametrize(
    ("path", "name", "permission"),
    [
        (FC, "fc_accounts", "rak_financial_connections_account_read"),
        ("/v1/customers", "customers", "rak_customer_read"),
        ("/v1/events", "events", "rak_event_read"),
    ],
)
def test_a_missing_permission_is_exit_3_and_named(
    stripe_api: responses.RequestsMock, path: str, name: str, permission: str
) -> None:
    healthy(stripe_api, skip=path)
    message = PERMISSION.format(name=permission)
    add_error(stripe_api, path, 403, type="invalid_request_error", message=message)
    result = run(*DOCTOR)
    assert result.exit_code == 3
    found = checks(result)
    assert not found[name]["ok"] and permission in found[name]["detail"]
    assert found[name]["fix"]
    assert [n for n, c in found.items() if not c["ok"]] == [name]


def test_a_refused_unfiltered_list_passes_and_says_what_discovery_does(
    stripe_api: responses.RequestsMock,
) -> None:
    healthy(stripe_api, skip=FC)
    add_error(stripe_api, FC, 400, message="Must provide account_holder or session.")
    result = run(*DOCTOR)
    assert result.exit_code == 0
    assert "falls back to one request per customer" in checks(result)["fc_accounts"]["detail"]


def test_a_key_that_may_not_list_connected_accounts_passes_with_a_note(
    stripe_api: responses.RequestsMock,
) -> None:
    healthy(stripe_api, skip="/v1/accounts")
    add_error(stripe_api, "/v1/accounts", 403, message="Not a platform.")
    result = run(*DOCTOR)
    assert result.exit_code == 0
    assert "--connected-accounts needs" in checks(result)["connect"]["detail"]


def test_an_api_error_is_exit_4(stripe_api: responses.RequestsMock) -> None:
    healthy(stripe_api, skip="/v1/customers")
    add_error(stripe_api, "/v1/customers", 500, type="api_error", message="Something broke")
    result = run(*DOCTOR)
    assert result.exit_code == 4
    customers = checks(result)["customers"]
    assert not customers["ok"] and "Something broke" in customers["detail"]
    assert customers["fix"] == TIPS[Failure.SERVER]


def test_a_refused_connection_is_not_advised_to_wait() -> None:
    import socket

    with socket.socket() as sock:  # a loopback port nothing listens on
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    result = run(*DOCTOR, "--api-base", f"http://127.0.0.1:{closed}")
    assert result.exit_code == 4
    account = checks(result)["account"]
    assert "Connection refused" in account["detail"] and account["fix"] == TIPS[Failure.REFUSED]


def test_a_ga_version_fails_the_version_check(stripe_api: responses.RequestsMock) -> None:
    healthy(stripe_api)
    result = run(*DOCTOR, "--stripe-version", "2026-10-28.endive")
    assert result.exit_code == 4
    version = checks(result)["api_version"]
    assert not version["ok"] and "not a preview version" in version["detail"]


# -- the estimate of a daily run's reads: this account's own, or per 10,000 ---------------------


def estimate_of(*args: str) -> dict[str, Any]:
    result = run("doctor", "--sandbox", "-f", "json", *args, key=None)
    assert result.exit_code == 0, result.stderr
    estimate: dict[str, Any] = json.loads(result.stdout)["reads_estimate"]
    return estimate


def stored_counts(store: Path) -> tuple[int, int, int]:
    """Accounts, their distinct holders and authorizations, read from the stored bodies."""
    import sqlite3

    db = sqlite3.connect(store)
    bodies = [json.loads(body) for (body,) in db.execute("SELECT body FROM objects")]
    db.close()
    accounts = [b for b in bodies if b["object"] == "financial_connections.account"]
    holders = {json.dumps(a["account_holder"], sort_keys=True) for a in accounts}
    authorizations = [b for b in bodies if b["object"] == "financial_connections.authorization"]
    return len(accounts), len(holders), len(authorizations)


@pytest.fixture
def store(tmp_path: Path) -> Path:
    """A --state store of the sandbox, with its authorizations."""
    path = tmp_path / "fc.sqlite"
    scanned = run(
        "scan", "--sandbox", "--authorizations", "--state", str(path), "-q", "-o",
        str(tmp_path / "fc.json"), key=None,
    )  # fmt: skip
    assert scanned.exit_code in (0, 1), scanned.stderr
    return path


def test_without_a_size_the_estimate_is_per_10000_and_says_how_to_get_the_real_one() -> None:
    assert estimate_of()["basis"] == "per_10000"
    table = run("doctor", "--sandbox", key=None).stdout
    assert "per 10,000 accounts" in table
    assert "For this account's own figures: --state FILE" in table


def test_a_store_gives_the_accounts_own_estimate(store: Path) -> None:
    accounts, holders, authorizations = stored_counts(store)
    assert accounts > 100 and authorizations > 0  # a fleet worth estimating
    e = estimate_of("--state", str(store))
    assert (e["basis"], e["per_accounts"], e["customers"]) == ("state", accounts, holders)
    assert e["authorizations"] == authorizations
    assert e["accounts_mode_daily"] == math.ceil(accounts / 100)
    assert e["fan_out_daily"] == 1 + math.ceil(holders / 100) + holders
    assert e["fan_out_monthly"] == 30 * e["fan_out_daily"]
    table = run("doctor", "--sandbox", "--state", str(store), key=None).stdout
    assert f"for {accounts:,} accounts and {holders:,} customers (store {store})" in table
    assert "--customers N for all of them" in table  # the store knows only holders
    assert f"--authorizations adds {authorizations:,} a run" in table


def test_sizes_given_override_the_stores(store: Path) -> None:
    accounts, _, _ = stored_counts(store)
    e = estimate_of("--state", str(store), "--customers", "400000")
    assert (e["basis"], e["per_accounts"], e["customers"]) == ("given", accounts, 400_000)
    assert e["fan_out_daily"] == 1 + 4_000 + 400_000


def test_accounts_alone_count_one_customer_each() -> None:
    e = estimate_of("--accounts", "250000")
    assert (e["per_accounts"], e["customers"], e["basis"]) == (250_000, 250_000, "given")
    assert (e["accounts_mode_daily"], e["accounts_mode_monthly"]) == (2_500, 75_000)
    assert e["fan_out_daily"] == 1 + 2_500 + 250_000


def test_no_accounts_still_read_one_page() -> None:
    e = estimate_of("--accounts", "0", "--customers", "0")
    assert (e["accounts_mode_daily"], e["fan_out_daily"]) == (1, 1)


def test_a_store_held_by_a_run_is_read_without_waiting(store: Path) -> None:
    import fcntl

    with open(f"{store}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as a run holds it
        assert estimate_of("--state", str(store))["basis"] == "state"


@pytest.mark.parametrize("content", [None, "not a store\n"])
def test_a_store_that_cannot_be_read_is_exit_2_before_any_request(
    tmp_path: Path, stripe_api: responses.RequestsMock, content: str | None
) -> None:
    path = tmp_path / "fc.sqlite"
    if content is not None:
        path.write_text(content)
    result = run("doctor", "--state", str(path))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: --state {path}: ")
    assert "--accounts N" in result.stderr and result.stderr.count("\n") == 1
    assert len(stripe_api.calls) == 0


def test_a_negative_size_is_exit_2() -> None:
    result = run("doctor", "--sandbox", "--accounts", "-5", key=None)
    assert result.exit_code == 2 and "--accounts" in result.stderr


def test_a_request_budget_smaller_than_doctors_fails_the_checks_left_with_the_fix() -> None:
    result = run("doctor", "--sandbox", "-f", "json", "--max-requests", "2", key=None)
    assert result.exit_code == 4, result.stderr
    found = checks(result)
    assert found["account"]["ok"] and found["fc_accounts"]["ok"]  # the two requests allowed
    # Informational, and not counted in doctor's budget: said, never failed.
    assert found["webhooks"] == {
        "name": "webhooks",
        "ok": True,
        "detail": "not checked: the run's --max-requests was spent",
        "fix": None,
    }
    for name in ("customers", "events", "connect"):
        assert not found[name]["ok"]
        assert "--max-requests was spent" in found[name]["detail"]
        assert "--max-requests 5" in found[name]["fix"]


def test_doctor_fits_in_the_budget_it_names() -> None:
    result = run("doctor", "--sandbox", "-f", "json", "--max-requests", "5", key=None)
    assert result.exit_code == 0, result.stdout
