"""Webhook signatures, checked by stripe-python's own `WebhookSignature.verify_header`.

The second module that imports stripe-python (the gateway is the first): verifying a
delivery sends nothing to Stripe. `Stripe-Signature: t=<unix time>,v1=<hex>[,v1=<hex>...]`
is HMAC-SHA256 of "<t>.<body>" under the endpoint's signing secret; during a secret's
rotation Stripe signs with the old and the new one, one `v1=` each
(https://docs.stripe.com/webhooks#verify-events, https://docs.stripe.com/webhooks#roll-endpoint-secrets).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence

import stripe

# Stripe's libraries reject a delivery older than five minutes by default: the replay window
# (https://docs.stripe.com/webhooks#replay-attacks).
TOLERANCE_SECONDS = 300
SECRET_ENV = "STRIPE_WEBHOOK_SECRET"
_T = re.compile(r"(?:^|,)\s*t=(\d{1,12})\s*(?:,|$)")


class BadSignature(ValueError):
    """The delivery is not signed by any of the secrets, or not recently: answered 400."""


def secrets_from(value: str | None) -> tuple[str, ...]:
    """The signing secrets in STRIPE_WEBHOOK_SECRET: one, or several (comma- or space-
    separated) while a secret is rolled."""
    return tuple(s for s in re.split(r"[\s,]+", value or "") if s)


def verify(
    body: bytes,
    header: str | None,
    secrets: Sequence[str],
    *,
    tolerance: int = TOLERANCE_SECONDS,
    clock: Callable[[], float] = time.time,
) -> None:
    """Accept the delivery if any secret signed it within `tolerance` seconds of now, else
    raise BadSignature saying why (never naming a secret)."""
    if not header:
        raise BadSignature("no Stripe-Signature header")
    if len(header) > 4096:
        raise BadSignature("the Stripe-Signature header is too long")
    stamp = _T.search(header)
    if stamp is None:
        raise BadSignature("the Stripe-Signature header has no timestamp (t=)")
    # stripe-python rejects a timestamp older than the tolerance; one as far in the future is
    # no fresher (a clock far ahead, or a signature made to be replayed later): refused too.
    if int(stamp.group(1)) > clock() + tolerance:
        raise BadSignature(f"the signature's timestamp is more than {tolerance} s in the future")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadSignature("the body is not UTF-8") from None
    stale = False
    for secret in secrets:
        try:
            stripe.WebhookSignature.verify_header(text, header, secret, tolerance)
            return
        except stripe.SignatureVerificationError as err:
            stale = stale or "outside the tolerance zone" in str(err)
        except (ValueError, TypeError, IndexError):
            raise BadSignature("the Stripe-Signature header cannot be read") from None
    if stale:
        raise BadSignature(f"the signature's timestamp is more than {tolerance} s old")
    raise BadSignature("no v1 signature matches a secret in STRIPE_WEBHOOK_SECRET")
