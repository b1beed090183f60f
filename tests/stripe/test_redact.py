"""Redaction: keys never reach a message, whatever text they arrive in."""

from __future__ import annotations

from fcaudit.stripe.redact import redact
from tests.conftest import TEST_KEY


def test_redact() -> None:
    assert TEST_KEY not in redact(f"bad key {TEST_KEY}", TEST_KEY)
    assert "sk_live_" in redact("key sk_live_ab12 here")
    assert "ab12" not in redact("key sk_live_ab12 here")
    assert "rk_test_[redacted]" in redact("rk_test_XYZ999")
