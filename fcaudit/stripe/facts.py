"""Facts about Stripe's API that the client, the classifier and the sandbox all rely on.

One definition each, so the sandbox and the code it tests can never disagree about them.
"""

from __future__ import annotations

import re
from typing import Final

# The preview version that exposes status_details.inactive, Account.authorization and the
# Authorization endpoint (https://docs.stripe.com/financial-connections/inactive-accounts).
PREVIEW_VERSION: Final = "2026-09-30.preview"

# Stripe sends financial_connections.account.upcoming_deactivation 30 days ahead.
DEFAULT_HORIZON_DAYS: Final = 30


# GET /v1/events lists the events of the last 30 days only; `types[]` takes at most 20 exact
# names (https://docs.stripe.com/api/events/list).
EVENT_RETENTION_DAYS: Final = 30
MAX_EVENT_TYPES: Final = 20

# The v1 event types whose data.object is an FC account or authorization: 12 account and 2
# authorization types (GA; stripe-python 16.1.0 `_event.py`, webhook endpoint enum) and the
# preview-only refreshed_inferred_balances (https://docs.stripe.com/api/events/types).
# financial_connections.session.updated carries a session, so it is not one of them.
FC_EVENT_TYPES: Final = (
    "financial_connections.account.account_numbers_updated",
    "financial_connections.account.created",
    "financial_connections.account.deactivated",
    "financial_connections.account.disconnected",
    "financial_connections.account.expected_deactivation_date_updated",
    "financial_connections.account.reactivated",
    "financial_connections.account.refreshed_balance",
    "financial_connections.account.refreshed_inferred_balances",
    "financial_connections.account.refreshed_ownership",
    "financial_connections.account.refreshed_transactions",
    "financial_connections.account.supported_payment_method_types_updated",
    "financial_connections.account.upcoming_account_number_expiry",
    "financial_connections.account.upcoming_deactivation",
    "financial_connections.authorization.expected_deactivation_date_updated",
    "financial_connections.authorization.upcoming_deactivation",
)

# Thin events (event destinations, `2026-10-28.endive`): a subscribed refresh that failed or
# succeeded. Known by name as open strings: a type fcaudit does not know is never an error.
# They are delivered to event destinations (v2), not listed by GET /v1/events.
THIN_REFRESH_EVENT_TYPES: Final = tuple(
    f"v1.financial_connections.account.{data}_refresh_{outcome}"
    for data in ("balance", "inferred_balances", "ownership", "transactions")
    for outcome in ("failed", "succeeded")
)


def is_preview(version: str | None) -> bool:
    """True for a preview API version (`YYYY-MM-DD.preview`)."""
    return bool(version) and str(version).strip().endswith(".preview")


# The first GA version at which Stripe's API reference documents the Authorization object and
# its retrieve endpoint, with status_details.inactive.action
# (https://docs.stripe.com/api/financial_connections/authorizations/object?api-version=2026-07-29.dahlia).
# NOTE: unverified. The GA OpenAPI spec (2026-09-30.endive) still has no such endpoint, and
# stripe-python's GA SDK no service for it: the sources disagree, so fcaudit asks, and reports
# a refusal in Stripe's words. Accounts name their authorization in preview versions only.
AUTHORIZATIONS_GA_SINCE: Final = "2026-07-29"


def retrieves_authorizations(version: str | None) -> bool:
    """True where Stripe documents GET /v1/financial_connections/authorizations/{id}: every
    preview version, and GA versions from `AUTHORIZATIONS_GA_SINCE` on."""
    value = str(version or "").strip()
    if is_preview(value):
        return True
    date = value.split(".", 1)[0]
    return re.fullmatch(r"\d{4}-\d{2}-\d{2}", date) is not None and date >= AUTHORIZATIONS_GA_SINCE


# Stripe-Rate-Limited-Reason, the limit a 429 hit (https://docs.stripe.com/rate-limits). A 429
# without it is not a rate limit (Stripe's example: a lock timeout). `none` stands for a 429
# without the header, or with a value not in this list: both are handled alike.
RATE_REASONS: Final = ("global-rate", "endpoint-rate")
CONCURRENCY_REASONS: Final = ("global-concurrency", "endpoint-concurrency")
REASONS: Final = (*RATE_REASONS, *CONCURRENCY_REASONS, "resource-specific", "none")
