"""The progress line on stderr: what it counts, and that no cursor control reaches a stderr
that is not a terminal."""

from __future__ import annotations

import io
import re

import responses
from rich.console import Console

from fcaudit.app import AppContext
from fcaudit.cli.common import make_plan
from fcaudit.cli.progress import ProgressDisplay
from fcaudit.errors import ExitCode
from fcaudit.options import ReportOptions
from fcaudit.policy import DEFAULT_FAIL_ON, parse_fail_on
from fcaudit.runner import Pipeline
from fcaudit.sources.scan import Scanner
from fcaudit.stripe.gateway import ClientSettings, StripeGateway
from tests.cli.test_scan import fleet
from tests.conftest import API, TEST_KEY, run
from tests.factories import account, authorization
from tests.stripe_fake import add_accounts, add_customers

REPORT = ReportOptions(
    fmt="json",
    output=None,
    fail_on=parse_fail_on(DEFAULT_FAIL_ON),
    as_of="2026-11-26T12:00:00Z",
    horizon_days=30,
    show_active=False,
    quiet=True,
    color=None,
)


def test_progress_display_counts(stripe_api: responses.RequestsMock) -> None:
    fleet(stripe_api)
    for auth in ("fcauth_a", "fcauth_b"):
        stripe_api.get(
            f"{API}/v1/financial_connections/authorizations/{auth}", json=authorization(auth)
        )
    gw = StripeGateway(ClientSettings(api_key=TEST_KEY, stripe_version="2026-09-30.preview"))
    scanner = Scanner(gw, None, authorizations=True)
    console = Console(file=io.StringIO(), force_terminal=True, width=200)
    app = AppContext(stdout=io.StringIO(), stderr=io.StringIO())
    plan = make_plan(app, "scan", {}, REPORT)
    pipeline = Pipeline(app, plan)
    display = ProgressDisplay(console, scanner, pipeline.result, gw.stats)
    assert pipeline.run(scanner) == ExitCode.FINDINGS
    line = display._render().plain
    assert "customers 3/3" in line  # authorization fetches are not counted as customers
    assert "accounts 152" in line
    assert "requests 8" in line
    assert "retries 0 (429: 0)" in line


def test_color_never_sends_cursor_controls_to_a_stderr_that_is_not_a_terminal(
    stripe_api: responses.RequestsMock,
) -> None:
    add_customers(stripe_api, ["cus_a"])
    add_accounts(stripe_api, "cus_a", [account("fca_1", customer="cus_a")])
    result = run("scan", "--color", "-f", "json", "--discovery", "customers")
    assert result.exit_code == 0
    # Colour (SGR, `ESC [ ... m`) is what --color asks for; nothing else may reach stderr.
    assert not re.search(r"\x1b\[[0-9;?]*[A-Za-ln-z]|\r", result.stderr), repr(result.stderr)
