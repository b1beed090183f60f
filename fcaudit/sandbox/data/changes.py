"""Changes between two runs (``POST /__sandbox/control``, :mod:`fcaudit.sandbox.control`).

Each operation changes accounts whose truth is plain enough that the new truth is known by
design: accounts of v1 customers (what a default scan covers), away from Bank of America (whose
rules would predict dates), with no signals, every account number transactable and undated, and
no failed refresh. Every change appends the event Stripe would send.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from fcaudit.sandbox.data.boa_rules import BOA_RULE_NAMES, normalise_institution
from fcaudit.sandbox.data.constants import (
    ACCOUNT_NUMBER_UNUSABLE,
    ACTIVE,
    ALNUM,
    DAY,
    DISCONNECTED,
    EXPIRING,
    INACTIVE_UNKNOWN,
    INACTIVE_UNREPAIRABLE,
    RELINK_REQUIRED,
    STRIPE,
    UNKNOWN,
)
from fcaudit.sandbox.data.designs import ACN, RELINK, TRANSACTABLE, inactive_details
from fcaudit.sandbox.data.names import BOA, INST_NAMES, KIND_WEIGHTS, KINDS, N_WEIGHTED
from fcaudit.sandbox.data.records import AccountSpec, AuthorizationSpec, clone
from fcaudit.sandbox.data.rendering import render_account
from fcaudit.stripe.facts import PREVIEW_VERSION

if TYPE_CHECKING:
    from fcaudit.sandbox.data.dataset import Dataset


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
        inactive_details(RELINK, "access_expired"),
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
        """The change as the control endpoint's answer lists it."""
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
    """An account whose truth after a change is known by design (see the module docstring)."""
    return (
        spec.holder_type == "customer"
        and normalise_institution(INST_NAMES[spec.institution]) not in BOA_RULE_NAMES
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
        """A new id (``prefix`` + ``n`` characters) no object or earlier change has."""
        while True:
            new = prefix + "".join(self.rng.choices(ALNUM, k=n))
            if new not in self._taken:
                self._taken.add(new)
                return new

    def event(
        self, etype: str, obj: dict[str, Any], previous: dict[str, Any] | None
    ) -> dict[str, Any]:
        """Record the event a change sends, one second after the previous one."""
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
        """Apply ``op`` to one account: its new state, its truth and its event."""
        ds = self.ds
        spec = ds.account_specs[account_id]
        before, before_deadline = ds.expected_category[account_id], _deadline(spec)
        previous: dict[str, Any] = {"status": spec.status}
        if op.details is None:  # move_expected_dates
            details = clone(spec.details)
            details["active"]["expected_deactivation_date"] = _noon(ds, 1)
            previous = {"status_details": clone(spec.details)}
        else:
            details = clone(op.details)
        spec.status, spec.details = op.status, details
        self._record(op.name, spec, before, op.category, before_deadline)
        payload = render_account(spec)
        evt = self.event(f"financial_connections.account.{op.event}", payload, previous)
        self.changed[-1] = dataclasses.replace(self.changed[-1], event=str(evt["id"]))

    def link(self) -> None:
        """``link_new``: a new authorization with one active account at a random customer."""
        ds = self.ds
        rng = self.rng
        holder = ds.customer_ids[rng.randrange(len(ds.customer_ids))]
        inst = rng.choice([i for i in range(N_WEIGHTED) if i != BOA])
        kind = rng.choices(range(len(KINDS)), KIND_WEIGHTS)[0]
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
            display_name=rng.choice(KINDS[kind][0]),
            last4=f"{rng.randrange(10_000):04d}",
            kind=kind,
            status="active",
            details={},
            design="control_link_new",
        )
        if "payment_method" in KINDS[kind][3]:
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
