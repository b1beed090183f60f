"""``fcaudit sandbox serve`` as a real process, plus option validation through CliRunner."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from click.testing import CliRunner

from fcaudit.sandbox import SANDBOX_API_KEY
from fcaudit.sandbox.cli import sandbox

LINE = re.compile(
    r"^fcaudit sandbox serving on (http://127\.0\.0\.1:\d+) \(test key: sk_test_fcaudit_sandbox\)$"
)


def _command(*args: str) -> list[str]:
    return [sys.executable, "-m", "fcaudit.sandbox.cli", "serve", *args]


@pytest.fixture
def server() -> Iterator[tuple[subprocess.Popen[str], str]]:
    proc = subprocess.Popen(
        _command("--port", "0", "--customers", "20", "--now", "2026-11-20T12:00:00Z"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "0"},
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().rstrip("\n")
        match = LINE.match(line)
        assert match, line
        yield proc, match.group(1)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=10)


def _get(url: str, headers: dict[str, str]) -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        with err:
            return err.code, json.loads(err.read())


def test_serve_answers_and_stops_cleanly_on_sigterm(
    server: tuple[subprocess.Popen[str], str],
) -> None:
    proc, base_url = server
    auth = {"Authorization": f"Bearer {SANDBOX_API_KEY}", "Stripe-Version": "2026-09-30.preview"}
    status, body = _get(f"{base_url}/v1/customers?limit=3", auth)
    assert status == 200
    assert body["object"] == "list" and len(body["data"]) == 3  # type: ignore[arg-type]
    status, body = _get(f"{base_url}/v1/customers", {})
    assert status == 401
    status, body = _get(f"{base_url}/__sandbox/truth", {})
    assert status == 200 and body["customers"] == 20
    assert body["now"] == "2026-11-20T12:00:00+00:00"
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert out == ""
    assert "Traceback" not in err


def test_serve_stops_cleanly_on_sigint(server: tuple[subprocess.Popen[str], str]) -> None:
    proc, _ = server
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert "Traceback" not in err


@pytest.mark.parametrize("host", ["0.0.0.0", "10.1.2.3", "example.com", "::"])
def test_non_loopback_hosts_are_refused(host: str) -> None:
    result = CliRunner().invoke(sandbox, ["serve", "--host", host, "--port", "0"])
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("Error: --host") and "loopback" in lines[0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--error-rate", "1.5"], "--error-rate"),
        (["--drop-rate", "-0.1"], "--drop-rate"),
        (["--rate-limit", "0"], "--rate-limit"),
        (["--endpoint-rate-limit", "-5"], "--endpoint-rate-limit"),
        (["--latency-ms", "-1"], "--latency-ms"),
        (["--now", "yesterday"], "ISO 8601"),
        (["--port", "70000"], "--port"),
        (["--customers", "-1"], "--customers"),
        (["--scenario", "evil"], "--scenario"),
        (["--cue", "teapot:1"], "cue kind"),
        (["--cue", "503"], "KIND:COUNT"),
    ],
)
def test_invalid_options_are_usage_errors(args: list[str], message: str) -> None:
    result = CliRunner().invoke(sandbox, ["serve", *args])
    assert result.exit_code == 2
    assert message in result.output


def test_help_documents_every_option_with_examples() -> None:
    result = CliRunner().invoke(sandbox, ["serve", "--help"], terminal_width=100)
    assert result.exit_code == 0
    for option in (
        "--host",
        "--port",
        "--seed",
        "--customers",
        "--latency-ms",
        "--jitter-ms",
        "--rate-limit RPS",
        "--endpoint-rate-limit RPS",
        "--error-rate FRACTION",
        "--drop-rate FRACTION",
        "--now ISO8601",
        "--scenario [demo|adversarial]",
        "--cue KIND:COUNT[@PATH]",
    ):
        assert option in result.output, option
    assert "Examples:\n" in result.output
    assert "fcaudit sandbox serve --port 0 --customers 20000\n" in result.output
    assert "fcaudit sandbox serve --scenario adversarial\n" in result.output
    flat = " ".join(result.output.split())
    assert "[default: 300; x>=0]" in flat  # --customers shows its range
    assert "[default: 12111; 0<=x<=65535]" in flat
    assert "0.0<=x<=1.0" in flat and "[x>0.0]" in flat
    assert "(s)" not in result.output


def test_group_help_has_examples() -> None:
    result = CliRunner().invoke(sandbox, ["--help"], terminal_width=100)
    assert result.exit_code == 0
    assert "Examples:\n    fcaudit sandbox serve\n" in result.output
    assert "(s)" not in result.output


def test_a_busy_port_is_one_line_and_exit_2() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = CliRunner().invoke(sandbox, ["serve", "--port", str(port), "--customers", "0"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        f"Error: port {port} on 127.0.0.1 is in use. "
        "Tip: pick another --port, or --port 0 for any free port.\n"
    )


def test_serve_adversarial_scenario_and_cues() -> None:
    proc = subprocess.Popen(
        _command("--port", "0", "--customers", "5", "--scenario", "adversarial", "--cue", "503:1"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        match = LINE.match(proc.stdout.readline().rstrip("\n"))
        assert match
        base_url = match.group(1)
        auth = {
            "Authorization": f"Bearer {SANDBOX_API_KEY}",
            "Stripe-Version": "2026-09-30.preview",
        }
        assert _get(f"{base_url}/v1/customers", auth)[0] == 503
        status, body = _get(f"{base_url}/v1/customers?limit=5", auth)
        truth = _get(f"{base_url}/__sandbox/truth", {})[1]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=10)
    assert status == 200
    assert truth["scenario"] == "adversarial"
    assert "<b>Mallory</b>" in json.dumps(body)


def test_loopback_hosts_are_accepted() -> None:
    from fcaudit.sandbox.cli import _loopback_host

    assert _loopback_host("localhost") == "127.0.0.1"
    assert _loopback_host("127.0.0.1") == "127.0.0.1"
    assert _loopback_host("127.5.6.7") == "127.5.6.7"
    assert _loopback_host("::1") == "::1"
