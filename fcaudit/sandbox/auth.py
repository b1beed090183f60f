"""Authentication: the API key every ``/v1`` request must carry (a test-mode key, as a Bearer
or Basic ``Authorization`` header), and Stripe's 401 answers when it is missing or refused; and
the ``Stripe-Version`` header, refused with a 400 when it is not a version's shape."""

from __future__ import annotations

import base64
import binascii
import re
from typing import Final

from fcaudit.sandbox.api import ApiError
from fcaudit.stripe.redact import SANDBOX_API_KEY

__all__ = ["SANDBOX_API_KEY", "authenticate", "check_version"]

# A Stripe API version: a date, and a release name after a dot (`2026-09-30.preview`).
_VERSION = re.compile(r"\d{4}-\d{2}-\d{2}(\.[a-z]+)?")
_TEST_KEY_PREFIXES: Final = ("sk_test_", "rk_test_")


def _api_key(header: str | None) -> str | None:
    """The API key from a Bearer or Basic ``Authorization`` header, if any."""
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer":
        return value or None
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return ""
        return decoded.partition(":")[0]
    return ""


def authenticate(header: str | None) -> None:
    """Check a request's ``Authorization`` header: raise Stripe's 401 unless it carries
    a test-mode key."""
    key = _api_key(header)
    if key is None:
        raise ApiError(
            401,
            "You did not provide an API key. You need to provide your API key in the "
            "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
            "YOUR_SECRET_KEY').",
            headers=(("WWW-Authenticate", 'Basic realm="Stripe"'),),
        )
    if not (key.startswith(_TEST_KEY_PREFIXES) and len(key) > len("sk_test_")):
        # NOTE: unlike Stripe, never echo any part of the key.
        raise ApiError(
            401,
            "Invalid API Key provided. The fcaudit sandbox accepts only test-mode keys "
            f"(sk_test_… or rk_test_…), e.g. {SANDBOX_API_KEY}.",
            headers=(("WWW-Authenticate", 'Basic realm="Stripe"'),),
        )


def check_version(header: str) -> str:
    """The ``Stripe-Version`` header (empty: the account's default), or Stripe's 400 for one
    that is not a version. Stripe refuses versions it does not know; the sandbox knows no
    list of them, so it refuses only what is not shaped like one. The wording is modelled on
    Stripe's answer, not copied from a documented one (none is documented)."""
    version = header.strip()
    if version and not _VERSION.fullmatch(version):
        shown = version if len(version) <= 40 else version[:40] + "..."
        raise ApiError(
            400,
            f"Invalid Stripe API version: {shown}. See https://docs.stripe.com/upgrades for "
            "the versions you can use.",
            param="Stripe-Version",
        )
    return version
