"""The flags that say what to report and where: --format (and the -o extension that picks it),
-o, --metrics, --contact and --as-of, each checked before anything is written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import responses

from fcaudit.errors import ExitCode
from tests.cli.test_scan import fleet
from tests.conftest import report_of as json_out
from tests.conftest import run
from tests.factories import AS_OF, account, ndjson
from tests.test_output import ONE_ACCOUNT


def test_auto_format_is_json_when_piped(stripe_api: responses.RequestsMock) -> None:
    fleet(stripe_api)
    json_out(run("scan", *AS_OF, "--discovery", "customers"))


@pytest.mark.parametrize(
    ("name", "fmt"), [("r.json", "json"), ("r.ndjson", "ndjson"), ("r.JSON", "json")]
)
def test_output_extension_picks_the_format(tmp_path: Path, name: str, fmt: str) -> None:
    out = tmp_path / name
    line = json.dumps(account("fca_1")) + "\n"
    result = run("classify", "-", "-o", str(out), input=line, key=None)
    assert result.exit_code == 0, result.stderr
    text = out.read_text()
    assert text.startswith("{\n") if fmt == "json" else text.startswith('{"id":"fca_1"')


def test_output_extension_and_format_must_agree(tmp_path: Path) -> None:
    out = tmp_path / "r.csv"
    result = run("classify", "-", "-f", "json", "-o", str(out), input="{}", key=None)
    assert result.exit_code == ExitCode.USAGE and ".csv extension" in result.stderr
    assert not out.exists()


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
    ("args", "needle"),
    [
        (["-o", "x.json", "--metrics", "x.json"], "-o and --metrics name the same file"),
        (["-o", "newdir/"], "--output newdir/ names a directory"),
        (["--metrics", "/nonexistent-dir/m.prom"], "--metrics: directory /nonexistent-dir"),
        (["-o", "md"], "--format markdown"),
        (["-o", "prom"], "--format prometheus"),
    ],
)
def test_output_paths_are_checked_before_anything_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], needle: str
) -> None:
    monkeypatch.chdir(tmp_path)
    result = run("classify", "-", *args, input=ndjson([account()]), key=None)
    assert result.exit_code == ExitCode.USAGE
    assert result.stderr.count("\n") == 1 and needle in result.stderr, result.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--contact", "-f", "ndjson"], "--format ndjson does not carry"),
        (["--contact", "-f", "prometheus"], "--format prometheus does not carry"),
        (["--contact", "-f", "json", "--group-by", "none"], "--group-by none"),
    ],
)
def test_contact_needs_a_format_with_groups(tmp_path: Path, args: list[str], needle: str) -> None:
    out = tmp_path / "x"
    result = run("scan", *args, "-o", str(out))
    assert result.exit_code == ExitCode.USAGE
    assert result.stderr.count("\n") == 1 and needle in result.stderr
    assert not out.exists()


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
