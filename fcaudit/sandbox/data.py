"""The sandbox's deterministic data set and its ground truth.

Every object is generated from an *intended scenario* (a "design"), and the category recorded as
ground truth is the scenario's category, not the result of classifying the generated JSON. The
truth holds at ``now`` with a 30-day horizon, as seen through a preview API version.

The scenarios are declared in two tables that the builder reads: :data:`SCENARIOS`
(authorization-level: the authorization's status and ``status_details`` shape, the causes and
actions its accounts get, the date range of an upcoming deactivation, the truth category and the
weight in random data) and :data:`ACCOUNT_VARIANTS` (account-level designs under an active
authorization). A new case is a new row, not a new branch.

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
``expiring``
    ``status: active`` with ``status_details.active.expected_deactivation_date`` 2-25 days after
    ``now``, or (a few) already 1-3 days past while the status is still ``active``. The date
    decides: unknown future values of ``cause``/``action`` do not change the category.
``active``
    ``status: active`` with no upcoming deactivation, or one at least 45 days after ``now``.
``unknown``
    a ``status`` value outside active/inactive/disconnected (``suspended_future_value``).

Authorizations use the same categories from their own ``status``/``status_details`` (they have
no ``cause``). An inactive authorization with action ``relink_required`` makes all of its accounts
``relink_required``; accounts of an active authorization may individually be closed,
unavailable, disconnected or odd.

Layout (by generation index; API order is by creation date, newest first):

* customer 0 holds a showcase of every scenario, cause and action;
* customer 1 is the only customer with more than 100 accounts (130);
* customer 2 holds the odd names: two accounts at each of nine institutions (cycling through the
  scenario's odd institutions) and a relink group of three, each account with the next odd
  display name;
* customer 3 has no accounts; the others are random (about 10% have none);
* connected accounts (``acct_…``, one per 60 customers, at least two) hold accounts too.

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
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, Literal

from fcaudit.stripe_api import DEFAULT_HORIZON_DAYS as HORIZON_DAYS
from fcaudit.stripe_api import PREVIEW_VERSION

GA_EVENT_VERSION: Final = "2026-07-29.dahlia"
EVENT_WINDOW_DAYS: Final = 30
BIG_CUSTOMER_ACCOUNTS: Final = 130

DAY: Final = 86_400
_ALNUM: Final = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

# Ground-truth category names.
RELINK_REQUIRED: Final = "relink_required"
INACTIVE_UNREPAIRABLE: Final = "inactive_unrepairable"
INACTIVE_UNKNOWN: Final = "inactive_unknown"
DISCONNECTED: Final = "disconnected"
EXPIRING: Final = "expiring"
ACTIVE: Final = "active"
UNKNOWN: Final = "unknown"
CATEGORIES: Final = (
    RELINK_REQUIRED,
    INACTIVE_UNREPAIRABLE,
    INACTIVE_UNKNOWN,
    DISCONNECTED,
    EXPIRING,
    ACTIVE,
    UNKNOWN,
)

UNKNOWN_STATUS: Final = "suspended_future_value"
UNKNOWN_CAUSE: Final = "bank_merger_future"
UNKNOWN_ACTION: Final = "contact_support_future"

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
# Share of random accounts whose names come from the scenario's odd names (unicode in the demo,
# hostile in the adversarial scenario). Drawn in every scenario, so draws stay aligned.
_ODD_NAME_SHARE: Final = 0.02

_FIRST: Final = ("Ada", "Grace", "Alan", "Zoë", "José", "Mia", "Noah", "Li", "Ana", "Omar", "Ivy")
_LAST: Final = ("Lovelace", "Hopper", "Turing", "Müller", "García", "Nguyen", "Okafor", "Kim")

# Institutions are addressed by index into one name table: the weighted ones, then the hostile
# ones (used by the adversarial scenario only).
_INST_NAMES: Final = tuple(name for name, _ in INSTITUTIONS) + HOSTILE_INSTITUTIONS
_INST_WEIGHTS: Final = tuple(w for _, w in INSTITUTIONS)
_N_WEIGHTED: Final = len(INSTITUTIONS)
_HOSTILE_INST: Final = tuple(range(_N_WEIGHTED, len(_INST_NAMES)))
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
)
SCENARIO_BY_NAME: Final = {s.name: s for s in SCENARIOS}
# A Bank of America scenario whose link is older than the holder falls back to this one.
_BOA_FALLBACK: Final = SCENARIO_BY_NAME["boa_far"]

_ABSENT: Final = "absent"  # AccountVariant.details: no status_details key at all


@dataclass(frozen=True, slots=True)
class AccountVariant:
    """One account-level design under an active authorization (a ``healthy`` scenario).

    ``details`` is the account's fixed ``status_details`` (``"absent"``: no key at all), unless
    ``days`` is set: then it is ``{"active": {action: none, cause, expected_deactivation_date}}``
    with the date that many days after ``now``. ``events`` are the account's own events.
    """

    name: str
    status: str
    details: dict[str, Any] | str
    category: str
    weight: float
    cause: str = "institution_requirement"
    days: tuple[float, float] | None = None
    events: tuple[str, ...] = ()


def _inactive(action: str, cause: str) -> dict[str, Any]:
    return {"inactive": {"action": action, "cause": cause}}


ACCOUNT_VARIANTS: Final[tuple[AccountVariant, ...]] = (
    AccountVariant("active_plain", "active", {}, ACTIVE, 60),
    AccountVariant("active_no_details", "active", _ABSENT, ACTIVE, 4),
    AccountVariant("active_null_active", "active", {"active": None}, ACTIVE, 2),
    AccountVariant("active_far", "active", {}, ACTIVE, 5, days=(45.0, 200.0)),
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
)
VARIANT_BY_NAME: Final = {v.name: v for v in ACCOUNT_VARIANTS}
_VARIANT_WEIGHTS: Final = tuple(v.weight for v in ACCOUNT_VARIANTS)
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
    return plans


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


def institution_id(name: str) -> str:
    """A stable ``fcinst_…`` id for an institution name (independent of the seed)."""
    digest = hashlib.sha256(name.encode()).digest()
    return "fcinst_" + "".join(_ALNUM[b % 62] for b in digest[:14])


_INST_IDS: Final = tuple(institution_id(n) for n in _INST_NAMES)


def _holder(holder_type: str, holder_id: str) -> dict[str, Any]:
    if holder_type == "customer":
        return {"type": "customer", "customer": holder_id}
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
        "account_numbers": [],
    }
    if preview:
        obj["authorization"] = spec.authorization
    obj.update(
        {
            "balance": None,
            "balance_refresh": None,
            "category": category,
            "created": spec.created,
            "display_name": spec.display_name,
        }
    )
    if preview:
        obj["inferred_balances_refresh"] = None
        obj["institution"] = _INST_IDS[spec.institution]
    obj.update(
        {
            "institution_name": _INST_NAMES[spec.institution],
            "last4": spec.last4,
            "livemode": False,
            "ownership": None,
            "ownership_refresh": None,
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
            "transaction_refresh": None,
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

    def __init__(self, seed: int, now: datetime, *, scenario: str = DEMO) -> None:
        self.seed = seed
        self.now = now
        self.scenario = scenario
        self.now_ts = int(now.timestamp())
        self.customer_specs: dict[str, CustomerSpec] = {}
        self.account_specs: dict[str, AccountSpec] = {}
        self.authorization_specs: dict[str, AuthorizationSpec] = {}
        self.customer_ids: list[str] = []
        self.account_ids: list[str] = []
        self.authorization_ids: list[str] = []
        self.session_ids: list[str] = []
        self.holder_account_ids: list[str] = []
        self.events: list[dict[str, Any]] = []
        self.expected_category: dict[str, str] = {}
        self.expected_authorization_category: dict[str, str] = {}
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

    def accounts_for_session(self, session_id: str) -> list[str]:
        """Ids of the accounts linked in session ``fcsess_…``, newest first."""
        return list(self._by_session.get(session_id, ()))

    def holder_accounts(self, holder_id: str) -> Sequence[str] | None:
        """The list served for an account_holder filter, or None when the holder doesn't exist."""
        if holder_id in self._by_holder:
            return self._by_holder[holder_id]
        if holder_id in self.customer_specs:
            return ()
        return None

    def session_accounts(self, session_id: str) -> Sequence[str] | None:
        return self._by_session.get(session_id)

    def account(self, account_id: str, *, preview: bool = True) -> dict[str, Any]:
        return render_account(self.account_specs[account_id], preview=preview)

    def authorization(self, authorization_id: str) -> dict[str, Any]:
        return render_authorization(self.authorization_specs[authorization_id])

    def design(self, object_id: str) -> str:
        """The scenario an account or authorization was generated from (for debugging)."""
        spec = self.account_specs.get(object_id) or self.authorization_specs[object_id]
        return spec.design

    def truth(self) -> dict[str, Any]:
        """The ``/__sandbox/truth`` document."""
        return {
            "now": self.now.isoformat(),
            "horizon_days": HORIZON_DAYS,
            "scenario": self.scenario,
            "accounts": dict(self.expected_category),
            "authorizations": dict(self.expected_authorization_category),
            "customers": len(self.customer_ids),
            # Accounts a scan of every customer must find (connected-account holders excluded).
            "customer_accounts": sum(len(self._by_holder.get(c, ())) for c in self.customer_ids),
        }


class _Builder:
    """Generates one holder's authorizations, accounts and events from that holder's RNG."""

    def __init__(self, ds: Dataset) -> None:
        self.ds = ds
        self.now = ds.now_ts
        self.window_start = self.now - EVENT_WINDOW_DAYS * DAY
        self.adversarial = ds.scenario == ADVERSARIAL
        self.odd_names = HOSTILE_DISPLAY_NAMES if self.adversarial else UNICODE_DISPLAY_NAMES
        self._ids: set[str] = set()
        self._raw_events: list[tuple[int, str, dict[str, Any]]] = []

    # -- helpers ---------------------------------------------------------------------------------
    def rid(self, rng: random.Random, prefix: str, n: int = 14) -> str:
        new = prefix + "".join(rng.choices(_ALNUM, k=n))
        if new in self._ids:  # pragma: no cover - 62**14 makes this practically impossible
            raise RuntimeError(f"duplicate generated id {new}")
        self._ids.add(new)
        return new

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
    ) -> None:
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
        data: dict[str, Any] = {"object": payload}
        if previous is not None:
            data["previous_attributes"] = previous
        evt = {
            "id": self.rid(rng, "evt_", 24),
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
        link_age = self._link_age(rng, sc, plan, max_age_days)
        created = int(now - link_age * DAY)
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
            category, acct_events = sc.category, events
            if sc.account_variants:
                name = plan.variants[i] if i < len(plan.variants) else None
                variant = (
                    VARIANT_BY_NAME[name]
                    if name
                    else rng.choices(ACCOUNT_VARIANTS, _VARIANT_WEIGHTS)[0]
                )
                category, acct_events = self._apply_variant(rng, spec, variant)
            auth.account_ids.append(spec.id)
            self.ds.account_specs[spec.id] = spec
            self.ds.expected_category[spec.id] = category
            self._account_events(rng, spec, acct_events, deactivated_at, expected)

        if "upcoming" in events and expected is not None:
            self.event(
                rng,
                "financial_connections.authorization.upcoming_deactivation",
                expected - 30 * DAY,
                auth,
            )

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
            spec.details = {
                "active": {
                    "action": NONE,
                    "cause": variant.cause,
                    "expected_deactivation_date": expected,
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


def build_dataset(seed: int, customers: int, now: datetime, *, scenario: str = DEMO) -> Dataset:
    """Generate the data set for ``seed`` and ``customers`` relative to ``now`` (UTC if naive).

    ``scenario`` picks the names: ``"demo"`` (believable) or ``"adversarial"`` (hostile text on
    customer 2 and in about 2% of random accounts); ids, statuses and the truth are the same.
    """
    if customers < 0:
        raise ValueError("customers must not be negative")
    if scenario not in NAME_SCENARIOS:
        raise ValueError(f"scenario must be one of {', '.join(NAME_SCENARIOS)}, not {scenario!r}")
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    ds = Dataset(seed, now, scenario=scenario)
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
            plans = []
        else:
            n_auths = rng.choices((0, 1, 2, 3), (10, 40, 35, 15))[0]
            plans = b.random_plans(rng, n_auths, age_days)
        b.holder(rng, "customer", cus.id, age_days, plans)

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
    b.finish()
    return ds
