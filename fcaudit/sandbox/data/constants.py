"""The vocabulary every part of the data set shares: truth categories, signal codes,
``expected_deactivation_source`` values, Stripe's unknown future values, holder types, name
scenarios, and the clock and id constants."""

from __future__ import annotations

from typing import Final

GA_EVENT_VERSION: Final = "2026-07-29.dahlia"
BIG_CUSTOMER_ACCOUNTS: Final = 130
DEFAULT_CONNECTED_CUSTOMERS: Final = 20  # customers in each connected account's own data set

DAY: Final = 86_400
ALNUM: Final = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

# Ground-truth category names.
RELINK_REQUIRED: Final = "relink_required"
INACTIVE_UNREPAIRABLE: Final = "inactive_unrepairable"
INACTIVE_UNKNOWN: Final = "inactive_unknown"
ACCOUNT_NUMBER_UNUSABLE: Final = "account_number_unusable"
DISCONNECTED: Final = "disconnected"
EXPIRING: Final = "expiring"
ACTIVE: Final = "active"
UNKNOWN: Final = "unknown"
CATEGORIES: Final = (
    RELINK_REQUIRED,
    INACTIVE_UNREPAIRABLE,
    INACTIVE_UNKNOWN,
    ACCOUNT_NUMBER_UNUSABLE,
    DISCONNECTED,
    EXPIRING,
    ACTIVE,
    UNKNOWN,
)

# Signal codes (a finding's `signals`); they never change the category on their own.
SIG_NUMBER_EXPIRING: Final = "account_number_expiring"
SIG_NUMBER_UNUSABLE: Final = "account_number_unusable"
SIG_NUMBER_PENDING: Final = "account_number_pending"
SIG_BALANCE_FAILED: Final = "balance_refresh_failed"
SIG_OWNERSHIP_FAILED: Final = "ownership_refresh_failed"
SIG_TRANSACTION_FAILED: Final = "transaction_refresh_failed"
SIG_INFERRED_FAILED: Final = "inferred_balances_refresh_failed"
SIG_PREDICTED: Final = "predicted_deactivation"
SIG_PREDICTED_PASSED: Final = "predicted_date_passed"
SIGNALS: Final = (
    SIG_NUMBER_EXPIRING,
    SIG_NUMBER_UNUSABLE,
    SIG_NUMBER_PENDING,
    SIG_BALANCE_FAILED,
    SIG_OWNERSHIP_FAILED,
    SIG_TRANSACTION_FAILED,
    SIG_INFERRED_FAILED,
    SIG_PREDICTED,
    SIG_PREDICTED_PASSED,
)
# The `*_refresh` fields and the signal a failed one gives.
REFRESH_SIGNALS: Final = {
    "balance_refresh": SIG_BALANCE_FAILED,
    "ownership_refresh": SIG_OWNERSHIP_FAILED,
    "transaction_refresh": SIG_TRANSACTION_FAILED,
    "inferred_balances_refresh": SIG_INFERRED_FAILED,
}
# expected_deactivation_source values.
STRIPE: Final = "stripe"
RULE_BOA_1Y: Final = "rule:boa-auth-1y"
RULE_BOA_MIGRATION: Final = "rule:boa-api-migration"

UNKNOWN_STATUS: Final = "suspended_future_value"
UNKNOWN_CAUSE: Final = "bank_merger_future"
UNKNOWN_ACTION: Final = "contact_support_future"

# Holder types: a v1 Customer, a connected account, an Accounts-v2 customer (an Account).
CUSTOMER_ACCOUNT: Final = "customer_account"

# Name scenarios (see the package docstring).
DEMO: Final = "demo"
ADVERSARIAL: Final = "adversarial"
NAME_SCENARIOS: Final = (DEMO, ADVERSARIAL)
