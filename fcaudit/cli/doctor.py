"""`fcaudit doctor`: what a first run needs, checked with a handful of GET requests."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from fcaudit.cli.options import stripe_options
from fcaudit.errors import ExitCode, UsageError
from fcaudit.options import StripeOptions
from fcaudit.text import safe

if TYPE_CHECKING:
    from fcaudit.doctor import Check, Size
    from fcaudit.sources.state_check import Inventory


@click.command()
@click.option(
    "--format",
    "-f",
    "fmt",
    type=click.Choice(["table", "json"], case_sensitive=False),
    default="table",
    show_default=True,
    help="A table (✓/✗ per check, with the fix), or JSON for other programs.",
)
@click.option(
    "--state",
    "state_path",
    metavar="FILE",
    help="Estimate the reads from this --state store's counts (accounts, customers with one, "
    "authorizations): read-only, without waiting for a run that holds it.",
)
@click.option(
    "--accounts",
    "accounts",
    type=click.IntRange(min=0),
    metavar="N",
    help="Estimate the reads for N FC accounts (over the --state store's count).",
)
@click.option(
    "--customers",
    "customers",
    type=click.IntRange(min=0),
    metavar="N",
    help="Estimate the fan-out's reads for N customers, with or without accounts (over the "
    "--state store's count of customers with one). Default: one per account.",
)
@stripe_options
def doctor(
    fmt: str,
    state_path: str | None,
    accounts: int | None,
    customers: int | None,
    stripe: StripeOptions,
) -> ExitCode:
    """Check what a first run needs, with a handful of GET requests.

    The key (kind, mode, and whether it reads FC accounts, customers and events; for a
    restricted key, the missing permission as Stripe names it), the account, the API version
    and its preview fields, whether Stripe accepts the unfiltered account list, how far back
    events reach, and Connect; and what a daily run would read: for this account's size with
    --state FILE or --accounts N / --customers N, else per 10,000 accounts.

    Exit 0 when every check passes, 3 for a key or permission problem, 4 for an API error.

    \b
    Examples:
      fcaudit doctor
      fcaudit doctor --sandbox
      fcaudit doctor --format json | jq '.checks[] | select(.ok | not)'
      fcaudit doctor --sandbox --accounts 250000 --customers 400000
    """
    from fcaudit.app import AppContext
    from fcaudit.doctor import check_key, run_checks, size_of

    ctx = click.get_current_context()
    app = ctx.find_object(AppContext) or ctx.ensure_object(AppContext)
    stored = _inventory(state_path) if state_path is not None else None
    shown = _Shown(fmt, size_of(accounts, customers, stored), stored, state_path)
    if not stripe.sandbox:
        key = check_key(stripe.api_key)
        if not key.ok:
            return shown([key])
    with app.gateway(stripe) as gateway:
        checks = run_checks(gateway, app.clock(), sandbox=stripe.sandbox)
    return shown(checks)


def _inventory(path: str) -> Inventory:
    """A --state store's counts; a store that can't be read is exit 2 before any request."""
    from fcaudit.sources.state_check import inventory

    if not path.strip():
        raise UsageError("--state is empty. Tip: name a store file, or drop --state.")
    try:
        return inventory(path)
    except ValueError as err:
        raise UsageError(
            f"--state {safe(path)}: {safe(err)}. Tip: name the file of 'fcaudit scan --state', "
            "or give --accounts N instead."
        ) from None


class _Shown:
    """Prints the checks, the estimate and the config file; returns the exit code."""

    def __init__(self, fmt: str, size: Size, stored: Inventory | None, path: str | None):
        self.fmt, self.size, self.stored, self.path = fmt.lower(), size, stored, path

    def __call__(self, checks: list[Check]) -> ExitCode:
        from fcaudit.cli.config import used
        from fcaudit.doctor import as_record, exit_code

        config = used()
        if self.fmt == "json":
            record = as_record(checks, self.size, config)
            click.echo(json.dumps(record, indent=2, ensure_ascii=False))
            return exit_code(checks)
        width = max(len(c.name) for c in checks)
        for c in checks:
            click.echo(f"{'✓' if c.ok else '✗'} {c.name:<{width}}  {safe(c.detail)}")
            if not c.ok and c.fix:
                click.echo(f"  {'':<{width}}  fix: {safe(c.fix)}")
        for line in self.estimate_lines():
            click.echo(line)
        click.echo(
            f"Config file: {safe(config)}."
            if config
            else "Config file: none (README: Configuration file)."
        )
        return exit_code(checks)

    def estimate_lines(self) -> list[str]:
        from fcaudit.doctor import estimate

        e, size = estimate(self.size), self.size
        reads = (
            f"{e['accounts_mode_daily']:,} a day ({e['accounts_mode_monthly']:,} a month) by "
            f"the account list, {e['fan_out_daily']:,} ({e['fan_out_monthly']:,}) by the "
            f"fan-out; Stripe's floor is {e['monthly_floor']:,} a month (README: Request budget)."
        )
        if size.basis == "per_10000":
            return [
                f"Reads of a daily run, per {size.accounts:,} accounts (one per customer): {reads}",
                "For this account's own figures: --state FILE (the store of 'scan --state'), "
                "or --accounts N and --customers N.",
            ]
        where = f" (store {safe(self.path)})" if self.stored is not None else ""
        lines = [
            f"Reads of a daily run for {size.accounts:,} accounts and {size.customers:,} "
            f"customers{where}: {reads}"
        ]
        if self.stored is not None and size.customers == self.stored.holders:
            lines.append(
                "The store knows the customers with a linked account; the fan-out also reads "
                "those without one: --customers N for all of them."
            )
        if size.authorizations:
            lines.append(
                f"--authorizations adds {size.authorizations:,} a run (one per authorization)."
            )
        return lines
