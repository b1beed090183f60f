"""Stripe ids: THE table of id prefixes and the object types they name, and the id checks.

An id goes into a URL path or a query value, so every id that comes from a user or the network
is checked here before it is used: a prefix and 1 to 255 letters, digits and underscores, so
`../`, `?`, `#`, `%` and spaces never reach a request.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from fcaudit.errors import UsageError
from fcaudit.text import safe

# The `object` values of the two objects fcaudit classifies.
ACCOUNT_OBJECT: Final = "financial_connections.account"
AUTHORIZATION_OBJECT: Final = "financial_connections.authorization"


@dataclass(frozen=True)
class IdKind:
    """One kind of Stripe id: its prefix, the `object` it names, and its noun in messages."""

    prefix: str
    object: str
    noun: str


ACCOUNT: Final = IdKind("fca_", ACCOUNT_OBJECT, "Financial Connections account")
AUTHORIZATION: Final = IdKind(
    "fcauth_", AUTHORIZATION_OBJECT, "Financial Connections authorization"
)
CUSTOMER: Final = IdKind("cus_", "customer", "customer")
CONNECTED_ACCOUNT: Final = IdKind("acct_", "account", "connected account")
EVENT: Final = IdKind("evt_", "event", "event")
SESSION: Final = IdKind("fcsess_", "financial_connections.session", "session")
# An Accounts v2 account that holds FC accounts as a customer shares the acct_ prefix; it is
# named apart in messages only, so BY_PREFIX keeps acct_ for connected accounts.
CUSTOMER_ACCOUNT: Final = IdKind("acct_", "v2.core.account", "customer account")

# THE prefix table: every id kind fcaudit reads, by prefix and by `object`.
BY_PREFIX: Final = {
    k.prefix: k for k in (ACCOUNT, AUTHORIZATION, CUSTOMER, CONNECTED_ACCOUNT, EVENT, SESSION)
}
BY_OBJECT: Final = {k.object: k for k in BY_PREFIX.values()}

MAX_ID_LENGTH: Final = 255
ID_SHAPE: Final = re.compile(rf"[A-Za-z0-9_]{{1,{MAX_ID_LENGTH}}}")


def is_stripe_id(value: object, prefix: str = "") -> bool:
    """True for a string shaped like a Stripe id (with `prefix`, when given)."""
    return (
        isinstance(value, str)
        and value.startswith(prefix)
        and len(value) > len(prefix)
        and ID_SHAPE.fullmatch(value) is not None
    )


def kind_of(value: str) -> IdKind | None:
    """The kind an id's prefix names (`fca_1` -> ACCOUNT), or None for another prefix."""
    cut = value.find("_")
    return BY_PREFIX.get(value[: cut + 1]) if cut > 0 else None


def check_id(value: str, kind: IdKind, flag: str | None = None) -> str:
    """A user's id of `kind`, stripped; a one-line UsageError when it is not one. `flag`
    names where it came from (`--customer`), for an empty one."""
    value = value.strip()
    if not value:
        where = f"{flag} is empty" if flag else f"an empty {kind.noun} id"
        raise UsageError(
            f"{where}: '' is not a {kind.noun} id. Tip: {kind.noun} ids look like "
            f"{kind.prefix}...; an unset shell variable gives ''."
        )
    if len(value) > MAX_ID_LENGTH and value.startswith(kind.prefix):
        raise UsageError(
            f"{safe(value[:40])}... is {len(value)} characters long; Stripe's ids have at most "
            f"{MAX_ID_LENGTH}. Tip: check that the whole value is one {kind.noun} id."
        )
    if not is_stripe_id(value, kind.prefix):
        shown = value if len(value) <= 40 else value[:40] + "..."
        raise UsageError(
            f"{safe(shown)} is not a {kind.noun} id. Tip: {kind.noun} ids look like "
            f"{kind.prefix}..."
        )
    return value
