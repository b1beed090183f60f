"""The authorization-level designs (:data:`SCENARIOS`): the authorization's status and
``status_details`` shape, the causes and actions its accounts get, the date range of an upcoming
deactivation, the truth category and the weights in random data."""

from __future__ import annotations

from typing import Final

from fcaudit.sandbox.data.constants import (
    ACTIVE,
    DISCONNECTED,
    EXPIRING,
    INACTIVE_UNKNOWN,
    INACTIVE_UNREPAIRABLE,
    RELINK_REQUIRED,
    STRIPE,
    UNKNOWN,
    UNKNOWN_ACTION,
    UNKNOWN_CAUSE,
    UNKNOWN_STATUS,
)
from fcaudit.sandbox.data.designs import NONE, RELINK, Scenario

ACTIVE_CAUSES: Final = ("access_expired", "institution_requirement", "unspecified")
RELINK_CAUSES: Final = (
    "access_expired",
    "institution_requirement",
    "access_denied",
    "unspecified",
)
DEAD_CAUSES: Final = ("account_closed", "account_unavailable", "unspecified", "access_denied")
_EXPIRING_DAYS: Final = (2.0, 25.0)

# Bank of America: authentication expires one year after linking (reference doc §10).
SCENARIOS: Final[tuple[Scenario, ...]] = (
    Scenario("healthy", "active", "empty", ACTIVE, weight=58, account_variants=True),
    Scenario(
        "expiring",
        "active",
        "active",
        EXPIRING,
        weight=9,
        causes=ACTIVE_CAUSES,
        actions=(RELINK, NONE),
        action_weights=(2, 1),
        days=_EXPIRING_DAYS,
        events=("upcoming",),
        date_updated_share=0.3,
        source=STRIPE,
    ),
    Scenario(
        "expiring_past",
        "active",
        "active",
        EXPIRING,
        weight=0.5,
        causes=ACTIVE_CAUSES,
        actions=(RELINK, NONE),
        action_weights=(2, 1),
        days=(-3.0, -1.0),
        events=("upcoming",),
        date_updated_share=0.3,
        source=STRIPE,
    ),
    Scenario(
        "expiring_unknown",
        "active",
        "active",
        EXPIRING,
        weight=0.5,
        causes=(UNKNOWN_CAUSE,),
        actions=(UNKNOWN_ACTION,),
        days=_EXPIRING_DAYS,
        events=("upcoming",),
        date_updated_share=0.3,
        source=STRIPE,
    ),
    Scenario(
        "far_future",
        "active",
        "active",
        ACTIVE,
        weight=5,
        causes=("institution_requirement", "unspecified"),
        days=(45.0, 300.0),
        date_updated_share=0.3,
        source=STRIPE,
    ),
    Scenario(
        "relink",
        "inactive",
        "inactive",
        RELINK_REQUIRED,
        weight=12,
        causes=RELINK_CAUSES,
        cause_weights=(35, 35, 20, 10),
        actions=(RELINK,),
        events=("deactivated",),
    ),
    Scenario(
        "relink_unknown_cause",
        "inactive",
        "inactive",
        RELINK_REQUIRED,
        weight=0.7,
        causes=(UNKNOWN_CAUSE,),
        actions=(RELINK,),
        events=("deactivated",),
    ),
    Scenario(
        "dead",
        "inactive",
        "inactive",
        INACTIVE_UNREPAIRABLE,
        weight=5,
        causes=DEAD_CAUSES,
        cause_per_account=True,
        events=("deactivated",),
    ),
    Scenario(
        "disconnected",
        "disconnected",
        "empty",
        DISCONNECTED,
        weight=5,
        boa_weight=5,
        events=("disconnected",),
    ),
    Scenario(
        "auth_unknown_action",
        "inactive",
        "inactive",
        INACTIVE_UNKNOWN,
        weight=0.6,
        causes=(UNKNOWN_CAUSE,),
        actions=(UNKNOWN_ACTION,),
        events=("deactivated",),
    ),
    Scenario(
        "auth_empty",
        "inactive",
        "inactive_missing",
        INACTIVE_UNKNOWN,
        weight=0.6,
        events=("deactivated",),
    ),
    Scenario("auth_unknown_status", UNKNOWN_STATUS, "empty", UNKNOWN, weight=0.5),
    Scenario(
        "boa_far",
        "active",
        "active",
        ACTIVE,
        boa_weight=50,
        causes=("access_expired",),
        yearly=True,
        link_days=(1.0, 320.0),
        source=STRIPE,
    ),
    Scenario(
        "boa_expiring",
        "active",
        "active",
        EXPIRING,
        boa_weight=18,
        causes=("access_expired",),
        actions=(RELINK,),
        yearly=True,
        link_days=(365.0 - _EXPIRING_DAYS[1], 365.0 - _EXPIRING_DAYS[0]),
        events=("upcoming",),
        source=STRIPE,
    ),
    Scenario(
        "boa_expired",
        "inactive",
        "inactive",
        RELINK_REQUIRED,
        boa_weight=22,
        causes=("access_expired",),
        actions=(RELINK,),
        yearly=True,
        link_days=(366.0, 665.0),
        events=("deactivated",),
    ),
    # Bank of America links that Stripe gives no date for: most of them, as with the real bank.
    # The truth is the rules' prediction at `now` (see Scenario.rules).
    Scenario(
        "boa_undated", "active", "empty", ACTIVE, boa_weight=30, link_days=(1.0, 430.0), rules=True
    ),
)
SCENARIO_BY_NAME: Final = {s.name: s for s in SCENARIOS}
# A Bank of America scenario whose link is older than the holder falls back to this one.
BOA_FALLBACK: Final = SCENARIO_BY_NAME["boa_far"]
