"""What a command loads: help and offline classify never import stripe, rich or the sandbox;
lazy commands are listed as they describe themselves."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


def _modules_after_cli(*argv: str, stdin: str = "") -> set[str]:
    """The modules loaded by a whole `fcaudit ARGV` run, listed at exit."""
    code = (
        "import atexit, sys\n"
        "atexit.register(lambda: sys.stderr.write('\\n'.join(sorted(sys.modules))))\n"
        f"sys.argv = ['fcaudit', *{list(argv)!r}]\n"
        "from fcaudit.cli import main\n"
        "main()\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], input=stdin, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return set(result.stderr.split())


@pytest.mark.parametrize("argv", [["--help"], ["scan", "--help"], ["classify", "--help"]])
def test_help_loads_neither_stripe_nor_rich_nor_metadata(argv: list[str]) -> None:
    modules = _modules_after_cli(*argv)
    assert "fcaudit.cli" in modules  # the probe works
    assert not {"stripe", "rich", "requests", "importlib.metadata", "fcaudit.sandbox"} & modules


def test_offline_classify_does_not_load_stripe() -> None:
    line = '{"id": "fca_1", "object": "financial_connections.account", "status": "active"}'
    modules = _modules_after_cli("classify", "-", "-f", "json", "-q", stdin=line)
    assert "fcaudit.classify" in modules
    assert not {"stripe", "requests", "fcaudit.stripe.gateway", "fcaudit.sources.scan"} & modules


def test_lazy_commands_are_listed_as_they_describe_themselves() -> None:
    import importlib
    import inspect

    from fcaudit.cli import LAZY_COMMANDS

    for module, attr, summary in LAZY_COMMANDS.values():
        command = getattr(importlib.import_module(module), attr)
        assert (inspect.getdoc(command.callback) or "").splitlines()[0] == summary


def test_a_config_file_loads_neither_the_sandbox_nor_stripe(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("max_requests = 100\n[scan]\ndiscovery = 'accounts'\n[doctor]\ntimeout = 5\n")
    modules = _modules_after_cli("--config", str(config), "scan", "--help")
    assert "fcaudit.cli.config" in modules  # the file was read
    assert not {"stripe", "requests", "fcaudit.sandbox"} & modules
