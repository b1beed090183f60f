"""The CLI end to end, with Stripe faked at the HTTP layer under the real SDK."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
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
from tests.conftest import API, SLEPT, TEST_KEY, run, validate_finding, validate_report
from tests.conftest import report_of as json_out
from tests.factories import AS_OF, account, authorization, expiring, inactive
from tests.stripe_fake import ACCOUNTS, add_accounts, add_customers, add_error

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


def fleet(rsps: responses.RequestsMock) -> dict[str, list[dict[str, Any]]]:
    """Three customers over two customer pages, one with 150 accounts over two pages."""
    by_customer = {
        "cus_a": [
            account(
                "fca_a1",
                customer="cus_a",
                status="inactive",
                status_details=inactive(),
                authorization="fcauth_a",
            ),
            account(
                "fca_a2",
                customer="cus_a",
                status="active",
                status_details=expiring(5),
                authorization="fcauth_a",
            ),
        ],
        "cus_b": [
            account(
                f"fca_b{i:03d}", customer="cus_b", authorization="fcauth_b", institution="Chase"
            )
            for i in range(150)
        ],
        "cus_c": [],
    }
    add_customers(rsps, list(by_customer), per_page=2)
    for cus, accts in by_customer.items():
        add_accounts(rsps, cus, accts)
    return by_customer


def test_scan_every_customer(stripe_api: responses.RequestsMock) -> None:
    fleet(stripe_api)
    result = run("scan", *AS_OF, "--format", "json", "--discovery", "customers")
    doc = json_out(result)
    assert result.exit_code == ExitCode.FINDINGS
    assert doc["summary"]["accounts"] == 152
    assert doc["summary"]["by_category"]["relink_required"] == 1
    assert doc["summary"]["by_category"]["expiring"] == 1
    assert doc["summary"]["by_category"]["active"] == 150
    assert [f["category"] for f in doc["findings"][:2]] == ["relink_required", "expiring"]
    assert doc["complete"] is True and doc["errors"] == []
    assert doc["scope"]["type"] == "all_customers" and doc["scope"]["ids"] is None
    assert doc["scope"]["discovery"]["mode"] == "customers"
    assert doc["stripe_version"] == "2026-09-30.preview"
    assert doc["mode"] == "test"
    assert doc["as_of"] == "2026-11-26T12:00:00Z"
    # every customer page and every account page was requested, nothing else
    assert doc["stats"]["requests"] == len(stripe_api.calls) == 2 + 1 + 2 + 1
    assert "fcaudit: 152 accounts: " in result.stderr


def test_scan_authorizations_retrieves_each_once(stripe_api: responses.RequestsMock) -> None:
    fleet(stripe_api)
    stripe_api.get(
        API + "/v1/financial_connections/authorizations/fcauth_a",
        json=authorization(
            "fcauth_a",
            status="inactive",
            status_details={"inactive": {"action": "relink_required"}},
        ),
    )
    stripe_api.get(
        API + "/v1/financial_connections/authorizations/fcauth_b", json=authorization("fcauth_b")
    )
    doc = json_out(
        run("scan", *AS_OF, "--authorizations", "-f", "json", "--discovery", "customers")
    )
    auth_calls = [c for c in stripe_api.calls if "/authorizations/" in str(c.request.url)]
    assert len(auth_calls) == 2
    auths = {f["id"]: f for f in doc["findings"] if f["object"].endswith("authorization")}
    assert auths["fcauth_a"]["accounts"] == ["fca_a1", "fca_a2"]
    assert auths["fcauth_a"]["category"] == "relink_required"
    assert len(auths["fcauth_b"]["accounts"]) == 150
    assert doc["summary"]["authorizations"] == 2


def test_ndjson_one_finding_per_line(stripe_api: responses.RequestsMock) -> None:
    fleet(stripe_api)
    result = run("scan", *AS_OF, "--format", "ndjson", "--discovery", "customers")
    lines = result.stdout.splitlines()
    assert len(lines) == 152
    records = [json.loads(line) for line in lines]
    for r in records:
        validate_finding(r)
    assert [r["id"] for r in records if r["category"] == "relink_required"] == ["fca_a1"]
    assert result.stderr.count("\n") >= 1 and "{" not in result.stderr


def test_auto_format_is_json_when_piped(stripe_api: responses.RequestsMock) -> None:
    fleet(stripe_api)
    json_out(run("scan", *AS_OF, "--discovery", "customers"))


def test_scope_flags(stripe_api: responses.RequestsMock) -> None:
    fleet(stripe_api)
    doc = json_out(run("scan", *AS_OF, "--customer", "cus_a", "--customer", "cus_a", "-f", "json"))
    assert doc["summary"]["accounts"] == 2
    assert doc["scope"] == {"type": "customers", "ids": ["cus_a"]}
    assert not [c for c in stripe_api.calls if "/v1/customers" in str(c.request.url)]


def test_customers_from_stdin(stripe_api: responses.RequestsMock) -> None:
    fleet(stripe_api)
    doc = json_out(run("scan", *AS_OF, "--customers-from", "-", input="# ids\ncus_a\n\ncus_c\n"))
    assert doc["scope"]["ids"] == ["cus_a", "cus_c"]
    assert doc["summary"]["accounts"] == 2


def test_account_holder_and_session_scopes(stripe_api: responses.RequestsMock) -> None:
    from tests.stripe_fake import add_pages

    add_pages(
        stripe_api,
        ACCOUNTS,
        [account("fca_h", customer=None)],
        query={"account_holder[account]": "acct_1"},
    )
    add_pages(stripe_api, ACCOUNTS, [account("fca_s")], query={"session": "fcsess_1"})
    assert json_out(run("scan", "--account-holder", "acct_1"))["findings"][0]["id"] == "fca_h"
    assert json_out(run("scan", "--session", "fcsess_1"))["findings"][0]["id"] == "fca_s"


def test_stripe_account_header_from_flag_after_command(stripe_api: responses.RequestsMock) -> None:
    add_accounts(stripe_api, "cus_a", [account()])
    result = run(
        "scan",
        "--customer",
        "cus_a",
        "--stripe-account",
        "acct_9",
        "--stripe-version",
        "2026-10-28.endive",
    )
    assert result.exit_code == 0, result.stderr
    req = stripe_api.calls[0].request
    assert req.headers["Stripe-Account"] == "acct_9"
    assert req.headers["Stripe-Version"] == "2026-10-28.endive"
    assert "not a preview version" in result.stderr
    assert json.loads(result.stdout)["stripe_version"] == "2026-10-28.endive"


def test_version_from_environment(stripe_api: responses.RequestsMock) -> None:
    add_accounts(stripe_api, "cus_a", [account()])
    run("scan", "--customer", "cus_a", FCAUDIT_STRIPE_VERSION="2026-01-28.preview")
    assert stripe_api.calls[0].request.headers["Stripe-Version"] == "2026-01-28.preview"


def test_api_base_flag_and_env(stripe_api: responses.RequestsMock) -> None:
    stripe_api.get("http://127.0.0.1:9/v1/financial_connections/accounts/fca_1", json=account())
    assert run("account", "fca_1", "--api-base", "http://127.0.0.1:9").exit_code == 0
    assert run("account", "fca_1", FCAUDIT_API_BASE="http://127.0.0.1:9").exit_code == 0


def test_restricted_key_works(stripe_api: responses.RequestsMock) -> None:
    stripe_api.get(API + ACCOUNTS + "/fca_1", json=account())
    result = run("account", "fca_1", key="rk_test_restricted123")
    assert result.exit_code == 0
    assert stripe_api.calls[0].request.headers["Authorization"] == "Bearer rk_test_restricted123"


# -- exit codes ---------------------------------------------------------------------------


def test_exit_0_when_nothing_matches(stripe_api: responses.RequestsMock) -> None:
    add_accounts(stripe_api, "cus_a", [account(), account("fca_2", status="disconnected")])
    assert run("scan", "--customer", "cus_a").exit_code == ExitCode.OK


@pytest.mark.parametrize(
    ("fail_on", "code"),
    [
        ("none", 0),
        ("any", 1),
        ("disconnected", 1),
        ("expiring", 0),
        ("relink_required,expiring", 0),
    ],
)
def test_fail_on(stripe_api: responses.RequestsMock, fail_on: str, code: int) -> None:
    add_accounts(stripe_api, "cus_a", [account(), account("fca_2", status="disconnected")])
    assert run("scan", "--customer", "cus_a", "--fail-on", fail_on).exit_code == code


def test_exit_3_on_bad_key_and_key_never_printed(
    stripe_api: responses.RequestsMock, tmp_path: Path
) -> None:
    add_error(stripe_api, "/v1/customers", 401, message=f"Invalid API Key provided: {TEST_KEY}")
    report = tmp_path / "report.json"
    report.write_text("previous report")
    result = run("scan", "-o", str(report), "--discovery", "customers")
    assert result.exit_code == ExitCode.AUTH
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1
    assert TEST_KEY not in result.stdout + result.stderr
    assert report.read_text() == "previous report"
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


def test_exit_3_on_permission_error_mid_scan(stripe_api: responses.RequestsMock) -> None:
    add_customers(stripe_api, ["cus_a", "cus_b"])
    add_error(stripe_api, ACCOUNTS, 403, message="restricted key lacks financial_connections read")
    result = run("scan")
    assert result.exit_code == ExitCode.AUTH
    assert "403" in result.stderr and "Tip:" in result.stderr


def test_exit_4_when_customer_listing_fails(stripe_api: responses.RequestsMock) -> None:
    for _ in range(10):
        add_error(stripe_api, "/v1/customers", 500, type="api_error", message="boom")
    result = run("scan", "--max-retries", "2", "--discovery", "customers")
    assert result.exit_code == ExitCode.API
    assert "listing customers failed" in result.stderr
    assert len(stripe_api.calls) == 3
    assert "req_err_500" in result.stderr
    # Two jittered exponential backoff waits (recorded by the injected sleep, not slept).
    assert len(SLEPT) == 2
    assert 0.25 <= SLEPT[0] <= 0.5 <= SLEPT[1] <= 1.0


def test_exit_5_when_a_scope_fails(stripe_api: responses.RequestsMock, tmp_path: Path) -> None:
    add_customers(stripe_api, ["cus_a", "cus_gone"])
    add_accounts(stripe_api, "cus_a", [account()])
    add_error(
        stripe_api,
        ACCOUNTS,
        404,
        message="No such customer: 'cus_gone'",
        query={"account_holder[customer]": "cus_gone"},
    )
    out = tmp_path / "r.json"
    result = run("scan", "-o", str(out), "--discovery", "customers")
    assert result.exit_code == ExitCode.INCOMPLETE
    doc = json.loads(out.read_text())
    validate_report(doc)
    assert doc["complete"] is False
    assert doc["errors"] == [
        {
            "scope": {"type": "customer", "id": "cus_gone"},
            "message": "No such customer: 'cus_gone' (HTTP 404)",
            "request_id": "req_err_404",
            "http_status": 404,
            "code": "resource_missing",
            "attempts": 1,
        }
    ]
    assert doc["summary"]["accounts"] == 1
    assert result.stdout == ""
    assert "cus_gone" in result.stderr and "report written to" in result.stderr


def test_account_not_found_is_reported(stripe_api: responses.RequestsMock) -> None:
    stripe_api.get(API + ACCOUNTS + "/fca_1", json=account())
    add_error(stripe_api, ACCOUNTS + "/fca_nope", 404)
    result = run("account", "fca_1", "fca_nope", "-f", "json")
    assert result.exit_code == ExitCode.INCOMPLETE
    doc = json_out(result)
    assert [f["id"] for f in doc["findings"]] == ["fca_1"]
    assert doc["errors"][0]["scope"] == {"type": "account", "id": "fca_nope"}


# -- output -------------------------------------------------------------------------------


def test_output_file_is_written_atomically(
    stripe_api: responses.RequestsMock, tmp_path: Path
) -> None:
    add_accounts(stripe_api, "cus_a", [account()])
    out = tmp_path / "report.ndjson"
    out.write_text("old")
    result = run("scan", "--customer", "cus_a", "-o", str(out), "-f", "ndjson")
    assert result.exit_code == 0
    assert result.stdout == ""
    assert json.loads(out.read_text().splitlines()[0])["id"] == "fca_1"
    assert [p.name for p in tmp_path.iterdir()] == ["report.ndjson"]


def test_output_to_missing_directory_is_a_usage_error(
    stripe_api: responses.RequestsMock, tmp_path: Path
) -> None:
    result = run("scan", "-o", str(tmp_path / "nope" / "r.json"))
    assert result.exit_code == ExitCode.USAGE
    assert "does not exist" in result.stderr
    assert not stripe_api.calls


def test_table_prints_untrusted_names_literally(stripe_api: responses.RequestsMock) -> None:
    evil = "[bold red]PAID[/] \x1b[31mred\x1b[0m \x1b]8;;http://x\x07link"
    add_accounts(
        stripe_api,
        "cus_a",
        [
            account(
                display_name=evil,
                institution="[link=http://evil]Bank[/link]",
                status="inactive",
                status_details=inactive(),
            )
        ],
    )
    result = run("scan", "--customer", "cus_a", "-f", "table", "--color")
    assert "\x1b[1;31mrelink_required" in result.stdout  # colour is really on
    # The only escape sequences left are fcaudit's own colours (SGR), none from the data.
    plain = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout)
    assert "\x1b" not in plain and "\x07" not in plain
    # The table cuts long names with an ellipsis; what it shows is the literal text.
    assert "[bold red]PAID[/] \\x1b" in plain
    assert "[link=http://evil]Bank[/link]" in plain


def test_json_escapes_terminal_controls(stripe_api: responses.RequestsMock) -> None:
    add_accounts(
        stripe_api,
        "cus_a",
        [account(display_name="a\x1b[2Jb\x9bc\u202ed", institution="Café 日本")],
    )
    out = run("scan", "--customer", "cus_a", "-f", "ndjson").stdout
    assert "\x1b" not in out and "\x9b" not in out and "\u202e" not in out
    record = json.loads(out)
    assert record["display_name"] == "a\x1b[2Jb\x9bc\u202ed"
    assert record["institution_name"] == "Café 日本"


def test_lone_surrogates_from_the_api_become_replacement_characters(
    stripe_api: responses.RequestsMock,
) -> None:
    # JSON's escapes allow "\ud800", which is not text: no UTF-8 report could hold it.
    add_accounts(stripe_api, "cus_a", [account(display_name="a\ud800b", status="inactive")])
    for fmt in ("ndjson", "csv", "markdown", "html", "table"):
        result = run("scan", "--customer", "cus_a", "-f", fmt)
        assert result.exit_code == ExitCode.FINDINGS, result.stderr
        assert "a\ufffdb" in result.stdout and "\ud800" not in result.stdout


@pytest.mark.parametrize(
    "fmt", ["ndjson", "json", "csv", "markdown", "html", "prometheus", "table"]
)
def test_classify_of_lone_surrogates_writes_every_format(tmp_path: Path, fmt: str) -> None:
    line = '{"id": "fca_1", "object": "financial_connections.account", "status": "inactive", '
    line += '"display_name": "a\\ud800b", "institution_name": "\\udc00Bank"}\n'
    result = run("classify", "-", "-f", fmt, input=line, key=None)
    assert result.exit_code == ExitCode.FINDINGS, result.stderr
    if fmt in ("ndjson", "json", "csv", "markdown", "html", "table"):
        assert "a\ufffdb" in result.stdout


def test_table_summary_and_hidden_active(stripe_api: responses.RequestsMock) -> None:
    fleet(stripe_api)
    out = run("scan", *AS_OF, "-f", "table", "--discovery", "customers").stdout
    assert "fca_a1" in out and "fca_a2" in out and "fca_b000" not in out
    assert "150 active findings not listed" in out
    assert "Summary: 152 accounts: 1 relink_required, 1 expiring, 150 active" in out
    assert (
        "fca_b000"
        in run("scan", *AS_OF, "-f", "table", "--show-active", "--discovery", "customers").stdout
    )


def test_account_detail_view_shows_status_signals(stripe_api: responses.RequestsMock) -> None:
    obj = account(status="inactive", status_details=inactive("account_closed", "none"))
    obj["balance_refresh"] = {"status": "failed", "last_attempted_at": 1764000000}
    stripe_api.get(API + ACCOUNTS + "/fca_1", json=obj)
    out = run("account", "fca_1", "-f", "table").stdout
    for text in (
        "inactive_unrepairable",
        "status_details.inactive.cause",
        "account_closed",
        "balance_refresh.status",
        "failed",
    ):
        assert text in out


def test_no_color_means_no_escape_codes(stripe_api: responses.RequestsMock) -> None:
    add_accounts(stripe_api, "cus_a", [account(status="inactive", status_details=inactive())])
    assert "\x1b[" not in run("scan", "--customer", "cus_a", "-f", "table").stdout


# -- bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["account", "cus_1"], "is not a Financial Connections account id"),
        (["authorization", "fca_1"], "is not a Financial Connections authorization id"),
        (["scan", "--customer", "fca_1"], "is not a customer id"),
        (["scan", "--customer", "cus_1", "--session", "fcsess_1"], "conflict"),
        (["scan", "--account-holder", "cus_1"], "connected account id"),
        (["scan", "--as-of", "yesterday"], "--as-of"),
        (["scan", "--fail-on", "broken"], "unknown category or signal 'broken'"),
        (["scan", "--format", "xml"], "'xml' is not one of"),
        (["scan", "--stripe-account", "cus_1"], "connected account id"),
        (["scan", "--api-base", "ftp://x"], "not an http(s) URL"),
        (["scan", "--api-base", "http://api.example.com"], "unencrypted"),
        (["scan", "--sandbox", "--api-base", "http://127.0.0.1:1"], "conflict"),
    ],
)
def test_usage_errors(stripe_api: responses.RequestsMock, args: list[str], needle: str) -> None:
    result = run(*args)
    assert result.exit_code == ExitCode.USAGE, result.stderr
    assert needle in result.stderr
    assert "Traceback" not in result.stderr
    assert not stripe_api.calls


def test_missing_key(stripe_api: responses.RequestsMock) -> None:
    result = run("scan", key=None)
    assert result.exit_code == ExitCode.USAGE
    assert "STRIPE_API_KEY" in result.stderr and "--sandbox" in result.stderr


def test_publishable_key_refused_without_echo() -> None:
    result = run("scan", key="pk_test_abcdef123456")
    assert result.exit_code == ExitCode.USAGE
    assert "abcdef123456" not in result.stderr


def test_bad_customers_file_line(tmp_path: Path) -> None:
    ids = tmp_path / "ids.txt"
    ids.write_text("cus_1\nfca_2\n")
    result = run("scan", "--customers-from", str(ids))
    assert result.exit_code == ExitCode.USAGE
    assert "ids.txt line 2" in result.stderr


# -- classify (offline) -------------------------------------------------------------------


def classify_json(tmp_path: Path, content: str, *args: str) -> Any:
    src = tmp_path / "in.json"
    src.write_text(content)
    return run("classify", str(src), *AS_OF, "-f", "json", *args, key=None)


def test_classify_inputs(tmp_path: Path) -> None:
    a = account("fca_x", status="inactive", status_details=inactive())
    b = account("fca_y")
    variants = {
        "object": json.dumps(a, indent=2),
        "array": json.dumps([a, b]),
        "list": json.dumps(
            {"object": "list", "data": [a, b], "has_more": False, "url": "/v1/x"}, indent=1
        ),
        "ndjson": json.dumps(a) + "\n\n" + json.dumps(b) + "\n",
        "event": json.dumps(
            {
                "id": "evt_1",
                "object": "event",
                "type": "financial_connections.account.deactivated",
                "api_version": "2026-09-30.preview",
                "data": {"object": a},
            }
        ),
    }
    for name, content in variants.items():
        result = classify_json(tmp_path, content)
        doc = json_out(result)
        assert doc["findings"][0]["id"] == "fca_x", name
        assert doc["findings"][0]["category"] == "relink_required", name
        assert result.exit_code == ExitCode.FINDINGS, name


def test_classify_event_rendered_in_ga_explains_version(tmp_path: Path) -> None:
    a = account("fca_x", status="inactive", status_details={})
    event = {
        "id": "evt_1",
        "object": "event",
        "api_version": "2026-10-28.endive",
        "data": {"object": a},
    }
    doc = json_out(classify_json(tmp_path, json.dumps(event)))
    assert doc["findings"][0]["category"] == "inactive_unknown"
    assert "2026-10-28.endive" in doc["findings"][0]["detail"]


def test_classify_stdin() -> None:
    result = run("classify", "-", "-f", "ndjson", input=json.dumps(account()), key=None)
    assert result.exit_code == 0
    assert json.loads(result.stdout)["category"] == "active"


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ('{"id": "fca_1",\n  "status": }', "invalid JSON at line 2"),
        (
            '{"id": "fca_1", "object": "financial_connections.account"}\n{oops\n',
            "line 2: invalid JSON",
        ),
        ('{"id": "cus_1", "object": "customer"}', "got object='customer'"),
        ("", "no input"),
        ("[1, 2]", "expected a JSON object"),
    ],
)
def test_classify_bad_input(tmp_path: Path, content: str, needle: str) -> None:
    result = classify_json(tmp_path, content)
    assert result.exit_code == ExitCode.USAGE
    assert needle in result.stderr
    assert result.stderr.count("\n") == 1


def test_classify_ndjson_stopped_by_bad_input_keeps_the_lines_before_it(tmp_path: Path) -> None:
    # NDJSON gathers lines into chunks offline; a run stopped by an error still writes what it
    # classified (minus relink_required findings, held to the end of a run for their counts).
    good = [account(f"fca_{i}", display_name="x" * 200) for i in range(300)]
    text = "".join(json.dumps(a) + "\n" for a in good) + "{oops\n"
    result = run("classify", "-", "-f", "ndjson", input=text, key=None)
    assert result.exit_code == ExitCode.USAGE
    assert "line 301: invalid JSON" in result.stderr
    assert [json.loads(line)["id"] for line in result.stdout.splitlines()] == [
        a["id"] for a in good
    ]


def test_classify_to_dev_stdout_stopped_by_bad_input_keeps_every_line(tmp_path: Path) -> None:
    # -o /dev/stdout writes through the process's own descriptor: a run stopped by an error
    # still writes every finding it made there, as on plain stdout.
    good = [account(f"fca_{i}", display_name="x" * 200) for i in range(300)]
    text = "".join(json.dumps(a) + "\n" for a in good) + "{oops\n"
    command = [sys.executable, "-m", "fcaudit", "classify", "-", "-f", "ndjson", "-o"]
    result = subprocess.run([*command, "/dev/stdout"], input=text.encode(), capture_output=True)
    assert result.returncode == ExitCode.USAGE
    assert b"line 301: invalid JSON" in result.stderr
    assert [json.loads(line)["id"] for line in result.stdout.splitlines()] == [
        a["id"] for a in good
    ]


def test_classify_missing_file() -> None:
    result = run("classify", "/nonexistent/x.json", key=None)
    assert result.exit_code == ExitCode.USAGE
    assert "cannot read" in result.stderr


def test_classify_needs_no_key_and_sends_nothing(
    tmp_path: Path, stripe_api: responses.RequestsMock
) -> None:
    assert classify_json(tmp_path, json.dumps(account())).exit_code == 0
    assert not stripe_api.calls


# -- help ---------------------------------------------------------------------------------


@pytest.mark.parametrize("command", [[], ["scan"], ["account"], ["authorization"], ["classify"]])
def test_help_has_examples(command: list[str]) -> None:
    result = run(*command, "--help")
    assert result.exit_code == 0
    assert "Examples:" in result.stdout


def test_version_is_the_packages_own() -> None:
    import tomllib

    import fcaudit

    # One source: fcaudit/__init__.py, which pyproject.toml reads for the package metadata.
    pyproject = tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text())
    assert "version" in pyproject["project"]["dynamic"]
    assert "version" not in pyproject["project"]
    dynamic = pyproject["tool"]["setuptools"]["dynamic"]["version"]
    assert dynamic == {"attr": "fcaudit.__version__"}
    assert run("--version").stdout == f"fcaudit, version {fcaudit.__version__}\n"


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


def test_malformed_bodies_mid_scan_lose_nothing(stripe_api: responses.RequestsMock) -> None:
    from responses import matchers

    add_customers(stripe_api, ["cus_a", "cus_b"])
    query = {"account_holder[customer]": "cus_a", "limit": "100"}
    stripe_api.get(
        API + ACCOUNTS,
        body='{"object": "list", "data": [{"id": "fca_',  # a truncated body, as from a proxy
        match=[matchers.query_param_matcher(query)],
    )
    add_accounts(stripe_api, "cus_a", [account("fca_a", customer="cus_a")])
    add_accounts(stripe_api, "cus_b", [account("fca_b", customer="cus_b")])
    result = run("scan", "-f", "json", "--discovery", "customers")
    doc = json_out(result)
    assert result.exit_code == 0, result.stderr
    assert sorted(f["id"] for f in doc["findings"]) == ["fca_a", "fca_b"]
    assert doc["stats"]["retries"] == 1 and doc["complete"] is True


def test_output_through_a_symlink_replaces_the_target(
    stripe_api: responses.RequestsMock, tmp_path: Path
) -> None:
    add_accounts(stripe_api, "cus_a", [account()])
    real = tmp_path / "reports" / "fc.json"
    real.parent.mkdir()
    real.write_text("old")
    link = tmp_path / "latest.json"
    link.symlink_to(real)
    assert run("scan", "--customer", "cus_a", "-o", str(link)).exit_code == 0
    assert link.is_symlink()
    assert json.loads(real.read_text())["findings"][0]["id"] == "fca_1"


def test_output_to_a_device_or_pipe_writes_through(
    stripe_api: responses.RequestsMock, tmp_path: Path
) -> None:
    import os
    import stat
    import threading

    add_accounts(stripe_api, "cus_a", [account()])
    assert run("scan", "--customer", "cus_a", "-o", os.devnull).exit_code == 0
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)  # still the device, never replaced
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[str] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text()))
    reader.start()
    assert run("scan", "--customer", "cus_a", "-o", str(fifo), "-f", "ndjson").exit_code == 0
    reader.join(timeout=10)
    assert json.loads(received[0])["id"] == "fca_1"
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


# -- review follow-ups --------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["scan", "--authorizations", "--stripe-version", "2026-10-28.endive"],
        ["authorization", "fcauth_1", "--stripe-version", "2026-10-28.endive"],
    ],
)
def test_authorizations_need_a_preview_version(
    stripe_api: responses.RequestsMock, args: list[str]
) -> None:
    result = run(*args)
    assert result.exit_code == ExitCode.USAGE
    assert "needs a preview API version" in result.stderr
    assert not stripe_api.calls


def test_customers_file_that_is_not_utf8(tmp_path: Path) -> None:
    ids = tmp_path / "ids.txt"
    ids.write_bytes(b"cus_1\n\xff\xfe\n")
    result = run("scan", "--customers-from", str(ids))
    assert result.exit_code == ExitCode.USAGE
    assert "ids.txt is not UTF-8 text" in result.stderr


def test_customers_file_with_bom(stripe_api: responses.RequestsMock, tmp_path: Path) -> None:
    add_accounts(stripe_api, "cus_a", [account()])
    ids = tmp_path / "ids.txt"
    ids.write_text("\ufeffcus_a\n", encoding="utf-8")
    assert run("scan", "--customers-from", str(ids)).exit_code == 0


def test_http_api_base_must_be_a_literal_loopback(stripe_api: responses.RequestsMock) -> None:
    result = run("scan", "--api-base", "http://127.example.com")
    assert result.exit_code == ExitCode.USAGE and "unencrypted" in result.stderr


@pytest.mark.parametrize(
    "args", [["scan", "--bogus"], ["scan", "-f", "xml"], ["scan", "--expiring-within", "-1"]]
)
def test_click_usage_errors_are_one_line(args: list[str]) -> None:
    result = run(*args)
    assert result.exit_code == ExitCode.USAGE
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1
    assert "Tip: see 'fcaudit scan --help'" in result.stderr


def test_quiet_still_reports_failed_scopes(stripe_api: responses.RequestsMock) -> None:
    add_error(stripe_api, ACCOUNTS, 404, message="No such customer: 'cus_zz'")
    result = run("scan", "--customer", "cus_zz", "-q")
    assert result.exit_code == ExitCode.INCOMPLETE
    assert "cus_zz" in result.stderr and "fcaudit:" not in result.stderr


def test_errors_are_sorted(stripe_api: responses.RequestsMock) -> None:
    add_error(stripe_api, ACCOUNTS, 404, message="gone")
    result = run("scan", "--customer", "cus_b", "--customer", "cus_c", "--customer", "cus_a")
    ids = [e["scope"]["id"] for e in json.loads(result.stdout)["errors"]]
    assert ids == ["cus_a", "cus_b", "cus_c"]


def test_one_odd_object_does_not_stop_its_scope(stripe_api: responses.RequestsMock) -> None:
    odd = {"id": "cus_weird", "object": "customer"}
    add_accounts(stripe_api, "cus_a", [account("fca_1"), odd, account("fca_2")], per_page=2)
    result = run("scan", "--customer", "cus_a")
    doc = json_out(result)
    assert sorted(f["id"] for f in doc["findings"]) == ["fca_1", "fca_2"]
    assert doc["errors"][0]["scope"] == {"type": "account", "id": "cus_weird"}
    assert result.exit_code == ExitCode.INCOMPLETE


def test_sandbox_ignores_an_exported_api_base() -> None:
    result = run(
        "scan", "--sandbox", "-q", "--fail-on", "none", FCAUDIT_API_BASE="http://127.0.0.1:9"
    )
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["summary"]["accounts"] > 1000


def test_network_errors_name_the_reason(stripe_api: responses.RequestsMock) -> None:
    import requests

    for _ in range(3):
        stripe_api.get(
            API + ACCOUNTS + "/fca_1",
            body=requests.ConnectionError(
                "HTTPConnectionPool(host='x', port=1): Max retries exceeded (Caused by "
                "NewConnectionError('<conn>: Failed to establish a new connection: "
                "[Errno 111] Connection refused'))"
            ),
        )
    result = run("account", "fca_1", "--max-retries", "0")
    assert "could not reach the API ([Errno 111] Connection refused)" in result.stderr


def test_auth_error_message_reads_cleanly(stripe_api: responses.RequestsMock) -> None:
    add_error(stripe_api, "/v1/customers", 401, message="Invalid API Key provided: sk_test_****.")
    result = run("scan")
    assert ".." not in result.stderr and "Tip:" in result.stderr
