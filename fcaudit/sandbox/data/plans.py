"""Plans: the authorizations each scripted holder gets (the showcase, the odd names, the rule
boundaries and histories, the Accounts-v2 customer), and the scenario weights that random
holders' plans are drawn with."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from fcaudit.sandbox.data.boa_rules import BOA_LINK_BY_NAME, BOA_LINKS, BoaLink
from fcaudit.sandbox.data.constants import ADVERSARIAL
from fcaudit.sandbox.data.designs import NONE, RELINK
from fcaudit.sandbox.data.histories import HISTORIES, History
from fcaudit.sandbox.data.names import (
    BOA,
    CHASE,
    CITI,
    HOSTILE_INST,
    NAVY,
    UNICODE_INST,
    WELLS,
    institution_index,
)
from fcaudit.sandbox.data.scenarios import ACTIVE_CAUSES, DEAD_CAUSES, RELINK_CAUSES, SCENARIOS
from fcaudit.sandbox.data.variants import ACCOUNT_VARIANTS

OTHER_SCENARIOS: Final = tuple(s for s in SCENARIOS if s.weight)
OTHER_WEIGHTS: Final = tuple(s.weight for s in OTHER_SCENARIOS)
BOA_SCENARIOS: Final = tuple(s for s in SCENARIOS if s.boa_weight)
BOA_WEIGHTS: Final = tuple(s.boa_weight for s in BOA_SCENARIOS)


@dataclass(frozen=True, slots=True)
class Plan:
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
def showcase_plans() -> list[Plan]:
    chase, wells, citi, cu = CHASE, WELLS, CITI, NAVY
    variants = tuple(v.name for v in ACCOUNT_VARIANTS)
    plans = [
        Plan("healthy", chase, 4, variants[0:4], session=True),
        Plan("healthy", wells, 4, variants[4:8]),
        Plan("healthy", citi, 4, variants[8:12]),
        Plan("healthy", cu, 4, variants[12:16]),
    ]
    plans += [Plan("expiring", chase, 2, cause=c, action=RELINK) for c in ACTIVE_CAUSES]
    plans += [
        Plan("expiring", wells, 1, cause="institution_requirement", action=NONE),
        Plan("expiring_past", citi, 2),
        Plan("expiring_unknown", cu, 1),
        Plan("far_future", chase, 2),
    ]
    plans += [Plan("relink", wells, 2, cause=c, session=True) for c in RELINK_CAUSES]
    plans += [
        Plan("relink", chase, 1, cause="access_denied", deactivated_days_ago=3.5),
        Plan("relink_unknown_cause", citi, 1),
    ]
    plans += [Plan("dead", citi, 1, cause=c) for c in DEAD_CAUSES]
    plans += [
        Plan("disconnected", cu, 2, deactivated_days_ago=6.0),
        Plan("auth_unknown_action", chase, 1),
        Plan("auth_empty", wells, 1),
        Plan("auth_unknown_status", cu, 1),
        Plan("boa_far", BOA, 2),
        Plan("boa_expiring", BOA, 3, session=True),
        Plan("boa_expired", BOA, 1, deactivated_days_ago=9.0),
        Plan("boa_expired", BOA, 2, deactivated_days_ago=120.0),
    ]
    # Account numbers, refreshes and unreadable dates, four accounts to an authorization.
    for n, start in enumerate(range(16, len(variants), 4)):
        chunk = variants[start : start + 4]
        plans.append(Plan("healthy", (chase, wells, citi, cu)[n % 4], len(chunk), chunk))
    return plans


# Customer 3: Bank of America links on each side of each rule boundary, and event histories.
def rule_and_history_plans() -> list[Plan]:
    plans = [Plan("boa_undated", institution_index(b.institution), 1, boa=b) for b in BOA_LINKS]
    plans += [
        Plan(
            h.scenario,
            CHASE,
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
def customer_account_plans() -> list[Plan]:
    return [
        Plan("healthy", CHASE, 3, ("active_plain", "number_expiring", "refresh_balance_failed")),
        Plan("relink", WELLS, 1, cause="access_expired"),
        Plan("boa_undated", BOA, 1, boa=BOA_LINK_BY_NAME["boa_year_ends_in_30_days"]),
    ]


def odd_name_plans(scenario: str) -> list[Plan]:
    """Customer 2: one account at each odd-name institution, and a relink group of three.

    Both name scenarios make the same number of plans, so the random draws stay aligned.
    """
    pool = HOSTILE_INST if scenario == ADVERSARIAL else UNICODE_INST
    plain = ("active_plain", "active_plain")
    plans = [
        Plan("healthy", pool[i % len(pool)], 2, plain, odd_names=True, name_offset=2 * i)
        for i in range(len(HOSTILE_INST))
    ]
    offset = 2 * len(plans)
    plans.append(
        Plan("relink", CHASE, 3, cause="access_expired", odd_names=True, name_offset=offset)
    )
    return plans
