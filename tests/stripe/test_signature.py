"""Webhook signatures are checked by stripe-python's own verification, with a 300 s window."""

from __future__ import annotations

import time

import pytest
import stripe

from fcaudit.stripe.signature import BadSignature, secrets_from, verify

BODY = b'{"id": "evt_1", "object": "event"}'


def header(body: bytes, secret: str, at: float | None = None) -> str:
    return str(
        stripe.WebhookSignature.generate_signature_header(
            body.decode(), secret, timestamp=int(at if at is not None else time.time())
        )
    )


def test_a_delivery_signed_with_the_secret_is_accepted() -> None:
    verify(BODY, header(BODY, "whsec_a"), ["whsec_a"])


def test_a_delivery_signed_with_another_secret_is_refused_without_naming_the_secret() -> None:
    with pytest.raises(BadSignature) as err:
        verify(BODY, header(BODY, "whsec_other"), ["whsec_a"])
    assert "whsec_a" not in str(err.value) and "whsec_other" not in str(err.value)
    assert "no v1 signature matches" in str(err.value)


def test_while_a_secret_is_rolled_either_secret_is_accepted() -> None:
    secrets = secrets_from("whsec_old, whsec_new")
    assert secrets == ("whsec_old", "whsec_new")
    verify(BODY, header(BODY, "whsec_new"), secrets)
    verify(BODY, header(BODY, "whsec_old"), secrets)


def test_a_header_with_several_v1_values_is_accepted_if_any_matches() -> None:
    now = int(time.time())
    good = header(BODY, "whsec_a", now).split("v1=")[1]
    signed = f"t={now},v1={'0' * 64},v1={good}"
    verify(BODY, signed, ["whsec_a"])
    with pytest.raises(BadSignature):
        verify(BODY, f"t={now},v1={'0' * 64},v1={'1' * 64}", ["whsec_a"])


def test_a_stale_timestamp_is_refused() -> None:
    with pytest.raises(BadSignature, match="more than 300 s old"):
        verify(BODY, header(BODY, "whsec_a", time.time() - 301), ["whsec_a"])
    verify(BODY, header(BODY, "whsec_a", time.time() - 250), ["whsec_a"])


def test_a_future_timestamp_is_refused() -> None:
    with pytest.raises(BadSignature, match="in the future"):
        verify(BODY, header(BODY, "whsec_a", time.time() + 400), ["whsec_a"])


def test_a_tampered_body_is_refused() -> None:
    signed = header(BODY, "whsec_a")
    with pytest.raises(BadSignature):
        verify(BODY.replace(b"evt_1", b"evt_2"), signed, ["whsec_a"])


@pytest.mark.parametrize("value", [None, "", "v1=abc", "t=notanumber,v1=abc", "t=1"])
def test_a_missing_or_unreadable_header_is_refused(value: str | None) -> None:
    with pytest.raises(BadSignature):
        verify(BODY, value, ["whsec_a"])


def test_a_body_that_is_not_utf8_is_refused() -> None:
    body = b"\xff\xfe{}"
    now = int(time.time())
    with pytest.raises(BadSignature, match="UTF-8"):
        verify(body, f"t={now},v1={'0' * 64}", ["whsec_a"])
