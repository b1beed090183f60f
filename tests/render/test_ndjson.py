"""NDJSON: one finding per line, unchanged under an unbuffered stdout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import responses

from tests.cli.test_scan import fleet
from tests.conftest import run, validate_finding
from tests.factories import AS_OF


def test_ndjson_one_finding_per_line(stripe_api: responses.RequestsMock) -> None:
    fleet(stripe_api)
    result = run("scan", *AS_OF, "--format", "ndjson", "--discovery", "customers")
    lines = result.stdout.splitlines()
    assert len(lines) == 152
    records = [json.loads(line) for line in lines]
    for r in records:
        validate_finding(r)
    assert [r["id"] for r in records if r["category"] == "relink_required"] == ["fca_a1"]
    assert result.stderr.count("\n") >= 1 and "{" not in result.stderr


def test_ndjson_under_an_unbuffered_stdout_is_unchanged(tmp_path: Path) -> None:
    # PYTHONUNBUFFERED makes stdout's binary layer the raw file: NDJSON writes through a
    # buffered writer of its own over the descriptor, which must neither lose nor reorder a
    # line, nor close stdout.
    golden = Path(__file__).parent.parent / "golden"
    command = [sys.executable, "-m", "fcaudit", "classify", str(golden / "input.ndjson")]
    command += ["-f", "ndjson", "--as-of", "2026-11-26T12:00:00Z", "--fail-on", "none", "-q"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    out = subprocess.run(command, capture_output=True, env=env, check=True).stdout
    assert out.decode("utf-8") == (golden / "classify.ndjson.200").read_text(encoding="utf-8")
