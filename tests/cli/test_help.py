"""Help and version: no arguments print the help, every command has examples and shows its
option ranges."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run


@pytest.mark.parametrize("args", [[], ["sandbox"]])
def test_no_arguments_prints_the_help(args: list[str]) -> None:
    result = run(*args)
    assert result.exit_code == 0
    assert result.stdout == run(*args, "--help").stdout
    assert "\\x0a" not in result.stdout and result.stdout.count("\n") > 5
    assert result.stderr == ""


@pytest.mark.parametrize("command", [[], ["scan"], ["account"], ["authorization"], ["classify"]])
def test_help_has_examples(command: list[str]) -> None:
    result = run(*command, "--help")
    assert result.exit_code == 0
    assert "Examples:" in result.stdout


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


def test_version_is_the_packages_own() -> None:
    import tomllib

    import fcaudit

    # One source: fcaudit/__init__.py, which pyproject.toml reads for the package metadata.
    pyproject = tomllib.loads((Path(__file__).parent.parent.parent / "pyproject.toml").read_text())
    assert "version" in pyproject["project"]["dynamic"]
    assert "version" not in pyproject["project"]
    dynamic = pyproject["tool"]["setuptools"]["dynamic"]["version"]
    assert dynamic == {"attr": "fcaudit.__version__"}
    assert run("--version").stdout == f"fcaudit, version {fcaudit.__version__}\n"


@pytest.mark.parametrize("columns", ["80", "100", "120"])
@pytest.mark.parametrize("command", ["scan", "events", "classify"])
def test_the_fail_on_default_is_wrapped_between_names_never_inside_one(
    command: str, columns: str
) -> None:
    from fcaudit.policy import DEFAULT_FAIL_ON

    text = run(command, "--help", COLUMNS=columns).stdout
    words = text.split()
    for name in DEFAULT_FAIL_ON.split(","):
        assert any(w.strip(",.[]()") == name for w in words), (name, columns)
