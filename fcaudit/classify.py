"""Pure classification: one account or authorization (a plain dict) in, one Finding out.

Nothing here reads the clock or does I/O; `now`, the horizon and the institution rules are
parameters. Stripe marks every enum involved as open (`x-stripeEnum kind: open`), so unknown
values never crash: they are passed through raw and the object lands in the closest safe
category. The order of the rules, first match wins:

1. `inactive`: relink_required / inactive_unrepairable / inactive_unknown, by
   status_details.inactive.action, with advice that follows the cause.
2. `disconnected`.
3. Account numbers present and none transactable or pending: account_number_unusable
   (the account may be active, but payments by it will fail).
4. A status fcaudit doesn't know: unknown.
5. `active`: expiring or active, by the earliest of Stripe's expected_deactivation_date, the
   expiry of the last transactable account number, and (only where Stripe gives no date)
   what an institution rule predicts; an unreadable Stripe date is unknown.

Signals (account numbers, failed refreshes, predictions) are collected for every object and
never change the category except as said above.
Sources: https://docs.stripe.com/financial-connections/inactive-accounts and the
financial_connections.account object in the 2026-09-30.preview OpenAPI spec.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from fcaudit.model.dashboard import dashboard_url
from fcaudit.model.findings import Category, Finding, Signal, SignalCode
from fcaudit.model.report import plural
from fcaudit.stripe import ids as id_kinds
from fcaudit.stripe.facts import DEFAULT_HORIZON_DAYS, is_preview
from fcaudit.stripe.facts import PREVIEW_VERSION as DEFAULT_PREVIEW_VERSION
from fcaudit.stripe.ids import ACCOUNT_OBJECT, AUTHORIZATION_OBJECT, kind_of

if TYPE_CHECKING:
    from fcaudit.rules import Ruleset

KNOWN_ACTIONS = frozenset({"relink_required", "none"})
# account_numbers[].status values that can carry a payment now or soon.
USABLE_NUMBER = frozenset({"transactable", "pending"})
# `<x>_refresh.status == "failed"` means that data is stale.
REFRESHES = (
    ("balance_refresh", SignalCode.BALANCE_REFRESH_FAILED),
    ("ownership_refresh", SignalCode.OWNERSHIP_REFRESH_FAILED),
    ("transaction_refresh", SignalCode.TRANSACTION_REFRESH_FAILED),
    ("inferred_balances_refresh", SignalCode.INFERRED_BALANCES_REFRESH_FAILED),
)
# A data subscription (`subscriptions[]`) and the refresh that keeps it fresh.
SUBSCRIBED = {
    "balance": "balance_refresh",
    "inferred_balances": "inferred_balances_refresh",
    "ownership": "ownership_refresh",
    "transactions": "transaction_refresh",
}
DEFAULT_STALE_AFTER = timedelta(days=5)  # --stale-after
# Causes for which relinking cannot help: the customer must link another account.
GONE_CAUSES = frozenset({"account_closed", "account_unavailable"})


class NotClassifiable(ValueError):
    """The object is not an FC account or authorization."""


def object_type(obj: Mapping[str, Any]) -> str:
    """The object's type from `object`, falling back to its id prefix."""
    kind = obj.get("object")
    # The module's own constants, not the decoded strings: 100,000 findings share two.
    if kind == ACCOUNT_OBJECT:
        return ACCOUNT_OBJECT
    if kind == AUTHORIZATION_OBJECT:
        return AUTHORIZATION_OBJECT
    oid = obj.get("id")
    if kind is None and isinstance(oid, str):
        by_prefix = kind_of(oid)
        if by_prefix is id_kinds.ACCOUNT or by_prefix is id_kinds.AUTHORIZATION:
            return by_prefix.object
    raise NotClassifiable(
        f"expected a financial_connections.account or .authorization, got object={kind!r}"
    )


_EMPTY: Mapping[str, Any] = {}


def _dict(value: Any) -> Mapping[str, Any]:
    # `type() is dict` and None first: the ABC isinstance check is slow on the hot path.
    if type(value) is dict:
        return value
    if value is not None and isinstance(value, Mapping):
        return value
    return _EMPTY


def _str(value: Any) -> str | None:
    if value is None or type(value) is str:
        return value
    return str(value)


def _id_of(value: Any) -> str | None:
    """An id that may have been expanded into an object."""
    if value is None or type(value) is str:  # the common case, before the slow ABC check
        return value
    if isinstance(value, Mapping):
        return _str(value.get("id"))
    return _str(value)


def _timestamp(value: Any) -> datetime | None:
    """Unix seconds as Stripe sends them, or an ISO 8601 string from hand-written input.

    Anything else (a numeric string, `true`, NaN, Infinity, out of range) is None: the
    callers decide what an unreadable date means."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):  # a tuple: faster than `int | float` here
        if not math.isfinite(value):
            return None
        try:
            return datetime.fromtimestamp(value, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str) and not value.strip().lstrip("+-").replace(".", "").isdigit():
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        if not parsed.tzinfo:
            return parsed.replace(tzinfo=UTC)
        try:  # its own offset is kept (advice names its day); it must still have a UTC time
            parsed.astimezone(UTC)
        except OverflowError:  # 0001-01-01T00:00:00+01:00
            return None
        return parsed
    return None


def _days(when: datetime, today: date) -> int:
    # Calendar days (UTC): a date 30 days out is within a 30-day horizon whatever its time.
    if when.tzinfo is not UTC:
        when = when.astimezone(UTC)
    return (when.date() - today).days


@functools.lru_cache(maxsize=8)
def _utc_day(now: datetime) -> date:
    """`now`'s UTC day; a run classifies every object at the same `now`."""
    return now.astimezone(UTC).date()


def _refreshes(
    obj: Mapping[str, Any], subscribed: list[Any]
) -> tuple[tuple[str, str | None, int | None], ...]:
    """The refreshes of the account's data subscriptions: (field, status, last_attempted_at)."""
    out = []
    for name in subscribed:
        field = SUBSCRIBED.get(name) if isinstance(name, str) else None
        refresh = _dict(obj.get(field)) if field else {}
        if field and refresh:
            at = refresh.get("last_attempted_at")
            at = at if type(at) is int else None
            out.append((field, _str(refresh.get("status")), at))
    return tuple(out)


def _stale(
    refreshes: tuple[tuple[str, str | None, int | None], ...],
    now: datetime,
    stale_after: timedelta,
    signals: list[Signal],
) -> None:
    """refresh_stale: an active account's subscribed refresh whose last attempt is older than
    --stale-after (its last success is no later than that attempt, whatever its status)."""
    limit = now.timestamp() - stale_after.total_seconds()
    old = [(at, field) for field, _, at in refreshes if at is not None and at < limit]
    if old:
        signals.append(stale_signal(old))


def stale_signal(old: list[tuple[int, str]], note: str = "") -> Signal:
    """refresh_stale for these (last success or attempt, refresh field) pairs: dated by the
    oldest; `note` says where the dates come from."""
    when = datetime.fromtimestamp(min(old)[0], tz=UTC)
    names = ", ".join(field for _, field in sorted(old))
    return Signal(
        SignalCode.REFRESH_STALE,
        f"no successful {names} since {when.date().isoformat()} although the account is "
        f"active{note}",
        when,
    )


def classify(
    obj: Mapping[str, Any],
    *,
    now: datetime,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    stripe_version: str | None = None,
    accounts: tuple[str, ...] = (),
    rules: Ruleset | None = None,
    request_id: str | None = None,
    stripe_account: str | None = None,
    stale_after: timedelta = DEFAULT_STALE_AFTER,
) -> Finding:
    """Classify one FC account or authorization (a plain dict as Stripe returns it).

    `stripe_version` is the version the object was fetched with, used only to explain an
    inactive object without `status_details.inactive`; `request_id` is quoted in advice that
    sends the user to Stripe support. `accounts` lists, for an authorization, the scanned
    accounts it covers. `rules` predict deactivations Stripe gives no date for.
    """
    kind = object_type(obj)
    get = obj.get  # this function runs once per object: bound lookups add up
    status = _str(get("status"))
    holder = _dict(get("account_holder"))
    holder_type = _str(holder.get("type"))
    holder_id = _id_of(holder.get(holder_type)) if holder_type else None
    if holder_id is None:
        # Accounts v2: a customer represented by an Account is in `customer_account`.
        holder_id = (
            _id_of(holder.get("customer_account"))
            or _id_of(holder.get("customer"))
            or _id_of(holder.get("account"))
        )
    livemode = get("livemode")
    if type(livemode) is not bool:
        livemode = None
    # One finding per object, built here and completed by the rule that matches below:
    # building it again, or copying it, per rule cost as much as the rule itself.
    finding = Finding(
        id=_str(get("id")) or "(no id)",
        object=kind,
        category=Category.UNKNOWN,
        status=status,
        recommendation="",
        institution_name=_str(get("institution_name")),
        account_holder_type=holder_type,
        account_holder=holder_id,
        authorization=_id_of(get("authorization")) if kind == ACCOUNT_OBJECT else None,
        last4=_str(get("last4")),
        display_name=_str(get("display_name")),
        livemode=livemode,
        accounts=accounts,
        stripe_account=stripe_account,
        dashboard_url=dashboard_url(holder_type, holder_id, livemode, stripe_account),
    )
    today = _utc_day(now)
    signals: list[Signal] = []
    numbers = _numbers(get("account_numbers"))
    number_expiry, numbers_unusable = _number_signals(numbers, signals, today, horizon_days)
    for field, code in REFRESHES:
        refresh = get(field)
        if refresh and _dict(refresh).get("status") == "failed":
            at = _timestamp(_dict(refresh).get("last_attempted_at"))
            signals.append(Signal(code, f"{field}.status is failed: that data is stale", at))
    subscribed = get("subscriptions")
    if subscribed and kind == ACCOUNT_OBJECT and isinstance(subscribed, list):
        finding.refreshes = _refreshes(obj, subscribed)
        if status == "active":
            _stale(finding.refreshes, now, stale_after, signals)

    if status == "inactive":
        _inactive(finding, _dict(get("status_details")), stripe_version, request_id)
    elif status == "disconnected":
        finding.category = Category.DISCONNECTED
        finding.recommendation = (
            f"Access to {_subject(finding)} was turned off; the customer must link it again (a new "
            "Financial Connections session) to restore data access."
        )
    elif numbers_unusable:
        finding.category = Category.ACCOUNT_NUMBER_UNUSABLE
        finding.detail = (
            f"status {status}, but none of its account numbers is transactable or pending"
        )
        finding.recommendation = (
            f"Payments by {_subject(finding)} will fail: every account number is deactivated or "
            "expired. Ask the customer to relink it to get a new number."
        )
    elif status == "active":
        _active(
            finding,
            _dict(get("status_details")),
            today,
            horizon_days,
            number_expiry,
            rules,
            obj,
            signals,
        )
    else:
        finding.category = Category.UNKNOWN
        finding.detail = f"status {status!r} is not one fcaudit recognises"
        finding.recommendation = (
            f"Check {_subject(finding)} in the Stripe Dashboard; a newer fcaudit may know "
            f"status {status!r}."
        )
    if signals:
        finding.signals = tuple(signals)
    return finding


def _numbers(value: Any) -> list[Mapping[str, Any]]:
    if not value or type(value) is not list:
        return []
    return [n for n in value if type(n) is dict or isinstance(n, Mapping)]


def _number_signals(
    numbers: list[Mapping[str, Any]], signals: list[Signal], today: date, horizon_days: int
) -> tuple[datetime | None, bool]:
    """Signals for the account numbers. Returns the date the account runs out of
    transactable numbers, when every transactable number expires within the horizon (else
    None), and whether no number is transactable or pending."""
    if not numbers:
        return None, False
    statuses = [n.get("status") for n in numbers]
    if USABLE_NUMBER.isdisjoint(statuses):
        signals.append(
            Signal(
                SignalCode.ACCOUNT_NUMBER_UNUSABLE,
                f"no transactable or pending account number ({', '.join(map(str, statuses))})",
            )
        )
        return None, True
    if "pending" in statuses:
        signals.append(Signal(SignalCode.ACCOUNT_NUMBER_PENDING, "an account number is pending"))
    last: datetime | None = None
    open_ended = False
    for n in numbers:
        if n.get("status") != "transactable":
            continue
        when = _timestamp(n.get("expected_expiry_date"))
        if when is None:
            open_ended = True
            continue
        if _days(when, today) <= horizon_days:
            kind = _str(n.get("identifier_type")) or "account number"
            signals.append(
                Signal(
                    SignalCode.ACCOUNT_NUMBER_EXPIRING,
                    f"the {kind.replace('_', ' ')} expires on {when.date().isoformat()}",
                    when,
                )
            )
        if last is None or when > last:
            last = when
    # A number without an expiry keeps the account transactable.
    if open_ended or last is None or _days(last, today) > horizon_days:
        return None, False
    return last, False


def _subject(finding: Finding) -> str:
    """How advice names the object: "the Chase account ••1234". Built only by the advice that
    uses it (most active accounts get none)."""
    institution = finding.institution_name or "unknown institution"
    if finding.object == AUTHORIZATION_OBJECT:
        n_accounts = len(finding.accounts)
        covers = f", covering {plural(n_accounts, 'scanned account')}" if n_accounts else ""
        return f"the {institution} authorization{covers}"
    last4 = f" ••{finding.last4}" if finding.last4 else ""
    return f"the {institution} account{last4}"


def _inactive(
    finding: Finding,
    details: Mapping[str, Any],
    stripe_version: str | None,
    request_id: str | None,
) -> None:
    subject = _subject(finding)
    inactive = details.get("inactive")
    if not isinstance(inactive, Mapping) or not inactive:
        finding.category = Category.INACTIVE_UNKNOWN
        if stripe_version and not is_preview(stripe_version):
            finding.detail = (
                f"status_details.inactive is absent: API version {stripe_version} does not "
                "expose it (preview versions only)"
            )
            finding.recommendation = (
                f"Re-check {subject} with a preview API version (--stripe-version "
                f"{DEFAULT_PREVIEW_VERSION}) to learn whether a relink can repair it."
            )
            return
        # Fetched with a preview version and still no reason: another version won't help.
        quote = f", quoting request {request_id}" if request_id else ""
        told = "a preview API version" if stripe_version else "the object as given"
        finding.detail = (
            f"status_details.inactive is absent or empty in {told}, so Stripe did not say why"
        )
        finding.recommendation = (
            f"Check {subject} in the Stripe Dashboard, or ask Stripe support why it is "
            f"inactive{quote}."
        )
        return
    action = _str(inactive.get("action"))
    # Authorizations carry no cause; for accounts an unknown cause is passed through raw.
    account = finding.object == ACCOUNT_OBJECT
    cause = _str(inactive.get("cause")) if account else None
    finding.cause, finding.action = cause, action
    if action == "relink_required":
        finding.category = Category.RELINK_REQUIRED
        # An authorization is itself what gets relinked.
        finding.recommendation = relink_advice(
            subject, finding.authorization if account else finding.id, None
        )
    elif action == "none":
        finding.category = Category.INACTIVE_UNREPAIRABLE
        finding.recommendation = _no_action_advice(subject, cause)
    else:
        finding.category = Category.INACTIVE_UNKNOWN
        finding.detail = f"status_details.inactive.action {action!r} is not one fcaudit knows"
        finding.recommendation = (
            f"Check {subject} in the Stripe Dashboard before contacting the customer; a "
            "newer fcaudit may know this action."
        )


def relink_advice_for(finding: Finding, repairs: int) -> str:
    """The relink advice of an account finding, now that the scan knows how many scanned
    accounts its authorization's relink repairs."""
    return relink_advice(_subject(finding), finding.authorization, repairs)


def relink_advice(subject: str, authorization: str | None, repairs: int | None) -> str:
    """What to do for relink_required: the authorization to relink, and (once a scan has
    seen every account) how many of its scanned accounts that one relink repairs."""
    if authorization is None:
        return (
            f"Ask the customer to relink {subject} (hosted relink from the Dashboard, or a "
            "Session with relink_options)."
        )
    repaired = f": one relink repairs {plural(repairs, 'scanned account')}" if repairs else ""
    return (
        f"Ask the customer to relink authorization {authorization} ({subject}){repaired} "
        f"(hosted relink from the Dashboard, or a Session with "
        f"relink_options[authorization]={authorization})."
    )


def _no_action_advice(subject: str, cause: str | None) -> str:
    """`inactive.action: none` means "no action recommended at this time", which is not
    always "unrepairable": the advice follows the cause (preview spec descriptions)."""
    if cause in GONE_CAUSES:
        return (
            f"{subject[0].upper()}{subject[1:]} cannot be repaired ({cause}); ask the "
            "customer to link a different account."
        )
    if cause == "access_denied":
        return (
            f"The bank denied Stripe access to {subject}: the customer must permit it again "
            "at their bank (online banking portal, or by contacting the bank). The account "
            "can then come back by itself (financial_connections.account.reactivated)."
        )
    because = f" (cause {cause})" if cause else ""
    return (
        f"No action is recommended now for {subject}{because}: watch for it to come back "
        "(financial_connections.account.reactivated), and if it stays inactive, ask the "
        "customer to link a different account."
    )


def _active(
    finding: Finding,
    details: Mapping[str, Any],
    today: date,
    horizon_days: int,
    number_expiry: datetime | None,
    rules: Ruleset | None,
    obj: Mapping[str, Any],
    signals: list[Signal],
) -> None:
    active = _dict(details.get("active"))
    raw_date = active.get("expected_deactivation_date")
    stripe_date = _timestamp(raw_date)
    account = finding.object == ACCOUNT_OBJECT
    action = _str(active.get("action"))
    if active:
        finding.cause = _str(active.get("cause")) if account else None
        finding.action = action
    if raw_date is not None and stripe_date is None:
        finding.category = Category.UNKNOWN
        finding.detail = f"unreadable status_details.active.expected_deactivation_date {raw_date!r}"
        finding.recommendation = (
            f"Check {_subject(finding)} in the Stripe Dashboard: Stripe sent an expected "
            "deactivation date fcaudit cannot read, so it may break soon."
        )
        return
    # The earliest date Stripe gives: its own, or the last transactable number's expiry.
    when, source, why = stripe_date, "stripe", "status"
    if number_expiry is not None and (when is None or number_expiry < when):
        when, why = number_expiry, "number"
    rule = None
    if when is None and rules is not None and account:
        when, rule = _predict(rules, obj, signals, today)
        source = f"rule:{rule.id}" if rule else source
    if when is None:
        finding.category = Category.ACTIVE
        finding.recommendation = "No action needed now."
        return
    days = _days(when, today)
    finding.expected_deactivation_date = when
    finding.days_until_deactivation = days
    finding.expected_deactivation_source = source
    day = when.date().isoformat()
    if days > horizon_days:
        finding.category = Category.ACTIVE
        finding.recommendation = f"No action needed now; expected to go inactive on {day}."
        return
    finding.category = Category.EXPIRING
    subject = _subject(finding)
    within = f"in {plural(days, 'day')}"
    if rule is not None:
        finding.recommendation = (
            f"Predicted by rule {rule.id} ({rule.description.rstrip('.')}): {subject} is "
            f"expected to go inactive on {day} ({within}); Stripe has not announced a date. "
            "Ask the customer to relink before then."
        )
    elif why == "number":
        finding.detail = (
            f"the account number expires on {day}; no other transactable number outlives it"
        )
        finding.recommendation = (
            f"The account number of {subject} expires on {day} ({within}): ask the "
            "customer to relink before then to get a new number."
        )
    elif days < 0:
        finding.recommendation = (
            f"Expected to go inactive on {day}, which has passed: ask the customer to relink "
            f"{subject} now."
        )
    elif action == "relink_required":
        finding.recommendation = (
            f"Ask the customer to relink {subject} before {day} ({within}); relinking now "
            "keeps it working."
        )
    elif action == "none":
        finding.recommendation = (
            f"{subject[0].upper()}{subject[1:]} is expected to go inactive on {day} "
            f"({within}); relinking does not help yet, so warn the customer and re-check "
            "closer to the date."
        )
    else:
        finding.recommendation = (
            f"{subject[0].upper()}{subject[1:]} is expected to go inactive on {day} "
            f"({within}); unrecognised action {action!r}: check the Dashboard."
        )


def _predict(
    rules: Ruleset, obj: Mapping[str, Any], signals: list[Signal], today: date
) -> tuple[datetime | None, Any]:
    """The earliest date a matching rule predicts that is today or later, and its rule;
    every prediction also becomes a signal (passed dates only a signal)."""
    institution = _id_of(obj.get("institution"))
    name = _str(obj.get("institution_name"))
    if not rules.matching(institution, name):
        return None, None  # most accounts: no rule for their bank
    created = _timestamp(obj.get("created"))
    if created is None:
        return None, None
    predictions = rules.predict(institution, name, created)
    best: tuple[datetime | None, Any] = (None, None)
    for p in predictions:
        if p.date is None:
            signals.append(
                Signal(
                    SignalCode.PREDICTED_DEACTIVATION,
                    f"rule {p.rule.id}: affected on a rolling basis, date unknown",
                )
            )
        elif _days(p.date, today) < 0:
            signals.append(
                Signal(
                    SignalCode.PREDICTED_DATE_PASSED,
                    f"rule {p.rule.id} predicted {p.date.date().isoformat()}, but Stripe "
                    "still reports the account active",
                    p.date,
                )
            )
        else:
            signals.append(
                Signal(
                    SignalCode.PREDICTED_DEACTIVATION,
                    f"rule {p.rule.id}: predicted to go inactive on {p.date.date().isoformat()}",
                    p.date,
                )
            )
            if best[0] is None or p.date < best[0]:
                best = (p.date, p.rule)
    return best
