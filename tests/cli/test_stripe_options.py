"""The flags that say how to reach Stripe: the key, --api-base (and FCAUDIT_API_BASE),
--stripe-account, --stripe-version (and FCAUDIT_STRIPE_VERSION) and --sandbox."""

from __future__ import annotations

import json

import pytest
import responses

from fcaudit.errors import ExitCode
from tests.conftest import API, run
from tests.factories import account
from tests.stripe_fake import ACCOUNTS, add_accounts


def test_stripe_account_header_from_flag_after_command(stripe_api: responses.RequestsMock) -> None:
    add_accounts(stripe_api, "cus_a", [account()])
    result = run(
        "scan",
        "--customer",
        "cus_a",
        "--stripe-account",
        "acct_9",
        "--stripe-version",
        "2026-10-28.endive",
    )
    assert result.exit_code == 0, result.stderr
    req = stripe_api.calls[0].request
    assert req.headers["Stripe-Account"] == "acct_9"
    assert req.headers["Stripe-Version"] == "2026-10-28.endive"
    assert "not a preview version" in result.stderr
    assert json.loads(result.stdout)["stripe_version"] == "2026-10-28.endive"


def test_version_from_environment(stripe_api: responses.RequestsMock) -> None:
    add_accounts(stripe_api, "cus_a", [account()])
    run("scan", "--customer", "cus_a", FCAUDIT_STRIPE_VERSION="2026-01-28.preview")
    assert stripe_api.calls[0].request.headers["Stripe-Version"] == "2026-01-28.preview"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["scan", "--authorizations", "--stripe-version", "2026-10-28.endive"],
            "--authorizations needs a preview API version: at Stripe-Version 2026-10-28.endive "
            "accounts do not name their authorization. Tip: use --stripe-version "
            "2026-09-30.preview.",
        ),
        (
            ["authorization", "fcauth_1", "--stripe-version", "2026-06-24.dahlia"],
            "fcaudit authorization needs a preview API version, or a GA one from 2026-07-29 "
            "on: Stripe documents no Authorization endpoint at Stripe-Version "
            "2026-06-24.dahlia. Tip: use --stripe-version 2026-09-30.preview.",
        ),
    ],
)
def test_what_no_version_of_the_kind_given_documents_is_refused_before_any_request(
    stripe_api: responses.RequestsMock, args: list[str], message: str
) -> None:
    result = run(*args)
    assert result.exit_code == ExitCode.USAGE
    assert result.stderr == f"Error: {message}\n"
    assert not stripe_api.calls


@pytest.mark.parametrize("version", ["2026-07-29.dahlia", "2026-10-28.endive"])
def test_an_authorization_is_read_at_a_ga_version_that_documents_it(
    stripe_api: responses.RequestsMock, version: str
) -> None:
    from tests.factories import authorization

    stripe_api.get(API + "/v1/financial_connections/authorizations/fcauth_1", json=authorization())
    result = run("authorization", "fcauth_1", "--stripe-version", version, "-f", "json")
    assert result.exit_code in (ExitCode.OK, ExitCode.FINDINGS), result.stderr
    assert stripe_api.calls[0].request.headers["Stripe-Version"] == version
    assert [f["id"] for f in json.loads(result.stdout)["findings"]] == ["fcauth_1"]


def test_a_ga_authorization_request_stripe_refuses_is_reported_in_stripes_words() -> None:
    from fcaudit.sandbox import running_sandbox

    # The sandbox follows the GA OpenAPI spec, which has no Authorization endpoint.
    with running_sandbox(customers=4) as sandbox:
        result = run(
            "authorization", "fcauth_1", "--api-base", sandbox.base_url,
            "--stripe-version", "2026-10-28.endive", "-f", "json",
        )  # fmt: skip
    assert result.exit_code == ExitCode.INCOMPLETE
    (error,) = json.loads(result.stdout)["errors"]
    assert error["http_status"] == 404
    assert "requires a preview API version" in error["message"]
    assert "requires a preview API version" in result.stderr


def test_api_base_flag_and_env(stripe_api: responses.RequestsMock) -> None:
    stripe_api.get("http://127.0.0.1:9/v1/financial_connections/accounts/fca_1", json=account())
    assert run("account", "fca_1", "--api-base", "http://127.0.0.1:9").exit_code == 0
    assert run("account", "fca_1", FCAUDIT_API_BASE="http://127.0.0.1:9").exit_code == 0


def test_http_api_base_must_be_a_literal_loopback(stripe_api: responses.RequestsMock) -> None:
    result = run("scan", "--api-base", "http://127.example.com")
    assert result.exit_code == ExitCode.USAGE and "unencrypted" in result.stderr


def test_sandbox_ignores_an_exported_api_base() -> None:
    result = run(
        "scan", "--sandbox", "-q", "--fail-on", "none", FCAUDIT_API_BASE="http://127.0.0.1:9"
    )
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["summary"]["accounts"] > 1000


LIVE_KEY = "sk_live_" + "Q7" * 14


@pytest.mark.parametrize(
    "url",
    [
        f"https://{LIVE_KEY}@x.example",
        f"https://x.example/?k={LIVE_KEY}",
        "https://me:pw@x.example",
    ],
)
def test_api_base_errors_never_echo_secrets(url: str) -> None:
    result = run("scan", "--api-base", url, key=LIVE_KEY)
    assert result.exit_code == ExitCode.USAGE
    assert LIVE_KEY not in result.stderr and "Q7Q7Q7" not in result.stderr
    assert "pw" not in result.stderr.replace("spaces", "")


def test_restricted_key_works(stripe_api: responses.RequestsMock) -> None:
    stripe_api.get(API + ACCOUNTS + "/fca_1", json=account())
    result = run("account", "fca_1", key="rk_test_restricted123")
    assert result.exit_code == 0
    assert stripe_api.calls[0].request.headers["Authorization"] == "Bearer rk_test_restricted123"


def test_missing_key(stripe_api: responses.RequestsMock) -> None:
    result = run("scan", key=None)
    assert result.exit_code == ExitCode.USAGE
    assert "STRIPE_API_KEY" in result.stderr and "--sandbox" in result.stderr


def test_publishable_key_refused_without_echo() -> None:
    result = run("scan", key="pk_test_abcdef123456")
    assert result.exit_code == ExitCode.USAGE
    assert "abcdef123456" not in result.stderr
