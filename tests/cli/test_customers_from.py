"""`fcaudit scan --customers-from FILE`: one id a line, from a file or stdin, a CSV's header
and a byte order mark allowed."""

from __future__ import annotations

import json
from pathlib import Path

import responses

from fcaudit.errors import ExitCode
from tests.cli.test_scan import fleet
from tests.conftest import report_of as json_out
from tests.conftest import run
from tests.factories import AS_OF, account
from tests.stripe_fake import add_accounts


def test_customers_from_stdin(stripe_api: responses.RequestsMock) -> None:
    fleet(stripe_api)
    doc = json_out(run("scan", *AS_OF, "--customers-from", "-", input="# ids\ncus_a\n\ncus_c\n"))
    assert doc["scope"]["ids"] == ["cus_a", "cus_c"]
    assert doc["summary"]["accounts"] == 2


def test_customers_from_a_csv_with_a_header(
    stripe_api: responses.RequestsMock, tmp_path: Path
) -> None:
    csv_file = tmp_path / "customers.csv"
    csv_file.write_text('id,email\n\ncus_a,a@example.com\n"cus_b",b@example.com\n\n')
    for cus in ("cus_a", "cus_b"):
        add_accounts(stripe_api, cus, [account(f"fca_{cus}", customer=cus)])
    result = run("scan", "--customers-from", str(csv_file), "-f", "json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["scope"]["ids"] == ["cus_a", "cus_b"]


def test_customers_file_with_bom(stripe_api: responses.RequestsMock, tmp_path: Path) -> None:
    add_accounts(stripe_api, "cus_a", [account()])
    ids = tmp_path / "ids.txt"
    ids.write_text("\ufeffcus_a\n", encoding="utf-8")
    assert run("scan", "--customers-from", str(ids)).exit_code == 0


def test_bad_customers_file_line(tmp_path: Path) -> None:
    ids = tmp_path / "ids.txt"
    ids.write_text("cus_1\nfca_2\n")
    result = run("scan", "--customers-from", str(ids))
    assert result.exit_code == ExitCode.USAGE
    assert "ids.txt line 2" in result.stderr


def test_customers_from_refuses_a_bad_line_after_the_header(tmp_path: Path) -> None:
    ids = tmp_path / "ids.txt"
    ids.write_text("customer\ncus_a\nnot-an-id\n")
    result = run("scan", "--customers-from", str(ids))
    assert result.exit_code == ExitCode.USAGE
    assert "line 3" in result.stderr


def test_customers_file_that_is_not_utf8(tmp_path: Path) -> None:
    ids = tmp_path / "ids.txt"
    ids.write_bytes(b"cus_1\n\xff\xfe\n")
    result = run("scan", "--customers-from", str(ids))
    assert result.exit_code == ExitCode.USAGE
    assert "ids.txt is not UTF-8 text" in result.stderr
