"""The report formats for people and other tools (CSV, Markdown, HTML, Prometheus): what they
share, and the options that pick and place them. Each format has its own test file
(tests/render/test_<format>.py) with golden files from the sandbox's adversarial data and an
independent reader (the csv module, markdown-it-py, Chromium, prometheus_client).

The input (tests/golden/formats/input.ndjson) is pinned so that sandbox changes don't move the
golden files: `adversarial_objects()` says which of the adversarial sandbox's objects it
holds. `UPDATE_GOLDEN=1 make test K=render` rewrites the input and the golden files; do that
only on purpose.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from fcaudit.app import AppContext
from fcaudit.errors import ExitCode, UsageError
from fcaudit.model.findings import Category, Finding, iso
from fcaudit.model.report import ReportMeta, ScanResult
from fcaudit.options import ReportOptions
from fcaudit.render import EXTENSIONS, OutputFormat
from fcaudit.render.csv import COLUMNS, CONTACT_COLUMNS, CsvRenderer
from fcaudit.render.prometheus import METRICS, PrometheusRenderer
from fcaudit.sandbox import build_dataset
from fcaudit.sandbox.data import HOSTILE_DISPLAY_NAMES, HOSTILE_INSTITUTIONS
from tests.conftest import SLEPT, run, validate_report

GOLDEN = Path(__file__).parent.parent / "golden" / "formats"
INPUT_PATH = GOLDEN / "input.ndjson"
NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)
AS_OF = ("--as-of", iso(NOW))
# C0/C1 controls, DEL, bidi and line separators: never raw in a file (CSV ends lines in CRLF).
UNSAFE = re.compile(r"[\x00-\x09\x0b\x0c\x0e-\x1f\x7f-\x9f\u200e\u200f\u2028-\u202e\u2066-\u2069]")
# Most hostile names are on active accounts: the grouped formats list those with --show-active.
FORMATS = {
    "csv": ("-f", "csv"),
    "markdown": ("-f", "markdown", "--show-active"),
    "html": ("-f", "html", "--show-active"),
    "prometheus": ("-f", "prometheus"),
}


def adversarial_objects() -> list[dict[str, Any]]:
    """From the adversarial sandbox: its four scripted customers (but the one with 130
    accounts: size), its first two connected accounts, and the random customers with a hostile
    institution on an account that needs attention (so summaries and metrics name one too)."""
    ds = build_dataset(42, 200, NOW, scenario="adversarial")
    scripted = list(ds.customer_specs)[:4]  # generation order
    hostile = set(HOSTILE_INSTITUTIONS)

    def needs_attention_at_a_hostile_institution(account_id: str) -> bool:
        named = ds.accounts[account_id]["institution_name"] in hostile
        return named and ds.expected_category[account_id] != "active"

    picked = [
        c
        for c in ds.customer_specs
        if len(ds.accounts_for_customer(c)) < 100
        and (
            c in scripted
            or any(map(needs_attention_at_a_hostile_institution, ds.accounts_for_customer(c)))
        )
    ]
    ids = [a for c in picked for a in ds.accounts_for_customer(c)]
    ids += [a for h in ds.holder_account_ids[:2] for a in ds.accounts_for_holder_account(h)]
    accounts = [ds.accounts[a] for a in ids]
    auths = dict.fromkeys(str(a["authorization"]) for a in accounts if a.get("authorization"))
    return accounts + [ds.authorizations[x] for x in auths if x in ds.authorizations]


if os.environ.get("UPDATE_GOLDEN"):
    # ASCII only (json escapes the hostile characters), so the file diffs and greps cleanly.
    INPUT_PATH.write_text("".join(json.dumps(o) + "\n" for o in adversarial_objects()))
INPUT = INPUT_PATH.read_text(encoding="utf-8")


def classify(*args: str) -> Result:
    """`fcaudit classify` of the adversarial input, at a fixed time (so generated_at too)."""
    app = AppContext(clock=lambda: NOW, sleep=SLEPT.append)
    return run("classify", "-", *AS_OF, "-q", *args, key=None, input=INPUT, app=app)


def stdout(result: Result) -> str:
    """What was written, byte for byte (`Result.stdout` turns CSV's CRLF into LF)."""
    return result.stdout_bytes.decode("utf-8")


@functools.cache
def output(*args: str) -> str:
    """stdout of `classify(*args)`, once per set of options (the default --fail-on matches)."""
    result = classify(*args)
    assert result.exit_code == ExitCode.FINDINGS, result.stderr
    return stdout(result)


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8", newline="")
    expected = path.read_bytes().decode("utf-8")
    assert text == expected, f"{name} differs from the golden file (UPDATE_GOLDEN=1 rewrites)"


@functools.cache
def report() -> dict[str, Any]:
    """The same input as a JSON report: what every other format must agree with."""
    doc: dict[str, Any] = json.loads(output("-f", "json"))
    validate_report(doc)
    return doc


def records() -> dict[str, dict[str, Any]]:
    """The JSON report's findings by id."""
    return {f["id"]: f for f in report()["findings"]}


def finding(fid: str, **kw: Any) -> Finding:
    kw.setdefault("category", Category.ACTIVE)
    return Finding(
        id=fid, object="financial_connections.account", status="active", recommendation="ok", **kw
    )


def meta(**kw: Any) -> ReportMeta:
    return ReportMeta(
        command="scan", generated_at=NOW, as_of=NOW, horizon_days=30, fail_on=(), scope={},
        tool_version="0", **kw,
    )  # fmt: skip


def test_the_input_holds_every_hostile_name() -> None:
    objs = [json.loads(line) for line in INPUT.splitlines()]
    assert set(HOSTILE_DISPLAY_NAMES) <= {o.get("display_name") for o in objs}
    assert set(HOSTILE_INSTITUTIONS) <= {o.get("institution_name") for o in objs}
    kinds = {o.get("object") for o in objs}
    assert kinds == {"financial_connections.account", "financial_connections.authorization"}
    # Hostile institutions need attention too (so they reach summaries and metrics).
    needing = {f["institution_name"] for f in records().values() if f["category"] != "active"}
    assert len(needing & set(HOSTILE_INSTITUTIONS)) >= 3


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_no_terminal_unsafe_character_reaches_a_file(fmt: str) -> None:
    assert not UNSAFE.search(output(*FORMATS[fmt]))


# -- choosing and placing a format ---------------------------------------------------------------


@pytest.mark.parametrize(("ext", "fmt"), list(EXTENSIONS.items()))
def test_the_output_extension_picks_the_format(tmp_path: Path, ext: str, fmt: OutputFormat) -> None:
    out = tmp_path / f"report{ext.upper()}"  # any case
    result = classify("-o", str(out))
    assert result.exit_code == ExitCode.FINDINGS, result.stderr
    assert result.stdout == ""
    assert out.read_bytes().decode() == output("-f", str(fmt))


def one_line_exit_2(result: Result) -> None:
    assert result.exit_code == ExitCode.USAGE
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_a_format_that_contradicts_the_extension_is_exit_2_and_writes_nothing(
    tmp_path: Path,
) -> None:
    out = tmp_path / "report.csv"
    result = classify("-f", "html", "-o", str(out), "--metrics", str(tmp_path / "m.prom"))
    one_line_exit_2(result)
    assert "--format html does not match the .csv extension" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_metrics_into_a_missing_directory_is_exit_2_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    result = classify("-o", str(out), "--metrics", str(tmp_path / "nope" / "fc.prom"))
    one_line_exit_2(result)
    assert "does not exist" in result.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("fmt", [OutputFormat.NDJSON, OutputFormat.PROMETHEUS])
def test_contact_with_a_format_without_groups_is_a_usage_error(fmt: OutputFormat) -> None:
    from fcaudit.cli.common import make_plan

    options = ReportOptions(
        fmt=str(fmt), output=None, fail_on=frozenset(), as_of=None, horizon_days=30,
        show_active=False, quiet=True, color=None,
    )  # fmt: skip
    with pytest.raises(UsageError, match=f"--format {fmt} does not carry"):
        make_plan(AppContext(), "scan", {}, options, contact=True)


def fail_writing(monkeypatch: pytest.MonkeyPatch, cls: type[Any]) -> None:
    def finish(self: Any, result: ScanResult, meta: ReportMeta) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(cls, "finish", finish)


def test_a_failed_metrics_file_leaves_the_report_written(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    out, prom = tmp_path / "fc.csv", tmp_path / "fc.prom"
    prom.write_text("old metrics\n")
    fail_writing(monkeypatch, PrometheusRenderer)
    result = classify("-o", str(out), "--metrics", str(prom))
    assert result.exit_code == ExitCode.API
    assert "No space left on device" in result.stderr
    assert out.read_bytes().decode() == output("-f", "csv")
    assert prom.read_text() == "old metrics\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fc.csv", "fc.prom"]


def test_a_failed_report_leaves_the_metrics_written(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    out, prom = tmp_path / "fc.csv", tmp_path / "fc.prom"
    out.write_text("old report\n")
    fail_writing(monkeypatch, CsvRenderer)
    result = classify("-o", str(out), "--metrics", str(prom))
    assert result.exit_code == ExitCode.API
    assert out.read_text() == "old report\n"
    assert prom.read_text() == output("-f", "prometheus")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fc.csv", "fc.prom"]


# -- the README ----------------------------------------------------------------------------------


def formats_section() -> str:
    """The README's Formats section: up to the next `## ` heading outside a code block (the
    Markdown example has its own)."""
    readme = (Path(__file__).parent.parent.parent / "README.md").read_text(encoding="utf-8")
    lines = readme.split("\n")
    assert "## Formats" in lines, "README has no Formats section"
    start = lines.index("## Formats") + 1
    fenced = False
    for end in range(start, len(lines)):
        fenced ^= lines[end].startswith("```")
        if not fenced and lines[end].startswith("## "):
            return "\n".join(lines[start:end])
    return "\n".join(lines[start:])


def test_readme_documents_every_csv_column_and_metric() -> None:
    text = formats_section()
    for column in (*COLUMNS, *CONTACT_COLUMNS):
        assert f"`{column}`" in text, column
    for name in METRICS:
        assert f"`fcaudit_{name}`" in text, name
    assert "--metrics" in text and "node_exporter" in text


def test_readme_examples_are_real_output() -> None:
    """Each example in the Formats section is lines of a golden file, in their order ("..."
    stands for lines left out)."""
    blocks = re.findall(r"```(csv|markdown|html|prometheus)\n(.*?)```", formats_section(), re.S)
    assert sorted(kind for kind, _ in blocks) == ["csv", "html", "markdown", "prometheus"]
    golden = {"csv": "classify.csv", "markdown": "classify.md", "html": "classify.html"}
    golden["prometheus"] = "classify.prom"
    for kind, block in blocks:
        lines = (GOLDEN / golden[kind]).read_bytes().decode().replace("\r\n", "\n").split("\n")
        at = 0
        for line in block.splitlines():
            if line != "...":
                assert line in lines[at:], (kind, line)
                at = lines.index(line, at) + 1


def hostile_ndjson() -> str:
    """The adversarial report's findings as NDJSON, each at a hostile institution."""
    found = report()["findings"]
    names = HOSTILE_INSTITUTIONS
    return "".join(
        json.dumps({**f, "institution_name": names[i % len(names)]}) + "\n"
        for i, f in enumerate(found)
    )


def test_readme_jq_recipes_print_no_terminal_escapes() -> None:
    """Every `jq -r` recipe in the README, run by jq on the adversarial report (NDJSON, or
    the JSON document for a recipe that reads one) with a hostile institution on every
    finding: its raw output holds no control or bidi character from the names, and the
    recipes that print names print some."""
    jq = shutil.which("jq")
    assert jq, "the README's jq recipes are run with jq (Debian package jq; make test installs it)"
    readme = (Path(__file__).parent.parent.parent / "README.md").read_text(encoding="utf-8")
    recipes = re.findall(r"^\$ (.*?)jq -r '([^']*)'", readme, re.M)
    assert len(recipes) >= 5
    named = 0
    for command, recipe in recipes:
        given = hostile_ndjson() if "ndjson" in command else json.dumps(report())
        done = subprocess.run([jq, "-r", recipe], input=given, capture_output=True, text=True,
                              timeout=60, check=False)  # fmt: skip
        assert done.returncode == 0, (recipe, done.stderr)
        # @tsv's own separators are tabs (a tab inside a field it writes as \t).
        assert not UNSAFE.search(done.stdout.replace("\t", " ")), recipe
        named += "institution_name" in recipe and bool(done.stdout.strip())
    assert named >= 2
