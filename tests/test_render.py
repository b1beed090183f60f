"""The renderer registry, the detail view's fields, and what `import fcaudit.render` pulls in."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fcaudit.render import RENDERERS, OutputFormat, RenderOptions, get_renderer
from fcaudit.render.detail import status_signals
from fcaudit.text import dumps, dumps_bytes
from tests.factories import account, inactive, ts


@pytest.mark.parametrize("fmt", [f for f in OutputFormat if f is not OutputFormat.AUTO])
def test_every_format_has_a_renderer(fmt: OutputFormat) -> None:
    assert fmt in RENDERERS
    renderer = get_renderer(fmt, io.StringIO(), RenderOptions())
    assert callable(renderer.finding) and callable(renderer.finish)


def test_status_signals_list_every_status_field_as_json_spells_it() -> None:
    obj = account(status="inactive", status_details=inactive())
    obj["balance_refresh"] = {"status": "failed", "last_attempted_at": ts(-1), "next": None}
    signals = dict(status_signals(obj))
    assert signals["status"] == "inactive"
    assert signals["status_details.inactive.cause"] == "access_expired"
    assert signals["balance_refresh.status"] == "failed"
    assert signals["balance_refresh.next"] == "null"
    assert signals["livemode"] == "false"
    assert signals["authorization"] == "fcauth_1"
    # The ISO time is shown beside the Unix one.
    assert signals["balance_refresh.last_attempted_at"] == f"{ts(-1)} (2026-11-25T12:00:00Z)"


def _imported_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    return set(out.split())


def test_render_imports_the_model_only() -> None:
    modules = _imported_after(
        "import fcaudit.render, fcaudit.render.json, fcaudit.render.ndjson, fcaudit.render.table"
    )
    assert not {"fcaudit.scan", "fcaudit.client", "stripe", "requests"} & modules


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
    assert not {"stripe", "requests", "fcaudit.client", "fcaudit.scan"} & modules


def test_lazy_commands_are_listed_as_they_describe_themselves() -> None:
    import importlib
    import inspect

    from fcaudit.cli import LAZY_COMMANDS

    for module, attr, summary in LAZY_COMMANDS.values():
        command = getattr(importlib.import_module(module), attr)
        assert (inspect.getdoc(command.callback) or "").splitlines()[0] == summary


@pytest.mark.parametrize(
    ("value", "escaped"),
    [
        ("plain", '"plain"'),
        ("the Chase account ••1234", '"the Chase account ••1234"'),  # bullets are safe
        ("Café 日本 …", '"Café 日本 …"'),
        ("••1234 \u202egnp.exe", '"••1234 \\u202egnp.exe"'),  # a bidi override after bullets
        ("a\x85b\u00a0c", '"a\\u0085b\u00a0c"'),  # C1 NEL escaped, no-break space kept
        ("x\x7fy\u2028z\u2066", '"x\\u007fy\\u2028z\\u2066"'),
        ("a\ud800b\u202e", '"a\ufffdb\\u202e"'),
        (
            "x\x7fy",
            '"x\\u007fy"',
        ),  # DEL on an otherwise ASCII line  # a lone surrogate (a file name): U+FFFD
    ],
)
def test_json_bytes_escape_exactly_the_unsafe_characters(value: str, escaped: str) -> None:
    assert dumps_bytes({"v": value}) == ('{"v":' + escaped + "}").encode()
    assert dumps_bytes([value], newline=True) == f"[{escaped}]\n".encode()
    assert dumps({"v": value}) == '{"v":' + escaped + "}"


def test_ndjson_under_an_unbuffered_stdout_is_unchanged(tmp_path: Path) -> None:
    # PYTHONUNBUFFERED makes stdout's binary layer the raw file: NDJSON writes through a
    # buffered writer of its own over the descriptor, which must neither lose nor reorder a
    # line, nor close stdout.
    golden = Path(__file__).parent / "golden"
    command = [sys.executable, "-m", "fcaudit", "classify", str(golden / "input.ndjson")]
    command += ["-f", "ndjson", "--as-of", "2026-11-26T12:00:00Z", "--fail-on", "none", "-q"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    out = subprocess.run(command, capture_output=True, env=env, check=True).stdout
    assert out.decode("utf-8") == (golden / "classify.ndjson.200").read_text(encoding="utf-8")


@pytest.mark.parametrize("fmt", ["json", "ndjson", "csv", "markdown", "html", "table"])
def test_a_stdout_that_is_not_utf8_gets_utf8_reports_and_an_escaped_table(fmt: str) -> None:
    # PYTHONIOENCODING=latin-1: the names in the golden input (日本, bidi marks) are outside it.
    golden = Path(__file__).parent / "golden"
    command = [sys.executable, "-m", "fcaudit", "classify", str(golden / "input.ndjson")]
    command += ["-f", fmt, "--as-of", "2026-11-26T12:00:00Z", "--fail-on", "none", "-q"]
    utf8 = subprocess.run(command, capture_output=True, check=True).stdout
    env = {**os.environ, "PYTHONIOENCODING": "latin-1", "COLUMNS": "200"}
    latin = subprocess.run(command, capture_output=True, env=env)
    assert latin.returncode == 0, latin.stderr
    if fmt == "table":  # for a terminal: its own encoding, with escapes for the rest
        latin.stdout.decode("latin-1")
        assert b"\\u" in latin.stdout
    elif fmt in ("json", "markdown", "html"):  # the generation time differs
        assert len(latin.stdout) == len(utf8) and latin.stdout.decode("utf-8")
    else:
        assert latin.stdout == utf8
