"""`fcaudit classify`: saved objects, offline, in every shape Stripe gives them; bad input is a
one-line usage error."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import responses

from fcaudit.errors import ExitCode
from tests.conftest import report_of as json_out
from tests.conftest import run
from tests.factories import AS_OF, account, expiring, inactive, ndjson


def classify_json(tmp_path: Path, content: str, *args: str) -> Any:
    src = tmp_path / "in.json"
    src.write_text(content)
    return run("classify", str(src), *AS_OF, "-f", "json", *args, key=None)


def test_classify_inputs(tmp_path: Path) -> None:
    a = account("fca_x", status="inactive", status_details=inactive())
    b = account("fca_y")
    variants = {
        "object": json.dumps(a, indent=2),
        "array": json.dumps([a, b]),
        "list": json.dumps(
            {"object": "list", "data": [a, b], "has_more": False, "url": "/v1/x"}, indent=1
        ),
        "ndjson": json.dumps(a) + "\n\n" + json.dumps(b) + "\n",
        "event": json.dumps(
            {
                "id": "evt_1",
                "object": "event",
                "type": "financial_connections.account.deactivated",
                "api_version": "2026-09-30.preview",
                "data": {"object": a},
            }
        ),
    }
    for name, content in variants.items():
        result = classify_json(tmp_path, content)
        doc = json_out(result)
        assert doc["findings"][0]["id"] == "fca_x", name
        assert doc["findings"][0]["category"] == "relink_required", name
        assert result.exit_code == ExitCode.FINDINGS, name


def test_classify_event_rendered_in_ga_explains_version(tmp_path: Path) -> None:
    a = account("fca_x", status="inactive", status_details={})
    event = {
        "id": "evt_1",
        "object": "event",
        "api_version": "2026-10-28.endive",
        "data": {"object": a},
    }
    doc = json_out(classify_json(tmp_path, json.dumps(event)))
    assert doc["findings"][0]["category"] == "inactive_unknown"
    assert "2026-10-28.endive" in doc["findings"][0]["detail"]


def test_classify_stdin() -> None:
    result = run("classify", "-", "-f", "ndjson", input=json.dumps(account()), key=None)
    assert result.exit_code == 0
    assert json.loads(result.stdout)["category"] == "active"


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ('{"id": "fca_1",\n  "status": }', "invalid JSON at line 2"),
        (
            '{"id": "fca_1", "object": "financial_connections.account"}\n{oops\n',
            "line 2: invalid JSON",
        ),
        ('{"id": "cus_1", "object": "customer"}', "got object='customer'"),
        ("", "no input"),
        ("[1, 2]", "expected a JSON object"),
    ],
)
def test_classify_bad_input(tmp_path: Path, content: str, needle: str) -> None:
    result = classify_json(tmp_path, content)
    assert result.exit_code == ExitCode.USAGE
    assert needle in result.stderr
    assert result.stderr.count("\n") == 1


def test_classify_ndjson_stopped_by_bad_input_keeps_the_lines_before_it(tmp_path: Path) -> None:
    # NDJSON gathers lines into chunks offline; a run stopped by an error still writes what it
    # classified (minus relink_required findings, held to the end of a run for their counts).
    good = [account(f"fca_{i}", display_name="x" * 200) for i in range(300)]
    text = "".join(json.dumps(a) + "\n" for a in good) + "{oops\n"
    result = run("classify", "-", "-f", "ndjson", input=text, key=None)
    assert result.exit_code == ExitCode.USAGE
    assert "line 301: invalid JSON" in result.stderr
    assert [json.loads(line)["id"] for line in result.stdout.splitlines()] == [
        a["id"] for a in good
    ]


def test_classify_missing_file() -> None:
    result = run("classify", "/nonexistent/x.json", key=None)
    assert result.exit_code == ExitCode.USAGE
    assert "cannot read" in result.stderr


def test_classify_needs_no_key_and_sends_nothing(
    tmp_path: Path, stripe_api: responses.RequestsMock
) -> None:
    assert classify_json(tmp_path, json.dumps(account())).exit_code == 0
    assert not stripe_api.calls


@pytest.mark.parametrize("fmt", ["ndjson", "json"])
def test_classify_refuses_fcaudit_output(fmt: str) -> None:
    """Classifying findings again read their flattened fields as Stripe's: wrong categories."""
    saved = run(
        "classify",
        "-",
        "-f",
        fmt,
        *AS_OF,
        input=ndjson([account(status_details=expiring(3))]),
        key=None,
    )
    again = run("classify", "-", input=saved.stdout, key=None)
    assert again.exit_code == ExitCode.USAGE
    assert again.stderr.count("\n") == 1 and "fcaudit" in again.stderr and "Tip:" in again.stderr
