"""The data set (:class:`Dataset`): its records, indexes in API list order, lookups and ground
truth, and :func:`build_dataset`, which generates one for a seed, a customer count and a clock."""

from __future__ import annotations

import hashlib
import random
import threading
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from fcaudit.sandbox.data.builder import Builder
from fcaudit.sandbox.data.constants import (
    BIG_CUSTOMER_ACCOUNTS,
    CUSTOMER_ACCOUNT,
    DAY,
    DEFAULT_CONNECTED_CUSTOMERS,
    DEMO,
    NAME_SCENARIOS,
)
from fcaudit.sandbox.data.deliveries import delivery_truth
from fcaudit.sandbox.data.names import CHASE, FIRST, HOSTILE_CUSTOMER_NAME, LAST, WELLS
from fcaudit.sandbox.data.plans import (
    Plan,
    customer_account_plans,
    odd_name_plans,
    rule_and_history_plans,
    showcase_plans,
)
from fcaudit.sandbox.data.records import (
    AccountSpec,
    AuthorizationSpec,
    ConnectedSpec,
    CustomerSpec,
    Rendered,
)
from fcaudit.sandbox.data.rendering import render_account, render_authorization, render_customer
from fcaudit.stripe.facts import DEFAULT_HORIZON_DAYS as HORIZON_DAYS


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
        self.customers: Mapping[str, dict[str, Any]] = Rendered(
            self.customer_specs, render_customer
        )
        self.accounts: Mapping[str, dict[str, Any]] = Rendered(self.account_specs, render_account)
        self.authorizations: Mapping[str, dict[str, Any]] = Rendered(
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
        """The list served for a session filter, or None when the session doesn't exist."""
        return self._by_session.get(session_id)

    def account(self, account_id: str, *, preview: bool = True) -> dict[str, Any]:
        """One account as the API shows it (``preview``: with the preview-only fields)."""
        return render_account(self.account_specs[account_id], preview=preview)

    def authorization(self, authorization_id: str) -> dict[str, Any]:
        """One authorization as the API (in a preview version) shows it."""
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
        """The ``/__sandbox/truth`` document (see the package docstring for its keys)."""
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
            # Financial Connections sessions and the accounts linked in each, newest first:
            # Stripe lists no sessions, so this is where `fcaudit scan --session` gets an id.
            "sessions": {s: list(self._by_session.get(s, ())) for s in self.session_ids},
            "connected_customers": self.connected_customers if self.connected_ids else 0,
            "fc_share": self.fc_share,
            "events": {
                "count": len(self.events),
                "skipped": self.events_skipped,
                "latest": dict(self.expected_event_category),
                **delivery_truth(self),
            },
        }


def _unit(key: str) -> float:
    """A uniform draw in [0, 1) fixed by ``key``: a Random's draw at a tenth of the cost of
    seeding one (it matters for 100,000 customers)."""
    digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def connected_seed(seed: int, account_id: str) -> int:
    """The seed of a connected account's own data set: from the platform's seed and its id."""
    return int.from_bytes(hashlib.sha256(f"{seed}:{account_id}".encode()).digest()[:6], "big")


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
    b = Builder(ds)
    span_days = 4 * 365.0
    for index in range(customers):
        rng = random.Random(f"{seed}:customer:{index}")
        # Creation dates are drawn per customer (not from the index or the total), so a
        # customer's data is the same whatever --customers is. The scripted ones are old enough
        # for year-old Bank of America links.
        age_days = rng.uniform(800 if index < 4 else 2, span_days)
        first, last = rng.choice(FIRST), rng.choice(LAST)
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
            plans = showcase_plans()
        elif index == 1:
            plans = []
            remaining = BIG_CUSTOMER_ACCOUNTS
            for plan in b.random_plans(rng, BIG_CUSTOMER_ACCOUNTS, age_days):
                n = min(plan.n_accounts, remaining)
                plans.append(Plan(plan.scenario, plan.institution, n, session=plan.session))
                remaining -= n
                if not remaining:
                    break
        elif index == 2:
            plans = odd_name_plans(scenario)
        elif index == 3:
            plans = rule_and_history_plans()
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
                Plan("healthy", CHASE, 2, ("active_plain", "closed")),
                Plan("relink", WELLS, 2, cause="institution_requirement", session=True),
            ]
        else:
            plans = b.random_plans(rng, rng.choice((1, 2, 3)), age_days)
        b.holder(rng, "account", acct, age_days, plans)
        if platform:
            # A connected account of the platform too, drawn from its own RNG so the data
            # above stays what it was.
            own = random.Random(f"{seed}:connected:{acct}")
            created = int(ds.now_ts - own.uniform(age_days, age_days + 400) * DAY)
            name = f"{own.choice(LAST)} {own.choice(('LLC', 'Inc.', 'Co.', 'GmbH', 'Ltd'))}"
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
            plans = customer_account_plans()
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
