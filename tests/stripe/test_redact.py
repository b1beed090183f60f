"""Redaction: every secret is hidden wherever it arrives, and nothing that is not one is touched."""

from __future__ import annotations

import pytest
import responses

from fcaudit.errors import ExitCode
from fcaudit.sandbox import running_sandbox
from fcaudit.stripe.redact import SANDBOX_API_KEY, clean, redact, scrub, secret_part
from tests.conftest import TEST_KEY, run
from tests.stripe_fake import add_error

SECRET = TEST_KEY.split("_", 2)[2]


@pytest.mark.parametrize(
    ("text", "hidden", "shown"),
    [
        (f"bad key {TEST_KEY}", TEST_KEY, "bad key [redacted]"),
        ("key sk_live_ab12 here", "ab12", "key sk_live_[redacted] here"),
        ("rk_test_XYZ999", "XYZ999", "rk_test_[redacted]"),
        ("sign with whsec_abcDEF1234567890", "abcDEF", "sign with whsec_[redacted]"),
        (
            "open fcsess_1Nq2_secret_QWErty1234567 now",
            "QWErty",
            "open fcsess_1Nq2_secret_[redacted] now",
        ),
        (
            "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig",
            "eyJhbGci",
            "Authorization: Bearer [redacted]",
        ),
        ("basic   dXNlcjpwYXNzd29yZDEyMzQ1Njc4", "dXNlcjpw", "basic   [redacted]"),
    ],
)
def test_a_secret_is_hidden_wherever_it_appears(text: str, hidden: str, shown: str) -> None:
    assert redact(text, TEST_KEY) == shown
    assert hidden not in clean(f"x {text} y", TEST_KEY)
    assert hidden not in str(scrub({"a": [text]}, TEST_KEY))


@pytest.mark.parametrize(
    "text",
    [
        "Tip: check STRIPE_API_KEY or --api-key (a secret sk_ or restricted rk_ key).",
        "test-mode keys (sk_test_… or rk_test_…) only",
        "a key starts sk_live_ or sk_test_",
        f"e.g. {SANDBOX_API_KEY}.",
        "Basic information about the Bearer auth scheme",
        "the client_secret of the session",
    ],
)
def test_text_without_a_secret_is_left_as_it_is(text: str) -> None:
    assert redact(text, TEST_KEY) == text
    assert scrub(text, TEST_KEY) == text


@pytest.mark.parametrize("key", ["sk_", "rk_", "sk_test_", "rk_live_", "sk_live"])
def test_a_key_with_no_body_hides_nothing(key: str) -> None:
    assert secret_part(key) == ""
    tip = "a secret sk_ or restricted rk_ key, e.g. sk_test_…"
    assert redact(tip, key) == tip


def test_a_fragment_of_the_key_without_its_prefix_is_hidden() -> None:
    text = f"echo {SECRET[3:23]} and {SECRET[-18:]}"
    out = redact(text, TEST_KEY)
    assert SECRET[3:23] not in out and SECRET[-18:] not in out and out.startswith("echo ")


@pytest.mark.parametrize("key", ["sk_", "rk_test_", "sk_live"])
def test_a_key_with_no_body_is_refused_before_any_request(
    key: str, stripe_api: responses.RequestsMock
) -> None:
    result = run("scan", "-f", "json", key=key)
    assert result.exit_code == ExitCode.USAGE
    assert result.stderr == (
        f"Error: the API key is only the prefix {key}, with nothing after it. Tip: copy the "
        "whole key from the Stripe Dashboard (Developers > API keys), or try --sandbox.\n"
    )
    assert len(stripe_api.calls) == 0


def test_a_refused_key_error_keeps_fcaudits_own_words(stripe_api: responses.RequestsMock) -> None:
    add_error(
        stripe_api,
        "/v1/financial_connections/accounts",
        401,
        message=f"Invalid API Key provided: {TEST_KEY}",
    )
    result = run("scan", "-f", "json")
    assert result.exit_code == ExitCode.AUTH
    assert SECRET[:12] not in result.stderr
    assert "Invalid API Key provided: [redacted]" in result.stderr
    assert result.stderr.endswith(
        "Tip: check STRIPE_API_KEY or --api-key (a secret sk_ or restricted rk_ key).\n"
    )


def test_a_live_key_against_the_sandbox_reads_the_sandbox_key_it_names() -> None:
    live = "sk_live_" + SECRET
    with running_sandbox(customers=2) as sandbox:
        result = run("scan", "--api-base", sandbox.base_url, "-f", "json", key=live)
    assert result.exit_code == ExitCode.AUTH
    assert f"e.g. {SANDBOX_API_KEY}." in result.stderr
    assert "(sk_test_… or rk_test_…)" in result.stderr
    assert SECRET[:12] not in result.stderr
