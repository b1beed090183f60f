"""Pure classification: one account or authorization (a plain dict) in, one Finding out.

Nothing here reads the clock or does I/O; `now` and the horizon are parameters. Stripe marks
every enum involved as open (`x-stripeEnum kind: open`), so unknown values never crash: they
are passed through raw and the object lands in the closest safe category.
See https://docs.stripe.com/financial-connections/inactive-accounts
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from fcaudit.model import ACCOUNT_OBJECT, AUTHORIZATION_OBJECT, Category, Finding, plural
from fcaudit.stripe_api import DEFAULT_HORIZON_DAYS, is_preview
from fcaudit.stripe_api import PREVIEW_VERSION as DEFAULT_PREVIEW_VERSION

KNOWN_ACTIONS = frozenset({"relink_required", "none"})
OBJECT_PREFIXES = {"fca_": ACCOUNT_OBJECT, "fcauth_": AUTHORIZATION_OBJECT}


class NotClassifiable(ValueError):
    """The object is not an FC account or authorization."""


def object_type(obj: Mapping[str, Any]) -> str:
    """The object's type from `object`, falling back to its id prefix."""
    kind = obj.get("object")
    if kind in (ACCOUNT_OBJECT, AUTHORIZATION_OBJECT):
        return str(kind)
    oid = obj.get("id")
    if kind is None and isinstance(oid, str):
        for prefix, name in OBJECT_PREFIXES.items():
            if oid.startswith(prefix):
                return name
    raise NotClassifiable(
        f"expected a financial_connections.account or .authorization, got object={kind!r}"
    )


_EMPTY: Mapping[str, Any] = {}


def _dict(value: Any) -> Mapping[str, Any]:
    # `type() is dict` first: the ABC isinstance check is slow on the classify hot path.
    if type(value) is dict or isinstance(value, Mapping):
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
    """Stripe sends unix seconds; tolerate ISO strings from hand-written input."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):  # a tuple: faster than `int | float` here
        try:
            return datetime.fromtimestamp(value, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def classify(
    obj: Mapping[str, Any],
    *,
    now: datetime,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    stripe_version: str | None = None,
    accounts: tuple[str, ...] = (),
) -> Finding:
    """Classify one FC account or authorization (a plain dict as Stripe returns it).

    `stripe_version` is the version the object was fetched with, used only to explain an
    inactive object without `status_details.inactive`. `accounts` lists, for an
    authorization, the scanned accounts it covers.
    """
    kind = object_type(obj)
    get = obj.get  # this function runs once per object: bound lookups add up
    oid = _str(get("id")) or "(no id)"
    status = _str(get("status"))
    details = _dict(get("status_details"))
    holder = _dict(get("account_holder"))
    holder_type = _str(holder.get("type"))
    holder_id = _id_of(holder.get(holder_type)) if holder_type else None
    if holder_id is None:
        holder_id = _id_of(holder.get("customer")) or _id_of(holder.get("account"))
    livemode = get("livemode")
    base: dict[str, Any] = {
        "id": oid,
        "object": kind,
        "status": status,
        "institution_name": _str(get("institution_name")),
        "account_holder_type": holder_type,
        "account_holder": holder_id,
        "authorization": _id_of(get("authorization")) if kind == ACCOUNT_OBJECT else None,
        "last4": _str(get("last4")),
        "display_name": _str(get("display_name")),
        "livemode": livemode if type(livemode) is bool else None,
        "accounts": accounts,
    }
    subject = _subject(kind, base, len(accounts))

    if status == "inactive":
        return _inactive(base, details, subject, kind, stripe_version)
    if status == "disconnected":
        return Finding(
            category=Category.DISCONNECTED,
            recommendation=f"Access to {subject} was turned off; the customer must link it "
            "again (a new Financial Connections session) to restore data access.",
            **base,
        )
    if status == "active":
        return _active(base, details, subject, now, horizon_days)
    return Finding(
        category=Category.UNKNOWN,
        detail=f"status {status!r} is not one fcaudit recognises",
        recommendation=f"Check {subject} in the Stripe Dashboard; a newer fcaudit may know "
        f"status {status!r}.",
        **base,
    )


def _subject(kind: str, base: Mapping[str, Any], n_accounts: int) -> str:
    institution = base["institution_name"] or "unknown institution"
    if kind == AUTHORIZATION_OBJECT:
        covers = f", covering {plural(n_accounts, 'scanned account')}" if n_accounts else ""
        return f"the {institution} authorization{covers}"
    last4 = f" ••{base['last4']}" if base["last4"] else ""
    return f"the {institution} account{last4}"


def _inactive(
    base: dict[str, Any],
    details: Mapping[str, Any],
    subject: str,
    kind: str,
    stripe_version: str | None,
) -> Finding:
    inactive = details.get("inactive")
    if not isinstance(inactive, Mapping) or not inactive:
        if stripe_version and not is_preview(stripe_version):
            why = (
                f"status_details.inactive is absent: API version {stripe_version} does not "
                "expose it (preview versions only)"
            )
        else:
            why = "status_details.inactive is absent or empty, so Stripe did not say why"
        return Finding(
            category=Category.INACTIVE_UNKNOWN,
            detail=why,
            recommendation=f"Re-check {subject} with a preview API version "
            f"(--stripe-version {DEFAULT_PREVIEW_VERSION}) to learn whether a relink can "
            "repair it.",
            **base,
        )
    action = _str(inactive.get("action"))
    # Authorizations carry no cause; for accounts an unknown cause is passed through raw.
    cause = _str(inactive.get("cause")) if kind == ACCOUNT_OBJECT else None
    if action == "relink_required":
        return Finding(
            category=Category.RELINK_REQUIRED,
            cause=cause,
            action=action,
            recommendation=f"Ask the customer to relink {subject} (hosted relink from the "
            "Dashboard, or a Session with relink_options).",
            **base,
        )
    if action == "none":
        because = f" (cause {cause})" if cause else ""
        return Finding(
            category=Category.INACTIVE_UNREPAIRABLE,
            cause=cause,
            action=action,
            recommendation=f"Relinking cannot repair {subject}{because}; ask the customer "
            "to link a different account.",
            **base,
        )
    return Finding(
        category=Category.INACTIVE_UNKNOWN,
        cause=cause,
        action=action,
        detail=f"status_details.inactive.action {action!r} is not one fcaudit knows",
        recommendation=f"Check {subject} in the Stripe Dashboard before contacting the "
        "customer; a newer fcaudit may know this action.",
        **base,
    )


def _active(
    base: dict[str, Any],
    details: Mapping[str, Any],
    subject: str,
    now: datetime,
    horizon_days: int,
) -> Finding:
    active = _dict(details.get("active"))
    raw_date = active.get("expected_deactivation_date")
    when = _timestamp(raw_date)
    cause = _str(active.get("cause")) if base["object"] == ACCOUNT_OBJECT else None
    action = _str(active.get("action"))
    dated: dict[str, Any] = {}
    if when is not None:
        dated = {
            "expected_deactivation_date": when,
            "days_until_deactivation": (when.date() - now.astimezone(UTC).date()).days,
            "cause": cause,
            "action": action,
        }
    elif active:
        dated = {"cause": cause, "action": action}
    detail = None
    if raw_date is not None and when is None:
        detail = f"unreadable status_details.active.expected_deactivation_date {raw_date!r}"

    # The horizon counts calendar days (UTC), like days_until_deactivation: a date 30 days
    # out is expiring with --expiring-within 30 whatever its time of day.
    if when is None or dated["days_until_deactivation"] > horizon_days:
        later = f"; expected to go inactive on {when.date().isoformat()}" if when else ""
        return Finding(
            category=Category.ACTIVE,
            detail=detail,
            recommendation=f"No action needed now{later}.",
            **base,
            **dated,
        )
    day = when.date().isoformat()
    days = dated["days_until_deactivation"]
    if when <= now:
        advice = (
            f"Expected to go inactive on {day}, which has passed: ask the customer to relink "
            f"{subject} now."
        )
    elif action == "relink_required":
        advice = (
            f"Ask the customer to relink {subject} before {day} (in {plural(days, 'day')}); "
            "relinking now keeps it working."
        )
    elif action == "none":
        advice = (
            f"{subject[0].upper()}{subject[1:]} is expected to go inactive on {day} "
            f"(in {plural(days, 'day')}); relinking does not help yet, so warn the customer and "
            "re-check closer to the date."
        )
    else:
        advice = (
            f"{subject[0].upper()}{subject[1:]} is expected to go inactive on {day} "
            f"(in {plural(days, 'day')}); unrecognised action {action!r}: check the Dashboard."
        )
    return Finding(
        category=Category.EXPIRING,
        detail=detail,
        recommendation=advice,
        **base,
        **dated,
    )
