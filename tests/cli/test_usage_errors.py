"""Usage errors: exit 2, one line on stderr, a tip that points at the command that was run."""

from __future__ import annotations

import pytest
import responses

from fcaudit.errors import ExitCode
from tests.conftest import run


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


@pytest.mark.parametrize(
    "args", [["scan", "--bogus"], ["scan", "-f", "xml"], ["scan", "--expiring-within", "-1"]]
)
def test_click_usage_errors_are_one_line(args: list[str]) -> None:
    result = run(*args)
    assert result.exit_code == ExitCode.USAGE
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1
    assert "Tip: see 'fcaudit scan --help'" in result.stderr


def test_usage_errors_point_at_the_command_that_was_run() -> None:
    result = run("scan", "--group-by")
    assert result.exit_code == ExitCode.USAGE
    assert result.stderr.strip().endswith("Tip: see 'fcaudit scan --help'.")


@pytest.mark.parametrize(
    ("flag", "tip"), [("--json", "--format json"), ("--ndjson", "--format ndjson")]
)
def test_habit_flags_suggest_format(flag: str, tip: str) -> None:
    result = run("scan", flag)
    assert result.exit_code == ExitCode.USAGE
    assert result.stderr.count("\n") == 1
    assert f"Tip: use {tip}." in result.stderr


def test_option_before_the_command_says_where_options_go() -> None:
    result = run("--sandbox", "scan")
    assert result.exit_code == ExitCode.USAGE
    assert result.stderr.count("\n") == 1
    assert "Options go after the command name" in result.stderr
    assert "fcaudit scan --sandbox" in result.stderr
