"""The terminal worklist: grouping, column dropping, the headline, the chart and the pager."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest
import responses

from tests.cli.test_scan import fleet
from tests.conftest import run
from tests.factories import AS_OF, account, expiring, inactive, ndjson
from tests.stripe_fake import add_accounts


def objects(n: int = 3) -> str:
    rows = [
        account(f"fca_{i:024d}", customer=f"cus_{i % 2}", status_details=expiring(3 + i))
        for i in range(n)
    ]
    rows.append(
        account("fca_broken", customer="cus_0", status="inactive", status_details=inactive())
    )
    return "\n".join(json.dumps(r) for r in rows) + "\n"


@pytest.mark.parametrize("columns", [60, 80, 120, 200])
def test_ids_dates_and_categories_are_never_split(columns: int) -> None:
    out = run(
        "classify", "-", "-f", "table", *AS_OF, input=objects(), key=None, COLUMNS=str(columns)
    ).stdout
    lines = out.splitlines()
    for i in range(3):
        assert any(f"fca_{i:024d}" in line for line in lines), f"fca_{i:024d} split at {columns}"
    assert any("2026-11-29" in line for line in lines)
    assert any(line.lstrip().startswith("relink_required  ") for line in lines)


def _row(columns: int, oid: str = "fca_broken") -> str:
    out = run(
        "classify", "-", "-f", "table", *AS_OF, input=objects(), key=None, COLUMNS=str(columns)
    ).stdout
    return next(line for line in out.splitlines() if oid in line and line.startswith("  "))


def test_narrow_terminals_drop_columns_in_order() -> None:
    dated = "fca_000000000000000000000000"
    assert "Checking" in _row(200) and "••6789" in _row(200) and "access_expired" in _row(200)
    assert "in 3d" in _row(200, dated)
    # The display name goes first, then the cause, the last four, the relative days.
    assert "Checking" not in _row(100) and "access_expired" in _row(100)
    assert "access_expired" not in _row(90) and "••6789" in _row(90)
    assert "••6789" not in _row(80) and "in 3d" in _row(80, dated)
    row = _row(72, dated)
    assert "in 3d" not in row and "2026-11-29" in row and "Bank" in row


def test_headline_first_groups_then_summary_and_chart() -> None:
    out = run("classify", "-", "-f", "table", *AS_OF, input=objects(), key=None).stdout
    lines = out.splitlines()
    assert lines[0].startswith(
        "2 customers to contact, 4 findings need attention: 1 relink_required, 3 expiring"
    )
    assert (
        lines[1] == "Next deadline: 2026-11-29 (in 3 days), fca_000000000000000000000000 (expiring)"
    )
    assert lines[3].startswith("cus_0  customer  relink_required  3 accounts  by 2026-11-29")
    assert out.index("Summary:") < out.index("Upcoming deactivations per week")
    week0 = next(line for line in lines if line.startswith("  2026-11-26"))
    assert week0.split()[1] == "3" and "█" in week0


def test_group_by_institution_and_none() -> None:
    by_bank = run(
        "classify",
        "-",
        "-f",
        "table",
        "--group-by",
        "institution",
        *AS_OF,
        input=objects(),
        key=None,
    ).stdout
    assert "\nBank of America  relink_required  4 accounts" in by_bank
    flat = run(
        "classify", "-", "-f", "table", "--group-by", "none", *AS_OF, input=objects(), key=None
    ).stdout
    assert "cus_0  customer" not in flat and "fca_broken" in flat


def test_unknown_group_by_is_a_usage_error() -> None:
    result = run("classify", "-", "--group-by", "color", input=objects(), key=None)
    assert result.exit_code == 2 and result.stderr.count("\n") == 1


# -- the pager ----------------------------------------------------------------------------


def _on_a_terminal(
    args: list[str], env: dict[str, str], rows: int = 10, codes: list[int] | None = None
) -> str:
    """Run fcaudit with stdout on a pseudo-terminal of `rows` rows (in its own process group,
    as a shell runs it); return what it printed, and its exit code in `codes`."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", rows, 100, 0, 0))
    with subprocess.Popen(
        [sys.executable, "-m", "fcaudit", *args],
        stdin=subprocess.PIPE,
        stdout=follower,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "NO_COLOR": "1", "COLUMNS": "100", "LINES": str(rows), **env},
        start_new_session=True,
    ) as child:
        os.close(follower)
        assert child.stdin is not None
        child.stdin.write(objects(12).encode())
        child.stdin.close()
        chunks = []
        while True:
            try:
                data = os.read(leader, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        code = child.wait(timeout=30)
    os.close(leader)
    if codes is not None:
        codes.append(code)
    return b"".join(chunks).decode("utf-8", "replace")


@pytest.mark.parametrize("flags", [[], ["--pager"]])
def test_a_report_taller_than_the_terminal_goes_through_the_pager(
    tmp_path: Path, flags: list[str]
) -> None:
    paged = tmp_path / "paged.txt"
    shown = _on_a_terminal(
        ["classify", "-", "-f", "table", *AS_OF, *flags],
        {"FCAUDIT_PAGER": f"tee {paged}", "PAGER": "false"},
    )
    assert "fca_broken" in paged.read_text()  # FCAUDIT_PAGER beats PAGER
    assert "fca_broken" in shown  # tee passed it on to the terminal


def test_no_pager_and_short_reports_print_directly(tmp_path: Path) -> None:
    paged = tmp_path / "paged.txt"
    shown = _on_a_terminal(
        ["classify", "-", "-f", "table", "--no-pager", *AS_OF], {"FCAUDIT_PAGER": f"tee {paged}"}
    )
    assert "fca_broken" in shown and not paged.exists()
    _on_a_terminal(
        ["classify", "-", "-f", "table", *AS_OF], {"FCAUDIT_PAGER": f"tee {paged}"}, rows=500
    )
    assert not paged.exists()  # it fits: no pager


def test_never_a_pager_when_stdout_is_not_a_terminal(tmp_path: Path) -> None:
    paged = tmp_path / "paged.txt"
    result = run(
        "classify",
        "-",
        "-f",
        "table",
        "--pager",
        *AS_OF,
        input=objects(),
        key=None,
        FCAUDIT_PAGER=f"tee {paged}",
    )
    assert "fca_broken" in result.stdout and not paged.exists()


def test_ctrl_c_in_the_pager_does_not_make_a_finished_run_interrupted() -> None:
    # The pager reads everything, then Ctrl-C reaches the whole process group, as it does
    # when a user presses it in less.
    codes: list[int] = []
    _on_a_terminal(
        ["classify", "-", "-f", "table", *AS_OF],
        {"FCAUDIT_PAGER": "sh -c 'cat >/dev/null; kill -INT 0'"},
        codes=codes,
    )
    assert codes == [1]  # findings matched --fail-on, as without a pager; not 130


# -- hidden findings, colour and untrusted names ------------------------------------------


def test_table_summary_and_hidden_active(stripe_api: responses.RequestsMock) -> None:
    fleet(stripe_api)
    out = run("scan", *AS_OF, "-f", "table", "--discovery", "customers").stdout
    assert "fca_a1" in out and "fca_a2" in out and "fca_b000" not in out
    assert "150 active findings not listed" in out
    assert "Summary: 152 accounts: 1 relink_required, 1 expiring, 150 active" in out
    assert (
        "fca_b000"
        in run("scan", *AS_OF, "-f", "table", "--show-active", "--discovery", "customers").stdout
    )


def test_no_color_means_no_escape_codes(stripe_api: responses.RequestsMock) -> None:
    add_accounts(stripe_api, "cus_a", [account(status="inactive", status_details=inactive())])
    assert "\x1b[" not in run("scan", "--customer", "cus_a", "-f", "table").stdout


def test_table_prints_untrusted_names_literally(stripe_api: responses.RequestsMock) -> None:
    evil = "[bold red]PAID[/] \x1b[31mred\x1b[0m \x1b]8;;http://x\x07link"
    add_accounts(
        stripe_api,
        "cus_a",
        [
            account(
                display_name=evil,
                institution="[link=http://evil]Bank[/link]",
                status="inactive",
                status_details=inactive(),
            )
        ],
    )
    result = run("scan", "--customer", "cus_a", "-f", "table", "--color")
    assert "\x1b[1;31mrelink_required" in result.stdout  # colour is really on
    # The only escape sequences left are fcaudit's own colours (SGR), none from the data.
    plain = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout)
    assert "\x1b" not in plain and "\x07" not in plain
    # The table cuts long names with an ellipsis; what it shows is the literal text.
    assert "[bold red]PAID[/] \\x1b" in plain
    assert "[link=http://evil]Bank[/link]" in plain


def test_a_wrapped_relink_line_keeps_its_indent() -> None:
    auths = [f"fcauth_{i}{'A' * 23}" for i in range(5)]  # Stripe-length ids
    linked = [
        account(
            f"fca_{a[-3:]}{n}{i}", authorization=a, status="inactive", status_details=inactive()
        )
        for i, a in enumerate(auths)
        for n in range(2)
    ]
    result = run("classify", "-", "-f", "table", *AS_OF, input=ndjson(linked), key=None,
                 COLUMNS="80")  # fmt: skip
    lines = result.stdout.splitlines()
    at = next(i for i, line in enumerate(lines) if "one relink repairs several accounts" in line)
    end = next(i for i in range(at, len(lines)) if auths[-1] in lines[i])
    assert end > at  # it wrapped
    assert all(line.startswith("  ") and line.strip() for line in lines[at : end + 1])
    assert all(a in " ".join(lines[at : end + 1]) for a in auths)
