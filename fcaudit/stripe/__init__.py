"""Everything that speaks Stripe: the gateway, its transport, the error model, redaction, ids,
API facts and the rate limiter. Only `gateway` imports stripe-python (tests/test_layout.py
checks it); nothing here is imported by `fcaudit --help`."""
