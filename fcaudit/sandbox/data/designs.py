"""What a design is: the record types of the design tables (:class:`Scenario` for an
authorization, :class:`AccountVariant` for an account under an active one) and the pieces the
tables share: actions, account-number types and designs, ``status_details`` shapes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Literal

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


ABSENT: Final = "absent"  # AccountVariant.details: no status_details key at all


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


def inactive_details(action: str, cause: str) -> dict[str, Any]:
    return {"inactive": {"action": action, "cause": cause}}


# A NaN read from JSON; one object, so data sets built twice still compare equal.
NAN: Final = float("nan")


def active_date(value: Any) -> dict[str, Any]:
    """``status_details`` whose active date is ``value`` as given (a shape fcaudit can't read)."""
    return {
        "active": {
            "action": RELINK,
            "cause": "access_expired",
            "expected_deactivation_date": value,
        }
    }
