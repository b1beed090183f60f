"""Where a report goes: a file replaced atomically (through a symlink too), a device or a pipe
written through, /dev/stdout and /dev/stderr as the shell opened them, and UTF-8 whatever
the locale says."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import responses

from fcaudit.errors import ExitCode
from tests.conftest import run
from tests.factories import account, expiring
from tests.stripe_fake import add_accounts

ONE_ACCOUNT = json.dumps(account("fca_1", status_details=expiring(5))) + "\n"


def test_output_file_is_written_atomically(
    stripe_api: responses.RequestsMock, tmp_path: Path
) -> None:
    add_accounts(stripe_api, "cus_a", [account()])
    out = tmp_path / "report.ndjson"
    out.write_text("old")
    result = run("scan", "--customer", "cus_a", "-o", str(out), "-f", "ndjson")
    assert result.exit_code == 0
    assert result.stdout == ""
    assert json.loads(out.read_text().splitlines()[0])["id"] == "fca_1"
    assert [p.name for p in tmp_path.iterdir()] == ["report.ndjson"]


def test_output_through_a_symlink_replaces_the_target(
    stripe_api: responses.RequestsMock, tmp_path: Path
) -> None:
    add_accounts(stripe_api, "cus_a", [account()])
    real = tmp_path / "reports" / "fc.json"
    real.parent.mkdir()
    real.write_text("old")
    link = tmp_path / "latest.json"
    link.symlink_to(real)
    assert run("scan", "--customer", "cus_a", "-o", str(link)).exit_code == 0
    assert link.is_symlink()
    assert json.loads(real.read_text())["findings"][0]["id"] == "fca_1"


def test_output_to_missing_directory_is_a_usage_error(
    stripe_api: responses.RequestsMock, tmp_path: Path
) -> None:
    result = run("scan", "-o", str(tmp_path / "nope" / "r.json"))
    assert result.exit_code == ExitCode.USAGE
    assert "does not exist" in result.stderr
    assert not stripe_api.calls


def test_output_to_a_device_or_pipe_writes_through(
    stripe_api: responses.RequestsMock, tmp_path: Path
) -> None:
    import os
    import stat
    import threading

    add_accounts(stripe_api, "cus_a", [account()])
    assert run("scan", "--customer", "cus_a", "-o", os.devnull).exit_code == 0
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)  # still the device, never replaced
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[str] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text()))
    reader.start()
    assert run("scan", "--customer", "cus_a", "-o", str(fifo), "-f", "ndjson").exit_code == 0
    reader.join(timeout=10)
    assert json.loads(received[0])["id"] == "fca_1"
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


def _fcaudit(args: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("STRIPE_API_KEY", None)
    return subprocess.run(  # type: ignore[call-overload, no-any-return]
        [sys.executable, "-m", "fcaudit", *args], text=True, env=env, check=False, **kw
    )


@pytest.mark.parametrize("device", ["/dev/stdout", "/dev/stderr"])
def test_output_to_a_std_device_appends_to_a_file_opened_for_append(
    tmp_path: Path, device: str
) -> None:
    source = tmp_path / "in.ndjson"
    source.write_text(ONE_ACCOUNT)
    log = tmp_path / "log"
    log.write_text("earlier line\n")
    with log.open("a") as handle:  # the shell's `>> log` (and `2>> log`)
        stream = {"stdout": handle} if device == "/dev/stdout" else {"stderr": handle}
        result = _fcaudit(
            ["classify", str(source), "-f", "ndjson", "-q", "-o", device, "--fail-on", "none"],
            **stream,
            **({"stdout": subprocess.PIPE} if device == "/dev/stderr" else {}),
        )
    assert result.returncode == 0
    lines = log.read_text().splitlines()
    assert lines[0] == "earlier line"  # not truncated
    assert json.loads(lines[1])["id"] == "fca_1"


def test_output_to_dev_stdout_into_a_pipe(tmp_path: Path) -> None:
    source = tmp_path / "in.ndjson"
    source.write_text(ONE_ACCOUNT)
    result = _fcaudit(
        ["classify", str(source), "-f", "ndjson", "-q", "-o", "/dev/stdout", "--fail-on", "none"],
        stdout=subprocess.PIPE,
    )
    assert result.returncode == 0
    assert json.loads(result.stdout)["id"] == "fca_1"


def test_classify_to_dev_stdout_stopped_by_bad_input_keeps_every_line(tmp_path: Path) -> None:
    # -o /dev/stdout writes through the process's own descriptor: a run stopped by an error
    # still writes every finding it made there, as on plain stdout.
    good = [account(f"fca_{i}", display_name="x" * 200) for i in range(300)]
    text = "".join(json.dumps(a) + "\n" for a in good) + "{oops\n"
    command = [sys.executable, "-m", "fcaudit", "classify", "-", "-f", "ndjson", "-o"]
    result = subprocess.run([*command, "/dev/stdout"], input=text.encode(), capture_output=True)
    assert result.returncode == ExitCode.USAGE
    assert b"line 301: invalid JSON" in result.stderr
    assert [json.loads(line)["id"] for line in result.stdout.splitlines()] == [
        a["id"] for a in good
    ]


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


def test_a_full_disk_says_free_disk_space(stripe_api: responses.RequestsMock) -> None:
    add_accounts(stripe_api, "cus_a", [account("fca_1", customer="cus_a")])
    result = run("scan", "--customer", "cus_a", "-f", "ndjson", "-o", "/dev/full")
    assert result.exit_code == ExitCode.API
    assert result.stderr == (
        "Error: cannot write the report: No space left on device. Tip: free disk space, or "
        "choose another output; an existing --output file is left untouched.\n"
    )


@pytest.mark.parametrize(
    ("number", "tip"),
    [
        (errno.EACCES, "check the permissions of the output and its directory"),
        (errno.EROFS, "the file system is read-only: choose another output"),
        (errno.EISDIR, "name a file, not a directory"),
        (errno.EIO, "check the disk's health, or choose another output"),
        (errno.ENOENT, "choose another output"),
    ],
)
def test_a_report_that_cannot_be_written_gets_the_tip_of_its_errno(number: int, tip: str) -> None:
    from fcaudit.cli import write_tip

    assert write_tip(OSError(number, os.strerror(number))) == tip
    assert "disk space" not in tip
