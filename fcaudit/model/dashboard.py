"""Links into the Stripe Dashboard for an object, its customer or its connected account."""

from __future__ import annotations

import functools
import re

from fcaudit.stripe import ids as id_kinds

# -- the Stripe Dashboard --------------------------------------------------------------------

DASHBOARD = "https://dashboard.stripe.com"
_LINK_ID = re.compile(r"[a-z]{2,8}_[A-Za-z0-9]{1,255}")


_LINK_ID_MAX = 8 + 1 + 255  # the longest id _LINK_ID accepts


def dashboard_url(
    holder_type: str | None,
    holder: str | None,
    livemode: bool | None,
    stripe_account: str | None,
) -> str | None:
    """The Dashboard page of an account holder (`_dashboard_url`); ids longer than any Stripe
    id are refused before the cache, which so keeps only short strings."""
    if not holder or len(holder) > _LINK_ID_MAX:
        return None
    if stripe_account is not None and len(stripe_account) > _LINK_ID_MAX:
        return None
    return _dashboard_url(holder_type, holder, livemode, stripe_account)


@functools.lru_cache(maxsize=4096)  # a customer's accounts share one page
def _dashboard_url(
    holder_type: str | None,
    holder: str,
    livemode: bool | None,
    stripe_account: str | None,
) -> str | None:
    """The Dashboard page of an account holder, where a hosted relink is started.

    Patterns (the Dashboard's own, not part of Stripe's API reference): a customer is
    /customers/<id> (Accounts v2 customers too: /customers/<acct_id>), a connected account
    /connect/accounts/<id>; test-mode objects add /test, and a connected account's own objects
    (--stripe-account) are prefixed with /<acct_id>."""
    # Only an id of Stripe's shape goes into a link (the holder comes from the network).
    if not _LINK_ID.fullmatch(holder):
        return None
    if stripe_account is not None and not _LINK_ID.fullmatch(stripe_account):
        return None
    prefix = DASHBOARD + (f"/{stripe_account}" if stripe_account else "")
    prefix += "" if livemode else "/test"
    if holder_type == "account" or (
        holder_type is None and holder.startswith(id_kinds.CONNECTED_ACCOUNT.prefix)
    ):
        return f"{prefix}/connect/accounts/{holder}"
    return f"{prefix}/customers/{holder}"
