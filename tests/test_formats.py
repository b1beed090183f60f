"""The report formats for people and other tools (CSV, Markdown, HTML, Prometheus): what they
share. Each format has its own test file (tests/test_formats_<format>.py) with golden files
from the sandbox's adversarial data and an independent reader (the csv module, markdown-it-py,
Chromium, prometheus_client).

The input (tests/golden/formats/input.ndjson) is pinned so that sandbox changes don't move the
golden files: `adversarial_objects()` says which of the adversarial sandbox's objects it
holds. `UPDATE_GOLDEN=1 make test K=formats` rewrites the input and the golden files; do that
only on purpose.
"""

from __future__ import annotations

import functools
import json
import os
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from fcaudit.app import AppContext
from fcaudit.errors import ExitCode
from fcaudit.model import Category, Finding, ReportMeta, iso
from fcaudit.sandbox import build_dataset
from fcaudit.sandbox.data import HOSTILE_DISPLAY_NAMES, HOSTILE_INSTITUTIONS
from tests.conftest import SLEPT, run, validate_report

GOLDEN = Path(__file__).parent / "golden" / "formats"
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
