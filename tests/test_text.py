"""Untrusted text: names from the API never reach a terminal or a file as raw controls, and
text that is not text (lone surrogates) becomes U+FFFD in every format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import responses

from fcaudit.errors import ExitCode
from fcaudit.text import dumps, dumps_bytes
from tests.conftest import run
from tests.factories import AS_OF, account, inactive, ndjson
from tests.stripe_fake import add_accounts


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


def test_json_escapes_terminal_controls(stripe_api: responses.RequestsMock) -> None:
    add_accounts(
        stripe_api,
        "cus_a",
        [account(display_name="a\x1b[2Jb\x9bc\u202ed", institution="Café 日本")],
    )
    out = run("scan", "--customer", "cus_a", "-f", "ndjson").stdout
    assert "\x1b" not in out and "\x9b" not in out and "\u202e" not in out
    record = json.loads(out)
    assert record["display_name"] == "a\x1b[2Jb\x9bc\u202ed"
    assert record["institution_name"] == "Café 日本"


def test_lone_surrogates_from_the_api_become_replacement_characters(
    stripe_api: responses.RequestsMock,
) -> None:
    # JSON's escapes allow "\ud800", which is not text: no UTF-8 report could hold it.
    add_accounts(stripe_api, "cus_a", [account(display_name="a\ud800b", status="inactive")])
    for fmt in ("ndjson", "csv", "markdown", "html", "table"):
        result = run("scan", "--customer", "cus_a", "-f", fmt)
        assert result.exit_code == ExitCode.FINDINGS, result.stderr
        assert "a\ufffdb" in result.stdout and "\ud800" not in result.stdout


@pytest.mark.parametrize(
    "fmt", ["ndjson", "json", "csv", "markdown", "html", "prometheus", "table"]
)
def test_classify_of_lone_surrogates_writes_every_format(tmp_path: Path, fmt: str) -> None:
    line = '{"id": "fca_1", "object": "financial_connections.account", "status": "inactive", '
    line += '"display_name": "a\\ud800b", "institution_name": "\\udc00Bank"}\n'
    result = run("classify", "-", "-f", fmt, input=line, key=None)
    assert result.exit_code == ExitCode.FINDINGS, result.stderr
    if fmt in ("ndjson", "json", "csv", "markdown", "html", "table"):
        assert "a\ufffdb" in result.stdout


def test_untrusted_holder_ids_and_baseline_times_never_reach_the_terminal_raw(
    tmp_path: Path,
) -> None:
    evil = "cus_\x1b]0;PWNED\x07\x1b[31mRED"
    obj = account("fca_1", status="inactive", status_details=inactive())
    obj["account_holder"] = {"type": "customer", "customer": evil}
    baseline = json.loads(
        run("classify", "-", "-f", "json", *AS_OF, input=ndjson([obj]), key=None).stdout
    )
    baseline["generated_at"] = "\x1b]0;PWNED\x07\x1b[2J"
    path = tmp_path / "base.json"
    path.write_text(json.dumps(baseline))
    out = run(
        "classify",
        "-",
        "-f",
        "table",
        "--baseline",
        str(path),
        *AS_OF,
        input=ndjson([obj]),
        key=None,
    )
    assert "\x1b" not in out.stdout and "\x07" not in out.stdout
    assert "\\x1b]0;PWNED" in out.stdout  # shown, as visible escapes
    doc = json.loads(
        run("classify", "-", "-f", "json", *AS_OF, input=ndjson([obj]), key=None).stdout
    )
    assert doc["findings"][0]["dashboard_url"] is None  # no link is built from such an id
