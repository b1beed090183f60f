"""`fcaudit doctor`: check, with a handful of GET requests, what a first run needs.

Each check is a `Check`: what was checked, whether it passed, what was found, and the fix.
The key is checked without a request; then one page of one object each from the endpoints a
scan reads (the account, FC accounts without a filter, customers, events, connected accounts).
A 401 stops the checks (nothing else can pass); a 403 fails the check it answers and names the
permission Stripe's message names; any other failure is an API error.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from fcaudit.errors import AuthError, ExitCode, FcauditError, UsageError
from fcaudit.options import resolve_key
from fcaudit.stripe.facts import EVENT_RETENTION_DAYS, is_preview
from fcaudit.stripe.failures import BudgetSpent, Cancelled, RequestFailed, tip
from fcaudit.stripe.gateway import (
    ACCOUNTS,
    CONNECTED_ACCOUNTS,
    CUSTOMERS,
    EVENTS,
    StripeGateway,
)
from fcaudit.stripe.redact import key_mode
from fcaudit.text import safe

if TYPE_CHECKING:
    from fcaudit.sources.state_check import Inventory

# Where the Stripe CLI keeps its login (https://docs.stripe.com/stripe-cli): an OAuth login
# keeps no key there that fcaudit could reuse.
STRIPE_CLI_CONFIG = os.path.join("~", ".config", "stripe", "config.toml")
DOCTOR_REQUESTS = 5  # what doctor sends: the account, FC accounts, customers, events, Connect
# Stripe's floor of reads a month (https://docs.stripe.com/rate-limits: at least 10,000).
READS_FLOOR = 10_000


@dataclass(frozen=True)
class Check:
    """One check: what it is, whether it passed, what was found, and how to fix a failure."""

    name: str
    ok: bool
    detail: str
    fix: str | None = None
    # What a failure means for the exit code: `key` (3) or `api` (4); None when it passed.
    kind: str | None = None


def check_key(api_key: str | None, *, home: str | None = None) -> Check:
    """The key's kind and mode, without a request; a missing one says where keys come from."""
    try:
        key = resolve_key(api_key)
    except UsageError as err:
        fix = "set STRIPE_API_KEY (or --api-key) to a secret sk_ or restricted rk_ key"
        cli_config = os.path.expanduser(STRIPE_CLI_CONFIG if home is None else home)
        if not api_key and os.path.exists(cli_config):
            fix += (
                "; a Stripe CLI login (`stripe login`) holds an OAuth token, not a key, so "
                "fcaudit can't reuse it: create a restricted key in the Dashboard"
            )
        return Check("key", False, str(err).split(". Tip:")[0], fix, "key")
    kind = "restricted" if key.startswith("rk_") else "secret"
    return Check("key", True, f"a {kind} key, {key_mode(key)} mode")


def _probe(
    name: str,
    request: Callable[[], Any],
    found: Callable[[Any], str],
    fix: str,
    tolerated: Callable[[Check], str | None] = lambda failed: None,
) -> Check:
    """One GET: passed with what `found` says of the body, or failed with Stripe's words;
    a failure `tolerated` has a note for passes with that note (it only limits an option)."""
    try:
        body = request()
    except BudgetSpent:
        # --max-requests (or the config file's max_requests) is smaller than doctor's few.
        failed = Check(
            name,
            False,
            "not checked: the run's --max-requests was spent",
            f"allow doctor its {DOCTOR_REQUESTS} requests: --max-requests {DOCTOR_REQUESTS}, "
            "or give a configured max_requests to [scan] only",
            "api",
        )
    except AuthError as err:
        failed = Check(name, False, str(err).split(" Tip:")[0], fix, "key")
    except RequestFailed as err:
        failed = Check(name, False, err.message, tip(err), "api")
    else:
        return Check(name, True, found(body))
    note = tolerated(failed)
    return failed if note is None else Check(name, True, note)


def _first(body: Any) -> dict[str, Any] | None:
    data = body.get("data") if isinstance(body, dict) else None
    return data[0] if isinstance(data, list) and data and isinstance(data[0], dict) else None


def run_checks(gateway: StripeGateway, now: datetime, *, sandbox: bool = False) -> list[Check]:
    """Every check, in order; the requests stop at a rejected key."""
    settings = gateway.settings

    def ask(path: str, params: Any = None, *, endpoint: str) -> Any:
        # Once --max-requests is spent the gateway cancels what follows: each check left
        # fails as not checked, never with a traceback.
        if gateway.budget_spent:
            raise BudgetSpent
        return gateway.get(path, params, endpoint=endpoint)

    version = settings.stripe_version
    checks = [
        Check("key", True, "the embedded sandbox's test key")
        if sandbox
        else check_key(settings.api_key)
    ]
    account = _probe(
        "account",
        lambda: ask("/v1/account", endpoint="GET /v1/account"),
        lambda body: f"reads {safe(body.get('id') if isinstance(body, dict) else '?')}",
        "check the key: Stripe rejected it",
        # A restricted key may lack this one permission: --state then names the store's
        # account "(own account)"; nothing else needs it.
        lambda failed: (
            "the key may not read the account (fine: it is only used to name a --state "
            "store's account)"
            if failed.kind == "key" and "HTTP 401" not in failed.detail
            else None
        ),
    )
    checks.append(account)
    if not account.ok and "HTTP 401" in account.detail:
        return checks  # a rejected key: nothing else can pass
    preview: list[bool] = []

    def accounts_found(body: Any) -> str:
        first = _first(body)
        if first is None:
            return "readable; no FC account yet"
        preview.append("authorization" in first)
        return "readable; Stripe accepts the unfiltered account list (--discovery auto uses it)"

    fc = _probe(
        "fc_accounts",
        lambda: ask(ACCOUNTS, {"limit": 1}, endpoint=f"GET {ACCOUNTS}"),
        accounts_found,
        "give the restricted key read access to Financial Connections (the permission "
        "Stripe's message names)",
        lambda failed: (
            "Stripe refuses the unfiltered account list: --discovery auto falls back to one "
            "request per customer (README: Request budget)"
            if "HTTP 400" in failed.detail
            else None
        ),
    )
    checks.append(fc)
    checks.append(
        _probe(
            "customers",
            lambda: ask(CUSTOMERS, {"limit": 1}, endpoint=f"GET {CUSTOMERS}"),
            lambda body: "readable",
            "give the restricted key read access to Customers",
        )
    )
    oldest = int((now - timedelta(days=EVENT_RETENTION_DAYS - 1)).timestamp())

    def events_found(body: Any) -> str:
        if _first(body) is None:
            return (
                f"readable; none older than {EVENT_RETENTION_DAYS - 1} days (a new account, "
                f"or few events): Stripe keeps {EVENT_RETENTION_DAYS} days"
            )
        return f"readable; they reach back the {EVENT_RETENTION_DAYS} days Stripe keeps"

    checks.append(
        _probe(
            "events",
            lambda: ask(EVENTS, {"limit": 1, "created": {"lte": oldest}}, endpoint=f"GET {EVENTS}"),
            events_found,
            "give the restricted key read access to Events (fcaudit events, --state)",
        )
    )
    connect = _probe(
        "connect",
        lambda: ask(CONNECTED_ACCOUNTS, {"limit": 1}, endpoint=f"GET {CONNECTED_ACCOUNTS}"),
        lambda body: (
            "readable; "
            + ("connected accounts listed" if _first(body) else "no connected accounts")
        ),
        "",
        lambda failed: (
            "the key may not list connected accounts: --connected-accounts needs a Connect "
            "platform's key with read access to Connect"
            if failed.kind == "key"
            else None
        ),
    )
    checks.append(connect)
    checks.append(check_webhooks(gateway))
    if not is_preview(version):
        checks.append(
            Check(
                "api_version",
                False,
                f"{safe(version)} is not a preview version: inactive accounts can't say why "
                "and do not name their authorization",
                "use the default --stripe-version (a .preview version)",
                "api",
            )
        )
    elif preview == [False]:
        checks.append(
            Check(
                "api_version",
                False,
                f"{safe(version)} is a preview version, but the accounts lack its fields "
                "(authorization)",
                "check that the account has access to the preview (Stripe support)",
                "api",
            )
        )
    else:
        carried = ", and the accounts carry its fields" if preview else ""
        checks.append(Check("api_version", True, f"{safe(version)}, a preview version{carried}"))
    return checks


def check_webhooks(gateway: StripeGateway) -> Check:
    """`fcaudit webhooks` in one line. Informational: a run does not need webhooks, so its
    findings never fail doctor (`fcaudit webhooks --fail-on` is the check that alerts)."""
    from fcaudit.model.webhooks import audit
    from fcaudit.sources.webhooks import read_destinations, read_facts

    notes: list[str] = []
    if gateway.budget_spent:
        return Check("webhooks", True, "not checked: the run's --max-requests was spent")
    try:
        destinations = read_destinations(gateway, show_urls=False, notes=notes)
        facts = read_facts(gateway, notes)
    except Cancelled:  # BudgetSpent: doctor's own DOCTOR_REQUESTS do not count these
        return Check("webhooks", True, "not checked: the run's --max-requests was spent")
    except (AuthError, UsageError, FcauditError) as err:
        return Check("webhooks", True, f"not checked: {str(err).split(' Tip:')[0]}")
    result = audit(destinations, facts)
    more = "; details: fcaudit webhooks" if result.findings or result.notes else ""
    return Check("webhooks", True, result.summary_line() + more)


def exit_code(checks: list[Check]) -> ExitCode:
    """0 when every check passed; 3 for a key or permission problem; 4 for an API error."""
    failed = [c for c in checks if not c.ok]
    if any(c.kind == "key" for c in failed):
        return ExitCode.AUTH
    return ExitCode.API if failed else ExitCode.OK


# The estimate's size when the account's own is not known (lists carry no totals).
PER_ACCOUNTS = 10_000


@dataclass(frozen=True)
class Size:
    """How big the audited account is, for the estimate, and where that came from."""

    accounts: int
    customers: int
    authorizations: int | None = None  # known from a --state store
    # `per_10000`: the table's assumed size; `state`: a --state store's counts; `given`:
    # --accounts / --customers (over the store's, where both are given).
    basis: str = "per_10000"


def size_of(accounts: int | None, customers: int | None, state: Inventory | None = None) -> Size:
    """The account's size from --accounts, --customers and a store's counts, the flags first;
    a missing one is the other (one account per customer); none: the per-10,000 table.
    A store knows the customers with a linked account; the fan-out reads every customer."""
    if state is not None:
        accounts = state.accounts if accounts is None else accounts
        customers = state.holders if customers is None else customers
    if accounts is None and customers is None:
        return Size(PER_ACCOUNTS, PER_ACCOUNTS)
    a = accounts if accounts is not None else customers
    c = customers if customers is not None else accounts
    assert a is not None and c is not None
    given = state is None or a != state.accounts or c != state.holders
    return Size(a, c, state.authorizations if state else None, "given" if given else "state")


def estimate(size: Size | None = None) -> dict[str, Any]:
    """The reads a daily run costs, by mode, a day and over 30 days (README: Request budget):
    the account list ⌈A/100⌉ (at least one page), the fan-out 1 + ⌈C/100⌉ + C."""
    size = size or Size(PER_ACCOUNTS, PER_ACCOUNTS)
    listing = max(1, -(-size.accounts // 100))
    fan_out = 1 + -(-size.customers // 100) + size.customers
    return {
        "per_accounts": size.accounts,
        "customers": size.customers,
        "authorizations": size.authorizations,
        "basis": size.basis,
        "accounts_mode_daily": listing,
        "accounts_mode_monthly": listing * 30,
        "fan_out_daily": fan_out,
        "fan_out_monthly": fan_out * 30,
        "monthly_floor": READS_FLOOR,
    }


def as_record(
    checks: list[Check], size: Size | None = None, config: str | None = None
) -> dict[str, Any]:
    """`--format json`: the checks, the estimate, the config file read and the exit code."""
    return {
        "ok": all(c.ok for c in checks),
        "exit_code": int(exit_code(checks)),
        "checks": [{k: v for k, v in asdict(c).items() if k != "kind"} for c in checks],
        "reads_estimate": estimate(size),
        "config_file": config,
    }
