"""Usage errors: exit 2, one line on stderr, a tip that points at the command that was run."""

from __future__ import annotations

from pathlib import Path

import pytest
import responses

from fcaudit.errors import ExitCode
from tests.conftest import run
from tests.stripe_fake import add_accounts


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


# Checks that need no request run before the first one: an empty path or id (an unset shell
# variable), a duration out of bounds, a key with no body, an extension of another format.
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["scan", "-o", ""],
            (
                "-o/--output is empty: it needs a file name. Tip: name a file, or drop "
                "-o/--output to write to stdout (an unset shell variable gives '')."
            ),
        ),
        (
            ["scan", "--metrics", " "],
            (
                "--metrics is empty: it needs a file name. Tip: name a file, or drop "
                "--metrics (an unset shell variable gives '')."
            ),
        ),
        (
            ["scan", "--baseline", ""],
            (
                "--baseline is empty: it needs a file name. Tip: name a file, or drop "
                "--baseline (an unset shell variable gives '')."
            ),
        ),
        (
            ["scan", "--ignore", ""],
            (
                "--ignore is empty: it needs a file name. Tip: name a file, or drop "
                "--ignore (an unset shell variable gives '')."
            ),
        ),
        (
            ["scan", "--rules", ""],
            (
                "--rules is empty: it needs a file name. Tip: name a file, or drop --rules "
                "(an unset shell variable gives '')."
            ),
        ),
        (
            ["scan", "-o", "fc.txt"],
            (
                "-o fc.txt: fcaudit writes no .txt format, and would write JSON under that "
                "name. Tip: add --format table to write the table into it."
            ),
        ),
        (
            ["scan", "-o", "fc.JSONL"],
            (
                "-o fc.JSONL: fcaudit writes no .jsonl format, and would write JSON under "
                "that name. Tip: add --format ndjson to write the ndjson into it, or name "
                "the file .ndjson."
            ),
        ),
        (
            ["scan", "--customer", ""],
            (
                "--customer is empty: '' is not a customer id. Tip: customer ids look like "
                "cus_...; an unset shell variable gives ''."
            ),
        ),
        (
            ["scan", "--session", " "],
            (
                "--session is empty: '' is not a session id. Tip: session ids look like "
                "fcsess_...; an unset shell variable gives ''."
            ),
        ),
        (
            ["scan", "--stripe-account", ""],
            (
                "--stripe-account is empty: '' is not a connected account id. Tip: "
                "connected account ids look like acct_...; an unset shell variable gives "
                "''."
            ),
        ),
        (
            ["account", ""],
            (
                "an empty Financial Connections account id: '' is not a Financial "
                "Connections account id. Tip: Financial Connections account ids look like "
                "fca_...; an unset shell variable gives ''."
            ),
        ),
        (
            ["scan", "--state", "fc.sqlite", "--reconcile-every", "-1d"],
            "--reconcile-every '-1d' is negative. Tip: a duration of 0s or more, e.g. 7d.",
        ),
        (
            ["scan", "--state", "fc.sqlite", "--reconcile-every", "9999999999999999d"],
            "--reconcile-every '9999999999999999d' is more than ten years. Tip: e.g. 7d or 36h.",
        ),
        (
            ["scan", "--state", "fc.sqlite", "--reconcile-every", "3651d"],
            "--reconcile-every '3651d' is more than ten years. Tip: e.g. 7d or 36h.",
        ),
        (
            ["scan", "--state", "fc.sqlite", "--state-wait", "10"],
            "--state-wait '10' has no unit. Tip: add one: 10d, 10h, 10m or 10s.",
        ),
        (
            ["scan", "--state", "fc.sqlite", "--reconcile-every", ""],
            "--reconcile-every is empty. Tip: a duration such as 7d, 36h or 1d12h.",
        ),
        (
            ["events", "--grace", "1.5h"],
            (
                "--grace '1.5h' is not a duration. Tip: a whole number and a unit (d, h, m "
                "or s), such as 7d, 36h or 1d12h."
            ),
        ),
    ],
)
def test_checks_that_need_no_request_run_before_the_first(
    stripe_api: responses.RequestsMock, args: list[str], message: str
) -> None:
    result = run(*args)
    assert result.exit_code == ExitCode.USAGE, result.stderr
    assert result.stderr == f"Error: {message}\n"
    assert not stripe_api.calls


@pytest.mark.parametrize(
    ("duration", "seconds"), [("0s", 0), ("0d", 0), ("00h", 0), ("1d0h", 86400)]
)
def test_zero_and_zero_parts_are_durations(duration: str, seconds: int) -> None:
    from fcaudit.options import parse_duration

    assert parse_duration(duration, "--reconcile-every").total_seconds() == seconds


def test_an_extension_of_another_format_is_written_when_the_format_is_named(
    stripe_api: responses.RequestsMock, tmp_path: Path
) -> None:
    add_accounts(stripe_api, "cus_a", [])
    out = tmp_path / "fc.txt"
    result = run("scan", "--customer", "cus_a", "-f", "json", "-o", str(out))
    assert result.exit_code == ExitCode.OK, result.stderr
    assert out.read_text().startswith("{")
