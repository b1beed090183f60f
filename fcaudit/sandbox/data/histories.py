"""Event histories (:data:`HISTORIES`): accounts with several snapshots in the event window,
each step's event, and the category its snapshot has at ``now``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from fcaudit.sandbox.data.constants import ACTIVE, EXPIRING, RELINK_REQUIRED
from fcaudit.sandbox.data.designs import (
    PENDING,
    RELINK,
    TAN,
    TRANSACTABLE,
    NumberDesign,
    inactive_details,
)


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
                Snapshot("inactive", inactive_details(RELINK, "access_expired"), RELINK_REQUIRED),
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
