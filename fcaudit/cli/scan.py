"""`fcaudit scan`: every FC account in a scope."""

from __future__ import annotations

import csv
import dataclasses
from collections.abc import Iterable
from typing import IO, Any

import click

from fcaudit.cli.common import app_for, configured, make_plan, run_remote, unique
from fcaudit.cli.options import report_options, stripe_options
from fcaudit.errors import ExitCode, UsageError
from fcaudit.model.report import Scope, ScopeType, scope_record
from fcaudit.options import DEFAULT_RECONCILE, ReportOptions, StripeOptions, parse_duration
from fcaudit.stripe import ids as id_kinds
from fcaudit.stripe.ids import check_id
from fcaudit.text import safe

MAX_LINE = 4096  # a customer id is ~18 characters; a longer line is not an id list
# The values of --discovery: sources.listing.Discovery's (tests/cli/test_scan.py keeps them
# equal), written out so that `fcaudit --help` doesn't import the sources.
DISCOVERY_MODES = ("auto", "accounts", "customers")
MAX_CONNECTED_IDS = 10_000  # named on the command line; more: use `all`


def parse_connected_accounts(value: str | None) -> list[str] | str | None:
    """`--connected-accounts`: `all`, or a comma-separated list of acct_ ids (each once)."""
    if value is None:
        return None
    if value.strip().lower() == "all":
        return "all"
    ids = [v.strip() for v in value.split(",") if v.strip()]
    if not ids:
        raise UsageError(
            "--connected-accounts needs 'all' or acct_ ids. Tip: --connected-accounts all."
        )
    if len(ids) > MAX_CONNECTED_IDS:
        raise UsageError(
            f"--connected-accounts names {len(ids)} accounts; at most {MAX_CONNECTED_IDS}. "
            "Tip: --connected-accounts all pages them from GET /v1/accounts."
        )
    return unique([check_id(i, id_kinds.CONNECTED_ACCOUNT, "--connected-accounts") for i in ids])


def read_customer_ids(values: Iterable[str], files: Iterable[IO[str]]) -> list[str]:
    """Ids from `--customer` and `--customers-from` files.

    A file holds one id per line, or is a CSV whose first column is the id: blank lines and
    `#` comments are skipped, and so is a header line (a first line whose first column is not
    a customer id), so `cut -d, -f1 customers.csv` and the CSV itself both work.
    """
    ids = [check_id(c, id_kinds.CUSTOMER, "--customer") for c in values]
    for handle in files:
        name = safe(getattr(handle, "name", "-"))
        first = True
        try:
            for line_no, line in enumerate(handle, start=1):
                if len(line) > MAX_LINE:
                    raise UsageError(
                        f"{name} line {line_no} is {len(line)} characters long. Tip: one cus_ "
                        "id per line, or a CSV with the id in its first column."
                    )
                text = line.lstrip("\ufeff").split("#", 1)[0].strip()
                if not text:
                    continue
                column = next(csv.reader([text]), [""])
                value = (column[0] if column else "").strip()
                if first and not value.startswith(id_kinds.CUSTOMER.prefix):
                    first = False
                    continue  # a header row such as `id,email`
                first = False
                try:
                    ids.append(check_id(value, id_kinds.CUSTOMER))
                except UsageError as err:
                    raise UsageError(f"{name} line {line_no}: {err}") from None
        except UnicodeDecodeError:
            raise UsageError(f"{name} is not UTF-8 text. Tip: one cus_ id per line.") from None
    return unique(ids)


@click.command()
@click.option(
    "--customer",
    "customers",
    multiple=True,
    metavar="cus_...",
    help="Scan this customer's accounts (repeatable).",
)
@click.option(
    "--customers-from",
    type=click.File("r", encoding="utf-8"),
    multiple=True,
    metavar="FILE",
    help="Read customer ids from FILE: one per line or a CSV's first column; a header line, "
    "blank lines and '#' comments are skipped ('-' = stdin).",
)
@click.option(
    "--customer-account",
    "customer_accounts",
    multiple=True,
    metavar="acct_...",
    help="Scan the accounts of this Accounts v2 customer (account_holder[customer_account]; "
    "repeatable).",
)
@click.option(
    "--account-holder",
    "holders",
    multiple=True,
    metavar="acct_...",
    help="Scan accounts whose holder is this connected account (repeatable).",
)
@click.option(
    "--session",
    "sessions",
    multiple=True,
    metavar="fcsess_...",
    help="Scan the accounts linked in this Financial Connections session (repeatable).",
)
@click.option(
    "--authorizations",
    is_flag=True,
    help="Also retrieve and classify every authorization the accounts reference (preview).",
)
@click.option(
    "--discovery",
    type=click.Choice(DISCOVERY_MODES),
    default=None,
    help="How a scan with no scope flag finds the accounts: 'accounts' pages the unfiltered "
    "account list (1 request per 100 accounts, every holder type), 'customers' lists every "
    "customer's accounts (1 request per customer), 'auto' tries the first and falls back to "
    "the second only if Stripe refuses it (HTTP 400).  [default: auto]",
)
@click.option(
    "--connected-accounts",
    "connected_accounts",
    metavar="all|acct_,...",
    help="Connect platforms: also scan each connected account's own FC accounts (with its "
    "Stripe-Account header): 'all' pages GET /v1/accounts, or a comma-separated list of ids. "
    "The platform's own accounts are scanned too.",
)
@click.option(
    "--state",
    "state_path",
    metavar="FILE",
    help="Incremental runs: keep the inventory in FILE (SQLite); the next run reads only the "
    "events since this one and reclassifies everything as of now (README: Incremental runs).",
)
@click.option("--full", is_flag=True, help="With --state: make this a full run.")
@click.option(
    "--reconcile-every",
    metavar="DURATION",
    default=f"{DEFAULT_RECONCILE.days}d",
    show_default=True,
    help="With --state: a full run when the last one is older than this (e.g. 7d, 36h, 90m, "
    "1d12h; 0s makes every run a full run).",
)
@click.option(
    "--state-wait",
    metavar="DURATION",
    default="0s",
    show_default=True,
    help="With --state: how long to wait for another run that holds the store (e.g. 10m) "
    "before giving up with exit 4.",
)
@click.option(
    "--min-age",
    metavar="DURATION",
    default=None,
    help="With --state: a newly broken account counts towards --fail-on and --fail-on-change "
    "only once it has been broken this long (e.g. 6h, 2d); until then it is listed as pending.",
)
@click.option(
    "--stale-after",
    metavar="DURATION",
    default="5d",
    show_default=True,
    help="refresh_stale: an active account's subscribed refresh (subscriptions[]) that has not "
    "succeeded for this long.",
)
@click.option(
    "--contact",
    is_flag=True,
    help="Add each affected customer's name and email to the groups (personal data: off by "
    "default; the report says when it carries them).",
)
@report_options
@stripe_options
def scan(
    customers: tuple[str, ...],
    customers_from: tuple[IO[str], ...],
    customer_accounts: tuple[str, ...],
    holders: tuple[str, ...],
    sessions: tuple[str, ...],
    authorizations: bool,
    discovery: str | None,
    connected_accounts: str | None,
    state_path: str | None,
    full: bool,
    reconcile_every: str,
    state_wait: str,
    min_age: str | None,
    stale_after: str,
    contact: bool,
    report: ReportOptions,
    stripe: StripeOptions,
) -> ExitCode:
    """Find every FC account in a scope and classify it.

    With no scope flag, every FC account of the Stripe account is scanned, found as
    --discovery says. Findings are sorted by severity, then by expected deactivation date.

    \b
    Examples:
      fcaudit scan --sandbox
      fcaudit scan --customer cus_123 --customer cus_456 --format json
      cut -d, -f1 customers.csv | fcaudit scan --customers-from - -o report.json
      fcaudit scan --account-holder acct_123 --stripe-account acct_platform
      fcaudit scan --customer-account acct_1Nv0FG  # an Accounts v2 customer
      fcaudit scan --authorizations --format ndjson | jq 'select(.object|endswith("authorization"))'
      fcaudit scan --discovery accounts -o fc.json   # 1 request per 100 accounts
      fcaudit scan --connected-accounts all -o fc.json   # the platform and every connected account
      fcaudit scan --state fc.sqlite -o fc.json   # daily: events since the last run only
      fcaudit scan --state fc.sqlite --min-age 6h -q   # alert on breaks that lasted 6 hours
      fcaudit scan --fail-on relink_required -q -o /srv/reports/fc.json  # cron
      fcaudit scan --contact -f csv -o worklist.csv   # with names and emails
    """
    app = app_for(report)
    customer_ids = read_customer_ids(customers, customers_from)
    customer_account_ids = unique(
        [check_id(c, id_kinds.CUSTOMER_ACCOUNT, "--customer-account") for c in customer_accounts]
    )
    holder_ids = unique(
        [check_id(h, id_kinds.CONNECTED_ACCOUNT, "--account-holder") for h in holders]
    )
    session_ids = unique([check_id(s, id_kinds.SESSION, "--session") for s in sessions])
    given = [
        name
        for name, present in (
            ("--customer/--customers-from", bool(customers or customers_from)),
            ("--customer-account", bool(customer_account_ids)),
            ("--account-holder", bool(holder_ids)),
            ("--session", bool(session_ids)),
        )
        if present
    ]
    if len(given) > 1:
        raise UsageError(
            f"{' and '.join(given)} conflict: Stripe filters accounts by one of them at a "
            "time. Tip: run one scan per scope type."
        )
    if (customers or customers_from) and not customer_ids:
        raise UsageError("--customers-from: no customer ids found. Tip: one cus_ id per line.")
    # The config file's settings for whole-account scans stand aside for a scope flag, and
    # its --state for a --connected-accounts given: a run's own flags beat configured ones.
    if given:
        discovery = None if configured("discovery") else discovery
        connected_accounts = None if configured("connected_accounts") else connected_accounts
    if given or (connected_accounts is not None and not configured("connected_accounts")):
        state_path = None if configured("state_path") else state_path
    connected = parse_connected_accounts(connected_accounts)
    if given and discovery is not None:
        raise UsageError(
            f"--discovery and {given[0]} conflict: --discovery finds the accounts of a scan "
            "with no scope flag. Tip: drop --discovery (the scope is explicit)."
        )
    if given and connected is not None:
        raise UsageError(
            f"--connected-accounts and {given[0]} conflict: the ids of a scope belong to one "
            "Stripe account. Tip: --stripe-account acct_... with the scope flag."
        )
    if connected is not None and stripe.stripe_account is not None:
        raise UsageError(
            "--connected-accounts and --stripe-account conflict: each connected account is "
            "read with its own Stripe-Account header. Tip: --connected-accounts acct_1,acct_2."
        )
    state = _state_options(
        state_path, full, (reconcile_every, state_wait, min_age), given, connected
    )
    kind: ScopeType | None = None
    ids: list[str] | None = None
    for candidate, values in (
        (ScopeType.CUSTOMER, customer_ids),
        (ScopeType.CUSTOMER_ACCOUNT, customer_account_ids),
        (ScopeType.ACCOUNT_HOLDER, holder_ids),
        (ScopeType.SESSION, session_ids),
    ):
        if values:
            kind, ids = candidate, values
            break
    scopes = [Scope(kind, i) for i in ids] if kind and ids else None
    scope = scope_record(
        kind, ids, stripe_account=stripe.stripe_account, connected_accounts=connected
    )
    whole: dict[str, Any] = {}
    if scopes is None:
        whole = {"discovery": discovery or "auto", "connected_accounts": connected}
    plan = make_plan(
        app,
        "scan",
        scope,
        report,
        stripe_account=stripe.stripe_account,
        contact=contact,
        with_state=state is not None,
    )
    plan = dataclasses.replace(plan, stale_after=parse_duration(stale_after, "--stale-after"))
    return run_remote(
        app,
        stripe,
        plan,
        scopes,
        authorizations=authorizations,
        needs_preview="--authorizations" if authorizations else None,
        contacts=contact,
        state=state,
        **whole,
    )


def _state_options(
    path: str | None,
    full: bool,
    durations: tuple[str, str, str | None],
    given: list[str],
    connected: Any,
) -> Any:
    from fcaudit.options import parse_duration
    from fcaudit.sources.incremental import StateOptions

    reconcile_every, state_wait, min_age = durations
    if min_age is not None and path is None:
        raise UsageError(
            "--min-age goes with --state FILE: how long an account has been broken is known "
            "from the store. Tip: add --state FILE, or drop --min-age."
        )
    context = click.get_current_context()
    Source = click.core.ParameterSource
    # Given for this run: on the command line or in the environment (a default, or the config
    # file's, goes with a --state that may be set elsewhere).
    explicit = [
        f"--{name.replace('_', '-')}"
        for name in ("reconcile_every", "state_wait")
        if context.get_parameter_source(name) in (Source.COMMANDLINE, Source.ENVIRONMENT)
    ]
    if path is None:
        if full or explicit:
            named = "--full" if full else explicit[0]
            raise UsageError(f"{named} goes with --state FILE. Tip: add --state FILE, or drop it.")
        return None
    if not path.strip():
        raise UsageError("--state needs a file path. Tip: e.g. --state /var/lib/fcaudit/fc.sqlite.")
    if given:
        raise UsageError(
            f"--state and {given[0]} conflict: a state file holds a whole account's "
            "inventory. Tip: drop the scope flag."
        )
    if connected is not None:
        raise UsageError(
            "--state and --connected-accounts conflict: incremental runs read one Stripe "
            "account's events. Tip: one --state file per --stripe-account."
        )
    return StateOptions(
        path,
        full,
        parse_duration(reconcile_every, "--reconcile-every"),
        parse_duration(state_wait, "--state-wait"),
        parse_duration(min_age, "--min-age") if min_age is not None else None,
    )
