"""Generation: one holder's authorizations, accounts and events, drawn from that holder's RNG
as its plans say (the bookkeeping is :class:`~fcaudit.sandbox.data.recorder.Recorder`'s)."""

from __future__ import annotations

import dataclasses
import random
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from fcaudit.sandbox.data.boa_rules import BOA_AUTH_YEAR_DAYS, boa_rule_truth
from fcaudit.sandbox.data.constants import ADVERSARIAL, DAY, RELINK_REQUIRED
from fcaudit.sandbox.data.designs import (
    ABSENT,
    ACN,
    NONE,
    RELINK,
    TAN,
    TRANSACTABLE,
    AccountVariant,
    NumberDesign,
    Scenario,
    inactive_details,
)
from fcaudit.sandbox.data.histories import History
from fcaudit.sandbox.data.names import (
    BOA,
    HOSTILE_DISPLAY_NAMES,
    HOSTILE_INST,
    INST_WEIGHTS,
    KIND_BY_SUB,
    KIND_WEIGHTS,
    KINDS,
    N_WEIGHTED,
    ODD_NAME_SHARE,
    UNICODE_DISPLAY_NAMES,
)
from fcaudit.sandbox.data.plans import (
    BOA_SCENARIOS,
    BOA_WEIGHTS,
    OTHER_SCENARIOS,
    OTHER_WEIGHTS,
    Plan,
)
from fcaudit.sandbox.data.recorder import Recorder
from fcaudit.sandbox.data.records import AccountSpec, AuthorizationSpec, clone
from fcaudit.sandbox.data.rendering import session_object
from fcaudit.sandbox.data.scenarios import BOA_FALLBACK, SCENARIO_BY_NAME
from fcaudit.sandbox.data.variants import ACCOUNT_VARIANTS, VARIANT_BY_NAME, VARIANT_WEIGHTS

if TYPE_CHECKING:
    from fcaudit.sandbox.data.dataset import Dataset


class Builder(Recorder):
    """Generates one holder's authorizations, accounts and events from that holder's RNG.

    What the #8 cases add to an account (account numbers, refreshes) is drawn from the
    account's own RNG, seeded by its id, so the holder's draws, and so every id, stay as they
    were before those fields existed.
    """

    def __init__(self, ds: Dataset) -> None:
        super().__init__(ds)
        self.adversarial = ds.scenario == ADVERSARIAL
        self.odd_names = HOSTILE_DISPLAY_NAMES if self.adversarial else UNICODE_DISPLAY_NAMES

    # -- holders ---------------------------------------------------------------------------------
    def holder(
        self,
        rng: random.Random,
        holder_type: str,
        holder_id: str,
        max_age_days: float,
        plans: list[Plan],
    ) -> None:
        """Generate one holder's authorizations, one per plan, from the holder's RNG."""
        for plan in plans:
            self.group(rng, holder_type, holder_id, max_age_days, plan)

    def random_plans(self, rng: random.Random, n_auths: int, max_age_days: float) -> list[Plan]:
        """``n_auths`` random authorizations for a holder ``max_age_days`` old: each one's
        institution, scenario (by weight) and number of accounts."""
        plans = []
        for _ in range(n_auths):
            inst = rng.choices(range(N_WEIGHTED), INST_WEIGHTS)[0]
            odd, pick = rng.random(), rng.random()  # drawn in every name scenario
            if inst == BOA:
                scenario = rng.choices(BOA_SCENARIOS, BOA_WEIGHTS)[0]
            else:
                scenario = rng.choices(OTHER_SCENARIOS, OTHER_WEIGHTS)[0]
                if self.adversarial and odd < ODD_NAME_SHARE:
                    inst = HOSTILE_INST[int(pick * len(HOSTILE_INST))]
            # A link older than the holder is impossible: a younger scenario instead.
            if scenario.link_days is not None and max_age_days < scenario.link_days[0] + 5:
                scenario = BOA_FALLBACK
            n = rng.choices((1, 2, 3, 4), (40, 35, 15, 10))[0]
            plans.append(Plan(scenario.name, inst, n, session=rng.random() < 0.3))
        return plans

    # -- one authorization and its accounts ------------------------------------------------------
    def _link_age(self, rng: random.Random, sc: Scenario, plan: Plan, max_age_days: float) -> float:
        """Days since the accounts were linked."""
        if sc.yearly and sc.status == "inactive" and plan.deactivated_days_ago is not None:
            return 365 + plan.deactivated_days_ago
        if sc.link_days is not None:
            lo, hi = sc.link_days
            return rng.uniform(lo, min(hi, max(lo + 1, max_age_days)))
        return rng.uniform(1, max(2, max_age_days))

    def _pinned_link(self, plan: Plan, max_age_days: float) -> int | None:
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
        plan: Plan,
    ) -> None:
        """Generate one authorization and its accounts as ``plan`` says: their records,
        their truth and their events."""
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
            kind = rng.choices(range(len(KINDS)), KIND_WEIGHTS)[0]
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
                    else rng.choices(ACCOUNT_VARIANTS, VARIANT_WEIGHTS)[0]
                )
                category, acct_events = self._apply_variant(rng, spec, variant)
                signals, source = variant.signals, variant.source
                if variant.kind is not None and spec.kind != KIND_BY_SUB[variant.kind]:
                    spec.kind = KIND_BY_SUB[variant.kind]
                    if not plan.odd_names:
                        spec.display_name = KINDS[spec.kind][0][0]
                spec.refresh = self._refresh(own, variant.refresh, spec.created)
            numbers = variant.numbers if variant is not None else None
            spec.numbers = self._numbers(
                own, self._default_numbers(spec) if numbers is None else numbers
            )
            if plan.boa is not None:
                spec.design = plan.boa.name
                spec.details = None if plan.boa.details == ABSENT else clone(plan.boa.details or {})
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
                session_object(session, holder_type, holder_id, auth.account_ids),
            )

    def _default_numbers(self, spec: AccountSpec) -> tuple[NumberDesign, ...]:
        """One transactable number without expiry on an account that can pay, else none."""
        if "payment_method" not in KINDS[spec.kind][3]:
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
            shown = dataclasses.replace(spec, status=snap.status, details=clone(snap.details))
            if snap.numbers is not None:
                shown.numbers = self._numbers(own, snap.numbers)
            if snap.refresh is not None:
                shown.refresh = self._refresh(own, snap.refresh, spec.created, at=ts)
            self.event(rng, prefix + step.event, ts, shown, label=snap.category, eid=eid)

    def _display_name(self, rng: random.Random, plan: Plan, kind: int, index: int) -> str:
        odd, pick = rng.random(), rng.random()  # drawn in every name scenario
        if plan.odd_names:
            return self.odd_names[(plan.name_offset + index) % len(self.odd_names)]
        names = self.odd_names if odd < ODD_NAME_SHARE else KINDS[kind][0]
        return names[int(pick * len(names))]

    @staticmethod
    def _account_details(
        rng: random.Random,
        sc: Scenario,
        plan: Plan,
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
        elif isinstance(variant.details, str):  # ABSENT
            spec.details = None
        else:
            spec.details = clone(variant.details)
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
                    details=inactive_details(RELINK, cause),
                    previous={"status": "active"},
                    label=RELINK_REQUIRED,
                )
                self.event(rng, prefix + "reactivated", up, spec, previous={"status": "inactive"})
            elif kind == "upcoming" and expected is not None:
                self.event(rng, prefix + "upcoming_deactivation", expected - 30 * DAY, spec)
            elif kind == "date_updated" and expected is not None:
                when = self.now - rng.uniform(0.2, 20) * DAY
                self.event(rng, prefix + "expected_deactivation_date_updated", when, spec)
