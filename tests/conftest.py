"""Shared fixtures: the CLI runner, an isolated environment, and Stripe faked at HTTP level."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import responses
from click.testing import CliRunner, Result

from fcaudit.app import AppContext
from fcaudit.cli import cli

API = "https://api.stripe.com"
TEST_KEY = "sk_test_51FAKEkeyDoNotPrint0123456789"
SCHEMA = json.loads(
    (Path(__file__).parent.parent / "fcaudit" / "schema" / "report.schema.json").read_text()
)


# Every wait the CLI asks for (backoff, rate budget) in CliRunner tests: recorded, not slept.
SLEPT: list[float] = []


@pytest.fixture(scope="session")
def _no_config_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty XDG_CONFIG_HOME: the developer's own ~/.config/fcaudit/config.toml must not
    change what a test sees."""
    return tmp_path_factory.mktemp("xdg-config-home")


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, _no_config_home: Path) -> None:
    for var in (
        "STRIPE_API_KEY",
        "FCAUDIT_STRIPE_VERSION",
        "FCAUDIT_API_BASE",
        "FCAUDIT_MAX_REQUESTS",
        "FCAUDIT_CONFIG",
        "FORCE_COLOR",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(_no_config_home))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "200")
    SLEPT.clear()


@pytest.fixture
def stripe_api() -> Iterator[responses.RequestsMock]:
    """The Stripe API, faked under the real stripe SDK at the HTTP layer."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


def run(
    *args: str,
    key: str | None = TEST_KEY,
    input: str | None = None,
    app: AppContext | None = None,
    **env: str,
) -> Result:
    """Invoke the CLI like a user would; stdout and stderr are kept apart. Waits are recorded
    in SLEPT instead of slept."""
    environ = {"STRIPE_API_KEY": key} if key else {}
    environ.update(env)
    obj = app or AppContext(sleep=SLEPT.append)
    return CliRunner().invoke(
        cli, list(args), env=environ, input=input, catch_exceptions=False, obj=obj
    )


_REPORT = jsonschema.Draft202012Validator(SCHEMA)
_FINDING = jsonschema.Draft202012Validator({**SCHEMA["$defs"]["finding"], "$defs": SCHEMA["$defs"]})


def validate_report(doc: dict[str, Any]) -> None:
    _REPORT.validate(doc)


def report_of(result: Any) -> dict[str, Any]:
    """The JSON report a run printed (a CliRunner result or a finished process), validated
    against the schema."""
    doc: dict[str, Any] = json.loads(result.stdout)
    validate_report(doc)
    return doc


def validate_finding(record: dict[str, Any]) -> None:
    _FINDING.validate(record)


def wait_until(condition: Callable[[], bool], what: str, seconds: float = 15) -> None:
    """Wait for a state a child process or server reaches on its own (10 ms steps,
    bounded: a test that never gets there fails, naming `what`)."""
    for _ in range(int(seconds * 100)):
        if condition():
            return
        time.sleep(0.01)
    raise AssertionError(f"gave up waiting: {what}")


def system_tool(*names: str, package: str, checks: str) -> str:
    """The path of a program a test runs (the first of `names` found), or a failure naming
    the Debian package that `make test` installs: a missing tool is never a skip."""
    for name in names:
        path = shutil.which(name)
        if path is not None:
            return path
    pytest.fail(
        f"{names[0]} is not installed, and {checks} with it. Install it with "
        f"'apt-get install -y {package}' (make test does this)."
    )
