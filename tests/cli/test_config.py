"""The configuration file: defaults for options, where it is found, the precedence flag >
environment > file > built-in default, and a one-line error naming the file, the line and
the key for each kind of mistake."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import responses

from tests.conftest import TEST_KEY, report_of, run
from tests.factories import account
from tests.stripe_fake import add_accounts

SANDBOX_SCAN = ("scan", "--sandbox", "-q", "-f", "json")


def write(tmp_path: Path, text: str, name: str = "fcaudit.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def budget_spent(result: Any) -> int:
    """The N of the run's request_budget error: the --max-requests the run obeyed."""
    assert result.exit_code == 5, result.stderr
    (error,) = [e for e in json.loads(result.stdout)["errors"] if e["code"] == "request_budget"]
    return int(error["message"].split("budget of ")[1].split()[0])


# -- precedence --------------------------------------------------------------------------------


def test_the_file_sets_a_default_the_environment_and_the_flag_override(tmp_path: Path) -> None:
    config = write(tmp_path, "max_requests = 2\n")
    assert budget_spent(run("--config", str(config), *SANDBOX_SCAN, key=None)) == 2
    from_env = run("--config", str(config), *SANDBOX_SCAN, key=None, FCAUDIT_MAX_REQUESTS="3")
    assert budget_spent(from_env) == 3
    from_flag = run(
        "--config",
        str(config),
        *SANDBOX_SCAN,
        "--max-requests",
        "4",
        key=None,
        FCAUDIT_MAX_REQUESTS="3",
    )
    assert budget_spent(from_flag) == 4


def test_a_command_table_overrides_the_top_level(tmp_path: Path) -> None:
    config = write(tmp_path, "max_requests = 2\n\n[scan]\nmax_requests = 3\n")
    assert budget_spent(run("--config", str(config), *SANDBOX_SCAN, key=None)) == 3


def test_another_commands_table_does_not_apply(tmp_path: Path) -> None:
    config = write(tmp_path, "[events]\nmax_requests = 2\n")
    result = run("--config", str(config), *SANDBOX_SCAN, key=None)
    assert result.exit_code in (0, 1), result.stderr
    assert report_of(result)["complete"] is True


def test_fcaudit_config_names_the_file(tmp_path: Path) -> None:
    config = write(tmp_path, "[scan]\ndiscovery = 'customers'\n")
    result = run(*SANDBOX_SCAN, key=None, FCAUDIT_CONFIG=str(config))
    assert report_of(result)["scope"]["discovery"]["requested"] == "customers"


def test_the_flag_beats_fcaudit_config(tmp_path: Path) -> None:
    chosen = write(tmp_path, "[scan]\ndiscovery = 'customers'\n", "chosen.toml")
    ignored = write(tmp_path, "[scan]\ndiscovery = 'nonsense'\n", "ignored.toml")
    result = run("--config", str(chosen), *SANDBOX_SCAN, key=None, FCAUDIT_CONFIG=str(ignored))
    assert report_of(result)["scope"]["discovery"]["requested"] == "customers"


# -- where it is found; it is optional ----------------------------------------------------------


def test_no_file_anywhere_is_fine(tmp_path: Path) -> None:
    result = run(*SANDBOX_SCAN, key=None, XDG_CONFIG_HOME=str(tmp_path), HOME=str(tmp_path))
    assert result.exit_code in (0, 1), result.stderr
    assert report_of(result)["scope"]["discovery"]["requested"] == "auto"


def test_the_file_in_xdg_config_home_is_read(tmp_path: Path) -> None:
    (tmp_path / "fcaudit").mkdir()
    write(tmp_path / "fcaudit", "[scan]\ndiscovery = 'customers'\n", "config.toml")
    result = run(*SANDBOX_SCAN, key=None, XDG_CONFIG_HOME=str(tmp_path))
    assert report_of(result)["scope"]["discovery"]["requested"] == "customers"


def test_without_xdg_config_home_the_file_in_dot_config_is_read(tmp_path: Path) -> None:
    (tmp_path / ".config" / "fcaudit").mkdir(parents=True)
    write(tmp_path / ".config" / "fcaudit", "[scan]\ndiscovery = 'customers'\n", "config.toml")
    # A relative XDG_CONFIG_HOME is ignored, as the XDG specification says.
    result = run(*SANDBOX_SCAN, key=None, XDG_CONFIG_HOME="relative", HOME=str(tmp_path))
    assert report_of(result)["scope"]["discovery"]["requested"] == "customers"


def test_config_dev_null_sets_the_default_file_aside(tmp_path: Path) -> None:
    (tmp_path / "fcaudit").mkdir()
    write(tmp_path / "fcaudit", "max_requests = 'broken'\n", "config.toml")
    result = run("--config", "/dev/null", *SANDBOX_SCAN, key=None, XDG_CONFIG_HOME=str(tmp_path))
    assert result.exit_code in (0, 1), result.stderr


@pytest.mark.parametrize("how", ["flag", "env"])
def test_a_named_file_that_is_missing_is_exit_2(tmp_path: Path, how: str) -> None:
    missing = str(tmp_path / "nope.toml")
    if how == "flag":
        result = run("--config", missing, *SANDBOX_SCAN, key=None)
        named = "--config"
    else:
        result = run(*SANDBOX_SCAN, key=None, FCAUDIT_CONFIG=missing)
        named = "FCAUDIT_CONFIG"
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: {named} {missing}: No such file")
    assert result.stderr.count("\n") == 1


def test_config_after_the_command_name_says_where_it_goes(tmp_path: Path) -> None:
    result = run("scan", "--config", str(write(tmp_path, "")), "--sandbox", key=None)
    assert result.exit_code == 2
    assert "--config goes before the command name" in result.stderr
    assert "fcaudit --config FILE scan" in result.stderr


# -- each mistake: one line, the file, the line, the key, exit 2 --------------------------------

MISTAKES = [
    # (file, line, key, words of the problem)
    ("max_request = 5\n", 1, "max_request", "did you mean 'max_requests'"),
    ("# budget\n\n[scan]\nmax_requests = 0\n", 4, "max_requests", "0 is not in the range"),
    ("[scan]\nmax_requests = '500'\n", 2, "max_requests", "expected a whole number"),
    ("max_rps = true\n", 1, "max_rps", "expected a number, not true"),
    ("max_rps = 0.001\n", 1, "max_rps", "at least 0.01"),
    ("[scan]\nformat = 'yaml'\n", 2, "format", "'yaml' is not one of"),
    ("[scan]\ndiscovery = 'all'\n", 2, "discovery", "'all' is not one of"),
    ("[scan]\nreconcile_every = '7'\n", 2, "reconcile_every", "has no unit"),
    ("fail_on = 'relink_requried'\n", 1, "fail_on", "unknown category or signal"),
    ("stripe_account = 'cus_123'\n", 1, "stripe_account", "is not a connected account id"),
    ("api_base = 'http://example.com'\n", 1, "api_base", "plain http"),
    ("metrics_label = 'job=x'\n", 1, "metrics_label", "expected a list of strings"),
    ("[scan]\ncustomer = ['cus_1']\n", 2, "customer", "what one run reads"),
    ("quiet = true\n", 1, "quiet", "could not turn off again"),
    ("[doctor]\nformat = 'csv'\n", 2, "format", "'csv' is not one of 'table', 'json'"),
    ("[scan]\nport = 1\n", 2, "port", "fcaudit scan has no option --port"),
]


@pytest.mark.parametrize(("text", "line", "key", "problem"), MISTAKES)
def test_a_mistake_names_the_file_the_line_and_the_key(
    tmp_path: Path, text: str, line: int, key: str, problem: str
) -> None:
    config = write(tmp_path, text)
    result = run("--config", str(config), *SANDBOX_SCAN, key=None)
    assert result.exit_code == 2, result.stdout
    assert result.stdout == ""
    assert result.stderr.startswith(f"Error: {config} line {line}: ")
    assert f"key '{key}': " in result.stderr and problem in result.stderr
    assert result.stderr.count("\n") == 1


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        ("max_rps = 1\n\n[scann]\nmax_rps = 2\n", 3, "table [scann]: no such command"),
        ("[state]\nx = 1\n", 1, "table [state]: fcaudit state takes no options"),
    ],
)
def test_a_table_that_is_not_a_command_is_named(
    tmp_path: Path, text: str, line: int, problem: str
) -> None:
    config = write(tmp_path, text)
    result = run("--config", str(config), *SANDBOX_SCAN, key=None)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: {config} line {line}: {problem}")


def test_a_toml_syntax_error_names_the_line(tmp_path: Path) -> None:
    config = write(tmp_path, "max_rps = 1\nmax_requests = \n")
    result = run("--config", str(config), *SANDBOX_SCAN, key=None)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: {config}: ") and "line 2" in result.stderr


def test_a_mistake_for_another_command_is_found_too(tmp_path: Path) -> None:
    config = write(tmp_path, "[events]\ngrace = 'soon'\n")
    result = run("--config", str(config), *SANDBOX_SCAN, key=None)
    assert result.exit_code == 2
    assert f"{config} line 2: [events] key 'grace': " in result.stderr


def test_the_api_key_is_refused_and_never_printed(tmp_path: Path) -> None:
    config = write(tmp_path, f"[scan]\napi_key = '{TEST_KEY}'\n")
    result = run("--config", str(config), *SANDBOX_SCAN, key=None)
    assert result.exit_code == 2
    assert f"{config} line 2: [scan] key 'api_key'" in result.stderr
    assert "STRIPE_API_KEY" in result.stderr
    assert TEST_KEY not in result.stdout + result.stderr
    assert TEST_KEY[8:] not in result.stdout + result.stderr


# -- configured defaults stand aside for a run's own flags --------------------------------------


def test_whole_account_settings_stand_aside_for_a_scope_flag(
    tmp_path: Path, stripe_api: responses.RequestsMock
) -> None:
    config = write(
        tmp_path,
        f"[scan]\ndiscovery = 'accounts'\nstate = '{tmp_path / 'fc.sqlite'}'\n"
        "reconcile_every = '1d'\nfail_on_change = 'new'\n",
    )
    add_accounts(stripe_api, "cus_1", [account("fca_1", customer="cus_1")])
    result = run("--config", str(config), "scan", "--customer", "cus_1", "-q", "-f", "json")
    assert result.exit_code == 0, result.stderr
    assert [f["id"] for f in report_of(result)["findings"]] == ["fca_1"]
    assert not (tmp_path / "fc.sqlite").exists()


def test_the_extension_of_o_beats_the_configured_format(tmp_path: Path) -> None:
    config = write(tmp_path, "[scan]\nformat = 'json'\n")
    out = tmp_path / "report.csv"
    result = run("--config", str(config), "scan", "--sandbox", "-q", "-o", str(out), key=None)
    assert result.exit_code in (0, 1), result.stderr
    assert out.read_text().startswith("group_key,id,object,category,")


def test_a_configured_format_is_used_without_o(tmp_path: Path) -> None:
    config = write(tmp_path, "[scan]\nformat = 'ndjson'\n")
    result = run("--config", str(config), "scan", "--sandbox", "-q", key=None)
    assert result.exit_code in (0, 1), result.stderr
    first = json.loads(result.stdout.splitlines()[0])
    assert "category" in first and "findings" not in first


def test_sandbox_sets_a_configured_api_base_aside(tmp_path: Path) -> None:
    config = write(tmp_path, "api_base = 'https://proxy.example.com'\n")
    result = run("--config", str(config), *SANDBOX_SCAN, key=None)
    assert result.exit_code in (0, 1), result.stderr


# -- doctor says which file it read -------------------------------------------------------------


def test_doctor_names_the_config_file(tmp_path: Path) -> None:
    config = write(tmp_path, "max_rps = 10\n")
    table = run("--config", str(config), "doctor", "--sandbox", key=None)
    assert f"Config file: {config}." in table.stdout
    doc = json.loads(run("--config", str(config), "doctor", "--sandbox", "-f", "json").stdout)
    assert doc["config_file"] == str(config)


def test_doctor_says_when_no_config_file_was_read() -> None:
    table = run("doctor", "--sandbox", key=None)
    assert "Config file: none" in table.stdout
    assert json.loads(run("doctor", "--sandbox", "-f", "json").stdout)["config_file"] is None


def test_a_top_level_key_a_command_refuses_names_that_command(tmp_path: Path) -> None:
    config = write(tmp_path, "format = 'csv'\n")
    scan = run("--config", str(config), *SANDBOX_SCAN[:-2], "-o", str(tmp_path / "r.csv"))
    assert scan.exit_code in (0, 1), scan.stderr  # csv is a format scan writes
    doctor = run("--config", str(config), "doctor", "--sandbox", key=None)
    assert doctor.exit_code == 2
    assert f"{config} line 1: key 'format': " in doctor.stderr
    assert "(for fcaudit doctor's --format)" in doctor.stderr
    assert "belongs in their table ([scan], [events], ...)" in doctor.stderr
