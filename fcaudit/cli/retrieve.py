"""`fcaudit account` and `fcaudit authorization`: retrieve objects by id."""

from __future__ import annotations

import click

from fcaudit.cli.common import app_for, make_plan, run_remote, unique
from fcaudit.cli.options import report_options, stripe_options
from fcaudit.errors import ExitCode
from fcaudit.model.report import Scope, ScopeType, scope_record
from fcaudit.options import ReportOptions, StripeOptions
from fcaudit.stripe import ids as id_kinds
from fcaudit.stripe.ids import check_id

_KINDS = {ScopeType.ACCOUNT: id_kinds.ACCOUNT, ScopeType.AUTHORIZATION: id_kinds.AUTHORIZATION}


def _retrieve(
    kind: ScopeType, ids: tuple[str, ...], report: ReportOptions, stripe: StripeOptions
) -> ExitCode:
    app = app_for(report)
    checked = unique([check_id(i, _KINDS[kind]) for i in ids])
    scope = scope_record(kind, checked, stripe_account=stripe.stripe_account)
    plan = make_plan(
        app, str(kind), scope, report, detail=True, stripe_account=stripe.stripe_account
    )
    return run_remote(
        app,
        stripe,
        plan,
        [Scope(kind, i) for i in checked],
        needs_preview="fcaudit authorization" if kind is ScopeType.AUTHORIZATION else None,
    )


@click.command()
@click.argument("ids", nargs=-1, required=True, metavar="FCA_ID...")
@report_options
@stripe_options
def account(ids: tuple[str, ...], report: ReportOptions, stripe: StripeOptions) -> ExitCode:
    """Retrieve FC accounts by id and classify them.

    In table mode each account gets a detail view with every status signal.

    \b
    Examples:
      fcaudit account fca_1MwVK2
      fcaudit account fca_1 fca_2 --format json | jq '.findings[] | {id, category}'
      fcaudit account fca_1 --stripe-version 2026-09-30.preview
    """
    return _retrieve(ScopeType.ACCOUNT, ids, report, stripe)


@click.command()
@click.argument("ids", nargs=-1, required=True, metavar="FCAUTH_ID...")
@report_options
@stripe_options
def authorization(ids: tuple[str, ...], report: ReportOptions, stripe: StripeOptions) -> ExitCode:
    """Retrieve FC authorizations by id (preview API versions only) and classify them.

    One relink of an authorization repairs every account linked through it.

    \b
    Examples:
      fcaudit authorization fcauth_1Mx9
      fcaudit authorization fcauth_1 fcauth_2 --format ndjson
    """
    return _retrieve(ScopeType.AUTHORIZATION, ids, report, stripe)
