"""What a new user trips over in the first minute: each case was seen on a fresh clone."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tokenize
from pathlib import Path

import pytest
import responses

from fcaudit.errors import ExitCode
from tests.conftest import run
from tests.factories import account, expiring
from tests.stripe_fake import add_accounts, add_customers

ROOT = Path(__file__).parent.parent
ONE_ACCOUNT = json.dumps(account("fca_1", status_details=expiring(5))) + "\n"


@pytest.mark.parametrize("args", [[], ["sandbox"]])
def test_no_arguments_prints_the_help(args: list[str]) -> None:
    result = run(*args)
    assert result.exit_code == 0
    assert result.stdout == run(*args, "--help").stdout
    assert "\\x0a" not in result.stdout and result.stdout.count("\n") > 5
    assert result.stderr == ""


def _fcaudit(args: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("STRIPE_API_KEY", None)
    return subprocess.run(  # type: ignore[call-overload, no-any-return]
        [sys.executable, "-m", "fcaudit", *args], text=True, env=env, check=False, **kw
    )


@pytest.mark.parametrize("device", ["/dev/stdout", "/dev/stderr"])
def test_output_to_a_std_device_appends_to_a_file_opened_for_append(
    tmp_path: Path, device: str
) -> None:
    source = tmp_path / "in.ndjson"
    source.write_text(ONE_ACCOUNT)
    log = tmp_path / "log"
    log.write_text("earlier line\n")
    with log.open("a") as handle:  # the shell's `>> log` (and `2>> log`)
        stream = {"stdout": handle} if device == "/dev/stdout" else {"stderr": handle}
        result = _fcaudit(
            ["classify", str(source), "-f", "ndjson", "-q", "-o", device, "--fail-on", "none"],
            **stream,
            **({"stdout": subprocess.PIPE} if device == "/dev/stderr" else {}),
        )
    assert result.returncode == 0
    lines = log.read_text().splitlines()
    assert lines[0] == "earlier line"  # not truncated
    assert json.loads(lines[1])["id"] == "fca_1"


def test_output_to_dev_stdout_into_a_pipe(tmp_path: Path) -> None:
    source = tmp_path / "in.ndjson"
    source.write_text(ONE_ACCOUNT)
    result = _fcaudit(
        ["classify", str(source), "-f", "ndjson", "-q", "-o", "/dev/stdout", "--fail-on", "none"],
        stdout=subprocess.PIPE,
    )
    assert result.returncode == 0
    assert json.loads(result.stdout)["id"] == "fca_1"


@pytest.mark.parametrize("name", ["json", "table", "ndjson", "JSON"])
def test_output_named_like_a_format_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.chdir(tmp_path)
    result = run("classify", "-", "-o", name, input=ONE_ACCOUNT, key=None)
    assert result.exit_code == ExitCode.USAGE
    assert result.stderr.count("\n") == 1
    assert f"--format {name.lower()}" in result.stderr
    assert list(tmp_path.iterdir()) == []  # nothing written


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


def test_color_never_sends_cursor_controls_to_a_stderr_that_is_not_a_terminal(
    stripe_api: responses.RequestsMock,
) -> None:
    add_customers(stripe_api, ["cus_a"])
    add_accounts(stripe_api, "cus_a", [account("fca_1", customer="cus_a")])
    result = run("scan", "--color", "-f", "json", "--discovery", "customers")
    assert result.exit_code == 0
    # Colour (SGR, `ESC [ ... m`) is what --color asks for; nothing else may reach stderr.
    assert not re.search(r"\x1b\[[0-9;?]*[A-Za-ln-z]|\r", result.stderr), repr(result.stderr)


@pytest.mark.parametrize("as_of", ["1795694400", "2026-11-26T12:00:00Z", "2026-11-26T12:00:00"])
def test_as_of_takes_unix_seconds_and_iso(as_of: str) -> None:
    result = run("classify", "-", "-f", "json", "--as-of", as_of, input=ONE_ACCOUNT, key=None)
    doc = json.loads(result.stdout)
    assert doc["as_of"] == "2026-11-26T12:00:00Z"
    assert doc["findings"][0]["days_until_deactivation"] == 5


def test_as_of_garbage_is_a_usage_error() -> None:
    result = run("classify", "-", "--as-of", "next tuesday", input=ONE_ACCOUNT, key=None)
    assert result.exit_code == ExitCode.USAGE
    assert "Unix seconds" in result.stderr


def test_customers_from_a_csv_with_a_header(
    stripe_api: responses.RequestsMock, tmp_path: Path
) -> None:
    csv_file = tmp_path / "customers.csv"
    csv_file.write_text('id,email\n\ncus_a,a@example.com\n"cus_b",b@example.com\n\n')
    for cus in ("cus_a", "cus_b"):
        add_accounts(stripe_api, cus, [account(f"fca_{cus}", customer=cus)])
    result = run("scan", "--customers-from", str(csv_file), "-f", "json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["scope"]["ids"] == ["cus_a", "cus_b"]


def test_customers_from_refuses_a_bad_line_after_the_header(tmp_path: Path) -> None:
    ids = tmp_path / "ids.txt"
    ids.write_text("customer\ncus_a\nnot-an-id\n")
    result = run("scan", "--customers-from", str(ids))
    assert result.exit_code == ExitCode.USAGE
    assert "line 3" in result.stderr


def _strings(path: Path) -> list[tuple[int, str]]:
    with path.open("rb") as handle:
        tokens = tokenize.tokenize(handle.readline)
        return [(t.start[0], t.string) for t in tokens if t.type == tokenize.STRING]


def test_no_word_is_pluralised_with_s_in_brackets() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in (ROOT / "fcaudit").rglob("*.py")
        for line, text in _strings(path)
        if re.search(r"\b(?!https?\()[a-z]+\(s\)", text)
    ]
    assert offenders == []


@pytest.mark.parametrize(
    ("command", "shown"),
    [
        (["scan"], "--concurrency INTEGER RANGE"),
        (["scan"], "1<=x<=128"),
        (["classify"], "0<=x<=3650"),
    ],
)
def test_help_shows_option_ranges(command: list[str], shown: str) -> None:
    assert shown in run(*command, "--help").stdout.replace("\n", " ")
