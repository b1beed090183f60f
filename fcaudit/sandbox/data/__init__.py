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

Modules, one job each (import the names below from the package):

* :mod:`~fcaudit.sandbox.data.constants`: categories, signal codes, sources, shared constants;
* :mod:`~fcaudit.sandbox.data.names`: institutions, account kinds, display and odd names;
* :mod:`~fcaudit.sandbox.data.designs`: the design record types and the pieces they share;
* :mod:`~fcaudit.sandbox.data.scenarios`: the authorization-level designs;
* :mod:`~fcaudit.sandbox.data.variants`: the account-level designs;
* :mod:`~fcaudit.sandbox.data.boa_rules`: Bank of America's rules and their boundary links;
* :mod:`~fcaudit.sandbox.data.histories`: the scripted event histories;
* :mod:`~fcaudit.sandbox.data.plans`: which authorizations each scripted holder gets;
* :mod:`~fcaudit.sandbox.data.records`: the compact records a data set keeps;
* :mod:`~fcaudit.sandbox.data.rendering`: the records as the API's JSON;
* :mod:`~fcaudit.sandbox.data.builder`: generation, and
  :mod:`~fcaudit.sandbox.data.recorder`: its bookkeeping, indexes and event truth;
* :mod:`~fcaudit.sandbox.data.dataset`: :class:`Dataset` and :func:`build_dataset`;
* :mod:`~fcaudit.sandbox.data.deliveries`: the webhook-delivery truth;
* :mod:`~fcaudit.sandbox.data.changes`: the control endpoint's changes between two runs.
"""

from __future__ import annotations

from fcaudit.sandbox.data.boa_rules import (
    BOA_LINK_BY_NAME,
    BOA_LINKS,
    boa_rule_truth,
    normalise_institution,
)
from fcaudit.sandbox.data.changes import (
    CONTROL_OPERATIONS,
    OPERATIONS,
    URGENCY,
    apply_changes,
    candidates,
    expected_change,
)
from fcaudit.sandbox.data.constants import (
    CATEGORIES,
    DAY,
    DEFAULT_CONNECTED_CUSTOMERS,
    DEMO,
    NAME_SCENARIOS,
    SIGNALS,
    UNKNOWN_ACTION,
    UNKNOWN_CAUSE,
    UNKNOWN_STATUS,
)
from fcaudit.sandbox.data.dataset import Dataset, build_dataset, connected_seed
from fcaudit.sandbox.data.deliveries import delivery_truth
from fcaudit.sandbox.data.histories import HISTORIES, HISTORY_BY_NAME
from fcaudit.sandbox.data.names import (
    HOSTILE_CUSTOMER_NAME,
    HOSTILE_DISPLAY_NAMES,
    HOSTILE_INSTITUTIONS,
)
from fcaudit.sandbox.data.rendering import render_account, render_connected_account, render_customer
from fcaudit.sandbox.data.scenarios import SCENARIO_BY_NAME, SCENARIOS
from fcaudit.sandbox.data.variants import ACCOUNT_VARIANTS, VARIANT_BY_NAME

__all__ = [
    "ACCOUNT_VARIANTS",
    "BOA_LINKS",
    "BOA_LINK_BY_NAME",
    "CATEGORIES",
    "CONTROL_OPERATIONS",
    "DAY",
    "DEFAULT_CONNECTED_CUSTOMERS",
    "DEMO",
    "HISTORIES",
    "HISTORY_BY_NAME",
    "HOSTILE_CUSTOMER_NAME",
    "HOSTILE_DISPLAY_NAMES",
    "HOSTILE_INSTITUTIONS",
    "NAME_SCENARIOS",
    "OPERATIONS",
    "SCENARIOS",
    "SCENARIO_BY_NAME",
    "SIGNALS",
    "UNKNOWN_ACTION",
    "UNKNOWN_CAUSE",
    "UNKNOWN_STATUS",
    "URGENCY",
    "VARIANT_BY_NAME",
    "Dataset",
    "apply_changes",
    "boa_rule_truth",
    "build_dataset",
    "candidates",
    "connected_seed",
    "delivery_truth",
    "expected_change",
    "normalise_institution",
    "render_account",
    "render_connected_account",
    "render_customer",
]
