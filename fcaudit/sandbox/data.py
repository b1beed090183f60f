"""The sandbox's deterministic data set and its ground truth.

Every object is generated from an *intended scenario* (a "design"), and the category recorded as
ground truth is the scenario's category, not the result of classifying the generated JSON. The
truth holds at ``now`` with a 30-day horizon, as seen through a preview API version.

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
* customer 2 has unicode, rich-markup, HTML and terminal-escape names;
* customer 3 has no accounts; the others are random (about 10% have none);
* connected accounts (``acct_…``, one per 60 customers, at least two) hold accounts too.

Each holder is generated from its own RNG seeded by ``(seed, index)``, so a customer's data does
not depend on how many customers there are, and nothing is rendered to JSON until asked for.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

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

BANK_OF_AMERICA: Final = "Bank of America"
# (name, weight). The odd names are rare in random data and always present on customer 2.
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
    ("Crédit Agricole Épargne", 0.5),
    ("日本の銀行", 0.5),
    ("[bold red]FREE[/] Credit Union", 0.3),
    ("\x1b[31mRed\x1b[0m Savings Bank", 0.3),
    ("<script>alert('fc')</script> Bank", 0.3),
)
_INST_NAMES: Final = tuple(name for name, _ in INSTITUTIONS)
_INST_WEIGHTS: Final = tuple(w for _, w in INSTITUTIONS)
_BOA: Final = _INST_NAMES.index(BANK_OF_AMERICA)

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
        ("Savings", "High Yield Savings", "Compte Épargne 💶"),
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
ODD_DISPLAY_NAMES: Final = (
    "Compte Épargne 💶",
    "日本の銀行 普通預金",
    "[bold red]FREE[/]",
    "\x1b[31mred\x1b[0m",
    "<script>alert(1)</script>",
    "Zoë's Sävings ✓",
)

_FIRST: Final = ("Ada", "Grace", "Alan", "Zoë", "José", "Mia", "Noah", "Li", "Ana", "Omar", "Ivy")
_LAST: Final = ("Lovelace", "Hopper", "Turing", "Müller", "García", "Nguyen", "Okafor", "Kim")

# ---------------------------------------------------------------------------------------------
# Scenarios

# Account-level designs used under a healthy (active) authorization: (name, weight).
_HEALTHY_VARIANTS: Final[tuple[tuple[str, float], ...]] = (
    ("active_plain", 60),
    ("active_no_details", 4),
    ("active_null_active", 2),
    ("active_far", 5),
    ("reactivated", 3),
    ("closed", 5),
    ("unavailable", 3),
    ("inactive_unspecified_none", 1.5),
    ("disconnected_single", 3),
    ("inactive_missing", 1),
    ("inactive_empty", 1),
    ("inactive_null", 1),
    ("inactive_no_action", 0.6),
    ("inactive_unknown_action", 0.6),
    ("inactive_unknown_cause_none", 0.6),
    ("unknown_status", 1),
)
_HV_NAMES: Final = tuple(n for n, _ in _HEALTHY_VARIANTS)
_HV_WEIGHTS: Final = tuple(w for _, w in _HEALTHY_VARIANTS)

# Authorization-level scenarios for institutions other than Bank of America.
_SCENARIOS: Final[tuple[tuple[str, float], ...]] = (
    ("healthy", 58),
    ("expiring", 9),
    ("expiring_past", 0.5),
    ("expiring_unknown", 0.5),
    ("far_future", 5),
    ("relink", 12),
    ("relink_unknown_cause", 0.7),
    ("dead", 5),
    ("disconnected", 5),
    ("auth_unknown_action", 0.6),
    ("auth_empty", 0.6),
    ("auth_unknown_status", 0.5),
)
# Bank of America: authentication expires one year after linking (reference doc §10).
_BOA_SCENARIOS: Final[tuple[tuple[str, float], ...]] = (
    ("boa_far", 50),
    ("boa_expiring", 18),
    ("boa_expired", 22),
    ("disconnected", 5),
)
_RELINK_CAUSES: Final = (
    "access_expired",
    "institution_requirement",
    "access_denied",
    "unspecified",
)
_RELINK_CAUSE_WEIGHTS: Final = (35, 35, 20, 10)
_DEAD_CAUSES: Final = ("account_closed", "account_unavailable", "unspecified", "access_denied")
_ACTIVE_CAUSES: Final = ("access_expired", "institution_requirement", "unspecified")


@dataclass(frozen=True, slots=True)
class _Plan:
    """One authorization to generate: scenario, institution and its accounts."""

    scenario: str
    institution: int
    n_accounts: int
    variants: tuple[str, ...] = ()
    cause: str | None = None
    action: str | None = None
    odd_names: bool = False
    session: bool = False
    deactivated_days_ago: float | None = None


# Customer 0: every scenario, cause and action at least once.
def _showcase_plans() -> list[_Plan]:
    chase, wells, citi, cu = 1, 2, 4, 3
    plans = [
        _Plan("healthy", chase, 4, _HV_NAMES[0:4], session=True),
        _Plan("healthy", wells, 4, _HV_NAMES[4:8]),
        _Plan("healthy", citi, 4, _HV_NAMES[8:12]),
        _Plan("healthy", cu, 4, _HV_NAMES[12:16]),
    ]
    plans += [
        _Plan("expiring", chase, 2, cause=c, action="relink_required") for c in _ACTIVE_CAUSES
    ]
    plans += [
        _Plan("expiring", wells, 1, cause="institution_requirement", action="none"),
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


def _odd_name_plans() -> list[_Plan]:
    odd = range(_INST_NAMES.index("Crédit Agricole Épargne"), len(_INST_NAMES))
    plans = [_Plan("healthy", i, 1, ("active_plain",), odd_names=True) for i in odd]
    plans.append(_Plan("relink", 1, 3, cause="access_expired", odd_names=True))
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

    def __init__(self, seed: int, now: datetime) -> None:
        self.seed = seed
        self.now = now
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
            inst = rng.choices(range(len(_INST_NAMES)), _INST_WEIGHTS)[0]
            table = _BOA_SCENARIOS if inst == _BOA else _SCENARIOS
            scenario = rng.choices([s for s, _ in table], [w for _, w in table])[0]
            if scenario == "boa_expired" and max_age_days < 370:
                scenario = "boa_far"
            if scenario == "boa_expiring" and max_age_days < 345:
                scenario = "boa_far"
            n = rng.choices((1, 2, 3, 4), (40, 35, 15, 10))[0]
            plans.append(_Plan(scenario, inst, n, session=rng.random() < 0.3))
        return plans

    # -- one authorization and its accounts ------------------------------------------------------
    def group(
        self,
        rng: random.Random,
        holder_type: str,
        holder_id: str,
        max_age_days: float,
        plan: _Plan,
    ) -> None:
        now = self.now
        s = plan.scenario
        # When the accounts were linked.
        if s == "boa_expiring":
            link_age = 365 - rng.uniform(2, 25)
        elif s == "boa_expired":
            if plan.deactivated_days_ago is not None:
                link_age = 365 + plan.deactivated_days_ago
            else:
                link_age = 365 + (
                    rng.uniform(1, 29) if rng.random() < 0.4 else rng.uniform(31, 300)
                )
        elif s == "boa_far":
            link_age = rng.uniform(1, min(320, max(2, max_age_days)))
        else:
            link_age = rng.uniform(1, max(2, max_age_days))
        created = int(now - link_age * DAY)
        deactivated_ago = plan.deactivated_days_ago
        if deactivated_ago is None:
            deactivated_ago = rng.uniform(0.5, max(1.0, min(120.0, link_age - 0.5)))
        deactivated_at = now - deactivated_ago * DAY

        auth_status = "active"
        auth_details: dict[str, Any] = {}
        auth_cat = ACTIVE
        acct_status = "active"
        acct_details: dict[str, Any] | None = {}
        acct_cat = ACTIVE
        expected: int | None = None
        events: list[str] = []

        if s in ("expiring", "expiring_past", "expiring_unknown", "boa_expiring"):
            if s == "expiring_past":
                expected = int(now - rng.uniform(1, 3) * DAY)
            elif s == "boa_expiring":
                expected = created + 365 * DAY
            else:
                expected = int(now + rng.uniform(2, 25) * DAY)
            if s == "expiring_unknown":
                cause, action, auth_action = UNKNOWN_CAUSE, UNKNOWN_ACTION, UNKNOWN_ACTION
            elif s == "boa_expiring":
                cause, action, auth_action = "access_expired", "relink_required", "relink_required"
            else:
                cause = plan.cause or rng.choice(_ACTIVE_CAUSES)
                action = plan.action or rng.choice(("relink_required", "relink_required", "none"))
                auth_action = action
            auth_details = {
                "active": {"action": auth_action, "expected_deactivation_date": expected}
            }
            acct_details = {
                "active": {"action": action, "cause": cause, "expected_deactivation_date": expected}
            }
            auth_cat = acct_cat = EXPIRING
            events = ["upcoming"]
            if rng.random() < 0.3:
                events.append("date_updated")
        elif s in ("far_future", "boa_far"):
            if s == "boa_far":
                expected, cause = created + 365 * DAY, "access_expired"
            else:
                expected = int(now + rng.uniform(45, 300) * DAY)
                cause = plan.cause or rng.choice(("institution_requirement", "unspecified"))
            auth_details = {"active": {"action": "none", "expected_deactivation_date": expected}}
            acct_details = {
                "active": {"action": "none", "cause": cause, "expected_deactivation_date": expected}
            }
            if s == "far_future" and rng.random() < 0.3:
                events.append("date_updated")
        elif s in ("relink", "relink_unknown_cause", "boa_expired"):
            if s == "boa_expired":
                cause = "access_expired"
                deactivated_at = created + 365 * DAY
            elif s == "relink_unknown_cause":
                cause = UNKNOWN_CAUSE
            else:
                cause = plan.cause or rng.choices(_RELINK_CAUSES, _RELINK_CAUSE_WEIGHTS)[0]
            auth_status = acct_status = "inactive"
            auth_details = {"inactive": {"action": "relink_required"}}
            acct_details = {"inactive": {"action": "relink_required", "cause": cause}}
            auth_cat = acct_cat = RELINK_REQUIRED
            events = ["deactivated"]
        elif s == "dead":
            auth_status = acct_status = "inactive"
            auth_details = {"inactive": {"action": "none"}}
            acct_details = None  # per account below
            auth_cat = acct_cat = INACTIVE_UNREPAIRABLE
            events = ["deactivated"]
        elif s == "disconnected":
            auth_status = acct_status = "disconnected"
            auth_cat = acct_cat = DISCONNECTED
            events = ["disconnected"]
        elif s == "auth_unknown_action":
            auth_status = acct_status = "inactive"
            auth_details = {"inactive": {"action": UNKNOWN_ACTION}}
            acct_details = {"inactive": {"action": UNKNOWN_ACTION, "cause": UNKNOWN_CAUSE}}
            auth_cat = acct_cat = INACTIVE_UNKNOWN
            events = ["deactivated"]
        elif s == "auth_empty":
            auth_status = acct_status = "inactive"
            auth_cat = acct_cat = INACTIVE_UNKNOWN
            events = ["deactivated"]
        elif s == "auth_unknown_status":
            auth_status = acct_status = UNKNOWN_STATUS
            auth_cat = acct_cat = UNKNOWN
        elif s != "healthy":  # pragma: no cover - programming error
            raise ValueError(f"unknown scenario {s}")

        auth = AuthorizationSpec(
            id=self.rid(rng, "fcauth_", 24),
            holder_type=holder_type,
            holder_id=holder_id,
            institution=plan.institution,
            status=auth_status,
            details=auth_details,
            design=s,
        )
        self.ds.authorization_specs[auth.id] = auth
        self.ds.expected_authorization_category[auth.id] = auth_cat
        session = self.rid(rng, "fcsess_", 24) if plan.session else None
        if session is not None:
            self.ds.session_ids.append(session)

        for i in range(plan.n_accounts):
            kind = rng.choices(range(len(_KINDS)), _KIND_WEIGHTS)[0]
            if plan.odd_names:
                name = ODD_DISPLAY_NAMES[i % len(ODD_DISPLAY_NAMES)]
            elif rng.random() < 0.01:
                name = rng.choice(ODD_DISPLAY_NAMES)
            else:
                name = rng.choice(_KINDS[kind][0])
            spec = AccountSpec(
                id=self.rid(rng, "fca_", 24),
                created=created + i,  # linked in one flow, a second apart
                holder_type=holder_type,
                holder_id=holder_id,
                authorization=auth.id,
                institution=plan.institution,
                session=session,
                display_name=name,
                last4=f"{rng.randrange(10_000):04d}",
                kind=kind,
                status=acct_status,
                details=acct_details,
                design=s,
            )
            cat = acct_cat
            acct_events = list(events)
            if s == "dead":
                cause = plan.cause or rng.choice(_DEAD_CAUSES)
                spec.details = {"inactive": {"action": "none", "cause": cause}}
            elif s == "auth_empty":
                spec.details = rng.choice((None, {}))
            elif s == "healthy":
                variant = plan.variants[i] if i < len(plan.variants) else None
                variant = variant or rng.choices(_HV_NAMES, _HV_WEIGHTS)[0]
                cat, acct_events = self._apply_variant(rng, spec, variant)
            auth.account_ids.append(spec.id)
            self.ds.account_specs[spec.id] = spec
            self.ds.expected_category[spec.id] = cat
            self._account_events(rng, spec, acct_events, deactivated_at, expected)

        if "upcoming" in events and expected is not None:
            self.event(
                rng,
                "financial_connections.authorization.upcoming_deactivation",
                expected - 30 * DAY,
                auth,
            )

    def _apply_variant(
        self, rng: random.Random, spec: AccountSpec, variant: str
    ) -> tuple[str, list[str]]:
        """Account-level design under a healthy authorization: sets status/details, returns
        (category, events)."""
        spec.design = variant
        inactive = {
            "closed": ("account_closed", "none", INACTIVE_UNREPAIRABLE),
            "unavailable": ("account_unavailable", "none", INACTIVE_UNREPAIRABLE),
            "inactive_unspecified_none": ("unspecified", "none", INACTIVE_UNREPAIRABLE),
            "inactive_unknown_cause_none": (UNKNOWN_CAUSE, "none", INACTIVE_UNREPAIRABLE),
            "inactive_unknown_action": ("unspecified", UNKNOWN_ACTION, INACTIVE_UNKNOWN),
        }
        odd_inactive: dict[str, dict[str, Any] | None] = {
            "inactive_missing": None,
            "inactive_empty": {},
            "inactive_null": {"inactive": None},
            "inactive_no_action": {"inactive": {"cause": "unspecified"}},
        }
        if variant in inactive:
            cause, action, cat = inactive[variant]
            spec.status = "inactive"
            spec.details = {"inactive": {"action": action, "cause": cause}}
            return cat, ["deactivated"]
        if variant in odd_inactive:
            spec.status = "inactive"
            spec.details = odd_inactive[variant]
            return INACTIVE_UNKNOWN, ["deactivated"]
        if variant == "active_no_details":
            spec.details = None
        elif variant == "active_null_active":
            spec.details = {"active": None}
        elif variant == "active_far":
            expected = int(self.now + rng.uniform(45, 200) * DAY)
            spec.details = {
                "active": {
                    "action": "none",
                    "cause": "institution_requirement",
                    "expected_deactivation_date": expected,
                }
            }
        elif variant == "reactivated":
            return ACTIVE, ["reactivated"]
        elif variant == "disconnected_single":
            spec.status = "disconnected"
            return DISCONNECTED, ["disconnected"]
        elif variant == "unknown_status":
            spec.status = UNKNOWN_STATUS
            return UNKNOWN, []
        return ACTIVE, []

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
            if kind == "deactivated":
                self.event(
                    rng, prefix + "deactivated", deactivated_at, spec, previous={"status": "active"}
                )
            elif kind == "disconnected":
                self.event(
                    rng,
                    prefix + "disconnected",
                    deactivated_at,
                    spec,
                    previous={"status": "active"},
                )
            elif kind == "reactivated":
                down = self.now - rng.uniform(6, 28) * DAY
                up = down + rng.uniform(0.1, 5) * DAY
                cause = rng.choice(("access_expired", "institution_requirement"))
                snapshot = {"inactive": {"action": "relink_required", "cause": cause}}
                self.event(
                    rng,
                    prefix + "deactivated",
                    down,
                    spec,
                    status="inactive",
                    details=snapshot,
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


def build_dataset(seed: int, customers: int, now: datetime) -> Dataset:
    """Generate the data set for ``seed`` and ``customers`` relative to ``now`` (UTC if naive)."""
    if customers < 0:
        raise ValueError("customers must not be negative")
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    ds = Dataset(seed, now)
    b = _Builder(ds)
    span_days = 4 * 365.0
    for index in range(customers):
        rng = random.Random(f"{seed}:customer:{index}")
        # Creation dates are drawn per customer (not from the index or the total), so a
        # customer's data is the same whatever --customers is. The scripted ones are old enough
        # for year-old Bank of America links.
        age_days = rng.uniform(800 if index < 4 else 2, span_days)
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        cus = CustomerSpec(
            id=b.rid(rng, "cus_"),
            created=int(ds.now_ts - age_days * DAY),
            name=f"{first} {last}",
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
            plans = _odd_name_plans()
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
                _Plan("healthy", 1, 2, ("active_plain", "closed")),
                _Plan("relink", 2, 2, cause="institution_requirement", session=True),
            ]
        else:
            plans = b.random_plans(rng, rng.choice((1, 2, 3)), age_days)
        b.holder(rng, "account", acct, age_days, plans)
    b.finish()
    return ds
