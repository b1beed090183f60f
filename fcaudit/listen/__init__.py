"""`fcaudit listen`: receive Stripe's webhooks, record each event durably in the journal beside
a `--state` store, and say at once when an account or authorization changes category."""
