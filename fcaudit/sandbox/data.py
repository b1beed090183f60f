"""The sandbox's deterministic data set and its ground truth.

Every object is generated from an *intended scenario* (a "design"), and the category recorded as
ground truth is the scenario's category, not the result of classifying the generated JSON. The
truth holds at ``now`` with a 30-day horizon, as seen through a preview API version.

The scenarios are declared in tables that the builder reads: :data:`SCENARIOS`
(authorization-level: the authorization's status and ``status_details`` shape, the causes and
actions its accounts get, the date range of an upcoming deactivation, the truth category and the
weight in random data) and :data:`ACCOUNT_VARIANTS` (account-level designs under an active
authorization, with their account numbers, refreshes, signals and source), plus
:data:`BOA_LINKS` (Bank of America links without a Stripe date, around the rules' boundaries)
and :data:`HISTORIES` (accounts with several snapshots in the event window). A new case is a new
row, not a new branch. Only the Bank of America rows' truth is computed, by the sandbox's own
reading of Stripe's inactive-accounts guide (:func:`boa_rule_truth`), because it depends on how
the link date falls relative to fixed dates and ``now``.

Ground-truth categories (exact strings):

``relink_required``
    ``status: inactive`` and ``status_details.inactive.action == "relink_required"``, whatever
    the cause (including an unknown future cause such as ``bank_merger_future``).
``inactive_unrepairable``
    ``status: inactive`` and ``status_details.inactive.action == "none"`` (e.g. ``account_closed``),
    including an unknown future cause with action ``none``.
``inactive_unknown``
    ``status: inactive`` and the inactive details are missing or unusable: ``status_details``
    absent, ``{}``, ``{"inactive": null}``, an inactive hash without ``action``, or an unknown
    future action (``contact_support_future``). These cases are deliberately rare.
``disconnected``
    ``status: disconnected``.
``account_number_unusable``
    status neither ``inactive`` nor ``disconnected``, and ``account_numbers`` is non-empty with
    every entry ``deactivated``/``expired`` (none ``transactable`` or ``pending``). Beats
    ``expiring``, ``unknown`` and ``active``.
``expiring``
    ``status: active`` with ``status_details.active.expected_deactivation_date`` 2-25 days after
    ``now``, or (a few) already 1-3 days past while the status is still ``active``. The date
    decides: unknown future values of ``cause``/``action`` do not change the category. Also:
    every transactable account number has an ``expected_expiry_date`` and the latest is at
    most 30 calendar days away (or past); or a Bank of America rule predicts a date within 30
    calendar days (today included).
``active``
    ``status: active`` with no upcoming deactivation, or one at least 45 days after ``now``
    (31 for an account number or a rule's date).
``unknown``
    a ``status`` value outside active/inactive/disconnected (``suspended_future_value``), or an
    active account whose ``expected_deactivation_date`` can't be read (a numeric string,
    ``true``, 10**20, ``NaN``: the one value the server writes as non-standard JSON).

Authorizations use the same categories from their own ``status``/``status_details`` (they have
no ``cause``). An inactive authorization with action ``relink_required`` makes all of its accounts
``relink_required``; accounts of an active authorization may individually be closed,
unavailable, disconnected or odd.

Each account and authorization also has a truth for its signals (a set of codes, see
:data:`SIGNALS`) and its ``expected_deactivation_source``: ``"stripe"`` (Stripe's date or an
account number's expiry), ``"rule:boa-auth-1y"``/``"rule:boa-api-migration"``, or None.
Authorizations have no signals. The event history has its own truth: per FC object, the
category of its latest event's snapshot at ``now`` (by ``created``, ties by event id; a
snapshot rendered in a GA version has no ``status_details.inactive``, so an inactive one is
``inactive_unknown``), and the number of events about other objects (a session, a customer).

``/__sandbox/truth`` (:meth:`Dataset.truth`) holds::

    now, horizon_days, scenario, customers, customer_accounts
    accounts, authorizations         {id: category}
    signals                          {id: [code, ...] sorted}       accounts and authorizations
    expected_deactivation_source     {id: "stripe" | "rule:<id>" | null}
    holders                          {"account": [acct_...], "customer_account": [acct_...]}
    events                           {"count": n, "skipped": n, "latest": {id: category},
                                      "pending_webhooks": {evt_id: n}, "undelivered": [evt_id]}

``pending_webhooks`` and ``undelivered`` cover the events about FC accounts and authorizations
(:func:`delivery_truth`). ``POST /__sandbox/control`` changes the data between two runs and
updates this truth (:func:`apply_changes`, :mod:`fcaudit.sandbox.control`).

Layout (by generation index; API order is by creation date, newest first):

* customer 0 holds a showcase of every scenario, cause and action;
* customer 1 is the only customer with more than 100 accounts (130);
* customer 2 holds the odd names: two accounts at each of nine institutions (cycling through the
  scenario's odd institutions) and a relink group of three, each account with the next odd
  display name;
* customer 3 holds the Bank of America links around the rules' boundaries
  (:data:`BOA_LINKS`) and the accounts with scripted event histories (:data:`HISTORIES`); the
  others are random (about 10% have none);
* connected accounts (``acct_…``, one per 60 customers, at least two) hold accounts too;
  they are the platform's connected accounts (``GET /v1/accounts``), and each has its own
  data set (:meth:`Dataset.connected`: ``connected_customers`` customers, seeded by its id,
  with its own truth), served to requests that send its ``Stripe-Account`` header;
* so do Accounts-v2 customers (``acct_…`` with ``account_holder.customer_account``, not listed
  by ``/v1/customers``; one per 100 customers, at least two): the first holds a few scripted
  accounts, the second none, the others random ones.

Two name scenarios share that layout and every random draw, so ids, statuses and the truth are
the same in both; only names differ:

``demo`` (the default)
    believable names: real institution and account names, a few in other scripts
    ("Caixa Geral de Depósitos", "みずほ銀行").
``adversarial``
    customer 2's institutions, display names and customer name are hostile text (rich markup,
    HTML, ANSI/OSC terminal escapes, bidi overrides, newlines, very long names, CSV formulas,
    Markdown), and about 2% of random accounts get a hostile display name or institution.

Each holder is generated from its own RNG seeded by ``(seed, index)``, so a customer's data does
not depend on how many customers there are, and nothing is rendered to JSON until asked for.

A fleet (``fc_share``): only that share of the random customers (index 4 on) has FC accounts,
decided by a draw fixed by ``(seed, "fc", index)``, so large fleets where few
customers link a bank (100,000 customers at 5%: about three seconds to build) cost little more
than their customer list. Without it, about 90% of them do, as before.
"""

from __future__ import annotations

import dataclasses
import hashlib
import random
import threading
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Final, Literal

from fcaudit.stripe.facts import DEFAULT_HORIZON_DAYS as HORIZON_DAYS
from fcaudit.stripe.facts import EVENT_RETENTION_DAYS, PREVIEW_VERSION

GA_EVENT_VERSION: Final = "2026-07-29.dahlia"
BIG_CUSTOMER_ACCOUNTS: Final = 130
DEFAULT_CONNECTED_CUSTOMERS: Final = 20  # customers in each connected account's own data set

DAY: Final = 86_400
_ALNUM: Final = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

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

# Name scenarios (see the module docstring).
DEMO: Final = "demo"
ADVERSARIAL: Final = "adversarial"
NAME_SCENARIOS: Final = (DEMO, ADVERSARIAL)

# ---------------------------------------------------------------------------------------------
# Names

BANK_OF_AMERICA: Final = "Bank of America"
# (name, weight in random data). Every data set draws institutions from this table.
INSTITUTIONS: Final[tuple[tuple[str, float], ...]] = (
    (BANK_OF_AMERICA, 14),
    ("Chase", 16),
    ("Wells Fargo", 12),
    ("Navy Federal Credit Union", 6),
    ("Citibank", 8),
    ("Capital One", 8),
    ("U.S. Bank", 6),
    ("Ally Bank", 4),
    ("Golden 1 Credit Union", 3),
    ("Caixa Geral de Depósitos", 0.5),
    ("Crédit Agricole", 0.5),
    ("みずほ銀行", 0.5),
)
# Customer 2's institutions in the demo: real names outside ASCII.
UNICODE_INSTITUTIONS: Final = ("Caixa Geral de Depósitos", "Crédit Agricole", "みずほ銀行")
UNICODE_DISPLAY_NAMES: Final = (
    "Conta à Ordem",
    "Compte Épargne",
    "普通預金",
    "Zoë's Savings",
    "Sparkonto Müller",
    "Cuenta Nómina",
)

# Hostile text: only in the adversarial scenario. Each entry is a case a renderer must show
# literally: never as markup, a link, a formula, an escape sequence or a line break.
HOSTILE_INSTITUTIONS: Final = (
    "[bold red]FREE[/] Credit Union",
    "\x1b[31mRed\x1b[0m Savings Bank",
    "<script>alert('fc')</script> Bank",
    "\x1b]0;PWNED\x07Title Bank",
    "\u202eknaB lanoitaN\u202c",
    "First\nSecond Bank",
    '=HYPERLINK("http://evil.example","Bank")',
    "Bank | of `Tables`",
    "Very Long Name Bank " + "x" * 480,
)
HOSTILE_DISPLAY_NAMES: Final = (
    "[bold red]FREE[/]",
    "[link=http://evil.example]click[/link]",
    "\x1b[31mred\x1b[0m",
    "\x1b]0;TITLE\x07",
    "\x1b]8;;http://evil.example\x07link\x1b]8;;\x07",
    "\x9b2J C1 clear",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "abc\u202edcba",
    "line one\nline two\r\nthree",
    "tab\there",
    '=HYPERLINK("http://evil.example","x")',
    "+1",
    "-1",
    "@SUM(A1:A9)",
    "a | b | c",
    "`rm -rf /`",
    "[link](http://evil.example)",
    "*bold* **strong**",
    "_under_ __score__",
    "Checking " + "W" * 500,
)
HOSTILE_CUSTOMER_NAME: Final = "<b>Mallory</b> [bold]O'Hara[/] =1+1 | `x`"

# (display names, category, subcategory, permissions, supported payment method types)
_KINDS: Final[tuple[tuple[tuple[str, ...], str, str, tuple[str, ...], tuple[str, ...]], ...]] = (
    (
        ("Checking", "Everyday Checking", "Total Checking", "Joint Checking", "Business Checking"),
        "cash",
        "checking",
        ("payment_method", "balances"),
        ("us_bank_account",),
    ),
    (
        ("Savings", "High Yield Savings", "Money Market Savings"),
        "cash",
        "savings",
        ("payment_method", "balances", "transactions"),
        ("us_bank_account",),
    ),
    (("Credit Card", "Rewards Visa"), "credit", "credit_card", ("balances",), ("link",)),
    (("Line of Credit",), "credit", "line_of_credit", ("balances",), ("link",)),
    (("Home Mortgage",), "credit", "mortgage", ("balances", "ownership"), ("link",)),
    (("Brokerage",), "investment", "other", ("balances",), ("link",)),
)
_KIND_WEIGHTS: Final = (50, 25, 12, 4, 4, 5)
_KIND_BY_SUB: Final = {sub: i for i, (_n, _c, sub, _p, _t) in enumerate(_KINDS) if sub != "other"}
# Share of random accounts whose names come from the scenario's odd names (unicode in the demo,
# hostile in the adversarial scenario). Drawn in every scenario, so draws stay aligned.
_ODD_NAME_SHARE: Final = 0.02

_FIRST: Final = ("Ada", "Grace", "Alan", "Zoë", "José", "Mia", "Noah", "Li", "Ana", "Omar", "Ivy")
_LAST: Final = ("Lovelace", "Hopper", "Turing", "Müller", "García", "Nguyen", "Okafor", "Kim")

# Other spellings Stripe may give Bank of America (the rules match them after normalising:
# casefold, "&" -> "and", non-alphanumerics removed), and a real bank whose name only looks
# alike ("bankofamericanfork" is not "bankofamerica"). Only the showcase uses them.
BOA_ALIASES: Final = ("BANK OF AMERICA", "Bank of America, N.A.", "BofA")
BOA_NEAR_MISS: Final = "Bank of American Fork"

# Institutions are addressed by index into one name table: the weighted ones, the hostile
# ones (used by the adversarial scenario only), then the showcase's other spellings.
_INST_NAMES: Final = (
    tuple(name for name, _ in INSTITUTIONS) + HOSTILE_INSTITUTIONS + BOA_ALIASES + (BOA_NEAR_MISS,)
)
_INST_WEIGHTS: Final = tuple(w for _, w in INSTITUTIONS)
_N_WEIGHTED: Final = len(INSTITUTIONS)
_HOSTILE_INST: Final = tuple(range(_N_WEIGHTED, _N_WEIGHTED + len(HOSTILE_INSTITUTIONS)))
_UNICODE_INST: Final = tuple(_INST_NAMES.index(n) for n in UNICODE_INSTITUTIONS)


def _inst(name: str) -> int:
    return _INST_NAMES.index(name)


_BOA: Final = _inst(BANK_OF_AMERICA)
_CHASE, _WELLS, _CITI = _inst("Chase"), _inst("Wells Fargo"), _inst("Citibank")
_NAVY: Final = _inst("Navy Federal Credit Union")

# ---------------------------------------------------------------------------------------------
# Scenarios

Shape = Literal["empty", "active", "inactive", "inactive_missing"]
"""The ``status_details`` an authorization scenario gives (see :class:`Scenario`)."""

RELINK: Final = "relink_required"
NONE: Final = "none"


@dataclass(frozen=True, slots=True)
class Scenario:
    """One authorization-level design: what the authorization and its accounts look like.

    ``shape`` decides ``status_details``:

    * ``empty``: ``{}`` on the authorization and every account;
    * ``active``: ``{"active": {action, expected_deactivation_date}}`` (accounts add ``cause``);
    * ``inactive``: ``{"inactive": {action}}`` (accounts add ``cause``);
    * ``inactive_missing``: ``{}`` on the authorization; each account has ``{}`` or none at all.

    ``causes``/``actions`` are the values drawn (weighted by ``cause_weights``/``action_weights``)
    once per authorization, or per account with ``cause_per_account``; the authorization gets
    the same action. ``days`` is the expected deactivation date as a range of days
    after ``now``; ``yearly`` instead puts it (or the deactivation) 365 days after linking, and
    ``link_days`` bounds how long ago the accounts were linked. ``weight`` and ``boa_weight`` are
    the scenario's weights in random data at other institutions and at Bank of America.

    ``source`` is the truth's ``expected_deactivation_source`` (``"stripe"`` when Stripe's
    ``status_details.active`` carries a date). ``rules`` marks an active Bank of America design
    without a Stripe date: its truth comes from the inactive-accounts guide's rules applied to
    the link date (:func:`boa_rule_truth`), since that depends on ``now``.
    """

    name: str
    status: str
    shape: Shape
    category: str
    weight: float = 0.0
    boa_weight: float = 0.0
    causes: tuple[str, ...] = ()
    cause_weights: tuple[float, ...] | None = None
    cause_per_account: bool = False
    actions: tuple[str, ...] = (NONE,)
    action_weights: tuple[float, ...] | None = None
    days: tuple[float, float] | None = None
    yearly: bool = False
    link_days: tuple[float, float] | None = None
    events: tuple[str, ...] = ()
    date_updated_share: float = 0.0  # chance of an expected_deactivation_date_updated event
    account_variants: bool = False  # each account draws an AccountVariant
    source: str | None = None
    rules: bool = False


_ACTIVE_CAUSES: Final = ("access_expired", "institution_requirement", "unspecified")
_RELINK_CAUSES: Final = (
    "access_expired",
    "institution_requirement",
    "access_denied",
    "unspecified",
)
_DEAD_CAUSES: Final = ("account_closed", "account_unavailable", "unspecified", "access_denied")
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
        causes=_ACTIVE_CAUSES,
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
        causes=_ACTIVE_CAUSES,
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
        causes=_RELINK_CAUSES,
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
        causes=_DEAD_CAUSES,
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
_BOA_FALLBACK: Final = SCENARIO_BY_NAME["boa_far"]

_ABSENT: Final = "absent"  # AccountVariant.details: no status_details key at all


# Account numbers (``account_numbers[]``): identifier types and statuses as Stripe gives them.
TAN: Final = "tokenized_account_number"
ACN: Final = "account_number"
TRANSACTABLE: Final = "transactable"
PENDING: Final = "pending"
DEACTIVATED: Final = "deactivated"
EXPIRED: Final = "expired"

Expiry = int | tuple[int, int] | None
"""An account number's ``expected_expiry_date``: None (null), or noon UTC that many calendar
days after ``now``'s date (negative: already past), or a range of such days drawn at random."""

NumberDesign = tuple[str, str, Expiry]
"""(identifier_type, status, expiry) of one ``account_numbers[]`` entry."""


@dataclass(frozen=True, slots=True)
class AccountVariant:
    """One account-level design under an active authorization (a ``healthy`` scenario).

    ``details`` is the account's fixed ``status_details`` (``"absent"``: no key at all), unless
    ``days`` is set: then it is ``{"active": {action: none, cause, expected_deactivation_date}}``
    with the date that many days after ``now`` (an ISO 8601 string with ``iso_date``, unix
    seconds otherwise). ``events`` are the account's own events.

    ``numbers`` are the account's ``account_numbers`` (None: the default, one transactable
    number without expiry on accounts that can pay, none on the others); ``refresh`` sets
    ``*_refresh`` fields to a status; ``kind`` pins the account's subcategory (``checking``,
    ``savings``, ``mortgage``...). ``signals`` and ``source`` are the truth's signal codes and
    ``expected_deactivation_source``, stated with the category, not derived.
    """

    name: str
    status: str
    details: dict[str, Any] | str
    category: str
    weight: float
    cause: str = "institution_requirement"
    days: tuple[float, float] | None = None
    events: tuple[str, ...] = ()
    numbers: tuple[NumberDesign, ...] | None = None
    refresh: tuple[tuple[str, str], ...] = ()
    kind: str | None = None
    signals: tuple[str, ...] = ()
    source: str | None = None
    iso_date: bool = False


def _inactive(action: str, cause: str) -> dict[str, Any]:
    return {"inactive": {"action": action, "cause": cause}}


# A NaN read from JSON; one object, so data sets built twice still compare equal.
NAN: Final = float("nan")


def _active_date(value: Any) -> dict[str, Any]:
    """``status_details`` whose active date is ``value`` as given (a shape fcaudit can't read)."""
    return {
        "active": {
            "action": RELINK,
            "cause": "access_expired",
            "expected_deactivation_date": value,
        }
    }


ACCOUNT_VARIANTS: Final[tuple[AccountVariant, ...]] = (
    AccountVariant("active_plain", "active", {}, ACTIVE, 60),
    AccountVariant("active_no_details", "active", _ABSENT, ACTIVE, 4),
    AccountVariant("active_null_active", "active", {"active": None}, ACTIVE, 2),
    AccountVariant("active_far", "active", {}, ACTIVE, 5, days=(45.0, 200.0), source=STRIPE),
    AccountVariant("reactivated", "active", {}, ACTIVE, 3, events=("reactivated",)),
    AccountVariant(
        "closed",
        "inactive",
        _inactive(NONE, "account_closed"),
        INACTIVE_UNREPAIRABLE,
        5,
        events=("deactivated",),
    ),
    AccountVariant(
        "unavailable",
        "inactive",
        _inactive(NONE, "account_unavailable"),
        INACTIVE_UNREPAIRABLE,
        3,
        events=("deactivated",),
    ),
    AccountVariant(
        "inactive_unspecified_none",
        "inactive",
        _inactive(NONE, "unspecified"),
        INACTIVE_UNREPAIRABLE,
        1.5,
        events=("deactivated",),
    ),
    AccountVariant(
        "disconnected_single", "disconnected", {}, DISCONNECTED, 3, events=("disconnected",)
    ),
    AccountVariant(
        "inactive_missing", "inactive", _ABSENT, INACTIVE_UNKNOWN, 1, events=("deactivated",)
    ),
    AccountVariant("inactive_empty", "inactive", {}, INACTIVE_UNKNOWN, 1, events=("deactivated",)),
    AccountVariant(
        "inactive_null",
        "inactive",
        {"inactive": None},
        INACTIVE_UNKNOWN,
        1,
        events=("deactivated",),
    ),
    AccountVariant(
        "inactive_no_action",
        "inactive",
        {"inactive": {"cause": "unspecified"}},
        INACTIVE_UNKNOWN,
        0.6,
        events=("deactivated",),
    ),
    AccountVariant(
        "inactive_unknown_action",
        "inactive",
        _inactive(UNKNOWN_ACTION, "unspecified"),
        INACTIVE_UNKNOWN,
        0.6,
        events=("deactivated",),
    ),
    AccountVariant(
        "inactive_unknown_cause_none",
        "inactive",
        _inactive(NONE, UNKNOWN_CAUSE),
        INACTIVE_UNREPAIRABLE,
        0.6,
        events=("deactivated",),
    ),
    AccountVariant("unknown_status", UNKNOWN_STATUS, {}, UNKNOWN, 1),
    # -- account numbers (a tokenized number can expire or be deactivated by the bank) ------
    AccountVariant(
        "number_expiring",
        "active",
        {},
        EXPIRING,
        1.2,
        numbers=((TAN, TRANSACTABLE, (3, 25)),),
        kind="checking",
        signals=(SIG_NUMBER_EXPIRING,),
        source=STRIPE,
    ),
    AccountVariant(
        "numbers_expiring_both",
        "active",
        {},
        EXPIRING,
        0,
        numbers=((TAN, TRANSACTABLE, 5), (ACN, TRANSACTABLE, 20)),
        kind="checking",
        signals=(SIG_NUMBER_EXPIRING,),
        source=STRIPE,
    ),
    AccountVariant(
        "number_expiry_passed",
        "active",
        {},
        EXPIRING,
        0,
        numbers=((TAN, TRANSACTABLE, -2),),
        kind="checking",
        signals=(SIG_NUMBER_EXPIRING,),
        source=STRIPE,
    ),
    AccountVariant(
        "number_expiry_today",
        "active",
        {},
        EXPIRING,
        0,
        numbers=((TAN, TRANSACTABLE, 0),),
        kind="checking",
        signals=(SIG_NUMBER_EXPIRING,),
        source=STRIPE,
    ),
    AccountVariant(
        "number_expiry_day_30",
        "active",
        {},
        EXPIRING,
        0,
        numbers=((TAN, TRANSACTABLE, 30),),
        kind="checking",
        signals=(SIG_NUMBER_EXPIRING,),
        source=STRIPE,
    ),
    AccountVariant(
        "number_expiry_day_31",
        "active",
        {},
        ACTIVE,
        0,
        numbers=((TAN, TRANSACTABLE, 31),),
        kind="checking",
    ),
    AccountVariant(
        "number_expiry_far",
        "active",
        {},
        ACTIVE,
        0,
        numbers=((TAN, TRANSACTABLE, 90),),
        kind="checking",
    ),
    AccountVariant(
        "number_expiring_and_null",
        "active",
        {},
        ACTIVE,
        0,
        numbers=((TAN, TRANSACTABLE, 10), (ACN, TRANSACTABLE, None)),
        kind="checking",
        signals=(SIG_NUMBER_EXPIRING,),
    ),
    AccountVariant(
        "number_expiring_and_far",
        "active",
        {},
        ACTIVE,
        0,
        numbers=((TAN, TRANSACTABLE, 10), (TAN, TRANSACTABLE, 90)),
        kind="checking",
        signals=(SIG_NUMBER_EXPIRING,),
    ),
    AccountVariant(
        "number_expiring_and_pending",
        "active",
        {},
        EXPIRING,
        0,
        numbers=((TAN, TRANSACTABLE, 10), (TAN, PENDING, None)),
        kind="checking",
        signals=(SIG_NUMBER_EXPIRING, SIG_NUMBER_PENDING),
        source=STRIPE,
    ),
    AccountVariant(
        "number_pending",
        "active",
        {},
        ACTIVE,
        0.8,
        numbers=((ACN, PENDING, None),),
        kind="checking",
        signals=(SIG_NUMBER_PENDING,),
    ),
    AccountVariant(
        "number_pending_and_deactivated",
        "active",
        {},
        ACTIVE,
        0,
        numbers=((TAN, DEACTIVATED, None), (TAN, PENDING, None)),
        kind="checking",
        signals=(SIG_NUMBER_PENDING,),
    ),
    AccountVariant(
        "number_replaced",
        "active",
        {},
        ACTIVE,
        2,
        numbers=((TAN, DEACTIVATED, None), (TAN, TRANSACTABLE, None)),
        kind="checking",
    ),
    AccountVariant(
        "numbers_deactivated",
        "active",
        {},
        ACCOUNT_NUMBER_UNUSABLE,
        0.8,
        numbers=((TAN, DEACTIVATED, None),),
        kind="checking",
        signals=(SIG_NUMBER_UNUSABLE,),
    ),
    AccountVariant(
        "numbers_expired",
        "active",
        {},
        ACCOUNT_NUMBER_UNUSABLE,
        0,
        numbers=((TAN, EXPIRED, -3), (ACN, DEACTIVATED, None)),
        kind="savings",
        signals=(SIG_NUMBER_UNUSABLE,),
    ),
    AccountVariant(
        "closed_numbers_deactivated",
        "inactive",
        _inactive(NONE, "account_closed"),
        INACTIVE_UNREPAIRABLE,
        0.5,
        events=("deactivated",),
        numbers=((ACN, DEACTIVATED, None),),
        kind="checking",
        signals=(SIG_NUMBER_UNUSABLE,),
    ),
    AccountVariant(
        "disconnected_numbers_deactivated",
        "disconnected",
        {},
        DISCONNECTED,
        0,
        events=("disconnected",),
        numbers=((TAN, DEACTIVATED, None),),
        kind="checking",
        signals=(SIG_NUMBER_UNUSABLE,),
    ),
    AccountVariant(
        "unknown_status_numbers_deactivated",
        UNKNOWN_STATUS,
        {},
        ACCOUNT_NUMBER_UNUSABLE,
        0,
        numbers=((TAN, DEACTIVATED, None),),
        kind="checking",
        signals=(SIG_NUMBER_UNUSABLE,),
    ),
    AccountVariant(
        "stripe_date_numbers_deactivated",
        "active",
        {},
        ACCOUNT_NUMBER_UNUSABLE,
        0,
        days=(10.0, 10.0),
        numbers=((TAN, DEACTIVATED, None),),
        kind="checking",
        signals=(SIG_NUMBER_UNUSABLE,),
        # Unusable now beats a deactivation to come: the finding carries no date, so no source.
    ),
    AccountVariant(
        "stripe_date_later_number_sooner",
        "active",
        {},
        EXPIRING,
        0,
        days=(25.0, 25.0),
        numbers=((TAN, TRANSACTABLE, 8),),
        kind="checking",
        signals=(SIG_NUMBER_EXPIRING,),
        source=STRIPE,
    ),
    AccountVariant(
        "stripe_date_sooner_number_later",
        "active",
        {},
        EXPIRING,
        0,
        days=(5.0, 5.0),
        numbers=((TAN, TRANSACTABLE, 20),),
        kind="checking",
        signals=(SIG_NUMBER_EXPIRING,),
        source=STRIPE,
    ),
    # -- data refreshes ---------------------------------------------------------------------
    AccountVariant(
        "refresh_ok",
        "active",
        {},
        ACTIVE,
        3,
        refresh=(("balance_refresh", "succeeded"), ("transaction_refresh", "pending")),
        kind="savings",
    ),
    AccountVariant(
        "refresh_balance_failed",
        "active",
        {},
        ACTIVE,
        1.5,
        refresh=(("balance_refresh", "failed"),),
        signals=(SIG_BALANCE_FAILED,),
    ),
    AccountVariant(
        "refresh_ownership_failed",
        "active",
        {},
        ACTIVE,
        0.3,
        refresh=(("ownership_refresh", "failed"),),
        kind="mortgage",
        signals=(SIG_OWNERSHIP_FAILED,),
    ),
    AccountVariant(
        "refresh_transaction_failed",
        "active",
        {},
        ACTIVE,
        0.5,
        refresh=(("transaction_refresh", "failed"),),
        kind="savings",
        signals=(SIG_TRANSACTION_FAILED,),
    ),
    AccountVariant(
        "refresh_inferred_balances_failed",
        "active",
        {},
        ACTIVE,
        0.3,
        refresh=(("inferred_balances_refresh", "failed"),),
        kind="checking",
        signals=(SIG_INFERRED_FAILED,),
    ),
    AccountVariant(
        "refresh_all_failed",
        "active",
        {},
        ACTIVE,
        0,
        refresh=(
            ("balance_refresh", "failed"),
            ("transaction_refresh", "failed"),
            ("inferred_balances_refresh", "failed"),
        ),
        kind="savings",
        signals=(SIG_BALANCE_FAILED, SIG_TRANSACTION_FAILED, SIG_INFERRED_FAILED),
    ),
    AccountVariant(
        "closed_refresh_failed",
        "inactive",
        _inactive(NONE, "account_closed"),
        INACTIVE_UNREPAIRABLE,
        0.5,
        events=("deactivated",),
        refresh=(("balance_refresh", "failed"),),
        signals=(SIG_BALANCE_FAILED,),
    ),
    # -- an expected_deactivation_date fcaudit cannot read: unknown, never "active" --------
    AccountVariant("date_numeric_string", "active", _active_date("1796083200"), UNKNOWN, 0),
    AccountVariant("date_true", "active", _active_date(True), UNKNOWN, 0),
    AccountVariant("date_huge", "active", _active_date(10**20), UNKNOWN, 0),
    # NaN is not JSON: the server's encoder writes it raw (`NaN`), which Python's json.loads
    # (and so the stripe SDK) reads. The one account a strict JSON parser would refuse.
    AccountVariant("date_nan", "active", _active_date(NAN), UNKNOWN, 0),
    # Stripe sends unix seconds; an ISO 8601 date string stays readable.
    AccountVariant(
        "date_iso", "active", {}, EXPIRING, 0, days=(12.0, 12.0), iso_date=True, source=STRIPE
    ),
)
VARIANT_BY_NAME: Final = {v.name: v for v in ACCOUNT_VARIANTS}
_VARIANT_WEIGHTS: Final = tuple(v.weight for v in ACCOUNT_VARIANTS)


# ---------------------------------------------------------------------------------------------
# Bank of America without a Stripe date: the inactive-accounts guide's rules
#
# Applied only to an `active` account at an institution whose normalised name is one of
# BOA_RULE_NAMES and for which Stripe gives no expected_deactivation_date; the link date is
# the account's `created`. This is the sandbox's own reading of the guide, written for the
# truth; it shares nothing with fcaudit's classifier.

BOA_RULE_NAMES: Final = frozenset({"bankofamerica", "bankofamericana", "bofa"})
BOA_AUTH_YEAR_DAYS: Final = 365  # boa-auth-1y: authentication expires a year after linking
BOA_MIGRATION_BEFORE: Final = int(datetime(2025, 7, 1, tzinfo=UTC).timestamp())
BOA_MIGRATION_DATE: Final = int(datetime(2026, 8, 1, tzinfo=UTC).timestamp())
BOA_ROLLING_BEFORE: Final = int(datetime(2026, 4, 18, tzinfo=UTC).timestamp())


def normalise_institution(name: str) -> str:
    """casefold, "&" -> "and", every non-alphanumeric character removed."""
    folded = unicodedata.normalize("NFKC", name).casefold().replace("&", "and")
    return "".join(c for c in folded if c.isalnum())


def boa_rule_truth(
    created: int, now: datetime, horizon_days: int = HORIZON_DAYS
) -> tuple[str, tuple[str, ...], str | None]:
    """(category, signal codes, expected_deactivation_source) the rules give an active Bank of
    America account linked at ``created`` (unix seconds), seen at ``now``."""
    today = now.astimezone(UTC).date()
    predictions: list[tuple[str, int | None]] = [(RULE_BOA_1Y, created + BOA_AUTH_YEAR_DAYS * DAY)]
    if created < BOA_MIGRATION_BEFORE:
        predictions.append((RULE_BOA_MIGRATION, BOA_MIGRATION_DATE))
    elif created < BOA_ROLLING_BEFORE:
        predictions.append((RULE_BOA_MIGRATION, None))  # "on a rolling basis": no date
    signals: list[str] = []
    upcoming: list[tuple[date, str]] = []
    for rule, when in predictions:
        if when is None:
            signals.append(SIG_PREDICTED)
            continue
        day = datetime.fromtimestamp(when, UTC).date()
        if day < today:
            signals.append(SIG_PREDICTED_PASSED)
        else:
            signals.append(SIG_PREDICTED)
            upcoming.append((day, rule))
    if not upcoming:
        return ACTIVE, tuple(sorted(set(signals))), None
    day, rule = min(upcoming)
    category = EXPIRING if (day - today).days <= horizon_days else ACTIVE
    return category, tuple(sorted(set(signals))), rule


@dataclass(frozen=True, slots=True)
class BoaLink:
    """One active Bank of America account without a Stripe date, linked at a chosen moment.

    ``at`` is an absolute link time (ISO 8601, UTC): the rule boundaries. ``year_in`` instead
    links it at noon UTC so that ``created`` + 365 days falls that many calendar days after
    ``now``'s date. An ``at`` after ``now`` (or before the holder existed) is left out. The truth
    is :func:`boa_rule_truth` unless ``category`` is given (a row the rules must not touch).
    """

    name: str
    at: str | None = None
    year_in: int | None = None
    institution: str = BANK_OF_AMERICA
    details: dict[str, Any] | str | None = None  # None: {}; "absent": no key
    category: str | None = None


BOA_LINKS: Final[tuple[BoaLink, ...]] = (
    # boa-api-migration: before 2025-07-01 -> 2026-08-01; through 2026-04-17 -> rolling; after.
    BoaLink("boa_linked_2025-06-30", at="2025-06-30T12:00:00Z"),
    BoaLink("boa_linked_2025-06-30_last_second", at="2025-06-30T23:59:59Z"),
    BoaLink("boa_linked_2025-07-01_first_second", at="2025-07-01T00:00:00Z"),
    BoaLink("boa_linked_2025-07-01", at="2025-07-01T12:00:00Z"),
    BoaLink("boa_linked_2025-07-02", at="2025-07-02T12:00:00Z"),
    BoaLink("boa_linked_2026-04-16", at="2026-04-16T12:00:00Z"),
    BoaLink("boa_linked_2026-04-17", at="2026-04-17T12:00:00Z"),
    BoaLink("boa_linked_2026-04-17_last_second", at="2026-04-17T23:59:59Z"),
    BoaLink("boa_linked_2026-04-18_first_second", at="2026-04-18T00:00:00Z"),
    BoaLink("boa_linked_2026-04-18", at="2026-04-18T12:00:00Z"),
    # boa-auth-1y around the horizon (30 calendar days).
    BoaLink("boa_year_passed_yesterday", year_in=-1),
    BoaLink("boa_year_ends_today", year_in=0),
    BoaLink("boa_year_ends_in_30_days", year_in=30),
    BoaLink("boa_year_ends_in_31_days", year_in=31),
    # Other spellings, and status_details shapes without a date.
    BoaLink("boa_na_no_details", year_in=10, institution="Bank of America, N.A.", details="absent"),
    BoaLink(
        "boa_upper_null_active", year_in=20, institution="BANK OF AMERICA", details={"active": None}
    ),
    BoaLink(
        "boa_bofa_null_date",
        year_in=100,
        institution="BofA",
        details={
            "active": {
                "action": NONE,
                "cause": "access_expired",
                "expected_deactivation_date": None,
            }
        },
    ),
    # Not Bank of America, however alike: no rule.
    BoaLink("boa_near_miss", year_in=10, institution=BOA_NEAR_MISS, category=ACTIVE),
    # Stripe gave a date fcaudit can't read: unknown, and the rules must not fill it in.
    BoaLink(
        "boa_unreadable_date", year_in=10, details=_active_date("1796083200"), category=UNKNOWN
    ),
)
BOA_LINK_BY_NAME: Final = {b.name: b for b in BOA_LINKS}


# ---------------------------------------------------------------------------------------------
# Event histories: objects with several snapshots in the event window


@dataclass(frozen=True, slots=True)
class Snapshot:
    """An account as an earlier event showed it, and the category that snapshot has at ``now``
    (through a preview version; a GA-rendered inactive snapshot is ``inactive_unknown``).
    ``numbers``/``refresh`` None: the account's own."""

    status: str
    details: dict[str, Any]
    category: str
    numbers: tuple[NumberDesign, ...] | None = None
    refresh: tuple[tuple[str, str], ...] | None = None


@dataclass(frozen=True, slots=True)
class Step:
    """One event: ``financial_connections.account.<event>``, ``days_ago`` before ``now``, showing
    ``snapshot`` (None: the account as it is now). Steps at the same second are given ids in
    step order, so the later step is the later event (ties go by event id)."""

    event: str
    days_ago: float
    snapshot: Snapshot | None = None


@dataclass(frozen=True, slots=True)
class History:
    """One account (``scenario``, and ``variant`` under a healthy authorization) linked
    ``link_days_ago`` in a session, with exactly these events (and the session's own)."""

    name: str
    scenario: str
    variant: str | None
    link_days_ago: float
    steps: tuple[Step, ...]


_ACTIVE_SNAPSHOT: Final = Snapshot("active", {}, ACTIVE)
HISTORIES: Final[tuple[History, ...]] = (
    History(
        "history_relinked",
        "healthy",
        "active_plain",
        26,
        (
            Step("created", 26, _ACTIVE_SNAPSHOT),
            Step(
                "deactivated",
                12,
                Snapshot("inactive", _inactive(RELINK, "access_expired"), RELINK_REQUIRED),
            ),
            Step("reactivated", 3),
        ),
    ),
    History(
        "history_went_dark",
        "relink",
        None,
        20,
        (
            Step("created", 20, _ACTIVE_SNAPSHOT),
            Step(
                "refreshed_balance",
                6,
                Snapshot("active", {}, ACTIVE, refresh=(("balance_refresh", "failed"),)),
            ),
            Step("deactivated", 5),
        ),
    ),
    History(
        "history_number_expired",
        "healthy",
        "numbers_expired",
        28,
        (
            Step(
                "created",
                28,
                Snapshot("active", {}, EXPIRING, numbers=((TAN, TRANSACTABLE, -3),)),
            ),
            Step(
                "upcoming_account_number_expiry",
                20,
                Snapshot("active", {}, EXPIRING, numbers=((TAN, TRANSACTABLE, -3),)),
            ),
            Step("account_numbers_updated", 2),
        ),
    ),
    History(
        "history_same_second",
        "relink",
        None,
        15,
        (
            Step("created", 15, _ACTIVE_SNAPSHOT),
            Step(
                "refreshed_transactions",
                4,
                Snapshot("active", {}, ACTIVE, refresh=(("transaction_refresh", "failed"),)),
            ),
            Step("deactivated", 4),
        ),
    ),
    History(
        "history_number_replaced",
        "healthy",
        "number_replaced",
        18,
        (
            Step("created", 18, Snapshot("active", {}, ACTIVE, numbers=((TAN, PENDING, None),))),
            Step("account_numbers_updated", 1),
        ),
    ),
)
HISTORY_BY_NAME: Final = {h.name: h for h in HISTORIES}
_OTHER_SCENARIOS: Final = tuple(s for s in SCENARIOS if s.weight)
_OTHER_WEIGHTS: Final = tuple(s.weight for s in _OTHER_SCENARIOS)
_BOA_SCENARIOS: Final = tuple(s for s in SCENARIOS if s.boa_weight)
_BOA_WEIGHTS: Final = tuple(s.boa_weight for s in _BOA_SCENARIOS)


@dataclass(frozen=True, slots=True)
class _Plan:
    """One authorization to generate: scenario, institution and its accounts.

    ``cause``/``action`` pin the scenario's draw; ``variants`` pin the designs of the first
    accounts of a ``healthy`` authorization; ``odd_names`` gives the accounts the name
    scenario's odd display names in turn, starting at ``name_offset``.
    """

    scenario: str
    institution: int
    n_accounts: int
    variants: tuple[str, ...] = ()
    cause: str | None = None
    action: str | None = None
    odd_names: bool = False
    name_offset: int = 0
    session: bool = False
    deactivated_days_ago: float | None = None
    boa: BoaLink | None = None
    history: History | None = None


# Customer 0: every scenario, cause and action at least once.
def _showcase_plans() -> list[_Plan]:
    chase, wells, citi, cu = _CHASE, _WELLS, _CITI, _NAVY
    variants = tuple(v.name for v in ACCOUNT_VARIANTS)
    plans = [
        _Plan("healthy", chase, 4, variants[0:4], session=True),
        _Plan("healthy", wells, 4, variants[4:8]),
        _Plan("healthy", citi, 4, variants[8:12]),
        _Plan("healthy", cu, 4, variants[12:16]),
    ]
    plans += [_Plan("expiring", chase, 2, cause=c, action=RELINK) for c in _ACTIVE_CAUSES]
    plans += [
        _Plan("expiring", wells, 1, cause="institution_requirement", action=NONE),
        _Plan("expiring_past", citi, 2),
        _Plan("expiring_unknown", cu, 1),
        _Plan("far_future", chase, 2),
    ]
    plans += [_Plan("relink", wells, 2, cause=c, session=True) for c in _RELINK_CAUSES]
    plans += [
        _Plan("relink", chase, 1, cause="access_denied", deactivated_days_ago=3.5),
        _Plan("relink_unknown_cause", citi, 1),
    ]
    plans += [_Plan("dead", citi, 1, cause=c) for c in _DEAD_CAUSES]
    plans += [
        _Plan("disconnected", cu, 2, deactivated_days_ago=6.0),
        _Plan("auth_unknown_action", chase, 1),
        _Plan("auth_empty", wells, 1),
        _Plan("auth_unknown_status", cu, 1),
        _Plan("boa_far", _BOA, 2),
        _Plan("boa_expiring", _BOA, 3, session=True),
        _Plan("boa_expired", _BOA, 1, deactivated_days_ago=9.0),
        _Plan("boa_expired", _BOA, 2, deactivated_days_ago=120.0),
    ]
    # Account numbers, refreshes and unreadable dates, four accounts to an authorization.
    for n, start in enumerate(range(16, len(variants), 4)):
        chunk = variants[start : start + 4]
        plans.append(_Plan("healthy", (chase, wells, citi, cu)[n % 4], len(chunk), chunk))
    return plans


# Customer 3: Bank of America links on each side of each rule boundary, and event histories.
def _rule_and_history_plans() -> list[_Plan]:
    plans = [_Plan("boa_undated", _inst(b.institution), 1, boa=b) for b in BOA_LINKS]
    plans += [
        _Plan(
            h.scenario,
            _CHASE,
            1,
            (h.variant,) if h.variant else (),
            cause="access_expired" if h.scenario == "relink" else None,
            session=True,
            history=h,
        )
        for h in HISTORIES
    ]
    return plans


# The Accounts-v2 customer (an Account acting as a customer) that holds the showcase's v2 links.
def _customer_account_plans() -> list[_Plan]:
    return [
        _Plan("healthy", _CHASE, 3, ("active_plain", "number_expiring", "refresh_balance_failed")),
        _Plan("relink", _WELLS, 1, cause="access_expired"),
        _Plan("boa_undated", _BOA, 1, boa=BOA_LINK_BY_NAME["boa_year_ends_in_30_days"]),
    ]


def _odd_name_plans(scenario: str) -> list[_Plan]:
    """Customer 2: one account at each odd-name institution, and a relink group of three.

    Both name scenarios make the same number of plans, so the random draws stay aligned.
    """
    pool = _HOSTILE_INST if scenario == ADVERSARIAL else _UNICODE_INST
    plain = ("active_plain", "active_plain")
    plans = [
        _Plan("healthy", pool[i % len(pool)], 2, plain, odd_names=True, name_offset=2 * i)
        for i in range(len(_HOSTILE_INST))
    ]
    offset = 2 * len(plans)
    plans.append(
        _Plan("relink", _CHASE, 3, cause="access_expired", odd_names=True, name_offset=offset)
    )
    return plans


# ---------------------------------------------------------------------------------------------
# Compact records


@dataclass(slots=True)
class AccountSpec:
    """Everything needed to render one FC account; rendered to JSON on demand."""

    id: str
    created: int
    holder_type: str
    holder_id: str
    authorization: str
    institution: int
    session: str | None
    display_name: str
    last4: str
    kind: int
    status: str
    details: dict[str, Any] | None  # None: the status_details key is absent
    design: str
    numbers: tuple[dict[str, Any], ...] = ()  # account_numbers[], rendered
    refresh: dict[str, dict[str, Any]] = field(default_factory=dict)  # "balance_refresh": {...}


@dataclass(slots=True)
class AuthorizationSpec:
    """Everything needed to render one FC authorization."""

    id: str
    holder_type: str
    holder_id: str
    institution: int
    status: str
    details: dict[str, Any] | None
    design: str
    account_ids: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class CustomerSpec:
    id: str
    created: int
    name: str
    email: str


def _clone(value: Any) -> Any:
    """Copy JSON-like data so callers can't mutate shared records."""
    if isinstance(value, dict):
        return {k: _clone(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clone(v) for v in value]
    return value


def _session(
    session_id: str, holder_type: str, holder_id: str, account_ids: list[str]
) -> dict[str, Any]:
    """A ``financial_connections.session`` as an event carries it (accounts by id only)."""
    return {
        "id": session_id,
        "object": "financial_connections.session",
        "account_holder": _holder(holder_type, holder_id),
        "accounts": {
            "object": "list",
            "data": [],
            "has_more": bool(account_ids),
            "url": f"/v1/financial_connections/sessions/{session_id}/accounts",
        },
        "livemode": False,
        "permissions": ["balances", "payment_method"],
        "prefetch": [],
        "return_url": None,
    }


def institution_id(name: str) -> str:
    """A stable ``fcinst_…`` id for an institution name (independent of the seed)."""
    digest = hashlib.sha256(name.encode()).digest()
    return "fcinst_" + "".join(_ALNUM[b % 62] for b in digest[:14])


_INST_IDS: Final = tuple(institution_id(n) for n in _INST_NAMES)


def _holder(holder_type: str, holder_id: str) -> dict[str, Any]:
    if holder_type == "customer":
        return {"type": "customer", "customer": holder_id}
    if holder_type == CUSTOMER_ACCOUNT:
        # Accounts v2: the customer is an Account (acct_...) with the customer configuration.
        return {"type": "customer", "customer": None, "customer_account": holder_id}
    return {"type": "account", "account": holder_id}


def render_account(
    spec: AccountSpec,
    *,
    preview: bool = True,
    status: str | None = None,
    details: dict[str, Any] | bool | None = False,
) -> dict[str, Any]:
    """The account as the API returns it; ``preview`` adds the preview-only fields.

    ``status``/``details`` override the current state (for event snapshots); ``details=False``
    means "use the spec's".
    """
    _names, category, subcategory, permissions, pm_types = _KINDS[spec.kind]
    sd = spec.details if details is False else details
    obj: dict[str, Any] = {
        "id": spec.id,
        "object": "financial_connections.account",
        "account_holder": _holder(spec.holder_type, spec.holder_id),
        "account_numbers": [_clone(n) for n in spec.numbers],
    }
    if preview:
        obj["authorization"] = spec.authorization
    obj.update(
        {
            "balance": None,
            "balance_refresh": _clone(spec.refresh.get("balance_refresh")),
            "category": category,
            "created": spec.created,
            "display_name": spec.display_name,
        }
    )
    if preview:
        obj["inferred_balances_refresh"] = _clone(spec.refresh.get("inferred_balances_refresh"))
        obj["institution"] = _INST_IDS[spec.institution]
    obj.update(
        {
            "institution_name": _INST_NAMES[spec.institution],
            "last4": spec.last4,
            "livemode": False,
            "ownership": None,
            "ownership_refresh": _clone(spec.refresh.get("ownership_refresh")),
            "permissions": list(permissions),
            "status": status if status is not None else spec.status,
        }
    )
    if isinstance(sd, dict):
        if preview:
            obj["status_details"] = _clone(sd)
        else:
            # GA versions only know the `active` sub-hash (reference doc §0.1).
            obj["status_details"] = {k: _clone(v) for k, v in sd.items() if k == "active"}
    obj.update(
        {
            "subcategory": subcategory,
            "subscriptions": [],
            "supported_payment_method_types": list(pm_types),
            "transaction_refresh": _clone(spec.refresh.get("transaction_refresh")),
        }
    )
    return obj


def render_authorization(spec: AuthorizationSpec, *, preview: bool = True) -> dict[str, Any]:
    """The authorization as the API (or a GA event payload) shows it."""
    obj: dict[str, Any] = {"id": spec.id, "object": "financial_connections.authorization"}
    if preview:
        obj["account_holder"] = _holder(spec.holder_type, spec.holder_id)
        obj["institution"] = _INST_IDS[spec.institution]
    obj.update(
        {
            "institution_name": _INST_NAMES[spec.institution],
            "livemode": False,
            "status": spec.status,
        }
    )
    if spec.details is not None:
        obj["status_details"] = _clone(spec.details)
    return obj


@dataclass(frozen=True, slots=True)
class ConnectedSpec:
    """A connected account of the platform, as ``GET /v1/accounts`` lists it."""

    id: str
    created: int
    name: str


def render_connected_account(spec: ConnectedSpec) -> dict[str, Any]:
    return {
        "id": spec.id,
        "object": "account",
        "business_profile": {"name": spec.name, "url": None},
        "business_type": "company",
        "charges_enabled": True,
        "country": "US",
        "created": spec.created,
        "default_currency": "usd",
        "details_submitted": True,
        "email": None,
        "metadata": {},
        "payouts_enabled": True,
        "type": "custom",
    }


def _unit(key: str) -> float:
    """A uniform draw in [0, 1) fixed by ``key``: a Random's draw at a tenth of the cost of
    seeding one (it matters for 100,000 customers)."""
    digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def connected_seed(seed: int, account_id: str) -> int:
    """The seed of a connected account's own data set: from the platform's seed and its id."""
    return int.from_bytes(hashlib.sha256(f"{seed}:{account_id}".encode()).digest()[:6], "big")


def render_customer(spec: CustomerSpec) -> dict[str, Any]:
    return {
        "id": spec.id,
        "object": "customer",
        "address": None,
        "balance": 0,
        "created": spec.created,
        "currency": None,
        "default_source": None,
        "delinquent": False,
        "description": None,
        "email": spec.email,
        "invoice_prefix": spec.id[4:12].upper(),
        "livemode": False,
        "metadata": {},
        "name": spec.name,
        "phone": None,
        "preferred_locales": [],
        "shipping": None,
        "tax_exempt": "none",
        "test_clock": None,
    }


class _Rendered(Mapping[str, dict[str, Any]]):
    """A read-only id -> JSON mapping that renders each object when it is looked up."""

    def __init__(self, specs: Mapping[str, Any], render: Any) -> None:
        self._specs = specs
        self._render = render

    def __getitem__(self, key: str) -> dict[str, Any]:
        result: dict[str, Any] = self._render(self._specs[key])
        return result

    def __iter__(self) -> Iterator[str]:
        return iter(self._specs)

    def __len__(self) -> int:
        return len(self._specs)

    def __contains__(self, key: object) -> bool:
        return key in self._specs


# ---------------------------------------------------------------------------------------------
# The data set


class Dataset:
    """The generated objects, indexes in API list order (newest first) and the ground truth."""

    def __init__(
        self,
        seed: int,
        now: datetime,
        *,
        scenario: str = DEMO,
        fc_share: float | None = None,
        connected_customers: int = DEFAULT_CONNECTED_CUSTOMERS,
    ) -> None:
        self.seed = seed
        self.now = now
        self.scenario = scenario
        self.fc_share = fc_share
        self.connected_customers = connected_customers
        # The platform's connected accounts (GET /v1/accounts), newest first, and each one's
        # own data set, built the first time it is asked for. Empty in a connected account's
        # own data set: it is no platform.
        self.connected_specs: dict[str, ConnectedSpec] = {}
        self.connected_ids: list[str] = []
        self.connected_position: dict[str, int] = {}
        self._connected_sets: dict[str, Dataset] = {}
        self._connected_lock = threading.Lock()
        self.now_ts = int(now.timestamp())
        self.customer_specs: dict[str, CustomerSpec] = {}
        self.account_specs: dict[str, AccountSpec] = {}
        self.authorization_specs: dict[str, AuthorizationSpec] = {}
        self.customer_ids: list[str] = []
        self.account_ids: list[str] = []
        self.authorization_ids: list[str] = []
        self.session_ids: list[str] = []
        self.holder_account_ids: list[str] = []
        self.customer_account_ids: list[str] = []  # Accounts-v2 customers (acct_...)
        self.events: list[dict[str, Any]] = []
        self.expected_category: dict[str, str] = {}
        self.expected_authorization_category: dict[str, str] = {}
        # Accounts and authorizations: sorted signal codes, expected_deactivation_source.
        self.expected_signals: dict[str, tuple[str, ...]] = {}
        self.expected_source: dict[str, str | None] = {}
        # The event history: each FC object's category from its latest event, and how many
        # events carry something else (skipped by `fcaudit classify`).
        self.expected_event_category: dict[str, str] = {}
        self.events_skipped = 0
        self._by_holder: dict[str, list[str]] = {}
        self._by_session: dict[str, list[str]] = {}
        self.account_position: dict[str, int] = {}
        self.customer_position: dict[str, int] = {}
        self.customers: Mapping[str, dict[str, Any]] = _Rendered(
            self.customer_specs, render_customer
        )
        self.accounts: Mapping[str, dict[str, Any]] = _Rendered(self.account_specs, render_account)
        self.authorizations: Mapping[str, dict[str, Any]] = _Rendered(
            self.authorization_specs, render_authorization
        )

    # -- lookups used by the server and by tests ------------------------------------------------
    def accounts_for_customer(self, customer_id: str) -> list[str]:
        """Ids of the customer's accounts, newest first (empty for unknown ids)."""
        return list(self._by_holder.get(customer_id, ()))

    def accounts_for_holder_account(self, account_id: str) -> list[str]:
        """Ids of the accounts held by connected account ``acct_…``, newest first."""
        return list(self._by_holder.get(account_id, ()))

    def accounts_for_customer_account(self, account_id: str) -> list[str]:
        """Ids of the accounts held by Accounts-v2 customer ``acct_…``, newest first."""
        return list(self._by_holder.get(account_id, ()))

    def accounts_for_session(self, session_id: str) -> list[str]:
        """Ids of the accounts linked in session ``fcsess_…``, newest first."""
        return list(self._by_session.get(session_id, ()))

    def holder_accounts(self, holder_id: str) -> Sequence[str] | None:
        """The list served for an account_holder filter, or None when the holder doesn't exist."""
        if holder_id in self._by_holder:
            return self._by_holder[holder_id]
        if holder_id in self.customer_specs or holder_id in self.customer_account_ids:
            return ()
        return None

    def session_accounts(self, session_id: str) -> Sequence[str] | None:
        return self._by_session.get(session_id)

    def account(self, account_id: str, *, preview: bool = True) -> dict[str, Any]:
        return render_account(self.account_specs[account_id], preview=preview)

    def authorization(self, authorization_id: str) -> dict[str, Any]:
        return render_authorization(self.authorization_specs[authorization_id])

    def connected(self, account_id: str) -> Dataset | None:
        """A connected account's own data set (what its Stripe-Account header reads), or None
        for an id that is not one of the platform's connected accounts. Built on first use
        from its own seed, with the platform's clock, names, fleet share and size."""
        if account_id not in self.connected_specs:
            return None
        with self._connected_lock:
            found = self._connected_sets.get(account_id)
            if found is None:
                found = build_dataset(
                    connected_seed(self.seed, account_id),
                    self.connected_customers,
                    self.now,
                    scenario=self.scenario,
                    fc_share=self.fc_share,
                    platform=False,
                )
                self._connected_sets[account_id] = found
            return found

    def design(self, object_id: str) -> str:
        """The scenario an account or authorization was generated from (for debugging)."""
        spec = self.account_specs.get(object_id) or self.authorization_specs[object_id]
        return spec.design

    def truth(self) -> dict[str, Any]:
        """The ``/__sandbox/truth`` document (see the module docstring for its keys)."""
        return {
            "now": self.now.isoformat(),
            "horizon_days": HORIZON_DAYS,
            "scenario": self.scenario,
            "accounts": dict(self.expected_category),
            "authorizations": dict(self.expected_authorization_category),
            "customers": len(self.customer_ids),
            # Accounts a scan of every customer must find (connected-account and Accounts-v2
            # holders excluded).
            "customer_accounts": sum(len(self._by_holder.get(c, ())) for c in self.customer_ids),
            "signals": {k: list(v) for k, v in self.expected_signals.items()},
            "expected_deactivation_source": dict(self.expected_source),
            "holders": {
                "account": list(self.holder_account_ids),
                "customer_account": list(self.customer_account_ids),
            },
            # GET /v1/accounts, newest first; each one's own truth: /__sandbox/truth with its
            # Stripe-Account header.
            "connected_accounts": list(self.connected_ids),
            "connected_customers": self.connected_customers if self.connected_ids else 0,
            "fc_share": self.fc_share,
            "events": {
                "count": len(self.events),
                "skipped": self.events_skipped,
                "latest": dict(self.expected_event_category),
                **delivery_truth(self),
            },
        }


class _Builder:
    """Generates one holder's authorizations, accounts and events from that holder's RNG.

    What the #8 cases add to an account (account numbers, refreshes) is drawn from the
    account's own RNG, seeded by its id, so the holder's draws, and so every id, stay as they
    were before those fields existed.
    """

    def __init__(self, ds: Dataset) -> None:
        self.ds = ds
        self.now = ds.now_ts
        self.window_start = self.now - EVENT_RETENTION_DAYS * DAY
        self.adversarial = ds.scenario == ADVERSARIAL
        self.odd_names = HOSTILE_DISPLAY_NAMES if self.adversarial else UNICODE_DISPLAY_NAMES
        self._ids: set[str] = set()
        self._raw_events: list[tuple[int, str, dict[str, Any]]] = []
        # event id -> (object id, snapshot category or None for the object's own, snapshot
        # status, rendered in a preview version); events of other objects are only counted.
        self._labels: dict[str, tuple[str, str | None, str, bool]] = {}
        midnight = datetime.combine(ds.now.astimezone(UTC).date(), datetime.min.time(), UTC)
        self._noon = int(midnight.timestamp()) + DAY // 2

    # -- helpers ---------------------------------------------------------------------------------
    def rid(self, rng: random.Random, prefix: str, n: int = 14) -> str:
        new = prefix + "".join(rng.choices(_ALNUM, k=n))
        if new in self._ids:  # pragma: no cover - 62**14 makes this practically impossible
            raise RuntimeError(f"duplicate generated id {new}")
        self._ids.add(new)
        return new

    def noon(self, days: int) -> int:
        """Noon UTC, ``days`` calendar days after ``now``'s date."""
        return self._noon + days * DAY

    def event(
        self,
        rng: random.Random,
        etype: str,
        created: float,
        obj: AccountSpec | AuthorizationSpec,
        *,
        status: str | None = None,
        details: dict[str, Any] | bool | None = False,
        previous: dict[str, Any] | None = None,
        label: str | None = None,
        eid: str | None = None,
    ) -> None:
        """An event showing ``obj`` (``status``/``details`` override its state); ``label`` is
        that snapshot's category when it is not the object's own."""
        ts = int(created)
        if not self.window_start < ts <= self.now:
            return
        # Most events were rendered in a preview version; about one in ten in a GA version,
        # so its data.object lacks the preview-only fields (reference doc §0.9).
        preview = rng.random() >= 0.1
        if isinstance(obj, AccountSpec):
            payload = render_account(obj, preview=preview, status=status, details=details)
        else:
            payload = render_authorization(obj, preview=preview)
        evt = self._emit(rng, etype, ts, payload, preview, previous, eid)
        shown = status if status is not None else obj.status
        self._labels[str(evt["id"])] = (obj.id, label, shown, preview)

    def other_event(
        self, rng: random.Random, etype: str, created: float, payload: dict[str, Any]
    ) -> None:
        """An event whose data.object is not an FC account or authorization."""
        ts = int(created)
        if self.window_start < ts <= self.now:
            self._emit(rng, etype, ts, payload, rng.random() >= 0.1, None, None)

    def _emit(
        self,
        rng: random.Random,
        etype: str,
        ts: int,
        payload: dict[str, Any],
        preview: bool,
        previous: dict[str, Any] | None,
        eid: str | None,
    ) -> dict[str, Any]:
        data: dict[str, Any] = {"object": payload}
        if previous is not None:
            data["previous_attributes"] = previous
        evt = {
            "id": eid or self.rid(rng, "evt_", 24),
            "object": "event",
            "api_version": PREVIEW_VERSION if preview else GA_EVENT_VERSION,
            "created": ts,
            "data": data,
            "livemode": False,
            "pending_webhooks": rng.choice((0, 0, 1)),
            "request": {"id": None, "idempotency_key": None},
            "type": etype,
        }
        self._raw_events.append((ts, str(evt["id"]), evt))
        return evt

    # -- holders ---------------------------------------------------------------------------------
    def holder(
        self,
        rng: random.Random,
        holder_type: str,
        holder_id: str,
        max_age_days: float,
        plans: list[_Plan],
    ) -> None:
        for plan in plans:
            self.group(rng, holder_type, holder_id, max_age_days, plan)

    def random_plans(self, rng: random.Random, n_auths: int, max_age_days: float) -> list[_Plan]:
        plans = []
        for _ in range(n_auths):
            inst = rng.choices(range(_N_WEIGHTED), _INST_WEIGHTS)[0]
            odd, pick = rng.random(), rng.random()  # drawn in every name scenario
            if inst == _BOA:
                scenario = rng.choices(_BOA_SCENARIOS, _BOA_WEIGHTS)[0]
            else:
                scenario = rng.choices(_OTHER_SCENARIOS, _OTHER_WEIGHTS)[0]
                if self.adversarial and odd < _ODD_NAME_SHARE:
                    inst = _HOSTILE_INST[int(pick * len(_HOSTILE_INST))]
            # A link older than the holder is impossible: a younger scenario instead.
            if scenario.link_days is not None and max_age_days < scenario.link_days[0] + 5:
                scenario = _BOA_FALLBACK
            n = rng.choices((1, 2, 3, 4), (40, 35, 15, 10))[0]
            plans.append(_Plan(scenario.name, inst, n, session=rng.random() < 0.3))
        return plans

    # -- one authorization and its accounts ------------------------------------------------------
    def _link_age(
        self, rng: random.Random, sc: Scenario, plan: _Plan, max_age_days: float
    ) -> float:
        """Days since the accounts were linked."""
        if sc.yearly and sc.status == "inactive" and plan.deactivated_days_ago is not None:
            return 365 + plan.deactivated_days_ago
        if sc.link_days is not None:
            lo, hi = sc.link_days
            return rng.uniform(lo, min(hi, max(lo + 1, max_age_days)))
        return rng.uniform(1, max(2, max_age_days))

    def _pinned_link(self, plan: _Plan, max_age_days: float) -> int | None:
        """The link time a BoaLink or History fixes; -1 when the row can't exist at ``now``."""
        if plan.history is not None:
            return int(self.now - plan.history.link_days_ago * DAY)
        if plan.boa is None:
            return None
        if plan.boa.year_in is not None:
            return self.noon(plan.boa.year_in) - BOA_AUTH_YEAR_DAYS * DAY
        assert plan.boa.at is not None
        at = int(datetime.fromisoformat(plan.boa.at.replace("Z", "+00:00")).timestamp())
        holder_since = self.now - max_age_days * DAY
        return at if holder_since <= at <= self.now else -1

    def group(
        self,
        rng: random.Random,
        holder_type: str,
        holder_id: str,
        max_age_days: float,
        plan: _Plan,
    ) -> None:
        sc = SCENARIO_BY_NAME[plan.scenario]
        now = self.now
        pinned = self._pinned_link(plan, max_age_days)
        if pinned == -1:
            return  # a boundary date after now (or before the holder): not linked yet
        link_age = self._link_age(rng, sc, plan, max_age_days)
        created = int(now - link_age * DAY) if pinned is None else pinned
        if plan.deactivated_days_ago is not None:
            deactivated_at = now - plan.deactivated_days_ago * DAY
        elif sc.yearly:
            deactivated_at = created + 365 * DAY
        else:
            deactivated_at = now - rng.uniform(0.5, max(1.0, min(120.0, link_age - 0.5))) * DAY

        expected: int | None = None
        if sc.days is not None:
            expected = int(now + rng.uniform(*sc.days) * DAY)
        elif sc.yearly and sc.shape == "active":
            expected = created + 365 * DAY
        cause = plan.cause or (rng.choices(sc.causes, sc.cause_weights)[0] if sc.causes else None)
        action = plan.action or rng.choices(sc.actions, sc.action_weights)[0]

        auth_details: dict[str, Any] = {}
        if sc.shape == "active":
            auth_details = {"active": {"action": action, "expected_deactivation_date": expected}}
        elif sc.shape == "inactive":
            auth_details = {"inactive": {"action": action}}
        events = list(sc.events)
        if sc.date_updated_share and rng.random() < sc.date_updated_share:
            events.append("date_updated")

        auth = AuthorizationSpec(
            id=self.rid(rng, "fcauth_", 24),
            holder_type=holder_type,
            holder_id=holder_id,
            institution=plan.institution,
            status=sc.status,
            details=auth_details,
            design=sc.name,
        )
        self.ds.authorization_specs[auth.id] = auth
        self.ds.expected_authorization_category[auth.id] = sc.category
        self.ds.expected_signals[auth.id] = ()
        self.ds.expected_source[auth.id] = sc.source
        session = self.rid(rng, "fcsess_", 24) if plan.session else None
        if session is not None:
            self.ds.session_ids.append(session)

        for i in range(plan.n_accounts):
            kind = rng.choices(range(len(_KINDS)), _KIND_WEIGHTS)[0]
            spec = AccountSpec(
                id=self.rid(rng, "fca_", 24),
                created=created + i,  # linked in one flow, a second apart
                holder_type=holder_type,
                holder_id=holder_id,
                authorization=auth.id,
                institution=plan.institution,
                session=session,
                display_name=self._display_name(rng, plan, kind, i),
                last4=f"{rng.randrange(10_000):04d}",
                kind=kind,
                status=sc.status,
                details=self._account_details(rng, sc, plan, cause, action, expected),
                design=sc.name,
            )
            own = random.Random(f"{self.ds.seed}:{spec.id}")  # see the class docstring
            category, acct_events = sc.category, events
            signals: tuple[str, ...] = ()
            source = sc.source
            variant = None
            if sc.account_variants:
                name = plan.variants[i] if i < len(plan.variants) else None
                variant = (
                    VARIANT_BY_NAME[name]
                    if name
                    else rng.choices(ACCOUNT_VARIANTS, _VARIANT_WEIGHTS)[0]
                )
                category, acct_events = self._apply_variant(rng, spec, variant)
                signals, source = variant.signals, variant.source
                if variant.kind is not None and spec.kind != _KIND_BY_SUB[variant.kind]:
                    spec.kind = _KIND_BY_SUB[variant.kind]
                    if not plan.odd_names:
                        spec.display_name = _KINDS[spec.kind][0][0]
                spec.refresh = self._refresh(own, variant.refresh, spec.created)
            numbers = variant.numbers if variant is not None else None
            spec.numbers = self._numbers(
                own, self._default_numbers(spec) if numbers is None else numbers
            )
            if plan.boa is not None:
                spec.design = plan.boa.name
                spec.details = (
                    None if plan.boa.details == _ABSENT else _clone(plan.boa.details or {})
                )
                if plan.boa.category is not None:
                    category, signals, source = plan.boa.category, (), None
            if sc.rules and (plan.boa is None or plan.boa.category is None):
                category, signals, source = boa_rule_truth(spec.created, self.ds.now)
            if plan.history is not None:
                spec.design = plan.history.name
            auth.account_ids.append(spec.id)
            self.ds.account_specs[spec.id] = spec
            self.ds.expected_category[spec.id] = category
            self.ds.expected_signals[spec.id] = tuple(sorted(set(signals)))
            self.ds.expected_source[spec.id] = source
            if plan.history is not None:
                self._history(rng, own, spec, plan.history)
            else:
                self._account_events(rng, spec, acct_events, deactivated_at, expected)

        if "upcoming" in events and expected is not None:
            self.event(
                rng,
                "financial_connections.authorization.upcoming_deactivation",
                expected - 30 * DAY,
                auth,
            )
        if session is not None:
            # Not an account or an authorization: `fcaudit classify` skips and counts it.
            own = random.Random(f"{self.ds.seed}:{session}")
            self.other_event(
                own,
                "financial_connections.session.updated",
                created + plan.n_accounts,
                _session(session, holder_type, holder_id, auth.account_ids),
            )

    def _default_numbers(self, spec: AccountSpec) -> tuple[NumberDesign, ...]:
        """One transactable number without expiry on an account that can pay, else none."""
        if "payment_method" not in _KINDS[spec.kind][3]:
            return ()
        # Drawn from the account's own RNG, not from its institution, which the adversarial
        # scenario may rename.
        tokenized = random.Random(f"{self.ds.seed}:{spec.id}:number").random() < 0.3
        return ((TAN if tokenized else ACN, TRANSACTABLE, None),)

    def _numbers(
        self, rng: random.Random, designs: tuple[NumberDesign, ...]
    ) -> tuple[dict[str, Any], ...]:
        out = []
        for identifier_type, status, expiry in designs:
            if isinstance(expiry, tuple):
                expiry = rng.randint(*expiry)
            out.append(
                {
                    "expected_expiry_date": None if expiry is None else self.noon(expiry),
                    "identifier_type": identifier_type,
                    "status": status,
                    "supported_networks": ["ach"],
                }
            )
        return tuple(out)

    def _refresh(
        self,
        rng: random.Random,
        designs: tuple[tuple[str, str], ...],
        created: int,
        at: int | None = None,
    ) -> dict[str, dict[str, Any]]:
        """``*_refresh`` objects with the given statuses, last attempted before ``at``."""
        at = self.now if at is None else at
        out: dict[str, dict[str, Any]] = {}
        for name, status in designs:
            last = max(created + 60, int(at - rng.uniform(0.05, 2.0) * DAY))
            entry: dict[str, Any] = {}
            if name == "transaction_refresh":
                entry["id"] = self.rid(rng, "fctxnref_", 24)
            entry["last_attempted_at"] = last
            entry["next_refresh_available_at"] = None if status == "pending" else last + 3600
            entry["status"] = status
            out[name] = entry
        return out

    def _history(
        self, rng: random.Random, own: random.Random, spec: AccountSpec, history: History
    ) -> None:
        """The history's events, in step order; steps at one second get ids in step order."""
        times = [int(self.now - step.days_ago * DAY) for step in history.steps]
        ids = [self.rid(own, "evt_", 24) for _ in history.steps]
        for t in set(times):
            at = [k for k, tk in enumerate(times) if tk == t]
            for k, eid in zip(at, sorted(ids[k] for k in at), strict=True):
                ids[k] = eid
        prefix = "financial_connections.account."
        for step, ts, eid in zip(history.steps, times, ids, strict=True):
            snap = step.snapshot
            if snap is None:
                self.event(rng, prefix + step.event, ts, spec, eid=eid)
                continue
            shown = dataclasses.replace(spec, status=snap.status, details=_clone(snap.details))
            if snap.numbers is not None:
                shown.numbers = self._numbers(own, snap.numbers)
            if snap.refresh is not None:
                shown.refresh = self._refresh(own, snap.refresh, spec.created, at=ts)
            self.event(rng, prefix + step.event, ts, shown, label=snap.category, eid=eid)

    def _display_name(self, rng: random.Random, plan: _Plan, kind: int, index: int) -> str:
        odd, pick = rng.random(), rng.random()  # drawn in every name scenario
        if plan.odd_names:
            return self.odd_names[(plan.name_offset + index) % len(self.odd_names)]
        names = self.odd_names if odd < _ODD_NAME_SHARE else _KINDS[kind][0]
        return names[int(pick * len(names))]

    @staticmethod
    def _account_details(
        rng: random.Random,
        sc: Scenario,
        plan: _Plan,
        cause: str | None,
        action: str,
        expected: int | None,
    ) -> dict[str, Any] | None:
        """One account's ``status_details`` for its authorization's scenario (None: absent)."""
        if sc.shape == "active":
            return {
                "active": {"action": action, "cause": cause, "expected_deactivation_date": expected}
            }
        if sc.shape == "inactive":
            if sc.cause_per_account:
                cause = plan.cause or rng.choice(sc.causes)
            return {"inactive": {"action": action, "cause": cause}}
        if sc.shape == "inactive_missing":
            return rng.choice((None, {}))
        return {}

    def _apply_variant(
        self, rng: random.Random, spec: AccountSpec, variant: AccountVariant
    ) -> tuple[str, list[str]]:
        """An account-level design under an active authorization: sets status/details,
        returns (category, events)."""
        spec.design = variant.name
        spec.status = variant.status
        if variant.days is not None:
            expected = int(self.now + rng.uniform(*variant.days) * DAY)
            when: int | str = expected
            if variant.iso_date:
                when = datetime.fromtimestamp(expected, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            spec.details = {
                "active": {
                    "action": NONE,
                    "cause": variant.cause,
                    "expected_deactivation_date": when,
                }
            }
        elif isinstance(variant.details, str):  # _ABSENT
            spec.details = None
        else:
            spec.details = _clone(variant.details)
        return variant.category, list(variant.events)

    def _account_events(
        self,
        rng: random.Random,
        spec: AccountSpec,
        kinds: list[str],
        deactivated_at: float,
        expected: int | None,
    ) -> None:
        prefix = "financial_connections.account."
        for kind in kinds:
            if kind in ("deactivated", "disconnected"):
                self.event(rng, prefix + kind, deactivated_at, spec, previous={"status": "active"})
            elif kind == "reactivated":
                down = self.now - rng.uniform(6, 28) * DAY
                up = down + rng.uniform(0.1, 5) * DAY
                cause = rng.choice(("access_expired", "institution_requirement"))
                self.event(
                    rng,
                    prefix + "deactivated",
                    down,
                    spec,
                    status="inactive",
                    details=_inactive(RELINK, cause),
                    previous={"status": "active"},
                    label=RELINK_REQUIRED,
                )
                self.event(rng, prefix + "reactivated", up, spec, previous={"status": "inactive"})
            elif kind == "upcoming" and expected is not None:
                self.event(rng, prefix + "upcoming_deactivation", expected - 30 * DAY, spec)
            elif kind == "date_updated" and expected is not None:
                when = self.now - rng.uniform(0.2, 20) * DAY
                self.event(rng, prefix + "expected_deactivation_date_updated", when, spec)

    # -- finishing -------------------------------------------------------------------------------
    def finish(self) -> None:
        ds = self.ds

        def newest_first(ids: list[str]) -> None:
            ids.sort(key=lambda a: (ds.account_specs[a].created, a), reverse=True)

        for spec in ds.account_specs.values():
            ds._by_holder.setdefault(spec.holder_id, []).append(spec.id)
            if spec.session is not None:
                ds._by_session.setdefault(spec.session, []).append(spec.id)
        for ids in (*ds._by_holder.values(), *ds._by_session.values()):
            newest_first(ids)
        ds.account_ids = list(ds.account_specs)
        newest_first(ds.account_ids)
        ds.account_position = {a: i for i, a in enumerate(ds.account_ids)}
        ds.authorization_ids = sorted(ds.authorization_specs)
        ds.customer_ids.sort(key=lambda c: (ds.customer_specs[c].created, c), reverse=True)
        ds.customer_position = {c: i for i, c in enumerate(ds.customer_ids)}
        self._raw_events.sort(key=lambda e: (e[0], e[1]), reverse=True)
        ds.events = [e for _, _, e in self._raw_events]
        # Each FC object's latest event (by created, then id: the list is newest first).
        latest: dict[str, str] = {}
        for _, eid, _evt in self._raw_events:
            if eid not in self._labels:
                ds.events_skipped += 1
                continue
            object_id, label, shown, preview = self._labels[eid]
            if object_id in latest:
                continue
            if label is None:
                own = ds.expected_category.get(object_id)
                label = own if own is not None else ds.expected_authorization_category[object_id]
            if not preview and shown == "inactive" and object_id in ds.account_specs:
                label = INACTIVE_UNKNOWN  # a GA version hides status_details.inactive
            latest[object_id] = label
        ds.expected_event_category = latest


def build_dataset(
    seed: int,
    customers: int,
    now: datetime,
    *,
    scenario: str = DEMO,
    fc_share: float | None = None,
    connected_customers: int = DEFAULT_CONNECTED_CUSTOMERS,
    platform: bool = True,
) -> Dataset:
    """Generate the data set for ``seed`` and ``customers`` relative to ``now`` (UTC if naive).

    ``scenario`` picks the names: ``"demo"`` (believable) or ``"adversarial"`` (hostile text on
    customer 2 and in about 2% of random accounts); ids, statuses and the truth are the same.
    ``fc_share`` (0 to 1) is the share of random customers with FC accounts (default: about
    90%). ``connected_customers`` sizes each connected account's own data set; ``platform``
    False builds one (it has no connected accounts of its own).
    """
    if customers < 0:
        raise ValueError("customers must not be negative")
    if scenario not in NAME_SCENARIOS:
        raise ValueError(f"scenario must be one of {', '.join(NAME_SCENARIOS)}, not {scenario!r}")
    if fc_share is not None and not 0.0 <= fc_share <= 1.0:
        raise ValueError("fc_share must be between 0 and 1")
    if connected_customers < 0:
        raise ValueError("connected_customers must not be negative")
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    ds = Dataset(
        seed, now, scenario=scenario, fc_share=fc_share, connected_customers=connected_customers
    )
    b = _Builder(ds)
    span_days = 4 * 365.0
    for index in range(customers):
        rng = random.Random(f"{seed}:customer:{index}")
        # Creation dates are drawn per customer (not from the index or the total), so a
        # customer's data is the same whatever --customers is. The scripted ones are old enough
        # for year-old Bank of America links.
        age_days = rng.uniform(800 if index < 4 else 2, span_days)
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        name = f"{first} {last}"
        if index == 2 and b.adversarial:
            name = HOSTILE_CUSTOMER_NAME
        cus = CustomerSpec(
            id=b.rid(rng, "cus_"),
            created=int(ds.now_ts - age_days * DAY),
            name=name,
            email=f"{first.lower()}.{last.lower()}.{index}@example.com",
        )
        ds.customer_specs[cus.id] = cus
        ds.customer_ids.append(cus.id)
        if index == 0:
            plans = _showcase_plans()
        elif index == 1:
            plans = []
            remaining = BIG_CUSTOMER_ACCOUNTS
            for plan in b.random_plans(rng, BIG_CUSTOMER_ACCOUNTS, age_days):
                n = min(plan.n_accounts, remaining)
                plans.append(_Plan(plan.scenario, plan.institution, n, session=plan.session))
                remaining -= n
                if not remaining:
                    break
        elif index == 2:
            plans = _odd_name_plans(scenario)
        elif index == 3:
            plans = _rule_and_history_plans()
        else:
            n_auths = rng.choices((0, 1, 2, 3), (10, 40, 35, 15))[0]
            if fc_share is not None:
                # A draw of the customer's own: its links, when it has any, are the same
                # whatever the share.
                linked = _unit(f"{seed}:fc:{index}") < fc_share
                n_auths = max(1, n_auths) if linked else 0
            plans = b.random_plans(rng, n_auths, age_days) if n_auths else []
        b.holder(rng, "customer", cus.id, age_days, plans)
        # The account-wide event list has other objects' events too: a new customer's (only
        # those inside the event window exist; the others cost nothing).
        if cus.created > b.window_start:
            own = random.Random(f"{seed}:{cus.id}")
            b.other_event(own, "customer.created", cus.created, render_customer(cus))

    n_holders = max(2, customers // 60) if customers else 0
    for index in range(n_holders):
        rng = random.Random(f"{seed}:account:{index}")
        acct = b.rid(rng, "acct_", 16)
        ds.holder_account_ids.append(acct)
        age_days = rng.uniform(400, 1400)
        if index == 0:
            plans = [
                _Plan("healthy", _CHASE, 2, ("active_plain", "closed")),
                _Plan("relink", _WELLS, 2, cause="institution_requirement", session=True),
            ]
        else:
            plans = b.random_plans(rng, rng.choice((1, 2, 3)), age_days)
        b.holder(rng, "account", acct, age_days, plans)
        if platform:
            # A connected account of the platform too, drawn from its own RNG so the data
            # above stays what it was.
            own = random.Random(f"{seed}:connected:{acct}")
            created = int(ds.now_ts - own.uniform(age_days, age_days + 400) * DAY)
            name = f"{own.choice(_LAST)} {own.choice(('LLC', 'Inc.', 'Co.', 'GmbH', 'Ltd'))}"
            ds.connected_specs[acct] = ConnectedSpec(acct, created, name)

    # Accounts-v2 customers: an Account (acct_...) that is the customer; not in /v1/customers.
    # The first holds the scripted v2 links, the second has none, the others are random.
    n_v2 = max(2, customers // 100) if customers else 0
    for index in range(n_v2):
        rng = random.Random(f"{seed}:customer_account:{index}")
        acct = b.rid(rng, "acct_", 16)
        ds.customer_account_ids.append(acct)
        age_days = rng.uniform(600, 1400)
        if index == 0:
            plans = _customer_account_plans()
        elif index == 1:
            plans = []
        else:
            plans = b.random_plans(rng, rng.choice((1, 2, 3)), age_days)
        b.holder(rng, CUSTOMER_ACCOUNT, acct, age_days, plans)
    b.finish()
    ds.connected_ids = sorted(
        ds.connected_specs, key=lambda a: (ds.connected_specs[a].created, a), reverse=True
    )
    ds.connected_position = {a: i for i, a in enumerate(ds.connected_ids)}
    return ds


# ---------------------------------------------------------------------------------------------
# Webhook deliveries: which events a webhook endpoint has not acknowledged

# An event with pending_webhooks > 0 at least this long before ``now`` counts as undelivered
# in the truth: fcaudit events' default --grace (Stripe retries for up to three days, so a
# younger one may still arrive: https://docs.stripe.com/webhooks/process-undelivered-events).
UNDELIVERED_AFTER_SECONDS: Final = 3600
FC_OBJECT_TYPES: Final = frozenset(
    {"financial_connections.account", "financial_connections.authorization"}
)


def delivery_truth(ds: Dataset) -> dict[str, Any]:
    """The events about FC accounts and authorizations (the ones ``fcaudit events`` lists)
    that a webhook endpoint has not acknowledged, among those the API still lists (the last
    30 days): ``pending_webhooks`` {event id: count > 0}, and ``undelivered``, the sorted ids
    of those at least :data:`UNDELIVERED_AFTER_SECONDS` old at ``now``."""
    retained_after = ds.now_ts - EVENT_RETENTION_DAYS * DAY
    pending: dict[str, int] = {}
    undelivered: list[str] = []
    for event in ds.events:
        count = event.get("pending_webhooks")
        created = int(event["created"])
        if not (isinstance(count, int) and count > 0) or created <= retained_after:
            continue
        if event["data"]["object"].get("object") not in FC_OBJECT_TYPES:
            continue
        pending[str(event["id"])] = count
        if created <= ds.now_ts - UNDELIVERED_AFTER_SECONDS:
            undelivered.append(str(event["id"]))
    return {"pending_webhooks": pending, "undelivered": sorted(undelivered)}


# ---------------------------------------------------------------------------------------------
# Changes between two runs (POST /__sandbox/control, fcaudit/sandbox/control.py)
#
# Each operation changes accounts whose truth is plain enough that the new truth is known by
# design: accounts of v1 customers (what a default scan covers), away from Bank of America
# (whose rules would predict dates), with no signals, every account number transactable and
# undated, and no failed refresh. Every change appends the event Stripe would send.

# Most urgent first: the order of the README's Categories table, which `change` follows.
URGENCY: Final = (
    RELINK_REQUIRED,
    INACTIVE_UNREPAIRABLE,
    INACTIVE_UNKNOWN,
    ACCOUNT_NUMBER_UNUSABLE,
    EXPIRING,
    DISCONNECTED,
    UNKNOWN,
    ACTIVE,
)


@dataclass(frozen=True, slots=True)
class Operation:
    """One kind of change: the accounts it may pick (their truth category, status and
    ``expected_deactivation_source``), what it makes of them, and the event it sends
    (``financial_connections.account.<event>``). ``details`` None: the operation computes it."""

    name: str
    event: str
    picks: tuple[str, ...]
    from_status: str
    from_source: str | None
    status: str
    details: dict[str, Any] | None
    category: str


OPERATIONS: Final[tuple[Operation, ...]] = (
    Operation(
        "deactivate",
        "deactivated",
        (ACTIVE,),
        "active",
        None,
        "inactive",
        _inactive(RELINK, "access_expired"),
        RELINK_REQUIRED,
    ),
    Operation(
        "disconnect", "disconnected", (ACTIVE,), "active", None, "disconnected", {}, DISCONNECTED
    ),
    Operation(
        "reactivate",
        "reactivated",
        (RELINK_REQUIRED, INACTIVE_UNREPAIRABLE, INACTIVE_UNKNOWN),
        "inactive",
        None,
        "active",
        {},
        ACTIVE,
    ),
    # The expected deactivation date moves to tomorrow noon: still expiring, but sooner.
    Operation(
        "move_expected_dates",
        "expected_deactivation_date_updated",
        (EXPIRING,),
        "active",
        STRIPE,
        "active",
        None,
        EXPIRING,
    ),
)
OPERATION_BY_NAME: Final = {op.name: op for op in OPERATIONS}
LINK_NEW: Final = "link_new"  # a new authorization with one active account at a customer
CONTROL_OPERATIONS: Final = (*OPERATION_BY_NAME, LINK_NEW)


@dataclass(frozen=True, slots=True)
class Changed:
    """One account a control request changed, and what a comparison with the previous state
    must say: ``change`` new (absent, or active before) / worse / same / better, and
    ``resolved`` (it needed attention before and is active now)."""

    id: str
    operation: str
    holder: str
    before: str | None
    after: str
    change: str
    resolved: bool
    event: str

    def to_record(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "financial_connections.account",
            "operation": self.operation,
            "holder": self.holder,
            "before": self.before,
            "after": self.after,
            "change": self.change,
            "resolved": self.resolved,
            "event": self.event,
        }


def expected_change(
    before: str | None, after: str, before_deadline: int | None, after_deadline: int | None
) -> str:
    """new / worse / same / better, by the README's definition of `change`: new when absent
    before or active then (still active: same); worse / better by urgency, and for the same
    category by the deadline's UTC date (one appearing: worse; one going: better)."""
    if before is None:
        return "new"
    if before == ACTIVE:
        return "same" if after == ACTIVE else "new"
    b, a = URGENCY.index(before), URGENCY.index(after)
    if a != b:
        return "worse" if a < b else "better"
    if before_deadline is None or after_deadline is None:
        if before_deadline is None and after_deadline is None:
            return "same"
        return "worse" if after_deadline is not None else "better"
    old_day, new_day = before_deadline // DAY, after_deadline // DAY
    if old_day == new_day:
        return "same"
    return "worse" if new_day < old_day else "better"


def _deadline(spec: AccountSpec) -> int | None:
    active = spec.details.get("active") if isinstance(spec.details, dict) else None
    when = active.get("expected_deactivation_date") if isinstance(active, dict) else None
    return when if isinstance(when, int) and not isinstance(when, bool) else None


def _plain(ds: Dataset, spec: AccountSpec) -> bool:
    """An account whose truth after a change is known by design (see the section comment)."""
    return (
        spec.holder_type == "customer"
        and normalise_institution(_INST_NAMES[spec.institution]) not in BOA_RULE_NAMES
        and not ds.expected_signals.get(spec.id)
        and all(
            n.get("status") == TRANSACTABLE and n.get("expected_expiry_date") is None
            for n in spec.numbers
        )
        and all(r.get("status") != "failed" for r in spec.refresh.values() if r)
    )


def candidates(ds: Dataset, op: Operation) -> list[str]:
    """The accounts ``op`` may change now, sorted by id."""
    ids = []
    for account_id in sorted(ds.account_specs):
        spec = ds.account_specs[account_id]
        if (
            ds.expected_category.get(account_id) in op.picks
            and spec.status == op.from_status
            and ds.expected_source.get(account_id) == op.from_source
            and _plain(ds, spec)
        ):
            if op.details is None and (_deadline(spec) or 0) < _noon(ds, 2):
                continue  # a date must be able to move earlier and stay in the future
            ids.append(account_id)
    return ids


def _noon(ds: Dataset, days: int) -> int:
    midnight = datetime.combine(ds.now.astimezone(UTC).date(), datetime.min.time(), UTC)
    return int(midnight.timestamp()) + DAY // 2 + days * DAY


class _Changes:
    """One control request's changes: ids, events and truth, applied to the data set."""

    def __init__(self, ds: Dataset, rng: random.Random, start: int, pending: int | None) -> None:
        self.ds = ds
        self.rng = rng
        self.at = start  # each event one second after the previous one
        self.pending = pending
        self.events: list[dict[str, Any]] = []
        self.changed: list[Changed] = []
        self._taken: set[str] = set(ds.account_specs) | set(ds.authorization_specs)

    def rid(self, prefix: str, n: int) -> str:
        while True:
            new = prefix + "".join(self.rng.choices(_ALNUM, k=n))
            if new not in self._taken:
                self._taken.add(new)
                return new

    def event(
        self, etype: str, obj: dict[str, Any], previous: dict[str, Any] | None
    ) -> dict[str, Any]:
        data: dict[str, Any] = {"object": obj}
        if previous is not None:
            data["previous_attributes"] = previous
        pending = self.pending if self.pending is not None else self.rng.choice((0, 0, 1))
        evt = {
            "id": self.rid("evt_", 24),
            "object": "event",
            "api_version": PREVIEW_VERSION,  # changes are shown with status_details.inactive
            "created": self.at,
            "data": data,
            "livemode": False,
            "pending_webhooks": pending,
            "request": {"id": None, "idempotency_key": None},
            "type": etype,
        }
        self.at += 1
        self.events.append(evt)
        return evt

    def apply(self, op: Operation, account_id: str) -> None:
        ds = self.ds
        spec = ds.account_specs[account_id]
        before, before_deadline = ds.expected_category[account_id], _deadline(spec)
        previous: dict[str, Any] = {"status": spec.status}
        if op.details is None:  # move_expected_dates
            details = _clone(spec.details)
            details["active"]["expected_deactivation_date"] = _noon(ds, 1)
            previous = {"status_details": _clone(spec.details)}
        else:
            details = _clone(op.details)
        spec.status, spec.details = op.status, details
        self._record(op.name, spec, before, op.category, before_deadline)
        payload = render_account(spec)
        evt = self.event(f"financial_connections.account.{op.event}", payload, previous)
        self.changed[-1] = dataclasses.replace(self.changed[-1], event=str(evt["id"]))

    def link(self) -> None:
        ds = self.ds
        rng = self.rng
        holder = ds.customer_ids[rng.randrange(len(ds.customer_ids))]
        inst = rng.choice([i for i in range(_N_WEIGHTED) if i != _BOA])
        kind = rng.choices(range(len(_KINDS)), _KIND_WEIGHTS)[0]
        auth = AuthorizationSpec(
            id=self.rid("fcauth_", 24),
            holder_type="customer",
            holder_id=holder,
            institution=inst,
            status="active",
            details={},
            design="control_link_new",
        )
        spec = AccountSpec(
            id=self.rid("fca_", 24),
            created=self.at,
            holder_type="customer",
            holder_id=holder,
            authorization=auth.id,
            institution=inst,
            session=None,
            display_name=rng.choice(_KINDS[kind][0]),
            last4=f"{rng.randrange(10_000):04d}",
            kind=kind,
            status="active",
            details={},
            design="control_link_new",
        )
        if "payment_method" in _KINDS[kind][3]:
            spec.numbers = (
                {
                    "expected_expiry_date": None,
                    "identifier_type": ACN,
                    "status": TRANSACTABLE,
                    "supported_networks": ["ach"],
                },
            )
        auth.account_ids.append(spec.id)
        ds.authorization_specs[auth.id] = auth
        ds.expected_authorization_category[auth.id] = ACTIVE
        ds.expected_signals[auth.id] = ()
        ds.expected_source[auth.id] = None
        ds.authorization_ids = sorted(ds.authorization_specs)
        ds.account_specs[spec.id] = spec

        def newest_first(ids: list[str]) -> list[str]:
            return sorted(ids, key=lambda a: (ds.account_specs[a].created, a), reverse=True)

        # New lists swapped in whole: a listing in flight sees the old one or the new one.
        ds._by_holder[holder] = newest_first([*ds._by_holder.get(holder, ()), spec.id])
        ids = newest_first([*ds.account_ids, spec.id])
        ds.account_position = {a: i for i, a in enumerate(ids)}
        ds.account_ids = ids
        self._record(LINK_NEW, spec, None, ACTIVE, None)
        evt = self.event("financial_connections.account.created", render_account(spec), None)
        self.changed[-1] = dataclasses.replace(self.changed[-1], event=str(evt["id"]))

    def _record(
        self, name: str, spec: AccountSpec, before: str | None, after: str, deadline: int | None
    ) -> None:
        ds = self.ds
        ds.expected_category[spec.id] = after
        ds.expected_signals[spec.id] = ()
        ds.expected_source[spec.id] = STRIPE if _deadline(spec) is not None else None
        ds.expected_event_category[spec.id] = after  # its newest event shows it as it is now
        self.changed.append(
            Changed(
                spec.id,
                name,
                spec.holder_id,
                before,
                after,
                expected_change(before, after, deadline, _deadline(spec)),
                resolved=before is not None and before != ACTIVE and after == ACTIVE,
                event="",
            )
        )


def apply_changes(
    ds: Dataset,
    counts: Mapping[str, int],
    *,
    seed: int = 0,
    ago: int = 0,
    pending_webhooks: int | None = None,
) -> tuple[list[Changed], list[dict[str, Any]]]:
    """Change ``counts[name]`` accounts per operation (:data:`CONTROL_OPERATIONS`), chosen
    deterministically from ``seed`` and the data set's state; append the events (newest
    first in ``ds.events``) and update the truth. Returns the changes and the new events.

    The events are created ``ago`` seconds before ``now`` (never before the newest event:
    they come after the history), one second apart; ``pending_webhooks`` None draws each
    event's count as the generated history does (a third are pending).

    Raises ``ValueError`` (nothing changed) when an operation has fewer accounts it may
    change than asked for.
    """
    unknown = set(counts) - set(CONTROL_OPERATIONS)
    if unknown:
        raise ValueError(f"unknown operation {sorted(unknown)[0]!r}")
    rng = random.Random(f"{ds.seed}:control:{seed}:{len(ds.events)}")
    picked: dict[str, list[str]] = {}
    taken: set[str] = set()
    for op in OPERATIONS:
        wanted = counts.get(op.name, 0)
        if not wanted:
            continue
        pool = [a for a in candidates(ds, op) if a not in taken]
        if len(pool) < wanted:
            raise ValueError(f"{op.name}: {wanted} accounts asked for, {len(pool)} can be changed")
        picked[op.name] = sorted(rng.sample(pool, wanted))
        taken.update(picked[op.name])
    if counts.get(LINK_NEW) and not ds.customer_ids:
        raise ValueError(f"{LINK_NEW}: the data set has no customers")
    newest = int(ds.events[0]["created"]) if ds.events else ds.now_ts - ago - 1  # newest first
    changes = _Changes(ds, rng, max(newest + 1, ds.now_ts - ago), pending_webhooks)
    for op in OPERATIONS:
        for account_id in picked.get(op.name, ()):
            changes.apply(op, account_id)
    for _ in range(counts.get(LINK_NEW, 0)):
        changes.link()
    new = sorted(changes.events, key=lambda e: (e["created"], e["id"]), reverse=True)
    ds.events = [*new, *ds.events]
    return changes.changed, changes.events
