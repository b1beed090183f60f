"""Tests of fcaudit.stripe: the gateway, its failures, ids, redaction and the rate limiter."""
