"""`fcaudit doctor`: what a first run needs, checked with a handful of GET requests."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from fcaudit.cli.options import stripe_options
from fcaudit.errors import ExitCode
from fcaudit.options import StripeOptions
from fcaudit.text import safe

if TYPE_CHECKING:
    from fcaudit.doctor import Check


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
@stripe_options
def doctor(fmt: str, stripe: StripeOptions) -> ExitCode:
    """Check what a first run needs, with a handful of GET requests.

    The key (kind, mode, and whether it reads FC accounts, customers and events; for a
    restricted key, the missing permission as Stripe names it), the account, the API version
    and its preview fields, whether Stripe accepts the unfiltered account list, how far back
    events reach, and Connect; and what a daily run would read.

    Exit 0 when every check passes, 3 for a key or permission problem, 4 for an API error.

    \b
    Examples:
      fcaudit doctor
      fcaudit doctor --sandbox
      fcaudit doctor --format json | jq '.checks[] | select(.ok | not)'
    """
    from fcaudit.app import AppContext
    from fcaudit.doctor import check_key, run_checks

    ctx = click.get_current_context()
    app = ctx.find_object(AppContext) or ctx.ensure_object(AppContext)
    if not stripe.sandbox:
        key = check_key(stripe.api_key)
        if not key.ok:
            return _show([key], fmt)
    with app.gateway(stripe) as gateway:
        checks = run_checks(gateway, app.clock(), sandbox=stripe.sandbox)
    return _show(checks, fmt)


def _show(checks: list[Check], fmt: str) -> ExitCode:
    """Print the checks (a table, or JSON on stdout); the exit code they make."""
    from fcaudit.cli.config import used
    from fcaudit.doctor import as_record, estimate, exit_code

    config = used()
    if fmt.lower() == "json":
        click.echo(json.dumps(as_record(checks, config), indent=2, ensure_ascii=False))
        return exit_code(checks)
    width = max(len(c.name) for c in checks)
    for c in checks:
        click.echo(f"{'✓' if c.ok else '✗'} {c.name:<{width}}  {safe(c.detail)}")
        if not c.ok and c.fix:
            click.echo(f"  {'':<{width}}  fix: {safe(c.fix)}")
    e = estimate()
    click.echo(
        f"Reads of a daily run, per {e['per_accounts']:,} accounts (one per customer): "
        f"{e['accounts_mode_daily']:,} a day ({e['accounts_mode_monthly']:,} a month) by the "
        f"account list, {e['fan_out_daily']:,} ({e['fan_out_monthly']:,}) by the fan-out; "
        f"Stripe's floor is {e['monthly_floor']:,} a month (README: Request budget)."
    )
    click.echo(
        f"Config file: {safe(config)}."
        if config
        else "Config file: none (README: Configuration file)."
    )
    return exit_code(checks)
